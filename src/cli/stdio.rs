//! Standard output and standard error for the CLI. `println!` panics when stdout is a closed pipe
//! (`reji list | head -1`); here a closed pipe ends the program quietly with exit 0, another
//! failure to write stdout (a full disk) with a message and exit 5. A failure to write stderr is
//! ignored: there is nowhere left to say it.

use std::io::{self, Write};

/// Writes formatted text to stdout (see the module).
pub fn out(args: std::fmt::Arguments<'_>) {
    if let Err(e) = io::stdout().lock().write_fmt(args) {
        stdout_failed(e)
    }
}

/// Writes formatted text to stderr, ignoring failures.
pub fn err(args: std::fmt::Arguments<'_>) {
    let _ = io::stderr().lock().write_fmt(args);
}

/// Ends the program after stdout failed: quietly for a closed pipe (the reader has all it
/// wanted), with a message and exit 5 (a local file could not be written) otherwise.
pub fn stdout_failed(e: io::Error) -> ! {
    if e.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    err(format_args!("reji: cannot write to standard output: {e}\n"));
    std::process::exit(5)
}

/// Stdout as a [`Write`] whose failures end the program as [`stdout_failed`] says.
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match io::stdout().lock().write(buf) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => stdout_failed(e),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match io::stdout().lock().flush() {
            Ok(()) => Ok(()),
            Err(e) => stdout_failed(e),
        }
    }
}

/// `print!` that ends quietly on a closed pipe.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::stdio::out(format_args!($($arg)*))
    };
}

/// `println!` that ends quietly on a closed pipe.
macro_rules! outln {
    () => {
        $crate::cli::stdio::out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::stdio::out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprintln!` that never panics.
macro_rules! errln {
    () => {
        $crate::cli::stdio::err(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::stdio::err(format_args!("{}\n", format_args!($($arg)*)))
    };
}
