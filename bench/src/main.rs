//! `reji-bench`: Reji's hot paths side by side with the nearest real reference, in one run (issue 9).
//!
//! ```text
//! cargo build --release --bins && cargo run --release --bin reji-bench            # full run
//! cargo run --bin reji-bench -- --quick                                           # small N (CI)
//! reji-bench [--quick] [--json FILE] [--only export,search,charge,ledger,qr,tracker,pdf] [--db FILE] [--rows N]
//! ```
//!
//! Rows (see docs/benchmarks.md):
//! 1. CSV export: `reji export` (the real binary next to this one, as a subprocess) vs `sqlite3 -csv`
//!    running the same SELECT on the same seeded ledger; rows/s and peak RSS (`/usr/bin/time -v`).
//! 2. Charge overhead: `Register::charge` → QR SVG, minus the fake KOMOJU's API time measured on the
//!    wire by a byte-forwarding proxy; fake at 0 ms and 150 ms injected latency.
//! 3. Ledger write path: `create_invoice` + `transition` vs a bare INSERT; WAL writer/reader check.
//! 4. QR render: SVG and terminal vs the bare `qrcode` encode.
//! 7. History search (`reji-bench/search.rs`): date / amount / counterparty / combined on the row-1
//!    ledger, p99 per kind, next to the same query without the counterparty index.
//! 8. Receipt PDF: one till receipt as an 80 mm roll PDF vs a PDF of one word in the same font.
//! 6. Payment tracker (`reji-bench/tracker.rs`): fast-lane latency and request rate vs a 3 s poll,
//!    slow-lane requests per pass for both feeds, catch-up after a three-day closure.
//!
//! The numbers are never judged here: the table marks goals met or missed, the exit code is 0 unless a
//! measurement could not be made at all.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reji::clock::SystemClock;
use reji::fake::{FakeConfig, FakeControl, FakeKomoju, FaultSpec};
use reji::invoice::{Customer, Draft, InvoiceNumber, LineItem};
use reji::komoju::{Client, RetryPolicy};
use reji::ledger::{Filter, Ledger, MoveFacts, EXPORT_ORDER, EXPORT_SELECT};
use reji::money::Currency;
use reji::register::{ChargeRequest, Register};
use reji::status::{InvoiceStatus, MoveKind};
use reji::tax::{PriceMode, Rounding, TaxRate};
use rusqlite::params;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// Row 6 (the payment tracker) lives in its own file.

mod tracker;
// Row 7 (history search) too.

mod search;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = Result<T, BoxError>;

// ---- command line ------------------------------------------------------------------------------

struct Opts {
    quick: bool,
    json: Option<PathBuf>,
    only: Option<Vec<String>>,
    db: Option<PathBuf>,
    rows: Option<u64>,
}

impl Opts {
    fn parse() -> Res<Opts> {
        let mut o = Opts {
            quick: false,
            json: None,
            only: None,
            db: None,
            rows: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .ok_or_else(|| BoxError::from(format!("{name} needs a value")))
            };
            match a.as_str() {
                "--quick" => o.quick = true,
                "--json" => o.json = Some(value("--json")?.into()),
                "--only" => {
                    o.only = Some(
                        value("--only")?
                            .split(',')
                            .map(|s| s.trim().to_string())
                            .collect(),
                    )
                }
                "--db" => o.db = Some(value("--db")?.into()),
                "--rows" => o.rows = Some(value("--rows")?.parse()?),
                "-h" | "--help" => {
                    println!(
                        "usage: reji-bench [--quick] [--json FILE] [--only export,search,charge,ledger,qr,tracker,pdf] \
                         [--db FILE (reuse/keep the seeded export ledger)] [--rows N]"
                    );
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument {other:?} (try --help)").into()),
            }
        }
        Ok(o)
    }

    fn wants(&self, section: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|v| v.iter().any(|s| s == section))
    }
}

/// Sizes for the full run and `--quick`.
struct Sizes {
    export_rows: u64,
    export_repeats: usize,
    charges: usize,
    ledger_writes: usize,
    concurrency: Duration,
    qr_calls: usize,
    pdf_calls: usize,
}

impl Sizes {
    fn new(quick: bool) -> Sizes {
        if quick {
            Sizes {
                export_rows: 2_000,
                export_repeats: 1,
                charges: 50,
                ledger_writes: 300,
                concurrency: Duration::from_secs(2),
                qr_calls: 50,
                pdf_calls: 12,
            }
        } else {
            Sizes {
                export_rows: 1_000_000,
                export_repeats: 3,
                charges: 1_000,
                ledger_writes: 5_000,
                concurrency: Duration::from_secs(10),
                qr_calls: 2_000,
                pdf_calls: 500,
            }
        }
    }
}

// ---- results -----------------------------------------------------------------------------------

#[derive(Serialize, Clone, Debug)]
struct Row {
    /// Issue 9 row number ("1", "2", …) or a later issue's section.
    section: String,
    what: String,
    value: Option<f64>,
    unit: String,
    reference: String,
    reference_value: Option<f64>,
    /// `value / reference_value`, oriented as stated in `ratio_means`.
    ratio: Option<f64>,
    ratio_means: String,
    goal: String,
    /// None: no goal, or not measured.
    met: Option<bool>,
    note: String,
}

impl Row {
    fn new(section: &str, what: &str) -> Row {
        Row {
            section: section.into(),
            what: what.into(),
            value: None,
            unit: String::new(),
            reference: String::new(),
            reference_value: None,
            ratio: None,
            ratio_means: String::new(),
            goal: "-".into(),
            met: None,
            note: String::new(),
        }
    }
    fn value(mut self, v: f64, unit: &str) -> Row {
        self.value = Some(v);
        self.unit = unit.into();
        self
    }
    fn reference(mut self, name: &str, v: Option<f64>) -> Row {
        self.reference = name.into();
        self.reference_value = v;
        self
    }
    fn ratio(mut self, r: Option<f64>, means: &str) -> Row {
        self.ratio = r.filter(|r| r.is_finite());
        self.ratio_means = means.into();
        self
    }
    fn goal(mut self, goal: &str, met: Option<bool>) -> Row {
        self.goal = goal.into();
        self.met = met;
        self
    }
    fn note(mut self, n: impl Into<String>) -> Row {
        self.note = n.into();
        self
    }
}

#[derive(Serialize)]
struct Report {
    mode: &'static str,
    date: String,
    commit: String,
    machine: Machine,
    build: &'static str,
    rows: Vec<Row>,
}

#[derive(Serialize)]
struct Machine {
    cpu: String,
    cores: usize,
    memory_mib: u64,
    kernel: String,
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let cores = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let memory_mib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    Machine {
        cpu,
        cores,
        memory_mib,
        kernel,
    }
}

