//! The tracker's queries: open sessions, payments awaited, feed cursors.

use super::*;

/// An open invoice's current session: `(invoice_id, session_id, deadline)`.
pub type OpenSession = (i64, String, Option<DateTime<Utc>>);

impl Ledger {
    /// The invoice a KOMOJU session id or `external_order_num` belongs to.
    pub fn invoice_for(&self, session_id: Option<&str>, eon: Option<&str>) -> Result<Option<i64>> {
        if session_id.is_none() && eon.is_none() {
            return Ok(None);
        }
        Ok(self
            .conn
            .query_row(
                "SELECT invoice_id FROM session_attempts WHERE session_id = ?1 OR external_order_num = ?2 LIMIT 1",
                params![session_id, eon],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Payments of invoices waiting at a store or bank (`authorized`), with their invoice.
    pub fn awaiting_payments(&self) -> Result<Vec<(i64, String)>> {
        let mut st = self.conn.prepare_cached(
            "SELECT p.invoice_id, p.id FROM payments p JOIN invoices i ON i.id = p.invoice_id
             WHERE p.status IN ('authorized', 'pending') AND i.status IN ('awaiting_payment', 'pending', 'failed')
             ORDER BY p.invoice_id",
        )?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Open invoices whose current session has no payment yet: `(invoice_id, session_id, deadline)`.
    pub fn open_sessions(&self) -> Result<Vec<OpenSession>> {
        let mut st = self.conn.prepare_cached(
            "SELECT a.invoice_id, a.session_id, a.deadline FROM session_attempts a JOIN invoices i ON i.id = a.invoice_id
             WHERE i.status IN ('pending', 'failed') AND a.session_id IS NOT NULL
               AND a.id = (SELECT MAX(id) FROM session_attempts x WHERE x.invoice_id = a.invoice_id)
             ORDER BY a.invoice_id",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (i, s, d) = r?;
            out.push((i, s, opt_ts(d)?));
        }
        Ok(out)
    }

    /// Status moves caused by a KOMOJU payment since `t` (what a live events feed must also carry).
    pub fn payment_moves_since(&self, t: DateTime<Utc>) -> Result<u64> {
        Ok(self.conn.query_row::<i64, _, _>(
            "SELECT COUNT(*) FROM events WHERE kind = 'status' AND cause LIKE 'komoju:payment:%' AND at >= ?1",
            [ts(t)],
            |r| r.get(0),
        )? as u64)
    }

    /// A change feed's persisted cursor: last event time and the ids seen at or after it.
    pub fn feed_cursor(&self, feed: &str) -> Result<Option<(DateTime<Utc>, Vec<String>)>> {
        let row: Option<(Option<String>, String)> = self
            .conn
            .query_row(
                "SELECT last_time, seen_ids FROM feed_cursor WHERE feed = ?1",
                [feed],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        match row {
            Some((Some(t), ids)) => Ok(Some((
                parse_ts(&t)?,
                serde_json::from_str(&ids).unwrap_or_default(),
            ))),
            _ => Ok(None),
        }
    }

    pub fn set_feed_cursor(
        &self,
        feed: &str,
        last: DateTime<Utc>,
        seen: &[String],
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO feed_cursor(feed, last_time, seen_ids, updated_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(feed) DO UPDATE SET last_time = excluded.last_time, seen_ids = excluded.seen_ids,
                updated_at = excluded.updated_at",
            params![feed, ts(last), serde_json::to_string(seen).unwrap_or_else(|_| "[]".into()), ts(now)],
        )?;
        Ok(())
    }
}
