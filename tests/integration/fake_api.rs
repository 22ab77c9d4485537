//! Tests of the fake KOMOJU through plain HTTP (reqwest), as a real client would see it.
#![cfg(feature = "fake")]

use std::time::{Duration, Instant};

use reji::fake::{FakeConfig, FakeControl, FakeKomoju, FaultSpec};
use serde_json::{json, Value};

struct T {
    fake: FakeKomoju,
    http: reqwest::Client,
    ctl: FakeControl,
}

struct Resp {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    fn code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }
    fn param(&self) -> Value {
        self.json()["error"]["param"].clone()
    }
}

async fn start(events: bool) -> T {
    let fake = FakeKomoju::start(FakeConfig {
        events_enabled: events,
        ..FakeConfig::default()
    })
    .await
    .expect("start fake");
    let ctl = FakeControl::new(&fake.origin());
    T {
        fake,
        http: reqwest::Client::new(),
        ctl,
    }
}

impl T {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.fake.api_base())
    }
    async fn done(r: reqwest::Response) -> Resp {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.expect("body");
        Resp {
            status,
            headers,
            text,
        }
    }
    fn post_req(&self, path: &str, body: &Value, key: Option<&str>) -> reqwest::RequestBuilder {
        let mut rb = self
            .http
            .post(self.url(path))
            .basic_auth(self.fake.secret_key(), Some(""))
            .json(body);
        if let Some(k) = key {
            rb = rb.header("X-KOMOJU-IDEMPOTENCY", k);
        }
        rb
    }
    async fn post(&self, path: &str, body: Value) -> Resp {
        Self::done(self.post_req(path, &body, None).send().await.expect("send")).await
    }
    async fn post_idem(&self, path: &str, body: Value, key: &str) -> Resp {
        Self::done(
            self.post_req(path, &body, Some(key))
                .send()
                .await
                .expect("send"),
        )
        .await
    }
    async fn get(&self, path: &str) -> Resp {
        Self::done(
            self.http
                .get(self.url(path))
                .basic_auth(self.fake.secret_key(), Some(""))
                .send()
                .await
                .expect("send"),
        )
        .await
    }
    async fn session(&self, amount: i64, extra: Value) -> Value {
        let mut body =
            json!({"amount": amount, "currency": "JPY", "return_url": "https://shop.example/done"});
        if let Value::Object(m) = extra {
            for (k, v) in m {
                body[k] = v;
            }
        }
        let r = self.post("/sessions", body).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.json()
    }
    async fn paid(&self, amount: i64, payment_type: &str) -> (Value, Value) {
        let s = self.session(amount, json!({})).await;
        let p = self
            .ctl
            .pay(s["id"].as_str().unwrap(), payment_type, None)
            .await
            .expect("pay");
        (s, p)
    }
    async fn stats(&self) -> Value {
        self.ctl.stats().await.expect("stats")
    }
}

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("id")
}

