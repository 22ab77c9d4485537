//! The KOMOJU API under `/api/v1`: auth, faults, idempotency, then the resource handlers.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Map, Value};

use super::model::{
    fmt_time, new_id, ApiError, FakeState, Fault, FaultKind, IdemEntry, Session, StoredResponse,
    KNOWN_TYPES,
};
use super::params::{get_bool, get_int, get_str, parse_body};
use super::Shared;

const IDEMPOTENCY_HEADER: &str = "x-komoju-idempotency";
const SCENARIO_HEADER: &str = "komoju-scenario";
const CURRENCIES: &[&str] = &[
    "JPY", "USD", "EUR", "GBP", "KRW", "TWD", "CNY", "HKD", "SGD", "AUD", "CAD", "THB", "IDR",
    "PHP", "MYR", "NZD", "CHF", "SEK", "NOK", "DKK", "PLN", "BRL", "MXN", "INR", "VND",
];

pub(crate) fn json_response(status: u16, body: &Value) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .body(Body::from(serde_json::to_vec(body).unwrap_or_default()))
        .expect("valid response")
}

fn stored_to_response(r: &StoredResponse) -> Response {
    match &r.body {
        Some(b) => json_response(r.status, b),
        None => Response::builder()
            .status(StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK))
            .header(header::CONTENT_LENGTH, "0")
            .body(Body::empty())
            .expect("valid response"),
    }
}

fn authorized(headers: &HeaderMap, secret: &str) -> bool {
    let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some(b64) = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))
    else {
        return false;
    };
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
        return false;
    };
    let Ok(text) = String::from_utf8(raw) else {
        return false;
    };
    let (user, _password) = text.split_once(':').unwrap_or((text.as_str(), ""));
    user == secret
}

/// Takes the first fault matching this request (and uses up one of its count).
fn take_fault(st: &mut FakeState, method: &Method, path: &str) -> Option<Fault> {
    let idx = st.faults.iter().position(|f| {
        f.remaining > 0
            && f.path_prefix.as_deref().is_none_or(|p| path.starts_with(p))
            && f.method
                .as_deref()
                .is_none_or(|m| m.eq_ignore_ascii_case(method.as_str()))
    })?;
    let f = &mut st.faults[idx];
    f.remaining -= 1;
    let out = f.clone();
    if f.remaining == 0 {
        st.faults.remove(idx);
    }
    Some(out)
}

enum IdemCheck {
    None,
    Fresh(String),
    Reply(Response),
}

