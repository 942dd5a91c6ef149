// Reads columns of Sluice events (MessagePack) without decoding them.
// Header-only, shared by the C example plugins (scripts/build-plugins adds
// plugins/c/_lib to the include path).
//
// It mirrors the Rust SDK's reader (plugin-sdk/src/msgpack.rs,
// `Event::column`, `Event::find_columns`, `Value::write_text`) so the C
// plugins decide exactly as the Rust ones do:
//
// - `d` is the batch's data, positions index it and `end` is the end of the
//   current event. Every read is checked against `end` before it happens,
//   lengths are compared, never added past it, so malformed or truncated
//   input (or lengths near 4 GiB on wasm32) makes a lookup fail, the column
//   counts as absent, and nothing outside the event is ever read.
// - Values that are not needed are stepped over without decoding them;
//   nesting is handled with a counter, not recursion.
// - The text of a value (`mp_text`): strings as they are (must be valid
//   UTF-8), binary as it is, integers in decimal, floats as Rust prints them
//   (the shortest decimal that reads back, the closest such, ties to the
//   larger; never an exponent: 1e20 is 100000000000000000000, 1.0 is 1),
//   booleans as true/false. Nil, arrays, maps and extensions have none.
//
// Uses only wasi-libc functions that need no WASI imports (memcpy, memcmp,
// strtod, strtof): no printf, so the component imports nothing but
// sluice:plugin/log.

#ifndef SLUICE_MSGPACK_H
#define SLUICE_MSGPACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// Every function is static (each plugin is one translation unit) and may go
// unused.
#define MP_FN static __attribute__((unused))

// "No position": absent, or malformed.
#define MP_NONE ((size_t)-1)

MP_FN uint32_t mp_u16(const uint8_t *d, size_t p) {
  return (uint32_t)d[p] << 8 | d[p + 1];
}

MP_FN uint32_t mp_u32(const uint8_t *d, size_t p) {
  return (uint32_t)d[p] << 24 | (uint32_t)d[p + 1] << 16 | (uint32_t)d[p + 2] << 8 | d[p + 3];
}

MP_FN uint64_t mp_u64(const uint8_t *d, size_t p) {
  return (uint64_t)mp_u32(d, p) << 32 | mp_u32(d, p + 4);
}

// Whether `n` more bytes from `p` stay within `end` (p <= end assumed).
MP_FN bool mp_fits(size_t p, uint64_t n, size_t end) {
  return n <= (uint64_t)(end - p);
}

// Position after the value at `p`, or MP_NONE if it is malformed or does
// not end by `end`.
MP_FN size_t mp_skip(const uint8_t *d, size_t end, size_t p) {
  uint64_t pending = 1;
  while (pending > 0) {
    pending--;
    if (p >= end) return MP_NONE;
    uint8_t m = d[p];
    uint64_t size; // bytes of this value, excluding nested items
    uint64_t items = 0;
    if (m <= 0x7f || m >= 0xe0 || m == 0xc0 || m == 0xc2 || m == 0xc3) {
      size = 1;
    } else if (m >= 0xa0 && m <= 0xbf) {
      size = 1 + (m & 0x1f);
    } else if (m >= 0x80 && m <= 0x8f) {
      size = 1;
      items = 2 * (uint64_t)(m & 0x0f);
    } else if (m >= 0x90 && m <= 0x9f) {
      size = 1;
      items = m & 0x0f;
    } else {
      switch (m) {
        case 0xcc: case 0xd0: size = 2; break;
        case 0xcd: case 0xd1: case 0xd4: size = 3; break;
        case 0xd5: size = 4; break;
        case 0xca: case 0xce: case 0xd2: size = 5; break;
        case 0xd6: size = 6; break;
        case 0xcb: case 0xcf: case 0xd3: size = 9; break;
        case 0xd7: size = 10; break;
        case 0xd8: size = 18; break;
        case 0xc4: case 0xd9: case 0xc7:
          if (!mp_fits(p, 2, end)) return MP_NONE;
          size = (m == 0xc7 ? 3 : 2) + (uint64_t)d[p + 1];
          break;
        case 0xc5: case 0xda: case 0xc8:
          if (!mp_fits(p, 3, end)) return MP_NONE;
          size = (m == 0xc8 ? 4 : 3) + (uint64_t)mp_u16(d, p + 1);
          break;
        case 0xc6: case 0xdb: case 0xc9:
          if (!mp_fits(p, 5, end)) return MP_NONE;
          size = (m == 0xc9 ? 6 : 5) + (uint64_t)mp_u32(d, p + 1);
          break;
        case 0xdc: case 0xde:
          if (!mp_fits(p, 3, end)) return MP_NONE;
          size = 3;
          items = (uint64_t)mp_u16(d, p + 1) * (m == 0xde ? 2 : 1);
          break;
        case 0xdd: case 0xdf:
          if (!mp_fits(p, 5, end)) return MP_NONE;
          size = 5;
          items = (uint64_t)mp_u32(d, p + 1) * (m == 0xdf ? 2 : 1);
          break;
        default: // 0xc1, never used
          return MP_NONE;
      }
    }
    if (!mp_fits(p, size, end)) return MP_NONE;
    p += (size_t)size;
    pending += items; // at most 2^33 per value: no overflow
  }
  return p;
}

