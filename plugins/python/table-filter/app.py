"""Example Sluice filter in Python: keeps events by table and op.

Settings: `tables` (comma-separated `db.table` names to drop), `ops`
(comma-separated op codes to keep: c, u, d, r; default all). It decides from
the batch metadata only, so it needs no MessagePack decoder.

Built by scripts/build-plugins with componentize-py (world `filter-plugin`,
WASI stubbed out: the component imports nothing but `sluice:plugin/log`).
"""

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import log, types

OPS = {"c": types.Op.CREATE, "u": types.Op.UPDATE, "d": types.Op.DELETE, "r": types.Op.READ}

# One plugin instance per component instance: module state is the instance's.
drop_tables: set = set()
keep_ops: set = set(OPS.values())


class Lifecycle(exports.Lifecycle):
    def init(self, settings):
        global drop_tables, keep_ops
        for key, value in settings:
            items = [v.strip() for v in value.split(",") if v.strip()]
            if key == "tables":
                drop_tables = set(items)
            elif key == "ops":
                unknown = [i for i in items if i not in OPS]
                if unknown:
                    raise Err(f"ops: {unknown[0]!r} is not one of c, u, d, r")
                keep_ops = {OPS[i] for i in items}
            else:
                raise Err(f"unknown setting `{key}` (known: tables, ops)")
        log.log(log.Level.INFO, f"dropping tables {sorted(drop_tables)}")


class Filter(exports.Filter):
    def filter(self, batch):
        names = [f"{t.db}.{t.table}" for t in batch.tables]
        return [
            e.op in keep_ops and names[e.table] not in drop_tables
            for e in batch.events
        ]
