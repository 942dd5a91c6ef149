//! MySQL's JSON column from the text `SELECT` returns to the MessagePack
//! the decoder writes from the binary document (`decode::json`).
//!
//! The server prints a stored document faithfully enough for that: object
//! members in their stored order, integers as digits (int and uint read
//! the same in MessagePack), doubles with a `.0` or an exponent and enough
//! digits to read back to the same bits, and DATE / TIME / DATETIME values
//! as the strings the decoder writes for them. What the text cannot carry
//! is in docs/FORMAT.md ("Snapshot rows"): a DECIMAL inside a document
//! reads as a double, other opaque values as the server's `base64:type..`
//! strings.

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::event::msgpack::*;

/// Converts one document.
pub(super) fn write(text: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let at = out.len();
    let mut de = serde_json::Deserializer::from_slice(text);
    let done = Into(out)
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| format!("JSON text: {e}"));
    if done.is_err() {
        out.truncate(at);
    }
    done
}

/// Writes the value it is given into the buffer.
struct Into<'a>(&'a mut Vec<u8>);

impl<'de> DeserializeSeed<'de> for Into<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// The header of a container whose length is known only at its end: a
/// 5-byte gap is left for it, then closed to the header's real size.
fn close(out: &mut Vec<u8>, at: usize, len: usize, write_header: fn(&mut Vec<u8>, usize)) {
    let mut header = Vec::with_capacity(5);
    write_header(&mut header, len);
    out.copy_within(at + 5.., at + header.len());
    out[at..at + header.len()].copy_from_slice(&header);
    out.truncate(out.len() - (5 - header.len()));
}

impl<'de> Visitor<'de> for Into<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        write_nil(self.0);
        Ok(())
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        write_bool(self.0, v);
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        write_int(self.0, v);
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        write_uint(self.0, v);
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        write_f64(self.0, v);
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        write_str(self.0, v);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let at = self.0.len();
        self.0.extend_from_slice(&[0; 5]);
        let mut n = 0;
        while seq.next_element_seed(Into(&mut *self.0))?.is_some() {
            n += 1;
        }
        close(self.0, at, n, write_array_header);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let at = self.0.len();
        self.0.extend_from_slice(&[0; 5]);
        let mut n = 0;
        while map.next_key_seed(Into(&mut *self.0))?.is_some() {
            map.next_value_seed(Into(&mut *self.0))?;
            n += 1;
        }
        close(self.0, at, n, write_map_header);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::json::testdoc::{doc, V};

    fn text(t: &str) -> Vec<u8> {
        let mut out = Vec::new();
        write(t.as_bytes(), &mut out).unwrap();
        out
    }

    fn binary(d: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        crate::decode::json::convert(d, &mut out).unwrap();
        out
    }

    #[test]
    fn the_servers_text_reads_as_the_binary_document_does() {
        // MySQL keeps object keys sorted by length, then bytes; its text
        // lists them in that order.
        let d = doc(true, &[("b", V::I(-3)), ("aa", V::S("x é"))]);
        assert_eq!(text(r#"{"b": -3, "aa": "x é"}"#), binary(&d));
        let d = doc(false, &[("", V::I(7)), ("", V::S("y"))]);
        assert_eq!(text(r#"[7, "y"]"#), binary(&d));
    }

    #[test]
    fn scalars_and_long_containers() {
        let v = |t: &str| rmpv::decode::read_value(&mut &text(t)[..]).unwrap();
        assert_eq!(v("null"), rmpv::Value::Nil);
        assert_eq!(v("18446744073709551615").as_u64(), Some(u64::MAX));
        assert!(matches!(v("1.0"), rmpv::Value::F64(x) if x == 1.0));
        assert!(matches!(v("-0.0"), rmpv::Value::F64(x) if x.to_bits() == (-0.0f64).to_bits()));
        assert!(matches!(v("1.5e300"), rmpv::Value::F64(x) if x == 1.5e300));
        assert_eq!(v(r#""a\"\u0001""#).as_str(), Some("a\"\u{1}"));
        let long: Vec<String> = (0..70_000).map(|i| i.to_string()).collect();
        let arr = v(&format!("[{}]", long.join(",")));
        assert_eq!(arr.as_array().unwrap().len(), 70_000);
        assert_eq!(arr.as_array().unwrap()[69_999].as_u64(), Some(69_999));
        let obj = v(r#"{"k": {"n": [1, {"m": true}]}, "z": []}"#);
        assert_eq!(obj["k"]["n"][1]["m"].as_bool(), Some(true));
        let mut out = vec![9];
        assert!(write(b"{\"a\": 1", &mut out).is_err());
        assert_eq!(out, [9]);
    }
}
