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

pub mod html;
pub mod pdf;
mod regno;

pub use regno::{check_digit, check_digit_warning, RegistrationNumber};

use crate::invoice::LineItem;
use crate::money::{Currency, Money};
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
        let per_rate = split_refund(f, refund.before, refund.after);
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
            items: receipt_items(&f.items),
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

    fn money(&self, minor: i64) -> String {
        match self.currency.parse::<Currency>() {
            Ok(c) => Money::new(c, minor).to_string(),
            Err(_) => format!("{minor} {}", self.currency),
        }
    }

    /// The one template: what the receipt says, in order, for every renderer.
    pub fn layout(&self) -> Vec<Block> {
        let mut b = Vec::new();
        let title = match (self.kind, self.qualified) {
            (ReceiptKind::Sale, true) => "領収書（適格簡易請求書）",
            (ReceiptKind::Sale, false) => "領収書",
            (ReceiptKind::Return, true) => "返金明細（適格返還請求書）",
            (ReceiptKind::Return, false) => "返金明細",
        };
        b.push(Block::Heading {
            text: self.issuer.name.clone(),
        });
        if let Some(n) = &self.issuer.registration_number {
            b.push(Block::Center {
                text: format!("登録番号 {n}"),
            });
        }
        if let Some(a) = &self.issuer.address {
            b.push(Block::Center { text: a.clone() });
        }
        if let Some(p) = &self.issuer.phone {
            b.push(Block::Center {
                text: format!("TEL {p}"),
            });
        }
        b.push(Block::Rule);
        b.push(Block::Title { text: title.into() });
        if self.reissue {
            b.push(Block::Center {
                text: "【再発行】".into(),
            });
        }
        match self.kind {
            ReceiptKind::Sale => {
                b.push(Block::Row {
                    left: "取引日時".into(),
                    right: self.transaction_date.clone(),
                    strong: false,
                });
            }
            ReceiptKind::Return => {
                b.push(Block::Row {
                    left: "返金日時".into(),
                    right: self.refund_date.clone().unwrap_or_default(),
                    strong: false,
                });
                b.push(Block::Row {
                    left: "元の取引日時".into(),
                    right: self.transaction_date.clone(),
                    strong: false,
                });
            }
        }
        b.push(Block::Row {
            left: "伝票番号".into(),
            right: match self.refund_number {
                Some(n) => format!("{} 返金{n}", self.invoice_number),
                None => self.invoice_number.clone(),
            },
            strong: false,
        });
        if let Some(d) = self.dining {
            b.push(Block::Row {
                left: "ご利用".into(),
                right: match d {
                    crate::tax::Dining::EatIn => "店内".into(),
                    crate::tax::Dining::TakeAway => "お持ち帰り".into(),
                },
                strong: false,
            });
        }
        b.push(Block::Rule);
        if self.kind == ReceiptKind::Return {
            b.push(Block::Small {
                text: "元の取引の内容:".into(),
            });
        }
        for it in &self.items {
            let mark = if it.reduced {
                " ※"
            } else if it.exempt {
                " 非"
            } else {
                ""
            };
            let detail = (it.quantity > 1)
                .then(|| format!("{} × {}", self.money(it.unit_price), it.quantity));
            b.push(Block::Item {
                name: format!("{}{mark}", it.name),
                detail,
                amount: self.money(it.amount),
            });
            if it.discount > 0 {
                b.push(Block::Item {
                    name: "　値引".into(),
                    detail: None,
                    amount: format!("-{}", self.money(it.discount)),
                });
            }
        }
        if self.order_discount_amount > 0 {
            let label = match self.order_discount.as_deref() {
                Some(d) if d.ends_with('%') => format!("値引（{d}）"),
                Some(d) if d.starts_with("round") => "端数値引".to_string(),
                _ => "値引".to_string(),
            };
            b.push(Block::Item {
                name: label,
                detail: None,
                amount: format!("-{}", self.money(self.order_discount_amount)),
            });
        }
        b.push(Block::Rule);
        let (basis, tax_word) = match (self.kind, self.price_mode) {
            (ReceiptKind::Return, _) => ("返金対象（税込）", "内消費税等"),
            (_, PriceMode::Inclusive) => ("対象（税込）", "内消費税等"),
            (_, PriceMode::Exclusive) => ("対象（税抜）", "消費税等"),
        };
        for r in &self.per_rate {
            if r.rate == 0 {
                // 非課税: no tax to state, only the amount.
                b.push(Block::Row {
                    left: match self.kind {
                        ReceiptKind::Return => "非課税（返金）".into(),
                        ReceiptKind::Sale => "非課税".into(),
                    },
                    right: self.money(r.amount),
                    strong: false,
                });
                continue;
            }
            let mark = if r.rate == 8 { "※" } else { "" };
            if r.discount > 0 {
                // The discount per rate (値引額は税率ごとに区分して記載).
                b.push(Block::Row {
                    left: format!("{}%対象 値引{mark}", r.rate),
                    right: format!("-{}", self.money(r.discount)),
                    strong: false,
                });
            }
            b.push(Block::Row {
                left: format!("{}%{basis}{mark}", r.rate),
                right: self.money(r.amount),
                strong: false,
            });
            b.push(Block::Row {
                left: format!("　{}% {tax_word}", r.rate),
                right: self.money(r.tax),
                strong: false,
            });
        }
        b.push(Block::Row {
            left: match self.kind {
                ReceiptKind::Sale => "合計（税込）".into(),
                ReceiptKind::Return => "返金額（税込）".into(),
            },
            right: self.money(self.total),
            strong: true,
        });
        let counter_paid = self
            .tenders
            .iter()
            .any(|t| t.kind != crate::tender::TenderKind::Komoju);
        if counter_paid {
            for t in &self.tenders {
                use crate::tender::TenderKind;
                match t.kind {
                    TenderKind::Cash => {
                        b.push(Block::Row {
                            left: "お預り（現金）".into(),
                            right: self.money(t.tendered.unwrap_or(t.amount)),
                            strong: false,
                        });
                        b.push(Block::Row {
                            left: "お釣り".into(),
                            right: self.money(t.change.unwrap_or(0)),
                            strong: false,
                        });
                    }
                    TenderKind::Shop => b.push(Block::Row {
                        left: t.name.clone().unwrap_or_default(),
                        right: self.money(t.amount),
                        strong: false,
                    }),
                    TenderKind::Komoju => b.push(Block::Row {
                        left: t
                            .method
                            .as_deref()
                            .map(method_label)
                            .unwrap_or_else(|| "KOMOJU".into()),
                        right: self.money(t.amount),
                        strong: false,
                    }),
                }
            }
        } else if let Some(m) = &self.payment_method_label {
            b.push(Block::Row {
                left: match self.kind {
                    ReceiptKind::Sale => "お支払方法".into(),
                    ReceiptKind::Return => "返金方法".into(),
                },
                right: m.clone(),
                strong: false,
            });
        }
        b.push(Block::Rule);
        if self.items.iter().any(|i| i.reduced) || self.per_rate.iter().any(|r| r.rate == 8) {
            b.push(Block::Small {
                text: "※印は軽減税率（8%）適用商品です".into(),
            });
        }
        if self.items.iter().any(|i| i.exempt) {
            b.push(Block::Small {
                text: "非印は非課税の商品です".into(),
            });
        }
        if !self.qualified {
            b.push(Block::Small {
                text: "この領収書は適格請求書ではありません（登録番号未設定）".into(),
            });
        }
        if self.stamp_box {
            b.push(Block::Center {
                text: "［ 収入印紙 ］".into(),
            });
        }
        if let Some(f) = &self.footer {
            for line in f.lines().filter(|l| !l.trim().is_empty()) {
                b.push(Block::Center {
                    text: line.to_string(),
                });
            }
        }
        b
    }

    /// Plain text for a terminal (East Asian wide characters count as two columns).
    pub fn to_text(&self, width: usize) -> String {
        let mut out = String::new();
        let pad_center = |s: &str| {
            let w = display_width(s);
            format!("{}{s}", " ".repeat(width.saturating_sub(w) / 2))
        };
        let row = |l: &str, r: &str| {
            let gap = width
                .saturating_sub(display_width(l) + display_width(r))
                .max(1);
            format!("{l}{}{r}", " ".repeat(gap))
        };
        for block in self.layout() {
            let line = match block {
                Block::Heading { text } | Block::Title { text } | Block::Center { text } => {
                    pad_center(&text)
                }
                Block::Rule => "-".repeat(width),
                Block::Row { left, right, .. } => row(&left, &right),
                Block::Item {
                    name,
                    detail,
                    amount,
                } => match detail {
                    Some(d) => format!("{name}\n{}", row(&format!("  {d}"), &amount)),
                    None => row(&name, &amount),
                },
                Block::Small { text } => text,
            };
            out.push_str(&line);
            out.push('\n');
        }
        out
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
}

