//! After `reji restore`: bring back what KOMOJU knows and the restored ledger lacks.

use super::*;

/// The session-create body (stored verbatim before it is sent). Reji sends the tax-inclusive total
/// as `amount` and no `tax`.
/// `YYYY-NNNNNN` or `YYYY-NNNNNN-K` (attempt K) → ((year, seq), attempt).
pub(super) fn parse_order_number(s: &str) -> Option<((i32, u32), u32)> {
    let mut parts = s.split('-');
    let (y, n) = (parts.next()?, parts.next()?);
    let attempt = match parts.next() {
        Some(k) => k.parse().ok()?,
        None => 1,
    };
    if parts.next().is_some() || y.len() != 4 || n.len() < 6 {
        return None;
    }
    Some(((y.parse().ok()?, n.parse().ok()?), attempt))
}

impl Register {
    /// After `reji restore` (see `ledger::restore`), once, when a KOMOJU key is at hand: lists
    /// KOMOJU's payments since the restored ledger's newest invoice, moves the invoice counters past
    /// every number of this ledger KOMOJU knows, and brings back the sales the ledger lacks (made
    /// after the backup). Says what it did in the notices. Without a key it waits for a command
    /// that has one.
    pub async fn reconcile_after_restore(&mut self) -> Result<()> {
        let Some(since) = self
            .ledger
            .meta(crate::ledger::RESTORE_RECONCILE_KEY)?
            .filter(|v| !v.is_empty())
        else {
            return Ok(());
        };
        let Ok(client) = self.client().cloned() else {
            return Ok(());
        };
        let since = crate::komoju::parse_time(&since).unwrap_or_else(|| self.now());
        let prefix = format!("{}-", self.ledger.ledger_id());
        let (mut moved, mut recovered) = (false, Vec::new());
        let mut page = 1;
        loop {
            let list = client
                .list_payments(&crate::komoju::PaymentQuery {
                    page,
                    per_page: crate::komoju::PER_PAGE,
                    // Clocks differ: start a little before the newest invoice.
                    start_time: Some(since - Duration::hours(1)),
                    ..Default::default()
                })
                .await?;
            for p in &list.data {
                let Some((number, attempt)) = p
                    .external_order_num
                    .as_deref()
                    .and_then(|e| e.strip_prefix(&prefix))
                    .and_then(parse_order_number)
                else {
                    continue;
                };
                let (year, seq) = number;
                moved |= self.ledger.counter_at_least(year, seq)?;
                let number = InvoiceNumber::new(year, seq);
                let eon =
                    crate::invoice::external_order_num(self.ledger.ledger_id(), &number, attempt);
                let now = self.now();
                if let Some(id) = self
                    .ledger
                    .import_recovered(&number, attempt, &eon, p, now)?
                {
                    if let Some(sid) = &p.session {
                        if let Ok(session) = client.get_session(sid).await {
                            let a = self.ledger.current_attempt(id)?;
                            self.ledger
                                .record_session(a.id, &session, DEFAULT_EXPIRES_IN)?;
                        }
                    }
                    self.reconcile(id)?;
                    recovered.push(number.to_string());
                }
            }
            if !list.has_more(crate::komoju::PER_PAGE) {
                break;
            }
            page += 1;
        }
        self.ledger
            .set_meta(crate::ledger::RESTORE_RECONCILE_KEY, "")?;
        if !recovered.is_empty() {
            self.notice(
NoticeCode::RecoveredAfterRestore,format!(
                "after the restore, KOMOJU had {} sale(s) the ledger lacked, brought back: {} (one line each at 10 %: check them)",
                recovered.len(),
                recovered.join(", ")
            ));
        } else if moved {
            self.notice(
                NoticeCode::NumbersMovedAfterRestore,
                "after the restore, invoice numbers continue after the last one KOMOJU knows"
                    .into(),
            );
        }
        Ok(())
    }
}
