//! Argument parsing and dispatch.

#[macro_use]
mod stdio;
mod args;
mod demo;
mod drawer;
mod files;
mod flags;
mod output;
mod people;
mod print;
mod products;

use files::*;

use args::*;

use clap::Parser;
use reji::keychain::{self, mask_secrets, KeyStore, OsKeychain, SecretKey};
use reji::komoju::{RetryPolicy, DEFAULT_API_BASE};
use reji::ledger::Ledger;
use reji::register::{
    close_report, parse_expires_in, parse_methods, Assembly, BankAccount, ChargeRequest,
    CloseFormat, Error, ErrorCode, KeySource, ListQuery, Register,
};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            if code == 0 {
                let _ = e.print(); // --help, --version
            } else {
                // An argument can be a pasted key: errors are printed masked (and plain).
                let rendered = e.render().to_string();
                let _ = write!(std::io::stderr(), "{}", mask_secrets(&rendered));
            }
            // `--json` promises one JSON value on stdout, also when the arguments do not parse.
            let wants_json = std::env::args()
                .skip(1)
                .take_while(|a| a != "--")
                .any(|a| a == "--json");
            if code == 2 && wants_json {
                let rendered = e.render().to_string();
                let message = mask_secrets(&rendered)
                    .lines()
                    .next()
                    .unwrap_or("bad arguments")
                    .trim_start_matches("error: ")
                    .to_string();
                output::print_json(
                    &serde_json::json!({ "error": { "code": "bad_input", "message": message } }),
                );
            }
            return code;
        }
    };
    let json = cli.json;
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            errln!("reji: cannot start: {e}");
            return 1;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            let msg = flags::message(&e);
            errln!("reji: {msg}");
            if json {
                let mut err = serde_json::json!({ "code": e.code(), "message": msg });
                if let Error::Import(i) = &e {
                    err["problems"] = serde_json::json!(i.problems);
                }
                output::print_json(&serde_json::json!({ "error": err }));
            }
            e.exit_code()
        }
    }
}

fn parse_int(field: &str, v: Option<&str>) -> Result<Option<i64>, Error> {
    v.map(|s| {
        s.trim()
            .parse::<i64>()
            .map_err(|_| Error::bad(field, format!("{s:?} is not a whole number")))
    })
    .transpose()
}

fn default_db() -> PathBuf {
    directories::ProjectDirs::from("jp", "Reji", "reji")
        .map(|d| d.data_dir().join("reji.sqlite"))
        .unwrap_or_else(|| PathBuf::from("reji.sqlite"))
}

/// Test hooks for the HTTP client (documented in docs/architecture.md): request timeout and backoff.
fn retry_policy() -> RetryPolicy {
    let mut p = RetryPolicy::default();
    let ms = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_millis)
    };
    if let Some(t) = ms("REJI_HTTP_TIMEOUT_MS") {
        p.timeout = t;
    }
    if let Some(b) = ms("REJI_RETRY_BASE_MS") {
        p.base_delay = b;
        p.max_delay = p.max_delay.min(b * 16);
    }
    if let Some(n) = std::env::var("REJI_RETRIES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
    {
        p.max_attempts = n.max(1);
    }
    p
}

struct Ctx {
    db: PathBuf,
    api_base: String,
    json: bool,
    /// What the command needs of who runs it (None: it touches no ledger).
    need: Option<reji::register::Need>,
}

impl Ctx {
    fn register(&self, need_key: bool) -> Result<Register, Error> {
        let assembly = Assembly::new(&self.api_base, retry_policy());
        if !need_key {
            let mut reg = assembly.open(&self.db, KeySource::Offline)?;
            self.sign_in(&mut reg)?;
            return Ok(reg);
        }
        let key = keychain::resolve(&OsKeychain::default());
        // An invalid REJI_SECRET_KEY is reported at once; a missing key only when KOMOJU is needed.
        if let Err(e @ keychain::KeyError::Invalid(_)) = key {
            return Err(e.into());
        }
        let mut reg = assembly.open(&self.db, key.into())?;
        self.sign_in(&mut reg)?;
        Ok(reg)
    }

    /// Signs in the acting staff member (REJI_PIN) for what the command needs; a shop with no
    /// staff has one implicit owner.
    fn sign_in(&self, reg: &mut Register) -> Result<(), Error> {
        if let Some(need) = self.need {
            reg.sign_in(people::pin().as_deref(), need)?;
        }
        Ok(())
    }
}

