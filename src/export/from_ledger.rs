//! Streams the ledger's invoices into a [`CsvExporter`]: one reused row buffer, no rows held in memory.

use super::{CsvExporter, ExportError, ExportOptions, ExportRow};
use crate::ledger::{ExportRowsError, Filter, Ledger};
use chrono::{DateTime, Utc};
use rusqlite::types::ValueRef;
use std::io::Write;

/// Writes every invoice matching `filter` (oldest first) as CSV to `out`; returns the row count.
pub fn export_ledger<W: Write>(
    ledger: &Ledger,
    filter: &Filter,
    opts: &ExportOptions,
    out: W,
) -> Result<u64, ExportRowsError> {
    let mut exporter = CsvExporter::new(out, opts)?;
    let mut row = ExportRow::default();
    ledger.for_each_export_row(filter, |r| {
        fill(&mut row, r).map_err(|e| ExportError::Csv(format!("reading the ledger: {e}")))?;
        exporter.write_row(&row)
    })?;
    let n = exporter.rows_written();
    let mut w = exporter.finish()?;
    w.flush().map_err(ExportError::Io)?;
    Ok(n)
}

fn text_into(dst: &mut String, v: ValueRef<'_>) {
    dst.clear();
    if let ValueRef::Text(t) = v {
        dst.push_str(&String::from_utf8_lossy(t));
    }
}

fn opt_text(dst: &mut Option<String>, v: ValueRef<'_>) {
    match v {
        ValueRef::Text(t) => {
            let s = dst.get_or_insert_with(String::new);
            s.clear();
            s.push_str(&String::from_utf8_lossy(t));
        }
        _ => *dst = None,
    }
}

fn time(v: ValueRef<'_>) -> Option<DateTime<Utc>> {
    match v {
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.to_utc()),
        _ => None,
    }
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
    Ok(())
}
