//! The control API under `/_fake/` (not part of KOMOJU; no auth).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono::{Duration, Utc};
use serde_json::{json, Value};

use super::api::json_response;
use super::model::{fmt_time, ApiError, Fault, FaultKind, PayRequest};
use super::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/sessions", get(list_sessions))
        .route("/sessions/{id}/pay", post(pay))
        .route("/sessions/{id}/fail", post(fail))
        .route("/sessions/{id}/customer_cancel", post(customer_cancel))
        .route("/payments/{id}/capture", post(capture))
        .route("/payments/{id}/expire", post(expire))
        .route(
            "/payments/{id}/refund_requests/{rid}/complete",
            post(rr_complete),
        )
        .route(
            "/payments/{id}/refund_requests/{rid}/reject",
            post(rr_reject),
        )
        .route("/clock", get(clock))
        .route("/clock/advance", post(advance))
        .route("/clock/freeze", post(freeze))
        .route(
            "/faults",
            post(add_fault).delete(clear_faults).get(list_faults),
        )
        .route("/events", post(set_events))
        .route("/stats", get(stats))
}

pub(crate) async fn not_found() -> Response {
    err(ApiError::new(
        404,
        "not_found",
        "The requested resource could not be found",
    ))
}

fn err(e: ApiError) -> Response {
    json_response(e.status, &e.body())
}

fn done(r: Result<Value, ApiError>) -> Response {
    match r {
        Ok(v) => json_response(200, &v),
        Err(e) => err(e),
    }
}

/// Lenient JSON body: empty = `{}`.
fn body_json(body: &Bytes) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new(400, "bad_request", format!("invalid JSON: {e}")))
}

