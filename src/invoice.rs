//! Invoices as the cashier rings them up: line items, customer, numbering and KOMOJU order numbers.

use crate::discount::Discount;
use crate::money::Currency;
use crate::tax::{self, Dining, PriceMode, Rounding, TaxBreakdown, TaxRate};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Longest item name accepted (KOMOJU line item descriptions are free text; receipts need short lines).
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_QUANTITY: u32 = 99_999;
/// The highest unit price a line may have (yen).
pub const MAX_UNIT_PRICE: i64 = 1_000_000_000_000;
/// KOMOJU's documented maximum (and default) session lifetime.
pub const MAX_EXPIRES_IN: u32 = 86_400;
/// Reji's default: a QR left on screen for an hour is long enough for any customer at a counter.
pub const DEFAULT_EXPIRES_IN: u32 = 3_600;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    pub name: String,
    /// Price of one unit in minor units, as priced by the shop (tax-inclusive by default).
    pub unit_price: i64,
    pub quantity: u32,
    pub tax_rate: TaxRate,
    /// The catalog product this line was rung up from (its name and price are kept as sold).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    /// Yen taken off this line (a line discount), in the price mode's terms.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub discount: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

impl LineItem {
    /// A line from its parts (the app's item entry), with the same checks as the CLI's `--item`.
    pub fn from_parts(
        name: &str,
        unit_price: i64,
        quantity: u32,
        rate_percent: u8,
    ) -> Result<LineItem, ItemError> {
        if name.contains(['\n', '\r']) {
            return Err(ItemError(format!(
                "item name {name:?} contains a control character"
            )));
        }
        format!("{name},{unit_price},{quantity},{rate_percent}").parse()
    }

    /// Unit price × quantity, before the line's discount.
    pub fn amount(&self) -> Option<i64> {
        self.unit_price.checked_mul(self.quantity as i64)
    }

