//! `FakeControl`: a small reqwest client of the fake's `/_fake/` control API.

use serde::Serialize;
use serde_json::{json, Value};

/// Errors from [`FakeControl`].
#[derive(Debug, thiserror::Error)]
pub enum FakeControlError {
    #[error("fake control request failed: {0}")]
    Transport(String),
    #[error("fake control API answered {status}: {body}")]
    Status { status: u16, body: Value },
}

/// A transport fault to inject (`POST /_fake/faults`). Unset fields use the fake's defaults.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FaultSpec {
    /// `latency`, `status_500`, `rate_limit`, `close_after_processing`, `stall`, `malformed_json`,
    /// `wrong_content_type`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stall_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

impl FaultSpec {
    /// One occurrence of `kind` on any API request.
    pub fn new(kind: &str) -> Self {
        FaultSpec {
            kind: kind.to_string(),
            ..Default::default()
        }
    }
}

/// Client of the fake's control API (no auth).
#[derive(Debug, Clone)]
pub struct FakeControl {
    base: String,
    http: reqwest::Client,
}

type R = Result<Value, FakeControlError>;

impl FakeControl {
    /// `origin` = [`super::FakeKomoju::origin`], e.g. `http://127.0.0.1:PORT`.
    pub fn new(origin: &str) -> Self {
        FakeControl {
            base: format!("{}/_fake", origin.trim_end_matches('/')),
            http: reqwest::Client::new(),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> R {
        let resp = req
            .send()
            .await
            .map_err(|e| FakeControlError::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        let text = resp
            .text()
            .await
            .map_err(|e| FakeControlError::Transport(e.to_string()))?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(FakeControlError::Status { status, body })
        }
    }

    async fn post(&self, path: &str, body: Value) -> R {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    async fn get(&self, path: &str) -> R {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    /// The customer pays through the session. `store` is for konbini (default `lawson`).
    /// Returns the payment JSON (`captured`, `authorized` or — with a scenario — `failed`).
    pub async fn pay(&self, session_id: &str, payment_type: &str, store: Option<&str>) -> R {
        let mut b = json!({"payment_type": payment_type});
        if let Some(s) = store {
            b["store"] = json!(s);
        }
        self.pay_with(session_id, b).await
    }

    /// Like [`FakeControl::pay`] with a full body: `{payment_type, store?, email?, name?}`.
    pub async fn pay_with(&self, session_id: &str, body: Value) -> R {
        self.post(&format!("/sessions/{session_id}/pay"), body)
            .await
    }

    /// A failed payment attempt (session stays pending). Returns the failed payment.
    pub async fn fail(&self, session_id: &str) -> R {
        self.post(&format!("/sessions/{session_id}/fail"), json!({}))
            .await
    }

    /// The customer clicks "return to merchant": session → cancelled. Returns the session.
    pub async fn customer_cancel(&self, session_id: &str) -> R {
        self.post(
            &format!("/sessions/{session_id}/customer_cancel"),
            json!({}),
        )
        .await
    }

    /// The customer paid at the store / bank: authorized → captured. Returns the payment.
    pub async fn capture_payment(&self, payment_id: &str) -> R {
        self.post(&format!("/payments/{payment_id}/capture"), json!({}))
            .await
    }

    /// authorized → expired. Returns the payment.
    pub async fn expire_payment(&self, payment_id: &str) -> R {
        self.post(&format!("/payments/{payment_id}/expire"), json!({}))
            .await
    }

    /// KOMOJU paid the refund request out. Returns the refund request.
    pub async fn complete_refund_request(&self, payment_id: &str, request_id: &str) -> R {
        self.post(
            &format!("/payments/{payment_id}/refund_requests/{request_id}/complete"),
            json!({}),
        )
        .await
    }

    /// KOMOJU rejected the refund request. Returns the refund request.
    pub async fn reject_refund_request(&self, payment_id: &str, request_id: &str) -> R {
        self.post(
            &format!("/payments/{payment_id}/refund_requests/{request_id}/reject"),
            json!({}),
        )
        .await
    }

    /// Moves the fake clock. Returns `{now, offset_seconds}`.
    pub async fn advance_clock(&self, seconds: i64) -> R {
        self.post("/clock/advance", json!({"seconds": seconds}))
            .await
    }

    /// Freezes the fake clock at the current instant (`true`) or lets it run again (`false`).
    pub async fn freeze_clock(&self, frozen: bool) -> R {
        self.post("/clock/freeze", json!({"frozen": frozen})).await
    }

    /// `{now, offset_seconds, frozen}`.
    pub async fn clock(&self) -> R {
        self.get("/clock").await
    }

    /// Injects a fault for the next `count` matching API requests.
    pub async fn add_fault(&self, spec: &FaultSpec) -> R {
        let body =
            serde_json::to_value(spec).map_err(|e| FakeControlError::Transport(e.to_string()))?;
        self.post("/faults", body).await
    }

    /// Removes all pending faults.
    pub async fn clear_faults(&self) -> R {
        self.send(self.http.delete(format!("{}/faults", self.base)))
            .await
    }

    /// Turns event recording on or off.
    pub async fn set_events(&self, enabled: bool) -> R {
        self.post("/events", json!({"enabled": enabled})).await
    }

    /// `{sessions, payments, events, api_requests, idempotent_replays, sessions_by_external_order_num, …}`.
    pub async fn stats(&self) -> R {
        self.get("/stats").await
    }

    /// All sessions (array of Session objects).
    pub async fn sessions(&self) -> R {
        self.get("/sessions").await
    }
}
