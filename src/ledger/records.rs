//! The ledger's records (invoices, attempts, stored requests, payments, events) and their row readers.

use super::*;
use crate::komoju::{PaymentStatus, SessionStatus};
use crate::status::{PaymentFacts, SessionFacts};

/// An invoice as stored.
#[derive(Clone, Debug)]
pub struct InvoiceRecord {
    pub id: i64,
    pub number: InvoiceNumber,
    pub created_at: DateTime<Utc>,
    pub status: InvoiceStatus,
    pub currency: String,
    pub amount: i64,
    pub tax_10: i64,
    pub tax_8: i64,
    pub gross_10: i64,
    pub gross_8: i64,
    /// Exempt (非課税) lines' total.
    pub gross_0: i64,
    /// Every discount of the sale (lines and order) and its share per rate, in the price mode's terms.
    pub discount: i64,
    pub discount_10: i64,
    pub discount_8: i64,
    pub discount_0: i64,
    /// The order's discount as given (`100`, `10%`, `round100`).
    pub order_discount: Option<crate::discount::Discount>,
    /// Eaten in or taken away, when the sale said.
    pub dining: Option<crate::tax::Dining>,
    /// What KOMOJU is asked for: the amount less the counter's tenders (0: paid at the counter).
    pub komoju_amount: i64,
    pub price_mode: PriceMode,
    pub rounding: Rounding,
    pub customer: Customer,
    pub methods: Vec<String>,
    pub locale: Option<String>,
    pub expires_in: u32,
    pub paid_at: Option<DateTime<Utc>>,
    pub refunded_amount: i64,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct Attempt {
    pub id: i64,
    pub invoice_id: i64,
    pub attempt: u32,
    pub external_order_num: String,
    pub request: ApiRequest,
    pub session_id: Option<String>,
    pub session_url: Option<String>,
    pub session_status: Option<SessionStatus>,
    pub session_expired: bool,
    pub session_created_at: Option<DateTime<Utc>>,
    /// `session created_at + expires_in`: KOMOJU sends no `expires_at`.
    pub deadline: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A POST written down before it is sent.
#[derive(Clone, Debug)]
pub struct ApiRequest {
    pub id: i64,
    pub invoice_id: i64,
    pub kind: String,
    pub path: String,
    pub idempotency_key: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
}

#[derive(Clone, Debug)]
pub struct PaymentRecord {
    pub id: String,
    pub invoice_id: Option<i64>,
    pub session_id: Option<String>,
    pub status: PaymentStatus,
    pub payment_type: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub fee: i64,
    pub amount_refunded: i64,
    pub details: Option<serde_json::Value>,
    pub refund_requests: Vec<serde_json::Value>,
    pub payment_deadline: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
    pub captured_at: Option<DateTime<Utc>>,
}

impl PaymentRecord {
    /// The sum of this payment's refund requests in `status` (`pending`, `completed`, `rejected`).
    pub fn requests_total(&self, status: &str) -> i64 {
        self.refund_requests
            .iter()
            .filter(|r| r.get("status").and_then(serde_json::Value::as_str) == Some(status))
            .filter_map(|r| r.get("amount").and_then(serde_json::Value::as_i64))
            .sum()
    }

    /// What has gone back to the customer: KOMOJU's `amount_refunded`, or the completed refund
    /// requests (konbini, bank transfer, Pay-easy) if KOMOJU does not count those in it. Whether it
    /// does is not documented; taking the larger never counts one twice.
    pub fn refunded(&self) -> i64 {
        self.amount_refunded.max(self.requests_total("completed"))
    }

    /// What can still be refunded: a captured payment less what was refunded and what is requested
    /// and still pending; 0 for any other payment.
    pub fn refundable(&self) -> i64 {
        if self.status != PaymentStatus::Captured {
            return 0;
        }
        (self.amount - self.refunded() - self.requests_total("pending")).max(0)
    }
}

impl Attempt {
    /// What `status::derive` needs about this attempt's session, as the ledger holds it (`None`
    /// before KOMOJU answered the create). A session stored without a status is `pending`.
    pub fn session_facts(&self) -> Option<SessionFacts> {
        self.session_id.as_ref()?;
        Some(SessionFacts {
            status: self
                .session_status
                .clone()
                .unwrap_or(SessionStatus::Pending),
            expired: self.session_expired,
        })
    }
}

impl PaymentRecord {
    /// What `status::derive` needs about this payment.
    pub fn facts(&self) -> PaymentFacts<'_> {
        PaymentFacts {
            status: &self.status,
            amount: self.amount,
            currency: &self.currency,
            // Completed refund requests count even where KOMOJU's figure lacks them.
            amount_refunded: self.refunded(),
        }
    }
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct EventRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub cause: String,
    pub detail: Option<String>,
}

/// What a compare-and-set did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    Applied {
        from: InvoiceStatus,
        to: InvoiceStatus,
    },
    Unchanged,
    Refused {
        from: InvoiceStatus,
        to: InvoiceStatus,
    },
}

