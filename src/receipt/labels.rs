//! Names and widths: payment types in Japanese, terminal columns, shop-local times.

/// Japanese names of KOMOJU's payment types, as printed on receipts.
pub fn method_label(t: &str) -> String {
    if let Some(name) = t.strip_prefix("shop:") {
        return name.to_string();
    }
    match t {
        "cash" => "現金",
        "credit_card" => "クレジットカード",
        "konbini" => "コンビニ払い",
        "bank_transfer" => "銀行振込",
        "pay_easy" => "ペイジー",
        "paypay" => "PayPay",
        "linepay" => "LINE Pay",
        "merpay" => "メルペイ",
        "rakutenpay" => "楽天ペイ",
        "aupay" | "au_pay" => "au PAY",
        "docomo" | "d_barai" | "dbarai" => "d払い",
        "softbank" => "ソフトバンクまとめて支払い",
        "web_money" => "WebMoney",
        "bit_cash" => "BitCash",
        "net_cash" => "NET CASH",
        "apple_pay" => "Apple Pay",
        "google_pay" => "Google Pay",
        "alipay" => "Alipay",
        "wechatpay" => "WeChat Pay",
        other => other,
    }
    .to_string()
}

/// Terminal columns of a string: wide (CJK, full-width) characters count 2.
pub fn display_width(s: &str) -> usize {
    s.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

pub(crate) fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD)
        || c == '※'
}

/// An RFC 3339 instant as `YYYY-MM-DD HH:MM` in the named time zone (unchanged if either is odd).
pub(crate) fn local_time(at: &str, tz: &str) -> String {
    match (
        chrono::DateTime::parse_from_rfc3339(at),
        tz.parse::<chrono_tz::Tz>(),
    ) {
        (Ok(t), Ok(tz)) => t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
        _ => at.to_string(),
    }
}
