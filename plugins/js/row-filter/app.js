// JavaScript twin of plugins/row-filter: keeps events whose op is in `ops`
// and, if `column` is set, whose column value (as text) is one of `equals`.
//
// Settings: `ops = "c,u"` (default: all), `column = "status"`,
// `equals = "active,trial"`. Reads the column with the shared reader in
// plugins/js/_lib (after image, else before), without decoding the event.
// Built by scripts/build-plugins (world `filter-plugin`) as js-row-filter.wasm.

import { column as readColumn, images } from "../_lib/msgpack.js";
import { Settings } from "../_lib/settings.js";

const OPS = { c: "create", u: "update", d: "delete", r: "read" };
const ALL = new Set(Object.values(OPS));
const utf8 = new TextEncoder();

let ops = ALL;
let column = null; // UTF-8 bytes, or null: decide on the op only
let equals = []; // text values (UTF-8 bytes) to keep

export const lifecycle = {
  init(settings) {
    const s = new Settings(settings);
    s.only("ops", "column", "equals");
    const codes = s.list("ops");
    for (const c of codes) {
      if (!(c in OPS)) throw `ops: \`${c}\` is not one of c, u, d, r`;
    }
    ops = codes.length ? new Set(codes.map((c) => OPS[c])) : ALL;
    const col = s.get("column");
    const eq = s.get("equals");
    if (col === undefined && eq === undefined) {
      column = null;
    } else if (col !== undefined && eq !== undefined) {
      column = utf8.encode(col);
      equals = s.list("equals").map((v) => utf8.encode(v));
    } else {
      throw "`column` and `equals` go together";
    }
  },
};

function isOneOf(t) {
  for (const v of equals) {
    if (v.length !== t.length) continue;
    let i = 0;
    while (i < t.length && t[i] === v[i]) i++;
    if (i === t.length) return true;
  }
  return false;
}

export const filter = {
  filter(batch) {
    if (column === null) return batch.events.map((e) => ops.has(e.op));
    const d = batch.data;
    return batch.events.map((e) => {
      if (!ops.has(e.op)) return false;
      const end = e.offset + e.len;
      if (end > d.length) throw "event bytes out of range";
      const [before, after] = images(d, e.offset, end);
      const t = readColumn(d, end, before, after, column);
      return t !== null && isOneOf(t);
    });
  },
};
