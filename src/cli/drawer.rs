//! `reji drawer …`: the cash drawer's day.

use super::*;
use reji::register::{CashCount, DrawerReport};

#[derive(clap::Subcommand, Debug)]
pub(super) enum DrawerCmd {
    /// Open the drawer with its float, counted by denomination ("10000:1,1000:5,100:10").
    Open {
        #[arg(long, value_name = "DENOMINATION:COUNT,…")]
        count: String,
    },
    /// 入金: cash put into the drawer.
    In(MoveArgs),
    /// 出金: cash taken out of the drawer.
    Out(MoveArgs),
    /// 点検 (X report): what the drawer should hold now, per tender; changes nothing.
    Check {
        /// Print the report on the receipt printer too.
        #[arg(long)]
        print: bool,
        #[command(flatten)]
        files: ReportFiles,
    },
    /// 精算 (Z report): count the drawer; expected vs counted and the difference are recorded for good,
    /// and the business day is closed (日計表): later sales belong to the next business day.
    Close {
        #[arg(long, value_name = "DENOMINATION:COUNT,…")]
        count: String,
        /// Print the report on the receipt printer too.
        #[arg(long)]
        print: bool,
        #[command(flatten)]
        files: ReportFiles,
    },
}

/// The report as files too.
#[derive(clap::Args, Debug)]
pub(super) struct ReportFiles {
    /// Also write the report as PDF (A4, Japanese font embedded) to FILE.
    #[arg(long, value_name = "FILE")]
    pdf: Option<std::path::PathBuf>,
    /// Also write the report as CSV (UTF-8 with BOM, Japanese headers) to FILE.
    #[arg(long, value_name = "FILE")]
    csv: Option<std::path::PathBuf>,
}

impl ReportFiles {
    /// Checks the files can be written before anything is done (a 精算 is final): the PDF's font
    /// is loaded (and returned, for [`ReportFiles::write`]) and each path is writable.
    fn check(&self) -> Result<Option<reji::receipt::pdf::PdfFont>, Error> {
        let font = pdf_font(self.pdf.is_some())?;
        for (flag, p) in [("--pdf", &self.pdf), ("--csv", &self.csv)] {
            if let Some(p) = p {
                check_out(flag, p)?;
            }
        }
        Ok(font)
    }

    fn write(
        &self,
        reg: &Register,
        r: &DrawerReport,
        font: Option<&reji::receipt::pdf::PdfFont>,
    ) -> Result<(), Error> {
        use reji::register::CloseFormat;
        for (flag, p, format) in [
            ("--pdf", &self.pdf, CloseFormat::Pdf),
            ("--csv", &self.csv, CloseFormat::Csv),
        ] {
            if let Some(p) = p {
                let bytes = reg.drawer_report_file(r, format, font)?;
                write_file(flag, p, &bytes)?;
            }
        }
        Ok(())
    }
}

#[derive(clap::Args, Debug)]
pub(super) struct MoveArgs {
    #[arg(long, value_name = "YEN", allow_negative_numbers = true)]
    amount: String,
    /// Why (両替, 仕入れ, …).
    #[arg(long, value_name = "TEXT")]
    reason: String,
}

fn amount(a: &str) -> Result<i64, Error> {
    reji::tender::parse_yen(a)
        .filter(|v| *v > 0)
        .ok_or_else(|| {
            Error::bad(
                "amount",
                format!("{:?} must be whole yen, more than 0", a.trim()),
            )
        })
}

