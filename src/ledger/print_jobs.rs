//! The print queue (`print_jobs`): jobs wait here until the printer takes them, across failures
//! and restarts. Status moves are compare-and-set on `version`; a sale's jobs are also written to
//! its event log (`print` events), so a missing receipt can be found and printed again.

use super::*;

/// What a job prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrintKind {
    /// A sale's receipt (適格簡易請求書).
    Receipt,
    /// A refund's return receipt (適格返還請求書).
    Return,
    /// The konbini / bank transfer / Pay-easy slip for the customer.
    Slip,
    /// 点検 / 精算 reports.
    Report,
    /// The test page from settings.
    Test,
    /// A drawer kick (cash sale, 入金 / 出金, "open drawer").
    Drawer,
}

impl PrintKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrintKind::Receipt => "receipt",
            PrintKind::Return => "return",
            PrintKind::Slip => "slip",
            PrintKind::Report => "report",
            PrintKind::Test => "test",
            PrintKind::Drawer => "drawer",
        }
    }

    fn parse(s: &str) -> PrintKind {
        match s {
            "receipt" => PrintKind::Receipt,
            "return" => PrintKind::Return,
            "slip" => PrintKind::Slip,
            "report" => PrintKind::Report,
            "test" => PrintKind::Test,
            _ => PrintKind::Drawer,
        }
    }
}

/// A job as stored (without its bytes).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PrintJob {
    pub id: String,
    pub kind: PrintKind,
    /// The sale's invoice number, when the job is a sale's.
    pub invoice: Option<String>,
    /// What it is: `sale`, `return 2`, `slip`, `点検 2026-12-01`, …
    pub subject: String,
    /// Printed before (再発行).
    pub reissue: bool,
    /// `queued`, `printed`, `failed` (waits for a retry) or `dropped` (given up: drawer kicks that
    /// were not delivered at once are never sent later).
    pub status: String,
    pub attempts: i64,
    /// The last failure's code (`offline`, `timeout`, `paper_out`, …) and message.
    pub last_error: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
    pub bytes: i64,
}

/// A new job.
pub struct NewPrintJob<'a> {
    pub kind: PrintKind,
    pub invoice_id: Option<i64>,
    pub subject: &'a str,
    pub reissue: bool,
    pub payload: &'a [u8],
    pub by: &'a str,
}

