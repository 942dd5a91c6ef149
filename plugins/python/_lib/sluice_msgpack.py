"""Reads columns of Sluice events (MessagePack) without decoding them.

Shared by the Python example plugins: scripts/build-plugins adds this folder
to every Python plugin's module path (`-p plugins/python/_lib`). It mirrors
the Rust SDK's reader (plugin-sdk/src/msgpack.rs, `Event::column`,
`Event::find_columns`, `Value::write_text`) so the Python plugins decide
exactly as the Rust ones do:

- Positions are indexes into the batch's `data`; every function takes the
  event's `end` and never looks past it. Malformed or truncated input makes
  a lookup fail (column absent), never raises.
- Values that are not needed are stepped over without building objects.
- The text of a value: strings as they are (must be valid UTF-8), binary as
  its bytes, integers in decimal, floats as Rust prints them (shortest form
  that reads back, never with an exponent: `1e20` is
  `100000000000000000000`, `1.0` is `1`), booleans as `true`/`false`. Nil,
  arrays, maps and extensions have none.
"""

import struct

_u16 = struct.Struct(">H").unpack_from
_u32 = struct.Struct(">I").unpack_from
_u64 = struct.Struct(">Q").unpack_from
_i8 = struct.Struct(">b").unpack_from
_i16 = struct.Struct(">h").unpack_from
_i32 = struct.Struct(">i").unpack_from
_i64 = struct.Struct(">q").unpack_from
_f32 = struct.Struct(">f").unpack_from
_f64 = struct.Struct(">d").unpack_from


def _sizes():
    s = bytearray(256)
    for m in range(0x00, 0x80):
        s[m] = 1
    for m in range(0xE0, 0x100):
        s[m] = 1
    for m in (0xC0, 0xC2, 0xC3):
        s[m] = 1
    for n in range(32):
        s[0xA0 + n] = 1 + n
    for m, n in ((0xCC, 2), (0xD0, 2), (0xCD, 3), (0xD1, 3), (0xD4, 3), (0xD5, 4),
                 (0xCA, 5), (0xCE, 5), (0xD2, 5), (0xD6, 6), (0xCB, 9), (0xCF, 9),
                 (0xD3, 9), (0xD7, 10), (0xD8, 18)):
        s[m] = n
    return bytes(s)


# Encoded size of every value whose marker alone gives it; 0 otherwise
# (containers, and strings, binary and extensions with a length field).
SIZE = _sizes()


def skip(d, p, end):
    """Position after the value at `p`, or -1 if it is malformed or does not
    end by `end`. Iterative: deeply nested JSON cannot exhaust the stack."""
    pending = 1
    while pending:
        pending -= 1
        if p >= end:
            return -1
        m = d[p]
        n = SIZE[m]
        if n:
            p += n
        elif m < 0x90:  # fixmap
            pending += 2 * (m & 0x0F)
            p += 1
        elif m < 0xA0:  # fixarray
            pending += m & 0x0F
            p += 1
        elif m == 0xC4 or m == 0xD9:
            if p + 2 > end:
                return -1
            p += 2 + d[p + 1]
        elif m == 0xC5 or m == 0xDA:
            if p + 3 > end:
                return -1
            p += 3 + _u16(d, p + 1)[0]
        elif m == 0xC6 or m == 0xDB:
            if p + 5 > end:
                return -1
            p += 5 + _u32(d, p + 1)[0]
        elif m == 0xC7:
            if p + 2 > end:
                return -1
            p += 3 + d[p + 1]
        elif m == 0xC8:
            if p + 3 > end:
                return -1
            p += 4 + _u16(d, p + 1)[0]
        elif m == 0xC9:
            if p + 5 > end:
                return -1
            p += 6 + _u32(d, p + 1)[0]
        elif m == 0xDC or m == 0xDE:
            if p + 3 > end:
                return -1
            pending += _u16(d, p + 1)[0] * (2 if m == 0xDE else 1)
            p += 3
        elif m == 0xDD or m == 0xDF:
            if p + 5 > end:
                return -1
            pending += _u32(d, p + 1)[0] * (2 if m == 0xDF else 1)
            p += 5
        else:  # 0xc1, never used
            return -1
    return p if p <= end else -1


def map_header(d, p, end):
    """(entry count, position of the first key), or (-1, p) if no map starts
    at `p`."""
    if p < 0 or p >= end:
        return -1, p
    m = d[p]
    if 0x80 <= m <= 0x8F:
        return m & 0x0F, p + 1
    if m == 0xDE and p + 3 <= end:
        return _u16(d, p + 1)[0], p + 3
    if m == 0xDF and p + 5 <= end:
        return _u32(d, p + 1)[0], p + 5
    return -1, p


def is_map(d, p, end):
    return 0 <= p < end and (0x80 <= d[p] <= 0x8F or d[p] == 0xDE or d[p] == 0xDF)


