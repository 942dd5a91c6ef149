// JavaScript twin of plugins/key-columns: the partition key from named
// columns, joined by a separator.
//
// Settings: `columns = "tenant_id,id"` (required), `separator` (default
// `"|"`). Built against WIT 0.2: the host hands over each column's values
// as text (after image, or before image for deletes). If a column is
// missing or null the default key is kept. Built by scripts/build-plugins
// (world `key-plugin`) as js-key-columns.wasm.

import { joinKey, packKeys, perEvent } from "../_lib/columns.js";
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
    const cols = batch.columns.map((c) => perEvent(c));
    const keys = cols[0];
    for (let c = 1; c < cols.length; c++) {
      const col = cols[c];
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        const v = col[i];
        if (k === undefined || v === undefined) {
          keys[i] = undefined;
        } else if (typeof k === "string" && typeof v === "string") {
          keys[i] = k + separator + v;
        } else {
          keys[i] = joinKey([k, v], separator);
        }
      }
    }
    return packKeys(keys);
  },
};
