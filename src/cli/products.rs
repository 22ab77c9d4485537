//! `reji products …`: the catalog from the command line.

use super::*;
use reji::catalog::{Product, ProductInput};
use reji::export::Encoding;

#[derive(clap::Subcommand, Debug)]
pub(super) enum ProductsCmd {
    /// Add a product.
    Add(ProductFlags),
    /// Change a product (ID or code); fields not given stay as they are ("" clears an optional one).
    Edit {
        id: String,
        #[command(flatten)]
        fields: ProductFlags,
    },
    /// List products on sale (quick keys first, then by name), or those matching --q / --code.
    List {
        /// Name, reading (kana), code or category contains TEXT (kana and width do not matter).
        #[arg(long, value_name = "TEXT")]
        q: Option<String>,
        /// The product with this JAN / EAN / UPC code (or id).
        #[arg(long, value_name = "CODE")]
        code: Option<String>,
        /// Also list archived products.
        #[arg(long)]
        archived: bool,
    },
    /// Import a product list (CSV, UTF-8 with BOM or CP932, detected): all or nothing. Rows with a
    /// 商品ID (or a code already in the catalog) update that product; others are added.
    Import { file: PathBuf },
    /// Export the product list as CSV with Japanese headers (the columns import reads back).
    Export {
        /// Output file (written atomically); stdout when absent.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[arg(long, default_value = "utf-8-bom", value_name = "utf-8-bom|cp932")]
        encoding: String,
    },
    /// Take a product off sale (ID or code). Its sales keep it; its code and quick key are freed.
    Archive { id: String },
}

#[derive(clap::Args, Debug, Default)]
pub(super) struct ProductFlags {
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Yen, in the shop's price mode (tax-inclusive unless set otherwise).
    #[arg(long, value_name = "YEN", allow_negative_numbers = true)]
    price: Option<String>,
    /// general (10 %), food (8 % taken away, 10 % eaten in), reduced (8 %) or exempt (非課税).
    #[arg(long, value_name = "general|food|reduced|exempt")]
    class: Option<String>,
    /// JAN / EAN-13, EAN-8 or UPC-A (check digit verified).
    #[arg(long, value_name = "CODE")]
    code: Option<String>,
    /// Reading for search (カナ or かな).
    #[arg(long, value_name = "KANA")]
    kana: Option<String>,
    #[arg(long, value_name = "CAT")]
    category: Option<String>,
    /// Position among the register's quick keys (1, 2, …).
    #[arg(long, value_name = "N")]
    quick_key: Option<String>,
}

impl ProductFlags {
    fn input(self) -> ProductInput {
        ProductInput {
            name: self.name,
            kana: self.kana,
            price: self.price,
            class: self.class,
            code: self.code,
            category: self.category,
            quick_key: self.quick_key,
        }
    }
}

pub(super) fn run(ctx: &Ctx, cmd: ProductsCmd) -> Result<(), Error> {
    match cmd {
        ProductsCmd::Add(f) => {
            let mut reg = ctx.register(false)?;
            let p = reg.add_product(&f.input())?;
            one(ctx, &p, "added");
        }
        ProductsCmd::Edit { id, fields } => {
            let mut reg = ctx.register(false)?;
            let p = reg.edit_product(&id, &fields.input())?;
            one(ctx, &p, "changed");
        }
        ProductsCmd::Archive { id } => {
            let mut reg = ctx.register(false)?;
            let p = reg.archive_product(&id)?;
            one(ctx, &p, "archived");
        }
        ProductsCmd::List { q, code, archived } => {
            let reg = ctx.register(false)?;
            let list = match code {
                Some(code) => match reg.find_product(&code, archived) {
                    Ok(p) => vec![p],
                    Err(Error::NotFound(_)) => Vec::new(),
                    Err(e) => return Err(e),
                },
                None => reg.products(q.as_deref(), archived)?,
            };
            if ctx.json {
                output::print_json(&serde_json::json!({ "products": list }));
            } else if list.is_empty() {
                outln!("no products");
            } else {
                for p in &list {
                    outln!("{}", line(p));
                }
            }
        }
        ProductsCmd::Import { file } => {
            let bytes = std::fs::read(&file).map_err(|e| Error::ReadFile {
                path: file.display().to_string(),
                source: e,
            })?;
            let mut reg = ctx.register(false)?;
            let report = reg.import_products(bytes)?;
            if ctx.json {
                output::print_json(&serde_json::json!({ "import": report }));
            } else {
                outln!(
                    "imported {}: {} added, {} updated ({})",
                    file.display(),
                    report.added,
                    report.updated,
                    report.encoding
                );
            }
        }
        ProductsCmd::Export { out, encoding } => {
            let encoding: Encoding = match encoding.trim() {
                "utf-8-bom" => Encoding::Utf8Bom,
                "cp932" => Encoding::Cp932,
                other => {
                    return Err(Error::bad(
                        "--encoding",
                        format!("{other:?} must be utf-8-bom or cp932"),
                    ))
                }
            };
            let reg = ctx.register(false)?;
            let write =
                |w: &mut std::io::BufWriter<std::fs::File>| reg.export_products(w, encoding);
            let n = match &out {
                Some(path) => {
                    check_out("--out", path)?;
                    let mut n = 0;
                    reji::export::write_atomically(path, |w| {
                        n = write(w)?;
                        Ok(())
                    })
                    .map_err(|e| out_error("--out", path, e))?;
                    n
                }
                None => reji::export::write_spooled(stdio::Stdout, write)?,
            };
            if ctx.json {
                if out.is_some() {
                    output::print_json(
                        &serde_json::json!({ "exported": n, "encoding": encoding.as_str() }),
                    );
                }
            } else if let Some(path) = &out {
                errln!(
                    "wrote {n} products to {} ({})",
                    path.display(),
                    encoding.as_str()
                );
            }
        }
    }
    Ok(())
}

fn one(ctx: &Ctx, p: &Product, what: &str) {
    if ctx.json {
        output::print_json(&serde_json::json!({ "product": p }));
    } else {
        outln!("{what}: {}", line(p));
    }
}

fn line(p: &Product) -> String {
    format!(
        "{}  {}  ¥{}  {}{}{}{}",
        p.id,
        p.name,
        p.price,
        p.class,
        p.code
            .as_deref()
            .map(|c| format!("  {c}"))
            .unwrap_or_default(),
        p.quick_key
            .map(|q| format!("  key {q}"))
            .unwrap_or_default(),
        if p.archived { "  (archived)" } else { "" }
    )
}
