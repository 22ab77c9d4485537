//! The catalog's tables: `products` (the current version of each) and `product_versions` (every
//! version a change replaced, with who made it and how: together, every version; an import of new
//! products writes no second copy). Uniqueness of codes and quick keys among products on sale is
//! the schema's (partial unique indexes); the register checks first to name the clash.

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

/// What the import needs to know of a product to find clashes and write its next version
/// without reading it whole.
#[derive(Clone, Debug)]
pub struct ProductKey {
    pub id: String,
    pub name: String,
    pub code_key: Option<String>,
    pub quick_key: Option<u32>,
    pub archived: bool,
    pub archived_at: Option<String>,
    pub version: u32,
    pub created_at: DateTime<Utc>,
}

/// One product to write: `id` names the product it replaces (none: a new one).
pub struct ProductWrite<'a> {
    pub id: Option<&'a str>,
    pub fields: &'a ProductFields,
    pub archived: bool,
}

/// The unique indexes of products on sale (as migration 8 creates them); a bulk import drops and
/// recreates them around its writes, so that two products swapping codes never clash halfway.
const UNIQUE_INDEXES: &str = "CREATE UNIQUE INDEX products_code ON products(code_key) WHERE archived_at IS NULL AND code_key IS NOT NULL;
CREATE UNIQUE INDEX products_quick_key ON products(quick_key) WHERE archived_at IS NULL AND quick_key IS NOT NULL;";

/// Moves the product's current version (before a change) into `product_versions`, as it was.
fn keep_old_version(tx: &Connection, id: &str) -> Result<()> {
    let old = read_product(tx, id)?.ok_or_else(|| LedgerError::NotFound(id.to_string()))?;
    let (action, by): (String, String) = tx
        .prepare_cached("SELECT action, updated_by FROM products WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let data = serde_json::to_string(&old).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
    tx.prepare_cached(
        "INSERT INTO product_versions(product_id, version, at, by, action, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        old.id,
        old.version,
        ts(old.updated_at),
        by,
        action,
        data
    ])?;
    Ok(())
}

fn read_product(tx: &Connection, id: &str) -> Result<Option<Product>> {
    let mut st = tx.prepare_cached(&format!(
        "SELECT {PRODUCT_COLS} FROM products WHERE id = ?1"
    ))?;
    st.query_row([id], product_row).optional()?.transpose()
}

fn key_of(tx: &Connection, id: &str) -> Result<Option<ProductKey>> {
    let mut st = tx.prepare_cached(
        "SELECT id, name, code_key, quick_key, archived_at, version, created_at FROM products WHERE id = ?1",
    )?;
    st.query_row([id], key_row).optional()?.transpose()
}

fn key_row(r: &Row<'_>) -> rusqlite::Result<Result<ProductKey>> {
    let archived_at: Option<String> = r.get(4)?;
    let created: String = r.get(6)?;
    let (id, name, code_key, quick_key, version) =
        (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(5)?);
    Ok(parse_ts(&created).map(|created_at| ProductKey {
        id,
        name,
        code_key,
        quick_key,
        archived: archived_at.is_some(),
        archived_at,
        version,
        created_at,
    }))
}

