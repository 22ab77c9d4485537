//! Reji's invoice status, derived from KOMOJU's session and payment, and the moves between statuses
//! that the ledger's compare-and-set allows (`shared/docs/states.md`).

use crate::komoju::{Payment, PaymentStatus, Session, SessionStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Pending,
    Failed,
    AwaitingPayment,
    Paid,
    NeedsReview,
    PartiallyRefunded,
    Refunded,
    Cancelled,
    Expired,
}

use InvoiceStatus::*;

impl InvoiceStatus {
    pub const ALL: [InvoiceStatus; 9] = [
        Pending,
        Failed,
        AwaitingPayment,
        Paid,
        NeedsReview,
        PartiallyRefunded,
        Refunded,
        Cancelled,
        Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Pending => "pending",
            Failed => "failed",
            AwaitingPayment => "awaiting_payment",
            Paid => "paid",
            NeedsReview => "needs_review",
            PartiallyRefunded => "partially_refunded",
            Refunded => "refunded",
            Cancelled => "cancelled",
            Expired => "expired",
        }
    }

    /// The status as a Japanese report or CSV names it.
    pub fn label_ja(self) -> &'static str {
        match self {
            Pending => "未払い",
            Failed => "失敗",
            AwaitingPayment => "入金待ち",
            Paid => "支払済み",
            NeedsReview => "要確認",
            PartiallyRefunded => "一部返金",
            Refunded => "返金済み",
            Cancelled => "取消",
            Expired => "期限切れ",
        }
    }

    /// Final for the tracker: nothing more will happen without a person (or a refund).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Paid | Refunded | Cancelled | Expired | NeedsReview | PartiallyRefunded
        )
    }

    /// Money was taken.
    pub fn is_captured(self) -> bool {
        matches!(self, Paid | NeedsReview | PartiallyRefunded | Refunded)
    }

    /// A receipt can be issued: money was captured and matches the invoice (`needs_review` waits for
    /// a person to decide first).
    pub fn has_receipt(self) -> bool {
        matches!(self, Paid | PartiallyRefunded | Refunded)
    }

    /// A move that is money arriving for a sale that was waiting at a konbini, bank or Pay-easy
    /// (the owner is told: nobody is looking at that sale any more).
    pub fn is_paid_later(from: InvoiceStatus, to: InvoiceStatus) -> bool {
        from == AwaitingPayment && to.is_captured()
    }

    /// Money was captured and not all of it refunded: a refund (or refund request) may be made.
    pub fn can_refund(self) -> bool {
        matches!(self, Paid | PartiallyRefunded | NeedsReview)
    }
}

impl fmt::Display for InvoiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InvoiceStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        InvoiceStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s.trim())
            .ok_or_else(|| {
                let all: Vec<_> = InvoiceStatus::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown status {s:?}; expected one of {}", all.join(", "))
            })
    }
}

/// Why a status changes: decides which moves are allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MoveKind {
    /// What KOMOJU reports (session, payment or event).
    Komoju,
    /// A person decided (e.g. accept a `needs_review` payment as paid).
    Staff,
    /// "New session" for the same invoice: attempt n+1.
    NewAttempt,
    /// Paid at the counter (cash, the shop's tenders): no KOMOJU part.
    Tender,
}

/// The statuses from which `to` may be reached by a move of kind `kind` (states.md's table).
pub fn allowed_from(to: InvoiceStatus, kind: MoveKind) -> &'static [InvoiceStatus] {
    match (kind, to) {
        (MoveKind::NewAttempt, Pending) => &[Cancelled, Expired, Failed],
        (MoveKind::NewAttempt, _) => &[],
        (MoveKind::Tender, Paid) => &[Pending],
        (MoveKind::Tender, _) => &[],
        (MoveKind::Staff, Paid) => &[NeedsReview],
        (_, Pending) => &[Failed],
        (_, Failed) => &[Pending],
        (_, AwaitingPayment) => &[Pending, Failed],
        // Money that arrived is never ignored, even after a cancel or expiry.
        (_, Paid) => &[Pending, Failed, AwaitingPayment, Cancelled, Expired],
        (_, NeedsReview) => &[Pending, Failed, AwaitingPayment, Cancelled, Expired],
        (_, PartiallyRefunded) => &[Paid, NeedsReview, PartiallyRefunded],
        (_, Refunded) => &[Paid, NeedsReview, PartiallyRefunded],
        (_, Cancelled) => &[Pending, Failed, AwaitingPayment],
        (_, Expired) => &[Pending, Failed, AwaitingPayment],
    }
}

