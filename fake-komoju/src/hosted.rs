//! The hosted payment page a customer sees at `session_url` (small, self-contained HTML).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;

use super::model::{FakeState, PayRequest, Payment, KONBINI_STORES};
use super::params::parse_form;
use super::Shared;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{t}</title>\
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#222}}\
.amount{{font-size:2rem;font-weight:bold}}form{{margin:.5rem 0}}button{{font-size:1rem;padding:.5rem 1rem;width:100%}}\
.note{{color:#666;font-size:.9rem}}dt{{font-weight:bold}}.fake{{background:#fe9;padding:.3rem;font-size:.8rem}}</style>\
</head><body><p class=\"fake\">FAKE KOMOJU (test) — no real money moves</p><h1>{t}</h1>{body}</body></html>",
        t = esc(title)
    )
}

fn money(amount: i64, currency: &str) -> String {
    if currency == "JPY" {
        let s = amount.abs().to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        format!("¥{}{out}", if amount < 0 { "-" } else { "" })
    } else {
        format!("{amount} {currency}")
    }
}

fn label(t: &str) -> &str {
    match t {
        "credit_card" => "クレジットカード (Credit card)",
        "konbini" => "コンビニ (Konbini)",
        "bank_transfer" => "銀行振込 (Bank transfer)",
        "pay_easy" => "ペイジー (Pay-easy)",
        "paypay" => "PayPay",
        "linepay" => "LINE Pay",
        "merpay" => "メルペイ (Merpay)",
        "rakutenpay" => "楽天ペイ (Rakuten Pay)",
        "aupay" => "au PAY",
        other => other,
    }
}

fn return_form(id: &str, text: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/sessions/{}/return\"><button type=\"submit\">{}</button></form>",
        esc(id),
        esc(text)
    )
}

fn payment_details_html(p: &Payment) -> String {
    let mut out = String::from("<dl>");
    out.push_str(&format!(
        "<dt>Status</dt><dd>{}</dd><dt>Total</dt><dd>{}</dd>",
        esc(&p.status),
        money(p.total(), &p.currency)
    ));
    if let Value::Object(m) = &p.details {
        for (k, v) in m {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Null => continue,
                other => other.to_string(),
            };
            if k.ends_with("_url") {
                out.push_str(&format!(
                    "<dt>{}</dt><dd><a href=\"{}\">{}</a></dd>",
                    esc(k),
                    esc(&text),
                    esc(&text)
                ));
            } else {
                out.push_str(&format!("<dt>{}</dt><dd>{}</dd>", esc(k), esc(&text)));
            }
        }
    }
    if let Some(d) = p.payment_deadline {
        out.push_str(&format!(
            "<dt>Payment deadline</dt><dd>{}</dd>",
            esc(&super::model::fmt_time(d))
        ));
    }
    out.push_str("</dl>");
    out
}

fn render_session(st: &FakeState, id: &str) -> Response {
    let Some(s) = st.session(id) else {
        return (
            StatusCode::NOT_FOUND,
            Html(page(
                "Not found",
                "<p>This payment page does not exist.</p>",
            )),
        )
            .into_response();
    };
    let last = s.payment_ids.last().and_then(|p| st.payment(p));
    let amount = format!("<p class=\"amount\">{}</p>", money(s.amount, &s.currency));
    let body = if s.status == "completed" {
        let details = last.map(payment_details_html).unwrap_or_default();
        format!(
            "{amount}<p>Thank you. The payment was accepted.</p>{details}{}",
            return_form(&s.id, "Return to merchant")
        )
    } else if s.status == "cancelled" {
        "<p>This payment was cancelled.</p>".to_string()
    } else if s.expired {
        "<p>This payment page has expired.</p>".to_string()
    } else {
        let mut b = amount;
        if let Some(p) = last.filter(|p| p.status == "failed") {
            b.push_str(&format!(
                "<p><strong>The last payment attempt ({}) failed.</strong> Please try again.</p>",
                esc(label(&p.payment_type))
            ));
        }
        for t in &s.payment_types {
            let action = format!("/sessions/{}/pay", esc(&s.id));
            if t == "konbini" {
                let opts: String = KONBINI_STORES
                    .iter()
                    .map(|st| format!("<option value=\"{st}\">{st}</option>"))
                    .collect();
                b.push_str(&format!(
                    "<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"payment_type\" value=\"konbini\">\
<select name=\"store\">{opts}</select> <button type=\"submit\">{}</button></form>",
                    esc(label(t))
                ));
            } else {
                b.push_str(&format!(
                    "<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"payment_type\" value=\"{}\">\
<button type=\"submit\">{}</button></form>",
                    esc(t),
                    esc(label(t))
                ));
            }
        }
        b.push_str("<hr>");
        b.push_str(&return_form(&s.id, "Return to merchant (cancel)"));
        b
    };
    Html(page("お支払い / Payment", &body)).into_response()
}

pub(crate) async fn session_page(State(sh): State<Shared>, Path(id): Path<String>) -> Response {
    let mut st = sh.lock();
    st.tick();
    render_session(&st, &id)
}

pub(crate) async fn pay(State(sh): State<Shared>, Path(id): Path<String>, body: Bytes) -> Response {
    let form = parse_form(&String::from_utf8_lossy(&body));
    let get = |k: &str| form.get(k).and_then(Value::as_str).map(str::to_string);
    let mut st = sh.lock();
    st.tick();
    let req = PayRequest {
        payment_type: get("payment_type").unwrap_or_default(),
        store: get("store"),
        email: get("email"),
        name: get("name"),
        fail_code: None,
    };
    match st.pay_session(&id, req) {
        Ok(_) => render_session(&st, &id),
        Err(e) => (
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
            Html(page(
                "Payment error",
                &format!("<p>{}</p>", esc(&e.message)),
            )),
        )
            .into_response(),
    }
}

/// "Return to merchant": cancels a still-pending session, then redirects to `return_url?session_id=…`.
pub(crate) async fn return_to_merchant(
    State(sh): State<Shared>,
    Path(id): Path<String>,
) -> Response {
    let mut st = sh.lock();
    st.tick();
    let Some(s) = st.session(&id) else {
        return render_session(&st, &id);
    };
    let return_url = s.return_url.clone();
    if s.status == "pending" {
        let _ = st.cancel_session(&id);
    }
    match return_url.and_then(|u| url::Url::parse(&u).ok()) {
        Some(mut u) => {
            u.query_pairs_mut().append_pair("session_id", &id);
            (StatusCode::SEE_OTHER, [(header::LOCATION, u.to_string())]).into_response()
        }
        None => Html(page("Returned", "<p>You can close this page.</p>")).into_response(),
    }
}

/// Instructions for paying at a konbini / bank / Pay-easy (the `instructions_url`).
pub(crate) async fn instructions(State(sh): State<Shared>, Path(id): Path<String>) -> Response {
    let mut st = sh.lock();
    st.tick();
    match st.payment(&id) {
        Some(p) => Html(page(
            "お支払い方法 / How to pay",
            &format!(
                "<p class=\"amount\">{}</p>{}<p class=\"note\">Fake instructions: the merchant's test tools mark this as paid.</p>",
                money(p.total(), &p.currency),
                payment_details_html(p)
            ),
        ))
        .into_response(),
        None => (StatusCode::NOT_FOUND, Html(page("Not found", "<p>Unknown payment.</p>"))).into_response(),
    }
}