/// Filters for history search and export. Dates are instants (the caller converts shop-local days).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound.
    pub until: Option<DateTime<Utc>>,
    pub status: Option<InvoiceStatus>,
    pub method: Option<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub text: Option<String>,
    pub limit: Option<u32>,
    /// Search `text` with the `LIKE` scan alone, without the counterparty index (the benchmark's
    /// reference; results are the same, only slower).
    pub without_index: bool,
}

/// Extra facts written together with a status move.
#[derive(Clone, Debug, Default)]
pub struct MoveFacts {
    pub paid_at: Option<DateTime<Utc>>,
    pub refunded_amount: Option<i64>,
}

impl InvoiceRecord {
    /// The stored per-rate figures (after discounts), for the rates the sale's lines bear.
    pub fn rate_totals(&self, lines: &[LineItem]) -> Vec<crate::tax::RateTotal> {
        TaxRate::ALL
            .into_iter()
            .filter(|r| lines.iter().any(|l| l.tax_rate == *r))
            .map(|rate| {
                let (gross, tax, discount) = match rate {
                    TaxRate::Standard => (self.gross_10, self.tax_10, self.discount_10),
                    TaxRate::Reduced => (self.gross_8, self.tax_8, self.discount_8),
                    TaxRate::Exempt => (self.gross_0, 0, self.discount_0),
                };
                crate::tax::RateTotal {
                    rate,
                    net: gross - tax,
                    tax,
                    gross,
                    discount,
                }
            })
            .collect()
    }
}

pub(super) fn invoice_row(r: &Row<'_>) -> rusqlite::Result<Result<InvoiceRecord>> {
    let status: String = r.get(3)?;
    let methods: String = r.get(16)?;
    let created: String = r.get(2)?;
    let updated: String = r.get(21)?;
    let paid: Option<String> = r.get(19)?;
    let number: String = r.get(1)?;
    let price_mode: String = r.get(10)?;
    let rounding: String = r.get(11)?;
    let order_discount: Option<String> = r.get(27)?;
    let dining: Option<String> = r.get(28)?;
    let rec = (|| -> Result<InvoiceRecord> {
        Ok(InvoiceRecord {
            id: r.get(0)?,
            number: InvoiceNumber::parse(&number)
                .ok_or_else(|| LedgerError::Corrupt(format!("invoice number {number:?}")))?,
            created_at: parse_ts(&created)?,
            status: status.parse().map_err(LedgerError::Corrupt)?,
            currency: r.get(4)?,
            amount: r.get(5)?,
            tax_10: r.get(6)?,
            tax_8: r.get(7)?,
            gross_10: r.get(8)?,
            gross_8: r.get(9)?,
            gross_0: r.get(22)?,
            price_mode: price_mode.parse().map_err(LedgerError::Corrupt)?,
            rounding: rounding.parse().map_err(LedgerError::Corrupt)?,
            customer: Customer {
                name: r.get(12)?,
                name_kana: r.get(13)?,
                email: r.get(14)?,
                phone: r.get(15)?,
            },
            methods: methods
                .split(',')
                .filter(|m| !m.is_empty())
                .map(String::from)
                .collect(),
            locale: r.get(17)?,
            expires_in: r.get(18)?,
            paid_at: opt_ts(paid)?,
            refunded_amount: r.get(20)?,
            updated_at: parse_ts(&updated)?,
            discount: r.get(23)?,
            discount_10: r.get(24)?,
            discount_8: r.get(25)?,
            discount_0: r.get(26)?,
            order_discount: order_discount
                .map(|d| d.parse().map_err(LedgerError::Corrupt))
                .transpose()?,
            dining: dining
                .map(|d| d.parse().map_err(LedgerError::Corrupt))
                .transpose()?,
            // None: the whole amount (sales without counter tenders, and every sale before them).
            komoju_amount: r.get::<_, Option<i64>>(29)?.unwrap_or(r.get(5)?),
        })
    })();
    Ok(rec)
}

