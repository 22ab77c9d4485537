//! Versioned migrations. `PRAGMA user_version` holds the version; each step runs in one transaction.
//! Never edit a released step: add a new one.

pub const MIGRATIONS: &[&str] = &[
    // 1: the headless slice.
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE invoice_counters (
    year INTEGER PRIMARY KEY,
    last INTEGER NOT NULL
);

CREATE TABLE invoices (
    id                 INTEGER PRIMARY KEY,
    number             TEXT NOT NULL UNIQUE,
    created_at         TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('pending','failed','awaiting_payment','paid',
                           'needs_review','partially_refunded','refunded','cancelled','expired')),
    currency           TEXT NOT NULL,
    amount             INTEGER NOT NULL CHECK (amount > 0),
    tax_10             INTEGER NOT NULL DEFAULT 0,
    tax_8              INTEGER NOT NULL DEFAULT 0,
    gross_10           INTEGER NOT NULL DEFAULT 0,
    gross_8            INTEGER NOT NULL DEFAULT 0,
    price_mode         TEXT NOT NULL,
    rounding           TEXT NOT NULL,
    customer_name      TEXT,
    customer_name_kana TEXT,
    customer_email     TEXT,
    customer_phone     TEXT,
    methods            TEXT NOT NULL DEFAULT '',
    locale             TEXT,
    expires_in         INTEGER NOT NULL,
    paid_at            TEXT,
    refunded_amount    INTEGER NOT NULL DEFAULT 0,
    updated_at         TEXT NOT NULL
);

CREATE TABLE line_items (
    id         INTEGER PRIMARY KEY,
    invoice_id INTEGER NOT NULL REFERENCES invoices(id),
    position   INTEGER NOT NULL,
    name       TEXT NOT NULL,
    unit_price INTEGER NOT NULL,
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    tax_rate   INTEGER NOT NULL CHECK (tax_rate IN (8, 10)),
    UNIQUE (invoice_id, position)
);

-- Every POST Reji makes, written before it is sent: the idempotency key and the exact body.
CREATE TABLE api_requests (
    id              INTEGER PRIMARY KEY,
    invoice_id      INTEGER NOT NULL REFERENCES invoices(id),
    kind            TEXT NOT NULL,
    path            TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    body            TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    completed_at    TEXT,
    outcome         TEXT
);

CREATE TABLE session_attempts (
    id                 INTEGER PRIMARY KEY,
    invoice_id         INTEGER NOT NULL REFERENCES invoices(id),
    attempt            INTEGER NOT NULL,
    external_order_num TEXT NOT NULL UNIQUE,
    request_id         INTEGER NOT NULL REFERENCES api_requests(id),
    session_id         TEXT UNIQUE,
    session_url        TEXT,
    session_status     TEXT,
    session_expired    INTEGER NOT NULL DEFAULT 0,
    session_created_at TEXT,
    deadline           TEXT,
    created_at         TEXT NOT NULL,
    UNIQUE (invoice_id, attempt)
);

CREATE TABLE payments (
    id               TEXT PRIMARY KEY,
    invoice_id       INTEGER REFERENCES invoices(id),
    session_id       TEXT,
    status           TEXT NOT NULL,
    payment_type     TEXT,
    amount           INTEGER NOT NULL,
    currency         TEXT NOT NULL,
    fee              INTEGER NOT NULL DEFAULT 0,
    amount_refunded  INTEGER NOT NULL DEFAULT 0,
    details          TEXT,
    refund_requests  TEXT,
    payment_deadline TEXT,
    created_at       TEXT,
    captured_at      TEXT,
    updated_at       TEXT NOT NULL
);

-- Append-only: every applied (or refused) status move and every staff action.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    invoice_id  INTEGER NOT NULL REFERENCES invoices(id),
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT,
    cause       TEXT NOT NULL,
    detail      TEXT
);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER invoices_no_delete BEFORE DELETE ON invoices
BEGIN SELECT RAISE(ABORT, 'invoices are never deleted'); END;

CREATE INDEX invoices_status ON invoices(status);
CREATE INDEX attempts_invoice ON session_attempts(invoice_id);
CREATE INDEX payments_invoice ON payments(invoice_id);
CREATE INDEX events_invoice ON events(invoice_id);
"#,
    // 2: indexes for history search (date, amount, customer) and the tracker's change-feed cursor.
    r#"
