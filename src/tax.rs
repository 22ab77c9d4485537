//! Japanese consumption tax: 10 % standard, 8 % reduced (軽減税率), and lines that bear none (非課税:
//! stamps, gift certificates, …). Tax is computed once per rate per invoice from the sum of that
//! rate's lines, never per line, with one configurable rounding.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum TaxRate {
    /// 10 % (標準税率)
    Standard,
    /// 8 % (軽減税率: food and drink to take away, newspapers)
    Reduced,
    /// No consumption tax (非課税: postage stamps, revenue stamps, gift certificates, …); 0 % on the
    /// wire and in the ledger.
    Exempt,
}

impl TaxRate {
    pub const ALL: [TaxRate; 3] = [TaxRate::Standard, TaxRate::Reduced, TaxRate::Exempt];

    pub fn percent(self) -> u8 {
        match self {
            TaxRate::Standard => 10,
            TaxRate::Reduced => 8,
            TaxRate::Exempt => 0,
        }
    }

    /// Whether consumption tax applies (10 % or 8 %).
    pub fn is_taxed(self) -> bool {
        self != TaxRate::Exempt
    }
}

impl From<TaxRate> for u8 {
    fn from(r: TaxRate) -> u8 {
        r.percent()
    }
}

impl TryFrom<u8> for TaxRate {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        match v {
            10 => Ok(TaxRate::Standard),
            8 => Ok(TaxRate::Reduced),
            0 => Ok(TaxRate::Exempt),
            other => Err(format!("tax rate {other} % is not 10, 8 or 0 (exempt)")),
        }
    }
}

impl fmt::Display for TaxRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaxRate::Exempt => f.write_str("exempt"),
            r => write!(f, "{}%", r.percent()),
        }
    }
}

impl FromStr for TaxRate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().trim_end_matches(['%', '％']).trim() {
            "10" | "１０" => Ok(TaxRate::Standard),
            "8" | "８" => Ok(TaxRate::Reduced),
            "0" | "０" | "exempt" | "非課税" => Ok(TaxRate::Exempt),
            _ => Err(format!(
                "tax rate {s:?} must be 10 or 8 (percent), or 0 / exempt (非課税)"
            )),
        }
    }
}

/// A product's tax class, the way Japan's reduced rate works: the class and the order's eat-in /
/// take-away switch decide a line's rate.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaxClass {
    /// Always 10 % (標準税率).
    General,
    /// Food and drink (飲食料品): 8 % taken away, 10 % eaten in (外食).
    Food,
    /// Always 8 % (newspapers on subscription, …).
    Reduced,
    /// No consumption tax (非課税).
    Exempt,
}

impl TaxClass {
    pub const ALL: [TaxClass; 4] = [
        TaxClass::General,
        TaxClass::Food,
        TaxClass::Reduced,
        TaxClass::Exempt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaxClass::General => "general",
            TaxClass::Food => "food",
            TaxClass::Reduced => "reduced",
            TaxClass::Exempt => "exempt",
        }
    }

    /// The name on the shop's product list (CSV, screens).
    pub fn label_ja(self) -> &'static str {
        match self {
            TaxClass::General => "標準",
            TaxClass::Food => "飲食料品",
            TaxClass::Reduced => "軽減",
            TaxClass::Exempt => "非課税",
        }
    }

    /// The rate a line of this class bears.
    pub fn rate(self, dining: Dining) -> TaxRate {
        match (self, dining) {
            (TaxClass::General, _) | (TaxClass::Food, Dining::EatIn) => TaxRate::Standard,
            (TaxClass::Food, Dining::TakeAway) | (TaxClass::Reduced, _) => TaxRate::Reduced,
            (TaxClass::Exempt, _) => TaxRate::Exempt,
        }
    }
}

