//! The product list as CSV that Excel in Japan opens and saves: UTF-8 with a BOM or CP932,
//! Japanese headers, the same columns both ways (docs/csv.md, "Products").

use super::{FieldProblem, Product, ProductFields, ProductInput};
use crate::export::Encoding;
use serde::Serialize;
use std::io::Write;

/// The columns, in order: (Japanese header, English header, the field's neutral name).
pub const COLUMNS: [(&str, &str, &str); 9] = [
    ("商品ID", "id", "id"),
    ("商品名", "name", "name"),
    ("読み仮名", "kana", "kana"),
    ("価格", "price", "price"),
    ("税区分", "class", "class"),
    ("JANコード", "code", "code"),
    ("カテゴリ", "category", "category"),
    ("クイックキー", "quick_key", "quick_key"),
    ("状態", "status", "status"),
];

const ACTIVE: &str = "販売中";
const ARCHIVED: &str = "アーカイブ";

/// One problem of an import file: the line (1 = the header) and the column's header as the file
/// has it (`None` for the whole line).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

/// Every problem of a refused import (nothing was stored).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
pub struct ImportError {
    pub problems: Vec<Problem>,
}

/// How many problems the message lists before "and N more" (all are in `problems`).
const LISTED: usize = 50;

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "the file was not imported (nothing was changed): {n} problem{}",
            if n == 1 { "" } else { "s" }
        )?;
        for p in self.problems.iter().take(LISTED) {
            match &p.column {
                Some(c) => write!(f, "\n  line {}, {c}: {}", p.line, p.message)?,
                None => write!(f, "\n  line {}: {}", p.line, p.message)?,
            }
        }
        if n > LISTED {
            write!(f, "\n  … and {} more", n - LISTED)?;
        }
        Ok(())
    }
}

impl ImportError {
    pub fn one(line: u64, column: Option<&str>, message: impl Into<String>) -> Self {
        ImportError {
            problems: vec![Problem {
                line,
                column: column.map(str::to_string),
                message: message.into(),
            }],
        }
    }
}

/// A row of an import file, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRow {
    pub line: u64,
    /// The product this row updates (the file's 商品ID), if it names one.
    pub id: Option<String>,
    pub fields: ProductFields,
    pub archived: bool,
}

/// [`decode`], keeping the bytes' buffer when they are UTF-8 (a large file is not held twice).
pub fn decode_owned(mut bytes: Vec<u8>) -> Result<(String, Encoding), ImportError> {
    let bom = bytes.starts_with(b"\xEF\xBB\xBF");
    if bom {
        bytes.drain(..3);
    }
    match String::from_utf8(bytes) {
        Ok(s) => Ok((
            s,
            if bom {
                Encoding::Utf8Bom
            } else {
                Encoding::Utf8
            },
        )),
        Err(e) if bom => {
            let at = e.utf8_error().valid_up_to();
            Err(bad_bytes(e.as_bytes(), at, "UTF-8"))
        }
        Err(e) => decode(e.as_bytes()),
    }
}

/// The text of an import file: UTF-8 (with or without a BOM) or CP932, told apart by the bytes.
pub fn decode(bytes: &[u8]) -> Result<(String, Encoding), ImportError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return std::str::from_utf8(rest)
            .map(|s| (s.to_string(), Encoding::Utf8Bom))
            .map_err(|e| bad_bytes(rest, e.valid_up_to(), "UTF-8"));
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((s.to_string(), Encoding::Utf8));
    }
    let mut decoder = encoding_rs::SHIFT_JIS.new_decoder_without_bom_handling();
    let capacity = decoder
        .max_utf8_buffer_length_without_replacement(bytes.len())
        .unwrap_or(bytes.len().saturating_mul(3));
    let mut text = String::with_capacity(capacity);
    let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut text, true);
    match result {
        encoding_rs::DecoderResult::InputEmpty => Ok((text, Encoding::Cp932)),
        encoding_rs::DecoderResult::Malformed(bad, _) => Err(bad_bytes(
            bytes,
            read.saturating_sub(bad as usize),
            "UTF-8 or CP932 (Shift_JIS)",
        )),
        encoding_rs::DecoderResult::OutputFull => Err(bad_bytes(bytes, read, "CP932")),
    }
}

fn bad_bytes(bytes: &[u8], at: usize, what: &str) -> ImportError {
    let line = 1 + bytes[..at.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u64;
    ImportError::one(
        line,
        None,
        format!("the file is not {what} text here (byte {}): save it from Excel as \"CSV UTF-8\" or \"CSV (comma delimited)\"", at + 1),
    )
}

/// Reads and checks every row; a file with any problem is refused with all of them.
pub fn parse(bytes: &[u8]) -> Result<Vec<ImportRow>, ImportError> {
    let (rows, problems) = parse_rows(bytes)?;
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(ImportError { problems })
    }
}

