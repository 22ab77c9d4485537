//! Crash test: `reji` killed with SIGKILL at random points (before the POST, in flight, after the
//! response, during an export, during a migration), then `reji sync`. Every invoice reconciles with
//! the fake, the SQLite file passes `PRAGMA integrity_check`, and an interrupted export never leaves a
//! half-written file under the target name.
//!
//! `REJI_CRASH_FLOWS` sets the number of flows (default 30 for CI; the full run uses 200).

use crate::common::*;
use rand::{Rng, SeedableRng};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_points_nothing_is_lost_or_duplicated() {
    let flows: usize = std::env::var("REJI_CRASH_FLOWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let mut rng = rand::rngs::StdRng::seed_from_u64(
        std::env::var("REJI_CRASH_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(7),
    );
    let e = env().await;
    // A base of invoices so exports take a moment.
    for _ in 0..20 {
        e.charge(&["--item", "弁当,780,1,8", "--name", "テスト 顧客"])
            .await;
    }
    let out = e.dir.path().join("export.csv");
    std::fs::write(&out, "OLD\r\n").unwrap();
    let (mut charges, mut exports, mut migrations, mut killed) = (0, 0, 0, 0);
    for i in 0..flows {
        match i % 5 {
            0..=2 => {
                charges += 1;
                let mut f = reji::fake::FaultSpec::new("latency");
                f.latency_ms = Some(rng.gen_range(0..150));
                f.path_prefix = Some("/api/v1/sessions".into());
                f.method = Some("POST".into());
                e.ctl.add_fault(&f).await.unwrap();
                let mut child = e
                    .cmd(&["--json", "charge", "--amount", "1000"])
                    .spawn()
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(rng.gen_range(0..200))).await;
                if child.try_wait().unwrap().is_none() {
                    child.start_kill().unwrap();
                    killed += 1;
                }
                let _ = child.wait().await;
                e.ctl.clear_faults().await.unwrap();
            }
            3 => {
                exports += 1;
                let mut child = e
                    .cmd(&["export", "--out", out.to_str().unwrap()])
                    .spawn()
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(rng.gen_range(0..40))).await;
                if child.try_wait().unwrap().is_none() {
                    child.start_kill().unwrap();
                    killed += 1;
                }
                let _ = child.wait().await;
                let text = std::fs::read(&out).unwrap();
                assert!(
                    text == b"OLD\r\n"
                        || (text.ends_with(b"\r\n")
                            && csv::Reader::from_reader(&text[..])
                                .records()
                                .all(|r| r.is_ok())),
                    "a half-written export under the target name ({} bytes)",
                    text.len()
                );
            }
            _ => {
                migrations += 1;
                let old = e.dir.path().join(format!("old-{i}.sqlite"));
                {
                    let l = reji::ledger::Ledger::open_at_version(&old, 1).unwrap();
                    l.connection()
                        .execute("INSERT INTO meta(key, value) VALUES ('probe', 'x')", [])
                        .unwrap();
                }
                let mut c = e.cmd(&["list"]);
                c.env("REJI_DB", &old);
                let mut child = c.spawn().unwrap();
                tokio::time::sleep(Duration::from_millis(rng.gen_range(0..30))).await;
                if child.try_wait().unwrap().is_none() {
                    child.start_kill().unwrap();
                    killed += 1;
                }
                let _ = child.wait().await;
                let l = reji::ledger::Ledger::open(&old)
                    .expect("a killed migration leaves a file that opens");
                assert_eq!(l.integrity_check().unwrap(), "ok");
                assert_eq!(l.schema_version().unwrap(), reji::ledger::SCHEMA_VERSION);
                assert_eq!(l.meta("probe").unwrap().as_deref(), Some("x"));
            }
        }
    }
    let r = e.reji(&["sync"]).await;
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Every invoice reconciles with the fake: one session per order number, none missing.
    let ledger = e.ledger();
    assert_eq!(ledger.integrity_check().unwrap(), "ok");
    assert!(ledger.verify().unwrap().ok);
    let stats = e.stats().await;
    let per_eon = stats["sessions_by_external_order_num"]
        .as_object()
        .unwrap()
        .clone();
    let invoices = ledger.list(&Default::default()).unwrap();
    for inv in &invoices {
        let a = ledger.current_attempt(inv.id).unwrap();
        assert!(
            a.session_id.is_some(),
            "{} has no session after sync",
            inv.number
        );
        assert_eq!(
            per_eon.get(&a.external_order_num).and_then(|v| v.as_u64()),
            Some(1),
            "{}",
            inv.number
        );
        assert!(ledger.unanswered_requests(inv.id).unwrap().is_empty());
    }
    for (eon, n) in &per_eon {
        assert_eq!(n.as_u64(), Some(1), "{eon}: duplicate sessions");
        assert!(
            ledger.find_invoice(eon).is_ok(),
            "{eon}: a session at KOMOJU with no invoice"
        );
    }
    println!(
        "crash: {flows} flows ({charges} charges, {exports} exports, {migrations} migrations), {killed} killed mid-run, \
         {} invoices, {} sessions, 0 duplicates, 0 losses",
        invoices.len(),
        per_eon.len()
    );
}
