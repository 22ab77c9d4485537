//! The shop's own products: what a cashier scans or taps, with a price, a tax class and maybe a
//! JAN code. Products are versioned, never deleted (archived): a sale keeps the product's id
//! together with the name and price as sold.

pub mod code;
pub mod csv;

pub use code::{CodeError, ProductCode};

use crate::tax::{Dining, TaxClass};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The highest product price (yen): eight digits, as a register's display shows them.
pub const MAX_PRICE: i64 = 99_999_999;
pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_KANA_CHARS: usize = 100;
pub const MAX_CATEGORY_CHARS: usize = 30;
/// Quick keys are numbered from 1; the register shows them in pages.
pub const MAX_QUICK_KEY: u32 = 999;

/// A product as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Product {
    /// Unique across registers (`prd_` and a time-ordered random part).
    pub id: String,
    pub name: String,
    pub kana: Option<String>,
    /// In the shop's price mode (tax-inclusive by default).
    pub price: i64,
    pub class: TaxClass,
    pub code: Option<String>,
    pub category: Option<String>,
    pub quick_key: Option<u32>,
    pub archived: bool,
    /// 1 when added; each change adds one (the ledger keeps every version).
    pub version: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Product {
    /// The line this product rings up as: its name and price now, the rate its class bears for
    /// this order.
    pub fn line(&self, quantity: u32, dining: Dining) -> crate::invoice::LineItem {
        crate::invoice::LineItem {
            name: self.name.clone(),
            unit_price: self.price,
            quantity,
            tax_rate: self.class.rate(dining),
            product_id: Some(self.id.clone()),
            discount: 0,
        }
    }
}

/// A product's fields as typed (CLI, CSV, the app's form): text, checked by [`ProductInput::check`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ProductInput {
    pub name: Option<String>,
    pub kana: Option<String>,
    pub price: Option<String>,
    pub class: Option<String>,
    pub code: Option<String>,
    pub category: Option<String>,
    pub quick_key: Option<String>,
}

/// Checked fields, ready to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductFields {
    pub name: String,
    pub kana: Option<String>,
    pub price: i64,
    pub class: TaxClass,
    pub code: Option<ProductCode>,
    pub category: Option<String>,
    pub quick_key: Option<u32>,
}

/// One field's problem: `field` is the neutral name (`name`, `price`, `class`, `code`, …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    pub field: &'static str,
    pub message: String,
}

impl ProductInput {
    /// Every problem at once (a form marks each field; an import lists each cell). A missing class
    /// is `general`; `base` gives the values of fields left out when editing.
    pub fn check(&self, base: Option<&ProductFields>) -> Result<ProductFields, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let mut bad =
            |field: &'static str, message: String| problems.push(FieldProblem { field, message });
        let name = match (&self.name, base) {
            (Some(n), _) => check_text(n, MAX_NAME_CHARS)
                .and_then(|t| t.ok_or_else(|| "a product needs a name".to_string()))
                .map_err(|m| bad("name", m))
                .ok(),
            (None, Some(b)) => Some(b.name.clone()),
            (None, None) => {
                bad("name", "a product needs a name".into());
                None
            }
        };
        let kana = match (&self.kana, base) {
            (Some(k), _) => check_text(k, MAX_KANA_CHARS)
                .map_err(|m| bad("kana", m))
                .ok()
                .flatten(),
            (None, b) => b.and_then(|b| b.kana.clone()),
        };
        let price = match (&self.price, base) {
            (Some(p), _) => parse_price(p).map_err(|m| bad("price", m)).ok(),
            (None, Some(b)) => Some(b.price),
            (None, None) => {
                bad("price", "a product needs a price (yen, 0 or more)".into());
                None
            }
        };
        let class = match (&self.class, base) {
            (Some(c), _) if !c.trim().is_empty() => {
                c.parse::<TaxClass>().map_err(|m| bad("class", m)).ok()
            }
            (_, Some(b)) => Some(b.class),
            (_, None) => Some(TaxClass::General),
        };
        let code = match (&self.code, base) {
            (Some(c), _) if c.trim().is_empty() => None,
            (Some(c), _) => ProductCode::parse(c)
                .map_err(|e| bad("code", e.to_string()))
                .ok(),
            (None, b) => b.and_then(|b| b.code.clone()),
        };
        let category = match (&self.category, base) {
            (Some(c), _) => check_text(c, MAX_CATEGORY_CHARS)
                .map_err(|m| bad("category", m))
                .ok()
                .flatten(),
            (None, b) => b.and_then(|b| b.category.clone()),
        };
        let quick_key = match (&self.quick_key, base) {
            (Some(q), _) if q.trim().is_empty() => None,
            (Some(q), _) => parse_quick_key(q).map_err(|m| bad("quick_key", m)).ok(),
            (None, b) => b.and_then(|b| b.quick_key),
        };
        match (name, price, class) {
            (Some(name), Some(price), Some(class)) if problems.is_empty() => Ok(ProductFields {
                name,
                kana,
                price,
                class,
                code,
                category,
                quick_key,
            }),
            _ => Err(problems),
        }
    }
}

