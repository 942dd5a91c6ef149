//! Each conversion against the decoder: the value as the binary protocol
//! delivers it must write the same bytes as the binlog image of the same
//! value.

use std::sync::Arc;

use mysql_async::Value;

use super::*;
use crate::decode::charset::CharsetMap;
use crate::decode::cursor::Cursor;

fn snapshot(kind: &ColumnKind, v: Value) -> Vec<u8> {
    let mut out = Vec::new();
    write(kind, &v, &mut out).unwrap_or_else(|e| panic!("{kind:?} {v:?}: {e}"));
    out
}

fn binlog(kind: &ColumnKind, image: &[u8]) -> Vec<u8> {
    let mut c = Cursor::new(image);
    let mut out = Vec::new();
    crate::decode::value::write(kind, &mut c, &mut out).unwrap();
    assert_eq!(c.remaining(), 0, "{kind:?} left bytes unread");
    out
}

/// Both paths agree, for every (protocol value, binlog image) pair.
fn same(kind: ColumnKind, cases: &[(Value, &[u8])]) {
    for (v, image) in cases {
        assert_eq!(
            snapshot(&kind, v.clone()),
            binlog(&kind, image),
            "{kind:?}: {v:?} vs image {image:02x?}"
        );
    }
}

fn datetime2(y: u64, m: u64, d: u64, hms: (u64, u64, u64), micros: u32) -> Vec<u8> {
    let ymd = ((y * 13 + m) << 5) | d;
    let v = ((ymd << 17) | (hms.0 << 12) | (hms.1 << 6) | hms.2) + 0x80_0000_0000;
    let mut b = v.to_be_bytes()[3..].to_vec();
    b.extend_from_slice(&micros.to_be_bytes()[1..]);
    b
}

fn time2_fsp6(negative: bool, (h, m, s): (i64, i64, i64), micros: i64) -> Vec<u8> {
    let packed = (((h << 12) | (m << 6) | s) << 24) | micros;
    let v = if negative { -packed } else { packed } + 0x8000_0000_0000;
    v.to_be_bytes()[2..].to_vec()
}

#[test]
fn integers_floats_and_years() {
    let int = |bytes, unsigned| ColumnKind::Int { bytes, unsigned };
    same(
        int(1, false),
        &[(Value::Int(-128), &[0x80]), (Value::Int(5), &[5])],
    );
    same(int(1, true), &[(Value::Int(255), &[0xff])]);
    same(int(3, false), &[(Value::Int(-8_388_608), &[0, 0, 0x80])]);
    same(int(4, true), &[(Value::Int(4_294_967_295), &[0xff; 4])]);
    same(int(8, true), &[(Value::UInt(u64::MAX), &[0xff; 8])]);
    same(
        int(8, false),
        &[(Value::Int(i64::MIN), &[0, 0, 0, 0, 0, 0, 0, 0x80])],
    );
    for f in [-0.0f32, f32::MAX, f32::from_bits(1), 1.5] {
        same(ColumnKind::Float, &[(Value::Float(f), &f.to_le_bytes())]);
    }
    for d in [-0.0f64, f64::MAX, f64::from_bits(1), 0.1] {
        same(ColumnKind::Double, &[(Value::Double(d), &d.to_le_bytes())]);
    }
    same(
        ColumnKind::Year,
        &[
            (Value::Int(0), &[0]),
            (Value::Int(1901), &[1]),
            (Value::Int(2155), &[255]),
        ],
    );
}

#[test]
fn decimals_as_the_server_prints_them() {
    let kind = ColumnKind::Decimal {
        precision: 5,
        scale: 2,
    };
    same(
        kind.clone(),
        &[
            (Value::Bytes(b"1.50".to_vec()), &[0x80, 0x01, 0x32]),
            (Value::Bytes(b"-1.50".to_vec()), &[0x7f, 0xfe, 0xcd]),
            (Value::Bytes(b"0.00".to_vec()), &[0x80, 0x00, 0x00]),
            (Value::Bytes(b"-0.00".to_vec()), &[0x80, 0x00, 0x00]),
            (Value::Bytes(b"-000.05".to_vec()), &[0x7f, 0xff, 0xfa]),
            (Value::Bytes(b"999.99".to_vec()), &[0x83, 0xe7, 0x63]),
        ],
    );
    let whole = ColumnKind::Decimal {
        precision: 4,
        scale: 0,
    };
    same(whole, &[(Value::Bytes(b"-12".to_vec()), &[0x7f, 0xf3])]);
    let mut out = Vec::new();
    for bad in ["1.5x", "", "-", "1.505"] {
        assert!(
            write(&kind, &Value::Bytes(bad.into()), &mut out).is_err(),
            "{bad}"
        );
    }
    let wide = ColumnKind::Decimal {
        precision: 65,
        scale: 30,
    };
    let text = format!("-{}.{}", "9".repeat(35), "1".repeat(30));
    let v = rmpv::decode::read_value(&mut &snapshot(&wide, Value::Bytes(text.clone().into()))[..]);
    assert_eq!(v.unwrap().as_str(), Some(text.as_str()));
}