// If a map starts at `p`: its entry count and where its first key starts.
MP_FN bool mp_map_header(const uint8_t *d, size_t end, size_t p, uint32_t *count, size_t *first) {
  if (p >= end) return false; // also MP_NONE
  uint8_t m = d[p];
  if (m >= 0x80 && m <= 0x8f) {
    *count = m & 0x0f;
    *first = p + 1;
    return true;
  }
  if (m == 0xde && mp_fits(p, 3, end)) {
    *count = mp_u16(d, p + 1);
    *first = p + 3;
    return true;
  }
  if (m == 0xdf && mp_fits(p, 5, end)) {
    *count = mp_u32(d, p + 1);
    *first = p + 5;
    return true;
  }
  return false;
}

MP_FN bool mp_is_map(const uint8_t *d, size_t end, size_t p) {
  uint32_t n;
  size_t first;
  return mp_map_header(d, end, p, &n, &first);
}

// If a string that ends by `end` starts at `p`: where its bytes start and
// their length. (The Rust reader also stops at a string key that runs past
// the event; so does every caller here.)
MP_FN bool mp_str_at(const uint8_t *d, size_t end, size_t p, size_t *start, size_t *len) {
  if (p >= end) return false;
  uint8_t m = d[p];
  size_t head;
  uint64_t n;
  if (m >= 0xa0 && m <= 0xbf) {
    head = 1;
    n = m & 0x1f;
  } else if (m == 0xd9 && mp_fits(p, 2, end)) {
    head = 2;
    n = d[p + 1];
  } else if (m == 0xda && mp_fits(p, 3, end)) {
    head = 3;
    n = mp_u16(d, p + 1);
  } else if (m == 0xdb && mp_fits(p, 5, end)) {
    head = 5;
    n = mp_u32(d, p + 1);
  } else {
    return false;
  }
  if (!mp_fits(p, head + n, end)) return false;
  *start = p + head;
  *len = (size_t)n;
  return true;
}

// The event's row images, found the way the Rust SDK's `Event` finds them:
// the top-level map is scanned only as far as the `after` key (noting
// `before` if it comes first, as it does in events written before format
// v1 put `after` first); `before` is looked for further on only when asked
// (mp_before). Positions are of the values, MP_NONE when absent.
typedef struct {
  const uint8_t *d;
  size_t end;
  size_t before, after;
  bool before_known; // false: `before` may still come after `after`
  size_t next;       // the `after` value, where a later scan resumes
  uint32_t left;     // top-level entries after it
} mp_images_t;

