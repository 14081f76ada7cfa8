//! Payers: the insurers a practice bills, known by many names ("BCBS", "Blue Cross", "Anthem BCBS"
//! are one payer), each with a credentialing status for the practice. Matching what a patient
//! typed to a payer is pure: names and aliases are compared after normalising case, punctuation
//! and "&"; failing an exact match, the longest alias found as whole words inside the text wins
//! ("Blue Cross PPO" is Blue Cross Blue Shield).

use serde::{Deserialize, Serialize};

/// How the practice is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingModel {
    CashPay,
    Insurance,
    Hybrid,
}

impl BillingModel {
    pub const ALL: [BillingModel; 3] = [
        BillingModel::CashPay,
        BillingModel::Insurance,
        BillingModel::Hybrid,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            BillingModel::CashPay => "cash_pay",
            BillingModel::Insurance => "insurance",
            BillingModel::Hybrid => "hybrid",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            BillingModel::CashPay => "Cash-pay only",
            BillingModel::Insurance => "Insurance",
            BillingModel::Hybrid => "Hybrid (insurance and cash-pay)",
        }
    }

    pub fn parse(s: &str) -> Option<BillingModel> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// A practice's standing with a payer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Credentialing {
    InNetwork,
    /// Applied; waiting for the payer (with submitted and expected dates).
    InProgress,
    OutOfNetwork,
    NotAccepted,
}

impl Credentialing {
    pub const ALL: [Credentialing; 4] = [
        Credentialing::InNetwork,
        Credentialing::InProgress,
        Credentialing::OutOfNetwork,
        Credentialing::NotAccepted,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Credentialing::InNetwork => "in_network",
            Credentialing::InProgress => "in_progress",
            Credentialing::OutOfNetwork => "out_of_network",
            Credentialing::NotAccepted => "not_accepted",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            Credentialing::InNetwork => "In network",
            Credentialing::InProgress => "Credentialing in progress",
            Credentialing::OutOfNetwork => "Out of network",
            Credentialing::NotAccepted => "Not accepted",
        }
    }

    /// What a patient choosing this payer is told on the booking page.
    pub const fn for_patient(self) -> &'static str {
        match self {
            Credentialing::InNetwork => "We are in network with this plan.",
            Credentialing::InProgress => {
                "We are joining this plan's network; until then visits are billed out of network."
            }
            Credentialing::OutOfNetwork => {
                "We are out of network with this plan: you may be reimbursed by your plan, and we give you the paperwork."
            }
            Credentialing::NotAccepted => {
                "We do not accept this plan; you can book as self-pay at our cash price."
            }
        }
    }

    pub fn parse(s: &str) -> Option<Credentialing> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// A payer with the names it goes by, as the practice's directory holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub id: i64,
    pub name: String,
    pub aliases: Vec<String>,
}

/// The directory a practice starts with: name, aliases, plan types.
pub const DIRECTORY: &[(&str, &[&str], &str)] = &[
    (
        "Medicare",
        &["Original Medicare", "Medicare Part B", "CMS"],
        "Medicare",
    ),
    (
        "Medicare Advantage",
        &["Medicare Part C", "MA plan"],
        "HMO, PPO",
    ),
    ("Medicaid", &["State Medicaid"], "Medicaid"),
    (
        "Blue Cross Blue Shield",
        &[
            "BCBS",
            "Blue Cross",
            "Blue Shield",
            "Anthem BCBS",
            "Anthem",
            "Anthem Blue Cross",
        ],
        "HMO, PPO, EPO",
    ),
    (
        "UnitedHealthcare",
        &["UHC", "United Healthcare", "United", "UMR", "Optum"],
        "HMO, PPO, POS",
    ),
    ("Aetna", &["Aetna CVS Health"], "HMO, PPO, POS"),
    ("Cigna", &["Cigna Healthcare", "Evernorth"], "HMO, PPO, EPO"),
    ("Humana", &[], "HMO, PPO"),
    (
        "Tricare",
        &["TRICARE", "Tricare East", "Tricare West"],
        "Military",
    ),
    ("Kaiser Permanente", &["Kaiser", "KP"], "HMO"),
    (
        "Workers' compensation",
        &["Workers comp", "Work comp", "WC"],
        "Workers' compensation",
    ),
    (
        "Auto insurance (PIP)",
        &["Auto", "PIP", "Personal injury protection", "Car insurance"],
        "Auto",
    ),
];

/// Lower case, letters and digits only, "&" as "and", one space between words.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for ch in name.replace('&', " and ").chars() {
        if ch.is_alphanumeric() {
            out.extend(ch.to_lowercase());
        } else if ch == '\'' || ch == '’' {
            // "Workers' comp" and "Workers comp" are one name.
        } else if !out.ends_with(' ') && !out.is_empty() {
            out.push(' ');
        }
    }
    out.trim_end().to_string()
}

/// The payer a patient's typed plan name refers to, if any.
pub fn find(directory: &[Named], typed: &str) -> Option<i64> {
    let t = normalize(typed);
    if t.is_empty() {
        return None;
    }
    let names = |p: &'_ Named| {
        std::iter::once(normalize(&p.name))
            .chain(p.aliases.iter().map(|a| normalize(a)))
            .collect::<Vec<_>>()
    };
    if let Some(p) = directory.iter().find(|p| names(p).contains(&t)) {
        return Some(p.id);
    }
    let padded = format!(" {t} ");
    directory
        .iter()
        .flat_map(|p| names(p).into_iter().map(move |n| (n, p.id)))
        .filter(|(n, _)| !n.is_empty() && padded.contains(&format!(" {n} ")))
        .max_by_key(|(n, _)| n.len())
        .map(|(_, id)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> Vec<Named> {
        DIRECTORY
            .iter()
            .enumerate()
            .map(|(i, (name, aliases, _))| Named {
                id: i as i64 + 1,
                name: name.to_string(),
                aliases: aliases.iter().map(|a| a.to_string()).collect(),
            })
            .collect()
    }

    fn name_of(typed: &str) -> Option<&'static str> {
        find(&directory(), typed).map(|id| DIRECTORY[id as usize - 1].0)
    }

    #[test]
    fn the_many_names_of_one_payer_find_it() {
        for typed in [
            "BCBS",
            "Blue Cross",
            "anthem bcbs",
            "Blue Cross & Blue Shield",
            "Blue Cross PPO",
            "  blue-cross  ",
        ] {
            assert_eq!(name_of(typed), Some("Blue Cross Blue Shield"), "{typed}");
        }
        assert_eq!(name_of("UHC Choice Plus"), Some("UnitedHealthcare"));
        assert_eq!(name_of("workers comp"), Some("Workers' compensation"));
        assert_eq!(name_of("Medicare Part B"), Some("Medicare"));
        // The longest name inside the text wins: not plain Medicare.
        assert_eq!(
            name_of("my Medicare Advantage plan"),
            Some("Medicare Advantage")
        );
    }

    #[test]
    fn unknown_or_partial_words_find_nothing() {
        assert_eq!(name_of(""), None);
        assert_eq!(name_of("Bluecross"), None);
        assert_eq!(name_of("Acme Health"), None);
        // "United" as a word, not inside another word.
        assert_eq!(name_of("Reunited Mutual"), None);
    }

    #[test]
    fn statuses_and_models_round_trip() {
        for c in Credentialing::ALL {
            assert_eq!(Credentialing::parse(c.as_str()), Some(c));
        }
        for m in BillingModel::ALL {
            assert_eq!(BillingModel::parse(m.as_str()), Some(m));
        }
        assert_eq!(normalize("Workers’ Comp"), "workers comp");
    }
}
