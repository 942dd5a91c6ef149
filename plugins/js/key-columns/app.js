// JavaScript twin of plugins/key-columns: the partition key from named
// columns, joined by a separator.
//
// Settings: `columns = "tenant_id,id"` (required), `separator` (default
// `"|"`). Built against WIT 0.2: the host hands over each column's values
// as text (after image, or before image for deletes). If a column is
// missing or null the default key is kept. Built by scripts/build-plugins
// (world `key-plugin`) as js-key-columns.wasm.

import { joinKey, packKeys, values } from "../_lib/columns.js";
import { Settings } from "../_lib/settings.js";

let separator = "|";

export const lifecycle = {
  init(settings) {
    const s = new Settings(settings);
    s.only("columns", "separator");
    const columns = s.list("columns");
    if (!columns.length) throw "missing setting `columns`";
    const sep = s.get("separator");
    separator = sep === undefined ? "|" : sep;
    return { columns, lookup: "image", bytes: false };
  },
};

export const key = {
  key(batch) {
    // Each column's distinct values, decoded once, and its per-event index.
    const vals = batch.columns.map(values);
    const index = batch.columns.map((c) => c.index);
    const n = batch.ops.length;
    const keys = new Array(n);
    for (let i = 0; i < n; i++) {
      let k = vals[0][index[0][i]];
      for (let c = 1; k !== undefined && c < vals.length; c++) {
        const v = vals[c][index[c][i]];
        if (v === undefined) k = undefined;
        else if (typeof k === "string" && typeof v === "string") k = k + separator + v;
        else k = joinKey([k, v], separator);
      }
      keys[i] = k;
    }
    return packKeys(keys);
  },
};
