//! Discounts (値引き / 割引) as staff give them: an amount in yen, a percentage, or 端数値引き (drop
//! the yen below 10, 100 or 1 000 from the total). How a discount is spread over the tax rates is
//! in [`crate::tax::compute_discounted`].

use serde::{Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The largest amount discount accepted (the largest line amount a charge takes).
pub const MAX_DISCOUNT: i64 = 1_000_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Discount {
    /// So many yen off (in the shop's price mode: before tax for a tax-exclusive shop).
    Amount(i64),
    /// So many percent off (1–100), rounded down to the yen.
    Percent(u8),
    /// 端数値引き: the total is brought down to a multiple of 10, 100 or 1 000 yen.
    RoundDown(u32),
}

impl Discount {
    /// The yen a line's amount loses to this discount. `RoundDown` is for orders, where it
    /// applies to the total; on a line it drops the line amount's yen below the unit.
    pub fn on_amount(&self, amount: i64) -> Result<i64, String> {
        match *self {
            Discount::Amount(a) if a > amount => Err(format!(
                "a discount of ¥{a} is more than the ¥{amount} it applies to"
            )),
            Discount::Amount(a) => Ok(a),
            Discount::Percent(p) => Ok(((amount as i128 * p as i128) / 100) as i64),
            Discount::RoundDown(u) => Ok(amount % u as i64),
        }
    }

    /// The text form [`FromStr`] reads back: `100`, `10%`, `round100`.
    pub fn as_text(&self) -> String {
        match self {
            Discount::Amount(a) => a.to_string(),
            Discount::Percent(p) => format!("{p}%"),
            Discount::RoundDown(u) => format!("round{u}"),
        }
    }
}

impl fmt::Display for Discount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_text())
    }
}

impl Serialize for Discount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_text())
    }
}

impl<'de> serde::Deserialize<'de> for Discount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Reads `100`, `¥100`, `100円` (yen), `10%` / `10％` (percent), `round10`, `round100`,
/// `round1000` (端数値引き). Full-width digits are accepted.
impl FromStr for Discount {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t: String = s
            .trim()
            .chars()
            .map(|c| match c {
                '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
                '％' => '%',
                c => c,
            })
            .collect();
        let bad = || {
            format!(
                "discount {s:?} must be yen (100), a percentage (10%) or round10 / round100 / round1000 (端数値引き)"
            )
        };
        if let Some(unit) = t.strip_prefix("round").or_else(|| t.strip_prefix("端数")) {
            return match unit.trim() {
                "10" => Ok(Discount::RoundDown(10)),
                "100" => Ok(Discount::RoundDown(100)),
                "1000" => Ok(Discount::RoundDown(1000)),
                _ => Err(bad()),
            };
        }
        let digits = |v: &str| -> Option<i64> {
            let v = v.trim().replace(',', "");
            (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .then(|| v.parse::<i64>().ok())
                .flatten()
        };
        if let Some(p) = t.strip_suffix('%') {
            return match digits(p) {
                Some(p @ 1..=100) => Ok(Discount::Percent(p as u8)),
                Some(_) => Err(format!(
                    "discount {s:?}: a percentage must be from 1 to 100"
                )),
                None => Err(bad()),
            };
        }
        let yen = t.trim_start_matches(['¥', '￥']).trim_end_matches('円');
        match digits(yen) {
            Some(a @ 1..=MAX_DISCOUNT) => Ok(Discount::Amount(a)),
            Some(0) => Err(format!("discount {s:?} must be more than 0")),
            Some(_) => Err(format!("discount {s:?} is larger than any sale")),
            None => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_staff_type() {
        assert_eq!("100".parse(), Ok(Discount::Amount(100)));
        assert_eq!("¥1,000".parse(), Ok(Discount::Amount(1000)));
        assert_eq!("１００円".parse(), Ok(Discount::Amount(100)));
        assert_eq!("10%".parse(), Ok(Discount::Percent(10)));
        assert_eq!("１０％".parse(), Ok(Discount::Percent(10)));
        assert_eq!("round100".parse(), Ok(Discount::RoundDown(100)));
        assert_eq!("端数10".parse(), Ok(Discount::RoundDown(10)));
        for bad in [
            "", "-100", "0", "0%", "101%", "1.5", "abc", "round7", "10%%",
        ] {
            assert!(bad.parse::<Discount>().is_err(), "{bad}");
        }
        for d in [
            Discount::Amount(50),
            Discount::Percent(15),
            Discount::RoundDown(1000),
        ] {
            assert_eq!(d.as_text().parse(), Ok(d));
        }
    }

    #[test]
    fn a_line_loses_what_the_discount_says() {
        assert_eq!(Discount::Percent(10).on_amount(455), Ok(45));
        assert_eq!(Discount::Amount(100).on_amount(480), Ok(100));
        assert!(Discount::Amount(500).on_amount(480).is_err());
        assert_eq!(Discount::RoundDown(100).on_amount(1_234), Ok(34));
    }
}
