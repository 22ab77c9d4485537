//! The KOMOJU secret key: kept only in the OS keychain, or given by `REJI_SECRET_KEY`.
//!
//! * macOS: Keychain; Windows: Credential Manager; Linux: the Secret Service (GNOME Keyring,
//!   KWallet, KeePassXC…) over D-Bus. The item has service `reji` and account/user
//!   `komoju-secret-key` (on Linux the attributes are `service=reji`,
//!   `username=komoju-secret-key`, `target=default`, `application=rust-keyring`; look it up with
//!   `secret-tool lookup service reji username komoju-secret-key`).
//! * `REJI_SECRET_KEY` overrides the keychain: when it is set, the keychain is never touched.
//!
//! [`SecretKey`] never prints the key: `Debug` and `Display` show it masked
//! (`sk_test_••••••••wxyz`), and no error message contains it. Its memory is overwritten on drop.

use std::fmt;
use std::str::FromStr;

/// Name of the environment variable that overrides the keychain.
pub const ENV_VAR: &str = "REJI_SECRET_KEY";
/// Keychain service name.
pub const SERVICE: &str = "reji";
/// Keychain account (user) name.
pub const ACCOUNT: &str = "komoju-secret-key";

const PREFIXES: [&str; 2] = ["sk_test_", "sk_live_"];
const MIN_SECRET_CHARS: usize = 8;

/// A syntactically valid KOMOJU secret key (`sk_test_…` or `sk_live_…`).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    /// The whole key, for the `Authorization` header. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether this is a live-mode key (`sk_live_…`), which moves real money.
    pub fn is_live(&self) -> bool {
        self.0.starts_with("sk_live_")
    }

    /// The key with everything but its prefix and last 4 characters hidden:
    /// `sk_test_••••••••wxyz`.
    pub fn masked(&self) -> String {
        // Valid keys are ASCII and have at least 8 characters after the 8-character prefix.
        let (prefix, rest) = self.0.split_at(8);
        let last4 = &rest[rest.len().saturating_sub(4)..];
        format!("{prefix}••••••••{last4}")
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.masked())
    }
}

impl fmt::Display for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Best effort: overwrite a string's bytes before its allocation is freed.
fn wipe(s: &mut String) {
    // SAFETY: only zero bytes are written, so the String stays valid UTF-8.
    let bytes = unsafe { s.as_mut_vec() };
    for b in bytes.iter_mut() {
        // SAFETY: `b` is a valid, aligned, exclusive reference; volatile so it is not elided.
        unsafe { std::ptr::write_volatile(b, 0) };
    }
    std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
}

impl FromStr for SecretKey {
    type Err = KeyError;

    /// Trims surrounding whitespace (a pasted newline), then checks the format.
    /// Error messages never contain the key.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(KeyError::Invalid("the secret key is empty".into()));
        }
        let Some(prefix) = PREFIXES.iter().find(|p| s.starts_with(**p)) else {
            let msg = if s.starts_with("pk_") {
                "this is a publishable key (pk_…); Reji needs the KOMOJU secret key (sk_…), \
                 starting with sk_test_ or sk_live_"
            } else {
                "expected a KOMOJU secret key starting with sk_test_ or sk_live_"
            };
            return Err(KeyError::Invalid(msg.into()));
        };
        let rest = &s[prefix.len()..];
        if let Some(pos) = rest
            .chars()
            .position(|c| !(c.is_ascii_alphanumeric() || c == '_'))
        {
            return Err(KeyError::Invalid(format!(
                "the secret key contains an invalid character at position {} \
                 (expected only A-Z, a-z, 0-9 and _ after {prefix})",
                prefix.len() + pos + 1
            )));
        }
        if rest.len() < MIN_SECRET_CHARS {
            return Err(KeyError::Invalid(format!(
                "the secret key is too short: expected at least {MIN_SECRET_CHARS} characters \
                 after {prefix}, got {}",
                rest.len()
            )));
        }
        Ok(SecretKey(s.to_owned()))
    }
}

