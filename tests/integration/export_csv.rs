use std::fs;
use std::io::{self, Write};

use chrono::{TimeZone, Utc};
use reji::export::{
    write_atomically, CsvExporter, Encoding, ExportError, ExportOptions, ExportRow, HeaderLang,
    COLUMNS,
};

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn row(n: u32) -> ExportRow {
    ExportRow {
        invoice_number: format!("INV-2026-{n:05}"),
        created_at: Utc.with_ymd_and_hms(2026, 11, 25, 7, 43, 0).unwrap(),
        status: "paid".into(),
        amount: 1650,
        currency: "JPY".into(),
        tax_10: 100,
        tax_8: 48,
        payment_method: Some("konbini".into()),
        payment_status: Some("captured".into()),
        paid_at: Some(Utc.with_ymd_and_hms(2026, 11, 25, 15, 5, 9).unwrap()),
        komoju_payment_id: Some("0a1b2c3d4e5f6g7h8i9j".into()),
        komoju_session_id: Some("e9x5mvx3jkpkofzcg7umfael6".into()),
        customer_name: Some("山田 太郎".into()),
        customer_email: Some("taro@example.jp".into()),
        refunded_amount: 0,
        customer_name_kana: Some("ヤマダ タロウ".into()),
        customer_phone: Some("090-1234-5678".into()),
        external_order_num: Some("ORD-77".into()),
        payment_method_fee: 190,
        attempts: 2,
        items: "コーヒー x2; パン x1".into(),
        exempt_amount: 0,
        discount: 0,
    }
}

fn export(rows: &[ExportRow], opts: &ExportOptions) -> Result<Vec<u8>, ExportError> {
    let mut ex = CsvExporter::new(Vec::new(), opts)?;
    for r in rows {
        ex.write_row(r)?;
    }
    assert_eq!(ex.rows_written(), rows.len() as u64);
    ex.finish()
}

fn opts(encoding: Encoding) -> ExportOptions {
    ExportOptions {
        encoding,
        ..ExportOptions::default()
    }
}

/// Decodes an export to text according to its encoding (checking the BOM).
fn decode(bytes: &[u8], encoding: Encoding) -> String {
    match encoding {
        Encoding::Utf8Bom => {
            assert!(bytes.starts_with(BOM), "missing BOM");
            String::from_utf8(bytes[3..].to_vec()).unwrap()
        }
        Encoding::Utf8 => {
            assert!(!bytes.starts_with(BOM), "unexpected BOM");
            String::from_utf8(bytes.to_vec()).unwrap()
        }
        Encoding::Cp932 => {
            assert!(!bytes.starts_with(BOM), "unexpected BOM");
            let (text, _, had_errors) = encoding_rs::SHIFT_JIS.decode(bytes);
            assert!(!had_errors, "invalid CP932");
            text.into_owned()
        }
    }
}

fn parse(text: &str) -> Vec<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    rdr.records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

fn col(name: &str) -> usize {
    COLUMNS.iter().position(|c| c.en == name).unwrap()
}

#[test]
fn all_encodings_round_trip_japanese_text() {
    for enc in [Encoding::Utf8Bom, Encoding::Utf8, Encoding::Cp932] {
        let bytes = export(&[row(1), row(2)], &opts(enc)).unwrap();
        let text = decode(&bytes, enc);
        let recs = parse(&text);
        assert_eq!(recs.len(), 3, "{enc}");
        let header: Vec<&str> = COLUMNS.iter().map(|c| c.en).collect();
        assert_eq!(recs[0], header, "{enc}");
        assert_eq!(
            recs[1],
            [
                "INV-2026-00001",
                "2026-11-25T16:43:00+09:00",
                "paid",
                "1650",
                "JPY",
                "100",
                "48",
                "konbini",
                "captured",
                "2026-11-26T00:05:09+09:00",
                "0a1b2c3d4e5f6g7h8i9j",
                "e9x5mvx3jkpkofzcg7umfael6",
                "山田 太郎",
                "taro@example.jp",
                "0",
                "ヤマダ タロウ",
                "090-1234-5678",
                "ORD-77",
                "190",
                "2",
                "コーヒー x2; パン x1",
                "0",
                "0",
            ],
            "{enc}"
        );
        assert_eq!(recs[2][0], "INV-2026-00002");
    }
}

#[test]
fn cp932_bytes_are_shift_jis() {
    let bytes = export(&[row(1)], &opts(Encoding::Cp932)).unwrap();
    // 山田 in CP932 is 8E 52 93 63.
    assert!(bytes.windows(4).any(|w| w == [0x8E, 0x52, 0x93, 0x63]));
    assert!(std::str::from_utf8(&bytes).is_err());
}

