//! Every integration test of the core and the `reji` CLI, in one test binary.
//!
//! One binary links the crate once instead of once per file: on CI's two cores that saves minutes of
//! linking and gigabytes of disk. The heavy tests (many processes, kill -9, a long soak) are in
//! `tests/stress/`, so that they never share the machine with the timing-sensitive ones here.

#[path = "../common/mod.rs"]
mod common;

mod cli_backup;
mod cli_bad_input;
mod cli_close;
mod cli_drawer;
mod cli_export;
mod cli_faults;
mod cli_flows;
mod cli_keys;
mod cli_products;
mod cli_receipt;
mod cli_staff;
mod cli_tenders;
mod cli_watch;
mod export_csv;
mod fake_api;
mod hostile_server;
mod keychain;
mod ledger;
mod printing;
mod qr_roundtrip;
mod secret_hygiene;
mod tracker;
mod upgrade;
