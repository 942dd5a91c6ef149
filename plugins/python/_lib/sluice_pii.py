"""Masking of Sluice events at the byte level, shared by the pii-mask
plugins (plugins/python/pii-mask on WIT 0.1, pii-mask-v2 on 0.2) through
`-p plugins/python/_lib`: everything but the masked values (or dropped
entries) is copied as it came. Hashes are hex SHA-256 of the salt and the
value's text, as plugins/pii-mask (Rust) writes them: strings and binary
hash their bytes, other values the text Rust's MessagePack library (rmpv)
displays for them (`12`, `1.5`, `true`, `[1, "a"]`, `{"k": nil}`). Null
values stay null.
"""

import hashlib
import struct
import unicodedata

from componentize_py_types import Err

import sluice_msgpack as mp
from sluice_settings import Settings


class Mask:
    """What to mask: `columns` (names as bytes), hash or `drop`, `salt`
    (bytes). `hashes` remembers each hashed value's digest for as long as
    the caller keeps it (one batch: distinct values repeat within one)."""

    def __init__(self, columns, drop, salt):
        self.columns = columns
        self.drop = drop
        self.salt = salt
        self.hashes = {}

    @staticmethod
    def from_settings(settings):
        """The mask `init`'s settings ask for (`columns` and/or `column`,
        `mode` hash or drop, `salt`), checked as plugins/pii-mask (Rust)
        checks them, and a line saying what it masks."""
        s = Settings(settings)
        s.only("columns", "column", "mode", "salt")
        cols = s.list("columns")
        one = s.get("column")
        if one is not None:
            cols.append(one)
        if not cols:
            raise Err("missing setting `columns`")
        mode = s.get("mode")
        mode = "hash" if mode is None else mode
        if mode not in ("hash", "drop"):
            raise Err(f"mode `{mode}`: expected hash or drop")
        mask = Mask(frozenset(c.encode() for c in cols), mode == "drop", (s.get("salt") or "").encode())
        return mask, f"masking {cols} ({mode})"

    def event(self, d, start, end, out):
        """Appends the event `d[start:end]` (one whole value), masked, to
        `out`."""
        n, p = mp.map_header(d, start, end)
        if n < 0:
            out += d[start:end]  # not a map: the host refuses it, as for Rust
            return
        out += d[start:p]
        for _ in range(n):
            k = p
            v = mp.skip(d, k, end)
            p = mp.skip(d, v, end)
            out += d[k:v]
            if key_bytes(d, k, end) in (b"before", b"after") and mp.is_map(d, v, end):
                self.image(d, v, p, out)
            else:
                out += d[v:p]

    def image(self, d, start, end, out):
        n, p = mp.map_header(d, start, end)
        head = d[start:p]
        entries = []
        for _ in range(n):
            k = p
            v = mp.skip(d, k, end)
            p = mp.skip(d, v, end)
            entries.append((k, v, p))
        columns = self.columns
        if self.drop:
            kept = [(k, e) for k, v, e in entries if key_bytes(d, k, end) not in columns]
            out += map_head(len(kept))
            for k, e in kept:
                out += d[k:e]
            return
        out += head
        for k, v, e in entries:
            if d[v] != 0xC0 and key_bytes(d, k, end) in columns:
                raw = d[v:e]
                digest = self.hashes.get(raw)
                if digest is None:
                    h = hashlib.sha256(self.salt)
                    h.update(hash_text(d, v, e))
                    digest = b"\xd9\x40" + h.hexdigest().encode()
                    self.hashes[raw] = digest
                out += d[k:v]
                out += digest
            else:
                out += d[k:e]


def key_bytes(d, p, end):
    """The bytes of the string key at `p`, or None if the key is no string."""
    s = mp.str_at(d, p, end)
    return None if s is None else d[s[0]:s[0] + s[1]]


def map_head(n):
    if n <= 15:
        return bytes([0x80 | n])
    if n <= 0xFFFF:
        return b"\xde" + struct.pack(">H", n)
    return b"\xdf" + struct.pack(">I", n)


def hash_text(d, p, end):
    m = d[p]
    if 0xA0 <= m <= 0xBF or m in (0xD9, 0xDA, 0xDB):
        s = mp.str_at(d, p, end)
        return d[s[0]:s[0] + s[1]]
    if m in (0xC4, 0xC5, 0xC6):
        return d[end - bin_len(d, p):end]
    return display(d, p)[0].encode()


