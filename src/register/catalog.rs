//! The catalog's use cases: add, edit, archive, find, scan, import and export products.

use super::*;
use crate::catalog::csv::{ImportError, ImportRow, Problem};
use crate::catalog::{is_product_id, Product, ProductCode, ProductFields, ProductInput};
use crate::ledger::ProductWrite;
use std::collections::HashMap;

/// How many products a list returns at most.
pub const PRODUCT_LIST_LIMIT: usize = 1_000;

/// What an import did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImportReport {
    pub added: usize,
    pub updated: usize,
    /// The file's encoding as detected (`utf-8-bom`, `utf-8`, `cp932`).
    pub encoding: String,
}

/// A product line of a sale: a code or an id, and how many.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductLine {
    pub key: String,
    pub quantity: u32,
}

impl std::str::FromStr for ProductLine {
    type Err = Error;
    /// `CODE_OR_ID` or `CODE_OR_ID*QTY`.
    fn from_str(s: &str) -> Result<Self> {
        let (key, qty) = match s.rsplit_once(['*', '×']) {
            Some((k, q)) => (k, Some(q)),
            None => (s, None),
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(Error::bad(
                "products",
                format!("{s:?} names no product: give a code or an id, optionally *QTY"),
            ));
        }
        let quantity = match qty {
            None => 1,
            Some(q) => q
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=crate::invoice::MAX_QUANTITY).contains(n))
                .ok_or_else(|| {
                    Error::bad(
                        "products",
                        format!(
                            "{s:?}: the quantity after * must be a whole number from 1 to {}",
                            crate::invoice::MAX_QUANTITY
                        ),
                    )
                })?,
        };
        Ok(ProductLine {
            key: key.to_string(),
            quantity,
        })
    }
}

fn first_problem(problems: Vec<crate::catalog::FieldProblem>) -> Error {
    let mut it = problems.into_iter();
    match it.next() {
        Some(p) => Error::bad(p.field, p.message),
        None => Error::bad("product", "invalid product"),
    }
}

