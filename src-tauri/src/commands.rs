//! The `#[tauri::command]` adapters: parse, call the core, map the error. No logic lives here.
//! Nothing returned contains raw KOMOJU JSON or the secret key.

use crate::error::{CmdResult, CommandError};
use crate::state::{AppState, ModeInfo};
use crate::windows::{self, push_customer_view};
use reji::catalog::{Product, ProductInput};
use reji::display::{ChargeScreen, CustomerView, HistoryRow, RefundView, TimelineEntry};
use reji::invoice::{Customer, LineItem};
use reji::register::{BankAccount, Cart, CartPreview, HeldOrder, ListQuery, Need, Settings};
use reji::tax::TaxBreakdown;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};

/// Rows of history a search returns unless the screen asks for more ("more" adds another page): the
/// screen shows about 20 at a time, and the search stays fast at a million invoices (bench row 7).
pub const HISTORY_PAGE: u32 = 100;

#[derive(Debug, Deserialize)]
pub struct LineInput {
    pub name: String,
    pub unit_price: i64,
    pub quantity: u32,
    /// 10, 8 or 0. A catalog line's rate follows its product and the order's eat-in / take-away.
    pub rate: u8,
    #[serde(default)]
    pub product_id: Option<String>,
    /// Yen off this line.
    #[serde(default)]
    pub discount: i64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChargeInput {
    pub lines: Vec<LineInput>,
    pub name: Option<String>,
    pub name_kana: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Payment types (`paypay`, `credit_card`, `konbini`, …); empty = the account's defaults.
    pub methods: Vec<String>,
    /// The order's discount (`100`, `10%`, `round100`).
    pub discount: Option<String>,
    /// `eat_in` or `take_away` (none: the shop's setting).
    pub dining: Option<String>,
    /// Cash handed over (お預り), as typed: at least the total pays at the counter with change;
    /// less is that much in cash and a payment page for the rest.
    pub cash: Option<String>,
    /// The shop's own tenders (商品券, 売掛, …), applied before cash.
    pub tenders: Vec<TenderInput>,
    /// A manager's PIN approving this one action (unused for a charge; kept for symmetry).
    pub approval: Option<String>,
}

/// One of the shop's tenders as the payment dialog gives it.
#[derive(Debug, Clone, Deserialize)]
pub struct TenderInput {
    pub name: String,
    /// As typed (`1000`, `1,000`, `¥1,000`).
    pub amount: String,
}

/// Cash as typed (`2000`, `2,000`, `¥2,000`, full-width digits); empty = none.
fn cash(text: Option<String>) -> CmdResult<Option<i64>> {
    given(text)
        .map(|t| {
            reji::tender::parse_yen(&t).ok_or_else(|| {
                reji::register::Error::bad(
                    "cash",
                    format!(
                        "{:?} is not an amount of cash (whole yen, 0 or more)",
                        t.trim()
                    ),
                )
                .into()
            })
        })
        .transpose()
}

/// The shop's tenders, each checked as the core reads `NAME:AMOUNT`.
fn shop_tenders(input: &[TenderInput]) -> CmdResult<Vec<reji::tender::ShopTender>> {
    input
        .iter()
        .filter(|t| !t.amount.trim().is_empty())
        .map(|t| {
            format!("{}:{}", t.name.trim(), t.amount.trim())
                .parse()
                .map_err(|m: String| reji::register::Error::bad("tenders", m).into())
        })
        .collect()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListInput {
    pub from: Option<String>,
    pub to: Option<String>,
    pub status: Option<String>,
    pub method: Option<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub text: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub struct ExportInput {
    pub path: String,
    pub from: Option<String>,
    pub to: Option<String>,
    /// `utf-8-bom` (default), `utf-8`, `cp932`.
    pub encoding: Option<String>,
    /// `ja` or `en` column headers (the invoice list; the journal has Yayoi's own).
    pub headers: Option<String>,
    /// `invoices` (default: one row per invoice) or `journal` (仕訳, 弥生会計's import layout).
    pub format: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct AppInfo {
    pub version: &'static str,
    #[serde(flatten)]
    pub mode: ModeInfo,
    pub shop_name: String,
    /// What the screens offer and filter by, in order (the core's list).
    pub payment_types: &'static [&'static str],
}

#[derive(Debug, Serialize)]
pub struct InvoiceDetail {
    pub screen: ChargeScreen,
    pub items: Vec<LineItem>,
    pub customer: Customer,
    pub external_order_num: Option<String>,
    pub timeline: Vec<TimelineEntry>,
    pub refund: RefundView,
    /// The order's discount as given (`100`, `10%`, `round100`): with `items` and `dining`, the
    /// register rebuilds the cart of a cancelled or expired charge.
    pub order_discount: Option<String>,
    /// `eat_in` or `take_away` when the sale said.
    pub dining: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ExportResult {
    pub rows: u64,
    pub path: String,
}

/// Empty form fields are "not given".
fn given(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

fn lines(input: Vec<LineInput>) -> CmdResult<Vec<LineItem>> {
    input
        .into_iter()
        .map(|l| {
            let mut line = LineItem::from_parts(&l.name, l.unit_price, l.quantity, l.rate)
                .map_err(|e| reji::register::Error::bad("items", e.to_string()))?;
            line.product_id = l.product_id;
            line.discount = l.discount;
            Ok(line)
        })
        .collect()
}

#[tauri::command]
pub async fn app_info(state: State<'_, AppState>) -> CmdResult<AppInfo> {
    let reg = state.register.lock().await;
    Ok(AppInfo {
        version: env!("CARGO_PKG_VERSION"),
        mode: state.mode(),
        shop_name: reg.settings().shop_name.clone(),
        payment_types: &reji::register::PAYMENT_TYPES,
    })
}

#[tauri::command]
pub async fn preview_totals(
    state: State<'_, AppState>,
    lines: Vec<LineInput>,
) -> CmdResult<TaxBreakdown> {
    let lines = self::lines(lines)?;
    Ok(state.register.lock().await.preview_totals(&lines)?)
}

#[tauri::command]
pub async fn charge<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    input: ChargeInput,
) -> CmdResult<ChargeScreen> {
    let bad = |field: &str, m: String| CommandError::from(reji::register::Error::bad(field, m));
    let cart = Cart {
        lines: lines(input.lines)?,
        discount: given(input.discount)
            .map(|d| d.parse().map_err(|m| bad("discount", m)))
            .transpose()?,
        dining: given(input.dining)
            .map(|d| d.parse().map_err(|m| bad("dining", m)))
            .transpose()?,
        customer: Customer {
            name: given(input.name),
            name_kana: given(input.name_kana),
            email: given(input.email),
            phone: given(input.phone),
        },
    };
    let mut req = state.register.lock().await.cart_request(&cart)?;
    req.cash = cash(input.cash)?;
    req.tenders = shop_tenders(&input.tenders)?;
    req.methods = input
        .methods
        .iter()
        .map(|m| reji::komoju::PaymentType::from_wire(m))
        .collect();
    let (v, notices) = {
        let mut reg = state.register.lock().await;
        state.authorize(&mut reg, Need::Staff, input.approval.as_deref())?;
        let v = reg.charge(req).await;
        let notices = reg.take_notices();
        let v = v?;
        state.set_customer_invoice(Some(v.invoice_number.clone()));
        push_customer_view(&app, &state, &reg.settings().shop_name, &v);
        (v, notices)
    };
    // The QR is on screen now: the tracker's fast lane follows it (a sale paid at the counter
    // has nothing to follow).
    if !v.status.is_final() {
        state.watch(&v.invoice_number).await?;
    }
    if v.status.has_receipt() {
        // Paid at the counter: the drawer opens and the receipt prints (when a printer is set up).
        crate::printing::after_sale(&app, &v.invoice_number).await;
    }
    Ok(ChargeScreen::from_view(&v).with_notices(notices))
}

/// The charge screen shows this invoice's QR: the tracker follows it closely (its changes arrive
/// as `invoice-changed` events).
#[tauri::command]
pub async fn watch_invoice(state: State<'_, AppState>, number: String) -> CmdResult<()> {
    state.watch(&number).await
}

/// "Check now": the tracker runs a slow-lane pass at once (konbini / bank payments, open sessions)
/// instead of at its next interval; what changed arrives as events.
#[tauri::command]
pub async fn sync_now(state: State<'_, AppState>) -> CmdResult<()> {
    if let Some(t) = state.tracker() {
        t.refresh_now().await;
    }
    Ok(())
}

/// The history's "today" panel: the day's figures so far and sales by hour (an SVG from the core).
#[tauri::command]
pub async fn today_view(
    state: State<'_, AppState>,
    date: Option<String>,
) -> CmdResult<reji::display::TodayView> {
    let day = state.register.lock().await.today(date.as_deref())?;
    Ok(reji::display::TodayView::of(&day))
}

/// A day's close (日計表) and whether this call closed it (`false`: it was closed before).
#[derive(Debug, Serialize)]
pub struct CloseResult {
    pub close: reji::ledger::DailyClose,
    pub newly_closed: bool,
}

/// Closes a day (default today): stores its 日計表 and locks its records (they can then only be
/// corrected by new entries). Closing a closed day returns the stored close.
#[tauri::command]
pub async fn close_day(
    state: State<'_, AppState>,
    date: Option<String>,
    approval: Option<String>,
) -> CmdResult<CloseResult> {
    let mut reg = state.register.lock().await;
    state.authorize(&mut reg, Need::Manager, approval.as_deref())?;
    let (close, newly_closed) = reg.close_day(given(date).as_deref())?;
    Ok(CloseResult {
        close,
        newly_closed,
    })
}

/// Saves a closed day's 日計表 as `pdf` (A4, the receipt template, Japanese font embedded) or `csv`
/// (UTF-8 with BOM), atomically.
#[tauri::command]
pub async fn save_close(
    state: State<'_, AppState>,
    date: Option<String>,
    path: String,
    format: String,
) -> CmdResult<()> {
    let format = report_format(&format)?;
    let (close, shop) = {
        let reg = state.register.lock().await;
        (
            reg.stored_close(given(date).as_deref())?,
            reg.settings().shop_details(),
        )
    };
    let bytes = reji::register::close_report(&close, &shop, format, None)?;
    save_report(&path, &bytes)
}

/// A report's file format from the UI (`pdf` or `csv`).
fn report_format(format: &str) -> CmdResult<reji::register::CloseFormat> {
    format
        .parse()
        .map_err(|e| reji::register::Error::bad("format", e).into())
}

/// Writes a report where the staff chose to save it, atomically (a failure leaves what was there).
fn save_report(path: &str, bytes: &[u8]) -> CmdResult<()> {
    use std::io::Write;
    reji::export::write_atomically(std::path::Path::new(path), |w| w.write_all(bytes))
        .map_err(|e| reji::register::Error::bad("path", format!("{path}: {e}")).into())
}

/// The QR is gone: the invoice goes back to the tracker's slow lane.
#[tauri::command]
pub async fn unwatch_invoice(state: State<'_, AppState>, number: String) -> CmdResult<()> {
    state.unwatch(&number).await;
    Ok(())
}

/// Asks KOMOJU for the invoice's latest state (the charge screen polls this until the tracker's
/// events replace it).
#[tauri::command]
pub async fn refresh_invoice<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    number: String,
) -> CmdResult<ChargeScreen> {
    let v = {
        let mut reg = state.register.lock().await;
        let v = reg.show(&number).await?;
        push_customer_view(&app, &state, &reg.settings().shop_name, &v);
        v
    };
    if v.status.has_receipt() {
        crate::printing::after_sale(&app, &v.invoice_number).await;
    }
    Ok(ChargeScreen::from_view(&v))
}

#[tauri::command]
pub async fn cancel_invoice<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    number: String,
) -> CmdResult<ChargeScreen> {
    let mut reg = state.register.lock().await;
    state.authorize(&mut reg, Need::Staff, None)?;
    let v = reg.cancel(&number).await?;
    push_customer_view(&app, &state, &reg.settings().shop_name, &v);
    Ok(ChargeScreen::from_view(&v).with_notices(reg.take_notices()))
}

/// Opens a new payment session (new order number) for an expired, cancelled or failed invoice.
#[tauri::command]
pub async fn retry_invoice<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    number: String,
) -> CmdResult<ChargeScreen> {
    let (v, notices) = {
        let mut reg = state.register.lock().await;
        state.authorize(&mut reg, Need::Staff, None)?;
        let v = reg.retry(&number).await?;
        state.set_customer_invoice(Some(v.invoice_number.clone()));
        push_customer_view(&app, &state, &reg.settings().shop_name, &v);
        (v, reg.take_notices())
    };
    state.watch(&v.invoice_number).await?;
    Ok(ChargeScreen::from_view(&v).with_notices(notices))
}

/// Full (no amount) or partial refund of a card / wallet payment, or, with the customer's bank
/// account, a refund request for a konbini / bank transfer / Pay-easy payment. With `items`, a
/// return by items (which lines, how many) and its `reason`: the core works out what they are worth.
#[tauri::command]
#[allow(clippy::too_many_arguments)]
pub async fn refund_invoice(
    state: State<'_, AppState>,
    number: String,
    amount: Option<i64>,
    bank: Option<BankAccount>,
    items: Option<Vec<reji::register::ReturnLine>>,
    reason: Option<String>,
    approval: Option<String>,
) -> CmdResult<ChargeScreen> {
    let bank = bank.unwrap_or_default();
    let mut reg = state.register.lock().await;
    state.authorize(&mut reg, Need::Manager, approval.as_deref())?;
    let v = match items {
        Some(lines) => {
            reg.return_items(&number, &lines, given(reason).as_deref(), &bank)
                .await?
        }
        None => reg.refund(&number, amount, &bank).await?,
    };
    Ok(ChargeScreen::from_view(&v).with_notices(reg.take_notices()))
}

/// What a return by items would give back (tax included, per rate), before the staff confirm it.
#[tauri::command]
pub async fn preview_return(
    state: State<'_, AppState>,
    number: String,
    items: Vec<reji::register::ReturnLine>,
) -> CmdResult<Vec<reji::register::ReturnRate>> {
    Ok(state
        .register
        .lock()
        .await
        .return_preview(&number, &items)?)
}

#[tauri::command]
pub async fn list_invoices(
    state: State<'_, AppState>,
    query: ListInput,
) -> CmdResult<Vec<HistoryRow>> {
    let q = ListQuery {
        from: given(query.from),
        to: given(query.to),
        status: given(query.status),
        method: given(query.method),
        min: query.min,
        max: query.max,
        text: given(query.text),
        limit: Some(query.limit.unwrap_or(HISTORY_PAGE)),
    };
    let reg = state.register.lock().await;
    Ok(reg.list(&q)?.iter().map(HistoryRow::from_view).collect())
}

#[tauri::command]
pub async fn invoice_detail(
    state: State<'_, AppState>,
    number: String,
) -> CmdResult<InvoiceDetail> {
    let reg = state.register.lock().await;
    let v = reg.show_local(&number)?;
    let tz = reg.settings().tz;
    let staff = reg.staff_list()?;
    let timeline = reg
        .events(&number)?
        .iter()
        .map(|e| TimelineEntry::from_event(e, tz).named(&staff))
        .collect();
    Ok(InvoiceDetail {
        screen: ChargeScreen::from_view(&v),
        refund: RefundView::of(&v).with_returns(&reg.return_state(&number)?),
        items: v.items,
        customer: v.customer,
        external_order_num: v.external_order_num,
        timeline,
        order_discount: v.order_discount,
        dining: v.dining,
    })
}

/// A receipt to show and print: its fields (with how many refunds have a return receipt) and the
/// template's blocks, which the UI renders with text nodes only. `refund` = the N-th refund's.
#[derive(Debug, Serialize)]
pub struct ReceiptView {
    pub receipt: reji::receipt::Receipt,
    pub blocks: Vec<reji::receipt::Block>,
}

#[tauri::command]
pub async fn receipt(
    state: State<'_, AppState>,
    number: String,
    refund: Option<usize>,
) -> CmdResult<ReceiptView> {
    // Issuing a receipt is recorded with who did it: the member signed in here (not whoever
    // approved the last manager's action).
    let mut reg = state.register.lock().await;
    state.authorize(&mut reg, Need::Staff, None)?;
    let receipt = reg.receipt(&number, refund)?;
    let blocks = receipt.layout();
    Ok(ReceiptView { receipt, blocks })
}

/// Settings' "test connection": one read-only request to KOMOJU with the saved key (or the demo's).
#[tauri::command]
pub async fn test_connection(
    state: State<'_, AppState>,
) -> CmdResult<reji::register::ConnectionCheck> {
    // The register is let go before KOMOJU answers: the UI keeps working meanwhile.
    let client = state.register.lock().await.client_handle()?;
    Ok(reji::register::check_connection(&client).await?)
}

#[tauri::command]
pub async fn get_settings(state: State<'_, AppState>) -> CmdResult<BTreeMap<String, String>> {
    let reg = state.register.lock().await;
    Ok(settings_map(reg.settings()))
}

fn settings_map(s: &Settings) -> BTreeMap<String, String> {
    Settings::KEYS
        .iter()
        .map(|k| (k.to_string(), s.get(k).unwrap_or_default()))
        .collect()
}

#[tauri::command]
pub async fn set_setting<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    key: String,
    value: reji::register::SettingValue,
    approval: Option<String>,
) -> CmdResult<BTreeMap<String, String>> {
    let map = {
        let mut reg = state.register.lock().await;
        state.authorize(&mut reg, Need::Manager, approval.as_deref())?;
        reg.set_setting(&key, value)?;
        settings_map(reg.settings())
    };
    if key == "feed" {
        crate::tracking::start(&app, &state).await;
    }
    Ok(map)
}