#[tokio::test]
async fn auth_and_not_found() {
    let t = start(true).await;
    let r = T::done(t.http.get(t.url("/payments")).send().await.unwrap()).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.code(), "unauthorized");
    assert!(r.json()["error"]["param"].is_null());
    assert!(r.json()["error"]["details"].is_object());
    let r = T::done(
        t.http
            .get(t.url("/payments"))
            .basic_auth("sk_test_wrong", Some(""))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(t.get("/payments").await.status, 200);
    let r = t.get("/sessions/doesnotexist").await;
    assert_eq!((r.status, r.code()), (404, "not_found".into()));
    let r = t.get("/no/such/route").await;
    assert_eq!((r.status, r.code()), (404, "not_found".into()));
    let r = T::done(
        t.http
            .get(format!("{}/nothing", t.fake.origin()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((r.status, r.code()), (404, "not_found".into()));
}

#[tokio::test]
async fn create_session_json_and_form() {
    let t = start(true).await;
    let s = t
        .session(
            1500,
            json!({"email": "a@example.com", "metadata": {"invoice": "INV-1"},
                   "payment_types": ["credit_card", "konbini"],
                   "payment_data": {"external_order_num": "INV-1-1", "name": "山田 太郎"},
                   "line_items": [{"amount": 1500, "description": "コーヒー"}]}),
        )
        .await;
    assert_eq!(id(&s).len(), 25);
    assert!(id(&s)
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    assert_eq!(s["resource"], "session");
    assert_eq!(s["mode"], "payment");
    assert_eq!(s["status"], "pending");
    assert_eq!(s["expired"], false);
    assert!(s["payment"].is_null());
    assert!(s.get("expires_at").is_none());
    assert_eq!(
        s["session_url"],
        format!("{}/sessions/{}", t.fake.origin(), id(&s))
    );
    assert!(s["created_at"].as_str().unwrap().ends_with("+09:00"));
    assert_eq!(s["payment_methods"][0], json!({"type": "credit_card"}));
    assert_eq!(s["payment_methods"][1]["type"], "konbini");
    assert_eq!(
        s["payment_methods"][1]["brands"]["lawson"],
        "/images/konbini/lawson.svg"
    );
    assert_eq!(s["line_items"][0]["quantity"], 1);
    assert_eq!(s["metadata"]["invoice"], "INV-1");

    let got = t.get(&format!("/sessions/{}", id(&s))).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json(), s);

    // Form body, as in KOMOJU's curl sample.
    let form = "amount=8888&currency=JPY&default_locale=en&email=test%40example.com&metadata[test]=value\
                &payment_data[external_order_num]=my_custom_order&payment_data[capture]=manual\
                &payment_types[]=credit_card&payment_types[]=paypay&return_url=https%3A%2F%2Fexample.com";
    let r = T::done(
        t.http
            .post(t.url("/sessions"))
            .basic_auth(t.fake.secret_key(), Some(""))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let f = r.json();
    assert_eq!(f["amount"], 8888);
    assert_eq!(f["default_locale"], "en");
    assert_eq!(f["metadata"], json!({"test": "value"}));
    assert_eq!(f["payment_data"]["external_order_num"], "my_custom_order");
    assert_eq!(
        f["payment_methods"],
        json!([{"type": "credit_card"}, {"type": "paypay"}])
    );
    // capture=manual from the form → card payment is authorized.
    let p = t.ctl.pay(id(&f), "credit_card", None).await.unwrap();
    assert_eq!(p["status"], "authorized");

    // Validation errors.
    let r = t.post("/sessions", json!({"currency": "JPY"})).await;
    assert_eq!(
        (r.status, r.code(), r.param()),
        (400, "missing_parameter".into(), json!("amount"))
    );
    let r = t.post("/sessions", json!({"amount": 100})).await;
    assert_eq!((r.status, r.param()), (400, json!("currency")));
    let r = t
        .post("/sessions", json!({"amount": -1, "currency": "JPY"}))
        .await;
    assert_eq!((r.status, r.code()), (422, "invalid_parameter".into()));
    let r = t
        .post(
            "/sessions",
            json!({"amount": 1, "currency": "JPY", "expires_in_seconds": 86401}),
        )
        .await;
    assert_eq!(
        (r.status, r.code(), r.param()),
        (422, "invalid_parameter".into(), json!("expires_in_seconds"))
    );
    let r = t
        .post(
            "/sessions",
            json!({"amount": 1, "currency": "JPY", "payment_types": ["bitcoin"]}),
        )
        .await;
    assert_eq!((r.status, r.code()), (422, "invalid_payment_type".into()));
    let r = t
        .post(
            "/sessions",
            json!({"amount": 1, "currency": "JPY", "payment_data": {"external_order_num": "INV-1-1"}}),
        )
        .await;
    assert_eq!(
        (r.status, r.code(), r.param()),
        (
            422,
            "invalid_parameter".into(),
            json!("payment_data[external_order_num]")
        )
    );
    assert_eq!(t.stats().await["sessions"], 2);
}

#[tokio::test]
async fn card_payment_is_captured_and_manual_capture() {
    let t = start(true).await;
    let (s, p) = t.paid(1000, "credit_card").await;
    assert_eq!(p["status"], "captured");
    assert_eq!(p["resource"], "payment");
    assert_eq!(
        (
            p["amount"].clone(),
            p["tax"].clone(),
            p["payment_method_fee"].clone(),
            p["total"].clone()
        ),
        (json!(1000), json!(0), json!(0), json!(1000))
    );
    assert!(p["captured_at"].is_string());
    assert_eq!(p["session"], s["id"]);
    assert_eq!(p["payment_details"]["type"], "credit_card");
    assert_eq!(p["refunds"], json!([]));
    let s2 = t.get(&format!("/sessions/{}", id(&s))).await.json();
    assert_eq!(s2["status"], "completed");
    assert!(s2["completed_at"].is_string());
    assert_eq!(s2["payment"]["id"], p["id"]);
    assert_eq!(t.get(&format!("/payments/{}", id(&p))).await.json(), p);
    // Capturing an already captured payment.
    let r = t
        .post(&format!("/payments/{}/capture", id(&p)), json!({}))
        .await;
    assert_eq!((r.status, r.code()), (422, "not_capturable".into()));
    // Completed session cannot be cancelled or paid again.
    let r = t
        .post(&format!("/sessions/{}/cancel", id(&s)), json!({}))
        .await;
    assert_eq!((r.status, r.code()), (422, "not_cancellable".into()));
    assert!(t.ctl.pay(id(&s), "credit_card", None).await.is_err());

    let m = t
        .session(500, json!({"payment_data": {"capture": "manual"}}))
        .await;
    let p = t.ctl.pay(id(&m), "credit_card", None).await.unwrap();
    assert_eq!(p["status"], "authorized");
    assert!(p["captured_at"].is_null());
    let r = t
        .post(&format!("/payments/{}/capture", id(&p)), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["status"], "captured");
}

#[tokio::test]
async fn konbini_authorized_then_captured_with_events() {
    let t = start(true).await;
    let s = t.session(2000, json!({"email": "k@example.com"})).await;
    let p = t
        .ctl
        .pay(id(&s), "konbini", Some("family-mart"))
        .await
        .unwrap();
    assert_eq!(p["status"], "authorized");
    assert_eq!(p["payment_method_fee"], 190);
    assert_eq!(p["total"], 2190);
    assert_eq!(p["amount"], 2000);
    let d = &p["payment_details"];
    assert_eq!(d["type"], "konbini");
    assert_eq!(d["store"], "family-mart");
    assert_eq!(d["email"], "k@example.com");
    assert!(d["receipt"].is_string());
    assert!(d["confirmation_code"].is_string());
    assert_eq!(
        d["instructions_url"],
        format!("{}/instructions/{}", t.fake.origin(), id(&p))
    );
    assert!(p["payment_deadline"]
        .as_str()
        .unwrap()
        .ends_with("23:59:59.999+09:00"));
    // The instructions page exists.
    let html = reqwest::get(d["instructions_url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(html.status(), 200);
    // Session completed although nothing is paid yet.
    assert_eq!(
        t.get(&format!("/sessions/{}", id(&s))).await.json()["status"],
        "completed"
    );
    // Merchant capture is refused (auto-capture konbini).
    let r = t
        .post(&format!("/payments/{}/capture", id(&p)), json!({}))
        .await;
    assert_eq!(r.code(), "not_capturable");
    // Customer pays at the store.
    let c = t.ctl.capture_payment(id(&p)).await.unwrap();
    assert_eq!(c["status"], "captured");
    let ev = t.get("/events").await.json();
    assert_eq!(ev["total"], 2);
    let types: Vec<&str> = ev["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["payment.captured", "payment.authorized"]);
    assert_eq!(ev["data"][1]["data"]["status"], "authorized");
    assert_eq!(ev["data"][0]["data"]["status"], "captured");
    assert_eq!(ev["data"][0]["resource"], "event");
    assert!(ev["data"][0]["reason"].is_null());
    let one = t.get(&format!("/events/{}", id(&ev["data"][1]))).await;
    assert_eq!(one.json(), ev["data"][1]);
    // Seven-Eleven: numeric receipt, no confirmation code.
    let s = t.session(100, json!({})).await;
    let p = t
        .ctl
        .pay(id(&s), "konbini", Some("seven-eleven"))
        .await
        .unwrap();
    assert_eq!(p["payment_details"]["receipt"].as_str().unwrap().len(), 13);
    assert!(p["payment_details"]["confirmation_code"].is_null());
    // Bank transfer and Pay-easy details.
    let (_, b) = t.paid(3000, "bank_transfer").await;
    assert_eq!(
        (b["status"].clone(), b["payment_method_fee"].clone()),
        (json!("authorized"), json!(200))
    );
    assert_eq!(b["payment_details"]["bank_name"], "三井住友銀行");
    assert_eq!(
        b["payment_details"]["account_number"]
            .as_str()
            .unwrap()
            .len(),
        7
    );
    assert_eq!(
        b["payment_details"]["payment_deadline"],
        b["payment_deadline"]
    );
    let (_, e) = t.paid(3000, "pay_easy").await;
    for k in [
        "bank_id",
        "customer_id",
        "confirmation_id",
        "instructions_url",
        "payment_url",
    ] {
        assert!(e["payment_details"][k].is_string(), "{k}");
    }
}

#[tokio::test]
async fn clock_expires_sessions_and_konbini() {
    let t = start(true).await;
    let open = t.session(100, json!({"expires_in_seconds": 600})).await;
    let s = t.session(100, json!({})).await;
    let p = t.ctl.pay(id(&s), "konbini", None).await.unwrap();
    t.ctl.advance_clock(601).await.unwrap();
    let o = t.get(&format!("/sessions/{}", id(&open))).await.json();
    assert_eq!(
        (o["expired"].clone(), o["status"].clone()),
        (json!(true), json!("pending"))
    );
    let r = t.ctl.pay(id(&open), "credit_card", None).await;
    assert!(
        matches!(
            r,
            Err(reji::fake::FakeControlError::Status { status: 422, .. })
        ),
        "{r:?}"
    );
    assert_eq!(
        t.get(&format!("/payments/{}", id(&p))).await.json()["status"],
        "authorized"
    );
    let before = t.ctl.clock().await.unwrap();
    t.ctl.advance_clock(4 * 86400).await.unwrap();
    let after = t.ctl.clock().await.unwrap();
    assert_ne!(before["now"], after["now"]);
    let p2 = t.get(&format!("/payments/{}", id(&p))).await.json();
    assert_eq!(p2["status"], "expired");
    // Completed session is not marked expired.
    assert_eq!(
        t.get(&format!("/sessions/{}", id(&s))).await.json()["expired"],
        false
    );
    let ev = t.get("/events").await.json();
    assert_eq!(ev["data"][0]["type"], "payment.expired");
    assert!(t.ctl.capture_payment(id(&p)).await.is_err());
}

#[tokio::test]
async fn refunds_full_partial_and_not_refundable() {
    let t = start(true).await;
    let (_, p) = t.paid(1000, "credit_card").await;
    let path = format!("/payments/{}/refund", id(&p));
    let r = t
        .post(&path, json!({"amount": 300, "description": "返品"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let j = r.json();
    assert_eq!(
        (j["status"].clone(), j["amount_refunded"].clone()),
        (json!("captured"), json!(300))
    );
    assert_eq!(j["refunds"][0]["amount"], 300);
    assert_eq!(j["refunds"][0]["description"], "返品");
    let r = t.post(&path, json!({"amount": 800})).await;
    assert_eq!(
        (r.status, r.code(), r.param()),
        (422, "invalid_parameter".into(), json!("amount"))
    );
    let r = t.post(&path, json!({})).await;
    let j = r.json();
    assert_eq!(
        (j["status"].clone(), j["amount_refunded"].clone()),
        (json!("refunded"), json!(1000))
    );
    assert_eq!(j["refunds"].as_array().unwrap().len(), 2);
    let r = t.post(&path, json!({})).await;
    assert_eq!((r.status, r.code()), (422, "not_refundable".into()));
    let types: Vec<String> = t.get("/events").await.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        types,
        [
            "payment.refunded",
            "payment.refund.created",
            "payment.refund.created",
            "payment.captured"
        ]
    );

    let (_, k) = t.paid(1000, "konbini").await;
    t.ctl.capture_payment(id(&k)).await.unwrap();
    let r = t
        .post(&format!("/payments/{}/refund", id(&k)), json!({}))
        .await;
    assert_eq!((r.status, r.code()), (422, "not_refundable".into()));
}

#[tokio::test]
async fn refund_request_validation_and_success() {
    let t = start(true).await;
    let (_, k) = t.paid(1000, "konbini").await;
    let path = format!("/payments/{}/refund_request", id(&k));
    let good = json!({"amount": 1000, "customer_name": "ﾔﾏﾀﾞ ﾀﾛｳ", "bank_name": "みずほ銀行",
                      "branch_number": "123", "account_type": "normal", "account_number": "1234567",
                      "include_payment_method_fee": false, "bank_code": "0001"});
    // Not captured yet.
    let r = t.post(&path, good.clone()).await;
    assert_eq!((r.status, r.code()), (422, "not_refundable".into()));
    t.ctl.capture_payment(id(&k)).await.unwrap();

    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("customer_name");
    let r = t.post(&path, missing).await;
    assert_eq!(
        (r.status, r.code(), r.param()),
        (400, "missing_parameter".into(), json!("customer_name"))
    );
    for (field, bad) in [
        ("customer_name", json!("山田 太郎")),
        ("branch_number", json!("12")),
        ("account_number", json!("12345678")),
        ("bank_code", json!("1")),
        ("amount", json!(5000)),
    ] {
        let mut b = good.clone();
        b[field] = bad;
        let r = t.post(&path, b).await;
        assert_eq!(
            (r.status, r.code(), r.param()),
            (422, "invalid_parameter".into(), json!(field)),
            "{field}"
        );
    }
    // account_number as an integer (as in KOMOJU's SDK) is accepted.
    let mut as_int = good.clone();
    as_int["account_number"] = json!(1234567);
    let r = t.post(&path, as_int).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.text, "");
    let p = t.get(&format!("/payments/{}", id(&k))).await.json();
    let rr = &p["refund_requests"][0];
    assert_eq!(
        (rr["status"].clone(), rr["amount"].clone()),
        (json!("pending"), json!(1000))
    );
    assert_eq!(p["status"], "captured");
    let done = t
        .ctl
        .complete_refund_request(id(&k), rr["id"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(done["status"], "completed");
    let p = t.get(&format!("/payments/{}", id(&k))).await.json();
    assert_eq!(p["refund_requests"][0]["status"], "completed");
    assert!(t
        .ctl
        .reject_refund_request(id(&k), rr["id"].as_str().unwrap())
        .await
        .is_err());
}

#[tokio::test]
async fn idempotency_replay_conflict_and_mismatch() {
    let t = start(true).await;
    let body = json!({"amount": 700, "currency": "JPY", "payment_data": {"external_order_num": "INV-7-1"}});
    let a = t.post_idem("/sessions", body.clone(), "key-1").await;
    let b = t.post_idem("/sessions", body.clone(), "key-1").await;
    assert_eq!((a.status, b.status), (200, 200));
    assert_eq!(a.json(), b.json());
    let st = t.stats().await;
    assert_eq!(st["sessions"], 1);
    assert_eq!(st["idempotent_replays"], 1);
    assert_eq!(st["sessions_by_external_order_num"]["INV-7-1"], 1);
    // Same key, different body.
    let c = t
        .post_idem(
            "/sessions",
            json!({"amount": 701, "currency": "JPY"}),
            "key-1",
        )
        .await;
    assert_eq!((c.status, c.code()), (422, "unprocessable_entity".into()));
    // Errors are replayed too (status < 500).
    let e1 = t
        .post_idem("/sessions", json!({"currency": "JPY"}), "key-err")
        .await;
    let e2 = t
        .post_idem("/sessions", json!({"currency": "JPY"}), "key-err")
        .await;
    assert_eq!((e1.status, e2.status), (400, 400));
    assert_eq!(t.stats().await["idempotent_replays"], 2);

    // While the first request is still executing → 409.
    t.ctl
        .add_fault(&FaultSpec {
            stall_ms: Some(1500),
            path_prefix: Some("/api/v1/sessions".into()),
            ..FaultSpec::new("stall")
        })
        .await
        .unwrap();
    let body2 = json!({"amount": 800, "currency": "JPY"});
    let first = tokio::spawn(t.post_req("/sessions", &body2, Some("key-2")).send());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let second = t.post_idem("/sessions", body2.clone(), "key-2").await;
    assert_eq!((second.status, second.code()), (409, "conflict".into()));
    let first = T::done(first.await.unwrap().unwrap()).await;
    assert_eq!(first.status, 200);
    let third = t.post_idem("/sessions", body2, "key-2").await;
    assert_eq!(third.json()["id"], first.json()["id"]);
    assert_eq!(t.stats().await["sessions"], 2);
    // A client that times out during a stall: the request still completes; the retry replays it.
    t.ctl
        .add_fault(&FaultSpec {
            stall_ms: Some(600),
            ..FaultSpec::new("stall")
        })
        .await
        .unwrap();
    let body3 = json!({"amount": 900, "currency": "JPY"});
    let timed_out = t
        .post_req("/sessions", &body3, Some("key-3"))
        .timeout(Duration::from_millis(150))
        .send()
        .await;
    assert!(timed_out.is_err());
    tokio::time::sleep(Duration::from_millis(800)).await;
    let replay = t.post_idem("/sessions", body3, "key-3").await;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.headers["x-fake-idempotent-replay"], "true");
    assert_eq!(t.stats().await["sessions"], 3);

    // Keys expire after 24 h (fake clock): the same key runs again.
    t.ctl.advance_clock(86400 + 1).await.unwrap();
    let again = t
        .post_idem(
            "/sessions",
            json!({"amount": 800, "currency": "JPY"}),
            "key-2",
        )
        .await;
    assert_ne!(again.json()["id"], first.json()["id"]);
}

#[tokio::test]
async fn faults_are_observable() {
    let t = start(true).await;
    let sess = json!({"amount": 100, "currency": "JPY"});

    // status_500: not processed.
    t.ctl
        .add_fault(&FaultSpec::new("status_500"))
        .await
        .unwrap();
    let r = t.post("/sessions", sess.clone()).await;
    assert_eq!((r.status, r.code()), (500, "internal_server_error".into()));
    assert_eq!(t.stats().await["sessions"], 0);

    // rate_limit with Retry-After.
    t.ctl
        .add_fault(&FaultSpec {
            retry_after: Some(7),
            ..FaultSpec::new("rate_limit")
        })
        .await
        .unwrap();
    let r = t.get("/payments").await;
    assert_eq!((r.status, r.code()), (429, "too_many_requests".into()));
    assert_eq!(r.headers["retry-after"], "7");
    assert_eq!(t.get("/payments").await.status, 200, "fault used up");

    // latency: processed, answered late.
    t.ctl
        .add_fault(&FaultSpec {
            latency_ms: Some(400),
            ..FaultSpec::new("latency")
        })
        .await
        .unwrap();
    let start = Instant::now();
    assert_eq!(t.get("/payments").await.status, 200);
    assert!(start.elapsed() >= Duration::from_millis(400));

    // stall: waits before processing.
    t.ctl
        .add_fault(&FaultSpec {
            stall_ms: Some(300),
            ..FaultSpec::new("stall")
        })
        .await
        .unwrap();
    let start = Instant::now();
    assert_eq!(t.get("/payments").await.status, 200);
    assert!(start.elapsed() >= Duration::from_millis(300));

    // close_after_processing: transport error, but the session exists; a retry replays it.
    t.ctl
        .add_fault(&FaultSpec::new("close_after_processing"))
        .await
        .unwrap();
    let res = async {
        let r = t
            .post_req("/sessions", &sess, Some("close-1"))
            .send()
            .await?;
        r.text().await
    }
    .await;
    assert!(res.is_err(), "expected a transport error, got {res:?}");
    assert_eq!(t.stats().await["sessions"], 1);
    let retry = t.post_idem("/sessions", sess.clone(), "close-1").await;
    assert_eq!(retry.status, 200);
    assert_eq!(t.stats().await["sessions"], 1);
    assert_eq!(t.ctl.sessions().await.unwrap()[0]["id"], retry.json()["id"]);

    // malformed_json: processed, 200 with a truncated body.
    t.ctl
        .add_fault(&FaultSpec::new("malformed_json"))
        .await
        .unwrap();
    let r = t.post("/sessions", sess.clone()).await;
    assert_eq!(r.status, 200);
    assert!(serde_json::from_str::<Value>(&r.text).is_err());
    assert_eq!(t.stats().await["sessions"], 2);

    // wrong_content_type: HTML page, not processed.
    t.ctl
        .add_fault(&FaultSpec::new("wrong_content_type"))
        .await
        .unwrap();
    let r = t.post("/sessions", sess.clone()).await;
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(t.stats().await["sessions"], 2);

    // Filters: path_prefix + method; count; DELETE clears.
    t.ctl
        .add_fault(&FaultSpec {
            count: Some(2),
            path_prefix: Some("/api/v1/sessions".into()),
            method: Some("POST".into()),
            ..FaultSpec::new("status_500")
        })
        .await
        .unwrap();
    assert_eq!(t.get("/payments").await.status, 200);
    assert_eq!(t.post("/sessions", sess.clone()).await.status, 500);
    assert_eq!(t.post("/sessions", sess.clone()).await.status, 500);
    assert_eq!(t.post("/sessions", sess.clone()).await.status, 200);
    t.ctl
        .add_fault(&FaultSpec {
            count: Some(5),
            ..FaultSpec::new("status_500")
        })
        .await
        .unwrap();
    t.ctl.clear_faults().await.unwrap();
    assert_eq!(t.get("/payments").await.status, 200);
    // Control API is never faulted.
    assert!(t.stats().await["api_requests"].as_u64().unwrap() > 10);
}

#[tokio::test]
async fn events_switch() {
    let t = start(false).await;
    t.paid(100, "credit_card").await;
    let ev = t.get("/events").await.json();
    assert_eq!(
        (ev["total"].clone(), ev["data"].clone()),
        (json!(0), json!([]))
    );
    t.ctl.set_events(true).await.unwrap();
    t.paid(100, "credit_card").await;
    let ev = t.get("/events").await.json();
    assert_eq!(ev["total"], 1);
    assert_eq!(ev["data"][0]["type"], "payment.captured");
    t.ctl.set_events(false).await.unwrap();
    assert_eq!(t.get("/events").await.json()["total"], 0);
}

#[tokio::test]
async fn list_payments_filters_and_paging() {
    let t = start(true).await;
    let mut ids = Vec::new();
    for (i, ty) in ["credit_card", "konbini", "credit_card"].iter().enumerate() {
        let s = t
            .session(
                100 + i as i64,
                json!({"payment_data": {"external_order_num": format!("ORD-{i}")}}),
            )
            .await;
        ids.push(t.ctl.pay(id(&s), ty, None).await.unwrap()["id"].clone());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let l = t.get("/payments?per_page=2&page=1").await.json();
    assert_eq!(
        (
            l["total"].clone(),
            l["last_page"].clone(),
            l["per_page"].clone()
        ),
        (json!(3), json!(2), json!(2))
    );
    assert_eq!(l["data"].as_array().unwrap().len(), 2);
    assert_eq!(l["data"][0]["id"], ids[2], "newest first");
    let l2 = t.get("/payments?per_page=2&page=2").await.json();
    assert_eq!(l2["data"].as_array().unwrap().len(), 1);
    assert_eq!(l2["data"][0]["id"], ids[0]);
    let a = t.get("/payments?status=authorized").await.json();
    assert_eq!(a["total"], 1);
    assert_eq!(a["data"][0]["id"], ids[1]);
    assert_eq!(
        t.get("/payments?status=captured,authorized").await.json()["total"],
        3
    );
    let e = t.get("/payments?external_order_num=ORD-2").await.json();
    assert_eq!(
        (e["total"].clone(), e["data"][0]["id"].clone()),
        (json!(1), ids[2].clone())
    );
    assert_eq!(t.get("/payments?currency=USD").await.json()["total"], 0);
    assert_eq!(t.get("/payments").await.json()["per_page"], 10);
    let r = t.get("/payments?per_page=101").await;
    assert_eq!(
        (r.status, r.code(), r.param()),
        (422, "invalid_parameter".into(), json!("per_page"))
    );
    let r = t.get("/payments?status=bogus").await;
    assert_eq!(r.status, 422);
    let r = t
        .get("/payments?start_time=2099-01-01T00:00:00%2B09:00")
        .await
        .json();
    assert_eq!(r["total"], 0);
    let r = t
        .get("/payments?start_time=2000-01-01T00:00:00Z&end_time=2099-01-01T00:00:00Z")
        .await
        .json();
    assert_eq!(r["total"], 3);
    assert_eq!(r["start_time"], "2000-01-01T00:00:00Z");
    let r = t.get("/events?per_page=1").await.json();
    assert_eq!(
        (r["total"].clone(), r["last_page"].clone()),
        (json!(3), json!(3))
    );
}

#[tokio::test]
async fn cancels_and_scenario() {
    let t = start(true).await;
    let s = t.session(100, json!({})).await;
    let path = format!("/sessions/{}/cancel", id(&s));
    let c = t.post(&path, json!({})).await.json();
    assert_eq!(c["status"], "cancelled");
    assert!(c["cancelled_at"].is_string());
    let again = t.post(&path, json!({})).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["cancelled_at"], c["cancelled_at"]);
    assert!(t.ctl.pay(id(&s), "credit_card", None).await.is_err());

    // Customer cancel via control API.
    let s = t.session(100, json!({})).await;
    assert_eq!(
        t.ctl.customer_cancel(id(&s)).await.unwrap()["status"],
        "cancelled"
    );

    // Payment cancel.
    let (_, k) = t.paid(100, "konbini").await;
    let r = t
        .post(&format!("/payments/{}/cancel", id(&k)), json!({}))
        .await;
    assert_eq!(r.json()["status"], "cancelled");
    let r = t
        .post(&format!("/payments/{}/cancel", id(&k)), json!({}))
        .await;
    assert_eq!((r.status, r.code()), (422, "not_cancellable".into()));

    // Komoju-Scenario: every payment through the session fails; the session stays open.
    let r = T::done(
        t.post_req(
            "/sessions",
            &json!({"amount": 100, "currency": "JPY"}),
            None,
        )
        .header("Komoju-Scenario", "insufficient_funds")
        .send()
        .await
        .unwrap(),
    )
    .await;
    let s = r.json();
    for _ in 0..2 {
        let p = t.ctl.pay(id(&s), "credit_card", None).await.unwrap();
        assert_eq!(p["status"], "failed");
    }
    let s2 = t.get(&format!("/sessions/{}", id(&s))).await.json();
    assert_eq!(
        (s2["status"].clone(), s2["payment"]["status"].clone()),
        (json!("pending"), json!("failed"))
    );
    // Control fail on a normal session, then a successful retry.
    let s = t.session(100, json!({})).await;
    assert_eq!(t.ctl.fail(id(&s)).await.unwrap()["status"], "failed");
    assert_eq!(
        t.ctl.pay(id(&s), "paypay", None).await.unwrap()["status"],
        "captured"
    );
    let ev = t.get("/events?per_page=100").await.json();
    let failed = ev["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "payment.failed")
        .count();
    assert_eq!(failed, 3);
}

#[tokio::test]
async fn hosted_page() {
    let t = start(true).await;
    let s = t
        .session(1234, json!({"payment_types": ["credit_card", "konbini"]}))
        .await;
    let url = s["session_url"].as_str().unwrap().to_string();
    let html = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(html.contains("¥1,234"), "{html}");
    assert!(html.contains("seven-eleven"));
    assert!(!html.contains("paypay"));
    let r = t
        .http
        .post(format!("{url}/pay"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("payment_type=konbini&store=ministop")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("ministop") && html.contains("receipt") && html.contains("/instructions/")
    );
    let s2 = t.get(&format!("/sessions/{}", id(&s))).await.json();
    assert_eq!(
        (s2["status"].clone(), s2["payment"]["status"].clone()),
        (json!("completed"), json!("authorized"))
    );

    // Return to merchant on an open session cancels it and redirects with session_id.
    let s = t.session(100, json!({})).await;
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = no_redirect
        .post(format!("{}/return", s["session_url"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        format!("https://shop.example/done?session_id={}", id(&s)).as_str()
    );
    assert_eq!(
        t.get(&format!("/sessions/{}", id(&s))).await.json()["status"],
        "cancelled"
    );
    let html = reqwest::get(s["session_url"].as_str().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("cancelled"));
}

#[tokio::test]
async fn shutdown_stops_server() {
    let t = start(true).await;
    let origin = t.fake.origin();
    t.fake.shutdown().await;
    assert!(reqwest::get(format!("{origin}/_fake/stats")).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_without_payment_types_offers_what_the_account_activated() {
    let t = start(true).await;
    let s = t.session(1000, json!({})).await;
    let types: Vec<&str> = s["payment_methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "credit_card",
            "konbini",
            "bank_transfer",
            "pay_easy",
            "paypay"
        ]
    );
    // The demo's account turns on every type the register offers.
    let fake = FakeKomoju::start(FakeConfig {
        activated_types: reji::register::PAYMENT_TYPES
            .iter()
            .map(|t| t.to_string())
            .collect(),
        ..FakeConfig::default()
    })
    .await
    .unwrap();
    let demo = T {
        http: reqwest::Client::new(),
        ctl: FakeControl::new(&fake.origin()),
        fake,
    };
    let s = demo.session(1000, json!({})).await;
    let types: Vec<&str> = s["payment_methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.len(), reji::register::PAYMENT_TYPES.len());
    for t in reji::register::PAYMENT_TYPES {
        assert!(types.contains(&t), "{t} missing: {types:?}");
    }
    let page = demo
        .http
        .get(s["session_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for label in ["LINE Pay", "メルペイ", "楽天ペイ"] {
        assert!(page.contains(label), "{label} missing on the payment page");
    }
}
