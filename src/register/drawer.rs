//! The cash drawer's day: open with a counted float, 入金 / 出金 with a reason, 点検 (a report at
//! any time, nothing changes) and 精算 (a count against what the drawer should hold; final).

use super::*;
use crate::ledger::{DrawerMovement, DrawerSession, MethodTotal};
use std::collections::BTreeMap;

/// Japan's notes and coins, largest first.
pub const DENOMINATIONS: [i64; 10] = [10_000, 5_000, 2_000, 1_000, 500, 100, 50, 10, 5, 1];
/// The longest reason of an 入金 / 出金.
pub const MAX_REASON: usize = 60;

/// Cash counted by denomination (金種).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CashCount {
    /// Denomination (yen) → how many.
    pub counts: BTreeMap<i64, u32>,
    pub total: i64,
}

impl CashCount {
    /// Reads `10000:1,1000:5,100:10` (denomination:count, any order; a denomination once).
    pub fn parse(text: &str) -> Result<CashCount> {
        let mut counts = BTreeMap::new();
        for part in text
            .split([',', '、'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (d, n) = part.split_once([':', '：']).ok_or_else(|| {
                Error::bad(
                    "count",
                    format!("{part:?} must be DENOMINATION:COUNT (for example 1000:5)"),
                )
            })?;
            let d: i64 = crate::tender::parse_yen(d)
                .filter(|d| DENOMINATIONS.contains(d))
                .ok_or_else(|| {
                    Error::bad(
                        "count",
                        format!(
                            "{:?} is not a yen note or coin ({})",
                            d.trim(),
                            DENOMINATIONS.map(|d| d.to_string()).join(", ")
                        ),
                    )
                })?;
            let n: u32 = n
                .trim()
                .parse()
                .ok()
                .filter(|n| *n <= 100_000)
                .ok_or_else(|| {
                    Error::bad(
                        "count",
                        format!("{part:?}: the count must be a whole number from 0 to 100000"),
                    )
                })?;
            if counts.insert(d, n).is_some() {
                return Err(Error::bad("count", format!("¥{d} is counted twice")));
            }
        }
        let total = counts.iter().map(|(d, n)| d * *n as i64).sum();
        Ok(CashCount { counts, total })
    }

    /// A count as a screen gives it: denomination → how many (zeros allowed, every denomination
    /// a yen note or coin, each count 0 to 100 000).
    pub fn from_counts(counts: &BTreeMap<i64, u32>) -> Result<CashCount> {
        for (d, n) in counts {
            if !DENOMINATIONS.contains(d) {
                return Err(Error::bad(
                    "count",
                    format!("¥{d} is not a yen note or coin"),
                ));
            }
            if *n > 100_000 {
                return Err(Error::bad(
                    "count",
                    format!("¥{d}: the count must be a whole number from 0 to 100000"),
                ));
            }
        }
        let counts: BTreeMap<i64, u32> = counts.clone();
        let total = counts.iter().map(|(d, n)| d * *n as i64).sum();
        Ok(CashCount { counts, total })
    }

    fn json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.counts
                .iter()
                .map(|(d, n)| (d.to_string(), serde_json::json!(n)))
                .collect(),
        )
    }
}

/// 点検 (`check`) or 精算 (`close`): what the drawer should hold and why.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct DrawerReport {
    /// `check` (X: nothing changes) or `close` (Z: counted and final).
    pub kind: String,
    pub session: Option<DrawerSession>,
    /// The window: from the last 精算 (or the first sale) to now.
    pub from: Option<String>,
    pub until: String,
    pub float: i64,
    /// Cash kept from sales (what was handed over less the change), when it was taken: a split
    /// sale's cash counts while its KOMOJU part is still open, and not once it ended unpaid.
    pub cash_sales: i64,
    /// Cash given back for refunds.
    pub cash_refunds: i64,
    pub cash_in: i64,
    pub cash_out: i64,
    /// float + cash_sales − cash_refunds + cash_in − cash_out.
    pub expected_cash: i64,
    pub counted_cash: Option<i64>,
    /// counted − expected (過不足: negative is a shortage).
    pub difference: Option<i64>,
    pub count: Option<CashCount>,
    /// Sales in the window per tender (cash, `shop:NAME`, KOMOJU's payment types).
    pub per_tender: Vec<MethodTotal>,
    pub sales_total: i64,
    /// Refunds made in the window per tender (what went back where), and their total.
    #[serde(default)]
    pub refunds_per_tender: Vec<MethodTotal>,
    #[serde(default)]
    pub refunds_total: i64,
    /// Net sales: `sales_total` less `refunds_total`.
    #[serde(default)]
    pub net_total: i64,
    /// Sales in the window per tax rate, with their tax and discounts (値引).
    #[serde(default)]
    pub per_rate: Vec<crate::ledger::RateTotalLine>,
    /// Refunds and returns in the window per tax rate, as their return receipts split them.
    #[serde(default)]
    pub refunds_per_rate: Vec<crate::ledger::RateTotalLine>,
    /// Konbini / bank transfer / Pay-easy sales still waiting for the customer's payment.
    #[serde(default)]
    pub pending_count: i64,
    #[serde(default)]
    pub pending_total: i64,
    pub movements: Vec<DrawerMovement>,
}

