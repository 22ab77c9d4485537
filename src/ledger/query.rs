//! History queries and the export's rows: filters driven by the best index.

use super::*;

/// The export's SELECT (columns in `export::COLUMNS` order), without filter and order. Public so that
/// the benchmark's `sqlite3` reference runs exactly the same query.
///
/// `attempts` is the newest attempt's number: attempts are numbered 1, 2, … per invoice (`UNIQUE
/// (invoice_id, attempt)`, `new_attempt` takes MAX + 1) and never deleted, so it equals their count
/// without a second correlated subquery per row.
pub const EXPORT_SELECT: &str = "SELECT i.number, i.created_at, i.status, i.amount, i.currency, i.tax_10, i.tax_8,
        COALESCE(p.payment_type, (SELECT CASE t.kind WHEN 'cash' THEN 'cash' ELSE 'shop:' || t.name END
            FROM tenders t WHERE t.invoice_id = i.id ORDER BY t.position DESC LIMIT 1)), p.status, i.paid_at, p.id, a.session_id, i.customer_name, i.customer_email,
        i.refunded_amount, i.customer_name_kana, i.customer_phone, a.external_order_num, COALESCE(p.fee, 0),
        COALESCE(a.attempt, 0),
        (SELECT group_concat(name || ' x' || quantity, '; ') FROM
            (SELECT name, quantity FROM line_items l WHERE l.invoice_id = i.id ORDER BY position)),
        i.gross_0, i.discount
     FROM invoices i
     LEFT JOIN session_attempts a ON a.id = (SELECT MAX(id) FROM session_attempts WHERE invoice_id = i.id)
     LEFT JOIN payments p ON p.rowid = (SELECT rowid FROM payments WHERE invoice_id = i.id
         ORDER BY COALESCE(created_at, updated_at) DESC, rowid DESC LIMIT 1)";

/// The export's order: oldest first.
pub const EXPORT_ORDER: &str = "i.id ASC";

/// Whether a search should be driven by the counterparty index (and with which MATCH): there is a
/// text the index holds. A period then narrows the index's rowids (see [`Ledger::list`]).
pub(super) fn index_drives(f: &Filter) -> Option<search::Plan> {
    if f.without_index {
        return None;
    }
    let q = f.text.as_deref().map(str::trim).filter(|q| !q.is_empty())?;
    search::plan(q)
}

/// How a history query is driven: which index SQLite walks first (see `Ledger::list`).
pub(super) enum Drive {
    /// SQLite's own choice (the date index for a period, the amount index for an exact amount).
    Planner,
    /// The counterparty index, newest first (FTS5 hands out rowids in descending order lazily) up
    /// to the page's end, within the period's id span when there is a period (FTS5 seeks to a
    /// rowid range). Invoice ids grow with creation time, so this is newest first too.
    Counterparty(search::Plan, Option<(i64, i64)>),
    /// The invoices newest first, checking a wide amount range on each (the amount index left
    /// alone), up to the page's end: fewer rows than sorting the whole range.
    NewestFirst,
}

/// `select [WHERE …] ORDER BY order`, with SQLite choosing the index: `select` is a whole
/// `SELECT … FROM …` whose invoices are `i` (the export's).
pub(super) fn filter_sql_ordered(
    select: &str,
    f: &Filter,
    order: &str,
) -> (String, Vec<rusqlite::types::Value>) {
    let (wh, args) = filter_conditions(f, &Drive::Planner);
    (assemble(select, &wh, order, f.limit), args)
}

/// The history query for `f`, driven as `drive` says.
pub(super) fn filter_sql_driven(
    cols: &str,
    f: &Filter,
    drive: &Drive,
) -> (String, Vec<rusqlite::types::Value>) {
    let (wh, args) = filter_conditions(f, drive);
    let (from, order) = match drive {
        Drive::Counterparty(plan, _) => (
            format!("{} s CROSS JOIN invoices i ON i.id = s.rowid", plan.table()),
            "s.rowid DESC",
        ),
        Drive::Planner | Drive::NewestFirst => {
            ("invoices i".to_string(), "i.created_at DESC, i.id DESC")
        }
    };
    (
        assemble(&format!("{cols} FROM {from}"), &wh, order, f.limit),
        args,
    )
}

