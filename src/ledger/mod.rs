//! The local ledger: one SQLite file (WAL, foreign keys on), migrated at open after a backup.
//!
//! Every status change is one compare-and-set (`UPDATE … WHERE status IN (…)`) inside an immediate
//! transaction, logged to the append-only `events` table. Idempotency keys and request bodies are
//! stored before the POST that uses them.

mod close;
mod schema;
mod search;

pub use close::{DailyClose, MethodTotal, RateTotalLine};

pub use schema::LATEST as SCHEMA_VERSION;

use crate::invoice::{external_order_num, Customer, Draft, InvoiceNumber, LineItem};
use crate::komoju::{Payment, Session};
use crate::status::{allowed_from, InvoiceStatus, MoveKind};
use crate::tax::{PriceMode, Rounding, TaxRate};
use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use rand::Rng;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, TransactionBehavior};
use std::path::{Path, PathBuf};

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
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long opening a ledger waits for another process's migration of it.
const MIGRATION_WAIT: std::time::Duration = std::time::Duration::from_secs(300);

/// The copy of an older ledger taken before migrating it: `<file>.v<N>-<stamp>.bak` beside it.
/// Called while the migrating connection holds the write lock and has not written yet: a second,
/// read-only connection (WAL readers are not blocked by the writer) copies the file exactly as it
/// was before the steps, and only the one process that migrates takes it.
fn backup_before_migration(path: &Path, from_version: u32) -> Result<()> {
    let stamp = Utc::now().format("%Y%m%dT%H%M%S");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "reji.sqlite".into());
    let mut target = path.with_file_name(format!("{name}.v{from_version}-{stamp}.bak"));
    let mut n = 1;
    while target.exists() {
        target = path.with_file_name(format!("{name}.v{from_version}-{stamp}-{n}.bak"));
        n += 1;
    }
    let partial = PathBuf::from(format!("{}.partial", target.display()));
    let _ = std::fs::remove_file(&partial);
    let result = (|| -> std::result::Result<(), String> {
        let reader = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| e.to_string())?;
        reader.busy_timeout(BUSY_WAIT).map_err(|e| e.to_string())?;
        reader
            .execute("VACUUM INTO ?1", params![partial.to_string_lossy()])
            .map_err(|e| e.to_string())?;
        drop(reader);
        std::fs::rename(&partial, &target).map_err(|e| e.to_string())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result.map_err(|e| LedgerError::PreMigrationBackup(format!("{}: {e}", target.display())))
}

/// Fixed-width UTC timestamps, so text order is time order.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .map_err(|_| LedgerError::Corrupt(format!("timestamp {s:?}")))
}

fn opt_ts(s: Option<String>) -> Result<Option<DateTime<Utc>>> {
    s.map(|s| parse_ts(&s)).transpose()
}

pub struct Ledger {
    conn: Connection,
    path: Option<PathBuf>,
    ledger_id: String,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("path", &self.path)
            .field("ledger_id", &self.ledger_id)
            .finish()
    }
}

/// An invoice as stored.
#[derive(Clone, Debug)]
pub struct InvoiceRecord {
    pub id: i64,
    pub number: InvoiceNumber,
    pub created_at: DateTime<Utc>,
    pub status: InvoiceStatus,
    pub currency: String,
    pub amount: i64,
    pub tax_10: i64,
    pub tax_8: i64,
    pub gross_10: i64,
    pub gross_8: i64,
    /// Exempt (非課税) lines' total.
    pub gross_0: i64,
    pub price_mode: String,
    pub rounding: String,
    pub customer: Customer,
    pub methods: Vec<String>,
    pub locale: Option<String>,
    pub expires_in: u32,
    pub paid_at: Option<DateTime<Utc>>,
    pub refunded_amount: i64,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct Attempt {
    pub id: i64,
    pub invoice_id: i64,
    pub attempt: u32,
    pub external_order_num: String,
    pub request: ApiRequest,
    pub session_id: Option<String>,
    pub session_url: Option<String>,
    pub session_status: Option<String>,
    pub session_expired: bool,
    pub session_created_at: Option<DateTime<Utc>>,
    /// `session created_at + expires_in`: KOMOJU sends no `expires_at`.
    pub deadline: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A POST written down before it is sent.
#[derive(Clone, Debug)]
pub struct ApiRequest {
    pub id: i64,
    pub invoice_id: i64,
    pub kind: String,
    pub path: String,
    pub idempotency_key: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
}

#[derive(Clone, Debug)]
pub struct PaymentRecord {
    pub id: String,
    pub invoice_id: Option<i64>,
    pub session_id: Option<String>,
    pub status: String,
    pub payment_type: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub fee: i64,
    pub amount_refunded: i64,
    pub details: Option<serde_json::Value>,
    pub refund_requests: Vec<serde_json::Value>,
    pub payment_deadline: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
    pub captured_at: Option<DateTime<Utc>>,
}

impl PaymentRecord {
    /// The sum of this payment's refund requests in `status` (`pending`, `completed`, `rejected`).
    pub fn requests_total(&self, status: &str) -> i64 {
        self.refund_requests
            .iter()
            .filter(|r| r.get("status").and_then(serde_json::Value::as_str) == Some(status))
            .filter_map(|r| r.get("amount").and_then(serde_json::Value::as_i64))
            .sum()
    }

    /// What has gone back to the customer: KOMOJU's `amount_refunded`, or the completed refund
    /// requests (konbini, bank transfer, Pay-easy) if KOMOJU does not count those in it. Whether it
    /// does is not documented; taking the larger never counts one twice.
    pub fn refunded(&self) -> i64 {
        self.amount_refunded.max(self.requests_total("completed"))
    }

    /// What can still be refunded: a captured payment less what was refunded and what is requested
    /// and still pending; 0 for any other payment.
    pub fn refundable(&self) -> i64 {
        if self.status != "captured" {
            return 0;
        }
        (self.amount - self.refunded() - self.requests_total("pending")).max(0)
    }
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct EventRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub cause: String,
    pub detail: Option<String>,
}

/// What a compare-and-set did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    Applied {
        from: InvoiceStatus,
        to: InvoiceStatus,
    },
    Unchanged,
    Refused {
        from: InvoiceStatus,
        to: InvoiceStatus,
    },
}

/// Filters for history search and export. Dates are instants (the caller converts shop-local days).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound.
    pub until: Option<DateTime<Utc>>,
    pub status: Option<InvoiceStatus>,
    pub method: Option<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub text: Option<String>,
    pub limit: Option<u32>,
    /// Search `text` with the `LIKE` scan alone, without the counterparty index (the benchmark's
    /// reference; results are the same, only slower).
    pub without_index: bool,
}

/// Extra facts written together with a status move.
#[derive(Clone, Debug, Default)]
pub struct MoveFacts {
    pub paid_at: Option<DateTime<Utc>>,
    pub refunded_amount: Option<i64>,
}

/// The export's SELECT (columns in `export::COLUMNS` order), without filter and order. Public so that
/// the benchmark's `sqlite3` reference runs exactly the same query.
///
/// `attempts` is the newest attempt's number: attempts are numbered 1, 2, … per invoice (`UNIQUE
/// (invoice_id, attempt)`, `new_attempt` takes MAX + 1) and never deleted, so it equals their count
/// without a second correlated subquery per row.
pub const EXPORT_SELECT: &str = "SELECT i.number, i.created_at, i.status, i.amount, i.currency, i.tax_10, i.tax_8,
        p.payment_type, p.status, i.paid_at, p.id, a.session_id, i.customer_name, i.customer_email,
        i.refunded_amount, i.customer_name_kana, i.customer_phone, a.external_order_num, COALESCE(p.fee, 0),
        COALESCE(a.attempt, 0),
        (SELECT group_concat(name || ' x' || quantity, '; ') FROM
            (SELECT name, quantity FROM line_items l WHERE l.invoice_id = i.id ORDER BY position)),
        i.gross_0
     FROM invoices i
     LEFT JOIN session_attempts a ON a.id = (SELECT MAX(id) FROM session_attempts WHERE invoice_id = i.id)
     LEFT JOIN payments p ON p.rowid = (SELECT rowid FROM payments WHERE invoice_id = i.id
         ORDER BY COALESCE(created_at, updated_at) DESC, rowid DESC LIMIT 1)";

