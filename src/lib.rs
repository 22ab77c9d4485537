//! Reji core: money & tax, invoices, the KOMOJU client, the SQLite ledger, CSV export and QR codes.
//!
//! Nothing here depends on Tauri: the `reji` CLI and the desktop shell are thin layers over this crate.

pub mod catalog;
pub mod clock;
pub mod discount;
pub mod display;
pub mod export;
pub mod invoice;
pub mod kana;
pub mod keychain;
pub mod komoju;
pub mod ledger;
pub mod money;
pub mod printing;
pub mod qr;
pub mod receipt;
pub mod register;
pub mod staff;
pub mod status;
pub mod support;
pub mod tax;
pub mod tender;
pub mod tracker;

/// The stateful fake KOMOJU (the `fake-komoju` crate), for demo mode.
#[cfg(feature = "fake")]
pub use fake_komoju as fake;
