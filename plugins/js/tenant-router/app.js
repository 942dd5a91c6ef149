// JavaScript twin of plugins/tenant-router: sends each tenant's events to
// its own topic.
//
// Settings: `column = "tenant_id"` (required), `topic` template with
// `{value}`, `{db}`, `{table}` (default `"{db}.{table}.{value}"`). Events
// without the column (or with a null one) keep the rule's topic. Characters
// Kafka does not allow in topic names become `_`. Built against WIT 0.2:
// the host hands over the column's distinct values as text. Built by
// scripts/build-plugins (world `route-plugin`) as js-tenant-router.wasm.

import { texts } from "../_lib/columns.js";
import { legal } from "../_lib/msgpack.js";
import { Settings } from "../_lib/settings.js";

const VALUE = 0;
const DB = 1;
const TABLE = 2;
const PLACEHOLDERS = { value: VALUE, db: DB, table: TABLE };

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
    const column = s.require("column");
    const t = s.get("topic");
    template = parseTemplate(t === undefined ? "{db}.{table}.{value}" : t);
    return { columns: [column], lookup: "column", bytes: false };
  },
};

export const route = {
  route(batch) {
    const names = batch.tables.map((t) => [legal(t.db), legal(t.table)]);
    const column = batch.columns[0];
    const index = column.index;
    const legalValues = texts(column).map((v) => (v === undefined ? v : legal(v)));
    const topics = [];
    const byTopic = new Map();
    // Table and value index -> topic index: a batch holds few tenants, so
    // most events cost one lookup.
    const byPair = new Map();
    const tableOf = batch.table;
    const n = index.length;
    const picks = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = index[i];
      if (v === 0) {
        picks[i] = -1;
        continue;
      }
      const pair = tableOf[i] * 4294967296 + v;
      let pick = byPair.get(pair);
      if (pick === undefined) {
        const [db, table] = names[tableOf[i]];
        let topic = "";
        for (const p of template) {
          topic += p === VALUE ? legalValues[v] : p === DB ? db : p === TABLE ? table : p;
        }
        pick = byTopic.get(topic);
        if (pick === undefined) {
          pick = topics.length;
          byTopic.set(topic, pick);
          topics.push(topic);
        }
        byPair.set(pair, pick);
      }
      picks[i] = pick;
    }
    return { topics, picks };
  },
};
