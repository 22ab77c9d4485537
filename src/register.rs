//! The register: every use case the CLI and the desktop app offer (charge, show, sync, cancel,
//! refund, retry, list, export), over the ledger and the KOMOJU client, with time passed in.

use crate::clock::Clock;
use crate::invoice::{
    Customer, Draft, InvoiceNumber, LineItem, DEFAULT_EXPIRES_IN, MAX_EXPIRES_IN,
};
use crate::kana;
use crate::keychain::KeyError;
use crate::komoju::{Client, KomojuError, Payment, PaymentStatus, PaymentType, Session};
use crate::ledger::{
    ApiRequest, Attempt, Filter, InvoiceRecord, Ledger, LedgerError, Move, MoveFacts, PaymentRecord,
};
use crate::money::{Currency, Money};
use crate::status::{derive, Expectation, InvoiceStatus, MoveKind};
use crate::tax::{PriceMode, Rounding, TaxRate};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// One error type for the core's use cases. `code()` is the closed set the UI maps to messages.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{field}: {message}")]
    BadInput { field: String, message: String },
    #[error("not found: {0}")]
    NotFound(String),
    #[error("cannot {action} invoice {invoice}: it is {status}")]
    NotAllowed {
        invoice: String,
        status: InvoiceStatus,
        action: &'static str,
    },
    #[error("{0}")]
    Komoju(#[from] KomojuError),
    #[error("{0}")]
    Ledger(LedgerError),
    #[error("{0}")]
    Key(#[from] KeyError),
    #[error("{0}")]
    Export(#[from] crate::export::ExportError),
    #[error("no KOMOJU secret key: run `reji keys set` or set REJI_SECRET_KEY")]
    NoClient,
    #[error("{0} is already closed (日計表): no new sale can be dated on a closed day")]
    DayClosed(String),
    /// A file the user named (`flag`: `--out`, `--pdf`, …) could not be written.
    #[error("{flag}: cannot write {path}: {source}")]
    WriteFile {
        flag: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Writing an export or a report file (the file helpers of `export` take the caller's error type).
impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Export(crate::export::ExportError::Io(e))
    }
}

impl From<LedgerError> for Error {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::NotFound(k) => Error::NotFound(format!("no invoice {k:?} in the ledger")),
            other => Error::Ledger(other),
        }
    }
}

impl From<crate::ledger::ExportRowsError> for Error {
    fn from(e: crate::ledger::ExportRowsError) -> Self {
        match e {
            crate::ledger::ExportRowsError::Ledger(l) => l.into(),
            crate::ledger::ExportRowsError::Export(x) => x.into(),
        }
    }
}

impl Error {
    pub fn bad(field: &str, message: impl Into<String>) -> Self {
        Error::BadInput {
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// Stable machine-readable code (the UI's `{code, message_key}`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadInput { .. } => "bad_input",
            Error::NotFound(_) => "not_found",
            Error::NotAllowed { .. } | Error::DayClosed(_) => "not_allowed",
            Error::Komoju(e) if e.is_auth() => "komoju_auth",
            Error::Komoju(e) if e.is_bad_base() => "bad_input",
            Error::Komoju(KomojuError::Api { .. }) => "komoju_refused",
            Error::Komoju(KomojuError::Transport { .. }) => "network",
            Error::Komoju(_) => "komoju_response",
            Error::Ledger(_) => "ledger",
            Error::Key(KeyError::Invalid(_)) => "bad_input",
            Error::Key(_) | Error::NoClient => "no_key",
            Error::Export(crate::export::ExportError::Io(_)) | Error::WriteFile { .. } => {
                "export_io"
            }
            Error::Export(_) => "bad_input",
        }
    }

    /// The CLI contract's exit codes.
    pub fn exit_code(&self) -> i32 {
        Self::exit_code_of(self.code())
    }

    /// The exit code for an error [`code`](Error::code): 1 KOMOJU or network error, 2 bad input,
    /// 3 not found, 4 not allowed, 5 the ledger or a local file could not be read or written.
    pub fn exit_code_of(code: &str) -> i32 {
        match code {
            "bad_input" => 2,
            "not_found" => 3,
            "not_allowed" => 4,
            "ledger" | "export_io" => 5,
            _ => 1,
        }
    }

    /// A message for people: a 401 is a key problem, not a generic failure. Anything shaped like
    /// a key is masked ([`crate::keychain::mask_secrets`]): messages can hold a server's words.
    pub fn user_message(&self) -> String {
        match self {
            Error::Komoju(e) if e.is_auth() => {
                "KOMOJU rejected the secret key (401 unauthorized): check it with `reji keys show` and set the right one with `reji keys set`".into()
            }
            other => crate::keychain::mask_secrets(&other.to_string()).into_owned(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The years a date argument may name: the shop's records start after 2000, and a year beyond
/// 2099 is a typo.
pub const DATE_YEARS: std::ops::RangeInclusive<i32> = 2000..=2099;

/// A day given as exactly `YYYY-MM-DD` (four, two and two digits: `26-1-1` is not the year 26),
/// a real calendar date, its year in [`DATE_YEARS`]. `field` names the argument in errors. Every
/// date argument (`close --date`, `list` / `export` `--from` / `--to`, the app's dates) goes
/// through this.
pub fn parse_day(field: &str, s: &str) -> Result<NaiveDate> {
    use chrono::Datelike;
    let t = s.trim();
    let b = t.as_bytes();
    let shaped = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shaped {
        return Err(Error::bad(
            field,
            format!("{s:?} is not a date in YYYY-MM-DD form (e.g. 2026-01-31)"),
        ));
    }
    let d = NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| {
        Error::bad(
            field,
            format!("{s:?} is not a calendar date (YYYY-MM-DD; no such month or day)"),
        )
    })?;
    if !DATE_YEARS.contains(&d.year()) {
        return Err(Error::bad(
            field,
            format!(
                "{s:?} is out of range: the year must be from {} to {}",
                DATE_YEARS.start(),
                DATE_YEARS.end()
            ),
        ));
    }
    Ok(d)
}

/// Shop settings stored in the ledger (`meta` keys `setting.*`).
#[derive(Clone, Debug)]
pub struct Settings {
    pub tz: Tz,
    pub price_mode: PriceMode,
    pub rounding: Rounding,
    pub expires_in: u32,
    /// Shown on the customer display and receipts.
    pub shop_name: String,
    /// 適格請求書発行事業者登録番号 (`T` + 13 digits), normalised; receipts are qualified invoices
    /// only with it.
    pub registration_number: Option<String>,
    pub shop_address: Option<String>,
    pub shop_phone: Option<String>,
    /// A line printed at the bottom of every receipt.
    pub receipt_footer: Option<String>,
    /// Account names of the journal export (they must match the accounting software's).
    pub journal_debit_account: String,
    pub journal_debit_sub: String,
    pub journal_credit_account: String,
    /// The slow lane's change feed: auto (events while alive, else the payment list), events, list.
    pub feed: crate::tracker::FeedMode,
    /// The payment methods a sale offers when the cashier picks none (KOMOJU payment types); empty
    /// = what the KOMOJU account has enabled.
    pub payment_methods: Vec<String>,
    /// The payment page's language when a sale gives none (`ja`, `en`, `ko`); none = KOMOJU's choice.
    pub locale: Option<String>,
    /// Desktop demo only: the fake KOMOJU serves on the LAN so a phone can scan and pay (takes
    /// effect at the next start).
    pub demo_lan: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            tz: chrono_tz::Asia::Tokyo,
            price_mode: PriceMode::Inclusive,
            rounding: Rounding::Down,
            expires_in: DEFAULT_EXPIRES_IN,
            shop_name: DEFAULT_SHOP_NAME.to_string(),
            registration_number: None,
            shop_address: None,
            shop_phone: None,
            receipt_footer: None,
            journal_debit_account: "売掛金".into(),
            journal_debit_sub: "KOMOJU".into(),
            journal_credit_account: "売上高".into(),
            feed: crate::tracker::FeedMode::Auto,
            payment_methods: Vec::new(),
            locale: None,
            demo_lan: false,
        }
    }
}

/// The shop name until one is set.
pub const DEFAULT_SHOP_NAME: &str = "Reji";

impl Settings {
    pub const KEYS: [&'static str; 16] = [
        "time_zone",
        "price_mode",
        "rounding",
        "expires_in",
        "shop_name",
        "registration_number",
        "shop_address",
        "shop_phone",
        "receipt_footer",
        "journal_debit_account",
        "journal_debit_sub",
        "journal_credit_account",
        "feed",
        "payment_methods",
        "locale",
        "demo_lan",
    ];

    pub fn load(ledger: &Ledger) -> Result<Settings> {
        let mut s = Settings::default();
        for key in Self::KEYS {
            if let Some(v) = ledger.meta(&format!("setting.{key}"))? {
                s.apply(key, &v)?;
            }
        }
        Ok(s)
    }

    /// Validates and applies one setting.
    pub fn apply(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "time_zone" => {
                self.tz = value
                    .parse()
                    .map_err(|_| Error::bad(key, format!("unknown time zone {value:?}")))?
            }
            "price_mode" => {
                self.price_mode = value.parse().map_err(|e: String| Error::bad(key, e))?
            }
            "rounding" => self.rounding = value.parse().map_err(|e: String| Error::bad(key, e))?,
            "expires_in" => self.expires_in = parse_expires_in(value)?,
            "shop_name" => self.shop_name = clean_text(key, Some(value), 60)?.unwrap_or_default(),
            // An empty value clears the optional receipt settings.
            "registration_number" => {
                // A check digit that does not hold is a warning (`warnings`), not a refusal.
                self.registration_number = optional_text(key, value, 40)?
                    .map(|v| crate::receipt::RegistrationNumber::parse(&v))
                    .transpose()
                    .map_err(|e| Error::bad(key, e))?
                    .map(|(n, _check_digit_ok)| n.as_str().to_string());
            }
            "journal_debit_account" | "journal_credit_account" => {
                let v = clean_text(key, Some(value), 24)?.unwrap_or_default();
                if key == "journal_debit_account" {
                    self.journal_debit_account = v;
                } else {
                    self.journal_credit_account = v;
                }
            }
            "journal_debit_sub" => {
                self.journal_debit_sub = optional_text(key, value, 24)?.unwrap_or_default()
            }
            "shop_address" => self.shop_address = optional_text(key, value, 100)?,
            "shop_phone" => self.shop_phone = optional_text(key, value, 20)?,
            "receipt_footer" => self.receipt_footer = optional_text(key, value, 100)?,
            "feed" => self.feed = value.parse().map_err(|e: String| Error::bad(key, e))?,
            "demo_lan" => {
                self.demo_lan = match value.trim() {
                    "on" | "true" | "1" => true,
                    "off" | "false" | "0" | "" => false,
                    other => return Err(Error::bad(key, format!("{other:?} must be on or off"))),
                }
            }
            "payment_methods" => {
                self.payment_methods =
                    validate_methods(&[value.to_string()]).map_err(|e| rename_field(e, key))?
            }
            "locale" => {
                self.locale = validate_locale(Some(value).filter(|v| !v.trim().is_empty()))
                    .map_err(|e| rename_field(e, key))?
            }
            _ => {
                return Err(Error::bad(
                    "setting",
                    format!("unknown setting {key:?}; known: {}", Self::KEYS.join(", ")),
                ))
            }
        }
        Ok(())
    }

    pub fn get(&self, key: &str) -> Option<String> {
        Some(match key {
            "time_zone" => self.tz.name().to_string(),
            "price_mode" => self.price_mode.as_str().into(),
            "rounding" => self.rounding.as_str().into(),
            "expires_in" => self.expires_in.to_string(),
            "shop_name" => self.shop_name.clone(),
            "registration_number" => self.registration_number.clone().unwrap_or_default(),
            "shop_address" => self.shop_address.clone().unwrap_or_default(),
            "shop_phone" => self.shop_phone.clone().unwrap_or_default(),
            "receipt_footer" => self.receipt_footer.clone().unwrap_or_default(),
            "journal_debit_account" => self.journal_debit_account.clone(),
            "journal_debit_sub" => self.journal_debit_sub.clone(),
            "journal_credit_account" => self.journal_credit_account.clone(),
            "feed" => self.feed.as_str().into(),
            "payment_methods" => self.payment_methods.join(","),
            "demo_lan" => if self.demo_lan { "on" } else { "off" }.into(),
            "locale" => self.locale.clone().unwrap_or_default(),
            _ => return None,
        })
    }

    /// Things worth telling the owner about the settings (not errors).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if let Some(n) = &self.registration_number {
            if let Ok((n, false)) = crate::receipt::RegistrationNumber::parse(n) {
                w.push(crate::receipt::check_digit_warning(&n));
            }
        }
        w
    }

    /// The account names of the journal export.
    pub fn journal_accounts(&self) -> crate::export::journal::Accounts {
        crate::export::journal::Accounts {
            debit: self.journal_debit_account.clone(),
            debit_sub: self.journal_debit_sub.clone(),
            credit: self.journal_credit_account.clone(),
        }
    }

    /// The issuer on receipts.
    pub fn shop_details(&self) -> crate::receipt::ShopDetails {
        crate::receipt::ShopDetails {
            name: self.shop_name.clone(),
            registration_number: self.registration_number.clone(),
            address: self.shop_address.clone(),
            phone: self.shop_phone.clone(),
            footer: self.receipt_footer.clone(),
        }
    }
}

