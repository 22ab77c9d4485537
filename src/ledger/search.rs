//! The counterparty index: finds invoices by any part of the invoice number, customer name, kana or
//! email, fast at a million invoices (電子帳簿保存法 asks that records be searchable by counterparty).
//!
//! Two contentless FTS5 tables (only the index is stored):
//! - `invoice_search3`, FTS5's **trigram** tokenizer over all the text: a query of three or more
//!   characters needs a few of its trigrams there (e-mail addresses, invoice numbers, longer names;
//!   see [`plan`]);
//! - `invoice_search`, the **non-ASCII characters one per token** (`山 田 太 郎`): Japanese names are
//!   often two characters (山田), too short for trigrams, so a one- or two-character query becomes a
//!   **phrase** of its characters (`"山 田"`), which FTS5 matches only where the tokens are adjacent:
//!   a substring match of any length. Fields are kept apart by a separator token no query contains.
//!   ASCII stays out of it (every e-mail has an `a`: such posting lists would be the whole table).
//!
//! Text is folded the same way on both sides (full-width ASCII to ASCII, lower case). A one- or
//! two-character ASCII query has no index and is scanned. The SQL `LIKE` of [`super::Filter`] still
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

/// The one-character-per-token text (non-ASCII characters) of an invoice's searchable fields.
pub fn grams<'a>(fields: impl IntoIterator<Item = Option<&'a str>>) -> String {
    let mut out = String::new();
    for f in fields.into_iter().flatten() {
        if !out.is_empty() {
            out.push_str(FIELD_SEP);
        }
        for c in f
            .chars()
            .map(fold)
            .filter(|c| !c.is_ascii() && is_token_char(*c))
        {
            out.push(c);
            out.push(' ');
        }
    }
    out
}

/// The folded text of the fields for the trigram table, one field per line.
pub fn folded<'a>(fields: impl IntoIterator<Item = Option<&'a str>>) -> String {
    let mut out = String::new();
    for f in fields.into_iter().flatten() {
        out.extend(f.chars().map(fold));
        out.push('\n');
    }
    out
}

/// How a search text uses the index: which table and what MATCH.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Three or more characters: a substring of the trigram table.
    Trigram(String),
    /// One or two characters with a non-ASCII one: a phrase of the one-character table.
    Unigram(String),
}

impl Plan {
    pub fn table(&self) -> &'static str {
        match self {
            Plan::Trigram(_) => "invoice_search3",
            Plan::Unigram(_) => "invoice_search",
        }
    }
    pub fn query(&self) -> &str {
        match self {
            Plan::Trigram(q) | Plan::Unigram(q) => q,
        }
    }
}

/// Trigrams a long query is narrowed by: reading every trigram's posting list costs more than
/// checking the few extra candidates a handful of them let through.
const MAX_TRIGRAMS: usize = 4;

/// The index plan for a search text, or `None` when the index cannot help (then only the `LIKE`).
///
/// Three or more characters: the AND of up to [`MAX_TRIGRAMS`] of the text's trigrams — the first,
/// the last, and evenly spaced ones between (the ends of an e-mail or a name are usually its rarest
/// parts: digits, `@`, a given name). Every invoice holding the text holds them all, so the
/// candidates are a superset of the matches, and the `LIKE` decides (results are the full scan's).
pub fn plan(q: &str) -> Option<Plan> {
    let f: Vec<char> = q.trim().chars().map(fold).collect();
    if f.len() >= 3 {
        let n = f.len() - 2; // trigrams at 0..n
        let picks: Vec<usize> = if n <= MAX_TRIGRAMS {
            (0..n).collect()
        } else {
            let mut p: Vec<usize> = (0..MAX_TRIGRAMS)
                .map(|k| k * (n - 1) / (MAX_TRIGRAMS - 1))
                .collect();
            p.dedup();
            p
        };
        let terms: Vec<String> = picks
            .into_iter()
            .map(|i| {
                let t: String = f[i..i + 3].iter().collect();
                // A quoted FTS5 string; `"` is escaped by doubling.
                format!("\"{}\"", t.replace('"', "\"\""))
            })
            .collect();
        return Some(Plan::Trigram(terms.join(" AND ")));
    }
    let f: String = f.into_iter().collect();
    let chars: Vec<String> = f
        .chars()
        .filter(|c| !c.is_ascii() && is_token_char(*c))
        .map(|c| c.to_string())
        .collect();
    (!chars.is_empty()).then(|| Plan::Unigram(format!("\"{}\"", chars.join(" "))))
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
    conn.execute("DELETE FROM invoice_search3 WHERE rowid = ?1", [id])?;
    let fields = [Some(number), name, kana, email];
    conn.execute(
        "INSERT INTO invoice_search(rowid, grams) VALUES (?1, ?2)",
        params![id, grams(fields)],
    )?;
    conn.execute(
        "INSERT INTO invoice_search3(rowid, text) VALUES (?1, ?2)",
        params![id, folded(fields)],
    )?;
    Ok(())
}