/// Runs the command; the exit code of a command that finished but failed in part (`sync`).
async fn run(cli: Cli) -> Result<i32, Error> {
    let ctx = Ctx {
        db: cli.db.clone().unwrap_or_else(default_db),
        api_base: cli
            .api_base
            .clone()
            .unwrap_or_else(|| DEFAULT_API_BASE.to_string()),
        json: cli.json,
        need: people::need(&cli.cmd),
    };
    // Commands that open no register (the key, restore) are checked here, before they act.
    if matches!(
        cli.cmd,
        Cmd::Keys { .. } | Cmd::Restore { .. } | Cmd::Backup { .. } | Cmd::Verify
    ) && ctx.db.exists()
    {
        // A ledger that does not open (the case for restore and repair) has no staff to ask.
        let opened = Assembly::new(&ctx.api_base, retry_policy()).open(&ctx.db, KeySource::Offline);
        if let Ok(mut reg) = opened {
            ctx.sign_in(&mut reg)?;
        }
    }
    if let Cmd::Sync = cli.cmd {
        return sync(&ctx).await;
    }
    run_command(&ctx, cli.cmd).await.map(|()| 0)
}

/// `reji sync`: the report is printed whatever happened to each invoice; the exit code is not 0
/// when no invoice could be refreshed (the first error's code) or when the ledger failed (5).
async fn sync(ctx: &Ctx) -> Result<i32, Error> {
    let reg = ctx.register(true)?;
    let feed = reg.settings().feed;
    let reg = tokio::sync::Mutex::new(reg);
    let overlap = reji::tracker::TrackerConfig::default().overlap;
    let report = reji::tracker::sync(&reg, feed, overlap).await;
    output::notices(reg.lock().await.take_notices());
    let report = report?;
    output::sync(ctx.json, &report);
    let ledger_failed = report.errors.iter().any(|e| e.code == ErrorCode::Ledger);
    let all_failed = !report.errors.is_empty() && report.invoices.is_empty();
    if !(ledger_failed || all_failed) {
        return Ok(0);
    }
    let code = if ledger_failed {
        ErrorCode::Ledger.exit_code()
    } else {
        report.errors[0].code.exit_code()
    };
    errln!(
        "reji: sync: {} of {} invoices could not be refreshed{}",
        report.errors.len(),
        report.errors.len() + report.invoices.len(),
        if ledger_failed {
            " (the ledger could not be written)"
        } else {
            ""
        }
    );
    Ok(code)
}

