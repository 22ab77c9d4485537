//! The `reji` command line: every command, its arguments and their help (clap).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

pub(super) const EXIT_CODES: &str = "Exit codes: 0 ok, 1 KOMOJU or network error, 2 bad input, 3 not found, \
4 not allowed in the invoice's current state, 5 the ledger or a local file could not be read or written.";

#[derive(Parser, Debug)]
#[command(
    name = "reji",
    version,
    about = "Reji (レジ): point of sale and invoicing with KOMOJU",
    after_help = EXIT_CODES,
    args_override_self = true
)]
pub struct Cli {
    /// Ledger file (SQLite). Default: the platform data folder.
    #[arg(long, global = true, env = "REJI_DB", value_name = "PATH")]
    pub(super) db: Option<PathBuf>,
    /// KOMOJU API base URL.
    #[arg(long, global = true, env = "REJI_API_BASE", value_name = "URL")]
    pub(super) api_base: Option<String>,
    /// Print exactly one JSON value on stdout; messages go to stderr.
    #[arg(long, global = true)]
    pub(super) json: bool,
    #[command(subcommand)]
    pub(super) cmd: Cmd,
}

#[derive(Subcommand, Debug)]
pub(super) enum Cmd {
    /// Manage the KOMOJU secret key (kept only in the OS keychain).
    Keys {
        #[command(subcommand)]
        cmd: KeysCmd,
    },
    /// Ring up a sale and create its KOMOJU payment page (QR).
    Charge(ChargeArgs),
    /// Staff with PINs and roles (cashier, manager). Once staff exist, every command takes the
    /// acting member's PIN from REJI_PIN; refunds, corrections, 入出金, 精算, the day's close,
    /// settings, the key, restore, the catalog and staff need a manager.
    Staff {
        #[command(subcommand)]
        cmd: super::people::StaffCmd,
    },
    /// The cash drawer: open with a float, 入金 / 出金, 点検 (check) and 精算 (close).
    Drawer {
        #[command(subcommand)]
        cmd: super::drawer::DrawerCmd,
    },
    /// What to send to support: versions, OS, ledger schema, the change feed, the print queue.
    Diagnostics,
    /// The receipt printer: receipts, slips, the test page, the print queue, the drawer.
    Print {
        #[command(subcommand)]
        cmd: super::print::PrintCmd,
    },
    /// The shop's products: add, edit, list, import, export, archive.
    Products {
        #[command(subcommand)]
        cmd: super::products::ProductsCmd,
    },
    /// Refresh an invoice from KOMOJU and show it (ID = invoice number or session id).
    Show { id: String },
    /// Refresh every invoice that is not final.
    Sync,
    /// Run the payment tracker in the foreground and print each change as it happens (one JSON
    /// object per line with --json).
    Watch(WatchArgs),
    /// Search the history (newest first).
    List(ListArgs),
    /// Cancel an unpaid invoice.
    Cancel { id: String },
    /// Correct the customer on an invoice (kept as a new entry with the old value; "" clears a field).
    Correct(CorrectArgs),
    /// Refund a paid invoice (all that is left, --amount, or a return of --items).
    Refund(RefundArgs),
    /// New payment page (attempt n+1) for a cancelled, expired or failed invoice.
    Retry { id: String },
    /// Export invoices as CSV.
    Export(ExportArgs),
    /// Write a consistent copy of the ledger (default: the ledger's backups/ folder, newest 30 kept).
    Backup {
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Close a day (日計表): sales per tax rate and payment method, refunds, pending konbini / bank
    /// amounts; the day's records are locked afterwards.
    Close {
        /// Shop-local date (YYYY-MM-DD); default today.
        #[arg(long, value_name = "DATE")]
        date: Option<String>,
        /// Also write the close as CSV to FILE (UTF-8 with BOM).
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
        /// Also write the close as PDF (A4, Japanese font embedded) to FILE.
        #[arg(long, value_name = "FILE")]
        pdf: Option<PathBuf>,
    },
    /// Receipt of a paid invoice (適格簡易請求書), or with --refund N the return receipt
    /// (適格返還請求書) of its N-th refund. Text on stdout unless --pdf / --html.
    Receipt(ReceiptArgs),
    /// Check the event log's hash chain and the SQLite file's integrity.
    Verify,
    /// Replace the ledger with a backup (checked first; the current ledger is backed up before).
    /// Safe while the app or `reji watch` has the ledger open. Invoice numbers never move back, and
    /// the next command with a KOMOJU key brings back sales made after the backup.
    Restore { file: PathBuf },
    /// Repair a ledger whose recorded schema version is behind its tables (every command failing
    /// with "duplicate column name" after two programs upgraded it at once), then migrate it.
    Repair,
    /// Show or change a shop setting (time_zone, price_mode, rounding, expires_in, shop_name,
    /// registration_number, shop_address, shop_phone, receipt_footer; "" clears the last four).
    Settings {
        key: Option<String>,
        value: Option<String>,
    },
    /// Run the stateful fake KOMOJU alone.
    FakeKomoju {
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// A guided walk-through against an embedded fake KOMOJU (no account needed).
    Demo(super::demo::DemoArgs),
}

#[derive(Subcommand, Debug)]
pub(super) enum KeysCmd {
    /// Read the secret key from stdin and store it in the OS keychain.
    Set,
    /// Show the stored key, masked, and whether it is a test or live key.
    Show,
    /// Remove the key from the OS keychain.
    Delete,
    /// Check that KOMOJU accepts the key (one read-only request).
    Test,
}

#[derive(Args, Debug)]
pub(super) struct ChargeArgs {
    /// Total in the currency's minor unit (yen), one line at --rate.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub(super) amount: Option<String>,
    /// Tax rate for --amount: 10 (default) or 8.
    #[arg(long, value_name = "RATE", requires = "amount")]
    pub(super) rate: Option<String>,
    /// A line: "NAME,UNIT_PRICE,QTY,RATE" (RATE 10 or 8). Repeatable.
    #[arg(long = "item", value_name = "NAME,UNIT_PRICE,QTY,RATE")]
    pub(super) items: Vec<String>,
    /// A catalog product by code or id, optionally *QTY ("4901234567894*2"). Repeatable; mixes
    /// with --item.
    #[arg(long = "product", value_name = "CODE_OR_ID[*QTY]")]
    pub(super) products: Vec<String>,
    /// Eaten in: food products bear 10 % (default: the shop's `dining` setting).
    #[arg(long, conflicts_with = "take_away")]
    pub(super) eat_in: bool,
    /// Taken away: food products bear 8 %.
    #[arg(long)]
    pub(super) take_away: bool,
    /// The order's discount: yen (100), a percentage (10%) or round10 / round100 (端数値引き).
    #[arg(long, value_name = "YEN|N%")]
    pub(super) discount: Option<String>,
    /// Cash handed over (お預り): at least the total pays the sale in cash (change computed, no
    /// KOMOJU request); less pays that much in cash and opens a payment page for the rest.
    #[arg(long, value_name = "TENDERED", allow_negative_numbers = true)]
    pub(super) cash: Option<String>,
    /// A shop tender (商品券, 売掛, a card terminal: recorded, no API): "NAME:AMOUNT". Repeatable;
    /// applied before cash.
    #[arg(long = "tender", value_name = "NAME:AMOUNT")]
    pub(super) tenders: Vec<String>,
    #[arg(long, value_name = "CODE")]
    pub(super) currency: Option<String>,
    #[arg(long, value_name = "E")]
    pub(super) email: Option<String>,
    #[arg(long, value_name = "N")]
    pub(super) name: Option<String>,
    #[arg(long, value_name = "K")]
    pub(super) name_kana: Option<String>,
    #[arg(long, value_name = "P")]
    pub(super) phone: Option<String>,
    /// KOMOJU payment types offered, comma-separated (default: all the account has).
    #[arg(long, value_name = "LIST")]
    pub(super) methods: Option<String>,
    #[arg(long, value_name = "ja|en|ko")]
    pub(super) locale: Option<String>,
    /// Session lifetime in seconds (60..=86400).
    #[arg(long, value_name = "SECONDS")]
    pub(super) expires_in: Option<String>,
    /// Poll until the session is no longer pending.
    #[arg(long)]
    pub(super) wait: bool,
    /// Longest --wait, in seconds (default 300).
    #[arg(long, value_name = "S", requires = "wait")]
    pub(super) timeout: Option<String>,
}

#[derive(Args, Debug)]
pub(super) struct WatchArgs {
    /// Follow this invoice closely (its QR is on screen). Repeatable.
    #[arg(long = "fast", value_name = "ID")]
    pub(super) fast: Vec<String>,
    /// Change feed for the slow lane: auto (events while alive, else the payment list), events, list.
    /// Default: the `feed` setting (auto unless set).
    #[arg(long, value_name = "auto|events|list")]
    pub(super) feed: Option<String>,
    /// Seconds between slow-lane passes.
    #[arg(long, default_value = "60", value_name = "S")]
    pub(super) interval: String,
    /// Stop after this many slow-lane passes (for scripts and tests).
    #[arg(long, value_name = "N")]
    pub(super) passes: Option<String>,
}

#[derive(Args, Debug, Default)]
pub(super) struct ListArgs {
    #[arg(long, value_name = "DATE")]
    pub(super) from: Option<String>,
    #[arg(long, value_name = "DATE")]
    pub(super) to: Option<String>,
    #[arg(long, value_name = "S")]
    pub(super) status: Option<String>,
    #[arg(long, value_name = "M")]
    pub(super) method: Option<String>,
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub(super) min: Option<String>,
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub(super) max: Option<String>,
    #[arg(long, value_name = "TEXT")]
    pub(super) q: Option<String>,
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub(super) limit: Option<String>,
}

#[derive(Args, Debug)]
pub(super) struct RefundArgs {
    pub(super) id: String,
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub(super) amount: Option<String>,
    /// A return by items (返品): LINE:QTY[,LINE:QTY…], lines numbered from 1 as `reji show` lists
    /// them; the money given back is what they are worth, split by their tax rates.
    #[arg(long, value_name = "LINE:QTY,…", conflicts_with = "amount")]
    pub(super) items: Option<String>,
    /// Why the items came back (kept with the return).
    #[arg(long, value_name = "TEXT", requires = "items")]
    pub(super) reason: Option<String>,
    #[arg(long, value_name = "B")]
    pub(super) bank_name: Option<String>,
    #[arg(long, value_name = "NNNN")]
    pub(super) bank_code: Option<String>,
    #[arg(long, value_name = "NNN")]
    pub(super) branch_number: Option<String>,
    #[arg(long, value_name = "NAME")]
    pub(super) branch_name: Option<String>,
    #[arg(long, value_name = "futsu|toza")]
    pub(super) account_type: Option<String>,
    #[arg(long, value_name = "NNNNNNN")]
    pub(super) account_number: Option<String>,
    #[arg(long, value_name = "KANA")]
    pub(super) holder_kana: Option<String>,
}

#[derive(Args, Debug)]
pub(super) struct CorrectArgs {
    /// Invoice number or session id.
    pub(super) id: String,
    #[arg(long, value_name = "N")]
    pub(super) name: Option<String>,
    #[arg(long, value_name = "K")]
    pub(super) name_kana: Option<String>,
    #[arg(long, value_name = "E")]
    pub(super) email: Option<String>,
    #[arg(long, value_name = "P")]
    pub(super) phone: Option<String>,
    /// Why (kept in the event log).
    #[arg(long, value_name = "TEXT")]
    pub(super) reason: Option<String>,
}

#[derive(Args, Debug)]
pub(super) struct ReceiptArgs {
    /// Invoice number or session id.
    pub(super) id: String,
    /// The return receipt of the invoice's N-th refund (1 = the first).
    #[arg(long, value_name = "N")]
    pub(super) refund: Option<String>,
    /// Write the receipt as PDF (Japanese font embedded) to FILE.
    #[arg(long, value_name = "FILE")]
    pub(super) pdf: Option<PathBuf>,
    /// Write the receipt as a printable HTML page to FILE.
    #[arg(long, value_name = "FILE")]
    pub(super) html: Option<PathBuf>,
    /// Paper for --pdf / --html: 80mm (receipt roll) or a4.
    #[arg(long, default_value = "80mm", value_name = "80mm|a4")]
    pub(super) paper: String,
}

#[derive(Args, Debug)]
pub(super) struct ExportArgs {
    #[arg(long, value_name = "DATE")]
    pub(super) from: Option<String>,
    #[arg(long, value_name = "DATE")]
    pub(super) to: Option<String>,
    /// invoices: one row per invoice (docs/csv.md); journal: 仕訳 in 弥生会計's import layout
    /// (one line per sale or refund and tax rate), which freee also imports.
    #[arg(long, default_value = "invoices", value_name = "invoices|journal")]
    pub(super) format: String,
    /// Default utf-8-bom for invoices, cp932 for journal (what 弥生会計 reads).
    #[arg(long, value_name = "utf-8-bom|utf-8|cp932")]
    pub(super) encoding: Option<String>,
    /// With cp932: write `?` for characters CP932 cannot hold instead of failing.
    #[arg(long)]
    pub(super) lossy: bool,
    #[arg(long, default_value = "en", value_name = "en|ja")]
    pub(super) headers: String,
    /// Output file (written atomically); stdout when absent.
    #[arg(long, value_name = "FILE")]
    pub(super) out: Option<PathBuf>,
}
