//! Atomic replacement of a file: write a temporary file next to it, fsync, rename over it.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Writes `path` atomically.
///
/// `f` writes into a temporary file created in the same directory as `path`
/// (`.<name>.<pid>-<n>.tmp`). When `f` succeeds the data is flushed, fsynced and the temporary
/// file renamed over `path` (then the directory is fsynced, on Unix). When `f` fails — or
/// panics, or flushing fails — the temporary file is removed and an existing `path` is left
/// untouched. The error type is the caller's (any that an I/O error converts into).
pub fn write_atomically<E: From<io::Error>>(
    path: &Path,
    f: impl FnOnce(&mut BufWriter<File>) -> Result<(), E>,
) -> Result<(), E> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} does not name a file", path.display()),
        )
    })?;

    let (file, tmp) = create_temp(&dir, name)?;
    let guard = RemoveOnDrop(Some(tmp));

    let mut w = BufWriter::with_capacity(64 * 1024, file);
    f(&mut w)?;
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    drop(file);

    let tmp = guard.path();
    std::fs::rename(tmp, path)?;
    guard.disarm();
    sync_dir(&dir);
    Ok(())
}

/// Writes to `out` only what `f` wrote completely: `f` writes into a temporary file (in the
/// system's temp directory, removed afterwards), which is copied to `out` when `f` succeeds. A
/// failure leaves `out` untouched (no half a CSV on standard output before an error message).
/// Memory stays flat however large the output. The error type is the caller's, as above.
pub fn write_spooled<T, E: From<io::Error>>(
    mut out: impl io::Write,
    f: impl FnOnce(&mut BufWriter<File>) -> Result<T, E>,
) -> Result<T, E> {
    use std::io::Seek;
    let (file, tmp) = create_temp(&std::env::temp_dir(), std::ffi::OsStr::new("reji-export"))?;
    let _guard = RemoveOnDrop(Some(tmp));
    let mut w = BufWriter::with_capacity(64 * 1024, file);
    let value = f(&mut w)?;
    let mut file = w.into_inner().map_err(|e| e.into_error())?;
    file.seek(io::SeekFrom::Start(0))?;
    io::copy(&mut file, &mut out)?;
    out.flush()?;
    Ok(value)
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn create_temp(dir: &Path, name: &std::ffi::OsStr) -> io::Result<(File, PathBuf)> {
    let pid = std::process::id();
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut tmp_name = OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".{pid}-{n}.tmp"));
        let tmp = dir.join(tmp_name);
        match OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => return Ok((f, tmp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Removes the temporary file unless disarmed (also on panic).
struct RemoveOnDrop(Option<PathBuf>);

impl RemoveOnDrop {
    fn path(&self) -> &Path {
        self.0.as_deref().expect("armed")
    }

    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Makes the rename durable. Best effort: not every platform or file system supports it.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