MP_FN void mp_images(const uint8_t *d, size_t start, size_t end, mp_images_t *im) {
  im->d = d;
  im->end = end;
  im->before = im->after = MP_NONE;
  im->before_known = true;
  uint32_t n;
  size_t p;
  if (!mp_map_header(d, end, start, &n, &p)) return;
  for (uint32_t i = 0; i < n; i++) {
    size_t a, len;
    if (!mp_str_at(d, end, p, &a, &len)) return;
    p = a + len;
    if (len == 6 && memcmp(d + a, "before", 6) == 0) {
      im->before = p;
    } else if (len == 5 && memcmp(d + a, "after", 5) == 0) {
      im->after = p;
      if (im->before == MP_NONE) {
        im->before_known = false;
        im->next = p;
        im->left = n - i - 1;
      }
      return;
    }
    p = mp_skip(d, end, p);
    if (p == MP_NONE) return;
  }
}

// The `before` image's position, scanning on past `after` the first time.
MP_FN size_t mp_before(mp_images_t *im) {
  if (im->before_known) return im->before;
  im->before_known = true;
  size_t p = mp_skip(im->d, im->end, im->next);
  for (uint32_t i = 0; i < im->left && p != MP_NONE; i++) {
    size_t a, len;
    if (!mp_str_at(im->d, im->end, p, &a, &len)) return MP_NONE;
    p = a + len;
    if (len == 6 && memcmp(im->d + a, "before", 6) == 0) return im->before = p;
    p = mp_skip(im->d, im->end, p);
  }
  return MP_NONE;
}

// Steps over one map entry whose key starts at `p`: returns where the value
// starts (MP_NONE if malformed); `*key`/`*key_len` get the key's bytes if it
// is a string (`*key_len` = MP_NONE otherwise).
MP_FN size_t mp_entry_key(const uint8_t *d, size_t end, size_t p, size_t *key, size_t *key_len) {
  if (mp_str_at(d, end, p, key, key_len)) return *key + *key_len;
  *key_len = MP_NONE;
  if (p < end && ((d[p] >= 0xa0 && d[p] <= 0xbf) || d[p] == 0xd9 || d[p] == 0xda || d[p] == 0xdb)) {
    return MP_NONE; // a string key running past the event
  }
  return mp_skip(d, end, p);
}

// In the map at `map`, the position of the value of string key
// key[0..key_len], or MP_NONE. The first of duplicate keys wins.
MP_FN size_t mp_map_get(const uint8_t *d, size_t end, size_t map, const uint8_t *key, size_t key_len) {
  uint32_t n;
  size_t p;
  if (!mp_map_header(d, end, map, &n, &p)) return MP_NONE;
  for (uint32_t i = 0; i < n; i++) {
    size_t k, kl;
    p = mp_entry_key(d, end, p, &k, &kl);
    if (p == MP_NONE) return MP_NONE;
    if (kl == key_len && memcmp(d + k, key, key_len) == 0) return p;
    p = mp_skip(d, end, p);
    if (p == MP_NONE) return MP_NONE;
  }
  return MP_NONE;
}

typedef struct {
  const uint8_t *ptr;
  size_t len;
} mp_bytes;

// In the map at `map`, finds several string keys in one pass: out[i] gets
// the position of the value of keys[i] (left alone when absent; of repeated
// names only the first gets it, as in Rust). Stops once all are found.
MP_FN void mp_find_many(const uint8_t *d, size_t end, size_t map, const mp_bytes *keys, size_t nkeys,
                         size_t *out) {
  uint32_t n;
  size_t p;
  if (!mp_map_header(d, end, map, &n, &p)) return;
  size_t missing = nkeys;
  for (uint32_t i = 0; i < n && missing > 0; i++) {
    size_t k, kl;
    p = mp_entry_key(d, end, p, &k, &kl);
    if (p == MP_NONE) return;
    for (size_t j = 0; j < nkeys; j++) {
      if (keys[j].len == kl && memcmp(d + k, keys[j].ptr, kl) == 0) {
        if (out[j] == MP_NONE) {
          out[j] = p;
          missing--;
        }
        break;
      }
    }
    p = mp_skip(d, end, p);
    if (p == MP_NONE) return;
  }
}

// The image key columns are read from: after if it is a map, else before
// (as `Event::find_columns`).
MP_FN size_t mp_key_image(mp_images_t *im) {
  return mp_is_map(im->d, im->end, im->after) ? im->after : mp_before(im);
}

// UTF-8.

