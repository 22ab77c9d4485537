//! Row 7: history search as 電子帳簿保存法 asks for it (transaction date range, amount range,
//! counterparty; each alone and combined) on the seeded ledger of row 1 (`--only search`).
//!
//! Each query is what the app's history screen sends (`Ledger::list`, newest first, a page of 100:
//! `HISTORY_PAGE` in the desktop app; "more" asks for the next).
//! Reference: the same query without the counterparty index, i.e. the plain `LIKE '%…%'` scan that
//! Reji used before (same file, same page size, rows fetched the same way).

use super::{percentile, seed_ledger, sorted, BoxError, Res, Row, FAMILY, GIVEN, ROMAJI_FAMILY};
use chrono::{Duration as CDuration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reji::ledger::{Filter, Ledger};
use std::path::Path;
use std::time::Instant;

const PAGE: u32 = 100;

#[derive(Clone, Debug)]
enum Kind {
    Date,
    Amount,
    Counterparty,
    Combined,
}

impl Kind {
    fn label(&self) -> &'static str {
        match self {
            Kind::Date => "date range (one day or one month)",
            Kind::Amount => "amount range (exact or ±10 %)",
            Kind::Counterparty => "counterparty (family name, full name or e-mail)",
            Kind::Combined => "combined (month + amount range + family name)",
        }
    }
}

fn random_filter(rng: &mut StdRng, kind: &Kind) -> Filter {
    let start = Utc
        .with_ymd_and_hms(2024, 1, 4, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let day = start + CDuration::days(rng.gen_range(0..3 * 365 - 31));
    let month = |f: &mut Filter| {
        f.from = Some(day);
        f.until = Some(day + CDuration::days(30));
    };
    let amount = |rng: &mut StdRng, f: &mut Filter| {
        let a = rng.gen_range(300..20_000);
        if rng.gen_bool(0.5) {
            f.min = Some(a);
            f.max = Some(a);
        } else {
            f.min = Some(a - a / 10);
            f.max = Some(a + a / 10);
        }
    };
    let fi = rng.gen_range(0..FAMILY.len());
    let gi = rng.gen_range(0..GIVEN.len());
    let text = match rng.gen_range(0..3) {
        0 => FAMILY[fi].0.to_string(),
        1 => format!("{} {}", FAMILY[fi].0, GIVEN[gi].0),
        _ => format!(
            "{}.{}{}@",
            GIVEN[gi].2,
            ROMAJI_FAMILY[fi],
            rng.gen_range(1..999)
        ),
    };
    let mut f = Filter {
        limit: Some(PAGE),
        ..Default::default()
    };
    match kind {
        Kind::Date => {
            if rng.gen_bool(0.5) {
                f.from = Some(day);
                f.until = Some(day + CDuration::days(1));
            } else {
                month(&mut f);
            }
        }
        Kind::Amount => amount(rng, &mut f),
        Kind::Counterparty => f.text = Some(text),
        Kind::Combined => {
            month(&mut f);
            amount(rng, &mut f);
            f.text = Some(FAMILY[fi].0.to_string());
        }
    }
    f
}

/// The same query without the index: `Ledger::list` with the `LIKE` scan alone (what it did before
/// schema 5), so both sides build the same records.
fn reference_query(l: &Ledger, f: &Filter) -> Res<usize> {
    let mut f = f.clone();
    f.without_index = true;
    Ok(l.list(&f)?.len())
}

pub fn bench_search(quick: bool, db: &Path, n_invoices: u64) -> Res<Vec<Row>> {
    if !db.exists() {
        eprintln!("reji-bench: search: seeding {n_invoices} paid invoices …");
        seed_ledger(db, n_invoices)?;
    }
    let mut l = Ledger::open(db)?;
    let indexed: i64 =
        l.connection()
            .query_row("SELECT COUNT(*) FROM invoice_search_docsize", [], |r| {
                r.get(0)
            })?;
    let invoices: i64 = l
        .connection()
        .query_row("SELECT COUNT(*) FROM invoices", [], |r| r.get(0))?;
    let mut build_note = String::new();
    if indexed != invoices {
        let t = Instant::now();
        let n = l.rebuild_search_index()?;
        build_note = format!(
            "counterparty index built for {n} invoices in {:.1} s (once, after loading with plain SQL)",
            t.elapsed().as_secs_f64()
        );
        eprintln!("reji-bench: search: {build_note}");
    }
    let per_kind = if quick { 20 } else { 300 };
    let mut rng = StdRng::seed_from_u64(77);
    let mut rows = Vec::new();
    let mut all_ours = Vec::new();
    for kind in [Kind::Date, Kind::Amount, Kind::Counterparty, Kind::Combined] {
        let filters: Vec<Filter> = (0..per_kind)
            .map(|_| random_filter(&mut rng, &kind))
            .collect();
        // Warm the page cache once, as a running app has it.
        for f in filters.iter().take(3) {
            l.list(f)?;
            reference_query(&l, f)?;
        }
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for f in &filters {
            let t = Instant::now();
            let a = l.list(f)?.len();
            ours.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            let b = reference_query(&l, f)?;
            theirs.push(t.elapsed().as_secs_f64() * 1e3);
            if a != b {
                return Err(BoxError::from(format!(
                    "search: the index changed the result of {f:?}: {a} rows vs {b} without it"
                )));
            }
        }
        all_ours.extend(ours.iter().copied());
        let (ours, theirs) = (sorted(ours), sorted(theirs));
        let p99 = percentile(&ours, 99.0);
        let ref99 = percentile(&theirs, 99.0);
        rows.push(
            Row::new(
                "7",
                &format!(
                    "Search {}, {invoices} invoices, p99 ({per_kind} queries)",
                    kind.label()
                ),
            )
            .value(p99, "ms")
            .reference(
                "same query, same code, without the counterparty index (LIKE scan), p99 (ms)",
                Some(ref99),
            )
            .ratio(Some(p99 / ref99), "of the LIKE scan")
            .goal("p99 ≤ 10 ms", Some(p99 <= 10.0))
            .note(format!(
                "p50 {:.2} ms (LIKE scan p50 {:.2} ms); page of {PAGE}, newest first",
                percentile(&ours, 50.0),
                percentile(&theirs, 50.0)
            )),
        );
    }
    if !build_note.is_empty() {
        if let Some(r) = rows.first_mut() {
            r.note = format!("{}; {build_note}", r.note);
        }
    }
    Ok(rows)
}
