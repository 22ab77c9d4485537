//! A strict ESC/POS decoder, written from Epson's ESC/POS command reference (TM-T88 / TM-m30 class,
//! Japanese models): it knows the commands a receipt needs and **refuses** anything else, so a
//! stray or malformed byte in a job is a test failure rather than garbage on paper.
//!
//! It is deliberately independent of Reji's encoder (no code shared): tests encode with Reji and
//! decode here.
//!
//! Text: single-byte characters are ASCII (0x20–0x7E), or half-width katakana (0xA1–0xDF) when code
//! page 1 is selected (`ESC t 1`). In kanji mode (`FS &`, with `FS C 1` selecting Shift-JIS) a lead
//! byte 0x81–0x9F / 0xE0–0xFC and its trail byte form one double-byte character.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

/// One decoded command (or a run of text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// `ESC @`
    Init,
    /// Printable characters, decoded to Unicode.
    Text(String),
    /// `LF`
    LineFeed,
    /// `CR` (ignored by printers with auto line feed off; kept for strictness reports)
    CarriageReturn,
    /// `ESC a n`
    Align(Align),
    /// `ESC E n`
    Bold(bool),
    /// `ESC - n` (0, 1, 2 dots)
    Underline(u8),
    /// `GS ! n`: width and height multipliers 1–8.
    Size { width: u8, height: u8 },
    /// `ESC ! n`: the print mode byte as sent.
    PrintMode(u8),
    /// `ESC M n`: font A (0) or B (1).
    Font(u8),
    /// `ESC d n`: print and feed n lines.
    FeedLines(u8),
    /// `ESC J n`: print and feed n dots.
    FeedDots(u8),
    /// `ESC 2` (None, default spacing) or `ESC 3 n`.
    LineSpacing(Option<u8>),
    /// `ESC t n`
    CodePage(u8),
    /// `ESC R n`: the international character set (8 = Japan: 0x5C prints ¥).
    International(u8),
    /// `FS C n`: 0 = JIS, 1 = Shift-JIS.
    KanjiCode(u8),
    /// `FS &`
    KanjiOn,
    /// `FS .`
    KanjiOff,
    /// `FS ! n`
    KanjiPrintMode(u8),
    /// `GS ( k` fn 65: QR model (49 = model 1, 50 = model 2, 51 = micro).
    QrModel(u8),
    /// `GS ( k` fn 67: module size 1–16.
    QrModuleSize(u8),
    /// `GS ( k` fn 69: error correction 48–51 (L, M, Q, H).
    QrErrorCorrection(u8),
    /// `GS ( k` fn 80: the data stored in the symbol storage area.
    QrStore(Vec<u8>),
    /// `GS ( k` fn 81: print the stored symbol.
    QrPrint,
    /// `GS V`: a full or partial cut, with the feed before it (function B) if any.
    Cut { partial: bool, feed: Option<u8> },
    /// `ESC p m t1 t2`: a pulse on drawer pin 2 (m = 0) or 5 (m = 1), on t1 × 2 ms, off t2 × 2 ms.
    DrawerKick { pin: u8, on: u8, off: u8 },
    /// `GS v 0 m xL xH yL yH d…`: a raster bit image, `width_bytes` × 8 dots wide, MSB first, 1 = black.
    Raster {
        mode: u8,
        width_bytes: usize,
        height: usize,
        data: Vec<u8>,
    },
    /// `DLE EOT n`: a real-time status request (answered at once).
    RealtimeStatus(u8),
    /// `GS r n`: a status request answered in sequence, after what came before it is processed.
    TransmitStatus(u8),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Offset of the offending byte in the whole stream.
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for DecodeError {}

/// Decodes a whole job; an incomplete command at the end is an error.
pub fn decode(bytes: &[u8]) -> Result<Vec<Op>, DecodeError> {
    let mut d = Decoder::default();
    let mut ops = d.feed(bytes)?;
    ops.extend(d.finish()?);
    Ok(ops)
}