async fn run_command(ctx: &Ctx, cmd: Cmd) -> Result<(), Error> {
    match cmd {
        Cmd::Keys { cmd } => keys(ctx, cmd).await,
        Cmd::Charge(a) => charge(ctx, a).await,
        Cmd::Products { cmd } => products::run(ctx, cmd),
        Cmd::Drawer { cmd } => drawer::run(ctx, cmd),
        Cmd::Print { cmd } => print::run(ctx, cmd),
        Cmd::Diagnostics => {
            let reg = ctx.register(false)?;
            let mode = if std::env::var_os("REJI_SECRET_KEY").is_some() {
                "key from REJI_SECRET_KEY"
            } else {
                "key from the keychain (if set)"
            };
            let d = reji::support::Diagnostics::gather(
                &reg,
                "reji (CLI)",
                env!("CARGO_PKG_VERSION"),
                mode,
                Vec::new(),
            );
            if ctx.json {
                output::print_json(&d);
            } else {
                outln!("{}", d.to_text().trim_end());
            }
            Ok(())
        }
        Cmd::Staff { cmd } => people::run(ctx, cmd),
        Cmd::Show { id } => {
            let mut reg = ctx.register(true)?;
            let v = reg.show(&id).await?;
            let events = reg.events(&id)?;
            output::invoice(ctx.json, &v, Some(&events));
            Ok(())
        }
        Cmd::Sync => unreachable!("handled by run"),
        Cmd::Watch(a) => watch(ctx, a).await,
        Cmd::List(a) => {
            let reg = ctx.register(false)?;
            let q = list_query(&a)?;
            let list = reg.list(&q)?;
            output::list(ctx.json, &list);
            Ok(())
        }
        Cmd::Cancel { id } => {
            let mut reg = ctx.register(true)?;
            let v = reg.cancel(&id).await?;
            output::notices(reg.take_notices());
            output::invoice(ctx.json, &v, None);
            Ok(())
        }
        Cmd::Refund(a) => {
            let amount = parse_int("--amount", a.amount.as_deref())?;
            let bank = BankAccount {
                bank_name: a.bank_name,
                bank_code: a.bank_code,
                branch_number: a.branch_number,
                branch_name: a.branch_name,
                account_type: a.account_type,
                account_number: a.account_number,
                holder_kana: a.holder_kana,
            };
            let items = a
                .items
                .as_deref()
                .map(reji::register::ReturnLine::parse_list)
                .transpose()?;
            let mut reg = ctx.register(true)?;
            let v = match items {
                Some(lines) => {
                    reg.return_items(&a.id, &lines, a.reason.as_deref(), &bank)
                        .await?
                }
                None => reg.refund(&a.id, amount, &bank).await?,
            };
            output::notices(reg.take_notices());
            output::invoice(ctx.json, &v, None);
            Ok(())
        }
        Cmd::Correct(a) => {
            let changes = reji::invoice::Customer {
                name: a.name,
                name_kana: a.name_kana,
                email: a.email,
                phone: a.phone,
            };
            let mut reg = ctx.register(false)?;
            let v = reg.correct_customer(&a.id, &changes, a.reason.as_deref())?;
            let events = reg.events(&a.id)?;
            output::invoice(ctx.json, &v, Some(&events));
            Ok(())
        }
        Cmd::Retry { id } => {
            let mut reg = ctx.register(true)?;
            let v = reg.retry(&id).await?;
            output::notices(reg.take_notices());
            output::invoice(ctx.json, &v, None);
            output::qr_to_stderr_if_json(ctx.json, v.session_url.as_deref());
            Ok(())
        }
        Cmd::Export(a) => export(ctx, a),
        Cmd::Backup { out } => {
            let ledger = Ledger::open(&ctx.db)?;
            let path = match out {
                Some(p) => {
                    ledger
                        .backup_to(&p)
                        .map_err(|e| Error::bad("--out", e.to_string()))?;
                    p
                }
                None => ledger.backup_rotated(30, chrono::Utc::now())?,
            };
            output::path_result(ctx.json, "backup", &path);
            Ok(())
        }
        Cmd::Close { date, csv, pdf } => {
            // The font and the files first: a missing font or a folder given as FILE must not
            // leave a half-done command behind.
            let font = pdf_font(pdf.is_some())?;
            for (flag, p) in [("--csv", &csv), ("--pdf", &pdf)] {
                if let Some(p) = p {
                    check_out(flag, p)?;
                }
            }
            let mut reg = ctx.register(false)?;
            let (close, new) = reg.close_day(date.as_deref())?;
            if !new {
                errln!(
                    "reji: {} was already closed at {}; showing the stored close",
                    close.business_date,
                    close.closed_at
                );
            }
            let shop = reg.settings().shop_details();
            if let Some(path) = csv {
                let bytes = close_report(&close, &shop, CloseFormat::Csv, None)?;
                write_file("--csv", &path, &bytes)?;
            }
            if let (Some(path), Some(font)) = (&pdf, &font) {
                let bytes = close_report(&close, &shop, CloseFormat::Pdf, Some(font))?;
                write_file("--pdf", path, &bytes)?;
            }
            output::close(ctx.json, &close);
            Ok(())
        }
        Cmd::Receipt(a) => receipt(ctx, a),
        Cmd::Verify => {
            let ledger = Ledger::open(&ctx.db)?;
            let r = ledger.verify()?;
            if ctx.json {
                output::print_json(&r);
            } else if r.ok {
                outln!(
                    "ok: {} events, hash chain intact, SQLite integrity ok",
                    r.events
                );
            }
            if !r.ok {
                let why = match (r.first_bad_event, &r.problem) {
                    (Some(id), Some(p)) => format!("event {id}: {p}"),
                    _ => format!("SQLite integrity check: {}", r.integrity),
                };
                return Err(Error::Ledger(reji::ledger::LedgerError::Corrupt(format!(
                    "the ledger has been tampered with or damaged: {why}"
                ))));
            }
            Ok(())
        }
        Cmd::Restore { file } => {
            if !file.is_file() {
                return Err(Error::bad(
                    "FILE",
                    format!("{} is not a file", file.display()),
                ));
            }
            reji::ledger::Ledger::check_restorable(&file)
                .map_err(|e| Error::bad("FILE", e.to_string()))?;
            let report = reji::ledger::restore(&ctx.db, &file, chrono::Utc::now())?;
            output::restored(ctx.json, &ctx.db, &report);
            Ok(())
        }
        Cmd::Repair => {
            let report = reji::ledger::repair(&ctx.db)?;
            output::repaired(ctx.json, &ctx.db, &report);
            Ok(())
        }
        Cmd::Settings { key, value } => {
            let mut reg = ctx.register(false)?;
            match (key, value) {
                (Some(k), Some(v)) => {
                    reg.set_setting(&k, &v)?;
                    for w in reg.settings().warnings() {
                        errln!("reji: warning: {w}");
                    }
                }
                (Some(k), None) if reg.settings().get(&k).is_none() => {
                    return Err(Error::bad(
                        "setting",
                        format!(
                            "unknown setting {k:?}; known: {}",
                            reji::register::Settings::KEYS.join(", ")
                        ),
                    ))
                }
                _ => {}
            }
            output::settings(ctx.json, reg.settings());
            Ok(())
        }
        Cmd::FakeKomoju { port } => demo::fake_komoju(port, ctx.json).await,
        Cmd::Demo(a) => demo::run(a).await,
    }
}