/// Errors about the secret key. No variant ever holds the key itself.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KeyError {
    #[error("invalid KOMOJU secret key: {0}")]
    Invalid(String),
    #[error("no KOMOJU secret key configured: run `reji keys set` (it reads the key from stdin) or set {ENV_VAR}")]
    NotSet,
    #[error("OS keychain error: {0}")]
    Keychain(String),
}

/// Where the secret key is kept.
pub trait KeyStore {
    /// The stored key, or `None` if there is none.
    fn get(&self) -> Result<Option<SecretKey>, KeyError>;
    /// Stores the key, replacing any previous one.
    fn set(&self, key: &SecretKey) -> Result<(), KeyError>;
    /// Deletes the key; `Ok(false)` if there was none.
    fn delete(&self) -> Result<bool, KeyError>;
}

/// Hides anything shaped like a KOMOJU key in `text`, keeping a short recognisable prefix:
/// `sk_test_…`, `sk_live_…`, `pk_test_…`, `pk_live_…`, `sk_…` / `pk_…` (a key without the mode), the
/// credential after `Basic ` / `Bearer `, and base64 of a key (`c2tf…` is base64 of `sk_`, `cGtf…`
/// of `pk_`). Every error message that may hold text from elsewhere (a server's error body, an OS
/// message) goes through this before it is shown.
pub fn mask_secrets(text: &str) -> std::borrow::Cow<'_, str> {
    let b = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        let at_boundary = i == 0 || !is_word_byte(b[i - 1]);
        if at_boundary {
            if let Some((end, keep)) = secret_at(b, i) {
                let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
                // Matches start and end on ASCII bytes, so these are char boundaries.
                o.push_str(&text[copied..i + keep]);
                o.push('…');
                copied = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    match out {
        None => std::borrow::Cow::Borrowed(text),
        Some(mut o) => {
            o.push_str(&text[copied..]);
            std::borrow::Cow::Owned(o)
        }
    }
}

fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn is_base64_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'-' | b'_' | b'.' | b'~')
}

/// A secret starting at `b[i]`: where it ends and how many of its bytes stay visible.
fn secret_at(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let rest = &b[i..];
    let run = |from: usize, ok: fn(u8) -> bool| -> usize {
        rest.get(from..)
            .map_or(0, |r| r.iter().take_while(|c| ok(**c)).count())
    };
    if rest.starts_with(b"sk_") || rest.starts_with(b"pk_") {
        if rest[3..].starts_with(b"test_") || rest[3..].starts_with(b"live_") {
            let n = run(8, is_word_byte);
            return (n > 0).then_some((i + 8 + n, 8));
        }
        let n = run(3, is_word_byte);
        return (n >= 8).then_some((i + 3 + n, 3));
    }
    for scheme in [&b"basic "[..], b"bearer "] {
        if rest.len() > scheme.len() && rest[..scheme.len()].eq_ignore_ascii_case(scheme) {
            let n = run(scheme.len(), is_base64_byte);
            let token = &rest[scheme.len()..scheme.len() + n];
            // A word of prose ("Basic authentication") is not a credential.
            if n >= 8 && !token.iter().all(|c| c.is_ascii_lowercase()) {
                return Some((i + scheme.len() + n, scheme.len()));
            }
        }
    }
    if rest.starts_with(b"c2tf") || rest.starts_with(b"cGtf") {
        let n = run(0, is_base64_byte);
        return (n >= 12).then_some((i + n, 4));
    }
    None
}

/// The OS keychain, through the `keyring` crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsKeychain {
    service: String,
    account: String,
}

impl Default for OsKeychain {
    fn default() -> Self {
        OsKeychain::new(SERVICE, ACCOUNT)
    }
}

const NO_KEYCHAIN: &str =
    "no OS keychain available (Secret Service not running?); set REJI_SECRET_KEY instead";

