//! Reji's desktop shell (Tauri 2): the staff window (`ui/index.html`) and the customer display
//! (`ui/customer.html`) over the core library `reji`. Commands are thin adapters (`commands`);
//! all logic is in the core.

pub mod applog;
pub mod commands;
pub mod error;
pub mod printing;
pub mod state;
pub mod sysprint;
pub mod tracking;
pub mod windows;

use tauri::{Manager, Runtime};

/// Declares the app's commands once: `COMMANDS` (their names) and `with_commands` (their handler).
/// `build.rs` reads the list below to generate each command's `allow-…` permission;
/// `capabilities/staff.json` grants them to the staff window (a test checks that it grants exactly
/// these), the customer display gets none, and `ui/js/api.js` calls them (a test checks its names too).
macro_rules! app_commands {
    ($($name:ident),* $(,)?) => {
        /// Every command the staff window may call.
        pub const COMMANDS: &[&str] = &[$(stringify!($name)),*];

        /// Registers every command (shared by the app and the tests' mock builder).
        pub fn with_commands<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
            builder.invoke_handler(tauri::generate_handler![$(commands::$name),*])
        }
    };
}

app_commands! {
    app_info,
    preview_totals,
    charge,
    watch_invoice,
    unwatch_invoice,
    sync_now,
    today_view,
    close_day,
    save_close,
    refresh_invoice,
    cancel_invoice,
    retry_invoice,
    refund_invoice,
    preview_return,
    list_invoices,
    invoice_detail,
    receipt,
    test_connection,
    get_settings,
    set_setting,
    save_key,
    export_csv,
    open_customer_display,
    set_customer_view,
    demo_pay_window,
    set_settings,
    products_list,
    product_lookup,
    product_add,
    product_edit,
    product_archive,
    products_import,
    products_export,
    preview_cart,
    save_cart,
    current_cart,
    hold_cart,
    held_orders,
    recall_order,
    demo_paid_at_store,
    settle_preview,
    drawer_check,
    drawer_open,
    drawer_move,
    drawer_close,
    staff_state_get,
    sign_in,
    sign_out,
    staff_add,
    check_refund_bank,
    print_receipt,
    print_slip,
    print_test_page,
    print_drawer_check,
    open_drawer,
    print_queue,
    retry_prints,
    open_instructions,
    diagnostics,
    print_dialog,
    save_drawer_report,
}

/// Where the log lives: `logs/` beside the ledgers under `REJI_DATA_DIR` (tests, E2E), or the OS log
/// folder (Linux `~/.local/share/jp.reji.desktop/logs`, Windows `%LOCALAPPDATA%\jp.reji.desktop\logs`,
/// macOS `~/Library/Logs/jp.reji.desktop`).
fn log_dir<R: Runtime>(app: &tauri::App<R>) -> Result<std::path::PathBuf, tauri::Error> {
    match std::env::var_os("REJI_DATA_DIR") {
        Some(d) if !d.is_empty() => Ok(std::path::PathBuf::from(d).join("logs")),
        _ => app.path().app_log_dir(),
    }
}

/// Where the ledgers live: `REJI_DATA_DIR` (tests, E2E) or the OS app data directory.
fn data_dir<R: Runtime>(app: &tauri::App<R>) -> Result<std::path::PathBuf, tauri::Error> {
    match std::env::var_os("REJI_DATA_DIR") {
        Some(d) if !d.is_empty() => Ok(d.into()),
        _ => app.path().app_data_dir(),
    }
}

pub fn run() {
    let builder = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            windows::focus_staff(app)
        }))
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_notification::init())
        .setup(|app| {
            let dir = data_dir(app)?;
            if let Ok(logs) = log_dir(app) {
                applog::init(&logs);
            }
            applog::info(&format!(
                "Reji {} starting on {} {}",
                env!("CARGO_PKG_VERSION"),
                std::env::consts::OS,
                std::env::consts::ARCH
            ));
            let api_base = std::env::var("REJI_API_BASE")
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| reji::komoju::DEFAULT_API_BASE.to_string());
            let state = tauri::async_runtime::block_on(state::AppState::open(
                dir,
                Box::new(reji::keychain::OsKeychain::default()),
                api_base,
            ))
            .map_err(|e| format!("{}: {}", e.code, e.detail))?;
            applog::info(&format!("mode: {}", state.mode().mode));
            app.manage(state);
            // The payment tracker: one owned task; its changes reach the windows as events.
            let handle = app.handle().clone();
            tauri::async_runtime::block_on(async {
                let state = handle.state::<state::AppState>();
                tracking::start(&handle, &state).await;
            });
            // The print queue's delivery (it also sends what waited across a restart).
            app.manage(printing::start(app.handle()));
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the staff window quits (the customer display cannot be used alone).
            if window.label() == windows::STAFF {
                if let tauri::WindowEvent::Destroyed = event {
                    window.app_handle().exit(0);
                }
            }
        });
    with_commands(builder)
        .run(tauri::generate_context!("../tauri.conf.json"))
        .expect("error while running Reji");
}
