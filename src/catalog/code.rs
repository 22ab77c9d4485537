//! Product codes: JAN / EAN-13, EAN-8 and UPC-A, check digit verified. Scanners send the digits
//! as printed; Excel may have turned them into a number or a formula, which is undone here.

use std::fmt;

/// A verified product code as printed on the package (8, 12 or 13 digits).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProductCode(String);

/// Why a text is not a product code (the message names what is wrong).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("{0:?} is not a product code: a JAN / EAN-13 has 13 digits, an EAN-8 8, a UPC-A 12")]
    Shape(String),
    #[error(
        "{code:?}: the check digit is {found}, it should be {expected} (a typo, or a misread scan)"
    )]
    CheckDigit {
        code: String,
        found: u8,
        expected: u8,
    },
    #[error(
        "{0:?} looks like a code that a spreadsheet turned into a number (digits were lost): format the column as text and type the code again"
    )]
    Spreadsheet(String),
}

impl ProductCode {
    /// Parses what a scanner or a person typed: digits only (spaces and hyphens between digit
    /// groups, full-width digits and Excel's `="…"` are accepted), 8, 12 or 13 of them, with the
    /// GS1 check digit right.
    pub fn parse(text: &str) -> Result<ProductCode, CodeError> {
        let t = text.trim();
        let t = t
            .strip_prefix("=\"")
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(t);
        if looks_like_scientific(t) {
            return Err(CodeError::Spreadsheet(text.trim().to_string()));
        }
        let mut digits = String::with_capacity(t.len());
        for c in t.chars() {
            match c {
                '0'..='9' => digits.push(c),
                '０'..='９' => digits.push(char::from(b'0' + (c as u32 - '０' as u32) as u8)),
                ' ' | '-' => {}
                _ => return Err(CodeError::Shape(text.trim().to_string())),
            }
        }
        if !matches!(digits.len(), 8 | 12 | 13) {
            return Err(CodeError::Shape(text.trim().to_string()));
        }
        let b = digits.as_bytes();
        let expected = check_digit(&b[..b.len() - 1]);
        let found = b[b.len() - 1] - b'0';
        if expected != found {
            return Err(CodeError::CheckDigit {
                code: digits,
                found,
                expected,
            });
        }
        Ok(ProductCode(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The code as a GTIN-14 (zero-padded): an EAN-8, a UPC-A and an EAN-13 that name the same
    /// item compare equal. Uniqueness in the catalog is on this form.
    pub fn key(&self) -> String {
        format!("{:0>14}", self.0)
    }

    /// An in-store (NON-PLU) code: JAN prefixes 02 and 20–29 are the shop's own; the ledger treats
    /// them like any other code.
    pub fn is_in_store(&self) -> bool {
        let s = &self.0;
        s.len() == 13 && (s.starts_with("02") || s.starts_with('2'))
    }
}

impl fmt::Display for ProductCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A code from its body (ASCII digits, e.g. a shop's own `45…` numbering) and its check digit.
pub fn with_check_digit(body: &str) -> String {
    format!("{body}{}", check_digit(body.as_bytes()))
}

/// The GS1 check digit of the digits before it: weights 3 and 1 from the right.
pub fn check_digit(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = (d - b'0') as u32;
            if i % 2 == 0 {
                d * 3
            } else {
                d
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// `4.90123E+12`: what Excel writes for a long number in a General column.
fn looks_like_scientific(t: &str) -> bool {
    let upper = t.to_ascii_uppercase();
    let Some((mantissa, exp)) = upper.split_once('E') else {
        return false;
    };
    let exp = exp.trim_start_matches('+');
    !mantissa.is_empty()
        && mantissa.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && mantissa.contains('.')
        && !exp.is_empty()
        && exp.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn real_codes_verify() {
        // Well-formed codes of each length (JAN / EAN-13, EAN-8, UPC-A).
        for c in [
            "4901234567894",
            "4902102072618",
            "49123456",
            "036000291452",
            "4549131970258",
        ] {
            assert!(ProductCode::parse(c).is_ok(), "{c}");
        }
        assert_eq!(
            ProductCode::parse(" 4901234567894 ").unwrap().as_str(),
            "4901234567894"
        );
        assert_eq!(
            ProductCode::parse("=\"4901234567894\"").unwrap().as_str(),
            "4901234567894"
        );
        assert_eq!(
            ProductCode::parse("４９０１２３４５６７８９４")
                .unwrap()
                .as_str(),
            "4901234567894"
        );
    }

    #[test]
    fn wrong_shapes_and_digits_say_what_is_wrong() {
        let e = ProductCode::parse("4901234567890").unwrap_err();
        assert_eq!(
            e,
            CodeError::CheckDigit {
                code: "4901234567890".into(),
                found: 0,
                expected: 4
            }
        );
        assert!(e.to_string().contains("should be 4"), "{e}");
        for bad in ["", "123", "49012345678945", "4901234x67894", "12345678901"] {
            assert!(
                matches!(ProductCode::parse(bad), Err(CodeError::Shape(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            ProductCode::parse("4.90123E+12"),
            Err(CodeError::Spreadsheet(_))
        ));
    }

    #[test]
    fn upc_and_ean8_share_the_gtin_key_space() {
        let upc = ProductCode::parse("036000291452").unwrap();
        let ean = ProductCode::parse("0036000291452").unwrap();
        assert_eq!(upc.key(), ean.key());
        assert_eq!(upc.key().len(), 14);
        assert!(ProductCode::parse("2001234000000").unwrap().is_in_store());
        assert!(!ProductCode::parse("4901234567894").unwrap().is_in_store());
    }

    proptest! {
        #[test]
        fn every_body_with_its_check_digit_parses_and_one_changed_digit_does_not(
            body in proptest::collection::vec(0u8..10, 12),
            pos in 0usize..13,
            delta in 1u8..10,
        ) {
            let mut digits: Vec<u8> = body.iter().map(|d| b'0' + d).collect();
            digits.push(b'0' + check_digit(&digits));
            let s = String::from_utf8(digits.clone()).unwrap();
            prop_assert!(ProductCode::parse(&s).is_ok());
            digits[pos] = b'0' + (digits[pos] - b'0' + delta) % 10;
            let t = String::from_utf8(digits).unwrap();
            prop_assert!(ProductCode::parse(&t).is_err(), "{t}");
        }
    }
}
