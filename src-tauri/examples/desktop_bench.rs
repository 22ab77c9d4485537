//! Benchmark row 5 (docs/benchmarks.md): desktop cold start to first paint and memory, the app next to
//! a minimal Tauri hello window (`examples/hello.rs`) built in the same run. Run by
//! `scripts/bench-desktop` (release builds, Xvfb, a private Secret Service, tauri-driver).
//!
//! For each binary, N launches through tauri-driver + WebKitWebDriver:
//! - **first paint**: the page's `performance.timeOrigin` + its first paint entry (or, where WebKit
//!   reports none, `loadEventEnd`), minus the app process's start time from `/proc` (10 ms ticks);
//! - **memory**: after the window has settled (2 s), the proportional set size (PSS) of the app
//!   process and every process below it (WebKit's web and network processes), summed from
//!   `/proc/*/smaps_rollup` (shared libraries counted once, not once per process).
//!
//! Then (row 9, issue 16) **scan → line through the app**: the demo ledger holds 100 000 products
//! (`--products N`); the page receives a scanner's keystrokes (digits then Enter, dispatched on the
//! document as a USB scanner's keyboard events arrive) and the time runs until the register's total
//! on screen (the DOM) includes the scanned product: the scanner's detection, `product_lookup` and
//! `preview_cart` through Tauri's IPC, and the render. Eight scans per customer, then the cart is
//! cleared; p99 over `--scans` scans. Reference, in the same page and run: the IPC round trip of the
//! smallest command (`app_info`), p99.
//!
//! Prints a table and, with `--json FILE`, the figures. Never judged: docs/benchmarks.md compares.

