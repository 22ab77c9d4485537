//! CSV export of invoices, for accountants and spreadsheets (Excel in Japan in particular).
//!
//! * [`CsvExporter`] streams rows straight to any [`Write`]r: memory use stays flat whatever
//!   the number of rows, and buffers are reused between rows.
//! * Three encodings ([`Encoding`]): UTF-8 with a BOM (the default, which Excel detects),
//!   plain UTF-8, and CP932 (Windows-31J, "Shift_JIS" as Windows means it).
//! * Text cells that a spreadsheet would read as a formula are neutralised with a leading `'`.
//! * Timestamps are ISO 8601 with the offset of the chosen time zone (default `Asia/Tokyo`).
//! * [`write_atomically`] writes a file so that readers see either the old or the new export,
//!   never a half-written one.
//!
//! * A lossy CP932 export says what it replaced ([`Replacements`]): how many characters, and the
//!   row and column of the first few.
//!
//! The column list, with English and Japanese headers, is [`COLUMNS`]; `docs/csv.md` documents
//! every column.

mod atomic;
mod cell;
mod close;
mod drawer;
mod from_ledger;
pub mod journal;

use std::fmt;
use std::io::Write;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use atomic::{check_target, write_atomically, write_spooled, Target};
pub use close::close_csv;
pub use drawer::drawer_csv;
pub use from_ledger::export_ledger;
pub use from_ledger::{export_ledger_reporting, ExportRowsError, PROGRESS_EVERY};

/// Character encoding of the exported file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Encoding {
    /// UTF-8 preceded by a byte order mark (`EF BB BF`), so that Excel opens it as UTF-8.
    #[default]
    Utf8Bom,
    /// UTF-8 without a BOM (for scripts and other tools).
    Utf8,
    /// CP932 / Windows-31J (Microsoft's Shift_JIS), for older Japanese software.
    Cp932,
}

impl Encoding {
    /// The canonical name, as accepted by [`FromStr`] and printed by [`fmt::Display`].
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8Bom => "utf-8-bom",
            Encoding::Utf8 => "utf-8",
            Encoding::Cp932 => "cp932",
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Encoding {
    type Err = ExportError;

    /// Accepts `utf-8-bom`, `utf-8`, `cp932` (case-insensitive, `_` and `-` interchangeable),
    /// plus the aliases `utf8-bom`, `utf-8-sig`, `utf8`, `shift_jis`, `sjis`, `windows-31j`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        match norm.as_str() {
            "utf-8-bom" | "utf8-bom" | "utf-8-sig" | "utf8-sig" => Ok(Encoding::Utf8Bom),
            "utf-8" | "utf8" => Ok(Encoding::Utf8),
            "cp932" | "shift-jis" | "sjis" | "windows-31j" | "ms932" => Ok(Encoding::Cp932),
            _ => Err(ExportError::UnknownEncoding(s.to_owned())),
        }
    }
}

/// Language of the header row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HeaderLang {
    /// English snake_case headers (`invoice_number`, …), stable for scripts.
    #[default]
    En,
    /// Japanese headers (`請求書番号`, …), for people.
    Ja,
}

impl HeaderLang {
    /// `"en"` or `"ja"`.
    pub fn as_str(self) -> &'static str {
        match self {
            HeaderLang::En => "en",
            HeaderLang::Ja => "ja",
        }
    }
}

impl fmt::Display for HeaderLang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HeaderLang {
    type Err = ExportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "en" => Ok(HeaderLang::En),
            "ja" => Ok(HeaderLang::Ja),
            _ => Err(ExportError::UnknownHeaderLang(s.to_owned())),
        }
    }
}

/// How to write the export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportOptions {
    pub encoding: Encoding,
    /// With [`Encoding::Cp932`]: replace characters CP932 cannot represent with `?` instead of
    /// failing with [`ExportError::Unmappable`]. Ignored for the UTF-8 encodings.
    pub lossy: bool,
    pub headers: HeaderLang,
    /// Time zone of the exported timestamps.
    pub tz: chrono_tz::Tz,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            encoding: Encoding::default(),
            lossy: false,
            headers: HeaderLang::default(),
            tz: chrono_tz::Asia::Tokyo,
        }
    }
}