pub(crate) async fn api_entry(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let fault = {
        let mut st = shared.lock();
        st.api_requests += 1;
        let route = format!("{} {}", method, super::model::route_shape(&path));
        *st.requests_by_route.entry(route).or_insert(0) += 1;
        take_fault(&mut st, &method, &path)
    };
    // Faults that answer without processing.
    if let Some(f) = &fault {
        match f.kind {
            FaultKind::Status500 => {
                return stored_to_response(
                    &ApiError::new(
                        500,
                        "internal_server_error",
                        "Internal server error (fake fault)",
                    )
                    .into(),
                )
            }
            FaultKind::RateLimit => {
                let mut r = stored_to_response(
                    &ApiError::new(429, "too_many_requests", "Too many requests (fake fault)")
                        .into(),
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(f.retry_after));
                return r;
            }
            FaultKind::WrongContentType => {
                return Response::builder()
                    .status(StatusCode::OK)
                    .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
                    .body(Body::from(
                        "<!DOCTYPE html><html><head><title>Sign in to the network</title></head>\
                         <body><h1>Please sign in to use this Wi-Fi</h1></body></html>",
                    ))
                    .expect("valid response");
            }
            _ => {}
        }
    }

    let secret = shared.lock().secret_key.clone();
    if !authorized(&headers, &secret) {
        return stored_to_response(
            &ApiError::new(
                401,
                "unauthorized",
                "Bad credentials: pass your secret key as the HTTP Basic user name",
            )
            .into(),
        );
    }

    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let parsed = if method == Method::POST || method == Method::PATCH {
        match parse_body(content_type, &body) {
            Ok(v) => v,
            Err(e) => return stored_to_response(&e.into()),
        }
    } else {
        Value::Object(Map::new())
    };

    // Idempotency (POST only).
    let idem = if method == Method::POST {
        match headers.get(IDEMPOTENCY_HEADER) {
            None => IdemCheck::None,
            Some(v) => match v.to_str() {
                Ok(k) if !k.is_empty() && k.len() <= 100 && k.is_ascii() => {
                    check_idempotency(&shared, k, &method, &path, &parsed)
                }
                _ => IdemCheck::Reply(stored_to_response(
                    &ApiError::invalid("X-KOMOJU-IDEMPOTENCY", "must be 1 to 100 ASCII characters")
                        .into(),
                )),
            },
        }
    } else {
        IdemCheck::None
    };
    let idem_key = match idem {
        IdemCheck::Reply(r) => return r,
        IdemCheck::Fresh(k) => Some(k),
        IdemCheck::None => None,
    };

    let stall_ms = fault
        .as_ref()
        .filter(|f| f.kind == FaultKind::Stall)
        .map(|f| f.stall_ms);
    let scenario = headers
        .get(SCENARIO_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();

    // Processing runs in its own task: like a real server, it finishes (and stores the idempotent
    // result) even when the client gives up and disconnects.
    let task_shared = shared.clone();
    let work = tokio::spawn(async move {
        if let Some(ms) = stall_ms {
            tokio::time::sleep(StdDuration::from_millis(ms)).await;
        }
        let result = {
            let mut st = task_shared.lock();
            st.tick();
            let segs: Vec<&str> = path
                .trim_start_matches("/api/v1")
                .split('/')
                .filter(|s| !s.is_empty())
                .collect();
            dispatch(&mut st, &method, &segs, &parsed, &query, scenario)
        };
        let stored: StoredResponse = match result {
            Ok(r) => r,
            Err(e) => e.into(),
        };
        if let Some(k) = idem_key {
            let mut st = task_shared.lock();
            if stored.status >= 500 {
                st.idempotency.remove(&k);
            } else if let Some(e) = st.idempotency.get_mut(&k) {
                e.result = Some(stored.clone());
            }
        }
        stored
    });
    let stored = match work.await {
        Ok(s) => s,
        Err(_) => ApiError::new(
            500,
            "internal_server_error",
            "The fake failed to process the request",
        )
        .into(),
    };

    match fault.map(|f| (f.kind, f)) {
        Some((FaultKind::Latency, f)) => {
            tokio::time::sleep(StdDuration::from_millis(f.latency_ms)).await;
            stored_to_response(&stored)
        }
        Some((FaultKind::MalformedJson, _)) => {
            let full = stored
                .body
                .as_ref()
                .map(|b| serde_json::to_string(b).unwrap_or_default())
                .unwrap_or_default();
            let cut: String = full.chars().take(full.chars().count() / 2).collect();
            let text = if cut.is_empty() {
                "{\"id\":".to_string()
            } else {
                cut
            };
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
                .body(Body::from(text))
                .expect("valid response")
        }
        Some((FaultKind::CloseAfterProcessing, _)) => broken_response(&stored),
        _ => stored_to_response(&stored),
    }
}

/// A response whose body stream fails halfway: hyper sends the first half (chunked) and then aborts
/// the connection, so the client sees a transport error although the request was processed.
fn broken_response(stored: &StoredResponse) -> Response {
    let full = stored
        .body
        .as_ref()
        .map(|b| serde_json::to_vec(b).unwrap_or_default())
        .unwrap_or_default();
    let half = Bytes::from(full[..full.len() / 2].to_vec());
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(half),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "fake: connection closed after processing",
        )),
    ];
    Response::builder()
        .status(StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK))
        .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
        .body(Body::from_stream(BrokenStream(chunks.into_iter())))
        .expect("valid response")
}

/// A tiny `Stream` over a vector (no extra dependency for one fault).
struct BrokenStream(std::vec::IntoIter<Result<Bytes, std::io::Error>>);

impl futures_core::Stream for BrokenStream {
    type Item = Result<Bytes, std::io::Error>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(self.0.next())
    }
}

