//! Checks that a transform's output is a row event as docs/FORMAT.md
//! defines it, before it can reach Kafka: exactly one well-formed
//! MessagePack map, nothing after it, the fields a row event requires, and
//! an `op` that agrees with its images and with the op the plugin returned.
//!
//! One pass over the bytes, no allocation unless the event is invalid: the
//! check runs on every event a transform emits, so it must stay cheap next
//! to the plugin call (docs/PLUGINS.md "Cost").

use crate::event::Op;

/// Deepest nesting accepted. MySQL's JSON allows 100 levels inside a
/// column, which sits at depth 3 (event, image, column); a deeper value is
/// no event Sluice writes, and the limit bounds the recursion.
const MAX_DEPTH: u32 = 128;

/// Why bytes are not a valid event; turned into text only on failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Invalid {
    /// Ends in the middle of a value.
    Truncated,
    /// A byte that starts no MessagePack value (`0xc1`).
    BadMarker(u8),
    TooDeep,
    NotAMap,
    Trailing(usize),
    Missing(&'static str),
    Duplicate(&'static str),
    /// A field of the wrong type (what the format says it holds).
    WrongType(&'static str, &'static str),
    /// `v` is not the format version this host writes.
    Version,
    /// `op` is not c, u, d or r.
    UnknownOp,
    /// The images do not fit the op, e.g. a delete with an after image.
    Images(Op),
    /// The value's `op` differs from the op the plugin returned with it.
    OpMismatch {
        value: Op,
        returned: Op,
    },
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Invalid::Truncated => write!(f, "truncated MessagePack"),
            Invalid::BadMarker(b) => write!(f, "invalid MessagePack byte 0x{b:02x}"),
            Invalid::TooDeep => write!(f, "nested deeper than {MAX_DEPTH} levels"),
            Invalid::NotAMap => write!(f, "not a MessagePack map"),
            Invalid::Trailing(n) => write!(f, "{n} bytes after the event"),
            Invalid::Missing(k) => write!(f, "no {k:?} field (docs/FORMAT.md)"),
            Invalid::Duplicate(k) => write!(f, "field {k:?} twice"),
            Invalid::WrongType(k, t) => write!(f, "field {k:?} must be {t}"),
            Invalid::Version => write!(f, "field \"v\" must be 1, the format version"),
            Invalid::UnknownOp => write!(f, "field \"op\" must be \"c\", \"u\", \"d\" or \"r\""),
            Invalid::Images(op) => write!(
                f,
                "op {:?} needs {}",
                op.code(),
                match op {
                    Op::Create | Op::Read => "an \"after\" map and a nil or absent \"before\"",
                    Op::Update => "both \"before\" and \"after\" maps",
                    Op::Delete => "a \"before\" map and a nil or absent \"after\"",
                    Op::Ddl | Op::Heartbeat | Op::Transaction => {
                        "to be a row event: plugins never return schema changes or markers"
                    }
                }
            ),
            Invalid::OpMismatch { value, returned } => write!(
                f,
                "the event's op is {:?} but the plugin returned op {:?} with it; they must agree",
                value.code(),
                returned.code()
            ),
        }
    }
}

/// Checks one event a transform emitted with op `returned`.
pub(crate) fn check_event(bytes: &[u8], returned: Op) -> Result<(), Invalid> {
    let mut r = Reader { b: bytes, at: 0 };
    let fields = r.event()?;
    if r.at != bytes.len() {
        return Err(Invalid::Trailing(bytes.len() - r.at));
    }
    let op = fields.op.ok_or(Invalid::Missing("op"))?;
    for (seen, name) in [
        (fields.v, "v"),
        (fields.source, "source"),
        (fields.ts_ms, "ts_ms"),
    ] {
        if !seen {
            return Err(Invalid::Missing(name));
        }
    }
    let (after, before) = (fields.after == Some(true), fields.before == Some(true));
    let images_fit = match op {
        Op::Create | Op::Read => after && !before,
        Op::Update => after && before,
        Op::Delete => before && !after,
        // Not reachable: a `ddl` op is refused as unknown when read.
        Op::Ddl | Op::Heartbeat | Op::Transaction => false,
    };
    if !images_fit {
        return Err(Invalid::Images(op));
    }
    if op != returned {
        return Err(Invalid::OpMismatch {
            value: op,
            returned,
        });
    }
    Ok(())
}

/// What the top-level map held. `after`/`before`: `None` when absent,
/// else whether the image is a map (`Some(false)`: nil).
#[derive(Default)]
struct Fields {
    v: bool,
    op: Option<Op>,
    source: bool,
    ts_ms: bool,
    after: Option<bool>,
    before: Option<bool>,
}

