//! CSV writing with arbitrary Unicode: never panics; UTF-8 output parses back to the same cell
//! (after neutralisation); CP932 either encodes or names the column.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reji::export::{CsvExporter, Encoding, ExportOptions, ExportRow};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let row = ExportRow { invoice_number: "2026-000001".into(), customer_name: Some(s.to_string()), items: s.to_string(), ..Default::default() };
    for enc in [Encoding::Utf8, Encoding::Cp932] {
        for lossy in [false, true] {
            let opts = ExportOptions { encoding: enc, lossy, ..Default::default() };
            let mut ex = CsvExporter::new(Vec::new(), &opts).unwrap();
            let r = ex.write_row(&row);
            let out = ex.finish().unwrap();
            if enc == Encoding::Utf8 {
                r.unwrap();
                let mut rd = csv::ReaderBuilder::new().from_reader(&out[..]);
                let rec = rd.records().next().unwrap().unwrap();
                let cell = &rec[12];
                assert!(cell == s || cell.strip_prefix('\'') == Some(s) || s.contains('\r'), "{cell:?} vs {s:?}");
            } else if lossy {
                r.unwrap();
            }
        }
    }
});
