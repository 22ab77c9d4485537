//! The one place where the core's field names become this CLI's flags. The core names the input
//! a bad-input error is about neutrally (`email`, `items`, `settings.rounding`), and its message
//! may mention other fields; here they become `--email`, `--item` and the setting's key.

use reji::keychain::mask_secrets;
use reji::register::{render_mentions, Error};

/// The flag (or argument) a core field name stands for on this command line.
pub fn flag(field: &str) -> String {
    if let Some(key) = field.strip_prefix("settings.") {
        return key.to_string();
    }
    match field {
        "items" => "--item".into(),
        // `reji refund --items LINE:QTY,…`: a return by items.
        "returned_items" => "--items".into(),
        "products" => "--product".into(),
        "tenders" => "--tender".into(),
        // Names that are not flags: the key typed at `reji keys set`, an unknown setting's name,
        // positional arguments, and the flags the CLI's own code names directly.
        "key" | "stdin" | "setting" => field.into(),
        f if f.starts_with('-') || f.chars().all(|c| c.is_ascii_uppercase()) => f.into(),
        f => format!("--{}", f.replace('_', "-")),
    }
}

/// An error as this CLI prints it: bad input names flags; secrets are masked.
pub fn message(e: &Error) -> String {
    match e {
        Error::BadInput { field, message } => mask_secrets(&format!(
            "{}: {}",
            flag(field),
            render_mentions(message, flag)
        ))
        .into_owned(),
        other => other.user_message(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reji::register::mention;

    #[test]
    fn core_fields_become_the_flags_of_this_cli() {
        for (field, f) in [
            ("email", "--email"),
            ("name_kana", "--name-kana"),
            ("items", "--item"),
            ("expires_in", "--expires-in"),
            ("holder_kana", "--holder-kana"),
            ("settings.rounding", "rounding"),
            ("setting", "setting"),
            ("key", "key"),
            ("--pdf", "--pdf"),
            ("FILE", "FILE"),
        ] {
            assert_eq!(flag(field), f, "{field}");
        }
    }

    #[test]
    fn a_message_names_every_field_it_mentions_as_a_flag() {
        let e = Error::bad(
            "bank_name",
            format!("give {}, {}", mention("bank_name"), mention("holder_kana")),
        );
        assert_eq!(message(&e), "--bank-name: give --bank-name, --holder-kana");
        // The core's own rendering (the app) names them neutrally.
        assert_eq!(e.to_string(), "bank_name: give bank_name, holder_kana");
    }
}
