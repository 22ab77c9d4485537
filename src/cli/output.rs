//! What the CLI prints: one JSON value with `--json`, readable text otherwise.

use reji::keychain::SecretKey;
use reji::komoju::PaymentDetails;
use reji::ledger::EventRecord;
use reji::money::{Currency, Money};
use reji::register::{InvoiceView, Settings, SyncReport};
use serde::Serialize;
use std::io::Write;

pub fn print_json<T: Serialize + ?Sized>(v: &T) {
    // Serialising into memory cannot fail for these types; the write ends quietly on a closed pipe.
    let mut buf = serde_json::to_vec_pretty(v).unwrap_or_default();
    buf.push(b'\n');
    let _ = super::stdio::Stdout.write_all(&buf);
}

fn money(amount: i64, currency: &str) -> String {
    match currency.parse::<Currency>() {
        Ok(c) => Money::new(c, amount).to_string(),
        Err(_) => format!("{amount} {currency}"),
    }
}

pub fn charge_banner(v: &InvoiceView) {
    outln!("Invoice   {}", v.invoice_number);
    outln!("Amount    {}", money(v.amount, &v.currency));
    if let Some(s) = &v.session_id {
        outln!("Session   {s}");
    }
    if let Some(u) = &v.session_url {
        outln!("Pay at    {u}");
        if let Ok(qr) = reji::qr::terminal(u) {
            outln!("{qr}");
        }
    } else {
        outln!("(KOMOJU has not answered yet: `reji sync` finishes this charge)");
    }
}

pub fn qr_to_stderr_if_json(json: bool, url: Option<&str>) {
    if let (false, Some(u)) = (json, url) {
        if let Ok(qr) = reji::qr::terminal(u) {
            outln!("{qr}");
        }
    }
}

pub fn invoice(json: bool, v: &InvoiceView, events: Option<&[EventRecord]>) {
    if json {
        print_json(v);
        return;
    }
    outln!(
        "{}  {}  {}",
        v.invoice_number,
        v.status,
        money(v.amount, &v.currency)
    );
    outln!("  created   {}", v.created_at);
    if let Some(p) = &v.paid_at {
        outln!("  paid      {p}");
    }
    if v.tax_10 > 0 || v.tax_8 > 0 {
        outln!(
            "  tax       10%: {}   8%※: {}",
            money(v.tax_10, &v.currency),
            money(v.tax_8, &v.currency)
        );
    }
    for it in &v.items {
        let mark = match it.tax_rate.percent() {
            8 => " ※",
            0 => " (exempt)",
            _ => "",
        };
        outln!(
            "  · {} × {} @ {}{mark}",
            it.name,
            it.quantity,
            money(it.unit_price, &v.currency)
        );
    }
    if let Some(n) = &v.customer.name {
        outln!("  customer  {n}");
    }
    if let Some(s) = &v.session_id {
        outln!(
            "  session   {s} ({}), attempt {}",
            v.session_status.as_deref().unwrap_or("?"),
            v.attempt
        );
    }
    if let Some(u) = &v.session_url {
        outln!("  url       {u}");
    }
    if let Some(e) = &v.expires_at {
        outln!("  expires   {e}");
    }
    if let Some(m) = &v.payment_method {
        outln!(
            "  payment   {m} {} {}",
            v.payment_status.as_deref().unwrap_or(""),
            v.payment_id.as_deref().unwrap_or("")
        );
    }
    if v.refunded_amount > 0 {
        outln!("  refunded  {}", money(v.refunded_amount, &v.currency));
    }
    for r in &v.refund_requests {
        outln!(
            "  refund request {} {}",
            r.get("status")
                .and_then(|s| s.as_str())
                .unwrap_or("pending"),
            r.get("amount")
                .and_then(|a| a.as_i64())
                .map(|a| money(a, &v.currency))
                .unwrap_or_default()
        );
    }
    if v.unanswered_requests > 0 {
        outln!(
            "  {} request(s) to KOMOJU still unanswered: `reji sync` retries them",
            v.unanswered_requests
        );
    }
    instructions(v);
    if let Some(evs) = events {
        outln!("  history");
        // In the shop's time zone, like every other time shown (the offset of the invoice's own time).
        let offset = chrono::DateTime::parse_from_rfc3339(&v.created_at)
            .map(|t| *t.offset())
            .unwrap_or_else(|_| chrono::FixedOffset::east_opt(0).expect("UTC"));
        for e in evs {
            let mv = match (&e.from_status, &e.to_status) {
                (Some(f), Some(t)) => format!("{f} → {t}"),
                (None, Some(t)) => format!("→ {t}"),
                _ => e.detail.clone().unwrap_or_default(),
            };
            outln!(
                "    {}  {:<8} {mv}  ({})",
                e.at.with_timezone(&offset)
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
                e.kind,
                e.cause
            );
        }
    }
}

