"""Python twin of plugins/tenant-router: sends each tenant's events to its
own topic.

Settings: `column = "tenant_id"` (required), `topic` template with
`{value}`, `{db}`, `{table}` (default `"{db}.{table}.{value}"`). Events
without the column (or with a null one) keep the rule's topic. Characters
Kafka does not allow in topic names become `_`. Built by
scripts/build-plugins (world `route-plugin`) as py-tenant-router.wasm.
"""

import re

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import route as route_types

import sluice_msgpack as mp
from sluice_settings import Settings

VALUE, DB, TABLE = 0, 1, 2
PLACEHOLDERS = {"value": VALUE, "db": DB, "table": TABLE}

column = None  # bytes
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
        col = s.require("column")
        t = s.get("topic")
        template = parse_template("{db}.{table}.{value}" if t is None else t)
        column = col.encode()


class Route(exports.Route):
    def route(self, batch):
        if column is None:
            raise Err("missing setting `column`")
        d = batch.data
        size = len(d)
        names = [(legal(t.db), legal(t.table)) for t in batch.tables]
        topics = []
        index = {}
        picks = []
        for e in batch.events:
            start = e.offset
            end = start + e.len
            if end > size:
                raise Err("event bytes out of range")
            before, after = mp.images(d, start, end)
            t = mp.column(d, end, before, after, column)
            if t is None:
                picks.append(None)
                continue
            # Invalid UTF-8 (binary values) decodes with U+FFFD per bad
            # sequence, as Rust's from_utf8_lossy; each becomes one `_`.
            value = legal(t.decode("utf-8", "replace"))
            db, table = names[e.table]
            topic = "".join(
                p if isinstance(p, str) else value if p == VALUE else db if p == DB else table
                for p in template
            )
            i = index.get(topic)
            if i is None:
                i = index[topic] = len(topics)
                topics.append(topic)
            picks.append(i)
        return route_types.Routes(topics, picks)
