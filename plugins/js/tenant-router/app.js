// JavaScript twin of plugins/tenant-router: sends each tenant's events to
// its own topic.
//
// Settings: `column = "tenant_id"` (required), `topic` template with
// `{value}`, `{db}`, `{table}` (default `"{db}.{table}.{value}"`). Events
// without the column (or with a null one) keep the rule's topic. Characters
// Kafka does not allow in topic names become `_`. Built by
// scripts/build-plugins (world `route-plugin`) as js-tenant-router.wasm.

import { column as readColumn, images, legal, legalText } from "../_lib/msgpack.js";
import { Settings } from "../_lib/settings.js";

const VALUE = 0;
const DB = 1;
const TABLE = 2;
const PLACEHOLDERS = { value: VALUE, db: DB, table: TABLE };

let column = null; // UTF-8 bytes
let template = []; // literal text (already legal) or VALUE, DB, TABLE

function parseTemplate(t) {
  const parts = [];
  let rest = t;
  for (;;) {
    const open = rest.indexOf("{");
    if (open < 0) break;
    if (open > 0) parts.push(legal(rest.slice(0, open)));
    const close = rest.indexOf("}", open);
    if (close < 0) throw "`topic`: unclosed {";
    const name = rest.slice(open + 1, close);
    if (!Object.hasOwn(PLACEHOLDERS, name)) throw `\`topic\`: unknown placeholder {${name}}`;
    parts.push(PLACEHOLDERS[name]);
    rest = rest.slice(close + 1);
  }
  if (rest) parts.push(legal(rest));
  if (!parts.includes(VALUE)) throw "`topic` must contain {value}";
  return parts;
}

export const lifecycle = {
  init(settings) {
    const s = new Settings(settings);
    s.only("column", "topic");
    const col = s.require("column");
    const t = s.get("topic");
    template = parseTemplate(t === undefined ? "{db}.{table}.{value}" : t);
    column = new TextEncoder().encode(col);
  },
};

export const route = {
  route(batch) {
    if (column === null) throw "missing setting `column`";
    const d = batch.data;
    const names = batch.tables.map((t) => [legal(t.db), legal(t.table)]);
    const topics = [];
    const index = new Map();
    const picks = batch.events.map((e) => {
      const end = e.offset + e.len;
      if (end > d.length) throw "event bytes out of range";
      const [before, after] = images(d, e.offset, end);
      const t = readColumn(d, end, before, after, column);
      if (t === null) return undefined;
      const value = legalText(t);
      const [db, table] = names[e.table];
      let topic = "";
      for (const p of template) {
        topic += p === VALUE ? value : p === DB ? db : p === TABLE ? table : p;
      }
      let i = index.get(topic);
      if (i === undefined) {
        i = topics.length;
        index.set(topic, i);
        topics.push(topic);
      }
      return i;
    });
    return { topics, picks };
  },
};
