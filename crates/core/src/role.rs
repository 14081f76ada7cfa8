//! Staff roles, the permissions they can hold, and the single table (`allows`)
//! that maps one to the other. Every authorization decision in Stride should
//! come from `allows` so the policy lives in exactly one reviewable place.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a staff member does at the clinic; decides what they may see and change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    FrontDesk,
    Clinician,
    Marketer,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Owner,
        Role::FrontDesk,
        Role::Clinician,
        Role::Marketer,
    ];

    /// Stable identifier used in storage and APIs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::FrontDesk => "front_desk",
            Role::Clinician => "clinician",
            Role::Marketer => "marketer",
        }
    }

    /// Name shown to clinic staff.
    pub const fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::FrontDesk => "Front desk",
            Role::Clinician => "Clinician",
            Role::Marketer => "Marketer",
        }
    }

    pub const fn allows(self, p: Permission) -> bool {
        allows(self, p)
    }

    pub const fn sees_identity(self) -> bool {
        sees_identity(self)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("“{0}” is not a role (choose owner, front_desk, clinician or marketer)")]
pub struct RoleError(pub String);

impl FromStr for Role {
    type Err = RoleError;

    /// Accepts the identifier or the label, ignoring case, because the value
    /// may come from a form as well as from storage.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Role::ALL
            .into_iter()
            .find(|r| t.eq_ignore_ascii_case(r.as_str()) || t.eq_ignore_ascii_case(r.label()))
            .ok_or_else(|| RoleError(s.to_owned()))
    }
}

/// One thing a role may or may not do. Granted only through [`allows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    ViewOverview,
    /// Patient identity: names, phones, emails.
    ViewPatients,
    EditPatients,
    /// Counts, sources and conversion numbers, with no identity attached.
    ViewAggregates,
    /// Sites and goals.
    ManageWebsite,
    ManageCampaigns,
    /// Lead identity.
    ViewLeads,
    EditLeads,
    ViewSchedule,
    EditSchedule,
    ViewClinicalNotes,
    EditClinicalNotes,
    /// Practice settings, locations, clinicians and message providers.
    ManagePractice,
    /// Users and their roles.
    ManageUsers,
    ManageApiTokens,
    ViewAuditLog,
    /// Message bodies contain patient data.
    ViewMessageLog,
}

impl Permission {
    pub const ALL: [Permission; 17] = [
        Permission::ViewOverview,
        Permission::ViewPatients,
        Permission::EditPatients,
        Permission::ViewAggregates,
        Permission::ManageWebsite,
        Permission::ManageCampaigns,
        Permission::ViewLeads,
        Permission::EditLeads,
        Permission::ViewSchedule,
        Permission::EditSchedule,
        Permission::ViewClinicalNotes,
        Permission::EditClinicalNotes,
        Permission::ManagePractice,
        Permission::ManageUsers,
        Permission::ManageApiTokens,
        Permission::ViewAuditLog,
        Permission::ViewMessageLog,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Permission::ViewOverview => "view_overview",
            Permission::ViewPatients => "view_patients",
            Permission::EditPatients => "edit_patients",
            Permission::ViewAggregates => "view_aggregates",
            Permission::ManageWebsite => "manage_website",
            Permission::ManageCampaigns => "manage_campaigns",
            Permission::ViewLeads => "view_leads",
            Permission::EditLeads => "edit_leads",
            Permission::ViewSchedule => "view_schedule",
            Permission::EditSchedule => "edit_schedule",
            Permission::ViewClinicalNotes => "view_clinical_notes",
            Permission::EditClinicalNotes => "edit_clinical_notes",
            Permission::ManagePractice => "manage_practice",
            Permission::ManageUsers => "manage_users",
            Permission::ManageApiTokens => "manage_api_tokens",
            Permission::ViewAuditLog => "view_audit_log",
            Permission::ViewMessageLog => "view_message_log",
        }
    }

    /// Whether holding this permission exposes who a patient or lead is
    /// (directly, or through schedules, notes, messages or audit entries).
    /// Exhaustive so a new permission has to be classified.
    pub const fn reveals_identity(self) -> bool {
        match self {
            Permission::ViewPatients
            | Permission::EditPatients
            | Permission::ViewLeads
            | Permission::EditLeads
            | Permission::ViewSchedule
            | Permission::EditSchedule
            | Permission::ViewClinicalNotes
            | Permission::EditClinicalNotes
            | Permission::ViewAuditLog
            | Permission::ViewMessageLog => true,
            Permission::ViewOverview
            | Permission::ViewAggregates
            | Permission::ManageWebsite
            | Permission::ManageCampaigns
            | Permission::ManagePractice
            | Permission::ManageUsers
            | Permission::ManageApiTokens => false,
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("“{0}” is not a known permission")]
pub struct PermissionError(pub String);

impl FromStr for Permission {
    type Err = PermissionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::ALL
            .into_iter()
            .find(|p| p.as_str() == s.trim())
            .ok_or_else(|| PermissionError(s.to_owned()))
    }
}