/// A bad-input error about a CLI flag, reported for the setting `key` instead.
fn rename_field(e: Error, key: &str) -> Error {
    match e {
        Error::BadInput { message, .. } => Error::bad(key, message),
        other => other,
    }
}

/// A setting that may be cleared: an empty value is `None`, anything else is checked text.
fn optional_text(key: &str, value: &str, max: usize) -> Result<Option<String>> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        clean_text(key, Some(value), max)
    }
}

fn parse_expires_in(v: &str) -> Result<u32> {
    v.trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (60..=MAX_EXPIRES_IN).contains(n))
        .ok_or_else(|| {
            Error::bad(
                "--expires-in",
                format!("{v:?} must be whole seconds from 60 to {MAX_EXPIRES_IN}"),
            )
        })
}

/// What the cashier rang up.
#[derive(Clone, Debug, Default)]
pub struct ChargeRequest {
    pub lines: Vec<LineItem>,
    /// A plain amount instead of lines (one line at `amount_rate`).
    pub amount: Option<i64>,
    pub amount_rate: Option<TaxRate>,
    pub currency: Option<String>,
    pub customer: Customer,
    pub methods: Vec<String>,
    pub locale: Option<String>,
    pub expires_in: Option<String>,
}

/// Bank account for a konbini / bank transfer / Pay-easy refund request. Empty fields are "not
/// given" (the app's form sends every field).
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct BankAccount {
    pub bank_name: Option<String>,
    pub bank_code: Option<String>,
    pub branch_number: Option<String>,
    pub branch_name: Option<String>,
    pub account_type: Option<String>,
    pub account_number: Option<String>,
    pub holder_kana: Option<String>,
}

impl BankAccount {
    pub fn is_empty(&self) -> bool {
        self.bank_name.is_none()
            && self.branch_number.is_none()
            && self.account_type.is_none()
            && self.account_number.is_none()
            && self.holder_kana.is_none()
    }
}

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
    pub refund_requests: Vec<Value>,
    /// What `refund` would accept at most now (0 when the invoice cannot be refunded).
    pub refundable: i64,
    /// Set when a create request still has no answer (`reji sync` finishes it).
    pub unanswered_requests: usize,
}

pub struct Register {
    ledger: Ledger,
    client: Option<Client>,
    /// Why there is no client (e.g. no key in the keychain), reported only when one is needed, so
    /// bad input is still reported as bad input.
    client_error: Option<KeyError>,
    clock: Arc<dyn Clock>,
    settings: Settings,
    /// What staff should be told beside a use case's result (e.g. "the refund sent before the crash
    /// went through; nothing new was sent"). Taken by the caller with `take_notices`.
    notices: Vec<Notice>,
}

/// Something staff should know beside a use case's result: `code` (closed set, for the UI's
/// message) and an English `message` with the details (the CLI prints it).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Notice {
    /// `settled_earlier` (a repeated refund, cancel or retry found the first one had gone through),
    /// `renumbered` (KOMOJU knew the number: the sale took the next free one),
    /// `recovered_after_restore`, `numbers_moved_after_restore`, `restore_check_failed`.
    pub code: &'static str,
    pub message: String,
}

impl Register {
    pub fn new(ledger: Ledger, client: Option<Client>, clock: Arc<dyn Clock>) -> Result<Self> {
        let settings = Settings::load(&ledger)?;
        Ok(Register {
            ledger,
            client,
            client_error: None,
            clock,
            settings,
            notices: Vec::new(),
        })
    }

    /// Messages for staff gathered since the last call (printed by the CLI on stderr).
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    fn notice(&mut self, code: &'static str, message: String) {
        self.notices.push(Notice { code, message });
    }

    /// Refreshes an invoice after replaying the POSTs an earlier, interrupted run stored but never
    /// saw answered (with their original idempotency keys, so KOMOJU runs each once). Returns those
    /// KOMOJU has now accepted: a use case repeated after a crash counts them instead of sending a
    /// second request.
    async fn refresh_settling(&mut self, invoice_id: i64) -> Result<Vec<ApiRequest>> {
        let interrupted = self.ledger.unanswered_requests(invoice_id)?;
        self.refresh(invoice_id).await?;
        let mut settled = Vec::new();
        for r in interrupted {
            let r = self.ledger.request_by_id(r.id)?;
            if r.outcome.as_deref() == Some("ok") {
                settled.push(r);
            }
        }
        Ok(settled)
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        let mut s = self.settings.clone();
        s.apply(key, value)?;
        self.ledger
            .set_meta(&format!("setting.{key}"), value.trim())?;
        self.settings = s;
        Ok(())
    }

    /// Records why no client could be made; the first use case that needs KOMOJU reports it.
    pub fn set_client_error(&mut self, e: KeyError) {
        self.client_error = Some(e);
    }