/// Stores the KOMOJU secret key in the OS keychain and leaves demo mode (the tracker restarts on
/// the live ledger). Returns only the masked key.
#[tauri::command]
pub async fn save_key<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    key: String,
    approval: Option<String>,
) -> CmdResult<ModeInfo> {
    {
        let mut reg = state.register.lock().await;
        state.authorize(&mut reg, Need::Manager, approval.as_deref())?;
    }
    let mode = state.save_key(&key).await?;
    crate::tracking::start(&app, &state).await;
    Ok(mode)
}

/// How far an export is (sent through the command's channel).
#[derive(Debug, Clone, Serialize)]
pub struct ExportProgress {
    pub rows: u64,
    pub total: u64,
}

/// Writes the CSV on a thread of its own (the register stays free), reporting progress through
/// `on_progress`.
#[tauri::command]
pub async fn export_csv(
    state: State<'_, AppState>,
    input: ExportInput,
    on_progress: Channel<ExportProgress>,
) -> CmdResult<ExportResult> {
    use reji::export::{Encoding, ExportOptions, HeaderLang};
    let bad = |f: &str, e: reji::export::ExportError| -> CommandError {
        reji::register::Error::bad(f, e.to_string()).into()
    };
    let journal = match input.format.as_deref().map(str::trim) {
        None | Some("") | Some("invoices") => false,
        Some("journal") => true,
        Some(other) => {
            return Err(reji::register::Error::bad(
                "format",
                format!("{other:?} must be invoices or journal"),
            )
            .into())
        }
    };
    let encoding: Encoding = match input.encoding.as_deref() {
        Some(e) => e.parse().map_err(|e| bad("encoding", e))?,
        // What 弥生会計 reads; the invoice list opens in Excel from UTF-8 with a BOM.
        None if journal => Encoding::Cp932,
        None => Encoding::Utf8Bom,
    };
    let headers: HeaderLang = match input.headers.as_deref() {
        Some(h) => h.parse().map_err(|e| bad("headers", e))?,
        None => HeaderLang::Ja,
    };
    let q = ListQuery {
        from: given(input.from),
        to: given(input.to),
        ..Default::default()
    };
    if journal {
        let lines = state.register.lock().await.journal(&q)?;
        let _ = on_progress.send(ExportProgress {
            rows: 0,
            total: lines.len() as u64,
        });
        let path = std::path::PathBuf::from(&input.path);
        let summary = tauri::async_runtime::spawn_blocking(move || {
            let mut summary = reji::export::ExportSummary::default();
            reji::export::write_atomically(&path, |w| {
                summary = reji::export::journal::write_yayoi(w, &lines, encoding, false)?;
                Ok::<(), reji::export::ExportError>(())
            })
            .map(|()| summary)
            .map_err(reji::register::Error::from)
        })
        .await
        .map_err(|e| CommandError::new(reji::register::ErrorCode::ExportIo, e.to_string()))??;
        let _ = on_progress.send(ExportProgress {
            rows: summary.rows,
            total: summary.rows,
        });
        return Ok(ExportResult {
            rows: summary.rows,
            path: input.path,
        });
    }
    let job = {
        let reg = state.register.lock().await;
        let opts = ExportOptions {
            encoding,
            lossy: false,
            headers,
            tz: reg.settings().tz,
        };
        reg.export_job(&q, &opts)?
    };
    let _ = on_progress.send(ExportProgress {
        rows: 0,
        total: job.total,
    });
    let path = std::path::PathBuf::from(&input.path);
    let rows = tauri::async_runtime::spawn_blocking(move || {
        job.run(&path, |rows, total| {
            let _ = on_progress.send(ExportProgress { rows, total });
        })
    })
    .await
    .map_err(|e| CommandError::new(reji::register::ErrorCode::ExportIo, e.to_string()))??;
    Ok(ExportResult {
        rows,
        path: input.path,
    })
}

