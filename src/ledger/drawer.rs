//! The cash drawer's tables: sessions (open with a float, 精算 with a count; a closed one is final)
//! and movements (入金 / 出金), append-only.

use super::*;

/// A drawer session as stored.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct DrawerSession {
    pub id: String,
    pub opened_at: DateTime<Utc>,
    pub opened_by: String,
    pub float: i64,
    /// The float's count by denomination (JSON object as given).
    pub float_count: serde_json::Value,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
    pub expected: Option<i64>,
    pub counted: Option<i64>,
    pub difference: Option<i64>,
}

/// One 入金 or 出金.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct DrawerMovement {
    pub id: String,
    /// `in` or `out`.
    pub kind: String,
    pub amount: i64,
    pub reason: String,
    pub at: DateTime<Utc>,
    pub by: String,
}

const SESSION_COLS: &str =
    "id, opened_at, opened_by, float, float_count, closed_at, closed_by, expected, counted, difference";

fn session_row(r: &Row<'_>) -> rusqlite::Result<Result<DrawerSession>> {
    let opened: String = r.get(1)?;
    let closed: Option<String> = r.get(5)?;
    let count: String = r.get(4)?;
    let (id, opened_by, float, closed_by, expected, counted, difference) = (
        r.get(0)?,
        r.get(2)?,
        r.get(3)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
    );
    Ok((|| {
        Ok(DrawerSession {
            id,
            opened_at: parse_ts(&opened)?,
            opened_by,
            float,
            float_count: serde_json::from_str(&count).unwrap_or(serde_json::Value::Null),
            closed_at: opt_ts(closed)?,
            closed_by,
            expected,
            counted,
            difference,
        })
    })())
}

fn new_id(prefix: &str, now: DateTime<Utc>) -> String {
    crate::catalog::new_product_id(now).replacen("prd_", prefix, 1)
}

impl Ledger {
    /// The open drawer session, if any.
    pub fn open_drawer(&self) -> Result<Option<DrawerSession>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {SESSION_COLS} FROM drawer_sessions WHERE closed_at IS NULL"
        ))?;
        st.query_row([], session_row).optional()?.transpose()
    }

    /// The last closed session (its close starts the next session's window).
    pub fn last_closed_drawer(&self) -> Result<Option<DrawerSession>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {SESSION_COLS} FROM drawer_sessions WHERE closed_at IS NOT NULL
             ORDER BY closed_at DESC, id DESC LIMIT 1"
        ))?;
        st.query_row([], session_row).optional()?.transpose()
    }

    /// The last closed session's id and the report stored at its 精算 (JSON).
    pub fn last_close_report(&self) -> Result<Option<(String, String)>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id, report FROM drawer_sessions WHERE closed_at IS NOT NULL AND report IS NOT NULL
                 ORDER BY closed_at DESC LIMIT 1",
            )?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    pub fn drawer_session(&self, id: &str) -> Result<Option<DrawerSession>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {SESSION_COLS} FROM drawer_sessions WHERE id = ?1"
        ))?;
        st.query_row([id], session_row).optional()?.transpose()
    }

    /// Opens a session with its float; `None` when one is open already.
    pub fn start_drawer(
        &mut self,
        float: i64,
        count: &serde_json::Value,
        now: DateTime<Utc>,
        by: &str,
    ) -> Result<Option<DrawerSession>> {
        let id = new_id("drw_", now);
        let n = self.in_transaction(|tx| {
            Ok(tx.execute(
                "INSERT INTO drawer_sessions(id, opened_at, opened_by, float, float_count)
                 SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM drawer_sessions WHERE closed_at IS NULL)",
                params![id, ts(now), by, float, count.to_string()],
            )?)
        })?;
        if n == 0 {
            return Ok(None);
        }
        self.drawer_session(&id)
    }

    /// Records an 入金 or 出金 (in the open session, if any).
    pub fn drawer_move(
        &mut self,
        kind: &str,
        amount: i64,
        reason: &str,
        now: DateTime<Utc>,
        by: &str,
    ) -> Result<DrawerMovement> {
        let id = new_id("mov_", now);
        self.in_transaction(|tx| {
            tx.execute(
                "INSERT INTO drawer_movements(id, session_id, kind, amount, reason, at, by)
                 VALUES (?1, (SELECT id FROM drawer_sessions WHERE closed_at IS NULL), ?2, ?3, ?4, ?5, ?6)",
                params![id, kind, amount, reason, ts(now), by],
            )?;
            Ok(())
        })?;
        Ok(DrawerMovement {
            id,
            kind: kind.into(),
            amount,
            reason: reason.into(),
            at: now,
            by: by.into(),
        })
    }

    /// Cash taken at the counter in `[from, until)` (what was handed over less the change, when it
    /// was taken), except for sales that ended unpaid (cancelled, expired, failed: their cash went
    /// back to the customer).
    pub fn cash_taken(&self, from: &str, until: &str) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(SUM(t.amount), 0) FROM tenders t JOIN invoices i ON i.id = t.invoice_id
             WHERE t.kind = 'cash' AND t.created_at >= ?1 AND t.created_at < ?2
               AND i.status NOT IN ('cancelled', 'expired', 'failed')",
            params![from, until],
            |r| r.get(0),
        )?)
    }

    /// The 入金 / 出金 in `[from, until)`.
    pub fn drawer_movements(&self, from: &str, until: &str) -> Result<Vec<DrawerMovement>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, kind, amount, reason, at, by FROM drawer_movements WHERE at >= ?1 AND at < ?2 ORDER BY at, id",
        )?;
        let rows = st.query_map(params![from, until], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (id, kind, amount, reason, at, by) = r?;
            out.push(DrawerMovement {
                id,
                kind,
                amount,
                reason,
                at: parse_ts(&at)?,
                by,
            });
        }
        Ok(out)
    }

    /// Closes (精算) the open session `id` with its count: compare-and-set, so a second close of
    /// the same session changes nothing and returns `false`.
    #[allow(clippy::too_many_arguments)]
    pub fn close_drawer(
        &mut self,
        id: &str,
        expected: i64,
        counted: i64,
        count: &serde_json::Value,
        report: &str,
        now: DateTime<Utc>,
        by: &str,
    ) -> Result<bool> {
        self.in_transaction(|tx| {
            Ok(tx.execute(
                "UPDATE drawer_sessions SET closed_at = ?2, closed_by = ?3, expected = ?4, counted = ?5,
                    count = ?6, difference = ?5 - ?4, report = ?7
                 WHERE id = ?1 AND closed_at IS NULL",
                params![id, ts(now), by, expected, counted, count.to_string(), report],
            )? == 1)
        })
    }
}