#[test]
fn bom_only_for_utf8_bom() {
    let b = export(&[], &opts(Encoding::Utf8Bom)).unwrap();
    assert!(b.starts_with(b"\xEF\xBB\xBFinvoice_number,created_at,"));
    assert_eq!(b.iter().filter(|&&c| c == 0xEF).count(), 1);
    assert!(export(&[], &opts(Encoding::Utf8))
        .unwrap()
        .starts_with(b"invoice_number,"));
    assert!(export(&[], &opts(Encoding::Cp932))
        .unwrap()
        .starts_with(b"invoice_number,"));
    assert!(ExportOptions::default().encoding == Encoding::Utf8Bom);
}

#[test]
fn crlf_line_endings() {
    let b = export(&[row(1), row(2)], &opts(Encoding::Utf8)).unwrap();
    let text = String::from_utf8(b).unwrap();
    assert_eq!(text.matches("\r\n").count(), 3);
    assert_eq!(text.matches('\n').count(), 3);
    assert!(text.ends_with("\r\n"));
}

#[test]
fn japanese_headers() {
    for enc in [Encoding::Utf8Bom, Encoding::Utf8, Encoding::Cp932] {
        let o = ExportOptions {
            encoding: enc,
            headers: HeaderLang::Ja,
            ..ExportOptions::default()
        };
        let text = decode(&export(&[row(1)], &o).unwrap(), enc);
        let recs = parse(&text);
        assert_eq!(recs[0].len(), 23);
        assert_eq!(
            &recs[0][..5],
            ["請求書番号", "作成日時", "状態", "金額", "通貨"]
        );
        assert_eq!(recs[0][5], "消費税10%");
        assert_eq!(recs[0][10], "KOMOJU決済ID");
        assert_eq!(recs[0][20], "明細");
        assert_eq!(recs[1][0], "INV-2026-00001");
    }
}

#[test]
fn formula_like_text_is_neutralised() {
    let cases = [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("＋81 90 1234 5678", "'＋81 90 1234 5678"),
        ("@x", "'@x"),
        ("-1 Corp", "'-1 Corp"),
        ("+1", "'+1"),
        ("\tTab", "'\tTab"),
        ("\rCR", "'\rCR"),
        ("＝1+1", "'＝1+1"),
        ("－5", "'－5"),
        ("＠home", "'＠home"),
        ("Smith-Jones", "Smith-Jones"),
        ("a=b", "a=b"),
        ("", ""),
    ];
    for enc in [Encoding::Utf8, Encoding::Cp932] {
        for (input, expected) in cases {
            let mut r = row(1);
            r.customer_name = Some(input.into());
            r.items = input.into();
            r.customer_phone = Some(input.into());
            let recs = parse(&decode(&export(&[r], &opts(enc)).unwrap(), enc));
            assert_eq!(recs[1][col("customer_name")], expected, "{enc} {input:?}");
            assert_eq!(recs[1][col("items")], expected, "{enc} {input:?}");
            assert_eq!(recs[1][col("customer_phone")], expected, "{enc} {input:?}");
        }
    }
    // Numbers are never neutralised (a negative amount stays a number).
    let mut r = row(1);
    r.refunded_amount = -100;
    let recs = parse(&decode(
        &export(&[r], &opts(Encoding::Utf8)).unwrap(),
        Encoding::Utf8,
    ));
    assert_eq!(recs[1][col("refunded_amount")], "-100");
}

