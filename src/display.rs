//! What the screens show for one invoice: the staff charge screen ([`ChargeScreen`]) and the
//! customer display ([`CustomerView`]). Both are built from an [`InvoiceView`] and carry only what
//! a person needs: never raw KOMOJU JSON, never a key. The QR codes are SVG strings rendered here.

use crate::komoju::PaymentDetails;
use crate::qr;
use crate::register::InvoiceView;
use crate::status::InvoiceStatus;
use serde::Serialize;

/// What the customer must do next for a payment made later (konbini, bank transfer, Pay-easy).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Instructions {
    Konbini {
        store: Option<String>,
        receipt: Option<String>,
        confirmation_code: Option<String>,
        deadline: Option<String>,
        instructions_url: Option<String>,
        instructions_qr_svg: Option<String>,
    },
    BankTransfer {
        bank_name: Option<String>,
        branch_name: Option<String>,
        account_type: Option<String>,
        account_number: Option<String>,
        account_name: Option<String>,
        order_id: Option<String>,
        deadline: Option<String>,
        instructions_url: Option<String>,
        instructions_qr_svg: Option<String>,
    },
    PayEasy {
        bank_id: Option<String>,
        customer_id: Option<String>,
        confirmation_id: Option<String>,
        deadline: Option<String>,
        instructions_url: Option<String>,
        instructions_qr_svg: Option<String>,
    },
}

impl Instructions {
    /// The instructions in an invoice's payment, if it is a pay-later method.
    pub fn from_view(v: &InvoiceView) -> Option<Instructions> {
        let deadline = v.payment_deadline.clone();
        let qr_of = |u: &Option<String>| u.as_deref().and_then(|u| qr::svg(u).ok());
        match PaymentDetails::from_value(v.payment_details.as_ref()) {
            PaymentDetails::Konbini(k) => Some(Instructions::Konbini {
                instructions_qr_svg: qr_of(&k.instructions_url),
                store: k.store,
                receipt: k.receipt,
                confirmation_code: k.confirmation_code,
                deadline,
                instructions_url: k.instructions_url,
            }),
            PaymentDetails::BankTransfer(b) => Some(Instructions::BankTransfer {
                instructions_qr_svg: qr_of(&b.instructions_url),
                bank_name: b.bank_name,
                branch_name: b.account_branch_name,
                account_type: b.account_type,
                account_number: b.account_number,
                account_name: b.account_name,
                order_id: b.order_id,
                deadline: deadline.or(b.payment_deadline),
                instructions_url: b.instructions_url,
            }),
            PaymentDetails::PayEasy(p) => Some(Instructions::PayEasy {
                instructions_qr_svg: qr_of(&p.instructions_url),
                bank_id: p.bank_id,
                customer_id: p.customer_id,
                confirmation_id: p.confirmation_id,
                deadline,
                instructions_url: p.instructions_url,
            }),
            _ => None,
        }
    }
}

/// How a sale is paid, as both screens show it: the counter's tenders, the cash handed over and
/// the change, and what is left for the payment page (with its method's fee).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Paying {
    /// Cash, the shop's tenders and KOMOJU, in the order they apply.
    pub tenders: Vec<crate::tender::Tender>,
    /// Cash handed over (お預り); `None`: no cash.
    pub cash_tendered: Option<i64>,
    /// Cash given back (お釣り); `None`: no cash.
    pub change: Option<i64>,
    /// What the payment page asks: the amount less the counter's tenders (0: paid at the counter).
    pub komoju_due: i64,
    /// What the customer pays on the page or at the store: `komoju_due` and the payment method's
    /// fee once the payment shows one (konbini, Pay-easy).
    pub to_pay: i64,
}

impl Paying {
    pub fn of(v: &InvoiceView) -> Paying {
        use crate::tender::TenderKind;
        let cash: Vec<_> = v
            .tenders
            .iter()
            .filter(|t| t.kind == TenderKind::Cash)
            .collect();
        let sum = |f: fn(&crate::tender::Tender) -> Option<i64>| {
            (!cash.is_empty()).then(|| cash.iter().filter_map(|t| f(t)).sum::<i64>())
        };
        let komoju_due = v
            .tenders
            .iter()
            .filter(|t| t.kind == TenderKind::Komoju)
            .map(|t| t.amount)
            .sum::<i64>();
        Paying {
            tenders: v.tenders.clone(),
            cash_tendered: sum(|t| t.tendered),
            change: sum(|t| t.change),
            komoju_due,
            to_pay: if komoju_due > 0 {
                komoju_due + v.payment_method_fee
            } else {
                0
            },
        }
    }
}