/// One invoice, as exported. Filled by the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ExportRow {
    pub invoice_number: String,
    pub created_at: DateTime<Utc>,
    pub status: String,
    /// Total in the currency's smallest unit (yen for JPY).
    pub amount: i64,
    pub currency: String,
    pub tax_10: i64,
    pub tax_8: i64,
    pub payment_method: Option<String>,
    pub payment_status: Option<String>,
    pub paid_at: Option<DateTime<Utc>>,
    pub komoju_payment_id: Option<String>,
    pub komoju_session_id: Option<String>,
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    pub refunded_amount: i64,
    // Extra columns, after the required ones.
    pub customer_name_kana: Option<String>,
    pub customer_phone: Option<String>,
    pub external_order_num: Option<String>,
    pub payment_method_fee: i64,
    pub attempts: u32,
    /// Short summary of the line items, e.g. `Coffee x2; Bread x1`.
    pub items: String,
    /// The exempt (非課税) lines' total, part of `amount`.
    pub exempt_amount: i64,
    /// Every discount of the sale (lines and order), already taken off `amount`; in the shop's
    /// price mode (before tax for a tax-exclusive shop).
    pub discount: i64,
}

/// A column of the export: its English and Japanese header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub en: &'static str,
    pub ja: &'static str,
}

impl Column {
    /// The header in the given language.
    pub fn header(&self, lang: HeaderLang) -> &'static str {
        match lang {
            HeaderLang::En => self.en,
            HeaderLang::Ja => self.ja,
        }
    }
}

const fn col(en: &'static str, ja: &'static str) -> Column {
    Column { en, ja }
}

/// Every column, in file order.
pub const COLUMNS: [Column; 23] = [
    col("invoice_number", "請求書番号"),
    col("created_at", "作成日時"),
    col("status", "状態"),
    col("amount", "金額"),
    col("currency", "通貨"),
    col("tax_10", "消費税10%"),
    col("tax_8", "消費税8%"),
    col("payment_method", "支払方法"),
    col("payment_status", "決済状態"),
    col("paid_at", "入金日時"),
    col("komoju_payment_id", "KOMOJU決済ID"),
    col("komoju_session_id", "KOMOJUセッションID"),
    col("customer_name", "顧客名"),
    col("customer_email", "メールアドレス"),
    col("refunded_amount", "返金額"),
    col("customer_name_kana", "顧客名カナ"),
    col("customer_phone", "電話番号"),
    col("external_order_num", "注文番号"),
    col("payment_method_fee", "決済手数料"),
    col("attempts", "試行回数"),
    col("items", "明細"),
    col("exempt_amount", "非課税額"),
    col("discount", "値引額"),
];

/// What a lossy CP932 export wrote as `?`: how many characters, and in which cells the first
/// [`Replacements::LISTED`] were.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Replacements {
    /// Characters written as `?`, in all.
    pub count: u64,
    /// The first cells with replaced characters, in file order.
    pub first: Vec<Replaced>,
}

/// One cell with characters written as `?`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Replaced {
    /// The data row (1 = the first row after the header).
    pub row: u64,
    /// The invoice number (the journal: its 仕訳メモ, which starts with the invoice).
    pub invoice: String,
    /// The column's header (English for the invoice export, Yayoi's for the journal).
    pub column: &'static str,
    /// Characters replaced in this cell.
    pub count: u64,
}

impl Replacements {
    /// How many cells are listed in [`Replacements::first`].
    pub const LISTED: usize = 5;

    /// Counts `count` replaced characters in a cell.
    pub fn add(&mut self, row: u64, invoice: &str, column: &'static str, count: u64) {
        if count == 0 {
            return;
        }
        self.count += count;
        if self.first.len() < Self::LISTED {
            self.first.push(Replaced {
                row,
                invoice: invoice.to_owned(),
                column,
                count,
            });
        }
    }