/// Writes one product's new version (`old`: what it was, none for a new product) and keeps the
/// version in `product_versions`; returns the product as stored.
fn put(
    tx: &Connection,
    w: &ProductWrite<'_>,
    old: Option<&ProductKey>,
    now: DateTime<Utc>,
    by: &str,
) -> Result<Product> {
    let f = w.fields;
    let archived_at: Option<String> = match (w.archived, old) {
        (false, _) => None,
        // Archived again: keep when it was first archived.
        (true, Some(o)) if o.archived_at.is_some() => o.archived_at.clone(),
        (true, _) => Some(ts(now)),
    };
    let (id, version, created_at, action) = match old {
        Some(o) => (
            o.id.clone(),
            o.version + 1,
            o.created_at,
            match (o.archived, w.archived) {
                (false, true) => "archived",
                (true, false) => "restored",
                _ => "edited",
            },
        ),
        None => (crate::catalog::new_product_id(now), 1, now, "added"),
    };
    let p = Product {
        id,
        name: f.name.clone(),
        kana: f.kana.clone(),
        price: f.price,
        class: f.class,
        code: f.code.as_ref().map(|c| c.as_str().to_string()),
        category: f.category.clone(),
        quick_key: f.quick_key,
        archived: archived_at.is_some(),
        version,
        created_at,
        updated_at: now,
    };
    let code_key = f.code.as_ref().map(|c| c.key());
    if old.is_some() {
        keep_old_version(tx, &p.id)?;
    }
    let args = params![
        p.id,
        p.name,
        p.kana,
        p.price,
        p.class.as_str(),
        p.code,
        code_key,
        p.category,
        p.quick_key,
        f.search_text(),
        archived_at,
        p.version,
        ts(p.created_at),
        ts(now),
        action,
        by
    ];
    if old.is_some() {
        tx.prepare_cached(
            "UPDATE products SET name = ?2, kana = ?3, price = ?4, class = ?5, code = ?6, code_key = ?7,
                category = ?8, quick_key = ?9, search = ?10, archived_at = ?11, version = ?12,
                created_at = ?13, updated_at = ?14, action = ?15, updated_by = ?16
             WHERE id = ?1",
        )?
        .execute(args)?;
    } else {
        tx.prepare_cached(
            "INSERT INTO products(id, name, kana, price, class, code, code_key, category, quick_key, search,
                archived_at, version, created_at, updated_at, action, updated_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )?
        .execute(args)?;
    }
    Ok(p)
}

/// The writes of one import, inside its transaction ([`Ledger::bulk_products`]).
pub struct ProductBulk<'a> {
    conn: &'a Connection,
    now: DateTime<Utc>,
    by: &'a str,
}

impl ProductBulk<'_> {
    /// Writes a product's new version: `old` is the catalog's key of the product it replaces.
    pub fn put(&mut self, w: &ProductWrite<'_>, old: Option<&ProductKey>) -> Result<()> {
        put(self.conn, w, old, self.now, self.by).map(drop)
    }
}

impl Ledger {
    /// Adds a product (`id` none) or writes a new version of one, in one transaction.
    pub fn put_product(
        &mut self,
        w: &ProductWrite<'_>,
        now: DateTime<Utc>,
        by: &str,
    ) -> Result<Product> {
        self.in_transaction(|tx| {
            let old = match w.id {
                Some(id) => {
                    Some(key_of(tx, id)?.ok_or_else(|| LedgerError::NotFound(id.to_string()))?)
                }
                None => None,
            };
            put(tx, w, old.as_ref(), now, by)
        })
    }

    /// Runs an import in one transaction: everything `f` writes through the [`ProductBulk`], or
    /// nothing when it fails. The unique indexes are dropped for the writes and built again at the
    /// end (the caller has checked that codes and quick keys stay unique; if not, the rebuild fails
    /// and nothing is stored).
    pub fn bulk_products<T, E: From<LedgerError>>(
        &mut self,
        now: DateTime<Utc>,
        by: &str,
        f: impl FnOnce(&mut ProductBulk<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.atomically(|l| {
            l.conn
                .execute_batch("DROP INDEX products_code; DROP INDEX products_quick_key;")
                .map_err(LedgerError::from)?;
            let mut bulk = ProductBulk {
                conn: &l.conn,
                now,
                by,
            };
            let v = f(&mut bulk)?;
            l.conn
                .execute_batch(UNIQUE_INDEXES)
                .map_err(LedgerError::from)?;
            Ok(v)
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

    /// Each product's key facts (the import's clash check and its writes).
    pub fn product_keys(&self) -> Result<Vec<ProductKey>> {
        let mut st = self.conn.prepare(
            "SELECT id, name, code_key, quick_key, archived_at, version, created_at FROM products",
        )?;
        let rows = st.query_map([], key_row)?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r??);
        }
        Ok(out)
    }

    /// Every version of a product, oldest first: `(version, action, by)` (`added`, `edited`,
    /// `archived`, `restored`; the last one is the current version).
    pub fn product_versions(&self, id: &str) -> Result<Vec<(u32, String, String)>> {
        let mut st = self.conn.prepare_cached(
            "SELECT version, action, by FROM product_versions WHERE product_id = ?1
             UNION ALL SELECT version, action, updated_by FROM products WHERE id = ?1
             ORDER BY 1",
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
