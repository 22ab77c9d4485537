//! The catalog's tables: `products` (the current version of each) and `product_versions` (every
//! version, append-only, with who made it). Uniqueness of codes and quick keys among products on
//! sale is the schema's (partial unique indexes); the register checks first to name the clash.

use super::*;
use crate::catalog::{Product, ProductFields};
use crate::tax::TaxClass;

const PRODUCT_COLS: &str = "id, name, kana, price, class, code, category, quick_key, archived_at, \
    version, created_at, updated_at";

fn product_row(r: &Row<'_>) -> rusqlite::Result<Result<Product>> {
    let class: String = r.get(4)?;
    let archived: Option<String> = r.get(8)?;
    let created: String = r.get(10)?;
    let updated: String = r.get(11)?;
    let (id, name, kana, price, code, category, quick_key, version) = (
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(9)?,
    );
    Ok((|| -> Result<Product> {
        Ok(Product {
            id,
            name,
            kana,
            price,
            class: class.parse::<TaxClass>().map_err(LedgerError::Corrupt)?,
            code,
            category,
            quick_key,
            archived: archived.is_some(),
            version,
            created_at: parse_ts(&created)?,
            updated_at: parse_ts(&updated)?,
        })
    })())
}

/// What the import needs to know of a product to find clashes without loading it whole.
#[derive(Clone, Debug)]
pub struct ProductKey {
    pub id: String,
    pub name: String,
    pub code_key: Option<String>,
    pub quick_key: Option<u32>,
    pub archived: bool,
}

/// One product an import writes: `id` names the product it replaces (none: a new one).
pub struct ProductWrite<'a> {
    pub id: Option<&'a str>,
    pub fields: &'a ProductFields,
    pub archived: bool,
}

fn write_version(
    tx: &Connection,
    p: &Product,
    now: DateTime<Utc>,
    by: &str,
    action: &str,
) -> Result<()> {
    let data = serde_json::to_string(p).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
    tx.prepare_cached(
        "INSERT INTO product_versions(product_id, version, at, by, action, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![p.id, p.version, ts(now), by, action, data])?;
    Ok(())
}

fn read_product(tx: &Connection, id: &str) -> Result<Option<Product>> {
    let mut st = tx.prepare_cached(&format!(
        "SELECT {PRODUCT_COLS} FROM products WHERE id = ?1"
    ))?;
    st.query_row([id], product_row).optional()?.transpose()
}

/// Inserts or replaces one product (version + 1) and keeps the version; returns what was stored.
fn put(tx: &Connection, w: &ProductWrite<'_>, now: DateTime<Utc>, by: &str) -> Result<Product> {
    let f = w.fields;
    let code = f.code.as_ref().map(|c| c.as_str().to_string());
    let code_key = f.code.as_ref().map(|c| c.key());
    let archived_at = |old: Option<&Product>| -> Option<String> {
        match (w.archived, old) {
            (false, _) => None,
            // Archived again: keep when it was first archived.
            (true, Some(o)) if o.archived => tx
                .query_row(
                    "SELECT archived_at FROM products WHERE id = ?1",
                    [&o.id],
                    |r| r.get(0),
                )
                .ok(),
            (true, _) => Some(ts(now)),
        }
    };
    let (id, action) = match w.id {
        Some(id) => {
            let old = read_product(tx, id)?.ok_or_else(|| LedgerError::NotFound(id.to_string()))?;
            let action = match (old.archived, w.archived) {
                (false, true) => "archived",
                (true, false) => "restored",
                _ => "edited",
            };
            tx.prepare_cached(
                "UPDATE products SET name = ?2, kana = ?3, price = ?4, class = ?5, code = ?6, code_key = ?7,
                    category = ?8, quick_key = ?9, search = ?10, archived_at = ?11, version = version + 1,
                    updated_at = ?12
                 WHERE id = ?1",
            )?
            .execute(params![
                id,
                f.name,
                f.kana,
                f.price,
                f.class.as_str(),
                code,
                code_key,
                f.category,
                f.quick_key,
                f.search_text(),
                archived_at(Some(&old)),
                ts(now)
            ])?;
            (id.to_string(), action)
        }
        None => {
            let id = crate::catalog::new_product_id(now);
            tx.prepare_cached(
                "INSERT INTO products(id, name, kana, price, class, code, code_key, category, quick_key, search,
                    archived_at, version, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 1, ?12, ?12)",
            )?
            .execute(params![
                id,
                f.name,
                f.kana,
                f.price,
                f.class.as_str(),
                code,
                code_key,
                f.category,
                f.quick_key,
                f.search_text(),
                archived_at(None),
                ts(now)
            ])?;
            (id, "added")
        }
    };
    let p = read_product(tx, &id)?.ok_or_else(|| LedgerError::NotFound(id.clone()))?;
    write_version(tx, &p, now, by, action)?;
    Ok(p)
}

impl Ledger {
    /// Adds a product (`id` none) or writes a new version of one, in one transaction.
    pub fn put_product(
        &mut self,
        w: &ProductWrite<'_>,
        now: DateTime<Utc>,
        by: &str,
    ) -> Result<Product> {
        self.in_transaction(|tx| put(tx, w, now, by))
    }

