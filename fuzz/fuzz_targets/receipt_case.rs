//! The shared case of the `receipt` and `receipt_pdf` fuzz targets: a sale (or a refund) of arbitrary
//! item names, shop details and amounts, checked as it is built (the refund split adds up, the text
//! and the HTML render, the HTML carries no raw `<` from the input).
use reji::invoice::LineItem;
use reji::receipt::{html, split_refund, Receipt, RefundFacts, SaleFacts, ShopDetails};
use reji::tax::{PriceMode, Rounding};

/// The receipt `data` describes, already rendered to text and HTML and checked; `None` when the
/// input describes no sale.
pub fn receipt_case(data: &[u8]) -> Option<Receipt> {
    if data.len() < 8 {
        return None;
    }
    let n = |i: usize| u16::from_le_bytes([data[i], data[i + 1]]) as i64;
    let Ok(text) = std::str::from_utf8(&data[8..]) else { return None };
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
        return None;
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
        Receipt::refund(&facts, &shop, &RefundFacts { number: 1, date: "2026-11-30 10:00".into(), before, after, returned: None }, true)
    };
    let _ = r.to_text(40);
    let page = html::page(&r, html::Paper::Roll80);
    let body = &page[page.find("<body").unwrap()..];
    assert!(!body.contains("<script"));
    Some(r)
}