    /// What the line comes to after its own discount.
    pub fn net_amount(&self) -> Option<i64> {
        self.amount().map(|a| a - self.discount)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ItemError(pub String);

/// Parses `NAME,UNIT_PRICE,QTY,RATE` (the CLI's `--item`). The name may itself contain commas: the
/// last three fields are taken from the right.
impl FromStr for LineItem {
    type Err = ItemError;
    fn from_str(s: &str) -> Result<Self, ItemError> {
        let mut parts = s.rsplitn(4, ',');
        let (rate, qty, price, name) =
            match (parts.next(), parts.next(), parts.next(), parts.next()) {
                (Some(r), Some(q), Some(p), Some(n)) => (r, q, p, n),
                _ => {
                    return Err(ItemError(format!(
                    "item {s:?} must be NAME,UNIT_PRICE,QTY,RATE (for example \"Coffee,480,2,8\")"
                )))
                }
            };
        let name = name.trim();
        if name.is_empty() {
            return Err(ItemError(format!("item {s:?} has an empty name")));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(ItemError(format!(
                "item name is longer than {MAX_NAME_CHARS} characters"
            )));
        }
        if name.chars().any(|c| c.is_control()) {
            return Err(ItemError(format!(
                "item name {name:?} contains a control character"
            )));
        }
        let unit_price: i64 = parse_int(price).ok_or_else(|| {
            ItemError(format!(
                "item {name:?}: unit price {:?} must be a whole number of yen, 0 or more",
                price.trim()
            ))
        })?;
        if unit_price > MAX_UNIT_PRICE {
            return Err(ItemError(format!(
                "item {name:?}: unit price {} is too large (at most {MAX_UNIT_PRICE})",
                price.trim()
            )));
        }
        let quantity: u32 = parse_int(qty)
            .filter(|q| (1..=MAX_QUANTITY as i64).contains(q))
            .map(|q| q as u32)
            .ok_or_else(|| {
                ItemError(format!(
                    "item {name:?}: quantity {:?} must be a whole number from 1 to {MAX_QUANTITY}",
                    qty.trim()
                ))
            })?;
        let tax_rate = rate
            .parse::<TaxRate>()
            .map_err(|e| ItemError(format!("item {name:?}: {e}")))?;
        Ok(LineItem {
            name: name.to_string(),
            unit_price,
            quantity,
            tax_rate,
            product_id: None,
            discount: 0,
        })
    }
}

fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Who is paying. Konbini and card need an email, bank transfer and Pay-easy a name, bank transfer a
/// phone (PortOne's list of what KOMOJU asks for); KOMOJU's page asks for what is missing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub name: Option<String>,
    pub name_kana: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A sale's number for people: `YYYY-NNNNNN`, sequential and gap-free per ledger and year.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InvoiceNumber(String);

impl InvoiceNumber {
    pub fn new(year: i32, seq: u32) -> Self {
        InvoiceNumber(format!("{year:04}-{seq:06}"))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Recognises the shape `YYYY-NNNNNN` (for telling an invoice number from a session id).
    pub fn parse(s: &str) -> Option<Self> {
        let (y, n) = s.split_once('-')?;
        (y.len() == 4
            && n.len() >= 6
            && y.bytes().all(|b| b.is_ascii_digit())
            && n.bytes().all(|b| b.is_ascii_digit()))
        .then(|| InvoiceNumber(s.to_string()))
    }
}

impl fmt::Display for InvoiceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// KOMOJU's `external_order_num` for attempt `attempt` (1-based): `LEDGERID-INVOICE` for the first,
/// `LEDGERID-INVOICE-N` after a cancel or expiry. The ledger id makes it unique across reinstalls and
/// across several registers on one merchant account.
pub fn external_order_num(ledger_id: &str, number: &InvoiceNumber, attempt: u32) -> String {
    if attempt <= 1 {
        format!("{ledger_id}-{number}")
    } else {
        format!("{ledger_id}-{number}-{attempt}")
    }
}

/// Everything needed to ring up one sale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    pub currency: Currency,
    pub lines: Vec<LineItem>,
    pub customer: Customer,
    pub price_mode: PriceMode,
    pub rounding: Rounding,
    /// The order's discount (lines carry their own).
    pub discount: Option<Discount>,
    /// Eaten in or taken away: decides the rate of the catalog's food lines (kept for receipts).
    pub dining: Option<Dining>,
}

impl Draft {
    /// Per-rate totals after the lines' and the order's discounts, tax once per rate.
    pub fn breakdown(&self) -> Result<TaxBreakdown, tax::TaxError> {
        let mut amounts = Vec::with_capacity(self.lines.len());
        for l in &self.lines {
            amounts.push((
                l.tax_rate,
                l.amount().ok_or(tax::TaxError::Overflow)?,
                l.discount,
            ));
        }
        tax::compute_discounted(
            amounts,
            self.discount.as_ref(),
            self.price_mode,
            self.rounding,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_items_with_commas_in_names() {
        let i: LineItem = "Cake, chocolate,450,2,8".parse().unwrap();
        assert_eq!(i.name, "Cake, chocolate");
        assert_eq!(
            (i.unit_price, i.quantity, i.tax_rate),
            (450, 2, TaxRate::Reduced)
        );
        assert_eq!(i.amount(), Some(900));
    }

    #[test]
    fn rejects_bad_items_with_a_reason() {
        for (s, needle) in [
            ("Coffee,480,2", "NAME,UNIT_PRICE,QTY,RATE"),
            (",480,2,10", "empty name"),
            ("Coffee,4.80,2,10", "unit price"),
            ("Coffee,-1,2,10", "unit price"),
            ("Coffee,480,0,10", "quantity"),
            ("Coffee,480,x,10", "quantity"),
            ("Coffee,480,1,5", "tax rate"),
        ] {
            let e = s.parse::<LineItem>().unwrap_err().to_string();
            assert!(e.contains(needle), "{s}: {e}");
        }
    }

    #[test]
    fn lines_from_parts_are_checked_like_cli_items() {
        let l = LineItem::from_parts("Cake, chocolate", 450, 2, 8).unwrap();
        assert_eq!(
            (l.name.as_str(), l.amount()),
            ("Cake, chocolate", Some(900))
        );
        assert!(LineItem::from_parts("", 450, 1, 8).is_err());
        assert!(LineItem::from_parts("x", -1, 1, 8).is_err());
        assert!(LineItem::from_parts("x", 1, 0, 8).is_err());
        assert!(LineItem::from_parts("x", 1, 1, 5).is_err());
        assert!(LineItem::from_parts("a\nb", 1, 1, 10).is_err());
    }

    #[test]
    fn numbers_and_order_numbers() {
        let n = InvoiceNumber::new(2026, 42);
        assert_eq!(n.as_str(), "2026-000042");
        assert_eq!(external_order_num("R7K2", &n, 1), "R7K2-2026-000042");
        assert_eq!(external_order_num("R7K2", &n, 2), "R7K2-2026-000042-2");
        assert!(InvoiceNumber::parse("2026-000042").is_some());
        assert!(InvoiceNumber::parse("boc2hxvmyl497eekihyrwmmgm").is_none());
    }
}
