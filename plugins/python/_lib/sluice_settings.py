"""Plugin settings as the Rust SDK reads them (plugin-sdk/src/event.rs,
`Settings`), so the Python plugins accept, and reject with the same
messages, what the Rust ones do. Shared through `-p plugins/python/_lib`."""

from componentize_py_types import Err

# Rust's `str::trim`: Unicode White_Space (not Python's wider `str.strip()`,
# which also strips \x1c-\x1f).
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(
    chr(c) for c in range(0x2000, 0x200B)
) + "\u2028\u2029\u202f\u205f\u3000"


class Settings:
    def __init__(self, pairs):
        self.pairs = list(pairs)

    def get(self, key):
        """The value of the first `key`, or None."""
        for k, v in self.pairs:
            if k == key:
                return v
        return None

    def require(self, key):
        v = self.get(key)
        if v is None:
            raise Err(f"missing setting `{key}`")
        return v

    def list(self, key):
        """A comma-separated list, trimmed, empty items removed."""
        v = self.get(key)
        if v is None:
            return []
        return [s for s in (i.strip(WHITESPACE) for i in v.split(",")) if s]

    def only(self, *known):
        """Rejects keys not in `known`: a typo should not pass silently."""
        for k, _ in self.pairs:
            if k not in known:
                raise Err(f"unknown setting `{k}` (known: {', '.join(known)})")
