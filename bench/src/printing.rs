//! Row 11 (issue 18, printing): from "paid" to the last byte at the printer, p99, in text and in
//! raster mode. A cash sale is paid in the core; the clock starts as the register queues its receipt
//! and the drawer kick (`print_after_sale`) and stops when the printer emulator on loopback
//! (`printer-emu`, its strict decoder reading every byte) has the whole of both jobs: the queue's
//! delivery over TCP with the paper status asked before and after (`print_pending`), and in raster
//! mode the receipt drawn as a 1-bit image. Reference, same run: the PDF of the same receipt.

use super::*;
use reji::receipt::{html, pdf};

pub(super) fn bench_printing(quick: bool, tmp: &Path) -> Res<Vec<Row>> {
    let sales: usize = if quick { 10 } else { 300 };
    let font = match pdf::PdfFont::load() {
        Ok(f) => f,
        Err(e) => {
            eprintln!(
                "reji-bench: row 11 skipped (raster mode and the PDF need a Japanese font): {e}"
            );
            return Ok(Vec::new());
        }
    };
    let emu = printer_emu::Emulator::start()?;
    let path = tmp.join("printing.sqlite");
    let (mut reg, rt) = fresh_register(&path)?;
    for (k, v) in [
        ("printer", "network".to_string()),
        ("printer_host", "127.0.0.1".into()),
        ("printer_port", emu.port().to_string()),
        ("drawer", "pin2".into()),
        ("auto_print", "always".into()),
    ] {
        reg.set_setting(k, v.as_str())?;
    }
    let mut rng = StdRng::seed_from_u64(18);
    let mut rows = Vec::new();
    let mut last = String::new();
    let mut p99s = Vec::new();
    for mode in ["text", "raster"] {
        reg.set_setting("printer_mode", mode)?;
        let mut ms = Vec::with_capacity(sales);
        for _ in 0..sales {
            let d = draft(&mut rng);
            let total = d.breakdown()?.total;
            let req = ChargeRequest {
                lines: d.lines,
                cash: Some(total + 1_000),
                ..ChargeRequest::default()
            };
            let v = rt.block_on(reg.charge(req))?;
            let before = emu.printed().len();
            let t0 = Instant::now();
            let queued = reg.print_after_sale(&v.invoice_number)?;
            let report = reg.print_pending(reji::printing::transport::Timeouts::default())?;
            if let Some(e) = report.error {
                return Err(format!("printing to the emulator failed: {e}").into());
            }
            let printed = emu.wait_printed(before + queued.len(), Duration::from_secs(10));
            ms.push(t0.elapsed().as_secs_f64() * 1000.0);
            if queued.is_empty() || printed.len() < before + queued.len() {
                return Err(format!(
                    "{} of {} jobs reached the emulator",
                    printed.len() - before,
                    queued.len()
                )
                .into());
            }
            if let Some(e) = printed.iter().find_map(|j| j.error.clone()) {
                return Err(format!("the emulator's decoder refused a job: {e}").into());
            }
            last = v.invoice_number;
        }
        let sorted_ms = sorted(ms);
        p99s.push((
            mode,
            percentile(&sorted_ms, 99.0),
            percentile(&sorted_ms, 50.0),
        ));
    }
    // The reference: the PDF of the same receipt (the last sale's), per call.
    let layout = reg.receipt(&last, None)?.layout();
    let mut pdf_ms = Vec::with_capacity(sales);
    for _ in 0..sales {
        let t0 = Instant::now();
        std::hint::black_box(pdf::render(&layout, html::Paper::Roll80, &font)?);
        pdf_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    let pdf_p99 = percentile(&sorted(pdf_ms), 99.0);
    for (mode, p99, p50) in p99s {
        rows.push(
            Row::new(
                "11",
                &format!("Paid → the last byte at the printer, {mode} mode, receipt + drawer kick over TCP with paper status, p99 ({sales} sales)"),
            )
            .value(p99, "ms")
            .reference("the PDF of the same receipt, p99 (ms)", Some(pdf_p99))
            .ratio(Some(p99 / pdf_p99), "of the PDF")
            .goal("- (no goal in issue 18; beside the PDF)", None)
            .note(format!("median {p50:.2} ms; printer-emu on loopback answers the status at once: a real printer adds its own time")),
        );
    }
    Ok(rows)
}
