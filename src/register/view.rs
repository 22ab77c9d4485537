//! What the use cases return: an invoice as shown, a sync report.

use super::*;

/// An invoice as the CLI's `--json` and the app show it.
#[derive(Clone, Debug, Serialize)]
pub struct InvoiceView {
    pub invoice_number: String,
    pub session_id: Option<String>,
    pub session_url: Option<String>,
    pub status: InvoiceStatus,
    pub session_status: Option<String>,
    pub payment_status: Option<String>,
    pub payment_method: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub created_at: String,
    pub paid_at: Option<String>,
    pub payment_details: Option<Value>,
    pub payment_id: Option<String>,
    pub external_order_num: Option<String>,
    pub attempt: u32,
    pub expires_at: Option<String>,
    pub payment_deadline: Option<String>,
    pub tax_10: i64,
    pub tax_8: i64,
    pub refunded_amount: i64,
    pub payment_method_fee: i64,
    pub price_mode: String,
    pub customer: Customer,
    pub items: Vec<LineItem>,
    /// Every discount of the sale (lines and order), in the price mode's terms.
    pub discount: i64,
    /// The order's discount as given (`100`, `10%`, `round100`).
    pub order_discount: Option<String>,
    /// `eat_in` or `take_away` when the sale said (or rang up catalog products).
    pub dining: Option<String>,
    /// Per tax rate, after discounts: net, tax, gross and the discount it took.
    pub per_rate: Vec<crate::tax::RateTotal>,
    /// How the sale is paid: cash (tendered, change), the shop's tenders, and KOMOJU for the rest.
    pub tenders: Vec<crate::tender::Tender>,
    pub refund_requests: Vec<Value>,
    /// What `refund` would accept at most now (0 when the invoice cannot be refunded).
    pub refundable: i64,
    /// Set when a create request still has no answer (`reji sync` finishes it).
    pub unanswered_requests: usize,
}

#[derive(Debug, Default, Serialize)]
pub struct SyncReport {
    pub invoices: Vec<InvoiceView>,
    pub changed: usize,
    pub errors: Vec<SyncError>,
    /// The change feed that covered the invoices waiting at a store or bank (`events`, `list`, or
    /// `events+list`); `null` when the sync refreshed every invoice one by one.
    pub feed: Option<String>,
    /// Requests the feed pass made (the per-invoice refreshes are not counted).
    pub feed_requests: u32,
}

#[derive(Debug, Serialize)]
pub struct SyncError {
    pub invoice_number: String,
    pub code: ErrorCode,
    pub message: String,
}
