//! The receipt as PDF, with a Japanese font embedded (subset) so that it prints and its text can be
//! searched and extracted anywhere (電子帳簿保存法 wants records that can be read back).
//!
//! The font is found, in order: `REJI_RECEIPT_FONT` (a .ttf / .otf / .ttc path, `#N` after it picks
//! a face of a collection), then the usual places of a freely licensed Japanese Gothic on Linux
//! (IPAGothic from Debian's `fonts-ipafont-gothic`, Noto Sans CJK JP from `fonts-noto-cjk`), macOS
//! (Hiragino) and Windows (Meiryo, MS Gothic).

use super::html::Paper;
use super::Block;
use krilla::geom::{PathBuilder, Point};
use krilla::page::PageSettings;
use krilla::paint::Stroke;
use krilla::text::{Font, TextDirection};
use krilla::Document;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error(
        "no Japanese font found for the PDF receipt: install fonts-ipafont-gothic (Debian/Ubuntu) \
         or set REJI_RECEIPT_FONT to a .ttf/.otf/.ttc file (tried: {0})"
    )]
    NoFont(String),
    #[error("the font {0} could not be read: {1}")]
    BadFont(String, String),
    #[error("the PDF could not be written: {0}")]
    Write(String),
}

/// Where Japanese fonts usually are, with the face index inside a collection.
const CANDIDATES: &[(&str, u32)] = &[
    ("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf", 0),
    ("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 0),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 0),
    (
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        0,
    ),
    ("/usr/share/fonts/truetype/takao-gothic/TakaoGothic.ttf", 0),
    ("/System/Library/Fonts/ヒラギノ角ゴシック W3.ttc", 0),
    ("/System/Library/Fonts/Hiragino Sans GB.ttc", 0),
    ("C:\\Windows\\Fonts\\meiryo.ttc", 0),
    ("C:\\Windows\\Fonts\\msgothic.ttc", 0),
    ("C:\\Windows\\Fonts\\YuGothR.ttc", 0),
];

/// The font file (and face index) the PDF will embed.
pub fn find_font() -> Result<(PathBuf, u32), PdfError> {
    if let Some(v) = std::env::var_os("REJI_RECEIPT_FONT") {
        let v = v.to_string_lossy().into_owned();
        let (path, index) = match v.rsplit_once('#') {
            Some((p, i)) if i.parse::<u32>().is_ok() => (p.to_string(), i.parse().unwrap_or(0)),
            _ => (v.clone(), 0),
        };
        if Path::new(&path).is_file() {
            return Ok((PathBuf::from(path), index));
        }
        return Err(PdfError::NoFont(format!(
            "REJI_RECEIPT_FONT={v} (no such file)"
        )));
    }
    for (p, i) in CANDIDATES {
        if Path::new(p).is_file() {
            return Ok((PathBuf::from(p), *i));
        }
    }
    Err(PdfError::NoFont(
        CANDIDATES
            .iter()
            .map(|(p, _)| *p)
            .collect::<Vec<_>>()
            .join(", "),
    ))
}

/// A font ready to embed: a TrueType/OpenType file, or one face of a collection, checked once.
#[derive(Clone)]
pub struct PdfFont {
    data: Arc<Vec<u8>>,
    index: u32,
}

impl PdfFont {
    /// Checks that `data` (face `index`) is a font both the measurer and the PDF writer can read.
    /// `source` names it in errors.
    pub fn from_bytes(data: Vec<u8>, index: u32, source: &str) -> Result<PdfFont, PdfError> {
        let bad = |why: &str| PdfError::BadFont(source.to_string(), why.to_string());
        ttf_parser::Face::parse(&data, index).map_err(|_| bad("not a TrueType/OpenType font"))?;
        let data = Arc::new(data);
        Font::new(data.clone().into(), index)
            .ok_or_else(|| bad("the PDF writer cannot embed it"))?;
        Ok(PdfFont { data, index })
    }

    /// The font file's bytes and the face index in it (for drawing receipts as images).
    pub fn bytes(&self) -> (&[u8], u32) {
        (&self.data, self.index)
    }

    /// The font [`find_font`] finds, read and checked.
    pub fn load() -> Result<PdfFont, PdfError> {
        let (path, index) = find_font()?;
        let source = path.display().to_string();
        let data =
            std::fs::read(&path).map_err(|e| PdfError::BadFont(source.clone(), e.to_string()))?;
        PdfFont::from_bytes(data, index, &source)
    }
}

/// Horizontal advances of a face, for right-aligning amounts and wrapping long names.
struct Metrics<'a> {
    face: ttf_parser::Face<'a>,
}

impl Metrics<'_> {
    fn width(&self, text: &str, size: f32) -> f32 {
        let upem = self.face.units_per_em() as f32;
        text.chars()
            .map(|c| {
                self.face
                    .glyph_index(c)
                    .and_then(|g| self.face.glyph_hor_advance(g))
                    .map_or(size, |a| a as f32 / upem * size)
            })
            .sum()
    }

    /// Splits `text` into lines no wider than `max`.
    fn wrap(&self, text: &str, size: f32, max: f32) -> Vec<String> {
        let mut lines = vec![String::new()];
        for c in text.chars() {
            let cur = lines.last_mut().expect("one line");
            let mut probe = cur.clone();
            probe.push(c);
            if self.width(&probe, size) > max && !cur.is_empty() {
                lines.push(c.to_string());
            } else {
                *cur = probe;
            }
        }
        lines
    }
}

const MM: f32 = 72.0 / 25.4;

