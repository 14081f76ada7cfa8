//! Leads: a person who showed interest in a service AND gave contact details. The lifecycle
//! (MQL → SQL → evaluation booked → became a patient, or lost with a reason), the qualification
//! score, and how a lead was captured. Pure rules; the store keeps the records.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::website::channels::{Channel, Direction};

/// Implements `as_str`, `label`, `ALL`, `Display` and a forgiving `FromStr` (identifier or label,
/// any case) for a plain enum, so every lead vocabulary parses form and API input alike.
macro_rules! vocabulary {
    ($name:ident, $what:literal, { $($variant:ident => $id:literal, $label:literal;)+ }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Stable identifier used in storage and APIs.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $id),+ }
            }

            /// Name shown to clinic staff.
            pub const fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = VocabularyError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let t = s.trim();
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| t.eq_ignore_ascii_case(v.as_str()) || t.eq_ignore_ascii_case(v.label()))
                    .ok_or_else(|| VocabularyError {
                        what: $what,
                        value: s.chars().take(40).collect(),
                        choices: $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", "),
                    })
            }
        }
    };
}

pub(crate) use vocabulary;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("“{value}” is not a {what} (choose {choices})")]
pub struct VocabularyError {
    pub what: &'static str,
    pub value: String,
    pub choices: String,
}

/// Where a lead stands. `New` is a marketing-qualified lead (MQL), `Qualified` a sales-qualified
/// lead (SQL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    New,
    Qualified,
    EvaluationBooked,
    BecamePatient,
    Lost,
}

vocabulary!(Stage, "lead stage", {
    New => "new", "New (MQL)";
    Qualified => "qualified", "Qualified (SQL)";
    EvaluationBooked => "evaluation_booked", "Evaluation booked";
    BecamePatient => "became_patient", "Became a patient";
    Lost => "lost", "Lost";
});

impl Stage {
    /// Whether the lead still needs the front desk's attention.
    pub const fn is_open(self) -> bool {
        matches!(
            self,
            Stage::New | Stage::Qualified | Stage::EvaluationBooked
        )
    }

    /// Position along the funnel; a lost lead has none.
    pub const fn rank(self) -> Option<u8> {
        match self {
            Stage::New => Some(0),
            Stage::Qualified => Some(1),
            Stage::EvaluationBooked => Some(2),
            Stage::BecamePatient => Some(3),
            Stage::Lost => None,
        }
    }

