//! Idempotency under faults: whatever goes wrong on the wire, one charge is exactly one session at
//! KOMOJU and one invoice in the ledger.

use crate::common::*;
use std::time::Duration;

async fn charge_through(kind: &str, setup: impl FnOnce(&mut reji::fake::FaultSpec)) {
    let e = env().await;
    e.fault(kind, |f| {
        f.path_prefix = Some("/api/v1/sessions".into());
        f.method = Some("POST".into());
        setup(f);
    })
    .await;
    let v = e.charge(&["--amount", "1234"]).await;
    let eon = s(&v, "external_order_num");
    assert_eq!(
        e.sessions_for(&eon).await,
        1,
        "{kind}: exactly one session at the fake"
    );
    assert_eq!(e.stats().await["sessions"], 1, "{kind}");
    assert_eq!(e.invoice_count(), 1, "{kind}: exactly one invoice");
    assert!(
        v["session_url"].is_string(),
        "{kind}: the charge finished: {v}"
    );
    assert_eq!(v["unanswered_requests"], 0);
    // And it still works end to end.
    e.ctl
        .pay(&s(&v, "session_id"), "credit_card", None)
        .await
        .unwrap();
    assert_eq!(
        s(&e.show(&s(&v, "invoice_number")).await, "status"),
        "paid",
        "{kind}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_error_500_is_retried() {
    charge_through("status_500", |f| f.count = Some(2)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_429_honours_retry_after() {
    let started = std::time::Instant::now();
    charge_through("rate_limit", |f| f.retry_after = Some(1)).await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_closed_after_processing_reuses_the_key() {
    charge_through("close_after_processing", |_| {}).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_after_processing_reuses_the_key() {
    charge_through("malformed_json", |_| {}).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_content_type_is_retried() {
    charge_through("wrong_content_type", |_| {}).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_while_komoju_stalls_reuses_the_key() {
    // The client gives up after 2 s; the fake stalls 3 s and then processes the first request; the
    // retries with the same key get 409 (in flight) and then the stored answer.
    charge_through("stall", |f| f.stall_ms = Some(3000)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_answer_after_all_retries_leaves_the_invoice_for_sync() {
    let e = env().await;
    e.fault("status_500", |f| {
        f.count = Some(50);
        f.path_prefix = Some("/api/v1/sessions".into());
    })
    .await;
    let mut c = e.cmd(&["--json", "charge", "--amount", "999"]);
    c.env("REJI_RETRIES", "3");
    let r: Run = c.output().await.unwrap().into();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(
        e.invoice_count(),
        1,
        "the invoice stays stored with its idempotency key"
    );
    assert_eq!(e.stats().await["sessions"], 0);
    e.ctl.clear_faults().await.unwrap();
    let rep = e.reji(&["sync"]).await.ok().json();
    assert_eq!(rep["invoices"].as_array().unwrap().len(), 1);
    let v = &rep["invoices"][0];
    assert!(v["session_id"].is_string(), "sync finished the charge: {v}");
    assert_eq!(e.stats().await["sessions"], 1);
    assert_eq!(e.sessions_for(&s(v, "external_order_num")).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charge_killed_after_its_post_reached_komoju_then_sync_makes_one_session() {
    let e = env().await;
    // The fake processes the create, then holds the answer for 5 s: we kill reji meanwhile.
    e.fault("latency", |f| {
        f.latency_ms = Some(5000);
        f.path_prefix = Some("/api/v1/sessions".into());
        f.method = Some("POST".into());
    })
    .await;
    let mut c = e.cmd(&["--json", "charge", "--amount", "4321"]);
    c.env("REJI_HTTP_TIMEOUT_MS", "20000");
    let mut child = c.spawn().unwrap();
    let mut waited = 0;
    while e.stats().await["sessions"].as_u64() != Some(1) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += 1;
        assert!(waited < 500, "the POST never reached the fake");
    }
    child.start_kill().unwrap(); // SIGKILL
    let status = child.wait().await.unwrap();
    assert!(!status.success());
    assert_eq!(e.invoice_count(), 1);
    let local = e.ledger();
    let inv = local.list(&Default::default()).unwrap().remove(0);
    let attempt = local.current_attempt(inv.id).unwrap();
    assert!(
        attempt.session_id.is_none(),
        "the answer never reached the ledger"
    );
    drop(local);
    let rep = e.reji(&["sync"]).await.ok().json();
    let v = &rep["invoices"][0];
    assert!(v["session_id"].is_string(), "{v}");
    assert_eq!(e.stats().await["sessions"], 1, "exactly one session");
    assert_eq!(e.sessions_for(&s(v, "external_order_num")).await, 1);
    assert!(e.stats().await["idempotent_replays"].as_u64().unwrap() >= 1);
}

/// Runs `reji ARGS` while the fake holds the answers of POSTs under `path_prefix` for 5 s, and kills
/// it (SIGKILL) once the POST to a route containing `route_part` has reached the fake: a crash after
/// KOMOJU did the work.
async fn killed_after_post(e: &Env, args: &[&str], path_prefix: &str, route_part: &str) {
    e.fault("latency", |f| {
        f.latency_ms = Some(5000);
        f.path_prefix = Some(path_prefix.into());
        f.method = Some("POST".into());
    })
    .await;
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let mut c = e.cmd(&all);
    c.env("REJI_HTTP_TIMEOUT_MS", "20000");
    let mut child = c.spawn().unwrap();
    let mut waited = 0;
    loop {
        let routes = e.stats().await["requests_by_route"].clone();
        let reached = routes.as_object().is_some_and(|m| {
            m.iter()
                .any(|(k, n)| k.contains(route_part) && n.as_u64() > Some(0))
        });
        if reached {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += 1;
        assert!(waited < 500, "the POST never reached the fake: {routes}");
    }
    child.start_kill().unwrap();
    assert!(!child.wait().await.unwrap().success());
    e.ctl.clear_faults().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refund_killed_after_its_post_reached_komoju_and_repeated_refunds_once() {
    let e = env().await;
    let v = e.charge(&["--amount", "5000"]).await;
    let inv = s(&v, "invoice_number");
    e.ctl
        .pay(&s(&v, "session_id"), "credit_card", None)
        .await
        .unwrap();
    killed_after_post(
        &e,
        &["refund", &inv, "--amount", "1000"],
        "/api/v1/payments",
        "refund",
    )
    .await;

    // The same refund again: the stored one is settled with its own key, nothing new is sent.
    let again = e.reji(&["refund", &inv, "--amount", "1000"]).await.ok();
    assert!(
        again.stderr.contains("went through") && again.stderr.contains("nothing new was sent"),
        "says what happened: {}",
        again.stderr
    );
    let r = again.json();
    assert_eq!(
        r["refunded_amount"], 1000,
        "one refund of 1000, not two: {r}"
    );
    assert_eq!(s(&r, "status"), "partially_refunded");

    // Asking for 1500 in all after that sends only the 500 still missing.
    let more = e.reji(&["refund", &inv, "--amount", "1500"]).await.ok();
    assert_eq!(more.json()["refunded_amount"], 2500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_refund_killed_and_repeated_is_not_refused_and_not_sent_twice() {
    let e = env().await;
    let v = e.charge(&["--amount", "3000"]).await;
    let inv = s(&v, "invoice_number");
    e.ctl
        .pay(&s(&v, "session_id"), "credit_card", None)
        .await
        .unwrap();
    killed_after_post(&e, &["refund", &inv], "/api/v1/payments", "refund").await;
    let again = e.reji(&["refund", &inv]).await.ok();
    assert!(
        again.stderr.contains("nothing new was sent"),
        "{}",
        again.stderr
    );
    let r = again.json();
    assert_eq!(s(&r, "status"), "refunded");
    assert_eq!(r["refunded_amount"], 3000);
    // A third time, with nothing pending any more, is refused as before.
    assert_eq!(e.reji(&["refund", &inv]).await.code, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refund_request_killed_and_repeated_is_requested_once() {
    let e = env().await;
    let v = e
        .charge(&["--amount", "3000", "--methods", "konbini"])
        .await;
    let inv = s(&v, "invoice_number");
    e.ctl
        .pay(&s(&v, "session_id"), "konbini", Some("lawson"))
        .await
        .unwrap();
    let pid = s(&e.show(&inv).await, "payment_id");
    e.ctl.capture_payment(&pid).await.unwrap();
    let bank = [
        "--bank-name",
        "みずほ銀行",
        "--branch-number",
        "123",
        "--account-type",
        "futsu",
        "--account-number",
        "0123456",
        "--holder-kana",
        "ヤマダ タロウ",
    ];
    let mut args = vec!["refund", inv.as_str(), "--amount", "1000"];
    args.extend_from_slice(&bank);
    killed_after_post(&e, &args, "/api/v1/payments", "refund_request").await;
    let again = e.reji(&args).await.ok();
    assert!(
        again.stderr.contains("nothing new was sent"),
        "{}",
        again.stderr
    );
    let reqs = again.json()["refund_requests"].as_array().unwrap().clone();
    assert_eq!(reqs.len(), 1, "one refund request at KOMOJU: {reqs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_killed_after_its_post_reached_komoju_and_repeated_succeeds() {
    let e = env().await;
    let v = e.charge(&["--amount", "2000"]).await;
    let inv = s(&v, "invoice_number");
    killed_after_post(&e, &["cancel", &inv], "/api/v1/sessions", "cancel").await;
    let again = e.reji(&["cancel", &inv]).await.ok();
    assert!(again.stderr.contains("went through"), "{}", again.stderr);
    assert_eq!(s(&again.json(), "status"), "cancelled");
}

/// Makes every write to the ledger fail as a full disk would (root ignores file permissions, so a
/// read-only file is no test): a trigger on each table aborts inserts and updates.
fn break_ledger_writes(e: &Env) {
    let l = e.ledger();
    let c = l.connection();
    let tables: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE TABLE%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for t in tables {
        for op in ["INSERT", "UPDATE"] {
            // Shadow tables of the search index may refuse triggers: the others are enough.
            let _ = c.execute_batch(&format!(
                "CREATE TRIGGER test_full_{t}_{op} BEFORE {op} ON \"{t}\" \
                 BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;"
            ));
        }
    }
}

fn mend_ledger_writes(e: &Env) {
    let l = e.ledger();
    let c = l.connection();
    let names: Vec<String> = c
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'test_full_%'",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for n in names {
        c.execute_batch(&format!("DROP TRIGGER \"{n}\"")).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_write_failures_exit_5_and_a_sync_that_refreshed_nothing_fails() {
    let e = env().await;
    let a = e.charge(&["--amount", "1200"]).await;
    e.charge(&["--amount", "800"]).await;
    e.ctl
        .pay(&s(&a, "session_id"), "credit_card", None)
        .await
        .unwrap();
    break_ledger_writes(&e);

    // sync: the report is printed, every invoice failed on the ledger, the exit code says so.
    let r = e.reji(&["sync"]).await;
    assert_eq!(r.code, 5, "{}", r.stderr);
    let rep = r.json();
    let errors = rep["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{rep}");
    assert!(errors.iter().all(|x| x["code"] == "ledger"), "{rep}");
    assert!(rep["invoices"].as_array().unwrap().is_empty(), "{rep}");
    assert!(
        r.stderr.contains("2 of 2") && r.stderr.contains("ledger"),
        "{}",
        r.stderr
    );
    let human: Run = e.cmd(&["sync"]).output().await.unwrap().into();
    assert_eq!(human.code, 5, "{}", human.stderr);
    assert!(human.stderr.contains("disk is full"), "{}", human.stderr);

    // charge: a ledger error is exit 5 (not 1, the KOMOJU code), and nothing reached KOMOJU.
    let sessions = e.stats().await["sessions"].clone();
    let r = e.reji(&["charge", "--amount", "500"]).await;
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert_eq!(r.json()["error"]["code"], "ledger");
    assert!(r.stderr.contains("disk is full"), "{}", r.stderr);
    assert_eq!(e.stats().await["sessions"], sessions);

    // Writable again: the same sync succeeds and records the payment.
    mend_ledger_writes(&e);
    let rep = e.reji(&["sync"]).await.ok().json();
    assert!(rep["errors"].as_array().unwrap().is_empty(), "{rep}");
    assert_eq!(s(&e.show(&s(&a, "invoice_number")).await, "status"), "paid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_where_every_invoice_failed_on_the_network_exits_1() {
    let e = env().await;
    e.charge(&["--amount", "1200"]).await;
    let mut c = e.cmd(&["--json", "sync"]);
    c.env("REJI_API_BASE", "http://127.0.0.1:9/api/v1")
        .env("REJI_RETRIES", "1");
    let r: Run = c.output().await.unwrap().into();
    assert_eq!(r.code, 1, "{}", r.stderr);
    let rep = r.json();
    assert_eq!(rep["errors"][0]["code"], "network", "{rep}");
}
