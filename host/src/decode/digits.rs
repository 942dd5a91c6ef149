//! Decimal digits two at a time, for the formatters of DECIMAL and the
//! temporal types: a table lookup per pair instead of a division per digit.

/// "00" to "99".
const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// The last two decimal digits of `v`.
#[inline]
pub(super) fn pair(v: u32) -> [u8; 2] {
    let i = (v % 100) as usize * 2;
    [PAIRS[i], PAIRS[i + 1]]
}

/// Writes `v` without leading zeros (`0` for 0) so that its last digit is
/// at `buf[end - 1]`, and returns where its digits start.
#[inline]
pub(super) fn right_aligned(mut v: u64, buf: &mut [u8], end: usize) -> usize {
    let mut i = end;
    while v >= 100 {
        i -= 2;
        [buf[i], buf[i + 1]] = pair((v % 100) as u32);
        v /= 100;
    }
    if v >= 10 {
        i -= 2;
        [buf[i], buf[i + 1]] = pair(v as u32);
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_pairs() {
        for v in [
            0u64,
            7,
            10,
            99,
            100,
            12345,
            999_999_999_999_999_999,
            u64::MAX,
        ] {
            let mut buf = [b'#'; 24];
            let at = right_aligned(v, &mut buf, 22);
            assert_eq!(std::str::from_utf8(&buf[at..22]).unwrap(), v.to_string());
            assert_eq!(&buf[22..], b"##");
        }
        assert_eq!(&pair(5), b"05");
        assert_eq!(&pair(1999), b"99");
    }
}