pub fn can_move(from: InvoiceStatus, to: InvoiceStatus, kind: MoveKind) -> bool {
    allowed_from(to, kind).contains(&from)
}

/// What the invoice expects to be paid.
#[derive(Clone, Debug)]
pub struct Expectation<'a> {
    pub amount: i64,
    pub currency: &'a str,
    /// `created_at + expires_in_seconds` of the session (KOMOJU sends no `expires_at`).
    pub session_deadline: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

/// What [`derive`] needs to know about a session, whether it comes from KOMOJU's answer or from the
/// ledger's record of it (`Attempt::session_facts`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionFacts {
    pub status: SessionStatus,
    /// KOMOJU's `expired` flag (absent in some bodies: false).
    pub expired: bool,
}

/// What [`derive`] needs to know about a payment (from KOMOJU, or `PaymentRecord::facts`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentFacts<'a> {
    pub status: &'a PaymentStatus,
    pub amount: i64,
    pub currency: &'a str,
    pub amount_refunded: i64,
}

impl From<&Session> for SessionFacts {
    fn from(s: &Session) -> Self {
        SessionFacts {
            status: s.status.clone(),
            expired: s.expired,
        }
    }
}

impl<'a> From<&'a Payment> for PaymentFacts<'a> {
    fn from(p: &'a Payment) -> Self {
        PaymentFacts {
            status: &p.status,
            amount: p.amount,
            currency: &p.currency,
            amount_refunded: p.amount_refunded,
        }
    }
}

/// Derives the status KOMOJU's facts imply. `None` means "nothing to conclude" (unknown statuses).
pub fn derive(
    session: Option<&SessionFacts>,
    payment: Option<&PaymentFacts>,
    exp: &Expectation,
) -> Option<InvoiceStatus> {
    if let Some(p) = payment {
        match p.status {
            PaymentStatus::Captured => {
                if p.amount_refunded > 0 && p.amount_refunded < p.amount {
                    return Some(PartiallyRefunded);
                }
                if p.amount_refunded > 0 && p.amount_refunded >= p.amount {
                    return Some(Refunded);
                }
                let matches =
                    p.amount == exp.amount && p.currency.eq_ignore_ascii_case(exp.currency);
                return Some(if matches { Paid } else { NeedsReview });
            }
            PaymentStatus::Refunded => return Some(Refunded),
            PaymentStatus::Authorized => return Some(AwaitingPayment),
            PaymentStatus::Cancelled => return Some(Cancelled),
            PaymentStatus::Expired => return Some(Expired),
            PaymentStatus::Failed => {
                // The customer may retry on the same page unless the session is over.
                return Some(match session_outcome(session, exp) {
                    Some(over) => over,
                    None => Failed,
                });
            }
            PaymentStatus::Pending => {}
            PaymentStatus::Other(_) => return None,
        }
    }
    let s = session?;
    match &s.status {
        SessionStatus::Other(_) => None,
        _ => Some(session_outcome(Some(s), exp).unwrap_or(Pending)),
    }
}

