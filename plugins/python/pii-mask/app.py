"""Python twin of plugins/pii-mask: hashes or drops PII columns in both row
images.

Settings: `columns = "email,phone"` (required; or `column`), `mode = "hash"
| "drop"` (default hash), `salt` (prepended before hashing). Hashes are hex
SHA-256 of the value's text, so equal values stay joinable downstream, and
equal to what the Rust plugin writes: strings and binary hash their bytes,
other values the text Rust's MessagePack library (rmpv) displays for them
(`12`, `1.5`, `true`, `[1, "a"]`, `{"k": nil}`). Null values stay null.

WIT 0.1: every event is read in the interpreter. The event is rewritten at
the byte level (plugins/python/_lib/sluice_pii.py): everything but the
masked values (or dropped entries) is copied as it came. pii-mask-v2 is the
same plugin on WIT 0.2. Built by scripts/build-plugins (world
`transform-plugin`) as py-pii-mask.wasm.
"""

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import transform as transform_types
from wit_world.imports import log

import sluice_msgpack as mp
from sluice_pii import Mask

mask = Mask(frozenset(), False, b"")


class Lifecycle(exports.Lifecycle):
    def init(self, settings):
        global mask
        mask, said = Mask.from_settings(settings)
        log.log(log.Level.INFO, said)


class Transform(exports.Transform):
    def transform(self, batch):
        if not mask.columns:
            raise Err("missing setting `columns`")
        d = batch.data
        size = len(d)
        out = bytearray()
        events = []
        mask.hashes.clear()
        for i, e in enumerate(batch.events):
            start = e.offset
            end = start + e.len
            if end > size:
                raise Err("event bytes out of range")
            end = mp.skip(d, start, end)  # what follows the event's value is not part of it
            if end < 0:
                raise Err("decoding event: malformed MessagePack")
            offset = len(out)
            mask.event(d, start, end, out)
            events.append(transform_types.OutEvent(i, e.op, offset, len(out) - offset))
        return transform_types.Transformed(events, bytes(out))
