"""Python twin of plugins/row-filter: keeps events whose op is in `ops` and,
if `column` is set, whose column value (as text) is one of `equals`.

Settings: `ops = "c,u"` (default: all), `column = "status"`,
`equals = "active,trial"`. Built against WIT 0.2 (wit/0.2): `init` asks the
host for the one column, whose values (after image, else before) arrive as
bytes, each distinct value once, so nothing is parsed here and each
distinct value is looked up once per batch. Built by scripts/build-plugins
(world `filter-plugin`) as py-row-filter.wasm.
"""

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import types

from sluice_columns import values
from sluice_settings import Settings

OPS = "cudr"

# Module state is the instance's (one plugin instance per component instance).
ops = OPS  # op letters to keep
column = None  # str, or None: decide on the op only
equals = frozenset()  # values (UTF-8 bytes) to keep


class Lifecycle(exports.Lifecycle):
    def init(self, settings):
        global ops, column, equals
        s = Settings(settings)
        s.only("ops", "column", "equals")
        codes = s.list("ops")
        for c in codes:
            if c not in OPS:
                raise Err(f"ops: `{c}` is not one of c, u, d, r")
        ops = "".join(codes) if codes else OPS
        col, eq = s.get("column"), s.get("equals")
        if col is None and eq is None:
            column = None
        elif col is not None and eq is not None:
            column = col
            equals = frozenset(v.encode() for v in s.list("equals"))
        else:
            raise Err("`column` and `equals` go together")
        return types.Wants(columns=[] if column is None else [column], lookup=types.Lookup.COLUMN, bytes=False)


class Filter(exports.Filter):
    def filter(self, batch):
        if column is None:
            return [o in ops for o in batch.ops]
        col = batch.columns[0]
        wanted = [v in equals for v in values(col)]
        return [o in ops and wanted[i] for o, i in zip(batch.ops, col.index)]