def str_at(d, p, end):
    """If a string starts at `p`: (start of its bytes, length), else None.
    The bytes may run past `end`; callers check."""
    if p >= end:
        return None
    m = d[p]
    if 0xA0 <= m <= 0xBF:
        return p + 1, m & 0x1F
    if m == 0xD9 and p + 2 <= end:
        return p + 2, d[p + 1]
    if m == 0xDA and p + 3 <= end:
        return p + 3, _u16(d, p + 1)[0]
    if m == 0xDB and p + 5 <= end:
        return p + 5, _u32(d, p + 1)[0]
    return None


def images(d, p, end):
    """Positions of the values of the event's `before` and `after` keys:
    (before, after), -1 when absent. The top-level map is scanned only as
    far as `after` (Sluice writes it ahead of `before`); `before` is then a
    token below -1 that `column` and `key_image` resolve with
    `before_image` when they need it (deletes, or a column the after image
    lacks), as the Rust SDK's `Event` does."""
    return _images(d, p, end, True)


def before_image(d, end, before):
    """`before` from `images`, resolved: the position of the before image's
    value or -1. A token (below -1) holds the event's start; the map is
    scanned again from there as far as `before`."""
    if before >= -1:
        return before
    return _images(d, -2 - before, end, False)[0]


def _images(d, p, end, lazy):
    """(before, after) of the event at `p`, in one pass over its top-level
    map; with `lazy`, stopping at `after` when `before` has not come yet
    (`before` is then the token `images` describes)."""
    start = p
    before = after = -1
    n, p = map_header(d, p, end)
    for _ in range(n):
        m = d[p] if p < end else 0
        if 0xA0 <= m <= 0xBF:  # the usual short key, inline
            a, ln = p + 1, m & 0x1F
        else:
            s = str_at(d, p, end)
            if s is None:
                break
            a, ln = s
        p = a + ln
        if p <= end:
            if ln == 6 and d.startswith(b"before", a):
                before = p
            elif ln == 5 and d.startswith(b"after", a):
                after = p
                if lazy and before < 0:
                    return -2 - start, after
        if before >= 0 and after >= 0:
            break
        p = skip(d, p, end)
        if p < 0:
            break
    return before, after


def map_get(d, p, end, key, SIZE=SIZE):
    """In the map at `p`, the position of the value of string key `key`
    (bytes), or -1. The first of duplicate keys wins."""
    n, p = map_header(d, p, end)
    kl = len(key)
    for _ in range(n):
        m = d[p] if p < end else 0
        if 0xA0 <= m <= 0xBF:  # the usual short key, inline
            a, ln = p + 1, m & 0x1F
            s = True
        else:
            s = str_at(d, p, end)
            if s is not None:
                a, ln = s
        if s is not None:
            p = a + ln
            if p > end:
                return -1
            if ln == kl and d.startswith(key, a):
                return p
        else:
            p = skip(d, p, end)
            if p < 0:
                return -1
        # The value: scalars inline.
        size = SIZE[d[p]] if p < end else 0
        p = p + size if size else skip(d, p, end)
        if p < 0 or p > end:
            return -1
    return -1


def find_many(d, p, end, index, out, SIZE=SIZE):
    """In the map at `p`, finds several string keys in one pass: `index`
    maps key bytes to their slot in `out`, which gets each value's position
    (left alone when absent). Stops once all are found."""
    n, p = map_header(d, p, end)
    missing = len(index)
    for _ in range(n):
        if not missing:
            return
        m = d[p] if p < end else 0
        if 0xA0 <= m <= 0xBF:  # the usual short key, inline
            a, ln = p + 1, m & 0x1F
            s = True
        else:
            s = str_at(d, p, end)
            if s is not None:
                a, ln = s
        if s is not None:
            p = a + ln
            if p > end:
                return
            i = index.get(d[a:p])
            if i is not None and out[i] < 0:
                out[i] = p
                missing -= 1
        else:
            p = skip(d, p, end)
            if p < 0:
                return
        size = SIZE[d[p]] if p < end else 0
        p = p + size if size else skip(d, p, end)
        if p < 0 or p > end:
            return


def column(d, end, before, after, key):
    """The text of column `key` (bytes) of the after image, or of the before
    image when the after image has no such column (deletes); None when
    absent or without text (nil, containers). As `Event::column` +
    `write_text` in the Rust SDK."""
    if after >= 0:
        p = map_get(d, after, end, key)
        if p >= 0:
            t = text(d, p, end)
            if t is not None:
                return None if t is False else t
    before = before_image(d, end, before)
    if before >= 0:
        p = map_get(d, before, end, key)
        if p >= 0:
            t = text(d, p, end)
            if t is not None and t is not False:
                return t
    return None


def key_image(d, end, before, after):
    """The image key columns are read from: after if it is a map, else
    before (as `Event::find_columns`)."""
    return after if is_map(d, after, end) else before_image(d, end, before)


_SMALL = [str(i).encode() for i in range(128)]


def _utf8(d, a, n, end):
    if a + n > end:
        return None
    b = d[a:a + n]
    if not b.isascii():
        try:
            b.decode()
        except UnicodeDecodeError:
            return None
    return b