#[test]
fn dates_times_and_timestamps() {
    let date = |y: u32, m: u32, d: u32| ((y << 9) | (m << 5) | d).to_le_bytes()[..3].to_vec();
    same(
        ColumnKind::Date,
        &[
            (Value::Date(2024, 0, 15, 0, 0, 0, 0), &date(2024, 0, 15)),
            (Value::Date(0, 0, 0, 0, 0, 0, 0), &date(0, 0, 0)),
        ],
    );
    let dt6 = ColumnKind::DateTime2 { fsp: 6 };
    same(
        dt6,
        &[
            (
                Value::Date(9999, 12, 31, 23, 59, 59, 999_999),
                &datetime2(9999, 12, 31, (23, 59, 59), 999_999),
            ),
            (
                Value::Date(0, 0, 0, 0, 0, 0, 0),
                &datetime2(0, 0, 0, (0, 0, 0), 0),
            ),
        ],
    );
    let dt0 = ColumnKind::DateTime2 { fsp: 0 };
    same(
        dt0,
        &[(
            Value::Date(2024, 2, 0, 1, 2, 3, 0),
            &datetime2(2024, 2, 0, (1, 2, 3), 0)[..5],
        )],
    );
    let ts1 = ColumnKind::Timestamp2 { fsp: 1 };
    same(
        ts1,
        &[
            (
                Value::Date(2038, 1, 19, 3, 14, 7, 500_000),
                &[0x7f, 0xff, 0xff, 0xff, 50],
            ),
            // The zero TIMESTAMP: no date in the protocol, 0 in the binlog.
            (Value::Date(0, 0, 0, 0, 0, 0, 0), &[0, 0, 0, 0, 0]),
            (Value::Date(1970, 1, 1, 0, 0, 1, 0), &[0, 0, 0, 1, 0]),
        ],
    );
    let t6 = ColumnKind::Time2 { fsp: 6 };
    same(
        t6,
        &[
            (
                Value::Time(true, 0, 12, 34, 56, 789_012),
                &time2_fsp6(true, (12, 34, 56), 789_012),
            ),
            (
                Value::Time(true, 0, 0, 0, 0, 1),
                &time2_fsp6(true, (0, 0, 0), 1),
            ),
            (
                Value::Time(false, 34, 22, 59, 59, 0),
                &time2_fsp6(false, (838, 59, 59), 0),
            ),
            (
                Value::Time(true, 4, 4, 0, 0, 50_000),
                &time2_fsp6(true, (100, 0, 0), 50_000),
            ),
        ],
    );
    // fsp 1: the fraction borrows from the seconds in negative values.
    let mut neg_half = ((0x80_0000i64 - 1) as u32).to_be_bytes()[1..].to_vec();
    neg_half.push((0x100 - 50) as u8);
    same(
        ColumnKind::Time2 { fsp: 1 },
        &[(Value::Time(true, 0, 0, 0, 0, 500_000), &neg_half)],
    );
}

#[test]
fn strings_in_their_charsets_and_binary_padded() {
    let latin1 = CharsetMap::default().get(Some(8));
    let kind = ColumnKind::VarString {
        len_bytes: 1,
        charset: latin1,
    };
    same(
        kind,
        &[(Value::Bytes(vec![0xe9, 0x80, 0x81]), &[3, 0xe9, 0x80, 0x81])],
    );
    let binary = ColumnKind::FixedString {
        len_bytes: 1,
        max_len: 4,
        charset: Charset::Binary,
    };
    same(
        binary,
        &[
            (Value::Bytes(b"a\0\0\0".to_vec()), &[1, b'a']),
            (Value::Bytes(vec![0; 4]), &[0]),
            (Value::Bytes(b"a".to_vec()), &[1, b'a']),
        ],
    );
    let text = ColumnKind::Blob {
        len_bytes: 2,
        charset: Charset::Utf8,
    };
    same(
        text,
        &[(Value::Bytes("😀".into()), &[4, 0, 0xf0, 0x9f, 0x98, 0x80])],
    );
    let geometry = ColumnKind::Geometry { len_bytes: 4 };
    same(
        geometry,
        &[(Value::Bytes(vec![1, 2, 3]), &[3, 0, 0, 0, 1, 2, 3])],
    );
    let vector = ColumnKind::Vector { len_bytes: 4 };
    let f = 1.5f32.to_le_bytes();
    same(
        vector,
        &[(
            Value::Bytes(f.to_vec()),
            &[4, 0, 0, 0, f[0], f[1], f[2], f[3]],
        )],
    );
}