/// Opens (or focuses) the customer-facing window and shows it the current sale.
#[tauri::command]
pub async fn open_customer_display<R: Runtime>(app: AppHandle<R>) -> CmdResult<()> {
    Ok(windows::open_customer(&app)?)
}

/// The customer display asks nothing itself: the staff window tells the app when it is ready
/// (after `open_customer_display`) and between sales.
#[tauri::command]
pub async fn set_customer_view<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    number: Option<String>,
) -> CmdResult<()> {
    let reg = state.register.lock().await;
    let shop = reg.settings().shop_name.clone();
    state.set_customer_invoice(number.clone());
    let view = match number {
        Some(n) => CustomerView::of(&shop, &reg.show_local(&n)?),
        None => CustomerView::idle(&shop),
    };
    Ok(windows::show_customer(&app, view)?)
}

/// Demo mode only: opens the fake KOMOJU's payment page for the invoice in its own window, so the
/// cashier can play the customer (a phone cannot reach loopback).
#[tauri::command]
pub async fn demo_pay_window<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    number: String,
) -> CmdResult<()> {
    let Some(origin) = state.demo_origin() else {
        return Err(CommandError::new(
            reji::register::ErrorCode::NotAllowed,
            "paying as the customer is only offered in demo mode",
        ));
    };
    let url = state
        .register
        .lock()
        .await
        .show_local(&number)?
        .session_url
        .filter(|u| u.starts_with(&format!("{origin}/")))
        .ok_or_else(|| {
            CommandError::new(
                reji::register::ErrorCode::NotAllowed,
                "this invoice has no demo payment page",
            )
        })?;
    let url: tauri::Url = url
        .parse()
        .map_err(|e| CommandError::new(reji::register::ErrorCode::BadInput, format!("{e}")))?;
    Ok(windows::open_demo_pay(&app, url)?)
}

