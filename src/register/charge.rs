//! Charging: check the sale, store it with its request, POST it, renumber a taken order number.

use super::*;

/// The largest total a sale may come to (yen).
pub(super) const MAX_TOTAL: i64 = 99_999_999_999;

/// How many taken order numbers one charge skips before giving up (each costs one request).
pub(super) const MAX_RENUMBER: u32 = 500;

/// KOMOJU's refusal of a session whose `external_order_num` another session already has.
pub(super) fn order_number_taken(e: &KomojuError) -> bool {
    let KomojuError::Api {
        status,
        param,
        message,
        ..
    } = e
    else {
        return false;
    };
    let about_order_number = param
        .as_deref()
        .is_some_and(|p| p.contains("external_order_num"))
        || message.contains("external_order_num");
    (400..500).contains(status)
        && *status != 401
        && about_order_number
        && (message.contains("taken") || message.contains("already"))
}

/// A breakdown that cannot be computed, named by the input at fault.
pub(super) fn tax_error(e: crate::tax::TaxError) -> Error {
    match e {
        crate::tax::TaxError::Discount(m) => Error::bad("discount", m),
        other => Error::bad("items", other.to_string()),
    }
}

impl Register {
    /// The running total of a sale being rung up (per-rate tax), with the shop's price mode and
    /// rounding: what `charge` would ask for. Nothing is stored.
    pub fn preview_totals(&self, lines: &[LineItem]) -> Result<crate::tax::TaxBreakdown> {
        let draft = Draft {
            currency: Currency::JPY,
            lines: lines.to_vec(),
            customer: Customer::default(),
            price_mode: self.settings.price_mode,
            rounding: self.settings.rounding,
            discount: None,
            dining: None,
        };
        draft.breakdown().map_err(tax_error)
    }

    /// Validates everything first (nothing is stored on bad input), stores the invoice and the
    /// session-create request, then POSTs it.
    pub async fn charge(&mut self, req: ChargeRequest) -> Result<InvoiceView> {
        let draft = self.validate_charge(&req)?;
        // The shop's defaults where the sale gives none.
        let mut methods = validate_methods(&req.methods)?;
        if methods.is_empty() {
            methods = self.settings.payment_methods.clone();
        }
        let locale = validate_locale(req.locale.as_deref())?.or(self.settings.locale.clone());
        let expires_in = match req.expires_in {
            Some(n) => check_expires_in(n)?,
            None => self.settings.expires_in,
        };
        let amount = draft.breakdown().map_err(tax_error)?.total;
        let settlement = crate::tender::settle(amount, req.cash, &req.tenders).map_err(|m| {
            Error::bad(
                if req.tenders.is_empty() {
                    "cash"
                } else {
                    "tenders"
                },
                m,
            )
        })?;
        let online = settlement.komoju_due > 0;
        if online {
            self.client()?;
            if let Err(e) = self.reconcile_after_restore().await {
                self.notice(
                    NoticeCode::RestoreCheckFailed,
                    format!(
                        "could not check KOMOJU's payments after the restore ({e}); the next command tries again"
                    ),
                );
            }
        }
        // A closed day never stops a sale: it belongs to the next business day (the ledger dates it).
        let now = self.now();
        let year = crate::ledger::shop_year(now, self.settings.tz);
        let ledger_id = self.ledger.ledger_id().to_string();
        let due = settlement.komoju_due;
        let by = self.actor.label();
        let (inv, attempt) = self.ledger.create_sale(
            &draft,
            &settlement,
            &methods,
            locale.as_deref(),
            expires_in,
            now,
            year,
            &by,
            |num, eon| {
                session_body(
                    &draft,
                    due,
                    num,
                    eon,
                    &ledger_id,
                    1,
                    &methods,
                    locale.as_deref(),
                    expires_in,
                )
            },
        )?;
        if let Some(attempt) = attempt {
            self.send_create(&inv, &attempt).await?;
        }
        self.view(inv.id)
    }

    pub(super) fn validate_charge(&self, req: &ChargeRequest) -> Result<Draft> {
        let currency = req.currency.unwrap_or(Currency::JPY);
        let dining = req.dining.unwrap_or(self.settings.dining);
        let mut lines = self.product_lines(&req.products, dining)?;
        lines.extend(req.lines.iter().cloned());
        let lines = match (req.amount, lines.is_empty()) {
            (Some(_), false) => {
                return Err(Error::bad(
                    "amount",
                    format!(
                        "give either {} or {}, not both",
                        mention("amount"),
                        mention("items")
                    ),
                ))
            }
            (None, true) => {
                return Err(Error::bad(
                    "amount",
                    format!(
                        "give {} N or at least one {}",
                        mention("amount"),
                        mention("items")
                    ),
                ))
            }
            (Some(a), true) => {
                if a <= 0 {
                    return Err(Error::bad(
                        "amount",
                        format!("{a} must be a positive whole number of yen"),
                    ));
                }
                vec![LineItem {
                    name: "お買い上げ".into(),
                    unit_price: a,
                    quantity: 1,
                    tax_rate: req.amount_rate.unwrap_or(TaxRate::Standard),
                    product_id: None,
                    discount: 0,
                }]
            }
            (None, false) => lines,
        };
        let customer = validate_customer(&req.customer)?;
        let from_catalog = !req.products.is_empty();
        let draft = Draft {
            currency,
            lines,
            customer,
            price_mode: self.settings.price_mode,
            rounding: self.settings.rounding,
            discount: req.discount,
            dining: (from_catalog || req.dining.is_some()).then_some(dining),
        };
        let b = draft.breakdown().map_err(tax_error)?;
        if b.total <= 0 {
            return Err(Error::bad("items", "the total must be more than zero"));
        }
        if b.total > MAX_TOTAL {
            return Err(Error::bad(
                "items",
                format!("the total {} is too large", b.total),
            ));
        }
        Ok(draft)
    }

