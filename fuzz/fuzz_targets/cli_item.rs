//! `--item NAME,UNIT_PRICE,QTY,RATE` parsing never panics; what parses has a sane amount and tax.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(item) = s.parse::<reji::invoice::LineItem>() {
        assert!(!item.name.trim().is_empty());
        assert!(item.quantity >= 1);
        if let Some(a) = item.amount() {
            let b = reji::tax::compute([(item.tax_rate, a)], Default::default(), Default::default()).unwrap();
            assert_eq!(b.per_rate.iter().map(|r| r.gross).sum::<i64>(), b.total);
        }
    }
});
