//! Returns by line item (返品): which lines of a sale come back and how many, what they are worth
//! per tax rate, and why. The money goes back as a refund of that amount (cash from the drawer
//! first at the counter, or through KOMOJU); the return is stored with it (a `return` note on the
//! sale, JSON) so that the return receipt and the journal split it by the rates of the items that
//! came back, not in proportion to the whole sale.
//!
//! A sale is given back either by items or by amount, not both: its first refund decides. "All that
//! is left" on a sale with returns is a return of every item not yet returned.

use super::*;
use crate::receipt::RateLine;

/// A line of a sale asked back: its place among the sale's items (1 = the first, as the receipt and
/// `reji show` list them) and how many.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ReturnLine {
    pub line: usize,
    pub quantity: u32,
}

impl ReturnLine {
    /// `LINE:QTY[,LINE:QTY…]` (`1:2,3:1`), as the CLI's `--items` takes it.
    pub fn parse_list(s: &str) -> Result<Vec<ReturnLine>> {
        let bad = |m: String| Error::bad("returned_items", m);
        let mut v = Vec::new();
        for part in s
            .split([',', '、'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (l, q) = part.split_once(':').unwrap_or((part, "1"));
            let line = l
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    bad(format!(
                        "{part:?}: the line is a number from 1 (as `reji show` lists the items)"
                    ))
                })?;
            let quantity = q
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad(format!("{part:?}: the quantity is a whole number from 1")))?;
            v.push(ReturnLine { line, quantity });
        }
        if v.is_empty() {
            return Err(bad(format!(
                "{s:?} names no item: give LINE:QTY, e.g. 1:2,3:1"
            )));
        }
        Ok(v)
    }
}

/// A line as it came back: the sale's line (1-based), what it was, and how many.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ReturnedLine {
    pub line: usize,
    pub name: String,
    pub quantity: u32,
    pub unit_price: i64,
    /// 10, 8 or 0, as the line was charged.
    pub rate: u8,
}

/// A return as stored with its refund (the `return` note's detail).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ReturnRecord {
    pub lines: Vec<ReturnedLine>,
    #[serde(default)]
    pub reason: Option<String>,
    /// Tax included: what went back.
    pub amount: i64,
    /// The amount and its tax per rate (the return receipt's and the journal's split).
    pub per_rate: Vec<ReturnRate>,
    /// The sale's refunded total before and after it: the refund it is.
    pub before: i64,
    pub after: i64,
}

/// One rate's share of a return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ReturnRate {
    pub rate: u8,
    pub amount: i64,
    pub tax: i64,
}

impl ReturnRecord {
    /// The per-rate lines of the return receipt.
    pub fn rate_lines(&self) -> Vec<RateLine> {
        self.per_rate
            .iter()
            .map(|r| RateLine {
                rate: r.rate,
                amount: r.amount,
                tax: r.tax,
                discount: 0,
            })
            .collect()
    }
}

/// The longest reason kept with a return.
pub const MAX_RETURN_REASON: usize = 60;