fn git_commit() -> String {
    Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .map(|c| {
            let dirty = Command::new("git")
                .args(["status", "--porcelain", "--untracked-files=no"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .output()
                .map(|o| !o.stdout.is_empty())
                .unwrap_or(false);
            if dirty {
                format!("{c}+dirty")
            } else {
                c
            }
        })
        .unwrap_or_else(|| "unknown".into())
}

fn fmt_num(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 100_000.0 {
        // Thousands separators for big rates.
        let s = format!("{:.0}", v);
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        out
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn table(rows: &[Row]) -> String {
    let head = [
        "#",
        "Measurement",
        "Reji",
        "Reference",
        "Ref. value",
        "Ratio",
        "Goal",
        "Met",
    ];
    let cells: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                r.section.clone(),
                r.what.clone(),
                r.value
                    .map(|v| format!("{} {}", fmt_num(v), r.unit))
                    .unwrap_or_else(|| "not yet measured".into()),
                r.reference.clone(),
                r.reference_value.map(fmt_num).unwrap_or_default(),
                r.ratio
                    .map(|x| format!("{x:.2}× {}", r.ratio_means))
                    .unwrap_or_default(),
                r.goal.clone(),
                match r.met {
                    Some(true) => "yes".into(),
                    Some(false) => "NO".into(),
                    None => "-".into(),
                },
            ]
        })
        .collect();
    let mut out = String::new();
    let line = |c: &[String]| format!("| {} |\n", c.join(" | "));
    out.push_str(&line(&head.map(String::from)));
    out.push_str(&line(&head.map(|_| "---".to_string())));
    for c in &cells {
        out.push_str(&line(c));
    }
    let notes: Vec<&Row> = rows.iter().filter(|r| !r.note.is_empty()).collect();
    if !notes.is_empty() {
        out.push('\n');
        for r in notes {
            let _ = writeln!(out, "- {} {}: {}", r.section, r.what, r.note);
        }
    }
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

// ---- main --------------------------------------------------------------------------------------

fn main() {
    match run() {
        Ok(()) => {}
        Err(e) => {
            eprintln!("reji-bench: {e}");
            std::process::exit(1);
        }
    }
}

fn run() -> Res<()> {
    let opts = Opts::parse()?;
    let sizes = Sizes::new(opts.quick);
    let tmp = tempdir()?;
    let mut rows = Vec::new();
    let started = Instant::now();
    eprintln!(
        "reji-bench: {} mode, scratch dir {}",
        if opts.quick { "quick" } else { "full" },
        tmp.path().display()
    );

    if opts.wants("export") {
        rows.extend(bench_export(&opts, &sizes, tmp.path())?);
    }
    if opts.wants("search") {
        let db = opts
            .db
            .clone()
            .unwrap_or_else(|| tmp.path().join("export.sqlite"));
        let n = opts.rows.unwrap_or(sizes.export_rows);
        rows.extend(search::bench_search(opts.quick, &db, n)?);
    }
    if opts.wants("charge") {
        rows.extend(bench_charge(&sizes, tmp.path())?);
    }
    if opts.wants("ledger") {
        rows.extend(bench_ledger(&sizes, tmp.path())?);
    }
    if opts.wants("qr") {
        rows.extend(bench_qr(&sizes)?);
    }
    if opts.wants("tracker") {
        rows.extend(tracker::bench_tracker(opts.quick, tmp.path())?);
    }
    if opts.wants("pdf") {
        rows.extend(bench_pdf(&sizes)?);
    }
    // Row 5 (the desktop app) is measured by scripts/bench-desktop: it needs the release desktop
    // build, Xvfb and tauri-driver (docs/benchmarks.md).

    let report = Report {
        mode: if opts.quick { "quick" } else { "full" },
        date: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        commit: git_commit(),
        machine: machine(),
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        rows,
    };
    let m = &report.machine;
    println!(
        "reji-bench {} ({} build) · {} · commit {} · {} × {} · {} MiB RAM · took {:.0} s\n",
        report.mode,
        report.build,
        report.date,
        report.commit,
        m.cores,
        m.cpu,
        m.memory_mib,
        started.elapsed().as_secs_f64()
    );
    print!("{}", table(&report.rows));
    if let Some(path) = &opts.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")?;
        eprintln!("reji-bench: wrote {}", path.display());
    }
    Ok(())
}

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir() -> Res<TempDir> {
    let base = std::env::temp_dir();
    let mut rng = rand::thread_rng();
    for _ in 0..100 {
        let p = base.join(format!("reji-bench-{:08x}", rng.gen::<u32>()));
        if std::fs::create_dir(&p).is_ok() {
            return Ok(TempDir(p));
        }
    }
    Err("could not create a scratch directory".into())
}

// ---- fixture data ------------------------------------------------------------------------------

const FAMILY: &[(&str, &str)] = &[
    ("佐藤", "サトウ"),
    ("鈴木", "スズキ"),
    ("高橋", "タカハシ"),
    ("田中", "タナカ"),
    ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"),
    ("山本", "ヤマモト"),
    ("中村", "ナカムラ"),
    ("小林", "コバヤシ"),
    ("加藤", "カトウ"),
    ("吉田", "ヨシダ"),
    ("山田", "ヤマダ"),
    ("佐々木", "ササキ"),
    ("山口", "ヤマグチ"),
    ("松本", "マツモト"),
    ("井上", "イノウエ"),
    ("木村", "キムラ"),
    ("林", "ハヤシ"),
    ("斎藤", "サイトウ"),
    ("清水", "シミズ"),
    ("髙橋", "タカハシ"),
    ("齋藤", "サイトウ"),
];

const GIVEN: &[(&str, &str, &str)] = &[
    ("太郎", "タロウ", "taro"),
    ("花子", "ハナコ", "hanako"),
    ("翔太", "ショウタ", "shota"),
    ("陽菜", "ヒナ", "hina"),
    ("蓮", "レン", "ren"),
    ("結衣", "ユイ", "yui"),
    ("大翔", "ヒロト", "hiroto"),
    ("さくら", "サクラ", "sakura"),
    ("健一", "ケンイチ", "kenichi"),
    ("美咲", "ミサキ", "misaki"),
    ("誠", "マコト", "makoto"),
    ("由美子", "ユミコ", "yumiko"),
];

const ROMAJI_FAMILY: &[&str] = &[
    "sato",
    "suzuki",
    "takahashi",
    "tanaka",
    "ito",
    "watanabe",
    "yamamoto",
    "nakamura",
    "kobayashi",
    "kato",
    "yoshida",
    "yamada",
    "sasaki",
    "yamaguchi",
    "matsumoto",
    "inoue",
    "kimura",
    "hayashi",
    "saito",
    "shimizu",
    "takahashi",
    "saito",
];

/// (name, unit price tax-inclusive, rate)
const PRODUCTS: &[(&str, i64, TaxRate)] = &[
    ("コーヒー", 480, TaxRate::Reduced),
    ("カフェラテ", 550, TaxRate::Reduced),
    ("抹茶ラテ", 580, TaxRate::Reduced),
    ("クロワッサン", 280, TaxRate::Reduced),
    ("塩パン", 180, TaxRate::Reduced),
    ("季節のケーキ", 620, TaxRate::Reduced),
    ("紙袋", 10, TaxRate::Standard),
    ("マグカップ", 1_650, TaxRate::Standard),
    ("コーヒー豆 200g", 1_980, TaxRate::Reduced),
    ("ドリップバッグ 5袋", 900, TaxRate::Reduced),
    ("トートバッグ", 2_200, TaxRate::Standard),
    ("ギフトカード", 3_000, TaxRate::Standard),
    ("お買い上げ", 5_500, TaxRate::Standard),
];

const STORES: &[&str] = &[
    "seven-eleven",
    "lawson",
    "family-mart",
    "ministop",
    "daily-yamazaki",
];

fn alnum(rng: &mut StdRng, n: usize) -> String {
    const A: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..n)
        .map(|_| A[rng.gen_range(0..A.len())] as char)
        .collect()
}

