//! `reji print …`: the receipt printer (receipts, slips, the test page, the queue) and the drawer
//! kicks that go through it.

use super::*;
use reji::printing::Timeouts;
use reji::register::PrintReport;

#[derive(clap::Subcommand, Debug)]
pub(super) enum PrintCmd {
    /// Print a paid sale's receipt (a second print says 再発行), or with --refund N the return
    /// receipt of its N-th refund.
    Receipt {
        id: String,
        #[arg(long, value_name = "N")]
        refund: Option<String>,
    },
    /// Print the konbini / bank transfer / Pay-easy slip for the customer (amount with its fee,
    /// numbers, deadline, a QR code of the instructions).
    Slip { id: String },
    /// Print a test page (text mode and raster mode, a QR code, the cut).
    Test,
    /// The print queue: jobs waiting for the printer and the latest jobs.
    Queue,
    /// Send what waits in the queue to the printer now.
    Retry,
    /// Open the cash drawer (a manager's action; logged).
    Drawer,
}

pub(super) fn run(ctx: &Ctx, cmd: PrintCmd) -> Result<(), Error> {
    let mut reg = ctx.register(false)?;
    match cmd {
        PrintCmd::Receipt { id, refund } => {
            let refund = refund
                .as_deref()
                .map(|n| {
                    n.trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| {
                            Error::bad(
                                "refund",
                                format!("{n:?} must be a refund's number, 1 or more"),
                            )
                        })
                })
                .transpose()?;
            reg.print_receipt(&id, refund)?;
        }
        PrintCmd::Slip { id } => {
            reg.print_slip(&id)?;
        }
        PrintCmd::Test => {
            reg.print_test_page()?;
        }
        PrintCmd::Queue => {
            let pending = reg.pending_prints()?;
            let recent = reg.recent_prints(20)?;
            if ctx.json {
                output::print_json(&serde_json::json!({ "pending": pending, "recent": recent }));
            } else {
                outln!("{} job(s) waiting", pending.len());
                for j in &recent {
                    outln!(
                        "{}  {:<8} {:<8} {}{}{}",
                        j.id,
                        j.kind.as_str(),
                        j.status,
                        j.invoice
                            .as_deref()
                            .map(|i| format!("{i} "))
                            .unwrap_or_default(),
                        j.subject,
                        j.last_error
                            .as_deref()
                            .map(|e| format!("  ({e})"))
                            .unwrap_or_default()
                    );
                }
            }
            return Ok(());
        }
        PrintCmd::Retry => {}
        PrintCmd::Drawer => {
            if reg.kick_drawer("open drawer")?.is_none() {
                return Err(Error::bad(
                    "settings.drawer",
                    "no cash drawer is set up on the receipt printer (settings drawer: pin2 or pin5)",
                ));
            }
        }
    }
    let report = reg.print_pending(Timeouts::default())?;
    show(ctx, &report)?;
    Ok(())
}

/// Shows what a pass over the queue printed; a failure is the command's error (the jobs wait).
fn show(ctx: &Ctx, r: &PrintReport) -> Result<(), Error> {
    if let Some(e) = &r.failure {
        return Err(Error::Printer(e.clone()));
    }
    if ctx.json {
        output::print_json(&serde_json::json!({ "printed": r.printed }));
    } else {
        for j in &r.printed {
            outln!(
                "printed {} {}{}",
                j.kind.as_str(),
                j.invoice.as_deref().unwrap_or(&j.subject),
                if j.reissue { " (再発行)" } else { "" }
            );
        }
    }
    Ok(())
}

/// After a sale or a drawer movement: what printed by itself. A printer problem does not undo
/// the sale: it is a warning, and the jobs wait in the queue.
pub(super) fn after(reg: &mut Register) {
    let t = Timeouts {
        connect: Duration::from_secs(2),
        io: Duration::from_secs(5),
    };
    match reg.print_pending(t) {
        Ok(r) => {
            if let Some(e) = r.error {
                errln!("reji: warning: {e}; the job waits in the print queue (`reji print retry`)");
            }
        }
        Err(e) => errln!("reji: warning: printing: {}", e.user_message()),
    }
}
