//! The cart a cashier is ringing up: kept in the ledger as it changes (it survives a restart),
//! put on hold and recalled (a café's second customer), previewed with the core's totals.

use super::*;
use crate::discount::Discount;

/// Lines a cart holds at most (a counter sale, not a warehouse order).
pub const MAX_CART_LINES: usize = 500;
/// How long a held order's label may be.
pub const MAX_HOLD_LABEL: usize = 40;

/// A sale being rung up. Catalog lines carry their product; their rate follows `dining`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Cart {
    pub lines: Vec<LineItem>,
    pub discount: Option<Discount>,
    pub dining: Option<Dining>,
    pub customer: Customer,
}

/// The cart as the screens show it: every line with the rate it bears for this order, and the
/// totals a charge would ask for.
#[derive(Clone, Debug, Serialize)]
pub struct CartPreview {
    pub lines: Vec<LineItem>,
    pub dining: Dining,
    pub totals: crate::tax::TaxBreakdown,
}

/// An order put on hold.
#[derive(Clone, Debug, Serialize)]
pub struct HeldOrder {
    pub id: String,
    pub label: Option<String>,
    /// What the order came to when it was held.
    pub total: i64,
    pub items: usize,
    pub held_at: String,
    pub cart: Cart,
}

impl Register {
    /// The cart's lines with the rate each bears for this order (a catalog product's class and the
    /// order's eat-in / take-away; a typed line keeps its rate), each checked as a charge checks it.
    pub fn resolve_cart(&self, cart: &Cart) -> Result<(Vec<LineItem>, Dining)> {
        if cart.lines.len() > MAX_CART_LINES {
            return Err(Error::bad(
                "items",
                format!("a sale holds at most {MAX_CART_LINES} lines"),
            ));
        }
        let dining = cart.dining.unwrap_or(self.settings.dining);
        let mut out = Vec::with_capacity(cart.lines.len());
        for l in &cart.lines {
            let mut line =
                LineItem::from_parts(&l.name, l.unit_price, l.quantity, l.tax_rate.percent())
                    .map_err(|e| Error::bad("items", e.to_string()))?;
            line.discount = l.discount;
            if l.discount < 0 || Some(l.discount) > line.amount() {
                return Err(Error::bad(
                    "discount",
                    format!("the discount on {:?} is more than the line", l.name),
                ));
            }
            if let Some(id) = &l.product_id {
                let p = self
                    .ledger
                    .product(id)?
                    .ok_or_else(|| Error::NotFound(format!("no product {id:?} in the catalog")))?;
                line.tax_rate = p.class.rate(dining);
                line.product_id = Some(p.id);
            }
            out.push(line);
        }
        Ok((out, dining))
    }

    /// What the cart comes to now (nothing is stored): a price or discount a charge would refuse
    /// is refused here, naming the field, before it reaches the cart.
    pub fn preview_cart(&self, cart: &Cart) -> Result<CartPreview> {
        let (lines, dining) = self.resolve_cart(cart)?;
        let draft = Draft {
            currency: Currency::JPY,
            lines,
            customer: Customer::default(),
            price_mode: self.settings.price_mode,
            rounding: self.settings.rounding,
            discount: cart.discount,
            dining: Some(dining),
        };
        let totals = draft.breakdown().map_err(charge::tax_error)?;
        if totals.total > charge::MAX_TOTAL {
            return Err(Error::bad(
                "items",
                format!("the total {} is too large", totals.total),
            ));
        }
        Ok(CartPreview {
            lines: draft.lines,
            dining,
            totals,
        })
    }

    /// A charge of this cart: its lines resolved, its discount and eat-in / take-away.
    pub fn cart_request(&self, cart: &Cart) -> Result<ChargeRequest> {
        let (lines, dining) = self.resolve_cart(cart)?;
        let from_catalog = lines.iter().any(|l| l.product_id.is_some());
        Ok(ChargeRequest {
            lines,
            customer: cart.customer.clone(),
            discount: cart.discount,
            dining: (from_catalog || cart.dining.is_some()).then_some(dining),
            ..Default::default()
        })
    }

    /// Keeps the cart being rung up (the screen saves it as it changes; an empty cart clears it).
    pub fn save_cart(&mut self, cart: &Cart) -> Result<()> {
        if cart.lines.len() > MAX_CART_LINES {
            return Err(Error::bad(
                "items",
                format!("a sale holds at most {MAX_CART_LINES} lines"),
            ));
        }
        let text = serde_json::to_string(cart).map_err(|e| Error::bad("cart", e.to_string()))?;
        self.ledger.set_meta("cart.current", &text)?;
        Ok(())
    }

    /// The cart that was being rung up (empty if none, or if what was kept cannot be read).
    pub fn current_cart(&self) -> Result<Cart> {
        Ok(self
            .ledger
            .meta("cart.current")?
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default())
    }

