//! Receipt printers and the cash drawer: ESC/POS jobs from the receipt template ([`escpos`], text
//! or [`raster`]), sent over the network or to a device ([`transport`]), set up by the `printer*`
//! settings ([`config`]). The queue that keeps jobs across failures and restarts is in the ledger
//! (`print_jobs`) and the register (`register::printing`).

pub mod config;
pub mod escpos;
pub mod raster;
pub mod transport;

pub use config::{
    AutoPrint, Connection, DrawerPulse, PaperWidth, PrintMode, PrinterConfig, PrinterSettings,
};
pub use transport::{PrintError, Timeouts};

use crate::receipt::pdf::PdfFont;
use crate::receipt::Block;

/// A document's bytes for the configured printer: text or raster, with the drawer kick first when
/// asked, and a cut at the end.
pub fn job_bytes(
    blocks: &[Block],
    cfg: &PrinterConfig,
    kick: bool,
    font: Option<&PdfFont>,
) -> Result<Vec<u8>, String> {
    let opts = escpos::JobOptions {
        paper: cfg.paper,
        kick: if kick { cfg.drawer } else { None },
        cut: true,
    };
    match cfg.mode {
        PrintMode::Text => Ok(escpos::text_job(blocks, opts)),
        PrintMode::Raster => {
            let loaded;
            let font = match font {
                Some(f) => f,
                None => {
                    loaded = PdfFont::load().map_err(|e| e.to_string())?;
                    &loaded
                }
            };
            let bmp = raster::render(blocks, cfg.paper, font).map_err(|e| e.to_string())?;
            Ok(escpos::raster_job(&bmp, opts))
        }
    }
}
