//! Fake KOMOJU: a stateful, in-memory stand-in for the KOMOJU API on loopback, for demo mode and tests.
//!
//! It follows the real API (paths, HTTP Basic auth, JSON shapes, statuses, idempotency, error bodies)
//! and adds a control API under `/_fake/` to play the customer (pay, fail, cancel), the store or bank
//! (capture, expire), the clock and transport faults. See `docs/fake-komoju.md`.

mod api;
mod client;
mod control;
mod hosted;
mod model;
mod params;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::routing::{any, get, post};
use axum::Router;
use rand::Rng;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use client::{FakeControl, FakeControlError, FaultSpec};

use model::FakeState;

/// Settings for [`FakeKomoju::start`].
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// TCP port on 127.0.0.1; 0 = any free port.
    pub port: u16,
    /// The secret key clients must send as the HTTP Basic user name.
    pub secret_key: String,
    /// Whether payment state changes are recorded as events (`GET /api/v1/events`).
    pub events_enabled: bool,
    /// Serve on every interface and put this machine's LAN address in `session_url`, so that a phone
    /// on the same network can open the payment page (the desktop demo's opt-in). Off: loopback only.
    pub lan: bool,
    /// The payment types the account has turned on: what a session offers when it names none
    /// (KOMOJU's dashboard setting). Default: card, konbini, bank transfer, Pay-easy, PayPay.
    pub activated_types: Vec<String>,
}

impl Default for FakeConfig {
    fn default() -> Self {
        const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut rng = rand::thread_rng();
        let tail: String = (0..24)
            .map(|_| ALNUM[rng.gen_range(0..ALNUM.len())] as char)
            .collect();
        FakeConfig {
            port: 0,
            secret_key: format!("sk_test_{tail}"),
            events_enabled: true,
            lan: false,
            activated_types: model::DEFAULT_TYPES.iter().map(|t| t.to_string()).collect(),
        }
    }
}

/// The state shared by all handlers.
#[derive(Clone)]
pub(crate) struct Shared(Arc<Mutex<FakeState>>);

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running fake KOMOJU. Dropping it (or [`FakeKomoju::shutdown`]) stops the server.
pub struct FakeKomoju {
    origin: String,
    secret_key: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl FakeKomoju {
    /// Binds 127.0.0.1:`config.port` and starts serving in a background task.
    pub async fn start(config: FakeConfig) -> std::io::Result<FakeKomoju> {
        let (bind, host) = match config.lan.then(lan_address).flatten() {
            Some(ip) => ("0.0.0.0", ip.to_string()),
            None => ("127.0.0.1", "127.0.0.1".to_string()),
        };
        let listener = tokio::net::TcpListener::bind((bind, config.port)).await?;
        let port = listener.local_addr()?.port();
        let origin = format!("http://{host}:{port}");
        let mut state = FakeState::new(
            origin.clone(),
            config.secret_key.clone(),
            config.events_enabled,
        );
        state.activated_types = config
            .activated_types
            .iter()
            .filter(|t| model::KNOWN_TYPES.contains(&t.as_str()))
            .cloned()
            .collect();
        let shared = Shared(Arc::new(Mutex::new(state)));
        let app = router(shared);
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(FakeKomoju {
            origin,
            secret_key: config.secret_key,
            stop: Some(tx),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT` (with `lan`: `http://<LAN address>:PORT`).
    pub fn origin(&self) -> String {
        self.origin.clone()
    }

    /// `http://127.0.0.1:PORT/api/v1`
    pub fn api_base(&self) -> String {
        format!("{}/api/v1", self.origin)
    }

    pub fn secret_key(&self) -> &str {
        &self.secret_key
    }

    /// Stops accepting connections; waits up to 2 s for open requests, then aborts.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take() {
            if tokio::time::timeout(std::time::Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }

    /// Runs until the server task ends (used by `reji fake-komoju`).
    pub async fn wait(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FakeKomoju {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/api/v1", any(api::api_entry))
        .route("/api/v1/{*rest}", any(api::api_entry))
        .route("/sessions/{id}", get(hosted::session_page))
        .route("/sessions/{id}/pay", post(hosted::pay))
        .route("/sessions/{id}/return", post(hosted::return_to_merchant))
        .route("/instructions/{id}", get(hosted::instructions))
        .route("/pay_easy/{id}", get(hosted::instructions))
        .nest("/_fake", control::routes())
        .fallback(control::not_found)
        .with_state(shared)
}

/// This machine's address on its local network: the source address the OS would use to reach a
/// public address (a UDP "connect" sends nothing). None without a network.
fn lan_address() -> Option<std::net::IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:80").ok()?; // TEST-NET-1: never routed anywhere
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}
