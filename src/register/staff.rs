//! Staff actions on an invoice: cancel, refund (or refund request), retry, correct the customer.

use super::*;

impl Register {
    /// Cancels an unpaid invoice: the open session and any authorized (konbini, bank) payment.
    pub async fn cancel(&mut self, key: &str) -> Result<InvoiceView> {
        use InvoiceStatus::*;
        let inv = self.ledger.find_invoice(key)?;
        let settled = self.refresh_settling(inv.id).await?;
        let inv = self.ledger.invoice_by_id(inv.id)?;
        if inv.status == Cancelled
            && settled
                .iter()
                .any(|r| matches!(r.kind.as_str(), "cancel_session" | "cancel_payment"))
        {
            // The same cancel, repeated after a crash: the first one went through.
            self.notice(
                NoticeCode::SettledEarlier,
                format!(
                "{}: the cancel sent before the interruption went through; nothing new was sent",
                inv.number
            ),
            );
            return self.view(inv.id);
        }
        let inv = self.allowed_in(inv, &[Pending, Failed, AwaitingPayment], "cancel")?;
        let client = self.client()?.clone();
        self.cancel_authorized_payments(inv.id, &client).await?;
        let attempt = self.ledger.current_attempt(inv.id)?;
        self.cancel_open_session(&inv, &attempt, &client).await?;
        self.refresh(inv.id).await?;
        let after = self.ledger.invoice_by_id(inv.id)?;
        if after.status != InvoiceStatus::Cancelled
            && !after.status.is_captured()
            && attempt.session_id.is_none()
        {
            // Nothing at KOMOJU to cancel (the create never got through): cancel locally.
            self.ledger.transition(
                inv.id,
                InvoiceStatus::Cancelled,
                MoveKind::Staff,
                &format!("{}:cancel", self.actor.label()),
                &MoveFacts::default(),
                self.now(),
            )?;
        }
        self.ledger.note(
            inv.id,
            "staff",
            &format!("{}:cancel", self.actor.label()),
            "cancel requested",
            self.now(),
        )?;
        self.view(inv.id)
    }

    /// Checks that `action` is allowed in the invoice's status.
    pub(super) fn allowed_in(
        &self,
        inv: InvoiceRecord,
        allowed: &[InvoiceStatus],
        action: &'static str,
    ) -> Result<InvoiceRecord> {
        if !allowed.contains(&inv.status) {
            return Err(Error::NotAllowed {
                invoice: inv.number.to_string(),
                status: inv.status,
                action,
            });
        }
        Ok(inv)
    }