/// A decoder fed as bytes arrive (the emulator answers status requests while a job streams in).
#[derive(Default)]
pub struct Decoder {
    pending: Vec<u8>,
    /// Offset of `pending[0]` in the whole stream.
    base: usize,
    kanji: bool,
    shift_jis: bool,
    code_page: u8,
    international: u8,
}

enum Step {
    /// A command or text run of this many bytes.
    Done(usize, Option<Op>),
    /// More bytes are needed.
    More,
}

impl Decoder {
    /// Decodes what is complete; keeps an incomplete command for the next call.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Op>, DecodeError> {
        self.pending.extend_from_slice(bytes);
        let mut ops = Vec::new();
        let mut at = 0;
        loop {
            if at >= self.pending.len() {
                break;
            }
            match self.step(at)? {
                Step::Done(n, op) => {
                    at += n;
                    if let Some(op) = op {
                        // Consecutive text runs are one op.
                        match (ops.last_mut(), op) {
                            (Some(Op::Text(prev)), Op::Text(t)) => prev.push_str(&t),
                            (_, op) => ops.push(op),
                        }
                    }
                }
                Step::More => break,
            }
        }
        self.pending.drain(..at);
        self.base += at;
        Ok(ops)
    }

    /// The end of the stream: anything left is an incomplete command.
    pub fn finish(&mut self) -> Result<Vec<Op>, DecodeError> {
        if self.pending.is_empty() {
            Ok(Vec::new())
        } else {
            Err(DecodeError {
                offset: self.base,
                message: format!(
                    "the job ends inside a command ({} byte(s) left: {:02X?})",
                    self.pending.len(),
                    &self.pending[..self.pending.len().min(8)]
                ),
            })
        }
    }

    fn err(&self, at: usize, message: impl Into<String>) -> DecodeError {
        DecodeError {
            offset: self.base + at,
            message: message.into(),
        }
    }

    fn step(&mut self, at: usize) -> Result<Step, DecodeError> {
        let b = &self.pending[at..];
        let need = |n: usize| b.len() < n;
        let op = match b[0] {
            0x0A => Step::Done(1, Some(Op::LineFeed)),
            0x0D => Step::Done(1, Some(Op::CarriageReturn)),
            0x10 => {
                // DLE EOT n
                if need(3) {
                    return Ok(Step::More);
                }
                if b[1] != 0x04 {
                    return Err(self.err(at, format!("unknown command DLE {:02X}", b[1])));
                }
                if !(1..=4).contains(&b[2]) {
                    return Err(self.err(at + 2, format!("DLE EOT n = {} (1–4 expected)", b[2])));
                }
                Step::Done(3, Some(Op::RealtimeStatus(b[2])))
            }
            0x1B => {
                if need(2) {
                    return Ok(Step::More);
                }
                match b[1] {
                    b'@' => {
                        self.kanji = false;
                        self.code_page = 0;
                        self.international = 0;
                        Step::Done(2, Some(Op::Init))
                    }
                    b'2' => Step::Done(2, Some(Op::LineSpacing(None))),
                    b'a' | b'E' | b'-' | b'!' | b'M' | b'd' | b'J' | b'3' | b't' | b'R' => {
                        if need(3) {
                            return Ok(Step::More);
                        }
                        let n = b[2];
                        let op = match b[1] {
                            b'a' => Op::Align(match n {
                                0 | 48 => Align::Left,
                                1 | 49 => Align::Center,
                                2 | 50 => Align::Right,
                                _ => return Err(self.err(at + 2, format!("ESC a n = {n}"))),
                            }),
                            b'E' => Op::Bold(n & 1 == 1),
                            b'-' => match n {
                                0..=2 | 48..=50 => Op::Underline(n % 48),
                                _ => return Err(self.err(at + 2, format!("ESC - n = {n}"))),
                            },
                            b'!' => Op::PrintMode(n),
                            b'M' => match n {
                                0 | 1 | 48 | 49 => Op::Font(n % 48),
                                _ => return Err(self.err(at + 2, format!("ESC M n = {n}"))),
                            },
                            b'd' => Op::FeedLines(n),
                            b'J' => Op::FeedDots(n),
                            b'3' => Op::LineSpacing(Some(n)),
                            b't' => {
                                // 0 = PC437, 1 = katakana; the two a Japanese receipt needs.
                                if n > 1 {
                                    return Err(self.err(
                                        at + 2,
                                        format!("ESC t n = {n}: only code pages 0 and 1 are known"),
                                    ));
                                }
                                self.code_page = n;
                                Op::CodePage(n)
                            }
                            b'R' => {
                                if n > 17 {
                                    return Err(self.err(at + 2, format!("ESC R n = {n}")));
                                }
                                self.international = n;
                                Op::International(n)
                            }
                            _ => unreachable!(),
                        };
                        Step::Done(3, Some(op))
                    }
                    b'p' => {
                        if need(5) {
                            return Ok(Step::More);
                        }
                        let pin = match b[2] {
                            0 | 48 => 2,
                            1 | 49 => 5,
                            m => return Err(self.err(at + 2, format!("ESC p m = {m}"))),
                        };
                        Step::Done(
                            5,
                            Some(Op::DrawerKick {
                                pin,
                                on: b[3],
                                off: b[4],
                            }),
                        )
                    }
                    other => return Err(self.err(at, format!("unknown command ESC {:02X}", other))),
                }
            }
            0x1C => {
                if need(2) {
                    return Ok(Step::More);
                }
                match b[1] {
                    b'&' => {
                        self.kanji = true;
                        Step::Done(2, Some(Op::KanjiOn))
                    }
                    b'.' => {
                        self.kanji = false;
                        Step::Done(2, Some(Op::KanjiOff))
                    }
                    b'C' | b'!' => {
                        if need(3) {
                            return Ok(Step::More);
                        }
                        let n = b[2];
                        if b[1] == b'C' {
                            let sjis = match n {
                                0 | 48 => false,
                                1 | 49 => true,
                                _ => return Err(self.err(at + 2, format!("FS C n = {n}"))),
                            };
                            self.shift_jis = sjis;
                            Step::Done(3, Some(Op::KanjiCode(n % 48)))
                        } else {
                            Step::Done(3, Some(Op::KanjiPrintMode(n)))
                        }
                    }
                    other => return Err(self.err(at, format!("unknown command FS {:02X}", other))),
                }
            }
            0x1D => {
                if need(2) {
                    return Ok(Step::More);
                }
                match b[1] {
                    b'!' => {
                        if need(3) {
                            return Ok(Step::More);
                        }
                        let n = b[2];
                        Step::Done(
                            3,
                            Some(Op::Size {
                                width: (n >> 4) + 1,
                                height: (n & 0x0F) + 1,
                            }),
                        )
                    }
                    b'r' => {
                        if need(3) {
                            return Ok(Step::More);
                        }
                        match b[2] {
                            1 | 2 | 49 | 50 => Step::Done(3, Some(Op::TransmitStatus(b[2] % 48))),
                            n => return Err(self.err(at + 2, format!("GS r n = {n}"))),
                        }
                    }
                    b'V' => {
                        if need(3) {
                            return Ok(Step::More);
                        }
                        match b[2] {
                            0 | 48 => Step::Done(
                                3,
                                Some(Op::Cut {
                                    partial: false,
                                    feed: None,
                                }),
                            ),
                            1 | 49 => Step::Done(
                                3,
                                Some(Op::Cut {
                                    partial: true,
                                    feed: None,
                                }),
                            ),
                            65 | 66 => {
                                if need(4) {
                                    return Ok(Step::More);
                                }
                                Step::Done(
                                    4,
                                    Some(Op::Cut {
                                        partial: b[2] == 66,
                                        feed: Some(b[3]),
                                    }),
                                )
                            }
                            m => return Err(self.err(at + 2, format!("GS V m = {m}"))),
                        }
                    }
                    b'v' => {
                        // GS v 0 m xL xH yL yH d1…dk
                        if need(8) {
                            return Ok(Step::More);
                        }
                        if b[2] != b'0' {
                            return Err(self.err(at + 2, "GS v: the third byte must be '0'"));
                        }
                        let mode = b[3];
                        if !matches!(mode, 0..=3 | 48..=51) {
                            return Err(self.err(at + 3, format!("GS v 0 m = {mode}")));
                        }
                        let width_bytes = b[4] as usize + 256 * b[5] as usize;
                        let height = b[6] as usize + 256 * b[7] as usize;
                        if width_bytes == 0 || height == 0 || height > 2303 {
                            return Err(self.err(
                                at + 4,
                                format!(
                                    "GS v 0: {width_bytes} bytes × {height} dots is out of range"
                                ),
                            ));
                        }
                        let len = width_bytes * height;
                        if need(8 + len) {
                            return Ok(Step::More);
                        }
                        Step::Done(
                            8 + len,
                            Some(Op::Raster {
                                mode: mode % 48,
                                width_bytes,
                                height,
                                data: b[8..8 + len].to_vec(),
                            }),
                        )
                    }
                    b'(' => {
                        // GS ( k pL pH cn fn [parameters]
                        if need(5) {
                            return Ok(Step::More);
                        }
                        if b[2] != b'k' {
                            return Err(
                                self.err(at + 2, format!("unknown command GS ( {:02X}", b[2]))
                            );
                        }
                        let len = b[3] as usize + 256 * b[4] as usize;
                        if len < 2 {
                            return Err(self.err(at + 3, "GS ( k: pL pH below 2"));
                        }
                        if need(5 + len) {
                            return Ok(Step::More);
                        }
                        let p = &b[5..5 + len];
                        if p[0] != 49 {
                            return Err(self.err(
                                at + 5,
                                format!("GS ( k cn = {}: only QR (49) is known", p[0]),
                            ));
                        }
                        let op = match (p[1], &p[2..]) {
                            (65, [n1, 0]) if (49..=51).contains(n1) => Op::QrModel(*n1),
                            (67, [n]) if (1..=16).contains(n) => Op::QrModuleSize(*n),
                            (69, [n]) if (48..=51).contains(n) => Op::QrErrorCorrection(*n),
                            (80, [48, data @ ..]) if !data.is_empty() => Op::QrStore(data.to_vec()),
                            (81, [48]) => Op::QrPrint,
                            (f, rest) => {
                                return Err(self.err(
                                    at + 6,
                                    format!("GS ( k QR fn {f} with parameters {rest:02X?}"),
                                ))
                            }
                        };
                        Step::Done(5 + len, Some(op))
                    }
                    other => return Err(self.err(at, format!("unknown command GS {:02X}", other))),
                }
            }
            c if (0x20..=0x7E).contains(&c) => {
                let n = b.iter().take_while(|c| (0x20..=0x7E).contains(*c)).count();
                let japan = self.international == 8;
                let s = b[..n]
                    .iter()
                    .map(|&c| match c {
                        0x5C if japan => '¥',
                        0x7E if japan => '‾',
                        c => c as char,
                    })
                    .collect();
                Step::Done(n, Some(Op::Text(s)))
            }
            c if c >= 0x80 => {
                if self.kanji && self.code_page == 1 && (0xA1..=0xDF).contains(&c) && self.shift_jis
                {
                    // Shift-JIS: half-width katakana are single bytes, in kanji mode too.
                    let (s, _, _) = encoding_rs::SHIFT_JIS.decode(&b[..1]);
                    Step::Done(1, Some(Op::Text(s.into_owned())))
                } else if self.kanji {
                    if !self.shift_jis {
                        return Err(self.err(
                            at,
                            "kanji mode with JIS selected: Reji's tests expect Shift-JIS (FS C 1)",
                        ));
                    }
                    let lead = matches!(c, 0x81..=0x9F | 0xE0..=0xFC);
                    if !lead {
                        return Err(self.err(at, format!("{c:02X} is no Shift-JIS lead byte")));
                    }
                    if need(2) {
                        return Ok(Step::More);
                    }
                    let (s, _, bad) = encoding_rs::SHIFT_JIS.decode(&b[..2]);
                    if bad {
                        return Err(self.err(
                            at,
                            format!("{:02X} {:02X} is no Shift-JIS character", b[0], b[1]),
                        ));
                    }
                    Step::Done(2, Some(Op::Text(s.into_owned())))
                } else if self.code_page == 1 && (0xA1..=0xDF).contains(&c) {
                    let (s, _, _) = encoding_rs::SHIFT_JIS.decode(&b[..1]);
                    Step::Done(1, Some(Op::Text(s.into_owned())))
                } else {
                    return Err(self.err(
                        at,
                        format!(
                            "byte {c:02X} outside kanji mode and code page {}",
                            self.code_page
                        ),
                    ));
                }
            }
            c => return Err(self.err(at, format!("unknown control byte {c:02X}"))),
        };
        Ok(op)
    }
}

