//! The tracker's timing decisions, as pure functions of time so they are tested without sleeping.

use std::time::Duration;

/// How often the fast lane polls a session whose QR is on screen, by how long it has been shown.
///
/// Customers need a few seconds to unlock a phone and open the camera, most pay within one to two
/// minutes, and a QR left on screen longer is probably forgotten. Polling fast only in the likely
/// window keeps the average at about one request per second over a session's life.
#[derive(Clone, Debug)]
pub struct Cadence {
    /// (shown for less than, poll every)
    pub steps: Vec<(Duration, Duration)>,
    /// After the last step.
    pub tail: Duration,
}

impl Default for Cadence {
    fn default() -> Self {
        Cadence {
            steps: vec![
                (Duration::from_secs(8), Duration::from_millis(1500)),
                (Duration::from_secs(120), Duration::from_millis(950)),
                (Duration::from_secs(300), Duration::from_secs(2)),
            ],
            tail: Duration::from_secs(5),
        }
    }
}

impl Cadence {
    /// A plain fixed-interval poll (the reference KOMOJU's embeddable checkout uses: 3 s).
    pub fn fixed(every: Duration) -> Self {
        Cadence {
            steps: vec![],
            tail: every,
        }
    }

    pub fn interval(&self, shown_for: Duration) -> Duration {
        self.steps
            .iter()
            .find(|(until, _)| shown_for < *until)
            .map_or(self.tail, |(_, every)| *every)
    }
}

/// Exponential backoff for network trouble: doubles from `base` up to `max`, resets on success.
#[derive(Clone, Debug)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Self {
        Backoff {
            base,
            max,
            failures: 0,
        }
    }
    /// Records a failure and returns how long to wait before the next try.
    pub fn fail(&mut self) -> Duration {
        let d = self
            .base
            .saturating_mul(1u32 << self.failures.min(16))
            .min(self.max);
        self.failures = self.failures.saturating_add(1);
        d
    }
    pub fn succeed(&mut self) {
        self.failures = 0;
    }
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// Which change feed the slow lane uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedKind {
    Events,
    List,
}

impl FeedKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedKind::Events => "events",
            FeedKind::List => "list",
        }
    }
}

/// The feed setting lives with the shop's settings (the register), the tracker reads it.
pub use crate::register::FeedMode;

/// Decides between the events feed and the list feed.
///
/// KOMOJU documents `GET /events` as past *webhook* events; an account with no webhook endpoint may
/// have none. The events feed is trusted while it proves alive: once Reji has itself seen payments
/// change (the fast lane, a staff action) and the feed has still carried no event for `patience`
/// passes, or when it errors, the list feed takes over. The events feed is probed again every
/// `reprobe_every` passes, and taken back when it carries events.
#[derive(Clone, Debug)]
pub struct FeedChooser {
    pub mode: FeedMode,
    pub patience: u32,
    pub reprobe_every: u32,
    current: FeedKind,
    /// Payment changes Reji observed by other means since the events feed last carried an event.
    unexplained_changes: u32,
    empty_passes_with_changes: u32,
    passes_on_list: u32,
}

/// What the chooser wants this pass to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PassPlan {
    pub feed: FeedKind,
    /// Also try the events feed this pass (a re-probe while on the list feed).
    pub probe_events: bool,
}

impl FeedChooser {
    pub fn new(mode: FeedMode) -> Self {
        FeedChooser {
            mode,
            patience: 3,
            reprobe_every: 30,
            current: match mode {
                FeedMode::List => FeedKind::List,
                _ => FeedKind::Events,
            },
            unexplained_changes: 0,
            empty_passes_with_changes: 0,
            passes_on_list: 0,
        }
    }

    pub fn current(&self) -> FeedKind {
        self.current
    }

    pub fn plan(&mut self) -> PassPlan {
        let probe = self.mode == FeedMode::Auto
            && self.current == FeedKind::List
            && self.passes_on_list > 0
            && self.passes_on_list % self.reprobe_every == 0;
        PassPlan {
            feed: self.current,
            probe_events: probe,
        }
    }

    /// Reji saw a payment change by itself (an event for it should appear in a live events feed).
    pub fn observed_change(&mut self) {
        self.unexplained_changes = self.unexplained_changes.saturating_add(1);
    }