def bin_len(d, p):
    m = d[p]
    return d[p + 1] if m == 0xC4 else mp._u16(d, p + 1)[0] if m == 0xC5 else mp._u32(d, p + 1)[0]


def display(d, p):
    """(text, position after) of the (well-formed) value at `p`, as rmpv's
    Display: strings quoted and escaped as Rust's Debug, binary as a list
    of byte values."""
    m = d[p]
    if 0xA0 <= m <= 0xBF or m in (0xD9, 0xDA, 0xDB):
        a, n = mp.str_at(d, p, len(d))
        b = d[a:a + n]
        try:
            return debug_str(b.decode()), a + n
        except UnicodeDecodeError:
            return debug_bytes(b), a + n
    if m in (0xC4, 0xC5, 0xC6):
        e = mp.skip(d, p, len(d))
        return debug_bytes(d[e - bin_len(d, p):e]), e
    if m == 0xC0:
        return "nil", p + 1
    if 0x90 <= m <= 0x9F or m in (0xDC, 0xDD):
        n, q = (m & 0x0F, p + 1) if m <= 0x9F else (
            (mp._u16(d, p + 1)[0], p + 3) if m == 0xDC else (mp._u32(d, p + 1)[0], p + 5))
        items = []
        for _ in range(n):
            s, q = display(d, q)
            items.append(s)
        return "[" + ", ".join(items) + "]", q
    if 0x80 <= m <= 0x8F or m in (0xDE, 0xDF):
        n, q = mp.map_header(d, p, len(d))
        items = []
        for _ in range(n):
            k, q = display(d, q)
            v, q = display(d, q)
            items.append(k + ": " + v)
        return "{" + ", ".join(items) + "}", q
    if m in (0xC7, 0xC8, 0xC9) or 0xD4 <= m <= 0xD8:
        e = mp.skip(d, p, len(d))
        size = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}.get(m)
        if size is None:
            size = e - p - (3 if m == 0xC7 else 4 if m == 0xC8 else 6)
        ty = struct.unpack_from(">b", d, e - size - 1)[0]
        return f"[{ty}, {debug_bytes(d[e - size:e])}]", e
    return mp.text(d, p, len(d)).decode(), mp.skip(d, p, len(d))  # numbers, booleans


def debug_bytes(b):
    return "[" + ", ".join(str(x) for x in b) + "]"


# Rust's Debug escapes characters that are not printable (general categories
# C*, Z* but the space) and grapheme extenders (Mn, Me, and these).
OTHER_GRAPHEME_EXTEND = frozenset(
    [0x09BE, 0x09D7, 0x0B3E, 0x0B57, 0x0BBE, 0x0BD7, 0x0CC0, 0x0CC2, 0x0CC7, 0x0CC8,
     0x0CCA, 0x0CCB, 0x0CD5, 0x0CD6, 0x0D3E, 0x0D57, 0x0DCF, 0x0DDF, 0x1715, 0x1734,
     0x1B35, 0x1B3B, 0x1B3D, 0x1B43, 0x1B44, 0x1BAA, 0x1BF2, 0x1BF3, 0x200C, 0x302E,
     0x302F, 0xA953, 0xA9C0, 0xFF9E, 0xFF9F, 0x111C0, 0x11235, 0x1133E, 0x1134D,
     0x11357, 0x114B0, 0x114BD, 0x115AF, 0x116B6, 0x11930, 0x1193D, 0x16FF0, 0x16FF1,
     0x1D165, 0x1D166, 0x1D16D, 0x1D16E, 0x1D16F, 0x1D170, 0x1D171, 0x1D172]
    + list(range(0xE0020, 0xE0080))
)
ESCAPED_CATEGORIES = frozenset(["Mn", "Me", "Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"])
SHORT = {"\0": "\\0", "\t": "\\t", "\r": "\\r", "\n": "\\n", '"': '\\"', "\\": "\\\\"}


def debug_str(s):
    out = ['"']
    for c in s:
        o = ord(c)
        if c in SHORT:
            out.append(SHORT[c])
        elif 0x20 <= o < 0x7F:
            out.append(c)
        elif o in OTHER_GRAPHEME_EXTEND or unicodedata.category(c) in ESCAPED_CATEGORIES:
            out.append("\\u{%x}" % o)
        else:
            out.append(c)
    out.append('"')
    return "".join(out)