def _bytes(d, a, n, end):
    return d[a:a + n] if a + n <= end else None


def text(d, p, end):
    """The text of the value at `p` as bytes; False for values without text
    (nil, arrays, maps, extensions); None if it cannot be read (truncated,
    or a string that is not valid UTF-8)."""
    if p >= end:
        return None
    m = d[p]
    if m < 0x80:
        return _SMALL[m]
    if m >= 0xE0:
        return str(m - 256).encode()
    if 0xA0 <= m <= 0xBF:
        return _utf8(d, p + 1, m & 0x1F, end)
    if m == 0xC0:
        return False
    if m == 0xC2:
        return b"false"
    if m == 0xC3:
        return b"true"
    size = SIZE[m]
    if size:  # fixed-size numbers and fixext
        if p + size > end:
            return None
        q = p + 1
        if m == 0xCC:
            return str(d[q]).encode()
        if m == 0xCD:
            return str(_u16(d, q)[0]).encode()
        if m == 0xCE:
            return str(_u32(d, q)[0]).encode()
        if m == 0xCF:
            return str(_u64(d, q)[0]).encode()
        if m == 0xD0:
            return str(_i8(d, q)[0]).encode()
        if m == 0xD1:
            return str(_i16(d, q)[0]).encode()
        if m == 0xD2:
            return str(_i32(d, q)[0]).encode()
        if m == 0xD3:
            return str(_i64(d, q)[0]).encode()
        if m == 0xCA:
            return f32_text(_f32(d, q)[0]).encode()
        if m == 0xCB:
            return f64_text(_f64(d, q)[0]).encode()
        return False  # fixext
    if m in (0xD9, 0xDA, 0xDB):
        s = str_at(d, p, end)
        return None if s is None else _utf8(d, s[0], s[1], end)
    if m == 0xC4 and p + 2 <= end:
        return _bytes(d, p + 2, d[p + 1], end)
    if m == 0xC5 and p + 3 <= end:
        return _bytes(d, p + 3, _u16(d, p + 1)[0], end)
    if m == 0xC6 and p + 5 <= end:
        return _bytes(d, p + 5, _u32(d, p + 1)[0], end)
    if m == 0xC4 or m == 0xC5 or m == 0xC6:
        return None
    # Containers and extensions with a length: no text, if well formed.
    return False if skip(d, p, end) >= 0 else None


# Floats as Rust's `{}` prints them.


def _positional(digits, k):
    """The number int(digits) * 10**k written without an exponent."""
    stripped = digits.lstrip("0").rstrip("0")
    if not stripped:
        return "0"
    k += len(digits) - len(digits.rstrip("0"))
    digits = stripped
    point = len(digits) + k
    if point <= 0:
        return "0." + "0" * -point + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


def _sci(s):
    """'d.ddde±x' (or a plain decimal) -> (digits, k) with value = digits*10**k."""
    mant, _, e = s.partition("e")
    ip, _, fp = mant.partition(".")
    return ip + fp, (int(e) if e else 0) - len(fp)


def _special(x):
    if x != x:
        return "NaN"
    if x == float("inf"):
        return "inf"
    if x == float("-inf"):
        return "-inf"
    return None


def _halfway_above(x, n, k):
    """Whether x lies exactly halfway between n*10**k and (n+1)*10**k."""
    num, den = x.as_integer_ratio()
    if k >= 0:
        return 2 * num == (2 * n + 1) * 10**k * den
    return 2 * num * 10**-k == (2 * n + 1) * den


def f64_text(x):
    s = _special(x)
    if s is not None:
        return s
    sign = "-" if str(x).startswith("-") else ""
    x = abs(x)
    # repr is the shortest form that reads back, the closest such; a tie
    # between two goes to the even one, where Rust takes the larger.
    digits, k = _sci(repr(x))
    n = int(digits)
    if _halfway_above(x, n, k):
        digits = str(n + 1)
    return sign + _positional(digits, k)


def _as_f32(y):
    try:
        return _f32(struct.pack(">f", y))[0]
    except OverflowError:
        return None


def f32_text(x):
    """x: a float32 value (as a Python float). The shortest decimal that reads
    back as the same float32, the closest such (ties: the larger), as Rust.
    Python has no float32 repr, so try 1..9 digits: the nearest decimal and,
    on a tie or for powers of two (whose interval is wider above), the next
    one up."""
    s = _special(x)
    if s is not None:
        return s
    sign = "-" if str(x).startswith("-") else ""
    x = abs(x)
    if x == 0:
        return sign + "0"
    for p in range(1, 10):
        digits, k = _sci("%.*e" % (p - 1, x))
        n = int(digits)
        e = "e" + str(k)
        if _halfway_above(x, n, k):
            tries = (n + 1, n)
        elif float(digits + e) < x:
            tries = (n, n + 1)
        else:
            tries = (n,)
        for t in tries:
            if _as_f32(float(str(t) + e)) == x:
                return sign + _positional(str(t), k)
    return sign + _positional(*_sci(repr(x)))
