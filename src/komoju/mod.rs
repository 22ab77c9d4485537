//! The KOMOJU API client: HTTP Basic with the secret key, a pinned API version, idempotency keys on
//! every POST, retries with backoff and jitter on transient failures only, tolerant JSON.
//!
//! The client does not store anything: callers write an idempotency key and the exact body to the
//! ledger *before* calling [`Client::post`], and pass both in, so a retry after a crash reuses them.

pub mod requests;
mod types;

pub use types::*;

use crate::keychain::{mask_secrets, SecretKey};
use rand::Rng;
use reqwest::{header, Method, StatusCode};
use serde::de::DeserializeOwned;
use std::fmt;
use std::time::Duration;

pub const DEFAULT_API_BASE: &str = "https://komoju.com/api/v1";
/// The version KOMOJU's own SDK pins (komoju-node-sdk `configuration.ts`).
pub const API_VERSION: &str = "2025-01-28";
/// Page size Reji asks for; KOMOJU's maximum is undocumented.
pub const PER_PAGE: u32 = 100;
/// Least wait after a 409 (the first request with the same idempotency key is still in flight).
const IN_FLIGHT_WAIT: Duration = Duration::from_secs(1);
/// The largest response body read: KOMOJU's biggest answers (a page of 100 payments) are a few
/// hundred KB. A longer body is not read to its end.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum KomojuError {
    /// KOMOJU answered with an error body (or an error status without one).
    #[error("KOMOJU refused the request ({status}, {code}): {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
        param: Option<String>,
    },
    /// Connect errors, timeouts, closed connections: after all retries.
    #[error("could not reach KOMOJU after {attempts} attempts: {detail}")]
    Transport { attempts: u32, detail: String },
    /// The response arrived but was not the JSON we expect, after all retries.
    #[error("KOMOJU's response could not be read ({what}): {detail}")]
    Decode { what: &'static str, detail: String },
    #[error("invalid API base URL {0:?}")]
    BadBaseUrl(String),
    /// A live key would travel in cleartext: `http://` to a host that is not this machine.
    #[error(
        "refusing to send a live secret key (sk_live_…) over plain http to {0}: use an https:// API \
         base URL (http:// is allowed only with a test key or on this machine: 127.0.0.1, ::1, localhost)"
    )]
    CleartextLiveKey(String),
    /// A 3xx answer. Redirects are never followed: the request carries the secret key, and KOMOJU's
    /// API has no reason to send it elsewhere.
    #[error(
        "the API at {url} answered with a redirect (HTTP {status}{}); Reji does not follow \
         redirects, so the secret key is not sent elsewhere: check the API base URL",
        location.as_deref().map(|l| format!(" to {l}")).unwrap_or_default()
    )]
    Redirect {
        status: u16,
        url: String,
        location: Option<String>,
    },
    /// The response body was longer than [`MAX_RESPONSE_BYTES`] (reading stopped there).
    #[error(
        "the response from {url} is larger than the {} MiB limit (more than {received} bytes); \
         no KOMOJU answer is that large, so reading stopped",
        MAX_RESPONSE_BYTES / (1024 * 1024)
    )]
    TooLarge { url: String, received: u64 },
}

impl KomojuError {
    /// KOMOJU's error `code` (`not_found`, `not_refundable`, …), when there is one.
    pub fn code(&self) -> Option<&str> {
        match self {
            KomojuError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
    pub fn status(&self) -> Option<u16> {
        match self {
            KomojuError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
    /// 401 / `unauthorized`: the secret key is wrong, revoked or for another account.
    pub fn is_auth(&self) -> bool {
        self.status() == Some(401) || self.code() == Some("unauthorized")
    }
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404) || self.code() == Some("not_found")
    }
    /// The API base URL itself is unusable (malformed, or unsafe for the key).
    pub fn is_bad_base(&self) -> bool {
        matches!(
            self,
            KomojuError::BadBaseUrl(_) | KomojuError::CleartextLiveKey(_)
        )
    }
}

/// How hard to try before giving up.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Total tries, including the first.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Per-request timeout (connect + response).
    pub timeout: Duration,
    /// Longest `Retry-After` honoured; longer waits are capped to this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            timeout: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Full-jitter exponential backoff: a random wait in [d/2, d] for d = base·2^n, capped.
    fn backoff(&self, retry: u32) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32 << retry.min(16));
        let d = exp.min(self.max_delay);
        let ms = d.as_millis() as u64;
        Duration::from_millis(rand::thread_rng().gen_range(ms / 2..=ms.max(1)))
    }
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    key: SecretKey,
    policy: RetryPolicy,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("key", &self.key)
            .finish()
    }
}