    /// A sentence for people, or `None` when nothing was replaced: `3 characters that CP932 cannot
    /// hold were written as '?': row 1 (invoice 2026-000001) customer_name (2), …`.
    pub fn summary(&self) -> Option<String> {
        if self.count == 0 {
            return None;
        }
        let listed: u64 = self.first.iter().map(|r| r.count).sum();
        let mut cells: Vec<String> = self
            .first
            .iter()
            .map(|r| format!("row {} ({}) {} ({})", r.row, r.invoice, r.column, r.count))
            .collect();
        if listed < self.count {
            cells.push(format!("{} more", self.count - listed));
        }
        Some(format!(
            "{} character{} that CP932 cannot hold {} written as '?': {}",
            self.count,
            if self.count == 1 { "" } else { "s" },
            if self.count == 1 { "was" } else { "were" },
            cells.join(", ")
        ))
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExportSummary {
    /// Data rows written (the header row is not counted).
    pub rows: u64,
    /// Characters a lossy CP932 export wrote as `?`.
    pub replaced: Replacements,
}

/// Everything that can go wrong while exporting.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("I/O error while writing the CSV export: {0}")]
    Io(#[from] std::io::Error),
    #[error("CSV error while writing the export: {0}")]
    Csv(String),
    #[error(
        "invoice {invoice_number}: column {column} contains {ch:?} (U+{code:04X}), which cannot be \
         represented in CP932; export as UTF-8 instead, or allow lossy output to replace it with '?'",
        code = u32::from(*.ch)
    )]
    Unmappable {
        invoice_number: String,
        column: &'static str,
        ch: char,
    },
    #[error("unknown encoding {0:?}; expected utf-8-bom, utf-8 or cp932")]
    UnknownEncoding(String),
    #[error("unknown header language {0:?}; expected en or ja")]
    UnknownHeaderLang(String),
}

impl From<csv::Error> for ExportError {
    fn from(e: csv::Error) -> Self {
        if e.is_io_error() {
            if let csv::ErrorKind::Io(io) = e.into_kind() {
                return ExportError::Io(io);
            }
            unreachable!("is_io_error() implies ErrorKind::Io");
        }
        ExportError::Csv(e.to_string())
    }
}

/// Streams invoices as CSV to `W`.
///
/// Each row is first encoded completely into a reused buffer, then handed to the CSV writer:
/// a row that fails (e.g. [`ExportError::Unmappable`]) writes nothing, and the exporter can go on.
pub struct CsvExporter<W: Write> {
    wtr: csv::Writer<W>,
    opts: ExportOptions,
    row: cell::RowBuf,
    rows_written: u64,
    replaced: Replacements,
}

impl<W: Write> CsvExporter<W> {
    /// Writes the BOM (for [`Encoding::Utf8Bom`]) and the header row.
    pub fn new(mut out: W, opts: &ExportOptions) -> Result<Self, ExportError> {
        if opts.encoding == Encoding::Utf8Bom {
            out.write_all(b"\xEF\xBB\xBF")?;
        }
        let wtr = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(out);
        let mut exporter = CsvExporter {
            wtr,
            opts: *opts,
            row: cell::RowBuf::default(),
            rows_written: 0,
            replaced: Replacements::default(),
        };
        exporter.row.clear();
        for (i, c) in COLUMNS.iter().enumerate() {
            // Headers are never neutralised (none starts with a formula character).
            exporter
                .row
                .raw_text(c.header(opts.headers), &exporter.opts)
                .map_err(|ch| ExportError::Unmappable {
                    invoice_number: "(header row)".to_owned(),
                    column: COLUMNS[i].en,
                    ch,
                })?;
        }
        exporter.flush_row()?;
        Ok(exporter)
    }

