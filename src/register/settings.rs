//! Shop settings stored in the ledger (`meta` keys `setting.*`).

use super::*;

/// The payment types a register offers staff, in the order the screens list them (QR wallets a café
/// takes most first). Each is one of KOMOJU's types (`PaymentType::KNOWN`).
pub const PAYMENT_TYPES: [&str; 8] = [
    "paypay",
    "credit_card",
    "konbini",
    "bank_transfer",
    "pay_easy",
    "linepay",
    "merpay",
    "rakutenpay",
];

/// Which change feed the tracker's slow lane follows (the `feed` setting); `Auto` picks at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum FeedMode {
    #[default]
    Auto,
    Events,
    List,
}

impl FeedMode {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedMode::Auto => "auto",
            FeedMode::Events => "events",
            FeedMode::List => "list",
        }
    }
}

impl std::str::FromStr for FeedMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "auto" => Ok(FeedMode::Auto),
            "events" => Ok(FeedMode::Events),
            "list" => Ok(FeedMode::List),
            other => Err(format!("feed {other:?} must be auto, events or list")),
        }
    }
}

/// A setting's new value: text (as the CLI and the ledger hold it) or a list (the payment types
/// offered, as the settings screen sends them).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(untagged)]
pub enum SettingValue {
    Text(String),
    List(Vec<String>),
}

impl SettingValue {
    /// The stored form: a list is comma-separated (no payment type holds a comma).
    pub fn to_text(&self) -> String {
        match self {
            SettingValue::Text(s) => s.trim().to_string(),
            SettingValue::List(v) => v
                .iter()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}

impl From<&str> for SettingValue {
    fn from(s: &str) -> Self {
        SettingValue::Text(s.to_string())
    }
}

impl From<&String> for SettingValue {
    fn from(s: &String) -> Self {
        SettingValue::Text(s.clone())
    }
}

impl From<String> for SettingValue {
    fn from(s: String) -> Self {
        SettingValue::Text(s)
    }
}

impl From<Vec<String>> for SettingValue {
    fn from(v: Vec<String>) -> Self {
        SettingValue::List(v)
    }
}

/// Shop settings stored in the ledger (`meta` keys `setting.*`).
#[derive(Clone, Debug)]
pub struct Settings {
    pub tz: Tz,
    pub price_mode: PriceMode,
    pub rounding: Rounding,
    pub expires_in: u32,
    /// Shown on the customer display and receipts.
    pub shop_name: String,
    /// 適格請求書発行事業者登録番号 (`T` + 13 digits), normalised; receipts are qualified invoices
    /// only with it.
    pub registration_number: Option<String>,
    pub shop_address: Option<String>,
    pub shop_phone: Option<String>,
    /// A line printed at the bottom of every receipt.
    pub receipt_footer: Option<String>,
    /// Account names of the journal export (they must match the accounting software's).
    pub journal_debit_account: String,
    pub journal_debit_sub: String,
    pub journal_credit_account: String,
    /// The journal's debit account for cash taken at the counter (現金).
    pub journal_cash_account: String,
    /// The journal's debit account for the shop's own tenders (their name is the sub-account).
    pub journal_tender_account: String,
    /// The slow lane's change feed: auto (events while alive, else the payment list), events, list.
    pub feed: FeedMode,
    /// The payment methods a sale offers when the cashier picks none (KOMOJU payment types); empty
    /// = what the KOMOJU account has enabled.
    pub payment_methods: Vec<String>,
    /// The payment page's language when a sale gives none (`ja`, `en`, `ko`); none = KOMOJU's choice.
    pub locale: Option<String>,
    /// Desktop demo only: the fake KOMOJU serves on the LAN so a phone can scan and pay (takes
    /// effect at the next start).
    pub demo_lan: bool,
    /// Whether an order is eaten in or taken away unless the cashier switches it (food's rate).
    pub dining: Dining,
    /// When a business day starts (`HH:MM`): sales before it belong to the day before.
    pub day_starts_at: String,
    /// The shop's own tenders the app offers at the counter (商品券, 売掛, a card terminal), in order.
    pub shop_tenders: Vec<String>,
    /// The receipt printer and the cash drawer on it (`printer*`, `auto_print`, `drawer*`).
    pub printer: crate::printing::PrinterSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            tz: chrono_tz::Asia::Tokyo,
            price_mode: PriceMode::Inclusive,
            rounding: Rounding::Down,
            expires_in: DEFAULT_EXPIRES_IN,
            shop_name: DEFAULT_SHOP_NAME.to_string(),
            registration_number: None,
            shop_address: None,
            shop_phone: None,
            receipt_footer: None,
            journal_debit_account: "売掛金".into(),
            journal_debit_sub: "KOMOJU".into(),
            journal_credit_account: "売上高".into(),
            journal_cash_account: "現金".into(),
            journal_tender_account: "売掛金".into(),
            feed: FeedMode::Auto,
            payment_methods: Vec::new(),
            locale: None,
            demo_lan: false,
            dining: Dining::TakeAway,
            day_starts_at: "00:00".into(),
            shop_tenders: Vec::new(),
            printer: Default::default(),
        }
    }
}

