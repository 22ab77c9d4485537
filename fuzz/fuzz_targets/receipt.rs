//! The receipt renderer with arbitrary item names, shop details and amounts: never panics; the HTML
//! never carries a raw `<` from the input; per-rate amounts of a refund add up to the refund; the
//! PDF (when a Japanese font is installed) starts with `%PDF-`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reji::invoice::LineItem;
use reji::receipt::{html, pdf, split_refund, Receipt, RefundFacts, SaleFacts, ShopDetails};
use reji::tax::{PriceMode, Rounding};
use std::sync::OnceLock;

fn font() -> Option<&'static pdf::PdfFont> {
    static F: OnceLock<Option<pdf::PdfFont>> = OnceLock::new();
    F.get_or_init(|| pdf::PdfFont::load().ok()).as_ref()
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 8 {
        return;
    }
    let n = |i: usize| u16::from_le_bytes([data[i], data[i + 1]]) as i64;
    let Ok(text) = std::str::from_utf8(&data[8..]) else { return };
    let mut parts = text.split('\u{1}');
    let shop_name = parts.next().unwrap_or("").to_string();
    let items: Vec<LineItem> = parts
        .take(6)
        .enumerate()
        .filter_map(|(k, name)| {
            LineItem::from_parts(name, n(k % 4) * 7 + 1, 1 + (data[k] % 5) as u32, [8, 10, 0][(k + data[3] as usize) % 3]).ok()
        })
        .collect();
    if items.is_empty() {
        return;
    }
    let mode = if data[0] & 1 == 0 { PriceMode::Inclusive } else { PriceMode::Exclusive };
    let facts = SaleFacts::ring_up("2026-000001", "2026-11-29 10:00", items, mode, Rounding::Down, Some(shop_name.as_str())).unwrap();
    let total = facts.total;
    let shop = ShopDetails {
        name: shop_name.clone(),
        registration_number: (data[1] & 1 == 0).then(|| "T7120001168421".into()),
        footer: Some(shop_name),
        ..Default::default()
    };
    let before = n(2) % (total + 1);
    let after = before + n(4) % (total - before + 1);
    let lines = split_refund(&facts, before, after);
    assert_eq!(lines.iter().map(|l| l.amount).sum::<i64>(), after - before);
    let r = if data[1] & 2 == 0 {
        Receipt::sale(&facts, &shop, false)
    } else {
        Receipt::refund(&facts, &shop, &RefundFacts { number: 1, date: "2026-11-30 10:00".into(), before, after }, true)
    };
    let _ = r.to_text(40);
    let page = html::page(&r, html::Paper::Roll80);
    let body = &page[page.find("<body").unwrap()..];
    assert!(!body.contains("<script"));
    // The PDF (a 6 MB font subset per render: ~100× slower than the rest) for about one input in
    // 4 096, so the text and HTML renderers and the refund split get the bulk of the executions.
    if data[2] == 0 && data[3] < 16 {
        if let Some(font) = font() {
            let out = pdf::render(&r.layout(), html::Paper::Roll80, font).unwrap();
            assert!(out.starts_with(b"%PDF-"));
        }
    }
});