async fn keys(ctx: &Ctx, cmd: KeysCmd) -> Result<(), Error> {
    let store = OsKeychain::default();
    match cmd {
        KeysCmd::Set => {
            let mut s = String::new();
            std::io::stdin()
                .take(4096)
                .read_to_string(&mut s)
                .map_err(|e| Error::bad("stdin", format!("could not read the key: {e}")))?;
            let key: SecretKey = s.parse().map_err(keychain_err)?;
            store.set(&key)?;
            output::key(ctx.json, Some(&key), "stored in the OS keychain");
        }
        KeysCmd::Show => {
            let env = std::env::var("REJI_SECRET_KEY").is_ok();
            let key = if env {
                Some(keychain::resolve(&store)?)
            } else {
                store.get()?
            };
            let source = if env {
                "from REJI_SECRET_KEY"
            } else {
                "in the OS keychain"
            };
            match key {
                Some(k) => output::key(ctx.json, Some(&k), source),
                None => {
                    return Err(Error::NotFound(
                        "no KOMOJU secret key is stored; run `reji keys set`".into(),
                    ))
                }
            }
        }
        KeysCmd::Test => {
            let check = ctx.register(true)?.test_connection().await?;
            if ctx.json {
                output::print_json(&check);
            } else {
                outln!(
                    "ok: KOMOJU accepted the {} key ({} ms)",
                    check.mode,
                    check.millis
                );
            }
        }
        KeysCmd::Delete => {
            let removed = store.delete()?;
            output::key(
                ctx.json,
                None,
                if removed {
                    "deleted"
                } else {
                    "nothing to delete"
                },
            );
        }
    }
    Ok(())
}

fn keychain_err(e: impl std::fmt::Display) -> Error {
    Error::bad("key", e.to_string())
}

fn list_query(a: &ListArgs) -> Result<ListQuery, Error> {
    let limit = parse_int("--limit", a.limit.as_deref())?;
    if limit.is_some_and(|l| l < 1 || l > u32::MAX as i64) {
        return Err(Error::bad("--limit", "must be a whole number ≥ 1"));
    }
    Ok(ListQuery {
        from: a.from.clone(),
        to: a.to.clone(),
        status: a.status.clone(),
        method: a.method.clone(),
        min: parse_int("--min", a.min.as_deref())?,
        max: parse_int("--max", a.max.as_deref())?,
        text: a.q.clone(),
        limit: limit.map(|l| l as u32),
    })
}