/// One printed line of text with how it was printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub align: Align,
    pub bold: bool,
    pub width: u8,
    pub height: u8,
}

/// What a job put on paper, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Printed {
    Line(Line),
    Qr(String),
    Image {
        width: usize,
        height: usize,
        bits: Vec<u8>,
    },
    Cut,
    Kick {
        pin: u8,
    },
}

/// Follows the ops as a printer would: text lines with their attributes, QR codes, images, cuts.
pub fn printed(ops: &[Op]) -> Vec<Printed> {
    let mut out = Vec::new();
    let mut align = Align::Left;
    let mut bold = false;
    let (mut width, mut height) = (1, 1);
    let mut line = String::new();
    let mut stored: Option<Vec<u8>> = None;
    let flush = |line: &mut String, out: &mut Vec<Printed>, align, bold, width, height| {
        out.push(Printed::Line(Line {
            text: std::mem::take(line),
            align,
            bold,
            width,
            height,
        }));
    };
    for op in ops {
        match op {
            Op::Init => {
                align = Align::Left;
                bold = false;
                width = 1;
                height = 1;
            }
            Op::Text(t) => line.push_str(t),
            Op::LineFeed => flush(&mut line, &mut out, align, bold, width, height),
            Op::Align(a) => align = *a,
            Op::Bold(b) => bold = *b,
            Op::Size {
                width: w,
                height: h,
            } => {
                width = *w;
                height = *h;
            }
            Op::FeedLines(n) => {
                if !line.is_empty() {
                    flush(&mut line, &mut out, align, bold, width, height);
                }
                for _ in 0..*n {
                    flush(&mut line, &mut out, align, bold, width, height);
                }
            }
            Op::QrStore(d) => stored = Some(d.clone()),
            Op::QrPrint => {
                if let Some(d) = &stored {
                    out.push(Printed::Qr(String::from_utf8_lossy(d).into_owned()));
                }
            }
            Op::Raster {
                width_bytes,
                height,
                data,
                ..
            } => out.push(Printed::Image {
                width: width_bytes * 8,
                height: *height,
                bits: data.clone(),
            }),
            Op::Cut { .. } => {
                if !line.is_empty() {
                    flush(&mut line, &mut out, align, bold, width, height);
                }
                out.push(Printed::Cut)
            }
            Op::DrawerKick { pin, .. } => out.push(Printed::Kick { pin: *pin }),
            _ => {}
        }
    }
    if !line.is_empty() {
        flush(&mut line, &mut out, align, bold, width, height);
    }
    out
}

