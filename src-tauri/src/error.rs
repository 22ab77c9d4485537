//! The one error shape every command returns: `{code, message_key, detail}`.

use serde::Serialize;

/// What the UI gets when a command fails. `code` is `reji::register::Error::code()` (a closed set);
/// `message_key` (`error.<code>`) picks the sentence in the UI's ja / en dictionaries; `detail` is
/// the core's message for people (never a key, never raw KOMOJU JSON).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CommandError {
    pub code: String,
    pub message_key: String,
    pub detail: String,
}

impl CommandError {
    pub fn new(code: &str, detail: impl Into<String>) -> Self {
        CommandError {
            code: code.to_string(),
            message_key: format!("error.{code}"),
            detail: detail.into(),
        }
    }
}

impl From<reji::register::Error> for CommandError {
    fn from(e: reji::register::Error) -> Self {
        CommandError::new(e.code(), e.user_message())
    }
}

impl From<reji::keychain::KeyError> for CommandError {
    fn from(e: reji::keychain::KeyError) -> Self {
        reji::register::Error::Key(e).into()
    }
}

impl From<tauri::Error> for CommandError {
    fn from(e: tauri::Error) -> Self {
        CommandError::new("window", e.to_string())
    }
}

pub type CmdResult<T> = Result<T, CommandError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_core_errors_to_message_keys() {
        let e: CommandError = reji::register::Error::bad("--item", "empty name").into();
        assert_eq!(e.code, "bad_input");
        assert_eq!(e.message_key, "error.bad_input");
        assert!(e.detail.contains("empty name"));
        let e: CommandError = reji::keychain::KeyError::NotSet.into();
        assert_eq!(e.message_key, "error.no_key");
    }
}