async fn charge(ctx: &Ctx, a: ChargeArgs) -> Result<(), Error> {
    let amount = parse_int("--amount", a.amount.as_deref())?;
    let rate = a
        .rate
        .as_deref()
        .map(|r| r.parse().map_err(|e: String| Error::bad("--rate", e)))
        .transpose()?;
    let mut lines = Vec::new();
    for it in &a.items {
        lines.push(
            it.parse()
                .map_err(|e: reji::invoice::ItemError| Error::bad("--item", e.to_string()))?,
        );
    }
    let timeout = match a.timeout.as_deref() {
        Some(t) => Some(
            t.trim()
                .parse::<u64>()
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| {
                    Error::bad("--timeout", format!("{t:?} must be whole seconds > 0"))
                })?,
        ),
        None => None,
    };
    let req = ChargeRequest {
        lines,
        amount,
        amount_rate: rate,
        currency: a
            .currency
            .as_deref()
            .map(|c| {
                c.parse().map_err(|e: reji::money::UnknownCurrency| {
                    Error::bad("currency", e.to_string())
                })
            })
            .transpose()?,
        customer: reji::invoice::Customer {
            name: a.name,
            name_kana: a.name_kana,
            email: a.email,
            phone: a.phone,
        },
        methods: a.methods.as_deref().map(parse_methods).unwrap_or_default(),
        locale: a.locale,
        expires_in: a.expires_in.as_deref().map(parse_expires_in).transpose()?,
        products: a
            .products
            .iter()
            .map(|p| p.parse())
            .collect::<Result<_, Error>>()?,
        dining: match (a.eat_in, a.take_away) {
            (true, _) => Some(reji::tax::Dining::EatIn),
            (_, true) => Some(reji::tax::Dining::TakeAway),
            _ => None,
        },
        discount: a
            .discount
            .as_deref()
            .map(|d| d.parse().map_err(|e: String| Error::bad("discount", e)))
            .transpose()?,
        cash: a
            .cash
            .as_deref()
            .map(|c| {
                let t = c.trim();
                match t.strip_prefix('-') {
                    Some(rest) if reji::tender::parse_yen(rest).is_some() => Err(Error::bad(
                        "cash",
                        format!("{t:?}: cash tendered cannot be below zero"),
                    )),
                    _ => reji::tender::parse_yen(t).ok_or_else(|| {
                        Error::bad(
                            "cash",
                            format!("{t:?} is not an amount of cash (whole yen)"),
                        )
                    }),
                }
            })
            .transpose()?,
        tenders: a
            .tenders
            .iter()
            .map(|t| t.parse().map_err(|e: String| Error::bad("tenders", e)))
            .collect::<Result<_, Error>>()?,
    };
    let mut reg = ctx.register(true)?;
    let charged = reg.charge(req).await;
    output::notices(reg.take_notices());
    let mut v = charged?;
    if v.status.has_receipt() {
        // Paid at the counter: the drawer opens and the receipt prints, when a printer is set up.
        match reg.print_after_sale(&v.invoice_number) {
            Ok(jobs) if !jobs.is_empty() => print::after(&mut reg),
            Ok(_) => {}
            Err(e) => errln!("reji: warning: printing: {}", e.user_message()),
        }
    }
    if !ctx.json {
        output::charge_banner(&v);
    }
    if a.wait {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout.unwrap_or(300));
        let mut delay = Duration::from_millis(500);
        loop {
            if v.session_status.as_deref() != Some("pending")
                && v.status != reji::status::InvoiceStatus::Pending
            {
                break;
            }
            if tokio::time::Instant::now() + delay > deadline {
                errln!(
                    "reji: still waiting after the timeout; `reji show {}` looks again",
                    v.invoice_number
                );
                break;
            }
            tokio::time::sleep(delay).await;
            delay = Duration::from_secs(1);
            v = reg.show(&v.invoice_number).await?;
        }
    }
    output::invoice(ctx.json, &v, None);
    Ok(())
}

async fn watch(ctx: &Ctx, a: WatchArgs) -> Result<(), Error> {
    use reji::tracker::{FeedMode, Notice, Tracker, TrackerConfig};
    let feed: Option<FeedMode> = a
        .feed
        .as_deref()
        .map(|f| f.parse().map_err(|e: String| Error::bad("--feed", e)))
        .transpose()?;
    let interval = a
        .interval
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| *s >= 0.05 && *s <= 86_400.0)
        .ok_or_else(|| {
            Error::bad(
                "--interval",
                format!("{:?} must be seconds from 0.05 to 86400", a.interval),
            )
        })?;
    let passes = match a.passes.as_deref() {
        Some(p) => Some(
            p.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    Error::bad("--passes", format!("{p:?} must be a whole number > 0"))
                })?,
        ),
        None => None,
    };
    let reg = ctx.register(true)?;
    let client = reg.client_handle()?;
    let feed = feed.unwrap_or(reg.settings().feed);
    let reg = Arc::new(tokio::sync::Mutex::new(reg));
    let cfg = TrackerConfig {
        feed,
        slow_every: Duration::from_secs_f64(interval),
        ..Default::default()
    };
    let tracker = Tracker::spawn(reg.clone(), client, cfg);
    let mut rx = tracker.subscribe();
    for id in &a.fast {
        tracker.watch(id).await?;
    }
    if !ctx.json {
        errln!("reji: watching (Ctrl-C to stop)");
    }
    let mut done_passes = 0;
    loop {
        let notice = tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            n = rx.recv() => n,
        };
        let notice = match notice {
            Ok(n) => n,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(_) => break,
        };
        output::notice(ctx.json, &notice);
        if let Notice::Pass { .. } = notice {
            done_passes += 1;
            if passes.is_some_and(|p| done_passes >= p) {
                break;
            }
        }
    }
    tracker.shutdown().await;
    Ok(())
}
