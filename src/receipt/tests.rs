//! The receipt template's tests: what each kind of receipt says.

use super::*;

fn facts(items: &[(&str, i64, u32, u8)], mode: PriceMode) -> SaleFacts {
    let items: Vec<LineItem> = items
        .iter()
        .map(|(n, p, q, r)| LineItem::from_parts(n, *p, *q, *r).unwrap())
        .collect();
    SaleFacts::ring_up(
        "2026-000001",
        "2026-11-29 10:15",
        items,
        mode,
        Rounding::Down,
        Some("credit_card"),
    )
    .unwrap()
}

fn shop() -> ShopDetails {
    ShopDetails {
        name: "喫茶レジ".into(),
        registration_number: Some("T7120001168421".into()),
        ..Default::default()
    }
}

#[test]
fn a_stamp_box_only_for_50000_yen_or_more_before_tax_paid_at_the_counter() {
    use crate::tender::{Tender, TenderKind};
    let cash = |amount: i64| Tender {
        kind: TenderKind::Cash,
        name: None,
        amount,
        tendered: Some(amount),
        change: Some(0),
        method: None,
    };
    let komoju = |amount: i64| Tender {
        kind: TenderKind::Komoju,
        name: None,
        amount,
        tendered: None,
        change: None,
        method: Some("credit_card".into()),
    };
    let sale = |price: i64, tenders: Vec<Tender>| {
        let mut f = facts(&[("時計", price, 1, 10)], PriceMode::Inclusive);
        f.tenders = tenders;
        Receipt::sale(&f, &shop(), false)
    };
    // ¥55,000 with tax is ¥50,000 before tax: a stamp.
    assert!(sale(55_000, vec![cash(55_000)]).stamp_box);
    assert!(sale(55_000, vec![cash(55_000)])
        .to_text(40)
        .contains("収入印紙"));
    // ¥54,998 with tax is ¥49,999 before tax (tax ¥4,999 rounded down): none.
    assert!(!sale(54_998, vec![cash(54_998)]).stamp_box);
    // By card: none, however large.
    assert!(!sale(110_000, vec![komoju(110_000)]).stamp_box);
    // Split: only the cash part counts.
    assert!(!sale(110_000, vec![cash(50_000), komoju(60_000)]).stamp_box);
    assert!(sale(110_000, vec![cash(60_000), komoju(50_000)]).stamp_box);
    // A receipt with no tender lines (older sales) shows none.
    assert!(!sale(110_000, vec![]).stamp_box);
}

#[test]
fn discounts_show_on_their_line_for_the_order_and_per_rate() {
    use crate::discount::Discount;
    let mut coffee = LineItem::from_parts("ブレンド", 480, 2, 8).unwrap();
    coffee.discount = 60;
    let cake = LineItem::from_parts("ケーキ", 610, 1, 10).unwrap();
    let draft = crate::invoice::Draft {
        currency: crate::money::Currency::JPY,
        lines: vec![coffee, cake],
        customer: Default::default(),
        price_mode: PriceMode::Inclusive,
        rounding: Rounding::Down,
        discount: Some(Discount::Amount(100)),
        dining: Some(crate::tax::Dining::TakeAway),
    };
    let b = draft.breakdown().unwrap();
    let f = SaleFacts {
        invoice_number: "2026-000009".into(),
        transaction_date: "2026-12-01 10:00".into(),
        currency: "JPY".into(),
        price_mode: PriceMode::Inclusive,
        items: draft.lines.clone(),
        gross_10: b.gross_at(TaxRate::Standard),
        gross_8: b.gross_at(TaxRate::Reduced),
        tax_10: b.tax_at(TaxRate::Standard),
        tax_8: b.tax_at(TaxRate::Reduced),
        total: b.total,
        discount_10: b.discount_at(TaxRate::Standard),
        discount_8: b.discount_at(TaxRate::Reduced),
        order_discount: draft.discount,
        dining: draft.dining,
        ..Default::default()
    };
    let r = Receipt::sale(&f, &shop(), false);
    assert_eq!(r.order_discount_amount, 100);
    assert_eq!(r.total, 960 + 610 - 60 - 100);
    // The order's ¥100 over 900 (8 %) and 610 (10 %): 60 and 40.
    let d: Vec<(u8, i64, i64)> = r
        .per_rate
        .iter()
        .map(|l| (l.rate, l.amount, l.discount))
        .collect();
    assert_eq!(d, [(10, 570, 40), (8, 840, 120)]);
    let t = r.to_text(40);
    for needle in [
        "ご利用",
        "お持ち帰り",
        "　値引",
        "-¥60",
        "値引",
        "-¥100",
        "10%対象 値引",
        "-¥40",
        "8%対象 値引※",
        "-¥120",
        "¥1,410",
    ] {
        assert!(t.contains(needle), "{needle:?} missing in\n{t}");
    }
    let sum: i64 = r.per_rate.iter().map(|l| l.amount).sum();
    assert_eq!(
        sum, r.total,
        "per-rate amounts after discounts add up to the total"
    );
}