// ---- Settings saved as one form ----

/// The settings screen's save: every field at once, all or nothing (a refused field is named in
/// the error's `field`, and nothing is stored).
#[tauri::command]
pub async fn set_settings<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    values: BTreeMap<String, reji::register::SettingValue>,
    approval: Option<String>,
) -> CmdResult<BTreeMap<String, String>> {
    let feed_changed;
    let map = {
        let mut reg = state.register.lock().await;
        state.authorize(&mut reg, Need::Manager, approval.as_deref())?;
        feed_changed = values
            .get("feed")
            .is_some_and(|v| Some(v.to_text()) != reg.settings().get("feed"));
        let changes: Vec<_> = values.into_iter().collect();
        reg.set_settings(&changes)?;
        settings_map(reg.settings())
    };
    if feed_changed {
        crate::tracking::start(&app, &state).await;
    }
    Ok(map)
}

// ---- The catalog ----

/// Products on sale (or archived too) whose name, kana, code or category contain `q`.
#[tauri::command]
pub async fn products_list(
    state: State<'_, AppState>,
    q: Option<String>,
    archived: Option<bool>,
) -> CmdResult<Vec<Product>> {
    let reg = state.register.lock().await;
    Ok(reg.products(q.as_deref(), archived.unwrap_or(false))?)
}

