//! The core's error type and its closed set of codes.

use super::*;

/// One error type for the core's use cases. `code()` is the closed set the UI maps to messages.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{field}: {message}")]
    BadInput { field: String, message: String },
    #[error("not found: {0}")]
    NotFound(String),
    #[error("cannot {action} invoice {invoice}: it is {status}")]
    NotAllowed {
        invoice: String,
        status: InvoiceStatus,
        action: &'static str,
    },
    #[error("{0}")]
    Komoju(#[from] KomojuError),
    #[error("{0}")]
    Ledger(LedgerError),
    #[error("{0}")]
    Key(#[from] KeyError),
    #[error("{0}")]
    Export(#[from] crate::export::ExportError),
    #[error("no KOMOJU secret key: run `reji keys set` or set REJI_SECRET_KEY")]
    NoClient,
    #[error("{0} is already closed (日計表): no new sale can be dated on a closed day")]
    DayClosed(String),
    /// A file the user named (`flag`: `--out`, `--pdf`, …) could not be written.
    #[error("{flag}: cannot write {path}: {source}")]
    WriteFile {
        flag: String,
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// Writing an export or a report file (the file helpers of `export` take the caller's error type).
impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Export(crate::export::ExportError::Io(e))
    }
}

impl From<LedgerError> for Error {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::NotFound(k) => Error::NotFound(format!("no invoice {k:?} in the ledger")),
            other => Error::Ledger(other),
        }
    }
}

impl From<crate::ledger::ExportRowsError> for Error {
    fn from(e: crate::ledger::ExportRowsError) -> Self {
        match e {
            crate::ledger::ExportRowsError::Ledger(l) => l.into(),
            crate::ledger::ExportRowsError::Export(x) => x.into(),
        }
    }
}

impl Error {
    pub fn bad(field: &str, message: impl Into<String>) -> Self {
        Error::BadInput {
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// Stable machine-readable code (the UI's `{code, message_key}`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadInput { .. } => "bad_input",
            Error::NotFound(_) => "not_found",
            Error::NotAllowed { .. } | Error::DayClosed(_) => "not_allowed",
            Error::Komoju(e) if e.is_auth() => "komoju_auth",
            Error::Komoju(e) if e.is_bad_base() => "bad_input",
            Error::Komoju(KomojuError::Api { .. }) => "komoju_refused",
            Error::Komoju(KomojuError::Transport { .. }) => "network",
            Error::Komoju(_) => "komoju_response",
            Error::Ledger(_) => "ledger",
            Error::Key(KeyError::Invalid(_)) => "bad_input",
            Error::Key(_) | Error::NoClient => "no_key",
            Error::Export(crate::export::ExportError::Io(_)) | Error::WriteFile { .. } => {
                "export_io"
            }
            Error::Export(_) => "bad_input",
        }
    }

    /// The CLI contract's exit codes.
    pub fn exit_code(&self) -> i32 {
        Self::exit_code_of(self.code())
    }

    /// The exit code for an error [`code`](Error::code): 1 KOMOJU or network error, 2 bad input,
    /// 3 not found, 4 not allowed, 5 the ledger or a local file could not be read or written.
    pub fn exit_code_of(code: &str) -> i32 {
        match code {
            "bad_input" => 2,
            "not_found" => 3,
            "not_allowed" => 4,
            "ledger" | "export_io" => 5,
            _ => 1,
        }
    }

    /// A message for people: a 401 is a key problem, not a generic failure. Anything shaped like
    /// a key is masked ([`crate::keychain::mask_secrets`]): messages can hold a server's words.
    pub fn user_message(&self) -> String {
        match self {
            Error::Komoju(e) if e.is_auth() => {
                "KOMOJU rejected the secret key (401 unauthorized): check it with `reji keys show` and set the right one with `reji keys set`".into()
            }
            other => crate::keychain::mask_secrets(&other.to_string()).into_owned(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