/// Rebuilds the whole index from the invoices (migration, fixtures loaded with plain SQL).
pub(super) fn rebuild(conn: &Connection) -> rusqlite::Result<u64> {
    conn.execute("DELETE FROM invoice_search", [])?;
    conn.execute("DELETE FROM invoice_search3", [])?;
    let mut read = conn.prepare(
        "SELECT id, number, customer_name, customer_name_kana, customer_email FROM invoices",
    )?;
    let mut write = conn.prepare("INSERT INTO invoice_search(rowid, grams) VALUES (?1, ?2)")?;
    let mut write3 = conn.prepare("INSERT INTO invoice_search3(rowid, text) VALUES (?1, ?2)")?;
    let mut rows = read.query([])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        let (id, number): (i64, String) = (r.get(0)?, r.get(1)?);
        let (name, kana, email): (Option<String>, Option<String>, Option<String>) =
            (r.get(2)?, r.get(3)?, r.get(4)?);
        let fields = [
            Some(number.as_str()),
            name.as_deref(),
            kana.as_deref(),
            email.as_deref(),
        ];
        write.execute(params![id, grams(fields)])?;
        write3.execute(params![id, folded(fields)])?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_ascii_text_becomes_one_token_per_character_with_fields_apart() {
        let f = [
            Some("2026-000042"),
            Some("山田 太郎"),
            None,
            Some("Ｔａｒｏ@example.jp"),
        ];
        assert_eq!(grams(f), "山 田 太 郎  qqsepqq ");
        assert_eq!(folded(f), "2026-000042\n山田 太郎\ntaro@example.jp\n");
    }

    #[test]
    fn plans_follow_the_query_length() {
        assert_eq!(plan("山田"), Some(Plan::Unigram("\"山 田\"".into())));
        assert_eq!(plan("田"), Some(Plan::Unigram("\"田\"".into())));
        assert_eq!(
            plan(" ＴＡＲＯ "),
            Some(Plan::Trigram("\"tar\" AND \"aro\"".into()))
        );
        assert_eq!(
            plan("山田太郎"),
            Some(Plan::Trigram("\"山田太\" AND \"田太郎\"".into()))
        );
        assert_eq!(plan("a\"b"), Some(Plan::Trigram("\"a\"\"b\"".into())));
        // A long text: the first, the last and evenly spaced trigrams, four at most.
        assert_eq!(
            plan("hina.yamada82@"),
            Some(Plan::Trigram(
                "\"hin\" AND \"a.y\" AND \"mad\" AND \"82@\"".into()
            ))
        );
        assert_eq!(plan("ab"), None);
        assert_eq!(plan("@"), None);
    }

    #[test]
    fn both_tables_find_substrings_and_never_across_fields() {
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
            let p = plan(q).unwrap();
            let mut st = c
                .prepare(&format!(
                    "SELECT rowid FROM {t} WHERE {t} MATCH ?1 ORDER BY rowid",
                    t = p.table()
                ))
                .unwrap();
            st.query_map([p.query()], |r| r.get(0))
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
