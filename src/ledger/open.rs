//! Opening a ledger: WAL, the migration under an exclusive lock, meta and the ledger id.

use super::backup::backup_before_migration;
use super::*;

/// Unambiguous characters for the ledger id (no 0/O, 1/I/L).
pub(super) const ID_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

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

    pub(super) fn setup(
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
            checkpointer: None,
        };
        ledger.migrate(target, backup_first)?;
        ledger.ledger_id = ledger.ensure_ledger_id()?;
        if let Some(p) = ledger.path.clone() {
            ledger.checkpointer = checkpoint::Checkpointer::start(&mut ledger.conn, &p);
        }
        Ok(ledger)
    }

    pub fn schema_version(&self) -> Result<u32> {
        Ok(self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    pub(super) fn newer_schema(&self, found: u32) -> LedgerError {
        LedgerError::NewerSchema {
            path: self.display_path(),
            found,
            supported: schema::LATEST,
        }
    }

    pub(super) fn display_path(&self) -> String {
        self.path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| ":memory:".into())
    }

    /// Brings the schema to `target`. Several processes may open an old ledger at once (the app and
    /// `reji watch` after an upgrade): the whole migration is one exclusive transaction that reads the
    /// version again under the lock and skips what another process already did, so steps run once,
    /// the backup before them is taken once, and the version only ever moves forward.
    pub(super) fn migrate(&mut self, target: u32, backup_first: bool) -> Result<()> {
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

    pub(super) fn migrate_locked(&mut self, target: u32, backup_first: bool) -> Result<()> {
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

    pub(super) fn ensure_ledger_id(&self) -> Result<String> {
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
}
