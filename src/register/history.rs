//! History: list, filter, the invoice view, events, CSV export.

use super::*;

/// An export ready to run away from the register (see [`Register::export_job`]).
#[derive(Debug)]
pub struct ExportJob {
    ledger: std::path::PathBuf,
    filter: Filter,
    opts: crate::export::ExportOptions,
    /// Invoices the export will write.
    pub total: u64,
}

impl ExportJob {
    /// Writes the CSV to `path` atomically (an existing file is replaced only when the whole export
    /// succeeded), calling `progress(rows_written, total)` as it goes. Blocking: run it on a thread
    /// of its own. Returns the rows written.
    pub fn run(self, path: &std::path::Path, mut progress: impl FnMut(u64, u64)) -> Result<u64> {
        let ledger = Ledger::open(&self.ledger)?;
        let total = self.total;
        let mut n = 0;
        crate::export::write_atomically(path, |w| {
            n = crate::export::export_ledger_reporting(
                &ledger,
                &self.filter,
                &self.opts,
                w,
                &mut |done| progress(done, total.max(done)),
            )?
            .rows;
            Ok::<_, Error>(())
        })?;
        Ok(n)
    }
}

impl Register {
    pub fn list(&self, q: &ListQuery) -> Result<Vec<InvoiceView>> {
        let f = self.filter(q)?;
        self.ledger
            .list(&f)?
            .iter()
            .map(|i| self.view(i.id))
            .collect()
    }

    /// Turns the CLI's / UI's query (shop-local dates) into a ledger filter, validating it.
    pub fn filter(&self, q: &ListQuery) -> Result<Filter> {
        let day = |field: &str, s: &str| -> Result<DateTime<Utc>> {
            let d = parse_day(field, s)?;
            let local = self
                .settings
                .tz
                .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
                .earliest();
            local.map(|t| t.to_utc()).ok_or_else(|| {
                Error::bad(
                    field,
                    format!("{s:?} does not exist in {}", self.settings.tz),
                )
            })
        };
        let from = q.from.as_deref().map(|s| day("from", s)).transpose()?;
        let until =
            q.to.as_deref()
                .map(|s| day("to", s).map(|t| t + Duration::days(1)))
                .transpose()?;
        if let (Some(f), Some(u)) = (from, until) {
            if f >= u {
                return Err(Error::bad("to", format!("is before {}", mention("from"))));
            }
        }
        let status = q
            .status
            .as_deref()
            .map(|s| {
                s.parse::<InvoiceStatus>()
                    .map_err(|e| Error::bad("status", e))
            })
            .transpose()?;
        // An empty method is no filter.
        let method = match q.method.as_deref() {
            Some(m) => validate_methods(&parse_methods(m))
                .map_err(|e| match e {
                    Error::BadInput { message, .. } => Error::bad("method", message),
                    other => other,
                })?
                .into_iter()
                .next(),
            None => None,
        };
        for (field, v) in [("min", q.min), ("max", q.max)] {
            if v.is_some_and(|v| v < 0) {
                return Err(Error::bad(field, "must be a whole number ≥ 0"));
            }
        }
        if let (Some(a), Some(b)) = (q.min, q.max) {
            if a > b {
                return Err(Error::bad(
                    "max",
                    format!("{b} is less than {} {a}", mention("min")),
                ));
            }
        }
        if q.limit == Some(0) {
            return Err(Error::bad("limit", "must be at least 1"));
        }
        Ok(Filter {
            from,
            until,
            status,
            method,
            min: q.min,
            max: q.max,
            text: q.text.clone(),
            limit: q.limit,
            without_index: false,
        })
    }

