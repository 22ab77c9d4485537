//! Receipt printers against the emulator on a loopback port (printer-emu): jobs are decoded by its
//! strict ESC/POS decoder, written independently of Reji's encoder. Text mode reads back as the
//! receipt line by line; raster images turn into PNGs whose QR codes scan; the drawer opens exactly
//! for cash; a printer that refuses, stalls, closes mid-job or runs out of paper leaves the sale as
//! it was and the job in the queue, and a retry prints it once.

use crate::common::*;
use printer_emu::{decode, printed, stacked_image, text_lines, Behaviour, Emulator, Op, Printed};
use reji::printing::Timeouts;
use reji::register::{Assembly, KeySource};
use std::time::Duration;

async fn with_printer(e: &Env, emu: &Emulator, extra: &[(&str, &str)]) {
    let port = emu.port().to_string();
    let mut settings = vec![
        ("printer_host", "127.0.0.1"),
        ("printer_port", port.as_str()),
        ("printer", "network"),
    ];
    settings.extend_from_slice(extra);
    for (k, v) in settings {
        e.reji(&["settings", k, v]).await.ok();
    }
}

fn kicks(ops: &[Op]) -> usize {
    ops.iter()
        .filter(|o| matches!(o, Op::DrawerKick { .. }))
        .count()
}

fn ends_with_cut(ops: &[Op]) -> bool {
    matches!(printed(ops).last(), Some(Printed::Cut))
}

/// A line as read: words with single spaces (the terminal and the roll pad differently), a rule
/// as `---`.
fn read(l: &str) -> Option<String> {
    let words: Vec<&str> = l.split_whitespace().collect();
    match words.as_slice() {
        [] => None,
        [w] if w.chars().all(|c| c == '-') => Some("---".into()),
        _ => Some(words.join(" ")),
    }
}

/// The receipt as `reji receipt` prints it for the terminal, line by line.
async fn terminal_lines(e: &Env, id: &str) -> Vec<String> {
    let r = e.cmd(&["receipt", id]).output().await.unwrap();
    assert!(r.status.success());
    String::from_utf8_lossy(&r.stdout)
        .lines()
        .filter_map(read)
        .collect()
}