/// The shop name until one is set.
pub const DEFAULT_SHOP_NAME: &str = "Reji";

impl Settings {
    pub const KEYS: [&'static str; 31] = [
        "time_zone",
        "price_mode",
        "rounding",
        "expires_in",
        "shop_name",
        "registration_number",
        "shop_address",
        "shop_phone",
        "receipt_footer",
        "journal_debit_account",
        "journal_debit_sub",
        "journal_credit_account",
        "journal_cash_account",
        "journal_tender_account",
        "feed",
        "payment_methods",
        "locale",
        "demo_lan",
        "dining",
        "day_starts_at",
        "shop_tenders",
        "printer",
        "printer_host",
        "printer_port",
        "printer_device",
        "printer_paper",
        "printer_mode",
        "printer_status",
        "auto_print",
        "drawer",
        "drawer_pulse_ms",
    ];

    pub fn load(ledger: &Ledger) -> Result<Settings> {
        let mut s = Settings::default();
        for key in Self::KEYS {
            if let Some(v) = ledger.meta(&format!("setting.{key}"))? {
                s.apply(key, &v)?;
            }
        }
        Ok(s)
    }

    /// Validates and applies one setting. A refusal names the field `settings.<key>` (the CLI
    /// shows the key, the settings screen puts the message beside that setting).
    pub fn apply(&mut self, key: &str, value: &str) -> Result<()> {
        self.apply_value(key, &SettingValue::from(value))
    }

    /// As [`Settings::apply`], for text or a list. Only `payment_methods` takes a list.
    pub fn apply_value(&mut self, key: &str, value: &SettingValue) -> Result<()> {
        let checked = match value {
            SettingValue::Text(text) => self.apply_checked(key, text),
            SettingValue::List(list) if key == "payment_methods" => {
                let methods: Vec<PaymentType> = list
                    .iter()
                    .map(|m| PaymentType::from_wire(m.trim()))
                    .collect();
                validate_methods(&methods).map(|m| self.payment_methods = m)
            }
            SettingValue::List(list) if key == "shop_tenders" => {
                shop_tender_names(list).map(|t| self.shop_tenders = t)
            }
            SettingValue::List(_) => Err(Error::bad(key, "takes one value, not a list")),
        };
        checked.map_err(|e| match e {
            Error::BadInput { field, message } if field != "setting" => {
                Error::bad(&format!("settings.{key}"), message)
            }
            other => other,
        })
    }

