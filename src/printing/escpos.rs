//! ESC/POS jobs from the receipt template (Epson's command set; Star printers in ESC/POS emulation).
//!
//! Text mode sends Shift-JIS in kanji mode (`FS C 1`, `FS &`) with the Japanese international
//! character set (`ESC R 8`: 0x5C prints ¥), so it needs a printer with kanji fonts. Raster mode
//! sends the receipt as 1-bit images (`GS v 0`), for any printer. Both end with a feed and a partial
//! cut; a drawer kick (`ESC p`) comes first, so the drawer opens while the receipt prints.

use super::config::{DrawerPulse, PaperWidth};
use super::raster::Bitmap;
use crate::receipt::{display_width, Block};

const ESC: u8 = 0x1B;
const GS: u8 = 0x1D;
const FS: u8 = 0x1C;

/// How a job ends and begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobOptions {
    pub paper: PaperWidth,
    /// Open the drawer at the start of the job.
    pub kick: Option<DrawerPulse>,
    /// Feed and cut at the end (a drawer-only job has no paper to cut).
    pub cut: bool,
}

/// Builds one job's bytes.
#[derive(Default)]
pub struct Job {
    bytes: Vec<u8>,
}

impl Job {
    /// `ESC @` (initialise), Shift-JIS kanji mode on, Japanese character set, katakana code page.
    pub fn new() -> Job {
        let mut j = Job { bytes: Vec::new() };
        j.raw(&[ESC, b'@', ESC, b'R', 8, ESC, b't', 1, FS, b'C', 1, FS, b'&']);
        j
    }

    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(b);
        self
    }

    pub fn kick(&mut self, d: DrawerPulse) -> &mut Self {
        let (on, off) = d.units();
        let m = if d.pin == 5 { 1 } else { 0 };
        self.raw(&[ESC, b'p', m, on, off])
    }

    pub fn align(&mut self, a: u8) -> &mut Self {
        self.raw(&[ESC, b'a', a])
    }

    pub fn bold(&mut self, on: bool) -> &mut Self {
        self.raw(&[ESC, b'E', on as u8])
    }

    /// Character size: width and height multipliers 1–8.
    pub fn size(&mut self, w: u8, h: u8) -> &mut Self {
        self.raw(&[GS, b'!', ((w - 1) << 4) | (h - 1)])
    }

    /// One line of text and a line feed.
    pub fn line(&mut self, text: &str) -> &mut Self {
        self.bytes.extend(shift_jis(text));
        self.raw(b"\n")
    }

    /// A QR code (model 2, error correction M) of `data`, modules of `size` dots.
    pub fn qr(&mut self, data: &str, size: u8) -> &mut Self {
        self.raw(&[GS, b'(', b'k', 4, 0, 49, 65, 50, 0]);
        self.raw(&[GS, b'(', b'k', 3, 0, 49, 67, size.clamp(1, 16)]);
        self.raw(&[GS, b'(', b'k', 3, 0, 49, 69, 49]);
        let len = data.len() + 3;
        self.raw(&[
            GS,
            b'(',
            b'k',
            (len % 256) as u8,
            (len / 256) as u8,
            49,
            80,
            48,
        ]);
        self.raw(data.as_bytes());
        self.raw(&[GS, b'(', b'k', 3, 0, 49, 81, 48]);
        self.raw(b"\n")
    }

    /// A 1-bit image, in bands (`GS v 0`) short enough for any printer's buffer.
    pub fn image(&mut self, bmp: &Bitmap) -> &mut Self {
        const BAND: usize = 256;
        let row = bmp.width / 8;
        let mut y = 0;
        while y < bmp.height {
            let h = BAND.min(bmp.height - y);
            self.raw(&[
                GS,
                b'v',
                b'0',
                0,
                (row % 256) as u8,
                (row / 256) as u8,
                (h % 256) as u8,
                (h / 256) as u8,
            ]);
            self.raw(&bmp.bits[y * row..(y + h) * row]);
            y += h;
        }
        self
    }

    /// Feeds past the cutter and cuts, leaving a hinge (partial cut).
    pub fn cut(&mut self) -> &mut Self {
        self.raw(&[GS, b'V', 66, 3])
    }

    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

/// Text as Shift-JIS; a character Shift-JIS lacks prints as 〓 (the printer would print garbage).
pub fn shift_jis(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() * 2);
    let mut buf = [0u8; 4];
    for c in text.chars() {
        let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(c.encode_utf8(&mut buf));
        if unmappable || c.is_control() {
            out.extend_from_slice(&[0x81, 0xAC]);
        } else {
            out.extend_from_slice(&bytes);
        }
    }
    out
}

/// The template's blocks as a text-mode job.
pub fn text_job(blocks: &[Block], opts: JobOptions) -> Vec<u8> {
    let cols = opts.paper.columns();
    let mut j = Job::new();
    if let Some(d) = opts.kick {
        j.kick(d);
    }
    for line in text_lines(blocks, cols) {
        match line {
            TextLine::Plain { text, align, bold } => {
                j.align(align).bold(bold).line(&text);
                if bold {
                    j.bold(false);
                }
            }
            TextLine::Big { text } => {
                j.align(1).size(2, 2).bold(true).line(&text);
                j.size(1, 1).bold(false);
            }
            TextLine::Tall { text } => {
                j.align(1).size(1, 2).bold(true).line(&text);
                j.size(1, 1).bold(false);
            }
            TextLine::Qr { data } => {
                let size = if cols >= 48 { 6 } else { 4 };
                j.align(1).qr(&data, size);
            }
        }
    }
    j.align(0);
    if opts.cut {
        j.raw(&[ESC, b'd', 2]).cut();
    }
    j.finish()
}

