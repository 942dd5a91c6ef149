// C twin of plugins/key-columns: the partition key from named columns,
// joined by a separator.
//
// Settings: `columns = "tenant_id,id"` (required), `separator` (default
// `"|"`). Columns are read from the after image, or the before image when
// there is no after image (deletes), in one pass over the row. If a column
// is missing or null the default key is kept. Built by scripts/build-plugins
// (world `key-plugin`) as c-key-columns.wasm.
//
// Ownership follows wit-bindgen's C conventions: arguments belong to the
// callee (freed here), returned buffers and error strings are malloc'ed and
// freed by the generated post-return code.

#include "key_plugin.h"
#include "msgpack.h"
#include "settings.h"

typedef struct {
  mp_bytes *columns; // owned; NULL until init succeeds
  size_t n_columns;
  sl_str separator; // owned
} config_t;

static config_t config = {NULL, 0, {NULL, 0}};

static void config_free(config_t *c) {
  for (size_t i = 0; i < c->n_columns; i++) free((void *)c->columns[i].ptr);
  free(c->columns);
  free((void *)c->separator.ptr);
}

static bool parse(const sl_settings *s, config_t *c, sl_buf *err) {
  static const char *const known[] = {"columns", "separator"};
  if (!sl_only(s, known, 2, err)) return false;
  sl_str v, sep;
  if (!sl_get(s, "columns", &v)) v = (sl_str){NULL, 0};
  sl_str *items = sl_alloc(sl_list_room(v) * sizeof *items);
  size_t n = sl_list(v, items);
  if (n == 0) {
    free(items);
    sl_push_str(err, "missing setting `columns`");
    return false;
  }
  c->columns = sl_alloc(n * sizeof *c->columns);
  for (size_t i = 0; i < n; i++) {
    sl_str col = sl_copy(items[i]);
    c->columns[i] = (mp_bytes){col.ptr, col.len};
  }
  c->n_columns = n;
  free(items);
  if (!sl_get(s, "separator", &sep)) sep = (sl_str){(const uint8_t *)"|", 1};
  c->separator = sl_copy(sep);
  return true;
}

bool exports_sluice_plugin_lifecycle_init(exports_sluice_plugin_lifecycle_settings_t *settings,
                                          key_plugin_string_t *err) {
  sl_settings s = settings_from(settings);
  config_t c = {NULL, 0, {NULL, 0}};
  sl_buf msg = {0};
  bool ok = parse(&s, &c, &msg);
  if (ok) {
    config_free(&config);
    config = c;
  } else {
    config_free(&c);
    key_plugin_string_dup_n(err, msg.ptr, msg.len);
  }
  free(msg.ptr);
  free(s.pairs);
  exports_sluice_plugin_lifecycle_settings_free(settings);
  return ok;
}

bool exports_sluice_plugin_key_key(exports_sluice_plugin_key_batch_t *batch, exports_sluice_plugin_key_keys_t *ret,
                                   key_plugin_string_t *err) {
  const uint8_t *d = batch->data.ptr;
  size_t ne = batch->events.len, nc = config.n_columns;
  const char *problem = config.columns ? NULL : "missing setting `columns`";
  exports_sluice_plugin_key_option_span_t *spans = sl_alloc(ne * sizeof *spans);
  size_t *found = sl_alloc(nc * sizeof *found);
  mp_text_t *texts = sl_alloc(nc * sizeof *texts);
  sl_buf data = {0};
  for (size_t i = 0; i < ne && !problem; i++) {
    const sluice_plugin_types_event_meta_t *e = &batch->events.ptr[i];
    uint64_t end = (uint64_t)e->offset + e->len;
    if (end > batch->data.len) {
      problem = "event out of range";
      break;
    }
    mp_images_t im;
    mp_images(d, e->offset, (size_t)end, &im);
    for (size_t c = 0; c < nc; c++) found[c] = MP_NONE;
    mp_find_many(d, (size_t)end, mp_key_image(&im), config.columns, nc, found);
    bool all = true;
    for (size_t c = 0; c < nc && all; c++) {
      all = found[c] != MP_NONE && mp_text(d, (size_t)end, found[c], &texts[c]) == MP_TEXT;
    }
    spans[i].is_some = all;
    if (!all) continue;
    size_t offset = data.len;
    for (size_t c = 0; c < nc; c++) {
      if (c) sl_push(&data, config.separator.ptr, config.separator.len);
      sl_push(&data, texts[c].ptr, texts[c].len);
    }
    spans[i].val.offset = (uint32_t)offset;
    spans[i].val.len = (uint32_t)(data.len - offset);
  }
  free(found);
  free(texts);
  exports_sluice_plugin_key_batch_free(batch);
  if (problem) {
    free(spans);
    free(data.ptr);
    key_plugin_string_dup(err, problem);
    return false;
  }
  // Post-return frees only non-empty lists.
  if (data.len == 0) {
    free(data.ptr);
    data.ptr = NULL;
  }
  if (ne == 0) {
    free(spans);
    spans = NULL;
  }
  ret->data.ptr = (uint8_t *)data.ptr;
  ret->data.len = data.len;
  ret->spans.ptr = spans;
  ret->spans.len = ne;
  return true;
}
