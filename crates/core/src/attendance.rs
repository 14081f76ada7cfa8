//! Attendance: no-show and late-cancel rates overall, by week, payer, clinician and visit type,
//! and before and after the deposit policy started. A visit's outcome counts once it happened:
//! the no-show rate is no-shows ÷ visits that were due to happen (attended, no-show or late
//! cancel); cancellations made in time freed the slot and are counted apart. The industry's
//! target is under 10%.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::deposits::Attendance;

/// Practices aim to keep no-shows under this share of visits.
pub const TARGET_NO_SHOW_PERCENT: f64 = 10.0;

/// A past visit as the report sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visit {
    pub starts_at: i64,
    pub status: Attendance,
    pub clinician_id: i64,
    pub type_id: i64,
    pub payer_id: Option<i64>,
    pub self_pay: bool,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub attended: u32,
    pub no_shows: u32,
    pub late_cancels: u32,
    pub cancelled: u32,
    /// Past visits nobody recorded an outcome for.
    pub unrecorded: u32,
}

impl Tally {
    pub fn add(&mut self, s: Attendance) {
        match s {
            Attendance::Completed | Attendance::CheckedIn => self.attended += 1,
            Attendance::NoShow => self.no_shows += 1,
            Attendance::LateCancel => self.late_cancels += 1,
            Attendance::Cancelled => self.cancelled += 1,
            Attendance::Booked | Attendance::Confirmed => self.unrecorded += 1,
        }
    }

    /// Visits that were due to happen: attended, missed, or cancelled too late to fill.
    pub const fn due(&self) -> u32 {
        self.attended + self.no_shows + self.late_cancels
    }

    /// No-shows as a percentage of visits due, when there were any.
    pub fn no_show_rate(&self) -> Option<f64> {
        (self.due() > 0).then(|| f64::from(self.no_shows) * 100.0 / f64::from(self.due()))
    }

