//! A network receipt printer on a loopback port (raw TCP, as port 9100 on a real one): it records
//! every job (one connection, one job), answers status requests as an Epson printer does, and can
//! misbehave on demand (out of paper, refusing connections, stalling, closing mid-job).

use crate::decode::{Decoder, Op};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How the printer behaves for the next connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Prints, answers status requests.
    Normal,
    /// Reports paper end (DLE EOT 4, GS r 1) and prints nothing.
    PaperOut,
    /// Takes the connection and never reads or answers (a hung printer).
    Stall,
    /// Reads this many bytes, then closes the connection (power cut, cable pulled).
    CloseAfter(usize),
    /// Nothing listens: connections are refused.
    Refuse,
    /// Prints but never answers status requests (a printer or adapter without status).
    Mute,
}

/// One connection's bytes and what became of them.
#[derive(Clone, Debug)]
pub struct Job {
    pub bytes: Vec<u8>,
    /// The job reached its end and was printed (not cut short, not out of paper).
    pub printed: bool,
    /// A decode failure (the strict decoder refused a byte).
    pub error: Option<String>,
}

impl Job {
    pub fn ops(&self) -> Vec<Op> {
        crate::decode::decode(&self.bytes).unwrap_or_default()
    }
}

struct Shared {
    jobs: Mutex<Vec<Job>>,
    changed: Condvar,
    behaviour: Mutex<Behaviour>,
    stop: AtomicBool,
}

/// A running emulator; stops when dropped.
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    listener: Mutex<Option<thread::JoinHandle<()>>>,
}

impl Emulator {
    /// Starts on an ephemeral loopback port.
    pub fn start() -> std::io::Result<Emulator> {
        Emulator::bind("127.0.0.1:0")
    }

