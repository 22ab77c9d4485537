//! `reji close`: the daily close (日計表) and the lock it puts on the day's records.

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_sums_the_day_and_locks_it() {
    let e = env().await;
    let a = e
        .charge(&["--item", "弁当,864,2,8", "--item", "袋,110,1,10"])
        .await;
    e.ctl
        .pay(&s(&a, "session_id"), "credit_card", None)
        .await
        .unwrap();
    e.show(&s(&a, "invoice_number")).await;
    e.reji(&["refund", &s(&a, "invoice_number"), "--amount", "300"])
        .await
        .ok();
    let k = e
        .charge(&["--amount", "5000", "--methods", "konbini"])
        .await;
    e.ctl
        .pay(&s(&k, "session_id"), "konbini", Some("lawson"))
        .await
        .unwrap();
    e.show(&s(&k, "invoice_number")).await;
    e.charge(&["--amount", "700"]).await; // still pending

    let csv = e.dir.path().join("close.csv");
    let pdf = e.dir.path().join("close.pdf");
    let c = e
        .reji(&[
            "close",
            "--csv",
            csv.to_str().unwrap(),
            "--pdf",
            pdf.to_str().unwrap(),
        ])
        .await
        .ok()
        .json();
    assert_eq!(c["sales_count"], 1);
    assert_eq!(c["sales_total"], 1838);
    assert_eq!(c["per_rate"][0]["rate"], 10);
    assert_eq!(c["per_rate"][0]["gross"], 110);
    assert_eq!(c["per_rate"][0]["tax"], 10);
    assert_eq!(c["per_rate"][1]["rate"], 8);
    assert_eq!(c["per_rate"][1]["gross"], 1728);
    assert_eq!(c["per_rate"][1]["tax"], 128); // 1728 × 8/108 = 128
    assert_eq!(c["per_method"][0]["method"], "credit_card");
    assert_eq!(c["refunds_count"], 1);
    assert_eq!(c["refunds_total"], 300);
    assert_eq!(c["pending_count"], 1);
    assert_eq!(c["pending_total"], 5000);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.starts_with('\u{feff}') && text.contains("rate,8%,,1728,128"),
        "{text}"
    );

    // The PDF's text layer (read back with poppler's pdftotext) carries the same figures.
    let out = std::process::Command::new("pdftotext")
        .args(["-layout", pdf.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (Debian poppler-utils)");
    let layer: String = String::from_utf8(out.stdout)
        .unwrap()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    for needle in [
        "日計表",
        "売上1件¥1,838",
        "8%対象（税込）※¥1,728",
        "8%内消費税等¥128",
        "返金1件¥300",
        "純売上（売上−返金）¥1,538",
        "一部返金1件",
        "入金待ち1件",
    ] {
        assert!(
            layer.contains(needle),
            "{needle:?} missing in the close PDF:\n{layer}"
        );
    }

    // Closing again shows the stored close.
    let again = e.reji(&["close"]).await.ok();
    assert!(again.stderr.contains("already closed"));
    assert_eq!(again.json(), c);

    // The day's records are locked against edits…
    let l = e.ledger();
    let err = l
        .connection()
        .execute(
            "UPDATE invoices SET amount = 1 WHERE number = ?1",
            [s(&a, "invoice_number")],
        )
        .unwrap_err();
    assert!(err.to_string().contains("closed"), "{err}");
    drop(l);
    // …while the customer can be corrected by a new entry that keeps the old value.
    let fixed = e
        .reji(&[
            "correct",
            &s(&a, "invoice_number"),
            "--name",
            "山田 花子",
            "--reason",
            "typo at the counter",
        ])
        .await
        .ok()
        .json();
    assert_eq!(fixed["customer"]["name"], "山田 花子");
    let l = e.ledger();
    let inv = l.find_invoice(&s(&a, "invoice_number")).unwrap();
    let ev = l.events(inv.id).unwrap();
    let c = ev
        .iter()
        .find(|e| e.kind == "correction")
        .expect("a correction event");
    let d: serde_json::Value = serde_json::from_str(c.detail.as_deref().unwrap()).unwrap();
    assert_eq!(d["field"], "customer_name");
    assert!(d["old"].is_null());
    assert_eq!(d["new"], "山田 花子");
    assert_eq!(d["reason"], "typo at the counter");
    assert!(l.verify().unwrap().ok);
    drop(l);
    let found = e.reji(&["list", "--q", "花子"]).await.ok().json();
    assert_eq!(
        found.as_array().unwrap().len(),
        1,
        "the index follows the correction"
    );
    let bad = e.reji(&["correct", &s(&a, "invoice_number")]).await;
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("nothing to correct"), "{}", bad.stderr);
    let bad = e
        .reji(&[
            "correct",
            &s(&a, "invoice_number"),
            "--email",
            "not-an-email",
        ])
        .await;
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("--email"), "{}", bad.stderr);
    // …but what KOMOJU reports later still lands (the konbini is paid the next day).
    e.ctl
        .capture_payment(&s(&e.show(&s(&k, "invoice_number")).await, "payment_id"))
        .await
        .unwrap();
    assert_eq!(s(&e.show(&s(&k, "invoice_number")).await, "status"), "paid");
    assert!(e.ledger().verify().unwrap().ok);
    // A backup was taken after the close.
    assert!(e.dir.path().join("backups").read_dir().unwrap().count() >= 1);
    // Selling goes on after the close: the new sale belongs to the next business day, and the
    // closed day's figures do not move.
    let before = e.reji(&["close"]).await.ok().json();
    let late = e.charge(&["--amount", "100", "--cash", "100"]).await;
    assert_eq!(late["status"], "paid");
    let l = e.ledger();
    let (day, next): (String, String) = l
        .connection()
        .query_row(
            "SELECT (SELECT business_date FROM daily_closes), business_date FROM invoices WHERE number = ?1",
            [s(&late, "invoice_number")],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let closed_day = chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").unwrap();
    assert_eq!(next, closed_day.succ_opt().unwrap().to_string());
    let now_figures = l.day_summary(closed_day, chrono::Utc::now()).unwrap();
    assert_eq!(
        now_figures.sales_total,
        before["sales_total"].as_i64().unwrap(),
        "the closed day's sales stay as closed"
    );
    let again = e.reji(&["close"]).await.ok();
    assert_eq!(again.json(), before, "the stored close is unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_rejects_bad_and_future_dates() {
    let e = env().await;
    for (d, needle) in [
        ("tomorrow", "YYYY-MM-DD"),
        ("2099-12-31", "future"),
        ("2999-01-01", "2099"),
    ] {
        let r = e.reji(&["close", "--date", d]).await;
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(r.stderr.contains(needle), "{}", r.stderr);
    }
    let c = e.reji(&["close", "--date", "2026-01-01"]).await.ok().json();
    assert_eq!(c["sales_count"], 0);
}