pub(super) fn run(ctx: &Ctx, cmd: DrawerCmd) -> Result<(), Error> {
    let mut reg = ctx.register(false)?;
    match cmd {
        DrawerCmd::Open { count } => {
            let c = CashCount::parse(&count)?;
            let s = reg.drawer_open(&c)?;
            if ctx.json {
                output::print_json(&serde_json::json!({ "drawer": s }));
            } else {
                outln!("drawer {} open with a float of ¥{}", s.id, s.float);
            }
        }
        DrawerCmd::In(m) => movement(ctx, &mut reg, "in", &m)?,
        DrawerCmd::Out(m) => movement(ctx, &mut reg, "out", &m)?,
        DrawerCmd::Check { print, files } => {
            let font = files.check()?;
            let r = reg.drawer_check()?;
            files.write(&reg, &r, font.as_ref())?;
            report(ctx, &r);
            if print {
                print_report(&mut reg, &r);
            }
        }
        DrawerCmd::Close {
            count,
            print,
            files,
        } => {
            // 精算 as the app does it: the drawer's count, then the business day's close (日計表), so
            // that the sales after it belong to the next business day.
            let c = CashCount::parse(&count)?;
            let font = files.check()?;
            let (r, day) = reg.drawer_settle(&c)?;
            // The 精算 is stored: a file that fails now is reported, and can be written again
            // from the app (the last 精算's report).
            files.write(&reg, &r, font.as_ref())?;
            if ctx.json {
                let mut v = serde_json::to_value(&r).unwrap_or_default();
                v["day"] = serde_json::json!({
                    "business_date": day.business_date,
                    "closed_at": day.closed_at,
                    "sales_count": day.sales_count,
                    "sales_total": day.sales_total,
                });
                output::print_json(&v);
            } else {
                report(ctx, &r);
                outln!(
                    "日計 {} closed: {} sale(s), ¥{}; new sales belong to the next business day",
                    day.business_date,
                    day.sales_count,
                    day.sales_total
                );
            }
            if print {
                print_report(&mut reg, &r);
            }
        }
    }
    Ok(())
}

/// The report is stored whatever the printer does: a printing problem is a warning.
fn print_report(reg: &mut Register, r: &DrawerReport) {
    match reg.print_drawer_report(r) {
        Ok(_) => super::print::after(reg),
        Err(e) => errln!("reji: warning: printing: {}", e.user_message()),
    }
}

fn movement(ctx: &Ctx, reg: &mut Register, kind: &str, m: &MoveArgs) -> Result<(), Error> {
    let mv = reg.drawer_move(kind, amount(&m.amount)?, &m.reason)?;
    // The drawer opens for the cash going in or out, when it is on the receipt printer.
    match reg.kick_drawer(if kind == "in" { "入金" } else { "出金" }) {
        Ok(Some(_)) => super::print::after(reg),
        Ok(None) => {}
        Err(e) => errln!("reji: warning: printing: {}", e.user_message()),
    }
    if ctx.json {
        output::print_json(&serde_json::json!({ "movement": mv }));
    } else {
        outln!(
            "{} ¥{} ({})",
            if kind == "in" { "入金" } else { "出金" },
            mv.amount,
            mv.reason
        );
    }
    Ok(())
}

fn report(ctx: &Ctx, r: &DrawerReport) {
    if ctx.json {
        output::print_json(r);
        return;
    }
    outln!(
        "{}",
        if r.kind == "close" {
            "精算"
        } else {
            "点検"
        }
    );
    outln!("  釣銭準備金 (float)   ¥{}", r.float);
    outln!("  現金売上 (cash kept) ¥{}", r.cash_sales);
    outln!("  入金                 ¥{}", r.cash_in);
    outln!("  出金                 ¥{}", r.cash_out);
    outln!("  あるべき現金         ¥{}", r.expected_cash);
    if let (Some(c), Some(d)) = (r.counted_cash, r.difference) {
        outln!("  実際の現金           ¥{c}");
        outln!(
            "  過不足               {}¥{}",
            if d < 0 { "-" } else { "+" },
            d.abs()
        );
    }
    outln!("  売上 (per tender)    ¥{}", r.sales_total);
    for m in &r.per_tender {
        outln!(
            "    {:<20} {:>4}  ¥{}",
            reji::receipt::method_label(&m.method),
            m.count,
            m.total
        );
    }
    if !r.refunds_per_tender.is_empty() {
        outln!("  返金 (refunds)       -¥{}", r.refunds_total);
        for m in &r.refunds_per_tender {
            outln!(
                "    {:<20} {:>4}  -¥{}",
                reji::receipt::method_label(&m.method),
                m.count,
                m.total
            );
        }
    }
    outln!("  純売上 (net)         ¥{}", r.net_total);
    for x in &r.per_rate {
        outln!(
            "    {:>3}%  ¥{} (tax ¥{}, discounts ¥{})",
            x.rate,
            x.gross,
            x.tax,
            x.discount
        );
    }
    for x in &r.refunds_per_rate {
        outln!(
            "    {:>3}%  refunded -¥{} (tax ¥{})",
            x.rate,
            x.gross,
            x.tax
        );
    }
    if r.pending_count > 0 {
        outln!(
            "  入金待ち (awaiting)  {} ¥{}",
            r.pending_count,
            r.pending_total
        );
    }
}