/// All of it without spaces: the same text whatever the line width.
fn run_together(lines: &[String]) -> String {
    lines.concat().split_whitespace().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cash_sale_kicks_the_drawer_and_prints_its_receipt_as_text_that_reads_back() {
    let e = env().await;
    let emu = Emulator::start().unwrap();
    e.reji(&["settings", "shop_name", "喫茶レジ"]).await.ok();
    with_printer(&e, &emu, &[("drawer", "pin2"), ("drawer_pulse_ms", "100")]).await;
    let v = e
        .charge(&[
            "--item",
            "コーヒー豆,1080,2,8",
            "--item",
            "マグカップ,1650,1,10",
            "--cash",
            "5000",
        ])
        .await;
    assert_eq!(v["status"], "paid", "{v}");
    let jobs = emu.wait_printed(2, Duration::from_secs(10));
    assert_eq!(jobs.len(), 2, "a kick and a receipt: {jobs:?}");
    assert!(jobs.iter().all(|j| j.error.is_none()), "{jobs:?}");
    let kick = decode(&jobs[0].bytes).unwrap();
    assert_eq!(kicks(&kick), 1);
    assert!(kick.contains(&Op::DrawerKick {
        pin: 2,
        on: 50,
        off: 250
    }));
    assert!(
        !ends_with_cut(&kick),
        "a drawer kick prints nothing and cuts nothing"
    );

    let receipt = decode(&jobs[1].bytes).unwrap();
    assert_eq!(kicks(&receipt), 0, "one kick per sale");
    assert!(ends_with_cut(&receipt));
    assert!(receipt.contains(&Op::KanjiCode(1)) && receipt.contains(&Op::KanjiOn));
    let lines: Vec<String> = text_lines(&receipt)
        .iter()
        .filter_map(|l| read(l))
        .collect();
    let id = s(&v, "invoice_number");
    let terminal = terminal_lines(&e, &id).await;
    assert_eq!(
        run_together(&lines),
        run_together(&terminal),
        "the printed receipt reads as the terminal's:\n{lines:#?}\n{terminal:#?}"
    );
    // Line by line, but for a long note the roll wraps.
    let fits: Vec<&String> = terminal
        .iter()
        .filter(|l| reji::receipt::display_width(l) <= 48)
        .collect();
    let mut at = lines.iter();
    for l in fits {
        assert!(
            at.any(|p| p == l),
            "{l:?} is a printed line, in order: {lines:#?}"
        );
    }
    for needle in [
        "喫茶レジ",
        "お預り（現金）",
        "¥5,000",
        "お釣り",
        "¥1,190",
        "※",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(needle)),
            "{needle:?} in {lines:#?}"
        );
    }

    // The event log has the print; a second print of the same receipt says 再発行.
    let r = e.reji(&["print", "receipt", &id]).await.ok().json();
    assert_eq!(r["printed"][0]["reissue"], true, "{r}");
    let jobs = emu.wait_printed(3, Duration::from_secs(10));
    let reprint = decode(&jobs[2].bytes).unwrap();
    assert!(text_lines(&reprint)
        .iter()
        .any(|l| l.contains("【再発行】")));
    assert_eq!(kicks(&reprint), 0, "a reprint never opens the drawer");
    let ledger = e.ledger();
    let inv = ledger.find_invoice(&id).unwrap();
    let prints: Vec<String> = ledger
        .events(inv.id)
        .unwrap()
        .into_iter()
        .filter(|ev| ev.kind == "print")
        .filter_map(|ev| ev.detail)
        .collect();
    assert_eq!(
        prints.iter().filter(|d| d.contains(" printed ")).count(),
        3,
        "{prints:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_sale_prints_without_a_kick_and_drawer_movements_kick() {
    let e = env().await;
    let emu = Emulator::start().unwrap();
    with_printer(&e, &emu, &[("drawer", "pin5")]).await;
    let a = e.charge(&["--amount", "1200"]).await;
    e.ctl
        .pay(&s(&a, "session_id"), "credit_card", None)
        .await
        .unwrap();
    let id = s(&a, "invoice_number");
    assert_eq!(s(&e.show(&id).await, "status"), "paid");
    e.reji(&["print", "receipt", &id]).await.ok();
    let jobs = emu.wait_printed(1, Duration::from_secs(10));
    assert_eq!(jobs.len(), 1);
    let ops = decode(&jobs[0].bytes).unwrap();
    assert_eq!(kicks(&ops), 0, "a card sale never opens the drawer");
    assert!(text_lines(&ops)
        .iter()
        .any(|l| l.contains("クレジットカード")));

    // 入金 opens the drawer (pin 5).
    e.reji(&["drawer", "in", "--amount", "1000", "--reason", "両替"])
        .await
        .ok();
    let jobs = emu.wait_printed(2, Duration::from_secs(10));
    let ops = decode(&jobs[1].bytes).unwrap();
    assert!(ops
        .iter()
        .any(|o| matches!(o, Op::DrawerKick { pin: 5, .. })));

    // "Open drawer" is a manager's action, logged in the queue.
    e.reji(&["print", "drawer"]).await.ok();
    emu.wait_printed(3, Duration::from_secs(10));
    let q = e.reji(&["print", "queue"]).await.ok().json();
    let recent = q["recent"].as_array().unwrap();
    assert!(
        recent
            .iter()
            .any(|j| j["subject"] == "open drawer" && j["created_by"] == "staff"),
        "{q}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_konbini_slip_prints_its_fee_and_a_qr_of_the_instructions_in_text_and_raster() {
    let e = env().await;
    let emu = Emulator::start().unwrap();
    with_printer(&e, &emu, &[]).await;
    let a = e.charge(&["--amount", "1750"]).await;
    e.ctl
        .pay(&s(&a, "session_id"), "konbini", None)
        .await
        .unwrap();
    let id = s(&a, "invoice_number");
    let v = e.show(&id).await;
    let url = v["payment_details"]["instructions_url"]
        .as_str()
        .expect("instructions")
        .to_string();
    let fee = v["payment_method_fee"].as_i64().unwrap();
    assert!(fee > 0, "{v}");
    e.reji(&["print", "slip", &id]).await.ok();
    let jobs = emu.wait_printed(1, Duration::from_secs(10));
    let ops = decode(&jobs[0].bytes).unwrap();
    let p = printed(&ops);
    assert!(p.contains(&Printed::Qr(url.clone())), "{p:?}");
    let total = reji::money::Money::jpy(1750 + fee).to_string();
    assert!(
        text_lines(&ops)
            .iter()
            .any(|l| l.contains("お支払い金額") && l.contains(&total)),
        "{total} in {:#?}",
        text_lines(&ops)
    );
    assert!(ends_with_cut(&ops));

    // Raster mode: the same slip as an image whose QR code scans back to the instructions.
    e.reji(&["settings", "printer_mode", "raster"]).await.ok();
    e.reji(&["print", "slip", &id]).await.ok();
    let jobs = emu.wait_printed(2, Duration::from_secs(10));
    let ops = decode(&jobs[1].bytes).unwrap();
    assert!(text_lines(&ops).iter().all(|l| l.is_empty()), "no text");
    let (w, h, bits) = stacked_image(&ops).expect("an image");
    assert_eq!(w, 576);
    let luma = printer_emu::luma_of_bits(w, h, &bits);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| luma[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the slip");
    let (_, content) = grids[0].decode().unwrap();
    assert_eq!(content, url);
    assert!(ends_with_cut(&ops));
    if let Ok(dir) = std::env::var("REJI_E2E_SCREENSHOTS") {
        std::fs::write(
            std::path::Path::new(&dir).join("printed-konbini-slip.png"),
            printer_emu::png_of_bits(w, h, &bits),
        )
        .unwrap();
    }
}

fn register(e: &Env) -> reji::register::Register {
    Assembly::new(e.fake.api_base(), Default::default())
        .open(&e.db, KeySource::Offline)
        .unwrap()
}

fn quick() -> Timeouts {
    Timeouts {
        connect: Duration::from_millis(500),
        io: Duration::from_millis(400),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_printer_leaves_the_sale_paid_and_the_job_queued_until_a_retry_prints_it_once() {
    let e = env().await;
    let emu = Emulator::start().unwrap();
    with_printer(&e, &emu, &[("drawer", "pin2")]).await;

    // Refused: the sale is paid all the same, the CLI warns, the receipt waits.
    emu.set_behaviour(Behaviour::Refuse);
    let r = e
        .reji(&["charge", "--amount", "800", "--cash", "1000"])
        .await
        .ok();
    let v = r.json();
    assert_eq!(v["status"], "paid");
    assert!(
        r.stderr.contains("print queue"),
        "a warning names the queue: {}",
        r.stderr
    );
    let id = s(&v, "invoice_number");
    let q = e.reji(&["print", "queue"]).await.ok().json();
    let pending = q["pending"].as_array().unwrap();
    assert_eq!(
        pending.len(),
        1,
        "the receipt waits; the kick was dropped: {q}"
    );
    assert_eq!(pending[0]["kind"], "receipt");
    assert!(pending[0]["last_error"]
        .as_str()
        .unwrap()
        .starts_with("offline"));
    let dropped = q["recent"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["kind"] == "drawer")
        .unwrap();
    assert_eq!(dropped["status"], "dropped", "{q}");
    // `reji print retry` with the printer still off: exit 1, code printer, still waiting.
    let r = e.reji(&["print", "retry"]).await;
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("printer"), "{}", r.stderr);

    // Stalled, then cut off mid-job, then out of paper: each attempt fails and nothing printed.
    let mut reg = register(&e);
    for b in [
        Behaviour::Stall,
        Behaviour::CloseAfter(40),
        Behaviour::PaperOut,
    ] {
        emu.set_behaviour(b);
        let report = reg.print_pending(quick()).unwrap();
        assert!(report.printed.is_empty(), "{b:?}: {report:?}");
        let code = report.error_code.clone().unwrap();
        let expected = match b {
            Behaviour::Stall => "timeout",
            Behaviour::PaperOut => "paper_out",
            _ => code.as_str(),
        };
        assert_eq!(code, expected, "{b:?}");
        assert!(
            matches!(code.as_str(), "timeout" | "connection_lost" | "paper_out"),
            "{b:?}: {code}"
        );
        assert_eq!(reg.pending_prints().unwrap().len(), 1);
    }
    assert!(emu.printed().is_empty(), "nothing printed while failing");
    assert_eq!(
        e.show(&id).await["status"],
        "paid",
        "the sale never changed"
    );

    // Back to normal: a restart later (a new register over the same ledger), the retry prints it
    // once, and another retry prints nothing more.
    emu.set_behaviour(Behaviour::Normal);
    drop(reg);
    let r = e.reji(&["print", "retry"]).await.ok().json();
    assert_eq!(r["printed"][0]["kind"], "receipt", "{r}");
    e.reji(&["print", "retry"]).await.ok();
    let jobs = emu.wait_printed(1, Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(emu.printed().len(), 1, "printed exactly once");
    let ops = decode(&jobs[0].bytes).unwrap();
    assert_eq!(kicks(&ops), 0, "a late receipt never opens the drawer");
    assert!(!text_lines(&ops).iter().any(|l| l.contains("再発行")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_page_prints_both_modes_and_a_drawer_report_prints_its_count() {
    let e = env().await;
    let emu = Emulator::start().unwrap();
    with_printer(&e, &emu, &[("printer_paper", "58")]).await;
    e.reji(&["print", "test"]).await.ok();
    let jobs = emu.wait_printed(1, Duration::from_secs(10));
    let ops = decode(&jobs[0].bytes).unwrap();
    let lines = text_lines(&ops);
    assert!(lines.iter().any(|l| l.contains("テスト印刷（テキスト）")));
    assert!(lines.iter().all(|l| l.chars().count() <= 32), "{lines:#?}");
    let (w, _, _) = stacked_image(&ops).expect("the raster half");
    assert_eq!(w, 384, "58 mm: 384 dots");
    assert!(ends_with_cut(&ops));

    e.reji(&["drawer", "open", "--count", "1000:5"]).await.ok();
    e.charge(&["--amount", "300", "--cash", "1000"]).await;
    e.reji(&["drawer", "close", "--count", "1000:5", "--print"])
        .await
        .ok();
    let jobs = emu.wait_printed(3, Duration::from_secs(10));
    let report = jobs
        .iter()
        .map(|j| text_lines(&decode(&j.bytes).unwrap()))
        .find(|l| l.iter().any(|x| x.contains("精算レポート")))
        .expect("the 精算 report printed");
    for needle in [
        "現金在高（理論）",
        "現金在高（実査）",
        "過不足（不足）",
        "¥1,000 × 5",
    ] {
        assert!(
            report.iter().any(|l| l.contains(needle)),
            "{needle:?} in {report:#?}"
        );
    }

    // The next drawer session's 精算 in raster mode: an image as wide as the 58 mm roll.
    e.reji(&["settings", "printer_mode", "raster"]).await.ok();
    e.reji(&["drawer", "open", "--count", "1000:5"]).await.ok();
    e.charge(&["--amount", "1280", "--cash", "2000"]).await;
    e.reji(&["drawer", "out", "--amount", "500", "--reason", "仕入れ"])
        .await
        .ok();
    e.reji(&[
        "drawer",
        "close",
        "--count",
        "1000:5,500:1,100:2",
        "--print",
    ])
    .await
    .ok();
    // Jobs so far: the test page, two receipts (auto_print) and two reports.
    let jobs = emu.wait_printed(5, Duration::from_secs(10));
    assert_eq!(jobs.len(), 5);
    let ops = decode(&jobs[4].bytes).unwrap();
    let (w, h, bits) = stacked_image(&ops).expect("the report as an image");
    assert_eq!(w, 384);
    assert!(h > 300, "a report, not a blank strip: {h} dots");
    if let Ok(dir) = std::env::var("REJI_E2E_SCREENSHOTS") {
        std::fs::write(
            std::path::Path::new(&dir).join("printed-drawer-report.png"),
            printer_emu::png_of_bits(w, h, &bits),
        )
        .unwrap();
    }
}

#[test]
fn a_raster_receipt_matches_its_golden_image() {
    use reji::invoice::LineItem;
    use reji::receipt::{Receipt, SaleFacts, ShopDetails};
    let Ok(font) = reji::receipt::pdf::PdfFont::load() else {
        panic!("a Japanese font is needed (fonts-ipafont-gothic; scripts/install.sh installs it)");
    };
    let items = vec![
        LineItem::from_parts("コーヒー豆", 1080, 2, 8).unwrap(),
        LineItem::from_parts("マグカップ", 1650, 1, 10).unwrap(),
    ];
    let facts = SaleFacts::ring_up(
        "INV-20261201-0001",
        "2026-12-01 10:30",
        items,
        reji::tax::PriceMode::Inclusive,
        reji::tax::Rounding::Down,
        Some("paypay"),
    )
    .unwrap();
    let shop = ShopDetails {
        name: "喫茶レジ".into(),
        registration_number: Some("T7120001168421".into()),
        ..Default::default()
    };
    let r = Receipt::sale(&facts, &shop, false);
    let bmp = reji::printing::raster::render(&r.layout(), reji::printing::PaperWidth::Mm80, &font)
        .unwrap();
    let golden =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/raster-receipt.png");
    if std::env::var_os("REJI_BLESS").is_some() {
        std::fs::write(
            &golden,
            printer_emu::png_of_bits(bmp.width, bmp.height, &bmp.bits),
        )
        .unwrap();
    }
    let data = std::fs::read(&golden).expect("the golden image (REJI_BLESS=1 writes it)");
    let mut dec = png::Decoder::new(std::io::Cursor::new(data));
    dec.set_transformations(png::Transformations::EXPAND);
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.width as usize, bmp.width);
    // Heights may differ by a line's rounding on another font build; compare what both have.
    let h = (info.height as usize).min(bmp.height);
    assert!(
        (info.height as usize).abs_diff(bmp.height) <= 4,
        "{} vs {}",
        info.height,
        bmp.height
    );
    let ours = bmp.luma();
    let mut differ = 0usize;
    for y in 0..h {
        for x in 0..bmp.width {
            let g = buf[y * info.line_size + x] > 127;
            let o = ours[y * bmp.width + x] > 127;
            if g != o {
                differ += 1;
            }
        }
    }
    let share = differ as f64 / (h * bmp.width) as f64;
    assert!(
        share < 0.005,
        "{differ} pixels ({:.2} %) differ from the golden image",
        share * 100.0
    );
    // And it is a receipt, not a blank strip: ink on about 3–20 % of it.
    let ink = ours.iter().filter(|p| **p == 0).count() as f64 / ours.len() as f64;
    assert!((0.01..0.25).contains(&ink), "ink {ink}");
}

/// A USB printer on Linux is a character device (`/dev/usb/lp0`): here a FIFO stands in for it, read
/// by a thread as the kernel's driver would take the bytes. A cash sale writes two jobs to it (the
/// drawer kick, then the receipt) and they arrive whole and in order; a device that is missing is a
/// clear `device` failure and the job waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_usb_device_file_gets_each_job_whole() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let e = env().await;
    let dev = e.dir.path().join("lp0");
    let made = std::process::Command::new("mkfifo")
        .arg(&dev)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    // The "driver": reads whatever is written, open after open, until told to stop. (Two jobs
    // written back to back may arrive in one read: a FIFO does not keep the writers' boundaries.)
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (dev, stop) = (dev.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut all = Vec::new();
            loop {
                let bytes = std::fs::read(&dev).expect("read the device");
                if bytes.is_empty() && stop.load(Ordering::SeqCst) {
                    return all;
                }
                all.extend(bytes);
            }
        })
    };
    for (k, v) in [
        ("printer", "usb"),
        ("printer_device", dev.to_str().unwrap()),
        ("drawer", "pin2"),
    ] {
        e.reji(&["settings", k, v]).await.ok();
    }
    let v = e
        .charge(&["--item", "コーヒー豆,1080,1,8", "--cash", "2000"])
        .await;
    assert_eq!(v["status"], "paid", "{v}");
    // Both jobs are written (the command has ended): stop the reader with empty writes, opened
    // without blocking (no reader: ENXIO, try again) until it has seen one.
    stop.store(true, Ordering::SeqCst);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !reader.is_finished() {
        use std::os::unix::fs::OpenOptionsExt;
        const O_NONBLOCK: i32 = 0o4000; // Linux
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(O_NONBLOCK)
            .open(&dev);
        assert!(
            std::time::Instant::now() < deadline,
            "the reader did not stop"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let bytes = reader.join().unwrap();
    let ops = decode(&bytes).unwrap();
    assert_eq!(kicks(&ops), 1, "one drawer kick");
    let first_kick = ops
        .iter()
        .position(|o| matches!(o, Op::DrawerKick { .. }))
        .unwrap();
    let first_text = ops
        .iter()
        .position(|o| matches!(o, Op::Text(_)))
        .unwrap_or(usize::MAX);
    assert!(first_kick < first_text, "the drawer before the receipt");
    assert!(ends_with_cut(&ops), "the receipt whole, cut");
    let text = run_together(
        &text_lines(&ops)
            .iter()
            .filter_map(|l| read(l))
            .collect::<Vec<_>>(),
    );
    assert!(
        text.contains("コーヒー豆") && text.contains("お釣り"),
        "{text}"
    );

    // The device unplugged: the sale is paid, the job waits with a clear reason.
    std::fs::remove_file(&dev).unwrap();
    let id = s(&v, "invoice_number");
    let r = e.reji(&["print", "receipt", &id]).await;
    assert!(
        r.stderr.contains("device") || r.stdout.contains("device"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    let queue = e.reji(&["print", "queue"]).await.ok().json();
    assert!(
        queue.to_string().contains("failed") || queue.to_string().contains("queued"),
        "{queue}"
    );
}