/// One refund of an invoice: the cumulative refunded amount before and after it.
#[derive(Clone, Debug)]
pub struct RefundFacts {
    pub number: usize,
    pub date: String,
    pub before: i64,
    pub after: i64,
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
    let taxes = [f.tax_10, f.tax_8, 0];
    let rest = gross.iter().position(|g| *g > 0).unwrap_or(0);
    let cum = |refunded: i64| -> [(i64, i64); 3] {
        let total = gross.iter().sum::<i64>().max(1) as i128;
        let refunded = refunded.clamp(0, total as i64) as i128;
        let mut parts = [0i128; 3];
        for i in 0..3 {
            if i != rest {
                parts[i] = Rounding::HalfUp.apply_ratio(gross[i] as i128 * refunded, total);
            }
        }
        // The others' half-up roundings overshoot their exact shares by less than 1 each, and the
        // rest's exact share is positive: it never goes below zero.
        parts[rest] = refunded - parts.iter().sum::<i128>();
        let tax = |t: i64, g: i64, part: i128| -> i64 {
            if g <= 0 {
                0
            } else {
                (t as i128 * part / g as i128) as i64
            }
        };
        std::array::from_fn(|i| (parts[i] as i64, tax(taxes[i], gross[i], parts[i])))
    };
    let (a, b) = (cum(after), cum(before));
    let mut v = Vec::new();
    for (i, rate) in RATES.into_iter().enumerate() {
        if gross[i] == 0 && !f.items.iter().any(|l| l.tax_rate.percent() == rate) {
            continue;
        }
        v.push(RateLine {
            rate,
            amount: a[i].0 - b[i].0,
            tax: a[i].1 - b[i].1,
            discount: 0,
        });
    }
    v
}

