//! WAL checkpoints off the hot path.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses 1 000 WAL pages: that commit
//! copies the WAL into the database file and fsyncs both, tens of milliseconds on a slow disk, and
//! the charge that happened to make it waits for all of it (benchmark row 2 measured this as the
//! p99 of a charge's overhead). A file ledger therefore turns the automatic checkpoint off and
//! installs a WAL hook instead: when a commit leaves the WAL at 1 000 pages or more, the hook wakes
//! a thread of the ledger's own, which waits until the ledger has had no commit for 100 ms (between
//! sales, or while a charge waits for KOMOJU) and then runs a `PASSIVE` checkpoint on a second
//! connection. The committing thread only sends a wake-up (never blocks); a passive checkpoint never
//! blocks writers or readers. Writes that never pause (a bulk import) leave the thread waiting: the
//! commit that takes the WAL to 4 000 pages checkpoints itself, so the WAL stays bounded. The thread ends with the
//! ledger; SQLite checkpoints once more when the last connection to the file closes.

use rusqlite::hooks::Wal;
use std::os::raw::c_int;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::*;

/// The WAL size (pages) that wakes the checkpointer: SQLite's own default for its automatic one.
pub(super) const CHECKPOINT_PAGES: c_int = 1000;

/// How long the ledger must see no commit past the mark before the thread checkpoints.
pub(super) const QUIET: Duration = Duration::from_millis(100);

/// The WAL size (pages) at which the committing connection checkpoints itself after all: the WAL
/// only restarts from its beginning when a write finds every frame checkpointed, which back-to-back
/// writes racing the thread can postpone; past this mark the WAL stops growing the old way.
pub(super) const INLINE_PAGES: c_int = 4 * CHECKPOINT_PAGES;

pub(super) struct Checkpointer {
    wake: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
    done: Arc<AtomicU64>,
}

impl Checkpointer {
    /// Turns `conn`'s automatic checkpoint into wake-ups of a checkpoint thread for `path`. Where no
    /// thread can be started, SQLite's automatic checkpoint stays (slower tail, same safety).
    pub(super) fn start(conn: &mut Connection, path: &Path) -> Option<Checkpointer> {
        // At most one wake-up waits: a burst of commits past the mark asks for one checkpoint.
        let (wake, rx) = sync_channel::<()>(1);
        let done = Arc::new(AtomicU64::new(0));
        let counter = done.clone();
        let path = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("reji-wal-checkpoint".into())
            .spawn(move || {
                let mut second: Option<Connection> = None;
                while rx.recv().is_ok() {
                    // Wait for the writes to pause: a checkpoint's copy and fsync while a charge
                    // commits can hold that commit up on a slow disk. Every commit past the mark
                    // sends another wake-up, which restarts the wait; the channel closing ends it.
                    loop {
                        match rx.recv_timeout(QUIET) {
                            Ok(()) => continue,
                            Err(RecvTimeoutError::Timeout) => break,
                            Err(RecvTimeoutError::Disconnected) => return,
                        }
                    }
                    if second.is_none() {
                        second = Connection::open(&path)
                            .and_then(|c| c.busy_timeout(BUSY_WAIT).map(|_| c))
                            .ok();
                    }
                    let Some(c) = &second else { continue };
                    // (busy, WAL frames, frames checkpointed); a busy or partial checkpoint is
                    // simply tried again at the next wake-up.
                    if c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0))
                        .is_ok()
                    {
                        counter.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
            .ok()?;
        let hook_wake = wake.clone();
        // Installing a WAL hook replaces SQLite's automatic checkpoint (both use the same slot).
        let hooked = conn.wal_hook(Some(move |wal: &mut Wal, pages: c_int| {
            if pages >= INLINE_PAGES {
                // The thread cannot keep up (a write storm, or a reader pinning the WAL): bound
                // the WAL the way SQLite's automatic checkpoint would, in this commit.
                let _ = wal.checkpoint();
            } else if pages >= CHECKPOINT_PAGES {
                let _ = hook_wake.try_send(());
            }
            Ok(())
        }));
        let mut cp = Checkpointer {
            wake: Some(wake),
            thread: Some(thread),
            done,
        };
        if hooked.is_err() {
            cp.stop(conn);
            return None;
        }
        Some(cp)
    }

    /// Checkpoints the thread has run so far.
    pub(super) fn count(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Removes the hook (which holds a sender), then lets the thread finish and waits for it.
    pub(super) fn stop(&mut self, conn: &mut Connection) {
        let _ = conn.wal_hook(None::<fn(&mut Wal, c_int) -> rusqlite::Result<()>>);
        drop(self.wake.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Ledger {
    /// Checkpoints this ledger's checkpoint thread has run (0 for an in-memory ledger).
    #[doc(hidden)]
    pub fn checkpoints_run(&self) -> u64 {
        self.checkpointer.as_ref().map_or(0, Checkpointer::count)
    }

    /// The size of the WAL file beside the ledger, if there is one (benchmarks and tests).
    #[doc(hidden)]
    pub fn wal_bytes(&self) -> Option<u64> {
        let path = self.path.as_ref()?;
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        std::fs::metadata(wal).ok().map(|m| m.len())
    }
}