/// The whole access policy. No wildcard arm on `Permission`: adding a
/// permission must fail to compile until every role has been decided.
pub const fn allows(role: Role, p: Permission) -> bool {
    use Permission as P;
    match role {
        Role::Owner => true,
        Role::FrontDesk => match p {
            P::ViewOverview
            | P::ViewPatients
            | P::EditPatients
            | P::ViewAggregates
            | P::ViewLeads
            | P::EditLeads
            | P::ViewSchedule
            | P::EditSchedule
            | P::ViewMessageLog => true,
            P::ManageWebsite
            | P::ManageCampaigns
            | P::ViewClinicalNotes
            | P::EditClinicalNotes
            | P::ManagePractice
            | P::ManageUsers
            | P::ManageApiTokens
            | P::ViewAuditLog => false,
        },
        Role::Clinician => match p {
            // EditSchedule is limited to their own calendar by the caller.
            P::ViewOverview
            | P::ViewPatients
            | P::EditPatients
            | P::ViewSchedule
            | P::EditSchedule
            | P::ViewClinicalNotes
            | P::EditClinicalNotes => true,
            P::ViewAggregates
            | P::ManageWebsite
            | P::ManageCampaigns
            | P::ViewLeads
            | P::EditLeads
            | P::ManagePractice
            | P::ManageUsers
            | P::ManageApiTokens
            | P::ViewAuditLog
            | P::ViewMessageLog => false,
        },
        // Marketers work from aggregates only and must never see who anyone is.
        Role::Marketer => match p {
            P::ViewOverview | P::ViewAggregates | P::ManageWebsite | P::ManageCampaigns => true,
            P::ViewPatients
            | P::EditPatients
            | P::ViewLeads
            | P::EditLeads
            | P::ViewSchedule
            | P::EditSchedule
            | P::ViewClinicalNotes
            | P::EditClinicalNotes
            | P::ManagePractice
            | P::ManageUsers
            | P::ManageApiTokens
            | P::ViewAuditLog
            | P::ViewMessageLog => false,
        },
    }
}

/// Whether pages for this role may show patient and lead names and contacts.
pub const fn sees_identity(role: Role) -> bool {
    allows(role, Permission::ViewPatients)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission as P;

    const Y: bool = true;
    const N: bool = false;

    /// The policy written out by hand, independent of `allows`.
    #[rustfmt::skip]
    const EXPECTED: [(Permission, [bool; 4]); 17] = [
        //                      Owner FrontDesk Clinician Marketer
        (P::ViewOverview,      [Y,    Y,        Y,        Y]),
        (P::ViewPatients,      [Y,    Y,        Y,        N]),
        (P::EditPatients,      [Y,    Y,        Y,        N]),
        (P::ViewAggregates,    [Y,    Y,        N,        Y]),
        (P::ManageWebsite,     [Y,    N,        N,        Y]),
        (P::ManageCampaigns,   [Y,    N,        N,        Y]),
        (P::ViewLeads,         [Y,    Y,        N,        N]),
        (P::EditLeads,         [Y,    Y,        N,        N]),
        (P::ViewSchedule,      [Y,    Y,        Y,        N]),
        (P::EditSchedule,      [Y,    Y,        Y,        N]),
        (P::ViewClinicalNotes, [Y,    N,        Y,        N]),
        (P::EditClinicalNotes, [Y,    N,        Y,        N]),
        (P::ManagePractice,    [Y,    N,        N,        N]),
        (P::ManageUsers,       [Y,    N,        N,        N]),
        (P::ManageApiTokens,   [Y,    N,        N,        N]),
        (P::ViewAuditLog,      [Y,    N,        N,        N]),
        (P::ViewMessageLog,    [Y,    Y,        N,        N]),
    ];

    #[test]
    fn matrix_matches_policy() {
        let rows: Vec<Permission> = EXPECTED.iter().map(|(p, _)| *p).collect();
        assert_eq!(
            rows,
            Permission::ALL,
            "expected table must list every permission in order"
        );
        for (p, row) in EXPECTED {
            for (role, want) in Role::ALL.into_iter().zip(row) {
                assert_eq!(allows(role, p), want, "{role} × {p}");
            }
        }
    }

    #[test]
    fn marketer_never_sees_identity() {
        let identity = [
            P::ViewPatients,
            P::ViewLeads,
            P::ViewMessageLog,
            P::ViewClinicalNotes,
            P::ViewAuditLog,
        ];
        for p in identity {
            assert!(p.reveals_identity(), "{p}");
        }
        for p in Permission::ALL.into_iter().filter(|p| p.reveals_identity()) {
            assert!(!allows(Role::Marketer, p), "marketer must not have {p}");
        }
        assert!(!sees_identity(Role::Marketer));
        assert!(sees_identity(Role::Owner));
        assert!(sees_identity(Role::FrontDesk));
        assert!(sees_identity(Role::Clinician));
    }

    #[test]
    fn strings_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
            assert_eq!(r.label().parse::<Role>(), Ok(r));
        }
        for p in Permission::ALL {
            assert_eq!(p.as_str().parse::<Permission>(), Ok(p));
        }
        assert_eq!(
            "boss".parse::<Role>().unwrap_err().to_string(),
            "“boss” is not a role (choose owner, front_desk, clinician or marketer)"
        );
    }

    #[test]
    fn all_lists_variants_in_declaration_order() {
        for (i, p) in Permission::ALL.into_iter().enumerate() {
            assert_eq!(p as usize, i);
        }
        for (i, r) in Role::ALL.into_iter().enumerate() {
            assert_eq!(r as usize, i);
        }
    }
}
