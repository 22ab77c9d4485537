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
    /// What this rate's sales lost to discounts (値引), in the shop's price mode; 0 in a close
    /// stored before it was counted.
    #[serde(default)]
    pub discount: i64,
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
    /// The refunds per tax rate (`gross`: what went back, tax included; `tax`: its tax), split as
    /// their return receipts split them; empty in a close stored before it was counted.
    #[serde(default)]
    pub refunds_per_rate: Vec<RateTotalLine>,
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

    /// Refunds made in `[from, until)` per tender, as [`Ledger::tender_totals`] names them: what
    /// the counter gave back (`cash`, `shop:NAME`, from `tender_refunds`) and the rest of each
    /// invoice's refunds (its `refund` events) under its KOMOJU payment type. Largest first.
    pub fn refund_totals(&self, from: &str, until: &str) -> Result<Vec<MethodTotal>> {
        use std::collections::{BTreeMap, BTreeSet};
        let mut per: BTreeMap<String, (BTreeSet<i64>, i64)> = BTreeMap::new();
        let mut counter: BTreeMap<i64, i64> = BTreeMap::new();
        {
            let mut st = self.conn.prepare_cached(
                "SELECT invoice_id, CASE kind WHEN 'cash' THEN 'cash' ELSE 'shop:' || COALESCE(name, '') END, amount
                 FROM tender_refunds WHERE at >= ?1 AND at < ?2",
            )?;
            let rows = st.query_map(params![from, until], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            for row in rows {
                let (inv, method, amount) = row?;
                let e = per.entry(method).or_default();
                e.0.insert(inv);
                e.1 += amount;
                *counter.entry(inv).or_default() += amount;
            }
        }
        let mut refunded: BTreeMap<i64, i64> = BTreeMap::new();
        {
            let mut st = self.conn.prepare_cached(
                "SELECT invoice_id, detail FROM events WHERE kind = 'refund' AND at >= ?1 AND at < ?2",
            )?;
            let rows = st.query_map(params![from, until], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
            })?;
            for row in rows {
                let (inv, detail) = row?;
                let grew = detail.as_deref().and_then(|d| {
                    let (a, b) = d.split_once("->")?;
                    Some(b.trim().parse::<i64>().ok()? - a.trim().parse::<i64>().ok()?)
                });
                *refunded.entry(inv).or_default() += grew.unwrap_or(0);
            }
        }
        for (inv, total) in refunded {
            let komoju = total - counter.get(&inv).copied().unwrap_or(0);
            if komoju <= 0 {
                continue;
            }
            let method: Option<String> = self
                .conn
                .prepare_cached(
                    "SELECT payment_type FROM payments WHERE invoice_id = ?1
                       AND status IN ('captured', 'refunded') ORDER BY rowid DESC LIMIT 1",
                )?
                .query_row([inv], |r| r.get(0))
                .optional()?
                .flatten();
            let e = per
                .entry(method.unwrap_or_else(|| "unknown".into()))
                .or_default();
            e.0.insert(inv);
            e.1 += komoju;
        }
        let mut v: Vec<MethodTotal> = per
            .into_iter()
            .map(|(method, (invoices, total))| MethodTotal {
                method,
                count: invoices.len() as i64,
                total,
            })
            .collect();
        v.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.method.cmp(&b.method)));
        Ok(v)
    }

    /// When a business day starts (the `day_starts_at` setting, `HH:MM`; midnight by default: a bar
    /// may start its day at 04:00).
    pub fn day_start(&self) -> Result<chrono::Duration> {
        Ok(self
            .meta("setting.day_starts_at")?
            .and_then(|v| parse_day_start(&v).ok())
            .unwrap_or_else(chrono::Duration::zero))
    }

    /// A business day's hours by the clock: from its start to the next day's.
    fn natural_bounds(&self, day: NaiveDate) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
        let tz = self.shop_tz()?;
        let offset = self.day_start()?;
        let at = |d: NaiveDate| {
            tz.from_local_datetime(&(d.and_hms_opt(0, 0, 0).unwrap_or_default() + offset))
                .earliest()
                .map(|t| t.to_utc())
                .ok_or_else(|| LedgerError::Corrupt(format!("{d} has no start in {tz}")))
        };
        Ok((at(day)?, at(day.succ_opt().unwrap_or(day))?))
    }

    /// When a day was closed (日計表), if it was.
    fn closed_at(&self, day: NaiveDate) -> Result<Option<DateTime<Utc>>> {
        let at: Option<String> = self
            .conn
            .prepare_cached("SELECT closed_at FROM daily_closes WHERE business_date = ?1")?
            .query_row([day.to_string()], |r| r.get(0))
            .optional()?;
        at.map(|a| super::parse_ts(&a)).transpose()
    }

    /// A close made during the day's own hours ends the day there: what comes after belongs to the
    /// next business day.
    fn closed_within(&self, day: NaiveDate) -> Result<Option<DateTime<Utc>>> {
        let (start, end) = self.natural_bounds(day)?;
        Ok(self.closed_at(day)?.filter(|c| *c >= start && *c < end))
    }

    /// The instants bounding a business day: its hours, except that a close made during the day
    /// ends it, and a close of the day before made during that day's hours starts it.
    fn day_bounds(&self, day: NaiveDate) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
        let (start, end) = self.natural_bounds(day)?;
        let start = match day.pred_opt() {
            Some(prev) => self.closed_within(prev)?.unwrap_or(start),
            None => start,
        };
        let end = self.closed_within(day)?.unwrap_or(end);
        Ok((start, end))
    }

    /// The business day whose hours hold an instant (closes aside): "today" for the screens and
    /// `reji close`.
    pub fn calendar_business_date(&self, t: DateTime<Utc>) -> Result<NaiveDate> {
        let tz = self.shop_tz()?;
        Ok((t.with_timezone(&tz).naive_local() - self.day_start()?).date())
    }

    /// The business day an instant belongs to: the day whose hours hold it, or the next one when
    /// that day was closed before the instant (selling never stops at a close).
    pub fn business_date_at(&self, t: DateTime<Utc>) -> Result<NaiveDate> {
        let mut day = self.calendar_business_date(t)?;
        for _ in 0..3 {
            match self.closed_within(day)? {
                Some(c) if c <= t => day = day.succ_opt().unwrap_or(day),
                _ => break,
            }
        }
        Ok(day)
    }

    /// Sales paid in `[from, until)` per tax rate: tax-inclusive totals, their tax and what they
    /// lost to discounts. Rates without sales are left out.
    pub fn sales_per_rate(&self, from: &str, until: &str) -> Result<Vec<RateTotalLine>> {
        let v: [i64; 8] = self.conn.query_row(
            "SELECT COALESCE(SUM(gross_10), 0), COALESCE(SUM(tax_10), 0), COALESCE(SUM(discount_10), 0),
                    COALESCE(SUM(gross_8), 0), COALESCE(SUM(tax_8), 0), COALESCE(SUM(discount_8), 0),
                    COALESCE(SUM(gross_0), 0), COALESCE(SUM(discount_0), 0)
             FROM invoices WHERE paid_at >= ?1 AND paid_at < ?2
               AND status IN ('paid', 'needs_review', 'partially_refunded', 'refunded')",
            params![from, until],
            |r| {
                let mut a = [0i64; 8];
                for (i, x) in a.iter_mut().enumerate() {
                    *x = r.get(i)?;
                }
                Ok(a)
            },
        )?;
        let [g10, t10, d10, g8, t8, d8, g0, d0] = v;
        let mut per_rate = Vec::new();
        for (rate, gross, tax, discount) in [(10u8, g10, t10, d10), (8, g8, t8, d8), (0, g0, 0, d0)]
        {
            if gross > 0 || tax > 0 {
                // Exempt (非課税) sales have no tax.
                per_rate.push(RateTotalLine {
                    rate,
                    gross,
                    tax,
                    discount,
                });
            }
        }
        Ok(per_rate)
    }

    /// Konbini / bank transfer / Pay-easy sales rung up before `until` and still waiting for the
    /// customer's payment: how many, how much.
    pub fn awaiting_payment(&self, until: &str) -> Result<(i64, i64)> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM invoices WHERE status = 'awaiting_payment' AND created_at < ?1",
            params![until],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?)
    }

    /// Refunds made in `[from, until)` per tax rate, split as their return receipts split them: a
    /// return by items by the rates of what came back (its `return` note), a refund by amount in
    /// proportion to the sale's rates ([`crate::tax::refund_split`]). Rates with nothing refunded
    /// are left out.
    pub fn refunds_per_rate(&self, from: &str, until: &str) -> Result<Vec<RateTotalLine>> {
        let mut sum = [(0i64, 0i64); 3];
        let mut st = self.conn.prepare_cached(
            "SELECT e.invoice_id, e.detail, i.gross_10, i.gross_8, i.gross_0, i.tax_10, i.tax_8
             FROM events e JOIN invoices i ON i.id = e.invoice_id
             WHERE e.kind = 'refund' AND e.at >= ?1 AND e.at < ?2",
        )?;
        let rows = st.query_map(params![from, until], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<String>>(1)?,
                [r.get::<_, i64>(2)?, r.get(3)?, r.get(4)?],
                [r.get::<_, i64>(5)?, r.get(6)?],
            ))
        })?;
        for row in rows {
            let (inv, detail, gross, tax) = row?;
            let Some((a, b)) = detail.as_deref().and_then(|d| {
                let (a, b) = d.split_once("->")?;
                Some((a.trim().parse::<i64>().ok()?, b.trim().parse::<i64>().ok()?))
            }) else {
                continue;
            };
            match self.return_split(inv, a, b)? {
                Some(parts) => {
                    for (rate, amount, t) in parts {
                        let i = match rate {
                            10 => 0,
                            8 => 1,
                            _ => 2,
                        };
                        sum[i].0 += amount;
                        sum[i].1 += t;
                    }
                }
                None => {
                    let parts = crate::tax::refund_split(gross, tax, a, b);
                    for i in 0..3 {
                        sum[i].0 += parts[i].0;
                        sum[i].1 += parts[i].1;
                    }
                }
            }
        }
        Ok([10u8, 8, 0]
            .into_iter()
            .zip(sum)
            .filter(|(_, (g, _))| *g != 0)
            .map(|(rate, (gross, tax))| RateTotalLine {
                rate,
                gross,
                tax,
                discount: 0,
            })
            .collect())
    }

    /// The per-rate split `(rate, amount, tax)` stored with a return by items whose refund moved
    /// the invoice's refunded total from `before` to `after`, if that refund was one.
    fn return_split(
        &self,
        invoice_id: i64,
        before: i64,
        after: i64,
    ) -> Result<Option<Vec<(u8, i64, i64)>>> {
        let mut st = self.conn.prepare_cached(
            "SELECT detail FROM events WHERE invoice_id = ?1 AND kind = 'return' ORDER BY id",
        )?;
        let details = st.query_map([invoice_id], |r| r.get::<_, Option<String>>(0))?;
        for d in details {
            let Some(v) = d?.and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
            else {
                continue;
            };
            if v["before"].as_i64() == Some(before) && v["after"].as_i64() == Some(after) {
                let parts = v["per_rate"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|r| {
                                Some((
                                    u8::try_from(r["rate"].as_u64()?).ok()?,
                                    r["amount"].as_i64()?,
                                    r["tax"].as_i64()?,
                                ))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                return Ok(Some(parts));
            }
        }
        Ok(None)
    }

    /// The day's figures as they stand now (not stored).
    pub fn day_summary(&self, day: NaiveDate, now: DateTime<Utc>) -> Result<DailyClose> {
        let (from, until) = self.day_bounds(day)?;
        let (f, u) = (ts(from), ts(until));
        let c = &self.conn;
        let (sales_count, sales_total): (i64, i64) = c.query_row(
            "SELECT COUNT(*), COALESCE(SUM(amount), 0)
             FROM invoices WHERE paid_at >= ?1 AND paid_at < ?2
               AND status IN ('paid', 'needs_review', 'partially_refunded', 'refunded')",
            params![f, u],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let per_rate = self.sales_per_rate(&f, &u)?;
        let refunds_per_rate = self.refunds_per_rate(&f, &u)?;
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
        let (pending_count, pending_total) = self.awaiting_payment(&u)?;
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
            refunds_per_rate,
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

/// `HH:MM` from 00:00 to 23:59 (the business day's start).
pub fn parse_day_start(v: &str) -> std::result::Result<chrono::Duration, String> {
    let bad = || format!("{v:?} must be a time of day, HH:MM (for example 04:00)");
    let (h, m) = v.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(0..24).contains(&h) || !(0..60).contains(&m) || v.trim().len() != 5 {
        return Err(bad());
    }
    Ok(chrono::Duration::minutes(h * 60 + m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jst(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn a_bar_day_runs_from_four_to_four_and_a_close_moves_later_sales_on() {
        let mut l = Ledger::open_in_memory().unwrap();
        l.set_meta("setting.day_starts_at", "04:00").unwrap();
        let d1 = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let d2 = d1.succ_opt().unwrap();
        assert_eq!(
            l.business_date_at(jst("2026-12-02T02:00:00+09:00"))
                .unwrap(),
            d1
        );
        assert_eq!(
            l.business_date_at(jst("2026-12-02T04:00:00+09:00"))
                .unwrap(),
            d2
        );
        // Closed at 03:00 (still the 1st's hours): a sale at 03:30 belongs to the 2nd.
        l.close_day(d1, jst("2026-12-02T03:00:00+09:00")).unwrap();
        assert_eq!(
            l.business_date_at(jst("2026-12-02T02:59:00+09:00"))
                .unwrap(),
            d1
        );
        assert_eq!(
            l.business_date_at(jst("2026-12-02T03:30:00+09:00"))
                .unwrap(),
            d2
        );
        let (from, until) = l.day_bounds(d2).unwrap();
        assert_eq!(from, jst("2026-12-02T03:00:00+09:00"));
        assert_eq!(until, jst("2026-12-03T04:00:00+09:00"));
        assert_eq!(
            l.day_bounds(d1).unwrap().1,
            jst("2026-12-02T03:00:00+09:00")
        );
        // A day closed late (after its hours) keeps its hours.
        let d0 = d1.pred_opt().unwrap();
        l.close_day(d0, jst("2026-12-01T10:00:00+09:00")).unwrap();
        assert_eq!(
            l.day_bounds(d0).unwrap().1,
            jst("2026-12-01T04:00:00+09:00")
        );
        assert_eq!(
            l.day_bounds(d1).unwrap().0,
            jst("2026-12-01T04:00:00+09:00")
        );
    }

    #[test]
    fn day_starts_are_times_of_day() {
        assert_eq!(
            parse_day_start("04:00").unwrap(),
            chrono::Duration::hours(4)
        );
        for bad in ["4:00", "24:00", "04:60", "four", ""] {
            assert!(parse_day_start(bad).is_err(), "{bad}");
        }
    }
}