fn check_idempotency(
    shared: &Shared,
    key: &str,
    method: &Method,
    path: &str,
    parsed: &Value,
) -> IdemCheck {
    let mut st = shared.lock();
    let now = st.now();
    let fingerprint = json!({"method": method.as_str(), "path": path, "body": parsed});
    if let Some(e) = st.idempotency.get(key) {
        if now - e.created_at < Duration::hours(24) {
            if e.fingerprint != fingerprint {
                return IdemCheck::Reply(stored_to_response(
                    &ApiError::new(
                        422,
                        "unprocessable_entity",
                        "This idempotency key was already used with a different request",
                    )
                    .into(),
                ));
            }
            return match &e.result {
                None => IdemCheck::Reply(stored_to_response(
                    &ApiError::new(
                        409,
                        "conflict",
                        "A request with this idempotency key is still being processed",
                    )
                    .into(),
                )),
                Some(r) => {
                    let mut resp = stored_to_response(r);
                    resp.headers_mut()
                        .insert("x-fake-idempotent-replay", HeaderValue::from_static("true"));
                    st.idempotent_replays += 1;
                    IdemCheck::Reply(resp)
                }
            };
        }
    }
    st.idempotency.insert(
        key.to_string(),
        IdemEntry {
            fingerprint,
            created_at: now,
            result: None,
        },
    );
    IdemCheck::Fresh(key.to_string())
}

type ApiResult = Result<StoredResponse, ApiError>;

fn ok(body: Value) -> ApiResult {
    Ok(StoredResponse {
        status: 200,
        body: Some(body),
    })
}

fn dispatch(
    st: &mut FakeState,
    method: &Method,
    segs: &[&str],
    body: &Value,
    query: &[(String, String)],
    scenario: Option<String>,
) -> ApiResult {
    match (method.as_str(), segs) {
        ("POST", ["sessions"]) => create_session(st, body, scenario),
        ("GET", ["sessions", id]) => {
            let s = st
                .session(id)
                .ok_or_else(|| ApiError::not_found("session"))?;
            ok(st.session_json(s))
        }
        ("POST", ["sessions", id, "cancel"]) => {
            st.cancel_session(id)?;
            let s = st.session(id).expect("exists");
            ok(st.session_json(s))
        }
        ("GET", ["payments"]) => list_payments(st, query),
        ("GET", ["payments", id]) => payment_ok(st, id),
        ("POST", ["payments", id, "capture"]) => {
            let p = st
                .payment(id)
                .ok_or_else(|| ApiError::not_found("payment"))?;
            if p.status != "authorized" || !p.capture_manual {
                return Err(ApiError::new(
                    422,
                    "not_capturable",
                    "Only authorized payments of capture: manual sessions can be captured",
                ));
            }
            let amount = get_int(body, "amount", "amount")?;
            let tax = get_int(body, "tax", "tax")?;
            st.capture_payment(id, amount, tax)?;
            payment_ok(st, id)
        }
        ("POST", ["payments", id, "refund"]) => {
            let amount = get_int(body, "amount", "amount")?;
            let description = get_str(body, "description", "description")?;
            st.refund_payment(id, amount, description)?;
            payment_ok(st, id)
        }
        ("POST", ["payments", id, "refund_request"]) => refund_request(st, id, body),
        ("POST", ["payments", id, "cancel"]) => {
            st.cancel_payment(id)?;
            payment_ok(st, id)
        }
        ("GET", ["events"]) => list_events(st, query),
        ("GET", ["events", id]) => {
            let e = st
                .events
                .iter()
                .find(|e| e.id == *id)
                .ok_or_else(|| ApiError::not_found("event"))?;
            ok(e.json())
        }
        _ => Err(ApiError::new(
            404,
            "not_found",
            "The requested resource could not be found",
        )),
    }
}

fn payment_ok(st: &FakeState, id: &str) -> ApiResult {
    let p = st
        .payment(id)
        .ok_or_else(|| ApiError::not_found("payment"))?;
    ok(p.json())
}