pub(super) fn assemble(select: &str, wh: &[String], order: &str, limit: Option<u32>) -> String {
    let mut sql = select.to_string();
    if !wh.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&wh.join(" AND "));
    }
    sql.push_str(" ORDER BY ");
    sql.push_str(order);
    if let Some(l) = limit {
        sql.push_str(&format!(" LIMIT {l}"));
    }
    sql
}

/// The WHERE conditions of `f` (numbered parameters) and their values.
pub(super) fn filter_conditions(
    f: &Filter,
    drive: &Drive,
) -> (Vec<String>, Vec<rusqlite::types::Value>) {
    use rusqlite::types::Value as V;
    let mut wh: Vec<String> = Vec::new();
    let mut args: Vec<V> = Vec::new();
    let mut push = |cond: &str, v: V, wh: &mut Vec<String>| {
        args.push(v);
        wh.push(cond.replace('?', &format!("?{}", args.len())));
    };
    if let Drive::Counterparty(plan, span) = drive {
        push(
            &format!("s.{} MATCH ?", plan.table()),
            V::Text(plan.query().to_string()),
            &mut wh,
        );
        if let Some((lo, hi)) = span {
            push("s.rowid >= ?", V::Integer(*lo), &mut wh);
            push("s.rowid <= ?", V::Integer(*hi), &mut wh);
        }
    }
    if let Some(t) = f.from {
        push("i.created_at >= ?", V::Text(ts(t)), &mut wh);
    }
    if let Some(t) = f.until {
        push("i.created_at < ?", V::Text(ts(t)), &mut wh);
    }
    if let Some(s) = f.status {
        push("i.status = ?", V::Text(s.as_str().into()), &mut wh);
    }
    if let Some(m) = &f.method {
        push(
            "i.id IN (SELECT invoice_id FROM payments WHERE payment_type = ? AND invoice_id IS NOT NULL)",
            V::Text(m.clone()),
            &mut wh,
        );
    }
    match (f.min, f.max) {
        // One amount: an equality lets the (amount, created_at) index give the newest first.
        (Some(a), Some(b)) if a == b => push("i.amount = ?", V::Integer(a), &mut wh),
        (min, max) => {
            // `+` keeps SQLite off the amount index when the newest-first walk was chosen.
            let col = match drive {
                Drive::NewestFirst => "+i.amount",
                _ => "i.amount",
            };
            if let Some(v) = min {
                push(&format!("{col} >= ?"), V::Integer(v), &mut wh);
            }
            if let Some(v) = max {
                push(&format!("{col} <= ?"), V::Integer(v), &mut wh);
            }
        }
    }
    if let Some(q) = f.text.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        // The LIKE decides every row, whichever index drove the query.
        let like = format!(
            "%{}%",
            q.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        args.push(V::Text(like));
        let n = args.len();
        wh.push(format!(
            "(i.number LIKE ?{n} ESCAPE '\\' OR i.customer_name LIKE ?{n} ESCAPE '\\'
              OR i.customer_name_kana LIKE ?{n} ESCAPE '\\' OR i.customer_email LIKE ?{n} ESCAPE '\\')"
        ));
    }
    (wh, args)
}