#[test]
fn unmappable_in_cp932_names_invoice_and_column() {
    for (name, ch) in [("吉田 😀", '😀'), ("𠮷野家", '𠮷')] {
        let mut r = row(42);
        r.customer_name = Some(name.into());
        let err = export(&[row(1), r], &opts(Encoding::Cp932)).unwrap_err();
        match &err {
            ExportError::Unmappable {
                invoice_number,
                column,
                ch: c,
            } => {
                assert_eq!(invoice_number, "INV-2026-00042");
                assert_eq!(*column, "customer_name");
                assert_eq!(*c, ch);
            }
            other => panic!("unexpected {other:?}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains("INV-2026-00042") && msg.contains("customer_name"),
            "{msg}"
        );
    }
    // The column is right for a later column too.
    let mut r = row(3);
    r.items = "ケーキ 🎂 x1".into();
    match export(&[r], &opts(Encoding::Cp932)).unwrap_err() {
        ExportError::Unmappable { column, .. } => assert_eq!(column, "items"),
        other => panic!("unexpected {other:?}"),
    }
    // UTF-8 has no such limit.
    let mut r = row(4);
    r.customer_name = Some("𠮷野家 😀".into());
    let text = decode(
        &export(&[r], &opts(Encoding::Utf8Bom)).unwrap(),
        Encoding::Utf8Bom,
    );
    assert_eq!(parse(&text)[1][col("customer_name")], "𠮷野家 😀");
}

#[test]
fn failed_row_writes_nothing_and_exporter_continues() {
    let mut ex = CsvExporter::new(Vec::new(), &opts(Encoding::Cp932)).unwrap();
    let mut bad = row(2);
    bad.items = "😀".into();
    ex.write_row(&row(1)).unwrap();
    assert!(ex.write_row(&bad).is_err());
    ex.write_row(&row(3)).unwrap();
    assert_eq!(ex.rows_written(), 2);
    let recs = parse(&decode(&ex.finish().unwrap(), Encoding::Cp932));
    let ids: Vec<&str> = recs[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, ["INV-2026-00001", "INV-2026-00003"]);
}

#[test]
fn lossy_cp932_replaces_with_question_mark() {
    let mut r = row(1);
    r.customer_name = Some("𠮷野家 😀".into());
    r.items = "ケーキ 🎂 x1".into();
    let o = ExportOptions {
        encoding: Encoding::Cp932,
        lossy: true,
        ..ExportOptions::default()
    };
    let recs = parse(&decode(&export(&[r], &o).unwrap(), Encoding::Cp932));
    assert_eq!(recs[1][col("customer_name")], "?野家 ?");
    assert_eq!(recs[1][col("items")], "ケーキ ? x1");
}

#[test]
fn cp932_maps_wave_dash_and_minus() {
    let mut r = row(1);
    r.items = "営業 10時〜18時 − 定休日‖ ¢£¬ 一—二".into();
    let recs = parse(&decode(
        &export(&[r], &opts(Encoding::Cp932)).unwrap(),
        Encoding::Cp932,
    ));
    assert_eq!(
        recs[1][col("items")],
        "営業 10時～18時 － 定休日∥ ￠￡￢ 一―二"
    );
}

#[test]
fn time_zone_conversion() {
    let mut r = row(1);
    r.created_at = Utc.with_ymd_and_hms(2026, 7, 1, 15, 30, 0).unwrap();
    r.paid_at = None;
    let cases = [
        (chrono_tz::Asia::Tokyo, "2026-07-02T00:30:00+09:00"),
        (chrono_tz::UTC, "2026-07-01T15:30:00+00:00"),
        (chrono_tz::America::New_York, "2026-07-01T11:30:00-04:00"),
        (chrono_tz::Asia::Kolkata, "2026-07-01T21:00:00+05:30"),
    ];
    for (tz, expected) in cases {
        let o = ExportOptions {
            encoding: Encoding::Utf8,
            tz,
            ..ExportOptions::default()
        };
        let recs = parse(&decode(&export(&[r.clone()], &o).unwrap(), Encoding::Utf8));
        assert_eq!(recs[1][col("created_at")], expected, "{tz}");
        assert_eq!(recs[1][col("paid_at")], "", "{tz}");
    }
    // Winter time in New York.
    r.created_at = Utc.with_ymd_and_hms(2026, 1, 1, 3, 0, 0).unwrap();
    let o = ExportOptions {
        encoding: Encoding::Utf8,
        tz: chrono_tz::America::New_York,
        ..ExportOptions::default()
    };
    let recs = parse(&decode(&export(&[r], &o).unwrap(), Encoding::Utf8));
    assert_eq!(recs[1][col("created_at")], "2025-12-31T22:00:00-05:00");
}

#[test]
fn none_values_are_empty() {
    let r = ExportRow {
        invoice_number: "INV-1".into(),
        status: "draft".into(),
        currency: "JPY".into(),
        ..ExportRow::default()
    };
    let recs = parse(&decode(
        &export(&[r], &opts(Encoding::Utf8)).unwrap(),
        Encoding::Utf8,
    ));
    for name in [
        "payment_method",
        "paid_at",
        "komoju_payment_id",
        "customer_name",
        "customer_email",
        "customer_phone",
        "items",
    ] {
        assert_eq!(recs[1][col(name)], "", "{name}");
    }
    assert_eq!(recs[1][col("attempts")], "0");
    assert_eq!(recs[1][col("amount")], "0");
}

#[test]
fn commas_quotes_and_newlines_are_quoted() {
    let tricky = [
        "Sato, Hanako",
        "The \"Best\" Shop",
        "line1\nline2",
        "line1\r\nline2",
        "\"=1\"",
        "鈴木,\"一郎\"\n様",
    ];
    for enc in [Encoding::Utf8Bom, Encoding::Cp932] {
        let rows: Vec<ExportRow> = tricky
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut r = row(i as u32);
                r.customer_name = Some((*t).into());
                r.items = format!("{t}, x1");
                r
            })
            .collect();
        let recs = parse(&decode(&export(&rows, &opts(enc)).unwrap(), enc));
        assert_eq!(recs.len(), tricky.len() + 1);
        for (i, t) in tricky.iter().enumerate() {
            assert_eq!(recs[i + 1].len(), 23);
            assert_eq!(recs[i + 1][col("customer_name")], *t, "{enc}");
            assert_eq!(recs[i + 1][col("items")], format!("{t}, x1"), "{enc}");
        }
    }
}

