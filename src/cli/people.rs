//! `reji staff …`, and who may run which command once a shop has staff (REJI_PIN).

use super::*;
use reji::register::Need;

#[derive(clap::Subcommand, Debug)]
pub(super) enum StaffCmd {
    /// Add a staff member (a manager's PIN in REJI_PIN once staff exist; the first must be a manager).
    Add {
        #[arg(long, value_name = "NAME")]
        name: String,
        /// The new member's PIN (4 to 8 digits); kept only as a salted slow hash.
        #[arg(long, value_name = "PIN")]
        pin: String,
        #[arg(long, value_name = "cashier|manager")]
        role: String,
    },
    /// List the staff (names and roles; never PINs).
    List,
}

/// What a command needs once the shop has staff: `None` for commands that touch no ledger.
pub(super) fn need(cmd: &Cmd) -> Option<Need> {
    use super::drawer::DrawerCmd;
    use super::products::ProductsCmd;
    Some(match cmd {
        Cmd::FakeKomoju { .. } | Cmd::Demo(_) | Cmd::Repair => return None,
        // Cancelling an unpaid charge (the customer walked away) is a cashier's; taking money back
        // is a manager's.
        Cmd::Refund(_) | Cmd::Restore { .. } | Cmd::Close { .. } | Cmd::Correct(_) => Need::Manager,
        Cmd::Keys {
            cmd: KeysCmd::Set | KeysCmd::Delete,
        } => Need::Manager,
        Cmd::Settings { value: Some(_), .. } => Need::Manager,
        Cmd::Staff {
            cmd: StaffCmd::Add { .. },
        } => Need::Manager,
        Cmd::Drawer {
            cmd: DrawerCmd::In(_) | DrawerCmd::Out(_) | DrawerCmd::Close { .. },
        } => Need::Manager,
        Cmd::Print {
            cmd: super::print::PrintCmd::Drawer,
        } => Need::Manager,
        Cmd::Products {
            cmd:
                ProductsCmd::Add(_)
                | ProductsCmd::Edit { .. }
                | ProductsCmd::Archive { .. }
                | ProductsCmd::Import { .. },
        } => Need::Manager,
        _ => Need::Staff,
    })
}

/// The acting staff member's PIN (REJI_PIN).
pub(super) fn pin() -> Option<String> {
    std::env::var("REJI_PIN").ok().filter(|p| !p.is_empty())
}

pub(super) fn run(ctx: &Ctx, cmd: StaffCmd) -> Result<(), Error> {
    let mut reg = ctx.register(false)?;
    match cmd {
        StaffCmd::Add { name, pin, role } => {
            let role = role.parse().map_err(|m: String| Error::bad("role", m))?;
            let m = reg.add_staff(&name, &pin, role)?;
            if ctx.json {
                output::print_json(&serde_json::json!({ "staff": m }));
            } else {
                outln!("added {} ({}) {}", m.name, m.role.as_str(), m.id);
            }
        }
        StaffCmd::List => {
            let list = reg.staff_list()?;
            if ctx.json {
                output::print_json(&serde_json::json!({ "staff": list }));
            } else if list.is_empty() {
                outln!("no staff: the register works as one owner");
            } else {
                for m in &list {
                    outln!("{}  {}  {}", m.id, m.name, m.role.as_str());
                }
            }
        }
    }
    Ok(())
}
