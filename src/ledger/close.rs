//! Daily close (日計表): the day's sales per tax rate and per payment method, refunds, amounts still
//! waiting at a konbini or bank, and counts. A close is stored (final, append-only) and locks that
//! day's records: they can then only be corrected by new entries.

use super::{ts, Ledger, LedgerError, Result};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rusqlite::{params, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateTotalLine {
    /// 10 or 8 (percent), 0 for exempt (非課税) sales.
    pub rate: u8,
    /// Sales including tax at this rate.
    pub gross: i64,
    pub tax: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodTotal {
    pub method: String,
    pub count: i64,
    pub total: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DailyClose {
    /// Shop-local date, `YYYY-MM-DD`.
    pub business_date: String,
    pub closed_at: String,
    pub time_zone: String,
    /// Invoices paid during the day (captured; konbini paid today counts today).
    pub sales_count: i64,
    pub sales_total: i64,
    pub per_rate: Vec<RateTotalLine>,
    pub per_method: Vec<MethodTotal>,
    /// Refunds recorded during the day.
    pub refunds_count: i64,
    pub refunds_total: i64,
    /// Konbini / bank transfer / Pay-easy amounts still waiting at the close.
    pub pending_count: i64,
    pub pending_total: i64,
    /// Invoices rung up during the day, by status at the close.
    pub created_by_status: Vec<(String, i64)>,
}

impl Ledger {
    /// Sales paid in `[from, until)` (timestamps as stored) per tender: cash, each shop tender as
    /// `shop:NAME`, and KOMOJU's part by payment type. A split sale counts under each of its
    /// tenders; the totals add up to the sales.
    pub fn tender_totals(&self, from: &str, until: &str) -> Result<Vec<MethodTotal>> {
        let mut st = self.conn.prepare_cached(
            "WITH sold AS (SELECT id, amount, komoju_amount FROM invoices
                 WHERE paid_at >= ?1 AND paid_at < ?2
                   AND status IN ('paid', 'needs_review', 'partially_refunded', 'refunded')),
             parts(method, invoice_id, amount) AS (
                 SELECT CASE t.kind WHEN 'cash' THEN 'cash' ELSE 'shop:' || COALESCE(t.name, '') END,
                        t.invoice_id, t.amount
                 FROM tenders t JOIN sold ON sold.id = t.invoice_id
                 UNION ALL
                 SELECT COALESCE(p.payment_type, 'unknown'), sold.id, COALESCE(sold.komoju_amount, sold.amount)
                 FROM sold
                 LEFT JOIN payments p ON p.rowid = (SELECT rowid FROM payments x WHERE x.invoice_id = sold.id
                     AND x.status IN ('captured', 'refunded') ORDER BY rowid DESC LIMIT 1)
                 WHERE COALESCE(sold.komoju_amount, sold.amount) > 0)
             SELECT method, COUNT(DISTINCT invoice_id), SUM(amount) FROM parts
             GROUP BY 1 ORDER BY 3 DESC, 1",
        )?;
        let rows = st.query_map(params![from, until], |r| {
            Ok(MethodTotal {
                method: r.get(0)?,
                count: r.get(1)?,
                total: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The instants bounding a shop-local day.
    fn day_bounds(&self, day: NaiveDate) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
        let tz = self.shop_tz()?;
        let at = |d: NaiveDate| {
            tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
                .earliest()
                .map(|t| t.to_utc())
                .ok_or_else(|| LedgerError::Corrupt(format!("{d} has no midnight in {tz}")))
        };
        Ok((at(day)?, at(day.succ_opt().unwrap_or(day))?))
    }

    /// The day's figures as they stand now (not stored).
    pub fn day_summary(&self, day: NaiveDate, now: DateTime<Utc>) -> Result<DailyClose> {
        let (from, until) = self.day_bounds(day)?;
        let (f, u) = (ts(from), ts(until));
        let c = &self.conn;
        let (sales_count, sales_total, g10, t10, g8, t8, g0): (i64, i64, i64, i64, i64, i64, i64) =
            c.query_row(
                "SELECT COUNT(*), COALESCE(SUM(amount), 0), COALESCE(SUM(gross_10), 0), COALESCE(SUM(tax_10), 0),
                    COALESCE(SUM(gross_8), 0), COALESCE(SUM(tax_8), 0), COALESCE(SUM(gross_0), 0)
             FROM invoices WHERE paid_at >= ?1 AND paid_at < ?2
               AND status IN ('paid', 'needs_review', 'partially_refunded', 'refunded')",
                params![f, u],
                |r| r.try_into(),
            )?;
        let per_method = self.tender_totals(&f, &u)?;
        let (mut refunds_count, mut refunds_total) = (0i64, 0i64);
        {
            let mut st = c.prepare(
                "SELECT detail FROM events WHERE kind = 'refund' AND at >= ?1 AND at < ?2",
            )?;
            let rows = st.query_map(params![f, u], |r| r.get::<_, Option<String>>(0))?;
            for d in rows {
                let d = d?.unwrap_or_default();
                if let Some((a, b)) = d.split_once("->") {
                    if let (Ok(a), Ok(b)) = (a.trim().parse::<i64>(), b.trim().parse::<i64>()) {
                        refunds_count += 1;
                        refunds_total += b - a;
                    }
                }
            }
        }
        let (pending_count, pending_total): (i64, i64) = c.query_row(
            "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM invoices WHERE status = 'awaiting_payment' AND created_at < ?1",
            params![u],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let mut created_by_status = Vec::new();
        {
            let mut st = c.prepare(
                "SELECT status, COUNT(*) FROM invoices WHERE created_at >= ?1 AND created_at < ?2 GROUP BY status ORDER BY status",
            )?;
            let rows = st.query_map(params![f, u], |r| Ok((r.get(0)?, r.get(1)?)))?;
            for r in rows {
                created_by_status.push(r?);
            }
        }
        let mut per_rate = Vec::new();
        if g10 > 0 || t10 > 0 {
            per_rate.push(RateTotalLine {
                rate: 10,
                gross: g10,
                tax: t10,
            });
        }
        if g8 > 0 || t8 > 0 {
            per_rate.push(RateTotalLine {
                rate: 8,
                gross: g8,
                tax: t8,
            });
        }
        if g0 > 0 {
            // Exempt (非課税) sales: no tax.
            per_rate.push(RateTotalLine {
                rate: 0,
                gross: g0,
                tax: 0,
            });
        }
        Ok(DailyClose {
            business_date: day.to_string(),
            closed_at: ts(now),
            time_zone: self.shop_tz()?.name().to_string(),
            sales_count,
            sales_total,
            per_rate,
            per_method,
            refunds_count,
            refunds_total,
            pending_count,
            pending_total,
            created_by_status,
        })
    }

    /// When each sale of the day was paid and for how much (the "today" chart's sales by hour).
    pub fn paid_during(&self, day: NaiveDate) -> Result<Vec<(DateTime<Utc>, i64)>> {
        let (from, until) = self.day_bounds(day)?;
        let mut st = self.conn.prepare_cached(
            "SELECT paid_at, amount FROM invoices WHERE paid_at >= ?1 AND paid_at < ?2
               AND status IN ('paid', 'needs_review', 'partially_refunded', 'refunded')",
        )?;
        let rows = st.query_map(params![ts(from), ts(until)], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (at, amount) = r?;
            out.push((super::parse_ts(&at)?, amount));
        }
        Ok(out)
    }

    /// A stored close, if the day is closed.
    pub fn daily_close(&self, day: NaiveDate) -> Result<Option<DailyClose>> {
        let s: Option<String> = self
            .conn
            .query_row(
                "SELECT summary FROM daily_closes WHERE business_date = ?1",
                [day.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        s.map(|s| {
            serde_json::from_str(&s)
                .map_err(|e| LedgerError::Corrupt(format!("daily close {day}: {e}")))
        })
        .transpose()
    }

    /// Closes a day: stores its summary (final) and locks its records. Returns `(close, newly_closed)`;
    /// closing a closed day returns the stored close.
    pub fn close_day(&mut self, day: NaiveDate, now: DateTime<Utc>) -> Result<(DailyClose, bool)> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing: Option<String> = tx
            .query_row(
                "SELECT summary FROM daily_closes WHERE business_date = ?1",
                [day.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        drop(tx);
        if existing.is_some() {
            return Ok((self.daily_close(day)?.expect("just read"), false));
        }
        let summary = self.day_summary(day, now)?;
        let json =
            serde_json::to_string(&summary).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO daily_closes(business_date, closed_at, summary) VALUES (?1, ?2, ?3)",
            params![day.to_string(), ts(now), json],
        )?;
        tx.commit()?;
        Ok((summary, true))
    }
}
