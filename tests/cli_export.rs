//! `reji export` end to end: the three encodings with Japanese names, formula-looking names, a
//! character CP932 cannot hold, Japanese headers, atomic output files.

mod common;

use common::*;

async fn seeded() -> Env {
    let e = env().await;
    let a = e
        .charge(&[
            "--item",
            "抹茶ラテ,550,2,8",
            "--name",
            "山田 太郎",
            "--email",
            "taro@example.jp",
        ])
        .await;
    e.ctl
        .pay(&s(&a, "session_id"), "credit_card", None)
        .await
        .unwrap();
    e.show(&s(&a, "invoice_number")).await;
    e.charge(&["--amount", "990", "--name", "=HYPERLINK(\"x\")"])
        .await;
    e
}

fn export_rows(bytes: &[u8]) -> Vec<csv::StringRecord> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_encodings_with_japanese_names() {
    let e = seeded().await;
    for enc in ["utf-8-bom", "utf-8", "cp932"] {
        let out = e
            .cmd(&["export", "--encoding", enc])
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "{enc}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = out.stdout;
        let text = match enc {
            "utf-8-bom" => {
                assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "BOM");
                String::from_utf8(bytes[3..].to_vec()).unwrap()
            }
            "utf-8" => {
                assert!(!bytes.starts_with(b"\xEF\xBB\xBF"));
                String::from_utf8(bytes).unwrap()
            }
            _ => {
                assert!(std::str::from_utf8(&bytes).is_err(), "cp932 is not UTF-8");
                let (t, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
                assert!(!bad);
                t.into_owned()
            }
        };
        let rows = export_rows(text.as_bytes());
        assert_eq!(&rows[0][0], "invoice_number", "{enc}");
        let headers: Vec<&str> = rows[0].iter().take(15).collect();
        assert_eq!(
            headers,
            [
                "invoice_number",
                "created_at",
                "status",
                "amount",
                "currency",
                "tax_10",
                "tax_8",
                "payment_method",
                "payment_status",
                "paid_at",
                "komoju_payment_id",
                "komoju_session_id",
                "customer_name",
                "customer_email",
                "refunded_amount"
            ]
        );
        assert_eq!(rows.len(), 3);
        assert_eq!(&rows[1][12], "山田 太郎", "{enc}");
        assert_eq!(&rows[1][2], "paid");
        assert_eq!(&rows[1][3], "1100");
        assert_eq!(&rows[1][6], "81"); // 1100 × 8/108 = 81.48 → 81
        assert!(
            rows[1][1].ends_with("+09:00"),
            "shop time zone: {}",
            &rows[1][1]
        );
        assert_eq!(
            &rows[2][12], "'=HYPERLINK(\"x\")",
            "{enc}: formula neutralised"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn japanese_headers_and_an_atomic_file() {
    let e = seeded().await;
    let path = e.dir.path().join("out.csv");
    std::fs::write(&path, "old").unwrap();
    let r = e
        .reji(&[
            "export",
            "--headers",
            "ja",
            "--encoding",
            "utf-8",
            "--out",
            path.to_str().unwrap(),
        ])
        .await
        .ok();
    assert_eq!(r.json()["rows"], 2);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("請求書番号"), "{text}");
    let leftovers: Vec<_> = std::fs::read_dir(e.dir.path())
        .unwrap()
        .filter_map(|d| d.ok())
        .filter(|d| d.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_out_path_is_bad_input_naming_out() {
    let e = env().await;
    e.charge(&["--amount", "500"]).await;
    let missing = e.dir.path().join("no-such-folder").join("x.csv");
    let folder = e.dir.path().to_str().unwrap().to_string();
    for (path, needle) in [
        (missing.to_str().unwrap(), "does not exist"),
        (folder.as_str(), "is a folder"),
    ] {
        for format in ["invoices", "journal"] {
            let r = e
                .reji(&["export", "--format", format, "--out", path, "--json"])
                .await;
            assert_eq!(r.code, 2, "{path}: {}", r.stderr);
            assert!(
                r.stderr.contains("--out") && r.stderr.contains(needle),
                "{}",
                r.stderr
            );
            assert_eq!(r.json()["error"]["code"], "bad_input");
        }
    }
    assert!(!missing.parent().unwrap().exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmappable_character_in_cp932_fails_unless_lossy() {
    let e = env().await;
    let v = e.charge(&["--amount", "500", "--name", "𠮷野 家"]).await;
    let inv = s(&v, "invoice_number");
    let path = e.dir.path().join("cp932.csv");
    std::fs::write(&path, "previous export").unwrap();
    let r = e
        .reji(&[
            "export",
            "--encoding",
            "cp932",
            "--out",
            path.to_str().unwrap(),
        ])
        .await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(&inv) && r.stderr.contains("customer_name"),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "previous export",
        "the old file is untouched"
    );
    // To standard output: no half a CSV before the error; with --json, only the error object.
    let r = e.reji(&["export", "--encoding", "cp932", "--json"]).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    let err = r.json();
    assert_eq!(err["error"]["code"], "bad_input", "{err}");
    let r: Run = e
        .cmd(&["export", "--encoding", "cp932"])
        .output()
        .await
        .unwrap()
        .into();
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    let out = e
        .cmd(&["export", "--encoding", "cp932", "--lossy"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let (t, _, _) = encoding_rs::SHIFT_JIS.decode(&out.stdout);
    assert!(t.contains("?野 家"), "{t}");
}