/// What returning `ask` is worth, given the sale and its earlier returns: the lines as they came
/// back and the amount per rate.
///
/// Each rate's share is cumulative, like [`crate::receipt::split_refund`]: the items returned so far
/// at a rate (their value before the order's discount) over all the rate's items, times what the
/// rate was charged (discounts and tax included), rounded half up; this return is the difference
/// between after and before. Returning every item of a rate therefore gives back exactly what the
/// rate was charged, and its tax exactly the rate's tax.
pub(super) fn plan_return(
    facts: &crate::receipt::SaleFacts,
    earlier: &[ReturnRecord],
    ask: &[ReturnLine],
) -> Result<(Vec<ReturnedLine>, Vec<ReturnRate>)> {
    let items = &facts.items;
    let mut back_before = vec![0u32; items.len()];
    for r in earlier {
        for l in &r.lines {
            if let Some(n) = back_before.get_mut(l.line.wrapping_sub(1)) {
                *n += l.quantity;
            }
        }
    }
    let mut asked = vec![0u32; items.len()];
    for a in ask {
        let Some(item) = items.get(a.line.wrapping_sub(1)) else {
            return Err(Error::bad(
                "returned_items",
                format!(
                    "line {} is not on this sale (it has {} line{})",
                    a.line,
                    items.len(),
                    if items.len() == 1 { "" } else { "s" }
                ),
            ));
        };
        let i = a.line - 1;
        asked[i] = asked[i].saturating_add(a.quantity);
        let left = item.quantity.saturating_sub(back_before[i]);
        if asked[i] > left {
            return Err(Error::bad(
                "returned_items",
                format!(
                    "line {} ({}): {} asked back, {} left to return",
                    a.line, item.name, asked[i], left
                ),
            ));
        }
    }
    // A line's value before the order's discount, for `q` of its units (its own discount spread
    // over its units, so that all of them give exactly the line's value).
    let value = |l: &LineItem, q: u32| -> i128 {
        let q = i128::from(q);
        let qty = i128::from(l.quantity.max(1));
        i128::from(l.unit_price) * q - i128::from(l.discount) * q / qty
    };
    let mut per_rate = Vec::new();
    for (rate, gross, tax) in [
        (10u8, facts.gross_10, facts.tax_10),
        (8, facts.gross_8, facts.tax_8),
        (0, facts.gross_0, 0),
    ] {
        let at_rate: Vec<usize> = (0..items.len())
            .filter(|i| items[*i].tax_rate.percent() == rate)
            .collect();
        if !at_rate.iter().any(|i| asked[*i] > 0) {
            continue;
        }
        let all: i128 = at_rate
            .iter()
            .map(|i| value(&items[*i], items[*i].quantity))
            .sum();
        let cum = |extra: bool| -> (i64, i64) {
            let done: i128 = at_rate
                .iter()
                .map(|i| {
                    let q = back_before[*i] + if extra { asked[*i] } else { 0 };
                    value(&items[*i], q)
                })
                .sum();
            if all <= 0 || gross <= 0 {
                return (0, 0);
            }
            let amount =
                Rounding::HalfUp.apply_ratio(i128::from(gross) * done.clamp(0, all), all) as i64;
            let tax = (i128::from(tax) * i128::from(amount) / i128::from(gross)) as i64;
            (amount, tax)
        };
        let (a0, t0) = cum(false);
        let (a1, t1) = cum(true);
        per_rate.push(ReturnRate {
            rate,
            amount: a1 - a0,
            tax: t1 - t0,
        });
    }
    let lines = ask_merged(ask)
        .into_iter()
        .map(|(line, quantity)| {
            let l = &items[line - 1];
            ReturnedLine {
                line,
                name: l.name.clone(),
                quantity,
                unit_price: l.unit_price,
                rate: l.tax_rate.percent(),
            }
        })
        .collect();
    Ok((lines, per_rate))
}

/// The asked lines with a line named twice added up, in line order.
fn ask_merged(ask: &[ReturnLine]) -> Vec<(usize, u32)> {
    let mut m: std::collections::BTreeMap<usize, u32> = Default::default();
    for a in ask {
        *m.entry(a.line).or_default() += a.quantity;
    }
    m.into_iter().collect()
}

/// How a sale can still be given back: how many of each line came back so far (in line order), and
/// whether it goes on by `items` (returns were made), by `amount` (refunded by amount) or `any`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReturnState {
    pub returned: Vec<u32>,
    pub by: &'static str,
}

impl Register {
    /// What was returned of a sale so far, per line, and how it goes on ([`ReturnState`]).
    pub fn return_state(&self, key: &str) -> Result<ReturnState> {
        let inv = self.ledger.find_invoice(key)?;
        let returns = self.returns_of(inv.id)?;
        let lines = self.view(inv.id)?.items.len();
        let mut returned = vec![0u32; lines];
        for r in &returns {
            for l in &r.lines {
                if let Some(n) = returned.get_mut(l.line.wrapping_sub(1)) {
                    *n += l.quantity;
                }
            }
        }
        let by = if !returns.is_empty() {
            "items"
        } else if inv.refunded_amount > 0 {
            "amount"
        } else {
            "any"
        };
        Ok(ReturnState { returned, by })
    }

    /// The returns made on a sale, oldest first.
    pub fn returns_of(&self, invoice_id: i64) -> Result<Vec<ReturnRecord>> {
        Ok(self
            .ledger
            .events(invoice_id)?
            .iter()
            .filter(|e| e.kind == "return")
            .filter_map(|e| serde_json::from_str(e.detail.as_deref()?).ok())
            .collect())
    }

