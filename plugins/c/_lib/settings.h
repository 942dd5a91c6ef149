// Plugin settings as the Rust SDK reads them (plugin-sdk/src/event.rs,
// `Settings`), so the C plugins accept, and reject with the same messages,
// what the Rust ones do. Header-only, shared by the C example plugins.
//
// `settings_from(list)` takes the generated settings list of any world (the
// fields are named alike in all of them). Values point into that list, so
// copy what must outlive `init` (`sl_copy`). Allocation failures abort: a
// trap, which the host turns into a failed call.

#ifndef SLUICE_SETTINGS_H
#define SLUICE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SL_FN static __attribute__((unused))

typedef struct {
  const uint8_t *ptr;
  size_t len;
} sl_str;

typedef struct {
  sl_str key, value;
} sl_pair;

typedef struct {
  sl_pair *pairs;
  size_t len;
} sl_settings;

SL_FN void *sl_alloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) abort();
  return p;
}

#define settings_from(list)                                                  \
  ({                                                                         \
    sl_settings s_ = {sl_alloc((list)->len * sizeof(sl_pair)), (list)->len}; \
    for (size_t i_ = 0; i_ < (list)->len; i_++) {                            \
      s_.pairs[i_].key = (sl_str){(list)->ptr[i_].f0.ptr, (list)->ptr[i_].f0.len};   \
      s_.pairs[i_].value = (sl_str){(list)->ptr[i_].f1.ptr, (list)->ptr[i_].f1.len}; \
    }                                                                        \
    s_;                                                                      \
  })

SL_FN bool sl_is(sl_str s, const char *lit) {
  size_t n = strlen(lit);
  return s.len == n && memcmp(s.ptr, lit, n) == 0;
}

// A malloc'ed copy (freed with free(s.ptr)).
SL_FN sl_str sl_copy(sl_str s) {
  uint8_t *p = sl_alloc(s.len);
  memcpy(p, s.ptr, s.len);
  return (sl_str){p, s.len};
}

// The value of the first `key`.
SL_FN bool sl_get(const sl_settings *s, const char *key, sl_str *value) {
  for (size_t i = 0; i < s->len; i++) {
    if (sl_is(s->pairs[i].key, key)) {
      *value = s->pairs[i].value;
      return true;
    }
  }
  return false;
}

// A growing message.
typedef struct {
  char *ptr;
  size_t len, cap;
} sl_buf;

SL_FN void sl_push(sl_buf *b, const void *bytes, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 64;
    while (cap < b->len + n) cap *= 2;
    char *p = realloc(b->ptr, cap);
    if (!p) abort();
    b->ptr = p;
    b->cap = cap;
  }
  memcpy(b->ptr + b->len, bytes, n);
  b->len += n;
}

SL_FN void sl_push_str(sl_buf *b, const char *s) { sl_push(b, s, strlen(s)); }

// Rejects keys not in known[0..n]: a typo should not pass silently.
SL_FN bool sl_only(const sl_settings *s, const char *const *known, size_t n, sl_buf *err) {
  for (size_t i = 0; i < s->len; i++) {
    bool ok = false;
    for (size_t k = 0; k < n && !ok; k++) ok = sl_is(s->pairs[i].key, known[k]);
    if (!ok) {
      sl_push_str(err, "unknown setting `");
      sl_push(err, s->pairs[i].key.ptr, s->pairs[i].key.len);
      sl_push_str(err, "` (known: ");
      for (size_t k = 0; k < n; k++) {
        if (k) sl_push_str(err, ", ");
        sl_push_str(err, known[k]);
      }
      sl_push_str(err, ")");
      return false;
    }
  }
  return true;
}

SL_FN bool sl_require(const sl_settings *s, const char *key, sl_str *value, sl_buf *err) {
  if (sl_get(s, key, value)) return true;
  sl_push_str(err, "missing setting `");
  sl_push_str(err, key);
  sl_push_str(err, "`");
  return false;
}

// Length of the Unicode White_Space character (Rust's `char::is_whitespace`)
// at the start of s[0..n], or 0. Settings are valid UTF-8.
SL_FN size_t sl_space_at(const uint8_t *s, size_t n) {
  if (n >= 1 && ((s[0] >= 0x09 && s[0] <= 0x0d) || s[0] == ' ')) return 1;
  if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0)) return 2;
  if (n >= 3 && s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80) return 3; // U+1680
  if (n >= 3 && s[0] == 0xe2 && s[1] == 0x80 &&
      ((s[2] >= 0x80 && s[2] <= 0x8a) || s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf)) {
    return 3; // U+2000-200A, 2028, 2029, 202F
  }
  if (n >= 3 && s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f) return 3; // U+205F
  if (n >= 3 && s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80) return 3; // U+3000
  return 0;
}

// The start of the UTF-8 character that ends at s[n-1].
SL_FN size_t sl_last_char(const uint8_t *s, size_t n) {
  size_t i = n - 1;
  while (i > 0 && (s[i] & 0xc0) == 0x80) i--;
  return i;
}

// `str::trim`.
SL_FN sl_str sl_trim(sl_str s) {
  size_t k;
  while (s.len && (k = sl_space_at(s.ptr, s.len))) {
    s.ptr += k;
    s.len -= k;
  }
  while (s.len) {
    size_t i = sl_last_char(s.ptr, s.len);
    if (sl_space_at(s.ptr + i, s.len - i) != s.len - i) break;
    s.len = i;
  }
  return s;
}

// A comma-separated list, trimmed, empty items removed: the items point
// into `v`; returns how many (items: room for as many as v has commas + 1).
SL_FN size_t sl_list(sl_str v, sl_str *items) {
  size_t n = 0, start = 0;
  for (size_t i = 0; i <= v.len; i++) {
    if (i == v.len || v.ptr[i] == ',') {
      sl_str item = sl_trim((sl_str){v.ptr + start, i - start});
      if (item.len) items[n++] = item;
      start = i + 1;
    }
  }
  return n;
}

// Room for sl_list's items of v.
SL_FN size_t sl_list_room(sl_str v) {
  size_t n = 1;
  for (size_t i = 0; i < v.len; i++) n += v.ptr[i] == ',';
  return n;
}

#endif
