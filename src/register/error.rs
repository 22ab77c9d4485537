//! The core's error type and its closed set of codes.

use super::*;

/// One error type for the core's use cases. `code()` is the closed set the UI maps to messages.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `field` is the input's neutral name (`email`, `items`, `settings.rounding`); `message` may
    /// name other fields with [`mention`]. Each front end names fields its own way: the CLI as its
    /// flags (`--email`), the app beside the field.
    #[error("{field}: {}", render_mentions(message, |f| f.to_string()))]
    BadInput { field: String, message: String },
    #[error("not found: {0}")]
    NotFound(String),
    /// A product list that was not imported: every bad row by line and column.
    #[error("{0}")]
    Import(crate::catalog::csv::ImportError),
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
    /// The drawer is not in a state for this (open twice, 精算 twice, nothing open).
    #[error("{0}")]
    Drawer(String),
    /// Who is signed in may not do this (no PIN, a wrong one, a cashier for a manager's action).
    #[error("not permitted: {0}")]
    NotPermitted(String),
    /// The receipt printer did not take a job (it waits in the print queue for a retry).
    #[error("{0}; the job waits in the print queue")]
    Printer(crate::printing::PrintError),
    /// A file the user named could not be read.
    #[error("cannot read {path}: {source}")]
    ReadFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
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

impl From<crate::export::ExportRowsError> for Error {
    fn from(e: crate::export::ExportRowsError) -> Self {
        match e {
            crate::export::ExportRowsError::Ledger(l) => l.into(),
            crate::export::ExportRowsError::Export(x) => x.into(),
        }
    }
}

/// Marks a field's neutral name inside a bad-input message (see [`render_mentions`]).
pub fn mention(field: &str) -> String {
    format!("\u{27e8}{field}\u{27e9}")
}

/// A bad-input message with each [`mention`]ed field named by `name` (the CLI: its flag).
pub fn render_mentions(message: &str, name: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find('\u{27e8}') {
        let after = &rest[start + '\u{27e8}'.len_utf8()..];
        let Some(end) = after.find('\u{27e9}') else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str(&name(&after[..end]));
        rest = &after[end + '\u{27e9}'.len_utf8()..];
    }
    out.push_str(rest);
    out
}

impl Error {
    pub fn bad(field: &str, message: impl Into<String>) -> Self {
        Error::BadInput {
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// The input a bad-input error is about (its neutral name), for the app to show the message
    /// beside it.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::BadInput { field, .. } => Some(field),
            _ => None,
        }
    }

    /// Stable machine-readable code (the UI's `{code, message_key}`).
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::BadInput { .. } | Error::Import(_) => ErrorCode::BadInput,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::NotAllowed { .. } | Error::Drawer(_) | Error::NotPermitted(_) => {
                ErrorCode::NotAllowed
            }
            Error::Komoju(e) if e.is_auth() => ErrorCode::KomojuAuth,
            Error::Komoju(e) if e.is_bad_base() => ErrorCode::BadInput,
            Error::Komoju(KomojuError::Api { .. }) => ErrorCode::KomojuRefused,
            Error::Komoju(KomojuError::Transport { .. }) => ErrorCode::Network,
            Error::Komoju(_) => ErrorCode::KomojuResponse,
            Error::Ledger(_) => ErrorCode::Ledger,
            Error::Key(KeyError::Invalid(_)) => ErrorCode::BadInput,
            Error::Key(_) | Error::NoClient => ErrorCode::NoKey,
            Error::Export(crate::export::ExportError::Io(_))
            | Error::WriteFile { .. }
            | Error::ReadFile { .. } => ErrorCode::ExportIo,
            Error::Export(_) => ErrorCode::BadInput,
            Error::Printer(_) => ErrorCode::Printer,
        }
    }

    /// The CLI contract's exit codes.
    pub fn exit_code(&self) -> i32 {
        self.code().exit_code()
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

/// The closed set of error codes: the UI's `{code, message_key}` (`error.<code>`, in ja and en; a
/// test fails when a dictionary lacks one), the CLI's `--json` error `code` and its exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadInput,
    NotFound,
    NotAllowed,
    KomojuAuth,
    KomojuRefused,
    Network,
    KomojuResponse,
    Ledger,
    NoKey,
    ExportIo,
    /// The desktop shell could not open or reach one of its windows.
    Window,
    /// The receipt printer is off, unreachable or out of paper (the job waits in the queue).
    Printer,
}

impl ErrorCode {
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::BadInput,
        ErrorCode::NotFound,
        ErrorCode::NotAllowed,
        ErrorCode::KomojuAuth,
        ErrorCode::KomojuRefused,
        ErrorCode::Network,
        ErrorCode::KomojuResponse,
        ErrorCode::Ledger,
        ErrorCode::NoKey,
        ErrorCode::ExportIo,
        ErrorCode::Window,
        ErrorCode::Printer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadInput => "bad_input",
            ErrorCode::NotFound => "not_found",
            ErrorCode::NotAllowed => "not_allowed",
            ErrorCode::KomojuAuth => "komoju_auth",
            ErrorCode::KomojuRefused => "komoju_refused",
            ErrorCode::Network => "network",
            ErrorCode::KomojuResponse => "komoju_response",
            ErrorCode::Ledger => "ledger",
            ErrorCode::NoKey => "no_key",
            ErrorCode::ExportIo => "export_io",
            ErrorCode::Window => "window",
            ErrorCode::Printer => "printer",
        }
    }

    /// The UI dictionary key of this code's sentence.
    pub fn message_key(self) -> String {
        format!("error.{}", self.as_str())
    }

    /// The exit code: 1 KOMOJU or network error, 2 bad input, 3 not found, 4 not allowed, 5 the
    /// ledger or a local file could not be read or written.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorCode::BadInput => 2,
            ErrorCode::NotFound => 3,
            ErrorCode::NotAllowed => 4,
            ErrorCode::Ledger | ErrorCode::ExportIo => 5,
            _ => 1,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}
