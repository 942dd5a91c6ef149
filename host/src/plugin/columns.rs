//! Reading named columns out of a MessagePack event for WIT 0.2 plugins:
//! the host does, in Rust, the parsing an interpreted plugin would
//! otherwise do in its interpreter (docs/PLUGINS.md, "WIT 0.2").
//!
//! The row is the after image, or the before image when there is no after
//! map (deletes), as the SDKs' `column` reads it. A value's bytes are what
//! the Rust SDK's `Value::write_text` writes: integers and floats as Rust's
//! `Display` prints them, `true`/`false`, and the bytes of strings and
//! binary values as they are. NULL, JSON arrays and objects, strings that
//! are not UTF-8, and anything unreadable have none.

/// The MessagePack bytes of one event, read without allocating.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&self, p: usize) -> Option<u8> {
        self.buf.get(p).copied()
    }

    fn be(&self, p: usize, n: usize) -> Option<u64> {
        let b = self.buf.get(p..p.checked_add(n)?)?;
        Some(b.iter().fold(0u64, |acc, x| (acc << 8) | *x as u64))
    }

    /// The (start, end) of the string or binary payload at `p`.
    fn str_at(&self, p: usize) -> Option<(usize, usize)> {
        let m = self.byte(p)?;
        let (start, len) = match m {
            0xa0..=0xbf => (p + 1, (m & 0x1f) as usize),
            0xd9 | 0xc4 => (p + 2, self.be(p + 1, 1)? as usize),
            0xda | 0xc5 => (p + 3, self.be(p + 1, 2)? as usize),
            0xdb | 0xc6 => (p + 5, self.be(p + 1, 4)? as usize),
            _ => return None,
        };
        let end = start.checked_add(len)?;
        (end <= self.buf.len()).then_some((start, end))
    }

    /// The entry count and first entry of the map at `p`.
    fn map_at(&self, p: usize) -> Option<(usize, usize)> {
        match self.byte(p)? {
            m @ 0x80..=0x8f => Some(((m & 0x0f) as usize, p + 1)),
            0xde => Some((self.be(p + 1, 2)? as usize, p + 3)),
            0xdf => Some((self.be(p + 1, 4)? as usize, p + 5)),
            _ => None,
        }
    }

    /// The position after the value at `p`; `None` if it is truncated or
    /// nested deeper than `depth`.
    fn skip(&self, p: usize, depth: u32) -> Option<usize> {
        let m = self.byte(p)?;
        let fixed = |n: usize| Some(p + 1 + n).filter(|e| *e <= self.buf.len());
        let items = |count: usize, mut q: usize, per: usize| {
            if depth == 0 {
                return None;
            }
            for _ in 0..count.checked_mul(per)? {
                q = self.skip(q, depth - 1)?;
            }
            Some(q)
        };
        match m {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => Some(p + 1),
            0x80..=0x8f => items((m & 0x0f) as usize, p + 1, 2),
            0x90..=0x9f => items((m & 0x0f) as usize, p + 1, 1),
            0xa0..=0xbf | 0xd9..=0xdb | 0xc4..=0xc6 => self.str_at(p).map(|(_, e)| e),
            0xcc | 0xd0 => fixed(1),
            0xcd | 0xd1 => fixed(2),
            0xce | 0xd2 | 0xca => fixed(4),
            0xcf | 0xd3 | 0xcb => fixed(8),
            0xd4 => fixed(2),
            0xd5 => fixed(3),
            0xd6 => fixed(5),
            0xd7 => fixed(9),
            0xd8 => fixed(17),
            0xc7..=0xc9 => {
                let n = 1 << (m - 0xc7);
                let len = self.be(p + 1, n)? as usize;
                fixed(n + 1 + len)
            }
            0xdc | 0xdd => {
                let n = if m == 0xdc { 2 } else { 4 };
                items(self.be(p + 1, n)? as usize, p + 1 + n, 1)
            }
            0xde | 0xdf => {
                let (count, first) = self.map_at(p)?;
                items(count, first, 2)
            }
            0xc1 => None,
        }
    }

    /// Whether the SDK's `Value::parse` reads the value at `p`: complete,
    /// and UTF-8 if it is a string.
    fn readable(&self, p: usize) -> bool {
        match self.byte(p) {
            Some(0xa0..=0xbf | 0xd9..=0xdb) => self
                .str_at(p)
                .is_some_and(|(s, e)| std::str::from_utf8(&self.buf[s..e]).is_ok()),
            Some(_) => self.skip(p, MAX_DEPTH).is_some(),
            None => false,
        }
    }

    /// Appends the text of the value at `p` to `out`; false if it has none.
    fn write_text(&self, p: usize, out: &mut Vec<u8>) -> bool {
        use std::io::Write;
        let Some(m) = self.byte(p) else {
            return false;
        };
        let int = |n: usize| self.be(p + 1, n);
        let done = match m {
            0x00..=0x7f => write!(out, "{m}").is_ok(),
            0xe0..=0xff => write!(out, "{}", m as i8).is_ok(),
            0xc2 => write!(out, "false").is_ok(),
            0xc3 => write!(out, "true").is_ok(),
            0xcc => int(1).is_some_and(|v| write!(out, "{v}").is_ok()),
            0xcd => int(2).is_some_and(|v| write!(out, "{v}").is_ok()),
            0xce => int(4).is_some_and(|v| write!(out, "{v}").is_ok()),
            0xcf => int(8).is_some_and(|v| write!(out, "{v}").is_ok()),
            0xd0 => int(1).is_some_and(|v| write!(out, "{}", v as u8 as i8).is_ok()),
            0xd1 => int(2).is_some_and(|v| write!(out, "{}", v as u16 as i16).is_ok()),
            0xd2 => int(4).is_some_and(|v| write!(out, "{}", v as u32 as i32).is_ok()),
            0xd3 => int(8).is_some_and(|v| write!(out, "{}", v as i64).is_ok()),
            0xca => int(4).is_some_and(|v| write!(out, "{}", f32::from_bits(v as u32)).is_ok()),
            0xcb => int(8).is_some_and(|v| write!(out, "{}", f64::from_bits(v)).is_ok()),
            // A string that is not UTF-8 has no value, as in the SDK.
            0xa0..=0xbf | 0xd9..=0xdb => match self.str_at(p) {
                Some((s, e)) if std::str::from_utf8(&self.buf[s..e]).is_ok() => {
                    out.extend_from_slice(&self.buf[s..e]);
                    true
                }
                _ => false,
            },
            0xc4..=0xc6 => match self.str_at(p) {
                Some((s, e)) => {
                    out.extend_from_slice(&self.buf[s..e]);
                    true
                }
                None => false,
            },
            _ => false,
        };
        done
    }
}

