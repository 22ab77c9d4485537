//! Reji core: money & tax, invoices, the KOMOJU client, the SQLite ledger, CSV export and QR codes.
//!
//! Nothing here depends on Tauri: the `reji` CLI and the desktop shell are thin layers over this crate.

pub mod clock;
pub mod export;
pub mod keychain;
pub mod qr;

#[cfg(feature = "fake")]
pub mod fake;