/// Konbini / bank transfer / Pay-easy: what the customer must do next.
fn instructions(v: &InvoiceView) {
    let d = PaymentDetails::from_value(v.payment_details.as_ref());
    let deadline = v
        .payment_deadline
        .as_deref()
        .unwrap_or("(see instructions)");
    match d {
        PaymentDetails::Konbini(k) => {
            outln!("  ── konbini payment ──");
            outln!("  store              {}", k.store.as_deref().unwrap_or("-"));
            if let Some(r) = &k.receipt {
                outln!("  payment number     {r}");
            }
            if let Some(c) = &k.confirmation_code {
                outln!("  confirmation code  {c}");
            }
            outln!("  pay by             {deadline}");
            if let Some(u) = &k.instructions_url {
                outln!("  instructions       {u}");
            }
        }
        PaymentDetails::BankTransfer(b) => {
            outln!("  ── bank transfer ──");
            outln!(
                "  bank               {}",
                b.bank_name.as_deref().unwrap_or("-")
            );
            outln!(
                "  branch             {}",
                b.account_branch_name.as_deref().unwrap_or("-")
            );
            outln!(
                "  account            {} {}",
                b.account_type.as_deref().unwrap_or(""),
                b.account_number.as_deref().unwrap_or("-")
            );
            outln!(
                "  account name       {}",
                b.account_name.as_deref().unwrap_or("-")
            );
            if let Some(o) = &b.order_id {
                outln!("  order id           {o}");
            }
            outln!(
                "  pay by             {}",
                b.payment_deadline.as_deref().unwrap_or(deadline)
            );
            if let Some(u) = &b.instructions_url {
                outln!("  instructions       {u}");
            }
        }
        PaymentDetails::PayEasy(p) => {
            outln!("  ── Pay-easy ──");
            outln!(
                "  bank id (収納機関番号)  {}",
                p.bank_id.as_deref().unwrap_or("-")
            );
            outln!(
                "  customer id        {}",
                p.customer_id.as_deref().unwrap_or("-")
            );
            outln!(
                "  confirmation id    {}",
                p.confirmation_id.as_deref().unwrap_or("-")
            );
            outln!("  pay by             {deadline}");
            if let Some(u) = &p.instructions_url {
                outln!("  instructions       {u}");
            }
        }
        _ => {}
    }
}

pub fn list(json: bool, list: &[InvoiceView]) {
    if json {
        print_json(list);
        return;
    }
    if list.is_empty() {
        errln!("no invoices match");
        return;
    }
    for v in list {
        outln!(
            "{}  {:<18} {:>12}  {:<13} {}  {}",
            v.invoice_number,
            v.status.as_str(),
            money(v.amount, &v.currency),
            v.payment_method.as_deref().unwrap_or("-"),
            v.created_at,
            v.customer.name.as_deref().unwrap_or("")
        );
    }
}

pub fn sync(json: bool, r: &SyncReport) {
    if json {
        print_json(r);
        return;
    }
    outln!(
        "{} open invoices checked, {} changed",
        r.invoices.len(),
        r.changed
    );
    if let Some(feed) = &r.feed {
        outln!(
            "  waiting konbini / bank payments: {feed} feed, {} request(s)",
            r.feed_requests
        );
    }
    for v in &r.invoices {
        outln!("  {}  {}", v.invoice_number, v.status);
    }
    for e in &r.errors {
        errln!("  {}: {} ({})", e.invoice_number, e.message, e.code);
    }
}

pub fn key(json: bool, k: Option<&SecretKey>, note: &str) {
    if json {
        print_json(&serde_json::json!({
            "key": k.map(|k| k.masked()),
            "mode": k.map(|k| if k.is_live() { "live" } else { "test" }),
            "note": note,
        }));
        return;
    }
    match k {
        Some(k) => outln!(
            "{} ({} key, {note})",
            k.masked(),
            if k.is_live() { "live" } else { "test" }
        ),
        None => outln!("{note}"),
    }
}

pub fn settings(json: bool, s: &Settings) {
    let pairs: Vec<(&str, String)> = Settings::KEYS
        .iter()
        .map(|k| (*k, s.get(k).unwrap_or_default()))
        .collect();
    if json {
        let map: serde_json::Map<String, serde_json::Value> = pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.into()))
            .collect();
        print_json(&map);
    } else {
        for (k, v) in pairs {
            outln!("{k} = {v}");
        }
    }
}