    fn apply_checked(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "time_zone" => {
                self.tz = value
                    .parse()
                    .map_err(|_| Error::bad(key, format!("unknown time zone {value:?}")))?
            }
            "price_mode" => {
                self.price_mode = value.parse().map_err(|e: String| Error::bad(key, e))?
            }
            "rounding" => self.rounding = value.parse().map_err(|e: String| Error::bad(key, e))?,
            "expires_in" => self.expires_in = parse_expires_in(value)?,
            "shop_name" => self.shop_name = clean_text(key, Some(value), 60)?.unwrap_or_default(),
            // An empty value clears the optional receipt settings.
            "registration_number" => {
                // A check digit that does not hold is a warning (`warnings`), not a refusal.
                self.registration_number = optional_text(key, value, 40)?
                    .map(|v| crate::receipt::RegistrationNumber::parse(&v))
                    .transpose()
                    .map_err(|e| Error::bad(key, e))?
                    .map(|(n, _check_digit_ok)| n.as_str().to_string());
            }
            "journal_debit_account"
            | "journal_credit_account"
            | "journal_cash_account"
            | "journal_tender_account" => {
                let v = clean_text(key, Some(value), 24)?.unwrap_or_default();
                match key {
                    "journal_debit_account" => self.journal_debit_account = v,
                    "journal_credit_account" => self.journal_credit_account = v,
                    "journal_cash_account" => self.journal_cash_account = v,
                    _ => self.journal_tender_account = v,
                }
            }
            "journal_debit_sub" => {
                self.journal_debit_sub = optional_text(key, value, 24)?.unwrap_or_default()
            }
            "shop_address" => self.shop_address = optional_text(key, value, 100)?,
            "shop_phone" => self.shop_phone = optional_text(key, value, 20)?,
            "receipt_footer" => self.receipt_footer = optional_text(key, value, 100)?,
            "feed" => self.feed = value.parse().map_err(|e: String| Error::bad(key, e))?,
            "dining" => self.dining = value.parse().map_err(|e: String| Error::bad(key, e))?,
            "day_starts_at" => {
                crate::ledger::parse_day_start(value).map_err(|e| Error::bad(key, e))?;
                self.day_starts_at = value.trim().to_string();
            }
            "demo_lan" => {
                self.demo_lan = match value.trim() {
                    "on" | "true" | "1" => true,
                    "off" | "false" | "0" | "" => false,
                    other => return Err(Error::bad(key, format!("{other:?} must be on or off"))),
                }
            }
            "payment_methods" => self.payment_methods = validate_methods(&parse_methods(value))?,
            "shop_tenders" => {
                let names: Vec<String> = value.split([',', '、']).map(str::to_string).collect();
                self.shop_tenders = shop_tender_names(&names)?
            }
            k if crate::printing::config::KEYS.contains(&k) => self
                .printer
                .set(k, value)
                .map_err(|p| Error::bad(p.key, p.message))?,
            "locale" => {
                self.locale = validate_locale(Some(value).filter(|v| !v.trim().is_empty()))?
            }
            _ => {
                return Err(Error::bad(
                    "setting",
                    format!("unknown setting {key:?}; known: {}", Self::KEYS.join(", ")),
                ))
            }
        }
        Ok(())
    }

    pub fn get(&self, key: &str) -> Option<String> {
        Some(match key {
            "time_zone" => self.tz.name().to_string(),
            "price_mode" => self.price_mode.as_str().into(),
            "rounding" => self.rounding.as_str().into(),
            "expires_in" => self.expires_in.to_string(),
            "shop_name" => self.shop_name.clone(),
            "registration_number" => self.registration_number.clone().unwrap_or_default(),
            "shop_address" => self.shop_address.clone().unwrap_or_default(),
            "shop_phone" => self.shop_phone.clone().unwrap_or_default(),
            "receipt_footer" => self.receipt_footer.clone().unwrap_or_default(),
            "journal_debit_account" => self.journal_debit_account.clone(),
            "journal_debit_sub" => self.journal_debit_sub.clone(),
            "journal_credit_account" => self.journal_credit_account.clone(),
            "journal_cash_account" => self.journal_cash_account.clone(),
            "journal_tender_account" => self.journal_tender_account.clone(),
            "feed" => self.feed.as_str().into(),
            "payment_methods" => self.payment_methods.join(","),
            "demo_lan" => if self.demo_lan { "on" } else { "off" }.into(),
            "dining" => self.dining.as_str().into(),
            "day_starts_at" => self.day_starts_at.clone(),
            "shop_tenders" => self.shop_tenders.join(","),
            "locale" => self.locale.clone().unwrap_or_default(),
            k if crate::printing::config::KEYS.contains(&k) => self.printer.get(k)?,
            _ => return None,
        })
    }

    /// Things worth telling the owner about the settings (not errors).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if let Some(n) = &self.registration_number {
            if let Ok((n, false)) = crate::receipt::RegistrationNumber::parse(n) {
                w.push(crate::receipt::check_digit_warning(&n));
            }
        }
        w
    }

    /// The account names of the journal export.
    pub fn journal_accounts(&self) -> crate::export::journal::Accounts {
        crate::export::journal::Accounts {
            debit: self.journal_debit_account.clone(),
            debit_sub: self.journal_debit_sub.clone(),
            credit: self.journal_credit_account.clone(),
            cash: self.journal_cash_account.clone(),
            tender: self.journal_tender_account.clone(),
        }
    }

    /// The issuer on receipts.
    pub fn shop_details(&self) -> crate::receipt::ShopDetails {
        crate::receipt::ShopDetails {
            name: self.shop_name.clone(),
            registration_number: self.registration_number.clone(),
            address: self.shop_address.clone(),
            phone: self.shop_phone.clone(),
            footer: self.receipt_footer.clone(),
        }
    }
}

/// A setting that may be cleared: an empty value is `None`, anything else is checked text.
pub(super) fn optional_text(key: &str, value: &str, max: usize) -> Result<Option<String>> {
    if value.trim().is_empty() {
        Ok(None)
    } else {
        clean_text(key, Some(value), max)
    }
}

/// The most tenders a shop defines.
pub const MAX_SHOP_TENDERS: usize = 12;

