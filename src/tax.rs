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
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TaxBreakdown {
    /// Only rates that have lines, standard first.
    pub per_rate: Vec<RateTotal>,
    /// What the customer pays.
    pub total: i64,
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
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaxError {
    #[error("a line amount is negative")]
    Negative,
    #[error("the invoice total is too large")]
    Overflow,
}

/// Computes tax once per rate from `(rate, line amount)` pairs, where a line amount is
/// `unit_price × quantity` as priced (inclusive or exclusive of tax).
pub fn compute(
    lines: impl IntoIterator<Item = (TaxRate, i64)>,
    mode: PriceMode,
    rounding: Rounding,
) -> Result<TaxBreakdown, TaxError> {
    let mut sums: [Option<i128>; 3] = [None, None, None];
    for (rate, amount) in lines {
        if amount < 0 {
            return Err(TaxError::Negative);
        }
        let slot = &mut sums[rate as usize];
        *slot = Some(slot.unwrap_or(0) + amount as i128);
    }
    let mut per_rate = Vec::new();
    let mut total: i128 = 0;
    for rate in TaxRate::ALL {
        let Some(sum) = sums[rate as usize] else {
            continue;
        };
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
        let fit = |v: i128| i64::try_from(v).map_err(|_| TaxError::Overflow);
        per_rate.push(RateTotal {
            rate,
            net: fit(net)?,
            tax: fit(tax)?,
            gross: fit(gross)?,
        });
    }
    Ok(TaxBreakdown {
        per_rate,
        total: i64::try_from(total).map_err(|_| TaxError::Overflow)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
