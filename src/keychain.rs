//! Keychain (temporary stub; replaced by the keychain branch).
use std::fmt;
#[derive(Clone)]
pub struct SecretKey(String);
impl SecretKey {
    pub fn expose(&self) -> &str { &self.0 }
    pub fn is_live(&self) -> bool { self.0.starts_with("sk_live_") }
}
impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str("sk_••••") }
}
impl std::str::FromStr for SecretKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> { Ok(SecretKey(s.trim().to_string())) }
}
#[derive(Debug, thiserror::Error)]
pub enum KeyError { #[error("invalid {0}")] Invalid(String), #[error("not set")] NotSet, #[error("keychain {0}")] Keychain(String) }
pub trait KeyStore { fn get(&self) -> Result<Option<SecretKey>, KeyError>; fn set(&self, key: &SecretKey) -> Result<(), KeyError>; fn delete(&self) -> Result<bool, KeyError>; }
#[derive(Default)]
pub struct OsKeychain;
impl KeyStore for OsKeychain { fn get(&self) -> Result<Option<SecretKey>, KeyError> { Ok(None) } fn set(&self, _key: &SecretKey) -> Result<(), KeyError> { Ok(()) } fn delete(&self) -> Result<bool, KeyError> { Ok(false) } }
pub fn resolve(store: &dyn KeyStore) -> Result<SecretKey, KeyError> { if let Ok(k) = std::env::var("REJI_SECRET_KEY") { return k.parse().map_err(KeyError::Invalid); } store.get()?.ok_or(KeyError::NotSet) }
impl SecretKey { pub fn masked(&self) -> String { "sk_••••".into() } }