#[test]
fn a_sale_receipt_has_every_element_the_law_requires() {
    for mode in [PriceMode::Inclusive, PriceMode::Exclusive] {
        let f = facts(
            &[("コーヒー豆", 1080, 2, 8), ("マグカップ", 1100, 1, 10)],
            mode,
        );
        let r = Receipt::sale(&f, &shop(), false);
        let text = r.to_text(40);
        for needle in [
            "喫茶レジ",
            "登録番号 T7120001168421",
            "2026-11-29 10:15",
            "コーヒー豆 ※",
            "適格簡易請求書",
            "10%",
            "8%",
            "※印は軽減税率",
            "クレジットカード",
            "2026-000001",
        ] {
            assert!(
                text.contains(needle),
                "{mode:?}: {needle:?} missing in\n{text}"
            );
        }
        // Per-rate totals and tax add up to what the customer paid.
        let sum: i64 = r.per_rate.iter().map(|l| l.amount).sum();
        let tax: i64 = r.per_rate.iter().map(|l| l.tax).sum();
        match mode {
            PriceMode::Inclusive => assert_eq!(sum, r.total),
            PriceMode::Exclusive => assert_eq!(sum + tax, r.total),
        }
        assert!(!r.items[1].reduced && r.items[0].reduced);
    }
}

#[test]
fn inclusive_figures_are_the_invoice_s_own() {
    let f = facts(
        &[("弁当", 540, 1, 8), ("お茶", 160, 1, 8), ("袋", 110, 1, 10)],
        PriceMode::Inclusive,
    );
    let r = Receipt::sale(&f, &shop(), false);
    // 8 %: 700 incl. → tax ⌊700 × 8 / 108⌋ = 51; 10 %: 110 → 10.
    assert_eq!(
        r.per_rate,
        vec![
            RateLine {
                rate: 10,
                amount: 110,
                tax: 10,
                discount: 0,
            },
            RateLine {
                rate: 8,
                amount: 700,
                tax: 51,
                discount: 0,
            }
        ]
    );
    assert_eq!(r.total, 810);
}

#[test]
fn without_a_registration_number_it_says_it_is_not_qualified() {
    let f = facts(&[("x", 100, 1, 10)], PriceMode::Inclusive);
    let s = ShopDetails {
        name: "店".into(),
        ..Default::default()
    };
    let r = Receipt::sale(&f, &s, true);
    let t = r.to_text(32);
    assert!(!r.qualified);
    assert!(!t.contains("適格簡易請求書") && t.contains("適格請求書ではありません"));
    assert!(t.contains("再発行"));
}

#[test]
fn refunds_split_by_rate_and_add_up_to_the_sale() {
    let f = facts(
        &[("米", 2160, 1, 8), ("皿", 1100, 3, 10)],
        PriceMode::Inclusive,
    );
    let total = f.total;
    let steps = [0, 1, 999, 1000, 2500, total];
    let mut sum10 = (0, 0);
    let mut sum8 = (0, 0);
    for w in steps.windows(2) {
        let lines = split_refund(&f, w[0], w[1]);
        let amt: i64 = lines.iter().map(|l| l.amount).sum();
        assert_eq!(amt, w[1] - w[0]);
        for l in &lines {
            assert!(l.amount >= 0 && l.tax >= 0 && l.tax <= l.amount, "{l:?}");
            let s = if l.rate == 10 { &mut sum10 } else { &mut sum8 };
            s.0 += l.amount;
            s.1 += l.tax;
        }
    }
    assert_eq!(sum10, (f.gross_10, f.tax_10));
    assert_eq!(sum8, (f.gross_8, f.tax_8));
}

