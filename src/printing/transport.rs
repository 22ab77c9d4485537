//! Getting a job's bytes to the printer: raw TCP (port 9100) or a device file (USB printer class).
//!
//! Over the network the printer is asked for its roll paper status before the job (`DLE EOT 4`,
//! answered at once) so a job is not sent to a printer out of paper, and for its paper sensor
//! status after it (`GS r 1`, answered only once everything before it is processed), which tells
//! that the job went through. A printer that never answers can be used with the status check off.

use super::config::Connection;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Why a job did not print, in words for the staff (the app shows them by `code`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PrintError {
    #[error("no receipt printer is set up")]
    NotConfigured,
    #[error("the printer at {0} cannot be reached: is it on and connected to the network? ({1})")]
    Offline(String, String),
    #[error("the printer at {0} did not answer in time")]
    Timeout(String),
    #[error("the printer is out of paper")]
    PaperOut,
    #[error("the connection to the printer at {0} was lost during the job")]
    ConnectionLost(String),
    #[error("the printer device {0} cannot be used: {1}")]
    Device(String, String),
}

impl PrintError {
    /// A short stable code for the app's messages and the queue's records.
    pub fn code(&self) -> &'static str {
        match self {
            PrintError::NotConfigured => "not_configured",
            PrintError::Offline(..) => "offline",
            PrintError::Timeout(_) => "timeout",
            PrintError::PaperOut => "paper_out",
            PrintError::ConnectionLost(_) => "connection_lost",
            PrintError::Device(..) => "device",
        }
    }
}

/// How long to wait for the printer.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub connect: Duration,
    /// For each write and each status answer (a long raster job is written in pieces).
    pub io: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(3),
            io: Duration::from_secs(10),
        }
    }
}

const DLE_EOT_PAPER: [u8; 3] = [0x10, 0x04, 4];
const GS_R_PAPER: [u8; 3] = [0x1D, b'r', 1];

/// Sends one job. `Ok` means the printer took all of it (and, with the status check, answered
/// after processing it without reporting paper end).
pub fn send(
    to: &Connection,
    job: &[u8],
    status_check: bool,
    t: Timeouts,
) -> Result<(), PrintError> {
    match to {
        Connection::None | Connection::System => Err(PrintError::NotConfigured),
        Connection::Network { host, port } => send_tcp(host, *port, job, status_check, t),
        Connection::Device { path } => {
            let name = path.display().to_string();
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| PrintError::Device(name.clone(), device_hint(&e)))?;
            f.write_all(job)
                .and_then(|_| f.flush())
                .map_err(|e| PrintError::Device(name, e.to_string()))
        }
    }
}

fn device_hint(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => {
            "permission denied (on Linux, add the user to the lp group; see docs/printing.md)"
                .into()
        }
        std::io::ErrorKind::NotFound => "no such device (is the printer plugged in and on?)".into(),
        _ => e.to_string(),
    }
}

fn send_tcp(
    host: &str,
    port: u16,
    job: &[u8],
    status_check: bool,
    t: Timeouts,
) -> Result<(), PrintError> {
    let name = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let addrs: Vec<_> = (host, port)
        .to_socket_addrs()
        .map_err(|e| PrintError::Offline(name.clone(), e.to_string()))?
        .collect();
    let mut last = None;
    let mut stream = None;
    for a in &addrs {
        match TcpStream::connect_timeout(a, t.connect) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let mut s = match stream {
        Some(s) => s,
        None => {
            let e = last.map_or_else(|| "no address".to_string(), |e| e.to_string());
            return Err(if e.contains("timed out") {
                PrintError::Timeout(name)
            } else {
                PrintError::Offline(name, e)
            });
        }
    };
    s.set_nodelay(true).ok();
    s.set_write_timeout(Some(t.io)).ok();
    s.set_read_timeout(Some(t.io)).ok();
    let lost = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            PrintError::Timeout(name.clone())
        }
        _ => PrintError::ConnectionLost(name.clone()),
    };
    if status_check {
        s.write_all(&DLE_EOT_PAPER).map_err(lost)?;
        let b = answer(&mut s).map_err(lost)?;
        // Bits 5 and 6: the roll paper end sensor.
        if b & 0x60 != 0 {
            return Err(PrintError::PaperOut);
        }
    }
    s.write_all(job).map_err(lost)?;
    if status_check {
        s.write_all(&GS_R_PAPER).map_err(lost)?;
        let b = answer(&mut s).map_err(lost)?;
        // Bits 2 and 3: paper end (the job may be cut short).
        if b & 0x0C != 0 {
            return Err(PrintError::PaperOut);
        }
    }
    s.flush().map_err(lost)?;
    s.shutdown(std::net::Shutdown::Write).ok();
    // Wait for the printer to close its side (or a short while): closing first with unread
    // data would reset the connection and could drop the end of the job on some adapters.
    s.set_read_timeout(Some(Duration::from_millis(500))).ok();
    let mut sink = [0u8; 64];
    while let Ok(n) = s.read(&mut sink) {
        if n == 0 {
            break;
        }
    }
    Ok(())
}

fn answer(s: &mut TcpStream) -> std::io::Result<u8> {
    let mut b = [0u8; 1];
    match s.read(&mut b)? {
        0 => Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "closed",
        )),
        _ => Ok(b[0]),
    }
}