    pub fn late_cancel_rate(&self) -> Option<f64> {
        (self.due() > 0).then(|| f64::from(self.late_cancels) * 100.0 / f64::from(self.due()))
    }
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Report {
    pub total: Tally,
    /// Visits before and from the day the deposit policy started (all in `total` when none).
    pub before_policy: Tally,
    pub after_policy: Tally,
    /// By the Monday of each local week, in order, every week of the range present.
    pub weeks: Vec<(Date, Tally)>,
    pub by_clinician: Vec<(i64, Tally)>,
    pub by_type: Vec<(i64, Tally)>,
    /// By payer; `None` is self-pay.
    pub by_payer: Vec<(Option<i64>, Tally)>,
    pub insured: Tally,
    pub self_pay: Tally,
}

fn monday(ms: i64, tz: &TimeZone) -> Option<Date> {
    let d = jiff::Timestamp::from_millisecond(ms)
        .ok()?
        .to_zoned_datetime(tz.clone())
        .date();
    d.checked_sub(jiff::Span::new().days(i64::from(d.weekday().to_monday_zero_offset())))
        .ok()
}

/// Tallies visits in [from, to) by week, payer, clinician and type, and around the policy start.
pub fn summarize(
    visits: &[Visit],
    tz: &TimeZone,
    from: i64,
    to: i64,
    policy_start: Option<i64>,
) -> Report {
    let mut r = Report::default();
    let mut weeks: BTreeMap<Date, Tally> = BTreeMap::new();
    // Every week of the range, so a quiet week shows as a gap rather than vanishing.
    if let (Some(mut w), Some(last)) = (monday(from, tz), monday(to - 1, tz)) {
        while w <= last {
            weeks.insert(w, Tally::default());
            match w.checked_add(jiff::Span::new().days(7)) {
                Ok(next) => w = next,
                Err(_) => break,
            }
        }
    }
    let mut by_clinician: BTreeMap<i64, Tally> = BTreeMap::new();
    let mut by_type: BTreeMap<i64, Tally> = BTreeMap::new();
    let mut by_payer: BTreeMap<Option<i64>, Tally> = BTreeMap::new();
    for v in visits
        .iter()
        .filter(|v| v.starts_at >= from && v.starts_at < to)
    {
        r.total.add(v.status);
        match policy_start {
            Some(p) if v.starts_at >= p => r.after_policy.add(v.status),
            _ => r.before_policy.add(v.status),
        }
        if let Some(w) = monday(v.starts_at, tz) {
            weeks.entry(w).or_default().add(v.status);
        }
        by_clinician
            .entry(v.clinician_id)
            .or_default()
            .add(v.status);
        by_type.entry(v.type_id).or_default().add(v.status);
        let payer = if v.self_pay { None } else { v.payer_id };
        by_payer.entry(payer).or_default().add(v.status);
        if v.self_pay {
            r.self_pay.add(v.status);
        } else {
            r.insured.add(v.status);
        }
    }
    r.weeks = weeks.into_iter().collect();
    r.by_clinician = by_clinician.into_iter().collect();
    r.by_type = by_type.into_iter().collect();
    r.by_payer = by_payer.into_iter().collect();
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DAY: i64 = 86_400_000;

    fn tz() -> TimeZone {
        TimeZone::get("America/New_York").unwrap()
    }

    fn at(date: &str) -> i64 {
        date.parse::<Date>()
            .unwrap()
            .at(10, 0, 0, 0)
            .to_zoned_datetime(tz())
            .unwrap()
            .timestamp()
            .as_millisecond()
    }

    fn visit(date: &str, status: Attendance, self_pay: bool) -> Visit {
        Visit {
            starts_at: at(date),
            status,
            clinician_id: 1,
            type_id: 7,
            payer_id: (!self_pay).then_some(3),
            self_pay,
        }
    }

    #[test]
    fn rates_count_visits_that_were_due_and_the_policy_splits_them() {
        use Attendance::*;
        let visits = [
            visit("2026-03-02", NoShow, false),
            visit("2026-03-03", Completed, false),
            visit("2026-03-04", Completed, true),
            visit("2026-03-05", Cancelled, false),
            visit("2026-03-10", Completed, false),
            visit("2026-03-11", LateCancel, false),
            visit("2026-03-12", Completed, true),
            visit("2026-03-13", Completed, false),
        ];
        let r = summarize(
            &visits,
            &tz(),
            at("2026-03-01"),
            at("2026-03-15"),
            Some(at("2026-03-09")),
        );
        assert_eq!(
            r.total.due(),
            7,
            "the in-time cancellation is not a visit due"
        );
        assert_eq!(r.total.cancelled, 1);
        assert_eq!(r.total.no_show_rate().unwrap(), 100.0 / 7.0);
        assert_eq!(r.before_policy.no_show_rate(), Some(100.0 / 3.0));
        assert_eq!(r.after_policy.no_show_rate(), Some(0.0));
        assert_eq!(r.after_policy.late_cancel_rate(), Some(25.0));
        assert_eq!(r.self_pay.due(), 2);
        assert_eq!(r.by_payer.len(), 2, "one payer and self-pay");
        // Weeks start on Monday in the practice's zone; the week of Mar 1 (a Sunday) is Feb 23's.
        let weeks: Vec<String> = r.weeks.iter().map(|(d, _)| d.to_string()).collect();
        assert_eq!(weeks, ["2026-02-23", "2026-03-02", "2026-03-09"]);
        assert_eq!(r.weeks[1].1.no_shows, 1);
    }

    #[test]
    fn nothing_due_gives_no_rate_rather_than_zero() {
        let r = summarize(&[], &tz(), at("2026-03-02"), at("2026-03-03"), None);
        assert_eq!(r.total.no_show_rate(), None);
        assert_eq!(r.weeks.len(), 1);
    }

    proptest! {
        /// Every visit in range lands in exactly one week, one payer group and one side of the
        /// policy; the rate is a percentage.
        #[test]
        fn every_visit_is_counted_once(
            days in proptest::collection::vec((0i64..120, 0usize..7, any::<bool>()), 0..60),
            policy in 0i64..120,
        ) {
            let from = at("2026-01-01");
            let visits: Vec<Visit> = days.iter().map(|(d, s, sp)| Visit {
                starts_at: from + d * DAY + 3_600_000,
                status: Attendance::ALL[*s],
                clinician_id: 1,
                type_id: 1,
                payer_id: Some(2),
                self_pay: *sp,
            }).collect();
            let r = summarize(&visits, &tz(), from, from + 120 * DAY, Some(from + policy * DAY));
            let n = visits.len() as u32;
            let all = |t: &Tally| t.due() + t.cancelled + t.unrecorded;
            prop_assert_eq!(all(&r.total), n);
            prop_assert_eq!(all(&r.before_policy) + all(&r.after_policy), n);
            prop_assert_eq!(all(&r.insured) + all(&r.self_pay), n);
            prop_assert_eq!(r.weeks.iter().map(|(_, t)| all(t)).sum::<u32>(), n);
            if let Some(rate) = r.total.no_show_rate() {
                prop_assert!((0.0..=100.0).contains(&rate));
            }
        }
    }
}
