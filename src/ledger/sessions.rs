//! Session attempts, stored requests (idempotency keys before the POST) and payments.

use super::*;

impl Ledger {
    pub(super) fn attempt_by_id(&self, id: i64) -> Result<Attempt> {
        self.conn
            .query_row(
                &format!(
                    "SELECT {ATTEMPT_COLS} FROM session_attempts a JOIN api_requests r ON r.id = a.request_id
                     WHERE a.id = ?1"
                ),
                [id],
                attempt_row,
            )
            .optional()?
            .ok_or_else(|| LedgerError::NotFound(format!("attempt {id}")))?
    }

    /// All attempts of an invoice, oldest first.
    pub fn attempts(&self, invoice_id: i64) -> Result<Vec<Attempt>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {ATTEMPT_COLS} FROM session_attempts a JOIN api_requests r ON r.id = a.request_id
             WHERE a.invoice_id = ?1 ORDER BY a.attempt"
        ))?;
        let rows = st.query_map([invoice_id], attempt_row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    pub fn current_attempt(&self, invoice_id: i64) -> Result<Attempt> {
        self.attempts(invoice_id)?
            .pop()
            .ok_or_else(|| LedgerError::NotFound(format!("attempt of invoice {invoice_id}")))
    }

    /// Writes down a POST (key + exact body) before it is sent.
    pub fn store_request(
        &self,
        invoice_id: i64,
        kind: &str,
        path: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<ApiRequest> {
        let key = new_idempotency_key();
        self.conn.execute(
            "INSERT INTO api_requests(invoice_id, kind, path, idempotency_key, body, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![invoice_id, kind, path, key, body, ts(now)],
        )?;
        self.request_by_id(self.conn.last_insert_rowid())
    }

    pub fn request_by_id(&self, id: i64) -> Result<ApiRequest> {
        self.conn.query_row(
            "SELECT id, invoice_id, kind, path, idempotency_key, body, created_at, completed_at, outcome
             FROM api_requests WHERE id = ?1",
            [id],
            |r| request_row(r, 0),
        )?
    }

    /// Marks a stored POST as answered (or given up), so `sync` stops replaying it.
    pub fn complete_request(&self, id: i64, outcome: &str, now: DateTime<Utc>) -> Result<()> {
        self.conn.execute(
            "UPDATE api_requests SET completed_at = ?2, outcome = ?3 WHERE id = ?1 AND completed_at IS NULL",
            params![id, ts(now), outcome],
        )?;
        Ok(())
    }

    /// POSTs of this invoice that have no answer yet (crash or lost response), oldest first.
    pub fn unanswered_requests(&self, invoice_id: i64) -> Result<Vec<ApiRequest>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, invoice_id, kind, path, idempotency_key, body, created_at, completed_at, outcome
             FROM api_requests WHERE invoice_id = ?1 AND completed_at IS NULL ORDER BY id",
        )?;
        let rows = st.query_map([invoice_id], |r| request_row(r, 0))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    /// Records what KOMOJU says about an attempt's session.
    pub fn record_session(&self, attempt_id: i64, s: &Session, expires_in: u32) -> Result<()> {
        let deadline = s
            .created_at
            .map(|c| c + chrono::Duration::seconds(expires_in as i64));
        self.conn.execute(
            "UPDATE session_attempts SET session_id = COALESCE(session_id, ?2), session_url = COALESCE(?3, session_url),
                session_status = ?4, session_expired = ?5, session_created_at = COALESCE(session_created_at, ?6),
                deadline = COALESCE(deadline, ?7)
             WHERE id = ?1",
            params![
                attempt_id,
                s.id,
                s.session_url,
                s.status.as_str(),
                s.expired,
                s.created_at.map(ts),
                deadline.map(ts)
            ],
        )?;
        Ok(())
    }

    /// Marks a session `completed` when a payment on it is learnt without the session itself (a
    /// change feed): only a session still stored as open (`pending` or unknown) changes.
    pub fn mark_session_completed(&self, session_id: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE session_attempts SET session_status = 'completed'
             WHERE session_id = ?1 AND (session_status IS NULL OR session_status = 'pending')",
            params![session_id],
        )?;
        Ok(())
    }

    /// Inserts or refreshes a payment as KOMOJU reported it. `invoice_id` None = a payment Reji does not
    /// know (recorded, then ignored). A snapshot older than what is stored (out-of-order events:
    /// `authorized` after `captured`) does not overwrite it: payment statuses only move forward.
    pub fn upsert_payment(
        &self,
        invoice_id: Option<i64>,
        p: &Payment,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let rank = |col: &str| {
            format!(
                "(CASE {col} WHEN 'pending' THEN 0 WHEN 'authorized' THEN 1 WHEN 'refunded' THEN 3 \
                 WHEN 'captured' THEN 2 WHEN 'failed' THEN 2 WHEN 'cancelled' THEN 2 WHEN 'expired' THEN 2 ELSE 1 END)"
            )
        };
        let (rank_new, rank_old) = (rank("excluded.status"), rank("payments.status"));
        let details = p.payment_details.as_ref().map(|d| d.to_string());
        let rr = serde_json::to_string(&p.refund_requests).unwrap_or_else(|_| "[]".into());
        self.conn.execute(
            &format!(
                "INSERT INTO payments({PAYMENT_COLS}, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                 ON CONFLICT(id) DO UPDATE SET invoice_id = COALESCE(payments.invoice_id, excluded.invoice_id),
                    session_id = COALESCE(excluded.session_id, payments.session_id), status = excluded.status,
                    payment_type = COALESCE(excluded.payment_type, payments.payment_type), amount = excluded.amount,
                    currency = excluded.currency, fee = excluded.fee,
                    amount_refunded = MAX(excluded.amount_refunded, payments.amount_refunded),
                    details = COALESCE(excluded.details, payments.details), refund_requests = excluded.refund_requests,
                    payment_deadline = excluded.payment_deadline, created_at = COALESCE(payments.created_at, excluded.created_at),
                    captured_at = COALESCE(excluded.captured_at, payments.captured_at), updated_at = excluded.updated_at
                 WHERE {rank_new} >= {rank_old}"
            ),
            params![
                p.id,
                invoice_id,
                p.session,
                p.status.as_str(),
                p.payment_type().map(|t| t.as_str().to_string()),
                p.amount,
                p.currency,
                p.payment_method_fee,
                p.amount_refunded,
                details,
                rr,
                p.payment_deadline.map(ts),
                p.created_at.map(ts),
                p.captured_at.map(ts),
                ts(now),
            ],
        )?;
        Ok(())
    }

    /// The invoice's payments, newest first.
    pub fn payments(&self, invoice_id: i64) -> Result<Vec<PaymentRecord>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {PAYMENT_COLS} FROM payments WHERE invoice_id = ?1 ORDER BY COALESCE(created_at, updated_at) DESC, rowid DESC"
        ))?;
        let rows = st.query_map([invoice_id], payment_row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }
}