/// How an attempt ended.
pub enum PrintOutcome<'a> {
    Printed,
    /// Failed; retried later.
    Failed(&'a str),
    /// Failed; never retried.
    Dropped(&'a str),
}

const COLS: &str =
    "j.id, j.kind, i.number, j.subject, j.reissue, j.status, j.attempts, j.last_error, j.version, \
     j.created_at, j.created_by, j.updated_at, length(j.payload)";

fn job_row(r: &Row<'_>) -> rusqlite::Result<Result<PrintJob>> {
    let kind: String = r.get(1)?;
    let created: String = r.get(9)?;
    let updated: String = r.get(11)?;
    Ok((|| {
        Ok(PrintJob {
            id: r.get(0)?,
            kind: PrintKind::parse(&kind),
            invoice: r.get(2)?,
            subject: r.get(3)?,
            reissue: r.get::<_, i64>(4)? != 0,
            status: r.get(5)?,
            attempts: r.get(6)?,
            last_error: r.get(7)?,
            version: r.get(8)?,
            created_at: parse_ts(&created)?,
            created_by: r.get(10)?,
            updated_at: parse_ts(&updated)?,
            bytes: r.get(12)?,
        })
    })())
}

impl Ledger {
    /// Queues a job (and notes it in the sale's event log).
    pub fn queue_print(&mut self, job: NewPrintJob<'_>, now: DateTime<Utc>) -> Result<PrintJob> {
        let id = crate::catalog::new_product_id(now).replacen("prd_", "prj_", 1);
        self.in_transaction(|tx| {
            tx.execute(
                "INSERT INTO print_jobs(id, kind, invoice_id, subject, reissue, payload, status, created_at, created_by, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?8, ?7)",
                params![
                    id,
                    job.kind.as_str(),
                    job.invoice_id,
                    job.subject,
                    job.reissue as i64,
                    job.payload,
                    ts(now),
                    job.by
                ],
            )?;
            if let Some(inv) = job.invoice_id {
                let detail = format!(
                    "{} {}queued {id}",
                    job.subject,
                    if job.reissue { "(reissue) " } else { "" }
                );
                events::log_event(tx, inv, now, "print", None, None, job.by, Some(&detail))?;
            }
            Ok(())
        })?;
        self.print_job(&id)
    }

    pub fn print_job(&self, id: &str) -> Result<PrintJob> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {COLS} FROM print_jobs j LEFT JOIN invoices i ON i.id = j.invoice_id WHERE j.id = ?1"
        ))?;
        st.query_row([id], job_row)
            .optional()?
            .transpose()?
            .ok_or_else(|| LedgerError::NotFound(format!("print job {id}")))
    }

    /// The bytes of a job.
    pub fn print_payload(&self, id: &str) -> Result<Vec<u8>> {
        self.conn
            .query_row("SELECT payload FROM print_jobs WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?
            .ok_or_else(|| LedgerError::NotFound(format!("print job {id}")))
    }

    /// Jobs waiting to print (queued or failed), oldest first.
    pub fn pending_prints(&self) -> Result<Vec<PrintJob>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {COLS} FROM print_jobs j LEFT JOIN invoices i ON i.id = j.invoice_id
             WHERE j.status IN ('queued', 'failed') ORDER BY j.id"
        ))?;
        let rows = st.query_map([], job_row)?;
        rows.map(|r| r?).collect()
    }

    /// The latest jobs, newest first.
    pub fn recent_prints(&self, limit: usize) -> Result<Vec<PrintJob>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {COLS} FROM print_jobs j LEFT JOIN invoices i ON i.id = j.invoice_id
             ORDER BY j.id DESC LIMIT ?1"
        ))?;
        let rows = st.query_map([limit as i64], job_row)?;
        rows.map(|r| r?).collect()
    }

    /// A sale's jobs of one subject (`sale`, `return 1`, `slip`) that were not dropped.
    pub fn prints_of(&self, invoice_id: i64, subject: &str) -> Result<Vec<PrintJob>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {COLS} FROM print_jobs j LEFT JOIN invoices i ON i.id = j.invoice_id
             WHERE j.invoice_id = ?1 AND j.subject = ?2 AND j.status != 'dropped' ORDER BY j.id"
        ))?;
        let rows = st.query_map(params![invoice_id, subject], job_row)?;
        rows.map(|r| r?).collect()
    }

    /// Records an attempt's outcome if the job is still at `version` and waiting; `false` when
    /// another attempt got there first (nothing changed).
    pub fn finish_print(
        &mut self,
        id: &str,
        version: i64,
        outcome: PrintOutcome<'_>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let (status, error) = match outcome {
            PrintOutcome::Printed => ("printed", None),
            PrintOutcome::Failed(e) => ("failed", Some(e)),
            PrintOutcome::Dropped(e) => ("dropped", Some(e)),
        };
        self.in_transaction(|tx| {
            let n = tx.execute(
                "UPDATE print_jobs SET status = ?3, attempts = attempts + 1,
                     last_error = COALESCE(?4, last_error), version = version + 1, updated_at = ?5
                 WHERE id = ?1 AND version = ?2 AND status IN ('queued', 'failed')",
                params![id, version, status, error, ts(now)],
            )?;
            if n == 0 {
                return Ok(false);
            }
            let (inv, subject, reissue): (Option<i64>, String, bool) = tx.query_row(
                "SELECT invoice_id, subject, reissue FROM print_jobs WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            if let Some(inv) = inv {
                // Worded as the queueing is: `<subject> [(reissue) ]<status> <id>[: <error>]`.
                let reissue = if reissue { "(reissue) " } else { "" };
                let detail = match error {
                    Some(e) => format!("{subject} {reissue}{status} {id}: {e}"),
                    None => format!("{subject} {reissue}{status} {id}"),
                };
                events::log_event(tx, inv, now, "print", None, None, by, Some(&detail))?;
            }
            Ok(true)
        })
    }
}
