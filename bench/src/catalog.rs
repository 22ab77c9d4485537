//! Row 9 (issue 16, the catalog): a scan at 100 000 products (the core's lookup and the cart's
//! totals) next to a bare indexed SELECT, and the import of 100 000 products from a CP932 CSV
//! (the `reji` binary) next to `sqlite3 .import` of the same file into a plain table.

use super::*;
use reji::catalog::code::with_check_digit;
use reji::register::Cart;

/// A valid JAN code for product `i` (prefix 45, the shop's own numbering).
fn jan(i: u64) -> String {
    with_check_digit(&format!("45{i:010}"))
}

/// A product list as an owner's Excel would save it: CP932, Japanese headers, CRLF.
fn product_csv(n: u64) -> Res<Vec<u8>> {
    let mut text = String::from("商品名,読み仮名,価格,税区分,JANコード,カテゴリ,クイックキー\r\n");
    let classes = ["飲食料品", "標準", "軽減", "非課税"];
    let cats = ["ドリンク", "フード", "雑貨", "焼き菓子"];
    for i in 0..n {
        let _ = write!(
            text,
            "商品{i}号 ブレンド,ショウヒン{i},{},{},{},{},{}\r\n",
            100 + (i * 37) % 9_900,
            classes[(i % 4) as usize],
            jan(i),
            cats[(i % 4) as usize],
            if i < 40 {
                (i + 1).to_string()
            } else {
                String::new()
            }
        );
    }
    let (bytes, _, bad) = encoding_rs::SHIFT_JIS.encode(&text);
    if bad {
        return Err("the generated product list is not CP932".into());
    }
    Ok(bytes.into_owned())
}

