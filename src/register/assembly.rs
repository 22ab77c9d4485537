//! Opening a register: the one assembly of ledger, key, KOMOJU client, retry policy and clock that
//! the CLI, the terminal demo and the desktop app share. Each front end decides where its key
//! comes from and how hard its client retries; how those become a register is written once.

use super::*;
use crate::keychain::SecretKey;
use crate::komoju::RetryPolicy;
use std::path::Path;

/// How a front end opens its registers.
#[derive(Clone)]
pub struct Assembly {
    /// KOMOJU's API base (`https://komoju.com/api/v1`, or the fake's in demo mode and tests).
    pub api_base: String,
    pub retry: RetryPolicy,
    pub clock: Arc<dyn Clock>,
}

/// What the register is told about KOMOJU.
pub enum KeySource {
    /// This register never calls KOMOJU (commands that only read or print the ledger).
    Offline,
    /// The key was found: a client is built with it.
    Key(SecretKey),
    /// No usable key (none saved, no keychain, a bad one): the register opens anyway and reports
    /// this when a use case needs KOMOJU, so bad input is still reported as bad input first.
    Missing(KeyError),
}

impl From<std::result::Result<SecretKey, KeyError>> for KeySource {
    fn from(r: std::result::Result<SecretKey, KeyError>) -> Self {
        match r {
            Ok(k) => KeySource::Key(k),
            Err(e) => KeySource::Missing(e),
        }
    }
}

impl Assembly {
    /// The real clock.
    pub fn new(api_base: impl Into<String>, retry: RetryPolicy) -> Assembly {
        Assembly {
            api_base: api_base.into(),
            retry,
            clock: Arc::new(crate::clock::SystemClock),
        }
    }

    /// Opens (creating and migrating) the ledger at `path` and the register over it.
    pub fn open(&self, path: &Path, key: KeySource) -> Result<Register> {
        self.over(Ledger::open(path)?, key)
    }

    /// The register over a ledger that is already open.
    pub fn over(&self, ledger: Ledger, key: KeySource) -> Result<Register> {
        match key {
            KeySource::Offline => Register::new(ledger, None, self.clock.clone()),
            KeySource::Key(key) => {
                let client = Client::new(&self.api_base, key, self.retry.clone())
                    .map_err(|e| Error::bad("api_base", e.to_string()))?;
                Register::new(ledger, Some(client), self.clock.clone())
            }
            KeySource::Missing(e) => {
                let mut reg = Register::new(ledger, None, self.clock.clone())?;
                reg.set_client_error(e);
                Ok(reg)
            }
        }
    }

    /// Demo mode's register: KOMOJU is the fake on this machine, with the fake's own key.
    #[cfg(feature = "fake")]
    pub fn demo(&self, path: &Path, fake: &crate::fake::FakeKomoju) -> Result<Register> {
        let key: SecretKey = fake.secret_key().parse()?;
        let demo = Assembly {
            api_base: fake.api_base(),
            ..self.clone()
        };
        demo.open(path, KeySource::Key(key))
    }
}