impl FromStr for TaxClass {
    type Err = String;
    /// The English names, the Japanese labels, and the rates as a shop writes them.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "general" | "標準" | "一般" | "10%" | "10" => Ok(TaxClass::General),
            "food" | "飲食料品" | "食品" => Ok(TaxClass::Food),
            "reduced" | "軽減" | "8%" | "8" => Ok(TaxClass::Reduced),
            "exempt" | "非課税" | "0%" | "0" => Ok(TaxClass::Exempt),
            other => Err(format!(
                "tax class {other:?} must be general (標準, 10 %), food (飲食料品: 8 % taken away, 10 % eaten in), reduced (軽減, 8 %) or exempt (非課税)"
            )),
        }
    }
}

impl fmt::Display for TaxClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether the order is eaten in (店内飲食: food bears 10 %) or taken away (持ち帰り: 8 %).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dining {
    EatIn,
    #[default]
    TakeAway,
}

impl Dining {
    pub fn as_str(self) -> &'static str {
        match self {
            Dining::EatIn => "eat_in",
            Dining::TakeAway => "take_away",
        }
    }
}

impl FromStr for Dining {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "eat_in" | "eat-in" | "店内" => Ok(Dining::EatIn),
            "take_away" | "take-away" | "takeaway" | "持ち帰り" | "テイクアウト" => {
                Ok(Dining::TakeAway)
            }
            other => Err(format!("{other:?} must be eat_in or take_away")),
        }
    }
}

/// How a fraction of a yen of tax is rounded (once per rate per invoice).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// 切り捨て, the usual choice.
    #[default]
    Down,
    /// 四捨五入
    HalfUp,
    /// 切り上げ
    Up,
}

impl Rounding {
    pub fn as_str(self) -> &'static str {
        match self {
            Rounding::Down => "down",
            Rounding::HalfUp => "half_up",
            Rounding::Up => "up",
        }
    }

    /// Rounds the non-negative fraction `num / den` (for callers outside this module).
    pub(crate) fn apply_ratio(self, num: i128, den: i128) -> i128 {
        self.apply(num, den)
    }

    /// Rounds the non-negative fraction `num / den`.
    fn apply(self, num: i128, den: i128) -> i128 {
        debug_assert!(num >= 0 && den > 0);
        match self {
            Rounding::Down => num / den,
            Rounding::Up => (num + den - 1) / den,
            Rounding::HalfUp => (2 * num + den) / (2 * den),
        }
    }
}

impl FromStr for Rounding {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "down" => Ok(Rounding::Down),
            "half_up" | "half-up" => Ok(Rounding::HalfUp),
            "up" => Ok(Rounding::Up),
            _ => Err(format!("rounding {s:?} must be down, half_up or up")),
        }
    }
}

/// Whether line prices include tax (税込, the usual at a Japanese counter) or not (税抜).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceMode {
    #[default]
    Inclusive,
    Exclusive,
}

impl PriceMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PriceMode::Inclusive => "inclusive",
            PriceMode::Exclusive => "exclusive",
        }
    }
}

impl FromStr for PriceMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "inclusive" => Ok(PriceMode::Inclusive),
            "exclusive" => Ok(PriceMode::Exclusive),
            _ => Err(format!("price mode {s:?} must be inclusive or exclusive")),
        }
    }
}

/// One rate's share of an invoice.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct RateTotal {
    pub rate: TaxRate,
    /// Amount before tax (税抜).
    pub net: i64,
    /// Tax at this rate (消費税額).
    pub tax: i64,
    /// Amount including tax (税込) = net + tax.
    pub gross: i64,
    /// What this rate's lines lost to discounts (line discounts and its share of the order's), in
    /// the price mode's terms (before tax for a tax-exclusive shop). Net, tax and gross are after it.
    #[serde(default)]
    pub discount: i64,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TaxBreakdown {
    /// Only rates that have lines, standard first.
    pub per_rate: Vec<RateTotal>,
    /// What the customer pays.
    pub total: i64,
    /// Every discount of the sale (lines and order), in the price mode's terms.
    #[serde(default)]
    pub discount: i64,
}