impl OsKeychain {
    /// A keychain item other than the default one (tests use a unique service name).
    pub fn new(service: impl Into<String>, account: impl Into<String>) -> Self {
        OsKeychain {
            service: service.into(),
            account: account.into(),
        }
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    fn entry(&self) -> Result<keyring::Entry, KeyError> {
        keyring::Entry::new(&self.service, &self.account).map_err(|e| keychain_error(e, None))
    }
}

/// Maps a keyring error to [`KeyError::Keychain`], scrubbing `secret` from the message just in
/// case a platform error ever echoes it.
fn keychain_error(e: keyring::Error, secret: Option<&str>) -> KeyError {
    use keyring::Error as E;
    let msg = match &e {
        E::PlatformFailure(inner) => {
            let text = inner.to_string();
            if looks_unavailable(&text) {
                format!("{NO_KEYCHAIN} ({text})")
            } else {
                format!("the OS keychain failed: {text}")
            }
        }
        E::NoStorageAccess(inner) => format!(
            "the OS keychain is locked, has no default keyring, or denied access ({inner}); \
             unlock it or set {ENV_VAR} instead"
        ),
        E::BadEncoding(_) => "the stored secret key is not valid UTF-8".to_owned(),
        E::Ambiguous(items) => format!(
            "{} keychain items match this service and account; remove the duplicates",
            items.len()
        ),
        E::TooLong(what, max) => format!("{what} is too long for the OS keychain (max {max})"),
        E::Invalid(what, why) => format!("invalid keychain {what}: {why}"),
        E::NoEntry => "no such keychain item".to_owned(),
        other => other.to_string(),
    };
    let msg = match secret {
        Some(s) if !s.is_empty() => msg.replace(s, "••••"),
        _ => msg,
    };
    KeyError::Keychain(msg)
}

/// Whether a Secret Service (D-Bus) error means there is no keychain service at all.
fn looks_unavailable(text: &str) -> bool {
    const HINTS: [&str; 8] = [
        "ServiceUnknown",
        "was not provided by any .service files",
        "NameHasNoOwner",
        "org.freedesktop.secrets",
        "DBUS_SESSION_BUS_ADDRESS",
        "autolaunch",
        "Failed to connect to socket",
        "NoServer",
    ];
    HINTS.iter().any(|h| text.contains(h))
}

impl KeyStore for OsKeychain {
    fn get(&self) -> Result<Option<SecretKey>, KeyError> {
        match self.entry()?.get_password() {
            Ok(text) => {
                let text = Zeroizing(text);
                match text.0.parse::<SecretKey>() {
                    Ok(k) => Ok(Some(k)),
                    Err(KeyError::Invalid(why)) => Err(KeyError::Invalid(format!(
                        "the key stored in the OS keychain ({}/{}) is not valid: {why}",
                        self.service, self.account
                    ))),
                    Err(other) => Err(other),
                }
            }
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keychain_error(e, None)),
        }
    }

    fn set(&self, key: &SecretKey) -> Result<(), KeyError> {
        self.entry()?
            .set_password(key.expose())
            .map_err(|e| keychain_error(e, Some(key.expose())))
    }

    fn delete(&self) -> Result<bool, KeyError> {
        match self.entry()?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(keychain_error(e, None)),
        }
    }
}

/// A string that is overwritten when dropped (for the raw keychain text).
struct Zeroizing(String);

