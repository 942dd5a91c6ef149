// JavaScript twin of plugins/key-columns: the partition key from named
// columns, joined by a separator.
//
// Settings: `columns = "tenant_id,id"` (required), `separator` (default
// `"|"`). Columns are read from the after image, or the before image when
// there is no after image (deletes), in one pass over the row. If a column
// is missing or null the default key is kept. Built by scripts/build-plugins
// (world `key-plugin`) as js-key-columns.wasm.

import { findMany, images, keyImage, text } from "../_lib/msgpack.js";
import { Settings } from "../_lib/settings.js";

const utf8 = new TextEncoder();

let columns = []; // UTF-8 bytes
let separator = utf8.encode("|");

export const lifecycle = {
  init(settings) {
    const s = new Settings(settings);
    s.only("columns", "separator");
    const cols = s.list("columns");
    if (!cols.length) throw "missing setting `columns`";
    const sep = s.get("separator");
    columns = cols.map((c) => utf8.encode(c));
    separator = utf8.encode(sep === undefined ? "|" : sep);
  },
};

// The keys of a batch, back to back.
class Buffer {
  constructor() {
    this.b = new Uint8Array(4096);
    this.len = 0;
  }
  push(bytes) {
    if (this.len + bytes.length > this.b.length) {
      const b = new Uint8Array(Math.max(2 * this.b.length, this.len + bytes.length));
      b.set(this.b.subarray(0, this.len));
      this.b = b;
    }
    this.b.set(bytes, this.len);
    this.len += bytes.length;
  }
}

export const key = {
  key(batch) {
    if (!columns.length) throw "missing setting `columns`";
    const d = batch.data;
    const n = columns.length;
    const out = new Buffer();
    const found = new Array(n);
    const parts = new Array(n);
    const spans = batch.events.map((e) => {
      const end = e.offset + e.len;
      if (end > d.length) throw "event bytes out of range";
      const [before, after] = images(d, e.offset, end);
      found.fill(-1);
      findMany(d, keyImage(d, end, before, after), end, columns, found);
      for (let i = 0; i < n; i++) {
        const t = found[i] >= 0 ? text(d, found[i], end) : null;
        if (t === null || t === false) return undefined;
        parts[i] = t;
      }
      const offset = out.len;
      for (let i = 0; i < n; i++) {
        if (i > 0) out.push(separator);
        out.push(parts[i]);
      }
      return { offset, len: out.len - offset };
    });
    return { data: out.b.slice(0, out.len), spans };
  },
};
