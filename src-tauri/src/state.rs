//! The app's state: the register (live or demo), the embedded fake KOMOJU in demo mode, and which
//! invoice the customer display follows.

use crate::error::{CmdResult, CommandError};
use reji::keychain::{KeyError, KeyStore, SecretKey};
use reji::komoju::RetryPolicy;
use reji::register::{Assembly, KeySource, Register};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

/// The ledger file for real sales.
pub const LIVE_LEDGER: &str = "reji.sqlite";
/// The ledger file for demo mode (never mixed with real sales).
pub const DEMO_LEDGER: &str = "demo.sqlite";

/// Which register the app runs and how it reaches KOMOJU, as the UI shows it (no key in it).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ModeInfo {
    /// `demo` (embedded fake KOMOJU), `test` (a sk_test_ key), `live` (a sk_live_ key) or
    /// `key_error` (a key problem; see `key_error`).
    pub mode: String,
    /// The key masked (`sk_test_••••••••wxyz`), when one is set.
    pub key_masked: Option<String>,
    pub key_error: Option<CommandError>,
}

pub struct AppState {
    /// Shared with the payment tracker (`crate::tracking`); commands lock it briefly.
    pub register: Arc<tokio::sync::Mutex<Register>>,
    /// The running payment tracker (none without a KOMOJU client).
    tracker: StdMutex<Option<Arc<reji::tracker::Tracker>>>,
    mode: StdMutex<ModeInfo>,
    /// The fake KOMOJU in demo mode; dropping it stops it.
    demo: StdMutex<Option<reji::fake::FakeKomoju>>,
    data_dir: PathBuf,
    api_base: String,
    keystore: Box<dyn KeyStore + Send + Sync>,
    /// The invoice the customer display shows (None = idle).
    customer_invoice: StdMutex<Option<String>>,
    /// The staff member signed in at this register (their id; None = nobody). Only the id is
    /// kept: never a PIN.
    signed_in: StdMutex<Option<String>>,
}

fn lock<T>(m: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Shorter than the CLI's: the app polls every second and must not hold the register for long.
fn app_retry_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        timeout: Duration::from_secs(10),
        ..RetryPolicy::default()
    }
}

/// How the app opens its registers: the core's one assembly, with the app's retry policy.
fn assembly(api_base: &str) -> Assembly {
    Assembly::new(api_base, app_retry_policy())
}

impl AppState {
    /// Opens the live register when a key is set (or `REJI_SECRET_KEY`), else starts demo mode:
    /// the embedded fake KOMOJU and the demo ledger. Must run inside a Tokio runtime.
    pub async fn open(
        data_dir: PathBuf,
        keystore: Box<dyn KeyStore + Send + Sync>,
        api_base: String,
    ) -> CmdResult<AppState> {
        std::fs::create_dir_all(&data_dir).map_err(|e| {
            CommandError::new(
                reji::register::ErrorCode::Ledger,
                format!("{}: {e}", data_dir.display()),
            )
        })?;
        let resolved = reji::keychain::resolve(&*keystore);
        let (register, mode, demo) = match resolved {
            Ok(key) => {
                let mode = live_mode(&key);
                let reg =
                    assembly(&api_base).open(&data_dir.join(LIVE_LEDGER), KeySource::Key(key))?;
                (reg, mode, None)
            }
            // No key saved, or no keychain to hold one (then there is no key either): demo mode.
            // The keychain problem is still shown in Settings, where saving a key would fail.
            Err(e @ (KeyError::NotSet | KeyError::Keychain(_))) => {
                let (reg, fake) = start_demo(&data_dir).await?;
                let mode = ModeInfo {
                    mode: "demo".into(),
                    key_masked: None,
                    key_error: match e {
                        KeyError::NotSet => None,
                        other => Some(other.into()),
                    },
                };
                (reg, mode, Some(fake))
            }
            Err(e) => {
                let reg = assembly(&api_base)
                    .open(&data_dir.join(LIVE_LEDGER), KeySource::Missing(e.clone()))?;
                let mode = ModeInfo {
                    mode: "key_error".into(),
                    key_masked: None,
                    key_error: Some(e.into()),
                };
                (reg, mode, None)
            }
        };
        Ok(AppState {
            register: Arc::new(tokio::sync::Mutex::new(register)),
            tracker: StdMutex::new(None),
            mode: StdMutex::new(mode),
            demo: StdMutex::new(demo),
            data_dir,
            api_base,
            keystore,
            customer_invoice: StdMutex::new(None),
            signed_in: StdMutex::new(None),
        })
    }

    /// A state over a given register (tests).
    pub fn with_register(register: Register, mode: ModeInfo, data_dir: PathBuf) -> AppState {
        AppState {
            register: Arc::new(tokio::sync::Mutex::new(register)),
            tracker: StdMutex::new(None),
            mode: StdMutex::new(mode),
            demo: StdMutex::new(None),
            data_dir,
            api_base: reji::komoju::DEFAULT_API_BASE.into(),
            keystore: Box::new(reji::keychain::MemoryKeyStore::new(None)),
            customer_invoice: StdMutex::new(None),
            signed_in: StdMutex::new(None),
        }
    }

    pub fn mode(&self) -> ModeInfo {
        lock(&self.mode).clone()
    }

    /// The fake KOMOJU's origin in demo mode (`http://127.0.0.1:PORT`).
    pub fn demo_origin(&self) -> Option<String> {
        lock(&self.demo).as_ref().map(|f| f.origin())
    }

