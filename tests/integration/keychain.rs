//! A real round trip through the OS keychain.
//!
//! Runs only with `REJI_TEST_KEYCHAIN=1` (then it must pass: a missing keychain is a failure).
//! On Linux, run it inside a throw-away Secret Service session:
//!
//! ```sh
//! scripts/with-keychain.sh cargo test --test keychain
//! ```

use std::io::Write as _;
#[cfg(target_os = "linux")]
use std::process::Command;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use reji::keychain::{KeyError, KeyStore, OsKeychain, SecretKey, ACCOUNT};

/// The tests in this file take turns: a shop's register talks to its keychain one call at a time,
/// and two tests racing on one daemon proved nothing more (a CI run once lost the daemon mid-race).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn enabled() -> bool {
    match std::env::var("REJI_TEST_KEYCHAIN") {
        Ok(v) if v == "1" => true,
        _ => {
            // Written to stderr directly (not eprintln!) so the libtest capture does not hide it.
            let _ = writeln!(
                std::io::stderr(),
                "keychain test skipped: set REJI_TEST_KEYCHAIN=1 to test against the real OS keychain"
            );
            false
        }
    }
}

fn unique_service() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("reji-test-{}-{nanos}", std::process::id())
}

/// The secret as `secret-tool` sees it, proving it is in the Secret Service itself.
/// `None` if secret-tool finds nothing; panics if secret-tool cannot be run.
#[cfg(target_os = "linux")]
fn secret_tool_lookup(service: &str) -> Option<String> {
    let out = Command::new("secret-tool")
        .args(["lookup", "service", service, "username", ACCOUNT])
        .output()
        .expect("secret-tool (libsecret-tools) is needed for this test");
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap())
        .filter(|s| !s.is_empty())
}

#[test]
fn os_keychain_round_trip() {
    if !enabled() {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let service = unique_service();
    let store = OsKeychain::new(service.as_str(), ACCOUNT);
    let key: SecretKey = "sk_test_reJiKeychainTest_0123wxyz".parse().unwrap();

    // Nothing there yet.
    let got = store
        .get()
        .unwrap_or_else(|e| panic!("OS keychain not usable: {e}"));
    assert!(got.is_none());
    assert!(!store.delete().unwrap());

    store.set(&key).unwrap();
    let got = store.get().unwrap().expect("key was just stored");
    assert_eq!(got.expose(), key.expose());

    #[cfg(target_os = "linux")]
    assert_eq!(
        secret_tool_lookup(&service).as_deref(),
        Some(key.expose()),
        "the key is not in the Secret Service"
    );

    // It is keyring's item, with the attributes documented in src/keychain.rs.
    #[cfg(target_os = "linux")]
    {
        let out = Command::new("secret-tool")
            .args(["search", "--all", "service", &service, "username", ACCOUNT])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            text.contains("attribute.application = rust-keyring"),
            "{text}"
        );
        assert!(text.contains("attribute.target = default"), "{text}");
    }

    // Overwrite with another key.
    let live: SecretKey = "sk_live_AnotherKey_987654321".parse().unwrap();
    store.set(&live).unwrap();
    assert_eq!(store.get().unwrap().unwrap().expose(), live.expose());

    assert!(store.delete().unwrap());
    assert!(store.get().unwrap().is_none());
    assert!(!store.delete().unwrap());
    #[cfg(target_os = "linux")]
    assert_eq!(secret_tool_lookup(&service), None);
}

#[test]
fn os_keychain_rejects_invalid_stored_value() {
    if !enabled() {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let service = unique_service();
    // Store garbage the way another tool might, then read it through OsKeychain.
    let entry = keyring::Entry::new(&service, ACCOUNT).unwrap();
    entry.set_password("pk_test_notasecretkey123").unwrap();
    let err = OsKeychain::new(service.as_str(), ACCOUNT)
        .get()
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, KeyError::Invalid(_)), "{msg}");
    assert!(
        msg.contains("publishable") && !msg.contains("notasecretkey"),
        "{msg}"
    );
    entry.delete_credential().unwrap();
}
