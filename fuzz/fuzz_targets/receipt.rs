//! The receipt renderer with arbitrary item names, shop details and amounts: never panics; the HTML
//! never carries a raw `<` from the input; per-rate amounts of a refund add up to the refund; the
//! PDF (when a Japanese font is installed) starts with `%PDF-`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reji::invoice::LineItem;
use reji::receipt::{html, pdf, split_refund, Receipt, RefundFacts, SaleFacts, ShopDetails};
use reji::tax::{compute, PriceMode, Rounding, TaxRate};
use std::sync::OnceLock;

fn font() -> Option<&'static (Vec<u8>, u32)> {
    static F: OnceLock<Option<(Vec<u8>, u32)>> = OnceLock::new();
    F.get_or_init(|| {
        let (p, i) = pdf::find_font().ok()?;
        Some((std::fs::read(p).ok()?, i))
    })
    .as_ref()
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
            LineItem::from_parts(name, n(k % 4) * 7 + 1, 1 + (data[k] % 5) as u32, if k % 2 == 0 { 8 } else { 10 }).ok()
        })
        .collect();
    if items.is_empty() {
        return;
    }
    let mode = if data[0] & 1 == 0 { PriceMode::Inclusive } else { PriceMode::Exclusive };
    let b = compute(items.iter().map(|l| (l.tax_rate, l.amount().unwrap())), mode, Rounding::Down).unwrap();
    let facts = SaleFacts {
        invoice_number: "2026-000001".into(),
        transaction_date: "2026-11-29 10:00".into(),
        currency: "JPY".into(),
        price_mode: mode,
        gross_10: b.gross_at(TaxRate::Standard),
        gross_8: b.gross_at(TaxRate::Reduced),
        tax_10: b.tax_at(TaxRate::Standard),
        tax_8: b.tax_at(TaxRate::Reduced),
        total: b.total,
        items,
        payment_method: Some(shop_name.clone()),
    };
    let shop = ShopDetails {
        name: shop_name.clone(),
        registration_number: (data[1] & 1 == 0).then(|| "T7120001168421".into()),
        footer: Some(shop_name),
        ..Default::default()
    };
    let before = n(2) % (b.total + 1);
    let after = before + n(4) % (b.total - before + 1);
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
    if data[2] % 16 == 0 {
        if let Some((bytes, i)) = font() {
            let out = pdf::render_with_font(&r, html::Paper::Roll80, bytes.clone(), *i).unwrap();
            assert!(out.starts_with(b"%PDF-"));
        }
    }
});
