//! Invoices: creation with their lines and first request, attempts, lookups, customer corrections.

use super::*;

pub(super) fn new_idempotency_key() -> String {
    // 32 random alphanumerics, prefixed so a key is recognisable in KOMOJU's dashboard: ≤ 100 ASCII.
    let mut rng = rand::thread_rng();
    let tail: String = (0..32)
        .map(|_| rng.sample(rand::distributions::Alphanumeric) as char)
        .collect();
    format!("reji-{tail}")
}

pub(super) fn insert_attempt(
    tx: &Connection,
    invoice_id: i64,
    attempt: u32,
    eon: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<i64> {
    let key = new_idempotency_key();
    tx.execute(
        "INSERT INTO api_requests(invoice_id, kind, path, idempotency_key, body, created_at)
         VALUES (?1, 'create_session', '/sessions', ?2, ?3, ?4)",
        params![invoice_id, key, body, ts(now)],
    )?;
    let request_id = tx.last_insert_rowid();
    tx.execute(
        "INSERT INTO session_attempts(invoice_id, attempt, external_order_num, request_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![invoice_id, attempt, eon, request_id, ts(now)],
    )?;
    Ok(tx.last_insert_rowid())
}

impl Ledger {
    /// Stores a new invoice with its lines, attempt 1 and the session-create request (key + exact body)
    /// in one transaction. `body` builds the request body from the invoice and its `external_order_num`.
    #[allow(clippy::too_many_arguments)]
    pub fn create_invoice(
        &mut self,
        draft: &Draft,
        methods: &[String],
        locale: Option<&str>,
        expires_in: u32,
        now: DateTime<Utc>,
        shop_year: i32,
        body: impl FnOnce(&InvoiceNumber, &str) -> String,
    ) -> Result<(InvoiceRecord, Attempt)> {
        let settlement = crate::tender::Settlement {
            tenders: Vec::new(),
            komoju_due: draft
                .breakdown()
                .map_err(|e| LedgerError::Corrupt(e.to_string()))?
                .total,
        };
        let (inv, att) = self.create_sale(
            draft,
            &settlement,
            methods,
            locale,
            expires_in,
            now,
            shop_year,
            "staff",
            body,
        )?;
        let att =
            att.ok_or_else(|| LedgerError::Corrupt("a KOMOJU sale without an attempt".into()))?;
        Ok((inv, att))
    }

    /// Stores a sale paid by `settlement`'s tenders in one transaction: the invoice, its lines and
    /// tenders, and either (something left for KOMOJU) attempt 1 with the session-create request for
    /// `komoju_due`, or (paid at the counter) the move to `paid`. `body` builds the request body.
    #[allow(clippy::too_many_arguments)]
    pub fn create_sale(
        &mut self,
        draft: &Draft,
        settlement: &crate::tender::Settlement,
        methods: &[String],
        locale: Option<&str>,
        expires_in: u32,
        now: DateTime<Utc>,
        shop_year: i32,
        by: &str,
        body: impl FnOnce(&InvoiceNumber, &str) -> String,
    ) -> Result<(InvoiceRecord, Option<Attempt>)> {
        let breakdown = draft
            .breakdown()
            .map_err(|e| LedgerError::Corrupt(e.to_string()))?;
        let ledger_id = self.ledger_id.clone();
        let business_date = self.business_date_at(now)?.to_string();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let seq: u32 = tx.query_row(
            "INSERT INTO invoice_counters(year, last) VALUES (?1, 1)
             ON CONFLICT(year) DO UPDATE SET last = last + 1 RETURNING last",
            [shop_year],
            |r| r.get(0),
        )?;
        let number = InvoiceNumber::new(shop_year, seq);
        let c = &draft.customer;
        tx.execute(
            "INSERT INTO invoices(number, created_at, status, currency, amount, tax_10, tax_8, gross_10, gross_8,
                price_mode, rounding, customer_name, customer_name_kana, customer_email, customer_phone, methods,
                locale, expires_in, updated_at, business_date, gross_0, discount, discount_10, discount_8, discount_0,
                order_discount, dining, komoju_amount)
             VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?2, ?18, ?19,
                ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
            params![
                number.as_str(),
                ts(now),
                draft.currency.code(),
                breakdown.total,
                breakdown.tax_at(TaxRate::Standard),
                breakdown.tax_at(TaxRate::Reduced),
                breakdown.gross_at(TaxRate::Standard),
                breakdown.gross_at(TaxRate::Reduced),
                draft.price_mode.as_str(),
                draft.rounding.as_str(),
                c.name,
                c.name_kana,
                c.email,
                c.phone,
                methods.join(","),
                locale,
                expires_in,
                business_date,
                breakdown.gross_at(TaxRate::Exempt),
                breakdown.discount,
                breakdown.discount_at(TaxRate::Standard),
                breakdown.discount_at(TaxRate::Reduced),
                breakdown.discount_at(TaxRate::Exempt),
                draft.discount.map(|d| d.as_text()),
                draft.dining.map(|d| d.as_str()),
                (!settlement.tenders.is_empty()).then_some(settlement.komoju_due),
            ],
        )?;
        let invoice_id = tx.last_insert_rowid();
        search::index_invoice(
            &tx,
            invoice_id,
            number.as_str(),
            c.name.as_deref(),
            c.name_kana.as_deref(),
            c.email.as_deref(),
        )?;
        for (i, l) in draft.lines.iter().enumerate() {
            tx.execute(
                "INSERT INTO line_items(invoice_id, position, name, unit_price, quantity, tax_rate,
                    product_id, discount)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    invoice_id,
                    i as i64,
                    l.name,
                    l.unit_price,
                    l.quantity,
                    l.tax_rate.percent(),
                    l.product_id,
                    l.discount,
                ],
            )?;
        }
        for (i, t) in settlement.tenders.iter().enumerate() {
            tx.execute(
                "INSERT INTO tenders(id, invoice_id, position, kind, name, amount, tendered, change, created_at, by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    crate::catalog::new_product_id(now).replacen("prd_", "tnd_", 1),
                    invoice_id,
                    i as i64,
                    t.kind.as_str(),
                    t.name,
                    t.amount,
                    t.tendered,
                    t.change,
                    ts(now),
                    by
                ],
            )?;
        }
        let attempt_id = if settlement.komoju_due > 0 {
            let eon = external_order_num(&ledger_id, &number, 1);
            let body = body(&number, &eon);
            let attempt_id = insert_attempt(&tx, invoice_id, 1, &eon, &body, now)?;
            log_event(
                &tx,
                invoice_id,
                now,
                "created",
                None,
                Some(InvoiceStatus::Pending),
                &format!("{by}:charge"),
                Some(&eon),
            )?;
            Some(attempt_id)
        } else {
            log_event(
                &tx,
                invoice_id,
                now,
                "created",
                None,
                Some(InvoiceStatus::Pending),
                &format!("{by}:charge"),
                Some(number.as_str()),
            )?;
            let facts = MoveFacts {
                paid_at: Some(now),
                refunded_amount: None,
            };
            let cause = format!("{by}:tender");
            match transition_on(
                &tx,
                invoice_id,
                InvoiceStatus::Paid,
                MoveKind::Tender,
                &cause,
                &facts,
                now,
            )? {
                Move::Applied { .. } => {}
                other => {
                    return Err(LedgerError::Corrupt(format!(
                        "a sale paid at the counter could not be marked paid: {other:?}"
                    )))
                }
            }
            None
        };
        tx.commit()?;
        let inv = self.invoice_by_id(invoice_id)?;
        let att = attempt_id.map(|id| self.attempt_by_id(id)).transpose()?;
        Ok((inv, att))
    }

    /// The counter's tenders of an invoice (cash, the shop's own), in the order they were applied.
    pub fn tenders(&self, invoice_id: i64) -> Result<Vec<crate::tender::Tender>> {
        let mut st = self.conn.prepare_cached(
            "SELECT kind, name, amount, tendered, change FROM tenders WHERE invoice_id = ?1 ORDER BY position",
        )?;
        let rows = st.query_map([invoice_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<i64>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (kind, name, amount, tendered, change) = row?;
            out.push(crate::tender::Tender {
                kind: kind.parse().map_err(LedgerError::Corrupt)?,
                name,
                amount,
                tendered,
                change,
                method: None,
            });
        }
        Ok(out)
    }

    /// Opens attempt n+1 for a cancelled, expired or failed invoice (compare-and-set to `pending`) and
    /// stores its session-create request. Returns `None` if the invoice is in another state.
    pub fn new_attempt(
        &mut self,
        invoice_id: i64,
        now: DateTime<Utc>,
        body: impl FnOnce(&InvoiceNumber, &str) -> String,
    ) -> Result<Option<Attempt>> {
        let ledger_id = self.ledger_id.clone();
        let inv = self.invoice_by_id(invoice_id)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let from: String = tx.query_row(
            "SELECT status FROM invoices WHERE id = ?1",
            [invoice_id],
            |r| r.get(0),
        )?;
        let allowed = allowed_from(InvoiceStatus::Pending, MoveKind::NewAttempt);
        if !allowed.iter().any(|s| s.as_str() == from) {
            return Ok(None);
        }
        let n: u32 = tx.query_row(
            "SELECT COALESCE(MAX(attempt), 0) + 1 FROM session_attempts WHERE invoice_id = ?1",
            [invoice_id],
            |r| r.get(0),
        )?;
        let eon = external_order_num(&ledger_id, &inv.number, n);
        let changed = cas(
            &tx,
            invoice_id,
            InvoiceStatus::Pending,
            allowed,
            now,
            &MoveFacts::default(),
        )?;
        if changed == 0 {
            return Ok(None);
        }
        log_event(
            &tx,
            invoice_id,
            now,
            "status",
            Some(&from),
            Some(InvoiceStatus::Pending),
            "staff:retry",
            Some(&eon),
        )?;
        let body = body(&inv.number, &eon);
        let attempt_id = insert_attempt(&tx, invoice_id, n, &eon, &body, now)?;
        tx.commit()?;
        Ok(Some(self.attempt_by_id(attempt_id)?))
    }

    pub fn invoice_by_id(&self, id: i64) -> Result<InvoiceRecord> {
        self.conn
            .query_row(
                &format!("SELECT {INVOICE_COLS} FROM invoices WHERE id = ?1"),
                [id],
                invoice_row,
            )
            .optional()?
            .ok_or_else(|| LedgerError::NotFound(id.to_string()))?
    }

    /// Finds an invoice by its number (`2026-000042`), a session id, an `external_order_num` or a
    /// KOMOJU payment id.
    pub fn find_invoice(&self, key: &str) -> Result<InvoiceRecord> {
        let key = key.trim();
        let id: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM invoices WHERE number = ?1
                 UNION ALL SELECT invoice_id FROM session_attempts WHERE session_id = ?1 OR external_order_num = ?1
                 UNION ALL SELECT invoice_id FROM payments WHERE id = ?1 AND invoice_id IS NOT NULL
                 LIMIT 1",
                [key],
                |r| r.get(0),
            )
            .optional()?;
        match id {
            Some(id) => self.invoice_by_id(id),
            None => Err(LedgerError::NotFound(key.to_string())),
        }
    }

    pub fn line_items(&self, invoice_id: i64) -> Result<Vec<LineItem>> {
        let mut st = self.conn.prepare_cached(
            "SELECT name, unit_price, quantity, tax_rate, product_id, discount FROM line_items
             WHERE invoice_id = ?1 ORDER BY position",
        )?;
        let rows = st.query_map([invoice_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, u32>(2)?,
                r.get::<_, u8>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (name, unit_price, quantity, rate, product_id, discount) = row?;
            let tax_rate = TaxRate::try_from(rate).map_err(LedgerError::Corrupt)?;
            out.push(LineItem {
                name,
                unit_price,
                quantity,
                tax_rate,
                product_id,
                discount,
            });
        }
        Ok(out)
    }

    /// Invoices the tracker (and `reji sync`) must still look at, oldest first.
    pub fn open_invoices(&self) -> Result<Vec<InvoiceRecord>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {INVOICE_COLS} FROM invoices WHERE status IN ('pending','failed','awaiting_payment')
             OR id IN (SELECT invoice_id FROM api_requests WHERE completed_at IS NULL)
             OR id IN (SELECT invoice_id FROM payments WHERE refund_requests LIKE '%\"pending\"%')
             ORDER BY id"
        ))?;
        let rows = st.query_map([], invoice_row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    /// Corrects customer columns of an invoice: for each `(column, Some(new))`, updates the column
    /// and appends a `correction` event whose detail keeps the old and new value. One transaction;
    /// the counterparty index follows. Returns how many fields changed.
    pub fn correct_customer(
        &mut self,
        invoice_id: i64,
        changes: &[(&'static str, Option<Option<String>>)],
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        const ALLOWED: [&str; 4] = [
            "customer_name",
            "customer_name_kana",
            "customer_email",
            "customer_phone",
        ];
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut n = 0;
        for (col, new) in changes {
            let Some(new) = new else { continue };
            if !ALLOWED.contains(col) {
                return Err(LedgerError::Corrupt(format!("{col} cannot be corrected")));
            }
            let old: Option<String> = tx.query_row(
                &format!("SELECT {col} FROM invoices WHERE id = ?1"),
                [invoice_id],
                |r| r.get(0),
            )?;
            if old == *new {
                continue;
            }
            tx.execute(
                &format!("UPDATE invoices SET {col} = ?2 WHERE id = ?1"),
                params![invoice_id, new],
            )?;
            let detail =
                serde_json::json!({ "field": col, "old": old, "new": new, "reason": reason });
            log_event(
                &tx,
                invoice_id,
                now,
                "correction",
                None,
                None,
                "staff:correct",
                Some(&detail.to_string()),
            )?;
            n += 1;
        }
        let (number, name, kana, email): (String, Option<String>, Option<String>, Option<String>) =
            tx.query_row(
                "SELECT number, customer_name, customer_name_kana, customer_email FROM invoices WHERE id = ?1",
                [invoice_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
        search::index_invoice(
            &tx,
            invoice_id,
            &number,
            name.as_deref(),
            kana.as_deref(),
            email.as_deref(),
        )?;
        tx.commit()?;
        Ok(n)
    }
}