    /// Cancels an attempt's session at KOMOJU while it is still open (request stored first). A refusal
    /// is recorded; the caller re-reads the session to act on what KOMOJU says.
    pub(super) async fn cancel_open_session(
        &mut self,
        inv: &InvoiceRecord,
        attempt: &Attempt,
        client: &Client,
    ) -> Result<()> {
        let (Some(sid), Some(SessionStatus::Pending)) =
            (&attempt.session_id, &attempt.session_status)
        else {
            return Ok(());
        };
        let path = format!("/sessions/{sid}/cancel");
        let r = self
            .ledger
            .store_request(inv.id, "cancel_session", &path, "{}", self.now())?;
        match client.cancel_session(sid, &r.idempotency_key).await {
            Ok(s) => {
                self.ledger.record_session(attempt.id, &s, inv.expires_in)?;
                self.ledger.complete_request(r.id, "ok", self.now())?;
            }
            Err(e @ KomojuError::Api { .. }) if !e.is_auth() => {
                let outcome = format!("refused: {}", e.code().unwrap_or(""));
                self.ledger.complete_request(r.id, &outcome, self.now())?;
            }
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    pub(super) async fn cancel_authorized_payments(
        &mut self,
        invoice_id: i64,
        client: &Client,
    ) -> Result<()> {
        for p in self.ledger.payments(invoice_id)? {
            if matches!(p.status, PaymentStatus::Authorized | PaymentStatus::Pending) {
                let path = format!("/payments/{}/cancel", p.id);
                let r = self.ledger.store_request(
                    invoice_id,
                    "cancel_payment",
                    &path,
                    "{}",
                    self.now(),
                )?;
                match client.cancel_payment(&p.id, &r.idempotency_key).await {
                    Ok(fresh) => {
                        self.ledger
                            .upsert_payment(Some(invoice_id), &fresh, self.now())?;
                        self.ledger.complete_request(r.id, "ok", self.now())?;
                    }
                    Err(e @ KomojuError::Api { .. }) if !e.is_auth() => {
                        self.ledger.complete_request(
                            r.id,
                            &format!("refused: {}", e.code().unwrap_or("")),
                            self.now(),
                        )?;
                        let fresh = client.get_payment(&p.id).await?;
                        self.ledger
                            .upsert_payment(Some(invoice_id), &fresh, self.now())?;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }

    /// Gives back `amount` (all that is left when none) of a sale paid at the counter: cash from
    /// the drawer up to what was paid in cash, then the shop's tenders in their order.
    /// A return (`ret`, its stored `detail`) is recorded with the refund, in its transaction.
    pub(super) fn counter_refund(
        &mut self,
        inv: &InvoiceRecord,
        amount: Option<i64>,
        ret: Option<&super::returns::ReturnRecord>,
        detail: Option<&str>,
    ) -> Result<InvoiceView> {
        if !inv.status.can_refund() {
            return Err(Error::NotAllowed {
                invoice: inv.number.to_string(),
                status: inv.status,
                action: "refund",
            });
        }
        let left = inv.amount - inv.refunded_amount;
        if left <= 0 {
            return Err(Error::NotAllowed {
                invoice: inv.number.to_string(),
                status: inv.status,
                action: "refund (nothing left to refund)",
            });
        }
        let amount = amount.unwrap_or(left);
        if amount > left {
            return Err(Error::bad(
                "amount",
                format!("{amount} is more than the refundable {left}"),
            ));
        }
        let given_back = self.ledger.counter_refunded(inv.id)?;
        let back = |kind: &str, name: &Option<String>| -> i64 {
            given_back
                .iter()
                .filter(|p| p.kind == kind && &p.name == name)
                .map(|p| p.amount)
                .sum()
        };
        let mut rest = amount;
        let mut parts = Vec::new();
        let mut tenders = self.ledger.tenders(inv.id)?;
        // Cash first: the drawer gives it back at once.
        tenders.sort_by_key(|t| t.kind != crate::tender::TenderKind::Cash);
        for t in tenders {
            if rest == 0 {
                break;
            }
            let kind = t.kind.as_str();
            let can = t.amount - back(kind, &t.name);
            let take = can.min(rest);
            if take > 0 {
                parts.push(crate::ledger::RefundPart {
                    kind: kind.into(),
                    name: t.name.clone(),
                    amount: take,
                });
                rest -= take;
            }
        }
        if rest > 0 {
            return Err(Error::bad(
                "amount",
                format!("{amount} is more than the tenders can give back"),
            ));
        }
        let now = self.now();
        let by = self.actor.label();
        let full = amount == left;
        match self.ledger.counter_refund(
            inv.id,
            &parts,
            ret.and_then(|r| r.reason.as_deref()),
            detail,
            inv.refunded_amount,
            full,
            now,
            &by,
        )? {
            Some(_) => self.view(inv.id),
            None => Err(Error::NotAllowed {
                invoice: inv.number.to_string(),
                status: inv.status,
                action: "refund (another refund was made at the same time; look again)",
            }),
        }
    }

    /// Refunds a paid invoice (all that is left, or `amount`). Konbini, bank transfer and Pay-easy
    /// cannot be refunded to the payer: that needs a refund request with the customer's bank account.
    /// A sale given back by items so far goes on by items: "all that is left" returns every item
    /// not yet returned, and an amount is refused (see [`Register::return_items`]).
    pub async fn refund(
        &mut self,
        key: &str,
        amount: Option<i64>,
        bank: &BankAccount,
    ) -> Result<InvoiceView> {
        let inv = self.ledger.find_invoice(key)?;
        let returns = self.returns_of(inv.id)?;
        if !returns.is_empty() {
            if amount.is_some() {
                return Err(Error::bad(
                    "amount",
                    "items of this sale were returned: give back the rest by items, or all that is left",
                ));
            }
            let sale = self.sale_record(&inv)?;
            let mut left: Vec<u32> = sale.facts.items.iter().map(|l| l.quantity).collect();
            for r in &returns {
                for l in &r.lines {
                    if let Some(n) = left.get_mut(l.line.wrapping_sub(1)) {
                        *n = n.saturating_sub(l.quantity);
                    }
                }
            }
            let rest: Vec<super::returns::ReturnLine> = left
                .iter()
                .enumerate()
                .filter(|(_, q)| **q > 0)
                .map(|(i, q)| super::returns::ReturnLine {
                    line: i + 1,
                    quantity: *q,
                })
                .collect();
            if rest.is_empty() {
                return Err(Error::NotAllowed {
                    invoice: inv.number.to_string(),
                    status: inv.status,
                    action: "refund (nothing left to refund)",
                });
            }
            return self.return_items(key, &rest, None, bank).await;
        }
        self.refund_amount(key, amount, bank).await
    }

    /// [`Register::refund`] by amount, whatever was given back before.
    pub(super) async fn refund_amount(
        &mut self,
        key: &str,
        amount: Option<i64>,
        bank: &BankAccount,
    ) -> Result<InvoiceView> {
        let inv = self.ledger.find_invoice(key)?;
        if let Some(a) = amount {
            if a <= 0 {
                return Err(Error::bad(
                    "amount",
                    format!("{a} must be a positive whole number"),
                ));
            }
        }
        if inv.komoju_amount == 0 {
            // Paid at the counter: the money goes back there (cash from the drawer first).
            if !bank.is_empty() {
                return Err(Error::bad(
                    "bank_name",
                    "this sale was paid at the counter: its refund is given back there, not to a bank account",
                ));
            }
            return self.counter_refund(&inv, amount, None, None);
        }
        // A refund (or refund request) stored by an earlier run that never saw its answer is replayed
        // with its own key first, and counts against what is asked now: a repeat after a crash must
        // not send a second refund.
        let settled: i64 = self
            .refresh_settling(inv.id)
            .await?
            .iter()
            .filter(|r| matches!(r.kind.as_str(), "refund" | "refund_request"))
            .filter_map(|r| serde_json::from_str::<Value>(&r.body).ok()?["amount"].as_i64())
            .sum();
        let inv = self.ledger.invoice_by_id(inv.id)?;
        let settled_notice = |number: &InvoiceNumber, sent: i64| {
            format!(
                "{number}: a refund of {} sent before the interruption went through{}",
                Money::jpy(settled),
                if sent > 0 {
                    format!("; {} more was sent now", Money::jpy(sent))
                } else {
                    "; nothing new was sent".into()
                }
            )
        };
        let refundable_now = self
            .ledger
            .payments(inv.id)?
            .iter()
            .filter(|p| p.status == PaymentStatus::Captured)
            .map(|p| p.refundable())
            .max()
            .unwrap_or(0);
        let satisfied = match amount {
            Some(a) => a <= settled,
            // "All that is left", and the earlier run's refund left nothing.
            None => !inv.status.can_refund() || refundable_now <= 0,
        };
        if settled > 0 && satisfied {
            let n = inv.number.clone();
            self.notice(NoticeCode::SettledEarlier, settled_notice(&n, 0));
            return self.view(inv.id);
        }
        if !inv.status.can_refund() {
            return Err(Error::NotAllowed {
                invoice: inv.number.to_string(),
                status: inv.status,
                action: "refund",
            });
        }
        let payments = self.ledger.payments(inv.id)?;
        let p = payments
            .iter()
            .find(|p| p.status == PaymentStatus::Captured)
            .ok_or(Error::NotAllowed {
                invoice: inv.number.to_string(),
                status: inv.status,
                action: "refund",
            })?;
        let left = p.refundable();
        if left <= 0 {
            return Err(Error::NotAllowed {
                invoice: inv.number.to_string(),
                status: inv.status,
                action: "refund (nothing left to refund)",
            });
        }
        let amount = amount.map(|a| a - settled).unwrap_or(left);
        if amount > left {
            return Err(Error::bad(
                "amount",
                format!("{amount} is more than the refundable {left}"),
            ));
        }
        if settled > 0 {
            let n = inv.number.clone();
            self.notice(NoticeCode::SettledEarlier, settled_notice(&n, amount));
        }
        let pays_later = p
            .payment_type
            .as_deref()
            .map(PaymentType::from_wire)
            .is_some_and(|t| t.pays_later());
        let client = self.client()?.clone();
        if pays_later {
            let body = refund_request_body(amount, bank)?;
            let path = format!("/payments/{}/refund_request", p.id);
            let r =
                self.ledger
                    .store_request(inv.id, "refund_request", &path, &body, self.now())?;
            client
                .refund_request(&p.id, &r.idempotency_key, &body)
                .await?;
            self.ledger.complete_request(r.id, "ok", self.now())?;
            self.ledger.note(
                inv.id,
                "refund_request",
                &format!("{}:refund_request", self.actor.label()),
                &format!("amount {amount}"),
                self.now(),
            )?;
        } else {
            if !bank.is_empty() {
                return Err(Error::bad("bank_name", "bank details are only for konbini, bank transfer and Pay-easy payments; this one is refunded to the original method"));
            }
            let body = refund_body(amount);
            let path = format!("/payments/{}/refund", p.id);
            let r = self
                .ledger
                .store_request(inv.id, "refund", &path, &body, self.now())?;
            let fresh = client
                .refund_payment(&p.id, &r.idempotency_key, &body)
                .await?;
            self.ledger
                .upsert_payment(Some(inv.id), &fresh, self.now())?;
            self.ledger.complete_request(r.id, "ok", self.now())?;
            self.ledger.note(
                inv.id,
                "refund_sent",
                &format!("{}:refund", self.actor.label()),
                &format!("amount {amount}"),
                self.now(),
            )?;
        }
        let fresh = client.get_payment(&p.id).await?;
        self.ledger
            .upsert_payment(Some(inv.id), &fresh, self.now())?;
        self.refresh(inv.id).await?;
        self.view(inv.id)
    }

    /// A new session (attempt n+1, new order number) for a cancelled, expired or failed invoice. An
    /// earlier attempt's still-authorized payment and still-open session are cancelled first.
    pub async fn retry(&mut self, key: &str) -> Result<InvoiceView> {
        use InvoiceStatus::*;
        let inv = self.ledger.find_invoice(key)?;
        let settled = self.refresh_settling(inv.id).await?;
        let inv = self.ledger.invoice_by_id(inv.id)?;
        let attempts = self.ledger.attempts(inv.id)?;
        if attempts.len() > 1
            && settled.iter().any(|r| {
                r.kind == "create_session" && attempts.last().is_some_and(|a| a.request.id == r.id)
            })
            && !matches!(inv.status, Cancelled | Expired | Failed)
        {
            // The same retry, repeated after a crash: its new payment page was made then.
            self.notice(
NoticeCode::SettledEarlier,format!(
                "{}: the retry sent before the interruption went through (attempt {}); no other payment page was made",
                inv.number,
                attempts.len()
            ));
            return self.view(inv.id);
        }
        let inv = self.allowed_in(inv, &[Cancelled, Expired, Failed], "retry")?;
        let client = self.client()?.clone();
        self.cancel_authorized_payments(inv.id, &client).await?;
        let old = self.ledger.current_attempt(inv.id)?;
        if !old.session_expired {
            self.cancel_open_session(&inv, &old, &client).await?;
        }
        // A payment may have been captured meanwhile: look once more before opening a new session.
        self.refresh(inv.id).await?;
        let (draft, amount, methods, locale, expires_in) = self.redraft(&inv)?;
        let ledger_id = self.ledger.ledger_id().to_string();
        let now = self.now();
        let next = self.ledger.new_attempt(inv.id, now, |num, eon| {
            let n = eon
                .rsplit('-')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(2);
            session_body(
                &draft,
                amount,
                num,
                eon,
                &ledger_id,
                n,
                &methods,
                locale.as_deref(),
                expires_in,
            )
        })?;
        let Some(attempt) = next else {
            let inv = self.ledger.invoice_by_id(inv.id)?;
            return Err(Error::NotAllowed {
                invoice: inv.number.to_string(),
                status: inv.status,
                action: "retry",
            });
        };
        let inv = self.ledger.invoice_by_id(inv.id)?;
        self.send_create(&inv, &attempt).await?;
        self.view(inv.id)
    }

    /// Corrects the customer on an invoice (a typo in a name, a missing e-mail). `None` leaves a
    /// field alone, `Some("")` clears it. Each change is a new event keeping the old and the new
    /// value (訂正の履歴, hash-chained); amounts, dates and numbers are never corrected this way.
    pub fn correct_customer(
        &mut self,
        key: &str,
        changes: &Customer,
        reason: Option<&str>,
    ) -> Result<InvoiceView> {
        let inv = self.ledger.find_invoice(key)?;
        let blank = |v: &Option<String>| v.as_deref().map(str::trim) == Some("");
        let keep = |v: &Option<String>| if blank(v) { None } else { v.clone() };
        let checked = validate_customer(&Customer {
            name: keep(&changes.name),
            name_kana: keep(&changes.name_kana),
            email: keep(&changes.email),
            phone: keep(&changes.phone),
        })?;
        let pick = |asked: &Option<String>, valid: Option<String>| -> Option<Option<String>> {
            asked
                .as_ref()
                .map(|_| if blank(asked) { None } else { valid })
        };
        let wanted = [
            ("customer_name", pick(&changes.name, checked.name)),
            (
                "customer_name_kana",
                pick(&changes.name_kana, checked.name_kana),
            ),
            ("customer_email", pick(&changes.email, checked.email)),
            ("customer_phone", pick(&changes.phone, checked.phone)),
        ];
        if wanted.iter().all(|(_, v)| v.is_none()) {
            return Err(Error::bad(
                "correct",
                format!(
                    "nothing to correct: give {}, {}, {} or {}",
                    mention("name"),
                    mention("name_kana"),
                    mention("email"),
                    mention("phone")
                ),
            ));
        }
        let reason = clean_text("reason", reason, 200)?;
        let now = self.now();
        self.ledger
            .correct_customer(inv.id, &wanted, reason.as_deref(), now)?;
        self.view(inv.id)
    }
}