/// One attempt's outcome, before deciding whether to retry.
enum Attempt {
    Done(Vec<u8>),
    Retry {
        detail: String,
        after: Option<Duration>,
        decode: bool,
        in_flight: bool,
    },
    Fail(KomojuError),
}

impl Client {
    pub fn new(base: &str, key: SecretKey, policy: RetryPolicy) -> Result<Self, KomojuError> {
        let base = base.trim_end_matches('/').to_string();
        let parsed = url::Url::parse(&base).map_err(|_| KomojuError::BadBaseUrl(base.clone()))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(KomojuError::BadBaseUrl(base));
        }
        if key.is_live() && parsed.scheme() == "http" && !is_loopback(&parsed) {
            return Err(KomojuError::CleartextLiveKey(
                mask_secrets(&parsed.origin().ascii_serialization()).into_owned(),
            ));
        }
        let http = reqwest::Client::builder()
            // Every request carries the secret key: never follow a redirect (a 3xx is an error).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("reji/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| KomojuError::Transport {
                attempts: 0,
                detail: e.to_string(),
            })?;
        Ok(Client {
            http,
            base,
            key,
            policy,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn is_live(&self) -> bool {
        self.key.is_live()
    }

    // ---- sessions -------------------------------------------------------------------------

    pub async fn get_session(&self, id: &str) -> Result<Session, KomojuError> {
        self.get(&format!("/sessions/{}", seg(id)), &[]).await
    }

    /// `POST /sessions` with a body and idempotency key already stored in the ledger.
    pub async fn create_session(&self, idem: &str, body: &str) -> Result<Session, KomojuError> {
        self.post("/sessions", idem, body).await
    }

    pub async fn cancel_session(&self, id: &str, idem: &str) -> Result<Session, KomojuError> {
        self.post(&format!("/sessions/{}/cancel", seg(id)), idem, "{}")
            .await
    }

    // ---- payments -------------------------------------------------------------------------

    pub async fn get_payment(&self, id: &str) -> Result<Payment, KomojuError> {
        self.get(&format!("/payments/{}", seg(id)), &[]).await
    }

    pub async fn list_payments(&self, q: &PaymentQuery) -> Result<List<Payment>, KomojuError> {
        let mut params = window_params(q.page, q.per_page, q.start_time, q.end_time);
        if let Some(s) = &q.status {
            params.push(("status", s.clone()));
        }
        if let Some(s) = &q.external_order_num {
            params.push(("external_order_num", s.clone()));
        }
        if let Some(s) = &q.currency {
            params.push(("currency", s.clone()));
        }
        self.get("/payments", &params).await
    }

    pub async fn capture_payment(
        &self,
        id: &str,
        idem: &str,
        body: &str,
    ) -> Result<Payment, KomojuError> {
        self.post(&format!("/payments/{}/capture", seg(id)), idem, body)
            .await
    }

    pub async fn refund_payment(
        &self,
        id: &str,
        idem: &str,
        body: &str,
    ) -> Result<Payment, KomojuError> {
        self.post(&format!("/payments/{}/refund", seg(id)), idem, body)
            .await
    }

    /// `POST /payments/:id/refund_request`: KOMOJU documents an empty response body.
    pub async fn refund_request(
        &self,
        id: &str,
        idem: &str,
        body: &str,
    ) -> Result<(), KomojuError> {
        self.post_raw(&format!("/payments/{}/refund_request", seg(id)), idem, body)
            .await
            .map(|_| ())
    }

    pub async fn cancel_payment(&self, id: &str, idem: &str) -> Result<Payment, KomojuError> {
        self.post(&format!("/payments/{}/cancel", seg(id)), idem, "{}")
            .await
    }

    // ---- events ---------------------------------------------------------------------------

    pub async fn list_events(&self, q: &EventQuery) -> Result<List<Event>, KomojuError> {
        let params = window_params(q.page, q.per_page, q.start_time, q.end_time);
        self.get("/events", &params).await
    }

    pub async fn get_event(&self, id: &str) -> Result<Event, KomojuError> {
        self.get(&format!("/events/{}", seg(id)), &[]).await
    }

    // ---- transport ------------------------------------------------------------------------

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, KomojuError> {
        let bytes = self.send(Method::GET, path, query, None).await?;
        decode(&bytes)
    }

    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        idem: &str,
        body: &str,
    ) -> Result<T, KomojuError> {
        let bytes = self.post_raw(path, idem, body).await?;
        decode(&bytes)
    }

    /// POSTs `body` (JSON, sent byte for byte) with `X-KOMOJU-IDEMPOTENCY: idem`. Retrying with the same
    /// key and body is safe: KOMOJU answers a repeat with the first response.
    pub async fn post_raw(
        &self,
        path: &str,
        idem: &str,
        body: &str,
    ) -> Result<Vec<u8>, KomojuError> {
        self.send(Method::POST, path, &[], Some((idem, body))).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        post: Option<(&str, &str)>,
    ) -> Result<Vec<u8>, KomojuError> {
        let url = format!("{}{}", self.base, path);
        let mut last = String::new();
        let mut last_was_decode = false;
        for attempt in 0..self.policy.max_attempts {
            let outcome = self.once(method.clone(), &url, query, post).await;
            let (detail, after, decode, in_flight) = match outcome {
                Attempt::Done(bytes) => return Ok(bytes),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry {
                    detail,
                    after,
                    decode,
                    in_flight,
                } => (detail, after, decode, in_flight),
            };
            last = detail;
            last_was_decode = decode;
            if attempt + 1 < self.policy.max_attempts {
                let wait = match after {
                    Some(a) => a.min(self.policy.max_retry_after),
                    // 409: the first request with this key is still running at KOMOJU: give it time.
                    None if in_flight => self.policy.backoff(attempt).max(IN_FLIGHT_WAIT),
                    None => self.policy.backoff(attempt),
                };
                tokio::time::sleep(wait).await;
            }
        }
        if last_was_decode {
            Err(KomojuError::Decode {
                what: "response body",
                detail: last,
            })
        } else {
            Err(KomojuError::Transport {
                attempts: self.policy.max_attempts,
                detail: last,
            })
        }
    }

    async fn once(
        &self,
        method: Method,
        url: &str,
        query: &[(&str, String)],
        post: Option<(&str, &str)>,
    ) -> Attempt {
        let mut req = self
            .http
            .request(method, url)
            .basic_auth(self.key.expose(), Some(""))
            .header("X-KOMOJU-API-VERSION", API_VERSION)
            .header(header::ACCEPT, "application/json");
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some((idem, body)) = post {
            req = req
                .header("X-KOMOJU-IDEMPOTENCY", idem)
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                return Attempt::Retry {
                    detail: describe(&e),
                    after: None,
                    decode: false,
                    in_flight: false,
                }
            }
        };
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let is_json = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|c| c.contains("json"))
            .unwrap_or(true);
        if status.is_redirection() {
            let location = resp
                .headers()
                .get(header::LOCATION)
                .map(|v| {
                    String::from_utf8_lossy(v.as_bytes())
                        .chars()
                        .take(200)
                        .collect::<String>()
                })
                .map(|l| mask_secrets(&l).into_owned());
            return Attempt::Fail(KomojuError::Redirect {
                status: status.as_u16(),
                url: mask_secrets(url).into_owned(),
                location,
            });
        }
        let bytes = match read_capped(resp, url).await {
            Ok(b) => b,
            Err(BodyError::TooLarge(e)) => return Attempt::Fail(e),
            Err(BodyError::Transport(e)) => {
                return Attempt::Retry {
                    detail: describe(&e),
                    after: None,
                    decode: false,
                    in_flight: false,
                }
            }
        };
        if status.is_success() {
            // A success must be JSON (or empty, for refund_request); anything else was garbled on the
            // way and is retried: with the same idempotency key KOMOJU answers with the same response.
            if !bytes.is_empty()
                && (!is_json || serde_json::from_slice::<serde_json::Value>(&bytes).is_err())
            {
                return Attempt::Retry {
                    detail: format!(
                        "{} bytes that are not JSON (HTTP {})",
                        bytes.len(),
                        status.as_u16()
                    ),
                    after: None,
                    decode: true,
                    in_flight: false,
                };
            }
            return Attempt::Done(bytes);
        }
        let err = api_error(status, &bytes);
        if status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::CONFLICT
            || status.is_server_error()
        {
            // 409: the first request with this idempotency key is still in flight: wait and retry.
            Attempt::Retry {
                detail: err.to_string(),
                after: retry_after,
                decode: false,
                in_flight: status == StatusCode::CONFLICT,
            }
        } else {
            Attempt::Fail(err)
        }
    }
}