// Length of the valid UTF-8 sequence starting with the non-ASCII byte at
// s[i], or 0 if invalid; *bad gets the length of its maximal invalid prefix
// (at least 1): the unit Rust's from_utf8_lossy replaces with one U+FFFD.
MP_FN size_t mp_utf8_sequence(const uint8_t *s, size_t i, size_t n, size_t *bad) {
  uint8_t c = s[i];
  size_t need;
  uint8_t lo = 0x80, hi = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) {
    need = 1;
  } else if (c >= 0xe0 && c <= 0xef) {
    need = 2;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    need = 3;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
  } else {
    *bad = 1;
    return 0;
  }
  size_t j = i + 1;
  for (size_t k = 0; k < need; k++, j++) {
    if (j >= n || s[j] < lo || s[j] > hi) {
      *bad = j - i;
      return 0;
    }
    lo = 0x80;
    hi = 0xbf;
  }
  return j - i;
}

// Whether s[0..n] is valid UTF-8 (as Rust's `str::from_utf8`).
MP_FN bool mp_valid_utf8(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (s[i] < 0x80) {
      i++;
      continue;
    }
    size_t bad, len = mp_utf8_sequence(s, i, n, &bad);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

// Number formatting, without printf.

// Room for any text mp_text formats: the longest is a float such as 5e-324
// written out (0.000...5, 326 characters) or f64::MAX (309 digits).
#define MP_TEXT_MAX 400

MP_FN size_t mp_format_u64(uint64_t v, bool negative, char *out) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  size_t len = 0;
  if (negative) out[len++] = '-';
  while (n) out[len++] = tmp[--n];
  return len;
}

MP_FN size_t mp_format_i64(int64_t v, char *out) {
  return v < 0 ? mp_format_u64(0 - (uint64_t)v, true, out) : mp_format_u64((uint64_t)v, false, out);
}

// The exact decimal expansion of a finite positive double: its digits (no
// leading zeros) into `digits` (room for 800), returns their count; the
// value is digits * 10^(*exp10). A double is m * 2^e, m < 2^53: for e >= 0
// the integer m * 2^e (at most 309 digits), else m * 5^-e / 10^-e (at most
// 767 digits). Base 10^9 limbs, least significant first.
MP_FN size_t mp_exact_digits(double x, char *digits, int *exp10) {
  uint64_t bits;
  memcpy(&bits, &x, 8);
  int be = (int)(bits >> 52 & 0x7ff);
  uint64_t m = bits & 0xfffffffffffffULL;
  int e;
  if (be == 0) {
    e = -1074;
  } else {
    m |= 1ULL << 52;
    e = be - 1075;
  }
  uint32_t limb[90];
  size_t n = 0;
  while (m) {
    limb[n++] = (uint32_t)(m % 1000000000);
    m /= 1000000000;
  }
  int left = e >= 0 ? e : -e;
  while (left > 0) {
    // Multiply by 2^29 or 5^13 (both below 2^31) at a time.
    int step = left > 13 ? 13 : left;
    uint64_t f = 1;
    if (e >= 0) {
      step = left > 29 ? 29 : left;
      f = 1ULL << step;
    } else {
      for (int i = 0; i < step; i++) f *= 5;
    }
    uint64_t carry = 0;
    for (size_t i = 0; i < n; i++) {
      uint64_t v = limb[i] * f + carry;
      limb[i] = (uint32_t)(v % 1000000000);
      carry = v / 1000000000;
    }
    while (carry) {
      limb[n++] = (uint32_t)(carry % 1000000000);
      carry /= 1000000000;
    }
    left -= step;
  }
  *exp10 = e >= 0 ? 0 : e;
  size_t len = 0;
  char tmp[10];
  size_t t = mp_format_u64(limb[n - 1], false, tmp);
  memcpy(digits, tmp, t);
  len = t;
  for (size_t i = n - 1; i-- > 0;) {
    uint32_t v = limb[i];
    for (int k = 8; k >= 0; k--) {
      digits[len + k] = (char)('0' + v % 10);
      v /= 10;
    }
    len += 9;
  }
  return len;
}

