//! Appointment reminder timing: when each reminder for a visit is sent (SMS or email alike).
//!
//! The rules:
//! - A practice's cadence is a list of steps in hours before the visit (by default 48, 24 and 2).
//!   Steps may come in any order and repeat; they are used once each, largest first. A step that
//!   is not positive is ignored.
//! - A step's nominal send time is the visit's start minus the step in real (absolute) time, so a
//!   daylight-saving change in between moves nothing: the 24 h reminder is exactly 24 real hours
//!   before the visit even when the wall clock says 23 or 25.
//! - Quiet hours are local wall-clock minutes in the location's time zone, [start, end), and may
//!   wrap midnight (21:00–08:00). A nominal time inside them moves EARLIER, to one minute before
//!   those quiet hours began (their start, as a local wall-clock time on the right local day) —
//!   never later, so never after the visit. A start that falls in a daylight-saving fold uses its
//!   first occurrence (jiff's compatible disambiguation). A start that falls in a daylight-saving
//!   gap does not exist on the clock; quiet hours then begin when the clock jumps past it, and the
//!   reminder goes one minute before the jump (compatible disambiguation would put it after the
//!   jump, inside quiet hours, and possibly after the nominal time).
//! - A reminder whose send time is at or before the booking is dropped (a visit booked 30 hours
//!   ahead gets only the 24 h and 2 h reminders), and so is one not strictly after the previous
//!   kept reminder (two steps that both move to the same evening send once).
//!
//! Instants are UTC milliseconds. Pure functions; the job runner stores and sends the plan.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const MINUTES_PER_DAY: u16 = 24 * 60;

/// The default reminder cadence: 48 hours, 24 hours and 2 hours before the visit.
pub const DEFAULT_CADENCE_HOURS: [i64; 3] = [48, 24, 2];

/// The default quiet hours: 21:00 until 08:00 local time.
pub const DEFAULT_QUIET_HOURS: QuietHours = QuietHours {
    start_min: 21 * 60,
    end_min: 8 * 60,
};

/// Local wall-clock minutes during which no reminder is sent: from `start_min` until just before
/// `end_min`, in minutes after local midnight. `start_min > end_min` wraps midnight (21:00–08:00);
/// `start_min == end_min` means no quiet hours at all. Values of 1440 or more are taken modulo a
/// day (24:00 is midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QuietHours {
    pub start_min: u16,
    pub end_min: u16,
}

/// Why a quiet-hours text was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuietHoursError {
    #[error("Enter quiet hours as a range of times, like “21:00-08:00”")]
    Empty,
    #[error("“{0}” is not a range of times; write quiet hours like “21:00-08:00”")]
    Malformed(String),
    #[error("“{0}” is not a valid time (use 24-hour time, like 21:00 or 08:00)")]
    BadTime(String),
}