/// One part of a counter refund: which tender gives the money back.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RefundPart {
    /// `cash` (from the drawer) or `shop` (the shop's tender, e.g. a voucher given back).
    pub kind: String,
    pub name: Option<String>,
    pub amount: i64,
}

impl Ledger {
    /// Gives money back at the counter for a sale paid there: the parts (cash first, then the
    /// shop's tenders) are recorded and the refunded total moves from `before` to `before + sum`
    /// with the status, in one transaction (compare-and-set: a concurrent refund makes this one
    /// change nothing and return `None`). `return_detail`: the return by items it is (a `return`
    /// note, in the same transaction).
    #[allow(clippy::too_many_arguments)]
    pub fn counter_refund(
        &mut self,
        invoice_id: i64,
        parts: &[RefundPart],
        reason: Option<&str>,
        return_detail: Option<&str>,
        before: i64,
        full: bool,
        now: DateTime<Utc>,
        by: &str,
    ) -> Result<Option<Move>> {
        let total: i64 = parts.iter().map(|p| p.amount).sum();
        self.in_transaction(|tx| {
            let current: i64 = tx.query_row(
                "SELECT refunded_amount FROM invoices WHERE id = ?1",
                [invoice_id],
                |r| r.get(0),
            )?;
            if current != before {
                return Ok(None);
            }
            for p in parts {
                tx.execute(
                    "INSERT INTO tender_refunds(id, invoice_id, kind, name, amount, reason, at, by)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        new_id("rfd_", now),
                        invoice_id,
                        p.kind,
                        p.name,
                        p.amount,
                        reason,
                        ts(now),
                        by
                    ],
                )?;
            }
            let to = if full {
                InvoiceStatus::Refunded
            } else {
                InvoiceStatus::PartiallyRefunded
            };
            let facts = MoveFacts {
                paid_at: None,
                refunded_amount: Some(before + total),
            };
            let moved = transition_on(
                tx,
                invoice_id,
                to,
                MoveKind::Staff,
                &format!("{by}:refund"),
                &facts,
                now,
            )?;
            // A return by items is stored with its refund: both or neither.
            if let Some(detail) = return_detail {
                super::events::log_event(
                    tx,
                    invoice_id,
                    now,
                    "return",
                    None,
                    None,
                    by,
                    Some(detail),
                )?;
            }
            Ok(Some(moved))
        })
    }

    /// What each counter tender of a sale has given back so far: (kind, name) → amount.
    pub fn counter_refunded(&self, invoice_id: i64) -> Result<Vec<RefundPart>> {
        let mut st = self.conn.prepare_cached(
            "SELECT kind, name, SUM(amount) FROM tender_refunds WHERE invoice_id = ?1 GROUP BY kind, name",
        )?;
        let rows = st.query_map([invoice_id], |r| {
            Ok(RefundPart {
                kind: r.get(0)?,
                name: r.get(1)?,
                amount: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Cash given back from the drawer in `[from, until)`.
    pub fn cash_refunded(&self, from: &str, until: &str) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COALESCE(SUM(amount), 0) FROM tender_refunds WHERE kind = 'cash' AND at >= ?1 AND at < ?2",
            params![from, until],
            |r| r.get(0),
        )?)
    }
}