impl ProductFields {
    pub fn of(p: &Product) -> ProductFields {
        ProductFields {
            name: p.name.clone(),
            kana: p.kana.clone(),
            price: p.price,
            class: p.class,
            code: p.code.as_deref().and_then(|c| ProductCode::parse(c).ok()),
            category: p.category.clone(),
            quick_key: p.quick_key,
        }
    }

    /// What a search matches: name, kana, code and category, folded ([`fold`]).
    pub fn search_text(&self) -> String {
        let mut s = fold(&self.name);
        for part in [
            self.kana.as_deref(),
            self.code.as_ref().map(|c| c.as_str()),
            self.category.as_deref(),
        ]
        .into_iter()
        .flatten()
        {
            s.push('\u{1f}');
            s.push_str(&fold(part));
        }
        s
    }
}

/// Trimmed text without control characters, at most `max` characters; empty is `None`.
fn check_text(s: &str, max: usize) -> Result<Option<String>, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if t.chars().any(char::is_control) {
        return Err(format!(
            "{t:?} contains a control character (a line break or tab)"
        ));
    }
    if t.chars().count() > max {
        return Err(format!("is longer than {max} characters"));
    }
    Ok(Some(t.to_string()))
}

/// A price as a shop writes it: `480`, `1,200`, `¥1,200`, `1200円`, full-width digits.
pub fn parse_price(s: &str) -> Result<i64, String> {
    let t: String = s
        .trim()
        .trim_start_matches(['¥', '￥'])
        .trim_end_matches('円')
        .chars()
        .filter(|c| *c != ',' && *c != '，')
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            c => c,
        })
        .collect();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{:?} is not a price: whole yen, 0 or more (e.g. 480)",
            s.trim()
        ));
    }
    match t.parse::<i64>() {
        Ok(p) if p <= MAX_PRICE => Ok(p),
        _ => Err(format!(
            "{:?} is out of range: a product's price is at most ¥{}",
            s.trim(),
            crate::money::Money::new(crate::money::Currency::JPY, MAX_PRICE)
                .to_string()
                .trim_start_matches('¥')
        )),
    }
}

fn parse_quick_key(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n @ 1..=MAX_QUICK_KEY) => Ok(n),
        _ => Err(format!(
            "quick key {:?} must be a position from 1 to {MAX_QUICK_KEY}",
            s.trim()
        )),
    }
}

