//! After a restore: numbers KOMOJU already knows are never issued again; missing sales brought back.

use super::*;

impl Ledger {
    /// Moves the year's counter to at least `seq` (never back). Returns whether it moved.
    pub fn counter_at_least(&self, year: i32, seq: u32) -> Result<bool> {
        let n = self.conn.execute(
            "INSERT INTO invoice_counters(year, last) VALUES (?1, ?2)
             ON CONFLICT(year) DO UPDATE SET last = excluded.last WHERE last < excluded.last",
            params![year, seq],
        )?;
        Ok(n > 0)
    }

    /// Gives an invoice whose session KOMOJU refused because its `external_order_num` is taken (a
    /// restored ledger reissued a number KOMOJU had seen) the next free number. Only an invoice
    /// never shown to a customer (first attempt, no session) is renumbered; the refused request is
    /// closed and a new one (new key, body from `body`) is stored for the caller to send. Logged as
    /// a `renumbered` event. Returns the new attempt, or `None` if the invoice may not change.
    pub fn renumber_unshown(
        &mut self,
        invoice_id: i64,
        now: DateTime<Utc>,
        shop_year: i32,
        body: impl FnOnce(&InvoiceNumber, &str) -> String,
    ) -> Result<Option<(InvoiceRecord, Attempt)>> {
        let ledger_id = self.ledger_id.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        #[allow(clippy::type_complexity)]
        let row: Option<(
            String,
            String,
            i64,
            Option<String>,
            i64,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        )> = tx
            .query_row(
                "SELECT i.number, i.status, a.id, a.session_id, a.request_id, a.external_order_num,
                        i.customer_name, i.customer_name_kana, i.customer_email
                 FROM invoices i JOIN session_attempts a ON a.invoice_id = i.id
                 WHERE i.id = ?1 AND a.attempt = 1
                   AND NOT EXISTS (SELECT 1 FROM session_attempts b WHERE b.invoice_id = i.id AND b.attempt > 1)",
                [invoice_id],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                    ))
                },
            )
            .optional()?;
        let Some((old, status, attempt_id, session, request_id, old_eon, name, kana, email)) = row
        else {
            return Ok(None);
        };
        if status != InvoiceStatus::Pending.as_str() || session.is_some() {
            return Ok(None);
        }
        let seq: u32 = tx.query_row(
            "INSERT INTO invoice_counters(year, last) VALUES (?1, 1)
             ON CONFLICT(year) DO UPDATE SET last = last + 1 RETURNING last",
            [shop_year],
            |r| r.get(0),
        )?;
        let number = InvoiceNumber::new(shop_year, seq);
        let eon = external_order_num(&ledger_id, &number, 1);
        let body = body(&number, &eon);
        tx.execute(
            "UPDATE invoices SET number = ?2, updated_at = ?3 WHERE id = ?1",
            params![invoice_id, number.as_str(), ts(now)],
        )?;
        search::index_invoice(
            &tx,
            invoice_id,
            number.as_str(),
            name.as_deref(),
            kana.as_deref(),
            email.as_deref(),
        )?;
        tx.execute(
            "UPDATE api_requests SET completed_at = ?2, outcome = 'refused: external_order_num taken'
             WHERE id = ?1 AND completed_at IS NULL",
            params![request_id, ts(now)],
        )?;
        tx.execute(
            "INSERT INTO api_requests(invoice_id, kind, path, idempotency_key, body, created_at)
             VALUES (?1, 'create_session', '/sessions', ?2, ?3, ?4)",
            params![invoice_id, new_idempotency_key(), body, ts(now)],
        )?;
        let new_request = tx.last_insert_rowid();
        tx.execute(
            "UPDATE session_attempts SET external_order_num = ?2, request_id = ?3 WHERE id = ?1",
            params![attempt_id, eon, new_request],
        )?;
        log_event(
            &tx,
            invoice_id,
            now,
            "renumbered",
            None,
            None,
            "komoju:external_order_num_taken",
            Some(&format!(
                "{old} → {number}: KOMOJU already knows {old_eon} (a restored ledger had issued it before)"
            )),
        )?;
        tx.commit()?;
        Ok(Some((
            self.invoice_by_id(invoice_id)?,
            self.attempt_by_id(attempt_id)?,
        )))
    }

    /// Brings back a sale KOMOJU has and the ledger lacks (it was made after the backup that was
    /// restored): an invoice under its original number and order number, one line for the whole
    /// amount (KOMOJU does not keep the tax rates of the lines), the payment attached, and a
    /// `created` event saying where it came from. Returns `None` if the number is in the ledger.
    pub fn import_recovered(
        &mut self,
        number: &InvoiceNumber,
        attempt: u32,
        eon: &str,
        p: &Payment,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let created = p.created_at.unwrap_or(now);
        let business_date = created
            .with_timezone(&self.shop_tz()?)
            .date_naive()
            .to_string();
        let draft = crate::invoice::Draft {
            currency: p
                .currency
                .parse()
                .map_err(|_| LedgerError::Corrupt(format!("currency {:?}", p.currency)))?,
            lines: vec![LineItem {
                name: format!("KOMOJU {} (recovered after a restore)", p.id),
                unit_price: p.amount,
                quantity: 1,
                tax_rate: TaxRate::Standard,
                product_id: None,
                discount: 0,
            }],
            customer: Default::default(),
            price_mode: crate::tax::PriceMode::Inclusive,
            rounding: crate::tax::Rounding::Down,
            discount: None,
            dining: None,
        };
        let b = draft
            .breakdown()
            .map_err(|e| LedgerError::Corrupt(e.to_string()))?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let exists: bool = tx
            .query_row(
                "SELECT 1 FROM invoices WHERE number = ?1",
                [number.as_str()],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if exists {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO invoices(number, created_at, status, currency, amount, tax_10, tax_8, gross_10, gross_8,
                price_mode, rounding, methods, expires_in, updated_at, business_date, gross_0)
             VALUES (?1, ?2, 'pending', ?3, ?4, ?5, 0, ?6, 0, 'inclusive', 'down', '', ?7, ?8, ?9, 0)",
            params![
                number.as_str(),
                ts(created),
                p.currency,
                b.total,
                b.tax_at(TaxRate::Standard),
                b.gross_at(TaxRate::Standard),
                crate::invoice::DEFAULT_EXPIRES_IN,
                ts(now),
                business_date,
            ],
        )?;
        let invoice_id = tx.last_insert_rowid();
        search::index_invoice(&tx, invoice_id, number.as_str(), None, None, None)?;
        tx.execute(
            "INSERT INTO line_items(invoice_id, position, name, unit_price, quantity, tax_rate)
             VALUES (?1, 0, ?2, ?3, 1, 10)",
            params![invoice_id, draft.lines[0].name, p.amount],
        )?;
        tx.execute(
            "INSERT INTO api_requests(invoice_id, kind, path, idempotency_key, body, created_at, completed_at, outcome)
             VALUES (?1, 'recovered', ?2, ?3, '{}', ?4, ?4, 'ok')",
            params![invoice_id, format!("/payments/{}", p.id), new_idempotency_key(), ts(now)],
        )?;
        let request_id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO session_attempts(invoice_id, attempt, external_order_num, request_id, session_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![invoice_id, attempt, eon, request_id, p.session, ts(created)],
        )?;
        let (year, seq) = number
            .as_str()
            .split_once('-')
            .and_then(|(y, n)| Some((y.parse::<i32>().ok()?, n.parse::<u32>().ok()?)))
            .ok_or_else(|| LedgerError::Corrupt(number.to_string()))?;
        tx.execute(
            "INSERT INTO invoice_counters(year, last) VALUES (?1, ?2)
             ON CONFLICT(year) DO UPDATE SET last = excluded.last WHERE last < excluded.last",
            params![year, seq],
        )?;
        log_event(
            &tx,
            invoice_id,
            now,
            "created",
            None,
            Some(InvoiceStatus::Pending),
            "komoju:recovered_after_restore",
            Some(&format!(
                "{eon}: payment {} at KOMOJU, missing from the restored ledger; one line at 10 % (KOMOJU keeps no tax rates): check the sale",
                p.id
            )),
        )?;
        tx.commit()?;
        self.upsert_payment(Some(invoice_id), p, now)?;
        Ok(Some(invoice_id))
    }
}
