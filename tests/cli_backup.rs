//! `reji backup` and `reji restore`: consistent copies, and a restore that refuses a damaged file or
//! one from a newer Reji and keeps the current ledger aside.

mod common;

use common::*;

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
}
