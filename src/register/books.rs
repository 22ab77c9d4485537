//! The books: daily close, today's figures, receipts, the journal.

use super::*;
use crate::ledger::DailyClose;
use crate::receipt::pdf::PdfFont;
use crate::receipt::ShopDetails;

/// A day's figures: its summary so far (or as closed), when each sale was paid and for how much, the
/// shop's time zone, and when the day was closed (None while it is open).
#[derive(Clone, Debug)]
pub struct DayFigures {
    pub summary: DailyClose,
    pub paid: Vec<(DateTime<Utc>, i64)>,
    pub tz: Tz,
    pub closed_at: Option<String>,
    /// The day can be closed now: it is open and its hours have begun (a day after an early 精算
    /// is closed at its own end, not before it starts).
    pub closable: bool,
    /// Today's calendar day when it was closed early (精算 during its hours) and these figures are
    /// the next business day's, where the sales since go: its date and when it was closed.
    pub earlier_close: Option<(String, String)>,
}

/// A daily close (日計表) as a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseFormat {
    /// UTF-8 with BOM, for Excel.
    Csv,
    /// A4, laid out like a receipt, its Japanese font embedded.
    Pdf,
}

impl std::str::FromStr for CloseFormat {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "csv" => Ok(CloseFormat::Csv),
            "pdf" => Ok(CloseFormat::Pdf),
            other => Err(format!("{other:?} must be pdf or csv")),
        }
    }
}

/// A report (日計表, 点検 / 精算) as a file: CSV (`csv`), or PDF laid out as the printed report
/// (`blocks`) on A4 with its Japanese font embedded. The one rendering the CLI and the app share;
/// `font` is the PDF font when the caller loaded it already (the CLI does, to refuse before a close).
pub(super) fn report_file(
    format: CloseFormat,
    font: Option<&PdfFont>,
    csv: impl FnOnce() -> String,
    blocks: impl FnOnce() -> Vec<crate::receipt::Block>,
) -> Result<Vec<u8>> {
    match format {
        CloseFormat::Csv => Ok(csv().into_bytes()),
        CloseFormat::Pdf => {
            let loaded;
            let font = match font {
                Some(f) => f,
                None => {
                    loaded = PdfFont::load().map_err(|e| Error::bad("pdf", e.to_string()))?;
                    &loaded
                }
            };
            crate::receipt::pdf::render(&blocks(), crate::receipt::html::Paper::A4, font)
                .map_err(|e| Error::bad("pdf", e.to_string()))
        }
    }
}

/// The bytes of a daily close's file ([`report_file`]).
pub fn close_report(
    close: &DailyClose,
    shop: &ShopDetails,
    format: CloseFormat,
    font: Option<&PdfFont>,
) -> Result<Vec<u8>> {
    report_file(
        format,
        font,
        || crate::export::close_csv(close),
        || crate::receipt::close_layout(close, shop),
    )
}

/// A captured sale with what receipts and the journal need (see `Register::sale_record`).
pub(super) struct SaleRecord {
    paid_at: DateTime<Utc>,
    external_order_num: Option<String>,
    pub(super) facts: crate::receipt::SaleFacts,
    refunds: Vec<(DateTime<Utc>, crate::receipt::RefundFacts)>,
    events: Vec<crate::ledger::EventRecord>,
}

impl Register {
    /// Closes a shop-local day (default: today): stores the 日計表 and locks that day's records.
    /// Closing a closed day returns the stored close. A backup of the ledger is taken after a close.
    pub fn close_day(&mut self, date: Option<&str>) -> Result<(crate::ledger::DailyClose, bool)> {
        let now = self.now();
        let today = self.ledger.calendar_business_date(now)?;
        let day = match date {
            Some(d) => parse_day("date", d)?,
            None => today,
        };
        if day > today {
            return Err(Error::bad(
                "date",
                format!("{day} is in the future; a day is closed once it is over or at its end"),
            ));
        }
        let (close, new) = self.ledger.close_day(day, now)?;
        if new && self.ledger.path().is_some() {
            if let Err(e) = self.ledger.backup_rotated(30, now) {
                use std::io::Write as _;
                let _ = writeln!(
                    std::io::stderr(),
                    "reji: the day is closed, but the backup after it failed: {e}"
                );
            }
        }
        Ok((close, new))
    }