/// The staff charge screen for one invoice.
#[derive(Clone, Debug, Serialize)]
pub struct ChargeScreen {
    pub invoice_number: String,
    pub status: InvoiceStatus,
    pub amount: i64,
    pub currency: String,
    pub tax_10: i64,
    pub tax_8: i64,
    pub refunded_amount: i64,
    pub created_at: String,
    pub paid_at: Option<String>,
    /// When the payment page (and its QR) stops working; shop-local RFC 3339.
    pub expires_at: Option<String>,
    pub payment_method: Option<String>,
    /// The payment page; shown as a QR while the invoice is pending.
    pub session_url: Option<String>,
    /// The QR of `session_url`, only while the customer can still pay on it.
    pub qr_svg: Option<String>,
    pub instructions: Option<Instructions>,
    /// Nothing more happens without a person (paid, cancelled, expired, …).
    pub is_final: bool,
    /// A new session (with a new order number) may be opened: expired, cancelled or failed.
    pub can_retry: bool,
    pub can_cancel: bool,
    /// A receipt (and return receipts of refunds) can be issued.
    pub can_receipt: bool,
    /// What staff should know beside the result (e.g. a repeated refund found the first one had
    /// gone through); the UI shows `notice.<code>`.
    pub notices: Vec<crate::register::Notice>,
    /// The payment method's fee once the payment shows one.
    pub fee: i64,
    #[serde(flatten)]
    pub paying: Paying,
}

impl ChargeScreen {
    pub fn with_notices(mut self, notices: Vec<crate::register::Notice>) -> Self {
        self.notices = notices;
        self
    }

    pub fn from_view(v: &InvoiceView) -> ChargeScreen {
        let open = v.status == InvoiceStatus::Pending;
        ChargeScreen {
            invoice_number: v.invoice_number.clone(),
            status: v.status,
            amount: v.amount,
            currency: v.currency.clone(),
            tax_10: v.tax_10,
            tax_8: v.tax_8,
            refunded_amount: v.refunded_amount,
            created_at: v.created_at.clone(),
            paid_at: v.paid_at.clone(),
            expires_at: v.expires_at.clone(),
            payment_method: v.payment_method.clone(),
            session_url: v.session_url.clone(),
            qr_svg: if open {
                v.session_url.as_deref().and_then(|u| qr::svg(u).ok())
            } else {
                None
            },
            instructions: Instructions::from_view(v),
            is_final: v.status.is_final(),
            can_retry: matches!(
                v.status,
                InvoiceStatus::Expired | InvoiceStatus::Cancelled | InvoiceStatus::Failed
            ),
            can_cancel: matches!(
                v.status,
                InvoiceStatus::Pending | InvoiceStatus::AwaitingPayment | InvoiceStatus::Failed
            ),
            can_receipt: v.status.has_receipt() && v.paid_at.is_some(),
            notices: Vec::new(),
            fee: v.payment_method_fee,
            paying: Paying::of(v),
        }
    }
}

/// What the customer-facing display shows: nothing about the shop's staff, keys or other sales.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CustomerView {
    pub shop_name: String,
    /// `idle` between sales, else the invoice status (`pending`, `paid`, …).
    pub state: String,
    pub amount: Option<i64>,
    pub currency: Option<String>,
    pub qr_svg: Option<String>,
    pub instructions: Option<Instructions>,
    /// Discounts already taken off `amount` (0: none), for the 値引 line.
    pub discount: i64,
    /// The payment method's fee once the payment shows one (konbini, Pay-easy): the customer pays
    /// `amount + fee` at the store.
    pub fee: i64,
    #[serde(flatten)]
    pub paying: Paying,
}

impl CustomerView {
    /// The idle screen between sales.
    pub fn idle(shop_name: &str) -> CustomerView {
        CustomerView {
            shop_name: shop_name.to_string(),
            state: "idle".into(),
            amount: None,
            currency: None,
            qr_svg: None,
            instructions: None,
            discount: 0,
            fee: 0,
            paying: Paying::default(),
        }
    }

    /// The customer's view of one sale.
    pub fn of(shop_name: &str, v: &InvoiceView) -> CustomerView {
        let screen = ChargeScreen::from_view(v);
        CustomerView {
            shop_name: shop_name.to_string(),
            state: v.status.as_str().to_string(),
            amount: Some(v.amount),
            currency: Some(v.currency.clone()),
            qr_svg: screen.qr_svg,
            instructions: screen.instructions,
            discount: v.discount,
            fee: v.payment_method_fee,
            paying: Paying::of(v),
        }
    }
}

