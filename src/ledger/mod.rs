//! The local ledger: one SQLite file (WAL, foreign keys on), migrated at open after a backup.
//!
//! Every status change is one compare-and-set (`UPDATE … WHERE status IN (…)`) inside an immediate
//! transaction, logged to the append-only `events` table. Idempotency keys and request bodies are
//! stored before the POST that uses them.
//!
//! One module per concern: `open` (WAL, the migration under an exclusive lock, meta), `schema`,
//! `records` (the typed rows), `invoices`, `sessions` (attempts, stored requests, payments),
//! `events` (status moves and the hash-chained log), `query` (history filters, export rows),
//! `search` (the counterparty index), `tracker` (its queries), `close` (日計表), `renumber` (after a
//! restore), `backup` (backups, restore into the live database, repair).

use crate::invoice::{external_order_num, Customer, Draft, InvoiceNumber, LineItem};
use crate::komoju::{Payment, Session};
use crate::status::{allowed_from, InvoiceStatus, MoveKind};
use crate::tax::{PriceMode, Rounding, TaxRate};
use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use rand::Rng;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, TransactionBehavior};
use std::path::{Path, PathBuf};

mod backup;
mod checkpoint;
mod close;
mod drawer;
mod events;
mod invoices;
mod open;
mod people;
mod print_jobs;
mod products;
mod query;
mod records;
mod renumber;
mod schema;
mod search;
mod sessions;
mod tracker;

pub use backup::{repair, restore, RepairReport, RestoreReport, RESTORE_RECONCILE_KEY};
pub use close::{parse_day_start, DailyClose, MethodTotal, RateTotalLine};
pub use drawer::{DrawerMovement, DrawerSession, RefundPart};
pub use events::ChainReport;
use events::*;
use invoices::*;
pub use print_jobs::{NewPrintJob, PrintJob, PrintKind, PrintOutcome};
pub use products::{HeldRow, ProductBulk, ProductKey, ProductWrite};
pub use query::{EXPORT_ORDER, EXPORT_SELECT};
pub use records::*;
pub use schema::LATEST as SCHEMA_VERSION;
pub use tracker::OpenSession;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("ledger database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the ledger file {path} has schema version {found}, newer than this Reji supports ({supported}); update Reji")]
    NewerSchema {
        path: String,
        found: u32,
        supported: u32,
    },
    #[error("could not back up the ledger before migrating: {0}")]
    PreMigrationBackup(String),
    #[error("backup: {0}")]
    Backup(String),
    #[error("restore: {0}")]
    Restore(String),
    #[error("could not migrate the ledger {path} from schema version {from} to {to}: {detail}; `reji repair` checks which steps the file already has and fixes its recorded version")]
    Migration {
        path: String,
        from: u32,
        to: u32,
        detail: String,
    },
    #[error("could not create the ledger's folder {path}: {detail}")]
    Folder { path: String, detail: String },
    #[error("no invoice {0:?} in the ledger")]
    NotFound(String),
    #[error("corrupt ledger row: {0}")]
    Corrupt(String),
}

pub type Result<T, E = LedgerError> = std::result::Result<T, E>;

/// How long a statement waits for another process's lock before giving up.
pub(super) const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long opening a ledger waits for another process's migration of it.
pub(super) const MIGRATION_WAIT: std::time::Duration = std::time::Duration::from_secs(300);

/// Fixed-width UTC timestamps, so text order is time order.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub(super) fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .map_err(|_| LedgerError::Corrupt(format!("timestamp {s:?}")))
}

pub(super) fn opt_ts(s: Option<String>) -> Result<Option<DateTime<Utc>>> {
    s.map(|s| parse_ts(&s)).transpose()
}

pub struct Ledger {
    conn: Connection,
    path: Option<PathBuf>,
    ledger_id: String,
    /// File ledgers: WAL checkpoints on a thread of their own (see `checkpoint`).
    checkpointer: Option<checkpoint::Checkpointer>,
}

impl Drop for Ledger {
    fn drop(&mut self) {
        if let Some(mut c) = self.checkpointer.take() {
            c.stop(&mut self.conn);
        }
    }
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("path", &self.path)
            .field("ledger_id", &self.ledger_id)
            .finish()
    }
}

pub(super) const INVOICE_COLS: &str = "id, number, created_at, status, currency, amount, tax_10, tax_8, gross_10, gross_8, \
    price_mode, rounding, customer_name, customer_name_kana, customer_email, customer_phone, methods, locale, \
    expires_in, paid_at, refunded_amount, updated_at, gross_0, discount, discount_10, discount_8, discount_0, \
    order_discount, dining, komoju_amount";

pub(super) const ATTEMPT_COLS: &str = "a.id, a.invoice_id, a.attempt, a.external_order_num, a.session_id, a.session_url, \
    a.session_status, a.session_expired, a.session_created_at, a.deadline, a.created_at, \
    r.id, r.invoice_id, r.kind, r.path, r.idempotency_key, r.body, r.created_at, r.completed_at, r.outcome";

pub(super) const PAYMENT_COLS: &str =
    "id, invoice_id, session_id, status, payment_type, amount, currency, fee, amount_refunded, \
    details, refund_requests, payment_deadline, created_at, captured_at";

/// Shop-year of an instant (invoice numbers restart each year in the shop's time zone).
pub fn shop_year(now: DateTime<Utc>, tz: chrono_tz::Tz) -> i32 {
    now.with_timezone(&tz).year()
}

#[doc(hidden)]
pub fn default_price_mode_and_rounding() -> (PriceMode, Rounding) {
    (PriceMode::default(), Rounding::default())
}

impl Ledger {
    /// Runs `f` in one immediate transaction: everything it writes through this ledger commits
    /// together (one commit, one fsync-free WAL append) or, when it fails, not at all. Ledger
    /// methods that write in a transaction of their own join this one instead.
    pub fn atomically<T, E: From<LedgerError>>(
        &mut self,
        f: impl FnOnce(&mut Ledger) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        if !self.conn.is_autocommit() {
            return f(self);
        }
        self.conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(LedgerError::from)?;
        match f(self) {
            Ok(v) => match self.conn.execute_batch("COMMIT") {
                Ok(()) => Ok(v),
                Err(e) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    Err(LedgerError::from(e).into())
                }
            },
            Err(e) => {
                if !self.conn.is_autocommit() {
                    let _ = self.conn.execute_batch("ROLLBACK");
                }
                Err(e)
            }
        }
    }

    /// `f` in an immediate transaction of its own, or inside the caller's (a savepoint) when
    /// [`Ledger::atomically`] already opened one.
    pub(super) fn in_transaction<T>(
        &mut self,
        f: impl FnOnce(&Connection) -> Result<T>,
    ) -> Result<T> {
        if self.conn.is_autocommit() {
            self.atomically(|ledger| f(&ledger.conn))
        } else {
            let sp = self.conn.savepoint()?;
            let v = f(&sp)?;
            sp.commit()?;
            Ok(v)
        }
    }

    /// Direct access for the export module and tests.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}