impl Drop for Zeroizing {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// An in-memory [`KeyStore`], for tests and demo mode.
#[derive(Debug, Default)]
pub struct MemoryKeyStore(std::sync::Mutex<Option<SecretKey>>);

impl MemoryKeyStore {
    pub fn new(key: Option<SecretKey>) -> Self {
        MemoryKeyStore(std::sync::Mutex::new(key))
    }
}

impl KeyStore for MemoryKeyStore {
    fn get(&self) -> Result<Option<SecretKey>, KeyError> {
        Ok(self.0.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    fn set(&self, key: &SecretKey) -> Result<(), KeyError> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(key.clone());
        Ok(())
    }

    fn delete(&self) -> Result<bool, KeyError> {
        Ok(self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .is_some())
    }
}

/// The key to use: `REJI_SECRET_KEY` if set (the store is then not touched; an invalid value is
/// [`KeyError::Invalid`]), else the key in `store`, else [`KeyError::NotSet`].
pub fn resolve(store: &dyn KeyStore) -> Result<SecretKey, KeyError> {
    resolve_with(std::env::var_os(ENV_VAR), store)
}

fn resolve_with(
    env: Option<std::ffi::OsString>,
    store: &dyn KeyStore,
) -> Result<SecretKey, KeyError> {
    if let Some(value) = env {
        let Some(value) = value.to_str() else {
            return Err(KeyError::Invalid(format!("{ENV_VAR} is not valid UTF-8")));
        };
        if value.trim().is_empty() {
            return Err(KeyError::Invalid(format!(
                "{ENV_VAR} is set but empty; unset it to use the OS keychain"
            )));
        }
        return value.parse::<SecretKey>().map_err(|e| match e {
            KeyError::Invalid(why) => KeyError::Invalid(format!("{why} (from {ENV_VAR})")),
            other => other,
        });
    }
    store.get()?.ok_or(KeyError::NotSet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_shaped_text_is_masked_with_a_recognisable_prefix() {
        let m = |s: &str| mask_secrets(s).into_owned();
        assert_eq!(
            m("bad key sk_test_zq9vx7wk3jrm2bt5ny8hc4dp!"),
            "bad key sk_test_…!"
        );
        assert_eq!(m("\"sk_live_abcdEFGH1234\","), "\"sk_live_…\",");
        assert_eq!(
            m("pk_test_abcdefgh and pk_live_x"),
            "pk_test_… and pk_live_…"
        );
        assert_eq!(m("key=sk_abcdefgh12345678"), "key=sk_…");
        assert_eq!(
            m("Authorization: Basic c2tfdGVzdF96cTl2eDd3azNqcm0yYnQ1bnk4aGM0ZHA6"),
            "Authorization: Basic …"
        );
        assert_eq!(m("echo c2tfdGVzdF96cTl2eDd3azNq"), "echo c2tf…");
        assert_eq!(m("bearer abcdefgh.ijk"), "bearer …");
        // Not secrets: our own hints, words that merely contain the letters, short tails.
        for s in [
            "expected a key starting with sk_test_ or sk_live_",
            "publishable key (pk_…)",
            "disk_full task_abcdefghij",
            "sk_short",
            "Basic authentication failed",
            "支払い sk_test_",
        ] {
            assert_eq!(m(s), s);
            assert!(matches!(mask_secrets(s), std::borrow::Cow::Borrowed(_)));
        }
        assert_eq!(m("レジ sk_test_abcdefgh レジ"), "レジ sk_test_… レジ");
    }

    const KEY: &str = "sk_test_abcdefgh1234wxyz";

    /// A store that fails the test if touched.
    struct Untouchable;
    impl KeyStore for Untouchable {
        fn get(&self) -> Result<Option<SecretKey>, KeyError> {
            panic!("store must not be touched")
        }
        fn set(&self, _: &SecretKey) -> Result<(), KeyError> {
            panic!("store must not be touched")
        }
        fn delete(&self) -> Result<bool, KeyError> {
            panic!("store must not be touched")
        }
    }

    #[test]
    fn parses_and_masks() {
        let k: SecretKey = format!("  {KEY}\n").parse().unwrap();
        assert_eq!(k.expose(), KEY);
        assert!(!k.is_live());
        assert_eq!(k.masked(), "sk_test_••••••••wxyz");
        assert_eq!(k.to_string(), "sk_test_••••••••wxyz");
        assert_eq!(format!("{k:?}"), "SecretKey(sk_test_••••••••wxyz)");
        assert_eq!(format!("{k:#?}"), "SecretKey(sk_test_••••••••wxyz)");
        let live: SecretKey = "sk_live_ABCDEFGH_9".parse().unwrap();
        assert!(live.is_live());
        assert_eq!(live.masked(), "sk_live_••••••••GH_9");
    }

    #[test]
    fn masking_never_shows_the_secret_part() {
        for key in ["sk_test_12345678", "sk_live_aaaaaaaabbbbbbbbcccccccc"] {
            let k: SecretKey = key.parse().unwrap();
            for shown in [k.to_string(), format!("{k:?}"), k.masked()] {
                assert!(!shown.contains(&key[8..]), "{shown}");
                assert!(!shown.contains(&key[8..key.len() - 4]), "{shown}");
            }
        }
    }

    #[test]
    fn rejects_publishable_keys() {
        let secretish = "pk_test_abcdefgh12345678";
        let e = secretish.parse::<SecretKey>().unwrap_err();
        let m = e.to_string();
        assert!(matches!(e, KeyError::Invalid(_)));
        assert!(m.contains("publishable") && m.contains("sk_"), "{m}");
        assert!(!m.contains(secretish) && !m.contains("abcdefgh"), "{m}");
    }

    #[test]
    fn rejects_other_formats_without_echoing_them() {
        for bad in [
            "",
            "   ",
            "hunter2hunter2hunter2",
            "sk_prod_abcdefghijkl",
            "sk_test_abc12",
            "sk_test_abc-defghijk",
            "sk_test_abcdefgh ijkl",
            "sk_test_ab€cdefghijk",
        ] {
            let e = bad.parse::<SecretKey>().unwrap_err();
            let m = e.to_string();
            let dbg = format!("{e:?}");
            assert!(matches!(e, KeyError::Invalid(_)), "{bad:?}");
            if bad.trim().len() > 8 {
                assert!(!m.contains(bad.trim()), "{m}");
                assert!(!dbg.contains(bad.trim()), "{dbg}");
                assert!(!m.contains(&bad.trim()[8..]), "{m}");
            }
        }
        let m = "hunter2hunter2"
            .parse::<SecretKey>()
            .unwrap_err()
            .to_string();
        assert!(m.contains("sk_test_") && m.contains("sk_live_"), "{m}");
    }

    #[test]
    fn env_overrides_store_without_touching_it() {
        let k = resolve_with(Some(KEY.into()), &Untouchable).unwrap();
        assert_eq!(k.expose(), KEY);
        let e = resolve_with(Some("pk_test_abcdefgh1234".into()), &Untouchable).unwrap_err();
        assert!(
            matches!(e, KeyError::Invalid(ref m) if m.contains(ENV_VAR)),
            "{e}"
        );
        let e = resolve_with(Some("".into()), &Untouchable).unwrap_err();
        assert!(matches!(e, KeyError::Invalid(_)), "{e}");
    }

    #[test]
    fn falls_back_to_store_then_not_set() {
        let store = MemoryKeyStore::default();
        assert!(matches!(resolve_with(None, &store), Err(KeyError::NotSet)));
        store.set(&KEY.parse().unwrap()).unwrap();
        assert_eq!(resolve_with(None, &store).unwrap().expose(), KEY);
        assert!(store.delete().unwrap());
        assert!(!store.delete().unwrap());
    }

    #[test]
    fn keychain_errors_do_not_leak_the_key() {
        let e = keychain_error(
            keyring::Error::PlatformFailure(format!("echo {KEY}").into()),
            Some(KEY),
        );
        assert!(!e.to_string().contains(KEY), "{e}");
        let e = keychain_error(
            keyring::Error::PlatformFailure(
                "org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.secrets \
                 was not provided by any .service files"
                    .into(),
            ),
            None,
        );
        assert!(e.to_string().contains("set REJI_SECRET_KEY instead"), "{e}");
    }
}
