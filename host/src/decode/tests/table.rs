//! Table maps and rows events built byte by byte for a table the test
//! describes, laid out as MySQL 8.0 and 9.x write them (see `builder.rs`).

use super::builder::lenenc;

/// MySQL column types (`enum_field_types`).
const LONG: u8 = 3;
const LONGLONG: u8 = 8;
const VARCHAR: u8 = 15;
const VECTOR: u8 = 242;
const JSON: u8 = 245;
const BLOB: u8 = 252;

/// Collations.
pub(super) const BINARY: u16 = 63;
pub(super) const UTF8MB4_0900_AI_CI: u16 = 255;

/// Optional metadata fields of the table map.
const SIGNEDNESS: u8 = 1;
const DEFAULT_CHARSET: u8 = 2;
const COLUMN_NAME: u8 = 4;
const SIMPLE_PRIMARY_KEY: u8 = 8;

pub(super) struct Column {
    name: &'static str,
    ty: u8,
    /// The type's metadata in the table map.
    meta: Vec<u8>,
    unsigned: bool,
    /// For the columns the charset metadata lists: the collation.
    collation: Option<u16>,
}

impl Column {
    pub(super) fn int(name: &'static str) -> Self {
        Self::of(name, LONG, vec![], None)
    }

    pub(super) fn bigint_unsigned(name: &'static str) -> Self {
        Column {
            unsigned: true,
            ..Self::of(name, LONGLONG, vec![], None)
        }
    }

    /// JSON: the length of a value takes 4 bytes.
    pub(super) fn json(name: &'static str) -> Self {
        Self::of(name, JSON, vec![4], None)
    }

    /// VECTOR: 4 length bytes. MySQL 9 lists it among the character
    /// columns of the charset metadata, as binary.
    pub(super) fn vector(name: &'static str) -> Self {
        Self::of(name, VECTOR, vec![4], Some(BINARY))
    }

    /// VARCHAR of `max_bytes` bytes at most.
    pub(super) fn varchar(name: &'static str, max_bytes: u16, collation: u16) -> Self {
        Self::of(
            name,
            VARCHAR,
            max_bytes.to_le_bytes().to_vec(),
            Some(collation),
        )
    }

    /// TEXT (a BLOB with 2 length bytes and a character set).
    pub(super) fn text(name: &'static str, collation: u16) -> Self {
        Self::of(name, BLOB, vec![2], Some(collation))
    }

    fn of(name: &'static str, ty: u8, meta: Vec<u8>, collation: Option<u16>) -> Self {
        Column {
            name,
            ty,
            meta,
            unsigned: false,
            collation,
        }
    }

    fn is_numeric(&self) -> bool {
        matches!(self.ty, LONG | LONGLONG)
    }
}

pub(super) struct Table {
    pub(super) id: u64,
    pub(super) db: &'static str,
    pub(super) name: &'static str,
    pub(super) columns: Vec<Column>,
    pub(super) primary_key: Vec<usize>,
    /// binlog_row_metadata=FULL: column names and the primary key in the
    /// table map. MINIMAL leaves them out.
    pub(super) full_metadata: bool,
}

impl Table {
    /// The TABLE_MAP_EVENT body.
    pub(super) fn map(&self) -> Vec<u8> {
        let mut b = self.id.to_le_bytes()[..6].to_vec();
        b.extend_from_slice(&1u16.to_le_bytes()); // flags
        for name in [self.db, self.name] {
            b.push(name.len() as u8);
            b.extend_from_slice(name.as_bytes());
            b.push(0);
        }
        let n = self.columns.len();
        b.extend_from_slice(&lenenc(n as u64));
        b.extend(self.columns.iter().map(|c| c.ty));
        let meta: Vec<u8> = self.columns.iter().flat_map(|c| c.meta.clone()).collect();
        b.extend_from_slice(&lenenc(meta.len() as u64));
        b.extend_from_slice(&meta);
        b.extend_from_slice(&bitmap(n, &(0..n).collect::<Vec<_>>())); // all nullable
        b.extend_from_slice(&self.optional_metadata());
        b
    }

    fn optional_metadata(&self) -> Vec<u8> {
        let mut fields: Vec<(u8, Vec<u8>)> = Vec::new();
        let numeric: Vec<&Column> = self.columns.iter().filter(|c| c.is_numeric()).collect();
        if !numeric.is_empty() {
            // One bit per numeric column, most significant bit first.
            let mut bits = vec![0u8; numeric.len().div_ceil(8)];
            for (i, c) in numeric.iter().enumerate() {
                if c.unsigned {
                    bits[i / 8] |= 0x80 >> (i % 8);
                }
            }
            fields.push((SIGNEDNESS, bits));
        }
        let charsets: Vec<u16> = self.columns.iter().filter_map(|c| c.collation).collect();
        if let Some(&first) = charsets.first() {
            // The most common collation, then (index among the listed
            // columns, collation) for each column that differs.
            let default = *charsets
                .iter()
                .max_by_key(|c| (charsets.iter().filter(|x| x == c).count(), **c == first))
                .unwrap();
            let mut v = lenenc(default as u64);
            for (i, &c) in charsets.iter().enumerate() {
                if c != default {
                    v.extend_from_slice(&lenenc(i as u64));
                    v.extend_from_slice(&lenenc(c as u64));
                }
            }
            fields.push((DEFAULT_CHARSET, v));
        }
        if self.full_metadata {
            let mut names = Vec::new();
            for c in &self.columns {
                names.extend_from_slice(&lenenc(c.name.len() as u64));
                names.extend_from_slice(c.name.as_bytes());
            }
            fields.push((COLUMN_NAME, names));
            if !self.primary_key.is_empty() {
                let pk = self.primary_key.iter().flat_map(|&i| lenenc(i as u64));
                fields.push((SIMPLE_PRIMARY_KEY, pk.collect()));
            }
        }
        let mut b = Vec::new();
        for (t, v) in fields {
            b.push(t);
            b.extend_from_slice(&lenenc(v.len() as u64));
            b.extend_from_slice(&v);
        }
        b
    }

