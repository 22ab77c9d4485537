//! Encoding of single cells into a reusable row buffer.

use std::io::Write as _;

use chrono::{DateTime, Datelike, Offset, TimeZone, Timelike, Utc};
use encoding_rs::{EncoderResult, SHIFT_JIS};

use super::{Encoding, ExportOptions};

/// One row's cells, already encoded, back to back in one buffer (reused between rows).
#[derive(Default)]
pub(super) struct RowBuf {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    /// Scratch space for text that needs the Excel character mapping before CP932 encoding.
    scratch: String,
}

impl RowBuf {
    pub(super) fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    /// Number of cells written so far.
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    pub(super) fn fields(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let f = &self.bytes[start..end];
            start = end;
            f
        })
    }

    fn end_cell(&mut self) {
        self.ends.push(self.bytes.len());
    }

    /// A text cell, neutralised if a spreadsheet could take it for a formula. Returns how many
    /// characters were written as `?` (CP932, lossy). On an unmappable character (CP932, not
    /// lossy) the cell is dropped and the char returned.
    pub(super) fn text(&mut self, s: &str, opts: &ExportOptions) -> Result<u64, char> {
        let start = self.bytes.len();
        if needs_neutralising(s) {
            self.bytes.push(b'\'');
        }
        let replaced = self
            .encode(s, opts)
            .inspect_err(|_| self.bytes.truncate(start))?;
        self.end_cell();
        Ok(replaced)
    }

    /// A text cell written as is (headers).
    pub(super) fn raw_text(&mut self, s: &str, opts: &ExportOptions) -> Result<u64, char> {
        let replaced = self.encode(s, opts)?;
        self.end_cell();
        Ok(replaced)
    }

    fn encode(&mut self, s: &str, opts: &ExportOptions) -> Result<u64, char> {
        match opts.encoding {
            Encoding::Utf8Bom | Encoding::Utf8 => {
                self.bytes.extend_from_slice(s.as_bytes());
                Ok(0)
            }
            Encoding::Cp932 => encode_cp932(s, &mut self.bytes, &mut self.scratch, opts.lossy),
        }
    }

    /// An integer cell (never neutralised).
    pub(super) fn int(&mut self, n: i64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut v = n.unsigned_abs();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        if n < 0 {
            self.bytes.push(b'-');
        }
        self.bytes.extend_from_slice(&digits[i..]);
        self.end_cell();
    }

    /// An ISO 8601 timestamp with the offset of `tz` (`2026-11-25T16:43:00+09:00`), or empty.
    pub(super) fn timestamp(&mut self, t: Option<&DateTime<Utc>>, tz: chrono_tz::Tz) {
        if let Some(t) = t {
            let off = tz.offset_from_utc_datetime(&t.naive_utc()).fix();
            let local = t.naive_utc() + off;
            let secs = off.local_minus_utc();
            let (sign, secs) = if secs < 0 {
                (b'-', -secs)
            } else {
                (b'+', secs)
            };
            // Digits by hand: this runs twice per exported row.
            let year = local.year();
            if (0..=9999).contains(&year) {
                let b = &mut self.bytes;
                let two = |b: &mut Vec<u8>, v: u32| {
                    b.extend_from_slice(&[b'0' + (v / 10) as u8, b'0' + (v % 10) as u8])
                };
                two(b, year as u32 / 100);
                two(b, year as u32 % 100);
                b.push(b'-');
                two(b, local.month());
                b.push(b'-');
                two(b, local.day());
                b.push(b'T');
                two(b, local.hour());
                b.push(b':');
                two(b, local.minute());
                b.push(b':');
                two(b, local.second());
                b.push(sign);
                two(b, (secs / 3600) as u32);
                b.push(b':');
                two(b, (secs % 3600 / 60) as u32);
            } else {
                // Writing to a Vec cannot fail.
                let _ = write!(
                    self.bytes,
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{:02}:{:02}",
                    year,
                    local.month(),
                    local.day(),
                    local.hour(),
                    local.minute(),
                    local.second(),
                    sign as char,
                    secs / 3600,
                    secs % 3600 / 60,
                );
            }
        }
        self.end_cell();
    }
}

/// Whether a text cell starts with a character that makes spreadsheets evaluate it
/// (`=`, `+`, `-`, `@`, tab, CR, their full-width forms, or U+2212 MINUS SIGN, which the CP932
/// export turns into a full-width hyphen-minus).
pub(super) fn needs_neutralising(s: &str) -> bool {
    matches!(
        s.chars().next(),
        Some(
            '=' | '+'
                | '-'
                | '@'
                | '\t'
                | '\r'
                | '\u{FF1D}' // ＝
                | '\u{FF0B}' // ＋
                | '\u{FF0D}' // －
                | '\u{FF20}' // ＠
                | '\u{2212}' // −
        )
    )
}

