// Reads columns of Sluice events (MessagePack) without decoding them.
//
// Shared by the JavaScript example plugins, which import it as
// "../_lib/msgpack.js": componentize-js evaluates the module graph while it
// builds the component and snapshots the result, so the import is resolved
// at build time and the component carries this module (nothing is read at
// run time). It mirrors the Rust SDK's reader (plugin-sdk/src/msgpack.rs,
// `Event::column`, `Event::find_columns`, `Value::write_text`) so the
// JavaScript plugins decide exactly as the Rust ones do:
//
// - `d` is the batch's data (Uint8Array), positions index it, and `end` is
//   the end of the current event: nothing past it is read. Malformed or
//   truncated input makes a lookup fail (column absent), never throws.
// - Values that are not needed are stepped over without building objects.
// - The text of a value (`text`) is bytes: strings as they are (must be
//   valid UTF-8), binary as it is, integers in decimal (64-bit ones exact),
//   floats as Rust prints them (shortest form that reads back, never an
//   exponent: 1e21 is 1000000000000000000000, 1.0 is 1), booleans as
//   true/false. Nil, arrays, maps and extensions have none.

// Encoded size of every value whose marker alone gives it; 0 otherwise.
const SIZE = new Uint8Array(256);
for (let m = 0x00; m < 0x80; m++) SIZE[m] = 1;
for (let m = 0xe0; m < 0x100; m++) SIZE[m] = 1;
SIZE[0xc0] = SIZE[0xc2] = SIZE[0xc3] = 1;
for (let n = 0; n < 32; n++) SIZE[0xa0 + n] = 1 + n;
for (const [m, n] of [[0xcc, 2], [0xd0, 2], [0xcd, 3], [0xd1, 3], [0xd4, 3], [0xd5, 4], [0xca, 5],
  [0xce, 5], [0xd2, 5], [0xd6, 6], [0xcb, 9], [0xcf, 9], [0xd3, 9], [0xd7, 10], [0xd8, 18]]) {
  SIZE[m] = n;
}

function u16(d, p) {
  return (d[p] << 8) | d[p + 1];
}

function u32(d, p) {
  return d[p] * 0x1000000 + ((d[p + 1] << 16) | (d[p + 2] << 8) | d[p + 3]);
}

/** Position after the value at `p`, or -1 if it is malformed or does not
 * end by `end`. Iterative: deeply nested JSON cannot exhaust the stack. */
export function skip(d, p, end) {
  let pending = 1;
  while (pending > 0) {
    pending--;
    if (p >= end) return -1;
    const m = d[p];
    const n = SIZE[m];
    if (n) {
      p += n;
    } else if (m < 0x90) {
      pending += 2 * (m & 0x0f);
      p += 1;
    } else if (m < 0xa0) {
      pending += m & 0x0f;
      p += 1;
    } else if (m === 0xc4 || m === 0xd9) {
      if (p + 2 > end) return -1;
      p += 2 + d[p + 1];
    } else if (m === 0xc5 || m === 0xda) {
      if (p + 3 > end) return -1;
      p += 3 + u16(d, p + 1);
    } else if (m === 0xc6 || m === 0xdb) {
      if (p + 5 > end) return -1;
      p += 5 + u32(d, p + 1);
    } else if (m === 0xc7) {
      if (p + 2 > end) return -1;
      p += 3 + d[p + 1];
    } else if (m === 0xc8) {
      if (p + 3 > end) return -1;
      p += 4 + u16(d, p + 1);
    } else if (m === 0xc9) {
      if (p + 5 > end) return -1;
      p += 6 + u32(d, p + 1);
    } else if (m === 0xdc || m === 0xde) {
      if (p + 3 > end) return -1;
      pending += u16(d, p + 1) * (m === 0xde ? 2 : 1);
      p += 3;
    } else if (m === 0xdd || m === 0xdf) {
      if (p + 5 > end) return -1;
      pending += u32(d, p + 1) * (m === 0xdf ? 2 : 1);
      p += 5;
    } else {
      return -1; // 0xc1, never used
    }
  }
  return p <= end ? p : -1;
}

// Entry count of the map at `p` (-1 if none starts there); `headerEnd` is
// where its first key starts.
let headerEnd = 0;
function mapHeader(d, p, end) {
  if (p < 0 || p >= end) return -1;
  const m = d[p];
  if (m >= 0x80 && m <= 0x8f) {
    headerEnd = p + 1;
    return m & 0x0f;
  }
  if (m === 0xde && p + 3 <= end) {
    headerEnd = p + 3;
    return u16(d, p + 1);
  }
  if (m === 0xdf && p + 5 <= end) {
    headerEnd = p + 5;
    return u32(d, p + 1);
  }
  return -1;
}

