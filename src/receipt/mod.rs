//! Receipts that satisfy Japan's qualified invoice system (適格請求書等保存方式).
//!
//! A shop selling to the public may issue a **qualified simplified invoice** (適格簡易請求書,
//! 消費税法第57条の4第2項). It must show:
//! 1. the issuer's name and registration number (`T` + 13 digits),
//! 2. the date of the transaction,
//! 3. what was sold, with the items taxed at the reduced rate marked (※ here),
//! 4. the total per tax rate (tax-inclusive or exclusive),
//! 5. the consumption tax per rate, or the rate (we show both).
//!
//! A refund produces a **qualified return invoice** (適格返還請求書, 同条第3項): issuer and number,
//! the date of the refund and of the original sale, what the original sale was (items, ※ marks), the
//! amount returned per rate and its tax per rate (or the rate).
//!
//! One template ([`Receipt::layout`], a list of [`Block`]s) is rendered three ways: HTML for printing
//! from the app (80 mm roll or A4, [`html`]), PDF with an embedded Japanese font ([`pdf`]) and plain
//! text for the terminal ([`Receipt::to_text`]). A shop without a registration number still gets a
//! receipt (領収書), marked as not qualified.

mod build;
mod close;
pub mod html;
mod labels;
mod layout;
pub mod pdf;
mod regno;
mod slip;
#[cfg(test)]
mod tests;

pub use build::{needs_stamp, split_refund, STAMP_THRESHOLD};
pub use close::close_layout;
pub(crate) use labels::local_time;
pub use labels::{display_width, method_label};
pub use regno::{check_digit, check_digit_warning, RegistrationNumber};
pub use slip::{slip_layout, store_label, SlipFacts};

use crate::invoice::LineItem;
use crate::tax::{PriceMode, Rounding, TaxRate};
use serde::Serialize;

