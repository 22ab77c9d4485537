//! The payment tracker: one owned tokio task that follows every invoice that is not final.
//!
//! - **Fast lane**: a session whose QR is on screen is polled with `GET /sessions/:id` on a
//!   [`Cadence`] (fast while payment is likely); the change is published the moment it is seen.
//! - **Slow lane**: everything else (konbini / bank transfer / Pay-easy waits, sessions left open) is
//!   followed through a change feed ([`feed`]): KOMOJU's Events API while it proves alive, else the
//!   list of payments still waiting. No per-invoice polling.
//!
//! Callers talk to it through [`Tracker`] (commands) and receive [`Notice`]s on a broadcast channel.
//! It holds no UI types. All HTTP runs outside the register's lock; every status change goes
//! through the ledger's compare-and-set.

pub mod feed;
pub mod schedule;

pub use schedule::{Backoff, Cadence, FeedChooser, FeedKind, FeedMode};

use crate::komoju::{Client, KomojuError, Session};
use crate::ledger::Move;
use crate::register::{Error, InvoiceView, Register};
use crate::status::InvoiceStatus;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, Mutex};
use tokio::time::Instant;

#[derive(Clone, Debug)]
pub struct TrackerConfig {
    pub cadence: Cadence,
    /// Time between slow-lane passes.
    pub slow_every: Duration,
    /// How far each feed window reaches back before the cursor.
    pub overlap: chrono::Duration,
    pub feed: FeedMode,
    /// Backoff on network trouble (per session in the fast lane, for the slow lane as a whole).
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            cadence: Cadence::default(),
            slow_every: Duration::from_secs(60),
            overlap: chrono::Duration::minutes(10),
            feed: FeedMode::Auto,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
        }
    }
}

/// What the tracker tells its subscribers.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    /// An invoice changed status.
    Change {
        invoice_number: String,
        from: InvoiceStatus,
        to: InvoiceStatus,
        invoice: Box<InvoiceView>,
    },
    /// The slow lane now uses this feed.
    Feed { feed: FeedKind },
    /// KOMOJU rejected the key (401): polling stopped until `refresh_now`.
    KeyProblem { message: String },
    /// Network trouble (the tracker keeps retrying with backoff), or recovery.
    Network { ok: bool, message: String },
    /// A slow-lane pass finished (for `reji watch --json` scripts and the benchmarks).
    Pass {
        feed: FeedKind,
        requests: u32,
        items: usize,
        changes: usize,
    },
}

enum Command {
    Watch(String, oneshot::Sender<Result<(), Error>>),
    Unwatch(String),
    RefreshNow,
    Shutdown,
}

/// Handle to the running tracker task.
pub struct Tracker {
    cmd: mpsc::Sender<Command>,
    notices: broadcast::Sender<Notice>,
    /// Created before the task starts, handed to the first subscriber so it misses nothing.
    first: std::sync::Mutex<Option<broadcast::Receiver<Notice>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Tracker {
    /// Starts the task. The register is shared with the caller (UI commands lock it briefly too).
    pub fn spawn(reg: Arc<Mutex<Register>>, client: Client, config: TrackerConfig) -> Tracker {
        let (cmd, rx) = mpsc::channel(64);
        let (notices, first) = broadcast::channel(1024);
        let task = tokio::spawn(Task::new(reg, client, config, notices.clone()).run(rx));
        Tracker {
            cmd,
            notices,
            first: std::sync::Mutex::new(Some(first)),
            task,
        }
    }

    /// A receiver of notices. The first call gets every notice since the start.
    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        let first = self.first.lock().unwrap_or_else(|e| e.into_inner()).take();
        first.unwrap_or_else(|| self.notices.subscribe())
    }