export function isMap(d, p, end) {
  if (p < 0 || p >= end) return false;
  const m = d[p];
  return (m >= 0x80 && m <= 0x8f) || m === 0xde || m === 0xdf;
}

// If a string starts at `p`: the start of its bytes (its length in
// `strLen`), else -1. The bytes may run past `end`; callers check.
let strLen = 0;
function strAt(d, p, end) {
  if (p >= end) return -1;
  const m = d[p];
  if (m >= 0xa0 && m <= 0xbf) {
    strLen = m & 0x1f;
    return p + 1;
  }
  if (m === 0xd9 && p + 2 <= end) {
    strLen = d[p + 1];
    return p + 2;
  }
  if (m === 0xda && p + 3 <= end) {
    strLen = u16(d, p + 1);
    return p + 3;
  }
  if (m === 0xdb && p + 5 <= end) {
    strLen = u32(d, p + 1);
    return p + 5;
  }
  return -1;
}

// Whether d[a..] starts with `key` (the first byte already matched).
function bytesAt(d, a, key) {
  for (let i = 1; i < key.length; i++) {
    if (d[a + i] !== key[i]) return false;
  }
  return true;
}

const BEFORE = new TextEncoder().encode("before");
const AFTER = new TextEncoder().encode("after");

/** Positions of the values of the event's `before` and `after` keys:
 * [before, after], -1 when absent. The top-level map is scanned only as
 * far as `after` (Sluice writes it ahead of `before`); `before` is then a
 * token below -1 that `column` and `keyImage` resolve with `beforeImage`
 * when they need it (deletes, or a column the after image lacks), as the
 * Rust SDK's `Event` does. */
export function images(d, p, end) {
  return scanImages(d, p, end, true);
}

/** `before` from `images`, resolved: the position of the before image's
 * value or -1. A token (below -1) holds the event's start; the map is
 * scanned again from there as far as `before`. */
export function beforeImage(d, end, before) {
  if (before >= -1) return before;
  return scanImages(d, -2 - before, end, false)[0];
}

// [before, after] of the event at `p`, in one pass over its top-level map;
// with `lazy`, stopping at `after` when `before` has not come yet (`before`
// is then the token `images` describes).
function scanImages(d, p, end, lazy) {
  const start = p;
  let before = -1;
  let after = -1;
  const n = mapHeader(d, p, end);
  p = headerEnd;
  for (let i = 0; i < n; i++) {
    const a = strAt(d, p, end);
    if (a < 0) break;
    p = a + strLen;
    if (p <= end) {
      if (strLen === 6 && d[a] === 0x62 && bytesAt(d, a, BEFORE)) before = p;
      else if (strLen === 5 && d[a] === 0x61 && bytesAt(d, a, AFTER)) {
        after = p;
        if (lazy && before < 0) return [-2 - start, after];
      }
    }
    if (before >= 0 && after >= 0) break;
    p = skip(d, p, end);
    if (p < 0) break;
  }
  return [before, after];
}

/** In the map at `p`, the position of the value of string key `key`
 * (UTF-8 bytes), or -1. The first of duplicate keys wins. */
export function mapGet(d, p, end, key) {
  const n = mapHeader(d, p, end);
  p = headerEnd;
  for (let i = 0; i < n; i++) {
    const a = strAt(d, p, end);
    if (a >= 0) {
      p = a + strLen;
      if (p > end) return -1;
      if (strLen === key.length && (strLen === 0 || (d[a] === key[0] && bytesAt(d, a, key)))) return p;
    } else {
      p = skip(d, p, end);
      if (p < 0) return -1;
    }
    p = skip(d, p, end);
    if (p < 0) return -1;
  }
  return -1;
}

/** In the map at `p`, finds several string keys (UTF-8 bytes) in one pass:
 * `out[i]` gets the position of the value of `keys[i]` (left alone when
 * absent; of repeated names only the first gets it, as in Rust). Stops once
 * all are found. */
export function findMany(d, p, end, keys, out) {
  const n = mapHeader(d, p, end);
  p = headerEnd;
  let missing = keys.length;
  for (let i = 0; i < n; i++) {
    if (missing === 0) return;
    const a = strAt(d, p, end);
    if (a >= 0) {
      p = a + strLen;
      if (p > end) return;
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k];
        if (strLen === key.length && (strLen === 0 || (d[a] === key[0] && bytesAt(d, a, key)))) {
          if (out[k] < 0) {
            out[k] = p;
            missing--;
          }
          break;
        }
      }
    } else {
      p = skip(d, p, end);
      if (p < 0) return;
    }
    p = skip(d, p, end);
    if (p < 0) return;
  }
}