/// Whether the URL's host is this machine (127.0.0.0/8, ::1, `localhost`).
fn is_loopback(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

enum BodyError {
    TooLarge(KomojuError),
    Transport(reqwest::Error),
}

/// Reads a response body of at most [`MAX_RESPONSE_BYTES`], chunk by chunk: a longer one (or one
/// announced as longer) stops the reading at once.
async fn read_capped(mut resp: reqwest::Response, url: &str) -> Result<Vec<u8>, BodyError> {
    let too_large = |received: u64| {
        BodyError::TooLarge(KomojuError::TooLarge {
            url: mask_secrets(url).into_owned(),
            received,
        })
    };
    if let Some(n) = resp.content_length() {
        if n > MAX_RESPONSE_BYTES as u64 {
            return Err(too_large(MAX_RESPONSE_BYTES as u64));
        }
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_large(MAX_RESPONSE_BYTES as u64));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "connection closed before the response was complete"
    } else {
        "request failed"
    };
    // reqwest's error text contains the URL (never the key: it travels in a header).
    let mut s = format!("{kind}: {e}");
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(&format!(": {inner}"));
        src = inner.source();
    }
    mask_secrets(&s).into_owned()
}

fn api_error(status: StatusCode, bytes: &[u8]) -> KomojuError {
    let parsed = serde_json::from_slice::<ErrorEnvelope>(bytes)
        .ok()
        .map(|e| e.error);
    let code = parsed
        .as_ref()
        .and_then(|e| e.code.clone())
        .unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("http_error")
                .to_lowercase()
                .replace(' ', "_")
        });
    let message = parsed
        .as_ref()
        .and_then(|e| e.message.clone())
        .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
    // The server's words are shown to people: a server that echoes the key must not print it.
    KomojuError::Api {
        status: status.as_u16(),
        code: mask_secrets(&code).into_owned(),
        message: mask_secrets(&message).into_owned(),
        param: parsed
            .and_then(|e| e.param)
            .map(|p| mask_secrets(&p).into_owned()),
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, KomojuError> {
    serde_json::from_slice(bytes).map_err(|e| KomojuError::Decode {
        what: std::any::type_name::<T>()
            .rsplit("::")
            .next()
            .unwrap_or("object"),
        // serde quotes the offending value, which a hostile server could make the key.
        detail: mask_secrets(&e.to_string()).into_owned(),
    })
}

/// `Retry-After` in seconds or as an HTTP date (then relative to now).
fn parse_retry_after(v: &str) -> Option<Duration> {
    if let Ok(s) = v.trim().parse::<u64>() {
        return Some(Duration::from_secs(s));
    }
    let t = chrono::DateTime::parse_from_rfc2822(v.trim()).ok()?;
    let d = t.to_utc() - chrono::Utc::now();
    Some(d.to_std().unwrap_or(Duration::ZERO))
}

/// Percent-encodes an id used as a path segment (ids come from KOMOJU or the user).
fn seg(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}

#[derive(Clone, Debug, Default)]
pub struct PaymentQuery {
    pub page: u32,
    pub per_page: u32,
    pub start_time: Option<chrono::DateTime<chrono::Utc>>,
    pub end_time: Option<chrono::DateTime<chrono::Utc>>,
    /// One status or several, comma-separated.
    pub status: Option<String>,
    pub external_order_num: Option<String>,
    pub currency: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct EventQuery {
    pub page: u32,
    pub per_page: u32,
    pub start_time: Option<chrono::DateTime<chrono::Utc>>,
    pub end_time: Option<chrono::DateTime<chrono::Utc>>,
}

/// The query of a list endpoint: its page (from 1), page size (1..=PER_PAGE) and time window (RFC 3339,
/// whole seconds, UTC).
fn window_params(
    page: u32,
    per_page: u32,
    start: Option<chrono::DateTime<chrono::Utc>>,
    end: Option<chrono::DateTime<chrono::Utc>>,
) -> Vec<(&'static str, String)> {
    let mut params = vec![
        ("page", page.max(1).to_string()),
        ("per_page", per_page.clamp(1, PER_PAGE).to_string()),
    ];
    for (name, t) in [("start_time", start), ("end_time", end)] {
        if let Some(t) = t {
            params.push((name, t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
        }
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            ..Default::default()
        };
        for _ in 0..50 {
            let d0 = p.backoff(0);
            assert!(d0 >= Duration::from_millis(50) && d0 <= Duration::from_millis(100));
            assert!(p.backoff(10) <= Duration::from_secs(1));
        }
    }

    #[test]
    fn error_bodies_become_typed_errors() {
        let e = api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            br#"{"error":{"code":"not_refundable","message":"nope","param":null,"details":{}}}"#,
        );
        assert_eq!(e.code(), Some("not_refundable"));
        let e = api_error(StatusCode::UNAUTHORIZED, b"<html>");
        assert!(e.is_auth());
    }

    #[test]
    fn list_queries_clamp_the_page_and_send_whole_utc_seconds() {
        use chrono::TimeZone;
        let t = chrono::Utc
            .with_ymd_and_hms(2026, 11, 29, 10, 0, 5)
            .unwrap();
        assert_eq!(
            window_params(0, 500, Some(t), None),
            vec![
                ("page", "1".to_string()),
                ("per_page", "100".to_string()),
                ("start_time", "2026-11-29T10:00:05Z".to_string()),
            ]
        );
        let p = window_params(3, 0, None, Some(t + chrono::Duration::milliseconds(250)));
        assert_eq!(p[1], ("per_page", "1".to_string()));
        assert_eq!(p[2], ("end_time", "2026-11-29T10:00:05Z".to_string()));
    }

    #[test]
    fn live_keys_need_https_unless_on_this_machine() {
        let live: SecretKey = "sk_live_abcdefgh12345678".parse().unwrap();
        let test: SecretKey = "sk_test_abcdefgh12345678".parse().unwrap();
        for base in [
            "http://komoju.com/api/v1",
            "http://10.0.0.5:8080/api/v1",
            "http://[2001:db8::1]/api/v1",
            "http://0.0.0.0/api/v1",
            "http://localhost.evil.example/api/v1",
        ] {
            let e = Client::new(base, live.clone(), Default::default()).unwrap_err();
            assert!(matches!(e, KomojuError::CleartextLiveKey(_)), "{base}");
            assert!(e.is_bad_base());
            let m = e.to_string();
            assert!(m.contains("https://") && !m.contains("abcdefgh"), "{m}");
            assert!(Client::new(base, test.clone(), Default::default()).is_ok());
        }
        for base in [
            "https://komoju.com/api/v1",
            "http://127.0.0.1:1234/api/v1",
            "http://127.8.9.10/api/v1",
            "http://[::1]:99/api/v1",
            "http://localhost:8765/api/v1",
            "http://LOCALHOST/api/v1",
        ] {
            assert!(
                Client::new(base, live.clone(), Default::default()).is_ok(),
                "{base}"
            );
        }
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(seg("abc"), "abc");
        assert_eq!(seg("../x"), "..%2Fx");
    }
}