    /// Writes one invoice.
    pub fn write_row(&mut self, r: &ExportRow) -> Result<(), ExportError> {
        let opts = self.opts;
        let b = &mut self.row;
        b.clear();
        let inv = r.invoice_number.as_str();
        let row_no = self.rows_written + 1;
        let replaced = &mut self.replaced;
        // The closure names the column for an unmappable character; `b.len()` is the index of
        // the column being written.
        let unmappable = |col: usize, ch: char| ExportError::Unmappable {
            invoice_number: inv.to_owned(),
            column: COLUMNS[col].en,
            ch,
        };
        macro_rules! text {
            ($s:expr) => {{
                let col = b.len();
                let n = b.text($s, &opts).map_err(|ch| unmappable(col, ch))?;
                replaced.add(row_no, inv, COLUMNS[col].en, n);
            }};
        }
        // With Japanese headers, the status and the payment method are Japanese too.
        let ja = opts.headers == HeaderLang::Ja;
        let status = match r.status.parse::<crate::status::InvoiceStatus>() {
            Ok(s) if ja => s.label_ja().to_string(),
            _ => r.status.clone(),
        };
        let method = r.payment_method.as_deref().map(|m| {
            if ja {
                crate::receipt::method_label(m)
            } else {
                m.to_string()
            }
        });
        text!(inv);
        b.timestamp(Some(&r.created_at), opts.tz);
        text!(&status);
        b.int(r.amount);
        text!(&r.currency);
        b.int(r.tax_10);
        b.int(r.tax_8);
        text!(opt(&method));
        text!(opt(&r.payment_status));
        b.timestamp(r.paid_at.as_ref(), opts.tz);
        text!(opt(&r.komoju_payment_id));
        text!(opt(&r.komoju_session_id));
        text!(opt(&r.customer_name));
        text!(opt(&r.customer_email));
        b.int(r.refunded_amount);
        text!(opt(&r.customer_name_kana));
        text!(opt(&r.customer_phone));
        text!(opt(&r.external_order_num));
        b.int(r.payment_method_fee);
        b.int(i64::from(r.attempts));
        text!(&r.items);
        b.int(r.exempt_amount);
        b.int(r.discount);
        debug_assert_eq!(b.len(), COLUMNS.len());
        self.flush_row()?;
        self.rows_written += 1;
        Ok(())
    }

    /// Number of invoice rows written so far (the header row is not counted).
    pub fn rows_written(&self) -> u64 {
        self.rows_written
    }

    /// Characters written as `?` so far (lossy CP932).
    pub fn replacements(&self) -> &Replacements {
        &self.replaced
    }

    /// Flushes everything and returns the writer.
    pub fn finish(self) -> Result<W, ExportError> {
        self.wtr
            .into_inner()
            .map_err(|e| ExportError::Io(e.into_error()))
    }

    fn flush_row(&mut self) -> Result<(), ExportError> {
        for field in self.row.fields() {
            self.wtr.write_field(field)?;
        }
        self.wtr.write_record(None::<&[u8]>)?;
        Ok(())
    }
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_names_round_trip() {
        for e in [Encoding::Utf8Bom, Encoding::Utf8, Encoding::Cp932] {
            assert_eq!(e.to_string().parse::<Encoding>().unwrap(), e);
        }
        assert_eq!("Shift_JIS".parse::<Encoding>().unwrap(), Encoding::Cp932);
        assert_eq!("sjis".parse::<Encoding>().unwrap(), Encoding::Cp932);
        assert_eq!("UTF-8".parse::<Encoding>().unwrap(), Encoding::Utf8);
        let err = "latin1".parse::<Encoding>().unwrap_err().to_string();
        assert!(err.contains("latin1") && err.contains("cp932"), "{err}");
    }

    #[test]
    fn header_lang_names() {
        assert_eq!("ja".parse::<HeaderLang>().unwrap(), HeaderLang::Ja);
        assert_eq!("EN".parse::<HeaderLang>().unwrap(), HeaderLang::En);
        assert_eq!(HeaderLang::Ja.to_string(), "ja");
        assert!("fr".parse::<HeaderLang>().is_err());
    }

    #[test]
    fn defaults() {
        let o = ExportOptions::default();
        assert_eq!(o.encoding, Encoding::Utf8Bom);
        assert_eq!(o.headers, HeaderLang::En);
        assert_eq!(o.tz, chrono_tz::Asia::Tokyo);
        assert!(!o.lossy);
    }

    #[test]
    fn unmappable_message_names_invoice_and_column() {
        let e = ExportError::Unmappable {
            invoice_number: "INV-7".into(),
            column: "customer_name",
            ch: '𠮷',
        };
        let m = e.to_string();
        assert!(
            m.contains("INV-7") && m.contains("customer_name") && m.contains("U+20BB7"),
            "{m}"
        );
    }
}
