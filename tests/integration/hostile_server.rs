//! A hostile or broken server where KOMOJU should be: redirects, endless bodies, error bodies that
//! echo the key, and a live key asked to travel over plain http. The key stays on this machine and
//! out of every message; nothing is read without bound.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEY: &str = "sk_test_hostile7k3jrm2bt5ny8hc4dp";
const LIVE_KEY: &str = "sk_live_hostile7k3jrm2bt5ny8hc4dp";

/// A tiny HTTP/1.1 server on loopback: records each request's head, then lets `answer` write the
/// response on the raw socket (the connection is closed afterwards).
struct Server {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(ip: &str, answer: impl Fn(&str, &mut TcpStream) + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind((ip, 0)).expect("bind");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match conn.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => break,
                    }
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                seen.lock().unwrap().push(head.clone());
                answer(&head, &mut conn);
                let _ = conn.flush();
            }
        });
        Server { addr, requests }
    }

    fn base(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn respond(conn: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &str) {
    let mut r = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        r.push_str(&format!("{k}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r.push_str(body);
    let _ = conn.write_all(r.as_bytes());
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `reji --json ARGS` against `base` with `key`, a fresh ledger, one attempt per request.
fn reji(base: &str, key: &str, args: &[&str]) -> Out {
    let dir = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_reji"))
        .arg("--json")
        .args(args)
        .env("REJI_DB", dir.path().join("ledger.sqlite"))
        .env("REJI_API_BASE", base)
        .env("REJI_SECRET_KEY", key)
        .env("REJI_HTTP_TIMEOUT_MS", "10000")
        .env("REJI_RETRY_BASE_MS", "10")
        .env("REJI_RETRIES", "3")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("reji runs");
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn assert_no_key(o: &Out, key: &str) {
    let secret = &key[8..];
    for (what, text) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        for i in 0..=secret.len() - 6 {
            assert!(
                !text.contains(&secret[i..i + 6]),
                "{what} holds part of the key:\n{text}"
            );
        }
    }
}

fn error_code(o: &Out) -> String {
    let v: serde_json::Value = serde_json::from_str(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}\n{}", o.stdout, o.stderr));
    v["error"]["code"].as_str().unwrap_or("").to_string()
}

/// A second loopback address when the system has one (Linux routes all of 127.0.0.0/8), so the
/// redirect goes to another host as in the report.
fn other_loopback() -> &'static str {
    if TcpListener::bind(("127.0.0.2", 0)).is_ok() {
        "127.0.0.2"
    } else {
        "127.0.0.1"
    }
}

#[test]
fn redirect_is_refused_and_key_not_sent() {
    // The second server would bounce back again (how the key came back before); it must see nothing.
    let elsewhere = Server::start(other_loopback(), |_, conn| {
        respond(conn, "200 OK", &[], r#"{"data":[],"total":0}"#)
    });
    let target = format!("http://{}/steal?x=1", elsewhere.addr);
    for status in [
        "307 Temporary Redirect",
        "302 Found",
        "308 Permanent Redirect",
    ] {
        let location = target.clone();
        let hostile = Server::start("127.0.0.1", move |_, conn| {
            respond(conn, status, &[("Location", location.clone())], "")
        });
        let o = reji(&hostile.base(), KEY, &["keys", "test"]);
        assert_eq!(o.code, 1, "{status}: {}", o.stderr);
        assert_eq!(error_code(&o), "komoju_response", "{status}");
        let code = &status[..3];
        for needle in ["redirect", code, &hostile.addr.to_string(), &target] {
            assert!(
                o.stderr.contains(needle),
                "{status}: names {needle:?}: {}",
                o.stderr
            );
        }
        assert_eq!(
            hostile.requests().len(),
            1,
            "{status}: a redirect is not retried"
        );
        assert!(
            hostile.requests()[0]
                .to_ascii_lowercase()
                .contains("authorization: basic"),
            "the first server is the one that was configured"
        );
        assert_no_key(&o, KEY);
    }
    assert!(
        elsewhere.requests().is_empty(),
        "the redirect target saw a request: {:?}",
        elsewhere.requests()
    );
}

#[test]
fn live_key_over_plain_http_is_refused_before_any_request() {
    // Nothing listens there: a refusal must come before any connection attempt (and any DNS).
    for base in [
        "http://komoju.example.invalid/api/v1",
        "http://192.0.2.10/api/v1",
        "HTTP://[2001:db8::1]:8080/api/v1",
    ] {
        let started = Instant::now();
        let o = reji(base, LIVE_KEY, &["keys", "test"]);
        assert_eq!(o.code, 2, "{base}: bad input: {}", o.stderr);
        assert_eq!(error_code(&o), "bad_input", "{base}");
        for needle in ["--api-base", "live", "http", "https://"] {
            assert!(
                o.stderr.contains(needle),
                "{base}: names {needle:?}: {}",
                o.stderr
            );
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{base}: no request was tried"
        );
        assert_no_key(&o, LIVE_KEY);
    }
    // On this machine plain http is fine (the fake KOMOJU), and a test key may use http anywhere.
    let local = Server::start("127.0.0.1", |_, conn| {
        respond(
            conn,
            "200 OK",
            &[("Content-Type", "application/json".into())],
            r#"{"resource":"list","data":[],"total":0,"page":1,"per_page":1,"last_page":1}"#,
        )
    });
    for base in [
        local.base(),
        format!("http://localhost:{}/api/v1", local.addr.port()),
    ] {
        let o = reji(&base, LIVE_KEY, &["keys", "test"]);
        assert_eq!(o.code, 0, "{base}: {}", o.stderr);
    }
    let o = reji("http://0.0.0.0:9/api/v1", KEY, &["keys", "test"]);
    assert_ne!(o.code, 2, "a test key may use plain http: {}", o.stderr);
}

#[test]
fn endless_response_body_is_cut_at_the_size_cap() {
    const HUGE: u64 = 64 * 1024 * 1024;
    for announced in [false, true] {
        let written = Arc::new(AtomicU64::new(0));
        let counter = written.clone();
        let server = Server::start("127.0.0.1", move |_, conn| {
            let mut head = String::from("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n");
            if announced {
                head.push_str(&format!("Content-Length: {HUGE}\r\n"));
            }
            head.push_str("Connection: close\r\n\r\n[");
            if conn.write_all(head.as_bytes()).is_err() {
                return;
            }
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0;
            while sent < HUGE {
                if conn.write_all(&chunk).is_err() {
                    break;
                }
                sent += chunk.len() as u64;
                counter.store(sent, Ordering::SeqCst);
            }
        });
        let o = reji(&server.base(), KEY, &["keys", "test"]);
        assert_eq!(o.code, 1, "announced={announced}: {}", o.stderr);
        assert_eq!(error_code(&o), "komoju_response");
        assert!(
            o.stderr.contains("4 MiB") && o.stderr.contains(&server.addr.to_string()),
            "the error names the cap and the URL: {}",
            o.stderr
        );
        assert_eq!(
            server.requests().len(),
            1,
            "an oversized answer is not retried"
        );
        // Give the server a moment to notice the closed connection.
        std::thread::sleep(Duration::from_millis(300));
        let sent = written.load(Ordering::SeqCst);
        assert!(
            sent < HUGE / 2,
            "announced={announced}: the client read {sent} bytes of {HUGE}"
        );
    }
}

#[test]
fn key_echoed_by_the_server_is_masked_in_every_message() {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{KEY}:"));
    // An error body that repeats the key and the Authorization header.
    let echo = format!(
        r#"{{"error":{{"code":"bad_request {KEY}","message":"you sent {KEY} as Authorization: Basic {basic}; also {basic}","param":"{KEY}"}}}}"#
    );
    let server = Server::start("127.0.0.1", move |_, conn| {
        respond(
            conn,
            "422 Unprocessable Entity",
            &[("Content-Type", "application/json".into())],
            &echo,
        )
    });
    let o = reji(&server.base(), KEY, &["keys", "test"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(error_code(&o), "komoju_refused");
    assert!(
        o.stderr.contains("sk_test_…"),
        "a recognisable prefix stays: {}",
        o.stderr
    );
    assert_no_key(&o, KEY);
    assert!(!o.stderr.contains(&basic[8..24]) && !o.stdout.contains(&basic[8..24]));

    // A success body that does not decode: serde quotes the value.
    let server = Server::start("127.0.0.1", |_, conn| {
        respond(
            conn,
            "200 OK",
            &[("Content-Type", "application/json".into())],
            &format!(r#"{{"data":"{KEY}"}}"#),
        )
    });
    let o = reji(&server.base(), KEY, &["keys", "test"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(error_code(&o), "komoju_response");
    assert_no_key(&o, KEY);

    // The human form too (no --json): the message goes to stderr.
    let server = Server::start("127.0.0.1", |_, conn| {
        respond(
            conn,
            "400 Bad Request",
            &[],
            &format!(r#"{{"error":{{"code":"x","message":"{KEY} pk_live_abcdefghijkl"}}}}"#),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_reji"))
        .args(["keys", "test"])
        .env("REJI_DB", dir.path().join("l.sqlite"))
        .env("REJI_API_BASE", server.base())
        .env("REJI_SECRET_KEY", KEY)
        .env("REJI_RETRIES", "1")
        .output()
        .unwrap();
    let o = Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("pk_live_…"), "{}", o.stderr);
    assert!(!o.stderr.contains("abcdefghijkl"), "{}", o.stderr);
    assert_no_key(&o, KEY);
}