/// The start of one value, its payload already consumed except for the
/// elements of containers.
enum Head<'a> {
    Map(u32),
    Array(u32),
    Str(&'a [u8]),
    Uint(u64),
    Nil,
    /// Any other scalar (int, float, bool, bin, ext).
    Scalar,
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Invalid> {
        let end = self.at.checked_add(n).ok_or(Invalid::Truncated)?;
        let s = self.b.get(self.at..end).ok_or(Invalid::Truncated)?;
        self.at = end;
        Ok(s)
    }

    /// A big-endian unsigned number of `n` (1, 2, 4 or 8) bytes.
    fn uint(&mut self, n: usize) -> Result<u64, Invalid> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | *b as u64))
    }

    fn len(&mut self, n: usize) -> Result<usize, Invalid> {
        Ok(self.uint(n)? as usize)
    }

    fn head(&mut self) -> Result<Head<'a>, Invalid> {
        let m = self.take(1)?[0];
        Ok(match m {
            0x00..=0x7f => Head::Uint(m as u64),
            0x80..=0x8f => Head::Map((m & 0x0f) as u32),
            0x90..=0x9f => Head::Array((m & 0x0f) as u32),
            0xa0..=0xbf => Head::Str(self.take((m & 0x1f) as usize)?),
            0xc0 => Head::Nil,
            0xc1 => return Err(Invalid::BadMarker(m)),
            0xc2 | 0xc3 | 0xe0..=0xff => Head::Scalar,
            0xc4..=0xc6 => {
                let n = self.len(1 << (m - 0xc4))?;
                self.take(n)?;
                Head::Scalar
            }
            0xc7..=0xc9 => {
                let n = self.len(1 << (m - 0xc7))?;
                self.take(n.checked_add(1).ok_or(Invalid::Truncated)?)?;
                Head::Scalar
            }
            0xca => self.take(4).map(|_| Head::Scalar)?,
            0xcb => self.take(8).map(|_| Head::Scalar)?,
            0xcc..=0xcf => Head::Uint(self.uint(1 << (m - 0xcc))?),
            0xd0..=0xd3 => self.take(1 << (m - 0xd0)).map(|_| Head::Scalar)?,
            0xd4..=0xd8 => self.take(1 + (1 << (m - 0xd4))).map(|_| Head::Scalar)?,
            0xd9..=0xdb => {
                let n = self.len(1 << (m - 0xd9))?;
                Head::Str(self.take(n)?)
            }
            0xdc | 0xdd => Head::Array(self.uint(2 << (m - 0xdc))? as u32),
            0xde | 0xdf => Head::Map(self.uint(2 << (m - 0xde))? as u32),
        })
    }

    fn advance(&mut self, n: usize) -> Result<(), Invalid> {
        if n > self.b.len() - self.at {
            return Err(Invalid::Truncated);
        }
        self.at += n;
        Ok(())
    }

    /// Skips the `items` elements of a container at nesting level `depth`
    /// whose head was read. A loop with a fixed stack of counts rather than
    /// recursion: this walks every byte of every transform output, and the
    /// loop is several times faster. A count larger than the bytes left is
    /// `Truncated` at once: every element takes at least one byte.
    fn skip_items(&mut self, items: u64, depth: u32) -> Result<(), Invalid> {
        if depth > MAX_DEPTH {
            return Err(Invalid::TooDeep);
        }
        let mut open = [0u32; MAX_DEPTH as usize];
        let mut n_open = 0usize;
        let mut left = self.count(items)?;
        loop {
            while left == 0 {
                if n_open == 0 {
                    return Ok(());
                }
                n_open -= 1;
                left = open[n_open];
            }
            left -= 1;
            let m = *self.b.get(self.at).ok_or(Invalid::Truncated)?;
            self.at += 1;
            let items = match m {
                0x00..=0x7f | 0xc0 | 0xc2 | 0xc3 | 0xe0..=0xff => continue,
                0x80..=0x8f => 2 * (m & 0x0f) as u64,
                0x90..=0x9f => (m & 0x0f) as u64,
                0xa0..=0xbf => {
                    self.advance((m & 0x1f) as usize)?;
                    continue;
                }
                0xc1 => return Err(Invalid::BadMarker(m)),
                // bin 8/16/32, str 8/16/32: a length, then the bytes.
                0xc4..=0xc6 | 0xd9..=0xdb => {
                    let width = if m <= 0xc6 { m - 0xc4 } else { m - 0xd9 };
                    let n = self.len(1 << width)?;
                    self.advance(n)?;
                    continue;
                }
                0xc7..=0xc9 => {
                    let n = self.len(1 << (m - 0xc7))?;
                    self.advance(n)?;
                    self.advance(1)?;
                    continue;
                }
                0xca => {
                    self.advance(4)?;
                    continue;
                }
                0xcb => {
                    self.advance(8)?;
                    continue;
                }
                // uint and int 8/16/32/64.
                0xcc..=0xd3 => {
                    let width = if m <= 0xcf { m - 0xcc } else { m - 0xd0 };
                    self.advance(1 << width)?;
                    continue;
                }
                0xd4..=0xd8 => {
                    self.advance(1 + (1 << (m - 0xd4)))?;
                    continue;
                }
                0xdc | 0xdd => self.uint(2 << (m - 0xdc))?,
                0xde | 0xdf => 2 * self.uint(2 << (m - 0xde))?,
            };
            if items == 0 {
                continue;
            }
            if depth + n_open as u32 + 1 > MAX_DEPTH {
                return Err(Invalid::TooDeep);
            }
            open[n_open] = left;
            n_open += 1;
            left = self.count(items)?;
        }
    }

    /// `items` as a count, refused when more than the bytes left.
    fn count(&self, items: u64) -> Result<u32, Invalid> {
        if items > (self.b.len() - self.at) as u64 {
            return Err(Invalid::Truncated);
        }
        Ok(items as u32)
    }

    fn skip(&mut self, depth: u32) -> Result<(), Invalid> {
        self.skip_items(1, depth)
    }

    /// Reads the top-level map, noting the fields a row event needs.
    fn event(&mut self) -> Result<Fields, Invalid> {
        let Head::Map(n) = self.head().map_err(|_| Invalid::NotAMap)? else {
            return Err(Invalid::NotAMap);
        };
        let mut f = Fields::default();
        for _ in 0..n {
            let key = match self.head()? {
                Head::Str(k) => k,
                Head::Map(n) => {
                    self.skip_items(2 * n as u64, 2)?;
                    b""
                }
                Head::Array(n) => {
                    self.skip_items(n as u64, 2)?;
                    b""
                }
                _ => b"",
            };
            self.field(key, &mut f)?;
        }
        Ok(f)
    }

    /// Reads one top-level field's value; fields the format does not name
    /// are skipped (consumers read by name, docs/FORMAT.md).
    fn field(&mut self, key: &[u8], f: &mut Fields) -> Result<(), Invalid> {
        fn once(seen: &mut bool, name: &'static str) -> Result<(), Invalid> {
            if std::mem::replace(seen, true) {
                return Err(Invalid::Duplicate(name));
            }
            Ok(())
        }
        match key {
            b"v" => {
                once(&mut f.v, "v")?;
                match self.head()? {
                    Head::Uint(1) => Ok(()),
                    Head::Uint(_) => Err(Invalid::Version),
                    _ => Err(Invalid::WrongType("v", "an unsigned integer")),
                }
            }
            b"op" => {
                if f.op.is_some() {
                    return Err(Invalid::Duplicate("op"));
                }
                let Head::Str(code) = self.head()? else {
                    return Err(Invalid::WrongType("op", "a string"));
                };
                let op = std::str::from_utf8(code)
                    .ok()
                    .and_then(Op::from_code)
                    // Schema changes never go through plugins.
                    .filter(|op| *op != Op::Ddl);
                f.op = Some(op.ok_or(Invalid::UnknownOp)?);
                Ok(())
            }
            b"ts_ms" => {
                once(&mut f.ts_ms, "ts_ms")?;
                match self.head()? {
                    Head::Uint(_) => Ok(()),
                    _ => Err(Invalid::WrongType("ts_ms", "an unsigned integer")),
                }
            }
            b"source" => {
                once(&mut f.source, "source")?;
                match self.head()? {
                    Head::Map(n) => self.skip_items(2 * n as u64, 2),
                    _ => Err(Invalid::WrongType("source", "a map")),
                }
            }
            b"after" => self.image(&mut f.after, "after"),
            b"before" => self.image(&mut f.before, "before"),
            _ => self.skip(1),
        }
    }

    /// A row image: a map, or nil (the same as absent).
    fn image(&mut self, seen: &mut Option<bool>, name: &'static str) -> Result<(), Invalid> {
        // A second image field would let consumers read either one.
        if seen.is_some() {
            return Err(Invalid::Duplicate(name));
        }
        match self.head()? {
            Head::Map(n) => {
                *seen = Some(true);
                self.skip_items(2 * n as u64, 2)
            }
            Head::Nil => {
                *seen = Some(false);
                Ok(())
            }
            _ => Err(Invalid::WrongType(name, "a map or nil")),
        }
    }
}