#[test]
fn enums_sets_and_bits_by_number() {
    let labels: Arc<[PreEncoded]> = (0..64).map(|i| PreEncoded::str(&format!("m{i}"))).collect();
    let e = ColumnKind::Enum {
        bytes: 1,
        labels: labels.clone(),
    };
    same(e.clone(), &[(Value::Int(2), &[2]), (Value::Int(0), &[0])]);
    let s = ColumnKind::Set { bytes: 8, labels };
    same(
        s,
        &[
            (Value::Int(i64::MIN), &[0, 0, 0, 0, 0, 0, 0, 0x80]),
            (Value::Int(5), &[5, 0, 0, 0, 0, 0, 0, 0]),
            (Value::Int(0), &[0; 8]),
        ],
    );
    assert!(write(&e, &Value::Int(65), &mut Vec::new()).is_err());
    same(
        ColumnKind::Bit { bits: 1 },
        &[(Value::Bytes(vec![1]), &[1]), (Value::Bytes(vec![0]), &[0])],
    );
    same(
        ColumnKind::Bit { bits: 13 },
        &[(Value::Bytes(vec![0x10, 0]), &[0x10, 0])],
    );
    same(
        ColumnKind::Bit { bits: 64 },
        &[(Value::Bytes(vec![0xff; 8]), &[0xff; 8])],
    );
}

#[test]
fn null_and_mismatched_values() {
    assert_eq!(snapshot(&ColumnKind::Date, Value::NULL), [0xc0]);
    let mut out = Vec::new();
    assert!(write(&ColumnKind::Date, &Value::Int(3), &mut out).is_err());
    assert!(write(&ColumnKind::Float, &Value::Double(1.0), &mut out).is_err());
}

#[test]
fn key_values_go_back_to_the_server_as_it_compares_them() {
    let latin1 = CharsetMap::default().get(Some(8));
    let kv = |kind: &ColumnKind, v: Value| key_value(kind, &v).unwrap();
    let text = ColumnKind::VarString {
        len_bytes: 1,
        charset: latin1,
    };
    assert_eq!(
        kv(&text, Value::Bytes(vec![0xe9])),
        KeyValue::Text("é".into())
    );
    let bin = ColumnKind::FixedString {
        len_bytes: 1,
        max_len: 2,
        charset: Charset::Binary,
    };
    assert_eq!(
        kv(&bin, Value::Bytes(vec![0, 0xff])),
        KeyValue::Bytes(vec![0, 0xff])
    );
    assert_eq!(
        kv(
            &ColumnKind::DateTime2 { fsp: 1 },
            Value::Date(2024, 1, 2, 3, 4, 5, 500_000)
        ),
        KeyValue::Temporal("2024-01-02 03:04:05.500000".into())
    );
    assert_eq!(
        kv(&ColumnKind::Date, Value::Date(0, 0, 0, 0, 0, 0, 0)),
        KeyValue::Temporal("0000-00-00".into())
    );
    assert_eq!(
        kv(
            &ColumnKind::Time2 { fsp: 0 },
            Value::Time(true, 34, 22, 59, 59, 0)
        ),
        KeyValue::Temporal("-838:59:59.000000".into())
    );
    let dec = ColumnKind::Decimal {
        precision: 5,
        scale: 2,
    };
    assert_eq!(
        kv(&dec, Value::Bytes(b"-0.00".to_vec())),
        KeyValue::Text("0.00".into())
    );
    let labels: Arc<[PreEncoded]> = ["a", "b"].iter().map(|l| PreEncoded::str(l)).collect();
    let set = ColumnKind::Set { bytes: 1, labels };
    assert_eq!(kv(&set, Value::Int(i64::MIN)), KeyValue::UInt(1 << 63));
    assert_eq!(
        kv(&ColumnKind::Bit { bits: 9 }, Value::Bytes(vec![1, 0])),
        KeyValue::UInt(256)
    );
    let unsigned = ColumnKind::Int {
        bytes: 8,
        unsigned: true,
    };
    assert_eq!(
        kv(&unsigned, Value::UInt(u64::MAX)),
        KeyValue::UInt(u64::MAX)
    );
    assert!(key_value(&ColumnKind::Date, &Value::Bytes(vec![])).is_err());
}
