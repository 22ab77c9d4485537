//! Tenders: how a sale is paid. Cash (what the customer hands over and the change), the shop's own
//! tenders (商品券, 売掛, an external card terminal: recorded, no API) and KOMOJU for what is left.

use serde::{Deserialize, Serialize};

/// The longest name of a shop tender.
pub const MAX_TENDER_NAME: usize = 30;
/// The largest amount of cash a counter takes in one sale (yen).
pub const MAX_CASH: i64 = 100_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TenderKind {
    Cash,
    /// A tender the shop defines, recorded as given.
    Shop,
    /// KOMOJU's payment page, for what the other tenders leave.
    Komoju,
}

impl TenderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TenderKind::Cash => "cash",
            TenderKind::Shop => "shop",
            TenderKind::Komoju => "komoju",
        }
    }
}

impl std::str::FromStr for TenderKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "cash" => Ok(TenderKind::Cash),
            "shop" => Ok(TenderKind::Shop),
            "komoju" => Ok(TenderKind::Komoju),
            other => Err(format!("unknown tender kind {other:?}")),
        }
    }
}

/// One tender of a sale, as the invoice JSON and receipts show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tender {
    #[serde(rename = "type")]
    pub kind: TenderKind,
    /// The shop tender's name (商品券, 売掛, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What this tender pays of the sale.
    pub amount: i64,
    /// Cash: what the customer handed over (お預り).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tendered: Option<i64>,
    /// Cash: what went back (お釣り).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<i64>,
    /// KOMOJU: the payment type, once the customer chose one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// A shop tender as staff give it: `NAME:AMOUNT` (`商品券:1000`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShopTender {
    pub name: String,
    pub amount: i64,
}

impl std::str::FromStr for ShopTender {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, amount) = s
            .rsplit_once([':', '：'])
            .ok_or_else(|| format!("tender {s:?} must be NAME:AMOUNT (for example 商品券:1000)"))?;
        let name = name.trim();
        if name.is_empty()
            || name.chars().count() > MAX_TENDER_NAME
            || name.chars().any(char::is_control)
        {
            return Err(format!(
                "tender {s:?}: the name must be one line of 1 to {MAX_TENDER_NAME} characters"
            ));
        }
        let amount = parse_yen(amount)
            .filter(|a| *a > 0)
            .ok_or_else(|| format!("tender {s:?}: the amount must be whole yen, more than 0"))?;
        Ok(ShopTender {
            name: name.to_string(),
            amount,
        })
    }
}

/// Whole yen as typed: digits, optionally with `,` separators, `¥` or `円`; full-width digits too.
pub fn parse_yen(s: &str) -> Option<i64> {
    let t: String = s
        .trim()
        .trim_start_matches(['¥', '￥'])
        .trim_end_matches('円')
        .chars()
        .filter(|c| *c != ',')
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            c => c,
        })
        .collect();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) || t.len() > 15 {
        return None;
    }
    t.parse().ok()
}

/// How a sale's total is covered: the shop's tenders first, then cash, and KOMOJU for the rest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Settlement {
    /// The cash and shop tenders, in the order they are applied.
    pub tenders: Vec<Tender>,
    /// What is left for KOMOJU's payment page (0: paid at the counter).
    pub komoju_due: i64,
}

/// Covers `total` with the shop's tenders, then `cash` handed over (change when it is more than
/// what is left), leaving the rest for KOMOJU. A shop tender larger than what is left is refused
/// (a voucher gives no change here).
pub fn settle(total: i64, cash: Option<i64>, shop: &[ShopTender]) -> Result<Settlement, String> {
    let mut left = total;
    let mut tenders = Vec::new();
    for t in shop {
        if t.amount > left {
            return Err(format!(
                "tender {}:{} is more than the ¥{left} left to pay",
                t.name, t.amount
            ));
        }
        left -= t.amount;
        tenders.push(Tender {
            kind: TenderKind::Shop,
            name: Some(t.name.clone()),
            amount: t.amount,
            tendered: None,
            change: None,
            method: None,
        });
    }
    match cash {
        Some(c) if c < 0 => return Err(format!("cash {c} must be 0 or more")),
        Some(c) if c > MAX_CASH => return Err(format!("cash {c} is more than a counter takes")),
        Some(0) | None => {}
        Some(c) => {
            let amount = c.min(left);
            tenders.push(Tender {
                kind: TenderKind::Cash,
                name: None,
                amount,
                tendered: Some(c),
                change: Some(c - amount),
                method: None,
            });
            left -= amount;
        }
    }
    Ok(Settlement {
        tenders,
        komoju_due: left,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cash_pays_with_change_or_leaves_the_rest_for_komoju() {
        let s = settle(1_750, Some(2_000), &[]).unwrap();
        assert_eq!(s.komoju_due, 0);
        assert_eq!(
            (
                s.tenders[0].amount,
                s.tenders[0].tendered,
                s.tenders[0].change
            ),
            (1_750, Some(2_000), Some(250))
        );
        let s = settle(1_750, Some(1_000), &[]).unwrap();
        assert_eq!(
            (s.tenders[0].amount, s.tenders[0].change, s.komoju_due),
            (1_000, Some(0), 750)
        );
        let voucher: ShopTender = "商品券:1000".parse().unwrap();
        let s = settle(1_750, Some(1_000), std::slice::from_ref(&voucher)).unwrap();
        assert_eq!(s.tenders.len(), 2);
        assert_eq!(
            (s.tenders[1].amount, s.tenders[1].change, s.komoju_due),
            (750, Some(250), 0)
        );
        assert!(
            settle(500, None, &[voucher]).is_err(),
            "a voucher gives no change"
        );
        assert!(settle(500, Some(-1), &[]).is_err());
        assert_eq!(settle(500, Some(0), &[]).unwrap().komoju_due, 500);
    }

    #[test]
    fn shop_tenders_are_read_as_staff_write_them() {
        assert_eq!(
            "売掛：５００".parse(),
            Ok(ShopTender {
                name: "売掛".into(),
                amount: 500
            })
        );
        assert_eq!(
            "Card terminal:1,200".parse::<ShopTender>().unwrap().amount,
            1_200
        );
        for bad in ["商品券", ":100", "商品券:0", "商品券:-5", "商品券:abc"] {
            assert!(bad.parse::<ShopTender>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn the_tenders_and_komoju_cover_the_total_exactly(
            total in 1i64..10_000_000, cash in proptest::option::of(0i64..20_000_000), vouchers in proptest::collection::vec(1i64..5_000_000, 0..3),
        ) {
            let shop: Vec<ShopTender> = vouchers.iter().map(|a| ShopTender { name: "券".into(), amount: *a }).collect();
            match settle(total, cash, &shop) {
                Ok(s) => {
                    let paid: i64 = s.tenders.iter().map(|t| t.amount).sum();
                    prop_assert_eq!(paid + s.komoju_due, total);
                    prop_assert!(s.komoju_due >= 0);
                    for t in &s.tenders {
                        prop_assert!(t.amount >= 0);
                        if let (Some(g), Some(c)) = (t.tendered, t.change) {
                            prop_assert_eq!(g - c, t.amount);
                            prop_assert!(c >= 0);
                        }
                    }
                }
                Err(_) => prop_assert!(vouchers.iter().sum::<i64>() > total),
            }
        }
    }
}