/// Japanese names of KOMOJU's payment types, as printed on receipts.
pub fn method_label(t: &str) -> String {
    if let Some(name) = t.strip_prefix("shop:") {
        return name.to_string();
    }
    match t {
        "cash" => "現金",
        "credit_card" => "クレジットカード",
        "konbini" => "コンビニ払い",
        "bank_transfer" => "銀行振込",
        "pay_easy" => "ペイジー",
        "paypay" => "PayPay",
        "linepay" => "LINE Pay",
        "merpay" => "メルペイ",
        "rakutenpay" => "楽天ペイ",
        "aupay" | "au_pay" => "au PAY",
        "docomo" | "d_barai" | "dbarai" => "d払い",
        "softbank" => "ソフトバンクまとめて支払い",
        "web_money" => "WebMoney",
        "bit_cash" => "BitCash",
        "net_cash" => "NET CASH",
        "apple_pay" => "Apple Pay",
        "google_pay" => "Google Pay",
        "alipay" => "Alipay",
        "wechatpay" => "WeChat Pay",
        other => other,
    }
    .to_string()
}

/// Terminal columns of a string: wide (CJK, full-width) characters count 2.
pub fn display_width(s: &str) -> usize {
    s.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD)
        || c == '※'
}

/// An RFC 3339 instant as `YYYY-MM-DD HH:MM` in the named time zone (unchanged if either is odd).
fn local_time(at: &str, tz: &str) -> String {
    match (
        chrono::DateTime::parse_from_rfc3339(at),
        tz.parse::<chrono_tz::Tz>(),
    ) {
        (Ok(t), Ok(tz)) => t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
        _ => at.to_string(),
    }
}

/// The daily close (日計表) as a document of the same template, for its PDF.
pub fn close_layout(c: &crate::ledger::DailyClose, shop: &ShopDetails) -> Vec<Block> {
    let yen = |n: i64| Money::jpy(n).to_string();
    let row = |left: String, right: String| Block::Row {
        left,
        right,
        strong: false,
    };
    let mut b = vec![
        Block::Heading {
            text: shop.name.clone(),
        },
        Block::Title {
            text: "日計表".into(),
        },
        row("営業日".into(), c.business_date.clone()),
        row("締め日時".into(), local_time(&c.closed_at, &c.time_zone)),
        row("タイムゾーン".into(), c.time_zone.clone()),
        Block::Rule,
        Block::Row {
            left: format!("売上 {}件", c.sales_count),
            right: yen(c.sales_total),
            strong: true,
        },
    ];
    for r in &c.per_rate {
        if r.rate == 0 {
            b.push(row("　非課税".into(), yen(r.gross)));
            continue;
        }
        let mark = if r.rate == 8 { "※" } else { "" };
        b.push(row(
            format!("　{}%対象（税込）{mark}", r.rate),
            yen(r.gross),
        ));
        b.push(row(format!("　　{}% 内消費税等", r.rate), yen(r.tax)));
    }
    b.push(Block::Rule);
    b.push(Block::Small {
        text: "支払方法別".into(),
    });
    for m in &c.per_method {
        b.push(row(
            format!("　{} {}件", method_label(&m.method), m.count),
            yen(m.total),
        ));
    }
    b.push(Block::Rule);
    b.push(row(
        format!("返金 {}件", c.refunds_count),
        yen(c.refunds_total),
    ));
    b.push(Block::Row {
        left: "純売上（売上 − 返金）".into(),
        right: yen(c.sales_total - c.refunds_total),
        strong: true,
    });
    b.push(row(
        format!("入金待ち（コンビニ・銀行）{}件", c.pending_count),
        yen(c.pending_total),
    ));
    if !c.created_by_status.is_empty() {
        b.push(Block::Rule);
        b.push(Block::Small {
            text: "当日作成の伝票（締め時点の状態）".into(),
        });
        for (status, n) in &c.created_by_status {
            let label = status
                .parse::<crate::status::InvoiceStatus>()
                .map(|s| s.label_ja().to_string())
                .unwrap_or_else(|_| status.clone());
            b.push(row(format!("　{label}"), format!("{n}件")));
        }
    }
    b.push(Block::Rule);
    b.push(Block::Small {
        text: "締めた日の記録は変更できません（訂正は新しい記録で行います）".into(),
    });
    b
}

#[cfg(test)]
mod tests {
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
}