impl TaxBreakdown {
    pub fn tax_at(&self, rate: TaxRate) -> i64 {
        self.per_rate
            .iter()
            .find(|r| r.rate == rate)
            .map_or(0, |r| r.tax)
    }
    pub fn gross_at(&self, rate: TaxRate) -> i64 {
        self.per_rate
            .iter()
            .find(|r| r.rate == rate)
            .map_or(0, |r| r.gross)
    }
    pub fn discount_at(&self, rate: TaxRate) -> i64 {
        self.per_rate
            .iter()
            .find(|r| r.rate == rate)
            .map_or(0, |r| r.discount)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxError {
    #[error("a line amount is negative")]
    Negative,
    #[error("the invoice total is too large")]
    Overflow,
    /// A discount larger than what it applies to (the message says which).
    #[error("{0}")]
    Discount(String),
}

/// Computes tax once per rate from `(rate, line amount)` pairs, where a line amount is
/// `unit_price × quantity` as priced (inclusive or exclusive of tax).
pub fn compute(
    lines: impl IntoIterator<Item = (TaxRate, i64)>,
    mode: PriceMode,
    rounding: Rounding,
) -> Result<TaxBreakdown, TaxError> {
    compute_discounted(
        lines.into_iter().map(|(r, a)| (r, a, 0)),
        None,
        mode,
        rounding,
    )
}

/// Per-rate totals of lines `(rate, amount, line discount)` less an order discount.
///
/// A line's discount comes off its own rate. The order's discount is spread over the rates in
/// proportion to what each rate's lines come to after their own discounts (largest remainder, so
/// the shares add up to the yen), and tax is then computed once per rate on what is left: the
/// tax stays exact per rate, as a qualified invoice shows it (値引き後の税率ごとの合計). 端数値引き
/// brings the total (tax included) down to the unit: the smallest order discount that does.
pub fn compute_discounted(
    lines: impl IntoIterator<Item = (TaxRate, i64, i64)>,
    order: Option<&crate::discount::Discount>,
    mode: PriceMode,
    rounding: Rounding,
) -> Result<TaxBreakdown, TaxError> {
    let mut present = [false; 3];
    let mut base = [0i128; 3];
    let mut line_discount = [0i128; 3];
    for (rate, amount, discount) in lines {
        if amount < 0 || discount < 0 {
            return Err(TaxError::Negative);
        }
        if discount > amount {
            return Err(TaxError::Discount(format!(
                "a line discount of ¥{discount} is more than the line's ¥{amount}"
            )));
        }
        let i = rate as usize;
        present[i] = true;
        base[i] += (amount - discount) as i128;
        line_discount[i] += discount as i128;
    }
    let after_lines: i128 = base.iter().sum();
    let totals = |order_discount: i128| -> Result<TaxBreakdown, TaxError> {
        let shares = allocate(order_discount, &base);
        rate_totals(&present, &base, &line_discount, &shares, mode, rounding)
    };
    use crate::discount::Discount;
    let order_discount: i128 = match order {
        None => 0,
        Some(Discount::Amount(a)) => {
            if (*a as i128) > after_lines {
                return Err(TaxError::Discount(format!(
                    "a discount of ¥{a} is more than the ¥{after_lines} it applies to"
                )));
            }
            *a as i128
        }
        Some(Discount::Percent(p)) => after_lines * (*p as i128) / 100,
        Some(Discount::RoundDown(unit)) => {
            let unit = *unit as i128;
            let total = totals(0)?.total as i128;
            let target = total - total % unit;
            // Each yen off the base takes at least a yen off the total: the answer is at most
            // `total - target` yen (below 1 000 steps for any unit).
            let mut found = total - target;
            for d in 0..=(total - target).min(after_lines) {
                if (totals(d)?.total as i128) <= target {
                    found = d;
                    break;
                }
            }
            found.min(after_lines)
        }
    };
    totals(order_discount)
}

/// Splits `amount` over the parts in proportion to their size (largest remainder; ties go to
/// the earlier part, the higher rate). Every share is at most its part when `amount` is at most
/// their sum.
fn allocate(amount: i128, parts: &[i128; 3]) -> [i128; 3] {
    let sum: i128 = parts.iter().sum();
    if amount == 0 || sum == 0 {
        return [0; 3];
    }
    let mut shares = [0i128; 3];
    let mut rest = [0i128; 3];
    for i in 0..3 {
        shares[i] = amount * parts[i] / sum;
        rest[i] = amount * parts[i] % sum;
    }
    let mut left = amount - shares.iter().sum::<i128>();
    let mut order = [0usize, 1, 2];
    order.sort_by(|a, b| rest[*b].cmp(&rest[*a]).then(a.cmp(b)));
    for i in order {
        if left == 0 {
            break;
        }
        if rest[i] > 0 {
            shares[i] += 1;
            left -= 1;
        }
    }
    shares
}

fn rate_totals(
    present: &[bool; 3],
    base: &[i128; 3],
    line_discount: &[i128; 3],
    shares: &[i128; 3],
    mode: PriceMode,
    rounding: Rounding,
) -> Result<TaxBreakdown, TaxError> {
    let fit = |v: i128| i64::try_from(v).map_err(|_| TaxError::Overflow);
    let mut per_rate = Vec::new();
    let mut total: i128 = 0;
    let mut discount: i128 = 0;
    for rate in TaxRate::ALL {
        let i = rate as usize;
        if !present[i] {
            continue;
        }
        let sum = base[i] - shares[i];
        let r = rate.percent() as i128;
        let (net, tax, gross) = match mode {
            PriceMode::Inclusive => {
                let tax = rounding.apply(sum * r, 100 + r);
                (sum - tax, tax, sum)
            }
            PriceMode::Exclusive => {
                let tax = rounding.apply(sum * r, 100);
                (sum, tax, sum + tax)
            }
        };
        total += gross;
        discount += line_discount[i] + shares[i];
        per_rate.push(RateTotal {
            rate,
            net: fit(net)?,
            tax: fit(tax)?,
            gross: fit(gross)?,
            discount: fit(line_discount[i] + shares[i])?,
        });
    }
    Ok(TaxBreakdown {
        per_rate,
        total: fit(total)?,
        discount: fit(discount)?,
    })
}

/// A refund of a sale divided between its rates (10 %, 8 %, exempt), from the sale's tax-inclusive
/// totals per rate and its tax per rate (10 %, 8 %): `(amount, tax)` per rate for the refund that
/// moved the refunded total from `before` to `after` (both cumulative). See
/// `receipt::split_refund`: the cumulative amount in proportion to each rate's share (the 8 % and
/// exempt shares rounded half up, the first rate with sales taking the rest), the tax in proportion
/// to each rate's tax (rounded down), this refund the difference of after and before.
pub fn refund_split(gross: [i64; 3], tax: [i64; 2], before: i64, after: i64) -> [(i64, i64); 3] {
    let taxes = [tax[0], tax[1], 0];
    let rest = gross.iter().position(|g| *g > 0).unwrap_or(0);
    let cum = |refunded: i64| -> [(i64, i64); 3] {
        let total = gross.iter().sum::<i64>().max(1) as i128;
        let refunded = refunded.clamp(0, total as i64) as i128;
        let mut parts = [0i128; 3];
        for i in 0..3 {
            if i != rest {
                parts[i] = Rounding::HalfUp.apply_ratio(gross[i] as i128 * refunded, total);
            }
        }
        // The others' half-up roundings overshoot their exact shares by less than 1 each, and the
        // rest's exact share is positive: it never goes below zero.
        parts[rest] = refunded - parts.iter().sum::<i128>();
        let tax = |t: i64, g: i64, part: i128| -> i64 {
            if g <= 0 {
                0
            } else {
                (t as i128 * part / g as i128) as i64
            }
        };
        std::array::from_fn(|i| (parts[i] as i64, tax(taxes[i], gross[i], parts[i])))
    };
    let (a, b) = (cum(after), cum(before));
    std::array::from_fn(|i| (a[i].0 - b[i].0, a[i].1 - b[i].1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::discount::Discount;

    fn with_discount(
        lines: &[(TaxRate, i64, i64)],
        d: Option<Discount>,
        mode: PriceMode,
    ) -> TaxBreakdown {
        compute_discounted(lines.iter().copied(), d.as_ref(), mode, Rounding::Down).unwrap()
    }

    #[test]
    fn an_order_discount_is_spread_over_the_rates_and_taxed_per_rate() {
        use TaxRate::*;
        let b = with_discount(
            &[(Standard, 1_100, 0), (Reduced, 1_080, 0)],
            Some(Discount::Amount(218)),
            PriceMode::Inclusive,
        );
        assert_eq!(
            (
                b.gross_at(Standard),
                b.tax_at(Standard),
                b.discount_at(Standard)
            ),
            (990, 90, 110)
        );
        assert_eq!(
            (
                b.gross_at(Reduced),
                b.tax_at(Reduced),
                b.discount_at(Reduced)
            ),
            (972, 72, 108)
        );
        assert_eq!((b.total, b.discount), (1_962, 218));

        // 10 % off a tax-exclusive sale: off the price before tax, then tax per rate.
        let b = with_discount(
            &[(Standard, 1_000, 0), (Reduced, 500, 0)],
            Some(Discount::Percent(10)),
            PriceMode::Exclusive,
        );
        assert_eq!((b.per_rate[0].net, b.per_rate[0].tax), (900, 90));
        assert_eq!((b.per_rate[1].net, b.per_rate[1].tax), (450, 36));
        assert_eq!(b.total, 900 + 90 + 450 + 36);

        // A line discount stays on its own rate; the order's share follows what is left.
        let b = with_discount(
            &[(Standard, 480, 80), (Reduced, 400, 0), (Exempt, 100, 0)],
            Some(Discount::Amount(90)),
            PriceMode::Inclusive,
        );
        assert_eq!(b.discount_at(Standard), 80 + 40);
        assert_eq!(b.discount_at(Reduced), 40);
        assert_eq!(b.discount_at(Exempt), 10);
        assert_eq!(b.total, 480 + 400 + 100 - 80 - 90);
    }

    #[test]
    fn rounding_down_the_total_is_exact_in_both_price_modes() {
        use TaxRate::*;
        let b = with_discount(
            &[(Standard, 1_234, 0), (Reduced, 567, 0)],
            Some(Discount::RoundDown(100)),
            PriceMode::Inclusive,
        );
        assert_eq!((b.total, b.discount), (1_800, 1));
        let b = with_discount(
            &[(Standard, 1_234, 0), (Reduced, 567, 0)],
            Some(Discount::RoundDown(10)),
            PriceMode::Exclusive,
        );
        let before = with_discount(
            &[(Standard, 1_234, 0), (Reduced, 567, 0)],
            None,
            PriceMode::Exclusive,
        );
        assert_eq!(before.total, 1_357 + 612);
        assert_eq!(b.total, 1_960);
    }

    #[test]
    fn a_discount_larger_than_the_sale_is_refused() {
        let e = compute_discounted(
            [(TaxRate::Standard, 500, 0)],
            Some(&Discount::Amount(501)),
            PriceMode::Inclusive,
            Rounding::Down,
        )
        .unwrap_err();
        assert!(e.to_string().contains("¥501"), "{e}");
        let e = compute_discounted(
            [(TaxRate::Standard, 500, 600)],
            None,
            PriceMode::Inclusive,
            Rounding::Down,
        )
        .unwrap_err();
        assert!(matches!(e, TaxError::Discount(_)));
        // 100 % off is a free sale, not an error.
        let b = with_discount(
            &[(TaxRate::Standard, 500, 0)],
            Some(Discount::Percent(100)),
            PriceMode::Inclusive,
        );
        assert_eq!((b.total, b.discount), (0, 500));
    }

    proptest! {
        #[test]
        fn discount_shares_add_up_and_never_exceed_a_rate(
            a10 in 0i64..1_000_000, a8 in 0i64..1_000_000, a0 in 0i64..100_000,
            which in 0u8..3, value in 1i64..2_000_000, exclusive: bool,
        ) {
            prop_assume!(a10 + a8 + a0 > 0);
            let mode = if exclusive { PriceMode::Exclusive } else { PriceMode::Inclusive };
            let sum = a10 + a8 + a0;
            let d = match which {
                0 => Discount::Amount(value.min(sum)),
                1 => Discount::Percent((value % 100 + 1) as u8),
                _ => Discount::RoundDown([10, 100, 1000][(value % 3) as usize]),
            };
            let lines = [(TaxRate::Standard, a10, 0), (TaxRate::Reduced, a8, 0), (TaxRate::Exempt, a0, 0)];
            let b = with_discount(&lines, Some(d), mode);
            let plain = with_discount(&lines, None, mode);
            let mut shares = 0;
            for r in &b.per_rate {
                let listed = lines.iter().find(|l| l.0 == r.rate).unwrap().1;
                prop_assert!(r.discount >= 0 && r.discount <= listed);
                let base = if exclusive { r.net } else { r.gross };
                prop_assert_eq!(base, listed - r.discount);
                shares += r.discount;
            }
            prop_assert_eq!(shares, b.discount);
            prop_assert!(b.total <= plain.total);
            match d {
                Discount::Amount(a) => prop_assert_eq!(b.discount, a),
                Discount::Percent(p) => prop_assert_eq!(b.discount, sum * p as i64 / 100),
                Discount::RoundDown(u) => {
                    let target = plain.total - plain.total % u as i64;
                    prop_assert!(b.total <= target);
                    if !exclusive { prop_assert_eq!(b.total, target); }
                    else { prop_assert!(target - b.total <= 2, "{} vs {}", b.total, target); }
                }
            }
        }
    }

    #[test]
    fn inclusive_tax_is_extracted_once_per_rate() {
        // ¥1,100 incl. 10 % → ¥100 tax; ¥1,080 incl. 8 % → ¥80 tax.
        let b = compute(
            [(TaxRate::Standard, 1100), (TaxRate::Reduced, 1080)],
            PriceMode::Inclusive,
            Rounding::Down,
        )
        .unwrap();
        assert_eq!(b.total, 2180);
        assert_eq!(b.tax_at(TaxRate::Standard), 100);
        assert_eq!(b.tax_at(TaxRate::Reduced), 80);
    }

    #[test]
    fn per_invoice_rounding_differs_from_per_line() {
        // Three ¥108-incl. 8 % lines at ¥99 each (¥297): per line, 99×8/108 = 7.33 → 7 each = 21;
        // once per invoice, 297×8/108 = 22.0 → 22.
        let b = compute(
            [(TaxRate::Reduced, 99); 3],
            PriceMode::Inclusive,
            Rounding::Down,
        )
        .unwrap();
        assert_eq!(b.tax_at(TaxRate::Reduced), 22);
        assert_eq!(b.total, 297);
    }

    #[test]
    fn exclusive_adds_tax_with_the_chosen_rounding() {
        let l = [(TaxRate::Standard, 1234)];
        let down = compute(l, PriceMode::Exclusive, Rounding::Down).unwrap();
        let half = compute(l, PriceMode::Exclusive, Rounding::HalfUp).unwrap();
        let up = compute(l, PriceMode::Exclusive, Rounding::Up).unwrap();
        assert_eq!((down.tax_at(TaxRate::Standard), down.total), (123, 1357));
        assert_eq!(half.tax_at(TaxRate::Standard), 123); // 123.4
        assert_eq!(up.tax_at(TaxRate::Standard), 124);
        let l = [(TaxRate::Standard, 1235)];
        assert_eq!(
            compute(l, PriceMode::Exclusive, Rounding::HalfUp)
                .unwrap()
                .per_rate[0]
                .tax,
            124
        );
    }

    /// Worked examples from the National Tax Agency (国税庁), 「消費税の仕入税額控除制度における適格請求書等
    /// 保存方式に関するQ&A」: 問57 (rounding once per rate per invoice, 消令70の10 / 基通1-8-15) and
    /// 問54 (記載例). The per-rate totals and taxes are the NTA's; where the NTA elides some lines
    /// ("…"), the lines here are the NTA's visible ones plus one line making up the published total.
    /// https://www.nta.go.jp/taxes/shiraberu/zeimokubetsu/shohi/keigenzeiritsu/qa_invoice.htm
    #[test]
    fn nta_worked_examples() {
        use PriceMode::*;
        use TaxRate::*;
        struct Case {
            source: &'static str,
            mode: PriceMode,
            lines: &'static [(TaxRate, i64)],
            tax_10: i64,
            tax_8: i64,
            total: i64,
        }
        let cases = [
            Case {
                // 問57 記載例 (税込, 切捨て): 小麦粉※ 5,000 / 牛肉※ 8,000 / キッチンペーパー 2,000 / …;
                // 10%対象 60,000円 (消費税 5,454円), 8%対象 40,000円 (消費税 2,962円), 合計 100,000円.
                source: "Q&A 問57 記載例",
                mode: Inclusive,
                lines: &[
                    (Reduced, 5_000),
                    (Reduced, 8_000),
                    (Standard, 2_000),
                    (Reduced, 27_000),
                    (Standard, 58_000),
                ],
                tax_10: 5_454,
                tax_8: 2_962,
                total: 100_000,
            },
            Case {
                // 問54 記載例 (税込): 10%対象 88,000円 (消費税 8,000円), 8%対象 43,200円 (消費税 3,200円).
                source: "Q&A 問54 記載例 (税込)",
                mode: Inclusive,
                lines: &[(Standard, 88_000), (Reduced, 43_200)],
                tax_10: 8_000,
                tax_8: 3_200,
                total: 131_200,
            },
            Case {
                // The same invoice tax-exclusive: 10%対象 80,000円 / 8%対象 40,000円, 合計 131,200円.
                source: "Q&A 問54 記載例 (税抜)",
                mode: Exclusive,
                lines: &[(Standard, 80_000), (Reduced, 40_000)],
                tax_10: 8_000,
                tax_8: 3_200,
                total: 131_200,
            },
            Case {
                // 問57 参考① (媒介者交付特例, 税抜): the parts 11,345 + 12,549 (10 %) and 9,987 + 12,345
                // (8 %) on one invoice are rounded together: 2,389 and 1,786.
                source: "Q&A 問57 参考①",
                mode: Exclusive,
                lines: &[
                    (Standard, 11_345),
                    (Standard, 12_549),
                    (Reduced, 9_987),
                    (Reduced, 12_345),
                ],
                tax_10: 2_389,
                tax_8: 1_786,
                total: 23_894 + 2_389 + 22_332 + 1_786,
            },
        ];
        for c in cases {
            let b = compute(c.lines.iter().copied(), c.mode, Rounding::Down).unwrap();
            assert_eq!(b.tax_at(Standard), c.tax_10, "{}: 10 %", c.source);
            assert_eq!(b.tax_at(Reduced), c.tax_8, "{}: 8 %", c.source);
            assert_eq!(b.total, c.total, "{}: total", c.source);
        }

        // 問57 参考② (代理交付): each party's part on its own invoice rounds separately, and the sums
        // (2,388 and 1,785) differ from rounding them together (2,389 and 1,786) — which is why the
        // rounding belongs to the invoice, not to its lines.
        let part = |a: i64, b: i64| {
            let x = compute([(Standard, a), (Reduced, b)], Exclusive, Rounding::Down).unwrap();
            (x.tax_at(Standard), x.tax_at(Reduced))
        };
        let (own, other) = (part(11_345, 9_987), part(12_549, 12_345));
        assert_eq!(own, (1_134, 798));
        assert_eq!(other, (1_254, 987));
        assert_eq!((own.0 + other.0, own.1 + other.1), (2_388, 1_785));

        // Rounding per line and adding up (not allowed, 問57 (注)) gives less than once per rate.
        let per_line: i64 = [1_234i64, 2_345, 3_456]
            .iter()
            .map(|a| {
                compute([(Standard, *a)], Exclusive, Rounding::Down)
                    .unwrap()
                    .tax_at(Standard)
            })
            .sum();
        let once = compute(
            [(Standard, 1_234), (Standard, 2_345), (Standard, 3_456)],
            Exclusive,
            Rounding::Down,
        )
        .unwrap()
        .tax_at(Standard);
        assert_eq!((per_line, once), (702, 703));
    }

    #[test]
    fn rates_parse_from_what_a_cashier_types() {
        assert_eq!("10".parse::<TaxRate>().unwrap(), TaxRate::Standard);
        assert_eq!("8%".parse::<TaxRate>().unwrap(), TaxRate::Reduced);
        for exempt in ["0", "0%", "exempt", "非課税", "０"] {
            assert_eq!(
                exempt.parse::<TaxRate>().unwrap(),
                TaxRate::Exempt,
                "{exempt}"
            );
        }
        assert!("5".parse::<TaxRate>().is_err());
        assert_eq!(TaxRate::try_from(0u8).unwrap(), TaxRate::Exempt);
        assert!(TaxRate::try_from(5u8).is_err());
    }

    #[test]
    fn exempt_lines_add_to_the_total_and_bear_no_tax_in_either_price_mode() {
        // A ¥200 revenue stamp (非課税) with ¥1,100 of 10 % goods.
        for mode in [PriceMode::Inclusive, PriceMode::Exclusive] {
            let b = compute(
                [(TaxRate::Standard, 1_100), (TaxRate::Exempt, 200)],
                mode,
                Rounding::Down,
            )
            .unwrap();
            assert_eq!(b.tax_at(TaxRate::Exempt), 0);
            assert_eq!(b.gross_at(TaxRate::Exempt), 200);
            let ten = match mode {
                PriceMode::Inclusive => (100, 1_100),
                PriceMode::Exclusive => (110, 1_210),
            };
            assert_eq!(
                (b.tax_at(TaxRate::Standard), b.gross_at(TaxRate::Standard)),
                ten
            );
            assert_eq!(b.total, ten.1 + 200);
        }
    }

    proptest! {
        #[test]
        fn per_rate_totals_add_up(lines in proptest::collection::vec((0usize..3, 0i64..10_000_000), 1..40),
                                  excl in any::<bool>(), r in 0u8..3) {
            let mode = if excl { PriceMode::Exclusive } else { PriceMode::Inclusive };
            let rounding = [Rounding::Down, Rounding::HalfUp, Rounding::Up][r as usize];
            let lines: Vec<_> = lines.into_iter().map(|(s, a)| (TaxRate::ALL[s], a)).collect();
            let b = compute(lines.iter().copied(), mode, rounding).unwrap();
            let sum_gross: i64 = b.per_rate.iter().map(|r| r.gross).sum();
            prop_assert_eq!(sum_gross, b.total);
            for rt in &b.per_rate {
                prop_assert_eq!(rt.net + rt.tax, rt.gross);
                if rt.rate == TaxRate::Exempt {
                    prop_assert_eq!(rt.tax, 0, "exempt lines bear no tax");
                }
                prop_assert!(rt.tax >= 0 && rt.net >= 0);
                let base: i64 = lines.iter().filter(|(r, _)| *r == rt.rate).map(|(_, a)| a).sum();
                match mode {
                    PriceMode::Inclusive => prop_assert_eq!(rt.gross, base),
                    PriceMode::Exclusive => prop_assert_eq!(rt.net, base),
                }
            }
        }
    }
}
