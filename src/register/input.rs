//! What staff give the use cases (a sale, a bank account, a history query) and its checks.

use super::*;

/// The years a date argument may name: the shop's records start after 2000, and a year beyond
/// 2099 is a typo.
pub const DATE_YEARS: std::ops::RangeInclusive<i32> = 2000..=2099;

/// A day given as exactly `YYYY-MM-DD` (four, two and two digits: `26-1-1` is not the year 26),
/// a real calendar date, its year in [`DATE_YEARS`]. `field` names the argument in errors. Every
/// date argument (`close --date`, `list` / `export` `--from` / `--to`, the app's dates) goes
/// through this.
pub fn parse_day(field: &str, s: &str) -> Result<NaiveDate> {
    use chrono::Datelike;
    let t = s.trim();
    let b = t.as_bytes();
    let shaped = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shaped {
        return Err(Error::bad(
            field,
            format!("{s:?} is not a date in YYYY-MM-DD form (e.g. 2026-01-31)"),
        ));
    }
    let d = NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| {
        Error::bad(
            field,
            format!("{s:?} is not a calendar date (YYYY-MM-DD; no such month or day)"),
        )
    })?;
    if !DATE_YEARS.contains(&d.year()) {
        return Err(Error::bad(
            field,
            format!(
                "{s:?} is out of range: the year must be from {} to {}",
                DATE_YEARS.start(),
                DATE_YEARS.end()
            ),
        ));
    }
    Ok(d)
}

/// What the cashier rang up.
#[derive(Clone, Debug, Default)]
pub struct ChargeRequest {
    pub lines: Vec<LineItem>,
    /// A plain amount instead of lines (one line at `amount_rate`).
    pub amount: Option<i64>,
    pub amount_rate: Option<TaxRate>,
    /// None: JPY.
    pub currency: Option<Currency>,
    pub customer: Customer,
    /// The payment types offered (none: the shop's setting, else KOMOJU's defaults); an unknown one
    /// (`PaymentType::Other`) is refused with the list of known ones.
    pub methods: Vec<PaymentType>,
    pub locale: Option<String>,
    /// Seconds the payment page stays open (60 to 86 400; none: the shop's setting).
    pub expires_in: Option<u32>,
    /// Catalog products (by code or id), rung up before `lines`.
    pub products: Vec<ProductLine>,
    /// Eaten in or taken away (none: the shop's `dining` setting); decides food lines' rate.
    pub dining: Option<Dining>,
    /// The order's discount.
    pub discount: Option<crate::discount::Discount>,
    /// Cash handed over (お預り): at least the total pays the sale at the counter with change; less
    /// is that much in cash and a KOMOJU payment page for the rest.
    pub cash: Option<i64>,
    /// The shop's own tenders (商品券, 売掛, …), applied before cash.
    pub tenders: Vec<crate::tender::ShopTender>,
}

/// Payment types from text (`paypay, konbini`): split at commas and trimmed. Unknown names are kept
/// (as `Other`) for `charge` and the settings to refuse with the list of known ones.
pub fn parse_methods(text: &str) -> Vec<PaymentType> {
    text.split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(PaymentType::from_wire)
        .collect()
}

/// Bank account for a konbini / bank transfer / Pay-easy refund request. Empty fields are "not
/// given" (the app's form sends every field).
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct BankAccount {
    pub bank_name: Option<String>,
    pub bank_code: Option<String>,
    pub branch_number: Option<String>,
    pub branch_name: Option<String>,
    pub account_type: Option<String>,
    pub account_number: Option<String>,
    pub holder_kana: Option<String>,
}

impl BankAccount {
    pub fn is_empty(&self) -> bool {
        self.bank_name.is_none()
            && self.branch_number.is_none()
            && self.account_type.is_none()
            && self.account_number.is_none()
            && self.holder_kana.is_none()
    }
}

#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub status: Option<String>,
    pub method: Option<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub text: Option<String>,
    pub limit: Option<u32>,
}

pub(super) fn validate_methods(methods: &[PaymentType]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for m in methods.iter().map(PaymentType::as_str) {
        if !PaymentType::KNOWN.contains(&m) {
            return Err(Error::bad(
                "methods",
                format!(
                    "{m:?} is not a KOMOJU payment type; known: {}",
                    PaymentType::KNOWN.join(", ")
                ),
            ));
        }
        if !out.iter().any(|o| o == m) {
            out.push(m.to_string());
        }
    }
    Ok(out)
}

pub(super) fn validate_locale(l: Option<&str>) -> Result<Option<String>> {
    match l.map(str::trim) {
        None => Ok(None),
        Some(l @ ("ja" | "en" | "ko")) => Ok(Some(l.to_string())),
        Some(other) => Err(Error::bad(
            "locale",
            format!("{other:?} must be ja, en or ko"),
        )),
    }
}

pub(super) fn clean_text(field: &str, v: Option<&str>, max: usize) -> Result<Option<String>> {
    let Some(v) = v.map(str::trim) else {
        return Ok(None);
    };
    if v.is_empty() {
        return Err(Error::bad(field, "is empty"));
    }
    if v.chars().count() > max {
        return Err(Error::bad(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(Error::bad(field, "contains a control character"));
    }
    Ok(Some(v.to_string()))
}

/// The customer fields as entered (charge, correction): trimmed, checked, named when wrong.
pub(super) fn validate_customer(c: &Customer) -> Result<Customer> {
    Ok(Customer {
        name: clean_text("name", c.name.as_deref(), 100)?,
        name_kana: clean_text("name_kana", c.name_kana.as_deref(), 100)?,
        email: match clean_text("email", c.email.as_deref(), 254)? {
            Some(e) if !looks_like_email(&e) => {
                return Err(Error::bad(
                    "email",
                    format!("{e:?} is not an email address"),
                ))
            }
            other => other,
        },
        phone: match clean_text("phone", c.phone.as_deref(), 20)? {
            Some(p)
                if !p
                    .chars()
                    .all(|ch| ch.is_ascii_digit() || "+-() ".contains(ch))
                    || p.chars().filter(char::is_ascii_digit).count() < 8 =>
            {
                return Err(Error::bad(
                    "phone",
                    format!("{p:?} is not a phone number (digits, + - ( ) and spaces)"),
                ))
            }
            other => other,
        },
    })
}

pub(super) fn looks_like_email(e: &str) -> bool {
    let Some((local, domain)) = e.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.contains(char::is_whitespace)
}
