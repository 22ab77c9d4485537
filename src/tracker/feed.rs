//! The slow lane's change feeds: KOMOJU's Events API, or the list of payments still waiting.
//! Requests per pass grow with what changed, not with how many invoices are open.

use crate::komoju::{Client, EventQuery, KomojuError, Payment, PaymentQuery, PER_PAGE};
use crate::ledger::Move;
use crate::register::{Error, Register};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashSet;
use tokio::sync::Mutex;

/// What one pass did.
#[derive(Debug, Default)]
pub struct PassOutcome {
    pub requests: u32,
    /// Events (events feed) or payments (list feed) that were new to this pass.
    pub items: usize,
    /// Applied status moves: (invoice id, move).
    pub moves: Vec<(i64, Move)>,
    /// Events feed: payment changes Reji itself recorded inside the window (a live feed carries
    /// events for them).
    pub expected: u64,
    /// Events feed: events the window returned, including ones already seen (liveness).
    pub returned: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Komoju(#[from] KomojuError),
    #[error(transparent)]
    Register(#[from] Error),
}

impl From<crate::ledger::LedgerError> for FeedError {
    fn from(e: crate::ledger::LedgerError) -> Self {
        FeedError::Register(e.into())
    }
}

impl From<FeedError> for Error {
    fn from(e: FeedError) -> Self {
        match e {
            FeedError::Komoju(e) => Error::Komoju(e),
            FeedError::Register(e) => e,
        }
    }
}

impl FeedError {
    pub fn is_auth(&self) -> bool {
        match self {
            FeedError::Komoju(e) => e.is_auth(),
            FeedError::Register(Error::Komoju(e)) => e.is_auth(),
            _ => false,
        }
    }
}

fn push_move(out: &mut PassOutcome, r: Option<(i64, Move)>) {
    if let Some((id, m @ Move::Applied { .. })) = r {
        out.moves.push((id, m));
    }
}

/// Events feed: `GET /events` from the persisted cursor minus an overlap, every page, de-duplicated
/// by event id, applied oldest first (a late `authorized` after `captured` then changes nothing).
pub async fn events_pass(
    client: &Client,
    reg: &Mutex<Register>,
    overlap: Duration,
    now: DateTime<Utc>,
) -> Result<PassOutcome, FeedError> {
    let (cursor, oldest_open) = {
        let r = reg.lock().await;
        let oldest = r.ledger().open_invoices()?.first().map(|i| i.created_at);
        (r.ledger().feed_cursor("events")?, oldest)
    };
    let (since, seen_before): (DateTime<Utc>, HashSet<String>) = match &cursor {
        Some((t, ids)) => (*t - overlap, ids.iter().cloned().collect()),
        // First run: catch up from the oldest open invoice.
        None => (oldest_open.unwrap_or(now) - overlap, HashSet::new()),
    };
    let mut out = PassOutcome {
        expected: reg.lock().await.ledger().payment_moves_since(since)?,
        ..Default::default()
    };
    let mut events = Vec::new();
    let mut ids_this_pass = HashSet::new();
    let mut page = 1;
    loop {
        let q = EventQuery {
            page,
            per_page: PER_PAGE,
            start_time: Some(since),
            end_time: None,
        };
        let list = client.list_events(&q).await?;
        out.requests += 1;
        let more = list.has_more(PER_PAGE) && !list.data.is_empty();
        out.returned += list.data.len();
        for e in list.data {
            if !seen_before.contains(&e.id) && ids_this_pass.insert(e.id.clone()) {
                events.push(e);
            }
        }
        if !more || page >= 1000 {
            break;
        }
        page += 1;
    }
    out.items = events.len();
    // Pages come newest first; apply oldest first. Reversing before the stable sort keeps events
    // with one timestamp in KOMOJU's order too.
    events.reverse();
    events.sort_by_key(|e| e.created_at);
    let mut last = cursor.as_ref().map(|(t, _)| *t).unwrap_or(since + overlap);
    {
        let mut r = reg.lock().await;
        for e in &events {
            if let Some(t) = e.created_at {
                last = last.max(t);
            }
            if let Some(p) = e.payment() {
                push_move(&mut out, r.apply_payment(&p)?);
            }
        }
        // Keep the ids that may show up again in the next overlapping window.
        let mut keep: Vec<String> = seen_before.into_iter().collect();
        keep.extend(events.iter().map(|e| e.id.clone()));
        let horizon = last - overlap;
        let recent: HashSet<&str> = events
            .iter()
            .filter(|e| e.created_at.is_none_or(|t| t >= horizon))
            .map(|e| e.id.as_str())
            .collect();
        keep.retain(|id| {
            recent.contains(id.as_str()) || cursor.as_ref().is_some_and(|(t, _)| *t >= horizon)
        });
        keep.sort();
        keep.dedup();
        r.ledger().set_feed_cursor("events", last, &keep, now)?;
    }
    close_expired_sessions(client, reg, now, &mut out).await?;
    Ok(out)
}

/// List feed: payments created since the last pass, the set still `authorized` (pages of 100), and
/// one `GET /payments/:id` for each known waiting payment that left that set.
pub async fn list_pass(
    client: &Client,
    reg: &Mutex<Register>,
    overlap: Duration,
    now: DateTime<Utc>,
) -> Result<PassOutcome, FeedError> {
    let (cursor, oldest_open, waiting) = {
        let r = reg.lock().await;
        let oldest = r.ledger().open_invoices()?.first().map(|i| i.created_at);
        (
            r.ledger().feed_cursor("list")?,
            oldest,
            r.ledger().awaiting_payments()?,
        )
    };
    let since = match &cursor {
        Some((t, _)) => *t - overlap,
        None => oldest_open.unwrap_or(now) - overlap,
    };
    let mut out = PassOutcome::default();
    let mut applied: HashSet<String> = HashSet::new();
    // 1. Payments created since the last pass (e.g. an off-screen session paid later).
    let created = fetch_all(client, &mut out, |page| PaymentQuery {
        page,
        per_page: PER_PAGE,
        start_time: Some(since),
        ..Default::default()
    })
    .await?;
    // 2. The set still waiting at a store or bank.
    let still_waiting = fetch_all(client, &mut out, |page| PaymentQuery {
        page,
        per_page: PER_PAGE,
        status: Some("authorized".into()),
        ..Default::default()
    })
    .await?;
    let waiting_ids: HashSet<&str> = still_waiting.iter().map(|p| p.id.as_str()).collect();
    {
        let mut r = reg.lock().await;
        for p in created.iter().chain(still_waiting.iter()) {
            if applied.insert(p.id.clone()) {
                push_move(&mut out, r.apply_payment(p)?);
            }
        }
    }
    // 3. Known waiting payments that left the set: one GET each to learn what happened.
    for (_, pid) in waiting {
        if waiting_ids.contains(pid.as_str()) || applied.contains(&pid) {
            continue;
        }
        let p = client.get_payment(&pid).await?;
        out.requests += 1;
        applied.insert(pid);
        push_move(&mut out, reg.lock().await.apply_payment(&p)?);
    }
    out.items = applied.len();
    reg.lock()
        .await
        .ledger()
        .set_feed_cursor("list", now, &[], now)?;
    close_expired_sessions(client, reg, now, &mut out).await?;
    Ok(out)
}

async fn fetch_all(
    client: &Client,
    out: &mut PassOutcome,
    query: impl Fn(u32) -> PaymentQuery,
) -> Result<Vec<Payment>, KomojuError> {
    let mut all = Vec::new();
    let mut seen = HashSet::new();
    let mut page = 1;
    loop {
        let list = client.list_payments(&query(page)).await?;
        out.requests += 1;
        let more = list.has_more(PER_PAGE) && !list.data.is_empty();
        for p in list.data {
            if seen.insert(p.id.clone()) {
                all.push(p);
            }
        }
        if !more || page >= 1000 {
            return Ok(all);
        }
        page += 1;
    }
}

/// Open sessions with no payment past their computed expiry are checked once and closed.
async fn close_expired_sessions(
    client: &Client,
    reg: &Mutex<Register>,
    now: DateTime<Utc>,
    out: &mut PassOutcome,
) -> Result<(), FeedError> {
    let open = reg.lock().await.ledger().open_sessions()?;
    for (_, sid, deadline) in open {
        if deadline.is_some_and(|d| d <= now) {
            let s = client.get_session(&sid).await?;
            out.requests += 1;
            push_move(out, reg.lock().await.apply_session_snapshot(&s)?);
        }
    }
    Ok(())
}
