//! The drawer report (点検 / 精算) as CSV for Excel: UTF-8 with a BOM, CRLF, Japanese headers and
//! names, one figure per row (区分, 項目, 枚数・件数, 金額), so that a sheet can sum or filter it.

use crate::receipt::method_label;
use crate::register::DrawerReport;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// A cell as Excel should read it: quoted when it holds a comma, a quote or a line break; free text
/// that starts like a formula (`=`, `+`, `-`, `@`) gets a leading `'` so that Excel shows it as text.
fn text(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn local(t: &DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y/%m/%d %H:%M:%S").to_string()
}

/// The report's rows (with the header first), as the CSV file's bytes.
pub fn drawer_csv(r: &DrawerReport, tz: Tz) -> String {
    let mut rows: Vec<String> = vec!["区分,項目,枚数・件数,金額".into()];
    let mut row = |section: &str, item: &str, count: Option<i64>, amount: Option<i64>| {
        rows.push(format!(
            "{},{},{},{}",
            text(section),
            text(item),
            count.map(|c| c.to_string()).unwrap_or_default(),
            amount.map(|a| a.to_string()).unwrap_or_default()
        ));
    };
    let kind = if r.kind == "close" {
        "精算"
    } else {
        "点検"
    };
    row("報告", kind, None, None);
    if let Some(s) = &r.session {
        row(
            "報告",
            &format!("開始 {}", local(&s.opened_at, tz)),
            None,
            None,
        );
        if let Some(c) = &s.closed_at {
            row("報告", &format!("精算 {}", local(c, tz)), None, None);
        }
    }
    let until = DateTime::parse_from_rfc3339(&r.until)
        .map(|t| local(&t.to_utc(), tz))
        .unwrap_or_else(|_| r.until.clone());
    row("報告", &format!("集計 {until}"), None, None);
    row("現金", "釣銭準備金", None, Some(r.float));
    row("現金", "現金売上", None, Some(r.cash_sales));
    row("現金", "現金返金", None, Some(-r.cash_refunds));
    row("現金", "入金", None, Some(r.cash_in));
    row("現金", "出金", None, Some(-r.cash_out));
    row("現金", "現金在高（理論）", None, Some(r.expected_cash));
    if let Some(c) = r.counted_cash {
        row("現金", "現金在高（実査）", None, Some(c));
    }
    if let Some(d) = r.difference {
        row("現金", "過不足", None, Some(d));
    }
    if let Some(count) = &r.count {
        for (denom, n) in count.counts.iter().rev() {
            row(
                "金種",
                &format!("{denom}円"),
                Some(i64::from(*n)),
                Some(denom * i64::from(*n)),
            );
        }
    }
    for m in &r.per_tender {
        row(
            "売上",
            &method_label(&m.method),
            Some(m.count),
            Some(m.total),
        );
    }
    row(
        "売上",
        "合計",
        Some(r.per_tender.iter().map(|m| m.count).sum()),
        Some(r.sales_total),
    );
    for m in &r.refunds_per_tender {
        row(
            "返金",
            &method_label(&m.method),
            Some(m.count),
            Some(-m.total),
        );
    }
    if !r.refunds_per_tender.is_empty() {
        row("返金", "合計", None, Some(-r.refunds_total));
    }
    row("売上", "純売上", None, Some(r.net_total));
    let rate = |x: u8| {
        if x == 0 {
            "非課税".to_string()
        } else {
            format!("{x}%対象")
        }
    };
    for x in &r.per_rate {
        row(
            "税率別",
            &format!("{}（税込）", rate(x.rate)),
            None,
            Some(x.gross),
        );
        if x.rate != 0 {
            row(
                "税率別",
                &format!("{}% 内消費税等", x.rate),
                None,
                Some(x.tax),
            );
        }
        if x.discount > 0 {
            row(
                "税率別",
                &format!("{} 値引", rate(x.rate)),
                None,
                Some(-x.discount),
            );
        }
    }
    for x in &r.refunds_per_rate {
        row(
            "税率別",
            &format!("返金 {}（税込）", rate(x.rate)),
            None,
            Some(-x.gross),
        );
        if x.rate != 0 {
            row(
                "税率別",
                &format!("返金 {}% 内消費税等", x.rate),
                None,
                Some(-x.tax),
            );
        }
    }
    if r.pending_count > 0 {
        row(
            "入金待ち",
            "コンビニ・銀行",
            Some(r.pending_count),
            Some(r.pending_total),
        );
    }
    for m in &r.movements {
        let (section, sign) = if m.kind == "in" {
            ("入金", 1)
        } else {
            ("出金", -1)
        };
        row(
            section,
            &format!("{} {}", local(&m.at, tz), m.reason),
            None,
            Some(sign * m.amount),
        );
    }
    format!("\u{feff}{}\r\n", rows.join("\r\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> DrawerReport {
        serde_json::from_value(serde_json::json!({
            "kind": "close",
            "session": {
                "id": "drw_1", "opened_at": "2026-12-01T00:00:00Z", "opened_by": "staff",
                "float": 6000, "float_count": {"1000": 5, "100": 10},
                "closed_at": "2026-12-01T12:00:00Z", "closed_by": "staff",
                "expected": 9870, "counted": 9770, "difference": -100
            },
            "from": null,
            "until": "2026-12-01T21:00:00+09:00",
            "float": 6000, "cash_sales": 970, "cash_refunds": 100, "cash_in": 3000, "cash_out": 0,
            "expected_cash": 9870, "counted_cash": 9770, "difference": -100,
            "count": {"counts": {"5000": 1, "1000": 4, "500": 1, "100": 2, "50": 1, "10": 2}, "total": 9770},
            "per_tender": [
                {"method": "cash", "count": 1, "total": 970},
                {"method": "credit_card", "count": 2, "total": 3000},
                {"method": "shop:商品券", "count": 1, "total": 1000}
            ],
            "sales_total": 4970,
            "refunds_per_tender": [{"method": "cash", "count": 1, "total": 100}],
            "refunds_total": 100,
            "net_total": 4870,
            "per_rate": [{"rate": 10, "gross": 3970, "tax": 360, "discount": 30}, {"rate": 8, "gross": 1000, "tax": 74}],
            "refunds_per_rate": [{"rate": 8, "gross": 100, "tax": 7}],
            "pending_count": 1, "pending_total": 1940,
            "movements": [
                {"id": "mv_1", "kind": "in", "amount": 3000, "reason": "=両替, \"朝\"",
                 "at": "2026-12-01T01:00:00Z", "by": "staff"}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn a_close_reads_in_japanese_one_figure_per_row() {
        let csv = drawer_csv(&report(), chrono_tz::Asia::Tokyo);
        assert!(
            csv.starts_with("\u{feff}区分,項目,枚数・件数,金額\r\n"),
            "{csv}"
        );
        for row in [
            "報告,精算,,",
            "報告,精算 2026/12/01 21:00:00,,",
            "現金,釣銭準備金,,6000",
            "現金,現金返金,,-100",
            "現金,現金在高（理論）,,9870",
            "現金,現金在高（実査）,,9770",
            "現金,過不足,,-100",
            "金種,5000円,1,5000",
            "金種,10円,2,20",
            "売上,現金,1,970",
            "売上,クレジットカード,2,3000",
            "売上,商品券,1,1000",
            "売上,合計,4,4970",
            "返金,現金,1,-100",
            "返金,合計,,-100",
            "売上,純売上,,4870",
            "税率別,10%対象（税込）,,3970",
            "税率別,10% 内消費税等,,360",
            "税率別,10%対象 値引,,-30",
            "税率別,8%対象（税込）,,1000",
            "税率別,返金 8%対象（税込）,,-100",
            "税率別,返金 8% 内消費税等,,-7",
            "入金待ち,コンビニ・銀行,1,1940",
            // Free text that starts like a formula is shown as text; a comma and quotes are quoted.
            "入金,\"2026/12/01 10:00:00 =両替, \"\"朝\"\"\",,3000",
        ] {
            assert!(csv.contains(&format!("{row}\r\n")), "{row:?} in\n{csv}");
        }
        assert!(!csv.contains("credit_card"), "method names are Japanese");
        // The denominations run largest first.
        assert!(csv.find("5000円").unwrap() < csv.find("10円").unwrap());
        let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
        assert!(lines.iter().all(|l| l.matches(',').count() >= 3), "{csv}");
    }

    #[test]
    fn formula_like_text_is_shown_as_text() {
        assert_eq!(text("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(text("-5"), "'-5");
        assert_eq!(text("両替"), "両替");
        assert_eq!(text("a,b"), "\"a,b\"");
    }
}
