//! The secret key never leaks: after a whole flow run with a recognisable key, neither the SQLite
//! file (and its WAL), nor any output, error message or `--json` response holds the key or any
//! 8-character slice of it.

use crate::common::*;
use reji::fake::FakeConfig;

const KEY: &str = "sk_test_zq9vx7wk3jrm2bt5ny8hc4dp";

fn slices(key: &str) -> Vec<&str> {
    (0..=key.len() - 8)
        .map(|i| &key[i..i + 8])
        .filter(|s| !s.starts_with("sk_test"))
        .collect()
}

fn assert_clean(what: &str, hay: &[u8]) {
    let text = String::from_utf8_lossy(hay);
    for s in slices(KEY) {
        assert!(!text.contains(s), "{what} contains {s:?} of the secret key");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_appears_nowhere_after_a_whole_flow() {
    let e = env_with(FakeConfig {
        secret_key: KEY.into(),
        ..Default::default()
    })
    .await;
    assert_eq!(e.fake.secret_key(), KEY);
    let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();
    let run = |args: Vec<String>| {
        let e = &e;
        async move {
            let a: Vec<&str> = args.iter().map(String::as_str).collect();
            let o = e.cmd(&a).output().await.unwrap();
            (args.join(" "), o)
        }
    };
    let (_, o) = run(vec![
        "--json".into(),
        "charge".into(),
        "--amount".into(),
        "1500".into(),
        "--methods".into(),
        "konbini,credit_card".into(),
    ])
    .await;
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    outputs.push(("charge".into(), [o.stdout, o.stderr].concat()));
    let inv = s(&v, "invoice_number");
    e.ctl
        .pay(&s(&v, "session_id"), "credit_card", None)
        .await
        .unwrap();
    for args in [
        vec!["--json", "show", inv.as_str()],
        vec!["show", inv.as_str()],
        vec!["--json", "refund", inv.as_str(), "--amount", "100"],
        vec!["--json", "sync"],
        vec!["--json", "list"],
        vec!["export"],
        vec!["--json", "keys", "show"],
        vec!["--json", "cancel", inv.as_str()], // not allowed: an error message
        vec!["--json", "show", "2099-000001"],  // not found
        vec!["--json", "charge", "--amount", "-1"], // bad input
    ] {
        let (name, o) = run(args.iter().map(|s| s.to_string()).collect()).await;
        outputs.push((name, [o.stdout, o.stderr].concat()));
    }
    // KOMOJU unreachable: the transport error message names the URL, never the key.
    let mut c = e.cmd(&[
        "--json",
        "--api-base",
        "http://127.0.0.1:9/api/v1",
        "show",
        &inv,
    ]);
    c.env("REJI_RETRIES", "1");
    let o = c.output().await.unwrap();
    outputs.push(("unreachable".into(), [o.stdout, o.stderr].concat()));
    // A rejected key (the wrong one is printed nowhere either).
    for (what, bytes) in &outputs {
        assert_clean(what, bytes);
    }
    let shown = String::from_utf8_lossy(&outputs[7].1).to_string();
    assert!(shown.contains("••••"), "keys show is masked: {shown}");
    for f in std::fs::read_dir(e.dir.path()).unwrap() {
        let p = f.unwrap().path();
        assert_clean(&p.display().to_string(), &std::fs::read(&p).unwrap());
    }
    // Debug of the client and the key type is masked.
    let client =
        reji::komoju::Client::new(&e.fake.api_base(), KEY.parse().unwrap(), Default::default())
            .unwrap();
    assert_clean("Client Debug", format!("{client:?}").as_bytes());
    let key: reji::keychain::SecretKey = KEY.parse().unwrap();
    assert_clean(
        "SecretKey Debug/Display",
        format!("{key:?} {key}").as_bytes(),
    );
}