CREATE INDEX invoices_created ON invoices(created_at);
CREATE INDEX invoices_amount ON invoices(amount, created_at);
CREATE INDEX invoices_customer ON invoices(customer_name);
CREATE TABLE feed_cursor (
    feed       TEXT PRIMARY KEY,
    last_time  TEXT,
    seen_ids   TEXT NOT NULL DEFAULT '[]',
    updated_at TEXT NOT NULL
);
"#,
    // 3: the audit trail: every event carries the hash of the previous one (tamper evidence). The
    // trigger is recreated after Rust fills the hashes of existing rows (see Ledger::migrate).
    r#"
DROP TRIGGER events_no_update;
ALTER TABLE events ADD COLUMN prev_hash TEXT;
ALTER TABLE events ADD COLUMN hash TEXT;
"#,
    // 4: daily close (日計表). Invoices carry their shop-local business date (rows from before this
    // step are dated in Asia/Tokyo, the default shop time zone); a closed day's records can no
    // longer be edited, only corrected by new entries.
    r#"
ALTER TABLE invoices ADD COLUMN business_date TEXT;
UPDATE invoices SET business_date = date(created_at, '+9 hours');
CREATE INDEX invoices_business_date ON invoices(business_date);
CREATE INDEX invoices_paid_at ON invoices(paid_at);
CREATE TABLE daily_closes (
    business_date TEXT PRIMARY KEY,
    closed_at     TEXT NOT NULL,
    summary       TEXT NOT NULL
);
CREATE TRIGGER daily_closes_no_update BEFORE UPDATE ON daily_closes
BEGIN SELECT RAISE(ABORT, 'a daily close is final'); END;
CREATE TRIGGER daily_closes_no_delete BEFORE DELETE ON daily_closes
BEGIN SELECT RAISE(ABORT, 'a daily close is final'); END;
CREATE TRIGGER invoices_closed_day_locked
BEFORE UPDATE OF number, created_at, currency, amount, tax_10, tax_8, gross_10, gross_8, price_mode, rounding,
    customer_name, customer_name_kana, customer_email, customer_phone, business_date ON invoices
WHEN EXISTS (SELECT 1 FROM daily_closes WHERE business_date = OLD.business_date)
BEGIN SELECT RAISE(ABORT, 'the day is closed: correct it with a new entry'); END;
CREATE TRIGGER invoices_closed_day_no_insert BEFORE INSERT ON invoices
WHEN EXISTS (SELECT 1 FROM daily_closes WHERE business_date = NEW.business_date)
BEGIN SELECT RAISE(ABORT, 'the day is closed: correct it with a new entry'); END;
CREATE TRIGGER line_items_closed_day_locked BEFORE UPDATE ON line_items
WHEN EXISTS (SELECT 1 FROM daily_closes d JOIN invoices i ON i.business_date = d.business_date WHERE i.id = OLD.invoice_id)
BEGIN SELECT RAISE(ABORT, 'the day is closed: correct it with a new entry'); END;
CREATE TRIGGER line_items_no_delete BEFORE DELETE ON line_items
BEGIN SELECT RAISE(ABORT, 'line items are never deleted'); END;
"#,
    // 5: the counterparty index (see ledger/search.rs), filled by Rust after the step.
    SEARCH_TABLE,
    // 6: the customer of a closed day's invoice can be corrected: the correction is a new entry of
    // the event log keeping the old value (`reji correct`); amounts, dates and numbers stay locked.
    r#"
DROP TRIGGER invoices_closed_day_locked;
CREATE TRIGGER invoices_closed_day_locked
BEFORE UPDATE OF number, created_at, currency, amount, tax_10, tax_8, gross_10, gross_8, price_mode, rounding,
    business_date ON invoices
WHEN EXISTS (SELECT 1 FROM daily_closes WHERE business_date = OLD.business_date)
BEGIN SELECT RAISE(ABORT, 'the day is closed: correct it with a new entry'); END;
"#,
    // 7: exempt lines (非課税, rate 0): line items may carry rate 0 (SQLite cannot change a CHECK, so
    // the table is rebuilt, rows and ids kept, its triggers recreated) and an invoice keeps its exempt
    // total (gross_0), locked on a closed day like the other figures.
    r#"
