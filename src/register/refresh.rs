//! Refreshing: show, sync, replay of unanswered requests, and the status derived from what the ledger holds.

use super::*;

/// The payment that decides the invoice: money first (captured / refunded on any attempt), then the
/// current session's payment, then one still waiting at a store or bank on any attempt, then one
/// whose session is unknown. An earlier attempt's cancelled, expired or failed payment never
/// decides: after `retry` the invoice follows its new session.
pub(super) fn pick_payment<'a>(
    payments: &'a [PaymentRecord],
    current_session: Option<&str>,
) -> Option<&'a PaymentRecord> {
    use PaymentStatus::*;
    payments
        .iter()
        .find(|p| matches!(p.status, Captured | Refunded))
        .or_else(|| {
            payments
                .iter()
                .find(|p| current_session.is_some() && p.session_id.as_deref() == current_session)
        })
        .or_else(|| payments.iter().find(|p| p.status == Authorized))
        .or_else(|| payments.iter().find(|p| p.session_id.is_none()))
}

/// Derives the invoice's status from what the ledger holds about its current session and its
/// most telling payment, and applies it through the compare-and-set. Returns the move.
/// Register-free, so that it can run inside [`Ledger::atomically`].
pub(super) fn reconcile_on(
    ledger: &mut Ledger,
    invoice_id: i64,
    now: DateTime<Utc>,
) -> Result<Move> {
    let inv = ledger.invoice_by_id(invoice_id)?;
    let attempt = ledger.current_attempt(invoice_id)?;
    let payments = ledger.payments(invoice_id)?;
    let payment = pick_payment(&payments, attempt.session_id.as_deref());
    let session = attempt.session_facts();
    let exp = Expectation {
        amount: inv.komoju_amount,
        currency: &inv.currency,
        session_deadline: attempt.deadline,
        now,
    };
    let Some(to) = derive(session.as_ref(), payment.map(|p| p.facts()).as_ref(), &exp) else {
        return Ok(Move::Unchanged);
    };
    let cause = match (payment, &session, &attempt.session_id) {
        (Some(p), _, _) => format!("komoju:payment:{}:{}", p.id, p.status),
        (None, Some(s), Some(id)) => format!("komoju:session:{id}:{}", s.status),
        _ => "reji:reconcile".to_string(),
    };
    let facts = MoveFacts {
        paid_at: payment
            .filter(|_| to.is_captured())
            .map(|p| p.captured_at.unwrap_or(exp.now)),
        refunded_amount: payment.map(|p| p.refunded()),
    };
    Ok(ledger.transition(invoice_id, to, MoveKind::Komoju, &cause, &facts, exp.now)?)
}

impl Register {
    /// Refreshes an invoice after replaying the POSTs an earlier, interrupted run stored but never
    /// saw answered (with their original idempotency keys, so KOMOJU runs each once). Returns those
    /// KOMOJU has now accepted: a use case repeated after a crash counts them instead of sending a
    /// second request.
    pub(super) async fn refresh_settling(&mut self, invoice_id: i64) -> Result<Vec<ApiRequest>> {
        let interrupted = self.ledger.unanswered_requests(invoice_id)?;
        self.refresh(invoice_id).await?;
        let mut settled = Vec::new();
        for r in interrupted {
            let r = self.ledger.request_by_id(r.id)?;
            if r.outcome.as_deref() == Some("ok") {
                settled.push(r);
            }
        }
        Ok(settled)
    }

    /// Refreshes one invoice from KOMOJU (finishing any unanswered POST first) and returns it.
    pub async fn show(&mut self, key: &str) -> Result<InvoiceView> {
        let inv = self.ledger.find_invoice(key)?;
        self.refresh(inv.id).await?;
        self.view(inv.id)
    }

    /// Shows what the ledger holds without asking KOMOJU.
    pub fn show_local(&self, key: &str) -> Result<InvoiceView> {
        let inv = self.ledger.find_invoice(key)?;
        self.view(inv.id)
    }

    /// Refreshes every invoice that is not final, one request (or a few) per invoice. `reji sync`
    /// uses [`crate::tracker::sync`] instead, which leaves invoices waiting at a store or bank to a
    /// change feed; this exhaustive form is what tests compare it with.
    pub async fn sync(&mut self) -> Result<SyncReport> {
        self.client()?;
        let open = self.ledger.open_invoices()?;
        let errors = self.refresh_each(&open).await?;
        self.sync_report(&open, errors)
    }