    /// A shop-local day given as `YYYY-MM-DD` (`field` names it in errors), or today.
    pub(super) fn day(&self, date: Option<&str>, field: &str) -> Result<NaiveDate> {
        match date.map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => parse_day(field, d),
            None => Ok(self.ledger.calendar_business_date(self.now())?),
        }
    }

    /// A day's figures for the "today" panel (`display::TodayView::of`): so far, or as closed,
    /// with its paid sales by time. By default the open business day, where a sale made now goes:
    /// today, or after an early 精算 the next business day (and `earlier_close` says so).
    pub fn today(&self, date: Option<&str>) -> Result<DayFigures> {
        let now = self.now();
        let calendar = self.ledger.calendar_business_date(now)?;
        let day = match date.map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => parse_day("date", d)?,
            None => self.ledger.business_date_at(now)?,
        };
        let closed = self.ledger.daily_close(day)?;
        let earlier_close = if day > calendar {
            self.ledger
                .daily_close(calendar)?
                .map(|c| (c.business_date, c.closed_at))
        } else {
            None
        };
        let summary = match &closed {
            Some(c) => c.clone(),
            None => self.ledger.day_summary(day, now)?,
        };
        Ok(DayFigures {
            summary,
            paid: self.ledger.paid_during(day)?,
            tz: self.settings.tz,
            closable: closed.is_none() && day <= calendar,
            closed_at: closed.map(|c| c.closed_at),
            earlier_close,
        })
    }

    /// A day's stored close (日計表), for its PDF or CSV: not found while the day is open.
    pub fn stored_close(&self, date: Option<&str>) -> Result<crate::ledger::DailyClose> {
        let day = self.day(date, "date")?;
        self.ledger
            .daily_close(day)?
            .ok_or_else(|| Error::NotFound(format!("a close of {day} (the day is not closed yet)")))
    }

    /// The receipt of a paid invoice (適格簡易請求書), or with `refund = Some(n)` the return receipt
    /// (適格返還請求書) of its n-th refund. Issuing is logged; a second issue is marked 再発行.
    /// Works from the ledger alone (no KOMOJU call): `show` or `sync` first for the latest state.
    pub fn receipt(&mut self, key: &str, refund: Option<usize>) -> Result<crate::receipt::Receipt> {
        let inv = self.ledger.find_invoice(key)?;
        let sale = self.sale_record(&inv)?;
        let detail = receipt_subject(refund);
        let reissue = sale
            .events
            .iter()
            .any(|e| e.kind == "receipt" && e.detail.as_deref() == Some(detail.as_str()));
        let receipt = self.build_receipt(&inv, &sale, refund, reissue)?;
        let now = self.now();
        let by = self.actor.label();
        self.ledger.note(inv.id, "receipt", &by, &detail, now)?;
        Ok(receipt)
    }

    /// A sale's receipt (or its n-th refund's return receipt) from its record, nothing logged.
    pub(super) fn build_receipt(
        &self,
        inv: &InvoiceRecord,
        sale: &SaleRecord,
        refund: Option<usize>,
        reissue: bool,
    ) -> Result<crate::receipt::Receipt> {
        use crate::receipt::Receipt;
        let shop = self.settings.shop_details();
        let receipt = match refund {
            None => Receipt::sale(&sale.facts, &shop, reissue),
            Some(n) => {
                let Some((_, r)) = sale.refunds.get(n.wrapping_sub(1)) else {
                    return Err(if sale.refunds.is_empty() {
                        Error::NotAllowed {
                            invoice: inv.number.to_string(),
                            status: inv.status,
                            action: "issue a return receipt for (it has no refund)",
                        }
                    } else {
                        Error::bad(
                            "refund",
                            format!(
                                "invoice {} has {} refund(s); {} must be 1 to {}",
                                inv.number,
                                sale.refunds.len(),
                                mention("refund"),
                                sale.refunds.len()
                            ),
                        )
                    });
                };
                Receipt::refund(&sale.facts, &shop, r, reissue)
            }
        };
        Ok(Receipt {
            refund_count: sale.refunds.len(),
            ..receipt
        })
    }

    /// A captured sale as receipts and the journal see it: its figures as charged, its refunds (in
    /// order, with when they happened) and its event log.
    pub(super) fn sale_record(&self, inv: &InvoiceRecord) -> Result<SaleRecord> {
        use crate::receipt::{RefundFacts, SaleFacts};
        let (Some(paid_at), true) = (inv.paid_at, inv.status.has_receipt()) else {
            return Err(Error::NotAllowed {
                invoice: inv.number.to_string(),
                status: inv.status,
                action: "issue a receipt for",
            });
        };
        let view = self.view(inv.id)?;
        let tz = self.settings.tz;
        let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
        let facts = SaleFacts {
            invoice_number: inv.number.to_string(),
            transaction_date: local(paid_at),
            currency: inv.currency.clone(),
            price_mode: inv.price_mode,
            items: view.items,
            gross_10: inv.gross_10,
            gross_8: inv.gross_8,
            gross_0: inv.gross_0,
            tax_10: inv.tax_10,
            tax_8: inv.tax_8,
            total: inv.amount,
            payment_method: view.payment_method,
            discount_10: inv.discount_10,
            discount_8: inv.discount_8,
            discount_0: inv.discount_0,
            order_discount: inv.order_discount,
            dining: inv.dining,
            tenders: view.tenders.clone(),
        };
        let events = self.ledger.events(inv.id)?;
        // Returns by items, matched to their refunds by the refunded totals before and after.
        let returns: Vec<super::returns::ReturnRecord> = events
            .iter()
            .filter(|e| e.kind == "return")
            .filter_map(|e| serde_json::from_str(e.detail.as_deref()?).ok())
            .collect();
        let goods = |before: i64, after: i64| {
            returns
                .iter()
                .find(|r| r.before == before && r.after == after)
                .map(|r| crate::receipt::ReturnedGoods {
                    items: r
                        .lines
                        .iter()
                        .filter_map(|l| {
                            let mut item = facts.items.get(l.line.wrapping_sub(1))?.clone();
                            // Its own discount, for the units that came back.
                            item.discount = item.discount * i64::from(l.quantity)
                                / i64::from(item.quantity.max(1));
                            item.quantity = l.quantity;
                            Some(item)
                        })
                        .collect(),
                    per_rate: r.rate_lines(),
                    reason: r.reason.clone(),
                })
        };
        let refunds = events
            .iter()
            .filter(|e| e.kind == "refund")
            .filter_map(|e| {
                let (a, b) = e.detail.as_deref()?.split_once("->")?;
                Some((e.at, a.parse::<i64>().ok()?, b.parse::<i64>().ok()?))
            })
            .enumerate()
            .map(|(i, (at, before, after))| {
                let r = RefundFacts {
                    number: i + 1,
                    date: local(at),
                    before,
                    after,
                    returned: goods(before, after),
                };
                (at, r)
            })
            .collect();
        Ok(SaleRecord {
            paid_at,
            external_order_num: view.external_order_num,
            facts,
            refunds,
            events,
        })
    }

    /// The journal (仕訳) of the sales paid and the refunds made in the query's date range, in
    /// date order, in the shape of [`crate::export::journal`].
    pub fn journal(&self, q: &ListQuery) -> Result<Vec<crate::export::journal::JournalLine>> {
        use crate::export::journal::{refund_lines, sale_lines};
        let f = self.filter(q)?;
        let inside =
            |t: DateTime<Utc>| f.from.is_none_or(|a| t >= a) && f.until.is_none_or(|u| t < u);
        let accounts = self.settings.journal_accounts();
        let tz = self.settings.tz;
        let mut dated = Vec::new();
        for id in self.ledger.journal_invoices(f.from, f.until)? {
            let inv = self.ledger.invoice_by_id(id)?;
            let sale = match self.sale_record(&inv) {
                Ok(s) => s,
                // needs_review and unpaid invoices have no journal entry until a person decides.
                Err(Error::NotAllowed { .. }) => continue,
                Err(e) => return Err(e),
            };
            let note = sale
                .external_order_num
                .clone()
                .unwrap_or_else(|| inv.number.to_string());
            if inside(sale.paid_at) {
                let d = sale.paid_at.with_timezone(&tz).date_naive();
                for l in sale_lines(&sale.facts, d, &accounts, &note) {
                    dated.push((sale.paid_at, l));
                }
            }
            for (at, r) in &sale.refunds {
                if inside(*at) {
                    let d = at.with_timezone(&tz).date_naive();
                    for l in refund_lines(&sale.facts, r, d, &accounts, &note) {
                        dated.push((*at, l));
                    }
                }
            }
        }
        dated.sort_by_key(|(at, _)| *at);
        Ok(dated.into_iter().map(|(_, l)| l).collect())
    }
}

/// How a receipt is named in the event log and the print queue: `sale` or `return N`.
pub(super) fn receipt_subject(refund: Option<usize>) -> String {
    match refund {
        None => "sale".to_string(),
        Some(n) => format!("return {n}"),
    }
}
