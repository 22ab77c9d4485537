//! The payment slip for a sale paid later (konbini, bank transfer, Pay-easy): what the customer
//! takes to the store or bank. It is not a receipt (the store's or bank's own receipt is), and it
//! says so; it shows the amount the customer will actually pay, KOMOJU's fee included.

use super::{Block, ShopDetails};
use crate::komoju::PaymentDetails;
use crate::money::Money;

/// What the slip is made from.
#[derive(Clone, Debug)]
pub struct SlipFacts {
    pub invoice_number: String,
    /// The sale's amount (what the shop charges).
    pub amount: i64,
    /// KOMOJU's payment-method fee the customer pays on top (konbini, Pay-easy).
    pub fee: i64,
    /// The deadline, shop-local `YYYY-MM-DD HH:MM`.
    pub deadline: Option<String>,
    pub details: PaymentDetails,
}

/// Konbini chains as KOMOJU names them.
pub fn store_label(store: &str) -> String {
    match store {
        "seven-eleven" => "セブン-イレブン",
        "lawson" => "ローソン",
        "family-mart" => "ファミリーマート",
        "ministop" => "ミニストップ",
        "daily-yamazaki" => "デイリーヤマザキ",
        "seicomart" => "セイコーマート",
        other => other,
    }
    .to_string()
}

/// The slip's blocks, or `None` when the payment is not one paid later (nothing to take along).
pub fn slip_layout(f: &SlipFacts, shop: &ShopDetails) -> Option<Vec<Block>> {
    let yen = |n: i64| Money::jpy(n).to_string();
    let row = |left: &str, right: String| Block::Row {
        left: left.into(),
        right,
        strong: false,
    };
    let (title, mut rows): (&str, Vec<Block>) = match &f.details {
        PaymentDetails::Konbini(k) => {
            let mut r = Vec::new();
            if let Some(s) = &k.store {
                r.push(row("お支払い先", store_label(s)));
            }
            if let Some(n) = &k.receipt {
                r.push(row("受付番号", n.clone()));
            }
            if let Some(c) = &k.confirmation_code {
                r.push(row("確認番号", c.clone()));
            }
            ("お支払い票（コンビニ払い）", r)
        }
        PaymentDetails::BankTransfer(b) => {
            let mut r = Vec::new();
            for (label, v) in [
                ("銀行名", &b.bank_name),
                ("支店名", &b.account_branch_name),
                ("口座種別", &b.account_type),
                ("口座番号", &b.account_number),
                ("口座名義", &b.account_name),
                ("注文番号", &b.order_id),
            ] {
                if let Some(v) = v {
                    r.push(row(label, v.clone()));
                }
            }
            ("お振込み票（銀行振込）", r)
        }
        PaymentDetails::PayEasy(p) => {
            let mut r = Vec::new();
            for (label, v) in [
                ("収納機関番号", &p.bank_id),
                ("お客様番号", &p.customer_id),
                ("確認番号", &p.confirmation_id),
            ] {
                if let Some(v) = v {
                    r.push(row(label, v.clone()));
                }
            }
            ("お支払い票（ペイジー）", r)
        }
        _ => return None,
    };
    let mut b = vec![
        Block::Heading {
            text: shop.name.clone(),
        },
        Block::Rule,
        Block::Title { text: title.into() },
        row("伝票番号", f.invoice_number.clone()),
        Block::Rule,
    ];
    b.append(&mut rows);
    if let Some(d) = &f.deadline {
        b.push(row("お支払い期限", d.clone()));
    }
    b.push(Block::Rule);
    if f.fee > 0 {
        b.push(row("代金", yen(f.amount)));
        b.push(row("お支払い手数料", yen(f.fee)));
    }
    b.push(Block::Row {
        left: "お支払い金額".into(),
        right: yen(f.amount + f.fee),
        strong: true,
    });
    b.push(Block::Rule);
    if let Some(url) = f.details.instructions_url() {
        b.push(Block::Small {
            text: "お支払い方法はこちら（QRコードを読み取ってください）".into(),
        });
        b.push(Block::Qr { data: url.into() });
    }
    b.push(Block::Small {
        text: "この票は領収書ではありません。お支払い後の領収書はお支払い先で発行されます。".into(),
    });
    Some(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::komoju::KonbiniDetails;

    #[test]
    fn a_konbini_slip_shows_the_amount_with_its_fee_and_the_instructions_qr() {
        let f = SlipFacts {
            invoice_number: "INV-1".into(),
            amount: 1750,
            fee: 190,
            deadline: Some("2026-12-04 23:59".into()),
            details: PaymentDetails::Konbini(KonbiniDetails {
                store: Some("lawson".into()),
                receipt: Some("123456".into()),
                confirmation_code: Some("7890".into()),
                instructions_url: Some("https://komoju.com/instructions/x".into()),
                ..Default::default()
            }),
        };
        let b = slip_layout(&f, &ShopDetails::default()).unwrap();
        assert!(b.contains(&Block::Row {
            left: "お支払い金額".into(),
            right: "¥1,940".into(),
            strong: true
        }));
        assert!(b.contains(&Block::Qr {
            data: "https://komoju.com/instructions/x".into()
        }));
        assert!(b
            .iter()
            .any(|x| matches!(x, Block::Row { right, .. } if right == "ローソン")));
        let none = SlipFacts {
            details: PaymentDetails::None,
            ..f
        };
        assert!(slip_layout(&none, &ShopDetails::default()).is_none());
    }
}
