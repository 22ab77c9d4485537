//! Support: a rotating log file with no secrets, and the diagnostics a shop sends to support
//! (versions, OS, schema, the change feed's state, the print queue, the last errors).
//!
//! What goes in the log is what Reji itself says (codes, invoice numbers, counts): never a secret
//! key (every line passes [`crate::keychain::mask_secrets`]), never a customer's name, email or
//! phone (callers log invoice numbers, not invoices).

use crate::register::Register;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A log file that rotates by size: `reji.log`, then `reji.log.1` … `reji.log.N` (oldest last).
pub struct RotatingLog {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: Mutex<Option<File>>,
}

impl RotatingLog {
    /// `dir/reji.log`, rotated past `max_bytes`, keeping `keep` old files.
    pub fn new(dir: &Path, max_bytes: u64, keep: usize) -> std::io::Result<RotatingLog> {
        std::fs::create_dir_all(dir)?;
        Ok(RotatingLog {
            path: dir.join("reji.log"),
            max_bytes,
            keep: keep.max(1),
            file: Mutex::new(None),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line (`2026-12-01T10:00:00Z LEVEL message`), secrets masked and line breaks
    /// flattened. Logging never fails the caller: a write error is dropped.
    pub fn write(&self, at: DateTime<Utc>, level: &str, message: &str) {
        let clean = crate::keychain::mask_secrets(message).replace(['\n', '\r'], " ");
        let line = format!("{} {level} {clean}\n", at.format("%Y-%m-%dT%H:%M:%SZ"));
        let mut slot = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let size = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
        if size + line.len() as u64 > self.max_bytes && size > 0 {
            *slot = None;
            self.rotate();
        }
        if slot.is_none() {
            *slot = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .ok();
        }
        if let Some(f) = slot.as_mut() {
            let _ = f.write_all(line.as_bytes());
        }
    }

    fn rotate(&self) {
        let name = |n: usize| PathBuf::from(format!("{}.{n}", self.path.display()));
        let _ = std::fs::remove_file(name(self.keep));
        for n in (1..self.keep).rev() {
            let _ = std::fs::rename(name(n), name(n + 1));
        }
        let _ = std::fs::rename(&self.path, name(1));
    }

    /// The last `n` lines at the error level or above (newest last), from the current file and the
    /// one before it.
    pub fn last_errors(&self, n: usize) -> Vec<String> {
        let mut lines = Vec::new();
        for p in [
            PathBuf::from(format!("{}.1", self.path.display())),
            self.path.clone(),
        ] {
            if let Ok(text) = std::fs::read_to_string(&p) {
                lines.extend(
                    text.lines()
                        .filter(|l| l.contains(" ERROR ") || l.contains(" WARN "))
                        .map(str::to_string),
                );
            }
        }
        let skip = lines.len().saturating_sub(n);
        lines.split_off(skip)
    }
}

/// What a shop sends to support.
#[derive(Clone, Debug, Serialize)]
pub struct Diagnostics {
    pub app: String,
    pub version: String,
    pub os: String,
    pub arch: String,
    /// `demo` or `live`, and whether a key is set (never the key).
    pub mode: String,
    pub schema_version: u32,
    pub invoices: i64,
    /// Sales waiting at a store or bank, and open payment pages.
    pub awaiting_payment: usize,
    pub open_sessions: usize,
    /// The change feeds' cursors (when each last moved).
    pub feeds: Vec<(String, String)>,
    pub print_jobs_waiting: usize,
    pub printer: String,
    pub last_errors: Vec<String>,
}

impl Diagnostics {
    /// Gathers the register's side; the caller says what it is (`app`, `version`, `mode`) and
    /// passes the log's last errors.
    pub fn gather(
        reg: &Register,
        app: &str,
        version: &str,
        mode: &str,
        last_errors: Vec<String>,
    ) -> Diagnostics {
        let l = reg.ledger();
        let invoices = l
            .connection()
            .query_row("SELECT COUNT(*) FROM invoices", [], |r| r.get(0))
            .unwrap_or(-1);
        let feeds = ["events", "list"]
            .into_iter()
            .filter_map(|f| {
                l.feed_cursor(f)
                    .ok()
                    .flatten()
                    .map(|(t, _)| (f.to_string(), crate::ledger::ts(t)))
            })
            .collect();
        let printer = match reg.printer() {
            Ok(c) => format!(
                "{} {} mm {}",
                match c.connection {
                    crate::printing::Connection::None => "none",
                    crate::printing::Connection::Network { .. } => "network",
                    crate::printing::Connection::Device { .. } => "usb",
                    crate::printing::Connection::System => "system",
                },
                c.paper.as_str(),
                c.mode.as_str()
            ),
            Err(e) => format!("misconfigured: {e}"),
        };
        Diagnostics {
            app: app.into(),
            version: version.into(),
            os: std::env::consts::OS.into(),
            arch: std::env::consts::ARCH.into(),
            mode: mode.into(),
            schema_version: l.schema_version().unwrap_or(0),
            invoices,
            awaiting_payment: l.awaiting_payments().map(|v| v.len()).unwrap_or(0),
            open_sessions: l.open_sessions().map(|v| v.len()).unwrap_or(0),
            feeds,
            print_jobs_waiting: l.pending_prints().map(|v| v.len()).unwrap_or(0),
            printer,
            last_errors,
        }
    }

    /// Plain text to paste into an email.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{} {}\nOS: {} {}\nmode: {}\nledger schema: {}\ninvoices: {}\nawaiting payment: {}\nopen payment pages: {}\nprinter: {}\nprint jobs waiting: {}\n",
            self.app,
            self.version,
            self.os,
            self.arch,
            self.mode,
            self.schema_version,
            self.invoices,
            self.awaiting_payment,
            self.open_sessions,
            self.printer,
            self.print_jobs_waiting,
        );
        for (f, at) in &self.feeds {
            s.push_str(&format!("feed {f}: {at}\n"));
        }
        if self.last_errors.is_empty() {
            s.push_str("last errors: none\n");
        } else {
            s.push_str("last errors:\n");
            for e in &self.last_errors {
                s.push_str(&format!("  {e}\n"));
            }
        }
        crate::keychain::mask_secrets(&s).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_rotates_by_size_keeps_n_files_and_masks_keys() {
        let dir = tempfile::tempdir().unwrap();
        let log = RotatingLog::new(dir.path(), 200, 2).unwrap();
        let t = chrono::Utc::now();
        log.write(
            t,
            "ERROR",
            "key sk_live_abcdefghijklmnopqrstuvwx refused\nsecond line",
        );
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert!(!text.contains("abcdefghijklmnop"), "{text}");
        assert_eq!(text.lines().count(), 1, "one line per entry");
        for i in 0..40 {
            log.write(t, "INFO", &format!("sale 2026-{i:06} paid"));
        }
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.contains(&"reji.log.1".to_string()), "{names:?}");
        assert!(names.contains(&"reji.log.2".to_string()), "{names:?}");
        assert!(!names.contains(&"reji.log.3".to_string()), "{names:?}");
        assert!(std::fs::metadata(log.path()).unwrap().len() <= 200);
        log.write(t, "WARN", "printer offline");
        assert_eq!(
            log.last_errors(5)
                .last()
                .map(|l| l.ends_with("WARN printer offline")),
            Some(true)
        );
    }
}