/// The rows that are right and the problems of the others (an import checks the good rows
/// against the catalog too, to list every problem at once). A file that cannot be read at all
/// (encoding, header) is an error.
pub fn parse_rows(bytes: &[u8]) -> Result<(Vec<ImportRow>, Vec<Problem>), ImportError> {
    let (text, _) = decode(bytes)?;
    let mut rows = Vec::new();
    let problems = for_each_row(&text, |row, _| {
        rows.push(row);
        Ok::<_, std::convert::Infallible>(())
    })
    .map_err(|e| match e {
        RowsError::File(e) => e,
        RowsError::Caller(never) => match never {},
    })?;
    Ok((rows, problems))
}

/// Why [`for_each_row`] stopped: the file cannot be read at all, or the caller's error.
#[derive(Debug)]
pub enum RowsError<E> {
    File(ImportError),
    Caller(E),
}

/// Reads the rows one at a time (a large file never sits in memory as rows): `f` gets each
/// right row and the problems so far (to add its own, e.g. a clash with the catalog). Returns
/// every problem of the file.
pub fn for_each_row<E>(
    text: &str,
    mut f: impl FnMut(ImportRow, &mut Vec<Problem>) -> Result<(), E>,
) -> Result<Vec<Problem>, RowsError<E>> {
    let bad_file = |e: ImportError| RowsError::File(e);
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => {
            return Err(bad_file(ImportError::one(
                1,
                None,
                format!("cannot read the header: {e}"),
            )))
        }
        None => {
            return Err(bad_file(ImportError::one(
                1,
                None,
                "the file is empty: it needs a header line and products",
            )))
        }
    };
    // Which column holds which field.
    let mut slots: Vec<Option<usize>> = Vec::with_capacity(header.len());
    let mut problems = Vec::new();
    let mut seen = [false; COLUMNS.len()];
    for h in header.iter() {
        let h = h.trim().trim_start_matches('\u{feff}');
        match COLUMNS
            .iter()
            .position(|(ja, en, _)| *ja == h || en.eq_ignore_ascii_case(h))
        {
            Some(k) if seen[k] => {
                problems.push(problem(1, Some(h), "this column appears twice"));
                slots.push(None);
            }
            Some(k) => {
                seen[k] = true;
                slots.push(Some(k));
            }
            None if h.is_empty() => slots.push(None),
            None => {
                problems.push(problem(
                    1,
                    Some(h),
                    format!(
                        "unknown column; the columns are {}",
                        COLUMNS.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")
                    ),
                ));
                slots.push(None);
            }
        }
    }
    for need in [1usize, 3] {
        if !seen[need] {
            problems.push(problem(
                1,
                None,
                format!("the column {} is missing", COLUMNS[need].0),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(bad_file(ImportError { problems }));
    }
    let header_names: Vec<String> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let column_of = |k: usize| -> String {
        slots
            .iter()
            .position(|s| *s == Some(k))
            .map(|i| header_names[i].clone())
            .unwrap_or_else(|| COLUMNS[k].0.to_string())
    };
    // Physical line numbers, as Excel and an editor show them (a quoted cell may span lines).
    let mut counted = (0usize, 1u64);
    // The reader reports a record after CRLF as starting at the LF: count through it.
    let mut line_at = |byte: u64| -> u64 {
        let byte = (byte as usize + 1).min(text.len());
        if byte > counted.0 {
            counted.1 += text.as_bytes()[counted.0..byte]
                .iter()
                .filter(|b| **b == b'\n')
                .count() as u64;
            counted.0 = byte;
        }
        counted.1
    };
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| line_at(p.byte()));
                problems.push(problem(line, None, format!("cannot read this line: {e}")));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| line_at(p.byte()));
        if record.iter().all(|c| c.trim().is_empty()) {
            continue; // Excel leaves empty lines at the end
        }
        if record.len() != header.len() {
            problems.push(problem(
                line,
                None,
                format!(
                    "{} columns, but the header has {}",
                    record.len(),
                    header.len()
                ),
            ));
            continue;
        }
        let mut cells: [Option<String>; COLUMNS.len()] = Default::default();
        for (i, cell) in record.iter().enumerate() {
            if let Some(k) = slots[i] {
                cells[k] = Some(unneutralise(cell).to_string());
            }
        }
        let [id, name, kana, price, class, code, category, quick_key, status] = cells;
        let id = id
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().to_string());
        let id = match id {
            Some(id) if !super::is_product_id(&id) => {
                problems.push(problem(
                    line,
                    Some(&column_of(0)),
                    format!("{id:?} is not a product id (prd_…); leave it empty for a new product"),
                ));
                None
            }
            other => other,
        };
        let archived = match status.as_deref().map(str::trim) {
            None | Some("") | Some(ACTIVE) | Some("active") => false,
            Some(ARCHIVED) | Some("archived") => true,
            Some(other) => {
                problems.push(problem(
                    line,
                    Some(&column_of(8)),
                    format!("{other:?} must be {ACTIVE} or {ARCHIVED}"),
                ));
                false
            }
        };
        let input = ProductInput {
            name: Some(name.unwrap_or_default()),
            kana,
            price: Some(price.unwrap_or_default()),
            class,
            code,
            category,
            quick_key,
        };
        match input.check(None) {
            Ok(fields) => f(
                ImportRow {
                    line,
                    id,
                    fields,
                    archived,
                },
                &mut problems,
            )
            .map_err(RowsError::Caller)?,
            Err(field_problems) => {
                for FieldProblem { field, message } in field_problems {
                    let k = COLUMNS.iter().position(|c| c.2 == field).unwrap_or(1);
                    problems.push(problem(line, Some(&column_of(k)), message));
                }
            }
        }
    }
    Ok(problems)
}

