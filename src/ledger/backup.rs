//! Backups, the checked restore into the live database, and repair of the recorded schema version.

use super::*;

/// The copy of an older ledger taken before migrating it: `<file>.v<N>-<stamp>.bak` beside it.
/// Called while the migrating connection holds the write lock and has not written yet: a second,
/// read-only connection (WAL readers are not blocked by the writer) copies the file exactly as it
/// was before the steps, and only the one process that migrates takes it.
pub(super) fn backup_before_migration(path: &Path, from_version: u32) -> Result<()> {
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
pub(super) fn save_raw(
    conn: &Connection,
    ledger_path: &Path,
    now: DateTime<Utc>,
) -> Result<PathBuf> {
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
pub(super) fn copy_into_live(src: &Connection, dst: &mut Connection) -> Result<()> {
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