impl Register {
    /// Opens the drawer with its float, counted by denomination. Refused (not allowed) while a
    /// drawer is open.
    pub fn drawer_open(&mut self, count: &CashCount) -> Result<DrawerSession> {
        let now = self.now();
        self.ledger
            .start_drawer(count.total, &count.json(), now, &self.actor.label())?
            .ok_or_else(|| {
                Error::Drawer("the drawer is already open: close it (精算) first".into())
            })
    }

    /// 入金 (`in`) or 出金 (`out`) with its reason.
    pub fn drawer_move(&mut self, kind: &str, amount: i64, reason: &str) -> Result<DrawerMovement> {
        if amount <= 0 || amount > crate::tender::MAX_CASH {
            return Err(Error::bad(
                "amount",
                format!("{amount} must be whole yen, more than 0"),
            ));
        }
        let reason = reason.trim();
        if reason.is_empty()
            || reason.chars().count() > MAX_REASON
            || reason.chars().any(char::is_control)
        {
            return Err(Error::bad(
                "reason",
                format!(
                    "give a reason of one line, at most {MAX_REASON} characters (両替, 仕入れ, …)"
                ),
            ));
        }
        let now = self.now();
        Ok(self
            .ledger
            .drawer_move(kind, amount, reason, now, &self.actor.label())?)
    }

    /// 点検: the drawer's figures now; nothing changes.
    pub fn drawer_check(&self) -> Result<DrawerReport> {
        self.drawer_report("check", None)
    }

    /// 精算: the count against what the drawer should hold; the session is closed for good. A
    /// second 精算 of the same session (or none open) is not allowed.
    pub fn drawer_close(&mut self, count: &CashCount) -> Result<DrawerReport> {
        let open = self.ledger.open_drawer()?.ok_or_else(|| {
            Error::Drawer("no drawer is open: open it with its float first".into())
        })?;
        let report = self.drawer_report("close", Some(count))?;
        let now = self.now();
        let text =
            serde_json::to_string(&report).map_err(|e| Error::bad("report", e.to_string()))?;
        if !self.ledger.close_drawer(
            &open.id,
            report.expected_cash,
            count.total,
            &count.json(),
            &text,
            now,
            &self.actor.label(),
        )? {
            return Err(Error::Drawer(format!(
                "drawer {} is already closed (精算)",
                open.id
            )));
        }
        let mut report = report;
        report.session = self.ledger.drawer_session(&open.id)?;
        Ok(report)
    }

    /// 精算 as a register does it at the end of the day: the drawer's count (final) and then the
    /// business day's close (日計表), so that the sales that follow belong to the next business
    /// day. Selling goes on; a day closed before is left as it was.
    pub fn drawer_settle(
        &mut self,
        count: &CashCount,
    ) -> Result<(DrawerReport, crate::ledger::DailyClose)> {
        let report = self.drawer_close(count)?;
        let (close, _) = self.close_day(None)?;
        Ok((report, close))
    }

    /// The last 精算's report as it was stored when the drawer was closed.
    pub fn last_drawer_close(&self) -> Result<DrawerReport> {
        let (id, text) = self
            .ledger
            .last_close_report()?
            .ok_or_else(|| Error::NotFound("a 精算 of the drawer (none yet)".into()))?;
        let mut r: DrawerReport = serde_json::from_str(&text).map_err(|e| {
            Error::Ledger(crate::ledger::LedgerError::Corrupt(format!(
                "the last 精算's stored report does not read back: {e}"
            )))
        })?;
        // Stored as counted, just before the session was closed: the session as closed.
        r.session = self.ledger.drawer_session(&id)?;
        Ok(r)
    }

