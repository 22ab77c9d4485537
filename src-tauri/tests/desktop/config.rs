//! The security configuration: a strict CSP, and a customer display that can call no command.

use serde_json::Value;
use std::path::Path;

fn read_json(rel: &str) -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn csp() -> Vec<(String, Vec<String>)> {
    let conf = read_json("../tauri.conf.json");
    let csp = &conf["app"]["security"]["csp"];
    match csp {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| {
                let sources = match v {
                    Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
                    Value::Array(a) => a
                        .iter()
                        .map(|x| x.as_str().expect("CSP source is a string").to_string())
                        .collect(),
                    other => panic!("CSP directive {k}: unexpected {other}"),
                };
                (k.clone(), sources)
            })
            .collect(),
        Value::String(s) => s
            .split(';')
            .filter(|d| !d.trim().is_empty())
            .map(|d| {
                let mut it = d.split_whitespace();
                let k = it.next().unwrap().to_string();
                (k, it.map(str::to_string).collect())
            })
            .collect(),
        other => panic!("app.security.csp must be set, found {other}"),
    }
}

#[test]
fn csp_is_strict() {
    let csp = csp();
    let get = |k: &str| {
        csp.iter()
            .find(|(d, _)| d == k)
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| panic!("CSP has no {k}"))
    };
    assert_eq!(get("default-src"), vec!["'self'"]);
    assert_eq!(get("script-src"), vec!["'self'"]);
    assert_eq!(get("style-src"), vec!["'self'"]);
    let mut img = get("img-src");
    img.sort();
    assert_eq!(img, vec!["'self'", "data:"]);
    for (directive, sources) in &csp {
        for s in sources {
            let lower = s.to_ascii_lowercase();
            // The one http source allowed: Tauri's IPC pseudo-host on Windows (never the network).
            let ipc = directive == "connect-src" && lower == "http://ipc.localhost";
            assert!(
                ipc || !(lower.starts_with("http:")
                    || lower.starts_with("https:")
                    || lower.starts_with("ws:")
                    || lower.starts_with("wss:")
                    || lower.contains('*')),
                "CSP {directive} allows a remote source: {s}"
            );
            assert_ne!(lower, "'unsafe-eval'", "CSP {directive} allows eval");
            assert_ne!(
                lower, "'unsafe-inline'",
                "CSP {directive} allows inline code"
            );
            assert_ne!(lower, "blob:", "CSP {directive} allows blob:");
        }
    }
    let conf = read_json("../tauri.conf.json");
    assert_ne!(
        conf["app"]["security"]["dangerousDisableAssetCspModification"],
        Value::Bool(true)
    );
}

#[test]
fn customer_display_grants_no_command() {
    let cap = read_json("capabilities/customer.json");
    assert_eq!(cap["windows"], serde_json::json!(["customer"]));
    for p in cap["permissions"].as_array().unwrap() {
        let id = p.as_str().expect("plain permission identifiers only");
        assert!(
            ["core:event:allow-listen", "core:event:allow-unlisten"].contains(&id),
            "the customer display must only listen to events, but is granted {id}"
        );
    }
    assert!(cap.get("remote").is_none(), "no remote origin may use IPC");
}

#[test]
fn staff_window_grants_exactly_the_app_commands() {
    let cap = read_json("capabilities/staff.json");
    assert_eq!(cap["windows"], serde_json::json!(["staff"]));
    assert!(cap.get("remote").is_none(), "no remote origin may use IPC");
    let granted: Vec<&str> = cap["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|p| p.starts_with("allow-"))
        .collect();
    let mut want: Vec<String> = reji_desktop::COMMANDS
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .collect();
    want.sort();
    let mut got: Vec<String> = granted.iter().map(|s| s.to_string()).collect();
    got.sort();
    assert_eq!(got, want);
}

/// The UI calls only commands the app has (and the capability grants): a renamed command fails here,
/// not at the counter.
#[test]
fn the_ui_calls_only_the_app_commands() {
    let api =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/js/api.js"))
            .unwrap();
    let mut called = Vec::new();
    for part in api.split("call(\"").skip(1) {
        let name = &part[..part.find('"').unwrap()];
        if !name.starts_with("plugin:") {
            called.push(name.to_string());
        }
    }
    assert!(called.len() >= 20, "api.js calls {called:?}");
    for c in &called {
        assert!(
            reji_desktop::COMMANDS.contains(&c.as_str()),
            "ui/js/api.js calls {c}, which the app does not have"
        );
    }
    for c in reji_desktop::COMMANDS {
        assert!(
            called.iter().any(|x| x == c),
            "the app has {c}, which ui/js/api.js does not name"
        );
    }
}
