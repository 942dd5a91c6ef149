//! Minimal MessagePack writers that append to a `Vec<u8>`.
//!
//! The decoder writes every value straight into the batch buffer with these,
//! so there is no intermediate value tree and no per-value allocation. They
//! always pick the smallest encoding, as the MessagePack spec asks.

/// Appends a marker or a marker and its big-endian number: a few bytes,
/// their count known where this is inlined. Through `extend_from_slice`
/// they were a call and a `memcpy` whenever LLVM chose not to inline its
/// `append_elements` into a writer, a choice that changed with unrelated
/// changes to the crate's layout (3-7% more time per row in the decoder).
#[inline(always)]
fn put<const N: usize>(out: &mut Vec<u8>, bytes: [u8; N]) {
    extend_short(out, &bytes);
}

#[inline(always)]
pub(crate) fn write_nil(out: &mut Vec<u8>) {
    out.push(0xc0);
}

#[inline]
pub(crate) fn write_bool(out: &mut Vec<u8>, v: bool) {
    out.push(if v { 0xc3 } else { 0xc2 });
}

#[inline(always)]
pub(crate) fn write_uint(out: &mut Vec<u8>, v: u64) {
    if v < 128 {
        out.push(v as u8);
    } else if v <= u8::MAX as u64 {
        put(out, [0xcc, v as u8]);
    } else if v <= u16::MAX as u64 {
        out.push(0xcd);
        put(out, (v as u16).to_be_bytes());
    } else if v <= u32::MAX as u64 {
        out.push(0xce);
        put(out, (v as u32).to_be_bytes());
    } else {
        out.push(0xcf);
        put(out, v.to_be_bytes());
    }
}