    /// A drawer report as a file ([`super::books::report_file`]): PDF (A4, laid out as the printed
    /// report) or CSV (UTF-8 with BOM, Japanese headers, one figure per row).
    pub fn drawer_report_file(
        &self,
        r: &DrawerReport,
        format: CloseFormat,
        font: Option<&crate::receipt::pdf::PdfFont>,
    ) -> Result<Vec<u8>> {
        let tz = self.settings.tz;
        super::books::report_file(
            format,
            font,
            || crate::export::drawer_csv(r, tz),
            || drawer_report_layout(r, &self.settings.shop_details(), tz),
        )
    }

    fn drawer_report(&self, kind: &'static str, count: Option<&CashCount>) -> Result<DrawerReport> {
        let now = self.now();
        let open = self.ledger.open_drawer()?;
        let since = self.ledger.last_closed_drawer()?.and_then(|s| s.closed_at);
        let from = since
            .map(crate::ledger::ts)
            .unwrap_or_else(|| "0000".into());
        // The window ends just after now, so that what happened at this instant counts.
        let until = crate::ledger::ts(now + chrono::Duration::milliseconds(1));
        let per_tender = self.ledger.tender_totals(&from, &until)?;
        let movements = self.ledger.drawer_movements(&from, &until)?;
        let cash_sales = self.ledger.cash_taken(&from, &until)?;
        let sum = |k: &str| {
            movements
                .iter()
                .filter(|m| m.kind == k)
                .map(|m| m.amount)
                .sum::<i64>()
        };
        let (cash_in, cash_out) = (sum("in"), sum("out"));
        let float = open.as_ref().map_or(0, |s| s.float);
        let cash_refunds = self.ledger.cash_refunded(&from, &until)?;
        let sales_total: i64 = per_tender.iter().map(|m| m.total).sum();
        let refunds_per_tender = self.ledger.refund_totals(&from, &until)?;
        let refunds_total: i64 = refunds_per_tender.iter().map(|m| m.total).sum();
        let (pending_count, pending_total) = self.ledger.awaiting_payment(&until)?;
        let expected_cash = float + cash_sales - cash_refunds + cash_in - cash_out;
        Ok(DrawerReport {
            kind: kind.to_string(),
            session: open,
            from: since.map(|t| t.with_timezone(&self.settings.tz).to_rfc3339()),
            until: now.with_timezone(&self.settings.tz).to_rfc3339(),
            float,
            cash_sales,
            cash_refunds,
            cash_in,
            cash_out,
            expected_cash,
            counted_cash: count.map(|c| c.total),
            difference: count.map(|c| c.total - expected_cash),
            count: count.cloned(),
            sales_total,
            per_tender,
            refunds_total,
            refunds_per_tender,
            net_total: sales_total - refunds_total,
            per_rate: self.ledger.sales_per_rate(&from, &until)?,
            refunds_per_rate: self.ledger.refunds_per_rate(&from, &until)?,
            pending_count,
            pending_total,
            movements,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_read_by_denomination() {
        let c = CashCount::parse("10000:1, 1000:5,100:10,1:3").unwrap();
        assert_eq!(c.total, 10_000 + 5_000 + 1_000 + 3);
        assert_eq!(CashCount::parse("").unwrap().total, 0);
        for bad in [
            "3000:1",
            "1000",
            "1000:x",
            "1000:-1",
            "1000:1,1000:2",
            "abc:1",
        ] {
            assert!(CashCount::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn settling_closes_the_drawer_and_the_day_and_selling_goes_on_the_next_day() {
        let mut r = Register::new(
            Ledger::open_in_memory().unwrap(),
            None,
            Arc::new(crate::clock::SystemClock),
        )
        .unwrap();
        r.drawer_open(&CashCount::parse("1000:5").unwrap()).unwrap();
        let before = r.ledger.business_date_at(r.now()).unwrap();
        let (report, day) = r
            .drawer_settle(&CashCount::parse("1000:4,100:9").unwrap())
            .unwrap();
        assert_eq!(
            (report.expected_cash, report.difference),
            (5_000, Some(-100))
        );
        assert_eq!(day.business_date, before.to_string());
        assert!(r.ledger.business_date_at(r.now()).unwrap() > before);
        // The today panel turns to the open business day, says which day was settled, and does
        // not offer to close the next day before it begins.
        let panel = r.today(None).unwrap();
        assert!(panel.summary.business_date > before.to_string());
        assert_eq!(
            panel.earlier_close,
            Some((day.business_date.clone(), day.closed_at.clone()))
        );
        assert!(!panel.closable && panel.closed_at.is_none());
        let settled = r.today(Some(&before.to_string())).unwrap();
        assert_eq!(settled.closed_at.as_deref(), Some(day.closed_at.as_str()));
        assert_eq!(settled.earlier_close, None);
        assert!(
            r.drawer_settle(&CashCount::parse("1000:4").unwrap())
                .is_err(),
            "a second 精算 of the same drawer"
        );
    }

    #[test]
    fn a_count_from_a_screen_is_the_same_as_typed() {
        let counts = BTreeMap::from([(10_000, 1), (1_000, 5), (100, 10), (1, 3), (5, 0)]);
        let c = CashCount::from_counts(&counts).unwrap();
        assert_eq!(
            c.total,
            CashCount::parse("10000:1,1000:5,100:10,1:3").unwrap().total
        );
        assert!(CashCount::from_counts(&BTreeMap::from([(3_000, 1)])).is_err());
        assert!(CashCount::from_counts(&BTreeMap::from([(1_000, 100_001)])).is_err());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::tender::ShopTender;
    use proptest::prelude::*;

    fn reg() -> Register {
        Register::new(
            Ledger::open_in_memory().unwrap(),
            None,
            Arc::new(crate::clock::SystemClock),
        )
        .unwrap()
    }

    #[derive(Debug, Clone)]
    enum Step {
        Sale {
            price: i64,
            rate: u8,
            cash_extra: i64,
            voucher: Option<i64>,
            discount: Option<u8>,
        },
        Move {
            out: bool,
            amount: i64,
        },
        /// A refund of `percent` of what is left of an earlier sale (`pick` among them).
        Refund {
            pick: usize,
            percent: i64,
        },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (
                1i64..50_000,
                prop_oneof![Just(10u8), Just(8), Just(0)],
                0i64..5_000,
                proptest::option::of(1i64..3_000),
                proptest::option::of(1u8..60)
            )
                .prop_map(|(price, rate, cash_extra, voucher, discount)| Step::Sale {
                    price,
                    rate,
                    cash_extra,
                    voucher,
                    discount
                }),
            (any::<bool>(), 1i64..20_000).prop_map(|(out, amount)| Step::Move { out, amount }),
            (any::<usize>(), 1i64..=100).prop_map(|(pick, percent)| Step::Refund { pick, percent }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// For any mix of counter tenders, discounts, refunds and drawer movements: the report's
        /// per-tender figures add up to the sales and, less the refunds per tender, to the net
        /// sales; the per-rate figures too; and the expected cash is the float plus the cash kept
        /// less the cash given back plus 入金 less 出金.
        #[test]
        fn the_report_adds_up(float in 0i64..100_000, steps in proptest::collection::vec(step(), 1..12)) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let mut r = reg();
            r.drawer_open(&CashCount { counts: BTreeMap::from([(1, float as u32)]), total: float }).unwrap();
            let (mut sales, mut kept, mut moved, mut refunded, mut cash_back) = (0i64, 0i64, 0i64, 0i64, 0i64);
            let mut discounted = 0i64;
            // Each sale: its number, total, cash part, and what was given back so far (all, cash).
            let mut sold: Vec<(String, i64, i64, i64, i64)> = Vec::new();
            for s in steps {
                match s {
                    Step::Sale { price, rate, cash_extra, voucher, discount } => {
                        let mut req = ChargeRequest {
                            lines: vec![LineItem::from_parts("x", price, 1, rate).unwrap()],
                            discount: discount.map(crate::discount::Discount::Percent),
                            ..Default::default()
                        };
                        let total = Draft {
                            currency: Currency::JPY,
                            lines: req.lines.clone(),
                            customer: Default::default(),
                            price_mode: PriceMode::Inclusive,
                            rounding: Rounding::Down,
                            discount: req.discount,
                            dining: None,
                        }.breakdown().unwrap().total;
                        if total == 0 { continue; }
                        let voucher = voucher.filter(|v| *v < total);
                        if let Some(v) = voucher {
                            req.tenders = vec![ShopTender { name: "商品券".into(), amount: v }];
                        }
                        let due_cash = total - voucher.unwrap_or(0);
                        req.cash = Some(due_cash + cash_extra);
                        let v = rt.block_on(r.charge(req)).unwrap();
                        prop_assert_eq!(v.status, InvoiceStatus::Paid);
                        sales += total;
                        kept += due_cash;
                        discounted += price - total;
                        sold.push((v.invoice_number.clone(), total, due_cash, 0, 0));
                    }
                    Step::Refund { pick, percent } => {
                        if sold.is_empty() { continue; }
                        let i = pick % sold.len();
                        let (number, total, cash, back, cash_given) = sold[i].clone();
                        let left = total - back;
                        if left == 0 { continue; }
                        let amount = (left * percent / 100).max(1);
                        rt.block_on(r.refund(&number, Some(amount), &BankAccount::default())).unwrap();
                        // Cash goes back first, then the shop's tender.
                        let from_cash = amount.min(cash - cash_given);
                        sold[i].3 += amount;
                        sold[i].4 += from_cash;
                        refunded += amount;
                        cash_back += from_cash;
                    }
                    Step::Move { out, amount } => {
                        r.drawer_move(if out { "out" } else { "in" }, amount, "両替").unwrap();
                        moved += if out { -amount } else { amount };
                    }
                }
            }
            let rep = r.drawer_check().unwrap();
            prop_assert_eq!(rep.sales_total, sales);
            prop_assert_eq!(rep.per_tender.iter().map(|m| m.total).sum::<i64>(), sales);
            prop_assert_eq!(rep.cash_sales, kept);
            prop_assert_eq!(rep.cash_refunds, cash_back);
            prop_assert_eq!(rep.refunds_total, refunded);
            prop_assert_eq!(rep.refunds_per_tender.iter().map(|m| m.total).sum::<i64>(), refunded);
            prop_assert_eq!(
                rep.refunds_per_tender.iter().filter(|m| m.method == "cash").map(|m| m.total).sum::<i64>(),
                cash_back
            );
            prop_assert_eq!(rep.net_total, sales - refunded);
            prop_assert_eq!(
                rep.per_tender.iter().map(|m| m.total).sum::<i64>()
                    - rep.refunds_per_tender.iter().map(|m| m.total).sum::<i64>(),
                rep.net_total
            );
            prop_assert_eq!(rep.expected_cash, float + kept - cash_back + moved);
            prop_assert_eq!(rep.per_rate.iter().map(|x| x.gross).sum::<i64>(), sales);
            prop_assert_eq!(rep.per_rate.iter().map(|x| x.discount).sum::<i64>(), discounted);
            prop_assert_eq!(
                rep.per_rate.iter().map(|x| x.gross).sum::<i64>()
                    - rep.refunds_per_rate.iter().map(|x| x.gross).sum::<i64>(),
                rep.net_total
            );
            prop_assert_eq!(rep.expected_cash, rep.float + rep.cash_sales - rep.cash_refunds + rep.cash_in - rep.cash_out);
            let day = r.ledger.day_summary(r.now().with_timezone(&r.settings.tz).date_naive(), r.now()).unwrap();
            prop_assert_eq!(day.per_rate.iter().map(|x| x.gross).sum::<i64>(), sales);
            prop_assert_eq!(day.per_method.iter().map(|x| x.total).sum::<i64>(), sales);
            prop_assert_eq!(day.refunds_total, refunded);
            prop_assert_eq!(day.refunds_per_rate.iter().map(|x| x.gross).sum::<i64>(), refunded);
            prop_assert_eq!(day.per_rate.iter().map(|x| x.discount).sum::<i64>(), discounted);
            prop_assert_eq!(
                day.per_rate.iter().map(|x| x.gross).sum::<i64>()
                    - day.refunds_per_rate.iter().map(|x| x.gross).sum::<i64>(),
                sales - refunded
            );
            // Each rate gives back no more than it sold, nor more tax than it charged.
            for r in &day.refunds_per_rate {
                let sold = day.per_rate.iter().find(|x| x.rate == r.rate);
                prop_assert!(sold.is_some_and(|s| r.gross <= s.gross && r.tax <= s.tax), "{r:?} of {:?}", day.per_rate);
            }
            prop_assert_eq!(day.per_rate.iter().map(|x| x.gross).sum::<i64>() - day.refunds_total, sales - refunded);
        }
    }
}