ALTER TABLE invoices ADD COLUMN gross_0 INTEGER NOT NULL DEFAULT 0;
DROP TRIGGER invoices_closed_day_locked;
CREATE TRIGGER invoices_closed_day_locked
BEFORE UPDATE OF number, created_at, currency, amount, tax_10, tax_8, gross_10, gross_8, gross_0, price_mode,
    rounding, business_date ON invoices
WHEN EXISTS (SELECT 1 FROM daily_closes WHERE business_date = OLD.business_date)
BEGIN SELECT RAISE(ABORT, 'the day is closed: correct it with a new entry'); END;
DROP TRIGGER line_items_closed_day_locked;
DROP TRIGGER line_items_no_delete;
CREATE TABLE line_items_v7 (
    id         INTEGER PRIMARY KEY,
    invoice_id INTEGER NOT NULL REFERENCES invoices(id),
    position   INTEGER NOT NULL,
    name       TEXT NOT NULL,
    unit_price INTEGER NOT NULL,
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    tax_rate   INTEGER NOT NULL CHECK (tax_rate IN (0, 8, 10)),
    UNIQUE (invoice_id, position)
);
INSERT INTO line_items_v7(id, invoice_id, position, name, unit_price, quantity, tax_rate)
    SELECT id, invoice_id, position, name, unit_price, quantity, tax_rate FROM line_items;
DROP TABLE line_items;
ALTER TABLE line_items_v7 RENAME TO line_items;
CREATE TRIGGER line_items_closed_day_locked BEFORE UPDATE ON line_items
WHEN EXISTS (SELECT 1 FROM daily_closes d JOIN invoices i ON i.business_date = d.business_date WHERE i.id = OLD.invoice_id)
BEGIN SELECT RAISE(ABORT, 'the day is closed: correct it with a new entry'); END;
CREATE TRIGGER line_items_no_delete BEFORE DELETE ON line_items
BEGIN SELECT RAISE(ABORT, 'line items are never deleted'); END;
"#,
    // 8: the catalog. Products (versioned: `products` holds each product's current version, and
    // every version a change replaces moves to product_versions, append-only; a product is
    // archived, never deleted), the product and the
    // discount of each line, the order's discount and eat-in / take-away on the invoice.
    r#"
