//! `reji watch --json`: a konbini invoice turns paid after the fake captures it, with either feed,
//! printed as one JSON object per line.

use crate::common::*;
use reji::fake::FakeConfig;
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

async fn watch_konbini(events: bool) {
    let e = env_with(FakeConfig {
        events_enabled: events,
        ..Default::default()
    })
    .await;
    let v = e
        .charge(&["--amount", "2750", "--methods", "konbini"])
        .await;
    let inv = s(&v, "invoice_number");
    let p = e
        .ctl
        .pay(&s(&v, "session_id"), "konbini", Some("family-mart"))
        .await
        .unwrap();
    assert_eq!(s(&e.show(&inv).await, "status"), "awaiting_payment");

    let mut c = e.cmd(&["--json", "watch", "--interval", "0.2"]);
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = c.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut passes = 0;
    let mut feeds = Vec::new();
    let result = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let n: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            match n["kind"].as_str().unwrap() {
                "pass" => {
                    passes += 1;
                    if passes == 4 {
                        e.ctl.advance_clock(2 * 86_400).await.unwrap();
                        e.ctl
                            .capture_payment(p["id"].as_str().unwrap())
                            .await
                            .unwrap();
                    }
                }
                "feed" => feeds.push(n["feed"].as_str().unwrap().to_string()),
                "change" if n["invoice_number"] == inv.as_str() => {
                    assert_eq!(n["from"], "awaiting_payment");
                    assert_eq!(n["to"], "paid");
                    assert_eq!(n["invoice"]["status"], "paid");
                    return;
                }
                _ => {}
            }
        }
        panic!("watch ended early");
    })
    .await;
    child.start_kill().unwrap();
    result.expect("the change was printed in time");
    if !events {
        assert_eq!(feeds.last().map(String::as_str), Some("list"), "{feeds:?}");
    }
    let routes = e.stats().await["requests_by_route"].clone();
    assert_eq!(
        routes["GET /sessions/:id"].as_u64().unwrap_or(0),
        1,
        "only the one `show`: {routes}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_prints_a_konbini_paid_later_with_the_events_feed() {
    watch_konbini(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_prints_a_konbini_paid_later_with_the_list_feed() {
    watch_konbini(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_rejects_bad_arguments() {
    let e = env().await;
    for (args, needle) in [
        (vec!["watch", "--feed", "rss"], "--feed"),
        (vec!["watch", "--interval", "0"], "--interval"),
        (vec!["watch", "--passes", "x"], "--passes"),
    ] {
        let r = e.reji(&args).await;
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(needle), "{}", r.stderr);
    }
}

/// A card invoice paid while nobody looked: `watch` learns it from a feed (no session fetch) and
/// must report the session as KOMOJU has it, completed, not the `pending` stored at the charge.
async fn watch_card_paid(events: bool) {
    let e = env_with(FakeConfig {
        events_enabled: events,
        ..Default::default()
    })
    .await;
    let v = e
        .charge(&["--amount", "1100", "--methods", "credit_card"])
        .await;
    assert_eq!(v["session_status"], "pending");
    let inv = s(&v, "invoice_number");
    e.ctl
        .pay(&s(&v, "session_id"), "credit_card", None)
        .await
        .unwrap();

    let feed = if events { "events" } else { "list" };
    let mut c = e.cmd(&["--json", "watch", "--interval", "0.2", "--feed", feed]);
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = c.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let change = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let n: Value = serde_json::from_str(&line).unwrap();
            if n["kind"] == "change" && n["invoice_number"] == inv.as_str() {
                return n;
            }
        }
        panic!("watch ended early");
    })
    .await;
    child.start_kill().unwrap();
    let n = change.expect("the change was printed in time");
    assert_eq!(n["to"], "paid", "{n}");
    assert_eq!(n["invoice"]["session_status"], "completed", "{n}");
    let _ = child.wait().await;
    // The ledger keeps it: `list` (no KOMOJU request) shows the same.
    let list = e.reji(&["list"]).await.ok().json();
    assert_eq!(list[0]["session_status"], "completed", "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_shows_a_paid_card_session_as_completed_with_the_events_feed() {
    watch_card_paid(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_shows_a_paid_card_session_as_completed_with_the_list_feed() {
    watch_card_paid(false).await;
}