fn digits(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

fn random_customer(rng: &mut StdRng) -> Customer {
    if rng.gen_bool(0.25) {
        // Walk-in customer: nothing known.
        return Customer::default();
    }
    let f = rng.gen_range(0..FAMILY.len());
    let (fam, fam_kana) = FAMILY[f];
    let (given, given_kana, given_romaji) = GIVEN[rng.gen_range(0..GIVEN.len())];
    let email = format!(
        "{}.{}{}@example.jp",
        given_romaji,
        ROMAJI_FAMILY[f],
        rng.gen_range(1..999)
    );
    let phone = match rng.gen_range(0..10) {
        0 => Some(format!("+81 90 {} {}", digits(rng, 4), digits(rng, 4))),
        1..=5 => Some(format!("090-{}-{}", digits(rng, 4), digits(rng, 4))),
        _ => None,
    };
    Customer {
        name: Some(format!("{fam} {given}")),
        name_kana: Some(format!("{fam_kana} {given_kana}")),
        email: Some(email),
        phone,
    }
}

fn random_lines(rng: &mut StdRng) -> Vec<LineItem> {
    let n = match rng.gen_range(0..10) {
        0..=3 => 1,
        4..=7 => 2,
        _ => 3,
    };
    (0..n)
        .map(|_| {
            let (name, price, rate) = PRODUCTS[rng.gen_range(0..PRODUCTS.len())];
            LineItem {
                name: name.into(),
                unit_price: price,
                quantity: rng.gen_range(1..4),
                tax_rate: rate,
            }
        })
        .collect()
}

fn draft(rng: &mut StdRng) -> Draft {
    Draft {
        currency: Currency::JPY,
        lines: random_lines(rng),
        customer: random_customer(rng),
        price_mode: PriceMode::default(),
        rounding: Rounding::default(),
    }
}

// ---- row 1: CSV export -------------------------------------------------------------------------

/// Seeds `n` paid invoices through the real schema (opened with `Ledger::open`), in one transaction
/// with prepared statements. Every invoice has 1–3 line items at mixed rates, 1 or 2 attempts (each
/// with its stored create request), one captured payment (card, konbini, PayPay, …) and two events.
fn seed_ledger(path: &Path, n: u64) -> Res<Duration> {
    let t0 = Instant::now();
    let ledger = Ledger::open(path)?;
    let ledger_id = ledger.ledger_id().to_string();
    let conn = ledger.connection();
    // Fixture loading only: no WAL copy of a multi-GB transaction, no fsync.
    let _: String = conn.query_row("PRAGMA journal_mode=MEMORY", [], |r| r.get(0))?;
    conn.execute_batch("PRAGMA synchronous=OFF; PRAGMA cache_size=-262144;")?;
    let mut rng = StdRng::seed_from_u64(9);
    let start = Utc
        .with_ymd_and_hms(2024, 1, 4, 0, 0, 0)
        .single()
        .ok_or("date")?;
    let span_ms: i64 = 3 * 365 * 24 * 3600 * 1000;
    let step = span_ms / n.max(1) as i64;
    let tz = chrono_tz::Asia::Tokyo;
    {
        let tx = conn.unchecked_transaction()?;
        let mut ins_inv = tx.prepare(
            "INSERT INTO invoices(id, number, created_at, status, currency, amount, tax_10, tax_8, gross_10,
                gross_8, price_mode, rounding, customer_name, customer_name_kana, customer_email, customer_phone,
                methods, locale, expires_in, paid_at, refunded_amount, updated_at)
             VALUES (?1, ?2, ?3, 'paid', 'JPY', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, '', NULL, 3600,
                ?15, 0, ?15)",
        )?;
        let mut ins_line = tx.prepare(
            "INSERT INTO line_items(invoice_id, position, name, unit_price, quantity, tax_rate)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        let mut ins_req = tx.prepare(
            "INSERT INTO api_requests(invoice_id, kind, path, idempotency_key, body, created_at, completed_at,
                outcome)
             VALUES (?1, 'create_session', '/sessions', ?2, ?3, ?4, ?4, 'ok')",
        )?;
        let mut ins_att = tx.prepare(
            "INSERT INTO session_attempts(invoice_id, attempt, external_order_num, request_id, session_id,
                session_url, session_status, session_expired, session_created_at, deadline, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?9)",
        )?;
        let mut ins_pay = tx.prepare(
            "INSERT INTO payments(id, invoice_id, session_id, status, payment_type, amount, currency, fee,
                amount_refunded, details, refund_requests, payment_deadline, created_at, captured_at, updated_at)
             VALUES (?1, ?2, ?3, 'captured', ?4, ?5, 'JPY', ?6, 0, ?7, '[]', ?8, ?9, ?10, ?10)",
        )?;
        let mut ins_ev = tx.prepare(
            "INSERT INTO events(invoice_id, at, kind, from_status, to_status, cause, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        let mut counters: std::collections::BTreeMap<i32, u32> = Default::default();
        for i in 0..n {
            let id = i as i64 + 1;
            let created = start
                + chrono::Duration::milliseconds(step * i as i64 + rng.gen_range(0..step.max(1)));
            let year = created.with_timezone(&tz).year();
            let seq = counters.entry(year).or_insert(0);
            *seq += 1;
            let number = InvoiceNumber::new(year, *seq);
            let d = draft(&mut rng);
            let b = d.breakdown()?;
            let created_s = reji::ledger::ts(created);
            let paid = created + chrono::Duration::seconds(rng.gen_range(20..600));
            let paid_s = reji::ledger::ts(paid);
            let c = &d.customer;
            ins_inv.execute(params![
                id,
                number.as_str(),
                created_s,
                b.total,
                b.tax_at(TaxRate::Standard),
                b.tax_at(TaxRate::Reduced),
                b.gross_at(TaxRate::Standard),
                b.gross_at(TaxRate::Reduced),
                d.price_mode.as_str(),
                d.rounding.as_str(),
                c.name,
                c.name_kana,
                c.email,
                c.phone,
                paid_s,
            ])?;
            for (pos, l) in d.lines.iter().enumerate() {
                ins_line.execute(params![
                    id,
                    pos as i64,
                    l.name,
                    l.unit_price,
                    l.quantity,
                    l.tax_rate.percent()
                ])?;
            }
            let attempts = if rng.gen_bool(0.1) { 2 } else { 1 };
            let mut session_id = String::new();
            for a in 1..=attempts {
                let eon = reji::invoice::external_order_num(&ledger_id, &number, a);
                let body = format!(
                    r#"{{"mode":"payment","amount":{},"currency":"JPY","expires_in_seconds":3600,"payment_data":{{"external_order_num":"{eon}","capture":"auto"}},"default_locale":"ja","metadata":{{"invoice_number":"{}","ledger_id":"{ledger_id}","attempt":{a}}}}}"#,
                    b.total,
                    number.as_str()
                );
                ins_req.execute(params![
                    id,
                    format!("reji-{}", alnum(&mut rng, 32)),
                    body,
                    created_s
                ])?;
                let req_id = tx.last_insert_rowid();
                session_id = alnum(&mut rng, 25);
                let last = a == attempts;
                ins_att.execute(params![
                    id,
                    a,
                    eon,
                    req_id,
                    session_id,
                    format!("https://komoju.com/sessions/{session_id}"),
                    if last { "completed" } else { "pending" },
                    !last,
                    created_s,
                    reji::ledger::ts(created + chrono::Duration::seconds(3600)),
                ])?;
            }
            let (ptype, fee, details) = match rng.gen_range(0..100) {
                0..=44 => (
                    "credit_card",
                    0,
                    format!(
                        r#"{{"type":"credit_card","brand":"visa","last_four_digits":"{}","month":12,"year":2029}}"#,
                        digits(&mut rng, 4)
                    ),
                ),
                45..=69 => ("paypay", 0, r#"{"type":"paypay"}"#.to_string()),
                70..=89 => {
                    let store = STORES[rng.gen_range(0..STORES.len())];
                    (
                        "konbini",
                        190,
                        format!(
                            r#"{{"type":"konbini","store":"{store}","receipt":"{}","confirmation_code":"{}"}}"#,
                            digits(&mut rng, 13),
                            alnum(&mut rng, 8)
                        ),
                    )
                }
                90..=94 => ("linepay", 0, r#"{"type":"linepay"}"#.to_string()),
                _ => ("rakutenpay", 0, r#"{"type":"rakutenpay"}"#.to_string()),
            };
            let deadline =
                (ptype == "konbini").then(|| reji::ledger::ts(created + chrono::Duration::days(3)));
            ins_pay.execute(params![
                alnum(&mut rng, 25),
                id,
                session_id,
                ptype,
                b.total,
                fee,
                details,
                deadline,
                created_s,
                paid_s,
            ])?;
            ins_ev.execute(params![
                id,
                created_s,
                "created",
                None::<String>,
                "pending",
                "staff:charge",
                None::<String>
            ])?;
            ins_ev.execute(params![
                id,
                paid_s,
                "status",
                "pending",
                "paid",
                format!("komoju:payment:{ptype}:captured"),
                None::<String>
            ])?;
        }
        for (year, last) in counters {
            tx.execute(
                "INSERT INTO invoice_counters(year, last) VALUES (?1, ?2)
                 ON CONFLICT(year) DO UPDATE SET last = excluded.last",
                params![year, last],
            )?;
        }
        drop((ins_inv, ins_line, ins_req, ins_att, ins_pay, ins_ev));
        tx.commit()?;
    }
    let _: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    drop(ledger);
    Ok(t0.elapsed())
}

fn invoice_count(path: &Path) -> Option<u64> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    conn.query_row("SELECT COUNT(*) FROM invoices", [], |r| r.get::<_, i64>(0))
        .ok()
        .map(|c| c as u64)
}

struct ProcRun {
    secs: f64,
    peak_rss_kib: u64,
    bytes: u64,
}

/// Runs `cmd` under `/usr/bin/time -v` with stdout to `stdout_file` (if any); wall time measured here,
/// peak RSS from time's "Maximum resident set size".
fn timed(
    program: &Path,
    args: &[&str],
    stdout_file: Option<&Path>,
    out_file: &Path,
) -> Res<(ProcRun, String)> {
    let _ = std::fs::remove_file(out_file);
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-v").arg(program).args(args);
    cmd.stdin(Stdio::null()).stderr(Stdio::piped());
    cmd.env_remove("REJI_DB");
    match stdout_file {
        Some(f) => cmd.stdout(std::fs::File::create(f)?),
        None => cmd.stdout(Stdio::null()),
    };
    let t0 = Instant::now();
    let out = cmd
        .output()
        .map_err(|e| format!("running /usr/bin/time {}: {e}", program.display()))?;
    let secs = t0.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Err(format!("{} {:?} failed: {stderr}", program.display(), args).into());
    }
    let peak_rss_kib = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or("no 'Maximum resident set size' in /usr/bin/time -v output")?;
    let bytes = std::fs::metadata(out_file).map(|m| m.len()).unwrap_or(0);
    Ok((
        ProcRun {
            secs,
            peak_rss_kib,
            bytes,
        },
        stderr,
    ))
}

