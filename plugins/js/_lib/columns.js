// The columns of a WIT 0.2 batch (wit/0.2/plugin.wit) as JavaScript
// values, and keys packed the way a 0.2 key plugin returns them.
//
// A column holds each distinct value once: `texts(column)[column.index[i]]`
// is event i's value (undefined: no value). The values arrive as one byte
// block: decoding it once and cutting the string costs far less than a
// string per value through the component glue.

// `ignoreBOM`: a value starting with U+FEFF keeps it (the default decoder
// would drop it from the first value).
const lossy = new TextDecoder("utf-8", { ignoreBOM: true });
const strict = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true });
const encoder = new TextEncoder();

/** Decodes all values at once: strings, or null if `data` is not all
 * one-byte characters (then byte offsets are not string offsets). */
function cutAscii(column, decoder) {
  const { data, ends } = column;
  let all;
  try {
    all = decoder.decode(data);
  } catch {
    return null;
  }
  if (all.length !== data.length) return null;
  const out = new Array(ends.length);
  out[0] = undefined;
  for (let k = 1; k < ends.length; k++) out[k] = all.substring(ends[k - 1], ends[k]);
  return out;
}

/** The column's distinct values, numbered as `column.index` numbers them
 * (entry 0 is undefined: no value): `decode(bytes)` of each, or all cut
 * from one decoded string when that is the same. */
function distinct(column, decoder, decode) {
  const fast = cutAscii(column, decoder);
  if (fast !== null) return fast;
  const { data, ends } = column;
  const out = new Array(ends.length);
  out[0] = undefined;
  for (let k = 1; k < ends.length; k++) out[k] = decode(data.subarray(ends[k - 1], ends[k]));
  return out;
}

/** The column's distinct values as strings, numbered as `column.index`
 * numbers them: entry 0 is undefined (no value). Bytes that are not UTF-8
 * (binary columns) become U+FFFD: right for comparing and routing; a
 * plugin that needs the exact bytes uses `values`. */
export function texts(column) {
  return distinct(column, lossy, (bytes) => lossy.decode(bytes));
}

/** As `texts`, but a value that is not UTF-8 stays a Uint8Array of its
 * exact bytes. */
export function values(column) {
  return distinct(column, strict, (bytes) => {
    try {
      return strict.decode(bytes);
    } catch {
      return bytes.slice();
    }
  });
}

/** Each event's value from `values` (or `texts` with `text`). */
export function perEvent(column, text = false) {
  const v = text ? texts(column) : values(column);
  const index = column.index;
  const out = new Array(index.length);
  for (let i = 0; i < index.length; i++) out[i] = v[index[i]];
  return out;
}

/** A `keys` answer from one key per event: a string, a Uint8Array of
 * bytes, or undefined to keep the key. Strings are encoded in one call. */
export function packKeys(keys) {
  const n = keys.length;
  const lens = new Int32Array(n);
  const strings = [];
  let bytes = false;
  for (let i = 0; i < n; i++) {
    const k = keys[i];
    if (k === undefined || k === null) {
      lens[i] = -1;
    } else if (typeof k === "string") {
      lens[i] = k.length;
      strings.push(k);
    } else {
      bytes = true;
    }
  }
  if (!bytes) {
    const joined = strings.join("");
    const data = encoder.encode(joined);
    if (data.length === joined.length) return { data, lens };
  }
  // Not all ASCII strings: key by key.
  const parts = [];
  let size = 0;
  for (let i = 0; i < n; i++) {
    if (lens[i] < 0 && (keys[i] === undefined || keys[i] === null)) continue;
    const b = typeof keys[i] === "string" ? encoder.encode(keys[i]) : keys[i];
    lens[i] = b.length;
    parts.push(b);
    size += b.length;
  }
  const data = new Uint8Array(size);
  let at = 0;
  for (const b of parts) {
    data.set(b, at);
    at += b.length;
  }
  return { data, lens };
}

/** `parts` (strings or Uint8Arrays) joined by `separator` (a string): a
 * string when every part is one, else the bytes. */
export function joinKey(parts, separator) {
  if (parts.every((p) => typeof p === "string")) return parts.join(separator);
  const sep = encoder.encode(separator);
  const bytes = parts.map((p) => (typeof p === "string" ? encoder.encode(p) : p));
  const size = bytes.reduce((n, b) => n + b.length, 0) + sep.length * (bytes.length - 1);
  const out = new Uint8Array(size);
  let at = 0;
  bytes.forEach((b, i) => {
    if (i > 0) {
      out.set(sep, at);
      at += sep.length;
    }
    out.set(b, at);
    at += b.length;
  });
  return out;
}