/// Cancelled or expired, judged from the session alone.
fn session_outcome(session: Option<&SessionFacts>, exp: &Expectation) -> Option<InvoiceStatus> {
    let s = session?;
    if s.status == SessionStatus::Cancelled {
        return Some(Cancelled);
    }
    let past_deadline = exp.session_deadline.is_some_and(|d| exp.now >= d);
    if s.status == SessionStatus::Pending && (s.expired || past_deadline) {
        return Some(Expired);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(status: &str, expired: bool, payment: Option<serde_json::Value>) -> SessionFacts {
        let s: Session = serde_json::from_value(serde_json::json!({
            "id": "s1", "status": status, "expired": expired, "payment": payment
        }))
        .unwrap();
        SessionFacts::from(&s)
    }

    fn payment(status: &str, amount: i64, refunded: i64) -> Payment {
        serde_json::from_value(serde_json::json!({
            "id": "p1", "status": status, "amount": amount, "currency": "JPY", "amount_refunded": refunded
        }))
        .unwrap()
    }

    fn exp(now_offset_s: i64) -> Expectation<'static> {
        let t0 = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .unwrap()
            .to_utc();
        Expectation {
            amount: 1000,
            currency: "JPY",
            session_deadline: Some(t0 + chrono::Duration::seconds(3600)),
            now: t0 + chrono::Duration::seconds(now_offset_s),
        }
    }

    #[test]
    fn every_table_row_is_derived() {
        let e = exp(0);
        let s = session("pending", false, None);
        assert_eq!(derive(Some(&s), None, &e), Some(Pending));
        assert_eq!(
            derive(Some(&s), Some(&(&payment("pending", 1000, 0)).into()), &e),
            Some(Pending)
        );
        assert_eq!(
            derive(Some(&s), Some(&(&payment("failed", 1000, 0)).into()), &e),
            Some(Failed)
        );
        assert_eq!(
            derive(
                Some(&s),
                Some(&(&payment("authorized", 1000, 0)).into()),
                &e
            ),
            Some(AwaitingPayment)
        );
        assert_eq!(
            derive(Some(&s), Some(&(&payment("captured", 1000, 0)).into()), &e),
            Some(Paid)
        );
        assert_eq!(
            derive(Some(&s), Some(&(&payment("captured", 900, 0)).into()), &e),
            Some(NeedsReview)
        );
        assert_eq!(
            derive(
                Some(&s),
                Some(&(&payment("captured", 1000, 300)).into()),
                &e
            ),
            Some(PartiallyRefunded)
        );
        assert_eq!(
            derive(
                Some(&s),
                Some(&(&payment("refunded", 1000, 1000)).into()),
                &e
            ),
            Some(Refunded)
        );
        assert_eq!(
            derive(Some(&s), Some(&(&payment("cancelled", 1000, 0)).into()), &e),
            Some(Cancelled)
        );
        assert_eq!(
            derive(Some(&s), Some(&(&payment("expired", 1000, 0)).into()), &e),
            Some(Expired)
        );
        assert_eq!(
            derive(Some(&session("cancelled", false, None)), None, &e),
            Some(Cancelled)
        );
        assert_eq!(
            derive(Some(&session("pending", true, None)), None, &e),
            Some(Expired)
        );
        // Past the locally computed deadline even if KOMOJU has not flipped `expired` yet.
        assert_eq!(derive(Some(&s), None, &exp(3600)), Some(Expired));
        // A failed attempt on an expired session is expired, not failed.
        assert_eq!(
            derive(
                Some(&session("pending", true, None)),
                Some(&(&payment("failed", 1000, 0)).into()),
                &e
            ),
            Some(Expired)
        );
        // Unknown statuses conclude nothing.
        assert_eq!(
            derive(Some(&s), Some(&(&payment("on_hold", 1000, 0)).into()), &e),
            None
        );
        assert_eq!(
            derive(Some(&session("archived", false, None)), None, &e),
            None
        );
    }

    #[test]
    fn moves_follow_the_table() {
        use MoveKind::*;
        assert!(can_move(Pending, Paid, Komoju));
        assert!(can_move(AwaitingPayment, Paid, Komoju));
        assert!(!can_move(Paid, AwaitingPayment, Komoju), "never backwards");
        assert!(!can_move(Paid, Pending, Komoju));
        assert!(!can_move(Refunded, Paid, Komoju), "refunded is final");
        assert!(
            can_move(Expired, Paid, Komoju),
            "late money is never ignored"
        );
        assert!(!can_move(Expired, Pending, Komoju));
        assert!(can_move(Expired, Pending, NewAttempt));
        assert!(!can_move(Paid, Pending, NewAttempt));
        assert!(!can_move(NeedsReview, Paid, Komoju));
        assert!(can_move(NeedsReview, Paid, Staff));
        assert!(can_move(PartiallyRefunded, PartiallyRefunded, Komoju));
        for to in InvoiceStatus::ALL {
            assert!(!can_move(Refunded, to, Komoju));
        }
    }
}