/// The deepest a column value may be nested inside the event for the
/// scan to step over it (MySQL JSON allows 100 levels inside a column).
const MAX_DEPTH: u32 = 128;

/// Where the values of the top-level keys `before` and `after` start, as
/// the Rust SDK's `Event` finds them (plugin-sdk/src/msgpack.rs,
/// `find_images`), so that 0.2 plugins see the values their 0.1 and Rust
/// twins read: the scan for `after` stops there, noting a `before` that
/// came first; the scan stops at a key that is not a string or a value it
/// cannot step over.
struct Images {
    before: Option<usize>,
    after: Option<usize>,
}

impl Images {
    fn find(r: &Reader) -> Images {
        let (mut before, mut after) = (None, None);
        let finished = r.scan_top(|key, value| {
            match key {
                b"after" => {
                    after = Some(value);
                    return true;
                }
                b"before" => before = Some(value),
                _ => {}
            }
            false
        });
        if finished && before.is_none() {
            // `before` comes after `after`: scan on for it, from the start.
            r.scan_top(|key, value| {
                if key == b"before" {
                    before = Some(value);
                    return true;
                }
                false
            });
        }
        Images { before, after }
    }
}

impl Reader<'_> {
    /// Calls `f(key, value position)` for the top-level entries until it
    /// returns true (then returns true); stops at a key that is not a
    /// string or a value that cannot be stepped over.
    fn scan_top(&self, mut f: impl FnMut(&[u8], usize) -> bool) -> bool {
        let Some((count, mut p)) = self.map_at(0) else {
            return false;
        };
        for _ in 0..count {
            if !matches!(self.byte(p), Some(0xa0..=0xbf | 0xd9..=0xdb)) {
                return false;
            }
            let Some((s, value)) = self.str_at(p) else {
                return false;
            };
            if f(&self.buf[s..value], value) {
                return true;
            }
            match self.skip(value, MAX_DEPTH) {
                Some(next) => p = next,
                None => return false,
            }
        }
        false
    }

    /// Sets `found[i]` to the position of `names[i]`'s value in the map at
    /// `at`, for the names not found yet (the first of a repeated key);
    /// keys that are not strings are stepped over.
    fn find_in(&self, at: usize, names: &[String], found: &mut [Option<usize>]) {
        let Some((count, mut p)) = self.map_at(at) else {
            return;
        };
        let mut missing = found.iter().filter(|f| f.is_none()).count();
        for _ in 0..count {
            if missing == 0 {
                return;
            }
            let is_str = matches!(self.byte(p), Some(0xa0..=0xbf | 0xd9..=0xdb));
            let value = match self.str_at(p) {
                Some((s, e)) if is_str => {
                    let key = &self.buf[s..e];
                    for (i, name) in names.iter().enumerate() {
                        if found[i].is_none() && name.as_bytes() == key {
                            found[i] = Some(e);
                            missing -= 1;
                        }
                    }
                    e
                }
                _ => match self.skip(p, MAX_DEPTH) {
                    Some(e) => e,
                    None => return,
                },
            };
            match self.skip(value, MAX_DEPTH) {
                Some(next) => p = next,
                None => return,
            }
        }
    }
}

