//! Multi-byte charsets: encoding_rs with the server's differences patched in.

use encoding_rs::Encoding;

use super::fixes;

/// How a multi-byte charset splits bytes into characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// sjis, cp932: lead 0x81-0x9F or 0xE0-0xFC, then one byte.
    ShiftJis,
    /// ujis, eucjpms: 0x8E and 0xA1-0xFE lead two bytes, 0x8F three.
    EucJp,
    /// gbk, gb2312, big5, euckr: lead 0x81-0xFE, then one byte.
    Lead81,
}

/// A multi-byte charset: encoding_rs plus the server's differences.
#[derive(Debug)]
pub struct MultiByte {
    enc: &'static Encoding,
    layout: Layout,
    /// Where the server differs from encoding_rs, by the sequence's bytes
    /// as a big-endian number.
    fixes: &'static [fixes::Span],
    /// EUC-JP user-defined rows 0xF5-0xFE map to the Private Use Area.
    pua: bool,
}

impl MultiByte {
    #[inline]
    fn char_len(&self, lead: u8) -> usize {
        match self.layout {
            Layout::ShiftJis => matches!(lead, 0x81..=0x9f | 0xe0..=0xfc) as usize + 1,
            Layout::EucJp => match lead {
                0x8f => 3,
                0x8e | 0xa1..=0xfe => 2,
                _ => 1,
            },
            Layout::Lead81 => matches!(lead, 0x81..=0xfe) as usize + 1,
        }
    }

    /// The server's character for one multi-byte sequence, where it
    /// differs from encoding_rs.
    #[inline]
    fn fix(&self, seq: &[u8]) -> Option<char> {
        let code = seq.iter().fold(0u32, |a, &b| (a << 8) | b as u32);
        if self.pua {
            let in_rows = |r: u8, c: u8| (0xf5..=0xfe).contains(&r) && (0xa1..=0xfe).contains(&c);
            match *seq {
                [r, c] if in_rows(r, c) => {
                    return char::from_u32(0xe000 + (r - 0xf5) as u32 * 94 + (c - 0xa1) as u32)
                }
                [0x8f, r, c] if in_rows(r, c) => {
                    return char::from_u32(0xe3ac + (r - 0xf5) as u32 * 94 + (c - 0xa1) as u32)
                }
                _ => {}
            }
        }
        fixes::lookup(self.fixes, code)
    }

    /// Appends the UTF-8 form of `b`.
    pub(super) fn append(&self, out: &mut Vec<u8>, b: &[u8]) {
        let mut dec = self.enc.new_decoder_without_bom_handling();
        let mut run = 0;
        let mut i = 0;
        while i < b.len() {
            let n = self.char_len(b[i]).min(b.len() - i);
            if n > 1 {
                if let Some(ch) = self.fix(&b[i..i + n]) {
                    decode_run(&mut dec, &b[run..i], out, false);
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    run = i + n;
                }
            }
            i += n;
        }
        decode_run(&mut dec, &b[run..], out, true);
    }
}

/// Decodes `src` with encoding_rs into the end of `out`, in place.
fn decode_run(dec: &mut encoding_rs::Decoder, src: &[u8], out: &mut Vec<u8>, last: bool) {
    if src.is_empty() && !last {
        return;
    }
    let max = dec
        .max_utf8_buffer_length(src.len())
        .unwrap_or(src.len() * 3 + 16);
    let at = out.len();
    out.resize(at + max, 0);
    let (_, _, written, _) = dec.decode_to_utf8(src, &mut out[at..], last);
    out.truncate(at + written);
}

pub(super) static SJIS: MultiByte = MultiByte {
    enc: &encoding_rs::SHIFT_JIS_INIT,
    layout: Layout::ShiftJis,
    fixes: fixes::SJIS,
    pua: false,
};
pub(super) static CP932: MultiByte = MultiByte {
    enc: &encoding_rs::SHIFT_JIS_INIT,
    layout: Layout::ShiftJis,
    fixes: &[],
    pua: false,
};
pub(super) static UJIS: MultiByte = MultiByte {
    enc: &encoding_rs::EUC_JP_INIT,
    layout: Layout::EucJp,
    fixes: fixes::UJIS,
    pua: true,
};
pub(super) static EUCJPMS: MultiByte = MultiByte {
    enc: &encoding_rs::EUC_JP_INIT,
    layout: Layout::EucJp,
    fixes: fixes::EUCJPMS,
    pua: true,
};
pub(super) static GBK: MultiByte = MultiByte {
    enc: &encoding_rs::GBK_INIT,
    layout: Layout::Lead81,
    fixes: &[],
    pua: false,
};
pub(super) static GB2312: MultiByte = MultiByte {
    enc: &encoding_rs::GBK_INIT,
    layout: Layout::Lead81,
    fixes: fixes::GB2312,
    pua: false,
};
pub(super) static EUCKR: MultiByte = MultiByte {
    enc: &encoding_rs::EUC_KR_INIT,
    layout: Layout::Lead81,
    fixes: &[],
    pua: false,
};
pub(super) static BIG5: MultiByte = MultiByte {
    enc: &encoding_rs::BIG5_INIT,
    layout: Layout::Lead81,
    fixes: fixes::BIG5,
    pua: false,
};
