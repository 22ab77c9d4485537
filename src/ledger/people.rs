//! The staff table: members with their role and PIN hash.

use super::*;
use crate::staff::{Role, StaffMember};

impl Ledger {
    /// Staff members (not archived) with their PIN hash, oldest first.
    pub fn staff_with_hashes(&self) -> Result<Vec<(StaffMember, String)>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, name, role, created_at, pin_hash FROM staff WHERE archived_at IS NULL
             ORDER BY created_at, id",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name, role, created, hash) = row?;
            out.push((
                StaffMember {
                    id,
                    name,
                    role: role.parse::<Role>().map_err(LedgerError::Corrupt)?,
                    created_at: parse_ts(&created)?,
                },
                hash,
            ));
        }
        Ok(out)
    }

    pub fn add_staff(
        &mut self,
        name: &str,
        role: Role,
        pin_hash: &str,
        now: DateTime<Utc>,
        by: &str,
    ) -> Result<StaffMember> {
        let id = crate::catalog::new_product_id(now).replacen("prd_", "stf_", 1);
        self.conn.execute(
            "INSERT INTO staff(id, name, role, pin_hash, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, name, role.as_str(), pin_hash, ts(now), by],
        )?;
        Ok(StaffMember {
            id,
            name: name.into(),
            role,
            created_at: now,
        })
    }
}
