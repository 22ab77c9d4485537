//! Clock