#[test]
fn streams_without_buffering_rows() {
    /// Counts bytes written and remembers the largest single write.
    struct Sink {
        total: usize,
        writes: usize,
    }
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.total += b.len();
            self.writes += 1;
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let r = row(1);
    let mut ex = CsvExporter::new(
        Sink {
            total: 0,
            writes: 0,
        },
        &opts(Encoding::Cp932),
    )
    .unwrap();
    for _ in 0..20_000 {
        ex.write_row(&r).unwrap();
    }
    // Data reaches the writer while rows are still being written.
    let sink = ex.finish().unwrap();
    assert!(sink.writes > 100, "{} writes", sink.writes);
    assert!(sink.total > 20_000 * 100);
}

#[test]
fn write_atomically_replaces_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("invoices.csv");
    fs::write(&path, "old").unwrap();
    write_atomically::<ExportError>(&path, |w| {
        let mut ex = CsvExporter::new(w, &opts(Encoding::Utf8))?;
        ex.write_row(&row(1))?;
        ex.finish()?;
        Ok(())
    })
    .unwrap();
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("invoice_number,") && text.contains("INV-2026-00001"));
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "temp file left behind"
    );
}

#[test]
fn write_atomically_keeps_old_file_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("invoices.csv");
    fs::write(&path, "old contents").unwrap();
    let mut bad = row(2);
    bad.customer_name = Some("😀".into());
    let err = write_atomically::<ExportError>(&path, |w| {
        let mut ex = CsvExporter::new(w, &opts(Encoding::Cp932))?;
        ex.write_row(&row(1))?;
        ex.write_row(&bad)?;
        ex.finish()?;
        Ok(())
    })
    .unwrap_err();
    assert!(matches!(err, ExportError::Unmappable { .. }), "{err}");
    assert_eq!(fs::read_to_string(&path).unwrap(), "old contents");
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["invoices.csv"], "temp file left behind");

    // Also when there was no file before.
    let new = dir.path().join("new.csv");
    assert!(
        write_atomically::<ExportError>(&new, |_| Err(io::Error::other("disk full").into()))
            .is_err()
    );
    assert!(!new.exists());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn write_atomically_cleans_up_on_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.csv");
    let p = path.clone();
    let res = std::panic::catch_unwind(move || {
        let _ = write_atomically::<ExportError>(&p, |w| {
            w.write_all(b"partial").unwrap();
            panic!("boom");
        });
    });
    assert!(res.is_err());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// A larger run to keep an eye on speed: `cargo test --release -- --ignored --nocapture`.
#[test]
#[ignore]
fn million_rows_speed() {
    let r = row(1);
    for enc in [Encoding::Utf8Bom, Encoding::Cp932] {
        let start = std::time::Instant::now();
        let mut ex = CsvExporter::new(io::sink(), &opts(enc)).unwrap();
        for _ in 0..1_000_000 {
            ex.write_row(&r).unwrap();
        }
        ex.finish().unwrap();
        println!("{enc}: 1M rows in {:?}", start.elapsed());
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn expected(s: &str) -> String {
        let formula = s.starts_with([
            '=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠', '\u{2212}',
        ]);
        if formula {
            format!("'{s}")
        } else {
            s.to_owned()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Any text survives a UTF-8 export and a CSV parse (apart from neutralisation).
        #[test]
        fn any_text_round_trips_in_utf8(name in any::<String>(), items in "[-=+@\t\r\n\",; a-zｱ-ﾝあ-ん漢字😀]{0,20}") {
            let mut r = row(1);
            r.customer_name = Some(name.clone());
            r.items = items.clone();
            let recs = parse(&decode(&export(&[r], &opts(Encoding::Utf8Bom)).unwrap(), Encoding::Utf8Bom));
            prop_assert_eq!(recs.len(), 2);
            prop_assert_eq!(recs[1].len(), 23);
            prop_assert_eq!(&recs[1][col("customer_name")], &expected(&name));
            prop_assert_eq!(&recs[1][col("items")], &expected(&items));
        }

        /// Lossy CP932 never fails and never breaks the row structure.
        #[test]
        fn lossy_cp932_never_fails(name in any::<String>()) {
            let mut r = row(1);
            r.customer_name = Some(name);
            let o = ExportOptions { encoding: Encoding::Cp932, lossy: true, ..ExportOptions::default() };
            let recs = parse(&decode(&export(&[r], &o).unwrap(), Encoding::Cp932));
            prop_assert_eq!(recs.len(), 2);
            prop_assert_eq!(recs[1].len(), 23);
        }
    }
}
