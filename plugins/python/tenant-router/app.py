"""Python twin of plugins/tenant-router: sends each tenant's events to its
own topic.

Settings: `column = "tenant_id"` (required), `topic` template with
`{value}`, `{db}`, `{table}` (default `"{db}.{table}.{value}"`). Events
without the column (or with a null one) keep the rule's topic. Characters
Kafka does not allow in topic names become `_`. Built against WIT 0.2: the
host hands over the column's values as strings. Built by
scripts/build-plugins (world `route-plugin`) as py-tenant-router.wasm.
"""

import re

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import route as route_types
from wit_world.imports import types

from sluice_columns import texts
from sluice_settings import Settings

VALUE, DB, TABLE = 0, 1, 2
PLACEHOLDERS = {"value": VALUE, "db": DB, "table": TABLE}

column = None
template = []  # literal text (already legal) or VALUE, DB, TABLE

_illegal = re.compile(r"[^A-Za-z0-9._-]")


def legal(text):
    """`text` with characters Kafka refuses in topic names as `_`."""
    return _illegal.sub("_", text)


def parse_template(t):
    parts = []
    rest = t
    while True:
        open_ = rest.find("{")
        if open_ < 0:
            break
        if open_ > 0:
            parts.append(legal(rest[:open_]))
        close = rest.find("}", open_)
        if close < 0:
            raise Err("`topic`: unclosed {")
        name = rest[open_ + 1:close]
        if name not in PLACEHOLDERS:
            raise Err(f"`topic`: unknown placeholder {{{name}}}")
        parts.append(PLACEHOLDERS[name])
        rest = rest[close + 1:]
    if rest:
        parts.append(legal(rest))
    if VALUE not in parts:
        raise Err("`topic` must contain {value}")
    return parts


class Lifecycle(exports.Lifecycle):
    def init(self, settings):
        global column, template
        s = Settings(settings)
        s.only("column", "topic")
        column = s.require("column")
        t = s.get("topic")
        template = parse_template("{db}.{table}.{value}" if t is None else t)
        return types.Wants(columns=[column], lookup=types.Lookup.COLUMN, bytes=False)


class Route(exports.Route):
    def route(self, batch):
        names = [(legal(t.db), legal(t.table)) for t in batch.tables]
        col = batch.columns[0]
        values = [None if v is None else legal(v) for v in texts(col)]
        topics = []
        # (table, value index) -> index in `topics`: a batch holds few
        # tenants, so most events cost one dictionary lookup.
        index = {}
        picks = []
        for table, v in zip(batch.table, col.index):
            if v == 0:
                picks.append(-1)
                continue
            i = index.get((table, v))
            if i is None:
                db, tbl = names[table]
                value = values[v]
                topic = "".join(
                    p if isinstance(p, str) else value if p == VALUE else db if p == DB else tbl
                    for p in template
                )
                try:
                    i = topics.index(topic)
                except ValueError:
                    i = len(topics)
                    topics.append(topic)
                index[(table, v)] = i
            picks.append(i)
        return route_types.Routes(topics, picks)
