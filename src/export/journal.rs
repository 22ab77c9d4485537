//! The accountant's journal (仕訳) CSV, in 弥生会計's import layout (弥生インポート形式), which
//! 弥生会計 (desktop and online) reads into its 仕訳日記帳 and freee imports as "弥生会計形式".
//!
//! * One line per sale and tax rate, and one per refund and tax rate: the tax category (税区分)
//!   is per line, so a mixed-rate sale is two lines.
//! * A sale: debit `売掛金` (sub-account `KOMOJU`: the money is owed by KOMOJU until it pays out),
//!   credit `売上高` with `課税売上込10%` / `課税売上込軽減8%` and the tax of that rate as computed
//!   once per rate on the invoice (税込経理). A refund is the same entry reversed, on the day of the
//!   refund. Account names are settings (`journal_debit_account`, `journal_debit_sub`,
//!   `journal_credit_account`): they must match the names in the accounting software.
//! * 25 columns, no header row (a `#` line would be a comment to Yayoi but not to every importer),
//!   CRLF line ends, CP932 by default (what Yayoi expects); dates `YYYY/MM/DD`; amounts are whole
//!   yen, never negative; 識別フラグ 2000 (a journal line that is not part of a slip), タイプ 0,
//!   調整 `no`. `docs/csv.md` documents every column.

use super::{Encoding, ExportError};
use crate::receipt::{RefundFacts, SaleFacts};
use chrono::NaiveDate;
use std::io::Write;

/// The 25 columns of Yayoi's import layout, in order.
pub const YAYOI_COLUMNS: [&str; 25] = [
    "識別フラグ",
    "伝票No.",
    "決算",
    "取引日付",
    "借方勘定科目",
    "借方補助科目",
    "借方部門",
    "借方税区分",
    "借方金額",
    "借方税金額",
    "貸方勘定科目",
    "貸方補助科目",
    "貸方部門",
    "貸方税区分",
    "貸方金額",
    "貸方税金額",
    "摘要",
    "番号",
    "期日",
    "タイプ",
    "生成元",
    "仕訳メモ",
    "付箋1",
    "付箋2",
    "調整",
];

/// Account names used in the journal (they must match the accounting software's own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accounts {
    /// KOMOJU's receivable (売掛金 / KOMOJU): what KOMOJU pays out later.
    pub debit: String,
    pub debit_sub: String,
    pub credit: String,
    /// Cash taken at the counter (現金).
    pub cash: String,
    /// The shop's own tenders (売掛金, the tender's name as sub-account).
    pub tender: String,
}

impl Default for Accounts {
    fn default() -> Self {
        Accounts {
            debit: "売掛金".into(),
            debit_sub: "KOMOJU".into(),
            credit: "売上高".into(),
            cash: "現金".into(),
            tender: "売掛金".into(),
        }
    }
}

/// Where a sale's money is debited: one (account, sub-account, amount) per tender, or KOMOJU's
/// receivable for the whole sale when it has no tender lines (every sale before tenders).
fn debit_parts(f: &SaleFacts, a: &Accounts) -> Vec<(String, String, i64)> {
    use crate::tender::TenderKind;
    let parts: Vec<(String, String, i64)> = f
        .tenders
        .iter()
        .filter(|t| t.amount > 0)
        .map(|t| match t.kind {
            TenderKind::Cash => (a.cash.clone(), String::new(), t.amount),
            TenderKind::Shop => (
                a.tender.clone(),
                t.name.clone().unwrap_or_default(),
                t.amount,
            ),
            TenderKind::Komoju => (a.debit.clone(), a.debit_sub.clone(), t.amount),
        })
        .collect();
    if parts.is_empty() {
        vec![(a.debit.clone(), a.debit_sub.clone(), f.total)]
    } else {
        parts
    }
}