/// One row of the history list (no payment details, no KOMOJU JSON).
#[derive(Clone, Debug, Serialize)]
pub struct HistoryRow {
    pub invoice_number: String,
    pub status: InvoiceStatus,
    pub amount: i64,
    pub currency: String,
    pub refunded_amount: i64,
    pub created_at: String,
    pub paid_at: Option<String>,
    pub payment_method: Option<String>,
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    /// The first item's name, and how many more lines there are.
    pub summary: String,
    /// Paid (partly) at the counter: `cash`, or `shop:NAME` for the shop's own tender.
    pub tender: Option<String>,
}

impl HistoryRow {
    pub fn from_view(v: &InvoiceView) -> HistoryRow {
        let summary = match v.items.split_first() {
            Some((first, [])) => first.name.clone(),
            Some((first, rest)) => format!("{} +{}", first.name, rest.len()),
            None => String::new(),
        };
        HistoryRow {
            invoice_number: v.invoice_number.clone(),
            status: v.status,
            amount: v.amount,
            currency: v.currency.clone(),
            refunded_amount: v.refunded_amount,
            created_at: v.created_at.clone(),
            paid_at: v.paid_at.clone(),
            payment_method: v.payment_method.clone(),
            customer_name: v.customer.name.clone(),
            customer_email: v.customer.email.clone(),
            summary,
            tender: {
                use crate::tender::TenderKind;
                let counter = |k| v.tenders.iter().find(|t| t.kind == k);
                counter(TenderKind::Cash)
                    .map(|_| "cash".to_string())
                    .or_else(|| {
                        counter(TenderKind::Shop)
                            .map(|t| format!("shop:{}", t.name.as_deref().unwrap_or("")))
                    })
            },
        }
    }
}

/// One entry of an invoice's timeline (the ledger's append-only event log), shop-local time.
#[derive(Clone, Debug, Serialize)]
pub struct TimelineEntry {
    pub at: String,
    pub kind: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub cause: String,
    /// Who did it, from the cause: `owner` (a shop without staff), `staff` (a member: `staff_id`),
    /// `komoju` (what KOMOJU reported) or `system`.
    pub actor: String,
    pub staff_id: Option<String>,
    /// The member's name, when the screen knows the staff (filled by [`TimelineEntry::named`]).
    pub who: Option<String>,
    /// What was done, from the cause after the actor (`charge`, `tender`, `cancel`, `refund`, …).
    pub action: String,
    /// The amount the entry is about (a refund's, a refund request's), when it has one.
    pub amount: Option<i64>,
    /// A print job's step (kind `print`), when the entry is one.
    pub print: Option<PrintStep>,
    /// Why (a return by items' reason), when the entry says.
    pub reason: Option<String>,
}

/// A print job's step on a sale, from a `print` event: what was printed, how it went, and why not.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PrintStep {
    /// `receipt`, `return`, `slip` or `drawer` (the print log's kinds).
    pub what: String,
    /// `queued`, `printed`, `failed` or `dropped`.
    pub outcome: String,
    /// A reprint (再発行).
    pub reissue: bool,
    /// Why it failed or was dropped: the printer error's code (`offline`, `paper_out`, `late`, …).
    pub error: Option<String>,
}

impl PrintStep {
    /// Reads the ledger's detail: `<subject> [(reissue) ]<outcome> <job id>[: <code>: <message>]`,
    /// the subject being `sale`, `return N`, `slip` or `drawer`.
    fn parse(detail: &str) -> Option<PrintStep> {
        let (head, error) = match detail.split_once(": ") {
            Some((h, e)) => (h, Some(e)),
            None => (detail, None),
        };
        let mut words: Vec<&str> = head.split_whitespace().collect();
        let _job = words.pop()?;
        let outcome = words.pop()?;
        if !matches!(outcome, "queued" | "printed" | "failed" | "dropped") {
            return None;
        }
        let reissue = words.last() == Some(&"(reissue)");
        if reissue {
            words.pop();
        }
        let what = match words.first().copied()? {
            "sale" => "receipt",
            "return" => "return",
            "slip" => "slip",
            "drawer" => "drawer",
            "report" => "report",
            "test" => "test",
            _ => return None,
        };
        // A failure's message is `<code>: <text>`; a drop's is `late: …` or its own words.
        let error = error.map(|e| {
            e.split_once(':')
                .map(|(code, _)| code)
                .unwrap_or(e)
                .trim()
                .to_string()
        });
        Some(PrintStep {
            what: what.into(),
            outcome: outcome.into(),
            reissue,
            error,
        })
    }
}

