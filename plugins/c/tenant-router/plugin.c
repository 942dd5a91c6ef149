// C twin of plugins/tenant-router: sends each tenant's events to its own
// topic.
//
// Settings: `column = "tenant_id"` (required), `topic` template with
// `{value}`, `{db}`, `{table}` (default `"{db}.{table}.{value}"`). Events
// without the column (or with a null one) keep the rule's topic. Characters
// Kafka does not allow in topic names become `_`. Built by
// scripts/build-plugins (world `route-plugin`) as c-tenant-router.wasm.
//
// Ownership follows wit-bindgen's C conventions: arguments belong to the
// callee (freed here); every returned topic, the lists and error strings are
// malloc'ed and freed by the generated post-return code.

#include "msgpack.h"
#include "route_plugin.h"
#include "settings.h"

enum { TEXT, VALUE, DB, TABLE };

typedef struct {
  int kind;
  sl_str text; // TEXT: already legal, owned
} part_t;

typedef struct {
  mp_bytes column; // owned; ptr NULL until init succeeds
  part_t *parts;
  size_t n_parts;
} config_t;

static config_t config = {{NULL, 0}, NULL, 0};

static void config_free(config_t *c) {
  free((void *)c->column.ptr);
  for (size_t i = 0; i < c->n_parts; i++) free((void *)c->parts[i].text.ptr);
  free(c->parts);
}

static bool legal_ascii(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

// Appends s[0..n] as a topic name part: read as Rust's from_utf8_lossy does,
// then every character Kafka refuses (all but ASCII letters, digits, `.`,
// `_`, `-`) becomes `_`: one per character, one per invalid sequence.
static void push_legal(sl_buf *b, const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (s[i] < 0x80) {
      char c = legal_ascii(s[i]) ? (char)s[i] : '_';
      sl_push(b, &c, 1);
      i++;
    } else {
      size_t bad, len = mp_utf8_sequence(s, i, n, &bad);
      sl_push(b, "_", 1);
      i += len ? len : bad;
    }
  }
}

static void push_part(config_t *c, int kind, const uint8_t *text, size_t n) {
  part_t *p = &c->parts[c->n_parts++];
  p->kind = kind;
  p->text = (sl_str){NULL, 0};
  if (kind == TEXT) {
    sl_buf b = {0};
    push_legal(&b, text, n);
    p->text = (sl_str){(const uint8_t *)b.ptr, b.len};
  }
}

static bool parse_template(sl_str t, config_t *c, sl_buf *err) {
  c->parts = sl_alloc((2 * t.len + 1) * sizeof *c->parts);
  size_t i = 0;
  bool value = false;
  while (i < t.len) {
    const uint8_t *open = memchr(t.ptr + i, '{', t.len - i);
    if (!open) break;
    size_t o = (size_t)(open - t.ptr);
    if (o > i) push_part(c, TEXT, t.ptr + i, o - i);
    const uint8_t *close = memchr(open, '}', t.len - o);
    if (!close) {
      sl_push_str(err, "`topic`: unclosed {");
      return false;
    }
    sl_str name = {open + 1, (size_t)(close - open - 1)};
    int kind = sl_is(name, "value") ? VALUE : sl_is(name, "db") ? DB : sl_is(name, "table") ? TABLE : TEXT;
    if (kind == TEXT) {
      sl_push_str(err, "`topic`: unknown placeholder {");
      sl_push(err, name.ptr, name.len);
      sl_push_str(err, "}");
      return false;
    }
    value |= kind == VALUE;
    push_part(c, kind, NULL, 0);
    i = (size_t)(close - t.ptr) + 1;
  }
  if (i < t.len) push_part(c, TEXT, t.ptr + i, t.len - i);
  if (!value) {
    sl_push_str(err, "`topic` must contain {value}");
    return false;
  }
  return true;
}

static bool parse(const sl_settings *s, config_t *c, sl_buf *err) {
  static const char *const known[] = {"column", "topic"};
  if (!sl_only(s, known, 2, err)) return false;
  sl_str column, topic;
  if (!sl_require(s, "column", &column, err)) return false;
  if (!sl_get(s, "topic", &topic)) topic = (sl_str){(const uint8_t *)"{db}.{table}.{value}", 20};
  if (!parse_template(topic, c, err)) return false;
  sl_str col = sl_copy(column);
  c->column = (mp_bytes){col.ptr, col.len};
  return true;
}