/// Splits `amount` over `weights` in proportion (largest remainder; the shares add up).
fn split(amount: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|w| *w as i128).sum();
    if sum <= 0 {
        return weights.iter().map(|_| 0).collect();
    }
    let mut shares: Vec<i64> = weights
        .iter()
        .map(|w| (amount as i128 * *w as i128 / sum) as i64)
        .collect();
    let mut rest: Vec<(i128, usize)> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| (amount as i128 * *w as i128 % sum, i))
        .collect();
    rest.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    let mut left = amount - shares.iter().sum::<i64>();
    for (_, i) in rest {
        if left == 0 {
            break;
        }
        shares[i] += 1;
        left -= 1;
    }
    shares
}

/// One side of a journal line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Side {
    pub account: String,
    pub sub: String,
    pub tax_category: String,
    pub amount: i64,
    /// Empty for a side without tax (対象外).
    pub tax: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalLine {
    pub date: NaiveDate,
    pub debit: Side,
    pub credit: Side,
    /// 摘要 (Yayoi keeps 64 half-width characters).
    pub memo: String,
    /// 仕訳メモ: the invoice and KOMOJU references.
    pub note: String,
}

/// Yayoi's tax category for sales at a rate, tax-inclusive bookkeeping (税込経理); exempt (非課税)
/// sales are 非課売上.
pub fn sales_tax_category(rate: u8) -> &'static str {
    match rate {
        8 => "課税売上込軽減8%",
        0 => "非課売上",
        _ => "課税売上込10%",
    }
}

const NO_TAX: &str = "対象外";

fn sales_side(a: &Accounts, rate: u8, amount: i64, tax: i64) -> Side {
    Side {
        account: a.credit.clone(),
        sub: String::new(),
        tax_category: sales_tax_category(rate).into(),
        amount,
        // An exempt line has no tax amount (the column stays empty, as Yayoi writes it).
        tax: (rate != 0).then_some(tax),
    }
}

/// Where a refund's money comes from: KOMOJU's receivable when the sale had a KOMOJU part (or no
/// tender lines), else the counter (cash first, then the shop's tender).
fn refund_side(f: &SaleFacts, a: &Accounts, amount: i64) -> Side {
    let parts = debit_parts(f, a);
    let (account, sub) = parts
        .iter()
        .find(|p| p.0 == a.debit && p.1 == a.debit_sub)
        .or_else(|| parts.iter().find(|p| p.0 == a.cash))
        .or(parts.first())
        .map(|p| (p.0.clone(), p.1.clone()))
        .unwrap_or_else(|| (a.debit.clone(), a.debit_sub.clone()));
    Side {
        account,
        sub,
        tax_category: NO_TAX.into(),
        amount,
        tax: None,
    }
}

fn memo(f: &SaleFacts, what: &str, rate: u8) -> String {
    let method = f
        .payment_method
        .as_deref()
        .map(crate::receipt::method_label)
        .unwrap_or_default();
    let mut m = format!("Reji {} {what}{rate}% {method}", f.invoice_number);
    m.truncate(m.trim_end().len());
    m
}

/// The lines of a sale (one per rate with an amount, and per tender when it had several), dated
/// `date` (the day it was paid): cash is debited to the cash account, the shop's tenders to theirs,
/// KOMOJU's part to its receivable; each rate's amount and tax are split over the tenders in
/// proportion, so that every rate still adds up.
pub fn sale_lines(f: &SaleFacts, date: NaiveDate, a: &Accounts, note: &str) -> Vec<JournalLine> {
    let parts = debit_parts(f, a);
    let weights: Vec<i64> = parts.iter().map(|p| p.2).collect();
    let mut out = Vec::new();
    for (rate, gross, tax) in [
        (10u8, f.gross_10, f.tax_10),
        (8u8, f.gross_8, f.tax_8),
        (0u8, f.gross_0, 0),
    ] {
        if gross <= 0 {
            continue;
        }
        let grosses = split(gross, &weights);
        let taxes = split(tax, &weights);
        for ((account, sub, _), (g, t)) in parts.iter().zip(grosses.into_iter().zip(taxes)) {
            if g <= 0 {
                continue;
            }
            out.push(JournalLine {
                date,
                debit: Side {
                    account: account.clone(),
                    sub: sub.clone(),
                    tax_category: NO_TAX.into(),
                    amount: g,
                    tax: None,
                },
                credit: sales_side(a, rate, g, t),
                memo: memo(f, "売上", rate),
                note: note.to_string(),
            });
        }
    }
    out
}