impl TimelineEntry {
    pub fn from_event(e: &crate::ledger::EventRecord, tz: chrono_tz::Tz) -> TimelineEntry {
        let (head, action) = e.cause.split_once(':').unwrap_or((e.cause.as_str(), ""));
        let (actor, staff_id) = match head {
            "staff" => ("owner", None),
            h if h.starts_with("staff/") => ("staff", Some(h["staff/".len()..].to_string())),
            "komoju" => ("komoju", None),
            _ => ("system", None),
        };
        // A note's cause is its actor alone (`staff/<id>` for a receipt): the kind says what.
        let action = if action.is_empty() && actor != "system" {
            e.kind.as_str()
        } else if actor == "system" {
            e.cause.as_str()
        } else {
            action
        };
        TimelineEntry {
            at: e
                .at
                .with_timezone(&tz)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            kind: e.kind.clone(),
            from_status: e.from_status.clone(),
            to_status: e.to_status.clone(),
            cause: e.cause.clone(),
            actor: actor.into(),
            staff_id,
            who: None,
            action: action.to_string(),
            amount: entry_amount(&e.kind, e.detail.as_deref()),
            print: (e.kind == "print")
                .then(|| e.detail.as_deref().and_then(PrintStep::parse))
                .flatten(),
            reason: (e.kind == "return")
                .then(|| {
                    let v: serde_json::Value = serde_json::from_str(e.detail.as_deref()?).ok()?;
                    Some(v.get("reason")?.as_str()?.to_string())
                })
                .flatten(),
        }
    }

    /// Fills in the member's name from the staff list (an unknown id keeps `who` empty).
    pub fn named(mut self, staff: &[crate::staff::StaffMember]) -> TimelineEntry {
        self.who = self
            .staff_id
            .as_ref()
            .and_then(|id| staff.iter().find(|m| &m.id == id))
            .map(|m| m.name.clone());
        self
    }
}