pub(super) fn bench_catalog(quick: bool, tmp: &Path) -> Res<Vec<Row>> {
    let n: u64 = if quick { 2_000 } else { 100_000 };
    let scans: usize = if quick { 200 } else { 5_000 };
    let csv_path = tmp.join("products-cp932.csv");
    std::fs::write(&csv_path, product_csv(n)?)?;
    let csv_s = csv_path.to_str().ok_or("non-UTF-8 path")?;

    // The import: the reji binary (every row checked, one transaction) and sqlite3 .import.
    let reji = reji_binary()?;
    let mut best: Option<(f64, u64)> = None;
    let mut best_sq: Option<(f64, u64)> = None;
    let ledger = tmp.join("catalog.sqlite");
    for round in 0..if quick { 1 } else { 3 } {
        eprintln!("reji-bench: catalog: import round {}", round + 1);
        remove_sqlite(&ledger);
        // A ledger that exists already (its creation is not the import's cost).
        drop(Ledger::open(&ledger)?);
        let db = ledger.to_str().ok_or("non-UTF-8 path")?;
        let (r, _) = timed(
            &reji,
            &["--db", db, "products", "import", csv_s],
            None,
            &tmp.join("import.out"),
        )?;
        if best.is_none_or(|b| r.secs < b.0) {
            best = Some((
                r.secs,
                best.map_or(r.peak_rss_kib, |b| b.1.max(r.peak_rss_kib)),
            ));
        } else if let Some(b) = &mut best {
            b.1 = b.1.max(r.peak_rss_kib);
        }
        let plain = tmp.join("plain.sqlite");
        let _ = std::fs::remove_file(&plain);
        let plain_s = plain.to_str().ok_or("non-UTF-8 path")?;
        let import = format!(".import {csv_s} products");
        let (r, _) = timed(
            Path::new("sqlite3"),
            &[plain_s, ".mode csv", &import],
            None,
            &plain,
        )?;
        if best_sq.is_none_or(|b| r.secs < b.0) {
            best_sq = Some((r.secs, r.peak_rss_kib));
        }
    }
    let l = Ledger::open(&ledger)?;
    let stored: i64 = l
        .connection()
        .query_row("SELECT COUNT(*) FROM products", [], |r| r.get(0))?;
    if stored as u64 != n {
        return Err(format!("the import stored {stored} products, not {n}").into());
    }
    // The scans read a checkpointed file (the import's WAL folded in), as a register does later.
    l.connection()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    drop(l);
    // Where the time goes: the same rows written straight into the same tables of a fresh
    // ledger (WAL, its indexes, one transaction), values made in advance: no CSV, no checks.
    let floor = tmp.join("floor.sqlite");
    remove_sqlite(&floor);
    drop(Ledger::open(&floor)?);
    let rows: Vec<(String, String, i64, String, String)> = (0..n)
        .map(|i| {
            let code = jan(i);
            (
                reji::catalog::new_product_id(Utc::now()),
                format!("商品{i}号 ブレンド"),
                (100 + (i * 37) % 9_900) as i64,
                format!("{code:0>14}"),
                code,
            )
        })
        .collect();
    let mut conn = rusqlite::Connection::open(&floor)?;
    let t0 = Instant::now();
    let tx = conn.transaction()?;
    {
        let mut st = tx.prepare(
            "INSERT INTO products(id, name, kana, price, class, code, code_key, category, quick_key, search,
                archived_at, version, action, created_at, updated_at, updated_by)
             VALUES (?1, ?2, NULL, ?3, 'food', ?5, ?4, 'フード', NULL, ?2, NULL, 1, 'added',
                '2026-12-01T00:00:00.000Z', '2026-12-01T00:00:00.000Z', 'staff')",
        )?;
        for r in &rows {
            st.execute(params![r.0, r.1, r.2, r.3, r.4])?;
        }
    }
    tx.commit()?;
    drop(conn);
    let floor_rate = n as f64 / t0.elapsed().as_secs_f64();
    drop(rows);

    let (secs, rss) = best.ok_or("no import run")?;
    let (sq_secs, sq_rss) = best_sq.ok_or("no sqlite3 run")?;
    let rate = n as f64 / secs;
    let sq_rate = n as f64 / sq_secs;
    let mib = |k: u64| k as f64 / 1024.0;

    // A scan: the product by its code, then the cart's totals with it added (8 lines).
    let reg = Register::new(Ledger::open(&ledger)?, None, Arc::new(SystemClock))?;
    let mut rng = StdRng::seed_from_u64(16);
    let base: Vec<LineItem> = (0..7)
        .map(|i| {
            reg.find_product(&jan(i * 97 % n), false)
                .map(|p| p.line(1, reji::tax::Dining::TakeAway))
        })
        .collect::<Result<_, _>>()?;
    let mut lookup_ms = Vec::with_capacity(scans);
    for _ in 0..scans {
        let code = jan(rng.gen_range(0..n));
        let t0 = Instant::now();
        let p = reg.find_product(&code, false)?;
        let mut cart = Cart {
            lines: base.clone(),
            ..Default::default()
        };
        cart.lines.push(p.line(1, reji::tax::Dining::TakeAway));
        let preview = reg.preview_cart(&cart)?;
        lookup_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(preview);
    }
    // The reference: the bare indexed SELECT of one product by its code key.
    let conn = rusqlite::Connection::open(&ledger)?;
    let mut st = conn.prepare(
        "SELECT id, name, price, class FROM products WHERE code_key = ?1 AND archived_at IS NULL",
    )?;
    let mut bare_ms = Vec::with_capacity(scans);
    for _ in 0..scans {
        let key = format!("{:0>14}", jan(rng.gen_range(0..n)));
        let t0 = Instant::now();
        let row: (String, String, i64, String) =
            st.query_row([key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
        bare_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(row);
    }
    let p99 = percentile(&sorted(lookup_ms), 99.0);
    let bare_p99 = percentile(&sorted(bare_ms), 99.0);
    Ok(vec![
        Row::new(
            "9",
            &format!("Scan → cart: product by code + cart totals (8 lines), {n} products, p99 ({scans} scans)"),
        )
        .value(p99, "ms")
        .reference("bare indexed SELECT of the product by code, p99 (ms)", Some(bare_p99))
        .ratio(Some(p99 / bare_p99), "of the bare SELECT")
        .goal("p99 ≤ 2 ms", Some(p99 <= 2.0)),
        Row::new("9", &format!("Product import, CP932 CSV, {n} products (reji products import)"))
            .value(rate, "rows/s")
            .reference("sqlite3 .import of the same file into a plain table (rows/s)", Some(sq_rate))
            .ratio(Some(rate / sq_rate), "of sqlite3")
            .goal("≥ 0.5× sqlite3", Some(rate / sq_rate >= 0.5))
            .note(format!(
                "best of runs: reji {secs:.2} s (every row checked, codes and quick keys against the catalog, one transaction, versions kept), sqlite3 {sq_secs:.2} s"
            )),
        Row::new("9", &format!("Cause: the same {n} rows written straight into the same tables (no CSV, no checks, in-process)"))
            .value(floor_rate, "rows/s")
            .reference("sqlite3 .import of the file into a plain table (rows/s)", Some(sq_rate))
            .ratio(Some(floor_rate / sq_rate), "of sqlite3")
            .goal("- (the floor of this schema)", None),
        Row::new("9", "Product import: peak RSS")
            .value(mib(rss), "MiB")
            .reference("sqlite3 .import peak RSS (MiB)", Some(mib(sq_rss)))
            .ratio(Some(mib(rss) / mib(sq_rss)), "of sqlite3")
            .goal("≤ 64 MiB", Some(mib(rss) <= 64.0)),
    ])
}
