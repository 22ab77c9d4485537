//! The core's payment tracker inside the app: one owned task started in `setup` (and again when the
//! mode changes), its notices forwarded to the windows as typed Tauri events. No logic of its own:
//! what changed and how is decided in `reji::tracker`.

use crate::state::AppState;
use crate::windows::{push_customer_view, to_staff, INVOICE_CHANGED, PAID_LATER, TRACKER_STATUS};
use reji::display::ChargeScreen;
use reji::status::InvoiceStatus;
use reji::tracker::{Notice, Tracker, TrackerConfig};
use serde::Serialize;
use tauri::{AppHandle, Manager, Runtime};
use tokio::sync::broadcast::error::RecvError;

/// What the staff window's banner shows about the tracker. `message_key` is an i18n key.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TrackerStatus {
    /// `events` or `list`: the change feed following konbini / bank payments.
    pub feed: Option<&'static str>,
    pub network_ok: bool,
    pub key_problem: bool,
    pub message_key: Option<&'static str>,
}

/// An invoice paid later at a store or bank (the staff are not looking at it any more).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PaidLater {
    pub invoice_number: String,
    pub amount: i64,
    pub currency: String,
    pub method: Option<String>,
}

/// Whether a change deserves an OS notification: money arrived for a sale that was waiting at a
/// konbini, bank or Pay-easy (the cashier saw card and PayPay payments on the charge screen).
pub fn paid_later(
    from: InvoiceStatus,
    to: InvoiceStatus,
    screen: &ChargeScreen,
) -> Option<PaidLater> {
    InvoiceStatus::is_paid_later(from, to).then(|| PaidLater {
        invoice_number: screen.invoice_number.clone(),
        amount: screen.amount,
        currency: screen.currency.clone(),
        method: screen.payment_method.clone(),
    })
}

/// Starts the tracker over the app's register (when it has a KOMOJU client) and forwards its
/// notices. A tracker already running is shut down first. Must run inside the async runtime.
pub async fn start<R: Runtime>(app: &AppHandle<R>, state: &AppState) {
    if let Some(old) = state.take_tracker() {
        old.stop().await;
    }
    let (client, feed) = {
        let reg = state.register.lock().await;
        (reg.client_handle(), reg.settings().feed)
    };
    let Ok(client) = client else {
        // No key (or a key problem): nothing to follow until one is saved.
        return;
    };
    let cfg = TrackerConfig {
        feed,
        ..TrackerConfig::default()
    };
    let tracker = Tracker::spawn(state.register.clone(), client, cfg);
    let mut rx = tracker.subscribe();
    state.set_tracker(tracker);
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut status = TrackerStatus {
            feed: None,
            network_ok: true,
            key_problem: false,
            message_key: None,
        };
        loop {
            match rx.recv().await {
                Ok(n) => forward(&app, n, &mut status).await,
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            }
        }
    });
}

async fn forward<R: Runtime>(app: &AppHandle<R>, notice: Notice, status: &mut TrackerStatus) {
    let before = status.clone();
    match notice {
        Notice::Change {
            from, to, invoice, ..
        } => {
            let screen = ChargeScreen::from_view(&invoice);
            crate::applog::info(&format!(
                "invoice {}: {} -> {}",
                screen.invoice_number,
                from.as_str(),
                to.as_str()
            ));
            to_staff(app, INVOICE_CHANGED, &screen);
            let state = app.state::<AppState>();
            let shop = state.register.lock().await.settings().shop_name.clone();
            push_customer_view(app, &state, &shop, &invoice);
            if to.has_receipt() && !from.has_receipt() {
                // Paid: the receipt prints by itself when the settings say so.
                crate::printing::after_sale(app, &screen.invoice_number).await;
            }
            if let Some(p) = paid_later(from, to, &screen) {
                // The staff window shows it and raises the OS notification in the staff's language.
                to_staff(app, PAID_LATER, &p);
            }
        }
        Notice::Feed { feed } => status.feed = Some(feed.as_str()),
        Notice::Network { ok, .. } => {
            if ok != status.network_ok {
                if ok {
                    crate::applog::info("KOMOJU answers again");
                } else {
                    crate::applog::warn("KOMOJU cannot be reached (network)");
                }
            }
            status.network_ok = ok;
            status.message_key = (!ok).then_some("error.network");
        }
        Notice::KeyProblem { .. } => {
            if !status.key_problem {
                crate::applog::error("KOMOJU refused the secret key (komoju_auth)");
            }
            status.key_problem = true;
            status.message_key = Some("error.komoju_auth");
        }
        Notice::Pass { feed, .. } => {
            status.feed = Some(feed.as_str());
            status.key_problem = false;
        }
    }
    if *status != before {
        to_staff(app, TRACKER_STATUS, &*status);
    }
}
