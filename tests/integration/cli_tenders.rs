//! Cash and the shop's tenders through the real `reji` binary: a cash sale needs no KOMOJU, a split
//! sale asks KOMOJU only for the rest.

use crate::common::*;
use serde_json::Value;

fn tender<'a>(v: &'a Value, kind: &str) -> &'a Value {
    v["tenders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} tender in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cash_at_least_the_total_is_paid_at_once_with_change_and_no_komoju_request() {
    let e = env().await;
    let v = e
        .charge(&[
            "--item",
            "コーヒー,480,2,8",
            "--item",
            "紙袋,10,1,10",
            "--cash",
            "1000",
        ])
        .await;
    assert_eq!(v["status"], "paid", "{v}");
    assert_eq!(v["amount"], 970);
    let cash = tender(&v, "cash");
    assert_eq!(
        (
            cash["amount"].as_i64(),
            cash["tendered"].as_i64(),
            cash["change"].as_i64()
        ),
        (Some(970), Some(1000), Some(30))
    );
    assert_eq!(v["tenders"].as_array().unwrap().len(), 1);
    assert!(v["paid_at"].is_string(), "{v}");
    assert_eq!(e.stats().await["api_requests"], 0, "nothing reached KOMOJU");

    // Its receipt says お預り and お釣り.
    let inv = s(&v, "invoice_number");
    let r = e.cmd(&["receipt", &inv]).output().await.unwrap();
    let text = String::from_utf8_lossy(&r.stdout).into_owned();
    for needle in ["お預り（現金）", "¥1,000", "お釣り", "¥30"] {
        assert!(text.contains(needle), "{needle:?} missing in\n{text}");
    }
    // Exact cash: no change.
    let v = e.charge(&["--amount", "500", "--cash", "500"]).await;
    assert_eq!(
        (v["status"].as_str(), tender(&v, "cash")["change"].as_i64()),
        (Some("paid"), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cash_sale_completes_with_komoju_unreachable() {
    let e = env().await;
    let dead = "http://127.0.0.1:9/api/v1"; // the discard port: nothing listens
    let r: Run = e
        .cmd(&["--json", "charge", "--amount", "1200", "--cash", "2000"])
        .env("REJI_API_BASE", dead)
        .output()
        .await
        .unwrap()
        .into();
    let v = r.ok().json();
    assert_eq!(v["status"], "paid");
    assert_eq!(tender(&v, "cash")["change"], 800);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn less_cash_than_the_total_opens_a_payment_page_for_the_rest() {
    let e = env().await;
    let v = e
        .charge(&["--amount", "1750", "--cash", "1000", "--methods", "paypay"])
        .await;
    assert_eq!(v["status"], "pending", "{v}");
    assert_eq!(v["amount"], 1750, "the sale's total");
    assert_eq!(tender(&v, "cash")["amount"], 1000);
    assert_eq!(tender(&v, "komoju")["amount"], 750);
    let body: String = e
        .ledger()
        .connection()
        .query_row(
            "SELECT body FROM api_requests ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body["amount"], 750,
        "KOMOJU is asked for the rest only: {body}"
    );
    assert_eq!(
        body.get("line_items"),
        None,
        "the lines add up to the total, not to the rest"
    );

    // The customer pays the rest by PayPay: the sale is paid.
    e.ctl
        .pay(&s(&v, "session_id"), "paypay", None)
        .await
        .unwrap();
    let paid = e.show(&s(&v, "invoice_number")).await;
    assert_eq!(paid["status"], "paid", "{paid}");
    assert_eq!(tender(&paid, "komoju")["method"], "paypay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shop_tenders_come_first_then_cash() {
    let e = env().await;
    let v = e
        .charge(&[
            "--amount",
            "3000",
            "--tender",
            "商品券:1000",
            "--tender",
            "売掛:500",
            "--cash",
            "2000",
        ])
        .await;
    assert_eq!(v["status"], "paid", "{v}");
    let t = v["tenders"].as_array().unwrap();
    assert_eq!(t.len(), 3);
    assert_eq!(
        (
            t[0]["type"].as_str(),
            t[0]["name"].as_str(),
            t[0]["amount"].as_i64()
        ),
        (Some("shop"), Some("商品券"), Some(1000))
    );
    assert_eq!(
        (t[1]["name"].as_str(), t[1]["amount"].as_i64()),
        (Some("売掛"), Some(500))
    );
    assert_eq!(
        (
            t[2]["type"].as_str(),
            t[2]["amount"].as_i64(),
            t[2]["change"].as_i64()
        ),
        (Some("cash"), Some(1500), Some(500))
    );
    assert_eq!(e.stats().await["api_requests"], 0);
    // Tenders that cover it without cash: paid too.
    let v = e
        .charge(&["--amount", "800", "--tender", "カード端末:800"])
        .await;
    assert_eq!(v["status"], "paid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_cash_and_tenders_are_refused_and_nothing_is_stored() {
    let e = env().await;
    for (args, flag) in [
        (vec!["--amount", "500", "--cash", "-5"], "--cash"),
        (vec!["--amount", "500", "--cash", "abc"], "--cash"),
        (vec!["--amount", "500", "--cash", "4.5"], "--cash"),
        (vec!["--amount", "500", "--tender", "商品券"], "--tender"),
        (vec!["--amount", "500", "--tender", "商品券:0"], "--tender"),
        (
            vec!["--amount", "500", "--tender", "商品券:600"],
            "--tender",
        ),
    ] {
        let mut all = vec!["charge"];
        all.extend_from_slice(&args);
        let r = e.reji(&all).await;
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(flag), "{args:?}: {}", r.stderr);
    }
    assert_eq!(e.invoice_count(), 0);
    assert_eq!(e.stats().await["api_requests"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_day_counts_each_tender_of_a_split_sale() {
    let e = env().await;
    e.charge(&["--amount", "1000", "--cash", "1000"]).await;
    e.charge(&[
        "--amount",
        "600",
        "--tender",
        "商品券:500",
        "--cash",
        "1000",
    ])
    .await;
    let split = e
        .charge(&["--amount", "1750", "--cash", "1000", "--methods", "paypay"])
        .await;
    e.ctl
        .pay(&s(&split, "session_id"), "paypay", None)
        .await
        .unwrap();
    e.show(&s(&split, "invoice_number")).await;
    let day = e.reji(&["close"]).await.ok().json();
    assert_eq!(day["sales_count"], 3);
    assert_eq!(day["sales_total"], 3350);
    let per: std::collections::BTreeMap<String, (i64, i64)> = day["per_method"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                s(m, "method"),
                (m["count"].as_i64().unwrap(), m["total"].as_i64().unwrap()),
            )
        })
        .collect();
    assert_eq!(per["cash"], (3, 1000 + 100 + 1000));
    assert_eq!(per["shop:商品券"], (1, 500));
    assert_eq!(per["paypay"], (1, 750));
    let sum: i64 = per.values().map(|v| v.1).sum();
    assert_eq!(sum, 3350, "the tenders add up to the sales");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cash_sale_is_refunded_from_the_drawer_with_its_return_receipt() {
    let e = env().await;
    e.reji(&["drawer", "open", "--count", "1000:10"]).await.ok();
    let v = e
        .charge(&["--item", "弁当,864,2,8", "--cash", "2000"])
        .await;
    let inv = s(&v, "invoice_number");
    assert_eq!(v["refundable"], 1728);
    let r = e
        .reji(&["refund", &inv, "--amount", "864"])
        .await
        .ok()
        .json();
    assert_eq!(r["status"], "partially_refunded", "{r}");
    assert_eq!(
        (r["refunded_amount"].as_i64(), r["refundable"].as_i64()),
        (Some(864), Some(864))
    );
    let check = e.reji(&["drawer", "check"]).await.ok().json();
    assert_eq!(check["cash_refunds"], 864);
    assert_eq!(check["expected_cash"], 10_000 + 1728 - 864);
    // The return receipt of that refund.
    let out = e
        .cmd(&["receipt", &inv, "--refund", "1"])
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("返金") && text.contains("¥864"), "{text}");
    // The rest, then nothing left; more than is left is refused.
    let r = e.reji(&["refund", &inv, "--amount", "900"]).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = e.reji(&["refund", &inv]).await.ok().json();
    assert_eq!(r["status"], "refunded");
    let r = e.reji(&["refund", &inv]).await;
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert_eq!(e.stats().await["api_requests"], 0, "nothing reached KOMOJU");
    let day = e.reji(&["close"]).await.ok().json();
    assert_eq!(
        (day["refunds_count"].as_i64(), day["refunds_total"].as_i64()),
        (Some(2), Some(1728))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_japanese_csv_and_the_close_name_statuses_and_tenders_in_japanese() {
    let e = env().await;
    e.charge(&["--amount", "1000", "--cash", "1000"]).await;
    let card = e.charge(&["--amount", "500"]).await;
    e.ctl
        .pay(&s(&card, "session_id"), "credit_card", None)
        .await
        .unwrap();
    e.show(&s(&card, "invoice_number")).await;
    let out = e.dir.path().join("ja.csv");
    e.reji(&[
        "export",
        "--headers",
        "ja",
        "--encoding",
        "utf-8",
        "--out",
        out.to_str().unwrap(),
    ])
    .await
    .ok();
    let csv = std::fs::read_to_string(&out).unwrap();
    for needle in ["支払済み", "現金", "クレジットカード"] {
        assert!(csv.contains(needle), "{needle} missing in\n{csv}");
    }
    assert!(
        !csv.contains(",paid,") && !csv.contains("credit_card"),
        "{csv}"
    );
    let en = e.dir.path().join("en.csv");
    e.reji(&[
        "export",
        "--encoding",
        "utf-8",
        "--out",
        en.to_str().unwrap(),
    ])
    .await
    .ok();
    let csv = std::fs::read_to_string(&en).unwrap();
    assert!(
        csv.contains(",paid,") && csv.contains(",cash,") && csv.contains("credit_card"),
        "{csv}"
    );
    let out = e.cmd(&["close"]).output().await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("現金") || text.contains("cash"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cash_sale_is_shown_and_refunded_without_a_komoju_key() {
    let e = env().await;
    let v = e.charge(&["--amount", "500", "--cash", "1000"]).await;
    let inv = s(&v, "invoice_number");
    for args in [
        vec!["show", inv.as_str()],
        vec!["refund", inv.as_str(), "--amount", "100"],
    ] {
        let mut all = vec!["--json"];
        all.extend_from_slice(&args);
        let r: Run = e
            .cmd(&all)
            .env_remove("REJI_SECRET_KEY")
            .env("REJI_API_BASE", "http://127.0.0.1:9/api/v1")
            .output()
            .await
            .unwrap()
            .into();
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
    }
}
