//! Bad input anywhere on the command line: exit 2, a message naming the argument and what is wrong,
//! and nothing stored changes.

use crate::common::*;

fn fingerprint(e: &Env) -> (i64, i64, i64) {
    let l = e.ledger();
    let c = l.connection();
    let n = |sql: &str| c.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    (
        n("SELECT COUNT(*) FROM invoices"),
        n("SELECT COUNT(*) FROM events"),
        n("SELECT COUNT(*) FROM api_requests"),
    )
}

async fn expect_bad(e: &Env, args: &[&str], needles: &[&str]) {
    let before = fingerprint(e);
    let sessions_before = e.stats().await["sessions"].clone();
    let r = e.reji(args).await;
    assert_eq!(
        r.code, 2,
        "{args:?} should be bad input (exit 2); stderr: {}",
        r.stderr
    );
    for n in needles {
        assert!(
            r.stderr.contains(n),
            "{args:?}: message should name {n:?}: {}",
            r.stderr
        );
    }
    assert_eq!(fingerprint(e), before, "{args:?} changed the ledger");
    assert_eq!(
        e.stats().await["sessions"],
        sessions_before,
        "{args:?} reached KOMOJU"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arguments_that_do_not_parse_still_give_one_json_value_with_json() {
    let e = env().await;
    for args in [
        &["show", "--json"][..],
        &["charge", "--amount", "100", "--bogus", "--json"],
        &["--json", "nosuchcommand"],
        &["charge", "--amount", "100", "--timeout", "5", "--json"],
    ] {
        let before = fingerprint(&e);
        let r = e.reji(args).await;
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        let v = r.json();
        assert_eq!(v["error"]["code"], "bad_input", "{args:?}: {v}");
        assert!(
            !v["error"]["message"].as_str().unwrap_or("").is_empty(),
            "{v}"
        );
        assert_eq!(fingerprint(&e), before);
    }
    // Without --json, stdout stays empty.
    let r: Run = e.cmd(&["show"]).output().await.unwrap().into();
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_charge_argument_is_checked() {
    let e = env().await;
    let v = e.charge(&["--amount", "100"]).await; // the ledger has something to protect
    assert!(v["session_id"].is_string());
    let cases: &[(&[&str], &[&str])] = &[
        (&["charge"], &["--amount"]),
        (&["charge", "--amount", "0"], &["--amount", "positive"]),
        (&["charge", "--amount", "-5"], &["--amount"]),
        (&["charge", "--amount", "abc"], &["--amount", "abc"]),
        (&["charge", "--amount", "1.5"], &["--amount"]),
        (
            &["charge", "--amount", "99999999999999999999"],
            &["--amount"],
        ),
        (
            &["charge", "--amount", "100", "--item", "Tea,300,1,8"],
            &["--amount", "--item"],
        ),
        (
            &["charge", "--item", "Tea,300,1"],
            &["--item", "NAME,UNIT_PRICE,QTY,RATE"],
        ),
        (&["charge", "--item", "Tea,300,1,5"], &["--item", "rate"]),
        (
            &["charge", "--item", "Tea,3x0,1,8"],
            &["--item", "unit price"],
        ),
        (
            &["charge", "--item", "Tea,300,0,8"],
            &["--item", "quantity"],
        ),
        (&["charge", "--item", ",300,1,8"], &["--item", "empty name"]),
        (
            &["charge", "--item", "Free,0,1,8"],
            &["--item", "more than zero"],
        ),
        (
            &["charge", "--amount", "100", "--currency", "XYZ"],
            &["--currency", "XYZ"],
        ),
        (
            &["charge", "--amount", "100", "--email", "not-an-email"],
            &["--email"],
        ),
        (
            &["charge", "--amount", "100", "--name", ""],
            &["--name", "empty"],
        ),
        (
            &["charge", "--amount", "100", "--name-kana", " "],
            &["--name-kana"],
        ),
        (
            &["charge", "--amount", "100", "--phone", "call me"],
            &["--phone"],
        ),
        (
            &["charge", "--amount", "100", "--methods", "bitcoin"],
            &["--methods", "bitcoin"],
        ),
        (
            &["charge", "--amount", "100", "--methods", "konbini,cash"],
            &["--methods", "cash"],
        ),
        (
            &["charge", "--amount", "100", "--locale", "fr"],
            &["--locale", "fr"],
        ),
        (
            &["charge", "--amount", "100", "--expires-in", "10"],
            &["--expires-in"],
        ),
        (
            &["charge", "--amount", "100", "--expires-in", "86401"],
            &["--expires-in", "86400"],
        ),
        (
            &["charge", "--amount", "100", "--expires-in", "soon"],
            &["--expires-in"],
        ),
        (
            &["charge", "--amount", "100", "--wait", "--timeout", "0"],
            &["--timeout"],
        ),
        (&["charge", "--amount", "100", "--rate", "5"], &["--rate"]),
        (&["charge", "--amount", "100", "--bogus"], &["--bogus"]),
        (
            &["--api-base", "not a url", "charge", "--amount", "100"],
            &["--api-base"],
        ),
    ];
    for (args, needles) in cases {
        expect_bad(&e, args, needles).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_export_and_refund_argument_is_checked() {
    let e = env().await;
    let v = e.charge(&["--amount", "500"]).await;
    let inv = s(&v, "invoice_number");
    e.ctl
        .pay(&s(&v, "session_id"), "credit_card", None)
        .await
        .unwrap();
    e.show(&inv).await;
    let cases: &[(&[&str], &[&str])] = &[
        (&["list", "--from", "2026-13-01"], &["--from", "YYYY-MM-DD"]),
        (&["list", "--to", "yesterday"], &["--to"]),
        (
            &["list", "--from", "2026-02-01", "--to", "2026-01-01"],
            &["--to", "--from"],
        ),
        (&["list", "--status", "done"], &["--status", "done"]),
        (&["list", "--method", "cash"], &["--method", "cash"]),
        (&["list", "--min", "-1"], &["--min"]),
        (&["list", "--min", "x"], &["--min"]),
        (&["list", "--min", "500", "--max", "100"], &["--max"]),
        (&["list", "--limit", "0"], &["--limit"]),
        (&["list", "--limit", "many"], &["--limit"]),
        (
            &["export", "--encoding", "latin1"],
            &["--encoding", "latin1"],
        ),
        (&["export", "--headers", "fr"], &["--headers", "fr"]),
        (&["export", "--from", "2026/01/01"], &["--from"]),
        (&["refund", &inv, "--amount", "0"], &["--amount"]),
        (&["refund", &inv, "--amount", "-3"], &["--amount"]),
        (&["refund", &inv, "--amount", "ten"], &["--amount"]),
        (&["refund", &inv, "--amount", "501"], &["--amount", "500"]),
        (
            &["refund", &inv, "--bank-name", "みずほ銀行"],
            &["--bank-name"],
        ),
        (&["settings", "rounding", "sideways"], &["rounding"]),
        (&["settings", "colour", "red"], &["colour"]),
    ];
    for (args, needles) in cases {
        expect_bad(&e, args, needles).await;
    }
    // Not found is its own exit code.
    let r = e.reji(&["show", "2026-999999"]).await;
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("2026-999999"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_set_refuses_a_publishable_or_malformed_key() {
    use tokio::io::AsyncWriteExt;
    let e = env().await;
    for (input, needle) in [
        ("pk_test_abcdefghijklmnop\n", "publishable"),
        ("hello\n", "sk_test_"),
        ("", "empty"),
    ] {
        let mut c = e.cmd(&["keys", "set"]);
        c.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).await.unwrap();
        drop(stdin);
        let r: Run = child.wait_with_output().await.unwrap().into();
        assert_eq!(r.code, 2, "{input:?}: {}", r.stderr);
        assert!(r.stderr.contains(needle), "{input:?}: {}", r.stderr);
        assert!(
            !r.stderr.contains("abcdefghijklmnop"),
            "the key is never echoed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_reported_before_a_missing_key() {
    let e = env().await;
    let mut c = e.cmd(&["charge", "--amount", "0"]);
    c.env_remove("REJI_SECRET_KEY");
    // Point the keychain lookup at an empty session: whatever it says, bad input wins.
    let r: Run = c.output().await.unwrap().into();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--amount"), "{}", r.stderr);
    let mut c = e.cmd(&["charge", "--amount", "100"]);
    c.env("REJI_SECRET_KEY", "pk_test_abcdefghijkl");
    let r: Run = c.output().await.unwrap().into();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("publishable"), "{}", r.stderr);
    assert_eq!(e.invoice_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dates_are_strict_yyyy_mm_dd_within_2000_to_2099() {
    let e = env().await;
    e.charge(&["--amount", "500"]).await;
    let shape = "YYYY-MM-DD";
    let range = "from 2000 to 2099";
    let cases: &[(&[&str], &[&str])] = &[
        // `26-1-1` was the year 26, `0000-01-01` the year 0.
        (&["close", "--date", "26-1-1"], &["--date", shape]),
        (&["close", "--date", "0000-01-01"], &["--date", range]),
        (&["close", "--date", "1999-12-31"], &["--date", range]),
        (&["close", "--date", "2026-1-01"], &["--date", shape]),
        (&["close", "--date", "2026-01-1"], &["--date", shape]),
        (&["close", "--date", "02026-01-01"], &["--date", shape]),
        (&["close", "--date", "+2026-01-01"], &["--date", shape]),
        (&["close", "--date", "2026-02-30"], &["--date", "calendar"]),
        (&["close", "--date", "２０２６-01-01"], &["--date", shape]),
        (&["list", "--from", "26-1-1"], &["--from", shape]),
        (&["list", "--to", "0000-01-01"], &["--to", range]),
        (&["export", "--from", "2100-01-01"], &["--from", range]),
        (&["export", "--to", "2026-1-1"], &["--to", shape]),
    ];
    for (args, needles) in cases {
        expect_bad(&e, args, needles).await;
    }
    assert!(e
        .ledger()
        .daily_close("2026-01-01".parse().unwrap())
        .unwrap()
        .is_none());
    // The edges of the range and surrounding spaces are fine.
    e.reji(&["list", "--from", "2000-01-01", "--to", "2099-12-31"])
        .await
        .ok();
    e.reji(&["close", "--date", " 2026-01-01 "]).await.ok();
}
