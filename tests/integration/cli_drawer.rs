//! The drawer's day through the real `reji` binary: open with a float, 入金 / 出金, 点検, 精算.

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_move_check_and_close_with_a_shortage() {
    let e = env().await;
    let v = e
        .reji(&["drawer", "open", "--count", "10000:1,1000:5,100:10"])
        .await
        .ok()
        .json();
    assert_eq!(v["drawer"]["float"], 16_000, "{v}");
    e.charge(&["--amount", "970", "--cash", "1000"]).await; // keeps 970
    e.charge(&["--amount", "1750", "--cash", "1000", "--methods", "paypay"])
        .await; // keeps 1000, 750 left open
    let card = e.charge(&["--amount", "500"]).await;
    e.ctl
        .pay(&s(&card, "session_id"), "credit_card", None)
        .await
        .unwrap();
    e.show(&s(&card, "invoice_number")).await;
    e.reji(&["drawer", "in", "--amount", "5000", "--reason", "両替"])
        .await
        .ok();
    let out = e
        .reji(&[
            "drawer",
            "out",
            "--amount",
            "1200",
            "--reason",
            "仕入れ（牛乳）",
        ])
        .await
        .ok()
        .json();
    assert_eq!(out["movement"]["kind"], "out");

    // 点検: what the drawer should hold; nothing changes. The split sale's cash is in the drawer
    // although its PayPay part is still open.
    let check = e.reji(&["drawer", "check"]).await.ok().json();
    assert_eq!(check["kind"], "check");
    assert_eq!(check["cash_sales"], 970 + 1000, "{check}");
    assert_eq!(check["expected_cash"], 16_000 + 970 + 1000 + 5_000 - 1_200);
    assert_eq!(check["counted_cash"], serde_json::Value::Null);
    let methods: Vec<&str> = check["per_tender"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["method"].as_str().unwrap())
        .collect();
    assert!(
        methods.contains(&"cash") && methods.contains(&"credit_card"),
        "{check}"
    );
    let again = e.reji(&["drawer", "check"]).await.ok().json();
    assert_eq!(again["expected_cash"], check["expected_cash"]);

    // 精算 with ¥100 missing.
    let expected = check["expected_cash"].as_i64().unwrap();
    let counted = expected - 100; // 21 770 - 100 = 21 670
    assert_eq!(counted, 21_670);
    let close = e
        .reji(&[
            "drawer",
            "close",
            "--count",
            "10000:2,1000:1,500:1,100:1,50:1,10:2",
        ])
        .await
        .ok()
        .json();
    assert_eq!(close["kind"], "close");
    assert_eq!(close["expected_cash"], expected);
    assert_eq!(close["counted_cash"], counted);
    assert_eq!(close["difference"], -100);
    assert_eq!(close["session"]["difference"], -100);
    assert!(close["session"]["closed_at"].is_string(), "{close}");
    // 精算 closes the business day too (日計表), with the day's sales in it.
    let day = close["day"]["business_date"].as_str().unwrap().to_string();
    assert_eq!(close["day"]["sales_count"], 2, "{close}");

    // A second 精算 of the same session is not allowed, and changes nothing.
    let r = e.reji(&["drawer", "close", "--count", "10000:2"]).await;
    assert_eq!(r.code, 4, "{}", r.stderr);
    // Sales go on after 精算 and count toward the next drawer.
    let v = e.charge(&["--amount", "300", "--cash", "300"]).await;
    assert_eq!(v["status"], "paid");
    let next = e.reji(&["drawer", "check"]).await.ok().json();
    assert_eq!(
        (next["float"].as_i64(), next["cash_sales"].as_i64()),
        (Some(0), Some(300))
    );
    // The sale after 精算 belongs to the next business day: the closed day's figures stay as closed.
    let closed = e.reji(&["close", "--date", &day]).await.ok().json();
    assert_eq!(closed["sales_count"], 2, "{closed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drawer_refuses_what_makes_no_sense() {
    let e = env().await;
    let r = e.reji(&["drawer", "close", "--count", "1000:1"]).await;
    assert_eq!(r.code, 4, "nothing open: {}", r.stderr);
    for (args, flag) in [
        (vec!["drawer", "open", "--count", "3000:1"], "--count"),
        (vec!["drawer", "open", "--count", "1000:x"], "--count"),
        (
            vec!["drawer", "in", "--amount", "-5", "--reason", "両替"],
            "--amount",
        ),
        (
            vec!["drawer", "in", "--amount", "abc", "--reason", "両替"],
            "--amount",
        ),
        (
            vec!["drawer", "out", "--amount", "100", "--reason", " "],
            "--reason",
        ),
    ] {
        let r = e.reji(&args).await;
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(flag), "{args:?}: {}", r.stderr);
    }
    e.reji(&["drawer", "open", "--count", "1000:10"]).await.ok();
    let r = e.reji(&["drawer", "open", "--count", "1000:10"]).await;
    assert_eq!(r.code, 4, "open twice: {}", r.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_sale_that_ends_unpaid_leaves_no_cash_in_the_drawer() {
    let e = env().await;
    e.reji(&["drawer", "open", "--count", "1000:5"]).await.ok();
    let v = e.charge(&["--amount", "1750", "--cash", "1000"]).await;
    let check = e.reji(&["drawer", "check"]).await.ok().json();
    assert_eq!(check["expected_cash"], 6_000);
    e.reji(&["cancel", &s(&v, "invoice_number")]).await.ok();
    let check = e.reji(&["drawer", "check"]).await.ok().json();
    assert_eq!(
        check["cash_sales"], 0,
        "the ¥1,000 went back with the cancelled sale: {check}"
    );
    assert_eq!(check["expected_cash"], 5_000);
}