    /// Puts the cart on hold (the screen then starts an empty one).
    pub fn hold_cart(&mut self, cart: &Cart, label: Option<&str>) -> Result<HeldOrder> {
        if cart.lines.is_empty() {
            return Err(Error::bad(
                "items",
                "there is nothing to hold: the cart is empty",
            ));
        }
        let label = match label.map(str::trim).filter(|l| !l.is_empty()) {
            Some(l) if l.chars().count() > MAX_HOLD_LABEL || l.chars().any(char::is_control) => {
                return Err(Error::bad(
                    "label",
                    format!("a label is one line of at most {MAX_HOLD_LABEL} characters"),
                ))
            }
            other => other.map(str::to_string),
        };
        let total = self.preview_cart(cart)?.totals.total;
        let now = self.now();
        let data = serde_json::to_string(cart).map_err(|e| Error::bad("cart", e.to_string()))?;
        let id =
            self.ledger
                .hold_order(label.as_deref(), &data, total, now, &self.actor.label())?;
        self.ledger.set_meta("cart.current", "")?;
        self.held_order(&id)
    }

    /// Orders on hold, oldest first.
    pub fn held_orders(&self) -> Result<Vec<HeldOrder>> {
        self.ledger
            .held_orders()?
            .into_iter()
            .map(|h| self.held_view(h))
            .collect()
    }

    /// Takes an order off hold and returns its cart (it is no longer listed).
    pub fn recall_order(&mut self, id: &str) -> Result<Cart> {
        let now = self.now();
        let h = self.ledger.recall_order(id, now)?.ok_or_else(|| {
            Error::NotFound(format!("no order {id:?} on hold (recalled already?)"))
        })?;
        Ok(self.held_view(h)?.cart)
    }

    fn held_order(&self, id: &str) -> Result<HeldOrder> {
        self.held_orders()?
            .into_iter()
            .find(|h| h.id == id)
            .ok_or_else(|| Error::NotFound(format!("no order {id:?} on hold")))
    }

    fn held_view(&self, h: crate::ledger::HeldRow) -> Result<HeldOrder> {
        let cart: Cart = serde_json::from_str(&h.data).map_err(|e| {
            Error::Ledger(LedgerError::Corrupt(format!("held order {}: {e}", h.id)))
        })?;
        Ok(HeldOrder {
            id: h.id,
            label: h.label,
            total: h.total,
            items: cart.lines.iter().map(|l| l.quantity as usize).sum(),
            held_at: h
                .created_at
                .with_timezone(&self.settings.tz)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            cart,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ProductInput;

    fn reg() -> Register {
        Register::new(
            Ledger::open_in_memory().unwrap(),
            None,
            Arc::new(crate::clock::SystemClock),
        )
        .unwrap()
    }

    #[test]
    fn a_food_line_follows_the_order_and_a_typed_line_keeps_its_rate() {
        let mut r = reg();
        let p = r
            .add_product(&ProductInput {
                name: Some("クロワッサン".into()),
                price: Some("300".into()),
                class: Some("food".into()),
                ..Default::default()
            })
            .unwrap();
        let mut cart = Cart {
            lines: vec![
                p.line(2, Dining::TakeAway),
                LineItem::from_parts("Bag", 10, 1, 10).unwrap(),
            ],
            ..Default::default()
        };
        let away = r.preview_cart(&cart).unwrap();
        assert_eq!(away.lines[0].tax_rate, TaxRate::Reduced);
        assert_eq!(away.totals.total, 610);
        cart.dining = Some(Dining::EatIn);
        cart.discount = Some(Discount::Amount(10));
        let inside = r.preview_cart(&cart).unwrap();
        assert_eq!(inside.lines[0].tax_rate, TaxRate::Standard);
        assert_eq!(inside.lines[1].tax_rate, TaxRate::Standard);
        assert_eq!((inside.totals.total, inside.totals.discount), (600, 10));
        assert_eq!(inside.totals.tax_at(TaxRate::Standard), 54);

        // A price a charge would refuse never reaches the cart.
        let huge = Cart {
            lines: vec![LineItem {
                unit_price: 1_000_000_000_000_000,
                ..LineItem::from_parts("x", 1, 1, 10).unwrap()
            }],
            ..Default::default()
        };
        let e = r.preview_cart(&huge).unwrap_err();
        assert!(
            matches!(&e, Error::BadInput { field, .. } if field == "items"),
            "{e}"
        );
    }

    #[test]
    fn carts_survive_and_held_orders_come_back_once() {
        let mut r = reg();
        let cart = Cart {
            lines: vec![LineItem::from_parts("Latte", 520, 1, 10).unwrap()],
            discount: Some(Discount::Percent(10)),
            ..Default::default()
        };
        r.save_cart(&cart).unwrap();
        assert_eq!(r.current_cart().unwrap(), cart);
        let h = r.hold_cart(&cart, Some("窓際の席")).unwrap();
        assert_eq!(
            (h.total, h.items, h.label.as_deref()),
            (468, 1, Some("窓際の席"))
        );
        assert_eq!(
            r.current_cart().unwrap(),
            Cart::default(),
            "holding clears the cart"
        );
        let second = Cart {
            lines: vec![LineItem::from_parts("Tea", 450, 2, 10).unwrap()],
            ..Default::default()
        };
        r.hold_cart(&second, None).unwrap();
        assert_eq!(r.held_orders().unwrap().len(), 2);
        assert_eq!(r.recall_order(&h.id).unwrap(), cart);
        assert!(matches!(r.recall_order(&h.id), Err(Error::NotFound(_))));
        assert_eq!(r.held_orders().unwrap().len(), 1);
        assert!(r.hold_cart(&Cart::default(), None).is_err());
    }
}
