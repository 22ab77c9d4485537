//! The installed Debian package, end to end (`scripts/package-check` installs it, runs this test with
//! `REJI_E2E_INSTALLED=/usr/bin/reji-desktop`, then removes the package and checks that the books are
//! still there). The app keeps its ledgers where it does by itself: the script points
//! `XDG_DATA_HOME` at a folder of its own.

use super::e2e::{charge_by_qr, e2e_enabled, launch_app, one_at_a_time, sample_catalog};
use std::time::Duration;

#[test]
fn installed_package_opens_in_demo_mode_and_reaches_the_qr() {
    let Some(app) = std::env::var("REJI_E2E_INSTALLED")
        .ok()
        .filter(|p| !p.is_empty())
    else {
        eprintln!("skipped: scripts/package-check runs it against the installed package");
        return;
    };
    if !e2e_enabled() {
        return;
    }
    assert!(
        std::path::Path::new(&app).is_file(),
        "{app} is not installed"
    );
    let _turn = one_at_a_time();
    tauri::async_runtime::block_on(async {
        let (_driver, s) = launch_app(&app, None, &[]).await;
        // The first start asks for the shop's name: a setting the removal must keep.
        s.wait("#welcome-dialog #w-shop", Duration::from_secs(20))
            .await;
        s.type_into("#w-shop", "パッケージ喫茶").await;
        s.click("#w-save").await;
        s.wait_text("#shop-name", "パッケージ喫茶", Duration::from_secs(10))
            .await;
        sample_catalog(&s).await;
        s.click("#quick-keys .quick:nth-child(1)").await;
        let total = s.text("#total").await;
        assert!(total.contains("480"), "total {total}");
        charge_by_qr(&s).await;
        s.wait("#charge-qr svg path", Duration::from_secs(20)).await;
        let number = s.text("#charge-number").await;
        assert!(!number.trim().is_empty(), "the charge shows its number");
        s.screenshot("installed-package").await;
    });
}