/// The yen an event is about: a refund's growth (`500->800`: 300) or a request's `amount N`.
fn entry_amount(kind: &str, detail: Option<&str>) -> Option<i64> {
    let d = detail?;
    match kind {
        "refund" => {
            let (a, b) = d.split_once("->")?;
            Some(b.trim().parse::<i64>().ok()? - a.trim().parse::<i64>().ok()?)
        }
        "refund_request" | "refund_sent" => d.strip_prefix("amount ")?.trim().parse().ok(),
        "return" => serde_json::from_str::<serde_json::Value>(d).ok()?["amount"].as_i64(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invoice::Customer;
    use serde_json::json;

    fn view(status: InvoiceStatus, details: Option<serde_json::Value>) -> InvoiceView {
        InvoiceView {
            invoice_number: "2026-000001".into(),
            session_id: Some("sess1".into()),
            session_url: Some("http://127.0.0.1:1/sessions/sess1".into()),
            status,
            session_status: None,
            payment_status: None,
            payment_method: None,
            amount: 3300,
            currency: "JPY".into(),
            created_at: "2026-11-01T10:00:00+09:00".into(),
            paid_at: None,
            payment_details: details,
            payment_id: Some("pay1".into()),
            external_order_num: None,
            attempt: 1,
            expires_at: Some("2026-11-01T11:00:00+09:00".into()),
            payment_deadline: Some("2026-11-04T23:59:59+09:00".into()),
            tax_10: 300,
            tax_8: 0,
            refunded_amount: 0,
            payment_method_fee: 0,
            price_mode: "inclusive".into(),
            customer: Customer {
                email: Some("taro@example.jp".into()),
                ..Default::default()
            },
            items: vec![],
            discount: 0,
            order_discount: None,
            dining: None,
            per_rate: vec![],
            tenders: vec![],
            refund_requests: vec![],
            refundable: 0,
            unanswered_requests: 0,
        }
    }

    #[test]
    fn pending_shows_a_qr_and_final_states_do_not() {
        let s = ChargeScreen::from_view(&view(InvoiceStatus::Pending, None));
        assert!(s.qr_svg.as_deref().unwrap().starts_with("<svg"));
        assert!(s.can_cancel && !s.can_retry && !s.is_final && !s.can_receipt);
        let s = ChargeScreen::from_view(&view(InvoiceStatus::Expired, None));
        assert!(s.qr_svg.is_none() && s.can_retry && s.is_final);
    }

    #[test]
    fn konbini_instructions_are_typed_and_keep_no_email() {
        let details = json!({"type": "konbini", "store": "lawson", "email": "taro@example.jp",
            "receipt": "AB12", "confirmation_code": "99", "instructions_url": "http://x/i/1"});
        let v = view(InvoiceStatus::AwaitingPayment, Some(details));
        let c = CustomerView::of("喫茶レジ", &v);
        let text = serde_json::to_string(&c).unwrap();
        assert!(!text.contains("taro@example.jp"), "{text}");
        match c.instructions.unwrap() {
            Instructions::Konbini {
                store,
                receipt,
                deadline,
                instructions_qr_svg,
                ..
            } => {
                assert_eq!(store.as_deref(), Some("lawson"));
                assert_eq!(receipt.as_deref(), Some("AB12"));
                assert_eq!(deadline.as_deref(), Some("2026-11-04T23:59:59+09:00"));
                assert!(instructions_qr_svg.is_some());
            }
            other => panic!("{other:?}"),
        }
        assert!(c.qr_svg.is_none(), "no payment QR once a slip exists");
        assert_eq!(CustomerView::idle("S").state, "idle");
    }

    #[test]
    fn the_customer_sees_the_discount_and_the_fee_to_pay_at_the_store() {
        let mut v = view(InvoiceStatus::AwaitingPayment, None);
        v.discount = 100;
        v.payment_method_fee = 190;
        let c = CustomerView::of("喫茶レジ", &v);
        assert_eq!((c.amount, c.discount, c.fee), (Some(3300), 100, 190));
        let idle = CustomerView::idle("喫茶レジ");
        assert_eq!((idle.discount, idle.fee), (0, 0));
    }

    #[test]
    fn cash_and_change_and_what_is_left_for_the_page() {
        use crate::tender::{settle, Tender, TenderKind};
        let mut v = view(InvoiceStatus::Paid, None);
        v.amount = 1_750;
        v.tenders = settle(1_750, Some(2_000), &[]).unwrap().tenders;
        let c = CustomerView::of("喫茶レジ", &v);
        assert_eq!(
            (
                c.paying.cash_tendered,
                c.paying.change,
                c.paying.komoju_due,
                c.paying.to_pay
            ),
            (Some(2_000), Some(250), 0, 0)
        );
        // ¥1,000 in cash, the rest at a konbini with its fee.
        let mut v = view(InvoiceStatus::AwaitingPayment, None);
        v.amount = 1_750;
        v.payment_method_fee = 190;
        v.tenders = settle(1_750, Some(1_000), &[]).unwrap().tenders;
        v.tenders.push(Tender {
            kind: TenderKind::Komoju,
            name: None,
            amount: 750,
            tendered: None,
            change: None,
            method: Some("konbini".into()),
        });
        let s = ChargeScreen::from_view(&v);
        assert_eq!(
            (
                s.paying.cash_tendered,
                s.paying.change,
                s.paying.komoju_due,
                s.paying.to_pay
            ),
            (Some(1_000), Some(0), 750, 940)
        );
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["to_pay"], 940, "flattened for the screens: {json}");
    }

    #[test]
    fn timeline_entries_say_who_and_how_much() {
        let ev = |kind: &str, cause: &str, detail: Option<&str>| crate::ledger::EventRecord {
            id: 1,
            at: chrono::Utc::now(),
            kind: kind.into(),
            from_status: None,
            to_status: None,
            cause: cause.into(),
            detail: detail.map(str::to_string),
        };
        let tz = chrono_tz::Asia::Tokyo;
        let staff = vec![crate::staff::StaffMember {
            id: "stf_1".into(),
            name: "山田".into(),
            role: crate::staff::Role::Cashier,
            created_at: chrono::Utc::now(),
        }];
        let e =
            TimelineEntry::from_event(&ev("status", "staff/stf_1:tender", None), tz).named(&staff);
        assert_eq!(
            (e.actor.as_str(), e.who.as_deref(), e.action.as_str()),
            ("staff", Some("山田"), "tender")
        );
        let e = TimelineEntry::from_event(&ev("refund", "staff:refund", Some("500->800")), tz);
        assert_eq!((e.actor.as_str(), e.amount), ("owner", Some(300)));
        let e = TimelineEntry::from_event(&ev("receipt", "staff/stf_1", Some("receipt")), tz)
            .named(&staff);
        assert_eq!(
            (e.action.as_str(), e.who.as_deref()),
            ("receipt", Some("山田"))
        );
        let e = TimelineEntry::from_event(&ev("status", "komoju:payment:pay1:captured", None), tz);
        assert_eq!((e.actor.as_str(), e.staff_id), ("komoju", None));
        let e = TimelineEntry::from_event(
            &ev("refund_sent", "staff/stf_9:refund", Some("amount 500")),
            tz,
        )
        .named(&staff);
        assert_eq!(
            (e.amount, e.who),
            (Some(500), None),
            "an unknown member has no name"
        );
    }

    #[test]
    fn print_events_read_as_steps_and_deliveries_are_the_printers() {
        let ev = |cause: &str, detail: &str| crate::ledger::EventRecord {
            id: 1,
            at: chrono::Utc::now(),
            kind: "print".into(),
            from_status: None,
            to_status: None,
            cause: cause.into(),
            detail: Some(detail.into()),
        };
        let tz = chrono_tz::Asia::Tokyo;
        let step = |what: &str, outcome: &str, reissue: bool, error: Option<&str>| PrintStep {
            what: what.into(),
            outcome: outcome.into(),
            reissue,
            error: error.map(str::to_string),
        };
        let e = TimelineEntry::from_event(&ev("staff/stf_1", "sale queued prj_01"), tz);
        assert_eq!(e.actor, "staff");
        assert_eq!(e.print, Some(step("receipt", "queued", false, None)));
        let e = TimelineEntry::from_event(&ev("staff", "return 2 (reissue) queued prj_02"), tz);
        assert_eq!(e.print, Some(step("return", "queued", true, None)));
        let e = TimelineEntry::from_event(
            &ev(
                "printer",
                "sale failed prj_03: paper_out: the printer reports no paper",
            ),
            tz,
        );
        assert_eq!(
            e.actor, "system",
            "a delivery is the printer's, not a member's"
        );
        assert_eq!(
            e.print,
            Some(step("receipt", "failed", false, Some("paper_out")))
        );
        let e = TimelineEntry::from_event(
            &ev(
                "printer",
                "drawer dropped prj_04: late: too late to open the drawer",
            ),
            tz,
        );
        assert_eq!(
            e.print,
            Some(step("drawer", "dropped", false, Some("late")))
        );
        let e = TimelineEntry::from_event(&ev("printer", "slip printed prj_05"), tz);
        assert_eq!(e.print, Some(step("slip", "printed", false, None)));
        let e = TimelineEntry::from_event(&ev("printer", "sale (reissue) printed prj_07"), tz);
        assert_eq!(e.print, Some(step("receipt", "printed", true, None)));
        let e = TimelineEntry::from_event(
            &crate::ledger::EventRecord {
                kind: "return".into(),
                ..ev(
                    "staff",
                    r#"{"lines":[],"reason":"欠け","amount":1650,"per_rate":[],"before":0,"after":1650}"#,
                )
            },
            tz,
        );
        assert_eq!((e.amount, e.reason.as_deref()), (Some(1650), Some("欠け")));
        // Something this version does not know stays an entry without a step.
        let e = TimelineEntry::from_event(&ev("printer", "label printed prj_06"), tz);
        assert_eq!(e.print, None);
    }

    #[test]
    fn history_rows_summarise_items() {
        let mut v = view(InvoiceStatus::Paid, None);
        v.items = vec![
            crate::invoice::LineItem::from_parts("コーヒー", 480, 2, 8).unwrap(),
            crate::invoice::LineItem::from_parts("紙袋", 10, 1, 10).unwrap(),
        ];
        let r = HistoryRow::from_view(&v);
        assert_eq!(r.summary, "コーヒー +1");
        assert_eq!(r.tender, None, "all by KOMOJU");
        v.tenders = crate::tender::settle(3300, Some(5000), &[])
            .unwrap()
            .tenders;
        assert_eq!(HistoryRow::from_view(&v).tender.as_deref(), Some("cash"));
        assert_eq!(r.customer_email.as_deref(), Some("taro@example.jp"));
    }

    #[test]
    fn bank_transfer_details() {
        let details = json!({"type": "bank_transfer", "bank_name": "三井住友銀行",
            "account_branch_name": "テスト支店", "account_type": "普通預金",
            "account_number": "1234567", "account_name": "カ）デジカ"});
        let v = view(InvoiceStatus::AwaitingPayment, Some(details));
        match Instructions::from_view(&v).unwrap() {
            Instructions::BankTransfer {
                branch_name,
                account_number,
                ..
            } => {
                assert_eq!(branch_name.as_deref(), Some("テスト支店"));
                assert_eq!(account_number.as_deref(), Some("1234567"));
            }
            other => panic!("{other:?}"),
        }
        let card = json!({"type": "credit_card", "last_four_digits": "1111"});
        assert!(Instructions::from_view(&view(InvoiceStatus::Paid, Some(card))).is_none());
    }
}

/// What the history's refund form needs: how much can still be refunded, whether KOMOJU needs the
/// customer's bank account (konbini, bank transfer, Pay-easy: a refund *request*), and the requests
/// made so far.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefundView {
    /// The payment less what was refunded and what is requested and still pending.
    pub refundable: i64,
    pub needs_bank_account: bool,
    pub requests: Vec<RefundRequestRow>,
    /// Per line of the sale, how many were returned by items so far.
    pub returned: Vec<u32>,
    /// How the sale is given back from here: `any`, by `items` (returns so far) or by `amount`.
    pub by: String,
}