fn reji_binary() -> Res<PathBuf> {
    let me = std::env::current_exe()?;
    let dir = me.parent().ok_or("no directory for the bench binary")?;
    let reji = dir.join(format!("reji{}", std::env::consts::EXE_SUFFIX));
    if !reji.exists() {
        return Err(format!(
            "{} not found: build it first (`cargo build --release --bins`, or without --release for a debug bench)",
            reji.display()
        )
        .into());
    }
    if let (Ok(a), Ok(b)) = (
        std::fs::metadata(&reji).and_then(|m| m.modified()),
        std::fs::metadata(&me).and_then(|m| m.modified()),
    ) {
        if a + Duration::from_secs(3600) < b {
            eprintln!(
                "reji-bench: warning: {} is much older than reji-bench; rebuild with `cargo build --bins`",
                reji.display()
            );
        }
    }
    Ok(reji)
}

fn bench_export(opts: &Opts, sizes: &Sizes, tmp: &Path) -> Res<Vec<Row>> {
    let n = opts.rows.unwrap_or(sizes.export_rows);
    let reji = reji_binary()?;
    let db = opts.db.clone().unwrap_or_else(|| tmp.join("export.sqlite"));
    let seed_note = if invoice_count(&db) == Some(n) {
        eprintln!(
            "reji-bench: export: reusing {} ({n} invoices)",
            db.display()
        );
        "seeded ledger reused".to_string()
    } else {
        if db.exists() {
            return Err(format!(
                "{} exists but does not hold {n} invoices; remove it or choose another --db",
                db.display()
            )
            .into());
        }
        eprintln!("reji-bench: export: seeding {n} paid invoices …");
        let t = seed_ledger(&db, n)?;
        let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
        eprintln!(
            "reji-bench: export: seeded in {:.1} s ({:.0} invoices/s), {:.0} MiB",
            t.as_secs_f64(),
            n as f64 / t.as_secs_f64(),
            size as f64 / 1048576.0
        );
        format!(
            "seeding {} invoices (+ lines, attempts, requests, payments, events) took {:.1} s, ledger {:.0} MiB",
            n,
            t.as_secs_f64(),
            size as f64 / 1048576.0
        )
    };
    let db_s = db.to_str().ok_or("non-UTF-8 path")?.to_string();
    let sql = format!("{EXPORT_SELECT} ORDER BY {EXPORT_ORDER}");
    let out_sqlite = tmp.join("sqlite3.csv");
    let out_bom = tmp.join("reji-utf8bom.csv");
    let out_cp932 = tmp.join("reji-cp932.csv");
    let (mut best_sq, mut best_bom, mut best_cp): (
        Option<ProcRun>,
        Option<ProcRun>,
        Option<ProcRun>,
    ) = (None, None, None);
    let keep_best = |best: &mut Option<ProcRun>, r: ProcRun| {
        let rss = best
            .as_ref()
            .map_or(0, |b| b.peak_rss_kib)
            .max(r.peak_rss_kib);
        if best.as_ref().is_none_or(|b| r.secs < b.secs) {
            *best = Some(r);
        }
        if let Some(b) = best {
            b.peak_rss_kib = rss;
        }
    };
    // Warm the page cache once so that the first measured process does not pay for the disk.
    let _ = timed(
        Path::new("sqlite3"),
        &[
            &db_s,
            "SELECT COUNT(*), SUM(length(body)) FROM api_requests",
        ],
        None,
        &out_sqlite,
    );
    for round in 0..sizes.export_repeats {
        eprintln!(
            "reji-bench: export: round {}/{}",
            round + 1,
            sizes.export_repeats
        );
        let (r, _) = timed(
            Path::new("sqlite3"),
            &["-csv", "-header", &db_s, &sql],
            Some(&out_sqlite),
            &out_sqlite,
        )?;
        keep_best(&mut best_sq, r);
        for (enc, out, best) in [
            ("utf-8-bom", &out_bom, &mut best_bom),
            ("cp932", &out_cp932, &mut best_cp),
        ] {
            let out_s = out.to_str().ok_or("non-UTF-8 path")?;
            let (r, stderr) = timed(
                &reji,
                &["export", "--db", &db_s, "--encoding", enc, "--out", out_s],
                None,
                out,
            )?;
            if !stderr.contains(&format!("exported {n} invoices")) {
                return Err(
                    format!("reji export ({enc}) did not export {n} invoices: {stderr}").into(),
                );
            }
            keep_best(best, r);
        }
    }
    let (sq, bom, cp) = (
        best_sq.ok_or("no sqlite3 run")?,
        best_bom.ok_or("no utf-8-bom run")?,
        best_cp.ok_or("no cp932 run")?,
    );
    let sq_rate = n as f64 / sq.secs;
    let mib = |kib: u64| kib as f64 / 1024.0;
    let mut rows = Vec::new();
    for (label, r, goal_ratio) in [("utf-8-bom", &bom, 0.8), ("cp932", &cp, 0.6)] {
        let rate = n as f64 / r.secs;
        let ratio = rate / sq_rate;
        rows.push(
            Row::new("1", &format!("CSV export {label}, {n} invoices"))
                .value(rate, "rows/s")
                .reference("sqlite3 -csv, same SELECT, same file (rows/s)", Some(sq_rate))
                .ratio(Some(ratio), "of sqlite3")
                .goal(&format!("≥ {goal_ratio}× sqlite3"), Some(ratio >= goal_ratio))
                .note(format!(
                    "best of {} runs: reji {:.2} s, sqlite3 {:.2} s; output {:.0} MiB (sqlite3 {:.0} MiB)",
                    sizes.export_repeats,
                    r.secs,
                    sq.secs,
                    r.bytes as f64 / 1048576.0,
                    sq.bytes as f64 / 1048576.0
                )),
        );
        rows.push(
            Row::new("1", &format!("CSV export {label}: peak RSS"))
                .value(mib(r.peak_rss_kib), "MiB")
                .reference("sqlite3 peak RSS (MiB)", Some(mib(sq.peak_rss_kib)))
                .ratio(
                    Some(r.peak_rss_kib as f64 / sq.peak_rss_kib.max(1) as f64),
                    "of sqlite3",
                )
                .goal("≤ 64 MiB", Some(mib(r.peak_rss_kib) <= 64.0))
                .note("max over all runs, /usr/bin/time -v \"Maximum resident set size\""),
        );
    }
    if let Some(r) = rows.first_mut() {
        r.note = format!("{}; {seed_note}", r.note);
    }
    Ok(rows)
}

