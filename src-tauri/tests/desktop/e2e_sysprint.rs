//! The system print dialog prints the whole receipt (issue 18): the receipt dialog's 「印刷」 runs WebKit's
//! real print path (the shell's `print_dialog` and the print CSS); the app started with
//! `REJI_E2E_PRINT_DIR` answers the dialog as a person would, "Print to File" as PDF (src-tauri/src/sysprint.rs), once on an
//! 80 mm roll and once on A4. pdftotext reads each PDF back: every line of the receipt is there, on
//! white paper (no grey backdrop), on the paper asked for.

use super::e2e::{e2e_enabled, launch_app, one_at_a_time, sample_catalog, skip_welcome, Session};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Prints the open receipt with the dialog's paper `paper` (`80` or `a4`): the PDF, once WebKit says
/// the print finished.
async fn print_receipt(s: &Session, dir: &Path, n: u32, paper: &str) -> PathBuf {
    std::fs::write(dir.join("paper"), paper).unwrap();
    s.click("#receipt-print").await;
    let (done, failed) = (
        dir.join(format!("print-{n}.done")),
        dir.join(format!("print-{n}.failed")),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done.exists() {
        if let Ok(why) = std::fs::read_to_string(&failed) {
            panic!("printing to a file failed: {why}");
        }
        if Instant::now() > deadline {
            let found: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .filter_map(|e| e.ok().map(|e| e.file_name()))
                .collect();
            panic!("print-{n} did not finish in 60 s; the folder holds {found:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    dir.join(format!("print-{n}.pdf"))
}

fn pdftotext(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout", pdf.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils)");
    assert!(out.status.success(), "pdftotext {}", pdf.display());
    String::from_utf8(out.stdout).unwrap()
}

/// The first page's size in points (pdfinfo's "Page size: W x H pts").
fn page_size(pdf: &Path) -> (f64, f64) {
    let out = Command::new("pdfinfo").arg(pdf).output().expect("pdfinfo");
    let info = String::from_utf8_lossy(&out.stdout).to_string();
    let line = info
        .lines()
        .find(|l| l.starts_with("Page size:"))
        .unwrap_or_else(|| panic!("no page size in:\n{info}"));
    let nums: Vec<f64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (nums[0], nums[1])
}

/// The mean grey level of the first page (255 = white), from pdftoppm's PGM.
fn mean_grey(pdf: &Path) -> f64 {
    let out = Command::new("pdftoppm")
        .args([
            "-gray",
            "-r",
            "30",
            "-f",
            "1",
            "-l",
            "1",
            pdf.to_str().unwrap(),
        ])
        .output()
        .expect("pdftoppm");
    let data = out.stdout;
    // P5\n<w> <h>\n255\n<pixels>: the pixels are the last w*h bytes.
    let header: Vec<&[u8]> = data.splitn(4, |b| b.is_ascii_whitespace()).collect();
    let (w, h): (usize, usize) = (
        std::str::from_utf8(header[1]).unwrap().parse().unwrap(),
        std::str::from_utf8(header[2]).unwrap().parse().unwrap(),
    );
    let pixels = &data[data.len() - w * h..];
    pixels.iter().map(|&p| p as f64).sum::<f64>() / pixels.len() as f64
}

fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn the_system_print_dialog_prints_the_whole_receipt_on_80mm_and_a4() {
    if !e2e_enabled() {
        return;
    }
    let _turn = one_at_a_time();
    let data = tempfile::tempdir().unwrap();
    let prints = tempfile::tempdir().unwrap();
    tauri::async_runtime::block_on(async {
        let app = env!("CARGO_BIN_EXE_reji-desktop");
        let (_driver, s) = launch_app(
            app,
            Some(data.path()),
            &[("REJI_E2E_PRINT_DIR", prints.path())],
        )
        .await;
        skip_welcome(&s).await;
        sample_catalog(&s).await;
        // Eight lines: a receipt longer than the dialog shows without scrolling.
        for k in 1..=8 {
            s.click(&format!("#quick-keys .quick:nth-child({k})")).await;
        }
        s.click("#charge").await;
        s.wait("#pay-dialog[open] #pay-cash", Duration::from_secs(10))
            .await;
        s.type_into("#pay-cash", "10000").await;
        s.click("#pay-submit").await;
        s.wait("#charge-result.paid", Duration::from_secs(20)).await;
        s.click("#charge-receipt").await;
        if s.find("#receipt-paper").await.is_none() {
            std::thread::sleep(Duration::from_secs(1));
            if s.find("#receipt-paper").await.is_none() {
                s.click("#charge-receipt").await;
            }
        }
        s.wait("#receipt-paper .r-row", Duration::from_secs(10))
            .await;
        // The receipt as the dialog shows it, line by line.
        let lines: Vec<String> = serde_json::from_value(
            s.js("return [...document.querySelectorAll('#receipt-paper > *')].map((e) => e.textContent)")
                .await,
        )
        .unwrap();
        let lines: Vec<String> = lines
            .iter()
            .map(|l| squeeze(l))
            .filter(|l| !l.is_empty())
            .collect();
        assert!(lines.len() > 20, "a long receipt: {lines:?}");
        assert!(lines.iter().any(|l| l.contains("お釣り")), "{lines:?}");

        for (n, paper, width_mm) in [(1, "80", 80.0), (2, "a4", 210.0)] {
            let pdf = print_receipt(&s, prints.path(), n, paper).await;
            let text = squeeze(&pdftotext(&pdf));
            for line in &lines {
                assert!(
                    text.contains(line.as_str()),
                    "{line:?} missing from the {paper} print:\n{text}"
                );
            }
            let (w, _) = page_size(&pdf);
            let mm = w / 72.0 * 25.4;
            assert!(
                (mm - width_mm).abs() < 2.0,
                "the {paper} print is {mm:.0} mm wide"
            );
            let grey = mean_grey(&pdf);
            assert!(
                grey > 200.0,
                "the {paper} print is on white paper, not over a grey backdrop (mean {grey:.0})"
            );
            if let Some(dir) = std::env::var_os("REJI_E2E_SCREENSHOTS") {
                std::fs::create_dir_all(&dir).unwrap();
                let _ = Command::new("pdftoppm")
                    .args(["-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile"])
                    .arg(&pdf)
                    .arg(PathBuf::from(dir).join(format!("system-print-{paper}")))
                    .status();
            }
        }
    });
}
