//! The receipt as a standalone HTML page for printing: an 80 mm roll (thermal receipt printers) or
//! A4. No script, no remote resource; every text is escaped.

use super::{Block, Receipt};

/// Paper the HTML is laid out for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paper {
    /// 80 mm receipt roll (72 mm printable).
    Roll80,
    A4,
}

impl std::str::FromStr for Paper {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "80mm" | "80" | "roll" => Ok(Paper::Roll80),
            "a4" => Ok(Paper::A4),
            _ => Err(format!("paper {s:?} must be 80mm or a4")),
        }
    }
}

const STYLE: &str = r#"
*{box-sizing:border-box}
body{margin:0;font-family:"Hiragino Sans","Yu Gothic UI","Meiryo","Noto Sans CJK JP","IPAGothic",sans-serif;color:#000;background:#fff}
.receipt{margin:0 auto;font-size:12px;line-height:1.45}
.paper-80mm .receipt{width:72mm;padding:2mm 0}
.paper-a4 .receipt{width:120mm;padding:15mm 0;font-size:13px}
.heading{font-size:1.5em;font-weight:700;text-align:center;margin:.2em 0}
.title{font-size:1.2em;font-weight:700;text-align:center;margin:.4em 0;letter-spacing:.1em}
.center{text-align:center}
.rule{border:0;border-top:1px dashed #000;margin:.5em 0}
.row,.item{display:flex;justify-content:space-between;gap:1em}
.row .r,.item .r{white-space:nowrap;text-align:right;font-variant-numeric:tabular-nums}
.strong{font-weight:700;font-size:1.2em}
.detail{padding-left:1.5em;color:#222}
.small{font-size:.85em}
"#;

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The receipt's blocks as HTML elements (no surrounding page): for embedding in the app.
pub fn fragment(r: &Receipt) -> String {
    let mut h = String::from("<div class=\"receipt\">\n");
    for b in r.layout() {
        let line = match b {
            Block::Heading { text } => format!("<h1 class=\"heading\">{}</h1>", esc(&text)),
            Block::Title { text } => format!("<h2 class=\"title\">{}</h2>", esc(&text)),
            Block::Center { text } => format!("<p class=\"center\">{}</p>", esc(&text)),
            Block::Rule => "<hr class=\"rule\">".into(),
            Block::Row {
                left,
                right,
                strong,
            } => format!(
                "<div class=\"row{}\"><span>{}</span><span class=\"r\">{}</span></div>",
                if strong { " strong" } else { "" },
                esc(&left),
                esc(&right)
            ),
            Block::Item {
                name,
                detail,
                amount,
            } => match detail {
                Some(d) => format!(
                    "<div class=\"item\"><span>{}</span></div>\n<div class=\"item detail\"><span>{}</span><span class=\"r\">{}</span></div>",
                    esc(&name),
                    esc(&d),
                    esc(&amount)
                ),
                None => format!(
                    "<div class=\"item\"><span>{}</span><span class=\"r\">{}</span></div>",
                    esc(&name),
                    esc(&amount)
                ),
            },
            Block::Small { text } => format!("<p class=\"small\">{}</p>", esc(&text)),
            Block::Qr { data } => match crate::qr::svg(&data) {
                Ok(svg) => format!("<div class=\"qr\">{svg}</div>"),
                Err(_) => format!("<p class=\"small\">{}</p>", esc(&data)),
            },
        };
        h.push_str(&line);
        h.push('\n');
    }
    h.push_str("</div>\n");
    h
}

/// A whole printable page.
pub fn page(r: &Receipt, paper: Paper) -> String {
    let (class, page_rule) = match paper {
        Paper::Roll80 => ("paper-80mm", "@page{size:80mm auto;margin:4mm}"),
        Paper::A4 => ("paper-a4", "@page{size:A4;margin:0}"),
    };
    let style = format!("{STYLE}{page_rule}\n");
    format!(
        "<!doctype html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <title>{} {}</title>\n<style>{style}</style>\n</head>\n<body class=\"{class}\">\n{}</body>\n</html>\n",
        esc(&r.issuer.name),
        esc(&r.invoice_number),
        fragment(r)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipt::{ReceiptKind, ShopDetails};

    #[test]
    fn html_escapes_and_carries_every_block() {
        let f = crate::receipt::SaleFacts::ring_up(
            "2026-000007",
            "2026-11-29 10:15",
            vec![crate::invoice::LineItem::from_parts("<b>パン</b>", 216, 2, 8).unwrap()],
            crate::tax::PriceMode::Inclusive,
            crate::tax::Rounding::Down,
            Some("paypay"),
        )
        .unwrap();
        let shop = ShopDetails {
            name: "A&B".into(),
            registration_number: Some("T7120001168421".into()),
            ..Default::default()
        };
        let r = Receipt::sale(&f, &shop, false);
        assert_eq!(r.kind, ReceiptKind::Sale);
        let h = page(&r, Paper::Roll80);
        assert!(h.contains("&lt;b&gt;パン&lt;/b&gt; ※"));
        assert!(!h.contains("<b>"));
        assert!(h.contains("A&amp;B"));
        assert!(h.contains("size:80mm auto"));
        assert!(h.contains("T7120001168421"));
        assert!(h.contains("¥432") && h.contains("¥32") && h.contains("PayPay"));
        assert!(page(&r, Paper::A4).contains("size:A4"));
        assert!(!h.contains("<script"));
    }
}