fn create_session(st: &mut FakeState, body: &Value, scenario: Option<String>) -> ApiResult {
    let now = st.now();
    let mode = get_str(body, "mode", "mode")?.unwrap_or_else(|| "payment".into());
    if !["payment", "customer", "customer_payment"].contains(&mode.as_str()) {
        return Err(ApiError::invalid(
            "mode",
            "must be payment, customer or customer_payment",
        ));
    }
    let amount = match get_int(body, "amount", "amount")? {
        Some(a) if a < 0 => return Err(ApiError::invalid("amount", "must be ≥ 0")),
        Some(a) => a,
        None if mode == "customer" => 0,
        None => return Err(ApiError::missing("amount")),
    };
    let currency = match get_str(body, "currency", "currency")? {
        Some(c) if CURRENCIES.contains(&c.as_str()) => c,
        Some(c) => {
            return Err(
                ApiError::new(422, "invalid_currency", format!("Unsupported currency {c}"))
                    .param("currency"),
            )
        }
        None if mode == "customer" => "JPY".into(),
        None => return Err(ApiError::missing("currency")),
    };
    let return_url = get_str(body, "return_url", "return_url")?;
    if let Some(u) = &return_url {
        match url::Url::parse(u) {
            Ok(p) if p.scheme() == "http" || p.scheme() == "https" => {}
            _ => return Err(ApiError::invalid("return_url", "must be an http(s) URL")),
        }
    }
    let default_locale =
        get_str(body, "default_locale", "default_locale")?.unwrap_or_else(|| "ja".into());
    if !["ja", "en", "ko"].contains(&default_locale.as_str()) {
        return Err(ApiError::invalid("default_locale", "must be ja, en or ko"));
    }
    let email = get_str(body, "email", "email")?;
    if let Some(e) = &email {
        if !e.contains('@') {
            return Err(ApiError::invalid("email", "is not an email address"));
        }
    }
    let metadata = match body.get("metadata") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(Value::Object(m)) => {
            let mut out = Map::new();
            for (k, v) in m {
                if k.chars().count() > 30 {
                    return Err(ApiError::invalid(
                        "metadata",
                        "keys are at most 30 characters",
                    ));
                }
                let s = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return Err(ApiError::invalid("metadata", "values must be strings")),
                };
                if s.chars().count() > 2000 {
                    return Err(ApiError::invalid(
                        "metadata",
                        "values are at most 2000 characters",
                    ));
                }
                out.insert(k.clone(), Value::String(s));
            }
            Value::Object(out)
        }
        Some(_) => return Err(ApiError::invalid("metadata", "must be an object")),
    };
    let payment_types: Vec<String> = match body.get("payment_types") {
        None | Some(Value::Null) => st.activated_types.clone(),
        Some(Value::Array(a)) => {
            let mut out = Vec::new();
            for t in a {
                let Some(t) = t.as_str() else {
                    return Err(ApiError::invalid(
                        "payment_types",
                        "must be an array of strings",
                    ));
                };
                if !KNOWN_TYPES.contains(&t) {
                    return Err(ApiError::new(
                        422,
                        "invalid_payment_type",
                        format!("Unknown payment type {t}"),
                    )
                    .param("payment_types"));
                }
                if !out.iter().any(|x| x == t) {
                    out.push(t.to_string());
                }
            }
            if out.is_empty() {
                return Err(ApiError::invalid("payment_types", "must not be empty"));
            }
            out
        }
        Some(Value::String(t)) if KNOWN_TYPES.contains(&t.as_str()) => vec![t.clone()],
        Some(_) => {
            return Err(
                ApiError::new(422, "invalid_payment_type", "payment_types is invalid")
                    .param("payment_types"),
            )
        }
    };
    let line_items = match body.get("line_items") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for (i, it) in items.iter().enumerate() {
                let p = |f: &str| format!("line_items[{i}][{f}]");
                let amount = get_int(it, "amount", &p("amount"))?
                    .ok_or_else(|| ApiError::missing(&p("amount")))?;
                if amount < 0 {
                    return Err(ApiError::invalid(&p("amount"), "must be ≥ 0"));
                }
                let quantity = get_int(it, "quantity", &p("quantity"))?.unwrap_or(1);
                if quantity < 1 {
                    return Err(ApiError::invalid(&p("quantity"), "must be ≥ 1"));
                }
                out.push(json!({
                    "amount": amount,
                    "description": get_str(it, "description", &p("description"))?,
                    "quantity": quantity,
                    "image": get_str(it, "image", &p("image"))?,
                    "external_product_num": get_str(it, "external_product_num", &p("external_product_num"))?,
                }));
            }
            Value::Array(out)
        }
        Some(_) => return Err(ApiError::invalid("line_items", "must be an array")),
    };
    let expires_in_seconds = match get_int(body, "expires_in_seconds", "expires_in_seconds")? {
        None => 86400,
        Some(n) if (1..=86400).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::invalid(
                "expires_in_seconds",
                "must be between 1 and 86400",
            ))
        }
    };
    let external_customer_id = get_str(body, "external_customer_id", "external_customer_id")?;
    let payment_data = match body.get("payment_data") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(Value::Object(m)) => Value::Object(m.clone()),
        Some(_) => return Err(ApiError::invalid("payment_data", "must be an object")),
    };
    let external_order_num = get_str(
        &payment_data,
        "external_order_num",
        "payment_data[external_order_num]",
    )?;
    if let Some(e) = &external_order_num {
        if e.is_empty() || e.chars().count() > 255 {
            return Err(ApiError::invalid(
                "payment_data[external_order_num]",
                "must be 1 to 255 characters",
            ));
        }
        if st
            .sessions
            .iter()
            .any(|s| s.external_order_num.as_deref() == Some(e))
        {
            return Err(ApiError::invalid(
                "payment_data[external_order_num]",
                "has already been taken",
            ));
        }
    }
    let capture = get_str(&payment_data, "capture", "payment_data[capture]")?
        .unwrap_or_else(|| "auto".into());
    if capture != "auto" && capture != "manual" {
        return Err(ApiError::invalid(
            "payment_data[capture]",
            "must be auto or manual",
        ));
    }
    let session = Session {
        id: new_id(),
        mode,
        amount,
        currency,
        return_url,
        default_locale,
        email,
        metadata,
        payment_types,
        line_items,
        expires_in_seconds,
        external_customer_id,
        payment_data,
        capture_manual: capture == "manual",
        external_order_num,
        scenario: scenario.filter(|s| !s.is_empty()),
        created_at: now,
        cancelled_at: None,
        completed_at: None,
        status: "pending".into(),
        expired: false,
        payment_ids: Vec::new(),
    };
    let out = st.session_json(&session);
    st.sessions.push(session);
    ok(out)
}

