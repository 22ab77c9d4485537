//! In-memory state of the fake: sessions, payments, events, idempotency keys, faults and the clock.

use std::collections::HashMap;

use chrono::{DateTime, Duration, FixedOffset, NaiveTime, TimeZone, Utc};
use rand::Rng;
use serde_json::{json, Map, Value};

/// Payment types that need the customer to pay later at a store or bank (`authorized` until paid).
pub(crate) const DEFERRED_TYPES: &[&str] = &["konbini", "bank_transfer", "pay_easy"];
/// Every payment type the fake knows. `payment_types` omitted = the first five ("activated" methods).
pub(crate) const KNOWN_TYPES: &[&str] = &[
    "credit_card",
    "konbini",
    "bank_transfer",
    "pay_easy",
    "paypay",
    "linepay",
    "merpay",
    "rakutenpay",
    "aupay",
    "alipay",
    "paidy",
    "web_money",
];
pub(crate) const DEFAULT_TYPES: &[&str] = &[
    "credit_card",
    "konbini",
    "bank_transfer",
    "pay_easy",
    "paypay",
];
pub(crate) const KONBINI_STORES: &[&str] = &[
    "seven-eleven",
    "lawson",
    "family-mart",
    "ministop",
    "daily-yamazaki",
    "seicomart",
];

pub(crate) fn jst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("valid offset")
}

/// ISO 8601 with milliseconds and the JST offset, like KOMOJU: `2020-08-17T18:03:53.000+09:00`.
pub(crate) fn fmt_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&jst())
        .format("%Y-%m-%dT%H:%M:%S%.3f%:z")
        .to_string()
}

pub(crate) fn opt_time(t: Option<DateTime<Utc>>) -> Value {
    t.map(|t| Value::String(fmt_time(t))).unwrap_or(Value::Null)
}

/// 23:59:59.999 JST, `days` days after `now` (in JST).
pub(crate) fn end_of_day_jst(now: DateTime<Utc>, days: i64) -> DateTime<Utc> {
    let local = now.with_timezone(&jst()).date_naive() + Duration::days(days);
    let t = NaiveTime::from_hms_milli_opt(23, 59, 59, 999).expect("valid time");
    jst()
        .from_local_datetime(&local.and_time(t))
        .single()
        .expect("fixed offset is unambiguous")
        .with_timezone(&Utc)
}

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

pub(crate) fn random_alnum(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| ALNUM[rng.gen_range(0..ALNUM.len())] as char)
        .collect()
}

