//! Row 6: the payment tracker (`reji::tracker`) against the fake KOMOJU (`--only tracker`).
//!
//! - 6a fast lane: S card sessions watched at once in ONE tracker, each paid at a random moment
//!   after `watch`, fake at +150 ms API latency: paid → `Notice::Change` latency and
//!   `GET /sessions/:id` per session per second of life, next to a plain 3 s poll.
//! - 6b slow lane: N pending konbini invoices, 5 captures since the last pass: requests and time of
//!   one pass, for the events feed and the list feed (`Notice::Pass`).
//! - 6c catch-up: a three-day closure (fake clock), then the first pass of a new tracker.

use super::{percentile, sorted, BoxError, Res, Row};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reji::clock::{Clock, SystemClock};
use reji::fake::{FakeConfig, FakeControl, FakeKomoju, FaultSpec};
use reji::komoju::{Client, RetryPolicy};
use reji::ledger::Ledger;
use reji::register::{ChargeRequest, Register};
use reji::status::InvoiceStatus;
use reji::tracker::{Cadence, FeedMode, Notice, Tracker, TrackerConfig};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, Mutex};

const LATENCY_MS: u64 = 150;
const SESSIONS_ROUTE: &str = "GET /sessions/:id";

struct Sizes {
    sessions: usize,
    /// Pay this many seconds after `watch` (uniform).
    pay_after: (f64, f64),
    lanes: Vec<usize>,
    catchup_events: usize,
}

impl Sizes {
    fn new(quick: bool) -> Sizes {
        if quick {
            Sizes {
                sessions: 5,
                pay_after: (1.0, 3.0),
                lanes: vec![10, 100],
                catchup_events: 20,
            }
        } else {
            Sizes {
                sessions: 200,
                pay_after: (10.0, 90.0),
                lanes: vec![10, 1_000, 10_000],
                catchup_events: 2_000,
            }
        }
    }
}

pub(super) fn bench_tracker(quick: bool, tmp: &Path) -> Res<Vec<Row>> {
    let sizes = Sizes::new(quick);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run(&sizes, tmp))
}

async fn run(sizes: &Sizes, tmp: &Path) -> Res<Vec<Row>> {
    let mut rows = Vec::new();
    rows.extend(fast_rows(sizes, tmp).await?);
    let last = sizes.lanes.len() - 1;
    for (i, &n) in sizes.lanes.iter().enumerate() {
        let mut lane = Lane::seed(n, tmp).await?;
        rows.extend(lane.slow_rows().await?);
        if i == last {
            rows.extend(lane.catch_up(sizes.catchup_events).await?);
        }
        lane.fake.shutdown().await;
    }
    Ok(rows)
}

// ---- shared ------------------------------------------------------------------------------------

fn client(fake: &FakeKomoju) -> Res<Client> {
    Ok(Client::new(
        &fake.api_base(),
        fake.secret_key().parse()?,
        RetryPolicy::default(),
    )?)
}

fn register(db: &Path, fake: &FakeKomoju, clock: Arc<dyn Clock>) -> Res<Arc<Mutex<Register>>> {
    let l = Ledger::open(db)?;
    Ok(Arc::new(Mutex::new(Register::new(
        l,
        Some(client(fake)?),
        clock,
    )?)))
}

/// The shop's wall clock moved with the fake's (`advance_clock`), so Reji and KOMOJU agree on "now"
/// (the list feed's `start_time` and session deadlines come from Reji's clock).
#[derive(Default)]
struct ShopClock(AtomicI64);

impl Clock for ShopClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + chrono::Duration::seconds(self.0.load(Ordering::Relaxed))
    }
}

async fn charge(reg: &Mutex<Register>, method: Option<&str>) -> Res<(String, String)> {
    let v = reg
        .lock()
        .await
        .charge(ChargeRequest {
            amount: Some(1100),
            methods: method
                .map(reji::register::parse_methods)
                .unwrap_or_default(),
            ..Default::default()
        })
        .await?;
    let sid = v.session_id.ok_or("charge returned no session id")?;
    Ok((v.invoice_number, sid))
}

