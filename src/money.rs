//! Money is an integer count of a currency's minor unit. JPY has no minor unit, so ¥1,000 is `1000`.
//! There is no float anywhere in Reji's money paths.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An ISO 4217 currency KOMOJU can settle in, with its minor-unit exponent.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

/// Currencies KOMOJU lists for sessions, with their minor-unit exponents (ISO 4217).
const KNOWN: &[(&str, u8)] = &[
    ("JPY", 0),
    ("KRW", 0),
    ("USD", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("TWD", 2),
    ("CNY", 2),
    ("HKD", 2),
    ("SGD", 2),
    ("AUD", 2),
    ("CAD", 2),
    ("NZD", 2),
    ("CHF", 2),
    ("THB", 2),
    ("PLN", 2),
    ("IDR", 2),
    ("MYR", 2),
    ("PHP", 2),
    ("BRL", 2),
    ("MXN", 2),
    ("INR", 2),
];

impl Currency {
    pub const JPY: Currency = Currency {
        code: *b"JPY",
        exponent: 0,
    };

    pub fn code(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// Digits after the decimal point (0 for JPY).
    pub fn exponent(&self) -> u8 {
        self.exponent
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown currency {0:?}: expected a three-letter ISO 4217 code KOMOJU supports, such as JPY"
)]
pub struct UnknownCurrency(pub String);

impl FromStr for Currency {
    type Err = UnknownCurrency;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let up = s.trim().to_ascii_uppercase();
        KNOWN
            .iter()
            .find(|(c, _)| *c == up)
            .map(|(c, e)| {
                let b = c.as_bytes();
                Currency {
                    code: [b[0], b[1], b[2]],
                    exponent: *e,
                }
            })
            .ok_or_else(|| UnknownCurrency(s.to_string()))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An amount of money: currency + integer minor units.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Money {
    pub currency: Currency,
    pub minor: i64,
}

impl Money {
    pub fn new(currency: Currency, minor: i64) -> Self {
        Money { currency, minor }
    }
    pub fn jpy(yen: i64) -> Self {
        Money::new(Currency::JPY, yen)
    }
    pub fn checked_add(self, other: Money) -> Option<Money> {
        (self.currency == other.currency)
            .then(|| {
                self.minor
                    .checked_add(other.minor)
                    .map(|m| Money::new(self.currency, m))
            })
            .flatten()
    }
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        (self.currency == other.currency)
            .then(|| {
                self.minor
                    .checked_sub(other.minor)
                    .map(|m| Money::new(self.currency, m))
            })
            .flatten()
    }
}

/// Formats with thousands separators: `¥1,234` for JPY, `USD 12.34` otherwise.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.minor < 0;
        let abs = self.minor.unsigned_abs();
        let exp = self.currency.exponent() as u32;
        let div = 10u64.pow(exp);
        let whole = group_thousands(abs / div);
        let sign = if neg { "-" } else { "" };
        if self.currency == Currency::JPY {
            write!(f, "{sign}¥{whole}")
        } else if exp == 0 {
            write!(f, "{sign}{} {whole}", self.currency)
        } else {
            write!(
                f,
                "{sign}{} {whole}.{:0w$}",
                self.currency,
                abs % div,
                w = exp as usize
            )
        }
    }
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_currencies_case_insensitively() {
        assert_eq!("jpy".parse::<Currency>().unwrap(), Currency::JPY);
        assert_eq!("USD".parse::<Currency>().unwrap().exponent(), 2);
        assert!("XYZ".parse::<Currency>().is_err());
        assert!("".parse::<Currency>().is_err());
    }

    #[test]
    fn displays_yen_and_cents() {
        assert_eq!(Money::jpy(1234567).to_string(), "¥1,234,567");
        assert_eq!(Money::jpy(0).to_string(), "¥0");
        let usd = Money::new("USD".parse().unwrap(), 123405);
        assert_eq!(usd.to_string(), "USD 1,234.05");
    }

    #[test]
    fn arithmetic_refuses_mixed_currencies_and_overflow() {
        let usd = Money::new("USD".parse().unwrap(), 1);
        assert_eq!(Money::jpy(1).checked_add(usd), None);
        assert_eq!(Money::jpy(i64::MAX).checked_add(Money::jpy(1)), None);
        assert_eq!(
            Money::jpy(5).checked_sub(Money::jpy(2)),
            Some(Money::jpy(3))
        );
    }
}
