// JavaScript twin of plugins/row-filter: keeps events whose op is in `ops`
// and, if `column` is set, whose column value (as text) is one of `equals`.
//
// Settings: `ops = "c,u"` (default: all), `column = "status"`,
// `equals = "active,trial"`. Built against WIT 0.2 (wit/0.2): `init` asks
// the host for the one column, whose values (after image, else before)
// arrive as text, each distinct value once, so nothing is parsed here.
// Built by scripts/build-plugins (world `filter-plugin`) as js-row-filter.wasm.

import { texts } from "../_lib/columns.js";
import { Settings } from "../_lib/settings.js";

const OPS = "cudr";

let ops = OPS; // op letters to keep
let column = null; // or null: decide on the op only
let equals = new Set(); // text values to keep

export const lifecycle = {
  init(settings) {
    const s = new Settings(settings);
    s.only("ops", "column", "equals");
    const codes = s.list("ops");
    for (const c of codes) {
      if (!OPS.includes(c)) throw `ops: \`${c}\` is not one of c, u, d, r`;
    }
    ops = codes.length ? codes.join("") : OPS;
    const col = s.get("column");
    const eq = s.get("equals");
    if (col === undefined && eq === undefined) {
      column = null;
    } else if (col !== undefined && eq !== undefined) {
      column = col;
      equals = new Set(s.list("equals"));
    } else {
      throw "`column` and `equals` go together";
    }
    return { columns: column === null ? [] : [column], lookup: "column", bytes: false };
  },
};

export const filter = {
  filter(batch) {
    const n = batch.ops.length;
    const keep = new Array(n);
    if (column === null) {
      for (let i = 0; i < n; i++) keep[i] = ops.includes(batch.ops[i]);
      return keep;
    }
    const values = batch.columns[0];
    const wanted = texts(values).map((v) => v !== undefined && equals.has(v));
    const index = values.index;
    for (let i = 0; i < n; i++) keep[i] = wanted[index[i]] && ops.includes(batch.ops[i]);
    return keep;
  },
};
