fn main() {
    println!("cargo:rerun-if-changed=../ui");
    println!("cargo:rerun-if-changed=../tauri.conf.json");
    println!("cargo:rerun-if-changed=capabilities");
    let manifest = tauri_build::AppManifest::new().commands(reji_desktop_commands());
    if let Err(e) = tauri_build::try_build(
        tauri_build::Attributes::new()
            .config_path("../tauri.conf.json")
            .app_manifest(manifest),
    ) {
        panic!("tauri build failed: {e:#}");
    }
}

/// The app's commands (each gets an `allow-…` permission; `capabilities/staff.json` grants them).
fn reji_desktop_commands() -> &'static [&'static str] {
    &[
        "app_info",
        "preview_totals",
        "charge",
        "watch_invoice",
        "unwatch_invoice",
        "sync_now",
        "today_view",
        "close_day",
        "save_close",
        "refresh_invoice",
        "cancel_invoice",
        "retry_invoice",
        "refund_invoice",
        "list_invoices",
        "invoice_detail",
        "receipt",
        "test_connection",
        "get_settings",
        "set_setting",
        "save_key",
        "export_csv",
        "open_customer_display",
        "set_customer_view",
        "demo_pay_window",
    ]
}