impl QuietHours {
    /// Reads "HH:MM-HH:MM" (spaces and typographic dashes allowed, "H:MM" and "24:00" too).
    /// Equal times are accepted and mean no quiet hours.
    pub fn parse(input: &str) -> Result<QuietHours, QuietHoursError> {
        let text: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| if matches!(c, '–' | '—') { '-' } else { c })
            .collect();
        if text.is_empty() {
            return Err(QuietHoursError::Empty);
        }
        let (start, end) = text
            .split_once('-')
            .ok_or_else(|| QuietHoursError::Malformed(input.trim().to_owned()))?;
        Ok(QuietHours {
            start_min: parse_clock(start)? % MINUTES_PER_DAY,
            end_min: parse_clock(end)? % MINUTES_PER_DAY,
        })
    }

    /// Whether the local wall-clock time of `at_ms` in `tz` is quiet. Instants jiff cannot
    /// represent (beyond about ±9999 years) are never quiet.
    pub fn contains(&self, tz: &TimeZone, at_ms: i64) -> bool {
        local(tz, at_ms).is_some_and(|dt| self.covers(minute_of(dt)))
    }

    /// Start and end, each within a day.
    fn bounds(&self) -> (u16, u16) {
        (
            self.start_min % MINUTES_PER_DAY,
            self.end_min % MINUTES_PER_DAY,
        )
    }

    fn is_empty(&self) -> bool {
        let (start, end) = self.bounds();
        start == end
    }

    /// Whether a local minute after midnight is quiet.
    fn covers(&self, minute: u16) -> bool {
        let (start, end) = self.bounds();
        if start <= end {
            start <= minute && minute < end
        } else {
            minute >= start || minute < end
        }
    }

    /// The instant the quiet hours containing `at_ms` began: their start as a local wall-clock
    /// time on that local day, or the day before when they wrap midnight and `at_ms` is in the
    /// morning part. A start in a fold is its first occurrence; a start in a gap is the moment the
    /// clock jumps past it.
    fn began(&self, tz: &TimeZone, at_ms: i64) -> Option<i64> {
        let (start, end) = self.bounds();
        let now = local(tz, at_ms)?;
        let date = if start > end && minute_of(now) < end {
            now.date().yesterday().ok()?
        } else {
            now.date()
        };
        let dt = date.at((start / 60) as i8, (start % 60) as i8, 0, 0);
        let ambiguous = tz.to_ambiguous_timestamp(dt);
        let ts = match ambiguous.offset() {
            AmbiguousOffset::Gap { before, after } => {
                // Both readings of the skipped time; the earlier one is before the jump.
                let a = before.to_timestamp(dt).ok()?;
                let b = after.to_timestamp(dt).ok()?;
                tz.following(a.min(b)).next()?.timestamp()
            }
            AmbiguousOffset::Unambiguous { .. } | AmbiguousOffset::Fold { .. } => {
                ambiguous.compatible().ok()?
            }
        };
        Some(ts.as_millisecond())
    }
}

impl fmt::Display for QuietHours {
    /// "HH:MM-HH:MM", as [`QuietHours::parse`] reads it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (start, end) = self.bounds();
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            start / 60,
            start % 60,
            end / 60,
            end % 60
        )
    }
}

impl FromStr for QuietHours {
    type Err = QuietHoursError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// One reminder to send: which cadence step it is and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Planned {
    /// The cadence step, in hours before the visit (48, 24, 2 …).
    pub step_hours: i64,
    /// When to send it, UTC milliseconds.
    pub send_at: i64,
}

/// The reminders for a visit starting at `visit_start`, booked at `booked_at`, sorted by send
/// time (see the module documentation for the rules). Every send time is after `booked_at`,
/// before `visit_start`, at or before its step's nominal time and outside `quiet` in `tz`.
pub fn plan(
    visit_start: i64,
    booked_at: i64,
    cadence_hours: &[i64],
    quiet: Option<QuietHours>,
    tz: &TimeZone,
) -> Vec<Planned> {
    let mut steps: Vec<i64> = cadence_hours.iter().copied().filter(|&h| h > 0).collect();
    steps.sort_unstable_by(|a, b| b.cmp(a));
    steps.dedup();
    let quiet = quiet.filter(|q| !q.is_empty());
    let mut out: Vec<Planned> = Vec::new();
    for step_hours in steps {
        let Some(nominal) = step_hours
            .checked_mul(HOUR)
            .and_then(|d| visit_start.checked_sub(d))
        else {
            continue;
        };
        let Some(send_at) = send_time(nominal, quiet, tz) else {
            continue;
        };
        // Larger steps come first, so kept send times only ever increase.
        if send_at <= booked_at || out.last().is_some_and(|p| send_at <= p.send_at) {
            continue;
        }
        out.push(Planned {
            step_hours,
            send_at,
        });
    }
    out
}

/// The nominal time, or if it is quiet, one minute before its quiet hours began. A
/// daylight-saving gap can swallow the free minutes between two nights' quiet hours, so this
/// looks again until the time is outside quiet hours; a few rounds always suffice, and `None`
/// (drop the reminder) is the answer only for instants jiff cannot represent.
fn send_time(nominal: i64, quiet: Option<QuietHours>, tz: &TimeZone) -> Option<i64> {
    let Some(quiet) = quiet else {
        return Some(nominal);
    };
    let mut t = nominal;
    for _ in 0..4 {
        local(tz, t)?;
        if !quiet.contains(tz, t) {
            return Some(t);
        }
        let began = quiet.began(tz, t)?;
        if began > t {
            return None;
        }
        t = began.checked_sub(MINUTE)?;
    }
    None
}