    /// The result of an events-feed request this pass: `Ok(n)` events, or an error.
    pub fn events_result(&mut self, result: Result<usize, ()>) {
        if self.mode != FeedMode::Auto {
            return;
        }
        match result {
            Ok(n) if n > 0 => {
                self.current = FeedKind::Events;
                self.unexplained_changes = 0;
                self.empty_passes_with_changes = 0;
                self.passes_on_list = 0;
            }
            Ok(_) => {
                if self.current == FeedKind::Events && self.unexplained_changes > 0 {
                    self.empty_passes_with_changes += 1;
                    if self.empty_passes_with_changes >= self.patience {
                        self.switch_to_list();
                    }
                }
            }
            Err(()) => {
                if self.current == FeedKind::Events {
                    self.switch_to_list();
                }
            }
        }
    }

    /// A list-feed pass ran.
    pub fn list_pass(&mut self) {
        if self.current == FeedKind::List {
            self.passes_on_list = self.passes_on_list.saturating_add(1);
        }
    }

    fn switch_to_list(&mut self) {
        self.current = FeedKind::List;
        self.empty_passes_with_changes = 0;
        self.passes_on_list = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn cadence_is_fast_only_while_payment_is_likely() {
        let c = Cadence::default();
        assert_eq!(c.interval(secs(0.0)), secs(1.5));
        assert_eq!(c.interval(secs(30.0)), secs(0.95));
        assert_eq!(c.interval(secs(200.0)), secs(2.0));
        assert_eq!(c.interval(secs(3600.0)), secs(5.0));
        assert_eq!(Cadence::fixed(secs(3.0)).interval(secs(30.0)), secs(3.0));
    }

    #[test]
    fn cadence_averages_at_most_one_request_per_second() {
        // Simulate polls for a customer paying at t seconds, for t from 10 to 90.
        let c = Cadence::default();
        for pay_at in (10..=90).step_by(5) {
            let (mut t, mut n) = (0.0f64, 0u32);
            while t < pay_at as f64 {
                t += c.interval(secs(t)).as_secs_f64();
                n += 1;
            }
            let rate = (n + 1) as f64 / t; // + the payment fetch
            assert!(rate <= 1.06, "paid at {pay_at}s: {rate:.2} req/s");
        }
    }

    #[test]
    fn backoff_doubles_caps_and_resets() {
        let mut b = Backoff::new(secs(1.0), secs(30.0));
        let waits: Vec<_> = (0..7).map(|_| b.fail().as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        b.succeed();
        assert_eq!(b.fail(), secs(1.0));
    }

    #[test]
    fn events_feed_is_kept_while_alive() {
        let mut f = FeedChooser::new(FeedMode::Auto);
        assert_eq!(f.plan().feed, FeedKind::Events);
        for _ in 0..10 {
            f.events_result(Ok(0)); // nothing happened, nothing expected
        }
        assert_eq!(f.current(), FeedKind::Events);
        f.observed_change();
        f.events_result(Ok(2));
        assert_eq!(f.current(), FeedKind::Events);
    }

    #[test]
    fn an_empty_events_feed_despite_changes_falls_back_to_the_list_and_reprobes() {
        let mut f = FeedChooser::new(FeedMode::Auto);
        f.observed_change();
        f.events_result(Ok(0));
        f.events_result(Ok(0));
        assert_eq!(f.current(), FeedKind::Events);
        f.events_result(Ok(0));
        assert_eq!(
            f.current(),
            FeedKind::List,
            "three empty passes after a change Reji saw"
        );
        let mut probes = 0;
        for _ in 0..=60 {
            if f.plan().probe_events {
                probes += 1;
                f.events_result(Ok(0));
            }
            f.list_pass();
        }
        assert_eq!(probes, 2, "re-probed every 30 passes");
        assert_eq!(f.current(), FeedKind::List);
        // The probe finds events: back to the events feed.
        while !f.plan().probe_events {
            f.list_pass();
        }
        f.events_result(Ok(1));
        assert_eq!(f.current(), FeedKind::Events);
    }

    #[test]
    fn an_erroring_events_feed_falls_back_at_once_and_forced_modes_never_switch() {
        let mut f = FeedChooser::new(FeedMode::Auto);
        f.events_result(Err(()));
        assert_eq!(f.current(), FeedKind::List);
        let mut forced = FeedChooser::new(FeedMode::Events);
        forced.observed_change();
        for _ in 0..10 {
            forced.events_result(Err(()));
        }
        assert_eq!(forced.current(), FeedKind::Events);
        let mut list = FeedChooser::new(FeedMode::List);
        assert_eq!(
            list.plan(),
            PassPlan {
                feed: FeedKind::List,
                probe_events: false
            }
        );
    }
}