// Writes digits[0..n] * 10^k without an exponent, as Rust does.
MP_FN size_t mp_positional(const char *digits, size_t n, long k, char *out) {
  while (n > 1 && digits[n - 1] == '0') {
    n--;
    k++;
  }
  long point = (long)n + k;
  size_t len = 0;
  if (point <= 0) {
    out[len++] = '0';
    out[len++] = '.';
    for (long i = 0; i < -point; i++) out[len++] = '0';
    memcpy(out + len, digits, n);
    return len + n;
  }
  if (point >= (long)n) {
    memcpy(out, digits, n);
    len = n;
    for (long i = 0; i < point - (long)n; i++) out[len++] = '0';
    return len;
  }
  memcpy(out, digits, (size_t)point);
  out[point] = '.';
  memcpy(out + point + 1, digits + point, n - (size_t)point);
  return n + 1;
}

// Whether digits[0..n] * 10^k reads back (strtod/strtof: correctly rounded)
// as x.
MP_FN bool mp_reads_back(const char *digits, size_t n, long k, double x, bool single) {
  char s[48];
  memcpy(s, digits, n);
  s[n] = 'e';
  size_t len = n + 1 + mp_format_i64(k, s + n + 1);
  s[len] = 0;
  return single ? strtof(s, NULL) == (float)x : strtod(s, NULL) == x;
}

// Shortest decimal that reads back as x (a double, or a float if `single`),
// the closest such, ties to the larger, as Rust's `{}`; formatted without an
// exponent into out (MP_TEXT_MAX). Tries 1, 2, ... significant digits:
// each time the nearest decimal and, if that is below x and does not read
// back, the next one up (the interval of a power of two is wider above).
MP_FN size_t mp_format_float(double x, bool single, char *out) {
  if (x != x) {
    memcpy(out, "NaN", 3);
    return 3;
  }
  size_t len = 0;
  uint64_t bits;
  memcpy(&bits, &x, 8);
  if (bits >> 63) out[len++] = '-';
  if (x < 0) x = -x;
  if (x == 1.0 / 0.0) {
    memcpy(out + len, "inf", 3);
    return len + 3;
  }
  if (x == 0) {
    out[len++] = '0';
    return len;
  }
  char exact[800];
  int e10;
  size_t n = mp_exact_digits(x, exact, &e10);
  char cand[20];
  for (size_t p = 1; p <= (single ? 9 : 17); p++) {
    long k = (long)e10 + (long)(n - p); // candidate = cand * 10^k
    if (p >= n) {
      return len + mp_positional(exact, n, e10, out + len);
    }
    memcpy(cand, exact, p);
    bool up = exact[p] >= '5';
    size_t cl = p;
    for (int round = 0; round < 2; round++) {
      if (up) {
        // cand + 1 in the last place; 99..9 becomes 100..0 (one digit more).
        memcpy(cand, exact, p);
        size_t i = p;
        while (i > 0 && cand[i - 1] == '9') cand[--i] = '0';
        if (i == 0) {
          memmove(cand + 1, cand, p);
          cand[0] = '1';
          cl = p + 1;
        } else {
          cand[i - 1]++;
          cl = p;
        }
      }
      if (mp_reads_back(cand, cl, k, x, single)) {
        return len + mp_positional(cand, cl, k, out + len);
      }
      if (up) break; // the farther one, below, cannot read back either
      up = true;
    }
  }
  return len + mp_positional(exact, n, e10, out + len); // not reached
}

// The text of a value.

typedef enum {
  MP_TEXT,    // *ptr/*len: the text
  MP_NO_TEXT, // nil, array, map, extension
  MP_BAD,     // cannot be read: truncated, or a string that is not UTF-8
} mp_text_kind;

typedef struct {
  const uint8_t *ptr; // into the event, or into buf
  size_t len;
  char buf[MP_TEXT_MAX];
} mp_text_t;

MP_FN mp_text_kind mp_text_number(mp_text_t *t, size_t len) {
  t->ptr = (const uint8_t *)t->buf;
  t->len = len;
  return MP_TEXT;
}

