//! Who is working the register: staff members, signing in by PIN, and what a role may do. A shop
//! with no staff works as before (one implicit owner who may do everything).

use super::*;
use crate::staff::{check_pin, hash_pin, verify_pin, Role, StaffMember};

/// What an action needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Anyone signed in (a cashier is enough).
    Staff,
    /// A manager: refunds, voids, 入金 / 出金, 精算, settings, the KOMOJU key, staff, the catalog.
    Manager,
}

/// Who is acting: a staff member, or the implicit owner of a shop with no staff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// `None`: the implicit owner (no staff defined).
    pub member: Option<StaffMember>,
}

impl Actor {
    /// How the ledger records who did something: `staff` (the implicit owner) or `staff/<id>`.
    pub fn label(&self) -> String {
        match &self.member {
            Some(m) => format!("staff/{}", m.id),
            None => "staff".into(),
        }
    }
}

pub const MAX_STAFF_NAME: usize = 30;

/// Who asks to act, for [`Register::authorize`]: a PIN typed now (a sign-in, or a manager's
/// approval of one action), or the member already signed in at this register (`None`: nobody).
#[derive(Clone, Copy, Debug)]
pub enum Who<'a> {
    Pin(&'a str),
    SignedIn(Option<&'a str>),
}

/// Why [`Register::authorize`] refused (nothing was done).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denied {
    /// The shop has staff and nobody is signed in (or the member signed in is gone).
    SignInNeeded,
    /// The PIN matches no staff member.
    UnknownPin,
    /// The member is a cashier and the action needs a manager.
    ManagerNeeded { name: String },
}

impl From<Denied> for Error {
    fn from(d: Denied) -> Error {
        Error::NotPermitted(match d {
            Denied::SignInNeeded => "this shop has staff: sign in with a PIN first".into(),
            Denied::UnknownPin => "the PIN matches no staff member".into(),
            Denied::ManagerNeeded { name } => {
                format!("{name} is a cashier: this needs a manager's PIN")
            }
        })
    }
}