    /// Refreshes these invoices one by one. A failing invoice is reported and the rest go on; a
    /// key problem (401) stops at once.
    pub async fn refresh_each(&mut self, invoices: &[InvoiceRecord]) -> Result<Vec<SyncError>> {
        let mut errors = Vec::new();
        for inv in invoices {
            match self.refresh(inv.id).await {
                Ok(()) => {}
                Err(e @ Error::Komoju(_)) if e.code() == "komoju_auth" => return Err(e),
                Err(e) => errors.push(SyncError {
                    invoice_number: inv.number.to_string(),
                    code: e.code(),
                    message: e.user_message(),
                }),
            }
        }
        Ok(errors)
    }

    /// The report of a sync over `open` (as they were before it): their views now, how many changed
    /// status, and the errors. Invoices that failed are not listed as refreshed.
    pub fn sync_report(
        &self,
        open: &[InvoiceRecord],
        errors: Vec<SyncError>,
    ) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        for inv in open {
            if errors
                .iter()
                .any(|e| e.invoice_number == inv.number.as_str())
            {
                continue;
            }
            let v = self.view(inv.id)?;
            if v.status != inv.status {
                report.changed += 1;
            }
            report.invoices.push(v);
        }
        report.errors = errors;
        Ok(report)
    }

    pub async fn refresh(&mut self, invoice_id: i64) -> Result<()> {
        if self.ledger.attempts(invoice_id)?.is_empty() {
            // Paid at the counter: KOMOJU knows nothing of it (and no key is needed to show it).
            return Ok(());
        }
        let client = self.client()?.clone();
        self.replay_unanswered(invoice_id, &client).await?;
        let attempts = self.ledger.attempts(invoice_id)?;
        let Some(current) = attempts.last().cloned() else {
            return Ok(());
        };
        // Earlier attempts' payments still waiting (a konbini slip from attempt 1) are watched too:
        // money that arrives is never ignored.
        for p in self.ledger.payments(invoice_id)? {
            if matches!(p.status, PaymentStatus::Pending | PaymentStatus::Authorized)
                && p.session_id != current.session_id
            {
                let fresh = client.get_payment(&p.id).await?;
                self.ledger
                    .upsert_payment(Some(invoice_id), &fresh, self.now())?;
            }
        }
        if let Some(sid) = &current.session_id {
            let session = client.get_session(sid).await?;
            self.ledger.record_session(
                current.id,
                &session,
                self.ledger.invoice_by_id(invoice_id)?.expires_in,
            )?;
            if let Some(p) = &session.payment {
                // The embedded payment may be abbreviated; the payment itself has refunds etc.
                let full = if matches!(p.status, PaymentStatus::Captured | PaymentStatus::Refunded)
                    || !p.refunds.is_empty()
                {
                    client
                        .get_payment(&p.id)
                        .await
                        .unwrap_or_else(|_| p.clone())
                } else {
                    p.clone()
                };
                self.ledger
                    .upsert_payment(Some(invoice_id), &full, self.now())?;
            }
            self.apply_session(invoice_id, &session).await?;
        } else {
            self.apply_session_less(invoice_id)?;
        }
        Ok(())
    }

    /// Replays stored POSTs that never got an answer, with their original key and body.
    pub(super) async fn replay_unanswered(
        &mut self,
        invoice_id: i64,
        client: &Client,
    ) -> Result<()> {
        for r in self.ledger.unanswered_requests(invoice_id)? {
            // KOMOJU keeps idempotency keys for 24 h; after that a replay could run again.
            if self.now() - r.created_at > Duration::hours(23) {
                self.ledger.complete_request(
                    r.id,
                    "abandoned: idempotency key too old to replay",
                    self.now(),
                )?;
                continue;
            }
            match r.kind.as_str() {
                "create_session" => {
                    let attempt = self
                        .ledger
                        .attempts(invoice_id)?
                        .into_iter()
                        .find(|a| a.request.id == r.id);
                    match client.create_session(&r.idempotency_key, &r.body).await {
                        Ok(s) => {
                            if let Some(a) = attempt {
                                let exp = self.ledger.invoice_by_id(invoice_id)?.expires_in;
                                self.ledger.record_session(a.id, &s, exp)?;
                            }
                            self.ledger.complete_request(r.id, "ok", self.now())?;
                        }
                        Err(e @ KomojuError::Api { .. }) if !e.is_auth() => {
                            self.ledger.complete_request(
                                r.id,
                                &format!("refused: {}", e.code().unwrap_or("")),
                                self.now(),
                            )?;
                            self.ledger.transition(
                                invoice_id,
                                InvoiceStatus::Cancelled,
                                MoveKind::Komoju,
                                "komoju:create_refused",
                                &MoveFacts::default(),
                                self.now(),
                            )?;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                _ => match client.post_raw(&r.path, &r.idempotency_key, &r.body).await {
                    Ok(bytes) => {
                        if let Ok(p) = serde_json::from_slice::<Payment>(&bytes) {
                            self.ledger
                                .upsert_payment(Some(invoice_id), &p, self.now())?;
                        }
                        self.ledger.complete_request(r.id, "ok", self.now())?;
                    }
                    Err(e @ KomojuError::Api { .. }) if !e.is_auth() => {
                        self.ledger.complete_request(
                            r.id,
                            &format!("refused: {}", e.code().unwrap_or("")),
                            self.now(),
                        )?;
                    }
                    Err(e) => return Err(e.into()),
                },
            }
        }
        Ok(())
    }

    /// Derives the status from the latest session and the most telling payment, and applies it.
    pub(super) async fn apply_session(
        &mut self,
        invoice_id: i64,
        _session: &Session,
    ) -> Result<()> {
        self.reconcile(invoice_id)?;
        Ok(())
    }

    /// Derives the invoice's status from what the ledger holds about its current session and its
    /// most telling payment, and applies it through the compare-and-set. Returns the move.
    pub fn reconcile(&mut self, invoice_id: i64) -> Result<Move> {
        let now = self.now();
        reconcile_on(&mut self.ledger, invoice_id, now)
    }

    /// Records a session snapshot fetched outside the register (the tracker's fast lane) with its
    /// embedded payment, and reconciles. `None` when the session is not one of ours.
    pub fn apply_session_snapshot(&mut self, session: &Session) -> Result<Option<(i64, Move)>> {
        let Some(invoice_id) = self.ledger.invoice_for(Some(&session.id), None)? else {
            return Ok(None);
        };
        let attempt = self
            .ledger
            .attempts(invoice_id)?
            .into_iter()
            .find(|a| a.session_id.as_deref() == Some(session.id.as_str()));
        if let Some(a) = attempt {
            let exp = self.ledger.invoice_by_id(invoice_id)?.expires_in;
            self.ledger.record_session(a.id, session, exp)?;
        }
        if let Some(p) = &session.payment {
            self.ledger
                .upsert_payment(Some(invoice_id), p, self.now())?;
        }
        Ok(Some((invoice_id, self.reconcile(invoice_id)?)))
    }

    /// Records a payment learnt from a change feed and reconciles its invoice. A payment Reji does
    /// not know (no matching session or order number) is recorded and otherwise ignored.
    pub fn apply_payment(&mut self, p: &Payment) -> Result<Option<(i64, Move)>> {
        let invoice_id = self
            .ledger
            .invoice_for(p.session.as_deref(), p.external_order_num.as_deref())?;
        self.ledger.upsert_payment(invoice_id, p, self.now())?;
        // A feed carries the payment, not its session: a payment that went through (or did and
        // then ended) means KOMOJU completed the session, which the ledger still has as `pending`.
        if let (Some(_), Some(sid)) = (invoice_id, p.session.as_deref()) {
            use PaymentStatus::*;
            if matches!(
                p.status,
                Authorized | Captured | Refunded | Cancelled | Expired
            ) {
                self.ledger.mark_session_completed(sid)?;
            }
        }
        match invoice_id {
            Some(id) => Ok(Some((id, self.reconcile(id)?))),
            None => Ok(None),
        }
    }

    /// An attempt without a session (its create never answered): past its deadline it is expired.
    pub(super) fn apply_session_less(&mut self, invoice_id: i64) -> Result<()> {
        let inv = self.ledger.invoice_by_id(invoice_id)?;
        let attempt = self.ledger.current_attempt(invoice_id)?;
        let pending = !self.ledger.unanswered_requests(invoice_id)?.is_empty();
        let deadline = attempt.created_at + Duration::seconds(inv.expires_in as i64);
        if !pending && self.now() >= deadline && inv.status == InvoiceStatus::Pending {
            self.ledger.transition(
                invoice_id,
                InvoiceStatus::Expired,
                MoveKind::Komoju,
                "reji:no_session_before_deadline",
                &MoveFacts::default(),
                self.now(),
            )?;
        }
        Ok(())
    }
}
