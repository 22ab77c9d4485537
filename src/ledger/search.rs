//! The counterparty index: finds invoices by any part of the invoice number, customer name, kana or
//! email, fast at a million invoices (電子帳簿保存法 asks that records be searchable by counterparty).
//!
//! Japanese names are often two characters (山田), shorter than the three a trigram index needs, and
//! have no spaces for a word tokenizer. So each searchable text is indexed **one character per
//! token** (`山 田 太 郎`) in an FTS5 table, and a query becomes a **phrase** of its characters
//! (`"山 田"`): FTS5 matches a phrase only where its tokens are adjacent, which is a substring match
//! of any length. Fields are kept apart by a separator token no query can contain, so a phrase never
//! spans two fields. Text is folded the same way on both sides (full-width ASCII to ASCII, lower case).
//! The table is contentless (only the index is stored); the SQL `LIKE` of [`super::Filter`] still
//! checks every candidate, so the index only narrows, never decides.

use rusqlite::{params, Connection};

/// A token between fields (several letters: a query token is always one character).
const FIELD_SEP: &str = " qqsepqq ";

/// Folds a character as both the index and the queries see it.
fn fold(c: char) -> char {
    let c = match c {
        '！'..='～' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        c => c,
    };
    c.to_lowercase().next().unwrap_or(c)
}

/// Whether FTS5's unicode61 tokenizer keeps `c` as (part of) a token.
fn is_token_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// The indexed text of an invoice's searchable fields.
pub fn grams<'a>(fields: impl IntoIterator<Item = Option<&'a str>>) -> String {
    let mut out = String::new();
    for f in fields.into_iter().flatten() {
        if !out.is_empty() {
            out.push_str(FIELD_SEP);
        }
        for c in f.chars().map(fold).filter(|c| is_token_char(*c)) {
            out.push(c);
            out.push(' ');
        }
    }
    out
}

/// The FTS5 query for a search text: a phrase of its characters, or `None` when it has no
/// character the index holds (then only the `LIKE` applies).
pub fn match_query(q: &str) -> Option<String> {
    let chars: Vec<String> = q
        .chars()
        .map(fold)
        .filter(|c| is_token_char(*c))
        .map(|c| c.to_string())
        .collect();
    if chars.is_empty() {
        return None;
    }
    // Inside a phrase only `"` needs escaping, and no token character is `"`.
    Some(format!("\"{}\"", chars.join(" ")))
}

/// Adds (or replaces) one invoice in the index.
pub(super) fn index_invoice(
    conn: &Connection,
    id: i64,
    number: &str,
    name: Option<&str>,
    kana: Option<&str>,
    email: Option<&str>,
) -> rusqlite::Result<()> {
    conn.execute("DELETE FROM invoice_search WHERE rowid = ?1", [id])?;
    conn.execute(
        "INSERT INTO invoice_search(rowid, grams) VALUES (?1, ?2)",
        params![id, grams([Some(number), name, kana, email])],
    )?;
    Ok(())
}

/// Rebuilds the whole index from the invoices (migration, fixtures loaded with plain SQL).
pub(super) fn rebuild(conn: &Connection) -> rusqlite::Result<u64> {
    conn.execute("DELETE FROM invoice_search", [])?;
    let mut read = conn.prepare(
        "SELECT id, number, customer_name, customer_name_kana, customer_email FROM invoices",
    )?;
    let mut write = conn.prepare("INSERT INTO invoice_search(rowid, grams) VALUES (?1, ?2)")?;
    let mut rows = read.query([])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        let (id, number): (i64, String) = (r.get(0)?, r.get(1)?);
        let (name, kana, email): (Option<String>, Option<String>, Option<String>) =
            (r.get(2)?, r.get(3)?, r.get(4)?);
        write.execute(params![
            id,
            grams([
                Some(number.as_str()),
                name.as_deref(),
                kana.as_deref(),
                email.as_deref()
            ])
        ])?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_become_one_token_per_character_with_fields_apart() {
        let g = grams([
            Some("2026-000042"),
            Some("山田 太郎"),
            None,
            Some("Ｔａｒｏ@example.jp"),
        ]);
        assert_eq!(
            g,
            "2 0 2 6 0 0 0 0 4 2  qqsepqq 山 田 太 郎  qqsepqq t a r o e x a m p l e j p "
        );
    }

    #[test]
    fn queries_are_phrases_of_their_characters() {
        assert_eq!(match_query("山田").as_deref(), Some("\"山 田\""));
        assert_eq!(match_query(" ＴＡＲＯ ").as_deref(), Some("\"t a r o\""));
        assert_eq!(match_query("\"x\" OR y*").as_deref(), Some("\"x o r y\""));
        assert_eq!(match_query("@-."), None);
    }

    #[test]
    fn a_phrase_finds_substrings_of_any_length_and_never_across_fields() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(super::super::schema::SEARCH_TABLE).unwrap();
        let rows = [
            (
                1,
                "2026-000001",
                Some("山田太郎"),
                Some("ヤマダタロウ"),
                None,
            ),
            (
                2,
                "2026-000002",
                Some("田中"),
                None,
                Some("tanaka@example.jp"),
            ),
            (3, "2026-000003", Some("山"), Some("田"), None),
        ];
        for (id, n, name, kana, email) in rows {
            index_invoice(&c, id, n, name, kana, email).unwrap();
        }
        let find = |q: &str| -> Vec<i64> {
            let mut st = c
                .prepare(
                    "SELECT rowid FROM invoice_search WHERE invoice_search MATCH ?1 ORDER BY rowid",
                )
                .unwrap();
            st.query_map([match_query(q).unwrap()], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        assert_eq!(find("山田"), vec![1]); // not 3: 山 and 田 are in different fields
        assert_eq!(find("田"), vec![1, 2, 3]);
        assert_eq!(find("太郎"), vec![1]);
        assert_eq!(find("ダタロ"), vec![1]);
        assert_eq!(find("TANAKA@EX"), vec![2]);
        assert_eq!(find("000002"), vec![2]);
        assert!(find("山田花子").is_empty());
        // Re-indexing replaces.
        index_invoice(&c, 2, "2026-000002", Some("佐藤"), None, None).unwrap();
        assert!(find("tanaka").is_empty());
        assert_eq!(find("佐藤"), vec![2]);
    }
}
