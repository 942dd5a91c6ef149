// Example Sluice key chooser in C: the partition key is
// "<prefix><db>.<table>", so each table's rows stay on one partition
// (in order). Decides from the batch metadata only.
//
// Settings: `prefix` (optional). Built by scripts/build-plugins with
// wit-bindgen's C output (world `key-plugin`), clang for wasm32-wasi and
// `wasm-tools component new`; run by tests in host/src/plugin/tests/.
//
// Ownership follows wit-bindgen's C conventions: arguments belong to the
// callee (freed here), returned buffers are freed by the generated
// post-return code.

#include <stdlib.h>
#include <string.h>

#include "key_plugin.h"

static uint8_t *prefix = NULL;
static size_t prefix_len = 0;

static bool is(const key_plugin_string_t *s, const char *lit) {
  size_t n = strlen(lit);
  return s->len == n && memcmp(s->ptr, lit, n) == 0;
}

bool exports_sluice_plugin_lifecycle_init(exports_sluice_plugin_lifecycle_settings_t *settings,
                                          key_plugin_string_t *err) {
  bool ok = true;
  for (size_t i = 0; i < settings->len && ok; i++) {
    key_plugin_tuple2_string_string_t *kv = &settings->ptr[i];
    if (is(&kv->f0, "prefix")) {
      free(prefix);
      prefix = malloc(kv->f1.len + 1);
      memcpy(prefix, kv->f1.ptr, kv->f1.len);
      prefix_len = kv->f1.len;
    } else {
      key_plugin_string_dup(err, "unknown setting (known: prefix)");
      ok = false;
    }
  }
  exports_sluice_plugin_lifecycle_settings_free(settings);
  if (ok) {
    key_plugin_string_t msg;
    key_plugin_string_set(&msg, "c table-key ready");
    sluice_plugin_log_log(SLUICE_PLUGIN_LOG_LEVEL_INFO, &msg);
  }
  return ok;
}

bool exports_sluice_plugin_key_key(exports_sluice_plugin_key_batch_t *batch,
                                   exports_sluice_plugin_key_keys_t *ret, key_plugin_string_t *err) {
  (void)err;
  size_t nt = batch->tables.len, ne = batch->events.len;

  // One key per table, written once; events point at their table's key.
  size_t total = 0;
  for (size_t t = 0; t < nt; t++) {
    sluice_plugin_types_table_name_t *tn = &batch->tables.ptr[t];
    total += prefix_len + tn->db.len + 1 + tn->table.len;
  }
  uint8_t *data = malloc(total ? total : 1);
  exports_sluice_plugin_key_span_t *table_span = malloc((nt ? nt : 1) * sizeof *table_span);
  size_t pos = 0;
  for (size_t t = 0; t < nt; t++) {
    sluice_plugin_types_table_name_t *tn = &batch->tables.ptr[t];
    table_span[t].offset = (uint32_t)pos;
    memcpy(data + pos, prefix, prefix_len);
    pos += prefix_len;
    memcpy(data + pos, tn->db.ptr, tn->db.len);
    pos += tn->db.len;
    data[pos++] = '.';
    memcpy(data + pos, tn->table.ptr, tn->table.len);
    pos += tn->table.len;
    table_span[t].len = (uint32_t)(pos - table_span[t].offset);
  }

  exports_sluice_plugin_key_option_span_t *spans = malloc((ne ? ne : 1) * sizeof *spans);
  for (size_t i = 0; i < ne; i++) {
    spans[i].is_some = true;
    spans[i].val = table_span[batch->events.ptr[i].table];
  }
  free(table_span);
  exports_sluice_plugin_key_batch_free(batch);

  ret->data.ptr = data;
  ret->data.len = total;
  ret->spans.ptr = spans;
  ret->spans.len = ne;
  return true;
}
