//! Booking deposits and attendance. A deposit is requested with every qualifying booking, disclosed
//! and applied to every patient alike. Its ledger moves only forward:
//!
//! ```text
//! pending ──collected──▶ collected ──▶ applied    (the visit happened: it pays toward the visit)
//!    │                       ├──────▶ refunded   (cancelled in time)
//!    │                       └──────▶ forfeited  (no-show or late cancel)
//!    ├──▶ waived   (a staff member excused it; named in the consistency report)
//!    └──▶ voided   (the visit was cancelled or missed before anything was paid)
//! ```
//!
//! What an attendance outcome does to a deposit is a pure rule of the practice's policy.

use serde::{Deserialize, Serialize};

const HOUR: i64 = 3_600_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DepositStatus {
    Pending,
    Collected,
    Applied,
    Refunded,
    Forfeited,
    Waived,
    Voided,
}

impl DepositStatus {
    pub const ALL: [DepositStatus; 7] = [
        DepositStatus::Pending,
        DepositStatus::Collected,
        DepositStatus::Applied,
        DepositStatus::Refunded,
        DepositStatus::Forfeited,
        DepositStatus::Waived,
        DepositStatus::Voided,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            DepositStatus::Pending => "pending",
            DepositStatus::Collected => "collected",
            DepositStatus::Applied => "applied",
            DepositStatus::Refunded => "refunded",
            DepositStatus::Forfeited => "forfeited",
            DepositStatus::Waived => "waived",
            DepositStatus::Voided => "voided",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            DepositStatus::Pending => "Pending",
            DepositStatus::Collected => "Collected",
            DepositStatus::Applied => "Applied to the visit",
            DepositStatus::Refunded => "Refunded",
            DepositStatus::Forfeited => "Forfeited",
            DepositStatus::Waived => "Waived",
            DepositStatus::Voided => "Voided",
        }
    }

    pub fn parse(s: &str) -> Option<DepositStatus> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// Whether the ledger may move from `self` to `to`.
    pub const fn can_move(self, to: DepositStatus) -> bool {
        use DepositStatus::*;
        matches!(
            (self, to),
            (Pending, Collected | Waived | Voided) | (Collected, Applied | Refunded | Forfeited)
        )
    }

    pub const fn is_final(self) -> bool {
        !matches!(self, DepositStatus::Pending | DepositStatus::Collected)
    }
}

/// Where an appointment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attendance {
    Booked,
    Confirmed,
    CheckedIn,
    Completed,
    NoShow,
    LateCancel,
    Cancelled,
}

impl Attendance {
    pub const ALL: [Attendance; 7] = [
        Attendance::Booked,
        Attendance::Confirmed,
        Attendance::CheckedIn,
        Attendance::Completed,
        Attendance::NoShow,
        Attendance::LateCancel,
        Attendance::Cancelled,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Attendance::Booked => "booked",
            Attendance::Confirmed => "confirmed",
            Attendance::CheckedIn => "checked_in",
            Attendance::Completed => "completed",
            Attendance::NoShow => "no_show",
            Attendance::LateCancel => "late_cancel",
            Attendance::Cancelled => "cancelled",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            Attendance::Booked => "Booked",
            Attendance::Confirmed => "Confirmed",
            Attendance::CheckedIn => "Checked in",
            Attendance::Completed => "Completed",
            Attendance::NoShow => "No-show",
            Attendance::LateCancel => "Late cancel",
            Attendance::Cancelled => "Cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Attendance> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Still on the calendar, holding its time.
    pub const fn is_live(self) -> bool {
        matches!(
            self,
            Attendance::Booked | Attendance::Confirmed | Attendance::CheckedIn
        )
    }

    /// Whether the front desk may record `to` for an appointment that is `self`. Outcomes are
    /// final; a visit that has started can no longer be cancelled.
    pub const fn can_move(self, to: Attendance) -> bool {
        use Attendance::*;
        matches!(
            (self, to),
            (
                Booked,
                Confirmed | CheckedIn | NoShow | LateCancel | Cancelled
            ) | (Confirmed, CheckedIn | NoShow | LateCancel | Cancelled)
                | (CheckedIn, Completed)
        )
    }
}

/// The practice's deposit rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub amount_cents: i64,
    /// A cancellation at least this many hours before the visit is refunded; later is a late cancel.
    pub refundable_hours: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            amount_cents: 2_500,
            refundable_hours: 24,
        }
    }
}

