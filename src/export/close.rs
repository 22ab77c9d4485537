//! The daily close (日計表) as CSV: one line per figure, UTF-8 with a BOM and CRLF (opens in Japanese
//! Excel). Columns `business_date, section, key, count, amount, tax`; see docs/csv.md.

/// The close's figures as CSV text.
pub fn close_csv(c: &crate::ledger::DailyClose) -> String {
    let mut lines = vec!["business_date,section,key,count,amount,tax".to_string()];
    let d = &c.business_date;
    lines.push(format!(
        "{d},sales,total,{},{},",
        c.sales_count, c.sales_total
    ));
    for r in &c.per_rate {
        lines.push(format!(
            "{d},rate,{},,{},{}",
            rate_key(r.rate),
            r.gross,
            r.tax
        ));
    }
    for m in &c.per_method {
        lines.push(format!("{d},method,{},{},{},", m.method, m.count, m.total));
    }
    for r in c.per_rate.iter().filter(|r| r.discount > 0) {
        lines.push(format!(
            "{d},discount,{},,{},",
            rate_key(r.rate),
            r.discount
        ));
    }
    lines.push(format!(
        "{d},refunds,total,{},{},",
        c.refunds_count, c.refunds_total
    ));
    for r in &c.refunds_per_rate {
        lines.push(format!(
            "{d},refund_rate,{},,{},{}",
            rate_key(r.rate),
            r.gross,
            r.tax
        ));
    }
    lines.push(format!(
        "{d},awaiting_payment,total,{},{},",
        c.pending_count, c.pending_total
    ));
    for (s, n) in &c.created_by_status {
        lines.push(format!("{d},created,{s},{n},,"));
    }
    format!("\u{feff}{}\r\n", lines.join("\r\n"))
}

/// A rate as the close's CSV keys it: `10%`, `8%`, `exempt`.
fn rate_key(rate: u8) -> String {
    if rate == 0 {
        "exempt".into()
    } else {
        format!("{rate}%")
    }
}