pub(crate) fn random_digits(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

/// A KOMOJU-style id: 25 lowercase alphanumeric characters.
pub(crate) fn new_id() -> String {
    random_alnum(25)
}

/// The KOMOJU error body.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub param: Option<String>,
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            param: None,
        }
    }
    pub fn param(mut self, p: &str) -> Self {
        self.param = Some(p.to_string());
        self
    }
    pub fn missing(param: &str) -> Self {
        ApiError::new(
            400,
            "missing_parameter",
            format!("A required parameter ({param}) is missing"),
        )
        .param(param)
    }
    pub fn invalid(param: &str, why: impl Into<String>) -> Self {
        ApiError::new(
            422,
            "invalid_parameter",
            format!("The parameter {param} is invalid: {}", why.into()),
        )
        .param(param)
    }
    pub fn not_found(what: &str) -> Self {
        ApiError::new(
            404,
            "not_found",
            format!("The requested {what} could not be found"),
        )
    }
    pub fn body(&self) -> Value {
        json!({"error": {
            "code": self.code,
            "message": self.message,
            "param": self.param,
            "details": {},
        }})
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub id: String,
    pub mode: String,
    pub amount: i64,
    pub currency: String,
    pub return_url: Option<String>,
    pub default_locale: String,
    pub email: Option<String>,
    pub metadata: Value,
    pub payment_types: Vec<String>,
    pub line_items: Value,
    pub expires_in_seconds: i64,
    pub external_customer_id: Option<String>,
    pub payment_data: Value,
    pub capture_manual: bool,
    pub external_order_num: Option<String>,
    pub scenario: Option<String>,
    pub created_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub status: String,
    pub expired: bool,
    /// Every payment attempt made through this session, oldest first; the last one is `payment`.
    pub payment_ids: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Payment {
    pub id: String,
    pub status: String,
    pub payment_type: String,
    pub amount: i64,
    pub tax: i64,
    pub currency: String,
    pub fee: i64,
    pub details: Value,
    pub payment_deadline: Option<DateTime<Utc>>,
    pub external_order_num: Option<String>,
    pub session: Option<String>,
    pub metadata: Value,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub captured_at: Option<DateTime<Utc>>,
    pub amount_refunded: i64,
    pub refunds: Vec<Value>,
    pub refund_requests: Vec<Value>,
    pub locale: String,
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub capture_manual: bool,
}

impl Payment {
    pub fn total(&self) -> i64 {
        self.amount + self.tax + self.fee
    }
    pub fn is_deferred(&self) -> bool {
        DEFERRED_TYPES.contains(&self.payment_type.as_str())
    }
    pub fn json(&self) -> Value {
        json!({
            "id": self.id,
            "resource": "payment",
            "status": self.status,
            "amount": self.amount,
            "tax": self.tax,
            "total": self.total(),
            "currency": self.currency,
            "payment_method_fee": self.fee,
            "payment_details": self.details,
            "payment_deadline": opt_time(self.payment_deadline),
            "external_order_num": self.external_order_num,
            "session": self.session,
            "metadata": self.metadata,
            "description": self.description,
            "customer": null,
            "created_at": fmt_time(self.created_at),
            "captured_at": opt_time(self.captured_at),
            "amount_refunded": self.amount_refunded,
            "refunds": self.refunds,
            "refund_requests": self.refund_requests,
            "locale": self.locale,
            "customer_family_name": self.family_name,
            "customer_given_name": self.given_name,
            "mcc": null,
            "statement_descriptor": null,
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub id: String,
    pub kind: String,
    pub data: Value,
    pub created_at: DateTime<Utc>,
}

impl Event {
    pub fn json(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.kind,
            "resource": "event",
            "data": self.data,
            "created_at": fmt_time(self.created_at),
            "reason": null,
        })
    }
}

/// A stored API response (for idempotent replays). `body: None` = empty body.
#[derive(Debug, Clone)]
pub(crate) struct StoredResponse {
    pub status: u16,
    pub body: Option<Value>,
}

impl From<ApiError> for StoredResponse {
    fn from(e: ApiError) -> Self {
        StoredResponse {
            status: e.status,
            body: Some(e.body()),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct IdemEntry {
    /// method, path and the parsed body of the first request.
    pub fingerprint: Value,
    pub created_at: DateTime<Utc>,
    /// None while the first request is still executing.
    pub result: Option<StoredResponse>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultKind {
    Latency,
    Status500,
    RateLimit,
    CloseAfterProcessing,
    Stall,
    MalformedJson,
    WrongContentType,
}

impl FaultKind {
    pub fn parse(s: &str) -> Option<FaultKind> {
        Some(match s {
            "latency" => FaultKind::Latency,
            "status_500" => FaultKind::Status500,
            "rate_limit" => FaultKind::RateLimit,
            "close_after_processing" => FaultKind::CloseAfterProcessing,
            "stall" => FaultKind::Stall,
            "malformed_json" => FaultKind::MalformedJson,
            "wrong_content_type" => FaultKind::WrongContentType,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Latency => "latency",
            FaultKind::Status500 => "status_500",
            FaultKind::RateLimit => "rate_limit",
            FaultKind::CloseAfterProcessing => "close_after_processing",
            FaultKind::Stall => "stall",
            FaultKind::MalformedJson => "malformed_json",
            FaultKind::WrongContentType => "wrong_content_type",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Fault {
    pub kind: FaultKind,
    pub remaining: u32,
    pub latency_ms: u64,
    pub retry_after: u64,
    pub stall_ms: u64,
    pub path_prefix: Option<String>,
    pub method: Option<String>,
}

impl Fault {
    pub fn json(&self) -> Value {
        json!({
            "kind": self.kind.name(),
            "remaining": self.remaining,
            "latency_ms": self.latency_ms,
            "retry_after": self.retry_after,
            "stall_ms": self.stall_ms,
            "path_prefix": self.path_prefix,
            "method": self.method,
        })
    }
}

/// Options for a new payment made through a session.
#[derive(Debug, Clone, Default)]
pub(crate) struct PayRequest {
    pub payment_type: String,
    pub store: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    /// Force a failed attempt with this error code (the `/fail` control endpoint).
    pub fail_code: Option<String>,
}

pub(crate) struct FakeState {
    pub origin: String,
    pub secret_key: String,
    pub events_enabled: bool,
    pub clock_offset: Duration,
    /// A frozen clock: every timestamp is this instant (plus the offset) until thawed. Lets tests
    /// make many records with one timestamp (a page boundary between equal times).
    pub frozen_at: Option<DateTime<Utc>>,
    pub sessions: Vec<Session>,
    pub payments: Vec<Payment>,
    pub events: Vec<Event>,
    pub idempotency: HashMap<String, IdemEntry>,
    pub faults: Vec<Fault>,
    pub api_requests: u64,
    /// API requests by route shape (`GET /payments/:id`): proves what a client polls.
    pub requests_by_route: std::collections::BTreeMap<String, u64>,
    pub idempotent_replays: u64,
    /// What a session offers when it names no payment types.
    pub activated_types: Vec<String>,
}

impl FakeState {
    pub fn new(origin: String, secret_key: String, events_enabled: bool) -> Self {
        FakeState {
            origin,
            secret_key,
            events_enabled,
            clock_offset: Duration::zero(),
            frozen_at: None,
            sessions: Vec::new(),
            payments: Vec::new(),
            events: Vec::new(),
            idempotency: HashMap::new(),
            faults: Vec::new(),
            activated_types: DEFAULT_TYPES.iter().map(|t| t.to_string()).collect(),
            api_requests: 0,
            requests_by_route: std::collections::BTreeMap::new(),
            idempotent_replays: 0,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.frozen_at.unwrap_or_else(Utc::now) + self.clock_offset
    }

    pub fn session(&self, id: &str) -> Option<&Session> {
        self.sessions.iter().find(|s| s.id == id)
    }
    pub fn session_mut(&mut self, id: &str) -> Option<&mut Session> {
        self.sessions.iter_mut().find(|s| s.id == id)
    }
    pub fn payment(&self, id: &str) -> Option<&Payment> {
        self.payments.iter().find(|p| p.id == id)
    }
    pub fn payment_mut(&mut self, id: &str) -> Option<&mut Payment> {
        self.payments.iter_mut().find(|p| p.id == id)
    }

    pub fn session_json(&self, s: &Session) -> Value {
        let payment = s
            .payment_ids
            .last()
            .and_then(|id| self.payment(id))
            .map(Payment::json)
            .unwrap_or(Value::Null);
        let payment_methods: Vec<Value> = s
            .payment_types
            .iter()
            .map(|t| {
                if t == "konbini" {
                    let brands: Map<String, Value> = KONBINI_STORES
                        .iter()
                        .map(|b| (b.to_string(), json!(format!("/images/konbini/{b}.svg"))))
                        .collect();
                    json!({"type": t, "brands": brands})
                } else {
                    json!({"type": t})
                }
            })
            .collect();
        json!({
            "id": s.id,
            "resource": "session",
            "mode": s.mode,
            "amount": s.amount,
            "currency": s.currency,
            "session_url": format!("{}/sessions/{}", self.origin, s.id),
            "return_url": s.return_url,
            "default_locale": s.default_locale,
            "payment_methods": payment_methods,
            "created_at": fmt_time(s.created_at),
            "cancelled_at": opt_time(s.cancelled_at),
            "completed_at": opt_time(s.completed_at),
            "status": s.status,
            "expired": s.expired,
            "merchant": null,
            "metadata": s.metadata,
            "payment": payment,
            "payment_data": s.payment_data,
            "customer_id": null,
            "line_items": s.line_items,
            "email": s.email,
            "external_customer_id": s.external_customer_id,
        })
    }

    /// Record an event for the payment's current state (when events are enabled).
    pub fn record_event(&mut self, kind: &str, payment_id: &str) {
        if !self.events_enabled {
            return;
        }
        let Some(p) = self.payment(payment_id) else {
            return;
        };
        let ev = Event {
            id: new_id(),
            kind: kind.to_string(),
            data: p.json(),
            created_at: self.now(),
        };
        self.events.push(ev);
    }

    /// Apply time-based changes: session expiry, deadlines of deferred payments.
    pub fn tick(&mut self) {
        let now = self.now();
        for s in &mut self.sessions {
            if s.status == "pending"
                && !s.expired
                && now >= s.created_at + Duration::seconds(s.expires_in_seconds)
            {
                s.expired = true;
            }
        }
        let expiring: Vec<String> = self
            .payments
            .iter()
            .filter(|p| {
                p.status == "authorized"
                    && p.is_deferred()
                    && p.payment_deadline.is_some_and(|d| now > d)
            })
            .map(|p| p.id.clone())
            .collect();
        for id in expiring {
            if let Some(p) = self.payment_mut(&id) {
                p.status = "expired".into();
            }
            self.record_event("payment.expired", &id);
        }
    }

    /// Pay through a session (hosted page or control API). Returns the new payment's id.
    pub fn pay_session(&mut self, session_id: &str, req: PayRequest) -> Result<String, ApiError> {
        let now = self.now();
        let origin = self.origin.clone();
        let s = self
            .session(session_id)
            .ok_or_else(|| ApiError::not_found("session"))?
            .clone();
        if s.status == "cancelled" {
            return Err(ApiError::new(
                422,
                "unprocessable_entity",
                "The session is cancelled",
            ));
        }
        if s.status == "completed" {
            return Err(ApiError::new(
                422,
                "unprocessable_entity",
                "The session is already completed",
            ));
        }
        if s.expired {
            return Err(ApiError::new(
                422,
                "unprocessable_entity",
                "The session has expired",
            ));
        }
        let t = req.payment_type.as_str();
        if !KNOWN_TYPES.contains(&t) {
            return Err(ApiError::new(
                422,
                "invalid_payment_type",
                format!("Unknown payment type {t}"),
            )
            .param("payment_type"));
        }
        if !s.payment_types.iter().any(|x| x == t) {
            return Err(ApiError::new(
                422,
                "invalid_payment_type",
                format!("Payment type {t} is not allowed for this session"),
            )
            .param("payment_type"));
        }
        let store = match (&req.store, t) {
            (Some(st), "konbini") if KONBINI_STORES.contains(&st.as_str()) => st.clone(),
            (Some(st), "konbini") => {
                return Err(ApiError::invalid(
                    "store",
                    format!("unknown konbini store {st}"),
                ))
            }
            _ => "lawson".to_string(),
        };
        let email = req
            .email
            .clone()
            .or_else(|| s.email.clone())
            .unwrap_or_else(|| "customer@example.com".into());
        let name = req.name.clone().or_else(|| {
            s.payment_data
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        let (family_name, given_name) = match name {
            Some(n) => {
                let mut it = n.split_whitespace();
                let f = it.next().map(str::to_string);
                let rest: Vec<&str> = it.collect();
                (f, (!rest.is_empty()).then(|| rest.join(" ")))
            }
            None => (None, None),
        };
        let id = new_id();
        let instructions_url = format!("{origin}/instructions/{id}");
        let (fee, deadline, details) = match t {
            "credit_card" => (
                0,
                None,
                json!({"type": t, "brand": "visa", "last_four_digits": "1111", "month": 12,
                       "year": 2030,
                       "email": email, "verification_value": "Approved",
                       "name": family_name.clone(), "installments": null}),
            ),
            "konbini" => {
                let (receipt, confirmation) = if store == "seven-eleven" {
                    (random_digits(13), Value::Null)
                } else {
                    (random_alnum(10), json!(random_alnum(5)))
                };
                (
                    190,
                    Some(end_of_day_jst(now, 3)),
                    json!({"type": t, "store": store, "email": email, "receipt": receipt,
                           "confirmation_code": confirmation, "instructions_url": instructions_url}),
                )
            }
            "bank_transfer" => {
                let deadline = end_of_day_jst(now, 7);
                (
                    200,
                    Some(deadline),
                    json!({"type": t, "order_id": format!("Y{}", random_digits(10)),
                           "bank_name": "三井住友銀行", "account_branch_name": "テスト支店",
                           "account_type": "普通預金", "account_number": random_digits(7),
                           "account_name": "株式会社DEGICA（カブシキガイシャ デジカ）",
                           "instructions_url": instructions_url,
                           "payment_deadline": fmt_time(deadline), "email": email}),
                )
            }
            "pay_easy" => (
                190,
                Some(end_of_day_jst(now, 3)),
                json!({"type": t, "bank_id": random_alnum(5), "customer_id": random_alnum(10),
                       "confirmation_id": random_alnum(10), "instructions_url": instructions_url,
                       "payment_url": format!("{origin}/pay_easy/{id}"), "email": email,
                       "cvs_code": null}),
            ),
            _ => (0, None, json!({"type": t})),
        };
        let fail_code = req.fail_code.clone().or_else(|| s.scenario.clone());
        let deferred = DEFERRED_TYPES.contains(&t);
        let status = if fail_code.is_some() {
            "failed"
        } else if deferred || s.capture_manual {
            "authorized"
        } else {
            "captured"
        };
        let payment = Payment {
            id: id.clone(),
            status: status.to_string(),
            payment_type: t.to_string(),
            amount: s.amount,
            tax: 0,
            currency: s.currency.clone(),
            fee,
            details,
            payment_deadline: if status == "failed" { None } else { deadline },
            external_order_num: s.external_order_num.clone(),
            session: Some(s.id.clone()),
            metadata: s.metadata.clone(),
            description: None,
            created_at: now,
            captured_at: (status == "captured").then_some(now),
            amount_refunded: 0,
            refunds: Vec::new(),
            refund_requests: Vec::new(),
            locale: s.default_locale.clone(),
            family_name,
            given_name,
            capture_manual: s.capture_manual,
        };
        self.payments.push(payment);
        let sess = self.session_mut(session_id).expect("session exists");
        sess.payment_ids.push(id.clone());
        if status != "failed" {
            sess.status = "completed".into();
            sess.completed_at = Some(now);
        }
        let kind = match status {
            "failed" => "payment.failed",
            "authorized" => "payment.authorized",
            _ => "payment.captured",
        };
        self.record_event(kind, &id);
        Ok(id)
    }

    /// Customer clicked "return to merchant" (or merchant cancel through the API).
    pub fn cancel_session(&mut self, session_id: &str) -> Result<(), ApiError> {
        let now = self.now();
        let s = self
            .session_mut(session_id)
            .ok_or_else(|| ApiError::not_found("session"))?;
        match s.status.as_str() {
            "pending" => {
                s.status = "cancelled".into();
                s.cancelled_at = Some(now);
                Ok(())
            }
            "cancelled" => Ok(()),
            _ => Err(ApiError::new(
                422,
                "not_cancellable",
                "The session is completed and cannot be cancelled",
            )),
        }
    }

    /// authorized → captured (store/bank payment received, or a manual capture).
    pub fn capture_payment(
        &mut self,
        payment_id: &str,
        amount: Option<i64>,
        tax: Option<i64>,
    ) -> Result<(), ApiError> {
        let now = self.now();
        let p = self
            .payment_mut(payment_id)
            .ok_or_else(|| ApiError::not_found("payment"))?;
        if p.status != "authorized" {
            return Err(ApiError::new(
                422,
                "not_capturable",
                format!("A payment with status {} cannot be captured", p.status),
            ));
        }
        if let Some(a) = amount {
            if a < 0 || a > p.amount {
                return Err(ApiError::invalid(
                    "amount",
                    "must be between 0 and the authorized amount",
                ));
            }
            p.amount = a;
        }
        if let Some(t) = tax {
            if t < 0 {
                return Err(ApiError::invalid("tax", "must be ≥ 0"));
            }
            p.tax = t;
        }
        p.status = "captured".into();
        p.captured_at = Some(now);
        self.record_event("payment.captured", payment_id);
        Ok(())
    }

    pub fn cancel_payment(&mut self, payment_id: &str) -> Result<(), ApiError> {
        let p = self
            .payment_mut(payment_id)
            .ok_or_else(|| ApiError::not_found("payment"))?;
        if p.status != "pending" && p.status != "authorized" {
            return Err(ApiError::new(
                422,
                "not_cancellable",
                format!("A payment with status {} cannot be cancelled", p.status),
            ));
        }
        p.status = "cancelled".into();
        self.record_event("payment.cancelled", payment_id);
        Ok(())
    }

    pub fn expire_payment(&mut self, payment_id: &str) -> Result<(), ApiError> {
        let p = self
            .payment_mut(payment_id)
            .ok_or_else(|| ApiError::not_found("payment"))?;
        if p.status != "authorized" && p.status != "pending" {
            return Err(ApiError::new(
                422,
                "unprocessable_entity",
                format!("A payment with status {} cannot expire", p.status),
            ));
        }
        p.status = "expired".into();
        self.record_event("payment.expired", payment_id);
        Ok(())
    }

    pub fn refund_payment(
        &mut self,
        payment_id: &str,
        amount: Option<i64>,
        description: Option<String>,
    ) -> Result<(), ApiError> {
        let now = self.now();
        let p = self
            .payment_mut(payment_id)
            .ok_or_else(|| ApiError::not_found("payment"))?;
        if p.is_deferred() {
            return Err(ApiError::new(
                422,
                "not_refundable",
                format!(
                    "{} payments cannot be refunded; use a refund request",
                    p.payment_type
                ),
            ));
        }
        if p.status != "captured" {
            return Err(ApiError::new(
                422,
                "not_refundable",
                format!("A payment with status {} cannot be refunded", p.status),
            ));
        }
        let remaining = p.total() - p.amount_refunded;
        let amount = amount.unwrap_or(remaining);
        if amount <= 0 || amount > remaining {
            return Err(ApiError::invalid(
                "amount",
                format!("must be between 1 and the remaining {remaining}"),
            ));
        }
        p.refunds.push(json!({
            "id": new_id(),
            "resource": "refund",
            "amount": amount,
            "currency": p.currency,
            "payment": p.id,
            "description": description,
            "created_at": fmt_time(now),
            "chargeback": false,
        }));
        p.amount_refunded += amount;
        let full = p.amount_refunded >= p.total();
        if full {
            p.status = "refunded".into();
        }
        self.record_event("payment.refund.created", payment_id);
        if full {
            self.record_event("payment.refunded", payment_id);
        }
        Ok(())
    }

    /// Sets a refund request's status (control API: the manual processing at KOMOJU).
    pub fn settle_refund_request(
        &mut self,
        payment_id: &str,
        rid: &str,
        status: &str,
    ) -> Result<Value, ApiError> {
        let p = self
            .payment_mut(payment_id)
            .ok_or_else(|| ApiError::not_found("payment"))?;
        let rr = p
            .refund_requests
            .iter_mut()
            .find(|r| r.get("id").and_then(Value::as_str) == Some(rid))
            .ok_or_else(|| ApiError::not_found("refund request"))?;
        if rr.get("status").and_then(Value::as_str) != Some("pending") {
            return Err(ApiError::new(
                422,
                "unprocessable_entity",
                "The refund request is not pending",
            ));
        }
        rr["status"] = json!(status);
        let out = rr.clone();
        self.record_event("payment.updated", payment_id);
        Ok(out)
    }

    pub fn stats(&self) -> Value {
        let mut by_ext: Map<String, Value> = Map::new();
        for s in &self.sessions {
            if let Some(e) = &s.external_order_num {
                let n = by_ext.get(e).and_then(Value::as_u64).unwrap_or(0);
                by_ext.insert(e.clone(), json!(n + 1));
            }
        }
        json!({
            "sessions": self.sessions.len(),
            "payments": self.payments.len(),
            "events": self.events.len(),
            "api_requests": self.api_requests,
            "requests_by_route": self.requests_by_route,
            "idempotent_replays": self.idempotent_replays,
            "sessions_by_external_order_num": by_ext,
            "events_enabled": self.events_enabled,
            "faults": self.faults.iter().map(Fault::json).collect::<Vec<_>>(),
            "now": fmt_time(self.now()),
        })
    }
}

/// `/api/v1/payments/abc123/refund` → `/payments/:id/refund`.
pub fn route_shape(path: &str) -> String {
    let rest = path.strip_prefix("/api/v1").unwrap_or(path);
    let mut out = String::new();
    for (i, seg) in rest.split('/').filter(|s| !s.is_empty()).enumerate() {
        out.push('/');
        out.push_str(if i == 1 { ":id" } else { seg });
    }
    out
}
