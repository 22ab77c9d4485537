//! CSV export
