//! From what was sold to a receipt: the sale's and the refund's figures per rate, the stamp box.

use super::*;
use crate::invoice::LineItem;
use crate::tax::{PriceMode, TaxRate};

impl Receipt {
    /// The receipt of a sale.
    pub fn sale(f: &SaleFacts, shop: &ShopDetails, reissue: bool) -> Receipt {
        let per_rate = sale_rate_lines(f);
        Receipt {
            kind: ReceiptKind::Sale,
            qualified: shop.registration_number.is_some(),
            issuer: shop.issuer(),
            invoice_number: f.invoice_number.clone(),
            transaction_date: f.transaction_date.clone(),
            refund_date: None,
            refund_number: None,
            currency: f.currency.clone(),
            price_mode: f.price_mode,
            items: receipt_items(&f.items),
            order_discount: f.order_discount.map(|d| d.as_text()),
            order_discount_amount: f.order_discount_amount(),
            dining: f.dining,
            tenders: f.tenders.clone(),
            stamp_box: needs_stamp(f),
            tax_total: f.tax_10 + f.tax_8,
            per_rate,
            total: f.total,
            payment_method: f.payment_method.clone(),
            payment_method_label: f.payment_method.as_deref().map(method_label),
            reissue,
            refund_count: 0,
            footer: shop.footer.clone(),
        }
    }

    /// The return receipt of one refund: the refund moved the refunded total from `before` to
    /// `after` (both cumulative, tax included). See [`split_refund`] for how a partial refund is
    /// divided between the rates.
    pub fn refund(
        f: &SaleFacts,
        shop: &ShopDetails,
        refund: &RefundFacts,
        reissue: bool,
    ) -> Receipt {
        let per_rate = refund.per_rate(f);
        let total = refund.after - refund.before;
        let tax_total = per_rate.iter().map(|r| r.tax).sum();
        Receipt {
            kind: ReceiptKind::Return,
            qualified: shop.registration_number.is_some(),
            issuer: shop.issuer(),
            invoice_number: f.invoice_number.clone(),
            transaction_date: f.transaction_date.clone(),
            refund_date: Some(refund.date.clone()),
            refund_number: Some(refund.number),
            currency: f.currency.clone(),
            // Refund amounts per rate are always shown tax-inclusive (KOMOJU refunds money paid).
            price_mode: PriceMode::Inclusive,
            // A return by items lists what came back; a refund by amount, the sale's items.
            items: receipt_items(refund.returned.as_ref().map_or(&f.items, |g| &g.items)),
            order_discount: None,
            order_discount_amount: 0,
            dining: f.dining,
            tenders: Vec::new(),
            stamp_box: false,
            per_rate,
            total,
            tax_total,
            payment_method: f.payment_method.clone(),
            payment_method_label: f.payment_method.as_deref().map(method_label),
            reissue,
            refund_count: 0,
            footer: shop.footer.clone(),
        }
    }
}

/// The threshold of the stamp duty on receipts (印紙税法 別表第一 17号: receipts of ¥50,000 or
/// more, tax excluded when stated).
pub const STAMP_THRESHOLD: i64 = 50_000;

/// Whether a sale's receipt needs a revenue stamp: the counter's part (cash and the shop's tenders)
/// before tax is ¥50,000 or more (that part's share of the tax taken out in proportion).
pub fn needs_stamp(f: &SaleFacts) -> bool {
    let counter: i64 = f
        .tenders
        .iter()
        .filter(|t| t.kind != crate::tender::TenderKind::Komoju)
        .map(|t| t.amount)
        .sum();
    if counter < STAMP_THRESHOLD || f.total <= 0 {
        return false;
    }
    let tax = (f.tax_10 + f.tax_8) as i128;
    let tax_share = tax * counter as i128 / f.total as i128;
    counter as i128 - tax_share >= STAMP_THRESHOLD as i128
}

fn receipt_items(items: &[LineItem]) -> Vec<ReceiptItem> {
    items
        .iter()
        .map(|l| ReceiptItem {
            name: l.name.clone(),
            unit_price: l.unit_price,
            quantity: l.quantity,
            amount: l.amount().unwrap_or(i64::MAX),
            tax_rate: l.tax_rate.percent(),
            reduced: l.tax_rate == TaxRate::Reduced,
            exempt: l.tax_rate == TaxRate::Exempt,
            discount: l.discount,
        })
        .collect()
}

fn sale_rate_lines(f: &SaleFacts) -> Vec<RateLine> {
    let mut v = Vec::new();
    for (rate, gross, tax, discount) in [
        (10u8, f.gross_10, f.tax_10, f.discount_10),
        (8u8, f.gross_8, f.tax_8, f.discount_8),
        (0u8, f.gross_0, 0, f.discount_0),
    ] {
        let has_lines = f.items.iter().any(|l| l.tax_rate.percent() == rate);
        if !has_lines {
            continue;
        }
        let amount = match f.price_mode {
            PriceMode::Inclusive => gross,
            PriceMode::Exclusive => gross - tax,
        };
        v.push(RateLine {
            rate,
            amount,
            tax,
            discount,
        });
    }
    v
}

/// Divides a refund between the rates.
///
/// KOMOJU refunds an amount, not items, so a partial refund of a mixed-rate sale has no rate of
/// its own. Reji divides the *cumulative* refunded amount in proportion to each rate's share of
/// the sale (the 8 % and exempt shares rounded half up, the first rate with sales — 10 %, else 8 %,
/// else exempt — taking the rest), and the tax in proportion to each rate's tax (rounded down); a
/// refund's figures are the difference between the cumulative figures after and before it. So
/// every refund adds up exactly, and all refunds of a fully refunded sale add up to the sale's own
/// per-rate totals and tax, whatever the rounding of each step.
pub fn split_refund(f: &SaleFacts, before: i64, after: i64) -> Vec<RateLine> {
    const RATES: [u8; 3] = [10, 8, 0];
    let gross = [f.gross_10, f.gross_8, f.gross_0];
    let parts = crate::tax::refund_split(gross, [f.tax_10, f.tax_8], before, after);
    let mut v = Vec::new();
    for (i, rate) in RATES.into_iter().enumerate() {
        if gross[i] == 0 && !f.items.iter().any(|l| l.tax_rate.percent() == rate) {
            continue;
        }
        v.push(RateLine {
            rate,
            amount: parts[i].0,
            tax: parts[i].1,
            discount: 0,
        });
    }
    v
}
