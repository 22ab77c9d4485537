//! The app's windows and what is pushed to them: every window label, every event name and the
//! customer display's one input live here, so the commands, the tracker and the capabilities
//! (`src-tauri/capabilities/`, keyed on the labels) agree on one list.

use crate::state::AppState;
use reji::display::CustomerView;
use reji::register::InvoiceView;
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime, WebviewUrl, WebviewWindowBuilder};

/// Window labels.
pub const STAFF: &str = "staff";
pub const CUSTOMER: &str = "customer";
pub const DEMO_PAY: &str = "demo-pay";

/// Customer display: what to show (payload: [`CustomerView`]); its only input.
pub const CUSTOMER_VIEW_EVENT: &str = "customer-view";
/// Staff window: an invoice changed status (payload: its `ChargeScreen`).
pub const INVOICE_CHANGED: &str = "invoice-changed";
/// Staff window: how the tracker is doing (payload: `TrackerStatus`).
pub const TRACKER_STATUS: &str = "tracker-status";
/// Staff window: a konbini / bank / Pay-easy sale was paid (payload: `PaidLater`).
pub const PAID_LATER: &str = "paid-later";
/// Staff window: a print job went to the printer or failed (payload: `PrintStatus`).
pub const PRINT_STATUS: &str = "print-status";

/// Sends the staff window an event (a closed window is not an error: nothing to tell).
pub fn to_staff<R: Runtime, S: Serialize + Clone>(app: &AppHandle<R>, event: &str, payload: S) {
    let _ = app.emit_to(STAFF, event, payload);
}

/// Shows `view` on the customer display.
pub fn show_customer<R: Runtime>(app: &AppHandle<R>, view: CustomerView) -> tauri::Result<()> {
    app.emit_to(CUSTOMER, CUSTOMER_VIEW_EVENT, view)
}

/// Sends the customer display its view of `v` if it follows that invoice.
pub fn push_customer_view<R: Runtime>(
    app: &AppHandle<R>,
    state: &AppState,
    shop: &str,
    v: &InvoiceView,
) {
    if state.customer_invoice().as_deref() == Some(v.invoice_number.as_str()) {
        let _ = show_customer(app, CustomerView::of(shop, v));
    }
}

/// Opens (or focuses) the customer-facing window.
pub fn open_customer<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    if let Some(w) = app.get_webview_window(CUSTOMER) {
        w.set_focus()
    } else {
        WebviewWindowBuilder::new(app, CUSTOMER, WebviewUrl::App("customer.html".into()))
            .title("Reji — お客様画面")
            .inner_size(900.0, 700.0)
            .build()
            .map(|_| ())
    }
}

/// Demo mode: the fake KOMOJU's payment page at `url` in its own window (reused).
pub fn open_demo_pay<R: Runtime>(app: &AppHandle<R>, url: tauri::Url) -> tauri::Result<()> {
    if let Some(w) = app.get_webview_window(DEMO_PAY) {
        w.navigate(url)?;
        w.set_focus()
    } else {
        WebviewWindowBuilder::new(app, DEMO_PAY, WebviewUrl::External(url))
            .title("KOMOJU (demo) — お客様として支払う")
            .inner_size(520.0, 760.0)
            .build()
            .map(|_| ())
    }
}

/// Brings the staff window to the front (a second launch of the app).
pub fn focus_staff<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window(STAFF) {
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}