async fn route(ctl: &FakeControl, r: &str) -> Res<u64> {
    let s = ctl.stats().await?;
    Ok(s["requests_by_route"][r].as_u64().unwrap_or(0))
}

async fn api_requests(ctl: &FakeControl) -> Res<u64> {
    Ok(ctl.stats().await?["api_requests"].as_u64().unwrap_or(0))
}

async fn add_latency(ctl: &FakeControl, ms: u64) -> Res<()> {
    ctl.add_fault(&FaultSpec {
        kind: "latency".into(),
        count: Some(1_000_000_000),
        latency_ms: Some(ms),
        path_prefix: Some("/api/v1".into()),
        ..FaultSpec::default()
    })
    .await?;
    Ok(())
}

/// The next `Notice::Pass` (requests, items, changes), within `limit`.
async fn next_pass(
    rx: &mut broadcast::Receiver<Notice>,
    limit: Duration,
) -> Res<(u32, usize, usize)> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(Notice::Pass {
                requests,
                items,
                changes,
                ..
            })) => return Ok((requests, items, changes)),
            Ok(Ok(Notice::Network { ok: false, message })) => {
                eprintln!("reji-bench: tracker network trouble: {message}")
            }
            Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => {}
            Ok(Err(e)) => return Err(format!("tracker notices closed: {e}").into()),
            Err(_) => return Err("timed out waiting for a slow-lane pass".into()),
        }
    }
}

fn slow_cfg(feed: FeedMode) -> TrackerConfig {
    TrackerConfig {
        // Passes run only when asked (`refresh_now`) after the first.
        slow_every: Duration::from_secs(3600),
        feed,
        ..Default::default()
    }
}

// ---- 6a: fast lane -----------------------------------------------------------------------------

struct FastStats {
    latency_s: Vec<f64>,
    requests: u64,
    life_s: f64,
    missing: usize,
}

async fn fast_rows(sizes: &Sizes, tmp: &Path) -> Res<Vec<Row>> {
    eprintln!(
        "reji-bench: tracker fast lane, {} sessions paid {}–{} s after watch (two trackers at once)",
        sizes.sessions, sizes.pay_after.0, sizes.pay_after.1
    );
    let (db_a, db_b) = (
        tmp.join("fast-cadence.sqlite"),
        tmp.join("fast-fixed3.sqlite"),
    );
    let (a, b) = tokio::join!(
        fast_run(sizes, Cadence::default(), &db_a),
        fast_run(sizes, Cadence::fixed(Duration::from_secs(3)), &db_b)
    );
    let (a, b) = (a?, b?);
    let mut rows = Vec::new();
    let what = |x: &str| {
        format!(
            "Fast lane {x}, fake +{LATENCY_MS} ms, {} sessions paid {}–{} s after watch",
            sizes.sessions, sizes.pay_after.0, sizes.pay_after.1
        )
    };
    let (ap50, ap95, arate) = summary(&a);
    let (bp50, bp95, brate) = summary(&b);
    rows.push(
        Row::new("6", &what("paid → change p50"))
            .value(ap50, "s")
            .reference("plain 3 s poll, same payments, p50 (s)", Some(bp50))
            .ratio(Some(ap50 / bp50), "of 3 s poll")
            .goal("p50 ≤ 0.6 s", Some(ap50 <= 0.6))
            .note(format!(
                "max {:.2} s; 3 s poll max {:.2} s{}",
                a.latency_s.last().copied().unwrap_or(f64::NAN),
                b.latency_s.last().copied().unwrap_or(f64::NAN),
                missing_note(&a, &b)
            )),
    );
    rows.push(
        Row::new("6", &what("paid → change p95"))
            .value(ap95, "s")
            .reference("plain 3 s poll, same payments, p95 (s)", Some(bp95))
            .ratio(Some(ap95 / bp95), "of 3 s poll")
            .goal("p95 ≤ 1.0 s", Some(ap95 <= 1.0)),
    );
    rows.push(
        Row::new("6", &what("GET /sessions/:id per session per second"))
            .value(arate, "req/s")
            .reference("plain 3 s poll (req/s)", Some(brate))
            .ratio(Some(arate / brate), "of 3 s poll")
            .goal("≤ 1 req/s", Some(arate <= 1.0))
            .note(format!(
                "{} requests over {:.0} session-seconds (watch → change); 3 s poll: {} over {:.0}",
                a.requests, a.life_s, b.requests, b.life_s
            )),
    );
    Ok(rows)
}