MP_FN mp_text_kind mp_text(const uint8_t *d, size_t end, size_t p, mp_text_t *t) {
  if (p >= end) return MP_BAD;
  uint8_t m = d[p];
  if (m <= 0x7f) return mp_text_number(t, mp_format_u64(m, false, t->buf));
  if (m >= 0xe0) return mp_text_number(t, mp_format_i64((int8_t)m, t->buf));
  if (m == 0xc0) return MP_NO_TEXT;
  if (m == 0xc2 || m == 0xc3) {
    t->ptr = (const uint8_t *)(m == 0xc3 ? "true" : "false");
    t->len = m == 0xc3 ? 4 : 5;
    return MP_TEXT;
  }
  size_t a, n;
  if ((m >= 0xa0 && m <= 0xbf) || m == 0xd9 || m == 0xda || m == 0xdb) {
    if (!mp_str_at(d, end, p, &a, &n) || !mp_valid_utf8(d + a, n)) return MP_BAD;
    t->ptr = d + a;
    t->len = n;
    return MP_TEXT;
  }
  if (m == 0xc4 || m == 0xc5 || m == 0xc6) {
    size_t e = mp_skip(d, end, p);
    if (e == MP_NONE) return MP_BAD;
    size_t head = m == 0xc4 ? 2 : m == 0xc5 ? 3 : 5;
    t->ptr = d + p + head;
    t->len = e - p - head;
    return MP_TEXT;
  }
  size_t q = p + 1;
  switch (m) {
    case 0xcc:
    case 0xcd:
    case 0xce:
    case 0xcf: {
      size_t size = m == 0xcc ? 1 : m == 0xcd ? 2 : m == 0xce ? 4 : 8;
      if (!mp_fits(q, size, end)) return MP_BAD;
      uint64_t v = m == 0xcc ? d[q] : m == 0xcd ? mp_u16(d, q) : m == 0xce ? mp_u32(d, q) : mp_u64(d, q);
      return mp_text_number(t, mp_format_u64(v, false, t->buf));
    }
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
      size_t size = m == 0xd0 ? 1 : m == 0xd1 ? 2 : m == 0xd2 ? 4 : 8;
      if (!mp_fits(q, size, end)) return MP_BAD;
      int64_t v = m == 0xd0 ? (int8_t)d[q]
                  : m == 0xd1 ? (int16_t)mp_u16(d, q)
                  : m == 0xd2 ? (int32_t)mp_u32(d, q)
                              : (int64_t)mp_u64(d, q);
      return mp_text_number(t, mp_format_i64(v, t->buf));
    }
    case 0xca: {
      if (!mp_fits(q, 4, end)) return MP_BAD;
      uint32_t b = mp_u32(d, q);
      float f;
      memcpy(&f, &b, 4);
      return mp_text_number(t, mp_format_float(f, true, t->buf));
    }
    case 0xcb: {
      if (!mp_fits(q, 8, end)) return MP_BAD;
      uint64_t b = mp_u64(d, q);
      double f;
      memcpy(&f, &b, 8);
      return mp_text_number(t, mp_format_float(f, false, t->buf));
    }
  }
  // Arrays, maps, extensions: no text, if well formed.
  return mp_skip(d, end, p) == MP_NONE ? MP_BAD : MP_NO_TEXT;
}

// The text of column `key` of the after image, or of the before image when
// the after image has no such column (deletes). False when absent or
// without text (nil, containers). As `Event::column` + `write_text` in the
// Rust SDK.
MP_FN bool mp_column(mp_images_t *im, const mp_bytes *key, mp_text_t *t) {
  if (im->after != MP_NONE) {
    size_t p = mp_map_get(im->d, im->end, im->after, key->ptr, key->len);
    if (p != MP_NONE) {
      mp_text_kind k = mp_text(im->d, im->end, p, t);
      if (k != MP_BAD) return k == MP_TEXT;
    }
  }
  size_t before = mp_before(im);
  if (before != MP_NONE) {
    size_t p = mp_map_get(im->d, im->end, before, key->ptr, key->len);
    if (p != MP_NONE) return mp_text(im->d, im->end, p, t) == MP_TEXT;
  }
  return false;
}

#endif