pub(super) fn request_row(r: &Row<'_>, o: usize) -> rusqlite::Result<Result<ApiRequest>> {
    let created: String = r.get(o + 6)?;
    let completed: Option<String> = r.get(o + 7)?;
    let id = r.get(o)?;
    let invoice_id = r.get(o + 1)?;
    let kind = r.get(o + 2)?;
    let path = r.get(o + 3)?;
    let idempotency_key = r.get(o + 4)?;
    let body = r.get(o + 5)?;
    let outcome = r.get(o + 8)?;
    Ok((|| {
        Ok(ApiRequest {
            id,
            invoice_id,
            kind,
            path,
            idempotency_key,
            body,
            created_at: parse_ts(&created)?,
            completed_at: opt_ts(completed)?,
            outcome,
        })
    })())
}

pub(super) fn attempt_row(r: &Row<'_>) -> rusqlite::Result<Result<Attempt>> {
    let req = request_row(r, 11)?;
    let sc: Option<String> = r.get(8)?;
    let dl: Option<String> = r.get(9)?;
    let created: String = r.get(10)?;
    let id = r.get(0)?;
    let invoice_id = r.get(1)?;
    let attempt = r.get(2)?;
    let external_order_num = r.get(3)?;
    let session_id = r.get(4)?;
    let session_url = r.get(5)?;
    let session_status: Option<String> = r.get(6)?;
    let session_expired = r.get(7)?;
    Ok((|| {
        Ok(Attempt {
            id,
            invoice_id,
            attempt,
            external_order_num,
            request: req?,
            session_id,
            session_url,
            session_status: session_status.as_deref().map(SessionStatus::from_wire),
            session_expired,
            session_created_at: opt_ts(sc)?,
            deadline: opt_ts(dl)?,
            created_at: parse_ts(&created)?,
        })
    })())
}

pub(super) fn payment_row(r: &Row<'_>) -> rusqlite::Result<Result<PaymentRecord>> {
    let details: Option<String> = r.get(9)?;
    let rr: Option<String> = r.get(10)?;
    let dl: Option<String> = r.get(11)?;
    let created: Option<String> = r.get(12)?;
    let captured: Option<String> = r.get(13)?;
    let id = r.get(0)?;
    let invoice_id = r.get(1)?;
    let session_id = r.get(2)?;
    let status: String = r.get(3)?;
    let payment_type = r.get(4)?;
    let amount = r.get(5)?;
    let currency = r.get(6)?;
    let fee = r.get(7)?;
    let amount_refunded = r.get(8)?;
    Ok((|| {
        Ok(PaymentRecord {
            id,
            invoice_id,
            session_id,
            status: PaymentStatus::from_wire(&status),
            payment_type,
            amount,
            currency,
            fee,
            amount_refunded,
            details: details.and_then(|d| serde_json::from_str(&d).ok()),
            refund_requests: rr
                .and_then(|d| serde_json::from_str(&d).ok())
                .unwrap_or_default(),
            payment_deadline: opt_ts(dl)?,
            created_at: opt_ts(created)?,
            captured_at: opt_ts(captured)?,
        })
    })())
}