// ---- row 2: charge overhead --------------------------------------------------------------------

/// What the wire proxy saw since the last reset: the first request byte from Reji and the last
/// response byte back to it.
#[derive(Default)]
struct Wire {
    first_request: Option<Instant>,
    last_response: Option<Instant>,
}

/// A byte-forwarding TCP proxy between Reji's HTTP client and the fake: it timestamps the API time
/// (first request byte in → last response byte out) without touching either side.
async fn start_wire_proxy(
    upstream: std::net::SocketAddr,
) -> Res<(std::net::SocketAddr, Arc<Mutex<Wire>>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let wire = Arc::new(Mutex::new(Wire::default()));
    let w = wire.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let w = w.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let w1 = w.clone();
                let up = tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match cr.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        {
                            let mut g = w1.lock().unwrap_or_else(|e| e.into_inner());
                            if g.first_request.is_none() {
                                g.first_request = Some(Instant::now());
                            }
                        }
                        if sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                    let _ = sw.shutdown().await;
                });
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match sr.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    w.lock().unwrap_or_else(|e| e.into_inner()).last_response =
                        Some(Instant::now());
                }
                let _ = cw.shutdown().await;
                up.abort();
            });
        }
    });
    Ok((addr, wire))
}

struct ChargeStats {
    overhead_ms: Vec<f64>,
    api_ms: Vec<f64>,
    total_ms: Vec<f64>,
    /// The WAL file's size after the last charge, and the largest seen after any charge.
    wal_end: u64,
    wal_max: u64,
    /// Checkpoints the ledger's own thread ran (0 where SQLite checkpoints inside commits).
    thread_checkpoints: u64,
    /// Charges over 5 ms of overhead during which the ledger's thread finished a checkpoint.
    slow_with_checkpoint: usize,
    /// For those charges: the part of the overhead before the request reached the wire (the rest
    /// is after the answer: recording it, the view, the QR).
    slow_before_api_ms: Vec<f64>,
    /// The same for every charge.
    before_api_ms: Vec<f64>,
}