/// The export's order: oldest first.
pub const EXPORT_ORDER: &str = "i.id ASC";

const INVOICE_COLS: &str = "id, number, created_at, status, currency, amount, tax_10, tax_8, gross_10, gross_8, \
    price_mode, rounding, customer_name, customer_name_kana, customer_email, customer_phone, methods, locale, \
    expires_in, paid_at, refunded_amount, updated_at, gross_0";

const ATTEMPT_COLS: &str = "a.id, a.invoice_id, a.attempt, a.external_order_num, a.session_id, a.session_url, \
    a.session_status, a.session_expired, a.session_created_at, a.deadline, a.created_at, \
    r.id, r.invoice_id, r.kind, r.path, r.idempotency_key, r.body, r.created_at, r.completed_at, r.outcome";

const PAYMENT_COLS: &str =
    "id, invoice_id, session_id, status, payment_type, amount, currency, fee, amount_refunded, \
    details, refund_requests, payment_deadline, created_at, captured_at";

/// Unambiguous characters for the ledger id (no 0/O, 1/I/L).
const ID_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

impl Ledger {
    /// Opens (creating if needed) the ledger file and migrates it, backing it up first.
    pub fn open(path: &Path) -> Result<Ledger> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| LedgerError::Folder {
                path: dir.display().to_string(),
                detail: e.to_string(),
            })?;
        }
        let conn = Connection::open(path)?;
        Self::setup(conn, Some(path.to_path_buf()), schema::LATEST, true)
    }

    pub fn open_in_memory() -> Result<Ledger> {
        Self::setup(Connection::open_in_memory()?, None, schema::LATEST, false)
    }

    /// Opens a file migrated only up to `version` (tests of migrations from older schemas).
    #[doc(hidden)]
    pub fn open_at_version(path: &Path, version: u32) -> Result<Ledger> {
        Self::setup(
            Connection::open(path)?,
            Some(path.to_path_buf()),
            version,
            true,
        )
    }

    fn setup(
        conn: Connection,
        path: Option<PathBuf>,
        target: u32,
        backup_first: bool,
    ) -> Result<Ledger> {
        conn.busy_timeout(BUSY_WAIT)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        if path.is_some() {
            // Switching a new file to WAL takes an exclusive lock; two processes creating the
            // ledger at once can meet in SQLite's deadlock avoidance, which answers "busy" at once
            // instead of waiting: wait here.
            let deadline = std::time::Instant::now() + BUSY_WAIT;
            loop {
                match conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0)) {
                    Ok(_) => break,
                    Err(rusqlite::Error::SqliteFailure(f, _))
                        if f.code == rusqlite::ErrorCode::DatabaseBusy
                            && std::time::Instant::now() < deadline =>
                    {
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        let mut ledger = Ledger {
            conn,
            path,
            ledger_id: String::new(),
        };
        ledger.migrate(target, backup_first)?;
        ledger.ledger_id = ledger.ensure_ledger_id()?;
        Ok(ledger)
    }

    pub fn schema_version(&self) -> Result<u32> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn newer_schema(&self, found: u32) -> LedgerError {
        LedgerError::NewerSchema {
            path: self.display_path(),
            found,
            supported: schema::LATEST,
        }
    }

    fn display_path(&self) -> String {
        self.path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| ":memory:".into())
    }

    /// Brings the schema to `target`. Several processes may open an old ledger at once (the app and
    /// `reji watch` after an upgrade): the whole migration is one exclusive transaction that reads the
    /// version again under the lock and skips what another process already did, so steps run once,
    /// the backup before them is taken once, and the version only ever moves forward.
    fn migrate(&mut self, target: u32, backup_first: bool) -> Result<()> {
        let current = self.schema_version()?;
        if current > schema::LATEST {
            return Err(self.newer_schema(current));
        }
        if current >= target {
            return Ok(());
        }
        // Waiting for another process's migration (a backup and a search-index rebuild of a large
        // ledger) may take longer than the usual busy wait.
        self.conn.busy_timeout(MIGRATION_WAIT)?;
        let result = self.migrate_locked(target, backup_first);
        self.conn.busy_timeout(BUSY_WAIT)?;
        result
    }

    fn migrate_locked(&mut self, target: u32, backup_first: bool) -> Result<()> {
        let path = self.path.clone().filter(|_| backup_first);
        let display = self.display_path();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Exclusive)?;
        let current: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if current > schema::LATEST {
            return Err(LedgerError::NewerSchema {
                path: display,
                found: current,
                supported: schema::LATEST,
            });
        }
        if current >= target {
            // Another process migrated while this one waited for the lock.
            return Ok(());
        }
        if current > 0 {
            if let Some(path) = &path {
                backup_before_migration(path, current)?;
            }
        }
        for v in current..target {
            let step = || -> Result<()> {
                tx.execute_batch(schema::MIGRATIONS[v as usize])?;
                if v + 1 == 3 {
                    backfill_hashes(&tx)?;
                }
                if v + 1 == 5 {
                    search::rebuild(&tx)?;
                }
                if let Some(sql) = schema::after(v + 1) {
                    tx.execute_batch(sql)?;
                }
                Ok(())
            };
            step().map_err(|e| LedgerError::Migration {
                path: display.clone(),
                from: v,
                to: v + 1,
                detail: e.to_string(),
            })?;
        }
        tx.pragma_update(None, "user_version", target)?;
        tx.commit()?;
        Ok(())
    }

    fn ensure_ledger_id(&self) -> Result<String> {
        if let Some(id) = self.meta("ledger_id")? {
            return Ok(id);
        }
        let mut rng = rand::thread_rng();
        let id: String = (0..4)
            .map(|_| ID_ALPHABET[rng.gen_range(0..ID_ALPHABET.len())] as char)
            .collect();
        self.conn.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('ledger_id', ?1)",
            params![id],
        )?;
        Ok(self.meta("ledger_id")?.unwrap_or(id))
    }

    /// The shop's time zone (setting `time_zone`, default Asia/Tokyo): business dates follow it.
    pub fn shop_tz(&self) -> Result<chrono_tz::Tz> {
        Ok(self
            .meta("setting.time_zone")?
            .and_then(|z| z.parse().ok())
            .unwrap_or(chrono_tz::Asia::Tokyo))
    }

    /// A short id made when the ledger was created; prefixes every `external_order_num`.
    pub fn ledger_id(&self) -> &str {
        &self.ledger_id
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    pub fn integrity_check(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
    }

    // ---- invoices ------------------------------------------------------------------------------

    /// Stores a new invoice with its lines, attempt 1 and the session-create request (key + exact body)
    /// in one transaction. `body` builds the request body from the invoice and its `external_order_num`.
    #[allow(clippy::too_many_arguments)]
    pub fn create_invoice(
        &mut self,
        draft: &Draft,
        methods: &[String],
        locale: Option<&str>,
        expires_in: u32,
        now: DateTime<Utc>,
        shop_year: i32,
        body: impl FnOnce(&InvoiceNumber, &str) -> String,
    ) -> Result<(InvoiceRecord, Attempt)> {
        let breakdown = draft
            .breakdown()
            .map_err(|e| LedgerError::Corrupt(e.to_string()))?;
        let ledger_id = self.ledger_id.clone();
        let business_date = now.with_timezone(&self.shop_tz()?).date_naive().to_string();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let seq: u32 = tx.query_row(
            "INSERT INTO invoice_counters(year, last) VALUES (?1, 1)
             ON CONFLICT(year) DO UPDATE SET last = last + 1 RETURNING last",
            [shop_year],
            |r| r.get(0),
        )?;
        let number = InvoiceNumber::new(shop_year, seq);
        let c = &draft.customer;
        tx.execute(
            "INSERT INTO invoices(number, created_at, status, currency, amount, tax_10, tax_8, gross_10, gross_8,
                price_mode, rounding, customer_name, customer_name_kana, customer_email, customer_phone, methods,
                locale, expires_in, updated_at, business_date, gross_0)
             VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?2, ?18, ?19)",
            params![
                number.as_str(),
                ts(now),
                draft.currency.code(),
                breakdown.total,
                breakdown.tax_at(TaxRate::Standard),
                breakdown.tax_at(TaxRate::Reduced),
                breakdown.gross_at(TaxRate::Standard),
                breakdown.gross_at(TaxRate::Reduced),
                draft.price_mode.as_str(),
                draft.rounding.as_str(),
                c.name,
                c.name_kana,
                c.email,
                c.phone,
                methods.join(","),
                locale,
                expires_in,
                business_date,
                breakdown.gross_at(TaxRate::Exempt),
            ],
        )?;
        let invoice_id = tx.last_insert_rowid();
        search::index_invoice(
            &tx,
            invoice_id,
            number.as_str(),
            c.name.as_deref(),
            c.name_kana.as_deref(),
            c.email.as_deref(),
        )?;
        for (i, l) in draft.lines.iter().enumerate() {
            tx.execute(
                "INSERT INTO line_items(invoice_id, position, name, unit_price, quantity, tax_rate)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    invoice_id,
                    i as i64,
                    l.name,
                    l.unit_price,
                    l.quantity,
                    l.tax_rate.percent()
                ],
            )?;
        }
        let eon = external_order_num(&ledger_id, &number, 1);
        let body = body(&number, &eon);
        let attempt_id = insert_attempt(&tx, invoice_id, 1, &eon, &body, now)?;
        log_event(
            &tx,
            invoice_id,
            now,
            "created",
            None,
            Some(InvoiceStatus::Pending),
            "staff:charge",
            Some(&eon),
        )?;
        tx.commit()?;
        let inv = self.invoice_by_id(invoice_id)?;
        let att = self.attempt_by_id(attempt_id)?;
        Ok((inv, att))
    }

    /// Opens attempt n+1 for a cancelled, expired or failed invoice (compare-and-set to `pending`) and
    /// stores its session-create request. Returns `None` if the invoice is in another state.
    pub fn new_attempt(
        &mut self,
        invoice_id: i64,
        now: DateTime<Utc>,
        body: impl FnOnce(&InvoiceNumber, &str) -> String,
    ) -> Result<Option<Attempt>> {
        let ledger_id = self.ledger_id.clone();
        let inv = self.invoice_by_id(invoice_id)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let from: String = tx.query_row(
            "SELECT status FROM invoices WHERE id = ?1",
            [invoice_id],
            |r| r.get(0),
        )?;
        let allowed = allowed_from(InvoiceStatus::Pending, MoveKind::NewAttempt);
        if !allowed.iter().any(|s| s.as_str() == from) {
            return Ok(None);
        }
        let n: u32 = tx.query_row(
            "SELECT COALESCE(MAX(attempt), 0) + 1 FROM session_attempts WHERE invoice_id = ?1",
            [invoice_id],
            |r| r.get(0),
        )?;
        let eon = external_order_num(&ledger_id, &inv.number, n);
        let changed = cas(
            &tx,
            invoice_id,
            InvoiceStatus::Pending,
            allowed,
            now,
            &MoveFacts::default(),
        )?;
        if changed == 0 {
            return Ok(None);
        }
        log_event(
            &tx,
            invoice_id,
            now,
            "status",
            Some(&from),
            Some(InvoiceStatus::Pending),
            "staff:retry",
            Some(&eon),
        )?;
        let body = body(&inv.number, &eon);
        let attempt_id = insert_attempt(&tx, invoice_id, n, &eon, &body, now)?;
        tx.commit()?;
        Ok(Some(self.attempt_by_id(attempt_id)?))
    }

    pub fn invoice_by_id(&self, id: i64) -> Result<InvoiceRecord> {
        self.conn
            .query_row(
                &format!("SELECT {INVOICE_COLS} FROM invoices WHERE id = ?1"),
                [id],
                invoice_row,
            )
            .optional()?
            .ok_or_else(|| LedgerError::NotFound(id.to_string()))?
    }

    /// Finds an invoice by its number (`2026-000042`), a session id, an `external_order_num` or a
    /// KOMOJU payment id.
    pub fn find_invoice(&self, key: &str) -> Result<InvoiceRecord> {
        let key = key.trim();
        let id: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM invoices WHERE number = ?1
                 UNION ALL SELECT invoice_id FROM session_attempts WHERE session_id = ?1 OR external_order_num = ?1
                 UNION ALL SELECT invoice_id FROM payments WHERE id = ?1 AND invoice_id IS NOT NULL
                 LIMIT 1",
                [key],
                |r| r.get(0),
            )
            .optional()?;
        match id {
            Some(id) => self.invoice_by_id(id),
            None => Err(LedgerError::NotFound(key.to_string())),
        }
    }

    pub fn line_items(&self, invoice_id: i64) -> Result<Vec<LineItem>> {
        let mut st = self.conn.prepare_cached(
            "SELECT name, unit_price, quantity, tax_rate FROM line_items WHERE invoice_id = ?1 ORDER BY position",
        )?;
        let rows = st.query_map([invoice_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, u8>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (name, unit_price, quantity, rate) = row?;
            let tax_rate = TaxRate::try_from(rate).map_err(LedgerError::Corrupt)?;
            out.push(LineItem {
                name,
                unit_price,
                quantity,
                tax_rate,
            });
        }
        Ok(out)
    }

    /// Invoices newest first.
    pub fn list(&self, f: &Filter) -> Result<Vec<InvoiceRecord>> {
        let cols = INVOICE_COLS
            .split(',')
            .map(|c| format!("i.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let drive = match index_drives(f) {
            Some(plan) => Drive::Counterparty(plan, self.id_span(f)?),
            None if self.amount_walk_pays(f)? => Drive::NewestFirst,
            None => Drive::Planner,
        };
        let (sql, args) = filter_sql_driven(&format!("SELECT {cols}"), f, &drive);
        let mut st = self.conn.prepare_cached(&sql)?;
        let rows = st.query_map(params_from_iter(args.iter()), invoice_row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    /// The smallest and largest invoice id created in `f`'s period (`None` without a period): a
    /// counterparty search reads only that rowid range of the index. Exact whatever the clock did
    /// (ids need not follow creation time): every invoice of the period lies inside the span, and
    /// the period's own condition still decides each row. One pass over the period's entries of the
    /// date index, which holds the ids.
    fn id_span(&self, f: &Filter) -> Result<Option<(i64, i64)>> {
        if f.from.is_none() && f.until.is_none() {
            return Ok(None);
        }
        let (lo, hi): (Option<i64>, Option<i64>) = self.conn.query_row(
            "SELECT MIN(id), MAX(id) FROM invoices WHERE created_at >= ?1 AND created_at < ?2",
            params![
                f.from.map(ts).unwrap_or_default(),
                f.until.map(ts).unwrap_or_else(|| "9999".into())
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        // An empty period: a span no rowid is in.
        Ok(Some((lo.unwrap_or(1), hi.unwrap_or(0))))
    }

    /// For an amount range without a period or text: whether walking the invoices newest first is
    /// cheaper than sorting the range. With `m` of `n` invoices in the range and a page of `p`, the
    /// walk visits about `p × n / m` rows and the sort `m`; walk when `m² > p × n`. Counting the
    /// range on the (amount, created_at) index is cheap next to either.
    fn amount_walk_pays(&self, f: &Filter) -> Result<bool> {
        let (Some(limit), true) = (f.limit, f.from.is_none() && f.until.is_none()) else {
            return Ok(false);
        };
        if f.text.is_some() || (f.min.is_none() && f.max.is_none()) || f.min == f.max {
            return Ok(false);
        }
        let (m, n): (i64, i64) = self.conn.query_row(
            "SELECT (SELECT COUNT(*) FROM invoices WHERE amount >= ?1 AND amount <= ?2),
                    (SELECT COALESCE(MAX(id), 0) FROM invoices)",
            params![f.min.unwrap_or(i64::MIN), f.max.unwrap_or(i64::MAX)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((m as i128) * (m as i128) > (limit as i128) * (n as i128))
    }

    /// Invoices the tracker (and `reji sync`) must still look at, oldest first.
    pub fn open_invoices(&self) -> Result<Vec<InvoiceRecord>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {INVOICE_COLS} FROM invoices WHERE status IN ('pending','failed','awaiting_payment')
             OR id IN (SELECT invoice_id FROM api_requests WHERE completed_at IS NULL)
             OR id IN (SELECT invoice_id FROM payments WHERE refund_requests LIKE '%\"pending\"%')
             ORDER BY id"
        ))?;
        let rows = st.query_map([], invoice_row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    // ---- attempts & requests -------------------------------------------------------------------

    fn attempt_by_id(&self, id: i64) -> Result<Attempt> {
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

    // ---- payments ------------------------------------------------------------------------------

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

    // ---- status moves --------------------------------------------------------------------------

    /// The one way a status changes: a compare-and-set allowed by `states.md`, logged.
    pub fn transition(
        &mut self,
        invoice_id: i64,
        to: InvoiceStatus,
        kind: MoveKind,
        cause: &str,
        facts: &MoveFacts,
        now: DateTime<Utc>,
    ) -> Result<Move> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (from_s, refunded): (String, i64) = tx.query_row(
            "SELECT status, refunded_amount FROM invoices WHERE id = ?1",
            [invoice_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let from: InvoiceStatus = from_s.parse().map_err(LedgerError::Corrupt)?;
        // Refunds only ever grow; an older snapshot never lowers the amount.
        let refund_grew = facts.refunded_amount.filter(|a| *a > refunded);
        let refund_detail = refund_grew.map(|new| format!("{refunded}->{new}"));
        if from == to && !(to == InvoiceStatus::PartiallyRefunded && refund_grew.is_some()) {
            if let (Some(new), true) = (refund_grew, to.is_captured()) {
                tx.execute(
                    "UPDATE invoices SET refunded_amount = ?2, updated_at = ?3 WHERE id = ?1",
                    params![invoice_id, new, ts(now)],
                )?;
                log_event(
                    &tx,
                    invoice_id,
                    now,
                    "refund",
                    None,
                    None,
                    cause,
                    refund_detail.as_deref(),
                )?;
                tx.commit()?;
            }
            return Ok(Move::Unchanged);
        }
        let facts = &MoveFacts {
            paid_at: facts.paid_at,
            refunded_amount: refund_grew,
        };
        let allowed = allowed_from(to, kind);
        let n = cas(&tx, invoice_id, to, allowed, now, facts)?;
        if n == 0 {
            log_event(
                &tx,
                invoice_id,
                now,
                "refused",
                Some(&from_s),
                Some(to),
                cause,
                None,
            )?;
            tx.commit()?;
            return Ok(Move::Refused { from, to });
        }
        log_event(
            &tx,
            invoice_id,
            now,
            "status",
            Some(&from_s),
            Some(to),
            cause,
            None,
        )?;
        if refund_grew.is_some() {
            log_event(
                &tx,
                invoice_id,
                now,
                "refund",
                None,
                None,
                cause,
                refund_detail.as_deref(),
            )?;
        }
        tx.commit()?;
        Ok(Move::Applied { from, to })
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

    /// Corrects customer columns of an invoice: for each `(column, Some(new))`, updates the column
    /// and appends a `correction` event whose detail keeps the old and new value. One transaction;
    /// the counterparty index follows. Returns how many fields changed.
    pub fn correct_customer(
        &mut self,
        invoice_id: i64,
        changes: &[(&'static str, Option<Option<String>>)],
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        const ALLOWED: [&str; 4] = [
            "customer_name",
            "customer_name_kana",
            "customer_email",
            "customer_phone",
        ];
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut n = 0;
        for (col, new) in changes {
            let Some(new) = new else { continue };
            if !ALLOWED.contains(col) {
                return Err(LedgerError::Corrupt(format!("{col} cannot be corrected")));
            }
            let old: Option<String> = tx.query_row(
                &format!("SELECT {col} FROM invoices WHERE id = ?1"),
                [invoice_id],
                |r| r.get(0),
            )?;
            if old == *new {
                continue;
            }
            tx.execute(
                &format!("UPDATE invoices SET {col} = ?2 WHERE id = ?1"),
                params![invoice_id, new],
            )?;
            let detail =
                serde_json::json!({ "field": col, "old": old, "new": new, "reason": reason });
            log_event(
                &tx,
                invoice_id,
                now,
                "correction",
                None,
                None,
                "staff:correct",
                Some(&detail.to_string()),
            )?;
            n += 1;
        }
        let (number, name, kana, email): (String, Option<String>, Option<String>, Option<String>) =
            tx.query_row(
                "SELECT number, customer_name, customer_name_kana, customer_email FROM invoices WHERE id = ?1",
                [invoice_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
        search::index_invoice(
            &tx,
            invoice_id,
            &number,
            name.as_deref(),
            kana.as_deref(),
            email.as_deref(),
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// Rebuilds the counterparty index from the invoices (after loading rows with plain SQL).
    /// Returns the number of invoices indexed.
    pub fn rebuild_search_index(&mut self) -> Result<u64> {
        let tx = self.conn.transaction()?;
        let n = search::rebuild(&tx)?;
        tx.commit()?;
        Ok(n)
    }

    /// Invoices with a journal entry in `[from, until)`: paid in it, or refunded in it.
    pub fn journal_invoices(
        &self,
        from: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Vec<i64>> {
        let f = from.map(ts).unwrap_or_default();
        let u = until.map(ts).unwrap_or_else(|| "9999".into());
        let mut st = self.conn.prepare_cached(
            "SELECT id FROM invoices WHERE paid_at >= ?1 AND paid_at < ?2
             UNION
             SELECT invoice_id FROM events WHERE kind = 'refund' AND at >= ?1 AND at < ?2
             ORDER BY 1",
        )?;
        let ids = st
            .query_map(params![f, u], |r| r.get::<_, i64>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(ids)
    }

    /// Streams export rows in creation order without holding them in memory.
    pub fn for_each_export_row(
        &self,
        f: &Filter,
        mut each: impl FnMut(&rusqlite::Row<'_>) -> std::result::Result<(), crate::export::ExportError>,
    ) -> std::result::Result<u64, ExportRowsError> {
        let (sql, args) = filter_sql_ordered(EXPORT_SELECT, f, EXPORT_ORDER);
        let mut st = self.conn.prepare(&sql).map_err(LedgerError::from)?;
        let mut rows = st
            .query(params_from_iter(args.iter()))
            .map_err(LedgerError::from)?;
        let mut n = 0u64;
        while let Some(row) = rows.next().map_err(LedgerError::from)? {
            each(row)?;
            n += 1;
        }
        Ok(n)
    }

    /// How many invoices match `f` (its limit ignored): the total an export's progress counts to.
    pub fn count_matching(&self, f: &Filter) -> Result<u64> {
        let (wh, args) = filter_conditions(f, &Drive::Planner);
        let sql = assemble("SELECT COUNT(*) FROM invoices i", &wh, "1", None);
        let n: i64 = self
            .conn
            .query_row(&sql, params_from_iter(args.iter()), |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Direct access for the export module and tests.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportRowsError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
}

fn new_idempotency_key() -> String {
    // 32 random alphanumerics, prefixed so a key is recognisable in KOMOJU's dashboard: ≤ 100 ASCII.
    let mut rng = rand::thread_rng();
    let tail: String = (0..32)
        .map(|_| rng.sample(rand::distributions::Alphanumeric) as char)
        .collect();
    format!("reji-{tail}")
}

fn insert_attempt(
    tx: &Connection,
    invoice_id: i64,
    attempt: u32,
    eon: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let key = new_idempotency_key();
    tx.execute(
        "INSERT INTO api_requests(invoice_id, kind, path, idempotency_key, body, created_at)
         VALUES (?1, 'create_session', '/sessions', ?2, ?3, ?4)",
        params![invoice_id, key, body, ts(now)],
    )?;
    let request_id = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO session_attempts(invoice_id, attempt, external_order_num, request_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![invoice_id, attempt, eon, request_id, ts(now)],
    )?;
    Ok(tx.last_insert_rowid())
}

fn cas(
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
fn log_event(
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
fn event_hash(
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
fn backfill_hashes(tx: &Connection) -> Result<()> {
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

type EventRow = (
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
);

fn event_row_raw(r: &Row<'_>) -> rusqlite::Result<EventRow> {
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

impl Ledger {
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

/// Whether a search should be driven by the counterparty index (and with which MATCH): there is a
/// text the index holds. A period then narrows the index's rowids (see [`Ledger::list`]).
fn index_drives(f: &Filter) -> Option<search::Plan> {
    if f.without_index {
        return None;
    }
    let q = f.text.as_deref().map(str::trim).filter(|q| !q.is_empty())?;
    search::plan(q)
}

/// How a history query is driven: which index SQLite walks first (see `Ledger::list`).
enum Drive {
    /// SQLite's own choice (the date index for a period, the amount index for an exact amount).
    Planner,
    /// The counterparty index, newest first (FTS5 hands out rowids in descending order lazily) up
    /// to the page's end, within the period's id span when there is a period (FTS5 seeks to a
    /// rowid range). Invoice ids grow with creation time, so this is newest first too.
    Counterparty(search::Plan, Option<(i64, i64)>),
    /// The invoices newest first, checking a wide amount range on each (the amount index left
    /// alone), up to the page's end: fewer rows than sorting the whole range.
    NewestFirst,
}

/// `select [WHERE …] ORDER BY order`, with SQLite choosing the index: `select` is a whole
/// `SELECT … FROM …` whose invoices are `i` (the export's).
fn filter_sql_ordered(
    select: &str,
    f: &Filter,
    order: &str,
) -> (String, Vec<rusqlite::types::Value>) {
    let (wh, args) = filter_conditions(f, &Drive::Planner);
    (assemble(select, &wh, order, f.limit), args)
}

/// The history query for `f`, driven as `drive` says.
fn filter_sql_driven(
    cols: &str,
    f: &Filter,
    drive: &Drive,
) -> (String, Vec<rusqlite::types::Value>) {
    let (wh, args) = filter_conditions(f, drive);
    let (from, order) = match drive {
        Drive::Counterparty(plan, _) => (
            format!("{} s CROSS JOIN invoices i ON i.id = s.rowid", plan.table()),
            "s.rowid DESC",
        ),
        Drive::Planner | Drive::NewestFirst => {
            ("invoices i".to_string(), "i.created_at DESC, i.id DESC")
        }
    };
    (
        assemble(&format!("{cols} FROM {from}"), &wh, order, f.limit),
        args,
    )
}

fn assemble(select: &str, wh: &[String], order: &str, limit: Option<u32>) -> String {
    let mut sql = select.to_string();
    if !wh.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&wh.join(" AND "));
    }
    sql.push_str(" ORDER BY ");
    sql.push_str(order);
    if let Some(l) = limit {
        sql.push_str(&format!(" LIMIT {l}"));
    }
    sql
}

/// The WHERE conditions of `f` (numbered parameters) and their values.
fn filter_conditions(f: &Filter, drive: &Drive) -> (Vec<String>, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value as V;
    let mut wh: Vec<String> = Vec::new();
    let mut args: Vec<V> = Vec::new();
    let mut push = |cond: &str, v: V, wh: &mut Vec<String>| {
        args.push(v);
        wh.push(cond.replace('?', &format!("?{}", args.len())));
    };
    if let Drive::Counterparty(plan, span) = drive {
        push(
            &format!("s.{} MATCH ?", plan.table()),
            V::Text(plan.query().to_string()),
            &mut wh,
        );
        if let Some((lo, hi)) = span {
            push("s.rowid >= ?", V::Integer(*lo), &mut wh);
            push("s.rowid <= ?", V::Integer(*hi), &mut wh);
        }
    }
    if let Some(t) = f.from {
        push("i.created_at >= ?", V::Text(ts(t)), &mut wh);
    }
    if let Some(t) = f.until {
        push("i.created_at < ?", V::Text(ts(t)), &mut wh);
    }
    if let Some(s) = f.status {
        push("i.status = ?", V::Text(s.as_str().into()), &mut wh);
    }
    if let Some(m) = &f.method {
        push(
            "i.id IN (SELECT invoice_id FROM payments WHERE payment_type = ? AND invoice_id IS NOT NULL)",
            V::Text(m.clone()),
            &mut wh,
        );
    }
    match (f.min, f.max) {
        // One amount: an equality lets the (amount, created_at) index give the newest first.
        (Some(a), Some(b)) if a == b => push("i.amount = ?", V::Integer(a), &mut wh),
        (min, max) => {
            // `+` keeps SQLite off the amount index when the newest-first walk was chosen.
            let col = match drive {
                Drive::NewestFirst => "+i.amount",
                _ => "i.amount",
            };
            if let Some(v) = min {
                push(&format!("{col} >= ?"), V::Integer(v), &mut wh);
            }
            if let Some(v) = max {
                push(&format!("{col} <= ?"), V::Integer(v), &mut wh);
            }
        }
    }
    if let Some(q) = f.text.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        // The LIKE decides every row, whichever index drove the query.
        let like = format!(
            "%{}%",
            q.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        args.push(V::Text(like));
        let n = args.len();
        wh.push(format!(
            "(i.number LIKE ?{n} ESCAPE '\\' OR i.customer_name LIKE ?{n} ESCAPE '\\'
              OR i.customer_name_kana LIKE ?{n} ESCAPE '\\' OR i.customer_email LIKE ?{n} ESCAPE '\\')"
        ));
    }
    (wh, args)
}

fn invoice_row(r: &Row<'_>) -> rusqlite::Result<Result<InvoiceRecord>> {
    let status: String = r.get(3)?;
    let methods: String = r.get(16)?;
    let created: String = r.get(2)?;
    let updated: String = r.get(21)?;
    let paid: Option<String> = r.get(19)?;
    let number: String = r.get(1)?;
    let rec = (|| -> Result<InvoiceRecord> {
        Ok(InvoiceRecord {
            id: r.get(0)?,
            number: InvoiceNumber::parse(&number)
                .ok_or_else(|| LedgerError::Corrupt(format!("invoice number {number:?}")))?,
            created_at: parse_ts(&created)?,
            status: status.parse().map_err(LedgerError::Corrupt)?,
            currency: r.get(4)?,
            amount: r.get(5)?,
            tax_10: r.get(6)?,
            tax_8: r.get(7)?,
            gross_10: r.get(8)?,
            gross_8: r.get(9)?,
            gross_0: r.get(22)?,
            price_mode: r.get(10)?,
            rounding: r.get(11)?,
            customer: Customer {
                name: r.get(12)?,
                name_kana: r.get(13)?,
                email: r.get(14)?,
                phone: r.get(15)?,
            },
            methods: methods
                .split(',')
                .filter(|m| !m.is_empty())
                .map(String::from)
                .collect(),
            locale: r.get(17)?,
            expires_in: r.get(18)?,
            paid_at: opt_ts(paid)?,
            refunded_amount: r.get(20)?,
            updated_at: parse_ts(&updated)?,
        })
    })();
    Ok(rec)
}

fn request_row(r: &Row<'_>, o: usize) -> rusqlite::Result<Result<ApiRequest>> {
    let created: String = r.get(o + 6)?;
    let completed: Option<String> = r.get(o + 7)?;
    let id = r.get(o)?;
    let invoice_id = r.get(o + 1)?;
    let kind = r.get(o + 2)?;
    let path = r.get(o + 3)?;
    let idempotency_key = r.get(o + 4)?;
    let body = r.get(o + 5)?;
    let outcome = r.get(o + 8)?;
    Ok((|| {
        Ok(ApiRequest {
            id,
            invoice_id,
            kind,
            path,
            idempotency_key,
            body,
            created_at: parse_ts(&created)?,
            completed_at: opt_ts(completed)?,
            outcome,
        })
    })())
}

fn attempt_row(r: &Row<'_>) -> rusqlite::Result<Result<Attempt>> {
    let req = request_row(r, 11)?;
    let sc: Option<String> = r.get(8)?;
    let dl: Option<String> = r.get(9)?;
    let created: String = r.get(10)?;
    let id = r.get(0)?;
    let invoice_id = r.get(1)?;
    let attempt = r.get(2)?;
    let external_order_num = r.get(3)?;
    let session_id = r.get(4)?;
    let session_url = r.get(5)?;
    let session_status = r.get(6)?;
    let session_expired = r.get(7)?;
    Ok((|| {
        Ok(Attempt {
            id,
            invoice_id,
            attempt,
            external_order_num,
            request: req?,
            session_id,
            session_url,
            session_status,
            session_expired,
            session_created_at: opt_ts(sc)?,
            deadline: opt_ts(dl)?,
            created_at: parse_ts(&created)?,
        })
    })())
}

fn payment_row(r: &Row<'_>) -> rusqlite::Result<Result<PaymentRecord>> {
    let details: Option<String> = r.get(9)?;
    let rr: Option<String> = r.get(10)?;
    let dl: Option<String> = r.get(11)?;
    let created: Option<String> = r.get(12)?;
    let captured: Option<String> = r.get(13)?;
    let id = r.get(0)?;
    let invoice_id = r.get(1)?;
    let session_id = r.get(2)?;
    let status = r.get(3)?;
    let payment_type = r.get(4)?;
    let amount = r.get(5)?;
    let currency = r.get(6)?;
    let fee = r.get(7)?;
    let amount_refunded = r.get(8)?;
    Ok((|| {
        Ok(PaymentRecord {
            id,
            invoice_id,
            session_id,
            status,
            payment_type,
            amount,
            currency,
            fee,
            amount_refunded,
            details: details.and_then(|d| serde_json::from_str(&d).ok()),
            refund_requests: rr
                .and_then(|d| serde_json::from_str(&d).ok())
                .unwrap_or_default(),
            payment_deadline: opt_ts(dl)?,
            created_at: opt_ts(created)?,
            captured_at: opt_ts(captured)?,
        })
    })())
}

/// Shop-year of an instant (invoice numbers restart each year in the shop's time zone).
pub fn shop_year(now: DateTime<Utc>, tz: chrono_tz::Tz) -> i32 {
    now.with_timezone(&tz).year()
}

#[doc(hidden)]
pub fn default_price_mode_and_rounding() -> (PriceMode, Rounding) {
    (PriceMode::default(), Rounding::default())
}

/// An open invoice's current session: `(invoice_id, session_id, deadline)`.
pub type OpenSession = (i64, String, Option<DateTime<Utc>>);

/// Lookups the payment tracker needs.
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

/// After a restore: numbers KOMOJU already knows are never issued again.
impl Ledger {
    /// Moves the year's counter to at least `seq` (never back). Returns whether it moved.
    pub fn counter_at_least(&self, year: i32, seq: u32) -> Result<bool> {
        let n = self.conn.execute(
            "INSERT INTO invoice_counters(year, last) VALUES (?1, ?2)
             ON CONFLICT(year) DO UPDATE SET last = excluded.last WHERE last < excluded.last",
            params![year, seq],
        )?;
        Ok(n > 0)
    }

    /// Gives an invoice whose session KOMOJU refused because its `external_order_num` is taken (a
    /// restored ledger reissued a number KOMOJU had seen) the next free number. Only an invoice
    /// never shown to a customer (first attempt, no session) is renumbered; the refused request is
    /// closed and a new one (new key, body from `body`) is stored for the caller to send. Logged as
    /// a `renumbered` event. Returns the new attempt, or `None` if the invoice may not change.
    pub fn renumber_unshown(
        &mut self,
        invoice_id: i64,
        now: DateTime<Utc>,
        shop_year: i32,
        body: impl FnOnce(&InvoiceNumber, &str) -> String,
    ) -> Result<Option<(InvoiceRecord, Attempt)>> {
        let ledger_id = self.ledger_id.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        #[allow(clippy::type_complexity)]
        let row: Option<(
            String,
            String,
            i64,
            Option<String>,
            i64,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        )> = tx
            .query_row(
                "SELECT i.number, i.status, a.id, a.session_id, a.request_id, a.external_order_num,
                        i.customer_name, i.customer_name_kana, i.customer_email
                 FROM invoices i JOIN session_attempts a ON a.invoice_id = i.id
                 WHERE i.id = ?1 AND a.attempt = 1
                   AND NOT EXISTS (SELECT 1 FROM session_attempts b WHERE b.invoice_id = i.id AND b.attempt > 1)",
                [invoice_id],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                    ))
                },
            )
            .optional()?;
        let Some((old, status, attempt_id, session, request_id, old_eon, name, kana, email)) = row
        else {
            return Ok(None);
        };
        if status != "pending" || session.is_some() {
            return Ok(None);
        }
        let seq: u32 = tx.query_row(
            "INSERT INTO invoice_counters(year, last) VALUES (?1, 1)
             ON CONFLICT(year) DO UPDATE SET last = last + 1 RETURNING last",
            [shop_year],
            |r| r.get(0),
        )?;
        let number = InvoiceNumber::new(shop_year, seq);
        let eon = external_order_num(&ledger_id, &number, 1);
        let body = body(&number, &eon);
        tx.execute(
            "UPDATE invoices SET number = ?2, updated_at = ?3 WHERE id = ?1",
            params![invoice_id, number.as_str(), ts(now)],
        )?;
        search::index_invoice(
            &tx,
            invoice_id,
            number.as_str(),
            name.as_deref(),
            kana.as_deref(),
            email.as_deref(),
        )?;
        tx.execute(
            "UPDATE api_requests SET completed_at = ?2, outcome = 'refused: external_order_num taken'
             WHERE id = ?1 AND completed_at IS NULL",
            params![request_id, ts(now)],
        )?;
        tx.execute(
            "INSERT INTO api_requests(invoice_id, kind, path, idempotency_key, body, created_at)
             VALUES (?1, 'create_session', '/sessions', ?2, ?3, ?4)",
            params![invoice_id, new_idempotency_key(), body, ts(now)],
        )?;
        let new_request = tx.last_insert_rowid();
        tx.execute(
            "UPDATE session_attempts SET external_order_num = ?2, request_id = ?3 WHERE id = ?1",
            params![attempt_id, eon, new_request],
        )?;
        log_event(
            &tx,
            invoice_id,
            now,
            "renumbered",
            None,
            None,
            "komoju:external_order_num_taken",
            Some(&format!(
                "{old} → {number}: KOMOJU already knows {old_eon} (a restored ledger had issued it before)"
            )),
        )?;
        tx.commit()?;
        Ok(Some((
            self.invoice_by_id(invoice_id)?,
            self.attempt_by_id(attempt_id)?,
        )))
    }

    /// Brings back a sale KOMOJU has and the ledger lacks (it was made after the backup that was
    /// restored): an invoice under its original number and order number, one line for the whole
    /// amount (KOMOJU does not keep the tax rates of the lines), the payment attached, and a
    /// `created` event saying where it came from. Returns `None` if the number is in the ledger.
    pub fn import_recovered(
        &mut self,
        number: &InvoiceNumber,
        attempt: u32,
        eon: &str,
        p: &Payment,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let created = p.created_at.unwrap_or(now);
        let business_date = created
            .with_timezone(&self.shop_tz()?)
            .date_naive()
            .to_string();
        let draft = crate::invoice::Draft {
            currency: p
                .currency
                .parse()
                .map_err(|_| LedgerError::Corrupt(format!("currency {:?}", p.currency)))?,
            lines: vec![LineItem {
                name: format!("KOMOJU {} (recovered after a restore)", p.id),
                unit_price: p.amount,
                quantity: 1,
                tax_rate: TaxRate::Standard,
            }],
            customer: Default::default(),
            price_mode: crate::tax::PriceMode::Inclusive,
            rounding: crate::tax::Rounding::Down,
        };
        let b = draft
            .breakdown()
            .map_err(|e| LedgerError::Corrupt(e.to_string()))?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let exists: bool = tx
            .query_row(
                "SELECT 1 FROM invoices WHERE number = ?1",
                [number.as_str()],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if exists {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO invoices(number, created_at, status, currency, amount, tax_10, tax_8, gross_10, gross_8,
                price_mode, rounding, methods, expires_in, updated_at, business_date, gross_0)
             VALUES (?1, ?2, 'pending', ?3, ?4, ?5, 0, ?6, 0, 'inclusive', 'down', '', ?7, ?8, ?9, 0)",
            params![
                number.as_str(),
                ts(created),
                p.currency,
                b.total,
                b.tax_at(TaxRate::Standard),
                b.gross_at(TaxRate::Standard),
                crate::invoice::DEFAULT_EXPIRES_IN,
                ts(now),
                business_date,
            ],
        )?;
        let invoice_id = tx.last_insert_rowid();
        search::index_invoice(&tx, invoice_id, number.as_str(), None, None, None)?;
        tx.execute(
            "INSERT INTO line_items(invoice_id, position, name, unit_price, quantity, tax_rate)
             VALUES (?1, 0, ?2, ?3, 1, 10)",
            params![invoice_id, draft.lines[0].name, p.amount],
        )?;
        tx.execute(
            "INSERT INTO api_requests(invoice_id, kind, path, idempotency_key, body, created_at, completed_at, outcome)
             VALUES (?1, 'recovered', ?2, ?3, '{}', ?4, ?4, 'ok')",
            params![invoice_id, format!("/payments/{}", p.id), new_idempotency_key(), ts(now)],
        )?;
        let request_id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO session_attempts(invoice_id, attempt, external_order_num, request_id, session_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![invoice_id, attempt, eon, request_id, p.session, ts(created)],
        )?;
        let (year, seq) = number
            .as_str()
            .split_once('-')
            .and_then(|(y, n)| Some((y.parse::<i32>().ok()?, n.parse::<u32>().ok()?)))
            .ok_or_else(|| LedgerError::Corrupt(number.to_string()))?;
        tx.execute(
            "INSERT INTO invoice_counters(year, last) VALUES (?1, ?2)
             ON CONFLICT(year) DO UPDATE SET last = excluded.last WHERE last < excluded.last",
            params![year, seq],
        )?;
        log_event(
            &tx,
            invoice_id,
            now,
            "created",
            None,
            Some(InvoiceStatus::Pending),
            "komoju:recovered_after_restore",
            Some(&format!(
                "{eon}: payment {} at KOMOJU, missing from the restored ledger; one line at 10 % (KOMOJU keeps no tax rates): check the sale",
                p.id
            )),
        )?;
        tx.commit()?;
        self.upsert_payment(Some(invoice_id), p, now)?;
        Ok(Some(invoice_id))
    }
}

/// Backups: consistent copies (`VACUUM INTO`), rotated, and a checked restore.
impl Ledger {
    /// Writes a consistent copy of the ledger to `target` (which must not exist).
    pub fn backup_to(&self, target: &Path) -> Result<()> {
        if target.exists() {
            return Err(LedgerError::Backup(format!(
                "{} already exists",
                target.display()
            )));
        }
        self.conn
            .execute("VACUUM INTO ?1", params![target.to_string_lossy()])
            .map_err(|e| LedgerError::Backup(e.to_string()))?;
        Ok(())
    }

    /// A timestamped backup in `<ledger folder>/backups/`, keeping the newest `keep`.
    pub fn backup_rotated(&self, keep: usize, now: DateTime<Utc>) -> Result<PathBuf> {
        let Some(path) = &self.path else {
            return Err(LedgerError::Backup(
                "an in-memory ledger has no file to back up".into(),
            ));
        };
        let dir = path.parent().unwrap_or(Path::new(".")).join("backups");
        std::fs::create_dir_all(&dir).map_err(|e| LedgerError::Folder {
            path: dir.display().to_string(),
            detail: e.to_string(),
        })?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "reji".into());
        let mut target = dir.join(format!("{stem}-{}.sqlite", now.format("%Y%m%dT%H%M%S%3fZ")));
        let mut n = 1;
        while target.exists() {
            target = dir.join(format!(
                "{stem}-{}-{n}.sqlite",
                now.format("%Y%m%dT%H%M%S%3fZ")
            ));
            n += 1;
        }
        self.backup_to(&target)?;
        let mut all: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| LedgerError::Backup(e.to_string()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name().is_some_and(|n| {
                    let n = n.to_string_lossy();
                    n.starts_with(&format!("{stem}-")) && n.ends_with(".sqlite")
                })
            })
            .collect();
        all.sort();
        while all.len() > keep.max(1) {
            let old = all.remove(0);
            let _ = std::fs::remove_file(old);
        }
        Ok(target)
    }

    /// Checks that `file` is a Reji ledger this version can open: SQLite integrity, and a schema no
    /// newer than this Reji's. Returns its schema version.
    pub fn check_restorable(file: &Path) -> Result<u32> {
        let conn = Connection::open_with_flags(file, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(|e| {
                LedgerError::Restore(format!(
                    "{} is not a readable SQLite file: {e}",
                    file.display()
                ))
            })?;
        if ok != "ok" {
            return Err(LedgerError::Restore(format!(
                "{} fails the integrity check: {ok}",
                file.display()
            )));
        }
        let v: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if v > schema::LATEST {
            return Err(LedgerError::NewerSchema {
                path: file.display().to_string(),
                found: v,
                supported: schema::LATEST,
            });
        }
        let has_invoices: i64 = conn.query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'invoices'",
            [],
            |r| r.get(0),
        )?;
        if v == 0 || has_invoices == 0 {
            return Err(LedgerError::Restore(format!(
                "{} is not a Reji ledger",
                file.display()
            )));
        }
        Ok(v)
    }
}

/// What `restore` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RestoreReport {
    /// Where the ledger as it was before the restore was saved (none when there was no ledger).
    pub saved: Option<PathBuf>,
    /// Invoice counters moved past the restored file's (year, from, to): the replaced ledger had
    /// already issued those numbers, and KOMOJU may have seen them.
    pub counters_carried: Vec<(i32, i64, i64)>,
    /// Invoices created after this moment may exist at KOMOJU but not in the restored ledger: the
    /// next command with a KOMOJU key lists KOMOJU's payments since then and brings them back.
    pub reconcile_since: DateTime<Utc>,
}

/// The meta key holding the time from which KOMOJU's payments are checked after a restore.
pub const RESTORE_RECONCILE_KEY: &str = "restore.reconcile_since";

/// Replaces the ledger at `ledger_path` with `backup`, safely while other processes (the desktop
/// app, `reji watch`) have it open:
///
/// 1. the backup is checked, copied beside the ledger and migrated there;
/// 2. the current ledger is saved into `backups/` as it is (read with a plain connection, so even a
///    ledger whose schema is broken can be restored over);
/// 3. invoice counters never move back: numbers the replaced ledger issued may be known to KOMOJU;
/// 4. the prepared copy is written into the live database through SQLite's backup API, inside
///    SQLite's own locking: open connections see either the old or the new ledger, and the file,
///    its WAL and shared-memory index are never deleted or renamed under them.
pub fn restore(ledger_path: &Path, backup: &Path, now: DateTime<Utc>) -> Result<RestoreReport> {
    Ledger::check_restorable(backup)?;
    let prepared_path = ledger_path.with_extension("restore-tmp");
    let remove_prepared = || {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", prepared_path.display()));
        }
    };
    remove_prepared();
    let result = (|| {
        {
            let src =
                Connection::open_with_flags(backup, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
            src.execute("VACUUM INTO ?1", params![prepared_path.to_string_lossy()])
                .map_err(|e| {
                    LedgerError::Restore(format!("could not copy {}: {e}", backup.display()))
                })?;
        }
        let prepared = Ledger::setup(
            Connection::open(&prepared_path)?,
            Some(prepared_path.clone()),
            schema::LATEST,
            false,
        )?;
        let reconcile_since = prepared
            .conn
            .query_row("SELECT MAX(created_at) FROM invoices", [], |r| {
                r.get::<_, Option<String>>(0)
            })?
            .map(|t| parse_ts(&t))
            .transpose()?
            .unwrap_or(now);
        let mut report = RestoreReport {
            saved: None,
            counters_carried: Vec::new(),
            reconcile_since,
        };
        if ledger_path.exists() {
            let live = Connection::open(ledger_path)?;
            live.busy_timeout(BUSY_WAIT)?;
            report.saved = Some(save_raw(&live, ledger_path, now)?);
            let live_id: Option<String> = live
                .query_row("SELECT value FROM meta WHERE key = 'ledger_id'", [], |r| {
                    r.get(0)
                })
                .optional()
                .unwrap_or(None);
            if live_id.as_deref() == Some(prepared.ledger_id()) {
                let counters: Vec<(i32, i64)> = live
                    .prepare("SELECT year, last FROM invoice_counters")
                    .and_then(|mut st| {
                        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                            .collect::<rusqlite::Result<_>>()
                    })
                    .unwrap_or_default();
                for (year, last) in counters {
                    let mine: i64 = prepared
                        .conn
                        .query_row(
                            "SELECT last FROM invoice_counters WHERE year = ?1",
                            [year],
                            |r| r.get(0),
                        )
                        .optional()?
                        .unwrap_or(0);
                    if last > mine {
                        prepared.conn.execute(
                            "INSERT INTO invoice_counters(year, last) VALUES (?1, ?2)
                             ON CONFLICT(year) DO UPDATE SET last = excluded.last",
                            params![year, last],
                        )?;
                        report.counters_carried.push((year, mine, last));
                    }
                }
            }
        }
        prepared.set_meta(RESTORE_RECONCILE_KEY, &ts(report.reconcile_since))?;
        let mut live = Connection::open(ledger_path)?;
        live.busy_timeout(BUSY_WAIT)?;
        copy_into_live(&prepared.conn, &mut live)?;
        drop(live);
        drop(prepared);
        // The restored ledger opens (and is at the latest schema).
        drop(Ledger::open(ledger_path)?);
        Ok(report)
    })();
    remove_prepared();
    result
}

/// Saves the database behind `conn` into `<ledger folder>/backups/` as it is, without opening it as
/// a `Ledger` (no migration, so a ledger with a broken schema can be saved too).
fn save_raw(conn: &Connection, ledger_path: &Path, now: DateTime<Utc>) -> Result<PathBuf> {
    let dir = ledger_path
        .parent()
        .unwrap_or(Path::new("."))
        .join("backups");
    std::fs::create_dir_all(&dir).map_err(|e| LedgerError::Folder {
        path: dir.display().to_string(),
        detail: e.to_string(),
    })?;
    let stem = ledger_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "reji".into());
    let stamp = now.format("%Y%m%dT%H%M%S%3fZ");
    let mut target = dir.join(format!("{stem}-{stamp}-before-restore.sqlite"));
    let mut n = 1;
    while target.exists() {
        target = dir.join(format!("{stem}-{stamp}-before-restore-{n}.sqlite"));
        n += 1;
    }
    conn.execute("VACUUM INTO ?1", params![target.to_string_lossy()])
        .map_err(|e| {
            LedgerError::Restore(format!(
                "could not save the current ledger before replacing it ({}): {e}",
                target.display()
            ))
        })?;
    Ok(target)
}

/// Writes `src` into the live database `dst` with SQLite's backup API, waiting for writers (each
/// step takes the write lock like any transaction), up to a limit.
fn copy_into_live(src: &Connection, dst: &mut Connection) -> Result<()> {
    use rusqlite::backup::{Backup, StepResult};
    let deadline = std::time::Instant::now() + MIGRATION_WAIT;
    let b = Backup::new(src, dst)
        .map_err(|e| LedgerError::Restore(format!("could not start the copy: {e}")))?;
    loop {
        match b
            .step(-1)
            .map_err(|e| LedgerError::Restore(format!("could not copy into the ledger: {e}")))?
        {
            StepResult::Done => return Ok(()),
            StepResult::More => {}
            _ if std::time::Instant::now() > deadline => {
                return Err(LedgerError::Restore(
                    "another process kept the ledger busy; nothing was changed: try again".into(),
                ))
            }
            _ => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
}

/// What `repair` found and did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RepairReport {
    /// The version the file said it had.
    pub recorded_version: u32,
    /// The version its tables, columns and triggers show.
    pub found_version: u32,
    /// The version after the repair (and any remaining migration).
    pub version: u32,
    pub integrity: String,
}

/// Repairs a ledger whose recorded schema version is behind the steps it actually has (a ledger
/// left so by the migration race of Reji before 0.9: every command failed with "duplicate column
/// name"). The version is read from the schema itself and only ever moved forward; then the
/// remaining steps run as at any open.
pub fn repair(ledger_path: &Path) -> Result<RepairReport> {
    if !ledger_path.is_file() {
        return Err(LedgerError::NotFound(ledger_path.display().to_string()));
    }
    let (recorded, found) = {
        let mut conn = Connection::open(ledger_path)?;
        conn.busy_timeout(MIGRATION_WAIT)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
        let recorded: u32 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if recorded > schema::LATEST {
            return Err(LedgerError::NewerSchema {
                path: ledger_path.display().to_string(),
                found: recorded,
                supported: schema::LATEST,
            });
        }
        let found = schema::detect_version(&tx)?;
        if found > recorded {
            tx.pragma_update(None, "user_version", found)?;
        }
        tx.commit()?;
        (recorded, found)
    };
    let ledger = Ledger::open(ledger_path)?;
    Ok(RepairReport {
        recorded_version: recorded,
        found_version: found,
        version: ledger.schema_version()?,
        integrity: ledger.integrity_check()?,
    })
}
