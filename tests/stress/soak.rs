//! Fault soak: many charges, each facing a random fault from the fake KOMOJU, then a payment, a later
//! konbini capture, or an expiry. Afterwards the fake's truth is compared with the ledger: exactly one
//! session per invoice, every captured payment `paid`, no invoice lost.
//!
//! Quick by default (CI); `REJI_SOAK_CHARGES=1000` runs the full soak. Prints its counts.

use rand::{Rng, SeedableRng};
use reji::clock::SystemClock;
use reji::fake::{FakeConfig, FakeControl, FakeKomoju, FaultSpec};
use reji::komoju::{Client, RetryPolicy};
use reji::ledger::Ledger;
use reji::register::{ChargeRequest, Register};
use reji::status::InvoiceStatus;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const FAULTS: &[&str] = &[
    "status_500",
    "rate_limit",
    "close_after_processing",
    "stall",
    "malformed_json",
    "wrong_content_type",
    "none",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_loses_nothing_and_duplicates_nothing() {
    let n: usize = std::env::var("REJI_SOAK_CHARGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let seed: u64 = std::env::var("REJI_SOAK_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20261125);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let fake = FakeKomoju::start(FakeConfig::default()).await.unwrap();
    let ctl = FakeControl::new(&fake.origin());
    let dir = tempfile::tempdir().unwrap();
    let policy = RetryPolicy {
        max_attempts: 6,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(200),
        timeout: Duration::from_millis(400),
        max_retry_after: Duration::from_secs(1),
    };
    let client = Client::new(&fake.api_base(), fake.secret_key().parse().unwrap(), policy).unwrap();
    let ledger = Ledger::open(&dir.path().join("soak.sqlite")).unwrap();
    let mut reg = Register::new(ledger, Some(client), Arc::new(SystemClock)).unwrap();

    let mut faults: BTreeMap<&str, u32> = BTreeMap::new();
    let mut outcomes: BTreeMap<&str, u32> = BTreeMap::new();
    let mut unfinished = 0;
    let mut invoices = Vec::new();
    for i in 0..n {
        let kind = FAULTS[rng.gen_range(0..FAULTS.len())];
        *faults.entry(kind).or_default() += 1;
        if kind != "none" {
            let mut f = FaultSpec::new(kind);
            f.count = Some(rng.gen_range(1..=2));
            f.retry_after = Some(0);
            f.stall_ms = Some(600);
            f.path_prefix = Some("/api/v1/sessions".into());
            f.method = Some("POST".into());
            ctl.add_fault(&f).await.unwrap();
        }
        let methods = if i % 3 == 0 {
            "konbini"
        } else {
            "credit_card,paypay"
        };
        let r = reg
            .charge(ChargeRequest {
                amount: Some(rng.gen_range(100..50_000)),
                methods: reji::register::parse_methods(methods),
                ..Default::default()
            })
            .await;
        ctl.clear_faults().await.unwrap();
        let v = match r {
            Ok(v) => v,
            Err(_) => {
                // No answer after the retries: the invoice is stored with its key; sync finishes it.
                unfinished += 1;
                reg.sync().await.unwrap();

                reg.list(&Default::default()).unwrap().remove(0)
            }
        };
        assert!(
            v.session_id.is_some(),
            "charge {i} ({kind}) has a session after sync"
        );
        invoices.push((
            v.invoice_number.clone(),
            v.session_id.clone().unwrap(),
            methods,
        ));
    }
    // Then: pay, pay at the konbini later, or let it expire.
    for (inv, sid, methods) in &invoices {
        match (rng.gen_range(0..3), *methods) {
            (0, _) => {
                *outcomes.entry("expired").or_default() += 1;
                ctl.customer_cancel(sid).await.unwrap();
            }
            (_, "konbini") => {
                let p = ctl.pay(sid, "konbini", Some("lawson")).await.unwrap();
                ctl.capture_payment(p["id"].as_str().unwrap())
                    .await
                    .unwrap();
                *outcomes.entry("konbini_captured").or_default() += 1;
            }
            _ => {
                ctl.pay(sid, "credit_card", None).await.unwrap();
                *outcomes.entry("card_paid").or_default() += 1;
            }
        }
        let _ = inv;
    }
    reg.sync().await.unwrap();

    // Compare the fake's truth with the ledger.
    let stats = ctl.stats().await.unwrap();
    let per_eon = stats["sessions_by_external_order_num"].as_object().unwrap();
    let duplicates = per_eon.values().filter(|v| v.as_u64() != Some(1)).count();
    let sessions = ctl.sessions().await.unwrap();
    let mut losses = 0;
    let mut paid = 0;
    for s in sessions.as_array().unwrap() {
        let eon = s["payment_data"]["external_order_num"].as_str().unwrap();
        let view = match reg.show_local(eon) {
            Ok(v) => v,
            Err(_) => {
                losses += 1;
                continue;
            }
        };
        let captured = s["payment"]["status"] == "captured";
        if captured {
            paid += 1;
            if view.status != InvoiceStatus::Paid {
                losses += 1;
            }
        }
    }
    let ledger_invoices = reg.list(&Default::default()).unwrap().len();
    println!(
        "soak: {n} charges (seed {seed}), faults {faults:?}, outcomes {outcomes:?}, finished by sync {unfinished}, \
         sessions {}, paid {paid}, duplicates {duplicates}, losses {losses}, replays {}",
        per_eon.len(),
        stats["idempotent_replays"]
    );
    assert_eq!(duplicates, 0);
    assert_eq!(losses, 0);
    assert_eq!(ledger_invoices, n, "no invoice lost or added");
    assert_eq!(per_eon.len(), n, "one session per invoice at the fake");
    assert_eq!(reg.ledger().integrity_check().unwrap(), "ok");
}
