"""The columns of a WIT 0.2 batch (wit/0.2/plugin.wit) as Python values,
and keys packed the way a 0.2 key plugin returns them. Shared through
`-p plugins/python/_lib`.

A column holds each distinct value once: `values(column)[column.index[i]]`
is event i's value, as bytes (None: no value). Decoding, when a plugin
needs text, is done once per distinct value.
"""

def values(column):
    """The column's distinct values as bytes, numbered as `column.index`
    numbers them: entry 0 is None (no value)."""
    d, e = column.data, column.ends
    return [None] + [d[e[k - 1]:e[k]] for k in range(1, len(e))]


def texts(column):
    """As `values`, decoded as UTF-8 (invalid sequences as U+FFFD)."""
    d, e = column.data, column.ends
    return [None] + [d[e[k - 1]:e[k]].decode("utf-8", "replace") for k in range(1, len(e))]


def per_event(column, text=False):
    """Each event's value (bytes, or str with `text`), None for none."""
    v = texts(column) if text else values(column)
    return [v[i] for i in column.index]


def pack_keys(keys):
    """A `keys` answer from one key (bytes) or None (keep) per event."""
    # Imported here: only a key plugin's world has the `key` interface.
    from wit_world.exports import key

    return key.Keys(
        b"".join(k for k in keys if k is not None),
        [-1 if k is None else len(k) for k in keys],
    )