    /// Follows an invoice's session closely (its QR is on screen). `id` is an invoice number or a
    /// session id.
    pub async fn watch(&self, id: &str) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        if self
            .cmd
            .send(Command::Watch(id.to_string(), tx))
            .await
            .is_err()
        {
            return Err(Error::NotFound("the tracker has stopped".into()));
        }
        rx.await.unwrap_or(Ok(()))
    }

    /// The QR is no longer shown: the invoice goes back to the slow lane.
    pub async fn unwatch(&self, id: &str) {
        let _ = self.cmd.send(Command::Unwatch(id.to_string())).await;
    }

    /// Runs a slow-lane pass now (and resumes after a key problem).
    pub async fn refresh_now(&self) {
        let _ = self.cmd.send(Command::RefreshNow).await;
    }

    pub async fn shutdown(self) {
        let _ = self.cmd.send(Command::Shutdown).await;
        let _ = self.task.await;
    }

    /// Asks the task to stop without waiting for it (for a handle shared behind an `Arc`).
    pub async fn stop(&self) {
        let _ = self.cmd.send(Command::Shutdown).await;
    }
}

struct Watched {
    invoice_id: i64,
    session_id: String,
    shown_at: Instant,
    next_at: Instant,
    /// When the poll in flight was sent: the cadence spaces request *starts*.
    sent_at: Instant,
    in_flight: bool,
    backoff: Backoff,
    /// What the last applied snapshot showed (status, expiry, payment) and when it was applied: an
    /// unchanged snapshot is not written again for [`REAPPLY_UNCHANGED`], so hundreds of polls a
    /// second do not queue on the ledger (re-applying still lets Reji's own deadline expire it).
    last_seen: Option<(String, Instant)>,
}

/// How long an unchanged fast-lane snapshot is not re-applied.
const REAPPLY_UNCHANGED: Duration = Duration::from_secs(15);

/// What a session snapshot shows that can change an invoice.
fn snapshot_signature(s: &Session) -> String {
    let payment = s
        .payment
        .as_ref()
        .map(|p| format!("{}:{}:{}", p.id, p.status.as_str(), p.amount_refunded));
    format!("{}:{}:{payment:?}", s.status.as_str(), s.expired)
}

enum Done {
    Poll {
        invoice_id: i64,
        result: Box<Result<Session, KomojuError>>,
    },
    Pass {
        chooser: FeedChooser,
        result: Result<(FeedKind, feed::PassOutcome, bool), feed::FeedError>,
    },
}

struct Task {
    reg: Arc<Mutex<Register>>,
    client: Client,
    cfg: TrackerConfig,
    notices: broadcast::Sender<Notice>,
    fast: HashMap<i64, Watched>,
    chooser: Option<FeedChooser>,
    next_pass: Instant,
    pass_backoff: Backoff,
    key_problem: bool,
    network_down: bool,
    done_tx: mpsc::Sender<Done>,
    done_rx: mpsc::Receiver<Done>,
}