impl Ledger {
    /// Invoices newest first.
    pub fn list(&self, f: &Filter) -> Result<Vec<InvoiceRecord>> {
        let cols = INVOICE_COLS
            .split(',')
            .map(|c| format!("i.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let drive = match index_drives(f) {
            Some(plan) => Drive::Counterparty(plan, self.id_span(f)?),
            None if self.amount_walk_pays(f)? => Drive::NewestFirst,
            None => Drive::Planner,
        };
        let (sql, args) = filter_sql_driven(&format!("SELECT {cols}"), f, &drive);
        let mut st = self.conn.prepare_cached(&sql)?;
        let rows = st.query_map(params_from_iter(args.iter()), invoice_row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    /// The smallest and largest invoice id created in `f`'s period (`None` without a period): a
    /// counterparty search reads only that rowid range of the index. Exact whatever the clock did
    /// (ids need not follow creation time): every invoice of the period lies inside the span, and
    /// the period's own condition still decides each row. One pass over the period's entries of the
    /// date index, which holds the ids.
    pub(super) fn id_span(&self, f: &Filter) -> Result<Option<(i64, i64)>> {
        if f.from.is_none() && f.until.is_none() {
            return Ok(None);
        }
        let (lo, hi): (Option<i64>, Option<i64>) = self.conn.query_row(
            "SELECT MIN(id), MAX(id) FROM invoices WHERE created_at >= ?1 AND created_at < ?2",
            params![
                f.from.map(ts).unwrap_or_default(),
                f.until.map(ts).unwrap_or_else(|| "9999".into())
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        // An empty period: a span no rowid is in.
        Ok(Some((lo.unwrap_or(1), hi.unwrap_or(0))))
    }

    /// For an amount range without a period or text: whether walking the invoices newest first is
    /// cheaper than sorting the range. With `m` of `n` invoices in the range and a page of `p`, the
    /// walk visits about `p × n / m` rows and the sort `m`; walk when `m² > p × n`. Counting the
    /// range on the (amount, created_at) index is cheap next to either.
    pub(super) fn amount_walk_pays(&self, f: &Filter) -> Result<bool> {
        let (Some(limit), true) = (f.limit, f.from.is_none() && f.until.is_none()) else {
            return Ok(false);
        };
        if f.text.is_some() || (f.min.is_none() && f.max.is_none()) || f.min == f.max {
            return Ok(false);
        }
        let (m, n): (i64, i64) = self.conn.query_row(
            "SELECT (SELECT COUNT(*) FROM invoices WHERE amount >= ?1 AND amount <= ?2),
                    (SELECT COALESCE(MAX(id), 0) FROM invoices)",
            params![f.min.unwrap_or(i64::MIN), f.max.unwrap_or(i64::MAX)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((m as i128) * (m as i128) > (limit as i128) * (n as i128))
    }

    /// Rebuilds the counterparty index from the invoices (after loading rows with plain SQL).
    /// Returns the number of invoices indexed.
    pub fn rebuild_search_index(&mut self) -> Result<u64> {
        let tx = self.conn.transaction()?;
        let n = search::rebuild(&tx)?;
        tx.commit()?;
        Ok(n)
    }

    /// Invoices with a journal entry in `[from, until)`: paid in it, or refunded in it.
    pub fn journal_invoices(
        &self,
        from: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Result<Vec<i64>> {
        let f = from.map(ts).unwrap_or_default();
        let u = until.map(ts).unwrap_or_else(|| "9999".into());
        let mut st = self.conn.prepare_cached(
            "SELECT id FROM invoices WHERE paid_at >= ?1 AND paid_at < ?2
             UNION
             SELECT invoice_id FROM events WHERE kind = 'refund' AND at >= ?1 AND at < ?2
             ORDER BY 1",
        )?;
        let ids = st
            .query_map(params![f, u], |r| r.get::<_, i64>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(ids)
    }

    /// Streams export rows in creation order without holding them in memory. `each` fails with the
    /// caller's error type, which also carries the ledger's.
    pub fn for_each_export_row<E: From<LedgerError>>(
        &self,
        f: &Filter,
        mut each: impl FnMut(&rusqlite::Row<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<u64, E> {
        let (sql, args) = filter_sql_ordered(EXPORT_SELECT, f, EXPORT_ORDER);
        let mut st = self.conn.prepare(&sql).map_err(LedgerError::from)?;
        let mut rows = st
            .query(params_from_iter(args.iter()))
            .map_err(LedgerError::from)?;
        let mut n = 0u64;
        while let Some(row) = rows.next().map_err(LedgerError::from)? {
            each(row)?;
            n += 1;
        }
        Ok(n)
    }

    /// How many invoices match `f` (its limit ignored): the total an export's progress counts to.
    pub fn count_matching(&self, f: &Filter) -> Result<u64> {
        let (wh, args) = filter_conditions(f, &Drive::Planner);
        let sql = assemble("SELECT COUNT(*) FROM invoices i", &wh, "1", None);
        let n: i64 = self
            .conn
            .query_row(&sql, params_from_iter(args.iter()), |r| r.get(0))?;
        Ok(n as u64)
    }
}
