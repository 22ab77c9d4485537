//! Several processes on one ledger file: opening an old ledger at once (the app and `reji watch`
//! after an upgrade), a restore while another process writes, and the repair of a ledger whose
//! recorded schema version went back.
//!
//! Quick by default (CI); `REJI_CONCURRENCY_ROUNDS=50` runs the full run. Prints its counts.

use crate::common::{env, s as field};
use chrono::Utc;
use reji::ledger::{Ledger, LedgerError, SCHEMA_VERSION};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

fn rounds(default: usize) -> usize {
    std::env::var("REJI_CONCURRENCY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

use crate::common::{draft, t0};

fn add(l: &mut Ledger, total: i64) -> String {
    l.create_invoice(&draft(total), &[], None, 3600, t0(), 2026, |_, eon| {
        format!("{{\"eon\":\"{eon}\"}}")
    })
    .unwrap()
    .0
    .number
    .to_string()
}

/// A ledger as a Reji of schema 5 left it, with invoices written through the v5 columns.
fn old_ledger(path: &Path, invoices: i64) {
    let old = Ledger::open_at_version(path, 5).unwrap();
    let c = old.connection();
    for n in 1..=invoices {
        c.execute(
            "INSERT INTO invoices(number, created_at, status, currency, amount, tax_10, price_mode, rounding,
                 expires_in, updated_at, business_date)
             VALUES (?1, '2026-01-05T01:00:00.000Z', 'pending', 'JPY', 1100, 100, 'inclusive', 'down', 3600,
                 '2026-01-05T01:00:00.000Z', '2026-01-05')",
            rusqlite::params![format!("2026-{n:06}")],
        )
        .unwrap();
        c.execute(
            "INSERT INTO line_items(invoice_id, position, name, unit_price, quantity, tax_rate)
             VALUES (?1, 0, 'Item', 1100, 1, 10)",
            [c.last_insert_rowid()],
        )
        .unwrap();
    }
    c.execute(
        "INSERT INTO invoice_counters(year, last) VALUES (2026, ?1)",
        [invoices],
    )
    .unwrap();
}

fn pre_migration_backups(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".bak"))
        .collect()
}

fn reji(db: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_reji"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("REJI_SECRET_KEY")
        .env("REJI_API_BASE", "http://127.0.0.1:9/api/v1")
        .output()
        .unwrap()
}

