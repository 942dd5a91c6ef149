"""Python twin of plugins/key-columns: the partition key from named
columns, joined by a separator.

Settings: `columns = "tenant_id,id"` (required), `separator` (default
`"|"`). Columns are read from the after image, or the before image when
there is no after image (deletes), in one pass over the row. If a column is
missing or null the default key is kept. Built by scripts/build-plugins
(world `key-plugin`) as py-key-columns.wasm.
"""

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import key as key_types
from wit_world.imports import types

import sluice_msgpack as mp
from sluice_settings import Settings

columns = []  # bytes
index = {}  # column name -> its first position in `columns`
separator = b"|"


class Lifecycle(exports.Lifecycle):
    def init(self, settings):
        global columns, index, separator
        s = Settings(settings)
        s.only("columns", "separator")
        cols = [c.encode() for c in s.list("columns")]
        if not cols:
            raise Err("missing setting `columns`")
        sep = s.get("separator")
        columns = cols
        index = {}
        for i, c in enumerate(cols):
            index.setdefault(c, i)
        separator = b"|" if sep is None else sep.encode()


class Key(exports.Key):
    def key(self, batch):
        if not columns:
            raise Err("missing setting `columns`")
        d = batch.data
        size = len(d)
        n = len(columns)
        text = mp.text
        data = bytearray()
        spans = []
        for e in batch.events:
            start = e.offset
            end = start + e.len
            if end > size:
                raise Err("event bytes out of range")
            before, after = mp.images(d, start, end)
            found = [-1] * n
            mp.find_many(d, mp.key_image(d, end, before, after), end, index, found)
            parts = []
            for p in found:
                t = text(d, p, end) if p >= 0 else None
                if t is None or t is False:
                    break
                parts.append(t)
            if len(parts) < n:
                spans.append(None)
                continue
            offset = len(data)
            data += separator.join(parts)
            spans.append(types.Span(offset, len(data) - offset))
        return key_types.Keys(bytes(data), spans)