/// A scan or a typed code / id: the product on sale, or `not_found`.
#[tauri::command]
pub async fn product_lookup(state: State<'_, AppState>, key: String) -> CmdResult<Product> {
    Ok(state.register.lock().await.find_product(&key, false)?)
}

#[tauri::command]
pub async fn product_add(
    state: State<'_, AppState>,
    input: ProductInput,
    approval: Option<String>,
) -> CmdResult<Product> {
    let mut reg = state.register.lock().await;
    state.authorize(&mut reg, Need::Manager, approval.as_deref())?;
    Ok(reg.add_product(&input)?)
}

#[tauri::command]
pub async fn product_edit(
    state: State<'_, AppState>,
    id: String,
    input: ProductInput,
    approval: Option<String>,
) -> CmdResult<Product> {
    let mut reg = state.register.lock().await;
    state.authorize(&mut reg, Need::Manager, approval.as_deref())?;
    Ok(reg.edit_product(&id, &input)?)
}

#[tauri::command]
pub async fn product_archive(
    state: State<'_, AppState>,
    id: String,
    approval: Option<String>,
) -> CmdResult<Product> {
    let mut reg = state.register.lock().await;
    state.authorize(&mut reg, Need::Manager, approval.as_deref())?;
    Ok(reg.archive_product(&id)?)
}

/// Imports a product list the staff picked (all or nothing: a refused file's rows are in the
/// error's `problems`).
#[tauri::command]
pub async fn products_import(
    state: State<'_, AppState>,
    path: String,
    approval: Option<String>,
) -> CmdResult<reji::register::ImportReport> {
    {
        let mut reg = state.register.lock().await;
        state.authorize(&mut reg, Need::Manager, approval.as_deref())?;
    }
    let bytes = std::fs::read(&path).map_err(|e| reji::register::Error::ReadFile {
        path: path.clone(),
        source: e,
    })?;
    let mut reg = state.register.lock().await;
    state.authorize(&mut reg, Need::Manager, approval.as_deref())?;
    Ok(reg.import_products(bytes)?)
}

/// Writes the product list as CSV (`utf-8-bom` or `cp932`); returns how many products.
#[tauri::command]
pub async fn products_export(
    state: State<'_, AppState>,
    path: String,
    encoding: Option<String>,
) -> CmdResult<u64> {
    use reji::export::Encoding;
    let encoding = match encoding.as_deref().unwrap_or("utf-8-bom") {
        "utf-8-bom" => Encoding::Utf8Bom,
        "cp932" => Encoding::Cp932,
        other => {
            return Err(reji::register::Error::bad(
                "encoding",
                format!("{other:?} must be utf-8-bom or cp932"),
            )
            .into())
        }
    };
    let reg = state.register.lock().await;
    let mut n = 0;
    reji::export::write_atomically(std::path::Path::new(&path), |w| {
        n = reg.export_products(w, encoding)?;
        Ok::<_, reji::register::Error>(())
    })?;
    Ok(n)
}

// ---- The cart ----

