//! The payment tracker against the fake KOMOJU: fast lane, slow lane with both feeds, expiry,
//! out-of-order data, a 401 mid-run, transient errors, restart catch-up and page boundaries.

use reji::clock::SystemClock;
use reji::fake::{FakeConfig, FakeControl, FakeKomoju, FaultSpec};
use reji::komoju::{Client, RetryPolicy};
use reji::ledger::Ledger;
use reji::register::{ChargeRequest, Register};
use reji::status::InvoiceStatus;
use reji::tracker::{FeedKind, FeedMode, Notice, Tracker, TrackerConfig};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, Mutex};

struct T {
    fake: FakeKomoju,
    ctl: FakeControl,
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
    reg: Arc<Mutex<Register>>,
}

fn client(fake: &FakeKomoju) -> Client {
    let policy = RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(20),
        timeout: Duration::from_secs(5),
        ..Default::default()
    };
    Client::new(&fake.api_base(), fake.secret_key().parse().unwrap(), policy).unwrap()
}

fn register(db: &Path, fake: &FakeKomoju) -> Arc<Mutex<Register>> {
    let l = Ledger::open(db).unwrap();
    Arc::new(Mutex::new(
        Register::new(l, Some(client(fake)), Arc::new(SystemClock)).unwrap(),
    ))
}

async fn setup(events: bool) -> T {
    let fake = FakeKomoju::start(FakeConfig {
        events_enabled: events,
        ..Default::default()
    })
    .await
    .unwrap();
    let ctl = FakeControl::new(&fake.origin());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.sqlite");
    let reg = register(&db, &fake);
    T {
        fake,
        ctl,
        _dir: dir,
        db,
        reg,
    }
}

fn cfg(feed: FeedMode) -> TrackerConfig {
    TrackerConfig {
        slow_every: Duration::from_millis(150),
        feed,
        backoff_base: Duration::from_millis(50),
        backoff_max: Duration::from_millis(400),
        ..Default::default()
    }
}

impl T {
    async fn charge(&self, methods: &str) -> (String, String) {
        let v = self
            .reg
            .lock()
            .await
            .charge(ChargeRequest {
                amount: Some(1100),
                methods: reji::register::parse_methods(methods),
                ..Default::default()
            })
            .await
            .unwrap();
        (v.invoice_number, v.session_id.unwrap())
    }
    async fn status(&self, inv: &str) -> InvoiceStatus {
        self.reg.lock().await.show_local(inv).unwrap().status
    }
    async fn routes(&self) -> Value {
        self.ctl.stats().await.unwrap()["requests_by_route"].clone()
    }
    fn tracker(&self, feed: FeedMode) -> Tracker {
        Tracker::spawn(self.reg.clone(), client(&self.fake), cfg(feed))
    }
}

fn route(v: &Value, r: &str) -> u64 {
    v[r].as_u64().unwrap_or(0)
}

/// Waits (bounded) for a notice matching `f`.
async fn wait_for(
    rx: &mut broadcast::Receiver<Notice>,
    what: &str,
    f: impl Fn(&Notice) -> bool,
) -> Notice {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(n)) if f(&n) => return n,
            Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
            Ok(Err(e)) => panic!("{what}: channel closed: {e}"),
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }
}

fn change_to(inv: &str, to: InvoiceStatus) -> impl Fn(&Notice) -> bool + '_ {
    move |n| matches!(n, Notice::Change { invoice_number, to: t, .. } if invoice_number == inv && *t == to)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_paid_while_watched_is_published_from_the_fast_lane() {
    let t = setup(true).await;
    let tr = t.tracker(FeedMode::Auto);
    let mut rx = tr.subscribe();
    let (inv, sid) = t.charge("").await;
    tr.watch(&inv).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    t.ctl.pay(&sid, "paypay", None).await.unwrap();
    let n = wait_for(&mut rx, "paid", change_to(&inv, InvoiceStatus::Paid)).await;
    if let Notice::Change { from, invoice, .. } = n {
        assert_eq!(from, InvoiceStatus::Pending);
        assert_eq!(invoice.payment_method.as_deref(), Some("paypay"));
    }
    assert!(route(&t.routes().await, "GET /sessions/:id") >= 1);
    tr.shutdown().await;
}