fn opt_string(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

async fn list_sessions(State(sh): State<Shared>) -> Response {
    let mut st = sh.lock();
    st.tick();
    let all: Vec<Value> = st.sessions.iter().map(|s| st.session_json(s)).collect();
    json_response(200, &Value::Array(all))
}

async fn pay(State(sh): State<Shared>, Path(id): Path<String>, body: Bytes) -> Response {
    done((|| {
        let b = body_json(&body)?;
        let payment_type =
            opt_string(&b, "payment_type").ok_or_else(|| ApiError::missing("payment_type"))?;
        let mut st = sh.lock();
        st.tick();
        let pid = st.pay_session(
            &id,
            PayRequest {
                payment_type,
                store: opt_string(&b, "store"),
                email: opt_string(&b, "email"),
                name: opt_string(&b, "name"),
                fail_code: None,
            },
        )?;
        Ok(st.payment(&pid).expect("created").json())
    })())
}

async fn fail(State(sh): State<Shared>, Path(id): Path<String>, body: Bytes) -> Response {
    done((|| {
        let b = body_json(&body)?;
        let mut st = sh.lock();
        st.tick();
        let payment_type = match opt_string(&b, "payment_type") {
            Some(t) => t,
            None => st
                .session(&id)
                .ok_or_else(|| ApiError::not_found("session"))?
                .payment_types
                .first()
                .cloned()
                .unwrap_or_else(|| "credit_card".into()),
        };
        let pid = st.pay_session(
            &id,
            PayRequest {
                payment_type,
                fail_code: Some(opt_string(&b, "code").unwrap_or_else(|| "card_declined".into())),
                ..Default::default()
            },
        )?;
        Ok(st.payment(&pid).expect("created").json())
    })())
}

async fn customer_cancel(State(sh): State<Shared>, Path(id): Path<String>) -> Response {
    let mut st = sh.lock();
    st.tick();
    done(st.cancel_session(&id).map(|_| {
        let s = st.session(&id).expect("exists");
        st.session_json(s)
    }))
}

async fn capture(State(sh): State<Shared>, Path(id): Path<String>) -> Response {
    let mut st = sh.lock();
    st.tick();
    done(
        st.capture_payment(&id, None, None)
            .map(|_| st.payment(&id).expect("exists").json()),
    )
}

async fn expire(State(sh): State<Shared>, Path(id): Path<String>) -> Response {
    let mut st = sh.lock();
    st.tick();
    done(
        st.expire_payment(&id)
            .map(|_| st.payment(&id).expect("exists").json()),
    )
}

async fn rr_complete(
    State(sh): State<Shared>,
    Path((id, rid)): Path<(String, String)>,
) -> Response {
    let mut st = sh.lock();
    st.tick();
    done(st.settle_refund_request(&id, &rid, "completed"))
}

async fn rr_reject(State(sh): State<Shared>, Path((id, rid)): Path<(String, String)>) -> Response {
    let mut st = sh.lock();
    st.tick();
    done(st.settle_refund_request(&id, &rid, "rejected"))
}

fn clock_json(sh: &Shared) -> Value {
    let st = sh.lock();
    json!({"now": fmt_time(st.now()), "offset_seconds": st.clock_offset.num_seconds(), "frozen": st.frozen_at.is_some()})
}

async fn clock(State(sh): State<Shared>) -> Response {
    json_response(200, &clock_json(&sh))
}

async fn advance(State(sh): State<Shared>, body: Bytes) -> Response {
    let b = match body_json(&body) {
        Ok(b) => b,
        Err(e) => return err(e),
    };
    let Some(secs) = b.get("seconds").and_then(Value::as_i64) else {
        return err(ApiError::missing("seconds"));
    };
    {
        let mut st = sh.lock();
        st.clock_offset += Duration::seconds(secs);
        st.tick();
    }
    json_response(200, &clock_json(&sh))
}

async fn freeze(State(sh): State<Shared>, body: Bytes) -> Response {
    let b = match body_json(&body) {
        Ok(b) => b,
        Err(e) => return err(e),
    };
    let Some(frozen) = b.get("frozen").and_then(Value::as_bool) else {
        return err(ApiError::missing("frozen"));
    };
    {
        let mut st = sh.lock();
        st.frozen_at = frozen.then(Utc::now);
        st.tick();
    }
    json_response(200, &clock_json(&sh))
}

async fn add_fault(State(sh): State<Shared>, body: Bytes) -> Response {
    done((|| {
        let b = body_json(&body)?;
        let kind_s = opt_string(&b, "kind").ok_or_else(|| ApiError::missing("kind"))?;
        let kind = FaultKind::parse(&kind_s)
            .ok_or_else(|| ApiError::invalid("kind", format!("unknown fault {kind_s}")))?;
        let num = |k: &str, d: u64| b.get(k).and_then(Value::as_u64).unwrap_or(d);
        let fault = Fault {
            kind,
            remaining: num("count", 1).min(u32::MAX as u64) as u32,
            latency_ms: num("latency_ms", 2000),
            retry_after: num("retry_after", 1),
            stall_ms: num("stall_ms", 10_000),
            path_prefix: opt_string(&b, "path_prefix"),
            method: opt_string(&b, "method"),
        };
        let out = fault.json();
        if fault.remaining > 0 {
            sh.lock().faults.push(fault);
        }
        Ok(out)
    })())
}

async fn list_faults(State(sh): State<Shared>) -> Response {
    let st = sh.lock();
    json_response(
        200,
        &Value::Array(st.faults.iter().map(Fault::json).collect()),
    )
}

async fn clear_faults(State(sh): State<Shared>) -> Response {
    sh.lock().faults.clear();
    json_response(200, &json!({"faults": []}))
}

async fn set_events(State(sh): State<Shared>, body: Bytes) -> Response {
    done((|| {
        let b = body_json(&body)?;
        let enabled = b
            .get("enabled")
            .and_then(Value::as_bool)
            .ok_or_else(|| ApiError::missing("enabled"))?;
        sh.lock().events_enabled = enabled;
        Ok(json!({"enabled": enabled}))
    })())
}

async fn stats(State(sh): State<Shared>) -> Response {
    let mut st = sh.lock();
    st.tick();
    json_response(200, &st.stats())
}
