fn main() {
    println!("cargo:rerun-if-changed=../ui");
    println!("cargo:rerun-if-changed=../tauri.conf.json");
    println!("cargo:rerun-if-changed=capabilities");
    println!("cargo:rerun-if-changed=src/lib.rs");
    let manifest = tauri_build::AppManifest::new().commands(reji_desktop_commands());
    if let Err(e) = tauri_build::try_build(
        tauri_build::Attributes::new()
            .config_path("../tauri.conf.json")
            .app_manifest(manifest),
    ) {
        panic!("tauri build failed: {e:#}");
    }
}

/// The app's commands, read from the one list in `src/lib.rs` (`app_commands! { … }`): each gets an
/// `allow-…` permission, which `capabilities/staff.json` grants.
fn reji_desktop_commands() -> &'static [&'static str] {
    let lib = std::fs::read_to_string("src/lib.rs").expect("src/lib.rs");
    let start = lib
        .find("\napp_commands! {")
        .expect("src/lib.rs declares its commands with app_commands! { … }");
    let body = &lib[start + "\napp_commands! {".len()..];
    let body = &body[..body.find('}').expect("the end of app_commands! { … }")];
    let names: Vec<&'static str> = body
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| {
            assert!(
                n.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "not a command name in app_commands!: {n:?}"
            );
            &*Box::leak(n.to_string().into_boxed_str())
        })
        .collect();
    Box::leak(names.into_boxed_slice())
}
