//! `reji keys` against the real OS keychain (a Secret Service under dbus-run-session in CI; see
//! scripts/with-keychain.sh). Skipped unless REJI_TEST_KEYCHAIN=1.

use crate::common;

use tokio::io::AsyncWriteExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_show_use_and_delete_the_key_in_the_os_keychain() {
    if std::env::var("REJI_TEST_KEYCHAIN").as_deref() != Ok("1") {
        eprintln!("skipped: set REJI_TEST_KEYCHAIN=1 inside scripts/with-keychain.sh to run against a real Secret Service");
        return;
    }
    let e = common::env().await;
    let run = |args: &'static [&'static str], stdin: Option<String>| {
        let e = &e;
        async move {
            let mut c = e.cmd(args);
            c.env_remove("REJI_SECRET_KEY");
            c.stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            let mut child = c.spawn().unwrap();
            let mut i = child.stdin.take().unwrap();
            if let Some(s) = stdin {
                i.write_all(s.as_bytes()).await.unwrap();
            }
            drop(i);
            common::Run::from(child.wait_with_output().await.unwrap())
        }
    };
    run(&["keys", "delete"], None).await.ok();
    let key = e.fake.secret_key().to_string();
    let r = run(&["--json", "keys", "set"], Some(format!("{key}\n")))
        .await
        .ok();
    assert!(!r.stdout.contains(&key) && !r.stderr.contains(&key));
    let shown = run(&["--json", "keys", "show"], None).await.ok().json();
    assert_eq!(shown["mode"], "test");
    let masked = shown["key"].as_str().unwrap();
    assert!(masked.ends_with(&key[key.len() - 4..]) && !masked.contains(&key[8..key.len() - 4]));
    // The stored key is used for a real charge.
    let v = run(&["--json", "charge", "--amount", "100"], None)
        .await
        .ok()
        .json();
    assert!(v["session_id"].is_string());
    run(&["keys", "delete"], None).await.ok();
    let r = run(&["keys", "show"], None).await;
    assert_eq!(r.code, 3, "{}", r.stderr);
    let r = run(&["charge", "--amount", "100"], None).await;
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("reji keys set"), "{}", r.stderr);
    // Nothing of the key in the ledger file.
    let db = std::fs::read(&e.db).unwrap();
    assert!(!db.windows(key.len()).any(|w| w == key.as_bytes()));
}
