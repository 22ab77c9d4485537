//! The one template: what a receipt says, in order, as [`Block`]s for every renderer.

use super::*;
use crate::money::{Currency, Money};
use crate::tax::PriceMode;

impl Receipt {
    fn money(&self, minor: i64) -> String {
        match self.currency.parse::<Currency>() {
            Ok(c) => Money::new(c, minor).to_string(),
            Err(_) => format!("{minor} {}", self.currency),
        }
    }

    /// The one template: what the receipt says, in order, for every renderer.
    pub fn layout(&self) -> Vec<Block> {
        let mut b = Vec::new();
        let title = match (self.kind, self.qualified) {
            (ReceiptKind::Sale, true) => "領収書（適格簡易請求書）",
            (ReceiptKind::Sale, false) => "領収書",
            (ReceiptKind::Return, true) => "返金明細（適格返還請求書）",
            (ReceiptKind::Return, false) => "返金明細",
        };
        b.push(Block::Heading {
            text: self.issuer.name.clone(),
        });
        if let Some(n) = &self.issuer.registration_number {
            b.push(Block::Center {
                text: format!("登録番号 {n}"),
            });
        }
        if let Some(a) = &self.issuer.address {
            b.push(Block::Center { text: a.clone() });
        }
        if let Some(p) = &self.issuer.phone {
            b.push(Block::Center {
                text: format!("TEL {p}"),
            });
        }
        b.push(Block::Rule);
        b.push(Block::Title { text: title.into() });
        if self.reissue {
            b.push(Block::Center {
                text: "【再発行】".into(),
            });
        }
        match self.kind {
            ReceiptKind::Sale => {
                b.push(Block::Row {
                    left: "取引日時".into(),
                    right: self.transaction_date.clone(),
                    strong: false,
                });
            }
            ReceiptKind::Return => {
                b.push(Block::Row {
                    left: "返金日時".into(),
                    right: self.refund_date.clone().unwrap_or_default(),
                    strong: false,
                });
                b.push(Block::Row {
                    left: "元の取引日時".into(),
                    right: self.transaction_date.clone(),
                    strong: false,
                });
            }
        }
        b.push(Block::Row {
            left: "伝票番号".into(),
            right: match self.refund_number {
                Some(n) => format!("{} 返金{n}", self.invoice_number),
                None => self.invoice_number.clone(),
            },
            strong: false,
        });
        if let Some(d) = self.dining {
            b.push(Block::Row {
                left: "ご利用".into(),
                right: match d {
                    crate::tax::Dining::EatIn => "店内".into(),
                    crate::tax::Dining::TakeAway => "お持ち帰り".into(),
                },
                strong: false,
            });
        }
        b.push(Block::Rule);
        if self.kind == ReceiptKind::Return {
            b.push(Block::Small {
                text: "元の取引の内容:".into(),
            });
        }
        for it in &self.items {
            let mark = if it.reduced {
                " ※"
            } else if it.exempt {
                " 非"
            } else {
                ""
            };
            let detail = (it.quantity > 1)
                .then(|| format!("{} × {}", self.money(it.unit_price), it.quantity));
            b.push(Block::Item {
                name: format!("{}{mark}", it.name),
                detail,
                amount: self.money(it.amount),
            });
            if it.discount > 0 {
                b.push(Block::Item {
                    name: "　値引".into(),
                    detail: None,
                    amount: format!("-{}", self.money(it.discount)),
                });
            }
        }
        if self.order_discount_amount > 0 {
            let label = match self.order_discount.as_deref() {
                Some(d) if d.ends_with('%') => format!("値引（{d}）"),
                Some(d) if d.starts_with("round") => "端数値引".to_string(),
                _ => "値引".to_string(),
            };
            b.push(Block::Item {
                name: label,
                detail: None,
                amount: format!("-{}", self.money(self.order_discount_amount)),
            });
        }
        b.push(Block::Rule);
        let (basis, tax_word) = match (self.kind, self.price_mode) {
            (ReceiptKind::Return, _) => ("返金対象（税込）", "内消費税等"),
            (_, PriceMode::Inclusive) => ("対象（税込）", "内消費税等"),
            (_, PriceMode::Exclusive) => ("対象（税抜）", "消費税等"),
        };
        for r in &self.per_rate {
            if r.rate == 0 {
                // 非課税: no tax to state, only the amount.
                b.push(Block::Row {
                    left: match self.kind {
                        ReceiptKind::Return => "非課税（返金）".into(),
                        ReceiptKind::Sale => "非課税".into(),
                    },
                    right: self.money(r.amount),
                    strong: false,
                });
                continue;
            }
            let mark = if r.rate == 8 { "※" } else { "" };
            if r.discount > 0 {
                // The discount per rate (値引額は税率ごとに区分して記載).
                b.push(Block::Row {
                    left: format!("{}%対象 値引{mark}", r.rate),
                    right: format!("-{}", self.money(r.discount)),
                    strong: false,
                });
            }
            b.push(Block::Row {
                left: format!("{}%{basis}{mark}", r.rate),
                right: self.money(r.amount),
                strong: false,
            });
            b.push(Block::Row {
                left: format!("　{}% {tax_word}", r.rate),
                right: self.money(r.tax),
                strong: false,
            });
        }
        b.push(Block::Row {
            left: match self.kind {
                ReceiptKind::Sale => "合計（税込）".into(),
                ReceiptKind::Return => "返金額（税込）".into(),
            },
            right: self.money(self.total),
            strong: true,
        });
        let counter_paid = self
            .tenders
            .iter()
            .any(|t| t.kind != crate::tender::TenderKind::Komoju);
        if counter_paid {
            for t in &self.tenders {
                use crate::tender::TenderKind;
                match t.kind {
                    TenderKind::Cash => {
                        b.push(Block::Row {
                            left: "お預り（現金）".into(),
                            right: self.money(t.tendered.unwrap_or(t.amount)),
                            strong: false,
                        });
                        b.push(Block::Row {
                            left: "お釣り".into(),
                            right: self.money(t.change.unwrap_or(0)),
                            strong: false,
                        });
                    }
                    TenderKind::Shop => b.push(Block::Row {
                        left: t.name.clone().unwrap_or_default(),
                        right: self.money(t.amount),
                        strong: false,
                    }),
                    TenderKind::Komoju => b.push(Block::Row {
                        left: t
                            .method
                            .as_deref()
                            .map(method_label)
                            .unwrap_or_else(|| "KOMOJU".into()),
                        right: self.money(t.amount),
                        strong: false,
                    }),
                }
            }
        } else if let Some(m) = &self.payment_method_label {
            b.push(Block::Row {
                left: match self.kind {
                    ReceiptKind::Sale => "お支払方法".into(),
                    ReceiptKind::Return => "返金方法".into(),
                },
                right: m.clone(),
                strong: false,
            });
        }
        b.push(Block::Rule);
        if self.items.iter().any(|i| i.reduced) || self.per_rate.iter().any(|r| r.rate == 8) {
            b.push(Block::Small {
                text: "※印は軽減税率（8%）適用商品です".into(),
            });
        }
        if self.items.iter().any(|i| i.exempt) {
            b.push(Block::Small {
                text: "非印は非課税の商品です".into(),
            });
        }
        if !self.qualified {
            b.push(Block::Small {
                text: "この領収書は適格請求書ではありません（登録番号未設定）".into(),
            });
        }
        if self.stamp_box {
            b.push(Block::Center {
                text: "［ 収入印紙 ］".into(),
            });
        }
        if let Some(f) = &self.footer {
            for line in f.lines().filter(|l| !l.trim().is_empty()) {
                b.push(Block::Center {
                    text: line.to_string(),
                });
            }
        }
        b
    }

    /// Plain text for a terminal (East Asian wide characters count as two columns).
    pub fn to_text(&self, width: usize) -> String {
        let mut out = String::new();
        let pad_center = |s: &str| {
            let w = display_width(s);
            format!("{}{s}", " ".repeat(width.saturating_sub(w) / 2))
        };
        let row = |l: &str, r: &str| {
            let gap = width
                .saturating_sub(display_width(l) + display_width(r))
                .max(1);
            format!("{l}{}{r}", " ".repeat(gap))
        };
        for block in self.layout() {
            let line = match block {
                Block::Heading { text } | Block::Title { text } | Block::Center { text } => {
                    pad_center(&text)
                }
                Block::Rule => "-".repeat(width),
                Block::Row { left, right, .. } => row(&left, &right),
                Block::Item {
                    name,
                    detail,
                    amount,
                } => match detail {
                    Some(d) => format!("{name}\n{}", row(&format!("  {d}"), &amount)),
                    None => row(&name, &amount),
                },
                Block::Small { text } => text,
                Block::Qr { data } => format!("[QR] {data}"),
            };
            out.push_str(&line);
            out.push('\n');
        }
        out
    }
}
