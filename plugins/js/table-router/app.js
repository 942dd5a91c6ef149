// Example Sluice router in JavaScript: sends every event to
// `<prefix>.<db>.<table>`, or keeps the rule's topic for tables listed in
// `keep`. Decides from the batch metadata only.
//
// Settings: `prefix` (required), `keep` (comma-separated `db.table`).
// Built by scripts/build-plugins with componentize-js (world
// `route-plugin`), run by tests in host/src/plugin/tests/.

import { log } from "sluice:plugin/log@0.1.0";

let prefix = null;
let keep = new Set();

export const lifecycle = {
  init(settings) {
    for (const [key, value] of settings) {
      if (key === "prefix") {
        prefix = value;
      } else if (key === "keep") {
        keep = new Set(value.split(",").map((s) => s.trim()).filter((s) => s));
      } else {
        throw `unknown setting \`${key}\` (known: prefix, keep)`;
      }
    }
    if (prefix === null) {
      throw "missing setting `prefix`";
    }
    log("info", `routing to ${prefix}.<db>.<table>`);
  },
};

export const route = {
  route(batch) {
    // One topic per table: compute them once per batch, not per event.
    const topics = [];
    const pickOfTable = batch.tables.map((t) => {
      const name = `${t.db}.${t.table}`;
      if (keep.has(name)) {
        return undefined;
      }
      topics.push(`${prefix}.${name}`.replace(/[^A-Za-z0-9._-]/g, "_"));
      return topics.length - 1;
    });
    const picks = batch.events.map((e) => pickOfTable[e.table]);
    return { topics, picks };
  },
};