/// Renders a document made of the template's blocks (a receipt's [`super::Receipt::layout`], the
/// daily close) to PDF bytes, with `font` embedded.
pub fn render(blocks: &[Block], paper: Paper, font: &PdfFont) -> Result<Vec<u8>, PdfError> {
    let face = ttf_parser::Face::parse(&font.data, font.index)
        .map_err(|_| PdfError::BadFont(String::new(), "not a TrueType/OpenType font".into()))?;
    let m = Metrics { face };
    let kfont = Font::new(font.data.clone().into(), font.index)
        .ok_or_else(|| PdfError::BadFont(String::new(), "the PDF writer cannot embed it".into()))?;

    let (page_w, margin, base) = match paper {
        Paper::Roll80 => (80.0 * MM, 4.0 * MM, 8.5f32),
        Paper::A4 => (210.0 * MM, 45.0 * MM, 10.5f32),
    };
    let content_w = page_w - 2.0 * margin;

    // Lay out first (positions), then draw: the roll's height follows its content.
    enum Op {
        Text {
            x: f32,
            y: f32,
            size: f32,
            s: String,
        },
        Rule {
            y: f32,
        },
        /// Dark modules' squares: x, y, side.
        Squares(Vec<(f32, f32, f32)>),
    }
    let mut ops = Vec::new();
    let mut y = margin;
    let line = |size: f32| size * 1.45;
    let text_at = |ops: &mut Vec<Op>, x: f32, y: f32, size: f32, s: &str| {
        ops.push(Op::Text {
            x,
            y,
            size,
            s: s.to_string(),
        })
    };
    for b in blocks {
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
                for l in m.wrap(s, size, content_w) {
                    y += line(size);
                    let x = if center {
                        margin + (content_w - m.width(&l, size)).max(0.0) / 2.0
                    } else {
                        margin
                    };
                    text_at(&mut ops, x, y, size, &l);
                }
                if matches!(b, Block::Heading { .. } | Block::Title { .. }) {
                    y += base * 0.4;
                }
            }
            Block::Rule => {
                y += base * 0.7;
                ops.push(Op::Rule { y });
                y += base * 0.2;
            }
            Block::Row {
                left,
                right,
                strong,
            } => {
                let size = if *strong { base * 1.25 } else { base };
                let rw = m.width(right, size);
                let lines = m.wrap(left, size, (content_w - rw - size).max(content_w / 3.0));
                for (i, l) in lines.iter().enumerate() {
                    y += line(size);
                    text_at(&mut ops, margin, y, size, l);
                    if i == 0 {
                        text_at(&mut ops, margin + content_w - rw, y, size, right);
                    }
                }
            }
            Block::Qr { data } => {
                if let Ok(code) =
                    qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M)
                {
                    let n = code.width();
                    let side = (content_w / 2.0).min(40.0 * MM);
                    let module = side / (n + 8) as f32;
                    let left = margin + (content_w - side) / 2.0 + 4.0 * module;
                    let top = y + base * 0.5 + 4.0 * module;
                    let squares = code
                        .to_colors()
                        .into_iter()
                        .enumerate()
                        .filter(|(_, c)| *c == qrcode::Color::Dark)
                        .map(|(i, _)| {
                            (
                                left + (i % n) as f32 * module,
                                top + (i / n) as f32 * module,
                                module,
                            )
                        })
                        .collect();
                    ops.push(Op::Squares(squares));
                    y += base * 0.5 + side;
                }
            }
            Block::Item {
                name,
                detail,
                amount,
            } => {
                let aw = m.width(amount, base);
                let name_max = if detail.is_some() {
                    content_w
                } else {
                    (content_w - aw - base).max(content_w / 3.0)
                };
                let lines = m.wrap(name, base, name_max);
                for (i, l) in lines.iter().enumerate() {
                    y += line(base);
                    text_at(&mut ops, margin, y, base, l);
                    if detail.is_none() && i == 0 {
                        text_at(&mut ops, margin + content_w - aw, y, base, amount);
                    }
                }
                if let Some(d) = detail {
                    y += line(base);
                    text_at(&mut ops, margin + base * 1.5, y, base, d);
                    text_at(&mut ops, margin + content_w - aw, y, base, amount);
                }
            }
        }
    }
    y += margin;
    let page_h = match paper {
        Paper::Roll80 => y.max(60.0 * MM),
        Paper::A4 => 297.0 * MM,
    };

    let mut doc = Document::new();
    {
        let settings = PageSettings::from_wh(page_w, page_h)
            .ok_or_else(|| PdfError::Write("empty page".into()))?;
        let mut page = doc.start_page_with(settings);
        let mut surface = page.surface();
        for op in &ops {
            match op {
                Op::Text { x, y, size, s } => surface.draw_text(
                    Point::from_xy(*x, *y),
                    kfont.clone(),
                    *size,
                    s,
                    false,
                    TextDirection::Auto,
                ),
                Op::Squares(squares) => {
                    let mut pb = PathBuilder::new();
                    for (x, y, side) in squares {
                        pb.move_to(*x, *y);
                        pb.line_to(x + side, *y);
                        pb.line_to(x + side, y + side);
                        pb.line_to(*x, y + side);
                        pb.close();
                    }
                    if let Some(path) = pb.finish() {
                        surface.set_stroke(None);
                        surface.set_fill(Some(krilla::paint::Fill::default()));
                        surface.draw_path(&path);
                    }
                }
                Op::Rule { y } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(margin, *y);
                    pb.line_to(margin + content_w, *y);
                    if let Some(path) = pb.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke {
                            width: 0.6,
                            ..Default::default()
                        }));
                        surface.draw_path(&path);
                        surface.set_stroke(None);
                    }
                }
            }
        }
        surface.finish();
        page.finish();
    }
    doc.finish().map_err(|e| PdfError::Write(format!("{e:?}")))
}
