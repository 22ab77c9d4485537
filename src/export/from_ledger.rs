//! Streams the ledger's invoices into a [`CsvExporter`]: one reused row buffer, no rows held in memory.

use super::{CsvExporter, ExportError, ExportOptions, ExportRow, ExportSummary};
use crate::ledger::{Filter, Ledger, LedgerError};
use chrono::{DateTime, Utc};
use rusqlite::types::ValueRef;
use std::io::Write;

/// An export from the ledger failed: reading the ledger, or writing the CSV.
#[derive(Debug, thiserror::Error)]
pub enum ExportRowsError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Export(#[from] ExportError),
}

/// Writes every invoice matching `filter` (oldest first) as CSV to `out`; returns the row count
/// and what a lossy CP932 export replaced.
pub fn export_ledger<W: Write>(
    ledger: &Ledger,
    filter: &Filter,
    opts: &ExportOptions,
    out: W,
) -> Result<ExportSummary, ExportRowsError> {
    export_ledger_reporting(ledger, filter, opts, out, &mut |_| {})
}

/// Rows between two progress reports.
pub const PROGRESS_EVERY: u64 = 2_000;

/// [`export_ledger`], calling `progress` with the rows written so far every [`PROGRESS_EVERY`]
/// rows and once at the end.
pub fn export_ledger_reporting<W: Write>(
    ledger: &Ledger,
    filter: &Filter,
    opts: &ExportOptions,
    out: W,
    progress: &mut dyn FnMut(u64),
) -> Result<ExportSummary, ExportRowsError> {
    let mut exporter = CsvExporter::new(out, opts)?;
    let mut row = ExportRow::default();
    ledger.for_each_export_row::<ExportRowsError>(filter, |r| {
        fill(&mut row, r).map_err(|e| ExportError::Csv(format!("reading the ledger: {e}")))?;
        exporter.write_row(&row)?;
        let n = exporter.rows_written();
        if n % PROGRESS_EVERY == 0 {
            progress(n);
        }
        Ok(())
    })?;
    let n = exporter.rows_written();
    progress(n);
    let replaced = exporter.replacements().clone();
    let mut w = exporter.finish()?;
    w.flush().map_err(ExportError::Io)?;
    Ok(ExportSummary { rows: n, replaced })
}

/// Appends SQLite text (UTF-8 unless the file was written by something else) without a copy.
fn push_utf8(dst: &mut String, t: &[u8]) {
    match std::str::from_utf8(t) {
        Ok(s) => dst.push_str(s),
        Err(_) => dst.push_str(&String::from_utf8_lossy(t)),
    }
}

fn text_into(dst: &mut String, v: ValueRef<'_>) {
    dst.clear();
    if let ValueRef::Text(t) = v {
        push_utf8(dst, t);
    }
}

fn opt_text(dst: &mut Option<String>, v: ValueRef<'_>) {
    match v {
        ValueRef::Text(t) => {
            let s = dst.get_or_insert_with(String::new);
            s.clear();
            push_utf8(s, t);
        }
        _ => *dst = None,
    }
}

fn time(v: ValueRef<'_>) -> Option<DateTime<Utc>> {
    match v {
        ValueRef::Text(t) => ledger_ts(t).or_else(|| {
            std::str::from_utf8(t)
                .ok()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.to_utc())
        }),
        _ => None,
    }
}

/// Fast path for the ledger's own fixed-width form, `YYYY-MM-DDTHH:MM:SS.mmmZ` (`ledger::ts`);
/// anything else goes through the general RFC 3339 parser.
fn ledger_ts(t: &[u8]) -> Option<DateTime<Utc>> {
    if t.len() != 24
        || t[4] != b'-'
        || t[7] != b'-'
        || t[10] != b'T'
        || t[13] != b':'
        || t[16] != b':'
        || t[19] != b'.'
        || t[23] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        t[r].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    let time = chrono::NaiveTime::from_hms_milli_opt(
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
        num(20..23)?,
    )?;
    Some(date.and_time(time).and_utc())
}

/// Column order is `Ledger::for_each_export_row`'s SELECT.
fn fill(row: &mut ExportRow, r: &rusqlite::Row<'_>) -> rusqlite::Result<()> {
    text_into(&mut row.invoice_number, r.get_ref(0)?);
    row.created_at = time(r.get_ref(1)?).unwrap_or_default();
    text_into(&mut row.status, r.get_ref(2)?);
    row.amount = r.get(3)?;
    text_into(&mut row.currency, r.get_ref(4)?);
    row.tax_10 = r.get(5)?;
    row.tax_8 = r.get(6)?;
    opt_text(&mut row.payment_method, r.get_ref(7)?);
    opt_text(&mut row.payment_status, r.get_ref(8)?);
    row.paid_at = time(r.get_ref(9)?);
    opt_text(&mut row.komoju_payment_id, r.get_ref(10)?);
    opt_text(&mut row.komoju_session_id, r.get_ref(11)?);
    opt_text(&mut row.customer_name, r.get_ref(12)?);
    opt_text(&mut row.customer_email, r.get_ref(13)?);
    row.refunded_amount = r.get(14)?;
    opt_text(&mut row.customer_name_kana, r.get_ref(15)?);
    opt_text(&mut row.customer_phone, r.get_ref(16)?);
    opt_text(&mut row.external_order_num, r.get_ref(17)?);
    row.payment_method_fee = r.get(18)?;
    row.attempts = r.get(19)?;
    text_into(&mut row.items, r.get_ref(20)?);
    row.exempt_amount = r.get(21)?;
    row.discount = r.get(22)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_timestamps_parse_like_rfc3339() {
        for s in [
            "2026-11-25T07:43:00.000Z",
            "2024-02-29T23:59:59.999Z",
            "1999-12-31T00:00:00.123Z",
        ] {
            let want = DateTime::parse_from_rfc3339(s).unwrap().to_utc();
            assert_eq!(ledger_ts(s.as_bytes()), Some(want), "{s}");
            assert_eq!(time(ValueRef::Text(s.as_bytes())), Some(want));
        }
        for s in [
            "2026-02-30T00:00:00.000Z",
            "2026-11-25T07:43:00Z",
            "2026-11-25 07:43:00.000Z",
        ] {
            assert_eq!(ledger_ts(s.as_bytes()), None, "{s}");
        }
        // Other RFC 3339 forms still parse (slow path).
        let t = time(ValueRef::Text(b"2026-11-25T16:43:00+09:00")).unwrap();
        assert_eq!(ledger_ts(b"2026-11-25T07:43:00.000Z"), Some(t));
    }
}