/** The text (Uint8Array) of column `key` of the after image, or of the
 * before image when the after image has no such column (deletes); null
 * when absent or without text (nil, containers). As `Event::column` +
 * `write_text` in the Rust SDK. */
export function column(d, end, before, after, key) {
  if (after >= 0) {
    const p = mapGet(d, after, end, key);
    if (p >= 0) {
      const t = text(d, p, end);
      if (t !== null) return t === false ? null : t;
    }
  }
  before = beforeImage(d, end, before);
  if (before >= 0) {
    const p = mapGet(d, before, end, key);
    if (p >= 0) {
      const t = text(d, p, end);
      if (t !== null && t !== false) return t;
    }
  }
  return null;
}

/** The image key columns are read from: after if it is a map, else before
 * (as `Event::find_columns`). */
export function keyImage(d, end, before, after) {
  return isMap(d, after, end) ? after : beforeImage(d, end, before);
}

/** Whether d[a..b] is valid UTF-8 (as Rust's `str::from_utf8`). */
export function validUtf8(d, a, b) {
  let i = a;
  while (i < b && d[i] < 0x80) i++;
  while (i < b) {
    const c = d[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    const n = utf8Sequence(d, i, b);
    if (n < 0) return false;
    i += n;
  }
  return true;
}

// Length of the valid UTF-8 sequence starting with the non-ASCII byte at
// `i`, or minus the length of its maximal invalid prefix (at least 1): the
// unit Rust's from_utf8_lossy replaces with one U+FFFD.
function utf8Sequence(d, i, b) {
  const c = d[i];
  let need;
  let lo = 0x80;
  let hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) need = 1;
  else if (c >= 0xe0 && c <= 0xef) {
    need = 2;
    if (c === 0xe0) lo = 0xa0;
    if (c === 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    need = 3;
    if (c === 0xf0) lo = 0x90;
    if (c === 0xf4) hi = 0x8f;
  } else return -1;
  let j = i + 1;
  for (let k = 0; k < need; k++, j++) {
    if (j >= b || d[j] < lo || d[j] > hi) return -(j - i);
    lo = 0x80;
    hi = 0xbf;
  }
  return j - i;
}

const LEGAL = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") {
  LEGAL[c.charCodeAt(0)] = 1;
}

/** Text bytes (any, possibly invalid UTF-8) as a topic name part: read as
 * Rust's from_utf8_lossy does, then every character Kafka refuses in topic
 * names (all but ASCII letters, digits, `.`, `_`, `-`) becomes `_`: one per
 * character, and one per invalid sequence. */
export function legalText(t) {
  let s = "";
  let i = 0;
  while (i < t.length) {
    const c = t[i];
    if (c < 0x80) {
      s += LEGAL[c] ? String.fromCharCode(c) : "_";
      i++;
    } else {
      s += "_";
      i += Math.abs(utf8Sequence(t, i, t.length));
    }
  }
  return s;
}

/** A JavaScript string as a topic name part (one `_` per refused character). */
export function legal(s) {
  return s.replace(/[^A-Za-z0-9._-]/gu, "_");
}

const ASCII = new TextEncoder();
const SMALL = [];
for (let i = 0; i < 128; i++) SMALL.push(ASCII.encode(String(i)));
const TRUE = ASCII.encode("true");
const FALSE = ASCII.encode("false");

let view = null;
let viewOf = null;
function dataView(d) {
  if (viewOf !== d) {
    viewOf = d;
    view = new DataView(d.buffer, d.byteOffset, d.byteLength);
  }
  return view;
}

/** The text of the value at `p` (Uint8Array); false for values without text
 * (nil, arrays, maps, extensions); null if it cannot be read (truncated, or
 * a string that is not valid UTF-8). */