/// Text folded for search: full-width ASCII to ASCII, lower case, hiragana to katakana,
/// half-width katakana to full-width, so `ｺｰﾋｰ`, `こーひー` and `コーヒー` match each other.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let c = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            '\u{3041}'..='\u{3096}' => char::from_u32(c as u32 + 0x60).unwrap_or(c),
            c => c,
        };
        if ('\u{FF66}'..='\u{FF9D}').contains(&c) {
            // A voiced mark after a half-width kana joins it (ｶﾞ → ガ, ｳﾞ → ヴ).
            if let Some(&mark @ ('ﾞ' | 'ﾟ')) = chars.peek() {
                let pair: String = [c, mark].iter().collect();
                if let Some(full) = crate::kana::half_to_full(&pair) {
                    chars.next();
                    out.push(full);
                    continue;
                }
            }
            if let Some(full) = crate::kana::half_to_full(c.encode_utf8(&mut [0; 4])) {
                out.push(full);
                continue;
            }
        }
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else if c.is_uppercase() {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A new product id: `prd_`, 10 characters of milliseconds and 16 random ones (Crockford base 32,
/// lower case): time-ordered and unique across registers without coordination. Ids made in the
/// same millisecond by this process count up from the first one's random part (an import's
/// products are stored in order, pages filled).
pub fn new_product_id(now: DateTime<Utc>) -> String {
    use rand::Rng;
    use std::sync::Mutex;
    static LAST: Mutex<(i64, u128)> = Mutex::new((i64::MIN, 0));
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let ms_now = now.timestamp_millis().max(0);
    let random: u128 = {
        let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
        let r = if last.0 == ms_now && last.1 + 1 < (1u128 << 80) {
            last.1 + 1
        } else {
            // 80 random bits, the top one clear so that counting up never overflows in practice.
            rand::thread_rng().gen::<u128>() & ((1u128 << 79) - 1)
        };
        *last = (ms_now, r);
        r
    };
    let mut id = String::with_capacity(30);
    id.push_str("prd_");
    let mut ms = ms_now as u64;
    let mut time = [0u8; 10];
    for slot in time.iter_mut().rev() {
        *slot = ALPHABET[(ms % 32) as usize];
        ms /= 32;
    }
    id.extend(time.iter().map(|b| *b as char));
    let mut tail = [0u8; 16];
    let mut r = random;
    for slot in tail.iter_mut().rev() {
        *slot = ALPHABET[(r % 32) as usize];
        r /= 32;
    }
    id.extend(tail.iter().map(|b| *b as char));
    id
}

/// Whether `s` has the shape of a product id (to tell an id from a code or a name).
pub fn is_product_id(s: &str) -> bool {
    s.strip_prefix("prd_").is_some_and(|rest| {
        rest.len() == 26
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, price: &str) -> ProductInput {
        ProductInput {
            name: Some(name.into()),
            price: Some(price.into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_product_is_checked_field_by_field() {
        let f = input(" ブレンドコーヒー ", "¥480").check(None).unwrap();
        assert_eq!(
            (f.name.as_str(), f.price, f.class),
            ("ブレンドコーヒー", 480, TaxClass::General)
        );
        let bad = ProductInput {
            name: Some("".into()),
            price: Some("4.80".into()),
            class: Some("luxury".into()),
            code: Some("4901234567890".into()),
            quick_key: Some("0".into()),
            ..Default::default()
        };
        let problems = bad.check(None).unwrap_err();
        let fields: Vec<_> = problems.iter().map(|p| p.field).collect();
        assert_eq!(fields, ["name", "price", "class", "code", "quick_key"]);
        assert!(input("x", "100000000").check(None).unwrap_err()[0]
            .message
            .contains("out of range"));
        assert_eq!(
            input("x", "99,999,999").check(None).unwrap().price,
            MAX_PRICE
        );
    }

    #[test]
    fn an_edit_keeps_what_it_does_not_name() {
        let base = input("ラテ", "520").check(None).unwrap();
        let edit = ProductInput {
            price: Some("540".into()),
            ..Default::default()
        };
        let f = edit.check(Some(&base)).unwrap();
        assert_eq!((f.name.as_str(), f.price), ("ラテ", 540));
    }

    #[test]
    fn search_folds_kana_and_width() {
        assert_eq!(fold("ｺｰﾋｰ"), fold("こーひー"));
        assert_eq!(fold("ｶﾞﾑ"), "ガム");
        assert_eq!(fold("ＡＢＣ"), "abc");
    }

    #[test]
    fn ids_are_unique_and_time_ordered() {
        let t0 = chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let a = new_product_id(t0);
        let b = new_product_id(t0 + chrono::Duration::milliseconds(1));
        assert!(is_product_id(&a) && is_product_id(&b), "{a} {b}");
        assert!(a < b);
        let (c, d) = (new_product_id(t0), new_product_id(t0));
        assert!(c < d, "same millisecond: counting up ({c} {d})");
        assert!(!is_product_id("4901234567894"));
    }

    #[test]
    fn food_follows_the_order_and_the_others_do_not() {
        use crate::tax::TaxRate;
        assert_eq!(TaxClass::Food.rate(Dining::EatIn), TaxRate::Standard);
        assert_eq!(TaxClass::Food.rate(Dining::TakeAway), TaxRate::Reduced);
        assert_eq!(TaxClass::Reduced.rate(Dining::EatIn), TaxRate::Reduced);
        assert_eq!(TaxClass::General.rate(Dining::TakeAway), TaxRate::Standard);
        assert_eq!(TaxClass::Exempt.rate(Dining::EatIn), TaxRate::Exempt);
    }
}