/// The lines of one refund (the sale reversed, split between the rates as on its return receipt).
pub fn refund_lines(
    f: &SaleFacts,
    r: &RefundFacts,
    date: NaiveDate,
    a: &Accounts,
    note: &str,
) -> Vec<JournalLine> {
    r.per_rate(f)
        .into_iter()
        .filter(|l| l.amount > 0)
        .map(|l| JournalLine {
            date,
            debit: sales_side(a, l.rate, l.amount, l.tax),
            credit: refund_side(f, a, l.amount),
            memo: memo(f, &format!("返金{} ", r.number), l.rate),
            note: note.to_string(),
        })
        .collect()
}

impl JournalLine {
    /// The 25 fields, in [`YAYOI_COLUMNS`] order.
    pub fn fields(&self) -> [String; 25] {
        let d = self.date.format("%Y/%m/%d").to_string();
        let tax = |t: Option<i64>| t.map(|t| t.to_string()).unwrap_or_default();
        [
            "2000".into(),
            String::new(),
            String::new(),
            d,
            self.debit.account.clone(),
            self.debit.sub.clone(),
            String::new(),
            self.debit.tax_category.clone(),
            self.debit.amount.to_string(),
            tax(self.debit.tax),
            self.credit.account.clone(),
            self.credit.sub.clone(),
            String::new(),
            self.credit.tax_category.clone(),
            self.credit.amount.to_string(),
            tax(self.credit.tax),
            self.memo.clone(),
            String::new(),
            String::new(),
            "0".into(),
            String::new(),
            self.note.clone(),
            String::new(),
            String::new(),
            "no".into(),
        ]
    }
}