/// One refund request as KOMOJU reports it: amount and `pending`, `completed` or `rejected`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefundRequestRow {
    pub amount: i64,
    pub status: String,
}

impl RefundView {
    pub fn of(v: &InvoiceView) -> RefundView {
        let requests: Vec<RefundRequestRow> = v
            .refund_requests
            .iter()
            .map(|r| RefundRequestRow {
                amount: r
                    .get("amount")
                    .and_then(serde_json::Value::as_i64)
                    .unwrap_or(0),
                status: r
                    .get("status")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("pending")
                    .to_string(),
            })
            .collect();
        RefundView {
            refundable: v.refundable,
            needs_bank_account: v
                .payment_method
                .as_deref()
                .map(crate::komoju::PaymentType::from_wire)
                .is_some_and(|t| t.pays_later()),
            requests,
            returned: vec![0; v.items.len()],
            by: if v.refunded_amount > 0 {
                "amount".into()
            } else {
                "any".into()
            },
        }
    }

    /// With what the register knows of the sale's returns.
    pub fn with_returns(mut self, s: &crate::register::ReturnState) -> RefundView {
        self.returned = s.returned.clone();
        self.by = s.by.into();
        self
    }
}

/// The history's "today" panel: the day's figures (as a daily close would count them, not stored)
/// and its sales by shop-local hour, with the hour chart drawn here as SVG.
#[derive(Clone, Debug, Serialize)]
pub struct TodayView {
    pub summary: crate::ledger::DailyClose,
    /// Sales (tax included) paid in each shop-local hour, 0–23.
    pub by_hour: Vec<i64>,
    pub hour_chart_svg: String,
    /// When the day was closed (日計表 stored; its records locked), if it was.
    pub closed_at: Option<String>,
    /// Net sales: the gross `summary.sales_total` less the day's refunds.
    pub net_total: i64,
    /// The day can be closed now (open, its hours begun).
    pub closable: bool,
    /// The calendar day, closed early (精算 during its hours): these figures are the next
    /// business day's, where the sales since go.
    pub earlier_close: Option<EarlierClose>,
}