    /// What returning `lines` would give back, per rate, nothing done (the refund dialog's confirm
    /// step shows it).
    pub fn return_preview(&self, key: &str, lines: &[ReturnLine]) -> Result<Vec<ReturnRate>> {
        let inv = self.ledger.find_invoice(key)?;
        let sale = self.sale_record(&inv)?;
        let (_, per_rate) = plan_return(&sale.facts, &self.returns_of(inv.id)?, lines)?;
        Ok(per_rate)
    }

    /// Takes items of a paid sale back: `lines` (which, how many) with an optional reason. The
    /// money goes back as a refund of what they are worth (see [`plan_return`]): at the counter
    /// from the drawer first, or through KOMOJU (a refund request with the customer's bank account
    /// for konbini, bank transfer and Pay-easy).
    pub async fn return_items(
        &mut self,
        key: &str,
        lines: &[ReturnLine],
        reason: Option<&str>,
        bank: &BankAccount,
    ) -> Result<InvoiceView> {
        let reason = input::clean_text("reason", reason, MAX_RETURN_REASON)?;
        let inv = self.ledger.find_invoice(key)?;
        if !inv.status.can_refund() {
            return Err(Error::NotAllowed {
                invoice: inv.number.to_string(),
                status: inv.status,
                action: "return items of",
            });
        }
        let earlier = self.returns_of(inv.id)?;
        let returned: i64 = earlier.iter().map(|r| r.amount).sum();
        // (A refund request's money goes back later: its return counts before its refund shows.)
        if inv.refunded_amount > returned {
            return Err(Error::bad(
                "returned_items",
                format!(
                    "this sale was refunded by amount ({}): refund the rest by amount",
                    Money::jpy(inv.refunded_amount - returned)
                ),
            ));
        }
        let sale = self.sale_record(&inv)?;
        let (back, per_rate) = plan_return(&sale.facts, &earlier, lines)?;
        let amount: i64 = per_rate.iter().map(|r| r.amount).sum();
        if amount <= 0 {
            return Err(Error::bad(
                "returned_items",
                "these items are worth nothing to give back (a fully discounted line)",
            ));
        }
        let record = ReturnRecord {
            lines: back,
            reason,
            amount,
            per_rate,
            before: returned,
            after: returned + amount,
        };
        let detail = serde_json::to_string(&record)
            .map_err(|e| Error::Ledger(crate::ledger::LedgerError::Corrupt(e.to_string())))?;
        if inv.komoju_amount == 0 {
            if !bank.is_empty() {
                return Err(Error::bad(
                    "bank_name",
                    "this sale was paid at the counter: its refund is given back there, not to a bank account",
                ));
            }
            return self.counter_refund(&inv, Some(amount), Some(&record), Some(&detail));
        }
        let view = self.refund_amount(key, Some(amount), bank).await?;
        let by = self.actor.label();
        self.ledger
            .note(inv.id, "return", &by, &detail, self.now())?;
        self.view(view_id(&self.ledger, &view)?)
    }
}

