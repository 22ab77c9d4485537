//! Row 10 (issue 17, tenders and the drawer): a cash sale rung up to paid with its receipt ready, in
//! the core, next to the ledger's bare invoice write; and the 点検 report of a day with 10 000 sales
//! and 500 drawer movements next to a bare SUM over the same rows.

use super::*;
use reji::register::CashCount;

pub(super) fn bench_tenders(quick: bool, tmp: &Path) -> Res<Vec<Row>> {
    let sales: usize = if quick { 300 } else { 10_000 };
    let moves: usize = if quick { 20 } else { 500 };
    let reports: usize = if quick { 20 } else { 200 };
    let path = tmp.join("tenders.sqlite");
    let (mut reg, rt) = fresh_register(&path)?;
    reg.drawer_open(&CashCount::parse("10000:3,1000:20,100:50")?)?;
    let mut rng = StdRng::seed_from_u64(17);
    let mut sale_ms = Vec::with_capacity(sales);
    let every = (sales / moves.max(1)).max(1);
    for i in 0..sales {
        let d = draft(&mut rng);
        let total = d.breakdown()?.total;
        let req = ChargeRequest {
            lines: d.lines,
            cash: Some(total + rng.gen_range(0..1_000)),
            ..ChargeRequest::default()
        };
        let t0 = Instant::now();
        let v = rt.block_on(reg.charge(req))?;
        // "Its receipt ready": the receipt the counter prints, as text.
        let r = reg.receipt(&v.invoice_number, None)?;
        std::hint::black_box(r.to_text(42));
        sale_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        if i % every == 0 {
            reg.drawer_move(if i % 2 == 0 { "in" } else { "out" }, 500, "両替")?;
        }
    }
    // The reference: the ledger's own invoice write (create + move, no tenders, no receipt).
    let mut bare_ms = Vec::with_capacity(sales.min(2_000));
    {
        let mut l = Ledger::open(&tmp.join("bare.sqlite"))?;
        for _ in 0..sales.min(2_000) {
            let d = draft(&mut rng);
            let t0 = Instant::now();
            let (inv, _) =
                l.create_invoice(&d, &[], None, 3600, Utc::now(), 2026, |_, _| "{}".into())?;
            l.transition(
                inv.id,
                InvoiceStatus::AwaitingPayment,
                MoveKind::Komoju,
                "bench",
                &MoveFacts::default(),
                Utc::now(),
            )?;
            bare_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let mut report_ms = Vec::with_capacity(reports);
    let mut expected = 0;
    for _ in 0..reports {
        let t0 = Instant::now();
        let rep = reg.drawer_check()?;
        report_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        expected = rep.expected_cash;
    }
    let conn = rusqlite::Connection::open(&path)?;
    let mut sum_ms = Vec::with_capacity(reports);
    for _ in 0..reports {
        let t0 = Instant::now();
        let s: (i64, i64) = conn.query_row(
            "SELECT (SELECT COALESCE(SUM(amount), 0) FROM tenders WHERE kind = 'cash'),
                    (SELECT COALESCE(SUM(amount), 0) FROM invoices)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        sum_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        std::hint::black_box(s);
    }
    let (p99, bare) = (
        percentile(&sorted(sale_ms), 99.0),
        percentile(&sorted(bare_ms), 99.0),
    );
    let (rp99, sp99) = (
        percentile(&sorted(report_ms), 99.0),
        percentile(&sorted(sum_ms), 99.0),
    );
    Ok(vec![
        Row::new("10", &format!("Cash sale → paid with its receipt ready, in the core, p99 ({sales} sales)"))
            .value(p99, "ms")
            .reference("the ledger's bare invoice write (create + one move), p99 (ms)", Some(bare))
            .ratio(Some(p99 / bare), "of the bare write")
            .goal("p99 ≤ 10 ms", Some(p99 <= 10.0)),
        Row::new("10", &format!("点検 report: {sales} sales and {moves} movements, p99 ({reports} reports)"))
            .value(rp99, "ms")
            .reference("bare SUM of cash tenders and sales over the same rows, p99 (ms)", Some(sp99))
            .ratio(Some(rp99 / sp99), "of the bare SUM")
            .goal("p99 ≤ 50 ms", Some(rp99 <= 50.0))
            .note(format!("expected cash at the end ¥{expected}; the report is per tender (cash, shop tenders, KOMOJU types) with the movements listed")),
    ])
}