/// A day closed before its end, shown beside the business day that followed it.
#[derive(Clone, Debug, Serialize)]
pub struct EarlierClose {
    pub business_date: String,
    pub closed_at: String,
}

impl TodayView {
    /// The panel of a day's figures (`Register::today`).
    pub fn of(day: &crate::register::DayFigures) -> TodayView {
        let mut v = TodayView::new(day.summary.clone(), &day.paid, day.tz);
        v.closed_at = day.closed_at.clone();
        v.closable = day.closable;
        v.earlier_close =
            day.earlier_close
                .clone()
                .map(|(business_date, closed_at)| EarlierClose {
                    business_date,
                    closed_at,
                });
        v
    }

    pub fn new(
        summary: crate::ledger::DailyClose,
        paid: &[(chrono::DateTime<chrono::Utc>, i64)],
        tz: chrono_tz::Tz,
    ) -> TodayView {
        use chrono::Timelike;
        let mut by_hour = vec![0i64; 24];
        for (at, amount) in paid {
            by_hour[at.with_timezone(&tz).hour() as usize] += amount;
        }
        let hour_chart_svg = hour_chart_svg(&by_hour);
        TodayView {
            net_total: summary.sales_total - summary.refunds_total,
            summary,
            by_hour,
            hour_chart_svg,
            closed_at: None,
            closable: true,
            earlier_close: None,
        }
    }
}

