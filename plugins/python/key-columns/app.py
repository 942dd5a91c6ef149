"""Python twin of plugins/key-columns: the partition key from named
columns, joined by a separator.

Settings: `columns = "tenant_id,id"` (required), `separator` (default
`"|"`). Built against WIT 0.2: the host hands over each column's values
as text (after image, or before image for deletes). If a column is
missing or null the default key is kept. Built by scripts/build-plugins
(world `key-plugin`) as py-key-columns.wasm.
"""

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import types

from sluice_columns import pack_keys, per_event
from sluice_settings import Settings

separator = b"|"


class Lifecycle(exports.Lifecycle):
    def init(self, settings):
        global separator
        s = Settings(settings)
        s.only("columns", "separator")
        cols = s.list("columns")
        if not cols:
            raise Err("missing setting `columns`")
        sep = s.get("separator")
        separator = b"|" if sep is None else sep.encode()
        return types.Wants(columns=cols, lookup=types.Lookup.IMAGE, bytes=False)


class Key(exports.Key):
    def key(self, batch):
        cols = [per_event(c) for c in batch.columns]
        if len(cols) == 1:
            return pack_keys(cols[0])
        join = separator.join
        return pack_keys([None if None in parts else join(parts) for parts in zip(*cols)])