    /// Writes every product of an import in one transaction: all or nothing. Returns how many
    /// were added and how many changed.
    pub fn put_products(
        &mut self,
        writes: &[ProductWrite<'_>],
        now: DateTime<Utc>,
        by: &str,
    ) -> Result<(usize, usize)> {
        self.in_transaction(|tx| {
            // Release the codes and quick keys the file moves first, so that a swap between
            // two products does not clash halfway through.
            for w in writes.iter().filter(|w| w.id.is_some()) {
                tx.prepare_cached(
                    "UPDATE products SET code_key = NULL, quick_key = NULL WHERE id = ?1",
                )?
                .execute([w.id])?;
            }
            let mut added = 0;
            let mut changed = 0;
            for w in writes {
                if w.id.is_some() {
                    changed += 1;
                } else {
                    added += 1;
                }
                put(tx, w, now, by)?;
            }
            Ok((added, changed))
        })
    }

    pub fn product(&self, id: &str) -> Result<Option<Product>> {
        read_product(&self.conn, id)
    }

    /// The product on sale with this code (GTIN-14 key, [`crate::catalog::ProductCode::key`]).
    pub fn product_by_code(&self, code_key: &str) -> Result<Option<Product>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {PRODUCT_COLS} FROM products WHERE code_key = ?1 AND archived_at IS NULL"
        ))?;
        st.query_row([code_key], product_row)
            .optional()?
            .transpose()
    }

    /// Products whose name, kana, code or category contain `folded` (already folded; none: all),
    /// quick keys first, then by name. Archived ones only with `archived`.
    pub fn products(
        &self,
        folded: Option<&str>,
        archived: bool,
        limit: usize,
    ) -> Result<Vec<Product>> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT {PRODUCT_COLS} FROM products
             WHERE (?1 IS NULL OR instr(search, ?1) > 0) AND (?2 OR archived_at IS NULL)
             ORDER BY archived_at IS NOT NULL, quick_key IS NULL, quick_key, name, id
             LIMIT ?3"
        ))?;
        let rows = st.query_map(params![folded, archived, limit as i64], product_row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    /// Every product (archived too) in the list's order, one at a time (exports).
    pub fn for_each_product<E: From<LedgerError>>(
        &self,
        mut f: impl FnMut(&Product) -> std::result::Result<(), E>,
    ) -> std::result::Result<u64, E> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {PRODUCT_COLS} FROM products
                 ORDER BY archived_at IS NOT NULL, quick_key IS NULL, quick_key, name, id"
            ))
            .map_err(LedgerError::from)?;
        let mut rows = st.query([]).map_err(LedgerError::from)?;
        let mut n = 0;
        while let Some(r) = rows.next().map_err(LedgerError::from)? {
            let p = product_row(r).map_err(LedgerError::from)??;
            f(&p)?;
            n += 1;
        }
        Ok(n)
    }

    /// Each product's id, name, code key and quick key (the import's clash check).
    pub fn product_keys(&self) -> Result<Vec<ProductKey>> {
        let mut st = self.conn.prepare(
            "SELECT id, name, code_key, quick_key, archived_at IS NOT NULL FROM products",
        )?;
        let rows = st.query_map([], |r| {
            Ok(ProductKey {
                id: r.get(0)?,
                name: r.get(1)?,
                code_key: r.get(2)?,
                quick_key: r.get(3)?,
                archived: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// How many versions a product has had (1 when never changed).
    pub fn product_versions(&self, id: &str) -> Result<Vec<(u32, String, String)>> {
        let mut st = self.conn.prepare_cached(
            "SELECT version, action, by FROM product_versions WHERE product_id = ?1 ORDER BY version",
        )?;
        let rows = st.query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// An order on hold as stored (`data`: the cart as JSON).
#[derive(Clone, Debug)]
pub struct HeldRow {
    pub id: String,
    pub label: Option<String>,
    pub data: String,
    pub total: i64,
    pub created_at: DateTime<Utc>,
}

fn held_row(r: &Row<'_>) -> rusqlite::Result<Result<HeldRow>> {
    let created: String = r.get(4)?;
    let (id, label, data, total) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
    Ok(parse_ts(&created).map(|created_at| HeldRow {
        id,
        label,
        data,
        total,
        created_at,
    }))
}

impl Ledger {
    /// Stores an order on hold; returns its id (unique across registers).
    pub fn hold_order(
        &mut self,
        label: Option<&str>,
        data: &str,
        total: i64,
        now: DateTime<Utc>,
        by: &str,
    ) -> Result<String> {
        let id = crate::catalog::new_product_id(now).replacen("prd_", "hold_", 1);
        self.conn.execute(
            "INSERT INTO held_orders(id, label, data, total, by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, label, data, total, by, ts(now)],
        )?;
        Ok(id)
    }

    /// Orders on hold (not recalled), oldest first.
    pub fn held_orders(&self) -> Result<Vec<HeldRow>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, label, data, total, created_at FROM held_orders WHERE recalled_at IS NULL
             ORDER BY created_at, id",
        )?;
        let rows = st.query_map([], held_row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    /// Takes an order off hold (compare-and-set: only one register or window gets it).
    pub fn recall_order(&mut self, id: &str, now: DateTime<Utc>) -> Result<Option<HeldRow>> {
        self.in_transaction(|tx| {
            let n = tx.execute(
                "UPDATE held_orders SET recalled_at = ?2 WHERE id = ?1 AND recalled_at IS NULL",
                params![id, ts(now)],
            )?;
            if n == 0 {
                return Ok(None);
            }
            let mut st = tx.prepare_cached(
                "SELECT id, label, data, total, created_at FROM held_orders WHERE id = ?1",
            )?;
            st.query_row([id], held_row).optional()?.transpose()
        })
    }
}