    /// The view of one invoice from the ledger.
    pub fn view(&self, invoice_id: i64) -> Result<InvoiceView> {
        let inv = self.ledger.invoice_by_id(invoice_id)?;
        let attempts = self.ledger.attempts(invoice_id)?;
        let attempt = attempts.last();
        let payments = self.ledger.payments(invoice_id)?;
        let p = pick_payment(&payments, attempt.and_then(|a| a.session_id.as_deref()));
        let tz = self.settings.tz;
        let fmt = |t: DateTime<Utc>| {
            t.with_timezone(&tz)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
        };
        let items = self.ledger.line_items(invoice_id)?;
        Ok(InvoiceView {
            invoice_number: inv.number.to_string(),
            session_id: attempt.and_then(|a| a.session_id.clone()),
            session_url: attempt.and_then(|a| a.session_url.clone()),
            status: inv.status,
            session_status: attempt.and_then(|a| a.session_status.as_ref().map(|s| s.to_string())),
            payment_status: p.map(|p| p.status.to_string()),
            payment_method: p.and_then(|p| p.payment_type.clone()),
            amount: inv.amount,
            currency: inv.currency.clone(),
            created_at: fmt(inv.created_at),
            paid_at: inv.paid_at.map(fmt),
            payment_details: p.and_then(|p| p.details.clone()),
            payment_id: p.map(|p| p.id.clone()),
            external_order_num: attempt.map(|a| a.external_order_num.clone()),
            attempt: attempt.map_or(0, |a| a.attempt),
            expires_at: attempt.and_then(|a| a.deadline).map(fmt),
            payment_deadline: p.and_then(|p| p.payment_deadline).map(fmt),
            tax_10: inv.tax_10,
            tax_8: inv.tax_8,
            refunded_amount: inv.refunded_amount,
            payment_method_fee: p.map_or(0, |p| p.fee),
            price_mode: inv.price_mode.as_str().to_string(),
            customer: inv.customer.clone(),
            discount: inv.discount,
            order_discount: inv.order_discount.map(|d| d.as_text()),
            dining: inv.dining.map(|d| d.as_str().to_string()),
            per_rate: inv.rate_totals(&items),
            tenders: {
                let mut t = self.ledger.tenders(invoice_id)?;
                if inv.komoju_amount > 0 {
                    t.push(crate::tender::Tender {
                        kind: crate::tender::TenderKind::Komoju,
                        name: None,
                        amount: inv.komoju_amount,
                        tendered: None,
                        change: None,
                        method: p.and_then(|p| p.payment_type.clone()),
                    });
                }
                t
            },
            items,
            refund_requests: p.map(|p| p.refund_requests.clone()).unwrap_or_default(),
            refundable: if inv.komoju_amount == 0 {
                // Paid at the counter: given back there.
                if inv.status.can_refund() {
                    inv.amount - inv.refunded_amount
                } else {
                    0
                }
            } else {
                p.filter(|_| inv.status.can_refund())
                    .map_or(0, |p| p.refundable())
            },
            unanswered_requests: self.ledger.unanswered_requests(invoice_id)?.len(),
        })
    }

    pub fn events(&self, key: &str) -> Result<Vec<crate::ledger::EventRecord>> {
        let inv = self.ledger.find_invoice(key)?;
        Ok(self.ledger.events(inv.id)?)
    }

    /// Prepares an export that runs on a connection of its own ([`ExportJob::run`]), so a long
    /// export does not hold the register (the tracker and the other screens go on). The filter is
    /// checked now; the total is counted for the progress bar.
    pub fn export_job(
        &self,
        q: &ListQuery,
        opts: &crate::export::ExportOptions,
    ) -> Result<ExportJob> {
        let filter = self.filter(q)?;
        let ledger = self.ledger.path().map(|p| p.to_path_buf()).ok_or_else(|| {
            Error::Ledger(LedgerError::Corrupt(
                "an in-memory ledger cannot be exported in the background".into(),
            ))
        })?;
        let total = self.ledger.count_matching(&filter)?;
        Ok(ExportJob {
            ledger,
            filter,
            opts: *opts,
            total,
        })
    }

    /// Writes the CSV export of the filtered invoices to `out`.
    pub fn export<W: std::io::Write>(
        &self,
        q: &ListQuery,
        opts: &crate::export::ExportOptions,
        out: W,
    ) -> Result<crate::export::ExportSummary> {
        let f = self.filter(q)?;
        crate::export::export_ledger(&self.ledger, &f, opts, out).map_err(Error::from)
    }
}
