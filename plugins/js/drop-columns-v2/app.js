// plugins/js/drop-columns on WIT 0.2: removes columns from both row images,
// as plugins/pii-mask does with `mode = "drop"` (tests/integration/
// plugin_polyglot.rs checks that they agree).
//
// Settings: `columns` (required, comma-separated).
//
// What 0.2 changes for a transform: `init` asks for the events' bytes and
// no columns (the host's column index says 0 for a NULL column too, which
// is dropped all the same, so it cannot tell which events need no
// rewrite). An event whose bytes do not contain a dropped column's name
// cannot have that column: it is returned by its place in the input
// (`starts`/`ends` into the batch's `data`, which the answer starts with),
// not decoded or copied by hand. The others are rewritten at the byte
// level: the entries kept are copied as they came, under a new map header;
// nothing is decoded into JavaScript values (the 0.1 plugin decodes and
// re-encodes whole events, which changes number types). Built by
// scripts/build-plugins (world `transform-plugin`) as js-drop-columns-v2.wasm.

import { isMap, skip } from "../_lib/msgpack.js";
import { Settings } from "../_lib/settings.js";

let drop = []; // the column names as UTF-8 bytes

export const lifecycle = {
  init(settings) {
    const s = new Settings(settings);
    s.only("columns");
    const columns = s.list("columns");
    if (!columns.length) throw "missing setting `columns`";
    const encoder = new TextEncoder();
    drop = [...new Set(columns)].map((c) => encoder.encode(c));
    return { columns: [], lookup: "column", bytes: true };
  },
};

export const transform = {
  transform(batch) {
    const d = batch.data;
    const starts = batch.starts;
    const ends = batch.ends;
    const n = starts.length;
    const out = new Output();
    const rewritten = []; // event, start in out, end in out
    for (let i = 0; i < n; i++) {
      let end = ends[i];
      if (!mentions(d, starts[i], end)) continue; // passed on as it came
      end = skip(d, starts[i], end); // what follows the event's value is not part of it
      if (end < 0) throw "decoding event: malformed MessagePack";
      const at = out.len;
      rewriteEvent(d, starts[i], end, out);
      rewritten.push(i, at, out.len);
    }
    const sources = new Uint32Array(n);
    for (let i = 0; i < n; i++) sources[i] = i;
    if (rewritten.length === 0) {
      return { sources, ops: batch.ops, data: d, starts, ends };
    }
    // Unchanged events keep their place in the input's bytes, which the
    // answer starts with; rewritten ones follow.
    const data = new Uint8Array(d.length + out.len);
    data.set(d);
    data.set(out.b.subarray(0, out.len), d.length);
    const s = Uint32Array.from(starts);
    const e = Uint32Array.from(ends);
    for (let r = 0; r < rewritten.length; r += 3) {
      s[rewritten[r]] = d.length + rewritten[r + 1];
      e[rewritten[r]] = d.length + rewritten[r + 2];
    }
    return { sources, ops: batch.ops, data, starts: s, ends: e };
  },
};

// Whether d[start..end] contains one of the dropped names' bytes (the
// engine's indexOf finds each candidate first byte natively).
function mentions(d, start, end) {
  for (const name of drop) {
    if (name.length === 0) return true;
    const last = end - name.length;
    for (let p = d.indexOf(name[0], start); p >= 0 && p <= last; p = d.indexOf(name[0], p + 1)) {
      let k = 1;
      while (k < name.length && d[p + k] === name[k]) k++;
      if (k === name.length) return true;
    }
  }
  return false;
}

class Output {
  constructor() {
    this.b = new Uint8Array(64 * 1024);
    this.len = 0;
  }
  room(n) {
    if (this.len + n <= this.b.length) return;
    const b = new Uint8Array(Math.max(this.b.length * 2, this.len + n));
    b.set(this.b.subarray(0, this.len));
    this.b = b;
  }
  copy(d, a, z) {
    this.room(z - a);
    this.b.set(d.subarray(a, z), this.len);
    this.len += z - a;
  }
  // A map header for `n` entries, in the shortest form (as rmpv writes it).
  mapHead(n) {
    this.room(5);
    const b = this.b;
    if (n <= 15) {
      b[this.len++] = 0x80 | n;
    } else if (n <= 0xffff) {
      b[this.len] = 0xde;
      b[this.len + 1] = n >> 8;
      b[this.len + 2] = n & 0xff;
      this.len += 3;
    } else {
      b[this.len] = 0xdf;
      b[this.len + 1] = n >>> 24;
      b[this.len + 2] = (n >> 16) & 0xff;
      b[this.len + 3] = (n >> 8) & 0xff;
      b[this.len + 4] = n & 0xff;
      this.len += 5;
    }
  }
}

// The entry count of the map at `p` and where its first key starts, or
// undefined if no map starts there.
function mapHeader(d, p, end) {
  if (p < 0 || p >= end) return undefined;
  const m = d[p];
  if (m >= 0x80 && m <= 0x8f) return [m & 0x0f, p + 1];
  if (m === 0xde && p + 3 <= end) return [(d[p + 1] << 8) | d[p + 2], p + 3];
  if (m === 0xdf && p + 5 <= end) {
    return [((d[p + 1] << 24) | (d[p + 2] << 16) | (d[p + 3] << 8) | d[p + 4]) >>> 0, p + 5];
  }
  return undefined;
}

// Whether the value at `p` is a string whose bytes are `key`'s.
function isString(d, p, end, key) {
  if (p >= end) return false;
  const m = d[p];
  let a;
  let n;
  if (m >= 0xa0 && m <= 0xbf) {
    a = p + 1;
    n = m & 0x1f;
  } else if (m === 0xd9 && p + 2 <= end) {
    a = p + 2;
    n = d[p + 1];
  } else if (m === 0xda && p + 3 <= end) {
    a = p + 3;
    n = (d[p + 1] << 8) | d[p + 2];
  } else if (m === 0xdb && p + 5 <= end) {
    a = p + 5;
    n = ((d[p + 1] << 24) | (d[p + 2] << 16) | (d[p + 3] << 8) | d[p + 4]) >>> 0;
  } else {
    return false;
  }
  if (n !== key.length || a + n > end) return false;
  for (let i = 0; i < n; i++) if (d[a + i] !== key[i]) return false;
  return true;
}

const BEFORE = new TextEncoder().encode("before");
const AFTER = new TextEncoder().encode("after");

// The event d[start..end] (one whole value) with the columns dropped from
// its `before` and `after` maps; a value that is no map is copied (the host
// refuses it, as it refuses the Rust plugin's).
function rewriteEvent(d, start, end, out) {
  const h = mapHeader(d, start, end);
  if (h === undefined) return out.copy(d, start, end);
  let p = h[1];
  out.copy(d, start, p);
  for (let i = 0; i < h[0]; i++) {
    const k = p;
    const v = skip(d, k, end);
    p = skip(d, v, end);
    out.copy(d, k, v);
    if ((isString(d, k, end, BEFORE) || isString(d, k, end, AFTER)) && isMap(d, v, end)) {
      rewriteImage(d, v, p, out);
    } else {
      out.copy(d, v, p);
    }
  }
}

function rewriteImage(d, start, end, out) {
  const h = mapHeader(d, start, end);
  const kept = [];
  let p = h[1];
  for (let i = 0; i < h[0]; i++) {
    const k = p;
    p = skip(d, skip(d, k, end), end);
    if (!drop.some((name) => isString(d, k, end, name))) kept.push(k, p);
  }
  out.mapHead(kept.length / 2);
  for (let i = 0; i < kept.length; i += 2) out.copy(d, kept[i], kept[i + 1]);
}
