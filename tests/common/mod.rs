//! Shared harness: a fake KOMOJU on loopback, a temp ledger, and the real `reji` binary.
#![allow(dead_code)]

use reji::fake::{FakeConfig, FakeControl, FakeKomoju, FaultSpec};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Output;

pub struct Env {
    pub fake: FakeKomoju,
    pub ctl: FakeControl,
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON value ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "exit {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

pub async fn env() -> Env {
    env_with(FakeConfig::default()).await
}

pub async fn env_with(cfg: FakeConfig) -> Env {
    let fake = FakeKomoju::start(cfg).await.expect("fake starts");
    let ctl = FakeControl::new(&fake.origin());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger.sqlite");
    Env { fake, ctl, dir, db }
}

impl Env {
    pub fn cmd(&self, args: &[&str]) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_reji"));
        c.args(args)
            .env("REJI_DB", &self.db)
            .env("REJI_API_BASE", self.fake.api_base())
            .env("REJI_SECRET_KEY", self.fake.secret_key())
            .env("REJI_HTTP_TIMEOUT_MS", "2000")
            .env("REJI_RETRY_BASE_MS", "50")
            .env_remove("REJI_RETRIES")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        c
    }

    /// Runs `reji --json ARGS` to completion.
    pub async fn reji(&self, args: &[&str]) -> Run {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        self.cmd(&all).output().await.expect("reji runs").into()
    }

    /// [`Env::reji`] with owned arguments.
    pub async fn reji_owned(&self, args: &[String]) -> Run {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.reji(&args).await
    }

    pub async fn charge(&self, args: &[&str]) -> Value {
        let mut all = vec!["charge"];
        all.extend_from_slice(args);
        self.reji(&all).await.ok().json()
    }

    pub async fn show(&self, id: &str) -> Value {
        self.reji(&["show", id]).await.ok().json()
    }

    pub async fn fault(&self, kind: &str, f: impl FnOnce(&mut FaultSpec)) {
        let mut spec = FaultSpec::new(kind);
        f(&mut spec);
        self.ctl.add_fault(&spec).await.expect("fault set");
    }

    pub async fn stats(&self) -> Value {
        self.ctl.stats().await.expect("stats")
    }

    /// Sessions the fake holds for one external_order_num.
    pub async fn sessions_for(&self, eon: &str) -> u64 {
        self.stats().await["sessions_by_external_order_num"][eon]
            .as_u64()
            .unwrap_or(0)
    }

    pub fn ledger(&self) -> reji::ledger::Ledger {
        reji::ledger::Ledger::open(&self.db).unwrap()
    }

    pub fn invoice_count(&self) -> i64 {
        if !self.db.exists() {
            return 0;
        }
        self.ledger()
            .connection()
            .query_row("SELECT COUNT(*) FROM invoices", [], |r| r.get(0))
            .unwrap()
    }
}

pub fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} missing in {v}"))
        .to_string()
}

/// The instant ledger tests write at (fixed: tests never depend on the wall clock).
pub fn t0() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-11-25T01:00:00Z")
        .unwrap()
        .to_utc()
}

/// A one-line sale of `total` yen at 10 %, prices tax-inclusive, no customer.
pub fn draft(total: i64) -> reji::invoice::Draft {
    reji::invoice::Draft {
        currency: reji::money::Currency::JPY,
        lines: vec![reji::invoice::LineItem {
            name: "Item".into(),
            unit_price: total,
            quantity: 1,
            tax_rate: reji::tax::TaxRate::Standard,
            product_id: None,
            discount: 0,
        }],
        customer: reji::invoice::Customer::default(),
        price_mode: reji::tax::PriceMode::Inclusive,
        rounding: reji::tax::Rounding::Down,
        discount: None,
        dining: None,
    }
}