use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const PORT: u16 = 4444;
const NATIVE_PORT: u16 = 4445;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        // SIGTERM lets tauri-driver stop WebKitWebDriver and the app (SIGKILL would orphan them).
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_port(port: u16, timeout: Duration) -> Res<()> {
    let deadline = Instant::now() + timeout;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(format!("nothing listens on port {port}").into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn proc_stat(pid: u32) -> Option<(u32, u64)> {
    // (ppid, starttime in clock ticks since boot); the command name may hold spaces: split after ')'.
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some((f.get(1)?.parse().ok()?, f.get(19)?.parse().ok()?))
}

fn boot_time_s() -> Res<u64> {
    let s = std::fs::read_to_string("/proc/stat")?;
    let line = s
        .lines()
        .find(|l| l.starts_with("btime "))
        .ok_or("no btime")?;
    Ok(line[6..].trim().parse()?)
}

/// Proportional set size (shared pages divided among the processes sharing them), so a sum over
/// the app's processes counts shared libraries once; RSS where smaps_rollup is missing.
fn pss_kib(pid: u32) -> u64 {
    let field = |file: &str, key: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/{file}"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(key))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            })
    };
    field("smaps_rollup", "Pss:")
        .or_else(|| field("status", "VmRSS:"))
        .unwrap_or(0)
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The app process: the one running `exe`.
fn find_app(exe: &Path) -> Option<u32> {
    all_pids().into_iter().find(|p| {
        std::fs::read_link(format!("/proc/{p}/exe"))
            .map(|e| e == exe)
            .unwrap_or(false)
    })
}

/// Memory (PSS) of `root` and all its descendants, in MiB.
fn tree_rss_mib(root: u32) -> f64 {
    let parents: HashMap<u32, u32> = all_pids()
        .into_iter()
        .filter_map(|p| Some((p, proc_stat(p)?.0)))
        .collect();
    let in_tree = |mut p: u32| loop {
        if p == root {
            return true;
        }
        match parents.get(&p) {
            Some(&pp) if pp > 1 => p = pp,
            _ => return false,
        }
    };
    let mut total = 0;
    let mut parts = Vec::new();
    for p in parents.keys().filter(|p| in_tree(**p)) {
        let k = pss_kib(*p);
        total += k;
        let name = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
        parts.push(format!("{} {:.1}", name.trim(), k as f64 / 1024.0));
    }
    parts.sort();
    eprintln!("desktop-bench:   processes (MiB PSS): {}", parts.join(", "));
    total as f64 / 1024.0
}

async fn wd(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Res<Value> {
    let mut req = http.request(method, url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let v: Value = req.send().await?.json().await?;
    Ok(v["value"].clone())
}

struct Launch {
    first_paint_ms: f64,
    rss_mib: f64,
    how: String,
}

/// tauri-driver started for `exe` on `data_dir` and a WebDriver session in its window.
struct Session {
    _driver: Driver,
    http: reqwest::Client,
    /// The session's URL (`…/session/ID`).
    url: String,
}

impl Session {
    async fn open(exe: &Path, data_dir: &Path) -> Res<Session> {
        let driver = Command::new(tauri_driver())
            .args([
                "--port",
                &PORT.to_string(),
                "--native-port",
                &NATIVE_PORT.to_string(),
            ])
            .env("REJI_DATA_DIR", data_dir)
            .env_remove("REJI_SECRET_KEY")
            .spawn()?;
        let driver = Driver(driver);
        wait_port(PORT, Duration::from_secs(20))?;
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{PORT}");
        let caps =
            json!({"capabilities": {"alwaysMatch": {"tauri:options": {"application": exe}}}});
        let v = wd(
            &http,
            reqwest::Method::POST,
            &format!("{base}/session"),
            Some(caps),
        )
        .await?;
        let sid = v["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session: {v}"))?;
        Ok(Session {
            _driver: driver,
            url: format!("{base}/session/{sid}"),
            http,
        })
    }

    /// POSTs `body` to the session's `path` (`execute/sync`, `timeouts`, …).
    async fn post(&self, path: &str, body: Value) -> Res<Value> {
        wd(
            &self.http,
            reqwest::Method::POST,
            &format!("{}/{path}", self.url),
            Some(body),
        )
        .await
    }

    /// Ends the WebDriver session (the window closes); the driver stops when dropped.
    async fn close(self) {
        let _ = wd(&self.http, reqwest::Method::DELETE, &self.url, None).await;
    }
}

async fn launch_once(exe: &Path, data_dir: &Path) -> Res<Launch> {
    let session = Session::open(exe, data_dir).await?;
    let pid = find_app(exe).ok_or("the app process was not found")?;
    let (_, start_ticks) = proc_stat(pid).ok_or("no /proc stat for the app")?;
    let ticks = 100.0; // USER_HZ on Linux
    let start_ms = (boot_time_s()? as f64 + start_ticks as f64 / ticks) * 1000.0;
    let script = "const p = performance.getEntriesByType('paint'); \
        const fcp = p.find((e) => e.name === 'first-contentful-paint') || p[0]; \
        return [performance.timeOrigin, fcp ? fcp.startTime : null, \
                performance.timing.loadEventEnd, document.readyState];";
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut loaded: Option<Instant> = None;
    let (paint_epoch, how) = loop {
        let v = session
            .post("execute/sync", json!({"script": script, "args": []}))
            .await?;
        let origin = v[0].as_f64().unwrap_or(0.0);
        if let Some(fcp) = v[1].as_f64() {
            break (origin + fcp, "first paint entry");
        }
        // A paint entry comes after the first paint, which may follow the load event: wait for it,
        // and fall back to loadEventEnd only if none comes within 3 s of the load.
        let load_end = v[2].as_f64().unwrap_or(0.0);
        if load_end > 0.0 && v[3] == "complete" {
            let loaded_at = *loaded.get_or_insert_with(Instant::now);
            if loaded_at.elapsed() > Duration::from_secs(3) {
                break (load_end, "loadEventEnd (no paint entry)");
            }
        }
        if Instant::now() > deadline {
            return Err(format!("no paint after 30 s: {v}").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss = tree_rss_mib(pid);
    session.close().await;
    Ok(Launch {
        first_paint_ms: paint_epoch - start_ms,
        rss_mib: rss,
        how: how.into(),
    })
}

/// A valid JAN code for product `i` (prefix 45, the shop's own numbering).
fn jan(i: u64) -> String {
    reji::catalog::code::with_check_digit(&format!("45{i:010}"))
}

/// The demo ledger with `n` products (imported as a shop would, UTF-8 CSV) and a shop name (no
/// welcome dialog).
fn demo_ledger_with_products(data_dir: &Path, n: u64) -> Res<()> {
    use std::fmt::Write as _;
    let ledger = reji::ledger::Ledger::open(&data_dir.join("demo.sqlite"))?;
    let mut reg =
        reji::register::Register::new(ledger, None, std::sync::Arc::new(reji::clock::SystemClock))?;
    reg.set_setting("shop_name", "ベンチ喫茶")?;
    let mut csv = String::from("商品名,読み仮名,価格,税区分,JANコード,カテゴリ,クイックキー\r\n");
    let classes = ["飲食料品", "標準", "軽減", "非課税"];
    for i in 0..n {
        let _ = write!(
            csv,
            "商品{i}号,ショウヒン{i},{},{},{},フード,\r\n",
            100 + (i * 37) % 9_900,
            classes[(i % 4) as usize],
            jan(i)
        );
    }
    reg.import_products(csv.into_bytes())?;
    Ok(())
}

fn p99(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 * 0.99).ceil() as usize).clamp(1, v.len()) - 1]
}

/// Scans through the app (see the module's doc): (scan → total shown, IPC floor) in ms, per scan.
async fn scan_bench(exe: &Path, products: u64, scans: usize) -> Res<(Vec<f64>, Vec<f64>)> {
    let data = tempfile::tempdir()?;
    let t0 = Instant::now();
    demo_ledger_with_products(data.path(), products)?;
    eprintln!(
        "desktop-bench: {products} products imported in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let session = Session::open(exe, data.path()).await?;
    session.post("timeouts", json!({"script": 900_000})).await?;
    // The register is ready once its total is on screen.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let v = session.post("execute/sync", json!({"script": "const t = document.querySelector('#total'); return !!(t && document.querySelector('#demo-ribbon') && !document.querySelector('dialog[open]'));", "args": []})).await?;
        if v == json!(true) {
            break;
        }
        if Instant::now() > deadline {
            return Err("the register did not become ready in 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let codes: Vec<String> = (0..scans)
        .map(|_| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            jan(rng % products)
        })
        .collect();
    let script = r#"
const [codes, floorRuns] = [arguments[0], arguments[1]];
const done = arguments[arguments.length - 1];
const total = () => document.querySelector('#total').textContent;
const key = (k) => document.dispatchEvent(new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true }));
const changes = (from, timeout) => new Promise((resolve, reject) => {
  const el = document.querySelector('#total');
  if (el.textContent !== from) return resolve();
  const timer = setTimeout(() => { obs.disconnect(); reject(new Error('the total did not change in ' + timeout + ' ms')); }, timeout);
  const obs = new MutationObserver(() => {
    if (el.textContent !== from) { clearTimeout(timer); obs.disconnect(); resolve(); }
  });
  obs.observe(el, { childList: true, characterData: true, subtree: true });
});
(async () => {
  const scan = [], floor = [];
  for (let i = 0; i < codes.length; i++) {
    if (i % 8 === 0 && total() !== '¥0') {
      const before = total();
      document.querySelector('#clear').click();
      await changes(before, 10000);
    }
    const before = total();
    const t0 = performance.now();
    for (const d of codes[i]) key(d);
    key('Enter');
    await changes(before, 10000);
    scan.push(performance.now() - t0);
  }
  for (let i = 0; i < floorRuns; i++) {
    const t0 = performance.now();
    await window.__TAURI__.core.invoke('app_info');
    floor.push(performance.now() - t0);
  }
  return [scan, floor];
})().then(done, (e) => done({ error: String(e) }));
"#;
    let v = session
        .post(
            "execute/async",
            json!({"script": script, "args": [codes, scans]}),
        )
        .await?;
    if let Some(e) = v.get("error") {
        return Err(format!("the scan run failed: {e}").into());
    }
    let nums = |v: &Value| -> Vec<f64> {
        v.as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    let (scan, floor) = (nums(&v[0]), nums(&v[1]));
    if scan.len() != scans || floor.is_empty() {
        return Err(format!("the scan run returned {} scans: {v}", scan.len()).into());
    }
    session.close().await;
    Ok((scan, floor))
}

fn tauri_driver() -> PathBuf {
    let cargo_bin = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
        .join(".cargo/bin/tauri-driver");
    if cargo_bin.exists() {
        cargo_bin
    } else {
        "tauri-driver".into()
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> Res<()> {
    tauri::async_runtime::block_on(run())
}

async fn run() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let get = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let runs: usize = get("--runs").map(|r| r.parse()).transpose()?.unwrap_or(5);
    let products: u64 = get("--products")
        .map(|r| r.parse())
        .transpose()?
        .unwrap_or(100_000);
    let scans: usize = get("--scans")
        .map(|r| r.parse())
        .transpose()?
        .unwrap_or(2_000);
    let app = PathBuf::from(get("--app").ok_or("--app PATH (the release reji-desktop)")?)
        .canonicalize()?;
    let hello = PathBuf::from(get("--hello").ok_or("--hello PATH (the release hello example)")?)
        .canonicalize()?;
    let mut out = serde_json::Map::new();
    let mut table = Vec::new();
    // `--runs 0`: only the scan measurement.
    let launches: &[(&str, &PathBuf)] = if runs == 0 {
        &[]
    } else {
        &[("hello", &hello), ("reji", &app)]
    };
    for &(name, exe) in launches {
        let mut paint = Vec::new();
        let mut rss = Vec::new();
        let mut how = String::new();
        for i in 0..runs {
            let data = tempfile::tempdir()?;
            let l = launch_once(exe, data.path()).await?;
            eprintln!(
                "desktop-bench: {name} run {}: first paint {:.0} ms ({}), PSS {:.1} MiB",
                i + 1,
                l.first_paint_ms,
                l.how,
                l.rss_mib
            );
            paint.push(l.first_paint_ms);
            rss.push(l.rss_mib);
            how = l.how;
        }
        let (p, r) = (median(paint.clone()), median(rss.clone()));
        table.push((name, p, r, how.clone()));
        out.insert(
            name.into(),
            json!({"first_paint_ms": paint, "rss_mib": rss, "median_first_paint_ms": p, "median_rss_mib": r, "paint_from": how}),
        );
    }
    if table.len() == 2 {
        println!("| window | first paint, median of {runs} (ms) | PSS app + WebKit, median (MiB) | paint measured by |");
        println!("| --- | --- | --- | --- |");
        for (name, p, r, how) in &table {
            println!("| {name} | {p:.0} | {r:.1} | {how} |");
        }
        let (h, a) = (&table[0], &table[1]);
        println!(
            "\nreji / hello: first paint {:.2}×, memory +{:.1} MiB",
            a.1 / h.1,
            a.2 - h.2
        );
    }
    if scans > 0 {
        let (scan, floor) = scan_bench(&app, products, scans).await?;
        let (sp, fp) = (p99(scan.clone()), p99(floor.clone()));
        let med = |v: &Vec<f64>| median(v.clone());
        println!(
            "\n| measurement | p99 (ms) | median (ms) |\n| --- | --- | --- |\n\
             | scan → line and total shown, {products} products, {scans} scans | {sp:.1} | {:.1} |\n\
             | IPC floor: app_info round trip, {} calls | {fp:.1} | {:.1} |",
            med(&scan),
            floor.len(),
            med(&floor)
        );
        println!("\nscan / IPC floor (p99): {:.1}×", sp / fp);
        out.insert(
            "scan".into(),
            json!({"products": products, "scans": scans, "p99_ms": sp, "median_ms": med(&scan),
                   "ipc_floor_p99_ms": fp, "ipc_floor_median_ms": med(&floor)}),
        );
    }
    if let Some(path) = get("--json") {
        std::fs::write(path, serde_json::to_string_pretty(&Value::Object(out))?)?;
    }
    Ok(())
}