    /// The moves the lifecycle allows. Forward steps may skip (a caller books an evaluation on the
    /// first call); a step back is allowed one stage at a time, to correct a mistake; a lost lead can
    /// be reopened as new or qualified; a patient stays a patient. Staying put is not a move.
    pub fn can_move_to(self, to: Stage) -> Result<(), TransitionError> {
        let ok = match (self, to) {
            (a, b) if a == b => false,
            (Stage::BecamePatient, _) => false,
            (Stage::Lost, Stage::New | Stage::Qualified) => true,
            (Stage::Lost, _) => false,
            (_, Stage::Lost) => true,
            (a, b) => match (a.rank(), b.rank()) {
                (Some(x), Some(y)) => y > x || y + 1 == x,
                _ => false,
            },
        };
        if ok {
            Ok(())
        } else {
            Err(TransitionError { from: self, to })
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a lead cannot move from “{}” to “{}”", from.label(), to.label())]
pub struct TransitionError {
    pub from: Stage,
    pub to: Stage,
}

/// Why a lead did not become a patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LostReason {
    NoResponse,
    ChoseAnotherClinic,
    Insurance,
    Price,
    NotAFit,
}

vocabulary!(LostReason, "reason a lead was lost", {
    NoResponse => "no_response", "No response";
    ChoseAnotherClinic => "chose_another_clinic", "Chose another clinic";
    Insurance => "insurance", "Insurance";
    Price => "price", "Price";
    NotAFit => "not_a_fit", "Not a fit";
});

/// How a lead reached the practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Form,
    Call,
    Chat,
    Booking,
    FrontDesk,
    Api,
    Import,
}

vocabulary!(Origin, "lead origin", {
    Form => "form", "Website form";
    Call => "call", "Phone call";
    Chat => "chat", "Chat";
    Booking => "booking", "Online booking";
    FrontDesk => "front_desk", "Front desk";
    Api => "api", "API";
    Import => "import", "Import";
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interest {
    Low,
    Medium,
    High,
}

vocabulary!(Interest, "level of interest", {
    Low => "low", "Low: browsing";
    Medium => "medium", "Medium: considering";
    High => "high", "High: wants to start";
});

/// Whether the person's payer or budget fits the practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fit {
    No,
    Unsure,
    Yes,
}

vocabulary!(Fit, "payer or budget fit", {
    No => "no", "No: out of network, no budget";
    Unsure => "unsure", "Unsure: to verify";
    Yes => "yes", "Yes: in network or self-pay";
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Likelihood {
    Unlikely,
    Maybe,
    Likely,
}

vocabulary!(Likelihood, "likelihood to come in", {
    Unlikely => "unlikely", "Unlikely";
    Maybe => "maybe", "Maybe";
    Likely => "likely", "Likely";
});

/// What a campaign is, in the words clinic marketing uses; each is inbound (the person comes to
/// the practice) or outbound (the practice interrupts them, usually for a price).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignKind {
    Seo,
    Content,
    Social,
    Email,
    MediaPr,
    ColdCalling,
    DirectMail,
    PaidAds,
    Display,
}

vocabulary!(CampaignKind, "campaign kind", {
    Seo => "seo", "SEO";
    Content => "content", "Content and blog";
    Social => "social", "Social media";
    Email => "email", "Email";
    MediaPr => "media_pr", "Media and PR";
    ColdCalling => "cold_calling", "Cold calling";
    DirectMail => "direct_mail", "Direct mail";
    PaidAds => "paid_ads", "Paid ads (PPC)";
    Display => "display", "Display";
});

impl CampaignKind {
    pub const fn direction(self) -> Direction {
        match self {
            CampaignKind::Seo
            | CampaignKind::Content
            | CampaignKind::Social
            | CampaignKind::Email
            | CampaignKind::MediaPr => Direction::Inbound,
            CampaignKind::ColdCalling
            | CampaignKind::DirectMail
            | CampaignKind::PaidAds
            | CampaignKind::Display => Direction::Outbound,
        }
    }

    /// The website channel a lead of this campaign belongs to when no visit says otherwise (a call
    /// to the campaign's tracking number, a lead the front desk enters for it).
    pub const fn channel(self) -> Channel {
        match self {
            CampaignKind::Seo | CampaignKind::Content => Channel::OrganicSearch,
            CampaignKind::Social => Channel::OrganicSocial,
            CampaignKind::Email => Channel::Email,
            CampaignKind::MediaPr => Channel::Referral,
            CampaignKind::ColdCalling | CampaignKind::DirectMail => Channel::Offline,
            CampaignKind::PaidAds => Channel::PaidSearch,
            CampaignKind::Display => Channel::Display,
        }
    }
}

/// The screening that makes an MQL an SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Qualification {
    pub interest: Interest,
    pub fit: Fit,
    pub likelihood: Likelihood,
}

impl Qualification {
    /// 0–100: interest weighs 40, fit and likelihood 30 each. A payer or budget that does not fit
    /// caps the score at 40: such a lead rarely comes in however keen.
    pub const fn score(self) -> u8 {
        let interest = match self.interest {
            Interest::Low => 0,
            Interest::Medium => 20,
            Interest::High => 40,
        };
        let fit = match self.fit {
            Fit::No => 0,
            Fit::Unsure => 15,
            Fit::Yes => 30,
        };
        let likely = match self.likelihood {
            Likelihood::Unlikely => 0,
            Likelihood::Maybe => 15,
            Likelihood::Likely => 30,
        };
        let sum = interest + fit + likely;
        if matches!(self.fit, Fit::No) && sum > 40 {
            40
        } else {
            sum
        }
    }
}

/// Milliseconds from an inquiry to the practice's first contact (speed to lead); `None` until
/// someone has called, texted or emailed back. A contact logged before the inquiry (clock skew,
/// a merged lead) counts as immediate.
pub fn speed_to_lead(inquiry_at: i64, first_contact_at: Option<i64>) -> Option<i64> {
    first_contact_at.map(|c| (c - inquiry_at).max(0))
}

/// A short span for staff, e.g. "45 s", "12 min", "3 h 5 min", "2 days".
pub fn short_duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => match (s % 3600) / 60 {
            0 => format!("{} h", s / 3600),
            m => format!("{} h {m} min", s / 3600),
        },
        _ => match s / 86_400 {
            1 => "1 day".to_string(),
            d => format!("{d} days"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_lifecycle_moves_forward_back_one_step_or_to_lost() {
        use Stage::*;
        assert!(New.can_move_to(Qualified).is_ok());
        assert!(
            New.can_move_to(EvaluationBooked).is_ok(),
            "booked on the first call"
        );
        assert!(Qualified.can_move_to(New).is_ok(), "a correction");
        assert!(EvaluationBooked.can_move_to(New).is_err(), "two steps back");
        assert!(EvaluationBooked.can_move_to(BecamePatient).is_ok());
        assert!(Qualified.can_move_to(Lost).is_ok());
        assert!(Lost.can_move_to(New).is_ok(), "reopened");
        assert!(Lost.can_move_to(BecamePatient).is_err());
        assert!(BecamePatient.can_move_to(Lost).is_err());
        assert!(New.can_move_to(New).is_err());
        assert_eq!(
            BecamePatient.can_move_to(New).unwrap_err().to_string(),
            "a lead cannot move from “Became a patient” to “New (MQL)”"
        );
    }

    #[test]
    fn vocabularies_parse_identifiers_and_labels() {
        assert_eq!("Qualified (SQL)".parse::<Stage>(), Ok(Stage::Qualified));
        assert_eq!(
            " evaluation_booked ".parse::<Stage>(),
            Ok(Stage::EvaluationBooked)
        );
        assert_eq!("PRICE".parse::<LostReason>(), Ok(LostReason::Price));
        assert_eq!("front_desk".parse::<Origin>(), Ok(Origin::FrontDesk));
        let err = "maybe?".parse::<Stage>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "“maybe?” is not a lead stage (choose new, qualified, evaluation_booked, became_patient, lost)"
        );
        for s in Stage::ALL {
            assert_eq!(s.as_str().parse::<Stage>(), Ok(*s));
            assert_eq!(s.label().parse::<Stage>(), Ok(*s));
        }
    }

    #[test]
    fn the_score_weighs_interest_fit_and_likelihood() {
        let q = |interest, fit, likelihood| {
            Qualification {
                interest,
                fit,
                likelihood,
            }
            .score()
        };
        assert_eq!(q(Interest::High, Fit::Yes, Likelihood::Likely), 100);
        assert_eq!(q(Interest::Low, Fit::No, Likelihood::Unlikely), 0);
        assert_eq!(q(Interest::Medium, Fit::Unsure, Likelihood::Maybe), 50);
        assert_eq!(
            q(Interest::High, Fit::No, Likelihood::Likely),
            40,
            "no fit caps"
        );
    }

    #[test]
    fn campaign_kinds_are_inbound_or_outbound_as_clinic_marketing_counts_them() {
        let inbound: Vec<&str> = CampaignKind::ALL
            .iter()
            .filter(|k| k.direction() == Direction::Inbound)
            .map(|k| k.as_str())
            .collect();
        assert_eq!(inbound, ["seo", "content", "social", "email", "media_pr"]);
        for k in CampaignKind::ALL {
            assert_eq!(
                k.channel().direction(),
                k.direction(),
                "{k}'s default channel points the same way"
            );
        }
        assert_eq!(
            "Paid ads (PPC)".parse::<CampaignKind>(),
            Ok(CampaignKind::PaidAds)
        );
    }

    #[test]
    fn spans_read_naturally() {
        assert_eq!(short_duration(-5), "0 s");
        assert_eq!(short_duration(45_000), "45 s");
        assert_eq!(short_duration(12 * 60_000 + 59_000), "12 min");
        assert_eq!(short_duration(3 * 3_600_000), "3 h");
        assert_eq!(short_duration(3 * 3_600_000 + 5 * 60_000), "3 h 5 min");
        assert_eq!(short_duration(86_400_000 + 1), "1 day");
        assert_eq!(short_duration(9 * 86_400_000), "9 days");
    }

    #[test]
    fn speed_to_lead_is_never_negative() {
        assert_eq!(speed_to_lead(1_000, None), None);
        assert_eq!(speed_to_lead(1_000, Some(61_000)), Some(60_000));
        assert_eq!(speed_to_lead(1_000, Some(500)), Some(0));
    }

    fn any_stage() -> impl Strategy<Value = Stage> {
        proptest::sample::select(Stage::ALL.to_vec())
    }

    proptest! {
        /// From any open stage the lead can always be closed, and every stage can be reached from
        /// `New` by allowed moves, so no state is a trap or unreachable.
        #[test]
        fn every_stage_is_reachable_and_open_leads_can_close(s in any_stage()) {
            if s.is_open() {
                prop_assert!(s.can_move_to(Stage::Lost).is_ok());
                prop_assert!(s.can_move_to(Stage::BecamePatient).is_ok() || s == Stage::BecamePatient);
            }
            prop_assert!(s == Stage::New || Stage::New.can_move_to(s).is_ok());
        }

        #[test]
        fn scores_stay_within_0_to_100(i in 0usize..3, f in 0usize..3, l in 0usize..3) {
            let q = Qualification {
                interest: Interest::ALL[i],
                fit: Fit::ALL[f],
                likelihood: Likelihood::ALL[l],
            };
            prop_assert!(q.score() <= 100);
            if q.fit == Fit::No { prop_assert!(q.score() <= 40); }
        }
    }
}
