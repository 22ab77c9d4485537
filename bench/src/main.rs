//! `reji-bench`: Reji's hot paths side by side with the nearest real reference, in one run (issue 9).
//!
//! ```text
//! cargo build --release --bins && cargo run --release --bin reji-bench            # full run
//! cargo run --bin reji-bench -- --quick                                           # small N (CI)
//! reji-bench [--quick] [--json FILE] [--only export,search,charge,ledger,qr,tracker,pdf,catalog,tenders,printing] [--db FILE] [--rows N]
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

// One file per row, run in their numbered order by `run`.
mod catalog;
mod charge;
mod export;
mod ledger;
mod pdf;
mod printing;
mod qr;
mod search;
mod tenders;
mod tracker;

use charge::*;
use export::*;
use ledger::*;
use pdf::*;
use qr::*;

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
                        "usage: reji-bench [--quick] [--json FILE] [--only export,search,charge,ledger,qr,tracker,pdf,catalog,tenders,printing] \
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

/// Removes a SQLite file left by an earlier run, with its WAL and shared-memory files.
fn remove_sqlite(path: &Path) {
    for f in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{f}", path.display()));
    }
}

/// A register on a new ledger file at `path` (the system clock) and a current-thread runtime for
/// its async calls.
fn fresh_register(path: &Path) -> Res<(Register, tokio::runtime::Runtime)> {
    remove_sqlite(path);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let reg = Register::new(Ledger::open(path)?, None, Arc::new(SystemClock))?;
    Ok((reg, rt))
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

    // The rows in their numbered order (row 5, the desktop app, is scripts/bench-desktop).
    if opts.wants("export") {
        rows.extend(bench_export(&opts, &sizes, tmp.path())?);
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
    // Row 7 searches the ledger row 1 seeded (or seeds it).
    if opts.wants("search") {
        let db = opts
            .db
            .clone()
            .unwrap_or_else(|| tmp.path().join("export.sqlite"));
        let n = opts.rows.unwrap_or(sizes.export_rows);
        rows.extend(search::bench_search(opts.quick, &db, n)?);
    }
    if opts.wants("pdf") {
        rows.extend(bench_pdf(&sizes)?);
    }
    if opts.wants("catalog") {
        rows.extend(catalog::bench_catalog(opts.quick, tmp.path())?);
    }
    if opts.wants("tenders") {
        rows.extend(tenders::bench_tenders(opts.quick, tmp.path())?);
    }
    if opts.wants("printing") {
        rows.extend(printing::bench_printing(opts.quick, tmp.path())?);
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
                product_id: None,
                discount: 0,
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
        discount: None,
        dining: None,
    }
}
