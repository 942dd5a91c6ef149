// C twin of plugins/row-filter: keeps events whose op is in `ops` and, if
// `column` is set, whose column value (as text) is one of `equals`.
//
// Settings: `ops = "c,u"` (default: all), `column = "status"`,
// `equals = "active,trial"`. Reads the column with the shared reader
// (plugins/c/_lib/msgpack.h: after image, else before) without decoding the
// event. Built by scripts/build-plugins (world `filter-plugin`) as
// c-row-filter.wasm.
//
// Ownership follows wit-bindgen's C conventions: arguments belong to the
// callee (freed here), returned buffers and error strings are malloc'ed and
// freed by the generated post-return code.

#include "filter_plugin.h"
#include "msgpack.h"
#include "settings.h"

typedef struct {
  bool ops[4];      // indexed by op
  bool has_column;  // else decide on the op only
  mp_bytes column;  // owned
  mp_bytes *equals; // owned, as their bytes
  size_t n_equals;
} config_t;

static config_t config = {{true, true, true, true}, false, {NULL, 0}, NULL, 0};

static void config_free(config_t *c) {
  free((void *)c->column.ptr);
  for (size_t i = 0; i < c->n_equals; i++) free((void *)c->equals[i].ptr);
  free(c->equals);
}

static bool parse(const sl_settings *s, config_t *c, sl_buf *err) {
  static const char *const known[] = {"ops", "column", "equals"};
  if (!sl_only(s, known, 3, err)) return false;
  sl_str v;
  if (sl_get(s, "ops", &v)) {
    sl_str *codes = sl_alloc(sl_list_room(v) * sizeof *codes);
    size_t n = sl_list(v, codes);
    bool ok = true;
    if (n) memset(c->ops, 0, sizeof c->ops);
    for (size_t i = 0; i < n && ok; i++) {
      static const char *const names[] = {"c", "u", "d", "r"}; // op order
      size_t op = 0;
      while (op < 4 && !sl_is(codes[i], names[op])) op++;
      if (op < 4) {
        c->ops[op] = true;
      } else {
        sl_push_str(err, "ops: `");
        sl_push(err, codes[i].ptr, codes[i].len);
        sl_push_str(err, "` is not one of c, u, d, r");
        ok = false;
      }
    }
    free(codes);
    if (!ok) return false;
  }
  sl_str column, equals;
  bool has_column = sl_get(s, "column", &column), has_equals = sl_get(s, "equals", &equals);
  if (has_column != has_equals) {
    sl_push_str(err, "`column` and `equals` go together");
    return false;
  }
  if (has_column) {
    sl_str col = sl_copy(column);
    c->has_column = true;
    c->column = (mp_bytes){col.ptr, col.len};
    sl_str *items = sl_alloc(sl_list_room(equals) * sizeof *items);
    c->n_equals = sl_list(equals, items);
    c->equals = sl_alloc(c->n_equals * sizeof *c->equals);
    for (size_t i = 0; i < c->n_equals; i++) {
      sl_str e = sl_copy(items[i]);
      c->equals[i] = (mp_bytes){e.ptr, e.len};
    }
    free(items);
  }
  return true;
}

bool exports_sluice_plugin_lifecycle_init(exports_sluice_plugin_lifecycle_settings_t *settings,
                                          filter_plugin_string_t *err) {
  sl_settings s = settings_from(settings);
  config_t c = {{true, true, true, true}, false, {NULL, 0}, NULL, 0};
  sl_buf msg = {0};
  bool ok = parse(&s, &c, &msg);
  if (ok) {
    config_free(&config);
    config = c;
  } else {
    config_free(&c);
    filter_plugin_string_dup_n(err, msg.ptr, msg.len);
  }
  free(msg.ptr);
  free(s.pairs);
  exports_sluice_plugin_lifecycle_settings_free(settings);
  return ok;
}

static bool one_of(const mp_text_t *t) {
  for (size_t i = 0; i < config.n_equals; i++) {
    if (config.equals[i].len == t->len && memcmp(config.equals[i].ptr, t->ptr, t->len) == 0) return true;
  }
  return false;
}

bool exports_sluice_plugin_filter_filter(exports_sluice_plugin_filter_batch_t *batch, filter_plugin_list_bool_t *ret,
                                         filter_plugin_string_t *err) {
  const uint8_t *d = batch->data.ptr;
  size_t ne = batch->events.len;
  bool *keep = sl_alloc(ne * sizeof *keep);
  bool ok = true;
  mp_text_t text;
  for (size_t i = 0; i < ne && ok; i++) {
    const sluice_plugin_types_event_meta_t *e = &batch->events.ptr[i];
    uint64_t end = (uint64_t)e->offset + e->len;
    if (e->op > 3 || end > batch->data.len) {
      filter_plugin_string_dup(err, "event out of range");
      ok = false;
      break;
    }
    if (!config.ops[e->op]) {
      keep[i] = false;
    } else if (!config.has_column) {
      keep[i] = true;
    } else {
      mp_images_t im;
      mp_images(d, e->offset, (size_t)end, &im);
      keep[i] = mp_column(&im, &config.column, &text) && one_of(&text);
    }
  }
  exports_sluice_plugin_filter_batch_free(batch);
  if (!ok) {
    free(keep);
    return false;
  }
  if (ne == 0) {
    free(keep); // post-return frees only non-empty lists
    keep = NULL;
  }
  ret->ptr = keep;
  ret->len = ne;
  return true;
}
