//! Product list import on arbitrary bytes: never panics; every problem names a line of the file;
//! every row that passes comes back unchanged through an export and a second import.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reji::catalog::csv::{decode, parse_rows, Writer};
use reji::catalog::Product;
use reji::export::Encoding;

fuzz_target!(|data: &[u8]| {
    let Ok((rows, problems)) = parse_rows(data) else { return };
    let lines = decode(data).map(|(t, _)| t.matches('\n').count() as u64 + 1).unwrap_or(0);
    for p in &problems {
        assert!(p.line >= 1 && p.line <= lines, "line {} of {lines}", p.line);
    }
    let t = chrono::DateTime::from_timestamp(1_764_547_200, 0).unwrap();
    let products: Vec<Product> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| Product {
            id: format!("prd_{i:026}"),
            name: r.fields.name.clone(),
            kana: r.fields.kana.clone(),
            price: r.fields.price,
            class: r.fields.class,
            code: r.fields.code.as_ref().map(|c| c.as_str().to_string()),
            category: r.fields.category.clone(),
            quick_key: r.fields.quick_key,
            archived: r.archived,
            version: 1,
            created_at: t,
            updated_at: t,
        })
        .collect();
    for enc in [Encoding::Utf8Bom, Encoding::Cp932] {
        let mut w = Writer::new(Vec::new(), enc).unwrap();
        let mut written = Vec::new();
        for p in &products {
            if w.write(p).is_ok() {
                written.push(p);
            } else {
                assert_eq!(enc, Encoding::Cp932, "UTF-8 holds every product");
            }
        }
        let out = w.finish().unwrap();
        let (again, problems) = parse_rows(&out).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(again.len(), written.len());
        for (a, p) in again.iter().zip(written) {
            assert_eq!(a.id.as_deref(), Some(p.id.as_str()));
            assert_eq!(a.fields.name, p.name);
            assert_eq!(a.fields.kana, p.kana);
            assert_eq!(a.fields.price, p.price);
            assert_eq!(a.fields.class, p.class);
            assert_eq!(a.fields.code.as_ref().map(|c| c.as_str()), p.code.as_deref());
            assert_eq!(a.fields.category, p.category);
            assert_eq!(a.fields.quick_key, p.quick_key);
            assert_eq!(a.archived, p.archived);
        }
    }
});
