//! The receipt's PDF (when a Japanese font is installed): for the same arbitrary sales as the
//! `receipt` target, the PDF renders and starts with `%PDF-`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reji::receipt::{html, pdf};
use std::sync::OnceLock;

#[path = "receipt_case.rs"]
mod case;

fn font() -> Option<&'static pdf::PdfFont> {
    static F: OnceLock<Option<pdf::PdfFont>> = OnceLock::new();
    F.get_or_init(|| pdf::PdfFont::load().ok()).as_ref()
}

fuzz_target!(|data: &[u8]| {
    if let (Some(r), Some(font)) = (case::receipt_case(data), font()) {
        let out = pdf::render(&r.layout(), html::Paper::Roll80, font).unwrap();
        assert!(out.starts_with(b"%PDF-"));
    }
});
