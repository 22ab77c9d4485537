//! Half-width kana conversion for refund requests never panics and only yields bank-safe characters.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(out) = reji::kana::to_bank_kana(s) {
        assert!(out.chars().all(|c| c == ' '
            || c.is_ascii_digit()
            || c.is_ascii_uppercase()
            || "().-/,".contains(c)
            || ('\u{FF61}'..='\u{FF9F}').contains(&c)));
    }
});