/// Sale or refund.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    /// 領収書 (適格簡易請求書)
    Sale,
    /// 返金明細 (適格返還請求書)
    Return,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Issuer {
    pub name: String,
    pub registration_number: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReceiptItem {
    pub name: String,
    pub unit_price: i64,
    pub quantity: u32,
    pub amount: i64,
    pub tax_rate: u8,
    /// Taxed at the reduced rate (marked ※).
    pub reduced: bool,
    /// Bears no consumption tax (非課税; marked 非).
    #[serde(default)]
    pub exempt: bool,
    /// Yen taken off this line (shown under it as 値引).
    #[serde(default)]
    pub discount: i64,
}

/// One rate's total on the receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RateLine {
    /// 10, 8, or 0 for exempt (非課税) lines (their tax is 0).
    pub rate: u8,
    /// 対象額: tax-inclusive for an inclusive shop, before tax for an exclusive one.
    pub amount: i64,
    /// 消費税等 at this rate (内消費税 for an inclusive shop).
    pub tax: i64,
    /// What this rate's lines lost to discounts (値引), included in `amount` already.
    #[serde(default)]
    pub discount: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Receipt {
    pub kind: ReceiptKind,
    /// A qualified (simplified / return) invoice: the issuer has a registration number.
    pub qualified: bool,
    pub issuer: Issuer,
    pub invoice_number: String,
    /// The sale, shop-local `YYYY-MM-DD HH:MM`.
    pub transaction_date: String,
    /// For a return: when the money went back (shop-local).
    pub refund_date: Option<String>,
    /// For a return: which refund of the invoice (1, 2, …).
    pub refund_number: Option<usize>,
    pub currency: String,
    pub price_mode: PriceMode,
    pub items: Vec<ReceiptItem>,
    /// The order's discount: as given (`100`, `10%`, `round100`) and in yen (line discounts are on
    /// their lines).
    pub order_discount: Option<String>,
    pub order_discount_amount: i64,
    /// 店内 or 持ち帰り, when the sale said.
    pub dining: Option<crate::tax::Dining>,
    /// One line per tender (a sale's receipt; a return receipt has none).
    pub tenders: Vec<crate::tender::Tender>,
    /// A box for a revenue stamp (収入印紙): the part paid at the counter (cash, the shop's tenders),
    /// before tax, is ¥50,000 or more. Card, QR, konbini and bank payments need none.
    pub stamp_box: bool,
    pub per_rate: Vec<RateLine>,
    /// What the customer paid (sale) or got back (return), tax included.
    pub total: i64,
    pub tax_total: i64,
    pub payment_method: Option<String>,
    pub payment_method_label: Option<String>,
    /// Printed before (再発行).
    pub reissue: bool,
    /// How many refunds the invoice has had (each has its return receipt, `refund_number` 1..=n).
    pub refund_count: usize,
    pub footer: Option<String>,
}

/// What a receipt is built from: the invoice as stored (its lines and per-rate figures as charged).
#[derive(Clone, Debug, Default)]
pub struct SaleFacts {
    pub invoice_number: String,
    pub transaction_date: String,
    pub currency: String,
    pub price_mode: PriceMode,
    pub items: Vec<LineItem>,
    /// Tax-inclusive total per rate, as charged.
    pub gross_10: i64,
    pub gross_8: i64,
    /// Exempt (非課税) lines' total: no consumption tax.
    pub gross_0: i64,
    pub tax_10: i64,
    pub tax_8: i64,
    pub total: i64,
    pub payment_method: Option<String>,
    /// Discounts per rate (lines and the order's share), in the price mode's terms.
    pub discount_10: i64,
    pub discount_8: i64,
    pub discount_0: i64,
    pub order_discount: Option<crate::discount::Discount>,
    pub dining: Option<crate::tax::Dining>,
    /// How it was paid (cash with お預り / お釣り, the shop's tenders, KOMOJU).
    pub tenders: Vec<crate::tender::Tender>,
}

impl SaleFacts {
    /// The order's discount in yen: every discount less the lines' own.
    pub fn order_discount_amount(&self) -> i64 {
        let lines: i64 = self.items.iter().map(|l| l.discount).sum();
        (self.discount_10 + self.discount_8 + self.discount_0 - lines).max(0)
    }

    /// A JPY sale rung up from its lines, its per-rate figures computed as a charge computes them
    /// (once per rate). For previews, tests and fuzzing; receipts of stored invoices use the
    /// figures stored with them.
    pub fn ring_up(
        invoice_number: &str,
        transaction_date: &str,
        items: Vec<LineItem>,
        price_mode: PriceMode,
        rounding: Rounding,
        payment_method: Option<&str>,
    ) -> Result<SaleFacts, crate::tax::TaxError> {
        let mut amounts = Vec::with_capacity(items.len());
        for l in &items {
            amounts.push((
                l.tax_rate,
                l.amount().ok_or(crate::tax::TaxError::Overflow)?,
            ));
        }
        let b = crate::tax::compute(amounts, price_mode, rounding)?;
        Ok(SaleFacts {
            invoice_number: invoice_number.into(),
            transaction_date: transaction_date.into(),
            currency: "JPY".into(),
            price_mode,
            items,
            gross_10: b.gross_at(TaxRate::Standard),
            gross_8: b.gross_at(TaxRate::Reduced),
            gross_0: b.gross_at(TaxRate::Exempt),
            tax_10: b.tax_at(TaxRate::Standard),
            tax_8: b.tax_at(TaxRate::Reduced),
            total: b.total,
            payment_method: payment_method.map(str::to_string),
            ..Default::default()
        })
    }
}

#[derive(Clone, Debug, Default)]
pub struct ShopDetails {
    pub name: String,
    pub registration_number: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub footer: Option<String>,
}

impl ShopDetails {
    fn issuer(&self) -> Issuer {
        Issuer {
            name: self.name.clone(),
            registration_number: self.registration_number.clone(),
            address: self.address.clone(),
            phone: self.phone.clone(),
        }
    }
}

/// One piece of the receipt template (serialised for the app as `{"kind": "row", …}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    /// The shop's name, large.
    Heading {
        text: String,
    },
    /// The document's title (領収書 …).
    Title {
        text: String,
    },
    Center {
        text: String,
    },
    Rule,
    Row {
        left: String,
        right: String,
        strong: bool,
    },
    Item {
        name: String,
        /// `¥480 × 2` when the quantity is more than one.
        detail: Option<String>,
        amount: String,
    },
    Small {
        text: String,
    },
    /// A QR code of `data` (a payment slip's instructions URL), centred.
    Qr {
        data: String,
    },
}

/// One refund of an invoice: the cumulative refunded amount before and after it, and when it was a
/// return by items, what came back.
#[derive(Clone, Debug)]
pub struct RefundFacts {
    pub number: usize,
    pub date: String,
    pub before: i64,
    pub after: i64,
    pub returned: Option<ReturnedGoods>,
}

/// A return by items (`register::returns`): the items as they came back, the refund's split per
/// rate by those items, and why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReturnedGoods {
    pub items: Vec<crate::invoice::LineItem>,
    pub per_rate: Vec<RateLine>,
    pub reason: Option<String>,
}

impl RefundFacts {
    /// The refund per rate: a return's own split by the items that came back, else the amount
    /// divided between the sale's rates ([`split_refund`]).
    pub fn per_rate(&self, f: &SaleFacts) -> Vec<RateLine> {
        match &self.returned {
            Some(g) => g.per_rate.clone(),
            None => split_refund(f, self.before, self.after),
        }
    }
}