fn summary(s: &FastStats) -> (f64, f64, f64) {
    (
        percentile(&s.latency_s, 50.0),
        percentile(&s.latency_s, 95.0),
        s.requests as f64 / s.life_s,
    )
}

fn missing_note(a: &FastStats, b: &FastStats) -> String {
    if a.missing + b.missing == 0 {
        String::new()
    } else {
        format!(
            "; NO change seen for {} (cadence) / {} (3 s poll) sessions",
            a.missing, b.missing
        )
    }
}

async fn fast_run(sizes: &Sizes, cadence: Cadence, db: &Path) -> Res<FastStats> {
    let fake = FakeKomoju::start(FakeConfig::default()).await?;
    let ctl = FakeControl::new(&fake.origin());
    let reg = register(db, &fake, Arc::new(SystemClock))?;
    let mut sessions = Vec::with_capacity(sizes.sessions);
    for _ in 0..sizes.sessions {
        sessions.push(charge(&reg, None).await?);
    }
    add_latency(&ctl, LATENCY_MS).await?;
    let tracker = Arc::new(Tracker::spawn(
        reg.clone(),
        client(&fake)?,
        TrackerConfig {
            cadence,
            ..Default::default()
        },
    ));
    let mut rx = tracker.subscribe();
    let before = route(&ctl, SESSIONS_ROUTE).await?;
    let n = sessions.len();
    let limit = Duration::from_secs_f64(sizes.pay_after.1 + 60.0);
    let collector = tokio::spawn(async move {
        let mut seen: HashMap<String, Instant> = HashMap::new();
        let deadline = tokio::time::Instant::now() + limit;
        while seen.len() < n {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Ok(Notice::Change {
                    invoice_number,
                    to: InvoiceStatus::Paid,
                    ..
                })) => {
                    seen.entry(invoice_number).or_insert_with(Instant::now);
                }
                Ok(Ok(_)) => {}
                Ok(Err(broadcast::error::RecvError::Lagged(k))) => {
                    eprintln!("reji-bench: notice receiver lagged by {k}")
                }
                Ok(Err(_)) | Err(_) => break,
            }
        }
        seen
    });
    // The same payment moments for both trackers (same seed).
    let mut rng = StdRng::seed_from_u64(6);
    let mut tasks = Vec::with_capacity(n);
    for (inv, sid) in sessions {
        let delay = Duration::from_secs_f64(rng.gen_range(sizes.pay_after.0..sizes.pay_after.1));
        let (tracker, ctl) = (tracker.clone(), ctl.clone());
        tasks.push(tokio::spawn(async move {
            tracker.watch(&inv).await?;
            let watched = Instant::now();
            tokio::time::sleep(delay).await;
            let paid = Instant::now();
            ctl.pay(&sid, "credit_card", None).await?;
            Ok::<_, BoxError>((inv, watched, paid))
        }));
    }
    let mut paid = Vec::with_capacity(n);
    for t in tasks {
        paid.push(t.await??);
    }
    let seen = collector.await?;
    let after = route(&ctl, SESSIONS_ROUTE).await?;
    let mut latency = Vec::with_capacity(n);
    let mut life = 0.0;
    let mut missing = 0;
    for (inv, watched, paid_at) in &paid {
        match seen.get(inv) {
            Some(t) => {
                latency.push(t.saturating_duration_since(*paid_at).as_secs_f64());
                life += t.saturating_duration_since(*watched).as_secs_f64();
            }
            None => missing += 1,
        }
    }
    drop(tracker);
    fake.shutdown().await;
    Ok(FastStats {
        latency_s: sorted(latency),
        requests: after - before,
        life_s: life,
        missing,
    })
}