    /// POSTs an attempt's stored create request and records the answer. A definitive refusal ends
    /// the attempt (the invoice is cancelled); a lost answer leaves it for `sync`. A refusal because
    /// KOMOJU already knows the order number (a ledger restored from an older backup issued it
    /// again) renumbers the invoice, as long as no customer has seen it, and sends again.
    pub(super) async fn send_create(
        &mut self,
        inv: &InvoiceRecord,
        attempt: &Attempt,
    ) -> Result<()> {
        let client = self.client()?.clone();
        let (mut inv, mut attempt) = (inv.clone(), attempt.clone());
        let mut renumbered = 0;
        loop {
            let r = attempt.request.clone();
            let e = match client.create_session(&r.idempotency_key, &r.body).await {
                Ok(session) => {
                    // The session, the request's answer and the status move commit together:
                    // one commit per answer instead of three, and no state in between.
                    let now = self.now();
                    self.ledger.atomically(|l| {
                        l.record_session(attempt.id, &session, inv.expires_in)?;
                        l.complete_request(r.id, "ok", now)?;
                        reconcile_on(l, inv.id, now)
                    })?;
                    if renumbered > 0 {
                        self.notice(
NoticeCode::Renumbered,format!(
                            "{}: KOMOJU already knew {renumbered} number(s) before it (the ledger was restored from an older backup); this sale took the next free number",
                            inv.number
                        ));
                    }
                    return Ok(());
                }
                Err(e) => e,
            };
            if order_number_taken(&e) && attempt.attempt == 1 && renumbered < MAX_RENUMBER {
                let now = self.now();
                let year = crate::ledger::shop_year(now, self.settings.tz);
                let (draft, amount, methods, locale, expires_in) = self.redraft(&inv)?;
                let ledger_id = self.ledger.ledger_id().to_string();
                let next = self
                    .ledger
                    .renumber_unshown(inv.id, now, year, |num, eon| {
                        session_body(
                            &draft,
                            amount,
                            num,
                            eon,
                            &ledger_id,
                            1,
                            &methods,
                            locale.as_deref(),
                            expires_in,
                        )
                    })?;
                if let Some((i, a)) = next {
                    (inv, attempt) = (i, a);
                    renumbered += 1;
                    continue;
                }
            }
            return match e {
                e @ KomojuError::Api { .. } if !e.is_auth() => {
                    self.create_refused(&inv, r.id, e).await
                }
                e => Err(e.into()),
            };
        }
    }

    /// The draft, amount and options an invoice was charged with (to build a request body again):
    /// for a renumbered charge and for `retry` (attempt n+1).
    #[allow(clippy::type_complexity)]
    pub(super) fn redraft(
        &self,
        inv: &InvoiceRecord,
    ) -> Result<(Draft, i64, Vec<String>, Option<String>, u32)> {
        let draft = Draft {
            currency: inv
                .currency
                .parse()
                .map_err(|_| Error::Ledger(LedgerError::Corrupt(inv.currency.clone())))?,
            lines: self.ledger.line_items(inv.id)?,
            customer: inv.customer.clone(),
            price_mode: inv.price_mode,
            rounding: inv.rounding,
            discount: inv.order_discount,
            dining: inv.dining,
        };
        Ok((
            draft,
            inv.komoju_amount,
            inv.methods.clone(),
            inv.locale.clone(),
            inv.expires_in,
        ))
    }

    /// A definitive refusal of a session create: the request is closed and the attempt ends.
    pub(super) async fn create_refused(
        &mut self,
        inv: &InvoiceRecord,
        request_id: i64,
        e: KomojuError,
    ) -> Result<()> {
        let now = self.now();
        self.ledger.complete_request(
            request_id,
            &format!("refused: {}", e.code().unwrap_or("")),
            now,
        )?;
        self.ledger.transition(
            inv.id,
            InvoiceStatus::Cancelled,
            MoveKind::Komoju,
            &format!("komoju:create_refused:{}", e.code().unwrap_or("")),
            &MoveFacts::default(),
            now,
        )?;
        Err(e.into())
    }
}