/// The cart's lines with their rates for this order and its totals (nothing stored); a price or
/// discount a charge would refuse is refused here, naming the field.
#[tauri::command]
pub async fn preview_cart(state: State<'_, AppState>, cart: Cart) -> CmdResult<CartPreview> {
    Ok(state.register.lock().await.preview_cart(&cart)?)
}

/// Keeps the cart being rung up (it survives a restart).
#[tauri::command]
pub async fn save_cart(state: State<'_, AppState>, cart: Cart) -> CmdResult<()> {
    Ok(state.register.lock().await.save_cart(&cart)?)
}

#[tauri::command]
pub async fn current_cart(state: State<'_, AppState>) -> CmdResult<Cart> {
    Ok(state.register.lock().await.current_cart()?)
}

#[tauri::command]
pub async fn hold_cart(
    state: State<'_, AppState>,
    cart: Cart,
    label: Option<String>,
) -> CmdResult<HeldOrder> {
    let mut reg = state.register.lock().await;
    state.authorize(&mut reg, Need::Staff, None)?;
    Ok(reg.hold_cart(&cart, label.as_deref())?)
}

#[tauri::command]
pub async fn held_orders(state: State<'_, AppState>) -> CmdResult<Vec<HeldOrder>> {
    Ok(state.register.lock().await.held_orders()?)
}

#[tauri::command]
pub async fn recall_order(state: State<'_, AppState>, id: String) -> CmdResult<Cart> {
    Ok(state.register.lock().await.recall_order(&id)?)
}

/// Demo mode: the customer pays a konbini / bank transfer / Pay-easy slip at the store (what the
/// fake's control API does for tests), then the register looks at once. Refused outside the demo.
#[tauri::command]
pub async fn demo_paid_at_store<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    number: String,
) -> CmdResult<ChargeScreen> {
    let Some(origin) = state.demo_origin() else {
        return Err(CommandError::new(
            reji::register::ErrorCode::NotAllowed,
            "paying at the store is only played in demo mode",
        ));
    };
    let payment = {
        let reg = state.register.lock().await;
        let v = reg.show_local(&number)?;
        v.payment_id
            .filter(|_| v.status == reji::status::InvoiceStatus::AwaitingPayment)
            .ok_or_else(|| {
                CommandError::new(
                    reji::register::ErrorCode::NotAllowed,
                    "this sale is not waiting for a payment at a store or bank",
                )
            })?
    };
    reji::fake::FakeControl::new(&origin)
        .capture_payment(&payment)
        .await
        .map_err(|e| CommandError::new(reji::register::ErrorCode::Network, e.to_string()))?;
    let mut reg = state.register.lock().await;
    let v = reg.show(&number).await?;
    push_customer_view(&app, &state, &reg.settings().shop_name, &v);
    Ok(ChargeScreen::from_view(&v))
}

// ---- Tenders ----

/// What the payment dialog shows while the cashier types: how the total would be covered (the
/// shop's tenders, the cash and its change, what is left for the payment page). Nothing is stored.
#[tauri::command]
pub async fn settle_preview(
    total: i64,
    cash: Option<String>,
    tenders: Vec<TenderInput>,
) -> CmdResult<reji::tender::Settlement> {
    let tenders = shop_tenders(&tenders)?;
    let cash = self::cash(cash)?;
    reji::tender::settle(total, cash, &tenders).map_err(|m| {
        reji::register::Error::bad(
            if tenders.is_empty() {
                "cash"
            } else {
                "tenders"
            },
            m,
        )
        .into()
    })
}

// ---- The drawer ----

/// A count by denomination as the drawer screen sends it (`"10000": 1`, …).
fn count(counts: BTreeMap<String, u32>) -> CmdResult<reji::register::CashCount> {
    let counts = counts
        .into_iter()
        .map(|(d, n)| {
            reji::tender::parse_yen(&d).map(|d| (d, n)).ok_or_else(|| {
                reji::register::Error::bad("count", format!("{d:?} is not a yen note or coin"))
            })
        })
        .collect::<Result<BTreeMap<i64, u32>, _>>()?;
    Ok(reji::register::CashCount::from_counts(&counts)?)
}

/// 点検 (X report): what the drawer should hold now and why; changes nothing.
#[tauri::command]
pub async fn drawer_check(state: State<'_, AppState>) -> CmdResult<reji::register::DrawerReport> {
    Ok(state.register.lock().await.drawer_check()?)
}

/// Opens the drawer with its float, counted by denomination.
#[tauri::command]
pub async fn drawer_open(
    state: State<'_, AppState>,
    counts: BTreeMap<String, u32>,
    approval: Option<String>,
) -> CmdResult<reji::register::DrawerReport> {
    let c = count(counts)?;
    let mut reg = state.register.lock().await;
    state.authorize(&mut reg, Need::Staff, approval.as_deref())?;
    reg.drawer_open(&c)?;
    Ok(reg.drawer_check()?)
}

/// 入金 (`in`) / 出金 (`out`) with its reason (a manager's).
#[tauri::command]
pub async fn drawer_move<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    kind: String,
    amount: String,
    reason: String,
    approval: Option<String>,
) -> CmdResult<reji::register::DrawerReport> {
    let bad = |f: &str, m: String| CommandError::from(reji::register::Error::bad(f, m));
    if kind != "in" && kind != "out" {
        return Err(bad("kind", format!("{kind:?} must be in or out")));
    }
    let amount = reji::tender::parse_yen(&amount)
        .filter(|a| *a > 0)
        .ok_or_else(|| {
            bad(
                "amount",
                format!("{:?} must be whole yen, more than 0", amount.trim()),
            )
        })?;
    let mut reg = state.register.lock().await;
    state.authorize(&mut reg, Need::Manager, approval.as_deref())?;
    reg.drawer_move(&kind, amount, &reason)?;
    // The drawer opens for the cash going in or out (when it is on the receipt printer).
    if let Ok(Some(_)) = reg.kick_drawer(if kind == "in" { "入金" } else { "出金" }) {
        crate::printing::wake(&app);
    }
    Ok(reg.drawer_check()?)
}

