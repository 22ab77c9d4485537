//! The heavy integration tests, in a binary of their own: many `reji` processes on one ledger at once
//! (`concurrency`), kill -9 at random moments (`crash`) and a long run against a faulty fake (`soak`).
//! Cargo runs test binaries one after another, so these never load the machine while the
//! timing-sensitive tests in `tests/integration/` run.

#[path = "../common/mod.rs"]
mod common;

mod concurrency;
mod crash;
mod soak;