fn problem(line: u64, column: Option<&str>, message: impl Into<String>) -> Problem {
    Problem {
        line,
        column: column.map(str::to_string),
        message: message.into(),
    }
}

/// A text cell that an export protected from being read as a formula (`'=…`) comes back as it was.
fn unneutralise(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '＝', '＋', '－', '＠']) => rest,
        _ => cell,
    }
}

fn neutralise(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠']) {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Writes the product list. Codes are written as `="…"` so that Excel keeps them as text (a
/// 13-digit number would come back as 4.90123E+12, and an EAN-8 would lose its leading zero).
/// With CP932, a character it cannot hold fails the export, naming the product.
pub struct Writer<W: Write> {
    out: ::csv::Writer<W>,
    encoding: Encoding,
    written: u64,
}

impl<W: Write> Writer<W> {
    pub fn new(mut out: W, encoding: Encoding) -> std::io::Result<Self> {
        if encoding == Encoding::Utf8Bom {
            out.write_all(b"\xEF\xBB\xBF")?;
        }
        let mut w = Writer {
            out: ::csv::WriterBuilder::new()
                .terminator(::csv::Terminator::CRLF)
                .from_writer(out),
            encoding,
            written: 0,
        };
        let header: Vec<&str> = COLUMNS.iter().map(|c| c.0).collect();
        w.record(&header)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(w)
    }

    fn record(&mut self, cells: &[&str]) -> Result<(), String> {
        if self.encoding == Encoding::Cp932 {
            let mut encoded: Vec<Vec<u8>> = Vec::with_capacity(cells.len());
            for c in cells {
                let (bytes, _, had_errors) = encoding_rs::SHIFT_JIS.encode(c);
                if had_errors {
                    let bad = c
                        .chars()
                        .find(|ch| encoding_rs::SHIFT_JIS.encode(ch.encode_utf8(&mut [0; 4])).2)
                        .unwrap_or('?');
                    return Err(format!("{bad:?} in {c:?} cannot be written in CP932 (Shift_JIS): export as utf-8-bom"));
                }
                encoded.push(bytes.into_owned());
            }
            self.out.write_record(&encoded).map_err(|e| e.to_string())
        } else {
            self.out.write_record(cells).map_err(|e| e.to_string())
        }
    }

    /// One product; the error names the product and the character CP932 cannot hold.
    pub fn write(&mut self, p: &Product) -> Result<(), String> {
        let price = p.price.to_string();
        let quick = p.quick_key.map(|q| q.to_string()).unwrap_or_default();
        let code = p
            .code
            .as_ref()
            .map(|c| format!("=\"{c}\""))
            .unwrap_or_default();
        let name = neutralise(&p.name);
        let kana = p.kana.as_deref().map(neutralise).unwrap_or_default();
        let category = p.category.as_deref().map(neutralise).unwrap_or_default();
        let cells = [
            p.id.as_str(),
            &name,
            &kana,
            &price,
            p.class.label_ja(),
            &code,
            &category,
            &quick,
            if p.archived { ARCHIVED } else { ACTIVE },
        ];
        self.record(&cells)
            .map_err(|e| format!("product {} ({}): {e}", p.id, p.name))?;
        self.written += 1;
        Ok(())
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn finish(self) -> std::io::Result<W> {
        self.out
            .into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_name_the_physical_line() {
        let (rows, problems) =
            parse_rows("商品名,価格\r\nA,1\r\nB,x\r\n\"C\nD\",2\r\nE,y\r\n".as_bytes()).unwrap();
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2]);
        // A line break inside a quoted name is refused, and counted: E is on line 6.
        assert_eq!(
            problems.iter().map(|p| p.line).collect::<Vec<_>>(),
            [3, 4, 6]
        );
        let (rows, _) = parse_rows("商品名,価格\nA,1\n\nB,2\n".as_bytes()).unwrap();
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 4]);
    }
}
