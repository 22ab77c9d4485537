//! `reji receipt`: the qualified simplified invoice (適格簡易請求書) of a paid sale, the return
//! receipt (適格返還請求書) of a refund, as text, JSON, HTML and PDF. The PDF's text layer is read
//! back with `pdftotext` (Debian `poppler-utils`), a PDF reader independent of the one that wrote it.

use crate::common::*;
use std::process::Command;

fn pdftotext(pdf: &std::path::Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout", pdf.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (Debian poppler-utils) is needed for this test");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// pdftotext may put spaces between glyphs of a line; compare without them.
fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

async fn paid_mixed_sale(e: &Env) -> String {
    let a = e
        .charge(&[
            "--item",
            "コーヒー豆,1080,2,8",
            "--item",
            "マグカップ,1650,1,10",
        ])
        .await;
    e.ctl
        .pay(&s(&a, "session_id"), "credit_card", None)
        .await
        .unwrap();
    let id = s(&a, "invoice_number");
    assert_eq!(s(&e.show(&id).await, "status"), "paid");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paid_sale_gets_a_qualified_receipt_in_every_form() {
    let e = env().await;
    e.reji(&["settings", "shop_name", "喫茶レジ"]).await.ok();
    let set = e
        .reji(&["settings", "registration_number", "T7120001168421"])
        .await
        .ok();
    assert!(!set.stderr.contains("warning"), "{}", set.stderr);
    let id = paid_mixed_sale(&e).await;

    // JSON: every element the law asks of a 適格簡易請求書.
    let r = e.reji(&["receipt", &id]).await.ok().json();
    assert_eq!(r["kind"], "sale");
    assert_eq!(r["qualified"], true);
    assert_eq!(r["issuer"]["name"], "喫茶レジ");
    assert_eq!(r["issuer"]["registration_number"], "T7120001168421");
    assert_eq!(r["invoice_number"], id.as_str());
    assert!(r["transaction_date"].as_str().unwrap().len() == 16);
    assert_eq!(r["items"][0]["reduced"], true);
    assert_eq!(r["items"][1]["reduced"], false);
    // 10 %: 1650 incl. → tax ⌊1650 × 10/110⌋ = 150; 8 %: 2160 → ⌊2160 × 8/108⌋ = 160.
    assert_eq!(r["per_rate"][0]["rate"], 10);
    assert_eq!(r["per_rate"][0]["amount"], 1650);
    assert_eq!(r["per_rate"][0]["tax"], 150);
    assert_eq!(r["per_rate"][1]["rate"], 8);
    assert_eq!(r["per_rate"][1]["amount"], 2160);
    assert_eq!(r["per_rate"][1]["tax"], 160);
    assert_eq!(r["total"], 3810);
    assert_eq!(r["payment_method"], "credit_card");
    assert_eq!(r["reissue"], false);

    // Text for the terminal. The first issue was logged, so this one is marked as a reissue.
    let t = e.cmd(&["receipt", &id]).output().await.unwrap();
    let text = String::from_utf8(t.stdout).unwrap();
    for needle in [
        "登録番号 T7120001168421",
        "コーヒー豆 ※",
        "¥3,810",
        "クレジットカード",
        "再発行",
    ] {
        assert!(text.contains(needle), "{needle:?} missing in\n{text}");
    }

    // HTML and PDF.
    let html = e.dir.path().join("r.html");
    let pdf = e.dir.path().join("r.pdf");
    e.reji(&[
        "receipt",
        &id,
        "--html",
        html.to_str().unwrap(),
        "--pdf",
        pdf.to_str().unwrap(),
    ])
    .await
    .ok();
    let h = std::fs::read_to_string(&html).unwrap();
    assert!(h.contains("T7120001168421") && h.contains("コーヒー豆 ※") && h.contains("size:80mm"));
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let layer = squash(&pdftotext(&pdf));
    for needle in [
        "喫茶レジ",
        "登録番号T7120001168421",
        "適格簡易請求書",
        "コーヒー豆※",
        "10%対象（税込）¥1,650",
        "10%内消費税等¥150",
        "8%対象（税込）※¥2,160",
        "8%内消費税等¥160",
        "合計（税込）¥3,810",
        &squash(&id),
    ] {
        assert!(
            layer.contains(needle),
            "{needle:?} missing in the PDF text:\n{layer}"
        );
    }

    // A4 too.
    let a4 = e.dir.path().join("a4.pdf");
    e.reji(&[
        "receipt",
        &id,
        "--paper",
        "a4",
        "--pdf",
        a4.to_str().unwrap(),
    ])
    .await
    .ok();
    assert!(squash(&pdftotext(&a4)).contains("登録番号T7120001168421"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exclusive_shop_shows_amounts_before_tax_per_rate() {
    let e = env().await;
    e.reji(&["settings", "price_mode", "exclusive"]).await.ok();
    e.reji(&["settings", "registration_number", "T7120001168421"])
        .await
        .ok();
    let a = e
        .charge(&["--item", "パン,200,3,8", "--item", "皿,1000,1,10"])
        .await;
    e.ctl
        .pay(&s(&a, "session_id"), "paypay", None)
        .await
        .unwrap();
    let id = s(&a, "invoice_number");
    e.show(&id).await;
    let r = e.reji(&["receipt", &id]).await.ok().json();
    assert_eq!(r["price_mode"], "exclusive");
    assert_eq!(r["per_rate"][0]["amount"], 1000);
    assert_eq!(r["per_rate"][0]["tax"], 100);
    assert_eq!(r["per_rate"][1]["amount"], 600);
    assert_eq!(r["per_rate"][1]["tax"], 48);
    assert_eq!(r["total"], 1748);
    let t = e.cmd(&["receipt", &id]).output().await.unwrap();
    let text = String::from_utf8(t.stdout).unwrap();
    assert!(
        text.contains("対象（税抜）") && text.contains("PayPay"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_get_return_receipts_that_reference_the_sale() {
    let e = env().await;
    e.reji(&["settings", "registration_number", "T7120001168421"])
        .await
        .ok();
    let id = paid_mixed_sale(&e).await;
    e.reji(&["refund", &id, "--amount", "1000"]).await.ok();
    e.reji(&["refund", &id]).await.ok();

    let r1 = e.reji(&["receipt", &id, "--refund", "1"]).await.ok().json();
    let r2 = e.reji(&["receipt", &id, "--refund", "2"]).await.ok().json();
    for (r, n, total) in [(&r1, 1, 1000), (&r2, 2, 2810)] {
        assert_eq!(r["kind"], "return");
        assert_eq!(r["refund_count"], 2);
        assert_eq!(r["refund_number"], n);
        assert_eq!(r["total"], total);
        assert!(r["refund_date"].is_string());
        assert_eq!(r["invoice_number"], id.as_str());
        let sum: i64 = r["per_rate"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["amount"].as_i64().unwrap())
            .sum();
        assert_eq!(sum, total);
    }
    // Both refunds together give back exactly the sale's per-rate amounts and tax.
    for (i, (amount, tax)) in [(1650, 150), (2160, 160)].into_iter().enumerate() {
        let a = r1["per_rate"][i]["amount"].as_i64().unwrap()
            + r2["per_rate"][i]["amount"].as_i64().unwrap();
        let t =
            r1["per_rate"][i]["tax"].as_i64().unwrap() + r2["per_rate"][i]["tax"].as_i64().unwrap();
        assert_eq!((a, t), (amount, tax));
    }
    let pdf = e.dir.path().join("ret.pdf");
    e.reji(&[
        "receipt",
        &id,
        "--refund",
        "1",
        "--pdf",
        pdf.to_str().unwrap(),
    ])
    .await
    .ok();
    let layer = squash(&pdftotext(&pdf));
    assert!(
        layer.contains("適格返還請求書") && layer.contains("返金額（税込）¥1,000"),
        "{layer}"
    );

    // A third refund does not exist.
    let bad = e.reji(&["receipt", &id, "--refund", "3"]).await;
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("--refund") && bad.stderr.contains("1 to 2"),
        "{}",
        bad.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_receipt_before_payment_and_bad_input_is_named() {
    let e = env().await;
    let a = e.charge(&["--amount", "500"]).await;
    let id = s(&a, "invoice_number");
    let r = e.reji(&["receipt", &id]).await;
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("pending"), "{}", r.stderr);
    // Nothing was logged as issued for it.
    assert!(!e
        .ledger()
        .events(e.ledger().find_invoice(&id).unwrap().id)
        .unwrap()
        .iter()
        .any(|ev| ev.kind == "receipt"));

    for (args, needle) in [
        (vec!["receipt", &id, "--refund", "0"], "--refund"),
        (vec!["receipt", &id, "--paper", "b5"], "--paper"),
        (vec!["receipt", "2026-999999"], "not found"),
    ] {
        let r = e.reji(&args).await;
        assert!(r.code == 2 || r.code == 3, "{args:?}: {}", r.code);
        assert!(r.stderr.contains(needle), "{args:?}: {}", r.stderr);
    }
    let bad = e.reji(&["settings", "registration_number", "T12345"]).await;
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("13 digits"), "{}", bad.stderr);
    let warn = e
        .reji(&["settings", "registration_number", "T1120001168421"])
        .await
        .ok();
    assert!(warn.stderr.contains("check digit"), "{}", warn.stderr);

    // Without a registration number the receipt says it is not a qualified invoice.
    e.reji(&["settings", "registration_number", ""]).await.ok();
    let id = paid_mixed_sale(&e).await;
    let r = e.reji(&["receipt", &id]).await.ok().json();
    assert_eq!(r["qualified"], false);
    assert!(r["issuer"]["registration_number"].is_null());
}

/// An exempt (非課税) line — a revenue stamp — through the whole path: charge, receipt, invoice CSV,
/// journal CSV and the daily close.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exempt_line_is_untaxed_on_the_receipt_the_exports_and_the_close() {
    let e = env().await;
    e.reji(&["settings", "registration_number", "T7120001168421"])
        .await
        .ok();
    let a = e
        .charge(&["--item", "収入印紙,200,2,非課税", "--item", "封筒,110,1,10"])
        .await;
    assert_eq!(a["amount"], 510);
    assert_eq!(a["tax_10"], 10);
    assert_eq!(a["tax_8"], 0);
    assert!(e.reji(&["charge", "--item", "x,100,1,5"]).await.code == 2);
    e.ctl
        .pay(&s(&a, "session_id"), "credit_card", None)
        .await
        .unwrap();
    let id = s(&a, "invoice_number");
    assert_eq!(s(&e.show(&id).await, "status"), "paid");

    let r = e.reji(&["receipt", &id]).await.ok().json();
    let rates: Vec<(i64, i64, i64)> = r["per_rate"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["rate"].as_i64().unwrap(),
                l["amount"].as_i64().unwrap(),
                l["tax"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rates, [(10, 110, 10), (0, 400, 0)]);
    let text = e.cmd(&["receipt", &id]).output().await.unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("収入印紙 非") && text.contains("非課税") && text.contains("¥510"),
        "{text}"
    );

    let csv = e.dir.path().join("inv.csv");
    e.reji(&[
        "export",
        "--encoding",
        "utf-8",
        "--out",
        csv.to_str().unwrap(),
    ])
    .await
    .ok();
    let body = std::fs::read_to_string(&csv).unwrap();
    let mut rows = csv::Reader::from_reader(body.as_bytes());
    let headers = rows.headers().unwrap().clone();
    let col = headers.iter().position(|h| h == "exempt_amount").unwrap();
    let row = rows.records().next().unwrap().unwrap();
    assert_eq!(&row[col], "400");

    let journal = e.dir.path().join("j.csv");
    e.reji(&[
        "export",
        "--format",
        "journal",
        "--encoding",
        "utf-8",
        "--out",
        journal.to_str().unwrap(),
    ])
    .await
    .ok();
    let j = std::fs::read_to_string(&journal).unwrap();
    assert!(j.contains("非課売上,400,,"), "{j}");
    assert!(j.contains("課税売上込10%,110,10,"), "{j}");

    let c = e.reji(&["close"]).await.ok().json();
    assert_eq!(c["sales_total"], 510);
    let exempt = c["per_rate"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rate"] == 0)
        .expect("an exempt line in the close");
    assert_eq!(
        (exempt["gross"].as_i64(), exempt["tax"].as_i64()),
        (Some(400), Some(0))
    );
}

/// Returns by items (返品): the mug back from a card sale gives back its 10 % only, with its own
/// return receipt listing it and the journal reversing 10 % sales; the rest "all that is left" is
/// the beans; bad items are refused naming `--items`; a cash sale's return comes from the drawer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_return_by_items_is_split_by_the_rates_of_what_came_back() {
    let e = env().await;
    e.reji(&["settings", "registration_number", "T7120001168421"])
        .await
        .ok();
    let id = paid_mixed_sale(&e).await;
    for (items, needle) in [
        ("3:1", "line 3"),
        ("1:3", "2 left"),
        ("0:1", "from 1"),
        ("mug", "number"),
    ] {
        let bad = e.reji(&["refund", &id, "--items", items]).await;
        assert_eq!(bad.code, 2, "{items}: {}", bad.stderr);
        assert!(
            bad.stderr.contains("--items") && bad.stderr.contains(needle),
            "{items}: {}",
            bad.stderr
        );
    }
    let both = e
        .reji(&["refund", &id, "--items", "2:1", "--amount", "100"])
        .await;
    assert_eq!(both.code, 2, "{}", both.stderr);

    let v = e
        .reji(&["refund", &id, "--items", "2:1", "--reason", "欠け"])
        .await
        .ok()
        .json();
    assert_eq!(v["status"], "partially_refunded", "{v}");
    assert_eq!(v["refunded_amount"], 1650, "{v}");
    // By amount after a return: refused; the rest is given back by items.
    let by_amount = e.reji(&["refund", &id, "--amount", "100"]).await;
    assert_eq!(by_amount.code, 2, "{}", by_amount.stderr);
    assert!(
        by_amount.stderr.contains("--amount"),
        "{}",
        by_amount.stderr
    );
    let v = e.reji(&["refund", &id]).await.ok().json();
    assert_eq!(v["status"], "refunded", "{v}");

    let r1 = e.reji(&["receipt", &id, "--refund", "1"]).await.ok().json();
    assert_eq!(r1["total"], 1650, "{r1}");
    assert_eq!(r1["per_rate"].as_array().unwrap().len(), 1, "{r1}");
    assert_eq!(
        (&r1["per_rate"][0]["rate"], &r1["per_rate"][0]["tax"]),
        (&serde_json::json!(10), &serde_json::json!(150)),
        "{r1}"
    );
    let items: Vec<&str> = r1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(items, vec!["マグカップ"], "{r1}");
    let r2 = e.reji(&["receipt", &id, "--refund", "2"]).await.ok().json();
    assert_eq!(r2["total"], 2160, "{r2}");
    assert_eq!(
        (&r2["per_rate"][0]["rate"], &r2["per_rate"][0]["tax"]),
        (&serde_json::json!(8), &serde_json::json!(160)),
        "{r2}"
    );

    // The journal reverses each return at its own rate.
    let out = e.dir.path().join("journal.csv");
    e.reji(&[
        "export",
        "--format",
        "journal",
        "--encoding",
        "utf-8",
        "--out",
        out.to_str().unwrap(),
    ])
    .await
    .ok();
    let journal = std::fs::read_to_string(&out).unwrap();
    let reversals: Vec<&str> = journal
        .lines()
        .filter(|l| l.contains("返金") || l.contains("返品"))
        .collect();
    assert!(
        reversals.iter().any(|l| l.contains("1650"))
            && reversals.iter().any(|l| l.contains("2160")),
        "{journal}"
    );

    // A cash sale's return: the drawer gives it back, the reason is kept.
    let cash = e
        .charge(&[
            "--item",
            "パン,300,2,8",
            "--item",
            "紙袋,10,1,10",
            "--cash",
            "1000",
        ])
        .await;
    let n = s(&cash, "invoice_number");
    let v = e
        .reji(&["refund", &n, "--items", "1:1", "--reason", "焼きすぎ"])
        .await
        .ok()
        .json();
    assert_eq!(v["refunded_amount"], 300, "{v}");
    let check = e.reji(&["drawer", "check"]).await.ok().json();
    assert_eq!(check["cash_refunds"], 300, "{check}");

    // The day's close counts the refunds per rate as the return receipts split them.
    let close = e.reji(&["close"]).await.ok().json();
    let per: Vec<(i64, i64, i64)> = close["refunds_per_rate"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rate"].as_i64().unwrap(),
                r["gross"].as_i64().unwrap(),
                r["tax"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        per,
        vec![(10, 1650, 150), (8, 2160 + 300, 160 + 22)],
        "{close}"
    );
    assert_eq!(close["refunds_total"], 1650 + 2160 + 300, "{close}");
}