bool exports_sluice_plugin_lifecycle_init(exports_sluice_plugin_lifecycle_settings_t *settings,
                                          route_plugin_string_t *err) {
  sl_settings s = settings_from(settings);
  config_t c = {{NULL, 0}, NULL, 0};
  sl_buf msg = {0};
  bool ok = parse(&s, &c, &msg);
  if (ok) {
    config_free(&config);
    config = c;
  } else {
    config_free(&c);
    route_plugin_string_dup_n(err, msg.ptr, msg.len);
  }
  free(msg.ptr);
  free(s.pairs);
  exports_sluice_plugin_lifecycle_settings_free(settings);
  return ok;
}

// The batch's distinct topics, each its own malloc'ed string, indexed by an
// open-addressing hash table (slots hold index + 1; 0 = empty).
typedef struct {
  route_plugin_string_t *topics;
  size_t len, cap;
  uint32_t *slots;
  size_t n_slots;
} topics_t;

static uint32_t hash(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
  return h;
}

static void topics_grow(topics_t *t) {
  t->cap = t->cap ? 2 * t->cap : 16;
  t->topics = realloc(t->topics, t->cap * sizeof *t->topics);
  free(t->slots);
  t->n_slots = 2 * t->cap;
  t->slots = calloc(t->n_slots, sizeof *t->slots);
  if (!t->topics || !t->slots) abort();
  for (size_t i = 0; i < t->len; i++) {
    size_t at = hash((const char *)t->topics[i].ptr, t->topics[i].len) & (t->n_slots - 1);
    while (t->slots[at]) at = (at + 1) & (t->n_slots - 1);
    t->slots[at] = (uint32_t)i + 1;
  }
}

static uint32_t topics_index(topics_t *t, const char *s, size_t n) {
  if (t->len == t->cap) topics_grow(t);
  size_t at = hash(s, n) & (t->n_slots - 1);
  while (t->slots[at]) {
    route_plugin_string_t *old = &t->topics[t->slots[at] - 1];
    if (old->len == n && memcmp(old->ptr, s, n) == 0) return t->slots[at] - 1;
    at = (at + 1) & (t->n_slots - 1);
  }
  route_plugin_string_t *add = &t->topics[t->len];
  add->ptr = n ? sl_alloc(n) : NULL; // post-return frees only non-empty strings
  memcpy(add->ptr, s, n);
  add->len = n;
  t->slots[at] = (uint32_t)++t->len;
  return (uint32_t)t->len - 1;
}

bool exports_sluice_plugin_route_route(exports_sluice_plugin_route_batch_t *batch,
                                       exports_sluice_plugin_route_routes_t *ret, route_plugin_string_t *err) {
  const uint8_t *d = batch->data.ptr;
  size_t ne = batch->events.len, nt = batch->tables.len;
  const char *problem = config.column.ptr ? NULL : "missing setting `column`";
  route_plugin_option_u32_t *picks = sl_alloc(ne * sizeof *picks);
  topics_t topics = {0};
  sl_buf topic = {0};
  mp_text_t text;
  for (size_t i = 0; i < ne && !problem; i++) {
    const sluice_plugin_types_event_meta_t *e = &batch->events.ptr[i];
    uint64_t end = (uint64_t)e->offset + e->len;
    if (end > batch->data.len || e->table >= nt) {
      problem = "event out of range";
      break;
    }
    mp_images_t im;
    mp_images(d, e->offset, (size_t)end, &im);
    if (!mp_column(&im, &config.column, &text)) {
      picks[i].is_some = false;
      continue;
    }
    const sluice_plugin_types_table_name_t *t = &batch->tables.ptr[e->table];
    topic.len = 0;
    for (size_t p = 0; p < config.n_parts; p++) {
      const part_t *part = &config.parts[p];
      switch (part->kind) {
        case TEXT: sl_push(&topic, part->text.ptr, part->text.len); break;
        case VALUE: push_legal(&topic, text.ptr, text.len); break;
        case DB: push_legal(&topic, t->db.ptr, t->db.len); break;
        case TABLE: push_legal(&topic, t->table.ptr, t->table.len); break;
      }
    }
    picks[i].is_some = true;
    picks[i].val = topics_index(&topics, topic.ptr, topic.len);
  }
  free(topic.ptr);
  free(topics.slots);
  exports_sluice_plugin_route_batch_free(batch);
  if (problem) {
    for (size_t i = 0; i < topics.len; i++) free(topics.topics[i].ptr);
    free(topics.topics);
    free(picks);
    route_plugin_string_dup(err, problem);
    return false;
  }
  // Post-return frees only non-empty lists.
  if (topics.len == 0) {
    free(topics.topics);
    topics.topics = NULL;
  }
  if (ne == 0) {
    free(picks);
    picks = NULL;
  }
  ret->topics.ptr = topics.topics;
  ret->topics.len = topics.len;
  ret->picks.ptr = picks;
  ret->picks.len = ne;
  return true;
}