impl Policy {
    /// The disclosure shown before a patient confirms, the same words for everyone.
    pub fn disclosure(&self) -> String {
        format!(
            "A {} deposit is taken for this visit, the same for every patient. It is applied to what you owe for the visit. \
             Cancel or reschedule at least {} hours before and it is refunded in full; a later cancellation or a \
             missed visit forfeits it.",
            dollars(self.amount_cents),
            self.refundable_hours
        )
    }

    /// A cancellation at `at` of a visit starting at `start`: in time, or late.
    pub const fn cancellation(&self, start: i64, at: i64) -> Attendance {
        if start - at >= self.refundable_hours * HOUR {
            Attendance::Cancelled
        } else {
            Attendance::LateCancel
        }
    }

    /// What an attendance outcome does to a deposit that is `status`: `None` when nothing changes.
    pub const fn settle(outcome: Attendance, status: DepositStatus) -> Option<DepositStatus> {
        use DepositStatus::*;
        let to = match (outcome, status) {
            (Attendance::Completed | Attendance::CheckedIn, Collected) => Applied,
            (Attendance::Cancelled, Collected) => Refunded,
            (Attendance::NoShow | Attendance::LateCancel, Collected) => Forfeited,
            (Attendance::Cancelled | Attendance::NoShow | Attendance::LateCancel, Pending) => {
                Voided
            }
            _ => return None,
        };
        Some(to)
    }
}

/// "$25", "$25.50" or "$60,475".
pub fn dollars(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    let whole = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    if cents.is_multiple_of(100) {
        format!("{sign}${grouped}")
    } else {
        format!("{sign}${grouped}.{:02}", cents % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_ledger_only_moves_forward() {
        use DepositStatus::*;
        assert!(Pending.can_move(Collected));
        assert!(Collected.can_move(Applied));
        assert!(Collected.can_move(Refunded));
        assert!(Collected.can_move(Forfeited));
        assert!(Pending.can_move(Waived));
        assert!(!Applied.can_move(Refunded));
        assert!(!Refunded.can_move(Collected));
        assert!(!Waived.can_move(Collected));
        assert!(!Pending.can_move(Applied), "nothing paid, nothing to apply");
        assert!(
            !Pending.can_move(Forfeited),
            "nothing paid, nothing to keep"
        );
    }

    #[test]
    fn cancelling_in_time_refunds_and_late_forfeits() {
        let p = Policy::default();
        let start = 100 * HOUR;
        assert_eq!(
            p.cancellation(start, start - 24 * HOUR),
            Attendance::Cancelled
        );
        assert_eq!(
            p.cancellation(start, start - 24 * HOUR + 1),
            Attendance::LateCancel
        );
        use DepositStatus::*;
        assert_eq!(
            Policy::settle(Attendance::Cancelled, Collected),
            Some(Refunded)
        );
        assert_eq!(
            Policy::settle(Attendance::LateCancel, Collected),
            Some(Forfeited)
        );
        assert_eq!(
            Policy::settle(Attendance::NoShow, Collected),
            Some(Forfeited)
        );
        assert_eq!(
            Policy::settle(Attendance::Completed, Collected),
            Some(Applied)
        );
        assert_eq!(Policy::settle(Attendance::NoShow, Pending), Some(Voided));
        assert_eq!(Policy::settle(Attendance::Completed, Waived), None);
        assert_eq!(Policy::settle(Attendance::Completed, Applied), None);
    }

    #[test]
    fn the_disclosure_names_the_amount_and_the_window() {
        let text = Policy {
            amount_cents: 2_500,
            refundable_hours: 48,
        }
        .disclosure();
        assert!(text.contains("$25 deposit"), "{text}");
        assert!(text.contains("48 hours"), "{text}");
        assert_eq!(dollars(2_550), "$25.50");
        assert_eq!(dollars(6_047_500), "$60,475");
        assert_eq!(dollars(100_000_005), "$1,000,000.05");
        assert_eq!(dollars(-2_500), "-$25");
    }

    proptest! {
        /// Whatever the outcome, settling follows the ledger's own arrows and ends it.
        #[test]
        fn settling_is_a_legal_final_move(o in 0usize..7, s in 0usize..7) {
            let (outcome, status) = (Attendance::ALL[o], DepositStatus::ALL[s]);
            if let Some(to) = Policy::settle(outcome, status) {
                prop_assert!(status.can_move(to));
                prop_assert!(to.is_final());
            }
        }
    }
}