impl Register {
    /// Signs in with a PIN for an action that needs `need`. With no staff defined everyone is the
    /// owner; otherwise a missing or wrong PIN, or a cashier's PIN for a manager's action, is
    /// not permitted (nothing is done).
    pub fn sign_in(&mut self, pin: Option<&str>, need: Need) -> Result<Actor> {
        let staff = self.ledger.staff_with_hashes()?;
        if staff.is_empty() {
            let actor = Actor { member: None };
            self.actor = actor.clone();
            return Ok(actor);
        }
        let pin = pin
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                Error::NotPermitted("this shop has staff: sign in with your PIN (REJI_PIN)".into())
            })?;
        let member = staff
            .into_iter()
            .find(|(_, h)| verify_pin(pin, h))
            .map(|(m, _)| m)
            .ok_or_else(|| Error::NotPermitted("the PIN matches no staff member".into()))?;
        if need == Need::Manager && member.role != Role::Manager {
            return Err(Error::NotPermitted(format!(
                "{} is a cashier: this needs a manager's PIN",
                member.name
            )));
        }
        let actor = Actor {
            member: Some(member),
        };
        self.actor = actor.clone();
        Ok(actor)
    }

    /// As [`Register::sign_in`], for a register that stays signed in (the app): the member
    /// signed in (by id) acts again without a PIN as long as they are still staff and their role
    /// fits `need`; a PIN typed now acts for this one call. With no staff everyone is the owner.
    /// The refusal says why, so a screen can ask for the right PIN.
    pub fn authorize(&mut self, who: Who<'_>, need: Need) -> std::result::Result<Actor, Denied> {
        let staff = match self.ledger.staff_with_hashes() {
            Ok(s) => s,
            // An unreadable staff table lets nobody in.
            Err(_) => return Err(Denied::SignInNeeded),
        };
        if staff.is_empty() {
            self.actor = Actor { member: None };
            return Ok(self.actor.clone());
        }
        let member = match who {
            Who::Pin(pin) => {
                let pin = pin.trim();
                staff
                    .into_iter()
                    .find(|(_, h)| !pin.is_empty() && verify_pin(pin, h))
                    .map(|(m, _)| m)
                    .ok_or(Denied::UnknownPin)?
            }
            Who::SignedIn(id) => staff
                .into_iter()
                .map(|(m, _)| m)
                .find(|m| Some(m.id.as_str()) == id)
                .ok_or(Denied::SignInNeeded)?,
        };
        if need == Need::Manager && member.role != Role::Manager {
            return Err(Denied::ManagerNeeded { name: member.name });
        }
        self.actor = Actor {
            member: Some(member),
        };
        Ok(self.actor.clone())
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Adds a staff member (a manager's action; the first member of a shop must be a manager, so
    /// that someone can still do a manager's work). Every PIN is different.
    pub fn add_staff(&mut self, name: &str, pin: &str, role: Role) -> Result<StaffMember> {
        let name = name.trim();
        if name.is_empty()
            || name.chars().count() > MAX_STAFF_NAME
            || name.chars().any(char::is_control)
        {
            return Err(Error::bad(
                "name",
                format!("a name is one line of 1 to {MAX_STAFF_NAME} characters"),
            ));
        }
        check_pin(pin).map_err(|m| Error::bad("pin", m))?;
        let staff = self.ledger.staff_with_hashes()?;
        if staff.is_empty() && role != Role::Manager {
            return Err(Error::bad(
                "role",
                "the first staff member must be a manager (once staff exist, a manager's PIN is needed for refunds, settings and adding staff)",
            ));
        }
        if staff.iter().any(|(_, h)| verify_pin(pin, h)) {
            return Err(Error::bad(
                "pin",
                "another staff member has this PIN: choose another",
            ));
        }
        let now = self.now();
        let by = self.actor.label();
        Ok(self
            .ledger
            .add_staff(name, role, &hash_pin(pin), now, &by)?)
    }

    pub fn staff_list(&self) -> Result<Vec<StaffMember>> {
        Ok(self
            .ledger
            .staff_with_hashes()?
            .into_iter()
            .map(|(m, _)| m)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg() -> Register {
        Register::new(
            Ledger::open_in_memory().unwrap(),
            None,
            Arc::new(crate::clock::SystemClock),
        )
        .unwrap()
    }

    #[test]
    fn no_staff_means_the_owner_and_staff_mean_a_pin() {
        let mut r = reg();
        assert_eq!(r.sign_in(None, Need::Manager).unwrap().member, None);
        assert_eq!(
            r.authorize(Who::SignedIn(None), Need::Manager)
                .unwrap()
                .member,
            None,
            "no staff: the owner"
        );
        assert!(
            r.add_staff("バイト", "5678", Role::Cashier).is_err(),
            "first a manager"
        );
        let boss = r.add_staff("店長", "1234", Role::Manager).unwrap();
        r.sign_in(Some("1234"), Need::Manager).unwrap();
        let cashier = r.add_staff("バイト", "5678", Role::Cashier).unwrap();
        assert!(
            r.add_staff("同じ", "5678", Role::Cashier).is_err(),
            "PINs differ"
        );
        assert!(matches!(
            r.sign_in(None, Need::Staff),
            Err(Error::NotPermitted(_))
        ));
        assert!(matches!(
            r.sign_in(Some("0000"), Need::Staff),
            Err(Error::NotPermitted(_))
        ));
        assert!(matches!(
            r.sign_in(Some("5678"), Need::Manager),
            Err(Error::NotPermitted(_))
        ));
        assert_eq!(
            r.sign_in(Some("5678"), Need::Staff)
                .unwrap()
                .member
                .unwrap()
                .id,
            cashier.id
        );
        let a = r.sign_in(Some("1234"), Need::Manager).unwrap();
        assert_eq!(a.label(), format!("staff/{}", boss.id));
        // The app's way: signed in by id, or a PIN for one action.
        assert_eq!(
            r.authorize(Who::SignedIn(Some(&cashier.id)), Need::Staff)
                .unwrap()
                .label(),
            format!("staff/{}", cashier.id)
        );
        assert_eq!(
            r.authorize(Who::SignedIn(Some(&cashier.id)), Need::Manager),
            Err(Denied::ManagerNeeded {
                name: "バイト".into()
            })
        );
        assert_eq!(
            r.authorize(Who::SignedIn(None), Need::Staff),
            Err(Denied::SignInNeeded)
        );
        assert_eq!(
            r.authorize(Who::SignedIn(Some("stf_gone")), Need::Staff),
            Err(Denied::SignInNeeded)
        );
        assert_eq!(
            r.authorize(Who::Pin("9999"), Need::Staff),
            Err(Denied::UnknownPin)
        );
        assert_eq!(
            r.authorize(Who::Pin(""), Need::Staff),
            Err(Denied::UnknownPin)
        );
        let approved = r.authorize(Who::Pin("1234"), Need::Manager).unwrap();
        assert_eq!(r.actor().label(), approved.label());
        assert_eq!(approved.label(), format!("staff/{}", boss.id));
        let listed = serde_json::to_string(&r.staff_list().unwrap()).unwrap();
        assert!(
            !listed.contains("pbkdf2") && !listed.contains("1234"),
            "{listed}"
        );
    }
}
