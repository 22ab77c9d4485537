//! The receipt renderer with arbitrary item names, shop details and amounts: never panics; the HTML
//! never carries a raw `<` from the input; per-rate amounts of a refund add up to the refund (the
//! checks are in `receipt_case.rs`). The PDF renderer, ~100× slower, has its own target
//! (`receipt_pdf`) so that these paths get the bulk of the executions.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "receipt_case.rs"]
mod case;

fuzz_target!(|data: &[u8]| {
    let _ = case::receipt_case(data);
});