    /// A rows event body (v2): table id, flags (STMT_END_F), the extra data's
    /// length (2: none), the column count, one bitmap of the columns in each
    /// image (two for updates), then the rows.
    pub(super) fn rows(&self, images: &[&[usize]], rows: &[u8]) -> Vec<u8> {
        let mut b = self.id.to_le_bytes()[..6].to_vec();
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&2u16.to_le_bytes());
        let n = self.columns.len();
        b.extend_from_slice(&lenenc(n as u64));
        for cols in images {
            b.extend_from_slice(&bitmap(n, cols));
        }
        b.extend_from_slice(rows);
        b
    }

    /// One row image of the columns `cols`: a bitmap of the NULL ones, then
    /// each other value as its column's type stores it.
    pub(super) fn image(&self, cols: &[usize], values: &[V]) -> Vec<u8> {
        assert_eq!(cols.len(), values.len());
        let nulls: Vec<usize> = (0..cols.len())
            .filter(|&i| matches!(values[i], V::Null))
            .collect();
        let mut b = bitmap(cols.len(), &nulls);
        for (&col, v) in cols.iter().zip(values) {
            let c = &self.columns[col];
            match (c.ty, v) {
                (_, V::Null) => {}
                (LONG, V::Int(i)) => b.extend_from_slice(&(*i as i32).to_le_bytes()),
                (LONGLONG, V::Int(i)) => b.extend_from_slice(&i.to_le_bytes()),
                (JSON, V::Bytes(d)) => {
                    b.extend_from_slice(&(d.len() as u32).to_le_bytes());
                    b.extend_from_slice(d);
                }
                (VECTOR, V::Floats(f)) => {
                    b.extend_from_slice(&(f.len() as u32 * 4).to_le_bytes());
                    f.iter().for_each(|x| b.extend_from_slice(&x.to_le_bytes()));
                }
                (VARCHAR, V::Str(s)) => {
                    let max = u16::from_le_bytes([c.meta[0], c.meta[1]]);
                    let len = (s.len() as u16).to_le_bytes();
                    b.extend_from_slice(if max < 256 { &len[..1] } else { &len });
                    b.extend_from_slice(s.as_bytes());
                }
                (BLOB, V::Str(s)) => {
                    b.extend_from_slice(&(s.len() as u32).to_le_bytes()[..c.meta[0] as usize]);
                    b.extend_from_slice(s.as_bytes());
                }
                _ => panic!("column {} cannot hold this value", c.name),
            }
        }
        b
    }

    /// The after image of a PARTIAL_UPDATE_ROWS_EVENT: the value options
    /// (1: PARTIAL_JSON_UPDATES), a bitmap over the table's JSON columns of
    /// those whose value is a list of changes (see [`diff`]) rather than a
    /// document, then the image.
    pub(super) fn partial_after(&self, partial: &[usize], image: &[u8]) -> Vec<u8> {
        let json: Vec<usize> = (0..self.columns.len())
            .filter(|&i| self.columns[i].ty == JSON)
            .collect();
        let ordinals: Vec<usize> = partial
            .iter()
            .map(|p| json.iter().position(|j| j == p).expect("a JSON column"))
            .collect();
        let mut b = lenenc(1);
        b.extend_from_slice(&bitmap(json.len(), &ordinals));
        b.extend_from_slice(image);
        b
    }
}

/// A value of a row image.
pub(super) enum V {
    Null,
    Int(i64),
    Str(&'static str),
    /// A JSON document (see `bjson.rs`), or a partial update's changes.
    Bytes(Vec<u8>),
    Floats(Vec<f32>),
}

/// A bitmap of `n` bits with the bits `set` set, least significant first.
fn bitmap(n: usize, set: &[usize]) -> Vec<u8> {
    let mut b = vec![0u8; n.div_ceil(8)];
    for &i in set {
        b[i / 8] |= 1 << (i % 8);
    }
    b
}

/// Operations of a partial JSON update.
pub(super) const REPLACE: u8 = 0;
pub(super) const INSERT: u8 = 1;
pub(super) const REMOVE: u8 = 2;

/// One change of a partial JSON update: the operation, the path, and for
/// REPLACE and INSERT the new value (a binary JSON document), each length
/// encoded.
pub(super) fn diff(op: u8, path: &str, value: Option<&[u8]>) -> Vec<u8> {
    let mut b = vec![op];
    b.extend_from_slice(&lenenc(path.len() as u64));
    b.extend_from_slice(path.as_bytes());
    if let Some(v) = value {
        b.extend_from_slice(&lenenc(v.len() as u64));
        b.extend_from_slice(v);
    }
    b
}
