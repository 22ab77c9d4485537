//! Staff: who works the register, with a PIN and a role. A PIN is kept only as a salted, slow
//! hash (PBKDF2-HMAC-SHA256): never in clear, never in a log. A 4-digit PIN cannot resist someone
//! holding the ledger file and time; the hash keeps it from being read off the file at a glance.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// PBKDF2 rounds: signing in checks every member's hash, so a shop of ten stays well under a
/// second even in a debug build.
pub const PIN_ROUNDS: u32 = 20_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Cashier,
    Manager,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Cashier => "cashier",
            Role::Manager => "manager",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "cashier" | "レジ担当" => Ok(Role::Cashier),
            "manager" | "店長" | "責任者" => Ok(Role::Manager),
            other => Err(format!("role {other:?} must be cashier or manager")),
        }
    }
}

/// A staff member as listed (no PIN, no hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StaffMember {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Checks a PIN's shape: 4 to 8 digits.
pub fn check_pin(pin: &str) -> Result<(), String> {
    let ok = (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err("a PIN is 4 to 8 digits".into())
    }
}

fn pbkdf2(pin: &[u8], salt: &[u8], rounds: u32) -> [u8; 32] {
    let mac = Hmac::<Sha256>::new_from_slice(pin).expect("HMAC takes any key length");
    let mut u = {
        let mut m = mac.clone();
        m.update(salt);
        m.update(&1u32.to_be_bytes());
        m.finalize().into_bytes()
    };
    let mut out: [u8; 32] = u.into();
    for _ in 1..rounds {
        let mut m = mac.clone();
        m.update(&u);
        u = m.finalize().into_bytes();
        for (o, x) in out.iter_mut().zip(u.iter()) {
            *o ^= x;
        }
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `pbkdf2-sha256$ROUNDS$SALT$HASH` (hex) for a new PIN, with a fresh random salt.
pub fn hash_pin(pin: &str) -> String {
    use rand::RngCore;
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let h = pbkdf2(pin.as_bytes(), &salt, PIN_ROUNDS);
    format!("pbkdf2-sha256${PIN_ROUNDS}${}${}", hex(&salt), hex(&h))
}

/// Whether `pin` is the one `stored` was made from (a constant-time comparison).
pub fn verify_pin(pin: &str, stored: &str) -> bool {
    let parts: Vec<&str> = stored.split('$').collect();
    let [scheme, rounds, salt, hash] = parts[..] else {
        return false;
    };
    let (Ok(rounds), Some(salt), Some(hash)) = (rounds.parse::<u32>(), unhex(salt), unhex(hash))
    else {
        return false;
    };
    if scheme != "pbkdf2-sha256" || rounds == 0 || hash.len() != 32 {
        return false;
    }
    let h = pbkdf2(pin.as_bytes(), &salt, rounds);
    h.iter()
        .zip(hash.iter())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_is_kept_only_as_a_salted_slow_hash() {
        let a = hash_pin("1234");
        let b = hash_pin("1234");
        assert_ne!(a, b, "a fresh salt each time");
        // The salt and hash are hex (they may contain the PIN's digits by chance, never the PIN as
        // a field).
        assert!(!a.split('$').any(|f| f == "1234"));
        assert!(a.starts_with(&format!("pbkdf2-sha256${PIN_ROUNDS}$")));
        assert!(verify_pin("1234", &a) && verify_pin("1234", &b));
        assert!(!verify_pin("1235", &a));
        assert!(!verify_pin("1234", "garbage"));
        assert!(!verify_pin("1234", "pbkdf2-sha256$0$00$00"));
    }

    #[test]
    fn pbkdf2_matches_the_rfc_7914_vector() {
        // RFC 7914 §11: PBKDF2-HMAC-SHA256, P="passwd", S="salt", c=1, dkLen=64 (first 32 bytes).
        let h = pbkdf2(b"passwd", b"salt", 1);
        assert_eq!(
            hex(&h),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
    }

    #[test]
    fn pins_and_roles_are_checked() {
        assert!(check_pin("1234").is_ok() && check_pin("12345678").is_ok());
        for bad in ["123", "123456789", "12a4", ""] {
            assert!(check_pin(bad).is_err(), "{bad}");
        }
        assert_eq!("manager".parse(), Ok(Role::Manager));
        assert!("owner".parse::<Role>().is_err());
    }
}
