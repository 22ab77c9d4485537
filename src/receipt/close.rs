//! The daily close (日計表) as a document of the receipt template.

use super::*;
use crate::money::Money;

/// The daily close (日計表) as a document of the same template, for its PDF.
pub fn close_layout(c: &crate::ledger::DailyClose, shop: &ShopDetails) -> Vec<Block> {
    let yen = |n: i64| Money::jpy(n).to_string();
    let row = |left: String, right: String| Block::Row {
        left,
        right,
        strong: false,
    };
    let mut b = vec![
        Block::Heading {
            text: shop.name.clone(),
        },
        Block::Title {
            text: "日計表".into(),
        },
        row("営業日".into(), c.business_date.clone()),
        row("締め日時".into(), local_time(&c.closed_at, &c.time_zone)),
        row("タイムゾーン".into(), c.time_zone.clone()),
        Block::Rule,
        Block::Row {
            left: format!("売上 {}件", c.sales_count),
            right: yen(c.sales_total),
            strong: true,
        },
    ];
    for r in &c.per_rate {
        if r.rate == 0 {
            b.push(row("　非課税".into(), yen(r.gross)));
            continue;
        }
        let mark = if r.rate == 8 { "※" } else { "" };
        b.push(row(
            format!("　{}%対象（税込）{mark}", r.rate),
            yen(r.gross),
        ));
        b.push(row(format!("　　{}% 内消費税等", r.rate), yen(r.tax)));
    }
    let discounts: Vec<&crate::ledger::RateTotalLine> =
        c.per_rate.iter().filter(|r| r.discount > 0).collect();
    if !discounts.is_empty() {
        b.push(Block::Small {
            text: "値引（税率別）".into(),
        });
        for r in discounts {
            b.push(row(
                format!("　{}", rate_name(r.rate)),
                format!("-{}", yen(r.discount)),
            ));
        }
    }
    b.push(Block::Rule);
    b.push(Block::Small {
        text: "支払方法別".into(),
    });
    for m in &c.per_method {
        b.push(row(
            format!("　{} {}件", method_label(&m.method), m.count),
            yen(m.total),
        ));
    }
    b.push(Block::Rule);
    b.push(row(
        format!("返金 {}件", c.refunds_count),
        yen(c.refunds_total),
    ));
    // Refunds and returns per rate, as their return receipts split them.
    for r in &c.refunds_per_rate {
        b.push(row(
            format!("　{}（税込）", rate_name(r.rate)),
            yen(r.gross),
        ));
        if r.rate != 0 {
            b.push(row(format!("　　{}% 内消費税等", r.rate), yen(r.tax)));
        }
    }
    b.push(Block::Row {
        left: "純売上（売上 − 返金）".into(),
        right: yen(c.sales_total - c.refunds_total),
        strong: true,
    });
    b.push(row(
        format!("入金待ち（コンビニ・銀行）{}件", c.pending_count),
        yen(c.pending_total),
    ));
    if !c.created_by_status.is_empty() {
        b.push(Block::Rule);
        b.push(Block::Small {
            text: "当日作成の伝票（締め時点の状態）".into(),
        });
        for (status, n) in &c.created_by_status {
            let label = status
                .parse::<crate::status::InvoiceStatus>()
                .map(|s| s.label_ja().to_string())
                .unwrap_or_else(|_| status.clone());
            b.push(row(format!("　{label}"), format!("{n}件")));
        }
    }
    b.push(Block::Rule);
    b.push(Block::Small {
        text: "締めた日の記録は変更できません（訂正は新しい記録で行います）".into(),
    });
    b
}

/// A rate as the close names it: `10%対象`, `8%対象`, `非課税`.
fn rate_name(rate: u8) -> String {
    if rate == 0 {
        "非課税".into()
    } else {
        format!("{rate}%対象")
    }
}
