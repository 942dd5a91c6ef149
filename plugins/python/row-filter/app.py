"""Python twin of plugins/row-filter: keeps events whose op is in `ops` and,
if `column` is set, whose column value (as text) is one of `equals`.

Settings: `ops = "c,u"` (default: all), `column = "status"`,
`equals = "active,trial"`. Reads the column with the shared reader in
plugins/python/_lib (after image, else before), without decoding the event.
Built by scripts/build-plugins (world `filter-plugin`) as py-row-filter.wasm.
"""

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import types

import sluice_msgpack as mp
from sluice_settings import Settings

OPS = {"c": types.Op.CREATE, "u": types.Op.UPDATE, "d": types.Op.DELETE, "r": types.Op.READ}

# Module state is the instance's (one plugin instance per component instance).
ops = set(OPS.values())
column = None  # bytes, or None: decide on the op only
equals = frozenset()  # text values (bytes) to keep


class Lifecycle(exports.Lifecycle):
    def init(self, settings):
        global ops, column, equals
        s = Settings(settings)
        s.only("ops", "column", "equals")
        codes = s.list("ops")
        for c in codes:
            if c not in OPS:
                raise Err(f"ops: `{c}` is not one of c, u, d, r")
        ops = {OPS[c] for c in codes} if codes else set(OPS.values())
        col, eq = s.get("column"), s.get("equals")
        if col is None and eq is None:
            column = None
        elif col is not None and eq is not None:
            column = col.encode()
            equals = frozenset(v.encode() for v in s.list("equals"))
        else:
            raise Err("`column` and `equals` go together")


class Filter(exports.Filter):
    def filter(self, batch):
        if column is None:
            return [e.op in ops for e in batch.events]
        d = batch.data
        size = len(d)
        keep = []
        for e in batch.events:
            if e.op not in ops:
                keep.append(False)
                continue
            start = e.offset
            end = start + e.len
            if end > size:
                raise Err("event bytes out of range")
            before, after = mp.images(d, start, end)
            t = mp.column(d, end, before, after, column)
            keep.append(t is not None and t in equals)
        return keep