/// Raster bitmaps (already drawn) as a job.
pub fn raster_job(bmp: &Bitmap, opts: JobOptions) -> Vec<u8> {
    let mut j = Job::new();
    if let Some(d) = opts.kick {
        j.kick(d);
    }
    j.image(bmp);
    if opts.cut {
        j.raw(&[ESC, b'd', 2]).cut();
    }
    j.finish()
}

/// Only a drawer kick (入金 / 出金, "open drawer").
pub fn kick_job(d: DrawerPulse) -> Vec<u8> {
    let mut j = Job::new();
    j.kick(d);
    j.finish()
}

/// One printed line of a text-mode job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TextLine {
    /// Font A, aligned left (0), centre (1) or right (2).
    Plain {
        text: String,
        align: u8,
        bold: bool,
    },
    /// Double width and height, centred (the shop's name).
    Big {
        text: String,
    },
    /// Double height, centred (the document's title).
    Tall {
        text: String,
    },
    Qr {
        data: String,
    },
}

/// What a text-mode job prints, line by line, for a roll `cols` half-width characters wide: the
/// same reading as the PDF (rows with the amount on the right, long names wrapped).
pub fn text_lines(blocks: &[Block], cols: usize) -> Vec<TextLine> {
    let plain = |text: String, align: u8, bold: bool| TextLine::Plain { text, align, bold };
    let mut out = Vec::new();
    for b in blocks {
        match b {
            Block::Heading { text } => {
                if display_width(text) * 2 <= cols {
                    out.push(TextLine::Big { text: text.clone() });
                } else {
                    for l in wrap(text, cols) {
                        out.push(TextLine::Tall { text: l });
                    }
                }
            }
            Block::Title { text } => {
                for l in wrap(text, cols) {
                    out.push(TextLine::Tall { text: l });
                }
            }
            Block::Center { text } => {
                for l in wrap(text, cols) {
                    out.push(plain(l, 1, false));
                }
            }
            Block::Small { text } => {
                for l in wrap(text, cols) {
                    out.push(plain(l, 0, false));
                }
            }
            Block::Rule => out.push(plain("-".repeat(cols), 0, false)),
            Block::Row {
                left,
                right,
                strong,
            } => {
                for l in row(left, right, cols) {
                    out.push(plain(l, 0, *strong));
                }
            }
            Block::Item {
                name,
                detail,
                amount,
            } => match detail {
                Some(d) => {
                    for l in wrap(name, cols) {
                        out.push(plain(l, 0, false));
                    }
                    for l in row(&format!("  {d}"), amount, cols) {
                        out.push(plain(l, 0, false));
                    }
                }
                None => {
                    for l in row(name, amount, cols) {
                        out.push(plain(l, 0, false));
                    }
                }
            },
            Block::Qr { data } => out.push(TextLine::Qr { data: data.clone() }),
        }
    }
    out
}

/// `left … right` on one line, or `left` wrapped and `right` on the last line's right.
fn row(left: &str, right: &str, cols: usize) -> Vec<String> {
    let rw = display_width(right);
    let mut lines = wrap(left, cols);
    let last = lines.pop().unwrap_or_default();
    let lw = display_width(&last);
    if lw + 1 + rw <= cols {
        lines.push(format!("{last}{}{right}", " ".repeat(cols - lw - rw)));
    } else {
        lines.push(last);
        lines.push(format!("{}{right}", " ".repeat(cols.saturating_sub(rw))));
    }
    lines
}

/// Splits `text` into lines at most `cols` columns wide (wide characters take two).
pub fn wrap(text: &str, cols: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    let mut width = 0;
    for c in text.chars() {
        let w = display_width(c.encode_utf8(&mut [0u8; 4]));
        if width + w > cols && width > 0 {
            lines.push(String::new());
            width = 0;
        }
        lines.last_mut().expect("a line").push(c);
        width += w;
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_put_the_amount_on_the_right_and_wrap_long_names() {
        assert_eq!(row("合計", "¥480", 16), vec!["合計        ¥480"]);
        let long = row("とても長い商品の名前です", "¥1,200", 16);
        assert_eq!(long, vec!["とても長い商品の", "名前です  ¥1,200"]);
        let no_room = row("ちょうど十六桁の名前", "¥99,999", 20);
        assert_eq!(
            no_room,
            vec!["ちょうど十六桁の名前", "             ¥99,999"]
        );
    }

    #[test]
    fn characters_outside_shift_jis_print_as_geta() {
        assert_eq!(shift_jis("¥"), vec![0x5C]);
        assert_eq!(shift_jis("😀"), vec![0x81, 0xAC]);
        assert_eq!(shift_jis("ｱ"), vec![0xB1]);
    }
}
