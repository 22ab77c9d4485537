//! The catalog's use cases: add, edit, archive, find, scan, import and export products.

use super::*;
use crate::catalog::csv::{ImportError, ImportRow, Problem};
use crate::catalog::{is_product_id, Product, ProductCode, ProductFields, ProductInput};
use crate::ledger::{ProductKey, ProductWrite};
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
    fn staff(&self) -> String {
        self.actor.label()
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
            &by,
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
            &by,
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
            &by,
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
    /// other row adds a product. Every problem is listed by line and column: a bad cell, an unknown
    /// id, the same product, code or quick key twice in the file, or a code / quick key that a
    /// product the file leaves alone already has.
    ///
    /// The file is read row by row inside one transaction (rows never sit in memory together); the
    /// first problem stops the writing, the reading goes on to list the others, and the
    /// transaction is rolled back.
    pub fn import_products(&mut self, bytes: impl Into<Vec<u8>>) -> Result<ImportReport> {
        let (text, encoding) =
            crate::catalog::csv::decode_owned(bytes.into()).map_err(Error::Import)?;
        let keys = self.ledger.product_keys()?;
        let mut plan = ImportPlan::new(&keys);
        let now = self.now();
        let by = self.staff();
        let outcome = self.ledger.bulk_products(now, &by, |bulk| {
            let mut report = ImportReport {
                encoding: encoding.as_str().into(),
                ..Default::default()
            };
            let problems = crate::catalog::csv::for_each_row(&text, |row, problems| {
                let old = plan.place(&row, problems);
                if problems.is_empty() {
                    bulk.put(
                        &ProductWrite {
                            id: old.map(|k| k.id.as_str()),
                            fields: &row.fields,
                            archived: row.archived,
                        },
                        old,
                    )?;
                    match old {
                        Some(_) => report.updated += 1,
                        None => report.added += 1,
                    }
                }
                Ok::<_, LedgerError>(())
            });
            match problems {
                Ok(p) if p.is_empty() => {}
                Ok(mut problems) => {
                    plan.finish(&mut problems);
                    problems.sort_by_key(|p| p.line);
                    return Err(Error::Import(ImportError { problems }));
                }
                Err(crate::catalog::csv::RowsError::File(e)) => return Err(Error::Import(e)),
                Err(crate::catalog::csv::RowsError::Caller(e)) => return Err(e.into()),
            }
            let mut late = Vec::new();
            plan.finish(&mut late);
            if !late.is_empty() {
                return Err(Error::Import(ImportError { problems: late }));
            }
            Ok(report)
        });
        outcome
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

/// A code's GTIN-14 key as a number (14 digits fit in a u64): a small map key.
fn code_number(key: &str) -> Option<u64> {
    key.parse().ok()
}

/// Who holds each code and quick key as an import goes: the catalog's products on sale, then the
/// file's rows as they come. A product the file names gives up its code and quick key to its row;
/// a row that takes a code a product on sale still holds waits (`claims`) until that product's own
/// row comes, or is a clash at the end.
struct ImportPlan<'k> {
    keys: &'k [ProductKey],
    by_id: HashMap<&'k str, usize>,
    by_code: HashMap<u64, usize>,
    codes: Claims<u64>,
    quick: Claims<u32>,
    seen: HashMap<&'k str, u64>,
}

struct Claims<K> {
    /// The catalog product (index into `keys`) or the row (line) holding each key.
    holders: HashMap<K, Holder>,
    /// Rows that took a key a catalog product still holds: key → (line, what to call it).
    waiting: HashMap<K, (u64, String)>,
}

#[derive(Clone, Copy)]
enum Holder {
    Catalog(usize),
    Line(u64),
}

impl<K: std::hash::Hash + Eq + Clone> Claims<K> {
    fn new() -> Self {
        Claims {
            holders: HashMap::new(),
            waiting: HashMap::new(),
        }
    }

    /// Row `line` takes `key` (`what`: the key as the message names it); a clash is returned.
    fn take(&mut self, key: K, line: u64, what: String) -> Option<String> {
        match self.holders.get(&key) {
            Some(Holder::Line(other)) => Some(format!("{what} is also on line {other}")),
            Some(Holder::Catalog(_)) => match self.waiting.get(&key) {
                Some((other, _)) => Some(format!("{what} is also on line {other}")),
                None => {
                    self.waiting.insert(key, (line, what));
                    None
                }
            },
            None => {
                self.holders.insert(key, Holder::Line(line));
                None
            }
        }
    }

    /// The catalog product holding `key` was named by a row: the key goes to the row that waited
    /// for it, if any, else it is free.
    fn release(&mut self, key: &K) {
        if matches!(self.holders.get(key), Some(Holder::Catalog(_))) {
            match self.waiting.remove(key) {
                Some((line, _)) => self.holders.insert(key.clone(), Holder::Line(line)),
                None => self.holders.remove(key),
            };
        }
    }
}

impl<'k> ImportPlan<'k> {
    fn new(keys: &'k [ProductKey]) -> Self {
        let mut plan = ImportPlan {
            keys,
            by_id: keys
                .iter()
                .enumerate()
                .map(|(i, k)| (k.id.as_str(), i))
                .collect(),
            by_code: HashMap::new(),
            codes: Claims::new(),
            quick: Claims::new(),
            seen: HashMap::new(),
        };
        for (i, k) in keys.iter().enumerate().filter(|(_, k)| !k.archived) {
            if let Some(c) = k.code_key.as_deref().and_then(code_number) {
                plan.by_code.insert(c, i);
                plan.codes.holders.insert(c, Holder::Catalog(i));
            }
            if let Some(q) = k.quick_key {
                plan.quick.holders.insert(q, Holder::Catalog(i));
            }
        }
        plan
    }

    /// The product this row writes (none: a new one); its clashes go into `problems`.
    fn place(&mut self, row: &ImportRow, problems: &mut Vec<Problem>) -> Option<&'k ProductKey> {
        let mut bad = |column: &str, message: String| {
            problems.push(Problem {
                line: row.line,
                column: Some(column.to_string()),
                message,
            })
        };
        let target: Option<usize> = match &row.id {
            Some(id) => match self.by_id.get(id.as_str()) {
                Some(i) => Some(*i),
                None => {
                    bad("商品ID", format!("no product {id} in this register's catalog; leave 商品ID empty to add the row as a new product"));
                    None
                }
            },
            None => row
                .fields
                .code
                .as_ref()
                .and_then(|c| code_number(&c.key()))
                .and_then(|c| self.by_code.get(&c).copied())
                .filter(|i| !self.seen.contains_key(self.keys[*i].id.as_str())),
        };
        if let Some(i) = target {
            let k = &self.keys[i];
            if let Some(first) = self.seen.insert(k.id.as_str(), row.line) {
                bad("商品ID", format!("the same product as line {first}"));
            }
            if let Some(c) = k.code_key.as_deref().and_then(code_number) {
                self.codes.release(&c);
            }
            if let Some(q) = k.quick_key {
                self.quick.release(&q);
            }
        }
        if !row.archived {
            if let Some((c, n)) = row
                .fields
                .code
                .as_ref()
                .and_then(|c| Some((c, code_number(&c.key())?)))
            {
                if let Some(m) = self.codes.take(n, row.line, format!("code {c}")) {
                    bad("JANコード", m);
                }
            }
            if let Some(q) = row.fields.quick_key {
                if let Some(m) = self.quick.take(q, row.line, format!("quick key {q}")) {
                    bad("クイックキー", m);
                }
            }
        }
        target.map(|i| &self.keys[i])
    }

    /// Rows still waiting for a key that a product on sale (not named by the file) keeps.
    fn finish(&mut self, problems: &mut Vec<Problem>) {
        let name = |h: Option<&Holder>| match h {
            Some(Holder::Catalog(i)) => format!("{:?}", self.keys[*i].name),
            _ => "a product".into(),
        };
        for (key, (line, what)) in self.codes.waiting.drain() {
            problems.push(Problem {
                line,
                column: Some("JANコード".into()),
                message: format!(
                    "{what} is already {} in the catalog",
                    name(self.codes.holders.get(&key))
                ),
            });
        }
        for (key, (line, what)) in self.quick.waiting.drain() {
            problems.push(Problem {
                line,
                column: Some("クイックキー".into()),
                message: format!(
                    "{what} is already {} in the catalog",
                    name(self.quick.holders.get(&key))
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg() -> Register {
        Register::new(
            Ledger::open_in_memory().unwrap(),
            None,
            Arc::new(crate::clock::SystemClock),
        )
        .unwrap()
    }

    fn add(r: &mut Register, name: &str, code: &str, key: &str) -> Product {
        r.add_product(&ProductInput {
            name: Some(name.into()),
            price: Some("100".into()),
            code: Some(code.into()),
            quick_key: Some(key.into()),
            ..Default::default()
        })
        .unwrap()
    }

    fn problems(e: Error) -> Vec<(u64, String)> {
        match e {
            Error::Import(i) => i
                .problems
                .into_iter()
                .map(|p| (p.line, p.message))
                .collect(),
            other => panic!("not an import error: {other}"),
        }
    }

    const A: &str = "4901234567894";
    const B: &str = "4902102072618";

    #[test]
    fn every_version_of_a_product_is_kept() {
        let mut r = reg();
        let x = add(&mut r, "X", A, "1");
        let edit = ProductInput {
            price: Some("120".into()),
            ..Default::default()
        };
        r.edit_product(A, &edit).unwrap();
        r.archive_product(&x.id).unwrap();
        let v = r.ledger.product_versions(&x.id).unwrap();
        let actions: Vec<(u32, &str)> = v.iter().map(|(n, a, _)| (*n, a.as_str())).collect();
        assert_eq!(actions, [(1, "added"), (2, "edited"), (3, "archived")]);
        let old_price: i64 = r
            .ledger
            .connection()
            .query_row(
                "SELECT json_extract(data, '$.price') FROM product_versions WHERE product_id = ?1 AND version = 1",
                [&x.id],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(old_price, 100, "version 1 is kept as it was");
        let e = r
            .ledger
            .connection()
            .execute("DELETE FROM products", [])
            .unwrap_err();
        assert!(e.to_string().contains("never deleted"), "{e}");
    }

    #[test]
    fn two_products_can_swap_codes_and_quick_keys_in_one_file() {
        let mut r = reg();
        let x = add(&mut r, "X", A, "1");
        let y = add(&mut r, "Y", B, "2");
        let csv = format!(
            "商品ID,商品名,価格,JANコード,クイックキー\n{},X,100,{B},2\n{},Y,100,{A},1\n",
            x.id, y.id
        );
        let rep = r.import_products(csv.as_bytes()).unwrap();
        assert_eq!((rep.added, rep.updated), (0, 2));
        assert_eq!(r.find_product(A, false).unwrap().name, "Y");
        assert_eq!(r.find_product(B, false).unwrap().quick_key, Some(2));
        assert_eq!(r.ledger.product(&x.id).unwrap().unwrap().version, 2);
    }

    #[test]
    fn a_code_a_product_on_sale_keeps_is_a_clash_and_nothing_is_stored() {
        let mut r = reg();
        add(&mut r, "X", A, "1");
        let csv = "商品名,価格,JANコード,クイックキー\nNew,100,,1\nOther,120,,3\n";
        let e = r.import_products(csv.as_bytes()).unwrap_err();
        assert_eq!(
            problems(e),
            [(2, "quick key 1 is already \"X\" in the catalog".to_string())]
        );
        assert_eq!(
            r.products(None, true).unwrap().len(),
            1,
            "nothing was stored"
        );

        // A row without id whose code X has updates X; X's own row after it is X again.
        let x = r.find_product(A, false).unwrap();
        let csv = format!(
            "商品ID,商品名,価格,JANコード\n,New,100,{A}\n{},X,100,{A}\n",
            x.id
        );
        let e = r.import_products(csv.as_bytes()).unwrap_err();
        assert_eq!(
            problems(e),
            [
                (3, "the same product as line 2".to_string()),
                (3, format!("code {A} is also on line 2"))
            ]
        );
        // The same row twice (by id), and an unknown id.
        let csv = format!(
            "商品ID,商品名,価格\n{0},X,100\n{0},X,110\nprd_0000000000zzzzzzzzzzzzzz,Z,1\n",
            x.id
        );
        let lines: Vec<u64> = problems(r.import_products(csv.as_bytes()).unwrap_err())
            .into_iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(lines, [3, 4]);
        assert_eq!(
            r.find_product(A, false).unwrap().version,
            1,
            "nothing was stored"
        );
    }
}
