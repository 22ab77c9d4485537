//! KOMOJU request bodies built from the domain (stored byte for byte before they are sent).

use super::*;

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
    let mut payment_data = json!({ "external_order_num": eon, "capture": "auto" });
    if let Some(n) = &draft.customer.name {
        payment_data["name"] = json!(n);
    }
    if let Some(k) = &draft.customer.name_kana {
        payment_data["name_kana"] = json!(k);
    }
    let mut body = json!({
        "mode": "payment",
        "amount": amount,
        "currency": draft.currency.code(),
        "expires_in_seconds": expires_in,
        "payment_data": payment_data,
        "metadata": { "invoice_number": number.as_str(), "ledger_id": ledger_id, "attempt": attempt.to_string() },
    });
    // Line items only when they add up to the amount (tax-inclusive prices).
    if draft.price_mode == PriceMode::Inclusive {
        body["line_items"] = Value::Array(
            draft.lines.iter().map(|l| json!({ "description": l.name, "amount": l.unit_price, "quantity": l.quantity })).collect(),
        );
    }
    if let Some(l) = locale {
        body["default_locale"] = json!(l);
    }
    if let Some(e) = &draft.customer.email {
        body["email"] = json!(e);
    }
    if !methods.is_empty() {
        body["payment_types"] = json!(methods);
    }
    body.to_string()
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
    let mut body = json!({
        "amount": amount,
        "customer_name": holder,
        "bank_name": b.bank_name.as_deref().unwrap_or("").trim(),
        "branch_number": branch,
        "account_type": account_type,
        // KOMOJU's SDK types it as an integer; a leading zero would be lost, so such numbers go as text.
        "account_number": if account.starts_with('0') { json!(account) } else { json!(account.parse::<u64>().unwrap_or(0)) },
        "include_payment_method_fee": false,
    });
    if let Some(code) = b
        .bank_code
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if code.len() != 4 || !code.bytes().all(|c| c.is_ascii_digit()) {
            return Err(Error::bad(
                "bank_code",
                format!("{code:?} must be 4 digits (Zengin code)"),
            ));
        }
        body["bank_code"] = json!(code);
    }
    if let Some(n) = b
        .branch_name
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        body["branch_name"] = json!(n);
    }
    Ok(body.to_string())
}
