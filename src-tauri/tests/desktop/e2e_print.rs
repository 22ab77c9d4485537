//! The receipt printer end to end (issue 18): the app in a real WebKit window prints to the printer
//! emulator on a loopback port (`printer-emu`, whose strict decoder is independent of Reji's
//! encoder). A cash sale prints its receipt and kicks the drawer; a card sale prints without a
//! kick; the konbini slip prints with a QR code of its instructions; a printer that is off says so
//! with a retry, and the retry prints the job once.

use super::e2e::{
    charge_by_qr, e2e_enabled, launch, one_at_a_time, open_first_row, sample_catalog, session_of,
    skip_welcome, Session, F1, F4,
};
use printer_emu::{decode, printed, text_lines, Behaviour, Emulator, Op, Printed};
use reji::fake::FakeControl;
use std::time::Duration;

fn kicks(ops: &[Op]) -> usize {
    ops.iter()
        .filter(|o| matches!(o, Op::DrawerKick { .. }))
        .count()
}

fn has_line(ops: &[Op], needle: &str) -> bool {
    text_lines(ops).iter().any(|l| l.contains(needle))
}

/// Sets the printer up from the settings screen: network, the emulator's port, a drawer on pin 2.
async fn set_up_printer(s: &Session, port: u16) {
    s.press(F4).await;
    s.wait("#printer-form #p-printer", Duration::from_secs(10))
        .await;
    s.js("const p = document.querySelector('#p-printer'); p.value = 'network'; p.dispatchEvent(new Event('change'));
          const d = document.querySelector('#p-drawer'); d.value = 'pin2'; d.dispatchEvent(new Event('change'));
          return true")
        .await;
    s.type_into("#p-host", "127.0.0.1").await;
    s.type_into("#p-port", &port.to_string()).await;
    s.click("#p-save").await;
    s.wait_js(
        "return window.rejiSettings && window.rejiSettings.printer === 'network' && window.rejiSettings.drawer === 'pin2'",
        "the printer settings were not saved",
        Duration::from_secs(10),
    )
    .await;
    s.screenshot("settings-printer").await;
}

#[test]
fn receipts_slips_and_the_drawer_on_the_receipt_printer() {
    if !e2e_enabled() {
        return;
    }
    let _turn = one_at_a_time();
    let data = tempfile::tempdir().unwrap();
    let emu = Emulator::start().unwrap();

    tauri::async_runtime::block_on(async {
        let (_driver, s) = launch(data.path()).await;
        skip_welcome(&s).await;
        sample_catalog(&s).await;
        set_up_printer(&s, emu.port()).await;

        // The test page: text and raster halves, cut.
        s.click("#p-test").await;
        let jobs = emu.wait_printed(1, Duration::from_secs(20));
        assert_eq!(jobs.len(), 1, "the test page");
        let ops = decode(&jobs[0].bytes).unwrap();
        assert!(has_line(&ops, "テスト印刷"));
        assert!(printed(&ops)
            .iter()
            .any(|p| matches!(p, Printed::Image { .. })));

        // A cash sale: the drawer opens and the receipt prints by itself.
        s.press(F1).await;
        s.click("#quick-keys .quick:nth-child(1)").await;
        s.click("#charge").await;
        s.wait("#pay-dialog[open] #pay-cash", Duration::from_secs(10))
            .await;
        s.click("#pay-dialog [data-cash='1000']").await;
        s.wait_text("#pay-summary", "520", Duration::from_secs(10))
            .await;
        s.click("#pay-submit").await;
        s.wait("#charge-result.paid", Duration::from_secs(20)).await;
        let cash_sale = s.text("#charge-number").await;
        let jobs = emu.wait_printed(3, Duration::from_secs(20));
        assert_eq!(jobs.len(), 3, "a kick and a receipt after the test page");
        let kick = decode(&jobs[1].bytes).unwrap();
        assert_eq!(kicks(&kick), 1, "the drawer opens for cash");
        let receipt = decode(&jobs[2].bytes).unwrap();
        assert_eq!(kicks(&receipt), 0);
        assert!(has_line(&receipt, "お預り（現金）") && has_line(&receipt, "¥1,000"));
        assert!(has_line(&receipt, "お釣り") && has_line(&receipt, "¥520"));
        assert_eq!(printed(&receipt).last(), Some(&Printed::Cut));
        s.wait_text("#toast", "印刷しました", Duration::from_secs(10))
            .await;
        s.click("#new-sale").await;

        // A card sale (PayPay through the QR): the receipt prints, the drawer stays shut.
        s.click("#quick-keys .quick:nth-child(7)").await;
        charge_by_qr(&s).await;
        s.wait("#charge-qr svg path", Duration::from_secs(20)).await;
        let number = s.text("#charge-number").await;
        let (origin, session) = session_of(data.path(), &number);
        FakeControl::new(&origin)
            .pay(&session, "paypay", None)
            .await
            .unwrap();
        s.wait("#charge-result.paid", Duration::from_secs(30)).await;
        let jobs = emu.wait_printed(4, Duration::from_secs(20));
        assert_eq!(jobs.len(), 4, "the card sale's receipt");
        let card = decode(&jobs[3].bytes).unwrap();
        assert_eq!(kicks(&card), 0, "no kick for a card or QR sale");
        assert!(has_line(&card, "PayPay"));
        s.click("#new-sale").await;

        // Konbini: the slip prints on demand with the fee and a QR of the instructions.
        s.click("#quick-keys .quick:nth-child(7)").await;
        charge_by_qr(&s).await;
        s.wait("#charge-qr svg path", Duration::from_secs(20)).await;
        let number = s.text("#charge-number").await;
        let (origin, session) = session_of(data.path(), &number);
        FakeControl::new(&origin)
            .pay(&session, "konbini", Some("lawson"))
            .await
            .unwrap();
        s.wait("#charge-print-slip", Duration::from_secs(30)).await;
        s.click("#charge-print-slip").await;
        let jobs = emu.wait_printed(5, Duration::from_secs(20));
        assert_eq!(jobs.len(), 5, "the slip");
        let slip = decode(&jobs[4].bytes).unwrap();
        let qr = printed(&slip).into_iter().find_map(|p| match p {
            Printed::Qr(d) => Some(d),
            _ => None,
        });
        assert!(
            qr.as_deref().is_some_and(|u| u.contains("/instructions/")),
            "{qr:?}"
        );
        assert!(has_line(&slip, "ローソン") && has_line(&slip, "お支払い金額"));
        assert_eq!(kicks(&slip), 0);

        // The printer is off: the reprint waits, the staff are told with a retry; back on, the
        // retry prints it once and says 再発行.
        emu.set_behaviour(Behaviour::Refuse);
        s.press(F4).await;
        s.wait("#printer-form #p-queue", Duration::from_secs(10))
            .await;
        s.invoke("print_receipt", serde_json::json!({ "number": cash_sale }))
            .await;
        s.wait_text("#toast", "プリンター", Duration::from_secs(20))
            .await;
        s.screenshot("print-failed").await;
        s.wait("#p-retry:not([hidden])", Duration::from_secs(20))
            .await;
        emu.set_behaviour(Behaviour::Normal);
        s.click("#p-retry").await;
        let jobs = emu.wait_printed(6, Duration::from_secs(20));
        assert_eq!(jobs.len(), 6, "the reprint, once");
        let reprint = decode(&jobs[5].bytes).unwrap();
        assert!(has_line(&reprint, "【再発行】"));
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(emu.printed().len(), 6, "nothing printed twice");

        // The cash sale's event log tells its printing in sentences: the drawer opened, the
        // reprint failed (the printer's doing, not a member's) and then printed as 再発行.
        s.click("#tab-history").await;
        s.wait("#history-rows tr", Duration::from_secs(10)).await;
        s.type_into("#h-text", &format!("{cash_sale}\u{E007}"))
            .await;
        s.wait_text(
            "#history-rows tr:first-child",
            &cash_sale,
            Duration::from_secs(10),
        )
        .await;
        open_first_row(&s).await;
        s.wait("#detail[open] .timeline", Duration::from_secs(10))
            .await;
        let log = s.text("#detail .timeline").await;
        for said in [
            "ドロアが開きました",
            "レシートを印刷しました",
            "レシート (再発行)を印刷できませんでした",
            "レシート (再発行)を印刷しました",
        ] {
            assert!(log.contains(said), "{said:?} in {log}");
        }
        assert!(
            !log.contains("(print)") && !log.contains("prj_"),
            "no raw print events: {log}"
        );
        s.screenshot("print-events").await;
    });
}