    /// The running tracker, if any.
    pub fn tracker(&self) -> Option<Arc<reji::tracker::Tracker>> {
        lock(&self.tracker).clone()
    }

    pub fn set_tracker(&self, t: reji::tracker::Tracker) {
        *lock(&self.tracker) = Some(Arc::new(t));
    }

    /// Takes the running tracker out (to stop it before another starts).
    pub fn take_tracker(&self) -> Option<Arc<reji::tracker::Tracker>> {
        lock(&self.tracker).take()
    }

    /// Follows the invoice closely while its QR is on screen (no-op without a tracker).
    pub async fn watch(&self, number: &str) -> CmdResult<()> {
        if let Some(t) = self.tracker() {
            t.watch(number).await?;
        }
        Ok(())
    }

    pub async fn unwatch(&self, number: &str) {
        if let Some(t) = self.tracker() {
            t.unwatch(number).await;
        }
    }

    pub fn customer_invoice(&self) -> Option<String> {
        lock(&self.customer_invoice).clone()
    }

    pub fn set_customer_invoice(&self, number: Option<String>) {
        *lock(&self.customer_invoice) = number;
    }

    /// The staff member signed in at this register (id), if any.
    pub fn signed_in(&self) -> Option<String> {
        lock(&self.signed_in).clone()
    }

    pub fn set_signed_in(&self, id: Option<String>) {
        *lock(&self.signed_in) = id;
    }

    /// Makes the register act for `need`: a manager's `approval` PIN for this one call, else the
    /// member signed in here (with no staff, the owner). A refusal names what the screen should
    /// ask for (`error.sign_in_needed`, `error.manager_needed`, `error.pin_unknown`).
    pub fn authorize(
        &self,
        reg: &mut Register,
        need: reji::register::Need,
        approval: Option<&str>,
    ) -> CmdResult<reji::register::Actor> {
        use reji::register::Who;
        let signed_in = self.signed_in();
        let who = match approval.filter(|p| !p.trim().is_empty()) {
            Some(pin) => Who::Pin(pin),
            None => Who::SignedIn(signed_in.as_deref()),
        };
        reg.authorize(who, need).map_err(crate::error::denied)
    }

    /// Stores the key in the keychain and switches to the live ledger (leaving demo mode).
    pub async fn save_key(&self, text: &str) -> CmdResult<ModeInfo> {
        let key: SecretKey = text.parse()?;
        self.keystore.set(&key)?;
        let mode = live_mode(&key);
        let reg =
            assembly(&self.api_base).open(&self.data_dir.join(LIVE_LEDGER), KeySource::Key(key))?;
        *self.register.lock().await = reg;
        let fake = lock(&self.demo).take();
        if let Some(fake) = fake {
            fake.shutdown().await;
        }
        self.set_customer_invoice(None);
        *lock(&self.mode) = mode.clone();
        Ok(mode)
    }
}

fn live_mode(key: &SecretKey) -> ModeInfo {
    ModeInfo {
        mode: if key.is_live() { "live" } else { "test" }.into(),
        key_masked: Some(key.masked()),
        key_error: None,
    }
}

async fn start_demo(data_dir: &Path) -> CmdResult<(Register, reji::fake::FakeKomoju)> {
    // Opt-in (Settings, demo only): a phone on the same network can open the payment page.
    let lan = {
        let reg = assembly(reji::komoju::DEFAULT_API_BASE)
            .open(&data_dir.join(DEMO_LEDGER), KeySource::Offline)?;
        reg.settings().demo_lan
    };
    // The demo account offers every payment type the register offers.
    let config = reji::fake::FakeConfig {
        lan,
        activated_types: reji::register::PAYMENT_TYPES
            .iter()
            .map(|t| t.to_string())
            .collect(),
        ..Default::default()
    };
    let fake = reji::fake::FakeKomoju::start(config).await.map_err(|e| {
        CommandError::new(
            reji::register::ErrorCode::Network,
            format!("cannot start the demo KOMOJU: {e}"),
        )
    })?;
    let reg = assembly(&fake.api_base()).demo(&data_dir.join(DEMO_LEDGER), &fake)?;
    Ok((reg, fake))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reji::keychain::MemoryKeyStore;

    #[test]
    fn no_key_means_demo_with_its_own_ledger_and_a_key_means_live() {
        let dir = tempfile::tempdir().unwrap();
        tauri::async_runtime::block_on(async {
            let state = AppState::open(
                dir.path().to_path_buf(),
                Box::new(MemoryKeyStore::new(None)),
                reji::komoju::DEFAULT_API_BASE.into(),
            )
            .await
            .unwrap();
            assert_eq!(state.mode().mode, "demo");
            assert!(state
                .demo_origin()
                .unwrap()
                .starts_with("http://127.0.0.1:"));
            assert!(dir.path().join(DEMO_LEDGER).exists());
            assert!(!dir.path().join(LIVE_LEDGER).exists());
            assert_eq!(
                state.save_key("pk_test_abcdefgh").await.unwrap_err().code,
                "bad_input"
            );
            let mode = state.save_key("sk_test_abcdefgh1234").await.unwrap();
            assert_eq!(mode.mode, "test");
            assert_eq!(mode.key_masked.as_deref(), Some("sk_test_••••••••1234"));
            assert!(state.demo_origin().is_none());
            assert!(dir.path().join(LIVE_LEDGER).exists());
        });
    }
}
