//! The qualified invoice issuer registration number (適格請求書発行事業者登録番号): `T` + 13 digits.
//!
//! For a corporation the 13 digits are its corporate number (法人番号), whose first digit is a check
//! digit: `9 − (Σ Pn × Qn mod 9)`, where Pn is the n-th of the other 12 digits counted from the
//! right and Qn is 1 for odd n, 2 for even n (National Tax Agency, 法人番号の指定等に関する省令).
//! Sole proprietors get 13 digits assigned by the NTA that are not their My Number; whether those
//! follow the same check digit is not published, so a mismatch is a warning, never a refusal.

use serde::Serialize;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RegistrationNumber(String);

impl RegistrationNumber {
    /// Parses `T1234567890123`. Accepts a lower-case `t`, full-width characters and the spaces or
    /// hyphens people type (`T 1234-5678-90123`). Returns the number and whether the check digit
    /// holds (`false` = warn: valid for a sole proprietor, a typo for a corporation).
    pub fn parse(s: &str) -> Result<(RegistrationNumber, bool), String> {
        let mut norm = String::with_capacity(14);
        for c in s.trim().chars() {
            let c = match c {
                '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
                'Ｔ' | 'ｔ' | 't' => 'T',
                ' ' | '\u{3000}' | '-' | '－' | 'ー' => continue,
                c => c,
            };
            norm.push(c);
        }
        let digits = norm.strip_prefix('T').ok_or_else(|| {
            format!(
                "registration number {s:?} must start with T (T + 13 digits, e.g. T1234567890123)"
            )
        })?;
        if digits.len() != 13 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "registration number {s:?} must be T followed by exactly 13 digits"
            ));
        }
        let ok = check_digit(&digits[1..]) == digits.as_bytes()[0] - b'0';
        Ok((RegistrationNumber(norm), ok))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegistrationNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The corporate-number check digit of the 12 base digits.
pub fn check_digit(base12: &str) -> u8 {
    let sum: u32 = base12
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let p = (b - b'0') as u32;
            // n = i + 1 counted from the right: odd n weighs 1, even n weighs 2.
            if i % 2 == 0 {
                p
            } else {
                2 * p
            }
        })
        .sum();
    (9 - (sum % 9)) as u8
}

/// The warning shown when the check digit does not hold.
pub fn check_digit_warning(n: &RegistrationNumber) -> String {
    format!(
        "registration number {n}: its check digit does not match a corporate number (法人番号); \
         fine for a sole proprietor's number, otherwise check it for a typo"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_corporate_numbers_pass_the_check_digit() {
        // Published corporate numbers (国税庁法人番号公表サイト): 国税庁 itself and two companies.
        for n in ["T7000012050002", "T7120001168421", "T9011101097073"] {
            let (r, ok) = RegistrationNumber::parse(n).unwrap();
            assert!(ok, "{n}");
            assert_eq!(r.as_str(), n);
        }
        // The NTA's worked example: base 123456789012 → Σ = 74, 74 mod 9 = 2, check digit 7.
        assert_eq!(check_digit("123456789012"), 7);
    }

    #[test]
    fn typed_forms_are_normalised() {
        let (r, ok) = RegistrationNumber::parse(" ｔ７１２０-００１１-６８４２１ ").unwrap();
        assert_eq!(r.as_str(), "T7120001168421");
        assert!(ok);
    }

    #[test]
    fn a_wrong_check_digit_is_a_warning_not_a_refusal() {
        let (r, ok) = RegistrationNumber::parse("T1120001168421").unwrap();
        assert!(!ok);
        assert!(check_digit_warning(&r).contains("check digit"));
    }

    #[test]
    fn malformed_numbers_are_refused_with_the_reason() {
        for (s, needle) in [
            ("7120001168421", "start with T"),
            ("T712000116842", "exactly 13 digits"),
            ("T71200011684210", "exactly 13 digits"),
            ("T71200011684a1", "exactly 13 digits"),
            ("", "start with T"),
        ] {
            let e = RegistrationNumber::parse(s).unwrap_err();
            assert!(e.contains(needle), "{s}: {e}");
        }
    }
}
