//! The receipt drawn as a 1-bit image at the printer's dots per line, for printers without kanji
//! fonts. The layout is the PDF's (the same blocks, sizes in the same proportions: 8.5 pt body on a
//! 72 mm line is 24 dots at 203 dpi), drawn with the same font the PDF embeds.

use super::config::PaperWidth;
use crate::receipt::pdf::PdfFont;
use crate::receipt::Block;
use ab_glyph::{Font, FontRef, PxScale, ScaleFont};

/// A 1-bit image: rows of `width / 8` bytes, most significant bit first, 1 = black (ESC/POS's order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bitmap {
    pub width: usize,
    pub height: usize,
    pub bits: Vec<u8>,
}

impl Bitmap {
    fn new(width: usize, height: usize) -> Bitmap {
        Bitmap {
            width,
            height,
            bits: vec![0; width / 8 * height],
        }
    }

    fn set(&mut self, x: usize, y: usize) {
        if x < self.width && y < self.height {
            self.bits[y * (self.width / 8) + x / 8] |= 0x80 >> (x % 8);
        }
    }

    pub fn get(&self, x: usize, y: usize) -> bool {
        x < self.width
            && y < self.height
            && self.bits[y * (self.width / 8) + x / 8] & (0x80 >> (x % 8)) != 0
    }

    /// Pixels as 8-bit luma (0 = black, 255 = white), for PNG files and QR readers.
    pub fn luma(&self) -> Vec<u8> {
        let mut px = Vec::with_capacity(self.width * self.height);
        for y in 0..self.height {
            for x in 0..self.width {
                px.push(if self.get(x, y) { 0 } else { 255 });
            }
        }
        px
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the receipt font cannot be drawn: {0}")]
pub struct RasterError(String);

/// Draws blocks onto a strip as wide as the paper's printable line.
pub fn render(blocks: &[Block], paper: PaperWidth, font: &PdfFont) -> Result<Bitmap, RasterError> {
    let (data, index) = font.bytes();
    let font =
        FontRef::try_from_slice_and_index(data, index).map_err(|e| RasterError(e.to_string()))?;
    let width = paper.dots();
    let base = 24.0f32 * width as f32 / 576.0;
    let mut canvas = Canvas {
        font,
        ops: Vec::new(),
        y: base * 0.5,
        width: width as f32,
    };
    for b in blocks {
        canvas.block(b, base);
    }
    let height = (canvas.y + base * 1.5).ceil() as usize;
    let mut bmp = Bitmap::new(width, height);
    for op in std::mem::take(&mut canvas.ops) {
        match op {
            Draw::Text { x, y, size, s } => canvas.draw_text(&mut bmp, x, y, size, &s),
            Draw::Rule { y } => {
                for dy in 0..2 {
                    for x in 0..width {
                        bmp.set(x, y as usize + dy);
                    }
                }
            }
            Draw::Qr { y, data } => draw_qr(&mut bmp, y as usize, &data, paper),
        }
    }
    Ok(bmp)
}

enum Draw {
    /// `y` is the baseline.
    Text {
        x: f32,
        y: f32,
        size: f32,
        s: String,
    },
    Rule {
        y: f32,
    },
    Qr {
        y: f32,
        data: String,
    },
}

struct Canvas<'a> {
    font: FontRef<'a>,
    ops: Vec<Draw>,
    /// The top of the next line.
    y: f32,
    width: f32,
}

impl Canvas<'_> {
    fn text_width(&self, s: &str, size: f32) -> f32 {
        let f = self.font.as_scaled(PxScale::from(size));
        s.chars().map(|c| f.h_advance(f.glyph_id(c))).sum()
    }

    fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        let mut lines = vec![String::new()];
        for c in text.chars() {
            let cur = lines.last_mut().expect("a line");
            let mut probe = cur.clone();
            probe.push(c);
            if self.text_width(&probe, size) > max && !cur.is_empty() {
                lines.push(c.to_string());
            } else {
                *cur = probe;
            }
        }
        lines
    }

    /// Moves down one line of `size` and returns its baseline.
    fn next_line(&mut self, size: f32) -> f32 {
        let line = size * 1.3;
        self.y += line;
        self.y - line * 0.25
    }

    fn text(&mut self, x: f32, baseline: f32, size: f32, s: &str) {
        self.ops.push(Draw::Text {
            x,
            y: baseline,
            size,
            s: s.to_string(),
        });
    }

    fn block(&mut self, b: &Block, base: f32) {
        let w = self.width;
        match b {
            Block::Heading { text: s }
            | Block::Title { text: s }
            | Block::Center { text: s }
            | Block::Small { text: s } => {
                let (size, center) = match b {
                    Block::Heading { .. } => (base * 1.6, true),
                    Block::Title { .. } => (base * 1.25, true),
                    Block::Small { .. } => (base * 0.85, false),
                    _ => (base, true),
                };
                for l in self.wrap(s, size, w) {
                    let baseline = self.next_line(size);
                    let x = if center {
                        (w - self.text_width(&l, size)).max(0.0) / 2.0
                    } else {
                        0.0
                    };
                    self.text(x, baseline, size, &l);
                }
                if matches!(b, Block::Heading { .. } | Block::Title { .. }) {
                    self.y += base * 0.4;
                }
            }
            Block::Rule => {
                self.y += base * 0.5;
                self.ops.push(Draw::Rule { y: self.y });
                self.y += base * 0.3;
            }
            Block::Row {
                left,
                right,
                strong,
            } => {
                let size = if *strong { base * 1.25 } else { base };
                let rw = self.text_width(right, size);
                let lines = self.wrap(left, size, (w - rw - size).max(w / 3.0));
                for (i, l) in lines.iter().enumerate() {
                    let baseline = self.next_line(size);
                    self.text(0.0, baseline, size, l);
                    if i == 0 {
                        self.text(w - rw, baseline, size, right);
                    }
                }
            }
            Block::Item {
                name,
                detail,
                amount,
            } => {
                let aw = self.text_width(amount, base);
                let name_max = if detail.is_some() {
                    w
                } else {
                    (w - aw - base).max(w / 3.0)
                };
                let lines = self.wrap(name, base, name_max);
                for (i, l) in lines.iter().enumerate() {
                    let baseline = self.next_line(base);
                    self.text(0.0, baseline, base, l);
                    if detail.is_none() && i == 0 {
                        self.text(w - aw, baseline, base, amount);
                    }
                }
                if let Some(d) = detail {
                    let baseline = self.next_line(base);
                    self.text(base * 1.5, baseline, base, d);
                    self.text(w - aw, baseline, base, amount);
                }
            }
            Block::Qr { data } => {
                let side = qr_side(data, self.width as usize);
                self.y += base * 0.5;
                self.ops.push(Draw::Qr {
                    y: self.y,
                    data: data.clone(),
                });
                self.y += side as f32 + base * 0.5;
            }
        }
    }

    fn draw_text(&self, bmp: &mut Bitmap, x: f32, baseline: f32, size: f32, s: &str) {
        let scale = PxScale::from(size);
        let f = self.font.as_scaled(scale);
        let mut pen = x;
        for c in s.chars() {
            let id = f.glyph_id(c);
            let glyph = id.with_scale_and_position(scale, ab_glyph::point(pen, baseline));
            pen += f.h_advance(id);
            if let Some(outline) = self.font.outline_glyph(glyph) {
                let bounds = outline.px_bounds();
                outline.draw(|gx, gy, coverage| {
                    if coverage >= 0.5 {
                        let px = bounds.min.x as i64 + gx as i64;
                        let py = bounds.min.y as i64 + gy as i64;
                        if px >= 0 && py >= 0 {
                            bmp.set(px as usize, py as usize);
                        }
                    }
                });
            }
        }
    }
}

/// Dots per QR module: the code (with its quiet zone) takes about half the line, 3 to 8 dots a module.
fn qr_scale(modules: usize, width: usize) -> usize {
    ((width / 2) / (modules + 8)).clamp(3, 8)
}

fn qr_code(data: &str) -> Option<qrcode::QrCode> {
    qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M).ok()
}

fn qr_side(data: &str, width: usize) -> usize {
    match qr_code(data) {
        Some(c) => (c.width() + 8) * qr_scale(c.width(), width),
        None => 0,
    }
}

fn draw_qr(bmp: &mut Bitmap, top: usize, data: &str, paper: PaperWidth) {
    let Some(code) = qr_code(data) else { return };
    let n = code.width();
    let scale = qr_scale(n, paper.dots());
    let side = (n + 8) * scale;
    let left = (bmp.width.saturating_sub(side)) / 2 + 4 * scale;
    let top = top + 4 * scale;
    for (i, c) in code.to_colors().into_iter().enumerate() {
        if c == qrcode::Color::Dark {
            let (mx, my) = (i % n, i / n);
            for dy in 0..scale {
                for dx in 0..scale {
                    bmp.set(left + mx * scale + dx, top + my * scale + dy);
                }
            }
        }
    }
}