// ---- 6b / 6c: slow lane and catch-up -----------------------------------------------------------

struct Lane {
    n: usize,
    fake: FakeKomoju,
    ctl: FakeControl,
    db: PathBuf,
    reg: Arc<Mutex<Register>>,
    clock: Arc<ShopClock>,
    /// Authorized konbini payments not yet captured, oldest first.
    waiting: VecDeque<String>,
}

impl Lane {
    async fn seed(n: usize, tmp: &Path) -> Res<Lane> {
        let t0 = Instant::now();
        let fake = FakeKomoju::start(FakeConfig::default()).await?;
        let ctl = FakeControl::new(&fake.origin());
        let db = tmp.join(format!("slow-{n}.sqlite"));
        let clock = Arc::new(ShopClock::default());
        let reg = register(&db, &fake, clock.clone())?;
        let mut lane = Lane {
            n,
            clock,
            fake,
            ctl,
            db,
            reg,
            waiting: VecDeque::with_capacity(n),
        };
        lane.add_konbini(n).await?;
        // Record them all as awaiting payment with one events pass (no per-invoice calls).
        let tr = Tracker::spawn(
            lane.reg.clone(),
            client(&lane.fake)?,
            slow_cfg(FeedMode::Events),
        );
        let mut rx = tr.subscribe();
        let (req, _, changes) = next_pass(&mut rx, Duration::from_secs(1800)).await?;
        tr.shutdown().await;
        if changes < n {
            return Err(
                format!("seeding: the first pass recorded {changes} of {n} invoices").into(),
            );
        }
        eprintln!(
            "reji-bench: seeded {n} konbini invoices in {:.1} s (recording pass: {req} requests)",
            t0.elapsed().as_secs_f64()
        );
        Ok(lane)
    }

    /// `k` more konbini invoices, authorized at the fake (the fake at 0 ms latency).
    async fn add_konbini(&mut self, k: usize) -> Res<()> {
        let mut sids = Vec::with_capacity(k);
        for _ in 0..k {
            sids.push(charge(&self.reg, Some("konbini")).await?.1);
        }
        for chunk in sids.chunks(16) {
            let mut js = tokio::task::JoinSet::new();
            for sid in chunk {
                let (ctl, sid) = (self.ctl.clone(), sid.clone());
                js.spawn(async move { ctl.pay(&sid, "konbini", Some("lawson")).await });
            }
            while let Some(r) = js.join_next().await {
                let p: Value = r??;
                let pid = p["id"].as_str().ok_or("pay returned no payment id")?;
                self.waiting.push_back(pid.to_string());
            }
        }
        Ok(())
    }

    /// Moves both the fake's clock and the shop's.
    async fn advance(&self, secs: i64) -> Res<()> {
        self.ctl.advance_clock(secs).await?;
        self.clock.0.fetch_add(secs, Ordering::Relaxed);
        Ok(())
    }

    async fn capture(&mut self, k: usize) -> Res<()> {
        for _ in 0..k {
            // The oldest: a long-waiting invoice, not one created inside the feed window.
            let pid = self.waiting.pop_front().ok_or("no waiting payment left")?;
            self.ctl.capture_payment(&pid).await?;
        }
        Ok(())
    }