/// The shop's tender names, checked: one line each of 1 to 30 characters (no `:` or `,`, which
/// `NAME:AMOUNT` and the list use), each once, at most [`MAX_SHOP_TENDERS`]. Blanks are dropped.
pub fn shop_tender_names(names: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for n in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        if n.chars().count() > crate::tender::MAX_TENDER_NAME
            || n.chars()
                .any(|c| c.is_control() || matches!(c, ':' | '：' | ',' | '、'))
        {
            return Err(Error::bad(
                "shop_tenders",
                format!(
                    "{n:?}: a tender's name is one line of 1 to {} characters, without : or ,",
                    crate::tender::MAX_TENDER_NAME
                ),
            ));
        }
        if out.iter().any(|o| o == n) {
            return Err(Error::bad("shop_tenders", format!("{n:?} is listed twice")));
        }
        out.push(n.to_string());
    }
    if out.len() > MAX_SHOP_TENDERS {
        return Err(Error::bad(
            "shop_tenders",
            format!("at most {MAX_SHOP_TENDERS} tenders"),
        ));
    }
    Ok(out)
}

/// A payment page's lifetime from text: whole seconds from 60 to 86 400.
pub fn parse_expires_in(v: &str) -> Result<u32> {
    let n = v.trim().parse::<u32>().map_err(|_| {
        Error::bad(
            "expires_in",
            format!("{v:?} must be whole seconds from 60 to {MAX_EXPIRES_IN}"),
        )
    })?;
    check_expires_in(n)
}

/// A payment page's lifetime given as a number: 60 to 86 400 seconds.
pub(super) fn check_expires_in(n: u32) -> Result<u32> {
    if (60..=MAX_EXPIRES_IN).contains(&n) {
        Ok(n)
    } else {
        Err(Error::bad(
            "expires_in",
            format!("{n} must be whole seconds from 60 to {MAX_EXPIRES_IN}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_offered_payment_type_is_one_of_komojus() {
        for t in PAYMENT_TYPES {
            assert!(PaymentType::KNOWN.contains(&t), "{t}");
        }
    }

    #[test]
    fn shop_tenders_are_names_the_counter_offers() {
        let mut s = Settings::default();
        s.apply("shop_tenders", "商品券, 売掛、カード端末").unwrap();
        assert_eq!(s.shop_tenders, vec!["商品券", "売掛", "カード端末"]);
        assert_eq!(s.get("shop_tenders").unwrap(), "商品券,売掛,カード端末");
        let list = SettingValue::List(vec!["商品券".into(), "".into()]);
        s.apply_value("shop_tenders", &list).unwrap();
        assert_eq!(s.shop_tenders, vec!["商品券"]);
        for bad in ["券,券", "a:b", &"長".repeat(31)] {
            let e = s.apply("shop_tenders", bad).unwrap_err();
            assert!(
                matches!(&e, Error::BadInput { field, .. } if field == "settings.shop_tenders"),
                "{bad}: {e}"
            );
        }
        assert_eq!(s.shop_tenders, vec!["商品券"], "a refusal changes nothing");
        s.apply("shop_tenders", "").unwrap();
        assert!(s.shop_tenders.is_empty());
    }

    #[test]
    fn payment_types_as_a_list_or_as_text_are_the_same_setting() {
        let mut a = Settings::default();
        let mut b = Settings::default();
        let list = SettingValue::List(vec!["konbini".into(), " paypay ".into(), "konbini".into()]);
        a.apply_value("payment_methods", &list).unwrap();
        b.apply("payment_methods", &list.to_text()).unwrap();
        assert_eq!(a.payment_methods, vec!["konbini", "paypay"]);
        assert_eq!(a.payment_methods, b.payment_methods);
        assert_eq!(list.to_text(), "konbini,paypay,konbini");

        let bad = SettingValue::List(vec!["paypay".into(), "cash_on_moon".into()]);
        let e = a.apply_value("payment_methods", &bad).unwrap_err();
        assert!(matches!(&e, Error::BadInput { field, .. } if field == "settings.payment_methods"));
        assert_eq!(
            a.payment_methods,
            vec!["konbini", "paypay"],
            "a refusal changes nothing"
        );

        let e = a
            .apply_value("shop_name", &SettingValue::List(vec!["x".into()]))
            .unwrap_err();
        assert!(matches!(&e, Error::BadInput { field, .. } if field == "settings.shop_name"));
    }

    #[test]
    fn expires_in_text_and_number_share_one_range() {
        assert_eq!(parse_expires_in(" 60 ").unwrap(), 60);
        assert_eq!(parse_expires_in("86400").unwrap(), 86_400);
        for bad in ["59", "86401", "", "ten", "-1", "1.5"] {
            let e = parse_expires_in(bad).unwrap_err();
            assert!(
                matches!(&e, Error::BadInput { field, .. } if field == "expires_in"),
                "{bad}"
            );
        }
        assert!(check_expires_in(59).is_err());
    }
}
