//! Upgrades keep the books: every ledger in tests/fixtures/ledgers/ was written by a release of
//! Reji (scripts/make-ledger-fixture with that release's binary). Each opens with the newest code:
//! a backup is taken first, the migrations apply, `reji verify` passes, and every invoice, event
//! (with its hash), setting, product, tender and drawer record is still there, as it was; the
//! register keeps working on it.

use crate::common::*;
use rusqlite::Connection;
use std::path::{Path, PathBuf};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ledgers");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sqlite"))
        .collect();
    v.sort();
    v
}

/// Rows of a query as text, for comparing before and after.
fn rows(c: &Connection, sql: &str) -> Vec<String> {
    let mut st = c.prepare(sql).unwrap();
    let n = st.column_count();
    st.query_map([], |r| {
        let mut cols = Vec::with_capacity(n);
        for i in 0..n {
            let v: rusqlite::types::Value = r.get(i)?;
            cols.push(format!("{v:?}"));
        }
        Ok(cols.join("|"))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

const KEPT: &[&str] = &[
    "SELECT id, number, amount, currency, status, tax_10, tax_8, gross_10, gross_8, created_at, paid_at FROM invoices ORDER BY id",
    "SELECT id, invoice_id, at, kind, from_status, to_status, cause, detail, prev_hash, hash FROM events ORDER BY id",
    "SELECT key, value FROM meta WHERE key LIKE 'setting.%' ORDER BY key",
    "SELECT id, name, price, class, code, version FROM products ORDER BY id",
    "SELECT id, invoice_id, kind, name, amount, tendered, change FROM tenders ORDER BY id",
    "SELECT id, float, expected, counted, difference, closed_at FROM drawer_sessions ORDER BY id",
    "SELECT id, kind, amount, reason FROM drawer_movements ORDER BY id",
    "SELECT invoice_id, name, unit_price, quantity FROM line_items ORDER BY id",
    "SELECT business_date FROM daily_closes ORDER BY business_date",
    "SELECT id, name, role, pin_hash FROM staff ORDER BY id",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_release_ledger_opens_with_the_newest_code_and_keeps_its_books() {
    let all = fixtures();
    assert!(!all.is_empty(), "no ledger fixtures");
    for fixture in all {
        let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
        let e = env().await;
        std::fs::copy(&fixture, &e.db).unwrap();
        let (version, before): (i64, Vec<Vec<String>>) = {
            let c = Connection::open(&e.db).unwrap();
            let v = c
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap();
            (v, KEPT.iter().map(|q| rows(&c, q)).collect())
        };
        assert!(
            version < reji::ledger::SCHEMA_VERSION as i64,
            "{name}: a fixture older than the code"
        );
        assert!(
            before[0].len() >= 7 && before[1].len() > 10,
            "{name}: the fixture holds sales and events"
        );

        // The newest code opens it: verify migrates (after a backup) and checks the hash chain.
        let run = e.reji(&["verify"]).await;
        // The fixture has staff: the PIN its script gave the manager.
        let run = if run.code == 4 {
            let mut c = e.cmd(&["--json", "verify"]);
            c.env("REJI_PIN", "2580");
            Run::from(c.output().await.unwrap())
        } else {
            run
        };
        assert_eq!(
            run.code, 0,
            "{name}: verify\n{}\n{}",
            run.stdout, run.stderr
        );

        let c = Connection::open(&e.db).unwrap();
        let now: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(now, reji::ledger::SCHEMA_VERSION as i64, "{name}");
        for (q, was) in KEPT.iter().zip(&before) {
            assert_eq!(&rows(&c, q), was, "{name}: {q}");
        }
        let backups: Vec<_> = std::fs::read_dir(e.dir.path())
            .unwrap()
            .map(|x| x.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|f| f.contains(&format!(".v{version}-")) && f.ends_with(".bak"))
            .collect();
        assert_eq!(
            backups.len(),
            1,
            "{name}: one backup before migrating: {backups:?}"
        );
        drop(c);

        // And the register works on it: a new cash sale, today's list, a receipt of an old sale.
        let mut sale = e.cmd(&["--json", "charge", "--amount", "480", "--cash", "500"]);
        sale.env("REJI_PIN", "2580");
        let sale = Run::from(sale.output().await.unwrap()).ok().json();
        assert_eq!(sale["status"], "paid", "{name}: {sale}");
        let mut receipt = e.cmd(&["receipt", "2026-000001"]);
        receipt.env("REJI_PIN", "2580");
        let receipt = Run::from(receipt.output().await.unwrap());
        assert!(
            receipt.code == 0 && receipt.stdout.contains("領収書"),
            "{name}: {}{}",
            receipt.stdout,
            receipt.stderr
        );

        // What a shop sends to support says which schema it is on, and holds no secret.
        let mut diag = e.cmd(&["--json", "diagnostics"]);
        diag.env("REJI_PIN", "2580");
        let diag = Run::from(diag.output().await.unwrap()).ok();
        assert!(!diag.stdout.contains(e.fake.secret_key()), "{name}");
        let d = diag.json();
        assert_eq!(d["schema_version"], reji::ledger::SCHEMA_VERSION, "{d}");
        assert!(d["invoices"].as_i64().unwrap() >= 8, "{d}");
        assert_eq!(d["awaiting_payment"], 1, "the konbini sale: {d}");
    }
}
