//! QR (stub)
pub fn terminal(_d: &str) -> Result<String, String> { Ok(String::new()) }
