//! `reji export` end to end: the three encodings with Japanese names, formula-looking names, a
//! character CP932 cannot hold, Japanese headers, atomic output files.

use crate::common::*;

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

/// A FIFO at `path` (through `mkfifo`, as the tests have no libc), and a thread that reads it.
#[cfg(unix)]
fn fifo_reader(path: &std::path::Path) -> std::sync::mpsc::Receiver<Vec<u8>> {
    let ok = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo");
    let (tx, rx) = std::sync::mpsc::channel();
    let p = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(std::fs::read(p).unwrap_or_default());
    });
    rx
}

#[cfg(unix)]
fn is_char_device(p: &str) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(p).unwrap().file_type().is_char_device()
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_writes_through_links_and_into_devices_and_fifos_but_never_replaces_them() {
    use std::os::unix::fs::{symlink, FileTypeExt};
    use std::time::Duration;
    let e = seeded().await;
    let dir = e.dir.path();
    let is_link = |p: &std::path::Path| std::fs::symlink_metadata(p).unwrap().is_symlink();

    // A link to a file: the link stays, the file it leads to gets the export.
    std::fs::create_dir(dir.join("real")).unwrap();
    let target = dir.join("real").join("latest.csv");
    std::fs::write(&target, "old").unwrap();
    let link = dir.join("latest.csv");
    symlink("real/latest.csv", &link).unwrap();
    e.reji(&["export", "--out", link.to_str().unwrap()])
        .await
        .ok();
    assert!(is_link(&link), "the link is still a link");
    assert_eq!(
        export_rows(&std::fs::read(&target).unwrap()).len(),
        3,
        "header and 2 rows"
    );
    // A link to a file that does not exist yet: created where the link leads.
    let dangling = dir.join("next.csv");
    symlink(dir.join("real").join("next.csv"), &dangling).unwrap();
    e.reji(&[
        "export",
        "--format",
        "journal",
        "--out",
        dangling.to_str().unwrap(),
    ])
    .await
    .ok();
    assert!(is_link(&dangling));
    assert!(!std::fs::read(dir.join("real").join("next.csv"))
        .unwrap()
        .is_empty());

    // Devices are written in place (reached through links here, so that a regression replaces a
    // link in the test's folder, never /dev/null itself).
    let null = dir.join("null");
    symlink("/dev/null", &null).unwrap();
    e.reji(&["export", "--out", null.to_str().unwrap()])
        .await
        .ok();
    assert!(is_link(&null) && is_char_device("/dev/null"));
    let full = dir.join("full");
    symlink("/dev/full", &full).unwrap();
    for args in [
        vec!["export", "--out", full.to_str().unwrap()],
        vec![
            "close",
            "--date",
            "2026-01-02",
            "--csv",
            full.to_str().unwrap(),
        ],
    ] {
        let r = e.reji(&args).await;
        assert_eq!(r.code, 5, "{args:?}: a local file error: {}", r.stderr);
        assert_eq!(r.json()["error"]["code"], "export_io");
        let flag = args[args.len() - 2];
        assert!(
            r.stderr.contains("No space left") && r.stderr.contains(flag),
            "{args:?}: ENOSPC is reported, naming {flag}: {}",
            r.stderr
        );
        assert!(is_link(&full) && is_char_device("/dev/full"));
    }

    // A FIFO receives the bytes and stays a FIFO.
    let fifo = dir.join("pipe");
    let rx = fifo_reader(&fifo);
    let r = e.reji(&["export", "--out", fifo.to_str().unwrap()]).await;
    let got = rx.recv_timeout(Duration::from_secs(10));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(export_rows(&got.expect("the FIFO was written")).len(), 3);
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());

    // A folder or a socket is refused, naming the path, and stays what it was.
    let sock = dir.join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let folder = dir.join("real");
    for (p, what) in [(&sock, "a socket"), (&folder, "a folder")] {
        for args in [
            vec!["export", "--out", p.to_str().unwrap()],
            vec![
                "close",
                "--date",
                "2026-01-03",
                "--csv",
                p.to_str().unwrap(),
            ],
        ] {
            let r = e.reji(&args).await;
            assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
            assert!(
                r.stderr.contains(what) && r.stderr.contains(p.to_str().unwrap()),
                "{args:?}: {}",
                r.stderr
            );
        }
    }
    assert!(std::fs::symlink_metadata(&sock)
        .unwrap()
        .file_type()
        .is_socket());
    assert!(folder.is_dir());
    // The refused close did not close the day.
    assert!(e
        .ledger()
        .daily_close("2026-01-03".parse().unwrap())
        .unwrap()
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lossy_cp932_export_says_how_many_characters_it_replaced_and_where() {
    let e = env().await;
    let a = e.charge(&["--amount", "500", "--name", "𠮷野 家"]).await;
    e.charge(&["--amount", "600", "--name", "山田"]).await;
    let c = e
        .charge(&["--item", "😀セット🍣,700,1,8", "--name", "山𠮷"])
        .await;
    let (inv_a, inv_c) = (s(&a, "invoice_number"), s(&c, "invoice_number"));

    // To stdout: the CSV there, the report on stderr.
    let r: Run = e
        .cmd(&["export", "--encoding", "cp932", "--lossy"])
        .output()
        .await
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    for needle in [
        "4 characters",
        "'?'",
        &format!("row 1 ({inv_a}) customer_name (1)"),
        &format!("row 3 ({inv_c}) customer_name (1)"),
        &format!("row 3 ({inv_c}) items (2)"),
    ] {
        assert!(r.stderr.contains(needle), "names {needle:?}: {}", r.stderr);
    }

    // With --json --out: the same in the JSON result.
    let out = e.dir.path().join("lossy.csv");
    let v = e
        .reji(&[
            "export",
            "--encoding",
            "cp932",
            "--lossy",
            "--out",
            out.to_str().unwrap(),
        ])
        .await
        .ok()
        .json();
    assert_eq!(v["rows"], 3);
    assert_eq!(v["replaced"]["count"], 4, "{v}");
    let first = &v["replaced"]["first"];
    assert_eq!(first.as_array().unwrap().len(), 3, "{v}");
    assert_eq!(first[0]["row"], 1);
    assert_eq!(first[0]["invoice"], inv_a.as_str());
    assert_eq!(first[0]["column"], "customer_name");
    assert_eq!(first[2]["column"], "items");
    assert_eq!(first[2]["count"], 2);

    // Nothing replaced: no warning, and the count is 0.
    let v = e
        .reji(&[
            "export",
            "--encoding",
            "utf-8",
            "--out",
            out.to_str().unwrap(),
        ])
        .await
        .ok()
        .json();
    assert_eq!(v["replaced"]["count"], 0);

    // The journal: an account name CP932 lacks is replaced on every line, and said so.
    e.ctl
        .pay(&s(&a, "session_id"), "credit_card", None)
        .await
        .unwrap();
    e.show(&inv_a).await;
    e.reji(&["settings", "journal_credit_account", "売上高😀"])
        .await
        .ok();
    let r: Run = e
        .cmd(&["export", "--format", "journal", "--lossy"])
        .output()
        .await
        .unwrap()
        .into();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("1 character that CP932 cannot hold was written as '?'")
            && r.stderr.contains("row 1")
            && r.stderr.contains("貸方勘定科目"),
        "{}",
        r.stderr
    );
}
