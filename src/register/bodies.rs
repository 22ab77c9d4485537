//! KOMOJU's typed requests (`komoju::requests`) built from the domain, with the checks of what staff
//! typed; each is serialized once and stored byte for byte before it is sent.

use super::*;
use crate::komoju::requests::{
    to_body, AccountNumber, CreateSession, Refund, RefundRequest, SessionLineItem, SessionMetadata,
    SessionPaymentData,
};

#[allow(clippy::too_many_arguments)]
pub(super) fn session_body(
    draft: &Draft,
    amount: i64,
    number: &InvoiceNumber,
    eon: &str,
    ledger_id: &str,
    attempt: u32,
    methods: &[String],
    locale: Option<&str>,
    expires_in: u32,
) -> String {
    to_body(&CreateSession {
        amount,
        currency: draft.currency.code(),
        default_locale: locale,
        email: draft.customer.email.as_deref(),
        expires_in_seconds: expires_in,
        // Line items only when they add up to the amount (tax-inclusive prices, no discount).
        line_items: (draft.price_mode == PriceMode::Inclusive
            && draft
                .lines
                .iter()
                .try_fold(0i64, |sum, l| sum.checked_add(l.amount()?))
                == Some(amount))
        .then(|| {
            draft
                .lines
                .iter()
                .map(|l| SessionLineItem {
                    amount: l.unit_price,
                    description: &l.name,
                    quantity: l.quantity,
                })
                .collect()
        }),
        metadata: SessionMetadata {
            attempt: attempt.to_string(),
            invoice_number: number.as_str(),
            ledger_id,
        },
        mode: "payment",
        payment_data: SessionPaymentData {
            capture: "auto",
            external_order_num: eon,
            name: draft.customer.name.as_deref(),
            name_kana: draft.customer.name_kana.as_deref(),
        },
        payment_types: methods,
    })
}

/// `POST /payments/:id/refund`'s body.
pub(super) fn refund_body(amount: i64) -> String {
    to_body(&Refund { amount })
}

/// Checks a refund request's bank account as the request would (every field given, branch 3
/// digits, account 7, the holder's name in kana): the screen asks before its confirm step.
pub fn check_bank_account(b: &BankAccount) -> Result<()> {
    refund_request_body(1, b).map(|_| ())
}

pub(super) fn refund_request_body(amount: i64, b: &BankAccount) -> Result<String> {
    let mut missing = Vec::new();
    for (flag, v) in [
        ("bank_name", &b.bank_name),
        ("branch_number", &b.branch_number),
        ("account_type", &b.account_type),
        ("account_number", &b.account_number),
        ("holder_kana", &b.holder_kana),
    ] {
        if v.as_deref().is_none_or(|s| s.trim().is_empty()) {
            missing.push(flag);
        }
    }
    if !missing.is_empty() {
        return Err(Error::bad(
            missing[0],
            format!(
                "konbini, bank transfer and Pay-easy payments are refunded by a refund request to the customer's bank account: give {}",
                missing.iter().map(|f| mention(f)).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let branch = b.branch_number.as_deref().unwrap_or("").trim().to_string();
    if branch.len() != 3 || !branch.bytes().all(|c| c.is_ascii_digit()) {
        return Err(Error::bad(
            "branch_number",
            format!("{branch:?} must be 3 digits"),
        ));
    }
    let account = b.account_number.as_deref().unwrap_or("").trim().to_string();
    if account.len() != 7 || !account.bytes().all(|c| c.is_ascii_digit()) {
        return Err(Error::bad(
            "account_number",
            format!("{account:?} must be 7 digits"),
        ));
    }
    let account_type = match b.account_type.as_deref().unwrap_or("").trim() {
        "futsu" | "普通" => "普通",
        "toza" | "当座" => "当座",
        other => {
            return Err(Error::bad(
                "account_type",
                format!("{other:?} must be futsu (普通) or toza (当座)"),
            ))
        }
    };
    let holder = kana::to_bank_kana(b.holder_kana.as_deref().unwrap_or(""))
        .map_err(|e| Error::bad("holder_kana", e))?;
    let bank_code = b
        .bank_code
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(code) = bank_code {
        if code.len() != 4 || !code.bytes().all(|c| c.is_ascii_digit()) {
            return Err(Error::bad(
                "bank_code",
                format!("{code:?} must be 4 digits (Zengin code)"),
            ));
        }
    }
    Ok(to_body(&RefundRequest {
        account_number: AccountNumber::of(&account),
        account_type,
        amount,
        bank_code,
        bank_name: b.bank_name.as_deref().unwrap_or("").trim(),
        branch_name: b
            .branch_name
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty()),
        branch_number: &branch,
        customer_name: &holder,
        include_payment_method_fee: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bank_account_is_checked_before_any_request() {
        let mut b = BankAccount {
            bank_name: Some("みずほ銀行".into()),
            branch_number: Some("123".into()),
            account_type: Some("futsu".into()),
            account_number: Some("1234567".into()),
            holder_kana: Some("ヤマダ タロウ".into()),
            ..Default::default()
        };
        check_bank_account(&b).unwrap();
        b.branch_number = Some("12".into());
        let e = check_bank_account(&b).unwrap_err();
        assert_eq!(e.field(), Some("branch_number"));
        b.branch_number = Some("123".into());
        b.holder_kana = None;
        assert_eq!(
            check_bank_account(&b).unwrap_err().field(),
            Some("holder_kana")
        );
    }
}