CREATE TABLE products (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kana        TEXT,
    price       INTEGER NOT NULL CHECK (price >= 0),
    class       TEXT NOT NULL CHECK (class IN ('general','food','reduced','exempt')),
    code        TEXT,
    code_key    TEXT,
    category    TEXT,
    quick_key   INTEGER,
    search      TEXT NOT NULL,
    archived_at TEXT,
    version     INTEGER NOT NULL,
    action      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX products_code ON products(code_key) WHERE archived_at IS NULL AND code_key IS NOT NULL;
CREATE UNIQUE INDEX products_quick_key ON products(quick_key) WHERE archived_at IS NULL AND quick_key IS NOT NULL;
CREATE TRIGGER products_no_delete BEFORE DELETE ON products
BEGIN SELECT RAISE(ABORT, 'products are archived, never deleted'); END;
CREATE TABLE product_versions (
    product_id TEXT NOT NULL,
    version    INTEGER NOT NULL,
    at         TEXT NOT NULL,
    by         TEXT NOT NULL,
    action     TEXT NOT NULL,
    data       TEXT NOT NULL,
    PRIMARY KEY (product_id, version)
) WITHOUT ROWID;
CREATE TRIGGER product_versions_no_update BEFORE UPDATE ON product_versions
BEGIN SELECT RAISE(ABORT, 'product versions are append-only'); END;
CREATE TRIGGER product_versions_no_delete BEFORE DELETE ON product_versions
BEGIN SELECT RAISE(ABORT, 'product versions are append-only'); END;
CREATE TABLE held_orders (
    id          TEXT PRIMARY KEY,
    label       TEXT,
    data        TEXT NOT NULL,
    total       INTEGER NOT NULL,
    by          TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    recalled_at TEXT
);
CREATE TRIGGER held_orders_no_delete BEFORE DELETE ON held_orders
BEGIN SELECT RAISE(ABORT, 'held orders are recalled, never deleted'); END;
-- How a sale was paid at the counter (cash with what was handed over and the change, the shop's own
-- tenders); KOMOJU's part is the sessions and payments, for `komoju_amount` (NULL: all of `amount`).
CREATE TABLE tenders (
    id         TEXT PRIMARY KEY,
    invoice_id INTEGER NOT NULL REFERENCES invoices(id),
    position   INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('cash', 'shop')),
    name       TEXT,
    amount     INTEGER NOT NULL CHECK (amount >= 0),
    tendered   INTEGER,
    change     INTEGER,
    created_at TEXT NOT NULL,
    by         TEXT NOT NULL,
    UNIQUE (invoice_id, position)
);
-- Money given back at the counter (cash from the drawer, or the shop's tender), per refund.
CREATE TABLE tender_refunds (
    id         TEXT PRIMARY KEY,
    invoice_id INTEGER NOT NULL REFERENCES invoices(id),
    kind       TEXT NOT NULL CHECK (kind IN ('cash', 'shop')),
    name       TEXT,
    amount     INTEGER NOT NULL CHECK (amount > 0),
    reason     TEXT,
    at         TEXT NOT NULL,
    by         TEXT NOT NULL
);
CREATE INDEX tender_refunds_at ON tender_refunds(at);
CREATE TRIGGER tender_refunds_no_update BEFORE UPDATE ON tender_refunds
BEGIN SELECT RAISE(ABORT, 'refunds are append-only'); END;
CREATE TRIGGER tender_refunds_no_delete BEFORE DELETE ON tender_refunds
BEGIN SELECT RAISE(ABORT, 'refunds are append-only'); END;
CREATE TRIGGER tenders_no_update BEFORE UPDATE ON tenders
BEGIN SELECT RAISE(ABORT, 'tenders are append-only'); END;
CREATE TRIGGER tenders_no_delete BEFORE DELETE ON tenders
BEGIN SELECT RAISE(ABORT, 'tenders are append-only'); END;
ALTER TABLE invoices ADD COLUMN komoju_amount INTEGER;
-- Staff: a PIN only as a salted slow hash; never deleted (an event names who did it).
CREATE TABLE staff (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('cashier', 'manager')),
    pin_hash    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    archived_at TEXT
);
CREATE TRIGGER staff_no_delete BEFORE DELETE ON staff
BEGIN SELECT RAISE(ABORT, 'staff are archived, never deleted'); END;
-- The cash drawer's sessions: opened with a counted float, closed (精算) with a count; a closed
-- session is final. Movements (入金 / 出金) are append-only.
CREATE TABLE drawer_sessions (
    id          TEXT PRIMARY KEY,
    opened_at   TEXT NOT NULL,
    opened_by   TEXT NOT NULL,
    float       INTEGER NOT NULL CHECK (float >= 0),
    float_count TEXT NOT NULL,
    closed_at   TEXT,
    closed_by   TEXT,
    expected    INTEGER,
    counted     INTEGER,
    count       TEXT,
    difference  INTEGER,
    report      TEXT
);
CREATE UNIQUE INDEX drawer_one_open ON drawer_sessions((closed_at IS NULL)) WHERE closed_at IS NULL;
CREATE TRIGGER drawer_closed_is_final BEFORE UPDATE ON drawer_sessions WHEN OLD.closed_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a closed drawer (精算) is final'); END;
CREATE TRIGGER drawer_sessions_no_delete BEFORE DELETE ON drawer_sessions
BEGIN SELECT RAISE(ABORT, 'drawer sessions are never deleted'); END;
CREATE TABLE drawer_movements (
    id         TEXT PRIMARY KEY,
    session_id TEXT REFERENCES drawer_sessions(id),
    kind       TEXT NOT NULL CHECK (kind IN ('in', 'out')),
    amount     INTEGER NOT NULL CHECK (amount > 0),
    reason     TEXT NOT NULL,
    at         TEXT NOT NULL,
    by         TEXT NOT NULL
);
CREATE INDEX drawer_movements_at ON drawer_movements(at);
CREATE TRIGGER drawer_movements_no_update BEFORE UPDATE ON drawer_movements
BEGIN SELECT RAISE(ABORT, 'drawer movements are append-only'); END;
CREATE TRIGGER drawer_movements_no_delete BEFORE DELETE ON drawer_movements
BEGIN SELECT RAISE(ABORT, 'drawer movements are append-only'); END;
ALTER TABLE line_items ADD COLUMN product_id TEXT;
ALTER TABLE line_items ADD COLUMN discount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN discount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN discount_10 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN discount_8 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN discount_0 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invoices ADD COLUMN order_discount TEXT;
ALTER TABLE invoices ADD COLUMN dining TEXT;
DROP TRIGGER invoices_closed_day_locked;
CREATE TRIGGER invoices_closed_day_locked
BEFORE UPDATE OF number, created_at, currency, amount, tax_10, tax_8, gross_10, gross_8, gross_0, price_mode,
    rounding, business_date, discount, discount_10, discount_8, discount_0, order_discount, dining,
    komoju_amount ON invoices