/// The invoice id behind a view (by its number).
fn view_id(ledger: &Ledger, v: &InvoiceView) -> Result<i64> {
    Ok(ledger.find_invoice(&v.invoice_number)?.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipt::SaleFacts;

    fn facts(lines: &[(&str, i64, u32, u8, i64)], gross: [i64; 3], tax: [i64; 2]) -> SaleFacts {
        SaleFacts {
            invoice_number: "2026-000001".into(),
            transaction_date: "2026-12-08 10:00".into(),
            currency: "JPY".into(),
            price_mode: PriceMode::Inclusive,
            items: lines
                .iter()
                .map(|(n, p, q, r, d)| {
                    let mut l = LineItem::from_parts(n, *p, *q, *r).unwrap();
                    l.discount = *d;
                    l
                })
                .collect(),
            gross_10: gross[0],
            gross_8: gross[1],
            gross_0: gross[2],
            tax_10: tax[0],
            tax_8: tax[1],
            total: gross.iter().sum(),
            payment_method: None,
            discount_10: 0,
            discount_8: 0,
            discount_0: 0,
            order_discount: None,
            dining: None,
            tenders: Vec::new(),
        }
    }

    #[test]
    fn items_are_read_as_line_and_quantity() {
        assert_eq!(
            ReturnLine::parse_list("1:2, 3").unwrap(),
            vec![
                ReturnLine {
                    line: 1,
                    quantity: 2
                },
                ReturnLine {
                    line: 3,
                    quantity: 1
                }
            ]
        );
        for bad in ["", "0:1", "1:0", "x:1", "1:-2", "1:x"] {
            let e = ReturnLine::parse_list(bad).unwrap_err();
            assert_eq!(e.field(), Some("returned_items"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_return_is_split_by_the_rates_of_the_items_that_came_back() {
        // Coffee to take away (8 %) and a mug (10 %): returning the mug gives back 10 % only.
        let f = facts(
            &[
                ("コーヒー豆", 1_080, 2, 8, 0),
                ("マグカップ", 1_650, 1, 10, 0),
            ],
            [1_650, 2_160, 0],
            [150, 160],
        );
        let (lines, per_rate) = plan_return(
            &f,
            &[],
            &[ReturnLine {
                line: 2,
                quantity: 1,
            }],
        )
        .unwrap();
        assert_eq!(lines[0].name, "マグカップ");
        assert_eq!(
            per_rate,
            vec![ReturnRate {
                rate: 10,
                amount: 1_650,
                tax: 150
            }]
        );
        // One bag of beans back: half the 8 % sales and half their tax.
        let (_, per_rate) = plan_return(
            &f,
            &[],
            &[ReturnLine {
                line: 1,
                quantity: 1,
            }],
        )
        .unwrap();
        assert_eq!(
            per_rate,
            vec![ReturnRate {
                rate: 8,
                amount: 1_080,
                tax: 80
            }]
        );
        // More than was sold, or a line the sale does not have: refused, naming the line.
        let e = plan_return(
            &f,
            &[],
            &[ReturnLine {
                line: 1,
                quantity: 3,
            }],
        )
        .unwrap_err();
        assert!(e.to_string().contains("2 left"), "{e}");
        let e = plan_return(
            &f,
            &[],
            &[ReturnLine {
                line: 3,
                quantity: 1,
            }],
        )
        .unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
    }

    #[test]
    fn returning_everything_in_steps_gives_back_exactly_what_was_charged() {
        // An order discount left each rate's total below its lines' prices (odd yen to round).
        let f = facts(
            &[
                ("パン", 333, 3, 8, 0),
                ("サラダ", 517, 1, 8, 17),
                ("ナプキン", 101, 7, 10, 0),
            ],
            [640, 1_373, 0],
            [58, 101],
        );
        let mut earlier: Vec<ReturnRecord> = Vec::new();
        let steps = [
            vec![ReturnLine {
                line: 1,
                quantity: 1,
            }],
            vec![
                ReturnLine {
                    line: 3,
                    quantity: 2,
                },
                ReturnLine {
                    line: 1,
                    quantity: 1,
                },
            ],
            vec![ReturnLine {
                line: 2,
                quantity: 1,
            }],
            vec![
                ReturnLine {
                    line: 3,
                    quantity: 5,
                },
                ReturnLine {
                    line: 1,
                    quantity: 1,
                },
            ],
        ];
        let mut before = 0;
        for ask in steps {
            let (lines, per_rate) = plan_return(&f, &earlier, &ask).unwrap();
            let amount: i64 = per_rate.iter().map(|r| r.amount).sum();
            earlier.push(ReturnRecord {
                lines,
                reason: None,
                amount,
                per_rate,
                before,
                after: before + amount,
            });
            before += amount;
        }
        let sum = |rate: u8| -> (i64, i64) {
            earlier
                .iter()
                .flat_map(|r| r.per_rate.iter())
                .filter(|r| r.rate == rate)
                .fold((0, 0), |(a, t), r| (a + r.amount, t + r.tax))
        };
        assert_eq!(sum(10), (640, 58));
        assert_eq!(sum(8), (1_373, 101));
        assert_eq!(before, f.total);
        // Nothing is left to give back.
        let e = plan_return(
            &f,
            &earlier,
            &[ReturnLine {
                line: 2,
                quantity: 1,
            }],
        )
        .unwrap_err();
        assert!(e.to_string().contains("0 left"), "{e}");
    }
}
