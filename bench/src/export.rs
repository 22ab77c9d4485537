//! Row 1: the CSV export of a seeded ledger (the `reji` binary) next to `sqlite3 -csv`; the seeding
//! code is shared with row 7.

use super::*;

/// Seeds `n` paid invoices through the real schema (opened with `Ledger::open`), in one transaction
/// with prepared statements. Every invoice has 1–3 line items at mixed rates, 1 or 2 attempts (each
/// with its stored create request), one captured payment (card, konbini, PayPay, …) and two events.
pub(super) fn seed_ledger(path: &Path, n: u64) -> Res<Duration> {
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

pub(super) fn invoice_count(path: &Path) -> Option<u64> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    conn.query_row("SELECT COUNT(*) FROM invoices", [], |r| r.get::<_, i64>(0))
        .ok()
        .map(|c| c as u64)
}

pub(super) struct ProcRun {
    pub(super) secs: f64,
    pub(super) peak_rss_kib: u64,
    bytes: u64,
}

/// Runs `cmd` under `/usr/bin/time -v` with stdout to `stdout_file` (if any); wall time measured here,
/// peak RSS from time's "Maximum resident set size".
pub(super) fn timed(
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

pub(super) fn reji_binary() -> Res<PathBuf> {
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

pub(super) fn bench_export(opts: &Opts, sizes: &Sizes, tmp: &Path) -> Res<Vec<Row>> {
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