WHEN EXISTS (SELECT 1 FROM daily_closes WHERE business_date = OLD.business_date)
BEGIN SELECT RAISE(ABORT, 'the day is closed: correct it with a new entry'); END;
"#,
    // 9: the print queue. A job keeps the bytes it was queued with (what was queued is what
    // prints, after a restart too); its status moves by compare-and-set on `version`, and a
    // printed or dropped job is final. Jobs of a sale are also in the sale's event log.
    r#"
CREATE TABLE print_jobs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('receipt', 'return', 'slip', 'report', 'test', 'drawer')),
    invoice_id  INTEGER REFERENCES invoices(id),
    subject     TEXT NOT NULL,
    reissue     INTEGER NOT NULL DEFAULT 0,
    payload     BLOB NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('queued', 'printed', 'failed', 'dropped')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX print_jobs_open ON print_jobs(status) WHERE status IN ('queued', 'failed');
CREATE INDEX print_jobs_invoice ON print_jobs(invoice_id) WHERE invoice_id IS NOT NULL;
CREATE TRIGGER print_jobs_no_delete BEFORE DELETE ON print_jobs
BEGIN SELECT RAISE(ABORT, 'print jobs are kept, never deleted'); END;
CREATE TRIGGER print_jobs_final BEFORE UPDATE ON print_jobs WHEN OLD.status IN ('printed', 'dropped')
BEGIN SELECT RAISE(ABORT, 'a printed or dropped job is final'); END;
"#,
];

/// The counterparty index: trigrams, and non-ASCII characters one per token (ledger/search.rs).
pub const SEARCH_TABLE: &str = "CREATE VIRTUAL TABLE invoice_search USING fts5(grams, content='', \
     contentless_delete=1, tokenize='unicode61 remove_diacritics 0');
     CREATE VIRTUAL TABLE invoice_search3 USING fts5(text, content='', contentless_delete=1, \
     tokenize='trigram');";

/// SQL run after a step's Rust backfill (index = version reached).
pub fn after(version: u32) -> Option<&'static str> {
    match version {
        3 => Some(
            "CREATE TRIGGER events_no_update BEFORE UPDATE ON events
             BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
             CREATE UNIQUE INDEX events_hash ON events(hash);",
        ),
        _ => None,
    }
}

pub const LATEST: u32 = MIGRATIONS.len() as u32;

/// The schema version a ledger's tables, columns and triggers show, whatever its `user_version`
/// says: the highest step whose marks (and those of every step before it) are all present.
pub fn detect_version(conn: &rusqlite::Connection) -> rusqlite::Result<u32> {
    let object = |kind: &str, name: &str| -> rusqlite::Result<Option<String>> {
        use rusqlite::OptionalExtension;
        conn.query_row(
            "SELECT COALESCE(sql, '') FROM sqlite_master WHERE type = ?1 AND name = ?2",
            [kind, name],
            |r| r.get(0),
        )
        .optional()
    };
    let column = |table: &str, col: &str| -> rusqlite::Result<bool> {
        let n: i64 = conn.query_row(
            "SELECT COUNT(*) FROM pragma_table_info(?1) WHERE name = ?2",
            [table, col],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    };
    let marks: [bool; 9] = [
        object("table", "invoices")?.is_some(),
        object("table", "feed_cursor")?.is_some(),
        column("events", "hash")? && object("index", "events_hash")?.is_some(),
        object("table", "daily_closes")?.is_some(),
        object("table", "invoice_search")?.is_some(),
        object("trigger", "invoices_closed_day_locked")?
            .is_some_and(|sql| !sql.contains("customer_name")),
        column("invoices", "gross_0")?,
        object("table", "products")?.is_some() && column("invoices", "dining")?,
        object("table", "print_jobs")?.is_some(),
    ];
    Ok(marks.iter().take_while(|m| **m).count() as u32)
}