/// The text lines of a job, trailing spaces removed.
pub fn text_lines(ops: &[Op]) -> Vec<String> {
    printed(ops)
        .into_iter()
        .filter_map(|p| match p {
            Printed::Line(l) => Some(l.text.trim_end().to_string()),
            _ => None,
        })
        .collect()
}

/// Raster images of a job stacked into one image (the printed strip), if it has any.
pub fn stacked_image(ops: &[Op]) -> Option<(usize, usize, Vec<u8>)> {
    let images: Vec<_> = printed(ops)
        .into_iter()
        .filter_map(|p| match p {
            Printed::Image {
                width,
                height,
                bits,
            } => Some((width, height, bits)),
            _ => None,
        })
        .collect();
    let width = images.iter().map(|i| i.0).max()?;
    let height = images.iter().map(|i| i.1).sum();
    let row_bytes = width / 8;
    let mut bits = Vec::with_capacity(row_bytes * height);
    for (w, h, b) in images {
        let wb = w / 8;
        for y in 0..h {
            bits.extend_from_slice(&b[y * wb..(y + 1) * wb]);
            bits.extend(std::iter::repeat_n(0u8, row_bytes - wb));
        }
    }
    Some((width, height, bits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kanji_text_qr_kick_and_cut() {
        let mut job = vec![0x1B, b'@', 0x1C, b'C', 1, 0x1C, b'&', 0x1B, b'a', 1];
        job.extend(encoding_rs::SHIFT_JIS.encode("領収書").0.iter());
        job.push(b'\n');
        job.extend([0x1B, b'a', 0]);
        job.extend(b"Total 480");
        job.push(b'\n');
        let data = b"https://example.com/x";
        let len = data.len() + 3;
        job.extend([0x1D, b'(', b'k', len as u8, 0, 49, 80, 48]);
        job.extend(data);
        job.extend([0x1D, b'(', b'k', 3, 0, 49, 81, 48]);
        job.extend([0x1B, b'p', 0, 25, 250]);
        job.extend([0x1D, b'V', 66, 3]);
        let ops = decode(&job).unwrap();
        assert_eq!(text_lines(&ops), vec!["領収書", "Total 480"]);
        let p = printed(&ops);
        assert!(p.contains(&Printed::Qr("https://example.com/x".into())));
        assert!(p.contains(&Printed::Kick { pin: 2 }));
        assert_eq!(p.last(), Some(&Printed::Cut));
    }

    #[test]
    fn refuses_unknown_commands_and_bytes() {
        assert!(decode(&[0x1B, b'Z', 0])
            .unwrap_err()
            .message
            .contains("ESC"));
        // Shift-JIS bytes without kanji mode.
        let sjis = encoding_rs::SHIFT_JIS.encode("円").0.into_owned();
        assert!(decode(&sjis).is_err());
        // A command cut off at the end of the job.
        assert!(decode(&[0x1D, b'V'])
            .unwrap_err()
            .message
            .contains("ends inside"));
        assert!(decode(&[0x07]).is_err());
    }

    #[test]
    fn fed_in_pieces_decodes_the_same() {
        let mut job = vec![0x1B, b'@', 0x1C, b'C', 1, 0x1C, b'&'];
        job.extend(encoding_rs::SHIFT_JIS.encode("お釣り ¥520").0.iter());
        job.extend([b'\n', 0x1D, b'v', b'0', 0, 1, 0, 2, 0, 0xFF, 0x81]);
        let whole = decode(&job).unwrap();
        let mut d = Decoder::default();
        let mut pieces = Vec::new();
        for b in &job {
            pieces.extend(d.feed(&[*b]).unwrap());
        }
        pieces.extend(d.finish().unwrap());
        assert_eq!(text_lines(&whole), text_lines(&pieces));
        assert_eq!(stacked_image(&whole), Some((8, 2, vec![0xFF, 0x81])));
    }
}
