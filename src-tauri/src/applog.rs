//! The app's rotating log (`reji.log` in the platform's log folder, `logs/` under `REJI_DATA_DIR` in
//! tests): the start, the mode, failed commands, tracker and printer trouble. What it holds is what
//! `reji::support::RotatingLog` lets through: codes and invoice numbers, secrets masked, never a
//! customer's details. Settings' "copy diagnostics" reads its last errors.

use reji::support::RotatingLog;
use std::path::Path;
use std::sync::OnceLock;

static LOG: OnceLock<RotatingLog> = OnceLock::new();

/// One megabyte per file, five old files kept.
const MAX_BYTES: u64 = 1 << 20;
const KEEP: usize = 5;

/// Opens the log in `dir` (once; later calls are ignored). A log that cannot be opened is no
/// reason not to sell: the app runs without one.
pub fn init(dir: &Path) {
    if let Ok(log) = RotatingLog::new(dir, MAX_BYTES, KEEP) {
        let _ = LOG.set(log);
    }
}

fn write(level: &str, message: &str) {
    if let Some(log) = LOG.get() {
        log.write(chrono::Utc::now(), level, message);
    }
}

pub fn info(message: &str) {
    write("INFO", message);
}

pub fn warn(message: &str) {
    write("WARN", message);
}

pub fn error(message: &str) {
    write("ERROR", message);
}

/// The last warnings and errors, newest last.
pub fn last_errors(n: usize) -> Vec<String> {
    LOG.get().map(|l| l.last_errors(n)).unwrap_or_default()
}

/// Where the log is written (None: no log could be opened).
pub fn path() -> Option<std::path::PathBuf> {
    LOG.get().map(|l| l.path().to_path_buf())
}
