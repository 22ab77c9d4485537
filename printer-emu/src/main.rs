//! `printer-emu [--listen ADDR] [--out DIR]`: a receipt printer on the network for trying Reji's
//! printing without hardware. Every job is saved in DIR as `job-N.bin` (the bytes), `job-N.txt`
//! (the decoded text lines, QR payloads, cuts and drawer kicks) and, for raster jobs, `job-N.png`.

use printer_emu::{png_of_bits, printed, stacked_image, Emulator, Printed};
use std::path::PathBuf;
use std::time::Duration;

fn main() {
    let mut listen = "127.0.0.1:9100".to_string();
    let mut out = PathBuf::from("printer-jobs");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => listen = args.next().unwrap_or_else(|| usage("--listen needs ADDR")),
            "--out" => {
                out = args
                    .next()
                    .map(PathBuf::from)
                    .unwrap_or_else(|| usage("--out needs DIR"))
            }
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("printer-emu: cannot create {}: {e}", out.display());
        std::process::exit(1);
    }
    let emu = Emulator::bind(&listen).unwrap_or_else(|e| {
        eprintln!("printer-emu: cannot listen on {listen}: {e}");
        std::process::exit(1);
    });
    println!(
        "printer-emu: listening on {} (jobs saved in {})",
        emu.addr(),
        out.display()
    );
    let mut seen = 0;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let jobs = emu.jobs();
        for (i, job) in jobs.iter().enumerate().skip(seen) {
            let n = i + 1;
            let base = out.join(format!("job-{n}"));
            std::fs::write(base.with_extension("bin"), &job.bytes).ok();
            let ops = job.ops();
            let mut text = String::new();
            if let Some(e) = &job.error {
                text.push_str(&format!("[refused: {e}]\n"));
            }
            for p in printed(&ops) {
                match p {
                    Printed::Line(l) => text.push_str(&format!("{}\n", l.text)),
                    Printed::Qr(d) => text.push_str(&format!("[QR {d}]\n")),
                    Printed::Image { width, height, .. } => {
                        text.push_str(&format!("[image {width}×{height}]\n"))
                    }
                    Printed::Cut => text.push_str("[cut]\n"),
                    Printed::Kick { pin } => text.push_str(&format!("[drawer kick, pin {pin}]\n")),
                }
            }
            std::fs::write(base.with_extension("txt"), &text).ok();
            if let Some((w, h, bits)) = stacked_image(&ops) {
                std::fs::write(base.with_extension("png"), png_of_bits(w, h, &bits)).ok();
            }
            println!(
                "job {n}: {} bytes{}",
                job.bytes.len(),
                if job.printed { "" } else { " (not printed)" }
            );
        }
        seen = jobs.len();
    }
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("printer-emu: {problem}");
    }
    eprintln!("usage: printer-emu [--listen 127.0.0.1:9100] [--out DIR]");
    std::process::exit(2);
}