async fn konbini_paid_three_days_later(events: bool) {
    let t = setup(events).await;
    // Many open konbini invoices: the slow lane must not poll them one by one.
    let mut invoices = Vec::new();
    for _ in 0..12 {
        let (inv, sid) = t.charge("konbini").await;
        let p = t.ctl.pay(&sid, "konbini", Some("lawson")).await.unwrap();
        invoices.push((inv, p["id"].as_str().unwrap().to_string()));
    }
    for (inv, _) in &invoices {
        t.reg.lock().await.show(inv).await.unwrap();
        assert_eq!(t.status(inv).await, InvoiceStatus::AwaitingPayment);
    }
    let tr = t.tracker(FeedMode::Auto);
    let mut rx = tr.subscribe();
    // Let a few passes run with nothing happening.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let before = t.routes().await;
    t.ctl.advance_clock(3 * 86_400 - 7200).await.unwrap();
    let (inv, pid) = &invoices[3];
    t.ctl.capture_payment(pid).await.unwrap();
    wait_for(&mut rx, "konbini paid", change_to(inv, InvoiceStatus::Paid)).await;
    assert_eq!(t.status(inv).await, InvoiceStatus::Paid);
    assert_eq!(
        t.status(&invoices[4].0).await,
        InvoiceStatus::AwaitingPayment
    );
    let after = t.routes().await;
    let per_payment = route(&after, "GET /payments/:id") - route(&before, "GET /payments/:id");
    let per_session = route(&after, "GET /sessions/:id") - route(&before, "GET /sessions/:id");
    assert!(
        per_payment <= 1,
        "at most the one payment that changed is fetched: {per_payment}"
    );
    assert_eq!(
        per_session, 0,
        "no per-invoice session polling in the slow lane"
    );
    if events {
        assert!(route(&after, "GET /events") > route(&before, "GET /events"));
    } else {
        assert!(route(&after, "GET /payments") > route(&before, "GET /payments"));
    }
    tr.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn konbini_paid_days_later_through_the_events_feed() {
    konbini_paid_three_days_later(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn konbini_paid_days_later_through_the_list_feed_when_events_are_off() {
    konbini_paid_three_days_later(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_off_makes_the_list_feed_take_over() {
    let t = setup(false).await;
    let tr = t.tracker(FeedMode::Auto);
    let mut rx = tr.subscribe();
    let (inv, sid) = t.charge("konbini").await;
    tr.watch(&inv).await.unwrap();
    t.ctl.pay(&sid, "konbini", Some("ministop")).await.unwrap();
    wait_for(
        &mut rx,
        "authorized",
        change_to(&inv, InvoiceStatus::AwaitingPayment),
    )
    .await;
    // The events feed stays empty although Reji saw a payment change: the list feed takes over.
    wait_for(&mut rx, "list feed", |n| {
        matches!(
            n,
            Notice::Feed {
                feed: FeedKind::List
            }
        )
    })
    .await;
    let pid = t
        .reg
        .lock()
        .await
        .show_local(&inv)
        .unwrap()
        .payment_id
        .unwrap();
    t.ctl.capture_payment(&pid).await.unwrap();
    wait_for(&mut rx, "paid", change_to(&inv, InvoiceStatus::Paid)).await;
    tr.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_konbini_and_an_abandoned_session_end_expired() {
    let t = setup(true).await;
    let (k, sid) = t.charge("konbini").await;
    t.ctl.pay(&sid, "konbini", Some("lawson")).await.unwrap();
    t.reg.lock().await.show(&k).await.unwrap();
    let v = t
        .reg
        .lock()
        .await
        .charge(ChargeRequest {
            amount: Some(500),
            expires_in: Some(60),
            ..Default::default()
        })
        .await
        .unwrap();
    let tr = t.tracker(FeedMode::Events);
    let mut rx = tr.subscribe();
    t.ctl.advance_clock(30 * 86_400).await.unwrap();
    wait_for(
        &mut rx,
        "konbini expired",
        change_to(&k, InvoiceStatus::Expired),
    )
    .await;
    drop(tr);
    // The abandoned session: Reji's own clock decides its deadline; simulate by a register whose
    // clock is an hour ahead.
    let clock = Arc::new(reji::clock::ManualClock::new(
        chrono::Utc::now() + chrono::Duration::hours(2),
    ));
    let l = Ledger::open(&t.db).unwrap();
    let reg = Arc::new(Mutex::new(
        Register::new(l, Some(client(&t.fake)), clock).unwrap(),
    ));
    let tr = Tracker::spawn(reg.clone(), client(&t.fake), cfg(FeedMode::Events));
    let mut rx = tr.subscribe();
    wait_for(
        &mut rx,
        "session expired",
        change_to(&v.invoice_number, InvoiceStatus::Expired),
    )
    .await;
    tr.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_data_never_moves_a_status_backwards() {
    let t = setup(true).await;
    let (inv, sid) = t.charge("konbini").await;
    let authorized = t.ctl.pay(&sid, "konbini", Some("lawson")).await.unwrap();
    let pid = authorized["id"].as_str().unwrap().to_string();
    let captured = t.ctl.capture_payment(&pid).await.unwrap();
    let mut reg = t.reg.lock().await;
    let cap: reji::komoju::Payment = serde_json::from_value(captured).unwrap();
    let auth: reji::komoju::Payment = serde_json::from_value(authorized).unwrap();
    reg.apply_payment(&cap).unwrap();
    assert_eq!(reg.show_local(&inv).unwrap().status, InvoiceStatus::Paid);
    // The late `payment.authorized` arrives after `payment.captured`.
    reg.apply_payment(&auth).unwrap();
    let v = reg.show_local(&inv).unwrap();
    assert_eq!(v.status, InvoiceStatus::Paid);
    assert_eq!(
        v.payment_status.as_deref(),
        Some("captured"),
        "the stored payment is not rolled back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_mid_run_is_reported_once_and_stops_polling() {
    let t = setup(true).await;
    let (inv, _) = t.charge("").await;
    let bad = Client::new(
        &t.fake.api_base(),
        "sk_test_revokedrevokedrevoked".parse().unwrap(),
        RetryPolicy::default(),
    )
    .unwrap();
    let tr = Tracker::spawn(t.reg.clone(), bad, cfg(FeedMode::Auto));
    let mut rx = tr.subscribe();
    tr.watch(&inv).await.unwrap();
    wait_for(&mut rx, "key problem", |n| {
        matches!(n, Notice::KeyProblem { .. })
    })
    .await;
    let before = t.ctl.stats().await.unwrap()["api_requests"]
        .as_u64()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let after = t.ctl.stats().await.unwrap()["api_requests"]
        .as_u64()
        .unwrap();
    assert!(
        after - before <= 1,
        "polling stopped: {} more requests",
        after - before
    );
    let mut more = 0;
    while let Ok(n) = rx.try_recv() {
        if matches!(n, Notice::KeyProblem { .. }) {
            more += 1;
        }
    }
    assert_eq!(more, 0, "reported once");
    tr.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_rate_limits_back_off_and_recover() {
    let t = setup(true).await;
    let tr = t.tracker(FeedMode::Auto);
    let mut rx = tr.subscribe();
    let (inv, sid) = t.charge("").await;
    let mut f = FaultSpec::new("status_500");
    f.count = Some(6);
    t.ctl.add_fault(&f).await.unwrap();
    let mut f = FaultSpec::new("rate_limit");
    f.count = Some(2);
    f.retry_after = Some(1);
    t.ctl.add_fault(&f).await.unwrap();
    tr.watch(&inv).await.unwrap();
    t.ctl.pay(&sid, "credit_card", None).await.unwrap();
    wait_for(
        &mut rx,
        "paid despite errors",
        change_to(&inv, InvoiceStatus::Paid),
    )
    .await;
    tr.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_catches_up_after_days_closed() {
    let t = setup(true).await;
    let mut waiting = Vec::new();
    for _ in 0..5 {
        let (inv, sid) = t.charge("konbini").await;
        let p = t
            .ctl
            .pay(&sid, "konbini", Some("seven-eleven"))
            .await
            .unwrap();
        t.reg.lock().await.show(&inv).await.unwrap();
        waiting.push((inv, p["id"].as_str().unwrap().to_string()));
    }
    // One pass, then the shop closes.
    let tr = t.tracker(FeedMode::Events);
    let mut rx = tr.subscribe();
    wait_for(&mut rx, "first pass", |n| matches!(n, Notice::Pass { .. })).await;
    tr.shutdown().await;
    t.ctl.advance_clock(3 * 86_400).await.unwrap();
    for (_, pid) in &waiting[..3] {
        t.ctl.capture_payment(pid).await.unwrap();
    }
    // Reopen: a fresh register on the same file.
    let reg = register(&t.db, &t.fake);
    let tr = Tracker::spawn(reg.clone(), client(&t.fake), cfg(FeedMode::Events));
    let mut rx = tr.subscribe();
    let n = wait_for(
        &mut rx,
        "catch-up pass",
        |n| matches!(n, Notice::Pass { changes, .. } if *changes > 0),
    )
    .await;
    if let Notice::Pass {
        requests, changes, ..
    } = n
    {
        assert_eq!(changes, 3);
        assert!(
            requests <= 3,
            "catch-up from the cursor: {requests} requests"
        );
    }
    for (i, (inv, _)) in waiting.iter().enumerate() {
        let want = if i < 3 {
            InvoiceStatus::Paid
        } else {
            InvoiceStatus::AwaitingPayment
        };
        assert_eq!(reg.lock().await.show_local(inv).unwrap().status, want);
    }
    tr.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_and_payment_list_page_boundaries_lose_nothing() {
    let t = setup(true).await;
    // 105 authorized konbini payments: two pages of `status=authorized`; 210+ events: three pages.
    let mut all = Vec::new();
    for _ in 0..105 {
        let (inv, sid) = t.charge("konbini").await;
        let p = t.ctl.pay(&sid, "konbini", Some("lawson")).await.unwrap();
        all.push((inv, p["id"].as_str().unwrap().to_string()));
    }
    // Record them (as the fast lane would have) without per-invoice calls: one events pass.
    let tr = t.tracker(FeedMode::Events);
    let mut rx = tr.subscribe();
    wait_for(
        &mut rx,
        "pass",
        |n| matches!(n, Notice::Pass { items, .. } if *items >= 105),
    )
    .await;
    tr.shutdown().await;
    for (inv, _) in &all {
        assert_eq!(t.status(inv).await, InvoiceStatus::AwaitingPayment, "{inv}");
    }
    // Capture the first and the last: one on each side of a page of 100 in the list feed.
    for i in [0, 104] {
        t.ctl.capture_payment(&all[i].1).await.unwrap();
    }
    let tr = t.tracker(FeedMode::List);
    let mut rx = tr.subscribe();
    wait_for(
        &mut rx,
        "first paid",
        change_to(&all[0].0, InvoiceStatus::Paid),
    )
    .await;
    let _ = wait_for(&mut rx, "pass", |n| matches!(n, Notice::Pass { .. })).await;
    assert_eq!(t.status(&all[104].0).await, InvoiceStatus::Paid);
    tr.shutdown().await;
    // And through the events feed: two more, with many events around them.
    for i in [50, 51] {
        t.ctl.capture_payment(&all[i].1).await.unwrap();
    }
    let tr = t.tracker(FeedMode::Events);
    let mut rx = tr.subscribe();
    wait_for(
        &mut rx,
        "51 paid",
        change_to(&all[51].0, InvoiceStatus::Paid),
    )
    .await;
    assert_eq!(t.status(&all[50].0).await, InvoiceStatus::Paid);
    tr.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_with_one_timestamp_on_both_sides_of_a_page_are_applied_once() {
    let t = setup(true).await;
    // Every record gets the same timestamp: the 101 `payment.authorized` events fill a page of 100
    // and spill onto a second one, with equal times on both sides of the boundary.
    t.ctl.freeze_clock(true).await.unwrap();
    let mut all = Vec::new();
    for _ in 0..101 {
        let (inv, sid) = t.charge("konbini").await;
        let p = t.ctl.pay(&sid, "konbini", Some("lawson")).await.unwrap();
        all.push((inv, p["id"].as_str().unwrap().to_string()));
    }
    let events = t.ctl.clock().await.unwrap();
    assert_eq!(events["frozen"], true);
    let tr = t.tracker(FeedMode::Events);
    let mut rx = tr.subscribe();
    let first = wait_for(&mut rx, "first pass", |n| matches!(n, Notice::Pass { .. })).await;
    let Notice::Pass {
        items, requests, ..
    } = first
    else {
        unreachable!()
    };
    assert_eq!(items, 101, "every event once");
    assert!(requests >= 2, "two pages at least: {requests}");
    for (inv, _) in &all {
        assert_eq!(t.status(inv).await, InvoiceStatus::AwaitingPayment, "{inv}");
    }
    tr.shutdown().await;
    // Two captures at that same instant: the next window (a new tracker, the cursor is in the
    // ledger) reaches back over the same timestamp; the 101 seen ids are skipped, only the two new
    // events are applied.
    t.ctl.capture_payment(&all[0].1).await.unwrap();
    t.ctl.capture_payment(&all[100].1).await.unwrap();
    let tr = t.tracker(FeedMode::Events);
    let mut rx = tr.subscribe();
    let next = wait_for(
        &mut rx,
        "pass with the captures",
        |n| matches!(n, Notice::Pass { items, .. } if *items > 0),
    )
    .await;
    let Notice::Pass { items, changes, .. } = next else {
        unreachable!()
    };
    assert_eq!((items, changes), (2, 2));
    assert_eq!(t.status(&all[0].0).await, InvoiceStatus::Paid);
    assert_eq!(t.status(&all[100].0).await, InvoiceStatus::Paid);
    assert_eq!(t.status(&all[50].0).await, InvoiceStatus::AwaitingPayment);
    tr.shutdown().await;
    t.ctl.freeze_clock(false).await.unwrap();
}