#[test]
fn exempt_lines_are_marked_and_totalled_without_tax() {
    let f = facts(
        &[
            ("収入印紙", 200, 2, 0),
            ("封筒", 110, 1, 10),
            ("お茶", 162, 1, 8),
        ],
        PriceMode::Inclusive,
    );
    assert_eq!(
        (f.gross_0, f.gross_10, f.gross_8, f.total),
        (400, 110, 162, 672)
    );
    let r = Receipt::sale(&f, &shop(), false);
    assert_eq!(
        r.per_rate
            .iter()
            .map(|l| (l.rate, l.amount, l.tax))
            .collect::<Vec<_>>(),
        [(10, 110, 10), (8, 162, 12), (0, 400, 0)]
    );
    let t = r.to_text(40);
    assert!(t.contains("収入印紙 非"), "{t}");
    assert!(
        t.contains("非課税") && t.contains("非印は非課税の商品です"),
        "{t}"
    );
    assert!(
        !t.lines()
            .any(|l| l.trim_start_matches('　').starts_with("0%")),
        "no tax line for exempt sales: {t}"
    );
    // A full refund gives every rate back exactly, the exempt part with no tax.
    let back = split_refund(&f, 0, f.total);
    assert_eq!(
        back.iter()
            .map(|l| (l.rate, l.amount, l.tax))
            .collect::<Vec<_>>(),
        [(10, 110, 10), (8, 162, 12), (0, 400, 0)]
    );
    // Only exempt lines: the refund is all exempt.
    let g = facts(&[("切手", 84, 10, 0)], PriceMode::Inclusive);
    let back = split_refund(&g, 0, 300);
    assert_eq!(
        back.iter()
            .map(|l| (l.rate, l.amount, l.tax))
            .collect::<Vec<_>>(),
        [(0, 300, 0)]
    );
}

proptest::proptest! {
    /// Refunds in any steps add up to what was refunded, per step and per rate, never negative,
    /// and a full refund returns each rate's total and tax exactly — with exempt lines too.
    #[test]
    fn refund_splits_add_up_with_any_mix_of_rates(
        g10 in 0i64..50_000, g8 in 0i64..50_000, g0 in 0i64..50_000,
        cuts in proptest::collection::vec(0.0f64..1.0, 0..5),
    ) {
        let mut items = Vec::new();
        for (name, amount, rate) in [("a", g10, 10u8), ("b", g8, 8), ("c", g0, 0)] {
            if amount > 0 {
                items.push((name, amount, 1u32, rate));
            }
        }
        proptest::prop_assume!(!items.is_empty());
        let f = facts(&items, PriceMode::Inclusive);
        let mut steps: Vec<i64> = cuts.iter().map(|c| (*c * f.total as f64) as i64).collect();
        steps.push(0);
        steps.push(f.total);
        steps.sort();
        let mut per_rate = std::collections::BTreeMap::<u8, (i64, i64)>::new();
        for w in steps.windows(2) {
            let lines = split_refund(&f, w[0], w[1]);
            proptest::prop_assert_eq!(lines.iter().map(|l| l.amount).sum::<i64>(), w[1] - w[0]);
            for l in &lines {
                proptest::prop_assert!(l.amount >= 0 && l.tax >= 0 && l.tax <= l.amount, "{:?}", l);
                let e = per_rate.entry(l.rate).or_default();
                e.0 += l.amount;
                e.1 += l.tax;
            }
        }
        for (rate, gross, tax) in [(10u8, f.gross_10, f.tax_10), (8, f.gross_8, f.tax_8), (0, f.gross_0, 0)] {
            proptest::prop_assert_eq!(per_rate.get(&rate).copied().unwrap_or_default(), (gross, tax), "rate {}", rate);
        }
    }
}

#[test]
fn a_return_receipt_references_the_original_sale() {
    let f = facts(&[("米", 2160, 1, 8)], PriceMode::Inclusive);
    let refund = RefundFacts {
        number: 1,
        date: "2026-11-30 09:00".into(),
        before: 0,
        after: 1080,
        returned: None,
    };
    let r = Receipt::refund(&f, &shop(), &refund, false);
    let t = r.to_text(40);
    for needle in [
        "適格返還請求書",
        "返金日時",
        "2026-11-30 09:00",
        "元の取引日時",
        "2026-11-29 10:15",
        "2026-000001 返金1",
        "米 ※",
        "¥1,080",
        "T7120001168421",
    ] {
        assert!(t.contains(needle), "{needle:?} missing in\n{t}");
    }
    assert_eq!(
        r.per_rate,
        vec![RateLine {
            rate: 8,
            amount: 1080,
            tax: 80,
            discount: 0,
        }]
    );
}
