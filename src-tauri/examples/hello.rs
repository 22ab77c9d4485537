//! The reference of benchmark row 5 (docs/benchmarks.md): a minimal Tauri window. Same Tauri, same
//! build profile, same WebKit and the same embedded assets as the app, but no Reji: no ledger, no
//! fake KOMOJU, no plugins, no commands, one static page (`ui/hello.html`).
//!
//! `cargo build --release --example hello -p reji-desktop`; run by `scripts/bench-desktop`.

fn main() {
    let mut ctx = tauri::generate_context!("../tauri.conf.json");
    // Not the app's staff window: one window with the hello page instead.
    ctx.config_mut().app.windows.clear();
    tauri::Builder::default()
        .setup(|app| {
            tauri::WebviewWindowBuilder::new(
                app,
                "main",
                tauri::WebviewUrl::App("hello.html".into()),
            )
            .title("hello")
            .inner_size(1280.0, 800.0)
            .build()?;
            Ok(())
        })
        .run(ctx)
        .expect("the hello window runs");
}
