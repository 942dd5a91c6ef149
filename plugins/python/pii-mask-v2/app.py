"""Python twin of plugins/pii-mask on WIT 0.2: hashes or drops PII columns
in both row images. The same settings, hashes and messages as
plugins/python/pii-mask (WIT 0.1), which it is a port of.

Settings: `columns = "email,phone"` (required; or `column`), `mode = "hash"
| "drop"` (default hash), `salt` (prepended before hashing).

What 0.2 changes for a transform: `init` asks for the events' bytes and no
columns. The host's column index cannot say which events need no rewrite:
0 stands for a missing column but also for NULL (which `drop` removes),
arrays and maps, and strings that are not UTF-8 (which `hash` hashes). An
event whose bytes do not contain a masked column's name cannot have that
column, though, and `bytes.find` says so at C speed: such an event is
returned by its place in the input (`starts`/`ends` of the batch's `data`,
which the answer carries on as it is), not copied in the interpreter. The
others are read and rewritten as in 0.1 (plugins/python/_lib/sluice_pii.py),
after them in the answer's data. Built by scripts/build-plugins (world
`transform-plugin`) as py-pii-mask-v2.wasm.
"""

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import transform as transform_types
from wit_world.imports import log, types

import sluice_msgpack as mp
from sluice_pii import Mask

mask = Mask(frozenset(), False, b"")


class Lifecycle(exports.Lifecycle):
    def init(self, settings):
        global mask
        mask, said = Mask.from_settings(settings)
        log.log(log.Level.INFO, said)
        return types.Wants(columns=[], lookup=types.Lookup.COLUMN, bytes=True)


class Transform(exports.Transform):
    def transform(self, batch):
        d = batch.data
        starts = batch.starts
        ends = batch.ends
        n = len(starts)
        find = d.find
        # An empty name is in every event: those are read.
        names = tuple(mask.columns)
        mask.hashes.clear()
        out = bytearray()
        rewritten = []  # (event, start in out, end in out)
        for i in range(n):
            start = starts[i]
            end = ends[i]
            for name in names:
                if find(name, start, end) >= 0:
                    break
            else:
                continue  # no masked column: passed on as it came
            end = mp.skip(d, start, end)  # what follows the event's value is not part of it
            if end < 0:
                raise Err("decoding event: malformed MessagePack")
            at = len(out)
            mask.event(d, start, end, out)
            rewritten.append((i, at, len(out)))
        sources = list(range(n))
        if not rewritten:
            return transform_types.Transformed(sources, batch.ops, d, starts, ends)
        if len(rewritten) == n:
            return transform_types.Transformed(
                sources, batch.ops, bytes(out), [r[1] for r in rewritten], [r[2] for r in rewritten]
            )
        # Unchanged events keep their place in the input's bytes, which the
        # answer starts with; rewritten ones follow.
        base = len(d)
        starts = list(starts)
        ends = list(ends)
        for i, a, b in rewritten:
            starts[i] = base + a
            ends[i] = base + b
        return transform_types.Transformed(sources, batch.ops, d + out, starts, ends)