export function text(d, p, end) {
  if (p >= end) return null;
  const m = d[p];
  if (m < 0x80) return SMALL[m];
  if (m >= 0xe0) return ASCII.encode(String(m - 256));
  if (m >= 0xa0 && m <= 0xbf) return utf8(d, p + 1, m & 0x1f, end);
  switch (m) {
    case 0xc0:
      return false;
    case 0xc2:
      return FALSE;
    case 0xc3:
      return TRUE;
    case 0xd9:
    case 0xda:
    case 0xdb: {
      const a = strAt(d, p, end);
      return a < 0 ? null : utf8(d, a, strLen, end);
    }
    case 0xc4:
      return p + 2 <= end ? bytes(d, p + 2, d[p + 1], end) : null;
    case 0xc5:
      return p + 3 <= end ? bytes(d, p + 3, u16(d, p + 1), end) : null;
    case 0xc6:
      return p + 5 <= end ? bytes(d, p + 5, u32(d, p + 1), end) : null;
  }
  const size = SIZE[m];
  if (!size) return skip(d, p, end) >= 0 ? false : null; // containers, ext
  if (p + size > end) return null;
  const v = dataView(d);
  const q = p + 1;
  switch (m) {
    case 0xcc:
      return ASCII.encode(String(d[q]));
    case 0xcd:
      return ASCII.encode(String(u16(d, q)));
    case 0xce:
      return ASCII.encode(String(u32(d, q)));
    case 0xcf:
      return ASCII.encode(v.getBigUint64(q).toString());
    case 0xd0:
      return ASCII.encode(String(v.getInt8(q)));
    case 0xd1:
      return ASCII.encode(String(v.getInt16(q)));
    case 0xd2:
      return ASCII.encode(String(v.getInt32(q)));
    case 0xd3:
      return ASCII.encode(v.getBigInt64(q).toString());
    case 0xca:
      return ASCII.encode(f32Text(v.getFloat32(q)));
    case 0xcb:
      return ASCII.encode(f64Text(v.getFloat64(q)));
  }
  return false; // fixext
}

function utf8(d, a, n, end) {
  return a + n <= end && validUtf8(d, a, a + n) ? d.subarray(a, a + n) : null;
}

function bytes(d, a, n, end) {
  return a + n <= end ? d.subarray(a, a + n) : null;
}

/** Whether two byte arrays are equal. */
export function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return false;
  }
  return true;
}

// Floats as Rust's `{}` prints them.

// digits * 10**k written without an exponent.
function positional(digits, k) {
  const trimmed = digits.replace(/0+$/, "");
  k += digits.length - trimmed.length;
  digits = trimmed.replace(/^0+/, "");
  if (!digits) return "0";
  const point = digits.length + k;
  if (point <= 0) return "0." + "0".repeat(-point) + digits;
  if (point >= digits.length) return digits + "0".repeat(point - digits.length);
  return digits.slice(0, point) + "." + digits.slice(point);
}

// "d.ddde+x", "123.45" -> [digits, k] with value = digits * 10**k.
function sci(s) {
  const [mant, e] = s.split("e");
  const [ip, fp = ""] = mant.split(".");
  return [ip + fp, (e ? Number(e) : 0) - fp.length];
}

function special(x) {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  return null;
}

const scratch = new DataView(new ArrayBuffer(8));

// Whether x (> 0) lies exactly halfway between n*10**k and (n+1)*10**k.
function halfwayAbove(x, n, k) {
  scratch.setFloat64(0, x);
  const bits = scratch.getBigUint64(0);
  const be = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & 0xfffffffffffffn;
  let e;
  if (be === 0) e = -1074;
  else {
    mant |= 1n << 52n;
    e = be - 1075;
  }
  // x = mant * 2**e; compare 2x with (2n+1) * 10**k.
  let lhs = 2n * mant;
  let rhs = (2n * BigInt(n) + 1n);
  if (e >= 0) lhs <<= BigInt(e);
  else rhs <<= BigInt(-e);
  if (k >= 0) rhs *= 10n ** BigInt(k);
  else lhs *= 10n ** BigInt(-k);
  return lhs === rhs;
}

function bump(digits) {
  return (BigInt(digits) + 1n).toString();
}

export function f64Text(x) {
  const s = special(x);
  if (s !== null) return s;
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  x = Math.abs(x);
  if (x === 0) return sign + "0";
  // String(x) is the shortest form that reads back, the closest such; a tie
  // between two goes to the even one, where Rust takes the larger.
  let [digits, k] = sci(String(x));
  if (halfwayAbove(x, digits, k)) digits = bump(digits);
  return sign + positional(digits, k);
}

/** x: a float32 value (as a Number). The shortest decimal that reads back
 * as the same float32, the closest such (ties: the larger), as Rust: try
 * 1..9 digits, the nearest decimal and, on a tie or for powers of two
 * (whose interval is wider above), the next one up. */
export function f32Text(x) {
  const s = special(x);
  if (s !== null) return s;
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  x = Math.abs(x);
  if (x === 0) return sign + "0";
  for (let p = 1; p <= 9; p++) {
    const [digits, k] = sci(x.toExponential(p - 1));
    const e = "e" + k;
    let tries;
    if (halfwayAbove(x, digits, k)) tries = [bump(digits), digits];
    else if (Number(digits + e) < x) tries = [digits, bump(digits)];
    else tries = [digits];
    for (const t of tries) {
      if (Math.fround(Number(t + e)) === x) return sign + positional(t, k);
    }
  }
  return sign + positional(...sci(String(x)));
}
