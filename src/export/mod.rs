//! CSV export (stub until the export branch lands).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("x")]
    X,
}
pub enum Encoding { A, Utf8 }
impl std::str::FromStr for Encoding { type Err = String; fn from_str(_s: &str) -> Result<Self, String> { Ok(Encoding::A) } }
pub enum HeaderLang { A, Ja }
impl std::str::FromStr for HeaderLang { type Err = String; fn from_str(_s: &str) -> Result<Self, String> { Ok(HeaderLang::A) } }
pub struct ExportOptions { pub encoding: Encoding, pub lossy: bool, pub headers: HeaderLang, pub tz: chrono_tz::Tz }
pub fn export_ledger<W: std::io::Write>(_l: &crate::ledger::Ledger, _f: &crate::ledger::Filter, _o: &ExportOptions, _w: W) -> Result<u64, crate::ledger::ExportRowsError> { Ok(0) }
pub fn write_atomically(_p: &std::path::Path, f: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<(), ExportError>) -> Result<(), ExportError> { let _ = f; Ok(()) }
