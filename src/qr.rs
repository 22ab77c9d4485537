//! QR codes for KOMOJU payment links: an SVG for the window and a text rendering for the terminal.
//!
//! All codes use error-correction level M and include the standard 4-module quiet zone.
//!
//! # SVG format
//!
//! [`svg`] returns a standalone `<svg>` element (no XML declaration, so it can be inlined into
//! HTML as is) whose `viewBox` is in module units, `0 0 N N` with `N` = modules + 8 (quiet zone).
//! It has no `width`/`height` attributes, so it scales to its container; `shape-rendering=
//! "crispEdges"` keeps the modules sharp. A white `<rect>` covers the whole code; one black
//! `<path>` draws each dark module as `M{x} {y}h1v1H{x}V{y}`.
//!
//! # Terminal format
//!
//! [`terminal`] packs two module rows into one text row with the half blocks `▀`, `▄`, `█` and
//! spaces. Terminals have no reliable white, so the glyph ink (the terminal's foreground colour)
//! stands for one colour and the background for the other:
//!
//! * [`Background::Dark`] (what [`terminal`] uses; most terminals are light text on dark): **light
//!   modules and the quiet zone are drawn with ink, dark modules are spaces.** The code then
//!   appears as dark modules on a light square, as a scanner expects.
//! * [`Background::Light`] (dark text on a light background): dark modules are ink, light modules
//!   and the quiet zone are spaces.
//!
//! Using the wrong one gives an inverted code, which many phone scanners still read but some
//! do not. Every line has the same number of characters and ends with `\n`.

use qrcode::render::svg;
use qrcode::{Color, EcLevel, QrCode};

/// Quiet zone width in modules (the standard's minimum).
pub const QUIET_ZONE: usize = 4;

/// Largest payload, in bytes, at error-correction level M (version 40, byte mode).
pub const MAX_BYTES: usize = 2331;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    #[error(
        "data too long for a QR code: {0} bytes (at most {MAX_BYTES} bytes at error-correction level M)"
    )]
    TooLong(usize),
}

/// Which terminal background the text rendering is meant for (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Background {
    /// Light text on a dark background: light modules are ink, dark modules are spaces.
    #[default]
    Dark,
    /// Dark text on a light background: dark modules are ink.
    Light,
}

fn encode(data: &str) -> Result<QrCode, QrError> {
    // Byte mode input with an automatic version can only fail by being too long.
    QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
        .map_err(|_| QrError::TooLong(data.len()))
}

/// The module grid of the code for `data`, without quiet zone: `(width, modules)` where
/// `modules[y * width + x]` is `true` for a dark module.
pub fn modules(data: &str) -> Result<(usize, Vec<bool>), QrError> {
    let code = encode(data)?;
    let w = code.width();
    let grid = code
        .to_colors()
        .into_iter()
        .map(|c| c == Color::Dark)
        .collect();
    Ok((w, grid))
}

/// A standalone, scalable SVG of the QR code for `data` (format in the module docs).
pub fn svg(data: &str) -> Result<String, QrError> {
    let code = encode(data)?;
    let raw = code
        .render::<svg::Color>()
        .quiet_zone(true)
        .module_dimensions(1, 1)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // qrcode emits `<?xml …?><svg … width="N" height="N" viewBox="0 0 N N" …>`: drop the XML
    // declaration (so the SVG can be inlined into HTML) and the fixed size (so it scales).
    let n = code.width() + 2 * QUIET_ZONE;
    let start = raw.find("<svg").unwrap_or(0);
    let body = &raw[start..];
    let fixed_size = format!(r#" width="{n}" height="{n}""#);
    debug_assert!(body.contains(&fixed_size), "unexpected qrcode SVG output");
    Ok(body.replacen(&fixed_size, "", 1))
}

/// The QR code for `data` as half-block text for a dark-background terminal
/// ([`Background::Dark`]: light modules drawn as ink, dark modules as spaces).
pub fn terminal(data: &str) -> Result<String, QrError> {
    terminal_for(data, Background::Dark)
}

/// The QR code for `data` as half-block text for the given terminal background.
pub fn terminal_for(data: &str, background: Background) -> Result<String, QrError> {
    let (w, grid) = modules(data)?;
    let n = w + 2 * QUIET_ZONE;
    // Dark module at (x, y) in quiet-zone coordinates; outside the code is light.
    let dark = |x: usize, y: usize| {
        x >= QUIET_ZONE
            && y >= QUIET_ZONE
            && x < QUIET_ZONE + w
            && y < QUIET_ZONE + w
            && grid[(y - QUIET_ZONE) * w + (x - QUIET_ZONE)]
    };
    let ink = |x: usize, y: usize| match background {
        Background::Dark => !dark(x, y),
        Background::Light => dark(x, y),
    };
    let rows = n.div_ceil(2);
    let mut out = String::with_capacity(rows * (n * 3 + 1));
    for row in 0..rows {
        let (top, bottom) = (2 * row, 2 * row + 1);
        for x in 0..n {
            // A missing last module row (odd n) counts as quiet zone.
            let b = if bottom < n {
                ink(x, bottom)
            } else {
                ink(x, n)
            };
            out.push(match (ink(x, top), b) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://komoju.com/sessions/e9x5mvx3jkpkofzcg7umfael6";

    #[test]
    fn svg_shape() {
        let s = svg(URL).unwrap();
        let (w, _) = modules(URL).unwrap();
        let n = w + 8;
        assert!(s.starts_with("<svg"), "{s}");
        assert!(s.ends_with("</svg>"));
        assert!(s.contains(&format!(r#"viewBox="0 0 {n} {n}""#)));
        assert!(!s.contains(" width=\"") || s.contains(r#"<rect x="0" y="0" width"#));
        assert!(!s.contains(&format!(r#"height="{n}" viewBox"#)));
        assert!(s.contains("#ffffff") && s.contains("#000000"));
    }

    #[test]
    fn too_long() {
        let data = "a".repeat(MAX_BYTES + 1);
        assert_eq!(svg(&data), Err(QrError::TooLong(MAX_BYTES + 1)));
        assert!(svg(&"a".repeat(MAX_BYTES)).is_ok());
    }

    #[test]
    fn terminal_lines_have_equal_width() {
        for bg in [Background::Dark, Background::Light] {
            let t = terminal_for(URL, bg).unwrap();
            let (w, _) = modules(URL).unwrap();
            let lines: Vec<&str> = t.lines().collect();
            assert_eq!(lines.len(), (w + 8).div_ceil(2));
            assert!(lines.iter().all(|l| l.chars().count() == w + 8));
        }
    }
}
