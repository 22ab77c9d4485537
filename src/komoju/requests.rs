//! KOMOJU's request bodies, typed: `POST /sessions`, `POST /payments/:id/refund` and
//! `POST /payments/:id/refund_request` (cancels carry no body). The register builds them from the
//! domain, serializes each once with [`to_body`], and the ledger stores those exact bytes before the
//! POST, so a replay after a crash sends the same request.
//!
//! Fields are declared in alphabetical order on purpose: before these types the bodies were
//! `serde_json::Value` objects, whose keys serialize sorted, and a body stored by an older Reji must
//! match what this one would build (the tests below compare both ways).

use serde::Serialize;

/// The bytes of a request body (compact JSON).
pub fn to_body<T: Serialize>(request: &T) -> String {
    // Only strings, integers and booleans: serialization cannot fail.
    serde_json::to_string(request).unwrap_or_else(|e| unreachable!("a request body: {e}"))
}

/// `POST /sessions` in payment mode: the customer's Hosted Page.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CreateSession<'a> {
    /// The tax-inclusive total, in the currency's minor units (none for JPY).
    pub amount: i64,
    pub currency: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_locale: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<&'a str>,
    pub expires_in_seconds: u32,
    /// Only when the lines add up to `amount` (tax-inclusive prices).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_items: Option<Vec<SessionLineItem<'a>>>,
    pub metadata: SessionMetadata<'a>,
    /// Always `payment`.
    pub mode: &'static str,
    pub payment_data: SessionPaymentData<'a>,
    /// Empty: the account's defaults.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub payment_types: &'a [String],
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SessionLineItem<'a> {
    pub amount: i64,
    pub description: &'a str,
    pub quantity: u32,
}

/// Reji's own keys on the session (KOMOJU echoes them back).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SessionMetadata<'a> {
    pub attempt: String,
    pub invoice_number: &'a str,
    pub ledger_id: &'a str,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SessionPaymentData<'a> {
    /// Always `auto`.
    pub capture: &'static str,
    pub external_order_num: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_kana: Option<&'a str>,
}

/// `POST /payments/:id/refund`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Refund {
    pub amount: i64,
}

/// `POST /payments/:id/refund_request`: konbini, bank transfer and Pay-easy money goes back by bank
/// transfer to the customer's account.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RefundRequest<'a> {
    pub account_number: AccountNumber,
    /// `普通` or `当座`.
    pub account_type: &'static str,
    pub amount: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_code: Option<&'a str>,
    pub bank_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch_name: Option<&'a str>,
    pub branch_number: &'a str,
    /// The account holder in half-width katakana.
    pub customer_name: &'a str,
    pub include_payment_method_fee: bool,
}

/// KOMOJU's SDK types the account number as an integer; one with a leading zero would lose it, so
/// such numbers go as text.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum AccountNumber {
    Number(u64),
    Text(String),
}

impl AccountNumber {
    pub fn of(digits: &str) -> AccountNumber {
        match digits.parse::<u64>() {
            Ok(n) if !digits.starts_with('0') => AccountNumber::Number(n),
            _ => AccountNumber::Text(digits.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The bytes are those of the `serde_json::Value` bodies older Reji versions stored.
    #[test]
    fn a_session_body_is_byte_for_byte_what_reji_stored_before() {
        let methods = vec!["paypay".to_string(), "konbini".to_string()];
        let full = CreateSession {
            amount: 1030,
            currency: "JPY",
            default_locale: Some("ja"),
            email: Some("a@example.jp"),
            expires_in_seconds: 3600,
            line_items: Some(vec![
                SessionLineItem {
                    amount: 480,
                    description: "コーヒー \"深煎り\"",
                    quantity: 1,
                },
                SessionLineItem {
                    amount: 550,
                    description: "ケーキ",
                    quantity: 1,
                },
            ]),
            metadata: SessionMetadata {
                attempt: "1".into(),
                invoice_number: "2026-000001",
                ledger_id: "ABCD",
            },
            mode: "payment",
            payment_data: SessionPaymentData {
                capture: "auto",
                external_order_num: "ABCD-2026-000001",
                name: Some("佐藤"),
                name_kana: Some("サトウ"),
            },
            payment_types: &methods,
        };
        let before = json!({
            "mode": "payment",
            "amount": 1030,
            "currency": "JPY",
            "expires_in_seconds": 3600,
            "payment_data": { "external_order_num": "ABCD-2026-000001", "capture": "auto", "name": "佐藤", "name_kana": "サトウ" },
            "metadata": { "invoice_number": "2026-000001", "ledger_id": "ABCD", "attempt": "1" },
            "line_items": [
                { "description": "コーヒー \"深煎り\"", "amount": 480, "quantity": 1 },
                { "description": "ケーキ", "amount": 550, "quantity": 1 },
            ],
            "default_locale": "ja",
            "email": "a@example.jp",
            "payment_types": ["paypay", "konbini"],
        });
        assert_eq!(to_body(&full), before.to_string());

        let bare = CreateSession {
            default_locale: None,
            email: None,
            line_items: None,
            payment_data: SessionPaymentData {
                name: None,
                name_kana: None,
                ..full.payment_data.clone()
            },
            payment_types: &[],
            ..full.clone()
        };
        let before = json!({
            "mode": "payment",
            "amount": 1030,
            "currency": "JPY",
            "expires_in_seconds": 3600,
            "payment_data": { "external_order_num": "ABCD-2026-000001", "capture": "auto" },
            "metadata": { "invoice_number": "2026-000001", "ledger_id": "ABCD", "attempt": "1" },
        });
        assert_eq!(to_body(&bare), before.to_string());
    }

    #[test]
    fn refund_bodies_are_byte_for_byte_what_reji_stored_before() {
        assert_eq!(
            to_body(&Refund { amount: 1000 }),
            json!({ "amount": 1000 }).to_string()
        );
        for (digits, number) in [("1234567", json!(1234567)), ("0123456", json!("0123456"))] {
            let r = RefundRequest {
                account_number: AccountNumber::of(digits),
                account_type: "普通",
                amount: 1750,
                bank_code: Some("0001"),
                bank_name: "みずほ銀行",
                branch_name: Some("本店"),
                branch_number: "001",
                customer_name: "ﾔﾏﾀﾞ ﾀﾛｳ",
                include_payment_method_fee: false,
            };
            let before = json!({
                "amount": 1750,
                "customer_name": "ﾔﾏﾀﾞ ﾀﾛｳ",
                "bank_name": "みずほ銀行",
                "branch_number": "001",
                "account_type": "普通",
                "account_number": number,
                "include_payment_method_fee": false,
                "bank_code": "0001",
                "branch_name": "本店",
            });
            assert_eq!(to_body(&r), before.to_string(), "{digits}");
        }
    }
}
