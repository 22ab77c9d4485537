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
    // Refunds after 精算 count toward the next drawer, per tender: ¥100 of the new cash sale back
    // from the drawer, ¥200 of the card sale (made before 精算) back through KOMOJU.
    e.reji(&["refund", &s(&v, "invoice_number"), "--amount", "100"])
        .await
        .ok();
    e.reji(&["refund", &s(&card, "invoice_number"), "--amount", "200"])
        .await
        .ok();
    let after = e.reji(&["drawer", "check"]).await.ok().json();
    let refunds: Vec<(String, i64)> = after["refunds_per_tender"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["method"].as_str().unwrap().to_string(),
                m["total"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        refunds,
        vec![("credit_card".to_string(), 200), ("cash".to_string(), 100)],
        "{after}"
    );
    assert_eq!(after["refunds_total"], 300, "{after}");
    assert_eq!(after["sales_total"], 300, "{after}");
    assert_eq!(after["net_total"], 0, "{after}");
    assert_eq!(after["cash_refunds"], 100, "{after}");
    assert_eq!(after["expected_cash"], 300 - 100, "{after}");
    let sum = |k: &str| -> i64 {
        after[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["gross"].as_i64().unwrap())
            .sum()
    };
    assert_eq!(sum("per_rate"), 300, "{after}");
    assert_eq!(sum("refunds_per_rate"), 300, "{after}");
    let out = e.cmd(&["drawer", "check"]).output().await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("純売上") && text.contains("返金"), "{text}");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reports_as_pdf_and_csv_and_a_bad_file_closes_nothing() {
    let e = env().await;
    e.reji(&["drawer", "open", "--count", "1000:5"]).await.ok();
    e.charge(&["--amount", "970", "--cash", "1000"]).await;
    e.reji(&["drawer", "out", "--amount", "300", "--reason", "仕入れ"])
        .await
        .ok();

    // 点検 as CSV: Japanese headers and names, one figure per row.
    let check_csv = e.dir.path().join("check.csv");
    e.reji(&["drawer", "check", "--csv", check_csv.to_str().unwrap()])
        .await
        .ok();
    let csv = std::fs::read_to_string(&check_csv).unwrap();
    assert!(
        csv.starts_with("\u{feff}区分,項目,枚数・件数,金額\r\n"),
        "{csv}"
    );
    for row in [
        "報告,点検,,",
        "現金,現金売上,,970",
        "現金,現金在高（理論）,,5670",
        "売上,現金,1,970",
    ] {
        assert!(csv.contains(&format!("{row}\r\n")), "{row:?} in\n{csv}");
    }

    // A file that cannot be written (a folder) is refused before the 精算: nothing is closed.
    let r = e
        .reji(&[
            "drawer",
            "close",
            "--count",
            "1000:5,500:1,100:1,50:1,10:2",
            "--csv",
            e.dir.path().to_str().unwrap(),
        ])
        .await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--csv"), "{}", r.stderr);
    let still = e.reji(&["drawer", "check"]).await.ok().json();
    assert!(still["session"]["closed_at"].is_null(), "{still}");

    // 精算 with its PDF and CSV.
    let (pdf, csv_path) = (e.dir.path().join("z.pdf"), e.dir.path().join("z.csv"));
    let close = e
        .reji(&[
            "drawer",
            "close",
            "--count",
            "1000:5,500:1,100:1,50:1,10:2",
            "--pdf",
            pdf.to_str().unwrap(),
            "--csv",
            csv_path.to_str().unwrap(),
        ])
        .await
        .ok()
        .json();
    assert_eq!(close["difference"], 0, "{close}");
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    for row in [
        "報告,精算,,",
        "現金,過不足,,0",
        "金種,1000円,5,5000",
        "出金,",
    ] {
        assert!(csv.contains(row), "{row:?} in\n{csv}");
    }
    let out = std::process::Command::new("pdftotext")
        .args([pdf.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (Debian poppler-utils)");
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in ["精算", "5,670", "仕入れ"] {
        assert!(text.contains(needle), "{needle:?} in the PDF:\n{text}");
    }
}
