//! The register: every use case the CLI and the desktop app offer, over the ledger and the KOMOJU
//! client, with time passed in. One module per use case family:
//!
//! - `charge`: ring up a sale, store it with its request, POST it (renumbering a taken order number);
//! - `refresh`: show, sync, replay of unanswered requests, the status derived from the ledger;
//! - `staff`: cancel, refund / refund request, retry, correct the customer;
//! - `books`: daily close, today, receipts, the journal; `history`: list, view, events, CSV export;
//! - `after_restore`: what KOMOJU knows and a restored ledger lacks;
//! - `assembly`: opening a register (ledger, key, client, retry policy, clock) for every front end;
//! - `input` (what staff give, and its checks), `settings`, `view` (what is returned), `error`,
//!   `bodies` (KOMOJU request bodies).

use crate::clock::Clock;
use crate::invoice::{
    Customer, Draft, InvoiceNumber, LineItem, DEFAULT_EXPIRES_IN, MAX_EXPIRES_IN,
};
use crate::kana;
use crate::keychain::KeyError;
use crate::komoju::{
    Client, KomojuError, Payment, PaymentStatus, PaymentType, Session, SessionStatus,
};
use crate::ledger::{
    ApiRequest, Attempt, Filter, InvoiceRecord, Ledger, LedgerError, Move, MoveFacts, PaymentRecord,
};
use crate::money::{Currency, Money};
use crate::status::{derive, Expectation, InvoiceStatus, MoveKind};
use crate::tax::{Dining, PriceMode, Rounding, TaxRate};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

mod after_restore;
mod assembly;
mod bodies;
mod books;
mod cart;
mod catalog;
mod charge;
mod drawer;
mod error;
mod history;
mod input;
mod people;
mod printing;
mod refresh;
mod returns;
mod settings;
mod staff;
mod view;

pub use assembly::{Assembly, KeySource};
pub use bodies::check_bank_account;
use bodies::*;
pub use books::{close_report, CloseFormat, DayFigures};
pub use cart::{Cart, CartPreview, HeldOrder, MAX_CART_LINES};
pub use catalog::{ImportReport, ProductLine, PRODUCT_LIST_LIMIT};
pub use drawer::{CashCount, DrawerReport, DENOMINATIONS};
pub use error::*;
pub use history::*;
pub use input::*;
pub use people::{Actor, Denied, Need, Who};
pub use printing::{drawer_report_layout, PrintDelivery, PrintReport, KICK_WINDOW_SECS};
use refresh::*;
pub use returns::{
    ReturnLine, ReturnRate, ReturnRecord, ReturnState, ReturnedLine, MAX_RETURN_REASON,
};
pub use settings::*;
pub use view::*;

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
    /// Who is signed in (`Register::sign_in`); the implicit owner until then.
    actor: Actor,
}

/// Something staff should know beside a use case's result: a closed `code` (the UI shows
/// `notice.<code>` in the staff's language) and an English `message` with the details (the CLI
/// prints it).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Notice {
    pub code: NoticeCode,
    pub message: String,
}

#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum NoticeCode {
    /// A repeated refund, cancel or retry found that the first one had gone through.
    SettledEarlier,
    /// KOMOJU knew the sale's number (a restored ledger issued it again): it took the next one.
    Renumbered,
    /// Sales KOMOJU had and a restored ledger lacked were brought back.
    RecoveredAfterRestore,
    /// After a restore, the numbers continue after the last one KOMOJU knows.
    NumbersMovedAfterRestore,
    /// KOMOJU could not be asked after a restore; the next command tries again.
    RestoreCheckFailed,
}

impl NoticeCode {
    pub const ALL: &'static [NoticeCode] = &[
        NoticeCode::SettledEarlier,
        NoticeCode::Renumbered,
        NoticeCode::RecoveredAfterRestore,
        NoticeCode::NumbersMovedAfterRestore,
        NoticeCode::RestoreCheckFailed,
    ];

    /// The UI dictionary key of this notice's sentence.
    pub fn message_key(self) -> String {
        let code = serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        format!("notice.{code}")
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
            actor: Actor { member: None },
        })
    }

    /// Messages for staff gathered since the last call (printed by the CLI on stderr).
    pub fn take_notices(&mut self) -> Vec<Notice> {
        std::mem::take(&mut self.notices)
    }

    pub(super) fn notice(&mut self, code: NoticeCode, message: String) {
        self.notices.push(Notice { code, message });
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn set_setting(&mut self, key: &str, value: impl Into<SettingValue>) -> Result<()> {
        self.set_settings(&[(key.to_string(), value.into())])
    }

    /// Several settings saved together: all of them or, when one is refused (its error names
    /// it), none.
    pub fn set_settings(&mut self, changes: &[(String, SettingValue)]) -> Result<()> {
        let mut s = self.settings.clone();
        for (key, value) in changes {
            s.apply_value(key, value)?;
        }
        self.ledger.atomically(|l| {
            for (key, value) in changes {
                l.set_meta(&format!("setting.{key}"), &value.to_text())?;
            }
            Ok::<_, Error>(())
        })?;
        self.settings = s;
        Ok(())
    }

    /// Records why no client could be made; the first use case that needs KOMOJU reports it.
    pub fn set_client_error(&mut self, e: KeyError) {
        self.client_error = Some(e);
    }

    pub(super) fn client(&self) -> Result<&Client> {
        match (&self.client, &self.client_error) {
            (Some(c), _) => Ok(c),
            (None, Some(e)) => Err(Error::Key(e.clone())),
            (None, None) => Err(Error::NoClient),
        }
    }

    pub(super) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// A clone of the KOMOJU client (the tracker does its HTTP without holding the register).
    pub fn client_handle(&self) -> Result<Client> {
        self.client().cloned()
    }

    /// The shop's clock.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// Checks that KOMOJU answers with the key: see [`check_connection`].
    pub async fn test_connection(&self) -> Result<ConnectionCheck> {
        let client = self.client_handle()?;
        check_connection(&client).await
    }
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
        assert_eq!(reloaded.feed, FeedMode::List);
        assert_eq!(reloaded.get("feed").unwrap(), "list");
    }
}
