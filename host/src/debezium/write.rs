//! JSON written straight into a byte buffer: strings escaped as Jackson
//! (Kafka Connect's JsonConverter) escapes them, integers, floats, and
//! bytes as base64 or hex.

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// `s` as a JSON string, quotes included. Bytes that are not UTF-8 (Sluice
/// writes none; a plugin might) are replaced with U+FFFD.
pub(super) fn string(out: &mut Vec<u8>, s: &[u8]) {
    match std::str::from_utf8(s) {
        Ok(s) => str(out, s),
        Err(_) => str(out, &String::from_utf8_lossy(s)),
    }
}

pub(super) fn str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    str_body(out, s.as_bytes());
    out.push(b'"');
}

/// Which bytes a JSON string must escape: `"`, `\` and control characters.
static ESCAPE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// The inside of a JSON string: `"`, `\` and control characters escaped,
/// everything else (UTF-8 included) as it is. Runs without any are copied
/// whole: most text has none.
pub(super) fn str_body(out: &mut Vec<u8>, s: &[u8]) {
    let mut start = 0;
    while let Some(i) = s[start..].iter().position(|&c| ESCAPE[c as usize]) {
        let i = start + i;
        out.extend_from_slice(&s[start..i]);
        let c = s[i];
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX_UPPER[(c >> 4) as usize]);
                out.push(HEX_UPPER[(c & 15) as usize]);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&s[start..]);
}

/// Two decimal digits per step, as itoa does: a number is written in a
/// few table lookups.
const DIGITS2: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

pub(super) fn uint(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    while v >= 100 {
        let d = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGITS2[d..d + 2]);
    }
    if v >= 10 {
        let d = v as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGITS2[d..d + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    out.extend_from_slice(&buf[i..]);
}

pub(super) fn int(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    uint(out, v.unsigned_abs());
}

/// The shortest decimal that reads back as the same float32 (as Java's
/// `Float.toString` aims for), not the float64 it widens to.
pub(super) fn f32(out: &mut Vec<u8>, v: f32) {
    serde_json::to_writer(out, &v).expect("writing to a Vec cannot fail");
}

pub(super) fn f64(out: &mut Vec<u8>, v: f64) {
    serde_json::to_writer(out, &v).expect("writing to a Vec cannot fail");
}

pub(super) fn bool(out: &mut Vec<u8>, v: bool) {
    out.extend_from_slice(if v { b"true" } else { b"false" });
}

pub(super) fn null(out: &mut Vec<u8>) {
    out.extend_from_slice(b"null");
}

/// Which base64 alphabet: Kafka Connect writes bytes with the standard one;
/// `binary.handling.mode = base64-url-safe` asks for the URL one. Both pad
/// with `=`, as Java's encoders do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Alphabet {
    Standard,
    UrlSafe,
}

/// `b` as a quoted base64 string.
pub(super) fn base64(out: &mut Vec<u8>, b: &[u8], alphabet: Alphabet) {
    const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let t = match alphabet {
        Alphabet::Standard => STD,
        Alphabet::UrlSafe => URL,
    };
    out.reserve(b.len().div_ceil(3) * 4 + 2);
    out.push(b'"');
    let mut chunks = b.chunks_exact(3);
    for c in &mut chunks {
        let n = (c[0] as u32) << 16 | (c[1] as u32) << 8 | c[2] as u32;
        out.extend_from_slice(&[
            t[(n >> 18) as usize & 63],
            t[(n >> 12) as usize & 63],
            t[(n >> 6) as usize & 63],
            t[n as usize & 63],
        ]);
    }
    match *chunks.remainder() {
        [a] => {
            let n = (a as u32) << 16;
            out.extend_from_slice(&[t[(n >> 18) as usize & 63], t[(n >> 12) as usize & 63]]);
            out.extend_from_slice(b"==");
        }
        [a, b] => {
            let n = (a as u32) << 16 | (b as u32) << 8;
            out.extend_from_slice(&[
                t[(n >> 18) as usize & 63],
                t[(n >> 12) as usize & 63],
                t[(n >> 6) as usize & 63],
            ]);
            out.push(b'=');
        }
        _ => {}
    }
    out.push(b'"');
}

/// `b` as a quoted string of lowercase hex digits.
pub(super) fn hex(out: &mut Vec<u8>, b: &[u8]) {
    out.reserve(b.len() * 2 + 2);
    out.push(b'"');
    for &x in b {
        out.push(HEX_LOWER[(x >> 4) as usize]);
        out.push(HEX_LOWER[(x & 15) as usize]);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_escape_what_json_requires_and_nothing_else() {
        let s = "a\"b\\c\nd\u{1}é/€\t";
        let j = with(|o| str(o, s));
        assert_eq!(j, r#""a\"b\\c\nd\u0001é/€\t""#);
        assert_eq!(serde_json::from_str::<String>(&j).unwrap(), s);
        assert_eq!(with(|o| string(o, b"x\xffy")), "\"x\u{fffd}y\"");
    }

    #[test]
    fn numbers_are_exact() {
        assert_eq!(with(|o| int(o, i64::MIN)), "-9223372036854775808");
        assert_eq!(with(|o| uint(o, u64::MAX)), "18446744073709551615");
        assert_eq!(with(|o| int(o, 0)), "0");
        for v in (0..200_000u64)
            .step_by(7)
            .chain([9, 10, 99, 100, 101, 999, 1000, u64::MAX - 1])
        {
            assert_eq!(with(|o| uint(o, v)), v.to_string());
        }
        assert_eq!(with(|o| f32(o, 1.1)), "1.1");
        assert_eq!(with(|o| f64(o, -0.5)), "-0.5");
    }

    #[test]
    fn base64_matches_the_rfc_vectors() {
        // RFC 4648, section 10.
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(
                with(|o| base64(o, plain.as_bytes(), Alphabet::Standard)),
                format!("\"{enc}\"")
            );
        }
        assert_eq!(
            with(|o| base64(o, &[0xfb, 0xff], Alphabet::Standard)),
            "\"+/8=\""
        );
        assert_eq!(
            with(|o| base64(o, &[0xfb, 0xff], Alphabet::UrlSafe)),
            "\"-_8=\""
        );
        assert_eq!(with(|o| hex(o, &[0x00, 0xab, 0x10])), "\"00ab10\"");
    }
}