#[inline(always)]
pub(crate) fn write_int(out: &mut Vec<u8>, v: i64) {
    if v >= 0 {
        write_uint(out, v as u64);
    } else if v >= -32 {
        out.push(v as i8 as u8);
    } else if v >= i8::MIN as i64 {
        put(out, [0xd0, v as i8 as u8]);
    } else if v >= i16::MIN as i64 {
        out.push(0xd1);
        put(out, (v as i16).to_be_bytes());
    } else if v >= i32::MIN as i64 {
        out.push(0xd2);
        put(out, (v as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        put(out, v.to_be_bytes());
    }
}

#[inline]
pub(crate) fn write_f32(out: &mut Vec<u8>, v: f32) {
    out.push(0xca);
    put(out, v.to_be_bytes());
}

#[inline]
pub(crate) fn write_f64(out: &mut Vec<u8>, v: f64) {
    out.push(0xcb);
    put(out, v.to_be_bytes());
}

#[inline(always)]
pub(crate) fn write_str_header(out: &mut Vec<u8>, len: usize) {
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= u8::MAX as usize {
        put(out, [0xd9, len as u8]);
    } else if len <= u16::MAX as usize {
        out.push(0xda);
        put(out, (len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        put(out, (len as u32).to_be_bytes());
    }
}

#[inline]
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    write_str_header(out, s.len());
    extend_short(out, s.as_bytes());
}

/// Appends `src` to `out`, like `extend_from_slice`, but copies slices of
/// up to 64 bytes inline (overlapping loads and stores from both ends)
/// instead of calling libc's `memcpy`: column names, numbers' digits, dates
/// and most short strings are that small, and the call was the largest
/// single cost per row in the decoder's profile.
#[inline(always)]
pub(crate) fn extend_short(out: &mut Vec<u8>, src: &[u8]) {
    let n = src.len();
    if n > SHORT {
        out.extend_from_slice(src);
        return;
    }
    out.reserve(SHORT);
    let len = out.len();
    // SAFETY: `reserve(SHORT)` leaves room for `n <= SHORT` bytes after
    // `len`, `src` cannot overlap `out`'s spare capacity, and all `n`
    // bytes are written before `set_len`.
    unsafe {
        copy_short(src.as_ptr(), out.as_mut_ptr().add(len), n);
        out.set_len(len + n);
    }
}

/// Appends `out[range]` to `out`, like `extend_from_within`, copying short
/// ranges inline as [`extend_short`] does.
#[inline(always)]
pub(crate) fn extend_short_within(out: &mut Vec<u8>, range: std::ops::Range<usize>) {
    let n = range.len();
    if n > SHORT || range.end > out.len() {
        out.extend_from_within(range);
        return;
    }
    out.reserve(SHORT);
    let len = out.len();
    // SAFETY: the range lies within `out[..len]` (checked above) and the
    // destination is spare capacity after `len` (reserved above, pointers
    // taken after the reserve), so they do not overlap.
    unsafe {
        let p = out.as_mut_ptr();
        copy_short(p.add(range.start), p.add(len), n);
        out.set_len(len + n);
    }
}

/// The longest copy [`extend_short`] does inline.
const SHORT: usize = 64;

/// Copies `n <= SHORT` bytes from `s` to `d` with fixed-size loads and
/// stores: the first and last 8, 16 or 32 bytes, which overlap when `n` is
/// not a multiple of them.
///
/// # Safety
/// `s` must be readable and `d` writable for `n` bytes, without overlap.
#[inline(always)]
unsafe fn copy_short(s: *const u8, d: *mut u8, n: usize) {
    unsafe fn words<T: Copy>(s: *const u8, d: *mut u8, n: usize, k: usize) {
        // SAFETY: the caller checked `k <= n`; both reads and both writes
        // are inside the `n` bytes.
        unsafe {
            let (a, b) = (
                s.cast::<T>().read_unaligned(),
                s.add(n - k).cast::<T>().read_unaligned(),
            );
            d.cast::<T>().write_unaligned(a);
            d.add(n - k).cast::<T>().write_unaligned(b);
        }
    }
    // SAFETY: each branch copies within the `n` bytes the caller vouched for.
    unsafe {
        if n >= 32 {
            words::<[u128; 2]>(s, d, n, 32);
        } else if n >= 16 {
            words::<u128>(s, d, n, 16);
        } else if n >= 8 {
            words::<u64>(s, d, n, 8);
        } else if n >= 4 {
            words::<u32>(s, d, n, 4);
        } else if n > 0 {
            let (a, m, z) = (*s, *s.add(n / 2), *s.add(n - 1));
            *d = a;
            *d.add(n / 2) = m;
            *d.add(n - 1) = z;
        }
    }
}

#[inline]
pub(crate) fn write_bin(out: &mut Vec<u8>, b: &[u8]) {
    write_bin_header(out, b.len());
    extend_short(out, b);
}

#[inline]
pub(crate) fn write_bin_header(out: &mut Vec<u8>, len: usize) {
    if len <= u8::MAX as usize {
        put(out, [0xc4, len as u8]);
    } else if len <= u16::MAX as usize {
        out.push(0xc5);
        put(out, (len as u16).to_be_bytes());
    } else {
        out.push(0xc6);
        put(out, (len as u32).to_be_bytes());
    }
}

#[inline]
pub(crate) fn write_array_header(out: &mut Vec<u8>, len: usize) {
    if len < 16 {
        out.push(0x90 | len as u8);
    } else if len <= u16::MAX as usize {
        out.push(0xdc);
        put(out, (len as u16).to_be_bytes());
    } else {
        out.push(0xdd);
        put(out, (len as u32).to_be_bytes());
    }
}

#[inline(always)]
pub(crate) fn write_map_header(out: &mut Vec<u8>, len: usize) {
    if len < 16 {
        out.push(0x80 | len as u8);
    } else if len <= u16::MAX as usize {
        out.push(0xde);
        put(out, (len as u16).to_be_bytes());
    } else {
        out.push(0xdf);
        put(out, (len as u32).to_be_bytes());
    }
}

/// A string already encoded as MessagePack, so hot loops copy bytes instead
/// of re-encoding the same column names and keys for every row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreEncoded(Box<[u8]>);

impl PreEncoded {
    pub fn str(s: &str) -> Self {
        let mut v = Vec::with_capacity(s.len() + 5);
        write_str(&mut v, s);
        PreEncoded(v.into_boxed_slice())
    }

    #[inline]
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The string back, when this is one (what [`PreEncoded::str`] made).
    pub fn as_str(&self) -> Option<&str> {
        let b = &self.0;
        let (skip, len) = match *b.first()? {
            m @ 0xa0..=0xbf => (1, (m & 0x1f) as usize),
            0xd9 => (2, *b.get(1)? as usize),
            0xda => (3, u16::from_be_bytes([*b.get(1)?, *b.get(2)?]) as usize),
            0xdb => (
                5,
                u32::from_be_bytes(b.get(1..5)?.try_into().ok()?) as usize,
            ),
            _ => return None,
        };
        std::str::from_utf8(b.get(skip..skip + len)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(buf: &[u8]) -> rmpv::Value {
        rmpv::decode::read_value(&mut &buf[..]).unwrap()
    }

    #[test]
    fn pre_encoded_strings_read_back() {
        for s in [
            "",
            "id",
            &"x".repeat(40),
            &"y".repeat(300),
            &"z".repeat(70_000),
        ] {
            assert_eq!(PreEncoded::str(s).as_str(), Some(s));
        }
    }

    #[test]
    fn short_copies_append_exactly_the_slice() {
        let src: Vec<u8> = (1..=80).collect();
        for n in 0..=80 {
            for prefix in [0usize, 3, 15] {
                let mut out = vec![0xee; prefix];
                out.shrink_to_fit();
                extend_short(&mut out, &src[..n]);
                assert_eq!(out.len(), prefix + n);
                assert!(out[..prefix].iter().all(|&b| b == 0xee));
                assert_eq!(&out[prefix..], &src[..n], "n = {n}, prefix = {prefix}");

                let mut out = src.clone();
                out.shrink_to_fit();
                extend_short_within(&mut out, prefix..prefix + n.min(80 - prefix));
                assert_eq!(&out[..80], &src[..]);
                assert_eq!(&out[80..], &src[prefix..prefix + n.min(80 - prefix)]);
            }
        }
    }

    #[test]
    fn integers_use_the_smallest_form_and_round_trip() {
        for v in [
            0i64,
            1,
            127,
            128,
            255,
            256,
            65535,
            65536,
            -1,
            -32,
            -33,
            -128,
            -129,
            -32768,
            -32769,
            i32::MIN as i64,
            i32::MIN as i64 - 1,
            i64::MIN,
            i64::MAX,
        ] {
            let mut b = Vec::new();
            write_int(&mut b, v);
            assert_eq!(roundtrip(&b).as_i64(), Some(v), "{v}");
            let mut r = Vec::new();
            rmp::encode::write_sint(&mut r, v).unwrap();
            assert_eq!(b, r, "{v} encodes like rmp's smallest form");
        }
        let mut b = Vec::new();
        write_uint(&mut b, u64::MAX);
        assert_eq!(roundtrip(&b).as_u64(), Some(u64::MAX));
    }

    #[test]
    fn strings_bins_and_containers_round_trip() {
        for len in [0usize, 31, 32, 255, 256, 65535, 65536] {
            let s = "x".repeat(len);
            let mut b = Vec::new();
            write_str(&mut b, &s);
            assert_eq!(roundtrip(&b).as_str(), Some(s.as_str()));
            let mut b = Vec::new();
            write_bin(&mut b, s.as_bytes());
            assert_eq!(roundtrip(&b).as_slice(), Some(s.as_bytes()));
        }
        for len in [0usize, 15, 16, 65535, 65536] {
            let mut b = Vec::new();
            write_array_header(&mut b, len);
            for _ in 0..len {
                write_nil(&mut b);
            }
            assert_eq!(roundtrip(&b).as_array().unwrap().len(), len);
            let mut b = Vec::new();
            write_map_header(&mut b, len);
            for i in 0..len {
                write_uint(&mut b, i as u64);
                write_bool(&mut b, true);
            }
            assert_eq!(roundtrip(&b).as_map().unwrap().len(), len);
        }
    }
}