#[test]
fn old_ledger_opened_by_many_processes_at_once_migrates_once_and_never_moves_back() {
    let rounds = rounds(3);
    let procs = 8;
    let mut failed = 0;
    for round in 0..rounds {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("reji.sqlite");
        old_ledger(&db, 20);
        let children: Vec<_> = (0..procs)
            .map(|i| {
                let args: &[&str] = if i % 2 == 0 {
                    &["list", "--json"]
                } else {
                    &["verify", "--json"]
                };
                Command::new(env!("CARGO_BIN_EXE_reji"))
                    .arg("--db")
                    .arg(&db)
                    .args(args)
                    .env_remove("REJI_SECRET_KEY")
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            if !out.status.success() {
                failed += 1;
                eprintln!(
                    "round {round}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
        }
        let l = Ledger::open(&db).expect("the ledger still opens");
        assert_eq!(l.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(l.integrity_check().unwrap(), "ok");
        let n: i64 = l
            .connection()
            .query_row("SELECT COUNT(*) FROM invoices", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 20, "no invoice lost");
        assert_eq!(
            pre_migration_backups(dir.path()).len(),
            1,
            "one backup before the migration, not one per process"
        );
    }
    println!(
        "concurrency: {rounds} rounds × {procs} processes opening a v5 ledger at once: {failed} failed"
    );
    assert_eq!(failed, 0, "every process opens the ledger");
}

#[test]
fn fresh_ledger_created_by_many_threads_at_once_gets_every_step_once() {
    let rounds = rounds(3);
    for _ in 0..rounds {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(dir.path().join("reji.sqlite"));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let db = db.clone();
                std::thread::spawn(move || {
                    let mut l = Ledger::open(&db)?;
                    l.create_invoice(&draft(500), &[], None, 3600, t0(), 2026, |_, eon| {
                        format!("{{\"eon\":\"{eon}\"}}")
                    })?;
                    Ok::<_, LedgerError>(l.ledger_id().to_string())
                })
            })
            .collect();
        let ids: Vec<String> = threads
            .into_iter()
            .map(|t| t.join().unwrap().expect("every opener succeeds"))
            .collect();
        assert!(ids.windows(2).all(|w| w[0] == w[1]), "one ledger id");
        let l = Ledger::open(&db).unwrap();
        assert_eq!(l.schema_version().unwrap(), SCHEMA_VERSION);
        let numbers: Vec<String> = l
            .connection()
            .prepare("SELECT number FROM invoices ORDER BY number")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let want: Vec<String> = (1..=8).map(|n| format!("2026-{n:06}")).collect();
        assert_eq!(numbers, want, "gap-free numbers");
    }
    println!("concurrency: {rounds} rounds × 8 threads creating one new ledger and charging at once: 0 failed, numbers gap-free");
}

#[test]
fn ledger_whose_version_went_back_is_refused_with_a_hint_and_fixed_by_reji_repair() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reji.sqlite");
    let number = {
        let mut l = Ledger::open(&db).unwrap();
        add(&mut l, 1100)
    };
    // What the race of older Reji left: every step applied, the version moved back to 6.
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION - 1)
        .unwrap();
    let err = Ledger::open(&db).expect_err("the broken ledger is refused");
    assert!(
        matches!(err, LedgerError::Migration { .. }),
        "a migration error: {err}"
    );
    assert!(err.to_string().contains("reji repair"), "{err}");

    let out = reji(&db, &["list"]);
    assert_eq!(out.status.code(), Some(5), "a ledger error");
    assert!(String::from_utf8_lossy(&out.stderr).contains("reji repair"));

    let out = reji(&db, &["repair", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["recorded_version"], SCHEMA_VERSION - 1);
    assert_eq!(v["found_version"], SCHEMA_VERSION);
    assert_eq!(v["version"], SCHEMA_VERSION);
    assert_eq!(v["integrity"], "ok");

    let out = reji(&db, &["list", "--json"]);
    assert!(out.status.success(), "the repaired ledger works: {out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&number));
}

#[test]
fn repair_reads_every_schema_step_from_the_file_itself() {
    for v in 1..=SCHEMA_VERSION {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("reji.sqlite");
        drop(Ledger::open_at_version(&db, v).unwrap());
        rusqlite::Connection::open(&db)
            .unwrap()
            .pragma_update(None, "user_version", 1)
            .unwrap();
        let r = reji::ledger::repair(&db).unwrap();
        assert_eq!(
            (r.recorded_version, r.found_version, r.version),
            (1, v, SCHEMA_VERSION),
            "a file with the steps up to {v}"
        );
        assert_eq!(r.integrity, "ok");
    }
}

#[test]
fn restore_while_another_process_writes_never_corrupts_the_ledger() {
    let restores = rounds(4) * 2;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reji.sqlite");
    let backup = dir.path().join("backup.sqlite");
    {
        let mut l = Ledger::open(&db).unwrap();
        add(&mut l, 1000);
        l.backup_to(&backup).unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (db, stop, written) = (db.clone(), stop.clone(), written.clone());
        std::thread::spawn(move || -> Result<(), String> {
            let mut l = Ledger::open(&db).map_err(|e| e.to_string())?;
            while !stop.load(Ordering::Relaxed) {
                match l.create_invoice(&draft(700), &[], None, 3600, t0(), 2026, |_, eon| {
                    format!("{{\"eon\":\"{eon}\"}}")
                }) {
                    Ok(_) => {}
                    // Written, then replaced by the restore before it was read back: what a
                    // restore means for a sale rung up at that instant.
                    Err(LedgerError::NotFound(_)) => {}
                    Err(e) => return Err(e.to_string()),
                }
                written.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })
    };
    for _ in 0..restores {
        std::thread::sleep(std::time::Duration::from_millis(30));
        reji::ledger::restore(&db, &backup, Utc::now()).unwrap();
        let l = Ledger::open(&db).unwrap();
        assert_eq!(l.integrity_check().unwrap(), "ok");
    }
    stop.store(true, Ordering::Relaxed);
    writer
        .join()
        .unwrap()
        .expect("the writer keeps working across restores");
    let l = Ledger::open(&db).unwrap();
    assert_eq!(l.integrity_check().unwrap(), "ok");
    let numbers: Vec<String> = l
        .connection()
        .prepare("SELECT number FROM invoices")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let unique: std::collections::BTreeSet<_> = numbers.iter().collect();
    assert_eq!(unique.len(), numbers.len());
    println!(
        "concurrency: {restores} restores under a write loop ({} invoices written): integrity ok",
        written.load(Ordering::Relaxed)
    );
}

#[test]
fn restore_of_an_older_backup_never_reissues_invoice_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reji.sqlite");
    let backup = dir.path().join("backup.sqlite");
    {
        let mut l = Ledger::open(&db).unwrap();
        add(&mut l, 1000);
        add(&mut l, 1000);
        l.backup_to(&backup).unwrap();
        for _ in 0..3 {
            add(&mut l, 1000);
        }
    }
    let report = reji::ledger::restore(&db, &backup, Utc::now()).unwrap();
    assert_eq!(report.counters_carried, vec![(2026, 2, 5)]);
    assert!(report.saved.as_ref().is_some_and(|p| p.is_file()));
    let mut l = Ledger::open(&db).unwrap();
    assert_eq!(
        l.meta(reji::ledger::RESTORE_RECONCILE_KEY)
            .unwrap()
            .as_deref(),
        Some("2026-11-25T01:00:00.000Z"),
        "the newest invoice of the backup: KOMOJU is checked from then on"
    );
    assert_eq!(add(&mut l, 1000), "2026-000006");
}

#[test]
fn restore_replaces_a_ledger_whose_schema_is_broken() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reji.sqlite");
    let backup = dir.path().join("backup.sqlite");
    {
        let mut l = Ledger::open(&db).unwrap();
        add(&mut l, 1000);
        l.backup_to(&backup).unwrap();
    }
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION - 1)
        .unwrap();
    assert!(Ledger::open(&db).is_err());
    let out = reji(&db, &["restore", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let l = Ledger::open(&db).unwrap();
    assert_eq!(l.schema_version().unwrap(), SCHEMA_VERSION);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refund_killed_at_random_moments_and_repeated_never_refunds_twice() {
    use rand::{Rng, SeedableRng};
    let rounds = rounds(4);
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261201);
    let e = env().await;
    let (mut killed, mut settled_notices) = (0, 0);
    for _ in 0..rounds {
        let v = e.charge(&["--amount", "5000"]).await;
        let inv = field(&v, "invoice_number");
        e.ctl
            .pay(&field(&v, "session_id"), "credit_card", None)
            .await
            .unwrap();
        // The answer to the refund is held for 400 ms; reji is killed somewhere in 0..600 ms:
        // before it stored the request, before the POST, in flight, or after the answer.
        e.fault("latency", |f| {
            f.latency_ms = Some(400);
            f.path_prefix = Some("/api/v1/payments".into());
            f.method = Some("POST".into());
        })
        .await;
        let mut child = e
            .cmd(&["--json", "refund", &inv, "--amount", "1000"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(rng.gen_range(0..600))).await;
        if child.try_wait().unwrap().is_none() {
            child.start_kill().unwrap();
            killed += 1;
        }
        let _ = child.wait().await;
        e.ctl.clear_faults().await.unwrap();
        let again = e.reji(&["refund", &inv, "--amount", "1000"]).await.ok();
        if again.stderr.contains("nothing new was sent") {
            settled_notices += 1;
        }
        let r = again.json();
        // Either the first run's refund went through (and the repeat sent nothing), or it never
        // reached KOMOJU (and the repeat sent it), or it had finished (and the repeat is a second,
        // deliberate refund): never a refund counted twice for one request.
        let refunded = r["refunded_amount"].as_i64().unwrap();
        assert!(
            refunded == 1000 || (refunded == 2000 && !again.stderr.contains("went through")),
            "{inv}: {r} / {}",
            again.stderr
        );
        let fake = e
            .ctl
            .sessions()
            .await
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == field(&v, "session_id"))
            .map(|x| x["payment"]["amount_refunded"].as_i64());
        if let Some(Some(at_fake)) = fake {
            assert_eq!(at_fake, refunded, "the ledger matches KOMOJU");
        }
    }
    println!(
        "concurrency: {rounds} refunds killed at random moments ({killed} killed mid-run) and repeated: {settled_notices} settled from the first run, 0 double refunds"
    );
}

#[test]
fn write_by_the_app_holding_the_ledger_open_across_a_restore_lands_in_the_restored_ledger() {
    // The desktop app keeps its connection open while `reji restore` runs. Replacing the file by
    // rename (and deleting its WAL) left that connection writing into the replaced file: its writes
    // vanished, or a WAL left beside the new file corrupted it.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reji.sqlite");
    let backup = dir.path().join("backup.sqlite");
    {
        let l = Ledger::open(&db).unwrap();
        l.set_meta("setting.shop_name", "before").unwrap();
        l.backup_to(&backup).unwrap();
        l.set_meta("setting.shop_name", "not in the backup")
            .unwrap();
    }
    let mut app = Ledger::open(&db).unwrap();
    reji::ledger::restore(&db, &backup, Utc::now()).unwrap();
    assert_eq!(
        app.meta("setting.shop_name").unwrap().as_deref(),
        Some("before"),
        "the open connection reads the restored ledger"
    );
    app.set_meta("setting.shop_name", "after").unwrap();
    let number = add(&mut app, 900);
    let fresh = Ledger::open(&db).unwrap();
    assert_eq!(
        fresh.meta("setting.shop_name").unwrap().as_deref(),
        Some("after"),
        "the app's write is in the ledger, not in a replaced file"
    );
    assert!(fresh.find_invoice(&number).is_ok());
    assert_eq!(fresh.integrity_check().unwrap(), "ok");
}