    /// Starts on the given address (`0.0.0.0:9100` to stand in for a LAN printer).
    pub fn bind(addr: &str) -> std::io::Result<Emulator> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            jobs: Mutex::new(Vec::new()),
            changed: Condvar::new(),
            behaviour: Mutex::new(Behaviour::Normal),
            stop: AtomicBool::new(false),
        });
        let e = Emulator {
            addr,
            shared,
            listener: Mutex::new(None),
        };
        e.serve(listener);
        Ok(e)
    }

    fn serve(&self, listener: TcpListener) {
        let shared = self.shared.clone();
        listener.set_nonblocking(true).ok();
        let handle = thread::spawn(move || loop {
            if shared.stop.load(Ordering::SeqCst)
                || *shared.behaviour.lock().unwrap() == Behaviour::Refuse
            {
                return;
            }
            match listener.accept() {
                Ok((stream, _)) => {
                    let shared = shared.clone();
                    thread::spawn(move || connection(stream, &shared));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    thread::sleep(Duration::from_millis(5))
                }
                Err(_) => thread::sleep(Duration::from_millis(5)),
            }
        });
        *self.listener.lock().unwrap() = Some(handle);
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Changes how the printer behaves. `Refuse` closes the port; any other behaviour after it
    /// opens the same port again.
    pub fn set_behaviour(&self, b: Behaviour) {
        let was = std::mem::replace(&mut *self.shared.behaviour.lock().unwrap(), b);
        if b == Behaviour::Refuse {
            if let Some(h) = self.listener.lock().unwrap().take() {
                h.join().ok();
            }
        } else if was == Behaviour::Refuse {
            // SO_REUSEADDR (std sets it on Unix) lets the port be bound again at once.
            let mut tries = 0;
            let listener = loop {
                match TcpListener::bind(self.addr) {
                    Ok(l) => break l,
                    Err(e) if tries < 100 => {
                        let _ = e;
                        tries += 1;
                        thread::sleep(Duration::from_millis(20));
                    }
                    Err(e) => panic!("the emulator could not listen on {} again: {e}", self.addr),
                }
            };
            self.serve(listener);
        }
    }

    /// Every job so far (connections that sent something).
    pub fn jobs(&self) -> Vec<Job> {
        self.shared.jobs.lock().unwrap().clone()
    }

    /// The printed jobs so far.
    pub fn printed(&self) -> Vec<Job> {
        self.jobs().into_iter().filter(|j| j.printed).collect()
    }

    /// Waits until `n` jobs have been printed (or the timeout passes), and returns the printed jobs.
    pub fn wait_printed(&self, n: usize, timeout: Duration) -> Vec<Job> {
        let deadline = Instant::now() + timeout;
        let mut jobs = self.shared.jobs.lock().unwrap();
        loop {
            let printed: Vec<Job> = jobs.iter().filter(|j| j.printed).cloned().collect();
            let now = Instant::now();
            if printed.len() >= n || now >= deadline {
                return printed;
            }
            jobs = self
                .shared
                .changed
                .wait_timeout(jobs, deadline - now)
                .unwrap()
                .0;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.listener.lock().unwrap().take() {
            h.join().ok();
        }
    }
}

fn connection(mut stream: TcpStream, shared: &Shared) {
    let behaviour = *shared.behaviour.lock().unwrap();
    if behaviour == Behaviour::Stall {
        // Hold the connection without reading until the emulator stops.
        while !shared.stop.load(Ordering::SeqCst) {
            thread::sleep(Duration::from_millis(20));
        }
        return;
    }
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let mut bytes = Vec::new();
    let mut decoder = Decoder::default();
    let mut error = None;
    let mut cut_short = false;
    let mut buf = [0u8; 4096];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(_) => {
                cut_short = true;
                break;
            }
        };
        let mut chunk = &buf[..n];
        if let Behaviour::CloseAfter(limit) = behaviour {
            let room = limit.saturating_sub(bytes.len());
            if chunk.len() >= room {
                chunk = &chunk[..room];
                bytes.extend_from_slice(chunk);
                cut_short = true;
                break;
            }
        }
        bytes.extend_from_slice(chunk);
        if error.is_some() {
            continue;
        }
        match decoder.feed(chunk) {
            Ok(ops) => {
                for op in ops {
                    if let Some(answer) = status(&op, behaviour) {
                        if stream.write_all(&[answer]).is_err() {
                            cut_short = true;
                        }
                    }
                }
            }
            Err(e) => error = Some(e.to_string()),
        }
    }
    if error.is_none() && !cut_short {
        if let Err(e) = decoder.finish() {
            error = Some(e.to_string());
        }
    }
    drop(stream);
    if bytes.is_empty() {
        return;
    }
    let only_status = crate::decode::decode(&bytes)
        .map(|ops| {
            ops.iter()
                .all(|o| matches!(o, Op::RealtimeStatus(_) | Op::TransmitStatus(_)))
        })
        .unwrap_or(false);
    let printed = !cut_short && error.is_none() && behaviour != Behaviour::PaperOut && !only_status;
    shared.jobs.lock().unwrap().push(Job {
        bytes,
        printed,
        error,
    });
    shared.changed.notify_all();
}

/// The answer to a status request, as an Epson TM printer gives it.
fn status(op: &Op, b: Behaviour) -> Option<u8> {
    if b == Behaviour::Mute {
        return None;
    }
    let paper_out = b == Behaviour::PaperOut;
    match op {
        // Printer status: fixed bits 1 and 4 set, online.
        Op::RealtimeStatus(1) => Some(0x16),
        // Offline cause: fixed bits 1 and 4; bit 5 = stopped by paper end.
        Op::RealtimeStatus(2) => Some(if paper_out { 0x32 } else { 0x12 }),
        // Error cause: none.
        Op::RealtimeStatus(3) => Some(0x12),
        // Roll paper sensor: bits 5 and 6 = paper end.
        Op::RealtimeStatus(4) => Some(if paper_out { 0x72 } else { 0x12 }),
        // Paper sensor status (in sequence): bits 2 and 3 = paper end.
        Op::TransmitStatus(1) => Some(if paper_out { 0x0C } else { 0x00 }),
        // Drawer kick connector status.
        Op::TransmitStatus(2) => Some(0x00),
        _ => None,
    }
}
