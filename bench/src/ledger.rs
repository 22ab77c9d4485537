//! Row 3: the ledger's write path next to a bare INSERT, and a writer beside a reader on one WAL.

use super::*;

pub(super) fn create_and_pay(ledger: &mut Ledger, d: &Draft, now: DateTime<Utc>) -> Res<i64> {
    let year = reji::ledger::shop_year(now, chrono_tz::Asia::Tokyo);
    let (inv, _att) = ledger.create_invoice(d, &[], None, 3600, now, year, |num, eon| {
        format!(
            r#"{{"mode":"payment","amount":1000,"currency":"JPY","payment_data":{{"external_order_num":"{eon}"}},"metadata":{{"invoice_number":"{num}"}}}}"#
        )
    })?;
    Ok(inv.id)
}

pub(super) fn is_locked(s: &str) -> bool {
    s.contains("database is locked")
        || s.contains("database table is locked")
        || s.contains("SQLITE_BUSY")
}

pub(super) fn bench_ledger(sizes: &Sizes, tmp: &Path) -> Res<Vec<Row>> {
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