/// Where the WAL is checkpointed during a charge run.
#[derive(Clone, Copy, PartialEq)]
enum Checkpoints {
    /// As Reji does: on the ledger's checkpoint thread, off the charge's path.
    Reji,
    /// SQLite's automatic checkpoint inside the commit that crosses 1 000 pages (Reji before
    /// issue 15): the cause being measured.
    InCommit,
    /// No checkpoint at all during the run (the WAL grows): what the charge costs without any.
    Off,
}

fn bench_charge(sizes: &Sizes, tmp: &Path) -> Res<Vec<Row>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut rows = Vec::new();
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    for (latency, mode) in [
        (0u64, Checkpoints::Reji),
        (150, Checkpoints::Reji),
        (0, Checkpoints::InCommit),
        (0, Checkpoints::Off),
        (150, Checkpoints::Off),
    ] {
        let stats = rt.block_on(charge_run(sizes.charges, latency, mode, tmp))?;
        let slow = stats.overhead_ms.iter().filter(|&&o| o > 5.0).count();
        let slow_before = sorted(stats.slow_before_api_ms.clone());
        let all_before = sorted(stats.before_api_ms.clone());
        let o = sorted(stats.overhead_ms);
        let api = sorted(stats.api_ms);
        let total = sorted(stats.total_ms);
        let (p50, p99) = (percentile(&o, 50.0), percentile(&o, 99.0));
        let api50 = percentile(&api, 50.0);
        let what = match mode {
            Checkpoints::Reji => format!(
                "Charge → QR SVG overhead p99, fake +{latency} ms ({} charges)",
                o.len()
            ),
            Checkpoints::InCommit => format!(
                "Cause: the same with SQLite's checkpoint inside the commit (before), fake +{latency} ms ({} charges)",
                o.len()
            ),
            Checkpoints::Off => format!(
                "Cause: the same with no checkpoint at all, fake +{latency} ms ({} charges)",
                o.len()
            ),
        };
        let goal = match mode {
            Checkpoints::Reji => ("p99 ≤ 5 ms", Some(p99 <= 5.0)),
            Checkpoints::InCommit | Checkpoints::Off => ("- (the cause, for comparison)", None),
        };
        rows.push(
            Row::new("2", &what)
                .value(p99, "ms")
                .reference("fake KOMOJU API time on the wire, p50 (ms)", Some(api50))
                .ratio(Some(p99 / api50), "of API time")
                .goal(goal.0, goal.1)
                .note(format!(
                    "overhead p50 {p50:.2} ms, max {:.2} ms, {slow} charges over 5 ms; charge+QR total p50 {:.2} ms, p99 {:.2} ms; API p99 {:.2} ms; WAL {:.1} MiB at the end (largest {:.1} MiB), {} checkpoints on the ledger's thread, {} of the slow charges saw one finish; slow charges spent p50 {:.2} ms before the request reached the wire (all charges {:.2} ms)",
                    o.last().copied().unwrap_or(f64::NAN),
                    percentile(&total, 50.0),
                    percentile(&total, 99.0),
                    percentile(&api, 99.0),
                    mib(stats.wal_end),
                    mib(stats.wal_max),
                    stats.thread_checkpoints,
                    stats.slow_with_checkpoint,
                    if slow_before.is_empty() { f64::NAN } else { percentile(&slow_before, 50.0) },
                    percentile(&all_before, 50.0),
                )),
        );
        if mode == Checkpoints::Reji && latency == 0 {
            rows.push(
                Row::new(
                    "2",
                    &format!("WAL file after {} charges, largest seen", o.len()),
                )
                .value(mib(stats.wal_max), "MiB")
                .reference(
                    "SQLite's bound: 1 000 pages of 4 KiB (MiB)",
                    Some(mib(4096 * 1000)),
                )
                .ratio(
                    Some(stats.wal_max as f64 / (4096.0 * 1000.0)),
                    "of the bound",
                )
                .goal(
                    "bounded (≤ 4 000 pages, where a commit checkpoints itself)",
                    Some(stats.wal_max <= 4096 * 4100),
                )
                .note(format!("{:.1} MiB at the end", mib(stats.wal_end))),
            );
        }
    }
    Ok(rows)
}

async fn charge_run(n: usize, latency_ms: u64, mode: Checkpoints, tmp: &Path) -> Res<ChargeStats> {
    let fake = FakeKomoju::start(FakeConfig {
        events_enabled: false,
        ..FakeConfig::default()
    })
    .await?;
    let control = FakeControl::new(&fake.origin());
    let upstream: std::net::SocketAddr = fake.origin().trim_start_matches("http://").parse()?;
    let (proxy, wire) = start_wire_proxy(upstream).await?;
    if latency_ms > 0 {
        control
            .add_fault(&FaultSpec {
                kind: "latency".into(),
                count: Some(1_000_000),
                latency_ms: Some(latency_ms),
                path_prefix: Some("/api/v1/sessions".into()),
                method: Some("POST".into()),
                ..FaultSpec::default()
            })
            .await?;
    }
    let key = fake.secret_key().parse()?;
    let client = Client::new(
        &format!("http://{proxy}/api/v1"),
        key,
        RetryPolicy::default(),
    )?;
    let db = tmp.join(format!(
        "charge-{latency_ms}-{}.sqlite",
        match mode {
            Checkpoints::Reji => "reji",
            Checkpoints::InCommit => "in-commit",
            Checkpoints::Off => "off",
        }
    ));
    let ledger = Ledger::open(&db)?;
    match mode {
        // Puts SQLite's automatic checkpoint back on the register's connection, or turns it off;
        // either replaces the ledger's WAL hook.
        Checkpoints::InCommit => {
            ledger
                .connection()
                .pragma_update(None, "wal_autocheckpoint", 1000)?
        }
        Checkpoints::Off => ledger
            .connection()
            .pragma_update(None, "wal_autocheckpoint", 0)?,
        Checkpoints::Reji => {}
    }
    let mut reg = Register::new(ledger, Some(client), Arc::new(SystemClock))?;
    let mut rng = StdRng::seed_from_u64(2);
    let warmup = 5.min(n);
    let mut st = ChargeStats {
        overhead_ms: Vec::with_capacity(n),
        api_ms: Vec::with_capacity(n),
        total_ms: Vec::with_capacity(n),
        wal_end: 0,
        wal_max: 0,
        thread_checkpoints: 0,
        slow_with_checkpoint: 0,
        slow_before_api_ms: Vec::new(),
        before_api_ms: Vec::new(),
    };
    for i in 0..n + warmup {
        let d = draft(&mut rng);
        let req = ChargeRequest {
            lines: d.lines,
            customer: d.customer,
            ..ChargeRequest::default()
        };
        *wire.lock().unwrap_or_else(|e| e.into_inner()) = Wire::default();
        let checkpoints_before = reg.ledger().checkpoints_run();
        let t0 = Instant::now();
        let view = reg.charge(req).await?;
        let url = view
            .session_url
            .as_deref()
            .ok_or("charge returned no session_url")?;
        let svg = reji::qr::svg(url)?;
        let total = t0.elapsed();
        std::hint::black_box(svg);
        let (api, before_api) = {
            let g = wire.lock().unwrap_or_else(|e| e.into_inner());
            match (g.first_request, g.last_response) {
                (Some(a), Some(b)) if b >= a => (b - a, a.saturating_duration_since(t0)),
                _ => return Err("the wire proxy saw no API exchange for a charge".into()),
            }
        };
        if i >= warmup {
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            st.total_ms.push(ms(total));
            st.api_ms.push(ms(api));
            let overhead = ms(total.saturating_sub(api));
            st.overhead_ms.push(overhead);
            st.before_api_ms.push(ms(before_api));
            if overhead > 5.0 {
                if reg.ledger().checkpoints_run() > checkpoints_before {
                    st.slow_with_checkpoint += 1;
                }
                st.slow_before_api_ms.push(ms(before_api));
            }
        }
        st.wal_max = st.wal_max.max(reg.ledger().wal_bytes().unwrap_or(0));
    }
    st.wal_end = reg.ledger().wal_bytes().unwrap_or(0);
    st.thread_checkpoints = reg.ledger().checkpoints_run();
    let stats = control.stats().await?;
    let reqs = stats["api_requests"].as_u64().unwrap_or(0);
    if reqs != (n + warmup) as u64 {
        return Err(format!(
            "expected exactly one API request per charge, the fake counted {reqs} for {} charges",
            n + warmup
        )
        .into());
    }
    fake.shutdown().await;
    Ok(st)
}