fn local(tz: &TimeZone, ms: i64) -> Option<DateTime> {
    Timestamp::from_millisecond(ms)
        .ok()
        .map(|ts| tz.to_datetime(ts))
}

fn minute_of(dt: DateTime) -> u16 {
    (dt.hour() as u16) * 60 + dt.minute() as u16
}

/// "H:MM" or "HH:MM", 00:00 through 24:00.
fn parse_clock(s: &str) -> Result<u16, QuietHoursError> {
    let bad = || QuietHoursError::BadTime(s.to_owned());
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    let digits = |t: &str, max_len| {
        !t.is_empty() && t.len() <= max_len && t.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(h, 2) || !digits(m, 2) || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let total = h * 60 + m;
    if m >= 60 || total > MINUTES_PER_DAY {
        return Err(bad());
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tz() -> TimeZone {
        TimeZone::get("America/New_York").unwrap()
    }

    /// A local New York wall-clock time (compatible disambiguation).
    fn at(date: &str, time: &str) -> i64 {
        let d: jiff::civil::Date = date.parse().unwrap();
        let t: jiff::civil::Time = time.parse().unwrap();
        d.to_datetime(t)
            .to_zoned_datetime(tz())
            .unwrap()
            .timestamp()
            .as_millisecond()
    }

    fn utc(rfc3339: &str) -> i64 {
        rfc3339.parse::<Timestamp>().unwrap().as_millisecond()
    }

    /// Local time with its abbreviation, to make DST visible in assertions.
    fn local_str(ms: i64) -> String {
        Timestamp::from_millisecond(ms)
            .unwrap()
            .to_zoned_datetime(tz())
            .strftime("%a %Y-%m-%d %H:%M %Z")
            .to_string()
    }

    fn plan_str(
        visit: i64,
        booked: i64,
        cadence: &[i64],
        quiet: Option<QuietHours>,
    ) -> Vec<String> {
        plan(visit, booked, cadence, quiet, &tz())
            .iter()
            .map(|p| format!("{}h {}", p.step_hours, local_str(p.send_at)))
            .collect()
    }

    fn q(s: &str) -> QuietHours {
        QuietHours::parse(s).unwrap()
    }

    #[test]
    fn parses_and_displays_quiet_hours() {
        assert_eq!(
            q("21:00-08:00"),
            QuietHours {
                start_min: 21 * 60,
                end_min: 8 * 60
            }
        );
        assert_eq!(q("21:00-08:00"), DEFAULT_QUIET_HOURS);
        assert_eq!(DEFAULT_QUIET_HOURS.to_string(), "21:00-08:00");
        assert_eq!(q(" 9:30 – 17:05 ").to_string(), "09:30-17:05");
        assert_eq!(q("22:00-24:00").to_string(), "22:00-00:00");
        assert_eq!(q("07:00-07:00").to_string(), "07:00-07:00");
        assert_eq!("20:00-07:30".parse::<QuietHours>(), Ok(q("20:00-07:30")));
        assert_eq!(QuietHours::parse("  "), Err(QuietHoursError::Empty));
        assert_eq!(
            QuietHours::parse("21:00"),
            Err(QuietHoursError::Malformed("21:00".into()))
        );
        assert_eq!(
            QuietHours::parse("21:00-8"),
            Err(QuietHoursError::BadTime("8".into()))
        );
        assert_eq!(
            QuietHours::parse("25:00-08:00"),
            Err(QuietHoursError::BadTime("25:00".into()))
        );
        assert_eq!(
            QuietHours::parse("21:60-08:00"),
            Err(QuietHoursError::BadTime("21:60".into()))
        );
        assert_eq!(
            QuietHours::parse("21:00-08:00-09:00")
                .unwrap_err()
                .to_string(),
            "“08:00-09:00” is not a valid time (use 24-hour time, like 21:00 or 08:00)"
        );
    }

    #[test]
    fn contains_is_half_open_and_wraps_midnight() {
        let quiet = DEFAULT_QUIET_HOURS;
        let day = "2026-06-10";
        assert!(!quiet.contains(&tz(), at(day, "20:59")));
        assert!(quiet.contains(&tz(), at(day, "21:00")));
        assert!(quiet.contains(&tz(), at(day, "23:59")));
        assert!(quiet.contains(&tz(), at(day, "00:00")));
        assert!(quiet.contains(&tz(), at(day, "07:59")));
        assert!(!quiet.contains(&tz(), at(day, "08:00")));
        let lunch = q("12:00-13:00");
        assert!(lunch.contains(&tz(), at(day, "12:30")));
        assert!(!lunch.contains(&tz(), at(day, "13:00")));
        assert!(!lunch.contains(&tz(), at(day, "00:30")));
        let none = q("08:00-08:00");
        assert!(!none.contains(&tz(), at(day, "08:00")));
        assert!(!none.contains(&tz(), at(day, "03:00")));
        assert!(!quiet.contains(&tz(), i64::MAX));
    }

    #[test]
    fn the_default_cadence_in_an_ordinary_week() {
        // Thursday 2026-06-11 at 14:00: 48 h, 24 h and 2 h before, all in daytime.
        let visit = at("2026-06-11", "14:00");
        assert_eq!(
            plan_str(
                visit,
                at("2026-06-01", "10:00"),
                &DEFAULT_CADENCE_HOURS,
                Some(DEFAULT_QUIET_HOURS)
            ),
            [
                "48h Tue 2026-06-09 14:00 EDT",
                "24h Wed 2026-06-10 14:00 EDT",
                "2h Thu 2026-06-11 12:00 EDT"
            ]
        );
    }

    #[test]
    fn an_early_visit_moves_the_two_hour_reminder_to_the_evening_before() {
        // 08:00 visit: the 2 h step falls at 06:00, inside 21:00–08:00, so it goes at 20:59 the
        // evening before.
        let visit = at("2026-06-11", "08:00");
        let planned = plan(
            visit,
            at("2026-06-01", "10:00"),
            &DEFAULT_CADENCE_HOURS,
            Some(DEFAULT_QUIET_HOURS),
            &tz(),
        );
        assert_eq!(
            planned,
            [
                Planned {
                    step_hours: 48,
                    send_at: at("2026-06-09", "08:00")
                },
                Planned {
                    step_hours: 24,
                    send_at: at("2026-06-10", "08:00")
                },
                Planned {
                    step_hours: 2,
                    send_at: at("2026-06-10", "20:59")
                },
            ]
        );
        // A 07:30 visit: the 24 h step (Wed 07:30) moves to Tue 20:59, the 2 h step (Thu 05:30)
        // to Wed 20:59; the 48 h step (Tue 07:30) moves to Mon 20:59.
        assert_eq!(
            plan_str(
                at("2026-06-11", "07:30"),
                at("2026-06-01", "10:00"),
                &DEFAULT_CADENCE_HOURS,
                Some(DEFAULT_QUIET_HOURS)
            ),
            [
                "48h Mon 2026-06-08 20:59 EDT",
                "24h Tue 2026-06-09 20:59 EDT",
                "2h Wed 2026-06-10 20:59 EDT"
            ]
        );
    }

    #[test]
    fn steps_collapsing_onto_the_same_evening_send_once() {
        // 08:00 visit with steps 3 h and 2 h (given out of order, with a repeat and junk): both fall
        // in the night and move to 20:59, so only the larger step is kept.
        let visit = at("2026-06-11", "08:00");
        assert_eq!(
            plan_str(
                visit,
                at("2026-06-01", "10:00"),
                &[2, 3, 0, -5, 2],
                Some(DEFAULT_QUIET_HOURS)
            ),
            ["3h Wed 2026-06-10 20:59 EDT"]
        );
        // A 12 h step lands at 20:00 and is kept, before the moved 2 h step.
        assert_eq!(
            plan_str(
                visit,
                at("2026-06-01", "10:00"),
                &[2, 12],
                Some(DEFAULT_QUIET_HOURS)
            ),
            [
                "12h Wed 2026-06-10 20:00 EDT",
                "2h Wed 2026-06-10 20:59 EDT"
            ]
        );
        assert!(
            plan(
                visit,
                at("2026-06-01", "10:00"),
                &[],
                Some(DEFAULT_QUIET_HOURS),
                &tz()
            )
            .is_empty()
        );
    }

    #[test]
    fn late_bookings_drop_the_early_steps() {
        // Booked 30 hours ahead: only the 24 h and 2 h reminders.
        let visit = at("2026-06-11", "14:00");
        let booked = visit - 30 * HOUR;
        assert_eq!(
            plan_str(
                visit,
                booked,
                &DEFAULT_CADENCE_HOURS,
                Some(DEFAULT_QUIET_HOURS)
            ),
            [
                "24h Wed 2026-06-10 14:00 EDT",
                "2h Thu 2026-06-11 12:00 EDT"
            ]
        );
        // Exactly 24 hours ahead: the 24 h reminder would go at the booking itself; dropped.
        assert_eq!(
            plan_str(
                visit,
                visit - 24 * HOUR,
                &DEFAULT_CADENCE_HOURS,
                Some(DEFAULT_QUIET_HOURS)
            ),
            ["2h Thu 2026-06-11 12:00 EDT"]
        );
        // Booked at 21:30 for an 08:00 visit: the 2 h reminder would move back to 20:59, before
        // the booking, so nothing is sent.
        let visit = at("2026-06-11", "08:00");
        assert!(
            plan(
                visit,
                at("2026-06-10", "21:30"),
                &DEFAULT_CADENCE_HOURS,
                Some(DEFAULT_QUIET_HOURS),
                &tz()
            )
            .is_empty()
        );
        // Without quiet hours it goes at 06:00 as planned.
        assert_eq!(
            plan_str(
                visit,
                at("2026-06-10", "21:30"),
                &DEFAULT_CADENCE_HOURS,
                None
            ),
            ["2h Thu 2026-06-11 06:00 EDT"]
        );
    }

    #[test]
    fn spring_forward_keeps_real_hours() {
        // New York springs forward at 02:00 on Sunday 2026-03-08. A Monday 09:00 EDT visit
        // (13:00 UTC): 24 h before is Sunday 09:00 EDT (both sides are after the change); 48 h
        // before crosses it and is Saturday 08:00 EST (13:00 UTC); 2 h before is 07:00, quiet,
        // so Sunday 20:59 EDT.
        let visit = at("2026-03-09", "09:00");
        assert_eq!(visit, utc("2026-03-09T13:00:00Z"));
        let planned = plan(
            visit,
            at("2026-03-01", "12:00"),
            &DEFAULT_CADENCE_HOURS,
            Some(DEFAULT_QUIET_HOURS),
            &tz(),
        );
        let sends: Vec<i64> = planned.iter().map(|p| p.send_at).collect();
        assert_eq!(
            sends,
            [
                utc("2026-03-07T13:00:00Z"),
                utc("2026-03-08T13:00:00Z"),
                utc("2026-03-09T00:59:00Z")
            ]
        );
        assert_eq!(
            plan_str(
                visit,
                at("2026-03-01", "12:00"),
                &DEFAULT_CADENCE_HOURS,
                Some(DEFAULT_QUIET_HOURS)
            ),
            [
                "48h Sat 2026-03-07 08:00 EST",
                "24h Sun 2026-03-08 09:00 EDT",
                "2h Sun 2026-03-08 20:59 EDT"
            ]
        );
        // A Sunday 10:00 EDT visit: 24 real hours earlier is Saturday 09:00 EST.
        let visit = at("2026-03-08", "10:00");
        assert_eq!(
            plan(visit, at("2026-03-01", "12:00"), &[24], None, &tz()),
            [Planned {
                step_hours: 24,
                send_at: utc("2026-03-07T14:00:00Z")
            }]
        );
        assert_eq!(
            local_str(utc("2026-03-07T14:00:00Z")),
            "Sat 2026-03-07 09:00 EST"
        );
    }

    #[test]
    fn fall_back_keeps_real_hours() {
        // New York falls back at 02:00 on Sunday 2026-11-01. A Monday 09:00 EST visit
        // (14:00 UTC): 24 h before is Sunday 09:00 EST; 48 h before crosses the change and is
        // Saturday 10:00 EDT (14:00 UTC); 2 h before is 07:00, quiet, so Sunday 20:59 EST.
        let visit = at("2026-11-02", "09:00");
        assert_eq!(visit, utc("2026-11-02T14:00:00Z"));
        let planned = plan(
            visit,
            at("2026-10-20", "12:00"),
            &DEFAULT_CADENCE_HOURS,
            Some(DEFAULT_QUIET_HOURS),
            &tz(),
        );
        let sends: Vec<i64> = planned.iter().map(|p| p.send_at).collect();
        assert_eq!(
            sends,
            [
                utc("2026-10-31T14:00:00Z"),
                utc("2026-11-01T14:00:00Z"),
                utc("2026-11-02T01:59:00Z")
            ]
        );
        assert_eq!(
            plan_str(
                visit,
                at("2026-10-20", "12:00"),
                &DEFAULT_CADENCE_HOURS,
                Some(DEFAULT_QUIET_HOURS)
            ),
            [
                "48h Sat 2026-10-31 10:00 EDT",
                "24h Sun 2026-11-01 09:00 EST",
                "2h Sun 2026-11-01 20:59 EST"
            ]
        );
        // A Sunday 10:00 EST visit: 24 real hours earlier is Saturday 11:00 EDT.
        let visit = at("2026-11-01", "10:00");
        assert_eq!(
            plan(visit, at("2026-10-20", "12:00"), &[24], None, &tz()),
            [Planned {
                step_hours: 24,
                send_at: utc("2026-10-31T15:00:00Z")
            }]
        );
        assert_eq!(
            local_str(utc("2026-10-31T15:00:00Z")),
            "Sat 2026-10-31 11:00 EDT"
        );
    }

    #[test]
    fn quiet_hours_starting_in_a_gap_or_a_fold() {
        // Quiet from 02:30, which does not exist on 2026-03-08: the clock jumps from 01:59:59 EST
        // to 03:00 EDT, so quiet hours begin at the jump and the reminder goes at 01:59 EST.
        let quiet = q("02:30-06:00");
        let visit = at("2026-03-08", "06:00"); // 2 h before: 04:00 EDT, quiet
        assert_eq!(
            plan_str(visit, at("2026-03-01", "12:00"), &[2], Some(quiet)),
            ["2h Sun 2026-03-08 01:59 EST"]
        );
        // Quiet from 01:30, which happens twice on 2026-11-01: the first one counts.
        let quiet = q("01:30-05:00");
        let visit = at("2026-11-01", "06:00"); // 2 h before: 04:00 EST, quiet
        assert_eq!(
            plan_str(visit, at("2026-10-20", "12:00"), &[2], Some(quiet)),
            ["2h Sun 2026-11-01 01:29 EDT"]
        );
        // Quiet all day except 02:15–02:30, which the spring-forward gap swallows: quiet hours
        // that night run from the day before, so the reminder goes at 02:29 on Saturday.
        let quiet = q("02:30-02:15");
        let visit = at("2026-03-08", "12:00");
        assert_eq!(
            plan_str(visit, at("2026-03-01", "12:00"), &[2], Some(quiet)),
            ["2h Sat 2026-03-07 02:29 EST"]
        );
    }

    #[test]
    fn daytime_and_disabled_quiet_hours() {
        let visit = at("2026-06-11", "14:00");
        let booked = at("2026-06-01", "10:00");
        // Quiet over lunch (no wrap): the 2 h step at 12:00 moves to 11:59.
        assert_eq!(
            plan_str(
                visit,
                booked,
                &DEFAULT_CADENCE_HOURS,
                Some(q("12:00-13:00"))
            ),
            [
                "48h Tue 2026-06-09 14:00 EDT",
                "24h Wed 2026-06-10 14:00 EDT",
                "2h Thu 2026-06-11 11:59 EDT"
            ]
        );
        // No quiet hours, either way: nominal times, even at night.
        let visit = at("2026-06-11", "03:00");
        for quiet in [None, Some(q("21:00-21:00"))] {
            assert_eq!(
                plan_str(visit, booked, &DEFAULT_CADENCE_HOURS, quiet),
                [
                    "48h Tue 2026-06-09 03:00 EDT",
                    "24h Wed 2026-06-10 03:00 EDT",
                    "2h Thu 2026-06-11 01:00 EDT"
                ]
            );
        }
    }

    #[test]
    fn extreme_inputs_do_not_panic() {
        let quiet = Some(DEFAULT_QUIET_HOURS);
        assert!(plan(i64::MAX, i64::MIN, &[i64::MAX, 1], quiet, &tz()).is_empty());
        assert!(plan(i64::MIN, i64::MIN, &[1], quiet, &tz()).is_empty());
        assert_eq!(
            plan(i64::MIN + 2 * HOUR, i64::MIN, &[1], None, &tz()).len(),
            1
        );
        let weird = QuietHours {
            start_min: 1440 + 60,
            end_min: 3000,
        };
        assert_eq!(weird.to_string(), "01:00-02:00");
    }

    /// 2026-01-01 through 2027-12-31, plus the DST weekends again so they come up often.
    fn arb_visit() -> impl Strategy<Value = i64> {
        let base = utc("2026-01-01T00:00:00Z");
        let spans = [
            (base, 2 * 365 * 24 * 60i64),
            (utc("2026-03-06T00:00:00Z"), 4 * 24 * 60),
            (utc("2026-10-30T00:00:00Z"), 4 * 24 * 60),
            (utc("2027-03-12T00:00:00Z"), 4 * 24 * 60),
            (utc("2027-11-05T00:00:00Z"), 4 * 24 * 60),
        ];
        prop::sample::select(spans.to_vec())
            .prop_flat_map(|(from, minutes)| (0..minutes).prop_map(move |m| from + m * MINUTE))
    }

    fn arb_quiet() -> impl Strategy<Value = Option<QuietHours>> {
        prop_oneof![
            1 => Just(None),
            1 => Just(Some(DEFAULT_QUIET_HOURS)),
            6 => (0u16..MINUTES_PER_DAY, 0u16..MINUTES_PER_DAY)
                .prop_map(|(start_min, end_min)| Some(QuietHours { start_min, end_min })),
        ]
    }

    fn arb_cadence() -> impl Strategy<Value = Vec<i64>> {
        prop_oneof![
            Just(DEFAULT_CADENCE_HOURS.to_vec()),
            proptest::collection::vec(-2i64..100, 0..6),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Every reminder goes after the booking, before the visit, outside quiet hours and no
        /// later than its nominal time; reminders are strictly increasing, one per step at most,
        /// larger steps first.
        #[test]
        fn reminders_respect_booking_visit_and_quiet_hours(
            visit in arb_visit(),
            ahead_min in 0i64..(5 * 24 * 60),
            quiet in arb_quiet(),
            cadence in arb_cadence(),
        ) {
            let booked = visit - ahead_min * MINUTE;
            let planned = plan(visit, booked, &cadence, quiet, &tz());
            for p in &planned {
                prop_assert!(cadence.contains(&p.step_hours) && p.step_hours > 0);
                prop_assert!(p.send_at > booked, "{} not after booking", local_str(p.send_at));
                prop_assert!(p.send_at < visit);
                prop_assert!(p.send_at <= visit - p.step_hours * HOUR);
                if let Some(q) = quiet {
                    prop_assert!(!q.contains(&tz(), p.send_at), "{} is quiet ({q})", local_str(p.send_at));
                }
            }
            // A send time is always found (the reminder is only ever dropped for the booking or
            // the previous reminder).
            for &h in cadence.iter().filter(|&&h| h > 0) {
                prop_assert!(send_time(visit - h * HOUR, quiet, &tz()).is_some());
            }
            for w in planned.windows(2) {
                prop_assert!(w[0].send_at < w[1].send_at);
                prop_assert!(w[0].step_hours > w[1].step_hours);
            }
            // Without quiet hours, every step whose nominal time is after the booking goes
            // exactly then.
            if quiet.is_none() {
                let mut expected: Vec<i64> = cadence.iter().copied().filter(|&h| h > 0 && visit - h * HOUR > booked).collect();
                expected.sort_unstable_by(|a, b| b.cmp(a));
                expected.dedup();
                let got: Vec<i64> = planned.iter().map(|p| p.step_hours).collect();
                prop_assert_eq!(&got, &expected);
                prop_assert!(planned.iter().all(|p| p.send_at == visit - p.step_hours * HOUR));
            }
        }

        /// Display and parse agree.
        #[test]
        fn quiet_hours_text_round_trips(start_min in 0u16..MINUTES_PER_DAY, end_min in 0u16..MINUTES_PER_DAY) {
            let quiet = QuietHours { start_min, end_min };
            prop_assert_eq!(QuietHours::parse(&quiet.to_string()), Ok(quiet));
        }
    }
}
