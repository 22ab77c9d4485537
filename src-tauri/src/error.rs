//! The one error shape every command returns: `{code, message_key, detail}`.

use reji::register::ErrorCode;
use serde::Serialize;

/// What the UI gets when a command fails. `code` is a `reji::register::ErrorCode` (a closed set);
/// `message_key` (`error.<code>`) picks the sentence in the UI's ja / en dictionaries; `detail` is
/// the core's message for people (never a key, never raw KOMOJU JSON).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CommandError {
    pub code: ErrorCode,
    pub message_key: String,
    pub detail: String,
    /// The input a bad-input error is about, by the core's neutral name (`email`, `amount`,
    /// `settings.shop_name`): the UI shows the message beside the element with that `data-field`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A refused product import's rows, each with its line, column and message.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<reji::catalog::csv::Problem>,
}

impl CommandError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        CommandError {
            code,
            message_key: code.message_key(),
            detail: detail.into(),
            field: None,
            problems: Vec::new(),
        }
    }
}

impl From<reji::register::Error> for CommandError {
    fn from(e: reji::register::Error) -> Self {
        // What support needs to see; bad input is the staff's to fix, beside the field.
        if !matches!(e.code(), ErrorCode::BadInput | ErrorCode::NotAllowed) {
            crate::applog::warn(&format!("{}: {}", e.code().as_str(), e.user_message()));
        }
        CommandError {
            field: e.field().map(str::to_string),
            problems: match &e {
                reji::register::Error::Import(i) => i.problems.clone(),
                _ => Vec::new(),
            },
            ..CommandError::new(e.code(), e.user_message())
        }
    }
}

impl From<reji::keychain::KeyError> for CommandError {
    fn from(e: reji::keychain::KeyError) -> Self {
        reji::register::Error::Key(e).into()
    }
}

impl From<tauri::Error> for CommandError {
    fn from(e: tauri::Error) -> Self {
        CommandError::new(ErrorCode::Window, e.to_string())
    }
}

pub type CmdResult<T> = Result<T, CommandError>;

/// The message keys of a refused sign-in or approval: the screens ask for the right PIN (a
/// sign-in, or a manager's approval of one action) instead of showing the core's sentence.
pub const DENIED_KEYS: [&str; 3] = [
    "error.sign_in_needed",
    "error.manager_needed",
    "error.pin_unknown",
];

/// A refused sign-in or approval: `not_allowed`, with its own sentence in the UI.
pub fn denied(d: reji::register::Denied) -> CommandError {
    use reji::register::Denied;
    let key = match &d {
        Denied::SignInNeeded => DENIED_KEYS[0],
        Denied::ManagerNeeded { .. } => DENIED_KEYS[1],
        Denied::UnknownPin => DENIED_KEYS[2],
    };
    let e: CommandError = reji::register::Error::from(d).into();
    CommandError {
        message_key: key.into(),
        ..e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_core_errors_to_message_keys() {
        let e: CommandError = reji::register::Error::bad("items", "empty name").into();
        assert_eq!(e.code, "bad_input");
        assert_eq!(e.message_key, "error.bad_input");
        assert_eq!(
            e.field.as_deref(),
            Some("items"),
            "the UI shows it beside the items"
        );
        assert!(e.detail.contains("empty name"));
        assert!(
            !e.detail.contains("--"),
            "no CLI flag reaches the app: {}",
            e.detail
        );
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["field"], "items");
        let e: CommandError = reji::keychain::KeyError::NotSet.into();
        assert_eq!(e.message_key, "error.no_key");
        let e = denied(reji::register::Denied::ManagerNeeded {
            name: "バイト".into(),
        });
        assert_eq!(
            (e.code.as_str(), e.message_key.as_str()),
            ("not_allowed", "error.manager_needed")
        );
        assert!(!e.detail.contains("REJI_PIN"), "{}", e.detail);
    }

    /// Each dictionary names a key once (in a JavaScript object the second silently wins: the bank
    /// transfer's account name once read "銀行名"), and both name the same keys.
    #[test]
    fn the_dictionaries_name_each_key_once_and_the_same_keys() {
        let dict = include_str!("../../ui/js/i18n.js");
        let (ja, en) = dict
            .split_once("\n  en: {")
            .expect("the en dictionary in ui/js/i18n.js");
        let keys = |part: &str| -> Vec<String> {
            part.lines()
                .filter_map(|l| l.trim_start().strip_prefix('"'))
                .filter_map(|l| l.split_once("\":").map(|(k, _)| k.to_string()))
                .collect()
        };
        let mut sets = Vec::new();
        for (lang, part) in [("ja", ja), ("en", en)] {
            let list = keys(part);
            let set: std::collections::BTreeSet<_> = list.iter().cloned().collect();
            let mut seen = std::collections::BTreeSet::new();
            let twice: Vec<_> = list.iter().filter(|k| !seen.insert(*k)).collect();
            assert!(twice.is_empty(), "{lang} names these keys twice: {twice:?}");
            assert!(set.len() > 100, "{lang}: {} keys", set.len());
            sets.push(set);
        }
        let only_ja: Vec<_> = sets[0].difference(&sets[1]).collect();
        let only_en: Vec<_> = sets[1].difference(&sets[0]).collect();
        assert!(
            only_ja.is_empty() && only_en.is_empty(),
            "only in ja: {only_ja:?}; only in en: {only_en:?}"
        );
    }

    /// Every code the core or the shell can return has its sentence in both of the UI's
    /// dictionaries (the UI would show the key itself otherwise).
    #[test]
    fn every_error_code_has_a_message_in_ja_and_en() {
        let dict = include_str!("../../ui/js/i18n.js");
        for code in ErrorCode::ALL {
            let key = format!("\"{}\":", code.message_key());
            assert_eq!(
                dict.matches(&key).count(),
                2,
                "{key} in the ja and the en dictionary of ui/js/i18n.js"
            );
        }
        for key in DENIED_KEYS {
            let key = format!("\"{key}\":");
            assert_eq!(dict.matches(&key).count(), 2, "{key} in ja and en");
        }
        for code in reji::register::NoticeCode::ALL {
            let key = format!("\"{}\":", code.message_key());
            assert_eq!(dict.matches(&key).count(), 2, "{key} in ja and en");
        }
    }
}