// ---- row 3: ledger write path ------------------------------------------------------------------

fn create_and_pay(ledger: &mut Ledger, d: &Draft, now: DateTime<Utc>) -> Res<i64> {
    let year = reji::ledger::shop_year(now, chrono_tz::Asia::Tokyo);
    let (inv, _att) = ledger.create_invoice(d, &[], None, 3600, now, year, |num, eon| {
        format!(
            r#"{{"mode":"payment","amount":1000,"currency":"JPY","payment_data":{{"external_order_num":"{eon}"}},"metadata":{{"invoice_number":"{num}"}}}}"#
        )
    })?;
    Ok(inv.id)
}

fn is_locked(s: &str) -> bool {
    s.contains("database is locked")
        || s.contains("database table is locked")
        || s.contains("SQLITE_BUSY")
}

fn bench_ledger(sizes: &Sizes, tmp: &Path) -> Res<Vec<Row>> {
    let n = sizes.ledger_writes;
    let mut rng = StdRng::seed_from_u64(3);
    let drafts: Vec<Draft> = (0..n).map(|_| draft(&mut rng)).collect();

    // Reji: create_invoice (counter, invoice, lines, request, attempt, event) + transition to paid.
    let path = tmp.join("ledger-reji.sqlite");
    let mut ledger = Ledger::open(&path)?;
    let t0 = Instant::now();
    for d in &drafts {
        let now = Utc::now();
        let id = create_and_pay(&mut ledger, d, now)?;
        let m = ledger.transition(
            id,
            InvoiceStatus::Paid,
            MoveKind::Komoju,
            "komoju:payment:bench:captured",
            &MoveFacts {
                paid_at: Some(now),
                refunded_amount: Some(0),
            },
            now,
        )?;
        if !matches!(m, reji::ledger::Move::Applied { .. }) {
            return Err(format!("transition not applied: {m:?}").into());
        }
    }
    let reji_rate = n as f64 / t0.elapsed().as_secs_f64();
    drop(ledger);

    // Reference: one bare INSERT per invoice (its own transaction, like each Reji write) into the same
    // schema, same pragmas (a ledger opened the same way).
    let path = tmp.join("ledger-bare.sqlite");
    let ledger = Ledger::open(&path)?;
    let conn = ledger.connection();
    let t0 = Instant::now();
    {
        let mut st = conn.prepare_cached(
            "INSERT INTO invoices(number, created_at, status, currency, amount, tax_10, tax_8, gross_10, gross_8,
                price_mode, rounding, customer_name, customer_name_kana, customer_email, customer_phone, methods,
                locale, expires_in, updated_at)
             VALUES (?1, ?2, 'paid', 'JPY', ?3, 0, 0, 0, 0, 'inclusive', 'down', ?4, ?5, ?6, ?7, '', NULL, 3600, ?2)",
        )?;
        for (i, d) in drafts.iter().enumerate() {
            let c = &d.customer;
            st.execute(params![
                InvoiceNumber::new(2026, i as u32 + 1).as_str(),
                reji::ledger::ts(Utc::now()),
                d.breakdown()?.total,
                c.name,
                c.name_kana,
                c.email,
                c.phone
            ])?;
        }
    }
    let bare_rate = n as f64 / t0.elapsed().as_secs_f64();
    drop(ledger);

    let mut rows = vec![Row::new("3", &format!("Ledger: create_invoice + transition ({n} invoices)"))
        .value(reji_rate, "invoices/s")
        .reference("bare INSERT into invoices, one per transaction (/s)", Some(bare_rate))
        .ratio(Some(reji_rate / bare_rate), "of bare")
        .goal("- (no goal in issue 9)", None)
        .note(
            "file ledger, WAL, synchronous=NORMAL; Reji does 2 transactions (create, CAS) with 7+ statements \
             and 2 read-backs per invoice, the reference 1 statement",
        )];

    // Concurrency: a writer (create + transitions) and a reader (`Ledger::list` on its own connection).
    let path = tmp.join("ledger-wal.sqlite");
    drop(Ledger::open(&path)?);
    let stop = Arc::new(AtomicBool::new(false));
    let locked = Arc::new(AtomicU64::new(0));
    let other_errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let writer = {
        let (path, stop, locked, errs) = (
            path.clone(),
            stop.clone(),
            locked.clone(),
            other_errors.clone(),
        );
        std::thread::spawn(move || -> (u64, u64) {
            let mut ledger = match Ledger::open(&path) {
                Ok(l) => l,
                Err(e) => {
                    errs.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(e.to_string());
                    return (0, 0);
                }
            };
            let mut rng = StdRng::seed_from_u64(4);
            let (mut created, mut moves) = (0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                let d = draft(&mut rng);
                let now = Utc::now();
                let r = create_and_pay(&mut ledger, &d, now).and_then(|id| {
                    created += 1;
                    for to in [InvoiceStatus::AwaitingPayment, InvoiceStatus::Paid] {
                        ledger.transition(
                            id,
                            to,
                            MoveKind::Komoju,
                            "bench",
                            &MoveFacts::default(),
                            now,
                        )?;
                        moves += 1;
                    }
                    Ok(())
                });
                if let Err(e) = r {
                    if is_locked(&e.to_string()) {
                        locked.fetch_add(1, Ordering::Relaxed);
                    } else {
                        errs.lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(e.to_string());
                    }
                }
            }
            (created, moves)
        })
    };
    let reader = {
        let (path, stop, locked, errs) = (
            path.clone(),
            stop.clone(),
            locked.clone(),
            other_errors.clone(),
        );
        std::thread::spawn(move || -> (u64, Vec<f64>) {
            let ledger = match Ledger::open(&path) {
                Ok(l) => l,
                Err(e) => {
                    errs.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(e.to_string());
                    return (0, Vec::new());
                }
            };
            let filter = Filter {
                limit: Some(100),
                ..Filter::default()
            };
            let mut lat = Vec::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match ledger.list(&filter) {
                    Ok(v) => {
                        std::hint::black_box(v);
                        n += 1;
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    Err(e) if is_locked(&e.to_string()) => {
                        locked.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => errs
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(e.to_string()),
                }
            }
            (n, lat)
        })
    };
    std::thread::sleep(sizes.concurrency);
    stop.store(true, Ordering::Relaxed);
    let (created, moves) = writer.join().map_err(|_| "writer thread panicked")?;
    let (lists, lat) = reader.join().map_err(|_| "reader thread panicked")?;
    let lat = sorted(lat);
    let locked = locked.load(Ordering::Relaxed);
    let errs = other_errors
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    if !errs.is_empty() {
        return Err(format!(
            "concurrency check: unexpected errors: {:?}",
            &errs[..errs.len().min(3)]
        )
        .into());
    }
    rows.push(
        Row::new(
            "3",
            &format!("WAL: writer + reader for {} s, `database is locked` errors", sizes.concurrency.as_secs()),
        )
        .value(locked as f64, "errors")
        .reference("-", None)
        .goal("0", Some(locked == 0))
        .note(format!(
            "writer: {created} invoices, {moves} transitions; reader: {lists} × Ledger::list (100 newest), \
             p50 {:.2} ms, p99 {:.2} ms",
            percentile(&lat, 50.0),
            percentile(&lat, 99.0)
        )),
    );
    Ok(rows)
}