/// Writes the lines in Yayoi's layout. Returns the number of lines written and, with `lossy`,
/// which characters were written as `?` (line and Yayoi column).
///
/// A line that cannot be encoded (a character CP932 lacks, without `lossy`) fails the whole
/// export with the invoice named: an accountant's import must not silently miss a sale.
pub fn write_yayoi<W: Write>(
    out: W,
    lines: &[JournalLine],
    encoding: Encoding,
    lossy: bool,
) -> Result<super::ExportSummary, ExportError> {
    let mut replaced = super::Replacements::default();
    let mut out = std::io::BufWriter::new(out);
    if encoding == Encoding::Utf8Bom {
        out.write_all(b"\xEF\xBB\xBF")?;
    }
    let mut n: u64 = 0;
    for l in lines {
        let mut wtr = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::with_capacity(256));
        wtr.write_record(l.fields())?;
        let text = wtr
            .into_inner()
            .map_err(|e| ExportError::Csv(e.to_string()))?;
        let text = String::from_utf8(text).map_err(|e| ExportError::Csv(e.to_string()))?;
        match encoding {
            Encoding::Cp932 => {
                let mut bytes = Vec::with_capacity(text.len());
                let mut scratch = String::new();
                let lost = super::cell::encode_cp932(&text, &mut bytes, &mut scratch, lossy)
                    .map_err(|ch| ExportError::Unmappable {
                        invoice_number: l.note.clone(),
                        column: "摘要",
                        ch,
                    })?;
                if lost > 0 {
                    // Rare: find the columns by encoding the fields one by one.
                    let mut probe = Vec::new();
                    for (field, column) in l.fields().iter().zip(YAYOI_COLUMNS) {
                        probe.clear();
                        let k = super::cell::encode_cp932(field, &mut probe, &mut scratch, true)
                            .unwrap_or(0);
                        replaced.add(n + 1, &l.note, column, k);
                    }
                }
                out.write_all(&bytes)?;
            }
            _ => out.write_all(text.as_bytes())?,
        }
        n += 1;
    }
    out.flush()?;
    Ok(super::ExportSummary { rows: n, replaced })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invoice::LineItem;
    use crate::tax::PriceMode;

    fn facts() -> SaleFacts {
        let items = vec![
            LineItem::from_parts("弁当", 864, 2, 8).unwrap(),
            LineItem::from_parts("袋", 110, 1, 10).unwrap(),
        ];
        SaleFacts::ring_up(
            "2026-000003",
            "2026-11-29 12:00",
            items,
            PriceMode::Inclusive,
            crate::tax::Rounding::Down,
            Some("konbini"),
        )
        .unwrap()
    }

    #[test]
    fn a_split_sale_debits_cash_the_voucher_and_komoju_and_every_rate_adds_up() {
        use crate::tender::{Tender, TenderKind};
        let mut f = facts();
        let t = |kind, name: Option<&str>, amount| Tender {
            kind,
            name: name.map(String::from),
            amount,
            tendered: None,
            change: None,
            method: None,
        };
        // 1 838 = 1 000 cash + 300 voucher + 538 by KOMOJU.
        f.tenders = vec![
            t(TenderKind::Shop, Some("商品券"), 300),
            t(TenderKind::Cash, None, 1_000),
            t(TenderKind::Komoju, None, 538),
        ];
        let a = Accounts::default();
        let lines = sale_lines(&f, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(), &a, "n");
        let debit = |account: &str, sub: &str| -> i64 {
            lines
                .iter()
                .filter(|l| l.debit.account == account && l.debit.sub == sub)
                .map(|l| l.debit.amount)
                .sum()
        };
        assert_eq!(debit("現金", ""), 1_000);
        assert_eq!(debit("売掛金", "商品券"), 300);
        assert_eq!(debit("売掛金", "KOMOJU"), 538);
        for (rate, gross, tax) in [(10u8, f.gross_10, f.tax_10), (8, f.gross_8, f.tax_8)] {
            let cat = sales_tax_category(rate);
            let of_rate = lines.iter().filter(|l| l.credit.tax_category == cat);
            let (g, t): (i64, i64) = of_rate.fold((0, 0), |(g, t), l| {
                (g + l.credit.amount, t + l.credit.tax.unwrap_or(0))
            });
            assert_eq!((g, t), (gross, tax), "rate {rate}");
        }
        // A sale paid only in cash is given back from the cash account.
        f.tenders = vec![t(TenderKind::Cash, None, f.total)];
        let r = RefundFacts {
            number: 1,
            date: "2026-12-01 12:00".into(),
            before: 0,
            after: 500,
            returned: None,
        };
        let back = refund_lines(
            &f,
            &r,
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            &a,
            "n",
        );
        assert!(back.iter().all(|l| l.credit.account == "現金"), "{back:?}");
    }

    #[test]
    fn exempt_sales_are_non_taxable_with_no_tax_amount() {
        let items = vec![
            LineItem::from_parts("収入印紙", 200, 1, 0).unwrap(),
            LineItem::from_parts("袋", 110, 1, 10).unwrap(),
        ];
        let f = SaleFacts::ring_up(
            "2026-000004",
            "2026-11-29 12:00",
            items,
            PriceMode::Inclusive,
            crate::tax::Rounding::Down,
            Some("credit_card"),
        )
        .unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let lines = sale_lines(&f, d, &Accounts::default(), "x");
        assert_eq!(lines.len(), 2);
        let exempt = lines.iter().find(|l| l.credit.amount == 200).unwrap();
        assert_eq!(exempt.credit.tax_category, "非課売上");
        assert_eq!(exempt.credit.tax, None);
        let fields = exempt.fields();
        assert_eq!(fields[13], "非課売上");
        assert_eq!(fields[15], "", "no tax amount for a non-taxable sale");
        let taxed = lines.iter().find(|l| l.credit.amount == 110).unwrap();
        assert_eq!(taxed.credit.tax, Some(10));
    }

    #[test]
    fn a_mixed_sale_is_one_line_per_rate_and_reads_back_in_yayoi_columns() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let lines = sale_lines(&facts(), d, &Accounts::default(), "R7K2-2026-000003");
        assert_eq!(lines.len(), 2);
        let mut buf = Vec::new();
        assert_eq!(
            write_yayoi(&mut buf, &lines, Encoding::Utf8, false)
                .unwrap()
                .rows,
            2
        );
        let text = String::from_utf8(buf).unwrap();
        assert!(text.ends_with("\r\n"));
        let mut rd = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
        assert!(rows.iter().all(|r| r.len() == YAYOI_COLUMNS.len()));
        let get = |r: &csv::StringRecord, name: &str| {
            r[YAYOI_COLUMNS.iter().position(|c| *c == name).unwrap()].to_string()
        };
        assert_eq!(get(&rows[0], "識別フラグ"), "2000");
        assert_eq!(get(&rows[0], "取引日付"), "2026/11/29");
        assert_eq!(get(&rows[0], "借方勘定科目"), "売掛金");
        assert_eq!(get(&rows[0], "借方補助科目"), "KOMOJU");
        assert_eq!(get(&rows[0], "借方税区分"), "対象外");
        assert_eq!(get(&rows[0], "貸方勘定科目"), "売上高");
        assert_eq!(get(&rows[0], "貸方税区分"), "課税売上込10%");
        assert_eq!(get(&rows[0], "貸方金額"), "110");
        assert_eq!(get(&rows[0], "貸方税金額"), "10");
        assert_eq!(get(&rows[1], "貸方税区分"), "課税売上込軽減8%");
        assert_eq!(get(&rows[1], "借方金額"), "1728");
        assert_eq!(get(&rows[1], "貸方税金額"), "128");
        assert_eq!(get(&rows[1], "タイプ"), "0");
        assert_eq!(get(&rows[1], "調整"), "no");
        assert!(
            get(&rows[1], "摘要").contains("2026-000003")
                && get(&rows[1], "摘要").contains("コンビニ")
        );
    }

    #[test]
    fn a_refund_reverses_the_sale_split_by_rate() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let r = RefundFacts {
            number: 1,
            date: "2026-11-30 10:00".into(),
            before: 0,
            after: 1838,
            returned: None,
        };
        let lines = refund_lines(&facts(), &r, d, &Accounts::default(), "x");
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].debit.account, "売上高");
        assert_eq!(lines[0].debit.tax, Some(10));
        assert_eq!(lines[1].debit.amount, 1728);
        assert_eq!(lines[1].debit.tax, Some(128));
        assert_eq!(lines[1].credit.account, "売掛金");
    }

    #[test]
    fn cp932_is_the_default_for_yayoi_and_unmappable_text_names_the_invoice() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
        let lines = sale_lines(&facts(), d, &Accounts::default(), "2026-000003");
        let mut buf = Vec::new();
        write_yayoi(&mut buf, &lines, Encoding::Cp932, false).unwrap();
        let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&buf);
        assert!(!bad && text.contains("課税売上込軽減8%"));
        let mut f = facts();
        f.invoice_number = "2026-😀".into();
        let lines = sale_lines(&f, d, &Accounts::default(), "2026-😀");
        let e = write_yayoi(Vec::new(), &lines, Encoding::Cp932, false).unwrap_err();
        assert!(e.to_string().contains("2026-😀"), "{e}");
        // Lossy: every replaced character is counted, with its line and Yayoi column (the memo and
        // the note both hold the invoice number).
        let done = write_yayoi(Vec::new(), &lines, Encoding::Cp932, true).unwrap();
        assert_eq!(done.rows, 2);
        assert_eq!(done.replaced.count, 4, "{:?}", done.replaced);
        let first = &done.replaced.first[0];
        assert_eq!((first.row, first.column, first.count), (1, "摘要", 1));
        assert_eq!(first.invoice, "2026-😀");
        assert_eq!(done.replaced.first[2].row, 2);
    }
}