/// Finds `names` in event `bytes`; `found[i]` is the position of
/// `names[i]`'s value, or `None`. `per_column`: from the after image, or
/// from the before image when the after image has no readable value for
/// it (the SDK's `Event::column`); otherwise all from the after image when
/// it is a map, else from the before image (`Event::find_columns`).
fn find(r: &Reader, names: &[String], per_column: bool, found: &mut [Option<usize>]) {
    found.iter_mut().for_each(|f| *f = None);
    let images = Images::find(r);
    let after = images.after.filter(|at| r.map_at(*at).is_some());
    if !per_column {
        if let Some(at) = after.or(images.before) {
            r.find_in(at, names, found);
        }
        // `find_columns` gives a name asked for twice to its first place
        // only.
        for j in 1..names.len() {
            if names[..j].contains(&names[j]) {
                found[j] = None;
            }
        }
        return;
    }
    if let Some(at) = after {
        r.find_in(at, names, found);
        // A value the SDK cannot read counts as absent from the image.
        for f in found.iter_mut() {
            *f = f.filter(|p| r.readable(*p));
        }
    }
    if found.iter().any(Option::is_none) {
        if let Some(at) = images.before {
            r.find_in(at, names, found);
        }
    }
}

/// Calls `each(i, text)` for each of `names` in order, with the text of
/// its value in event `bytes` (`None`: no such column, or a value without
/// text). `found` and `text` are scratch space, reused across events.
pub(crate) fn read(
    bytes: &[u8],
    names: &[String],
    per_column: bool,
    found: &mut Vec<Option<usize>>,
    text: &mut Vec<u8>,
    mut each: impl FnMut(usize, Option<&[u8]>),
) {
    let r = Reader { buf: bytes };
    found.resize(names.len(), None);
    find(&r, names, per_column, found);
    for (i, at) in found.iter().enumerate() {
        text.clear();
        let has = at.is_some_and(|p| r.write_text(p, text));
        each(i, has.then_some(text.as_slice()));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    /// Each name's text (lossily decoded) with `lookup = column`.
    fn texts(bytes: &[u8], names: &[&str]) -> Vec<Option<String>> {
        read(bytes, names, true)
    }

    /// With `lookup = image`: one image for the whole row.
    fn row_texts(bytes: &[u8], names: &[&str]) -> Vec<Option<String>> {
        read(bytes, names, false)
    }

    fn read(bytes: &[u8], names: &[&str], per_column: bool) -> Vec<Option<String>> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut out = vec![None; names.len()];
        let mut text = Vec::new();
        super::read(
            bytes,
            &names,
            per_column,
            &mut Vec::new(),
            &mut text,
            |i, t| out[i] = t.map(|t| String::from_utf8_lossy(t).into_owned()),
        );
        out
    }

    fn event(before: rmpv::Value, after: rmpv::Value) -> Vec<u8> {
        let v = rmpv::Value::Map(vec![
            ("v".into(), 1.into()),
            ("op".into(), "u".into()),
            ("before".into(), before),
            ("after".into(), after),
            (
                "source".into(),
                rmpv::Value::Map(vec![("db".into(), "shop".into())]),
            ),
        ]);
        let mut buf = Vec::new();
        rmpv::encode::write_value(&mut buf, &v).unwrap();
        buf
    }

    fn row(pairs: Vec<(&str, rmpv::Value)>) -> rmpv::Value {
        rmpv::Value::Map(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    #[test]
    fn every_value_kind_has_the_sdk_text() {
        use rmpv::Value as V;
        let after = row(vec![
            ("small", V::from(7)),
            ("neg", V::from(-3)),
            ("u64", V::from(u64::MAX)),
            ("i64", V::from(i64::MIN)),
            ("f64", V::F64(1.5)),
            ("f32", V::F32(0.25)),
            ("yes", V::Boolean(true)),
            ("s", V::from("héllo")),
            ("bin", V::Binary(vec![b'a', 0xff, b'b'])),
            ("null", V::Nil),
            ("arr", V::Array(vec![1.into()])),
            ("obj", row(vec![("k", 1.into())])),
            ("dec", V::from("-12.50")),
        ]);
        let bytes = event(V::Nil, after);
        let got = texts(
            &bytes,
            &[
                "small", "neg", "u64", "i64", "f64", "f32", "yes", "s", "bin", "null", "arr",
                "obj", "dec", "absent",
            ],
        );
        let want: Vec<Option<String>> = [
            Some("7"),
            Some("-3"),
            Some("18446744073709551615"),
            Some("-9223372036854775808"),
            Some("1.5"),
            Some("0.25"),
            Some("true"),
            Some("héllo"),
            Some("a\u{fffd}b"),
            None,
            None,
            None,
            Some("-12.50"),
            None,
        ]
        .into_iter()
        .map(|o| o.map(str::to_string))
        .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn lookups_differ_only_where_the_after_image_lacks_a_value() {
        let partial = event(
            row(vec![("id", 1.into()), ("t", "old".into())]),
            row(vec![("id", 2.into())]),
        );
        assert_eq!(
            texts(&partial, &["id", "t"]),
            [Some("2".into()), Some("old".into())]
        );
        assert_eq!(row_texts(&partial, &["id", "t"]), [Some("2".into()), None]);
        assert_eq!(row_texts(&partial, &["id", "id"]), [Some("2".into()), None]);
        let mut bad = Vec::new();
        rmpv::encode::write_value(
            &mut bad,
            &rmpv::Value::Map(vec![
                ("before".into(), row(vec![("t", "ok".into())])),
                ("after".into(), rmpv::Value::Nil),
            ]),
        )
        .unwrap();
        assert_eq!(texts(&bad, &["t"]), [Some("ok".into())]);
        assert_eq!(row_texts(&bad, &["t"]), [Some("ok".into())]);
    }

    #[test]
    fn after_image_first_then_before_for_deletes() {
        let update = event(
            row(vec![("id", 1.into()), ("t", "old".into())]),
            row(vec![("id", 2.into()), ("t", "new".into())]),
        );
        assert_eq!(
            texts(&update, &["t", "id"]),
            [Some("new".into()), Some("2".into())]
        );
        let delete = event(row(vec![("t", "gone".into())]), rmpv::Value::Nil);
        assert_eq!(texts(&delete, &["t"]), [Some("gone".into())]);
        // A name asked for twice gets the value twice.
        assert_eq!(
            texts(&delete, &["t", "t"]),
            [Some("gone".into()), Some("gone".into())]
        );
    }

    #[test]
    fn events_as_the_decoder_writes_them() {
        let bytes = crate::plugin::tests::event(
            "c",
            json!(null),
            json!({"id": 5, "tenant_id": "acme", "doc": {"a": [1, 2, {"b": null}]}, "z": 0.5}),
        );
        assert_eq!(
            texts(&bytes, &["z", "tenant_id", "doc", "id"]),
            [
                Some("0.5".into()),
                Some("acme".into()),
                None,
                Some("5".into())
            ]
        );
    }

    #[test]
    fn broken_bytes_give_no_values_and_do_not_panic() {
        let good = crate::plugin::tests::event("c", json!(null), json!({"id": 5, "t": "x"}));
        let whole = texts(&good, &["t", "id"]);
        for cut in 0..good.len() {
            // A value is either read whole or not at all.
            let got = texts(&good[..cut], &["t", "id"]);
            for (g, w) in got.iter().zip(&whole) {
                assert!(g.is_none() || g == w, "{cut}: {got:?}");
            }
        }
        for junk in [
            &[][..],
            &[0xc1],
            &[0xdf, 0xff, 0xff, 0xff, 0xff],
            &[0x81, 0xc1, 0xc1],
        ] {
            assert_eq!(texts(junk, &["t"]), [None]);
        }
    }
}
