//! End-to-end flows through the real `reji` binary against the stateful fake KOMOJU on loopback,
//! with a real SQLite ledger file.

use crate::common::*;
use serde_json::Value;
use std::time::Duration;

/// A customer's bank account for a konbini refund request.
const BANK: [&str; 10] = [
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

/// A konbini sale authorized at Lawson, then paid there (captured at the fake; Reji has not looked
/// since): `(invoice number, payment id)`.
async fn paid_konbini(e: &Env, amount: &str) -> (String, String) {
    let v = e
        .charge(&["--amount", amount, "--methods", "konbini"])
        .await;
    let inv = s(&v, "invoice_number");
    e.ctl
        .pay(&s(&v, "session_id"), "konbini", Some("lawson"))
        .await
        .unwrap();
    let pid = s(&e.show(&inv).await, "payment_id");
    e.ctl.capture_payment(&pid).await.unwrap();
    (inv, pid)
}

/// The body of the last POST Reji stored (and sent).
fn last_request_body(e: &Env) -> Value {
    let body: String = e
        .ledger()
        .connection()
        .query_row(
            "SELECT body FROM api_requests ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    serde_json::from_str(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_sale_is_paid_at_once() {
    let e = env().await;
    let v = e
        .charge(&[
            "--item",
            "Coffee,480,2,8",
            "--item",
            "Bag,10,1,10",
            "--email",
            "a@example.jp",
        ])
        .await;
    assert_eq!(s(&v, "status"), "pending");
    assert_eq!(v["amount"], 970);
    assert_eq!(s(&v, "currency"), "JPY");
    assert_eq!(v["tax_8"], 71); // 960 × 8/108 = 71.1 → 71
    assert_eq!(v["tax_10"], 0); // 10 × 10/110 = 0.9 → 0
    let sid = s(&v, "session_id");
    assert!(s(&v, "session_url").ends_with(&sid));
    assert!(v["payment_details"].is_null());
    assert_eq!(s(&v, "session_status"), "pending");

    e.ctl.pay(&sid, "credit_card", None).await.unwrap();
    let v = e.show(&s(&v, "invoice_number")).await;
    assert_eq!(s(&v, "status"), "paid");
    assert_eq!(s(&v, "payment_status"), "captured");
    assert_eq!(s(&v, "payment_method"), "credit_card");
    assert!(v["paid_at"].is_string());
    assert_eq!(v["payment_details"]["type"], "credit_card");
    // show accepts the session id too.
    assert_eq!(
        s(&e.show(&sid).await, "invoice_number"),
        s(&v, "invoice_number")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn konbini_is_authorized_then_captured_days_later() {
    let e = env().await;
    let v = e
        .charge(&[
            "--amount",
            "3300",
            "--methods",
            "konbini",
            "--email",
            "k@example.jp",
            "--name",
            "山田 太郎",
        ])
        .await;
    let inv = s(&v, "invoice_number");
    e.ctl
        .pay(&s(&v, "session_id"), "konbini", Some("seven-eleven"))
        .await
        .unwrap();
    let v = e.show(&inv).await;
    assert_eq!(
        s(&v, "status"),
        "awaiting_payment",
        "authorized is not paid"
    );
    assert_eq!(v["payment_details"]["store"], "seven-eleven");
    assert!(v["payment_details"]["receipt"].is_string());
    assert!(v["paid_at"].is_null());
    let human = e.cmd(&["show", &inv]).output().await.unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("konbini payment") && text.contains("seven-eleven"),
        "{text}"
    );
    let created = text
        .lines()
        .find(|l| l.contains("created"))
        .unwrap_or_else(|| panic!("no history line: {text}"));
    assert!(
        created.contains("+09:00"),
        "history in the shop's time zone: {created}"
    );

    e.ctl.advance_clock(3 * 86_400 - 3600).await.unwrap();
    e.ctl.capture_payment(&s(&v, "payment_id")).await.unwrap();
    let r = e.reji(&["sync"]).await.ok().json();
    assert_eq!(r["changed"], 1);
    let v = e.show(&inv).await;
    assert_eq!(s(&v, "status"), "paid");
    // A late repeat changes nothing.
    assert_eq!(s(&e.show(&inv).await, "status"), "paid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn konbini_past_its_deadline_expires() {
    let e = env().await;
    let v = e
        .charge(&["--amount", "1200", "--methods", "konbini"])
        .await;
    e.ctl
        .pay(&s(&v, "session_id"), "konbini", Some("lawson"))
        .await
        .unwrap();
    assert_eq!(
        s(&e.show(&s(&v, "invoice_number")).await, "status"),
        "awaiting_payment"
    );
    e.ctl.advance_clock(30 * 86_400).await.unwrap();
    e.reji(&["sync"]).await.ok();
    let v = e.show(&s(&v, "invoice_number")).await;
    assert_eq!(s(&v, "status"), "expired");
    assert_eq!(s(&v, "payment_status"), "expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_transfer_shows_its_account_details() {
    let e = env().await;
    let v = e
        .charge(&[
            "--amount",
            "50000",
            "--methods",
            "bank_transfer",
            "--name",
            "株式会社テスト",
            "--phone",
            "03-1234-5678",
        ])
        .await;
    e.ctl
        .pay(&s(&v, "session_id"), "bank_transfer", None)
        .await
        .unwrap();
    let v = e.show(&s(&v, "invoice_number")).await;
    assert_eq!(s(&v, "status"), "awaiting_payment");
    let d = &v["payment_details"];
    for k in [
        "bank_name",
        "account_branch_name",
        "account_type",
        "account_number",
        "account_name",
    ] {
        assert!(d[k].is_string(), "{k} in {d}");
    }
    let out = e
        .cmd(&["show", &s(&v, "invoice_number")])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("bank transfer") && text.contains(d["account_number"].as_str().unwrap()),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_an_open_sale_and_not_a_paid_one() {
    let e = env().await;
    let v = e.charge(&["--amount", "800"]).await;
    let c = e
        .reji(&["cancel", &s(&v, "invoice_number")])
        .await
        .ok()
        .json();
    assert_eq!(s(&c, "status"), "cancelled");
    assert_eq!(s(&c, "session_status"), "cancelled");

    let v = e.charge(&["--amount", "900"]).await;
    e.ctl
        .pay(&s(&v, "session_id"), "paypay", None)
        .await
        .unwrap();
    let r = e.reji(&["cancel", &s(&v, "invoice_number")]).await;
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("paid"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_an_authorized_konbini_slip() {
    let e = env().await;
    let v = e
        .charge(&["--amount", "2000", "--methods", "konbini"])
        .await;
    e.ctl
        .pay(&s(&v, "session_id"), "konbini", Some("family-mart"))
        .await
        .unwrap();
    let c = e
        .reji(&["cancel", &s(&v, "invoice_number")])
        .await
        .ok()
        .json();
    assert_eq!(s(&c, "status"), "cancelled");
    assert_eq!(s(&c, "payment_status"), "cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_and_partial_refunds() {
    let e = env().await;
    let v = e.charge(&["--amount", "5000"]).await;
    let inv = s(&v, "invoice_number");
    // Refunding an unpaid invoice is not allowed.
    assert_eq!(e.reji(&["refund", &inv]).await.code, 4);
    e.ctl
        .pay(&s(&v, "session_id"), "credit_card", None)
        .await
        .unwrap();
    let r = e
        .reji(&["refund", &inv, "--amount", "1500"])
        .await
        .ok()
        .json();
    assert_eq!(s(&r, "status"), "partially_refunded");
    assert_eq!(r["refunded_amount"], 1500);
    // More than what is left: bad input naming the refundable amount.
    let over = e.reji(&["refund", &inv, "--amount", "4000"]).await;
    assert_eq!(over.code, 2);
    assert!(over.stderr.contains("3500"), "{}", over.stderr);
    let r = e.reji(&["refund", &inv]).await.ok().json();
    assert_eq!(s(&r, "status"), "refunded");
    assert_eq!(r["refunded_amount"], 5000);
    assert_eq!(e.reji(&["refund", &inv]).await.code, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn konbini_refund_needs_a_bank_account() {
    let e = env().await;
    let (inv, pid) = paid_konbini(&e, "3000").await;
    assert_eq!(s(&e.show(&inv).await, "status"), "paid");
    let r = e.reji(&["refund", &inv]).await;
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--bank-name") && r.stderr.contains("--holder-kana"),
        "{}",
        r.stderr
    );
    let refund = |extra: &[&'static str]| -> Vec<String> {
        ["refund", inv.as_str()]
            .iter()
            .chain(extra)
            .chain(&BANK)
            .map(|a| a.to_string())
            .collect()
    };
    let r = e.reji_owned(&refund(&[])).await.ok().json();
    assert_eq!(
        s(&r, "status"),
        "paid",
        "the invoice keeps its status until KOMOJU completes the request"
    );
    let reqs = r["refund_requests"].as_array().unwrap();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0]["status"], "pending");
    // All 3000 is requested: nothing is left to request while it is pending.
    assert_eq!(e.reji_owned(&refund(&["--amount", "1"])).await.code, 4);
    // KOMOJU rejects it: the whole amount can be requested again, for 1000 this time.
    let rid = reqs[0]["id"].as_str().unwrap().to_string();
    e.ctl.reject_refund_request(&pid, &rid).await.unwrap();
    let r = e
        .reji_owned(&refund(&["--amount", "1000"]))
        .await
        .ok()
        .json();
    let rid = r["refund_requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["status"] == "pending")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Completed: 1000 went back to the customer, whether or not KOMOJU counts it in
    // amount_refunded; what is left to refund is 2000.
    e.ctl.complete_refund_request(&pid, &rid).await.unwrap();
    let r = e.reji(&["sync"]).await.ok().json();
    assert_eq!(r["changed"], 1, "{r}");
    let v = e.show(&inv).await;
    assert_eq!(s(&v, "status"), "partially_refunded");
    assert_eq!(v["refunded_amount"], 1000);
    let r = e.reji_owned(&refund(&["--amount", "2001"])).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("refundable 2000"), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_opens_a_second_attempt_with_a_new_order_number() {
    let e = env().await;
    let v = e.charge(&["--amount", "700", "--expires-in", "600"]).await;
    let inv = s(&v, "invoice_number");
    let eon1 = s(&v, "external_order_num");
    assert_eq!(
        e.reji(&["retry", &inv]).await.code,
        4,
        "pending cannot be retried"
    );
    e.reji(&["cancel", &inv]).await.ok();
    let r = e.reji(&["retry", &inv]).await.ok().json();
    assert_eq!(s(&r, "status"), "pending");
    assert_eq!(r["attempt"], 2);
    let eon2 = s(&r, "external_order_num");
    assert_eq!(eon2, format!("{eon1}-2"));
    assert_ne!(s(&r, "session_id"), s(&v, "session_id"));
    e.ctl
        .pay(&s(&r, "session_id"), "credit_card", None)
        .await
        .unwrap();
    assert_eq!(s(&e.show(&inv).await, "status"), "paid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_cancels_an_earlier_authorized_slip_first() {
    let e = env().await;
    let v = e
        .charge(&["--amount", "700", "--methods", "konbini,credit_card"])
        .await;
    let inv = s(&v, "invoice_number");
    e.ctl
        .pay(&s(&v, "session_id"), "konbini", Some("lawson"))
        .await
        .unwrap();
    let p = e.show(&inv).await;
    // Slip expires at the fake, the staff retry.
    e.ctl.expire_payment(&s(&p, "payment_id")).await.unwrap();
    assert_eq!(s(&e.show(&inv).await, "status"), "expired");
    let r = e.reji(&["retry", &inv]).await.ok().json();
    assert_eq!(r["attempt"], 2);
    assert_eq!(
        s(&r, "status"),
        "pending",
        "the new attempt decides, not the old slip: {r}"
    );
    assert!(r["payment_status"].is_null(), "{r}");
    assert_eq!(e.reji(&["retry", &inv]).await.code, 4, "pending again");
    // Paid on the new session; `sync` (not `show`) finds it.
    e.ctl
        .pay(&s(&r, "session_id"), "credit_card", None)
        .await
        .unwrap();
    let rep = e.reji(&["sync"]).await.ok().json();
    assert_eq!(rep["changed"], 1, "{rep}");
    let list = e.reji(&["list"]).await.ok().json();
    assert_eq!(list[0]["status"], "paid", "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_a_cancelled_slip_follows_the_new_session() {
    let e = env().await;
    let v = e
        .charge(&["--amount", "900", "--methods", "konbini,credit_card"])
        .await;
    let inv = s(&v, "invoice_number");
    e.ctl
        .pay(&s(&v, "session_id"), "konbini", Some("family-mart"))
        .await
        .unwrap();
    e.show(&inv).await;
    e.reji(&["cancel", &inv]).await.ok();
    let r = e.reji(&["retry", &inv]).await.ok().json();
    assert_eq!(s(&r, "status"), "pending", "{r}");
    let v = e.show(&inv).await;
    assert_eq!(s(&v, "status"), "pending", "{v}");
    assert_eq!(v["attempt"], 2);
}

/// `reji sync` covers waiting konbini payments with a change feed (no request per invoice) and
/// still refreshes open sessions one by one; with events off, the list feed steps in.
async fn sync_uses_a_feed(events: bool) {
    let e = env_with(reji::fake::FakeConfig {
        events_enabled: events,
        ..Default::default()
    })
    .await;
    let mut slips = Vec::new();
    for _ in 0..6 {
        let v = e
            .charge(&["--amount", "1500", "--methods", "konbini"])
            .await;
        e.ctl
            .pay(&s(&v, "session_id"), "konbini", Some("lawson"))
            .await
            .unwrap();
        let v = e.show(&s(&v, "invoice_number")).await;
        assert_eq!(s(&v, "status"), "awaiting_payment");
        slips.push(v);
    }
    let open = e.charge(&["--amount", "800"]).await;
    e.ctl.advance_clock(2 * 86_400).await.unwrap();
    e.ctl
        .capture_payment(&s(&slips[2], "payment_id"))
        .await
        .unwrap();
    e.ctl
        .customer_cancel(&s(&open, "session_id"))
        .await
        .unwrap();
    let before = e.stats().await["requests_by_route"].clone();
    let r = e.reji(&["sync"]).await.ok().json();
    let after = e.stats().await["requests_by_route"].clone();
    let delta =
        |route: &str| after[route].as_u64().unwrap_or(0) - before[route].as_u64().unwrap_or(0);
    assert_eq!(r["changed"], 2, "{r}");
    assert_eq!(r["invoices"].as_array().unwrap().len(), 7, "{r}");
    assert_eq!(
        r["feed"],
        if events { "events" } else { "events+list" },
        "{r}"
    );
    assert_eq!(
        delta("GET /sessions/:id"),
        1,
        "only the open session is asked for"
    );
    assert!(
        delta("GET /payments/:id") <= 1,
        "at most the captured slip is fetched: {after}"
    );
    let list = e.reji(&["list"]).await.ok().json();
    let status = |inv: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|v| v["invoice_number"] == inv)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status(&s(&slips[2], "invoice_number")), "paid");
    assert_eq!(status(&s(&slips[3], "invoice_number")), "awaiting_payment");
    assert_eq!(status(&s(&open, "invoice_number")), "cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_follows_waiting_slips_through_the_events_feed() {
    sync_uses_a_feed(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_follows_waiting_slips_through_the_list_feed_when_events_are_off() {
    sync_uses_a_feed(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_session_expires_at_its_deadline() {
    let e = env().await;
    let v = e.charge(&["--amount", "700", "--expires-in", "60"]).await;
    e.ctl.advance_clock(120).await.unwrap();
    assert_eq!(
        s(&e.show(&s(&v, "invoice_number")).await, "status"),
        "expired"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_and_orders_newest_first() {
    let e = env().await;
    let a = e
        .charge(&[
            "--amount",
            "1000",
            "--name",
            "佐藤 花子",
            "--email",
            "hanako@example.jp",
        ])
        .await;
    let b = e
        .charge(&["--amount", "5000", "--name-kana", "スズキ"])
        .await;
    e.ctl
        .pay(&s(&b, "session_id"), "paypay", None)
        .await
        .unwrap();
    e.reji(&["sync"]).await.ok();
    let all = e.reji(&["list"]).await.ok().json();
    let nums: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["invoice_number"].as_str().unwrap())
        .collect();
    assert_eq!(nums, [s(&b, "invoice_number"), s(&a, "invoice_number")]);
    let one = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let e = &e;
        async move {
            let a: Vec<&str> = std::iter::once("list")
                .chain(args.iter().map(String::as_str))
                .collect();
            e.reji(&a)
                .await
                .ok()
                .json()
                .as_array()
                .unwrap()
                .iter()
                .map(|v| s(v, "invoice_number"))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(one(&["--status", "paid"]).await, [s(&b, "invoice_number")]);
    assert_eq!(
        one(&["--method", "paypay"]).await,
        [s(&b, "invoice_number")]
    );
    assert_eq!(one(&["--min", "2000"]).await, [s(&b, "invoice_number")]);
    assert_eq!(one(&["--max", "1000"]).await, [s(&a, "invoice_number")]);
    assert_eq!(one(&["--q", "花子"]).await, [s(&a, "invoice_number")]);
    assert_eq!(one(&["--q", "hanako@"]).await, [s(&a, "invoice_number")]);
    assert_eq!(one(&["--q", "スズキ"]).await, [s(&b, "invoice_number")]);
    assert_eq!(one(&["--limit", "1"]).await.len(), 1);
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Tokyo)
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(one(&["--from", &today, "--to", &today]).await.len(), 2);
    assert_eq!(one(&["--to", "2000-01-01"]).await.len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_is_reported_as_a_key_problem() {
    let e = env().await;
    let mut c = e.cmd(&["--json", "charge", "--amount", "100"]);
    c.env("REJI_SECRET_KEY", "sk_test_wrongwrongwrong1234");
    let r: Run = c.output().await.unwrap().into();
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("secret key") && r.stderr.contains("401"),
        "{}",
        r.stderr
    );
    assert_eq!(r.json()["error"]["code"], "komoju_auth");
    assert!(
        !r.stderr.contains("wrongwrong") && !r.stdout.contains("wrongwrong"),
        "the key never appears"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_test_checks_the_key_with_komoju() {
    let e = env().await;
    let ok = e.reji(&["keys", "test"]).await.ok().json();
    assert_eq!(ok["ok"], true);
    assert_eq!(ok["mode"], "test");
    let text = e.cmd(&["keys", "test"]).output().await.unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("KOMOJU accepted the test key"));
    // A key KOMOJU does not know: exit 1, said to be a key problem, the key never shown.
    let mut c = e.cmd(&["--json", "keys", "test"]);
    c.env("REJI_SECRET_KEY", "sk_test_wrongwrongwrong1234");
    let r: Run = c.output().await.unwrap().into();
    assert_eq!(r.code, 1);
    assert_eq!(r.json()["error"]["code"], "komoju_auth");
    assert!(!r.stderr.contains("wrongwrong") && !r.stdout.contains("wrongwrong"));
    // Nothing listening: a network error.
    let mut c = e.cmd(&["--json", "keys", "test"]);
    c.env("REJI_API_BASE", "http://127.0.0.1:9/api/v1")
        .env("REJI_RETRIES", "1");
    let r: Run = c.output().await.unwrap().into();
    assert_eq!(r.code, 1);
    assert_eq!(r.json()["error"]["code"], "network");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoice_numbers_are_sequential_and_order_numbers_carry_the_ledger_id() {
    let e = env().await;
    let a = e.charge(&["--amount", "100"]).await;
    let b = e.charge(&["--amount", "100"]).await;
    let (na, nb) = (s(&a, "invoice_number"), s(&b, "invoice_number"));
    let seq = |n: &str| n.split('-').nth(1).unwrap().parse::<u32>().unwrap();
    assert_eq!(seq(&nb), seq(&na) + 1);
    let eon = s(&a, "external_order_num");
    let lid = e.ledger().ledger_id().to_string();
    assert_eq!(eon, format!("{lid}-{na}"));
    let sessions = e.ctl.sessions().await.unwrap();
    let found: Vec<&Value> = sessions
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["payment_data"]["external_order_num"] == eon.as_str())
        .collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["amount"], 100);
    assert_eq!(found[0]["metadata"]["invoice_number"], na.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn charge_wait_returns_when_the_customer_pays_or_the_timeout_passes() {
    let e = env().await;
    let ctl = reji::fake::FakeControl::new(&e.fake.origin());
    let child = e
        .cmd(&[
            "--json",
            "charge",
            "--amount",
            "1500",
            "--wait",
            "--timeout",
            "20",
        ])
        .output();
    let payer = async {
        // Pay the session as soon as it exists.
        loop {
            let sessions = ctl.sessions().await.unwrap();
            if let Some(id) = sessions
                .as_array()
                .unwrap()
                .first()
                .and_then(|s| s["id"].as_str())
            {
                tokio::time::sleep(std::time::Duration::from_millis(700)).await;
                ctl.pay(id, "paypay", None).await.unwrap();
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    let (out, ()) = tokio::join!(child, payer);
    let r: Run = out.unwrap().into();
    let v = r.ok().json();
    assert_eq!(s(&v, "status"), "paid");
    assert_eq!(s(&v, "payment_method"), "paypay");

    let started = std::time::Instant::now();
    let r = e
        .reji(&["charge", "--amount", "900", "--wait", "--timeout", "2"])
        .await
        .ok();
    assert_eq!(s(&r.json(), "status"), "pending");
    assert!(r.stderr.contains("still waiting"), "{}", r.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shops_payment_methods_and_locale_are_the_defaults_of_a_sale() {
    let e = env().await;
    e.reji(&["settings", "payment_methods", "paypay, konbini"])
        .await
        .ok();
    e.reji(&["settings", "locale", "en"]).await.ok();
    let r = e.reji(&["settings", "payment_methods", "bitcoin"]).await;
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("payment_methods") && r.stderr.contains("bitcoin"),
        "{}",
        r.stderr
    );
    assert_eq!(e.reji(&["settings", "locale", "fr"]).await.code, 2);
    e.charge(&["--amount", "500"]).await;
    let body = last_request_body(&e);
    assert_eq!(
        body["payment_types"],
        serde_json::json!(["paypay", "konbini"]),
        "{body}"
    );
    assert_eq!(body["default_locale"], "en", "{body}");
    // A sale's own choice wins.
    e.charge(&[
        "--amount",
        "500",
        "--methods",
        "credit_card",
        "--locale",
        "ja",
    ])
    .await;
    let body = last_request_body(&e);
    assert_eq!(body["payment_types"], serde_json::json!(["credit_card"]));
    assert_eq!(body["default_locale"], "ja");
    // Cleared: KOMOJU's defaults again.
    e.reji(&["settings", "payment_methods", ""]).await.ok();
    e.reji(&["settings", "locale", ""]).await.ok();
    e.charge(&["--amount", "500"]).await;
    let body = last_request_body(&e);
    assert!(body.get("payment_types").is_none(), "{body}");
    assert!(body.get("default_locale").is_none(), "{body}");
}

/// When the change feed cannot be read (an API without it, or one failing), `sync` still brings every
/// waiting invoice up to date, one by one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_falls_back_to_one_by_one_when_the_feed_fails() {
    let e = env().await;
    paid_konbini(&e, "2000").await;
    e.reji(&["settings", "feed", "events"]).await.ok();
    e.fault("status_500", |f| {
        f.count = Some(100);
        f.path_prefix = Some("/api/v1/events".into());
    })
    .await;
    let r = e.reji(&["sync"]).await.ok().json();
    assert_eq!(r["feed"], "one_by_one", "{r}");
    assert_eq!(r["changed"], 1, "{r}");
    let list = e.reji(&["list"]).await.ok().json();
    assert_eq!(list[0]["status"], "paid", "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_stdout_pipe_ends_quietly_without_a_panic() {
    let e = env().await;
    let v = e.charge(&["--amount", "100", "--name", "山田"]).await;
    let inv = s(&v, "invoice_number");
    for args in [
        vec!["settings"],
        vec!["list"],
        vec!["show", inv.as_str()],
        vec!["--json", "list"],
        vec!["export"],
        vec!["receipt", inv.as_str()], // an error (not paid): exit 4, still no panic
        vec!["--json", "watch", "--interval", "0.05"],
    ] {
        let mut c = e.cmd(&args);
        c.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        // The reader goes away before reji writes anything (`reji list | head -0`).
        drop(child.stdout.take());
        let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("{args:?} kept running with nobody reading"))
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "{args:?}: {stderr}"
        );
        let want = if args[0] == "receipt" { 4 } else { 0 };
        assert_eq!(out.status.code(), Some(want), "{args:?}: {stderr}");
    }
}
