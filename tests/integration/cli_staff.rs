//! Staff with PINs through the real `reji` binary: a shop without staff works as before; once staff
//! exist, REJI_PIN says who acts, and a manager's command refuses a cashier (exit 4, nothing changed).

use crate::common::*;

async fn as_pin(e: &Env, pin: Option<&str>, args: &[&str]) -> Run {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let mut c = e.cmd(&all);
    match pin {
        Some(p) => c.env("REJI_PIN", p),
        None => c.env_remove("REJI_PIN"),
    };
    c.output().await.unwrap().into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cashier_cannot_do_a_managers_work_and_nothing_changes() {
    let e = env().await;
    // Without staff, everything works as before.
    let v = e.charge(&["--amount", "1000", "--cash", "1000"]).await;
    let inv = s(&v, "invoice_number");
    let r = as_pin(
        &e,
        None,
        &[
            "staff",
            "add",
            "--name",
            "バイト",
            "--pin",
            "5678",
            "--role",
            "cashier",
        ],
    )
    .await;
    assert_eq!(
        r.code, 2,
        "the first member must be a manager: {}",
        r.stderr
    );
    let boss = as_pin(
        &e,
        None,
        &[
            "staff", "add", "--name", "店長", "--pin", "1234", "--role", "manager",
        ],
    )
    .await
    .ok()
    .json();
    assert_eq!(boss["staff"]["role"], "manager");
    let r = as_pin(
        &e,
        None,
        &[
            "staff",
            "add",
            "--name",
            "バイト",
            "--pin",
            "5678",
            "--role",
            "cashier",
        ],
    )
    .await;
    assert_eq!(
        r.code, 4,
        "adding staff now needs a manager's PIN: {}",
        r.stderr
    );
    as_pin(
        &e,
        Some("1234"),
        &[
            "staff",
            "add",
            "--name",
            "バイト",
            "--pin",
            "5678",
            "--role",
            "cashier",
        ],
    )
    .await
    .ok();

    let list = as_pin(&e, Some("5678"), &["staff", "list"]).await.ok();
    assert!(
        !list.stdout.contains("pbkdf2") && !list.stdout.contains("pin"),
        "{}",
        list.stdout
    );
    for m in list.json()["staff"].as_array().unwrap() {
        for (k, v) in m.as_object().unwrap() {
            assert!(v != "1234" && v != "5678", "{k} holds a PIN: {m}");
        }
    }
    assert_eq!(list.json()["staff"].as_array().unwrap().len(), 2);
    let stored: String = e
        .ledger()
        .connection()
        .query_row("SELECT group_concat(pin_hash) FROM staff", [], |r| r.get(0))
        .unwrap();
    for h in stored.split(',') {
        assert!(
            h.starts_with("pbkdf2-sha256$"),
            "only a salted hash is kept: {h}"
        );
        assert!(h != "1234" && h != "5678");
    }

    // A cashier rings up sales…
    let sale = as_pin(
        &e,
        Some("5678"),
        &["charge", "--amount", "500", "--cash", "500"],
    )
    .await
    .ok()
    .json();
    assert_eq!(sale["status"], "paid");
    // …but a manager's commands refuse a cashier, a wrong PIN or none, and change nothing.
    let before = e.invoice_count();
    for pin in [Some("5678"), Some("0000"), None] {
        for args in [
            vec!["drawer", "in", "--amount", "100", "--reason", "両替"],
            vec!["settings", "shop_name", "乗っ取り"],
            vec!["products", "add", "--name", "x", "--price", "1"],
            vec!["refund", inv.as_str(), "--amount", "100"],
        ] {
            let r = as_pin(&e, pin, &args).await;
            assert_eq!(r.code, 4, "{pin:?} {args:?}: {}", r.stderr);
            assert_eq!(r.json()["error"]["code"], "not_allowed");
        }
    }
    let r = as_pin(&e, None, &["charge", "--amount", "500", "--cash", "500"]).await;
    assert_eq!(r.code, 4, "no PIN, no sale once staff exist: {}", r.stderr);
    assert_eq!(e.invoice_count(), before);
    let settings = as_pin(&e, Some("1234"), &["settings"]).await.ok().json();
    assert_ne!(settings["shop_name"], "乗っ取り");
    let moves: i64 = e
        .ledger()
        .connection()
        .query_row("SELECT COUNT(*) FROM drawer_movements", [], |r| r.get(0))
        .unwrap();
    assert_eq!(moves, 0);

    // The manager may; the ledger records who.
    as_pin(
        &e,
        Some("1234"),
        &["drawer", "in", "--amount", "100", "--reason", "両替"],
    )
    .await
    .ok();
    let by: String = e
        .ledger()
        .connection()
        .query_row("SELECT by FROM drawer_movements", [], |r| r.get(0))
        .unwrap();
    assert_eq!(by, format!("staff/{}", s(&boss["staff"], "id")));
    let cause: String = e
        .ledger()
        .connection()
        .query_row(
            "SELECT cause FROM events e JOIN invoices i ON i.id = e.invoice_id WHERE i.number = ?1 AND e.kind = 'created'",
            [s(&sale, "invoice_number")],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        cause.starts_with("staff/stf_") && cause.ends_with(":charge"),
        "{cause}"
    );
}
