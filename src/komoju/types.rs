//! KOMOJU's JSON objects, read tolerantly: unknown fields are ignored, unknown statuses and payment
//! types are kept as `Other(String)`, unparseable timestamps become `None` rather than failing a whole
//! poll. `payment_details` is kept exactly as KOMOJU sent it, with typed views for the methods Reji
//! shows instructions for.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use std::fmt;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant,)* Other(String) }
        impl $name {
            pub fn as_str(&self) -> &str {
                match self { $($name::$variant => $s,)* $name::Other(s) => s }
            }
            pub fn from_wire(s: &str) -> Self {
                match s { $($s => $name::$variant,)* other => $name::Other(other.to_string()) }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok($name::from_wire(&String::deserialize(d)?))
            }
        }
        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// `session.status` (N `SessionStatus`); KOMOJU's EC-CUBE plugin also checks `failed`.
    SessionStatus { Pending = "pending", Completed = "completed", Cancelled = "cancelled" }
);

string_enum!(
    /// `payment.status` (N `PaymentStatus`).
    PaymentStatus {
        Pending = "pending",
        Authorized = "authorized",
        Captured = "captured",
        Refunded = "refunded",
        Cancelled = "cancelled",
        Expired = "expired",
        Failed = "failed",
    }
);

string_enum!(
    /// KOMOJU's payment type names (`payment_types` on a session, `payment_details.type`).
    PaymentType {
        CreditCard = "credit_card",
        Konbini = "konbini",
        BankTransfer = "bank_transfer",
        PayEasy = "pay_easy",
        Paypay = "paypay",
        Linepay = "linepay",
        Merpay = "merpay",
        Rakutenpay = "rakutenpay",
        Aupay = "aupay",
        Alipay = "alipay",
        Wechatpay = "wechatpay",
        Paidy = "paidy",
        WebMoney = "web_money",
        BitCash = "bit_cash",
        NetCash = "net_cash",
        Nanaco = "nanaco",
        ApplePay = "apple_pay",
        GooglePay = "google_pay",
        Unionpay = "unionpay",
    }
);

impl PaymentType {
    /// Types KOMOJU documents; `--methods` accepts only these.
    pub const KNOWN: &'static [&'static str] = &[
        "credit_card",
        "konbini",
        "bank_transfer",
        "pay_easy",
        "paypay",
        "linepay",
        "merpay",
        "rakutenpay",
        "aupay",
        "alipay",
        "wechatpay",
        "paidy",
        "web_money",
        "bit_cash",
        "net_cash",
        "nanaco",
        "apple_pay",
        "google_pay",
        "unionpay",
    ];

    /// Konbini, bank transfer and Pay-easy are authorized first and paid days later at a store or
    /// bank; KOMOJU cannot refund them to the payer (only a refund *request* to a bank account).
    pub fn pays_later(&self) -> bool {
        matches!(
            self,
            PaymentType::Konbini | PaymentType::BankTransfer | PaymentType::PayEasy
        )
    }
}

/// Timestamps that fail to parse are treated as absent instead of failing the object.
fn lenient_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let v = Option::<Value>::deserialize(d)?;
    Ok(match v {
        Some(Value::String(s)) => parse_time(&s),
        _ => None,
    })
}

/// Parses KOMOJU's ISO 8601 times (`2020-12-09T18:26:59.000+09:00`, or with `Z`).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.to_utc())
}

