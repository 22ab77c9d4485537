//! KOMOJU JSON parsing: sessions, payments, events, error bodies and lists never panic, whatever the
//! bytes; whatever parses derives a status without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reji::komoju::{ErrorEnvelope, Event, List, Payment, PaymentDetails, Session};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = serde_json::from_slice::<Session>(data) {
        let exp = reji::status::Expectation { amount: 1000, currency: "JPY", session_deadline: None, now: chrono::DateTime::UNIX_EPOCH };
        let session = reji::status::SessionFacts::from(&s);
        let payment = s.payment.as_ref().map(reji::status::PaymentFacts::from);
        let _ = reji::status::derive(Some(&session), payment.as_ref(), &exp);
    }
    if let Ok(p) = serde_json::from_slice::<Payment>(data) {
        let _ = p.payment_type();
        let d = p.details();
        let _ = d.instructions_url();
        let _ = PaymentDetails::from_value(p.payment_details.as_ref());
    }
    if let Ok(e) = serde_json::from_slice::<Event>(data) {
        let _ = e.payment();
    }
    let _ = serde_json::from_slice::<ErrorEnvelope>(data);
    if let Ok(l) = serde_json::from_slice::<List<Payment>>(data) {
        let _ = l.has_more(100);
    }
    let _ = serde_json::from_slice::<List<Event>>(data);
});