/// 精算's result: the Z report and the business day it closed.
#[derive(Debug, Serialize)]
pub struct SettleResult {
    #[serde(flatten)]
    pub report: reji::register::DrawerReport,
    /// The business day closed with it (`YYYY-MM-DD`); the next sales belong to the day after.
    pub closed_day: String,
}

/// 精算 (Z report): the count against what the drawer should hold, final, and the day's close
/// (a manager's).
#[tauri::command]
pub async fn drawer_close(
    state: State<'_, AppState>,
    counts: BTreeMap<String, u32>,
    approval: Option<String>,
) -> CmdResult<SettleResult> {
    let c = count(counts)?;
    let mut reg = state.register.lock().await;
    state.authorize(&mut reg, Need::Manager, approval.as_deref())?;
    let (report, day) = reg.drawer_settle(&c)?;
    Ok(SettleResult {
        report,
        closed_day: day.business_date,
    })
}

// ---- Staff ----

/// Who works here and who is signed in at this register (never a PIN or its hash).
#[derive(Debug, Serialize)]
pub struct StaffState {
    pub staff: Vec<reji::staff::StaffMember>,
    pub signed_in: Option<reji::staff::StaffMember>,
}

fn staff_state(state: &AppState, reg: &reji::register::Register) -> CmdResult<StaffState> {
    let staff = reg.staff_list()?;
    let id = state.signed_in();
    let signed_in = staff.iter().find(|m| Some(&m.id) == id.as_ref()).cloned();
    Ok(StaffState { staff, signed_in })
}

#[tauri::command]
pub async fn staff_state_get(state: State<'_, AppState>) -> CmdResult<StaffState> {
    let reg = state.register.lock().await;
    staff_state(&state, &reg)
}

/// Signs a staff member in at this register (or switches cashier) with their PIN.
#[tauri::command]
pub async fn sign_in(state: State<'_, AppState>, pin: String) -> CmdResult<StaffState> {
    let mut reg = state.register.lock().await;
    let actor = reg
        .authorize(reji::register::Who::Pin(&pin), Need::Staff)
        .map_err(crate::error::denied)?;
    state.set_signed_in(actor.member.map(|m| m.id));
    staff_state(&state, &reg)
}

#[tauri::command]
pub async fn sign_out(state: State<'_, AppState>) -> CmdResult<StaffState> {
    state.set_signed_in(None);
    let reg = state.register.lock().await;
    staff_state(&state, &reg)
}

/// Adds a staff member (a manager's; the first must be a manager, and is signed in at once).
#[tauri::command]
pub async fn staff_add(
    state: State<'_, AppState>,
    name: String,
    pin: String,
    role: String,
    approval: Option<String>,
) -> CmdResult<StaffState> {
    let role: reji::staff::Role = role
        .parse()
        .map_err(|m: String| reji::register::Error::bad("role", m))?;
    let mut reg = state.register.lock().await;
    let first = reg.staff_list()?.is_empty();
    state.authorize(&mut reg, Need::Manager, approval.as_deref())?;
    let m = reg.add_staff(&name, &pin, role)?;
    if first {
        state.set_signed_in(Some(m.id));
    }
    staff_state(&state, &reg)
}

/// The refund dialog's bank account, checked as the refund request would check it, before its
/// confirm step (nothing is sent).
#[tauri::command]
pub async fn check_refund_bank(bank: BankAccount) -> CmdResult<()> {
    Ok(reji::register::check_bank_account(&bank)?)
}

// ---- The receipt printer (issue 18): jobs are queued in the ledger and delivered by the print
// task (`crate::printing`); these commands queue and wake it, and never wait for the printer.

/// The print queue: what waits and the latest jobs.
#[derive(Debug, Serialize)]
pub struct PrintQueue {
    pub pending: Vec<reji::ledger::PrintJob>,
    pub recent: Vec<reji::ledger::PrintJob>,
    /// A network or USB printer is set up (else the app prints through the system dialog).
    pub printer: bool,
}

fn queue_view(reg: &reji::register::Register) -> CmdResult<PrintQueue> {
    let printer = matches!(
        reg.printer().map(|c| c.connection),
        Ok(reji::printing::Connection::Network { .. } | reji::printing::Connection::Device { .. })
    );
    Ok(PrintQueue {
        pending: reg.pending_prints()?,
        recent: reg.recent_prints(20)?,
        printer,
    })
}

/// Prints a paid sale's receipt (or the return receipt of its `refund`-th refund) on the receipt
/// printer; a second print says 再発行.
#[tauri::command]
pub async fn print_receipt<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    number: String,
    refund: Option<usize>,
) -> CmdResult<reji::ledger::PrintJob> {
    let job = {
        let mut reg = state.register.lock().await;
        state.authorize(&mut reg, Need::Staff, None)?;
        reg.print_receipt(&number, refund)?
    };
    crate::printing::wake(&app);
    Ok(job)
}

/// Prints a konbini / bank transfer / Pay-easy slip for the customer.
#[tauri::command]
pub async fn print_slip<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    number: String,
) -> CmdResult<reji::ledger::PrintJob> {
    let job = {
        let mut reg = state.register.lock().await;
        state.authorize(&mut reg, Need::Staff, None)?;
        reg.print_slip(&number)?
    };
    crate::printing::wake(&app);
    Ok(job)
}

