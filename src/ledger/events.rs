//! Status moves (compare-and-set) and the append-only, hash-chained event log.

use super::*;

pub(super) fn cas(
    tx: &Connection,
    invoice_id: i64,
    to: InvoiceStatus,
    allowed: &[InvoiceStatus],
    now: DateTime<Utc>,
    facts: &MoveFacts,
) -> Result<usize> {
    if allowed.is_empty() {
        return Ok(0);
    }
    let placeholders: Vec<String> = (0..allowed.len()).map(|i| format!("?{}", i + 6)).collect();
    let sql = format!(
        "UPDATE invoices SET status = ?2, updated_at = ?3, paid_at = COALESCE(paid_at, ?4),
            refunded_amount = COALESCE(?5, refunded_amount)
         WHERE id = ?1 AND status IN ({})",
        placeholders.join(",")
    );
    let mut args: Vec<rusqlite::types::Value> = vec![
        invoice_id.into(),
        to.as_str().to_string().into(),
        ts(now).into(),
        facts.paid_at.map(ts).into(),
        facts.refunded_amount.into(),
    ];
    args.extend(
        allowed
            .iter()
            .map(|s| rusqlite::types::Value::from(s.as_str().to_string())),
    );
    Ok(tx.execute(&sql, params_from_iter(args))?)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn log_event(
    conn: &Connection,
    invoice_id: i64,
    now: DateTime<Utc>,
    kind: &str,
    from: Option<&str>,
    to: Option<InvoiceStatus>,
    cause: &str,
    detail: Option<&str>,
) -> Result<()> {
    let (last_id, prev): (i64, Option<String>) = conn
        .query_row(
            "SELECT id, hash FROM events ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, None));
    let id = last_id + 1;
    let at = ts(now);
    let to = to.map(|s| s.as_str());
    let hash = event_hash(
        prev.as_deref(),
        id,
        invoice_id,
        &at,
        kind,
        from,
        to,
        cause,
        detail,
    );
    conn.execute(
        "INSERT INTO events(id, invoice_id, at, kind, from_status, to_status, cause, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![id, invoice_id, at, kind, from, to, cause, detail, prev, hash],
    )?;
    Ok(())
}

/// SHA-256 over the previous hash and the row's fields (a JSON array: unambiguous), hex.
#[allow(clippy::too_many_arguments)]
pub(super) fn event_hash(
    prev: Option<&str>,
    id: i64,
    invoice_id: i64,
    at: &str,
    kind: &str,
    from: Option<&str>,
    to: Option<&str>,
    cause: &str,
    detail: Option<&str>,
) -> String {
    use sha2::{Digest, Sha256};
    let canonical =
        serde_json::json!([prev, id, invoice_id, at, kind, from, to, cause, detail]).to_string();
    let digest = Sha256::digest(canonical.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Migration 3: chain the rows written before hashes existed, in id order.
pub(super) fn backfill_hashes(tx: &Connection) -> Result<()> {
    let rows: Vec<EventRow> = {
        let mut st = tx.prepare("SELECT id, invoice_id, at, kind, from_status, to_status, cause, detail FROM events ORDER BY id")?;
        let it = st.query_map([], event_row_raw)?;
        it.collect::<rusqlite::Result<_>>()?
    };
    let mut prev: Option<String> = None;
    for r in rows {
        let h = event_hash(
            prev.as_deref(),
            r.0,
            r.1,
            &r.2,
            &r.3,
            r.4.as_deref(),
            r.5.as_deref(),
            &r.6,
            r.7.as_deref(),
        );
        tx.execute(
            "UPDATE events SET prev_hash = ?2, hash = ?3 WHERE id = ?1",
            params![r.0, prev, h],
        )?;
        prev = Some(h);
    }
    Ok(())
}

pub(super) type EventRow = (
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
);

pub(super) fn event_row_raw(r: &Row<'_>) -> rusqlite::Result<EventRow> {
    r.try_into()
}

/// What `reji verify` found.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ChainReport {
    pub events: u64,
    pub ok: bool,
    /// The first event whose hash does not match its content or its predecessor.
    pub first_bad_event: Option<i64>,
    pub problem: Option<String>,
    pub integrity: String,
}

/// The compare-and-set and its events, on a connection inside a transaction.
pub(super) fn transition_on(
    tx: &Connection,
    invoice_id: i64,
    to: InvoiceStatus,
    kind: MoveKind,
    cause: &str,
    facts: &MoveFacts,
    now: DateTime<Utc>,
) -> Result<Move> {
    let (from_s, refunded): (String, i64) = tx.query_row(
        "SELECT status, refunded_amount FROM invoices WHERE id = ?1",
        [invoice_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let from: InvoiceStatus = from_s.parse().map_err(LedgerError::Corrupt)?;
    // Refunds only ever grow; an older snapshot never lowers the amount.
    let refund_grew = facts.refunded_amount.filter(|a| *a > refunded);
    let refund_detail = refund_grew.map(|new| format!("{refunded}->{new}"));
    let log_refund = || {
        log_event(
            tx,
            invoice_id,
            now,
            "refund",
            None,
            None,
            cause,
            refund_detail.as_deref(),
        )
    };
    if from == to && !(to == InvoiceStatus::PartiallyRefunded && refund_grew.is_some()) {
        if let (Some(new), true) = (refund_grew, to.is_captured()) {
            tx.execute(
                "UPDATE invoices SET refunded_amount = ?2, updated_at = ?3 WHERE id = ?1",
                params![invoice_id, new, ts(now)],
            )?;
            log_refund()?;
        }
        return Ok(Move::Unchanged);
    }
    let facts = &MoveFacts {
        paid_at: facts.paid_at,
        refunded_amount: refund_grew,
    };
    let allowed = allowed_from(to, kind);
    let n = cas(tx, invoice_id, to, allowed, now, facts)?;
    if n == 0 {
        log_event(
            tx,
            invoice_id,
            now,
            "refused",
            Some(&from_s),
            Some(to),
            cause,
            None,
        )?;
        return Ok(Move::Refused { from, to });
    }
    log_event(
        tx,
        invoice_id,
        now,
        "status",
        Some(&from_s),
        Some(to),
        cause,
        None,
    )?;
    if refund_grew.is_some() {
        log_refund()?;
    }
    Ok(Move::Applied { from, to })
}

impl Ledger {
    /// The one way a status changes: a compare-and-set allowed by `states.md`, logged. Inside
    /// [`Ledger::atomically`] it joins the caller's transaction.
    pub fn transition(
        &mut self,
        invoice_id: i64,
        to: InvoiceStatus,
        kind: MoveKind,
        cause: &str,
        facts: &MoveFacts,
        now: DateTime<Utc>,
    ) -> Result<Move> {
        self.in_transaction(|tx| transition_on(tx, invoice_id, to, kind, cause, facts, now))
    }

    /// Appends a note (staff action, refund request, …) to the invoice's event log.
    pub fn note(
        &mut self,
        invoice_id: i64,
        kind: &str,
        cause: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        log_event(&tx, invoice_id, now, kind, None, None, cause, Some(detail))?;
        tx.commit()?;
        Ok(())
    }

    pub fn events(&self, invoice_id: i64) -> Result<Vec<EventRecord>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, at, kind, from_status, to_status, cause, detail FROM events WHERE invoice_id = ?1 ORDER BY id",
        )?;
        let rows = st.query_map([invoice_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (id, at, kind, from_status, to_status, cause, detail) = r?;
            out.push(EventRecord {
                id,
                at: parse_ts(&at)?,
                kind,
                from_status,
                to_status,
                cause,
                detail,
            });
        }
        Ok(out)
    }

    /// Recomputes the event log's hash chain and SQLite's integrity check.
    pub fn verify(&self) -> Result<ChainReport> {
        let mut st = self.conn.prepare(
            "SELECT id, invoice_id, at, kind, from_status, to_status, cause, detail, prev_hash, hash FROM events ORDER BY id",
        )?;
        let mut rows = st.query([])?;
        let mut prev: Option<String> = None;
        let mut expected_id = None::<i64>;
        let mut n = 0u64;
        let report = |id: i64, why: String, n: u64| ChainReport {
            events: n,
            ok: false,
            first_bad_event: Some(id),
            problem: Some(why),
            integrity: String::new(),
        };
        let mut bad: Option<ChainReport> = None;
        while let Some(r) = rows.next()? {
            n += 1;
            let raw = event_row_raw(r)?;
            let (stored_prev, stored): (Option<String>, Option<String>) = (r.get(8)?, r.get(9)?);
            if bad.is_some() {
                continue;
            }
            if let Some(e) = expected_id {
                if raw.0 != e {
                    bad = Some(report(raw.0, format!("event {e} is missing (deleted?)"), n));
                    continue;
                }
            }
            let h = event_hash(
                prev.as_deref(),
                raw.0,
                raw.1,
                &raw.2,
                &raw.3,
                raw.4.as_deref(),
                raw.5.as_deref(),
                &raw.6,
                raw.7.as_deref(),
            );
            if stored_prev != prev {
                bad = Some(report(
                    raw.0,
                    "its link to the previous event is broken".into(),
                    n,
                ));
            } else if stored.as_deref() != Some(h.as_str()) {
                bad = Some(report(
                    raw.0,
                    "its content does not match its hash (modified)".into(),
                    n,
                ));
            }
            prev = stored;
            expected_id = Some(raw.0 + 1);
        }
        drop(rows);
        drop(st);
        let integrity = self.integrity_check()?;
        Ok(match bad {
            Some(mut b) => {
                b.events = n;
                b.integrity = integrity;
                b
            }
            None => ChainReport {
                events: n,
                ok: integrity == "ok",
                first_bad_event: None,
                problem: None,
                integrity,
            },
        })
    }
}