impl Task {
    fn new(
        reg: Arc<Mutex<Register>>,
        client: Client,
        cfg: TrackerConfig,
        notices: broadcast::Sender<Notice>,
    ) -> Self {
        let (done_tx, done_rx) = mpsc::channel(256);
        Task {
            chooser: Some(FeedChooser::new(cfg.feed)),
            pass_backoff: Backoff::new(cfg.backoff_base, cfg.backoff_max),
            reg,
            client,
            cfg,
            notices,
            fast: HashMap::new(),
            next_pass: Instant::now(),
            key_problem: false,
            network_down: false,
            done_tx,
            done_rx,
        }
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        let _ = self.notices.send(Notice::Feed {
            feed: self
                .chooser
                .as_ref()
                .map_or(FeedKind::Events, |c| c.current()),
        });
        loop {
            self.start_due_work();
            let wake = self.next_wake();
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    None | Some(Command::Shutdown) => break,
                    Some(Command::Watch(id, reply)) => { let r = self.watch(&id).await; let _ = reply.send(r); }
                    Some(Command::Unwatch(id)) => self.unwatch(&id).await,
                    Some(Command::RefreshNow) => { self.key_problem = false; self.next_pass = Instant::now(); }
                },
                Some(done) = self.done_rx.recv() => self.finish(done).await,
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    fn next_wake(&self) -> Instant {
        let far = Instant::now() + Duration::from_secs(3600);
        if self.key_problem {
            return far;
        }
        let fast = self
            .fast
            .values()
            .filter(|w| !w.in_flight)
            .map(|w| w.next_at)
            .min();
        let slow = self.chooser.as_ref().map(|_| self.next_pass);
        [fast, slow].into_iter().flatten().min().unwrap_or(far)
    }

    fn start_due_work(&mut self) {
        if self.key_problem {
            return;
        }
        let now = Instant::now();
        for w in self.fast.values_mut() {
            if !w.in_flight && w.next_at <= now {
                w.in_flight = true;
                w.sent_at = now;
                let (client, tx, sid, invoice_id) = (
                    self.client.clone(),
                    self.done_tx.clone(),
                    w.session_id.clone(),
                    w.invoice_id,
                );
                tokio::spawn(async move {
                    let result = client.get_session(&sid).await;
                    let _ = tx
                        .send(Done::Poll {
                            invoice_id,
                            result: Box::new(result),
                        })
                        .await;
                });
            }
        }
        if self.next_pass <= now {
            if let Some(mut chooser) = self.chooser.take() {
                let (client, reg, tx, overlap) = (
                    self.client.clone(),
                    self.reg.clone(),
                    self.done_tx.clone(),
                    self.cfg.overlap,
                );
                tokio::spawn(async move {
                    let result = run_pass(&client, &reg, &mut chooser, overlap).await;
                    let _ = tx.send(Done::Pass { chooser, result }).await;
                });
            }
        }
    }

    async fn watch(&mut self, id: &str) -> Result<(), Error> {
        let (invoice_id, session_id) = {
            let r = self.reg.lock().await;
            let inv = r.ledger().find_invoice(id)?;
            let a = r.ledger().current_attempt(inv.id)?;
            (inv.id, a.session_id)
        };
        let Some(session_id) = session_id else {
            return Err(Error::NotFound(format!(
                "invoice {id} has no KOMOJU session yet"
            )));
        };
        let now = Instant::now();
        self.fast.insert(
            invoice_id,
            Watched {
                invoice_id,
                session_id,
                shown_at: now,
                next_at: now,
                sent_at: now,
                in_flight: false,
                backoff: Backoff::new(self.cfg.backoff_base, self.cfg.backoff_max),
                last_seen: None,
            },
        );
        Ok(())
    }

    async fn unwatch(&mut self, id: &str) {
        let found = self
            .reg
            .lock()
            .await
            .ledger()
            .find_invoice(id)
            .ok()
            .map(|i| i.id);
        if let Some(i) = found {
            self.fast.remove(&i);
        }
    }

    async fn finish(&mut self, done: Done) {
        match done {
            Done::Poll { invoice_id, result } => {
                let Some(w) = self.fast.get_mut(&invoice_id) else {
                    return;
                };
                w.in_flight = false;
                match *result {
                    Ok(session) => {
                        w.backoff.succeed();
                        let shown = w.sent_at.duration_since(w.shown_at);
                        w.next_at = w.sent_at + self.cfg.cadence.interval(shown);
                        let signature = snapshot_signature(&session);
                        let now = Instant::now();
                        let unchanged = w.last_seen.as_ref().is_some_and(|(s, at)| {
                            *s == signature && now.duration_since(*at) < REAPPLY_UNCHANGED
                        });
                        if !unchanged {
                            w.last_seen = Some((signature, now));
                        }
                        self.network(true, "");
                        if unchanged {
                            return;
                        }
                        let applied = self.reg.lock().await.apply_session_snapshot(&session);
                        match applied {
                            Ok(Some((id, m))) => {
                                if let Move::Applied { .. } = m {
                                    if let Some(c) = self.chooser.as_mut() {
                                        c.observed_change();
                                    }
                                }
                                self.publish(id, m).await;
                                let status = self
                                    .reg
                                    .lock()
                                    .await
                                    .ledger()
                                    .invoice_by_id(id)
                                    .map(|i| i.status);
                                // Stop when final or no longer waiting on this session.
                                if !matches!(
                                    status,
                                    Ok(InvoiceStatus::Pending | InvoiceStatus::Failed)
                                ) {
                                    self.fast.remove(&invoice_id);
                                }
                            }
                            Ok(None) => {
                                self.fast.remove(&invoice_id);
                            }
                            Err(e) => self.network(false, &e.user_message()),
                        }
                    }
                    Err(e) if e.is_auth() => self.key(&e),
                    Err(e) => {
                        let wait = w.backoff.fail();
                        w.next_at = Instant::now() + wait;
                        self.network(false, &e.to_string());
                    }
                }
            }
            Done::Pass { chooser, result } => {
                let feed = chooser.current();
                let before = self.chooser.as_ref().map(|c| c.current());
                self.chooser = Some(chooser);
                match result {
                    Ok((used, outcome, _)) => {
                        self.pass_backoff.succeed();
                        self.next_pass = Instant::now() + self.cfg.slow_every;
                        self.network(true, "");
                        let changes = outcome.moves.len();
                        for (id, m) in outcome.moves {
                            self.publish(id, m).await;
                        }
                        let _ = self.notices.send(Notice::Pass {
                            feed: used,
                            requests: outcome.requests,
                            items: outcome.items,
                            changes,
                        });
                    }
                    Err(e) if e.is_auth() => {
                        self.next_pass = Instant::now() + self.cfg.slow_every;
                        self.key(&e);
                    }
                    Err(e) => {
                        self.next_pass = Instant::now() + self.pass_backoff.fail();
                        self.network(false, &e.to_string());
                    }
                }
                if before != Some(feed) || self.chooser.as_ref().map(|c| c.current()) != Some(feed)
                {
                    let now_feed = self.chooser.as_ref().map_or(feed, |c| c.current());
                    let _ = self.notices.send(Notice::Feed { feed: now_feed });
                }
            }
        }
    }

    async fn publish(&self, invoice_id: i64, m: Move) {
        if let Move::Applied { from, to } = m {
            let view = self.reg.lock().await.view(invoice_id);
            if let Ok(v) = view {
                let _ = self.notices.send(Notice::Change {
                    invoice_number: v.invoice_number.clone(),
                    from,
                    to,
                    invoice: Box::new(v),
                });
            }
        }
    }

    /// A 401 stops polling and is reported once, not every second.
    fn key(&mut self, e: &dyn std::fmt::Display) {
        if !self.key_problem {
            self.key_problem = true;
            let _ = self.notices.send(Notice::KeyProblem {
                message: format!("KOMOJU rejected the secret key (401): {e}; polling stopped until the key is fixed"),
            });
        }
    }

    fn network(&mut self, ok: bool, message: &str) {
        if ok == self.network_down {
            self.network_down = !ok;
            let _ = self.notices.send(Notice::Network {
                ok,
                message: message.to_string(),
            });
        }
    }
}

/// One slow-lane pass with the chooser's feed (and an events probe when due).
async fn run_pass(
    client: &Client,
    reg: &Mutex<Register>,
    chooser: &mut FeedChooser,
    overlap: chrono::Duration,
) -> Result<(FeedKind, feed::PassOutcome, bool), feed::FeedError> {
    let plan = chooser.plan();
    let now = reg.lock().await.clock().now();
    if plan.feed == FeedKind::Events || plan.probe_events {
        match feed::events_pass(client, reg, overlap, now).await {
            Ok(out) => {
                if out.returned == 0 && out.expected > 0 {
                    // Reji saw payments change in this window, yet the feed carried nothing.
                    chooser.observed_change();
                }
                chooser.events_result(Ok(out.returned));
                if chooser.current() == FeedKind::Events {
                    return Ok((FeedKind::Events, out, plan.probe_events));
                }
                if plan.feed == FeedKind::Events {
                    // Just switched: run the list feed now so nothing waits a whole interval.
                    let list = feed::list_pass(client, reg, overlap, now).await?;
                    chooser.list_pass();
                    return Ok((FeedKind::List, merge(out, list), false));
                }
            }
            Err(e) if e.is_auth() => return Err(e),
            Err(e) => {
                chooser.events_result(Err(()));
                if chooser.current() == FeedKind::Events {
                    return Err(e);
                }
            }
        }
    }
    let out = feed::list_pass(client, reg, overlap, now).await?;
    chooser.list_pass();
    Ok((FeedKind::List, out, plan.probe_events))
}

/// `reji sync`: one catch-up pass, then return.
///
/// Invoices waiting at a store or bank (`awaiting_payment`, however many) are covered by one change
/// feed pass: the events feed when it carries events (or is forced), the list of waiting payments
/// when it carries none, errors, or is forced. A one-shot run cannot tell a quiet events feed from
/// a dead one (an account without a webhook endpoint), so with `auto` an empty events window is
/// followed by the list feed whenever something is waiting. Everything else that is not final (an
/// open session, an unanswered POST, a pending refund request: few at any time) is refreshed one by
/// one, so a session KOMOJU expired or cancelled is seen before Reji's own deadline passes.
pub async fn sync(
    reg: &Mutex<Register>,
    mode: FeedMode,
    overlap: chrono::Duration,
) -> Result<crate::register::SyncReport, Error> {
    let (client, open) = {
        let mut r = reg.lock().await;
        let client = r.client_handle()?;
        r.reconcile_after_restore().await?;
        (client, r.ledger().open_invoices()?)
    };
    let mut one_by_one = Vec::new();
    let mut waiting = Vec::new();
    {
        let r = reg.lock().await;
        for inv in &open {
            if inv.status == InvoiceStatus::AwaitingPayment
                && r.ledger().unanswered_requests(inv.id)?.is_empty()
            {
                waiting.push(inv.clone());
            } else {
                one_by_one.push(inv.clone());
            }
        }
    }
    let mut errors = reg.lock().await.refresh_each(&one_by_one).await?;
    let now = reg.lock().await.clock().now();
    let (feed, requests) =
        match sync_feed_pass(&client, reg, mode, overlap, now, !waiting.is_empty()).await {
            Ok((used, requests)) => (used, requests),
            Err(e) if e.is_auth() => return Err(e.into()),
            Err(_) => {
                // The feed could not be read (an API without it, a network failure mid-page): the
                // waiting invoices one by one instead, so a sync never leaves them behind.
                errors.extend(reg.lock().await.refresh_each(&waiting).await?);
                ("one_by_one".to_string(), 0)
            }
        };
    let mut report = reg.lock().await.sync_report(&open, errors)?;
    report.feed = Some(feed);
    report.feed_requests = requests;
    Ok(report)
}

/// The feed part of [`sync`]: which feeds ran (`events`, `list`, `events+list`) and their requests.
async fn sync_feed_pass(
    client: &Client,
    reg: &Mutex<Register>,
    mode: FeedMode,
    overlap: chrono::Duration,
    now: chrono::DateTime<chrono::Utc>,
    something_waits: bool,
) -> Result<(String, u32), feed::FeedError> {
    let mut used: Vec<&str> = Vec::new();
    let mut requests = 0;
    let mut list_needed = mode == FeedMode::List;
    if mode != FeedMode::List {
        match feed::events_pass(client, reg, overlap, now).await {
            Ok(out) => {
                used.push(FeedKind::Events.as_str());
                requests += out.requests;
                list_needed = mode == FeedMode::Auto && something_waits && out.returned == 0;
            }
            Err(e) if e.is_auth() || mode == FeedMode::Events => return Err(e),
            Err(_) => list_needed = true,
        }
    }
    if list_needed {
        let out = feed::list_pass(client, reg, overlap, now).await?;
        used.push(FeedKind::List.as_str());
        requests += out.requests;
    }
    Ok((used.join("+"), requests))
}

fn merge(mut a: feed::PassOutcome, b: feed::PassOutcome) -> feed::PassOutcome {
    a.requests += b.requests;
    a.items += b.items;
    a.moves.extend(b.moves);
    a
}