/// Characters that CP932 lacks but has a look-alike for, as Windows maps them (the
/// "wave dash problem"): the JIS X 0208 code points that Windows decodes differently.
pub(super) fn excel_map(c: char) -> Option<char> {
    Some(match c {
        '\u{301C}' => '\u{FF5E}', // 〜 WAVE DASH → ～ FULLWIDTH TILDE
        '\u{2212}' => '\u{FF0D}', // − MINUS SIGN → － FULLWIDTH HYPHEN-MINUS
        '\u{2016}' => '\u{2225}', // ‖ DOUBLE VERTICAL LINE → ∥ PARALLEL TO
        '\u{00A2}' => '\u{FFE0}', // ¢ → ￠
        '\u{00A3}' => '\u{FFE1}', // £ → ￡
        '\u{00AC}' => '\u{FFE2}', // ¬ → ￢
        '\u{2014}' => '\u{2015}', // — EM DASH → ― HORIZONTAL BAR
        '\u{00A6}' => '\u{FFE4}', // ¦ → ￤
        _ => return None,
    })
}

/// Appends `s` encoded as CP932 to `out`; returns how many characters were replaced. An
/// unmappable character is replaced with `?` when `lossy`, otherwise returned as the error (with
/// `out` possibly holding part of the cell).
pub(super) fn encode_cp932(
    s: &str,
    out: &mut Vec<u8>,
    scratch: &mut String,
    lossy: bool,
) -> Result<u64, char> {
    if s.is_ascii() {
        // ASCII is identical in CP932 (encoding_rs maps U+005C and U+007E to themselves).
        out.extend_from_slice(s.as_bytes());
        return Ok(0);
    }
    let src: &str = if s.chars().any(|c| excel_map(c).is_some()) {
        scratch.clear();
        scratch.extend(s.chars().map(|c| excel_map(c).unwrap_or(c)));
        scratch
    } else {
        s
    };
    let mut encoder = SHIFT_JIS.new_encoder();
    let mut rest = src;
    let mut replaced = 0;
    loop {
        let max = encoder
            .max_buffer_length_from_utf8_without_replacement(rest.len())
            .unwrap_or(rest.len().saturating_mul(2).saturating_add(16));
        let old = out.len();
        out.resize(old + max, 0);
        let (res, read, written) =
            encoder.encode_from_utf8_without_replacement(rest, &mut out[old..], true);
        out.truncate(old + written);
        rest = &rest[read..];
        match res {
            EncoderResult::InputEmpty => return Ok(replaced),
            EncoderResult::OutputFull => {}
            EncoderResult::Unmappable(_) if lossy => {
                out.push(b'?');
                replaced += 1;
            }
            EncoderResult::Unmappable(ch) => return Err(ch),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp932(s: &str, lossy: bool) -> Result<Vec<u8>, char> {
        let mut out = Vec::new();
        encode_cp932(s, &mut out, &mut String::new(), lossy).map(|_| out)
    }

    #[test]
    fn wave_dash_and_friends_map_to_windows_forms() {
        let bytes = cp932("10〜20−3‖¢£¬—¦", false).unwrap();
        let (back, _, bad) = SHIFT_JIS.decode(&bytes);
        assert!(!bad);
        assert_eq!(back, "10～20－3∥￠￡￢―￤");
    }

    #[test]
    fn unmappable_and_lossy() {
        assert_eq!(cp932("吉𠮷田", false), Err('𠮷'));
        let bytes = cp932("a😀b𠮷c", true).unwrap();
        assert_eq!(SHIFT_JIS.decode(&bytes).0, "a?b?c");
        let mut out = Vec::new();
        let n = encode_cp932("a😀b𠮷c吉", &mut out, &mut String::new(), true);
        assert_eq!(n, Ok(2), "two characters were replaced");
        assert_eq!(
            encode_cp932("吉田", &mut out, &mut String::new(), true),
            Ok(0)
        );
    }

    #[test]
    fn neutralising() {
        for s in [
            "=1", "+1", "-1", "@x", "\tx", "\rx", "＝1", "＋81", "－1", "＠x", "−1",
        ] {
            assert!(needs_neutralising(s), "{s:?}");
        }
        for s in ["", "1", "a=b", " =1", "山田"] {
            assert!(!needs_neutralising(s), "{s:?}");
        }
    }

    #[test]
    fn timestamps_match_chrono() {
        let tzs = [
            chrono_tz::Asia::Tokyo,
            chrono_tz::America::St_Johns,
            chrono_tz::UTC,
        ];
        for tz in tzs {
            let mut b = RowBuf::default();
            let t = DateTime::parse_from_rfc3339("2026-03-08T06:30:05.250Z")
                .unwrap()
                .to_utc();
            b.timestamp(Some(&t), tz);
            b.timestamp(None, tz);
            let cells: Vec<_> = b.fields().map(|f| f.to_vec()).collect();
            let want = t
                .with_timezone(&tz)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
            assert_eq!(String::from_utf8(cells[0].clone()).unwrap(), want, "{tz}");
            assert!(cells[1].is_empty());
        }
    }

    #[test]
    fn integers() {
        let mut b = RowBuf::default();
        for n in [0, 7, -42, i64::MAX, i64::MIN] {
            b.int(n);
        }
        let cells: Vec<_> = b
            .fields()
            .map(|f| String::from_utf8(f.to_vec()).unwrap())
            .collect();
        assert_eq!(
            cells,
            [
                "0",
                "7",
                "-42",
                &i64::MAX.to_string(),
                &i64::MIN.to_string()
            ]
        );
    }
}