impl Register {
    fn staff(&self) -> &'static str {
        "staff"
    }

    /// Adds a product; a code or quick key another product on sale has is refused, naming it.
    pub fn add_product(&mut self, input: &ProductInput) -> Result<Product> {
        let fields = input.check(None).map_err(first_problem)?;
        self.check_unique(None, &fields)?;
        let now = self.now();
        let by = self.staff();
        Ok(self.ledger.put_product(
            &ProductWrite {
                id: None,
                fields: &fields,
                archived: false,
            },
            now,
            by,
        )?)
    }

    /// Changes the fields `input` gives (the others stay) of the product with this id or code.
    pub fn edit_product(&mut self, key: &str, input: &ProductInput) -> Result<Product> {
        let old = self.find_product(key, true)?;
        let fields = input
            .check(Some(&ProductFields::of(&old)))
            .map_err(first_problem)?;
        self.check_unique(Some(&old.id), &fields)?;
        let now = self.now();
        let by = self.staff();
        Ok(self.ledger.put_product(
            &ProductWrite {
                id: Some(&old.id),
                fields: &fields,
                archived: old.archived,
            },
            now,
            by,
        )?)
    }

    /// Takes a product off sale (its sales keep pointing at it); its code and quick key are free
    /// for another product. Archiving an archived product changes nothing.
    pub fn archive_product(&mut self, key: &str) -> Result<Product> {
        let p = self.find_product(key, true)?;
        if p.archived {
            return Ok(p);
        }
        let fields = ProductFields::of(&p);
        let now = self.now();
        let by = self.staff();
        Ok(self.ledger.put_product(
            &ProductWrite {
                id: Some(&p.id),
                fields: &fields,
                archived: true,
            },
            now,
            by,
        )?)
    }

    /// Products whose name, kana, code or category contain `q` (kana and width folded).
    pub fn products(&self, q: Option<&str>, archived: bool) -> Result<Vec<Product>> {
        let folded = q
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(crate::catalog::fold);
        Ok(self
            .ledger
            .products(folded.as_deref(), archived, PRODUCT_LIST_LIMIT)?)
    }

    /// The product a scan or a typed key names: a product id, or a code of a product on sale.
    /// `archived` also finds archived products (by id or code) for editing.
    pub fn find_product(&self, key: &str, archived: bool) -> Result<Product> {
        let key = key.trim();
        let not_found =
            |extra: String| Error::NotFound(format!("no product {key:?} in the catalog{extra}"));
        if is_product_id(key) {
            return match self.ledger.product(key)? {
                Some(p) if archived || !p.archived => Ok(p),
                Some(p) => Err(not_found(format!(" on sale ({} is archived)", p.name))),
                None => Err(not_found(String::new())),
            };
        }
        match ProductCode::parse(key) {
            Ok(code) => {
                if let Some(p) = self.ledger.product_by_code(&code.key())? {
                    return Ok(p);
                }
                if archived {
                    if let Some(p) = self
                        .ledger
                        .products(Some(code.as_str()), true, PRODUCT_LIST_LIMIT)?
                        .into_iter()
                        .find(|p| p.code.as_deref() == Some(code.as_str()))
                    {
                        return Ok(p);
                    }
                }
                Err(not_found(String::new()))
            }
            Err(e) => Err(not_found(format!(" ({e})"))),
        }
    }

    /// The lines a sale's products ring up as (the same product twice is one line).
    pub(super) fn product_lines(
        &self,
        lines: &[ProductLine],
        dining: Dining,
    ) -> Result<Vec<LineItem>> {
        let mut out: Vec<LineItem> = Vec::new();
        for l in lines {
            let p = self.find_product(&l.key, false)?;
            match out
                .iter_mut()
                .find(|x| x.product_id.as_deref() == Some(p.id.as_str()))
            {
                Some(x) => x.quantity = (x.quantity + l.quantity).min(crate::invoice::MAX_QUANTITY),
                None => out.push(p.line(l.quantity, dining)),
            }
        }
        Ok(out)
    }

    fn check_unique(&self, id: Option<&str>, f: &ProductFields) -> Result<()> {
        if let Some(code) = &f.code {
            if let Some(other) = self.ledger.product_by_code(&code.key())? {
                if Some(other.id.as_str()) != id {
                    return Err(Error::bad(
                        "code",
                        format!("code {code} is already {:?} ({})", other.name, other.id),
                    ));
                }
            }
        }
        if let Some(q) = f.quick_key {
            let clash = self
                .ledger
                .product_keys()?
                .into_iter()
                .find(|k| !k.archived && k.quick_key == Some(q) && Some(k.id.as_str()) != id);
            if let Some(other) = clash {
                return Err(Error::bad(
                    "quick_key",
                    format!("quick key {q} is already {:?}", other.name),
                ));
            }
        }
        Ok(())
    }

    /// Imports a product list (UTF-8 with or without BOM, or CP932): all or nothing. A row with a
    /// 商品ID updates that product, a row whose code a product on sale has updates that one, any
    /// other row adds a product. Every problem is listed by line and column.
    pub fn import_products(&mut self, bytes: &[u8]) -> Result<ImportReport> {
        let (_, encoding) = crate::catalog::csv::decode(bytes).map_err(Error::Import)?;
        let (rows, mut problems) = crate::catalog::csv::parse_rows(bytes).map_err(Error::Import)?;
        let plan = match self.plan_import(&rows) {
            Ok(plan) if problems.is_empty() => plan,
            Ok(_) => Vec::new(),
            Err(e) => {
                problems.extend(e.problems);
                Vec::new()
            }
        };
        if !problems.is_empty() {
            problems.sort_by_key(|p| p.line);
            return Err(Error::Import(ImportError { problems }));
        }
        let writes: Vec<ProductWrite<'_>> = rows
            .iter()
            .zip(&plan)
            .map(|(r, id)| ProductWrite {
                id: id.as_deref(),
                fields: &r.fields,
                archived: r.archived,
            })
            .collect();
        let now = self.now();
        let by = self.staff();
        let (added, updated) = self.ledger.put_products(&writes, now, by)?;
        Ok(ImportReport {
            added,
            updated,
            encoding: encoding.as_str().into(),
        })
    }

    /// Which product each row writes (none: a new one), or every clash: an unknown id, the same
    /// product, code or quick key twice in the file, or a code / quick key a product the file
    /// leaves alone already has.
    fn plan_import(
        &self,
        rows: &[ImportRow],
    ) -> std::result::Result<Vec<Option<String>>, ImportError> {
        let keys = self
            .ledger
            .product_keys()
            .map_err(|e| ImportError::one(0, None, e.to_string()))?;
        let by_id: HashMap<&str, usize> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.id.as_str(), i))
            .collect();
        let by_code: HashMap<&str, usize> = keys
            .iter()
            .enumerate()
            .filter(|(_, k)| !k.archived)
            .filter_map(|(i, k)| k.code_key.as_deref().map(|c| (c, i)))
            .collect();
        let mut problems = Vec::new();
        let mut bad = |line: u64, column: &str, message: String| {
            problems.push(Problem {
                line,
                column: Some(column.to_string()),
                message,
            })
        };
        let mut plan = Vec::with_capacity(rows.len());
        for r in rows {
            let target = match &r.id {
                Some(id) => match by_id.get(id.as_str()) {
                    Some(_) => Some(id.clone()),
                    None => {
                        bad(r.line, "商品ID", format!("no product {id} in this register's catalog; leave 商品ID empty to add the row as a new product"));
                        None
                    }
                },
                None => r
                    .fields
                    .code
                    .as_ref()
                    .and_then(|c| by_code.get(c.key().as_str()))
                    .map(|i| keys[*i].id.clone()),
            };
            plan.push(target);
        }
        // The catalog after the import: who holds each code and quick key.
        let touched: std::collections::HashSet<&str> =
            plan.iter().flatten().map(String::as_str).collect();
        let mut codes: HashMap<String, (u64, String)> = HashMap::new();
        let mut quick: HashMap<u32, (u64, String)> = HashMap::new();
        for k in keys
            .iter()
            .filter(|k| !k.archived && !touched.contains(k.id.as_str()))
        {
            if let Some(c) = &k.code_key {
                codes.insert(c.clone(), (0, k.name.clone()));
            }
            if let Some(q) = k.quick_key {
                quick.insert(q, (0, k.name.clone()));
            }
        }
        let mut seen_ids: HashMap<&str, u64> = HashMap::new();
        for (r, target) in rows.iter().zip(&plan) {
            if let Some(id) = target {
                if let Some(first) = seen_ids.insert(id.as_str(), r.line) {
                    bad(
                        r.line,
                        "商品ID",
                        format!("the same product as line {first}"),
                    );
                }
            }
            if r.archived {
                continue;
            }
            let holder = |line: u64, name: &str| {
                if line == 0 {
                    format!("{name:?} in the catalog")
                } else {
                    format!("line {line} ({name})")
                }
            };
            if let Some(c) = &r.fields.code {
                if let Some((line, name)) = codes.insert(c.key(), (r.line, r.fields.name.clone())) {
                    bad(
                        r.line,
                        "JANコード",
                        format!("code {c} is also {}", holder(line, &name)),
                    );
                }
            }
            if let Some(q) = r.fields.quick_key {
                if let Some((line, name)) = quick.insert(q, (r.line, r.fields.name.clone())) {
                    bad(
                        r.line,
                        "クイックキー",
                        format!("quick key {q} is also {}", holder(line, &name)),
                    );
                }
            }
        }
        if problems.is_empty() {
            Ok(plan)
        } else {
            problems.sort_by_key(|p| p.line);
            Err(ImportError { problems })
        }
    }

    /// Writes the whole catalog (archived products too, marked) as CSV; returns how many.
    pub fn export_products(
        &self,
        out: impl std::io::Write,
        encoding: crate::export::Encoding,
    ) -> Result<u64> {
        let mut w = crate::catalog::csv::Writer::new(out, encoding)?;
        self.ledger
            .for_each_product(|p| w.write(p).map_err(|m| Error::bad("encoding", m)))?;
        let n = w.written();
        let mut out = w.finish()?;
        out.flush()?;
        Ok(n)
    }
}