// ---- row 4: QR render --------------------------------------------------------------------------

fn per_call_us(n: usize, mut f: impl FnMut() -> Res<()>) -> Res<f64> {
    for _ in 0..(n / 10).max(3) {
        f()?;
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f()?;
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    Ok(percentile(&sorted(samples), 50.0))
}

fn bench_qr(sizes: &Sizes) -> Res<Vec<Row>> {
    // A real-length KOMOJU Hosted Page URL.
    let url = "https://komoju.com/sessions/e9x5mvx3jkpkofzcg7umfael6";
    let n = sizes.qr_calls;
    let encode = per_call_us(n, || {
        let c = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)?;
        std::hint::black_box(c);
        Ok(())
    })?;
    let svg = per_call_us(n, || {
        std::hint::black_box(reji::qr::svg(url)?);
        Ok(())
    })?;
    let term = per_call_us(n, || {
        std::hint::black_box(reji::qr::terminal(url)?);
        Ok(())
    })?;
    let mut rows = Vec::new();
    for (what, v) in [("SVG", svg), ("terminal", term)] {
        rows.push(
            Row::new("4", &format!("QR: session URL → {what}, median per call"))
                .value(v, "µs")
                .reference(
                    "bare qrcode encode, same URL and EC level M (µs)",
                    Some(encode),
                )
                .ratio(Some(v / encode), "of encode")
                .goal("- (no goal; inside row 2's 5 ms)", None),
        );
    }
    Ok(rows)
}

/// A till receipt of five lines (both tax rates and an exempt stamp), as the counter prints it.
fn bench_receipt() -> Res<reji::receipt::Receipt> {
    use reji::receipt::{Receipt, SaleFacts, ShopDetails};
    let items = vec![
        LineItem::from_parts("コーヒー豆 エチオピア 200g", 1_620, 2, 8)?,
        LineItem::from_parts("ドリップバッグ 10袋入り", 980, 1, 8)?,
        LineItem::from_parts("マグカップ (白)", 2_200, 1, 10)?,
        LineItem::from_parts("ペーパーフィルター 100枚", 440, 3, 10)?,
        LineItem::from_parts("収入印紙", 200, 1, 0)?,
    ];
    let facts = SaleFacts::ring_up(
        "2026-000123",
        "2026-11-29 10:00",
        items,
        PriceMode::Inclusive,
        Rounding::Down,
        Some("paypay"),
    )?;
    let shop = ShopDetails {
        name: "珈琲 さくら堂".into(),
        registration_number: Some("T7120001168421".into()),
        footer: Some("またのお越しをお待ちしております".into()),
        ..Default::default()
    };
    Ok(Receipt::sale(&facts, &shop, false))
}

/// Row 8: the receipt PDF (layout, font subset, PDF writer) next to the least PDF the same font makes.
fn bench_pdf(sizes: &Sizes) -> Res<Vec<Row>> {
    use reji::receipt::{html, pdf};
    let font = match pdf::PdfFont::load() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("reji-bench: row 8 skipped: {e}");
            return Ok(Vec::new());
        }
    };
    let r = bench_receipt()?;
    let layout = r.layout();
    let n = sizes.pdf_calls;
    // The floor: a PDF holding one word in the same font (font subset, compression, file).
    let one_word = vec![reji::receipt::Block::Title {
        text: "領収書".into(),
    }];
    let floor_us = per_call_us(n, || {
        std::hint::black_box(pdf::render(&one_word, html::Paper::Roll80, &font)?);
        Ok(())
    })?;
    let pdf_us = per_call_us(n, || {
        std::hint::black_box(pdf::render(&layout, html::Paper::Roll80, &font)?);
        Ok(())
    })?;
    let bytes = pdf::render(&layout, html::Paper::Roll80, &font)?.len();
    Ok(vec![Row::new(
        "8",
        &format!(
            "Receipt PDF (80 mm roll, 5 lines, font subset embedded, {bytes} bytes), median per receipt"
        ),
    )
    .value(pdf_us / 1000.0, "ms")
    .reference(
        "a PDF of one word (領収書) in the same font (ms)",
        Some(floor_us / 1000.0),
    )
    .ratio(Some(pdf_us / floor_us), "of one word")
    .goal("- (no goal; printed once per sale)", None)])
}