/// One tracker notice: a JSON object per line with `--json`, a readable line otherwise.
pub fn notice(json: bool, n: &reji::tracker::Notice) {
    use reji::tracker::Notice;
    if json {
        // One line per notice, flushed: a reader that went away ends the watch.
        let mut out = super::stdio::Stdout;
        let _ = serde_json::to_writer(&mut out, n);
        let _ = writeln!(out);
        let _ = out.flush();
        return;
    }
    match n {
        Notice::Change {
            invoice_number,
            from,
            to,
            invoice,
        } => outln!(
            "{invoice_number}  {from} → {to}  {}  {}",
            money(invoice.amount, &invoice.currency),
            invoice.payment_method.as_deref().unwrap_or("")
        ),
        Notice::Feed { feed } => errln!("reji: slow lane uses the {} feed", feed.as_str()),
        Notice::KeyProblem { message } => errln!("reji: {message}"),
        Notice::Network { ok: false, message } => {
            errln!("reji: network trouble, retrying: {message}")
        }
        Notice::Network { ok: true, .. } => errln!("reji: connection to KOMOJU is back"),
        Notice::Pass { .. } => {}
    }
}

pub fn path_result(json: bool, what: &str, path: &std::path::Path) {
    if json {
        print_json(&serde_json::json!({ what: path }));
    } else {
        outln!("{what}: {}", path.display());
    }
}

/// What the core wants staff to know beside a result (stderr; stdout stays one JSON value).
pub fn notices(notices: Vec<reji::register::Notice>) {
    for n in notices {
        errln!("reji: {}", n.message);
    }
}

pub fn restored(json: bool, db: &std::path::Path, r: &reji::ledger::RestoreReport) {
    if json {
        print_json(&serde_json::json!({
            "restored": db,
            "saved": r.saved,
            "counters_carried": r.counters_carried.iter().map(|(year, from, to)| {
                serde_json::json!({"year": year, "from": from, "to": to})
            }).collect::<Vec<_>>(),
            "reconcile_since": r.reconcile_since,
        }));
    } else {
        outln!("restored: {}", db.display());
    }
    if let Some(s) = &r.saved {
        errln!("reji: the previous ledger was saved as {}", s.display());
    }
    for (year, from, to) in &r.counters_carried {
        errln!(
            "reji: invoice numbers of {year} continue after {year}-{to:06} (the backup ended at {year}-{from:06}): numbers already issued are never reused"
        );
    }
    errln!(
        "reji: sales made after {} may be missing: the next `reji sync` (or any command that talks to KOMOJU) checks KOMOJU and brings them back",
        r.reconcile_since.format("%Y-%m-%d %H:%M:%S UTC")
    );
}

pub fn repaired(json: bool, db: &std::path::Path, r: &reji::ledger::RepairReport) {
    if json {
        print_json(&serde_json::json!({
            "repaired": db,
            "recorded_version": r.recorded_version,
            "found_version": r.found_version,
            "version": r.version,
            "integrity": r.integrity,
        }));
        return;
    }
    outln!("repaired: {}", db.display());
    if r.found_version > r.recorded_version {
        outln!(
            "  schema version was recorded as {} but the file has the steps up to {}: fixed",
            r.recorded_version,
            r.found_version
        );
    } else {
        outln!("  schema version {}: nothing to fix", r.recorded_version);
    }
    outln!(
        "  now at schema version {}; SQLite integrity check: {}",
        r.version,
        r.integrity
    );
}

pub fn close(json: bool, c: &reji::ledger::DailyClose) {
    if json {
        print_json(c);
        return;
    }
    outln!("日計表 daily close {}  ({})", c.business_date, c.time_zone);
    outln!(
        "  sales            {:>5}  {:>14}",
        c.sales_count,
        money(c.sales_total, "JPY")
    );
    for r in &c.per_rate {
        if r.rate == 0 {
            outln!("    exempt (非課税)         {:>14}", money(r.gross, "JPY"));
            continue;
        }
        let mark = if r.rate == 8 { " ※" } else { "" };
        outln!(
            "    {:>2}% taxable{mark:<3}        {:>14}  (tax {})",
            r.rate,
            money(r.gross, "JPY"),
            money(r.tax, "JPY")
        );
    }
    for m in &c.per_method {
        outln!(
            "    {:<18} {:>5}  {:>14}",
            m.method,
            m.count,
            money(m.total, "JPY")
        );
    }
    outln!(
        "  refunds          {:>5}  {:>14}",
        c.refunds_count,
        money(c.refunds_total, "JPY")
    );
    outln!(
        "  awaiting payment {:>5}  {:>14}",
        c.pending_count,
        money(c.pending_total, "JPY")
    );
    let created: Vec<String> = c
        .created_by_status
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    outln!(
        "  rung up today    {}",
        if created.is_empty() {
            "-".to_string()
        } else {
            created.join(", ")
        }
    );
    outln!("  closed at        {}", c.closed_at);
}
