//! Atomic replacement of a file: write a temporary file next to it, fsync, rename over it.
//!
//! What a path names decides how it is written ([`check_target`]): a regular file (or a new one) is
//! replaced atomically; a symbolic link to one stays a link and its target is replaced; a character
//! device or a FIFO (`/dev/null`, `/dev/stdout`, a pipe) is written in place; anything else (a
//! folder, a socket, a block device) is refused.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// How [`write_atomically`] writes a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A regular file, new or existing, replaced atomically. Through symbolic links this is the
    /// file they lead to (the links stay).
    File(PathBuf),
    /// A character device or a FIFO, written in place (there is nothing to replace atomically).
    Stream,
}

/// Most links followed to reach a file (as Linux's `ELOOP` limit).
const MAX_LINKS: usize = 40;

/// What writing `path` would do, without writing anything. A folder, a socket, a block device or
/// anything else that is neither a file nor a stream is refused with an
/// [`io::ErrorKind::InvalidInput`] error naming the path.
pub fn check_target(path: &Path) -> io::Result<Target> {
    let refuse = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is {what}, not a file", path.display()),
        )
    };
    if path.file_name().is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} does not name a file", path.display()),
        ));
    }
    // `metadata` follows links (also the kernel's own, like /dev/stdout → /proc/self/fd/1).
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // A new file, or a link to one that does not exist yet: created where the link leads.
            return dangling_target(path).map(Target::File);
        }
        Err(e) => return Err(e),
    };
    let ft = meta.file_type();
    if ft.is_file() {
        let is_link = std::fs::symlink_metadata(path)?.file_type().is_symlink();
        let real = if is_link {
            std::fs::canonicalize(path)?
        } else {
            path.to_path_buf()
        };
        return Ok(Target::File(real));
    }
    if ft.is_dir() {
        return Err(refuse("a folder"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_char_device() || ft.is_fifo() {
            return Ok(Target::Stream);
        }
        if ft.is_socket() {
            return Err(refuse("a socket"));
        }
        if ft.is_block_device() {
            return Err(refuse("a block device"));
        }
    }
    Err(refuse("not a regular file or a stream"))
}

/// Where a path that does not exist would be created: itself, or the end of its chain of links.
fn dangling_target(path: &Path) -> io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let next = std::fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) if next.is_relative() => dir.join(next),
                    _ => next,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{}: too many levels of symbolic links", path.display()),
    ))
}

/// Writes `path` atomically, or in place when it is a device or a FIFO ([`check_target`]).
///
/// For a file, `f` writes into a temporary file created in the same directory as the file
/// (`.<name>.<pid>-<n>.tmp`). When `f` succeeds the data is flushed, fsynced and the temporary
/// file renamed over the file (then the directory is fsynced, on Unix). When `f` fails — or
/// panics, or flushing fails — the temporary file is removed and an existing file is left
/// untouched. A symbolic link stays a link: the file it leads to is replaced.
///
/// For a character device or a FIFO, `f` writes straight into it and every write error (ENOSPC
/// from `/dev/full`, EPIPE from a pipe nobody reads) is returned; what was written before an error
/// stays written. The error type is the caller's (any that an I/O error converts into).
pub fn write_atomically<E: From<io::Error>>(
    path: &Path,
    f: impl FnOnce(&mut BufWriter<File>) -> Result<(), E>,
) -> Result<(), E> {
    let path = match check_target(path)? {
        Target::File(p) => p,
        Target::Stream => return write_in_place(path, f),
    };
    let path = path.as_path();
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

/// A device or a FIFO: opened for writing (never created or truncated), written, flushed.
fn write_in_place<E: From<io::Error>>(
    path: &Path,
    f: impl FnOnce(&mut BufWriter<File>) -> Result<(), E>,
) -> Result<(), E> {
    let file = OpenOptions::new().write(true).open(path)?;
    let mut w = BufWriter::with_capacity(64 * 1024, file);
    if let Err(e) = f(&mut w) {
        // Drop what is still buffered instead of flushing it after the failure.
        let _ = w.into_parts();
        return Err(e);
    }
    w.into_inner().map_err(|e| e.into_error())?;
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