fn is_half_width_katakana_name(s: &str) -> bool {
    !s.trim().is_empty()
        && s.chars().all(|c| {
            ('\u{FF61}'..='\u{FF9F}').contains(&c)
                || c == ' '
                || c.is_ascii_uppercase()
                || "().-/".contains(c)
        })
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.chars().all(|c| c.is_ascii_digit())
}

fn refund_request(st: &mut FakeState, id: &str, body: &Value) -> ApiResult {
    let now = st.now();
    let p = st
        .payment(id)
        .ok_or_else(|| ApiError::not_found("payment"))?;
    let req_str = |k: &str| -> Result<String, ApiError> {
        match get_str(body, k, k)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            _ => Err(ApiError::missing(k)),
        }
    };
    let amount = get_int(body, "amount", "amount")?.ok_or_else(|| ApiError::missing("amount"))?;
    let customer_name = req_str("customer_name")?;
    let bank_name = req_str("bank_name")?;
    let branch_number = req_str("branch_number")?;
    let account_type = req_str("account_type")?;
    let account_number = req_str("account_number")?;
    let include_fee = get_bool(
        body,
        "include_payment_method_fee",
        "include_payment_method_fee",
    )?
    .ok_or_else(|| ApiError::missing("include_payment_method_fee"))?;
    let bank_code = get_str(body, "bank_code", "bank_code")?;
    let branch_name = get_str(body, "branch_name", "branch_name")?;
    let description = get_str(body, "description", "description")?;
    if !is_half_width_katakana_name(&customer_name) {
        return Err(ApiError::invalid(
            "customer_name",
            "must be half-width katakana",
        ));
    }
    if !digits(&branch_number, 3) {
        return Err(ApiError::invalid("branch_number", "must be 3 digits"));
    }
    if !digits(&account_number, 7) {
        return Err(ApiError::invalid("account_number", "must be 7 digits"));
    }
    if let Some(c) = &bank_code {
        if !digits(c, 4) {
            return Err(ApiError::invalid("bank_code", "must be 4 digits"));
        }
    }
    let max = p.amount + p.tax + if include_fee { p.fee } else { 0 } - p.amount_refunded;
    if amount <= 0 || amount > max {
        return Err(ApiError::invalid(
            "amount",
            format!("must be between 1 and {max}"),
        ));
    }
    if p.status != "captured" {
        return Err(ApiError::new(
            422,
            "not_refundable",
            format!(
                "A payment with status {} cannot get a refund request",
                p.status
            ),
        ));
    }
    let rr = json!({
        "id": new_id(),
        "payment": p.id,
        "status": "pending",
        "amount": amount,
        "customer_name": customer_name,
        "bank_name": bank_name,
        "bank_code": bank_code,
        "branch_name": branch_name,
        "branch_number": branch_number,
        "account_type": account_type,
        "account_number": account_number,
        "include_payment_method_fee": include_fee,
        "description": description,
        "created_at": fmt_time(now),
    });
    st.payment_mut(id).expect("exists").refund_requests.push(rr);
    Ok(StoredResponse {
        status: 200,
        body: None,
    })
}