fn null_as_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Session {
    pub id: String,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub session_url: Option<String>,
    #[serde(default)]
    pub return_url: Option<String>,
    #[serde(default)]
    pub default_locale: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub cancelled_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub completed_at: Option<DateTime<Utc>>,
    pub status: SessionStatus,
    #[serde(default, deserialize_with = "null_as_default")]
    pub expired: bool,
    #[serde(default)]
    pub payment: Option<Payment>,
    #[serde(default)]
    pub payment_data: Option<Value>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Refund {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub amount: i64,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct RefundRequest {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub amount: Option<i64>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct Payment {
    pub id: String,
    pub status: PaymentStatus,
    /// Before tax in KOMOJU's words; Reji sends no `tax`, so this is the invoice total.
    pub amount: i64,
    #[serde(default)]
    pub tax: Option<i64>,
    #[serde(default)]
    pub total: Option<i64>,
    pub currency: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub payment_method_fee: i64,
    /// Exactly as KOMOJU sent it.
    #[serde(default)]
    pub payment_details: Option<Value>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub payment_deadline: Option<DateTime<Utc>>,
    #[serde(default)]
    pub external_order_num: Option<String>,
    /// The session id this payment came from.
    #[serde(default)]
    pub session: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub captured_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub amount_refunded: i64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub refunds: Vec<Refund>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub refund_requests: Vec<RefundRequest>,
}

impl Payment {
    pub fn payment_type(&self) -> Option<PaymentType> {
        self.payment_details
            .as_ref()
            .and_then(|d| d.get("type"))
            .and_then(Value::as_str)
            .map(PaymentType::from_wire)
    }

    pub fn details(&self) -> PaymentDetails {
        PaymentDetails::from_value(self.payment_details.as_ref())
    }
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct KonbiniDetails {
    pub store: Option<String>,
    pub email: Option<String>,
    pub receipt: Option<String>,
    pub confirmation_code: Option<String>,
    pub instructions_url: Option<String>,
    pub barcode_url: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct BankTransferDetails {
    pub order_id: Option<String>,
    pub bank_name: Option<String>,
    pub account_branch_name: Option<String>,
    pub account_type: Option<String>,
    pub account_number: Option<String>,
    pub account_name: Option<String>,
    pub instructions_url: Option<String>,
    pub payment_deadline: Option<String>,
    pub email: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct PayEasyDetails {
    pub bank_id: Option<String>,
    pub customer_id: Option<String>,
    pub confirmation_id: Option<String>,
    pub instructions_url: Option<String>,
    pub payment_url: Option<String>,
    pub email: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct CreditCardDetails {
    pub brand: Option<String>,
    pub last_four_digits: Option<String>,
    pub month: Option<Value>,
    pub year: Option<Value>,
    pub email: Option<String>,
}

/// A typed view of `payment_details`, with the raw JSON kept for everything else.
#[derive(Clone, Debug, PartialEq)]
pub enum PaymentDetails {
    Konbini(KonbiniDetails),
    BankTransfer(BankTransferDetails),
    PayEasy(PayEasyDetails),
    CreditCard(CreditCardDetails),
    Other(Value),
    None,
}

impl PaymentDetails {
    pub fn from_value(v: Option<&Value>) -> Self {
        let Some(v) = v else {
            return PaymentDetails::None;
        };
        fn typed<T: serde::de::DeserializeOwned>(v: &Value) -> Option<T> {
            serde_json::from_value(v.clone()).ok()
        }
        let kind = v.get("type").and_then(Value::as_str).unwrap_or("");
        let parsed = match kind {
            "konbini" => typed(v).map(PaymentDetails::Konbini),
            "bank_transfer" => typed(v).map(PaymentDetails::BankTransfer),
            "pay_easy" => typed(v).map(PaymentDetails::PayEasy),
            "credit_card" => typed(v).map(PaymentDetails::CreditCard),
            _ => None,
        };
        parsed.unwrap_or_else(|| PaymentDetails::Other(v.clone()))
    }

    pub fn instructions_url(&self) -> Option<&str> {
        match self {
            PaymentDetails::Konbini(k) => k.instructions_url.as_deref(),
            PaymentDetails::BankTransfer(b) => b.instructions_url.as_deref(),
            PaymentDetails::PayEasy(p) => p.instructions_url.as_deref(),
            _ => None,
        }
    }
}

/// KOMOJU's list envelope (`PaymentList`, `EventList`).
#[derive(Clone, Debug, Deserialize)]
pub struct List<T> {
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default)]
    pub page: Option<u32>,
    #[serde(default)]
    pub per_page: Option<u32>,
    #[serde(default)]
    pub last_page: Option<u32>,
}

impl<T> List<T> {
    /// Whether a later page exists (tolerates a missing `last_page`: a short page is the last).
    pub fn has_more(&self, requested_per_page: u32) -> bool {
        match (self.page, self.last_page) {
            (Some(p), Some(l)) => p < l,
            _ => self.data.len() as u32 >= requested_per_page,
        }
    }
}

/// A past webhook event (`GET /events`).
#[derive(Clone, Debug, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub data: Value,
    #[serde(default, deserialize_with = "lenient_time")]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub reason: Option<String>,
}

impl Event {
    /// The payment carried by a `payment.*` event, if it parses.
    pub fn payment(&self) -> Option<Payment> {
        self.kind
            .starts_with("payment.")
            .then(|| serde_json::from_value(self.data.clone()).ok())
            .flatten()
    }
}

/// KOMOJU's error body: `{"error": {"code", "message", "param", "details"}}`.
#[derive(Clone, Debug, Deserialize)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub param: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_session_example_and_tolerates_extras() {
        let s: Session = serde_json::from_str(
            r#"{"id":"e9x5mvx3jkpkofzcg7umfael6","resource":"session","mode":"payment","amount":8888,
            "currency":"JPY","payment":null,"session_url":"https://komoju.com/sessions/e9x5mvx3jkpkofzcg7umfael6",
            "return_url":"https://example.com","default_locale":"ja","payment_methods":[{"type":"credit_card"}],
            "created_at":"2020-08-17T18:03:53.000+09:00","cancelled_at":null,"completed_at":null,
            "status":"pending","brand_new_field":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(s.status, SessionStatus::Pending);
        assert!(!s.expired);
        assert_eq!(
            s.created_at.unwrap().to_rfc3339(),
            "2020-08-17T09:03:53+00:00"
        );
    }

    #[test]
    fn unknown_statuses_and_types_are_kept() {
        let p: Payment = serde_json::from_str(
            r#"{"id":"p1","status":"on_hold","amount":100,"currency":"JPY",
                "payment_details":{"type":"space_coin","wallet":"x"},"created_at":"not a time"}"#,
        )
        .unwrap();
        assert_eq!(p.status, PaymentStatus::Other("on_hold".into()));
        assert_eq!(
            p.payment_type(),
            Some(PaymentType::Other("space_coin".into()))
        );
        assert!(matches!(p.details(), PaymentDetails::Other(_)));
        assert_eq!(p.created_at, None);
    }

    #[test]
    fn konbini_details_are_typed() {
        let p: Payment = serde_json::from_str(
            r#"{"id":"p1","status":"authorized","amount":100,"currency":"JPY","payment_method_fee":190,
              "payment_details":{"type":"konbini","store":"family-mart","confirmation_code":"c9oc7",
              "receipt":"zaixaa0qlh","instructions_url":"https://komoju.com/en/instructions/x","email":"a@b.jp"}}"#,
        )
        .unwrap();
        match p.details() {
            PaymentDetails::Konbini(k) => {
                assert_eq!(k.store.as_deref(), Some("family-mart"));
                assert_eq!(k.receipt.as_deref(), Some("zaixaa0qlh"));
            }
            other => panic!("{other:?}"),
        }
        assert!(PaymentType::Konbini.pays_later());
    }
}
