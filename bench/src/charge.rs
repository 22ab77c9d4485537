//! Row 2: a charge's overhead (charge call → QR SVG, less the API time on the wire), and its cause.

use super::*;

/// What the wire proxy saw since the last reset: the first request byte from Reji and the last
/// response byte back to it.
#[derive(Default)]
pub(super) struct Wire {
    first_request: Option<Instant>,
    last_response: Option<Instant>,
}

/// A byte-forwarding TCP proxy between Reji's HTTP client and the fake: it timestamps the API time
/// (first request byte in → last response byte out) without touching either side.
pub(super) async fn start_wire_proxy(
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

pub(super) struct ChargeStats {
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
pub(super) enum Checkpoints {
    /// As Reji does: on the ledger's checkpoint thread, off the charge's path.
    Reji,
    /// SQLite's automatic checkpoint inside the commit that crosses 1 000 pages (Reji before
    /// issue 15): the cause being measured.
    InCommit,
    /// No checkpoint at all during the run (the WAL grows): what the charge costs without any.
    Off,
}

pub(super) fn bench_charge(sizes: &Sizes, tmp: &Path) -> Res<Vec<Row>> {
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

pub(super) async fn charge_run(
    n: usize,
    latency_ms: u64,
    mode: Checkpoints,
    tmp: &Path,
) -> Res<ChargeStats> {
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