struct ListParams {
    page: usize,
    per_page: usize,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    start_raw: Option<String>,
    end_raw: Option<String>,
    q: HashMap<String, String>,
}

fn list_params(query: &[(String, String)]) -> Result<ListParams, ApiError> {
    let mut q: HashMap<String, String> = HashMap::new();
    for (k, v) in query {
        let k = k.trim_end_matches("[]").to_string();
        q.entry(k)
            .and_modify(|e| {
                e.push(',');
                e.push_str(v);
            })
            .or_insert_with(|| v.clone());
    }
    let num = |k: &str, default: usize| -> Result<usize, ApiError> {
        match q.get(k) {
            None => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .map_err(|_| ApiError::invalid(k, "must be a positive integer")),
        }
    };
    let page = num("page", 1)?;
    let per_page = num("per_page", 10)?;
    if page < 1 {
        return Err(ApiError::invalid("page", "must be ≥ 1"));
    }
    if !(1..=100).contains(&per_page) {
        return Err(ApiError::invalid("per_page", "must be between 1 and 100"));
    }
    let time = |k: &str| -> Result<Option<DateTime<Utc>>, ApiError> {
        match q.get(k) {
            None => Ok(None),
            Some(v) => DateTime::parse_from_rfc3339(v)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|_| ApiError::invalid(k, "must be an ISO 8601 time")),
        }
    };
    Ok(ListParams {
        page,
        per_page,
        start: time("start_time")?,
        end: time("end_time")?,
        start_raw: q.get("start_time").cloned(),
        end_raw: q.get("end_time").cloned(),
        q,
    })
}

/// The list envelope of one page. Only that page's items are turned into JSON: a pass that pages
/// through 10 000 payments costs 10 000 serialisations, not 10 000 per page.
fn envelope<T>(lp: &ListParams, items: Vec<&T>, json: impl Fn(&T) -> Value) -> Value {
    let total = items.len();
    let last_page = total.div_ceil(lp.per_page).max(1);
    let data: Vec<Value> = items
        .into_iter()
        .skip((lp.page - 1) * lp.per_page)
        .take(lp.per_page)
        .map(json)
        .collect();
    json!({
        "resource": "list",
        "data": data,
        "start_time": lp.start_raw,
        "end_time": lp.end_raw,
        "total": total,
        "page": lp.page,
        "per_page": lp.per_page,
        "last_page": last_page,
    })
}

fn in_range(t: DateTime<Utc>, lp: &ListParams) -> bool {
    lp.start.is_none_or(|s| t >= s) && lp.end.is_none_or(|e| t <= e)
}

fn list_payments(st: &FakeState, query: &[(String, String)]) -> ApiResult {
    let lp = list_params(query)?;
    let statuses: Option<Vec<String>> = lp.q.get("status").map(|s| {
        s.split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    });
    if let Some(ss) = &statuses {
        const ALL: &[&str] = &[
            "pending",
            "authorized",
            "captured",
            "refunded",
            "cancelled",
            "expired",
            "failed",
        ];
        if let Some(bad) = ss.iter().find(|s| !ALL.contains(&s.as_str())) {
            return Err(ApiError::invalid("status", format!("unknown status {bad}")));
        }
    }
    let currency = lp.q.get("currency").cloned();
    let ext = lp.q.get("external_order_num").cloned();
    let items: Vec<_> = st
        .payments
        .iter()
        .rev()
        .filter(|p| in_range(p.created_at, &lp))
        .filter(|p| currency.as_ref().is_none_or(|c| &p.currency == c))
        .filter(|p| {
            ext.as_ref()
                .is_none_or(|e| p.external_order_num.as_ref() == Some(e))
        })
        .filter(|p| statuses.as_ref().is_none_or(|ss| ss.contains(&p.status)))
        .collect();
    ok(envelope(&lp, items, |p| p.json()))
}

fn list_events(st: &FakeState, query: &[(String, String)]) -> ApiResult {
    let lp = list_params(query)?;
    let items: Vec<_> = if st.events_enabled {
        st.events
            .iter()
            .rev()
            .filter(|e| in_range(e.created_at, &lp))
            .collect()
    } else {
        Vec::new()
    };
    ok(envelope(&lp, items, |e| e.json()))
}