/// The test page (both modes) from the settings.
#[tauri::command]
pub async fn print_test_page<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> CmdResult<reji::ledger::PrintJob> {
    let job = {
        let mut reg = state.register.lock().await;
        state.authorize(&mut reg, Need::Staff, None)?;
        reg.print_test_page()?
    };
    crate::printing::wake(&app);
    Ok(job)
}

/// 点検 printed.
#[tauri::command]
pub async fn print_drawer_check<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> CmdResult<reji::ledger::PrintJob> {
    let job = {
        let mut reg = state.register.lock().await;
        state.authorize(&mut reg, Need::Staff, None)?;
        let report = reg.drawer_check()?;
        reg.print_drawer_report(&report)?
    };
    crate::printing::wake(&app);
    Ok(job)
}

/// Opens the cash drawer (a manager's action, recorded with who did it).
#[tauri::command]
pub async fn open_drawer<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    approval: Option<String>,
) -> CmdResult<reji::ledger::PrintJob> {
    let job = {
        let mut reg = state.register.lock().await;
        state.authorize(&mut reg, Need::Manager, approval.as_deref())?;
        reg.kick_drawer("open drawer")?.ok_or_else(|| {
            reji::register::Error::bad(
                "settings.drawer",
                "no cash drawer is set up on the receipt printer",
            )
        })?
    };
    crate::printing::wake(&app);
    Ok(job)
}

#[tauri::command]
pub async fn print_queue(state: State<'_, AppState>) -> CmdResult<PrintQueue> {
    let reg = state.register.lock().await;
    queue_view(&reg)
}

/// Sends what waits now (the print task answers with `print-status` events).
#[tauri::command]
pub async fn retry_prints<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> CmdResult<PrintQueue> {
    crate::printing::wake(&app);
    let reg = state.register.lock().await;
    queue_view(&reg)
}

/// Opens a konbini / bank / Pay-easy sale's payment instructions: in demo mode the fake KOMOJU's
/// page in the app's own window (the system browser may not reach it, and the opener refuses
/// plain http), in live mode KOMOJU's https page in the browser. The address comes from the
/// ledger, never from the window.
#[tauri::command]
pub async fn open_instructions<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    number: String,
) -> CmdResult<()> {
    use tauri_plugin_opener::OpenerExt;
    let v = state.register.lock().await.show_local(&number)?;
    let details = reji::komoju::PaymentDetails::from_value(v.payment_details.as_ref());
    let url = details
        .instructions_url()
        .map(str::to_string)
        .ok_or_else(|| {
            CommandError::new(
                reji::register::ErrorCode::NotAllowed,
                "this sale has no payment instructions",
            )
        })?;
    let parsed: tauri::Url = url.parse().map_err(|_| {
        CommandError::new(
            reji::register::ErrorCode::KomojuResponse,
            "the payment's instructions address is not a web address",
        )
    })?;
    if let Some(origin) = state.demo_origin() {
        if url.starts_with(&format!("{origin}/")) {
            return Ok(windows::open_demo_pay(&app, parsed)?);
        }
    }
    if parsed.scheme() != "https" {
        return Err(CommandError::new(
            reji::register::ErrorCode::KomojuResponse,
            "the payment's instructions are not on a secure (https) page",
        ));
    }
    app.opener()
        .open_url(parsed.as_str(), None::<&str>)
        .map_err(|e| CommandError::new(reji::register::ErrorCode::Window, e.to_string()))
}

/// What Settings' "copy diagnostics" copies for support: versions, OS, schema, the change feed, the
/// print queue and the log's last errors (no key, no customer details), and where the log is.
#[derive(Debug, Serialize)]
pub struct DiagnosticsView {
    pub text: String,
    pub log_path: Option<String>,
}

#[tauri::command]
pub async fn diagnostics(state: State<'_, AppState>) -> CmdResult<DiagnosticsView> {
    let mode = state.mode();
    let mode = match &mode.key_masked {
        Some(k) => format!("{} (key {k})", mode.mode),
        None => mode.mode,
    };
    let reg = state.register.lock().await;
    let d = reji::support::Diagnostics::gather(
        &reg,
        "Reji (desktop)",
        env!("CARGO_PKG_VERSION"),
        &mode,
        crate::applog::last_errors(20),
    );
    let log_path = crate::applog::path().map(|p| p.display().to_string());
    let mut text = d.to_text();
    if let Some(p) = &log_path {
        text.push_str(&format!("log: {p}\n"));
    }
    Ok(DiagnosticsView { text, log_path })
}

/// The OS print dialog for the staff window (the receipt dialog's 「印刷」 for a shop without a
/// receipt printer; `sysprint`).
#[tauri::command]
pub async fn print_dialog<R: Runtime>(window: tauri::WebviewWindow<R>) -> CmdResult<()> {
    Ok(crate::sysprint::print(&window)?)
}

/// Saves a drawer report as PDF or CSV: `which` is `check` (点検, as it stands now) or `close` (the
/// last 精算, as it was stored).
#[tauri::command]
pub async fn save_drawer_report(
    state: State<'_, AppState>,
    which: String,
    path: String,
    format: String,
) -> CmdResult<()> {
    let format = report_format(&format)?;
    let bytes = {
        let reg = state.register.lock().await;
        let r = match which.as_str() {
            "check" => reg.drawer_check()?,
            "close" => reg.last_drawer_close()?,
            other => {
                return Err(reji::register::Error::bad(
                    "which",
                    format!("{other:?} must be check or close"),
                )
                .into())
            }
        };
        reg.drawer_report_file(&r, format, None)?
    };
    save_report(&path, &bytes)
}
