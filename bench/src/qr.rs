//! Row 4: the QR of a session URL next to the bare `qrcode` encode.

use super::*;

pub(super) fn per_call_us(n: usize, mut f: impl FnMut() -> Res<()>) -> Res<f64> {
    for _ in 0..(n / 10).max(3) {
        f()?;
    }
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f()?;
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    Ok(percentile(&sorted(samples), 50.0))
}

pub(super) fn bench_qr(sizes: &Sizes) -> Res<Vec<Row>> {
    // A real-length KOMOJU Hosted Page URL.
    let url = "https://komoju.com/sessions/e9x5mvx3jkpkofzcg7umfael6";
    let n = sizes.qr_calls;
    let encode = per_call_us(n, || {
        let c = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)?;
        std::hint::black_box(c);
        Ok(())
    })?;
    let svg = per_call_us(n, || {
        std::hint::black_box(reji::qr::svg(url)?);
        Ok(())
    })?;
    let term = per_call_us(n, || {
        std::hint::black_box(reji::qr::terminal(url)?);
        Ok(())
    })?;
    let mut rows = Vec::new();
    for (what, v) in [("SVG", svg), ("terminal", term)] {
        rows.push(
            Row::new("4", &format!("QR: session URL → {what}, median per call"))
                .value(v, "µs")
                .reference(
                    "bare qrcode encode, same URL and EC level M (µs)",
                    Some(encode),
                )
                .ratio(Some(v / encode), "of encode")
                .goal("- (no goal; inside row 2's 5 ms)", None),
        );
    }
    Ok(rows)
}
