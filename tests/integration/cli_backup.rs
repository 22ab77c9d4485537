//! `reji backup` and `reji restore`: consistent copies, and a restore that refuses a damaged file or
//! one from a newer Reji and keeps the current ledger aside.

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_then_restore_brings_the_ledger_back() {
    let e = env().await;
    let a = e.charge(&["--amount", "1000"]).await;
    let b = e.reji(&["--json", "backup"]).await.ok().json();
    let backup = std::path::PathBuf::from(b["backup"].as_str().unwrap());
    assert!(backup.starts_with(e.dir.path().join("backups")));
    e.charge(&["--amount", "2000"]).await;
    assert_eq!(e.invoice_count(), 2);
    let r = e
        .reji(&["--json", "restore", backup.to_str().unwrap()])
        .await
        .ok();
    assert!(
        r.stderr.contains("previous ledger was saved"),
        "{}",
        r.stderr
    );
    assert_eq!(e.invoice_count(), 1);
    assert_eq!(
        s(&e.show(&s(&a, "invoice_number")).await, "status"),
        "pending"
    );
    assert_eq!(e.ledger().integrity_check().unwrap(), "ok");
    // The ledger as it was before the restore was kept aside.
    let saved = std::fs::read_dir(e.dir.path().join("backups"))
        .unwrap()
        .count();
    assert_eq!(saved, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_garbage_and_newer_schemas() {
    let e = env().await;
    e.charge(&["--amount", "1000"]).await;
    let junk = e.dir.path().join("junk.sqlite");
    std::fs::write(&junk, b"this is not a database at all, not even close................................................").unwrap();
    let r = e.reji(&["restore", junk.to_str().unwrap()]).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        !r.stderr.contains("migrating"),
        "a restore error is not a migration's: {}",
        r.stderr
    );
    let newer = e.dir.path().join("newer.sqlite");
    e.reji(&["backup", "--out", newer.to_str().unwrap()])
        .await
        .ok();
    let c = rusqlite::Connection::open(&newer).unwrap();
    c.pragma_update(None, "user_version", 99).unwrap();
    drop(c);
    let r = e.reji(&["restore", newer.to_str().unwrap()]).await;
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("newer"), "{}", r.stderr);
    let r = e.reji(&["restore", "/nonexistent/file.sqlite"]).await;
    assert_eq!(r.code, 2);
    assert_eq!(e.invoice_count(), 1, "the ledger is untouched");
    let r = e.reji(&["backup", "--out", newer.to_str().unwrap()]).await;
    assert_eq!(
        r.code, 2,
        "an existing file is not overwritten: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains("already exists") && !r.stderr.contains("migrating"),
        "{}",
        r.stderr
    );
}

/// The number part of `LEDGERID-YYYY-NNNNNN`.
fn eon_number(v: &serde_json::Value) -> String {
    let eon = s(v, "external_order_num");
    eon.split_once('-').unwrap().1.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_of_an_older_backup_brings_back_later_sales_and_never_reuses_a_number() {
    let e = env().await;
    let a = e.charge(&["--amount", "1000"]).await;
    let backup = e.dir.path().join("old.sqlite");
    e.reji(&["backup", "--out", backup.to_str().unwrap()])
        .await
        .ok();
    // After the backup: one sale paid, one payment page never used.
    let b = e.charge(&["--amount", "2000"]).await;
    e.ctl
        .pay(&s(&b, "session_id"), "credit_card", None)
        .await
        .unwrap();
    let c = e.charge(&["--amount", "3000"]).await;
    let r = e
        .reji(&["--json", "restore", backup.to_str().unwrap()])
        .await
        .ok();
    let report = r.json();
    assert_eq!(report["counters_carried"][0]["to"], 3, "{report}");
    assert_eq!(e.invoice_count(), 1);

    // The next charge first asks KOMOJU: the paid sale comes back under its own number.
    let d = e.reji(&["charge", "--amount", "4000"]).await.ok();
    assert!(
        d.stderr.contains(&s(&b, "invoice_number")) && d.stderr.contains("brought back"),
        "{}",
        d.stderr
    );
    let d = d.json();
    let back = e.show(&s(&b, "invoice_number")).await;
    assert_eq!(s(&back, "status"), "paid");
    assert_eq!(back["amount"], 2000);
    let numbers = [&a, &b, &c]
        .iter()
        .map(|v| s(v, "invoice_number"))
        .collect::<Vec<_>>();
    assert!(
        !numbers.contains(&s(&d, "invoice_number")),
        "a new number: {d}"
    );
    assert_eq!(e.sessions_for(&s(&d, "external_order_num")).await, 1);
    assert_eq!(eon_number(&d), s(&d, "invoice_number"));
    // Restoring again finds nothing more to bring back.
    let again = e.reji(&["sync"]).await.ok();
    assert!(!again.stderr.contains("brought back"), "{}", again.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_number_komoju_already_knows_is_skipped_not_left_cancelled() {
    let e = env().await;
    e.charge(&["--amount", "1000"]).await;
    let backup = e.dir.path().join("old.sqlite");
    e.reji(&["backup", "--out", backup.to_str().unwrap()])
        .await
        .ok();
    // Two payment pages made after the backup and never paid: KOMOJU's payment list does not show
    // them, only the sessions know their numbers.
    let b = e.charge(&["--amount", "2000"]).await;
    let c = e.charge(&["--amount", "3000"]).await;
    // The ledger file itself is lost (a new disk): the backup is all there is.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", e.db.display()));
    }
    e.reji(&["restore", backup.to_str().unwrap()]).await.ok();
    let d = e.reji(&["charge", "--amount", "4000"]).await.ok();
    assert!(d.stderr.contains("next free number"), "{}", d.stderr);
    let d = d.json();
    assert_ne!(s(&d, "invoice_number"), s(&b, "invoice_number"));
    assert_ne!(s(&d, "invoice_number"), s(&c, "invoice_number"));
    assert_eq!(s(&d, "status"), "pending", "the payment page is open: {d}");
    assert!(d["session_url"].is_string());
    assert_eq!(eon_number(&d), s(&d, "invoice_number"));
    let l = e.ledger();
    let cancelled: i64 = l
        .connection()
        .query_row(
            "SELECT COUNT(*) FROM invoices WHERE status = 'cancelled'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        cancelled, 0,
        "no invoice left cancelled under a taken number"
    );
    let renumbered: i64 = l
        .connection()
        .query_row(
            "SELECT COUNT(*) FROM events WHERE kind = 'renumbered'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(renumbered, 2, "two taken numbers skipped, each logged");
}