    async fn slow_rows(&mut self) -> Res<Vec<Row>> {
        let n = self.n;
        let mut rows = Vec::new();
        // Move the fake's clock past the feed overlap so the seeding is "long ago".
        self.advance(900).await?;
        for feed in [FeedMode::Events, FeedMode::List] {
            let name = if feed == FeedMode::Events {
                "events"
            } else {
                "list"
            };
            if feed == FeedMode::Events {
                // A card payment moves the events cursor past the seeding (as any busy day does).
                let (_, sid) = charge(&self.reg, None).await?;
                self.ctl.pay(&sid, "credit_card", None).await?;
            } else {
                // Back to N waiting after the events row's captures.
                self.add_konbini(5).await?;
            }
            let tr = Tracker::spawn(self.reg.clone(), client(&self.fake)?, slow_cfg(feed));
            let mut rx = tr.subscribe();
            next_pass(&mut rx, Duration::from_secs(1800)).await?;
            let pending = self.waiting.len();
            self.capture(5).await?;
            let before = api_requests(&self.ctl).await?;
            let t0 = Instant::now();
            tr.refresh_now().await;
            let (requests, items, changes) = next_pass(&mut rx, Duration::from_secs(600)).await?;
            let secs = t0.elapsed().as_secs_f64();
            let counted = api_requests(&self.ctl).await? - before;
            tr.shutdown().await;
            let (goal, met) = if feed == FeedMode::Events {
                ("same small number for every N".to_string(), None)
            } else {
                let bound = n.div_ceil(100) + changes + 2;
                (
                    format!("≤ ⌈N/100⌉ + changes + 2 = {bound}"),
                    Some(requests as usize <= bound),
                )
            };
            rows.push(
                Row::new(
                    "6",
                    &format!("Slow lane, {name} feed: requests per pass, N = {n}, 5 captures"),
                )
                .value(requests as f64, "requests")
                .goal(&goal, met)
                .note(format!(
                    "{pending} waiting before the captures; pass took {:.3} s; {items} items, {changes} changes; the fake counted {counted} API requests",
                    secs
                )),
            );
            if changes != 5 {
                eprintln!(
                    "reji-bench: WARNING: {name} feed pass, N = {n}: {changes} changes, expected 5"
                );
            }
        }
        Ok(rows)
    }

    /// Three days closed, `events` captures meanwhile, then the first pass of a new tracker (and a
    /// new register) on the same ledger, for each feed (the list feed runs on a copy of the ledger).
    async fn catch_up(&mut self, events: usize) -> Res<Vec<Row>> {
        let n = self.n;
        // The list feed's row runs on a consistent copy of the ledger (SQLite's VACUUM INTO).
        let copy = self.db.with_extension("list.sqlite");
        rusqlite::Connection::open(&self.db)?
            .execute("VACUUM INTO ?1", [copy.to_string_lossy().as_ref()])?;
        self.advance(3 * 86_400).await?;
        let t0 = Instant::now();
        self.capture(events).await?;
        eprintln!(
            "reji-bench: {events} captures during the closure in {:.1} s",
            t0.elapsed().as_secs_f64()
        );
        let mut rows = Vec::new();
        for (feed, db) in [(FeedMode::Events, &self.db), (FeedMode::List, &copy)] {
            let name = if feed == FeedMode::Events {
                "events"
            } else {
                "list"
            };
            let before = api_requests(&self.ctl).await?;
            let t0 = Instant::now();
            let reg = register(db, &self.fake, self.clock.clone())?;
            let tr = Tracker::spawn(reg, client(&self.fake)?, slow_cfg(feed));
            let mut rx = tr.subscribe();
            let (requests, items, changes) = next_pass(&mut rx, Duration::from_secs(1800)).await?;
            let secs = t0.elapsed().as_secs_f64();
            let counted = api_requests(&self.ctl).await? - before;
            tr.shutdown().await;
            rows.push(
                Row::new(
                    "6",
                    &format!(
                        "Catch-up after 3 days closed, {name} feed: {n} invoices, {events} captures"
                    ),
                )
                .value(secs, "s")
                .reference("requests in that first pass", Some(requests as f64))
                .goal("- (no numeric goal)", None)
                .note(format!(
                    "first pass of a new tracker: {requests} requests (the fake counted {counted}), {items} items, {changes} changes, {:.3} s from start",
                    secs
                )),
            );
        }
        Ok(rows)
    }
}
