//! Row 8: the receipt PDF next to a PDF of one word in the same font.

use super::*;

/// A till receipt of five lines (both tax rates and an exempt stamp), as the counter prints it.
pub(super) fn bench_receipt() -> Res<reji::receipt::Receipt> {
    use reji::receipt::{Receipt, SaleFacts, ShopDetails};
    let items = vec![
        LineItem::from_parts("コーヒー豆 エチオピア 200g", 1_620, 2, 8)?,
        LineItem::from_parts("ドリップバッグ 10袋入り", 980, 1, 8)?,
        LineItem::from_parts("マグカップ (白)", 2_200, 1, 10)?,
        LineItem::from_parts("ペーパーフィルター 100枚", 440, 3, 10)?,
        LineItem::from_parts("収入印紙", 200, 1, 0)?,
    ];
    let facts = SaleFacts::ring_up(
        "2026-000123",
        "2026-11-29 10:00",
        items,
        PriceMode::Inclusive,
        Rounding::Down,
        Some("paypay"),
    )?;
    let shop = ShopDetails {
        name: "珈琲 さくら堂".into(),
        registration_number: Some("T7120001168421".into()),
        footer: Some("またのお越しをお待ちしております".into()),
        ..Default::default()
    };
    Ok(Receipt::sale(&facts, &shop, false))
}

/// Row 8: the receipt PDF (layout, font subset, PDF writer) next to the least PDF the same font makes.
pub(super) fn bench_pdf(sizes: &Sizes) -> Res<Vec<Row>> {
    use reji::receipt::{html, pdf};
    let font = match pdf::PdfFont::load() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("reji-bench: row 8 skipped: {e}");
            return Ok(Vec::new());
        }
    };
    let r = bench_receipt()?;
    let layout = r.layout();
    let n = sizes.pdf_calls;
    // The floor: a PDF holding one word in the same font (font subset, compression, file).
    let one_word = vec![reji::receipt::Block::Title {
        text: "領収書".into(),
    }];
    let floor_us = per_call_us(n, || {
        std::hint::black_box(pdf::render(&one_word, html::Paper::Roll80, &font)?);
        Ok(())
    })?;
    let pdf_us = per_call_us(n, || {
        std::hint::black_box(pdf::render(&layout, html::Paper::Roll80, &font)?);
        Ok(())
    })?;
    let bytes = pdf::render(&layout, html::Paper::Roll80, &font)?.len();
    Ok(vec![Row::new(
        "8",
        &format!(
            "Receipt PDF (80 mm roll, 5 lines, font subset embedded, {bytes} bytes), median per receipt"
        ),
    )
    .value(pdf_us / 1000.0, "ms")
    .reference(
        "a PDF of one word (領収書) in the same font (ms)",
        Some(floor_us / 1000.0),
    )
    .ratio(Some(pdf_us / floor_us), "of one word")
    .goal("- (no goal; printed once per sale)", None)])
}