    fn client(&self) -> Result<&Client> {
        match (&self.client, &self.client_error) {
            (Some(c), _) => Ok(c),
            (None, Some(e)) => Err(Error::Key(e.clone())),
            (None, None) => Err(Error::NoClient),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The running total of a sale being rung up (per-rate tax), with the shop's price mode and
    /// rounding: what `charge` would ask for. Nothing is stored.
    pub fn preview_totals(&self, lines: &[LineItem]) -> Result<crate::tax::TaxBreakdown> {
        let draft = Draft {
            currency: Currency::JPY,
            lines: lines.to_vec(),
            customer: Customer::default(),
            price_mode: self.settings.price_mode,
            rounding: self.settings.rounding,
        };
        draft
            .breakdown()
            .map_err(|e| Error::bad("--item", e.to_string()))
    }

    // ---- charge -------------------------------------------------------------------------------

    /// Validates everything first (nothing is stored on bad input), stores the invoice and the
    /// session-create request, then POSTs it.
    pub async fn charge(&mut self, req: ChargeRequest) -> Result<InvoiceView> {
        let draft = self.validate_charge(&req)?;
        // The shop's defaults where the sale gives none.
        let mut methods = validate_methods(&req.methods)?;
        if methods.is_empty() {
            methods = self.settings.payment_methods.clone();
        }
        let locale = validate_locale(req.locale.as_deref())?.or(self.settings.locale.clone());
        let expires_in = match &req.expires_in {
            Some(v) => parse_expires_in(v)?,
            None => self.settings.expires_in,
        };
        self.client()?;
        if let Err(e) = self.reconcile_after_restore().await {
            self.notice(
"restore_check_failed",format!(
                "could not check KOMOJU's payments after the restore ({e}); the next command tries again"
            ));
        }
        let now = self.now();
        let today = now.with_timezone(&self.settings.tz).date_naive();
        if self.ledger.daily_close(today)?.is_some() {
            return Err(Error::DayClosed(today.to_string()));
        }
        let year = crate::ledger::shop_year(now, self.settings.tz);
        let amount = draft
            .breakdown()
            .map_err(|e| Error::bad("--item", e.to_string()))?
            .total;
        let ledger_id = self.ledger.ledger_id().to_string();
        let (inv, attempt) = self.ledger.create_invoice(
            &draft,
            &methods,
            locale.as_deref(),
            expires_in,
            now,
            year,
            |num, eon| {
                session_body(
                    &draft,
                    amount,
                    num,
                    eon,
                    &ledger_id,
                    1,
                    &methods,
                    locale.as_deref(),
                    expires_in,
                )
            },
        )?;
        self.send_create(&inv, &attempt).await?;
        self.view(inv.id)
    }

    fn validate_charge(&self, req: &ChargeRequest) -> Result<Draft> {
        let currency: Currency = match &req.currency {
            Some(c) => c.parse().map_err(|e: crate::money::UnknownCurrency| {
                Error::bad("--currency", e.to_string())
            })?,
            None => Currency::JPY,
        };
        let lines = match (req.amount, req.lines.is_empty()) {
            (Some(_), false) => {
                return Err(Error::bad(
                    "--amount",
                    "give either --amount or --item, not both",
                ))
            }
            (None, true) => {
                return Err(Error::bad(
                    "--amount",
                    "give --amount N or at least one --item",
                ))
            }
            (Some(a), true) => {
                if a <= 0 {
                    return Err(Error::bad(
                        "--amount",
                        format!("{a} must be a positive whole number of minor units"),
                    ));
                }
                vec![LineItem {
                    name: "お買い上げ".into(),
                    unit_price: a,
                    quantity: 1,
                    tax_rate: req.amount_rate.unwrap_or(TaxRate::Standard),
                }]
            }
            (None, false) => req.lines.clone(),
        };
        let customer = validate_customer(&req.customer)?;
        let draft = Draft {
            currency,
            lines,
            customer,
            price_mode: self.settings.price_mode,
            rounding: self.settings.rounding,
        };
        let b = draft
            .breakdown()
            .map_err(|e| Error::bad("--item", e.to_string()))?;
        if b.total <= 0 {
            return Err(Error::bad("--item", "the total must be more than zero"));
        }
        if b.total > 99_999_999_999 {
            return Err(Error::bad(
                "--item",
                format!("the total {} is too large", b.total),
            ));
        }
        Ok(draft)
    }

    /// POSTs an attempt's stored create request and records the answer. A definitive refusal ends
    /// the attempt (the invoice is cancelled); a lost answer leaves it for `sync`. A refusal because
    /// KOMOJU already knows the order number (a ledger restored from an older backup issued it
    /// again) renumbers the invoice, as long as no customer has seen it, and sends again.
    async fn send_create(&mut self, inv: &InvoiceRecord, attempt: &Attempt) -> Result<()> {
        let client = self.client()?.clone();
        let (mut inv, mut attempt) = (inv.clone(), attempt.clone());
        let mut renumbered = 0;
        loop {
            let r = attempt.request.clone();
            let e = match client.create_session(&r.idempotency_key, &r.body).await {
                Ok(session) => {
                    self.ledger
                        .record_session(attempt.id, &session, inv.expires_in)?;
                    self.ledger.complete_request(r.id, "ok", self.now())?;
                    self.apply_session(inv.id, &session).await?;
                    if renumbered > 0 {
                        self.notice(
"renumbered",format!(
                            "{}: KOMOJU already knew {renumbered} number(s) before it (the ledger was restored from an older backup); this sale took the next free number",
                            inv.number
                        ));
                    }
                    return Ok(());
                }
                Err(e) => e,
            };
            if order_number_taken(&e) && attempt.attempt == 1 && renumbered < MAX_RENUMBER {
                let now = self.now();
                let year = crate::ledger::shop_year(now, self.settings.tz);
                let (draft, amount, methods, locale, expires_in) = self.redraft(&inv)?;
                let ledger_id = self.ledger.ledger_id().to_string();
                let next = self
                    .ledger
                    .renumber_unshown(inv.id, now, year, |num, eon| {
                        session_body(
                            &draft,
                            amount,
                            num,
                            eon,
                            &ledger_id,
                            1,
                            &methods,
                            locale.as_deref(),
                            expires_in,
                        )
                    })?;
                if let Some((i, a)) = next {
                    (inv, attempt) = (i, a);
                    renumbered += 1;
                    continue;
                }
            }
            return match e {
                e @ KomojuError::Api { .. } if !e.is_auth() => {
                    self.create_refused(&inv, r.id, e).await
                }
                e => Err(e.into()),
            };
        }
    }

    /// The draft, amount and options an invoice was charged with (to build a request body again).
    #[allow(clippy::type_complexity)]
    fn redraft(
        &self,
        inv: &InvoiceRecord,
    ) -> Result<(Draft, i64, Vec<String>, Option<String>, u32)> {
        let draft = Draft {
            currency: inv
                .currency
                .parse()
                .map_err(|_| Error::Ledger(LedgerError::Corrupt(inv.currency.clone())))?,
            lines: self.ledger.line_items(inv.id)?,
            customer: inv.customer.clone(),
            price_mode: inv.price_mode.parse().unwrap_or_default(),
            rounding: inv.rounding.parse().unwrap_or_default(),
        };
        Ok((
            draft,
            inv.amount,
            inv.methods.clone(),
            inv.locale.clone(),
            inv.expires_in,
        ))
    }

    /// A definitive refusal of a session create: the request is closed and the attempt ends.
    async fn create_refused(
        &mut self,
        inv: &InvoiceRecord,
        request_id: i64,
        e: KomojuError,
    ) -> Result<()> {
        let now = self.now();
        self.ledger.complete_request(
            request_id,
            &format!("refused: {}", e.code().unwrap_or("")),
            now,
        )?;
        self.ledger.transition(
            inv.id,
            InvoiceStatus::Cancelled,
            MoveKind::Komoju,
            &format!("komoju:create_refused:{}", e.code().unwrap_or("")),
            &MoveFacts::default(),
            now,
        )?;
        Err(e.into())
    }

    // ---- after a restore ----------------------------------------------------------------------

    /// After `reji restore` (see `ledger::restore`), once, when a KOMOJU key is at hand: lists
    /// KOMOJU's payments since the restored ledger's newest invoice, moves the invoice counters past
    /// every number of this ledger KOMOJU knows, and brings back the sales the ledger lacks (made
    /// after the backup). Says what it did in the notices. Without a key it waits for a command
    /// that has one.
    pub async fn reconcile_after_restore(&mut self) -> Result<()> {
        let Some(since) = self
            .ledger
            .meta(crate::ledger::RESTORE_RECONCILE_KEY)?
            .filter(|v| !v.is_empty())
        else {
            return Ok(());
        };
        let Ok(client) = self.client().cloned() else {
            return Ok(());
        };
        let since = crate::komoju::parse_time(&since).unwrap_or_else(|| self.now());
        let prefix = format!("{}-", self.ledger.ledger_id());
        let (mut moved, mut recovered) = (false, Vec::new());
        let mut page = 1;
        loop {
            let list = client
                .list_payments(&crate::komoju::PaymentQuery {
                    page,
                    per_page: crate::komoju::PER_PAGE,
                    // Clocks differ: start a little before the newest invoice.
                    start_time: Some(since - Duration::hours(1)),
                    ..Default::default()
                })
                .await?;
            for p in &list.data {
                let Some((number, attempt)) = p
                    .external_order_num
                    .as_deref()
                    .and_then(|e| e.strip_prefix(&prefix))
                    .and_then(parse_order_number)
                else {
                    continue;
                };
                let (year, seq) = number;
                moved |= self.ledger.counter_at_least(year, seq)?;
                let number = InvoiceNumber::new(year, seq);
                let eon =
                    crate::invoice::external_order_num(self.ledger.ledger_id(), &number, attempt);
                let now = self.now();
                if let Some(id) = self
                    .ledger
                    .import_recovered(&number, attempt, &eon, p, now)?
                {
                    if let Some(sid) = &p.session {
                        if let Ok(session) = client.get_session(sid).await {
                            let a = self.ledger.current_attempt(id)?;
                            self.ledger
                                .record_session(a.id, &session, DEFAULT_EXPIRES_IN)?;
                        }
                    }
                    self.reconcile(id)?;
                    recovered.push(number.to_string());
                }
            }
            if !list.has_more(crate::komoju::PER_PAGE) {
                break;
            }
            page += 1;
        }
        self.ledger
            .set_meta(crate::ledger::RESTORE_RECONCILE_KEY, "")?;
        if !recovered.is_empty() {
            self.notice(
"recovered_after_restore",format!(
                "after the restore, KOMOJU had {} sale(s) the ledger lacked, brought back: {} (one line each at 10 %: check them)",
                recovered.len(),
                recovered.join(", ")
            ));
        } else if moved {
            self.notice(
                "numbers_moved_after_restore",
                "after the restore, invoice numbers continue after the last one KOMOJU knows"
                    .into(),
            );
        }
        Ok(())
    }

    // ---- refresh ------------------------------------------------------------------------------

    /// Refreshes one invoice from KOMOJU (finishing any unanswered POST first) and returns it.
    pub async fn show(&mut self, key: &str) -> Result<InvoiceView> {
        let inv = self.ledger.find_invoice(key)?;
        self.refresh(inv.id).await?;
        self.view(inv.id)
    }

    /// Shows what the ledger holds without asking KOMOJU.
    pub fn show_local(&self, key: &str) -> Result<InvoiceView> {
        let inv = self.ledger.find_invoice(key)?;
        self.view(inv.id)
    }

    /// Refreshes every invoice that is not final, one request (or a few) per invoice. `reji sync`
    /// uses [`crate::tracker::sync`] instead, which leaves invoices waiting at a store or bank to a
    /// change feed; this exhaustive form is what tests compare it with.
    pub async fn sync(&mut self) -> Result<SyncReport> {
        self.client()?;
        let open = self.ledger.open_invoices()?;
        let errors = self.refresh_each(&open).await?;
        self.sync_report(&open, errors)
    }

    /// Refreshes these invoices one by one. A failing invoice is reported and the rest go on; a
    /// key problem (401) stops at once.
    pub async fn refresh_each(&mut self, invoices: &[InvoiceRecord]) -> Result<Vec<SyncError>> {
        let mut errors = Vec::new();
        for inv in invoices {
            match self.refresh(inv.id).await {
                Ok(()) => {}
                Err(e @ Error::Komoju(_)) if e.code() == "komoju_auth" => return Err(e),
                Err(e) => errors.push(SyncError {
                    invoice_number: inv.number.to_string(),
                    code: e.code(),
                    message: e.user_message(),
                }),
            }
        }
        Ok(errors)
    }

    /// The report of a sync over `open` (as they were before it): their views now, how many changed
    /// status, and the errors. Invoices that failed are not listed as refreshed.
    pub fn sync_report(
        &self,
        open: &[InvoiceRecord],
        errors: Vec<SyncError>,
    ) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        for inv in open {
            if errors
                .iter()
                .any(|e| e.invoice_number == inv.number.as_str())
            {
                continue;
            }
            let v = self.view(inv.id)?;
            if v.status != inv.status {
                report.changed += 1;
            }
            report.invoices.push(v);
        }
        report.errors = errors;
        Ok(report)
    }

    pub async fn refresh(&mut self, invoice_id: i64) -> Result<()> {
        let client = self.client()?.clone();
        self.replay_unanswered(invoice_id, &client).await?;
        let attempts = self.ledger.attempts(invoice_id)?;
        let Some(current) = attempts.last().cloned() else {
            return Ok(());
        };
        // Earlier attempts' payments still waiting (a konbini slip from attempt 1) are watched too:
        // money that arrives is never ignored.
        for p in self.ledger.payments(invoice_id)? {
            if matches!(p.status.as_str(), "pending" | "authorized")
                && p.session_id != current.session_id
            {
                let fresh = client.get_payment(&p.id).await?;
                self.ledger
                    .upsert_payment(Some(invoice_id), &fresh, self.now())?;
            }
        }
        if let Some(sid) = &current.session_id {
            let session = client.get_session(sid).await?;
            self.ledger.record_session(
                current.id,
                &session,
                self.ledger.invoice_by_id(invoice_id)?.expires_in,
            )?;
            if let Some(p) = &session.payment {
                // The embedded payment may be abbreviated; the payment itself has refunds etc.
                let full = if matches!(p.status, PaymentStatus::Captured | PaymentStatus::Refunded)
                    || !p.refunds.is_empty()
                {
                    client
                        .get_payment(&p.id)
                        .await
                        .unwrap_or_else(|_| p.clone())
                } else {
                    p.clone()
                };
                self.ledger
                    .upsert_payment(Some(invoice_id), &full, self.now())?;
            }
            self.apply_session(invoice_id, &session).await?;
        } else {
            self.apply_session_less(invoice_id)?;
        }
        Ok(())
    }

    /// Replays stored POSTs that never got an answer, with their original key and body.
    async fn replay_unanswered(&mut self, invoice_id: i64, client: &Client) -> Result<()> {
        for r in self.ledger.unanswered_requests(invoice_id)? {
            // KOMOJU keeps idempotency keys for 24 h; after that a replay could run again.
            if self.now() - r.created_at > Duration::hours(23) {
                self.ledger.complete_request(
                    r.id,
                    "abandoned: idempotency key too old to replay",
                    self.now(),
                )?;
                continue;
            }
            match r.kind.as_str() {
                "create_session" => {
                    let attempt = self
                        .ledger
                        .attempts(invoice_id)?
                        .into_iter()
                        .find(|a| a.request.id == r.id);
                    match client.create_session(&r.idempotency_key, &r.body).await {
                        Ok(s) => {
                            if let Some(a) = attempt {
                                let exp = self.ledger.invoice_by_id(invoice_id)?.expires_in;
                                self.ledger.record_session(a.id, &s, exp)?;
                            }
                            self.ledger.complete_request(r.id, "ok", self.now())?;
                        }
                        Err(e @ KomojuError::Api { .. }) if !e.is_auth() => {
                            self.ledger.complete_request(
                                r.id,
                                &format!("refused: {}", e.code().unwrap_or("")),
                                self.now(),
                            )?;
                            self.ledger.transition(
                                invoice_id,
                                InvoiceStatus::Cancelled,
                                MoveKind::Komoju,
                                "komoju:create_refused",
                                &MoveFacts::default(),
                                self.now(),
                            )?;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                _ => match client.post_raw(&r.path, &r.idempotency_key, &r.body).await {
                    Ok(bytes) => {
                        if let Ok(p) = serde_json::from_slice::<Payment>(&bytes) {
                            self.ledger
                                .upsert_payment(Some(invoice_id), &p, self.now())?;
                        }
                        self.ledger.complete_request(r.id, "ok", self.now())?;
                    }
                    Err(e @ KomojuError::Api { .. }) if !e.is_auth() => {
                        self.ledger.complete_request(
                            r.id,
                            &format!("refused: {}", e.code().unwrap_or("")),
                            self.now(),
                        )?;
                    }
                    Err(e) => return Err(e.into()),
                },
            }
        }
        Ok(())
    }

    /// Derives the status from the latest session and the most telling payment, and applies it.
    async fn apply_session(&mut self, invoice_id: i64, _session: &Session) -> Result<()> {
        self.reconcile(invoice_id)?;
        Ok(())
    }

    /// Derives the invoice's status from what the ledger holds about its current session and its
    /// most telling payment, and applies it through the compare-and-set. Returns the move.
    pub fn reconcile(&mut self, invoice_id: i64) -> Result<Move> {
        let inv = self.ledger.invoice_by_id(invoice_id)?;
        let attempt = self.ledger.current_attempt(invoice_id)?;
        let payments = self.ledger.payments(invoice_id)?;
        let payment = pick_payment(&payments, attempt.session_id.as_deref()).map(record_to_payment);
        let session = stored_session(&attempt);
        let exp = Expectation {
            amount: inv.amount,
            currency: &inv.currency,
            session_deadline: attempt.deadline,
            now: self.now(),
        };
        let Some(to) = derive(session.as_ref(), payment.as_ref(), &exp) else {
            return Ok(Move::Unchanged);
        };
        let cause = match (&payment, &session) {
            (Some(p), _) => format!("komoju:payment:{}:{}", p.id, p.status),
            (None, Some(s)) => format!("komoju:session:{}:{}", s.id, s.status),
            (None, None) => "reji:reconcile".to_string(),
        };
        let facts = MoveFacts {
            paid_at: payment
                .as_ref()
                .filter(|_| to.is_captured())
                .map(|p| p.captured_at.unwrap_or(exp.now)),
            refunded_amount: payment.as_ref().map(|p| p.amount_refunded),
        };
        Ok(self
            .ledger
            .transition(invoice_id, to, MoveKind::Komoju, &cause, &facts, exp.now)?)
    }

    /// Records a session snapshot fetched outside the register (the tracker's fast lane) with its
    /// embedded payment, and reconciles. `None` when the session is not one of ours.
    pub fn apply_session_snapshot(&mut self, session: &Session) -> Result<Option<(i64, Move)>> {
        let Some(invoice_id) = self.ledger.invoice_for(Some(&session.id), None)? else {
            return Ok(None);
        };
        let attempt = self
            .ledger
            .attempts(invoice_id)?
            .into_iter()
            .find(|a| a.session_id.as_deref() == Some(session.id.as_str()));
        if let Some(a) = attempt {
            let exp = self.ledger.invoice_by_id(invoice_id)?.expires_in;
            self.ledger.record_session(a.id, session, exp)?;
        }
        if let Some(p) = &session.payment {
            self.ledger
                .upsert_payment(Some(invoice_id), p, self.now())?;
        }
        Ok(Some((invoice_id, self.reconcile(invoice_id)?)))
    }

    /// Records a payment learnt from a change feed and reconciles its invoice. A payment Reji does
    /// not know (no matching session or order number) is recorded and otherwise ignored.
    pub fn apply_payment(&mut self, p: &Payment) -> Result<Option<(i64, Move)>> {
        let invoice_id = self
            .ledger
            .invoice_for(p.session.as_deref(), p.external_order_num.as_deref())?;
        self.ledger.upsert_payment(invoice_id, p, self.now())?;
        // A feed carries the payment, not its session: a payment that went through (or did and
        // then ended) means KOMOJU completed the session, which the ledger still has as `pending`.
        if let (Some(_), Some(sid)) = (invoice_id, p.session.as_deref()) {
            use PaymentStatus::*;
            if matches!(
                p.status,
                Authorized | Captured | Refunded | Cancelled | Expired
            ) {
                self.ledger.mark_session_completed(sid)?;
            }
        }
        match invoice_id {
            Some(id) => Ok(Some((id, self.reconcile(id)?))),
            None => Ok(None),
        }
    }

    /// A clone of the KOMOJU client (the tracker does its HTTP without holding the register).
    pub fn client_handle(&self) -> Result<Client> {
        self.client().cloned()
    }

    /// The shop's clock.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// An attempt without a session (its create never answered): past its deadline it is expired.
    fn apply_session_less(&mut self, invoice_id: i64) -> Result<()> {
        let inv = self.ledger.invoice_by_id(invoice_id)?;
        let attempt = self.ledger.current_attempt(invoice_id)?;
        let pending = !self.ledger.unanswered_requests(invoice_id)?.is_empty();
        let deadline = attempt.created_at + Duration::seconds(inv.expires_in as i64);
        if !pending && self.now() >= deadline && inv.status == InvoiceStatus::Pending {
            self.ledger.transition(
                invoice_id,
                InvoiceStatus::Expired,
                MoveKind::Komoju,
                "reji:no_session_before_deadline",
                &MoveFacts::default(),
                self.now(),
            )?;
        }
        Ok(())
    }

    // ---- staff actions ------------------------------------------------------------------------

    /// Cancels an unpaid invoice: the open session and any authorized (konbini, bank) payment.
    pub async fn cancel(&mut self, key: &str) -> Result<InvoiceView> {
        use InvoiceStatus::*;
        let inv = self.ledger.find_invoice(key)?;
        let settled = self.refresh_settling(inv.id).await?;
        let inv = self.ledger.invoice_by_id(inv.id)?;
        if inv.status == Cancelled
            && settled
                .iter()
                .any(|r| matches!(r.kind.as_str(), "cancel_session" | "cancel_payment"))
        {
            // The same cancel, repeated after a crash: the first one went through.
            self.notice(
                "settled_earlier",
                format!(
                "{}: the cancel sent before the interruption went through; nothing new was sent",
                inv.number
            ),
            );
            return self.view(inv.id);
        }
        let inv = self.allowed_in(inv, &[Pending, Failed, AwaitingPayment], "cancel")?;
        let client = self.client()?.clone();
        self.cancel_authorized_payments(inv.id, &client).await?;
        let attempt = self.ledger.current_attempt(inv.id)?;
        self.cancel_open_session(&inv, &attempt, &client).await?;
        self.refresh(inv.id).await?;
        let after = self.ledger.invoice_by_id(inv.id)?;
        if after.status != InvoiceStatus::Cancelled
            && !after.status.is_captured()
            && attempt.session_id.is_none()
        {
            // Nothing at KOMOJU to cancel (the create never got through): cancel locally.
            self.ledger.transition(
                inv.id,
                InvoiceStatus::Cancelled,
                MoveKind::Staff,
                "staff:cancel",
                &MoveFacts::default(),
                self.now(),
            )?;
        }
        self.ledger.note(
            inv.id,
            "staff",
            "staff:cancel",
            "cancel requested",
            self.now(),
        )?;
        self.view(inv.id)
    }

    /// Checks that `action` is allowed in the invoice's status.
    fn allowed_in(
        &self,
        inv: InvoiceRecord,
        allowed: &[InvoiceStatus],
        action: &'static str,
    ) -> Result<InvoiceRecord> {
        if !allowed.contains(&inv.status) {
            return Err(Error::NotAllowed {
                invoice: inv.number.to_string(),
                status: inv.status,
                action,
            });
        }
        Ok(inv)
    }

    /// Cancels an attempt's session at KOMOJU while it is still open (request stored first). A refusal
    /// is recorded; the caller re-reads the session to act on what KOMOJU says.
    async fn cancel_open_session(
        &mut self,
        inv: &InvoiceRecord,
        attempt: &Attempt,
        client: &Client,
    ) -> Result<()> {
        let (Some(sid), Some("pending")) = (&attempt.session_id, attempt.session_status.as_deref())
        else {
            return Ok(());
        };
        let path = format!("/sessions/{sid}/cancel");
        let r = self
            .ledger
            .store_request(inv.id, "cancel_session", &path, "{}", self.now())?;
        match client.cancel_session(sid, &r.idempotency_key).await {
            Ok(s) => {
                self.ledger.record_session(attempt.id, &s, inv.expires_in)?;
                self.ledger.complete_request(r.id, "ok", self.now())?;
            }
            Err(e @ KomojuError::Api { .. }) if !e.is_auth() => {
                let outcome = format!("refused: {}", e.code().unwrap_or(""));
                self.ledger.complete_request(r.id, &outcome, self.now())?;
            }
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    async fn cancel_authorized_payments(&mut self, invoice_id: i64, client: &Client) -> Result<()> {
        for p in self.ledger.payments(invoice_id)? {
            if matches!(p.status.as_str(), "authorized" | "pending") {
                let path = format!("/payments/{}/cancel", p.id);
                let r = self.ledger.store_request(
                    invoice_id,
                    "cancel_payment",
                    &path,
                    "{}",
                    self.now(),
                )?;
                match client.cancel_payment(&p.id, &r.idempotency_key).await {
                    Ok(fresh) => {
                        self.ledger
                            .upsert_payment(Some(invoice_id), &fresh, self.now())?;
                        self.ledger.complete_request(r.id, "ok", self.now())?;
                    }
                    Err(e @ KomojuError::Api { .. }) if !e.is_auth() => {
                        self.ledger.complete_request(
                            r.id,
                            &format!("refused: {}", e.code().unwrap_or("")),
                            self.now(),
                        )?;
                        let fresh = client.get_payment(&p.id).await?;
                        self.ledger
                            .upsert_payment(Some(invoice_id), &fresh, self.now())?;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }

    /// Refunds a paid invoice (all that is left, or `amount`). Konbini, bank transfer and Pay-easy
    /// cannot be refunded to the payer: that needs a refund request with the customer's bank account.
    pub async fn refund(
        &mut self,
        key: &str,
        amount: Option<i64>,
        bank: &BankAccount,
    ) -> Result<InvoiceView> {
        let inv = self.ledger.find_invoice(key)?;
        if let Some(a) = amount {
            if a <= 0 {
                return Err(Error::bad(
                    "--amount",
                    format!("{a} must be a positive whole number"),
                ));
            }
        }
        // A refund (or refund request) stored by an earlier run that never saw its answer is replayed
        // with its own key first, and counts against what is asked now: a repeat after a crash must
        // not send a second refund.
        let settled: i64 = self
            .refresh_settling(inv.id)
            .await?
            .iter()
            .filter(|r| matches!(r.kind.as_str(), "refund" | "refund_request"))
            .filter_map(|r| serde_json::from_str::<Value>(&r.body).ok()?["amount"].as_i64())
            .sum();
        let inv = self.ledger.invoice_by_id(inv.id)?;
        let settled_notice = |number: &InvoiceNumber, sent: i64| {
            format!(
                "{number}: a refund of {} sent before the interruption went through{}",
                Money::jpy(settled),
                if sent > 0 {
                    format!("; {} more was sent now", Money::jpy(sent))
                } else {
                    "; nothing new was sent".into()
                }
            )
        };
        let refundable_now = self
            .ledger
            .payments(inv.id)?
            .iter()
            .filter(|p| p.status == "captured")
            .map(|p| p.refundable())
            .max()
            .unwrap_or(0);
        let satisfied = match amount {
            Some(a) => a <= settled,
            // "All that is left", and the earlier run's refund left nothing.
            None => !inv.status.can_refund() || refundable_now <= 0,
        };
        if settled > 0 && satisfied {
            let n = inv.number.clone();
            self.notice("settled_earlier", settled_notice(&n, 0));
            return self.view(inv.id);
        }
        if !inv.status.can_refund() {
            return Err(Error::NotAllowed {
                invoice: inv.number.to_string(),
                status: inv.status,
                action: "refund",
            });
        }
        let payments = self.ledger.payments(inv.id)?;
        let p = payments
            .iter()
            .find(|p| p.status == "captured")
            .ok_or(Error::NotAllowed {
                invoice: inv.number.to_string(),
                status: inv.status,
                action: "refund",
            })?;
        let left = p.refundable();
        if left <= 0 {
            return Err(Error::NotAllowed {
                invoice: inv.number.to_string(),
                status: inv.status,
                action: "refund (nothing left to refund)",
            });
        }
        let amount = amount.map(|a| a - settled).unwrap_or(left);
        if amount > left {
            return Err(Error::bad(
                "--amount",
                format!("{amount} is more than the refundable {left}"),
            ));
        }
        if settled > 0 {
            let n = inv.number.clone();
            self.notice("settled_earlier", settled_notice(&n, amount));
        }
        let pays_later = p
            .payment_type
            .as_deref()
            .map(PaymentType::from_wire)
            .is_some_and(|t| t.pays_later());
        let client = self.client()?.clone();
        if pays_later {
            let body = refund_request_body(amount, bank)?;
            let path = format!("/payments/{}/refund_request", p.id);
            let r =
                self.ledger
                    .store_request(inv.id, "refund_request", &path, &body, self.now())?;
            client
                .refund_request(&p.id, &r.idempotency_key, &body)
                .await?;
            self.ledger.complete_request(r.id, "ok", self.now())?;
            self.ledger.note(
                inv.id,
                "refund_request",
                "staff:refund_request",
                &format!("amount {amount}"),
                self.now(),
            )?;
        } else {
            if !bank.is_empty() {
                return Err(Error::bad("--bank-name", "bank details are only for konbini, bank transfer and Pay-easy payments; this one is refunded to the original method"));
            }
            let body = json!({ "amount": amount }).to_string();
            let path = format!("/payments/{}/refund", p.id);
            let r = self
                .ledger
                .store_request(inv.id, "refund", &path, &body, self.now())?;
            let fresh = client
                .refund_payment(&p.id, &r.idempotency_key, &body)
                .await?;
            self.ledger
                .upsert_payment(Some(inv.id), &fresh, self.now())?;
            self.ledger.complete_request(r.id, "ok", self.now())?;
        }
        let fresh = client.get_payment(&p.id).await?;
        self.ledger
            .upsert_payment(Some(inv.id), &fresh, self.now())?;
        self.refresh(inv.id).await?;
        self.view(inv.id)
    }

    /// A new session (attempt n+1, new order number) for a cancelled, expired or failed invoice. An
    /// earlier attempt's still-authorized payment and still-open session are cancelled first.
    pub async fn retry(&mut self, key: &str) -> Result<InvoiceView> {
        use InvoiceStatus::*;
        let inv = self.ledger.find_invoice(key)?;
        let settled = self.refresh_settling(inv.id).await?;
        let inv = self.ledger.invoice_by_id(inv.id)?;
        let attempts = self.ledger.attempts(inv.id)?;
        if attempts.len() > 1
            && settled.iter().any(|r| {
                r.kind == "create_session" && attempts.last().is_some_and(|a| a.request.id == r.id)
            })
            && !matches!(inv.status, Cancelled | Expired | Failed)
        {
            // The same retry, repeated after a crash: its new payment page was made then.
            self.notice(
"settled_earlier",format!(
                "{}: the retry sent before the interruption went through (attempt {}); no other payment page was made",
                inv.number,
                attempts.len()
            ));
            return self.view(inv.id);
        }
        let inv = self.allowed_in(inv, &[Cancelled, Expired, Failed], "retry")?;
        let client = self.client()?.clone();
        self.cancel_authorized_payments(inv.id, &client).await?;
        let old = self.ledger.current_attempt(inv.id)?;
        if !old.session_expired {
            self.cancel_open_session(&inv, &old, &client).await?;
        }
        // A payment may have been captured meanwhile: look once more before opening a new session.
        self.refresh(inv.id).await?;
        let draft = Draft {
            currency: inv
                .currency
                .parse()
                .map_err(|_| Error::Ledger(LedgerError::Corrupt(inv.currency.clone())))?,
            lines: self.ledger.line_items(inv.id)?,
            customer: inv.customer.clone(),
            price_mode: inv.price_mode.parse().unwrap_or_default(),
            rounding: inv.rounding.parse().unwrap_or_default(),
        };
        let ledger_id = self.ledger.ledger_id().to_string();
        let (amount, methods, locale, expires_in) = (
            inv.amount,
            inv.methods.clone(),
            inv.locale.clone(),
            inv.expires_in,
        );
        let now = self.now();
        let next = self.ledger.new_attempt(inv.id, now, |num, eon| {
            let n = eon
                .rsplit('-')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(2);
            session_body(
                &draft,
                amount,
                num,
                eon,
                &ledger_id,
                n,
                &methods,
                locale.as_deref(),
                expires_in,
            )
        })?;
        let Some(attempt) = next else {
            let inv = self.ledger.invoice_by_id(inv.id)?;
            return Err(Error::NotAllowed {
                invoice: inv.number.to_string(),
                status: inv.status,
                action: "retry",
            });
        };
        let inv = self.ledger.invoice_by_id(inv.id)?;
        self.send_create(&inv, &attempt).await?;
        self.view(inv.id)
    }

    // ---- daily close --------------------------------------------------------------------------

    /// Closes a shop-local day (default: today): stores the 日計表 and locks that day's records.
    /// Closing a closed day returns the stored close. A backup of the ledger is taken after a close.
    pub fn close_day(&mut self, date: Option<&str>) -> Result<(crate::ledger::DailyClose, bool)> {
        let now = self.now();
        let today = now.with_timezone(&self.settings.tz).date_naive();
        let day = match date {
            Some(d) => parse_day("--date", d)?,
            None => today,
        };
        if day > today {
            return Err(Error::bad(
                "--date",
                format!("{day} is in the future; a day is closed once it is over or at its end"),
            ));
        }
        let (close, new) = self.ledger.close_day(day, now)?;
        if new && self.ledger.path().is_some() {
            if let Err(e) = self.ledger.backup_rotated(30, now) {
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "reji: the day is closed, but the backup after it failed: {e}"
                );
            }
        }
        Ok((close, new))
    }

    /// A shop-local day given as `YYYY-MM-DD` (`field` names it in errors), or today.
    fn day(&self, date: Option<&str>, field: &str) -> Result<NaiveDate> {
        match date.map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => parse_day(field, d),
            None => Ok(self.now().with_timezone(&self.settings.tz).date_naive()),
        }
    }

    /// The "today" panel of a day (default today, shop-local): its figures so far (or as closed),
    /// sales by hour, and when the day was closed.
    pub fn today(&self, date: Option<&str>) -> Result<crate::display::TodayView> {
        let day = self.day(date, "date")?;
        let closed = self.ledger.daily_close(day)?;
        let summary = match &closed {
            Some(c) => c.clone(),
            None => self.ledger.day_summary(day, self.now())?,
        };
        let paid = self.ledger.paid_during(day)?;
        let mut v = crate::display::TodayView::new(summary, &paid, self.settings.tz);
        v.closed_at = closed.map(|c| c.closed_at);
        Ok(v)
    }

    /// A day's stored close (日計表), for its PDF or CSV: not found while the day is open.
    pub fn stored_close(&self, date: Option<&str>) -> Result<crate::ledger::DailyClose> {
        let day = self.day(date, "date")?;
        self.ledger
            .daily_close(day)?
            .ok_or_else(|| Error::NotFound(format!("a close of {day} (the day is not closed yet)")))
    }

    // ---- receipts -----------------------------------------------------------------------------

    /// The receipt of a paid invoice (適格簡易請求書), or with `refund = Some(n)` the return receipt
    /// (適格返還請求書) of its n-th refund. Issuing is logged; a second issue is marked 再発行.
    /// Works from the ledger alone (no KOMOJU call): `show` or `sync` first for the latest state.
    pub fn receipt(&mut self, key: &str, refund: Option<usize>) -> Result<crate::receipt::Receipt> {
        use crate::receipt::Receipt;
        let inv = self.ledger.find_invoice(key)?;
        let sale = self.sale_record(&inv)?;
        let detail = match refund {
            None => "sale".to_string(),
            Some(n) => format!("return {n}"),
        };
        let reissue = sale
            .events
            .iter()
            .any(|e| e.kind == "receipt" && e.detail.as_deref() == Some(detail.as_str()));
        let shop = self.settings.shop_details();
        let receipt = match refund {
            None => Receipt::sale(&sale.facts, &shop, reissue),
            Some(n) => {
                let Some((_, r)) = sale.refunds.get(n.wrapping_sub(1)) else {
                    return Err(if sale.refunds.is_empty() {
                        Error::NotAllowed {
                            invoice: inv.number.to_string(),
                            status: inv.status,
                            action: "issue a return receipt for (it has no refund)",
                        }
                    } else {
                        Error::bad(
                            "--refund",
                            format!(
                                "invoice {} has {} refund(s); --refund must be 1 to {}",
                                inv.number,
                                sale.refunds.len(),
                                sale.refunds.len()
                            ),
                        )
                    });
                };
                Receipt::refund(&sale.facts, &shop, r, reissue)
            }
        };
        let receipt = Receipt {
            refund_count: sale.refunds.len(),
            ..receipt
        };
        let now = self.now();
        self.ledger.note(inv.id, "receipt", "staff", &detail, now)?;
        Ok(receipt)
    }

    /// Corrects the customer on an invoice (a typo in a name, a missing e-mail). `None` leaves a
    /// field alone, `Some("")` clears it. Each change is a new event keeping the old and the new
    /// value (訂正の履歴, hash-chained); amounts, dates and numbers are never corrected this way.
    pub fn correct_customer(
        &mut self,
        key: &str,
        changes: &Customer,
        reason: Option<&str>,
    ) -> Result<InvoiceView> {
        let inv = self.ledger.find_invoice(key)?;
        let blank = |v: &Option<String>| v.as_deref().map(str::trim) == Some("");
        let keep = |v: &Option<String>| if blank(v) { None } else { v.clone() };
        let checked = validate_customer(&Customer {
            name: keep(&changes.name),
            name_kana: keep(&changes.name_kana),
            email: keep(&changes.email),
            phone: keep(&changes.phone),
        })?;
        let pick = |asked: &Option<String>, valid: Option<String>| -> Option<Option<String>> {
            asked
                .as_ref()
                .map(|_| if blank(asked) { None } else { valid })
        };
        let wanted = [
            ("customer_name", pick(&changes.name, checked.name)),
            (
                "customer_name_kana",
                pick(&changes.name_kana, checked.name_kana),
            ),
            ("customer_email", pick(&changes.email, checked.email)),
            ("customer_phone", pick(&changes.phone, checked.phone)),
        ];
        if wanted.iter().all(|(_, v)| v.is_none()) {
            return Err(Error::bad(
                "correct",
                "nothing to correct: give --name, --name-kana, --email or --phone",
            ));
        }
        let reason = clean_text("--reason", reason, 200)?;
        let now = self.now();
        self.ledger
            .correct_customer(inv.id, &wanted, reason.as_deref(), now)?;
        self.view(inv.id)
    }

    /// Checks that KOMOJU answers with the key: see [`check_connection`].
    pub async fn test_connection(&self) -> Result<ConnectionCheck> {
        let client = self.client_handle()?;
        check_connection(&client).await
    }

    /// A captured sale as receipts and the journal see it: its figures as charged, its refunds (in
    /// order, with when they happened) and its event log.
    fn sale_record(&self, inv: &InvoiceRecord) -> Result<SaleRecord> {
        use crate::receipt::{RefundFacts, SaleFacts};
        let (Some(paid_at), true) = (inv.paid_at, inv.status.has_receipt()) else {
            return Err(Error::NotAllowed {
                invoice: inv.number.to_string(),
                status: inv.status,
                action: "issue a receipt for",
            });
        };
        let view = self.view(inv.id)?;
        let tz = self.settings.tz;
        let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
        let facts = SaleFacts {
            invoice_number: inv.number.to_string(),
            transaction_date: local(paid_at),
            currency: inv.currency.clone(),
            price_mode: inv.price_mode.parse().unwrap_or_default(),
            items: view.items,
            gross_10: inv.gross_10,
            gross_8: inv.gross_8,
            gross_0: inv.gross_0,
            tax_10: inv.tax_10,
            tax_8: inv.tax_8,
            total: inv.amount,
            payment_method: view.payment_method,
        };
        let events = self.ledger.events(inv.id)?;
        let refunds = events
            .iter()
            .filter(|e| e.kind == "refund")
            .filter_map(|e| {
                let (a, b) = e.detail.as_deref()?.split_once("->")?;
                Some((e.at, a.parse::<i64>().ok()?, b.parse::<i64>().ok()?))
            })
            .enumerate()
            .map(|(i, (at, before, after))| {
                let r = RefundFacts {
                    number: i + 1,
                    date: local(at),
                    before,
                    after,
                };
                (at, r)
            })
            .collect();
        Ok(SaleRecord {
            paid_at,
            external_order_num: view.external_order_num,
            facts,
            refunds,
            events,
        })
    }

    /// The journal (仕訳) of the sales paid and the refunds made in the query's date range, in
    /// date order, in the shape of [`crate::export::journal`].
    pub fn journal(&self, q: &ListQuery) -> Result<Vec<crate::export::journal::JournalLine>> {
        use crate::export::journal::{refund_lines, sale_lines};
        let f = self.filter(q)?;
        let inside =
            |t: DateTime<Utc>| f.from.is_none_or(|a| t >= a) && f.until.is_none_or(|u| t < u);
        let accounts = self.settings.journal_accounts();
        let tz = self.settings.tz;
        let mut dated = Vec::new();
        for id in self.ledger.journal_invoices(f.from, f.until)? {
            let inv = self.ledger.invoice_by_id(id)?;
            let sale = match self.sale_record(&inv) {
                Ok(s) => s,
                // needs_review and unpaid invoices have no journal entry until a person decides.
                Err(Error::NotAllowed { .. }) => continue,
                Err(e) => return Err(e),
            };
            let note = sale
                .external_order_num
                .clone()
                .unwrap_or_else(|| inv.number.to_string());
            if inside(sale.paid_at) {
                let d = sale.paid_at.with_timezone(&tz).date_naive();
                for l in sale_lines(&sale.facts, d, &accounts, &note) {
                    dated.push((sale.paid_at, l));
                }
            }
            for (at, r) in &sale.refunds {
                if inside(*at) {
                    let d = at.with_timezone(&tz).date_naive();
                    for l in refund_lines(&sale.facts, r, d, &accounts, &note) {
                        dated.push((*at, l));
                    }
                }
            }
        }
        dated.sort_by_key(|(at, _)| *at);
        Ok(dated.into_iter().map(|(_, l)| l).collect())
    }

    // ---- history ------------------------------------------------------------------------------

    pub fn list(&self, q: &ListQuery) -> Result<Vec<InvoiceView>> {
        let f = self.filter(q)?;
        self.ledger
            .list(&f)?
            .iter()
            .map(|i| self.view(i.id))
            .collect()
    }

    /// Turns the CLI's / UI's query (shop-local dates) into a ledger filter, validating it.
    pub fn filter(&self, q: &ListQuery) -> Result<Filter> {
        let day = |field: &str, s: &str| -> Result<DateTime<Utc>> {
            let d = parse_day(field, s)?;
            let local = self
                .settings
                .tz
                .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
                .earliest();
            local.map(|t| t.to_utc()).ok_or_else(|| {
                Error::bad(
                    field,
                    format!("{s:?} does not exist in {}", self.settings.tz),
                )
            })
        };
        let from = q.from.as_deref().map(|s| day("--from", s)).transpose()?;
        let until =
            q.to.as_deref()
                .map(|s| day("--to", s).map(|t| t + Duration::days(1)))
                .transpose()?;
        if let (Some(f), Some(u)) = (from, until) {
            if f >= u {
                return Err(Error::bad("--to", "is before --from"));
            }
        }
        let status = q
            .status
            .as_deref()
            .map(|s| {
                s.parse::<InvoiceStatus>()
                    .map_err(|e| Error::bad("--status", e))
            })
            .transpose()?;
        let method = match q.method.as_deref() {
            Some(m) => Some(
                validate_methods(&[m.to_string()])
                    .map_err(|e| match e {
                        Error::BadInput { message, .. } => Error::bad("--method", message),
                        other => other,
                    })?
                    .remove(0),
            ),
            None => None,
        };
        for (field, v) in [("--min", q.min), ("--max", q.max)] {
            if v.is_some_and(|v| v < 0) {
                return Err(Error::bad(field, "must be a whole number ≥ 0"));
            }
        }
        if let (Some(a), Some(b)) = (q.min, q.max) {
            if a > b {
                return Err(Error::bad("--max", format!("{b} is less than --min {a}")));
            }
        }
        if q.limit == Some(0) {
            return Err(Error::bad("--limit", "must be at least 1"));
        }
        Ok(Filter {
            from,
            until,
            status,
            method,
            min: q.min,
            max: q.max,
            text: q.text.clone(),
            limit: q.limit,
            without_index: false,
        })
    }

    /// The view of one invoice from the ledger.
    pub fn view(&self, invoice_id: i64) -> Result<InvoiceView> {
        let inv = self.ledger.invoice_by_id(invoice_id)?;
        let attempts = self.ledger.attempts(invoice_id)?;
        let attempt = attempts.last();
        let payments = self.ledger.payments(invoice_id)?;
        let p = pick_payment(&payments, attempt.and_then(|a| a.session_id.as_deref()));
        let tz = self.settings.tz;
        let fmt = |t: DateTime<Utc>| {
            t.with_timezone(&tz)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
        };
        Ok(InvoiceView {
            invoice_number: inv.number.to_string(),
            session_id: attempt.and_then(|a| a.session_id.clone()),
            session_url: attempt.and_then(|a| a.session_url.clone()),
            status: inv.status,
            session_status: attempt.and_then(|a| a.session_status.clone()),
            payment_status: p.map(|p| p.status.clone()),
            payment_method: p.and_then(|p| p.payment_type.clone()),
            amount: inv.amount,
            currency: inv.currency.clone(),
            created_at: fmt(inv.created_at),
            paid_at: inv.paid_at.map(fmt),
            payment_details: p.and_then(|p| p.details.clone()),
            payment_id: p.map(|p| p.id.clone()),
            external_order_num: attempt.map(|a| a.external_order_num.clone()),
            attempt: attempt.map_or(0, |a| a.attempt),
            expires_at: attempt.and_then(|a| a.deadline).map(fmt),
            payment_deadline: p.and_then(|p| p.payment_deadline).map(fmt),
            tax_10: inv.tax_10,
            tax_8: inv.tax_8,
            refunded_amount: inv.refunded_amount,
            payment_method_fee: p.map_or(0, |p| p.fee),
            price_mode: inv.price_mode.clone(),
            customer: inv.customer.clone(),
            items: self.ledger.line_items(invoice_id)?,
            refund_requests: p.map(|p| p.refund_requests.clone()).unwrap_or_default(),
            refundable: p
                .filter(|_| inv.status.can_refund())
                .map_or(0, |p| p.refundable()),
            unanswered_requests: self.ledger.unanswered_requests(invoice_id)?.len(),
        })
    }

    pub fn events(&self, key: &str) -> Result<Vec<crate::ledger::EventRecord>> {
        let inv = self.ledger.find_invoice(key)?;
        Ok(self.ledger.events(inv.id)?)
    }

    /// Prepares an export that runs on a connection of its own ([`ExportJob::run`]), so a long
    /// export does not hold the register (the tracker and the other screens go on). The filter is
    /// checked now; the total is counted for the progress bar.
    pub fn export_job(
        &self,
        q: &ListQuery,
        opts: &crate::export::ExportOptions,
    ) -> Result<ExportJob> {
        let filter = self.filter(q)?;
        let ledger = self.ledger.path().map(|p| p.to_path_buf()).ok_or_else(|| {
            Error::Ledger(LedgerError::Corrupt(
                "an in-memory ledger cannot be exported in the background".into(),
            ))
        })?;
        let total = self.ledger.count_matching(&filter)?;
        Ok(ExportJob {
            ledger,
            filter,
            opts: *opts,
            total,
        })
    }

    /// Writes the CSV export of the filtered invoices to `out`.
    pub fn export<W: std::io::Write>(
        &self,
        q: &ListQuery,
        opts: &crate::export::ExportOptions,
        out: W,
    ) -> Result<crate::export::ExportSummary> {
        let f = self.filter(q)?;
        crate::export::export_ledger(&self.ledger, &f, opts, out).map_err(Error::from)
    }
}

/// An export ready to run away from the register (see [`Register::export_job`]).
#[derive(Debug)]
pub struct ExportJob {
    ledger: std::path::PathBuf,
    filter: Filter,
    opts: crate::export::ExportOptions,
    /// Invoices the export will write.
    pub total: u64,
}

impl ExportJob {
    /// Writes the CSV to `path` atomically (an existing file is replaced only when the whole export
    /// succeeded), calling `progress(rows_written, total)` as it goes. Blocking: run it on a thread
    /// of its own. Returns the rows written.
    pub fn run(self, path: &std::path::Path, mut progress: impl FnMut(u64, u64)) -> Result<u64> {
        let ledger = Ledger::open(&self.ledger)?;
        let total = self.total;
        let mut n = 0;
        crate::export::write_atomically(path, |w| {
            n = crate::export::export_ledger_reporting(
                &ledger,
                &self.filter,
                &self.opts,
                w,
                &mut |done| progress(done, total.max(done)),
            )?
            .rows;
            Ok::<_, Error>(())
        })?;
        Ok(n)
    }
}

/// Checks that KOMOJU answers with the key (one `GET /payments?per_page=1`): `Ok` with the time it
/// took, or the error a charge would meet (a 401 is a key problem, `network` a connection one). Takes
/// the client alone, so a caller can let go of the register while KOMOJU answers.
pub async fn check_connection(client: &Client) -> Result<ConnectionCheck> {
    let started = std::time::Instant::now();
    client
        .list_payments(&crate::komoju::PaymentQuery {
            page: 1,
            per_page: 1,
            ..Default::default()
        })
        .await?;
    Ok(ConnectionCheck {
        ok: true,
        mode: if client.is_live() { "live" } else { "test" },
        millis: started.elapsed().as_millis() as u64,
    })
}

/// What [`check_connection`] found.
#[derive(Clone, Debug, Serialize)]
pub struct ConnectionCheck {
    pub ok: bool,
    /// `test` (sk_test_) or `live` (sk_live_: real money).
    pub mode: &'static str,
    /// How long KOMOJU took to answer.
    pub millis: u64,
}

/// A captured sale with what receipts and the journal need (see `Register::sale_record`).
struct SaleRecord {
    paid_at: DateTime<Utc>,
    external_order_num: Option<String>,
    facts: crate::receipt::SaleFacts,
    refunds: Vec<(DateTime<Utc>, crate::receipt::RefundFacts)>,
    events: Vec<crate::ledger::EventRecord>,
}

#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub status: Option<String>,
    pub method: Option<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub text: Option<String>,
    pub limit: Option<u32>,
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
    pub code: &'static str,
    pub message: String,
}

/// The payment that decides the invoice: money first (captured / refunded on any attempt), then the
/// current session's payment, then one still waiting at a store or bank on any attempt, then one
/// whose session is unknown. An earlier attempt's cancelled, expired or failed payment never
/// decides: after `retry` the invoice follows its new session.
fn pick_payment<'a>(
    payments: &'a [PaymentRecord],
    current_session: Option<&str>,
) -> Option<&'a PaymentRecord> {
    payments
        .iter()
        .find(|p| matches!(p.status.as_str(), "captured" | "refunded"))
        .or_else(|| {
            payments
                .iter()
                .find(|p| current_session.is_some() && p.session_id.as_deref() == current_session)
        })
        .or_else(|| payments.iter().find(|p| p.status == "authorized"))
        .or_else(|| payments.iter().find(|p| p.session_id.is_none()))
}

fn record_to_payment(p: &PaymentRecord) -> Payment {
    Payment {
        id: p.id.clone(),
        status: PaymentStatus::from_wire(&p.status),
        amount: p.amount,
        tax: None,
        total: None,
        currency: p.currency.clone(),
        payment_method_fee: p.fee,
        payment_details: p.details.clone(),
        payment_deadline: p.payment_deadline,
        external_order_num: None,
        session: p.session_id.clone(),
        created_at: p.created_at,
        captured_at: p.captured_at,
        amount_refunded: p.refunded(),
        refunds: vec![],
        refund_requests: vec![],
    }
}

/// The current attempt's session as last recorded (status and expiry), for derivation.
fn stored_session(a: &Attempt) -> Option<Session> {
    let id = a.session_id.as_ref()?;
    serde_json::from_value(json!({
        "id": id,
        "status": a.session_status.as_deref().unwrap_or("pending"),
        "expired": a.session_expired,
        "created_at": a.session_created_at.map(crate::ledger::ts),
    }))
    .ok()
}

/// The session-create body (stored verbatim before it is sent). Reji sends the tax-inclusive total
/// as `amount` and no `tax`.
/// `YYYY-NNNNNN` or `YYYY-NNNNNN-K` (attempt K) → ((year, seq), attempt).
fn parse_order_number(s: &str) -> Option<((i32, u32), u32)> {
    let mut parts = s.split('-');
    let (y, n) = (parts.next()?, parts.next()?);
    let attempt = match parts.next() {
        Some(k) => k.parse().ok()?,
        None => 1,
    };
    if parts.next().is_some() || y.len() != 4 || n.len() < 6 {
        return None;
    }
    Some(((y.parse().ok()?, n.parse().ok()?), attempt))
}

/// How many taken order numbers one charge skips before giving up (each costs one request).
const MAX_RENUMBER: u32 = 500;

/// KOMOJU's refusal of a session whose `external_order_num` another session already has.
fn order_number_taken(e: &KomojuError) -> bool {
    let KomojuError::Api {
        status,
        param,
        message,
        ..
    } = e
    else {
        return false;
    };
    let about_order_number = param
        .as_deref()
        .is_some_and(|p| p.contains("external_order_num"))
        || message.contains("external_order_num");
    (400..500).contains(status)
        && *status != 401
        && about_order_number
        && (message.contains("taken") || message.contains("already"))
}

#[allow(clippy::too_many_arguments)]
fn session_body(
    draft: &Draft,
    amount: i64,
    number: &InvoiceNumber,
    eon: &str,
    ledger_id: &str,
    attempt: u32,
    methods: &[String],
    locale: Option<&str>,
    expires_in: u32,
) -> String {
    let mut payment_data = json!({ "external_order_num": eon, "capture": "auto" });
    if let Some(n) = &draft.customer.name {
        payment_data["name"] = json!(n);
    }
    if let Some(k) = &draft.customer.name_kana {
        payment_data["name_kana"] = json!(k);
    }
    let mut body = json!({
        "mode": "payment",
        "amount": amount,
        "currency": draft.currency.code(),
        "expires_in_seconds": expires_in,
        "payment_data": payment_data,
        "metadata": { "invoice_number": number.as_str(), "ledger_id": ledger_id, "attempt": attempt.to_string() },
    });
    // Line items only when they add up to the amount (tax-inclusive prices).
    if draft.price_mode == PriceMode::Inclusive {
        body["line_items"] = Value::Array(
            draft.lines.iter().map(|l| json!({ "description": l.name, "amount": l.unit_price, "quantity": l.quantity })).collect(),
        );
    }
    if let Some(l) = locale {
        body["default_locale"] = json!(l);
    }
    if let Some(e) = &draft.customer.email {
        body["email"] = json!(e);
    }
    if !methods.is_empty() {
        body["payment_types"] = json!(methods);
    }
    body.to_string()
}

fn refund_request_body(amount: i64, b: &BankAccount) -> Result<String> {
    let mut missing = Vec::new();
    for (flag, v) in [
        ("--bank-name", &b.bank_name),
        ("--branch-number", &b.branch_number),
        ("--account-type", &b.account_type),
        ("--account-number", &b.account_number),
        ("--holder-kana", &b.holder_kana),
    ] {
        if v.as_deref().is_none_or(|s| s.trim().is_empty()) {
            missing.push(flag);
        }
    }
    if !missing.is_empty() {
        return Err(Error::bad(
            missing[0],
            format!(
                "konbini, bank transfer and Pay-easy payments are refunded by a refund request to the customer's bank account: give {}",
                missing.join(", ")
            ),
        ));
    }
    let branch = b.branch_number.as_deref().unwrap_or("").trim().to_string();
    if branch.len() != 3 || !branch.bytes().all(|c| c.is_ascii_digit()) {
        return Err(Error::bad(
            "--branch-number",
            format!("{branch:?} must be 3 digits"),
        ));
    }
    let account = b.account_number.as_deref().unwrap_or("").trim().to_string();
    if account.len() != 7 || !account.bytes().all(|c| c.is_ascii_digit()) {
        return Err(Error::bad(
            "--account-number",
            format!("{account:?} must be 7 digits"),
        ));
    }
    let account_type = match b.account_type.as_deref().unwrap_or("").trim() {
        "futsu" | "普通" => "普通",
        "toza" | "当座" => "当座",
        other => {
            return Err(Error::bad(
                "--account-type",
                format!("{other:?} must be futsu (普通) or toza (当座)"),
            ))
        }
    };
    let holder = kana::to_bank_kana(b.holder_kana.as_deref().unwrap_or(""))
        .map_err(|e| Error::bad("--holder-kana", e))?;
    let mut body = json!({
        "amount": amount,
        "customer_name": holder,
        "bank_name": b.bank_name.as_deref().unwrap_or("").trim(),
        "branch_number": branch,
        "account_type": account_type,
        // KOMOJU's SDK types it as an integer; a leading zero would be lost, so such numbers go as text.
        "account_number": if account.starts_with('0') { json!(account) } else { json!(account.parse::<u64>().unwrap_or(0)) },
        "include_payment_method_fee": false,
    });
    if let Some(code) = b
        .bank_code
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if code.len() != 4 || !code.bytes().all(|c| c.is_ascii_digit()) {
            return Err(Error::bad(
                "--bank-code",
                format!("{code:?} must be 4 digits (Zengin code)"),
            ));
        }
        body["bank_code"] = json!(code);
    }
    if let Some(n) = b
        .branch_name
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        body["branch_name"] = json!(n);
    }
    Ok(body.to_string())
}

fn validate_methods(methods: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for m in methods
        .iter()
        .flat_map(|m| m.split(','))
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        if !PaymentType::KNOWN.contains(&m) {
            return Err(Error::bad(
                "--methods",
                format!(
                    "{m:?} is not a KOMOJU payment type; known: {}",
                    PaymentType::KNOWN.join(", ")
                ),
            ));
        }
        if !out.iter().any(|o| o == m) {
            out.push(m.to_string());
        }
    }
    Ok(out)
}

fn validate_locale(l: Option<&str>) -> Result<Option<String>> {
    match l.map(str::trim) {
        None => Ok(None),
        Some(l @ ("ja" | "en" | "ko")) => Ok(Some(l.to_string())),
        Some(other) => Err(Error::bad(
            "--locale",
            format!("{other:?} must be ja, en or ko"),
        )),
    }
}

fn clean_text(field: &str, v: Option<&str>, max: usize) -> Result<Option<String>> {
    let Some(v) = v.map(str::trim) else {
        return Ok(None);
    };
    if v.is_empty() {
        return Err(Error::bad(field, "is empty"));
    }
    if v.chars().count() > max {
        return Err(Error::bad(
            field,
            format!("is longer than {max} characters"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(Error::bad(field, "contains a control character"));
    }
    Ok(Some(v.to_string()))
}

/// The customer fields as entered (charge, correction): trimmed, checked, named when wrong.
fn validate_customer(c: &Customer) -> Result<Customer> {
    Ok(Customer {
        name: clean_text("--name", c.name.as_deref(), 100)?,
        name_kana: clean_text("--name-kana", c.name_kana.as_deref(), 100)?,
        email: match clean_text("--email", c.email.as_deref(), 254)? {
            Some(e) if !looks_like_email(&e) => {
                return Err(Error::bad(
                    "--email",
                    format!("{e:?} is not an email address"),
                ))
            }
            other => other,
        },
        phone: match clean_text("--phone", c.phone.as_deref(), 20)? {
            Some(p)
                if !p
                    .chars()
                    .all(|ch| ch.is_ascii_digit() || "+-() ".contains(ch))
                    || p.chars().filter(char::is_ascii_digit).count() < 8 =>
            {
                return Err(Error::bad(
                    "--phone",
                    format!("{p:?} is not a phone number (digits, + - ( ) and spaces)"),
                ))
            }
            other => other,
        },
    })
}

fn looks_like_email(e: &str) -> bool {
    let Some((local, domain)) = e.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;

    fn register() -> Register {
        Register::new(
            Ledger::open_in_memory().unwrap(),
            None,
            Arc::new(SystemClock),
        )
        .unwrap()
    }

    #[test]
    fn preview_totals_follows_the_shop_settings() {
        let mut reg = register();
        let lines = vec![
            LineItem::from_parts("コーヒー", 480, 2, 8).unwrap(),
            LineItem::from_parts("紙袋", 10, 1, 10).unwrap(),
        ];
        let b = reg.preview_totals(&lines).unwrap();
        assert_eq!(b.total, 970);
        assert_eq!(b.tax_at(TaxRate::Reduced), 71);
        reg.set_setting("price_mode", "exclusive").unwrap();
        let b = reg.preview_totals(&lines).unwrap();
        assert_eq!(b.total, 960 + 76 + 10 + 1);
    }

    #[test]
    fn an_export_job_writes_the_csv_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Register::new(
            Ledger::open(&dir.path().join("l.sqlite")).unwrap(),
            None,
            Arc::new(SystemClock),
        )
        .unwrap();
        let path = dir.path().join("out.csv");
        let n = reg
            .export_job(
                &ListQuery::default(),
                &crate::export::ExportOptions::default(),
            )
            .unwrap()
            .run(&path, |_, _| {})
            .unwrap();
        assert_eq!(n, 0);
        assert!(std::fs::read(&path).unwrap().starts_with(b"\xEF\xBB\xBF"));
        let bad = ListQuery {
            from: Some("yesterday".into()),
            ..Default::default()
        };
        let e = reg.export_job(&bad, &Default::default()).unwrap_err();
        assert_eq!(e.code(), "bad_input");
        assert!(!dir.path().join("x.csv").exists());
        // An in-memory ledger has no file to read from on another connection.
        assert_eq!(
            register()
                .export_job(&ListQuery::default(), &Default::default())
                .unwrap_err()
                .code(),
            "ledger"
        );
    }

    #[test]
    fn shop_name_is_a_setting() {
        let mut reg = register();
        assert_eq!(reg.settings().shop_name, DEFAULT_SHOP_NAME);
        reg.set_setting("shop_name", "  喫茶レジ  ").unwrap();
        assert_eq!(reg.settings().get("shop_name").unwrap(), "喫茶レジ");
        assert_eq!(
            reg.set_setting("shop_name", "").unwrap_err().code(),
            "bad_input"
        );
        assert_eq!(
            reg.set_setting("shop_name", "a\nb").unwrap_err().code(),
            "bad_input"
        );
        let reloaded = Settings::load(reg.ledger()).unwrap();
        assert_eq!(reloaded.shop_name, "喫茶レジ");
    }

    #[test]
    fn switches_feed_and_demo_lan_settings_are_checked_and_kept() {
        let mut reg = register();
        assert_eq!(reg.settings().get("demo_lan").unwrap(), "off");
        reg.set_setting("demo_lan", "on").unwrap();
        reg.set_setting("feed", "list").unwrap();
        let e = reg.set_setting("demo_lan", "maybe").unwrap_err();
        assert_eq!(e.code(), "bad_input");
        assert!(
            e.user_message().contains("demo_lan"),
            "{}",
            e.user_message()
        );
        assert_eq!(
            reg.set_setting("feed", "webhooks").unwrap_err().code(),
            "bad_input"
        );
        let reloaded = Settings::load(reg.ledger()).unwrap();
        assert!(reloaded.demo_lan);
        assert_eq!(reloaded.feed, crate::tracker::FeedMode::List);
        assert_eq!(reloaded.get("feed").unwrap(), "list");
    }
}