/// A bar per hour (0–23) scaled to the busiest hour, hour marks every 3 hours and the peak amount.
/// Plain SVG (rect, line, text) with presentation attributes only: it passes the app's SVG
/// allowlist and a strict CSP (no style attributes).
pub fn hour_chart_svg(by_hour: &[i64]) -> String {
    const W: i64 = 480;
    const H: i64 = 140;
    const LEFT: i64 = 8;
    const BOTTOM: i64 = 20;
    const TOP: i64 = 18;
    let plot_h = H - BOTTOM - TOP;
    let slot = (W - 2 * LEFT) / 24;
    let max = by_hour.iter().copied().max().unwrap_or(0).max(1);
    let mut out = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}">"##
    );
    let base = H - BOTTOM;
    out.push_str(&format!(
        r##"<line x1="{LEFT}" y1="{base}" x2="{}" y2="{base}" stroke="#c9cedd" stroke-width="1"/>"##,
        W - LEFT
    ));
    for (h, v) in by_hour.iter().enumerate() {
        let x = LEFT + h as i64 * slot + 2;
        if *v > 0 {
            let bh = (v * plot_h / max).max(2);
            out.push_str(&format!(
                r##"<rect x="{x}" y="{}" width="{}" height="{bh}" fill="#3550c8"/>"##,
                base - bh,
                slot - 4
            ));
        }
        if h % 3 == 0 {
            out.push_str(&format!(
                r##"<text x="{}" y="{}" font-size="11" text-anchor="middle" fill="#7a839e">{h}</text>"##,
                x + (slot - 4) / 2,
                H - 5
            ));
        }
    }
    if by_hour.iter().any(|v| *v > 0) {
        let peak = crate::money::Money::jpy(max).to_string();
        out.push_str(&format!(
            r##"<text x="{LEFT}" y="12" font-size="11" fill="#7a839e">{peak}</text>"##
        ));
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod today_tests {
    use super::*;
    use chrono::TimeZone;

    fn summary() -> crate::ledger::DailyClose {
        crate::ledger::DailyClose {
            business_date: "2026-11-29".into(),
            closed_at: "2026-11-29T14:00:00Z".into(),
            time_zone: "Asia/Tokyo".into(),
            sales_count: 3,
            sales_total: 4_300,
            per_rate: vec![],
            per_method: vec![],
            refunds_count: 0,
            refunds_total: 0,
            refunds_per_rate: vec![],
            pending_count: 0,
            pending_total: 0,
            created_by_status: vec![],
        }
    }

    #[test]
    fn sales_are_bucketed_by_shop_local_hour_and_drawn_as_bars() {
        let utc = |h, m| chrono::Utc.with_ymd_and_hms(2026, 11, 29, h, m, 0).unwrap();
        // 10:05 and 10:55 in Tokyo (01:05, 01:55 UTC), and 23:59 (14:59 UTC).
        let paid = [(utc(1, 5), 1_000), (utc(1, 55), 300), (utc(14, 59), 3_000)];
        let v = TodayView::new(summary(), &paid, chrono_tz::Asia::Tokyo);
        assert_eq!(v.by_hour.len(), 24);
        assert_eq!(v.by_hour[10], 1_300);
        assert_eq!(v.by_hour[23], 3_000);
        assert_eq!(v.by_hour.iter().sum::<i64>(), 4_300);
        let svg = &v.hour_chart_svg;
        assert_eq!(svg.matches("<rect").count(), 2, "{svg}");
        assert!(svg.contains("¥3,000"), "the peak is labelled: {svg}");
        // The busiest hour is the tallest bar; the 1 300 one is 1300/3000 of it.
        assert!(
            svg.contains(r#"height="102""#) && svg.contains(r#"height="44""#),
            "{svg}"
        );
        for banned in ["style", "script", "href", "url("] {
            assert!(!svg.contains(banned), "{banned} in {svg}");
        }
    }

    #[test]
    fn an_empty_day_draws_an_axis_and_no_bars() {
        let v = TodayView::new(summary(), &[], chrono_tz::Asia::Tokyo);
        assert!(v.by_hour.iter().all(|x| *x == 0));
        assert_eq!(v.hour_chart_svg.matches("<rect").count(), 0);
        assert!(v.hour_chart_svg.contains("<line"));
    }
}
