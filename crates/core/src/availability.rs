//! The availability engine: open appointment slots from a clinician's weekly hours minus
//! appointments (with their buffers), time off and closed days, with minimum notice and a booking
//! horizon, in the location's time zone. Working hours are local wall-clock times; every instant
//! is UTC milliseconds, so a daylight-saving change moves nothing it should not: a slot is always
//! its full length in real time and always inside the hours the clinician works that day.
//! Pure functions; the store feeds them and books through the database's own guarantees.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ToSpan};

use crate::hours::{DayHours, Weekday};

const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;

/// Time that cannot be booked: an appointment (with its type's buffers) or time off (none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    pub start: i64,
    pub end: i64,
    /// Minutes kept free before and after it (set-up, notes, cleaning the table).
    pub buffer_before: i64,
    pub buffer_after: i64,
}

impl Busy {
    pub fn time_off(start: i64, end: i64) -> Busy {
        Busy {
            start,
            end,
            buffer_before: 0,
            buffer_after: 0,
        }
    }
}

/// One clinician's calendar at one location.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub tz: TimeZone,
    /// Working hours by weekday; several intervals on one day are allowed (a lunch break).
    pub hours: Vec<DayHours>,
    /// Appointments and time off, in any order.
    pub busy: Vec<Busy>,
    /// Local dates the location is closed (holidays).
    pub closed: Vec<Date>,
}

/// What is being booked, and the practice's booking rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub duration_min: i64,
    pub buffer_before_min: i64,
    pub buffer_after_min: i64,
    /// Slots start on this grid of local time (15: :00, :15, :30, :45 after the hours begin).
    pub step_min: i64,
    /// The earliest a slot may start, from now.
    pub min_notice_min: i64,
    /// How many local days ahead, today included, may be booked.
    pub horizon_days: i64,
    pub now: i64,
}

impl Request {
    pub fn new(duration_min: i64, now: i64) -> Request {
        Request {
            duration_min,
            buffer_before_min: 0,
            buffer_after_min: 0,
            step_min: 15,
            min_notice_min: 120,
            horizon_days: 60,
            now,
        }
    }
}

/// An open slot, [start, end) in UTC milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slot {
    pub start: i64,
    pub end: i64,
}

fn weekday_of(d: Date) -> Weekday {
    let i = d.weekday().to_monday_zero_offset();
    Weekday::from_index(i as u8).unwrap_or(Weekday::Mon)
}

/// The instant a local wall-clock minute of a date falls on (a time skipped by a DST change moves
/// forward, as clocks do).
fn instant(tz: &TimeZone, d: Date, minute: u16) -> Option<i64> {
    if minute >= 24 * 60 {
        let next = d.checked_add(1.day()).ok()?;
        return instant(tz, next, minute - 24 * 60);
    }
    let dt = d.at((minute / 60) as i8, (minute % 60) as i8, 0, 0);
    Some(
        dt.to_zoned_datetime(tz.clone())
            .ok()?
            .timestamp()
            .as_millisecond(),
    )
}

/// Whether a slot with the request's buffers clashes with a busy time and its buffers: the gap
/// between them must be at least the larger buffer on that side (buffers are capped at a day).
fn clashes(b: &Busy, s: i64, e: i64, req: &Request) -> bool {
    let cap = |m: i64| (m.clamp(0, 24 * 60)) * MINUTE;
    let before = cap(b.buffer_after.max(req.buffer_before_min));
    let after = cap(b.buffer_before.max(req.buffer_after_min));
    s < b.end + before && b.start < e + after
}

/// The local dates bookable for this request: from today (in the calendar's zone) for
/// `horizon_days` days.
fn dates(tz: &TimeZone, req: &Request) -> Vec<Date> {
    let Ok(now) = Timestamp::from_millisecond(req.now) else {
        return Vec::new();
    };
    let today = now.to_zoned_datetime(tz.clone()).date();
    (0..req.horizon_days.max(0))
        .filter_map(|i| today.checked_add(Span::new().days(i)).ok())
        .collect()
}

/// A calendar's busy times made quick to search: the short ones (under a day: appointments)
/// sorted by start, the long ones (a vacation) apart.
pub struct Prepared {
    short: Vec<Busy>,
    long: Vec<Busy>,
}

impl Prepared {
    pub fn new(busy: &[Busy]) -> Prepared {
        let (mut short, long): (Vec<Busy>, Vec<Busy>) =
            busy.iter().partition(|b| b.end - b.start < DAY);
        short.sort_by_key(|b| b.start);
        Prepared { short, long }
    }

    /// Busy times that could touch [from, to) given buffers shorter than a day.
    fn near(&self, from: i64, to: i64) -> impl Iterator<Item = &Busy> {
        let lo = self.short.partition_point(|b| b.start < from - 2 * DAY);
        let hi = self.short.partition_point(|b| b.start < to + DAY);
        self.short[lo..hi].iter().chain(
            self.long
                .iter()
                .filter(move |b| b.start < to + DAY && b.end + DAY > from),
        )
    }
}

/// The open slots of one local date, in order.
pub fn day_slots(cal: &Calendar, req: &Request, date: Date, busy: &Prepared) -> Vec<Slot> {
    let mut out = Vec::new();
    if cal.closed.contains(&date) || req.duration_min <= 0 || req.step_min <= 0 {
        return out;
    }
    let earliest = req.now + req.min_notice_min.max(0) * MINUTE;
    let wd = weekday_of(date);
    let mut shifts: Vec<&DayHours> = cal.hours.iter().filter(|h| h.weekday() == wd).collect();
    shifts.sort_by_key(|h| h.open());
    for h in shifts {
        let (Some(open), Some(close)) = (
            instant(&cal.tz, date, h.open()),
            instant(&cal.tz, date, h.close()),
        ) else {
            continue;
        };
        let near: Vec<&Busy> = busy.near(open, close).collect();
        let step = req.step_min * MINUTE;
        // The first start on the grid at or after `t`.
        let on_grid = |t: i64| open + ((t - open).max(0) + step - 1) / step * step;
        let mut s = on_grid(earliest);
        while s + req.duration_min * MINUTE <= close {
            let e = s + req.duration_min * MINUTE;
            match near.iter().find(|b| clashes(b, s, e, req)) {
                None => {
                    out.push(Slot { start: s, end: e });
                    s += step;
                }
                // Nothing can start before this busy time and its buffer are over.
                Some(b) => {
                    let free = b.end
                        + b.buffer_after.max(req.buffer_before_min).clamp(0, 24 * 60) * MINUTE;
                    s = on_grid(free).max(s + step);
                }
            }
        }
    }
    out
}

/// Every open slot within the horizon.
pub fn open_slots(cal: &Calendar, req: &Request) -> Vec<Slot> {
    let busy = Prepared::new(&cal.busy);
    dates(&cal.tz, req)
        .into_iter()
        .flat_map(|d| day_slots(cal, req, d, &busy))
        .collect()
}

/// The earliest open slot among several calendars (clinicians, or "anyone" at a location), with
/// the index of the calendar it belongs to; ties go to the first calendar. Looks one day at a
/// time, so a free morning tomorrow is found without computing the next three months.
pub fn earliest(calendars: &[Calendar], req: &Request) -> Option<(usize, Slot)> {
    let busy: Vec<Prepared> = calendars.iter().map(|c| Prepared::new(&c.busy)).collect();
    let days: Vec<Vec<Date>> = calendars.iter().map(|c| dates(&c.tz, req)).collect();
    let longest = days.iter().map(Vec::len).max().unwrap_or(0);
    for i in 0..longest {
        let best = calendars
            .iter()
            .enumerate()
            .filter_map(|(c, cal)| {
                let date = *days[c].get(i)?;
                day_slots(cal, req, date, &busy[c]).first().map(|s| (c, *s))
            })
            .min_by_key(|(c, s)| (s.start, *c));
        if best.is_some() {
            return best;
        }
    }
    None
}

/// A plan of care's visit series: the local dates from `first` on, on the given weekdays, for
/// `weeks` weeks, at `minute` after local midnight each day (the same wall-clock time across a
/// daylight-saving change).
pub fn series_starts(
    tz: &TimeZone,
    first: Date,
    weekdays: &[Weekday],
    minute: u16,
    weeks: u32,
) -> Vec<i64> {
    let mut out = Vec::new();
    for offset in 0..i64::from(weeks) * 7 {
        let Ok(d) = first.checked_add(Span::new().days(offset)) else {
            break;
        };
        if weekdays.contains(&weekday_of(d))
            && let Some(t) = instant(tz, d, minute)
        {
            out.push(t);
        }
    }
    out
}

/// One visit of a series: open at the wanted time, or the conflict with the nearest open time that
/// day (none when the day has nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    Open(Slot),
    Conflict { wanted: i64, nearest: Option<Slot> },
}

/// Checks each wanted start of a series against one clinician's calendar. The series' own visits
/// count as busy for each other (with the request's buffers), so taking every open time and
/// alternative never double-books.
pub fn fit_series(cal: &Calendar, req: &Request, wanted: &[i64]) -> Vec<Fit> {
    let mut cal = cal.clone();
    let mut out = Vec::new();
    for &start in wanted {
        let Ok(t) = Timestamp::from_millisecond(start) else {
            continue;
        };
        let date = t.to_zoned_datetime(cal.tz.clone()).date();
        let busy = Prepared::new(&cal.busy);
        let slots = day_slots(&cal, req, date, &busy);
        let fit = match slots.iter().find(|s| s.start == start) {
            Some(s) => Fit::Open(*s),
            None => Fit::Conflict {
                wanted: start,
                nearest: slots
                    .iter()
                    .min_by_key(|s| (s.start - start).abs())
                    .copied(),
            },
        };
        let taken = match fit {
            Fit::Open(s) => Some(s),
            Fit::Conflict { nearest, .. } => nearest,
        };
        if let Some(s) = taken {
            cal.busy.push(Busy {
                start: s.start,
                end: s.end,
                buffer_before: req.buffer_before_min,
                buffer_after: req.buffer_after_min,
            });
        }
        out.push(fit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tz() -> TimeZone {
        TimeZone::get("America/New_York").unwrap()
    }

    fn at(date: &str, time: &str) -> i64 {
        let d: Date = date.parse().unwrap();
        let t: jiff::civil::Time = time.parse().unwrap();
        d.to_datetime(t)
            .to_zoned_datetime(tz())
            .unwrap()
            .timestamp()
            .as_millisecond()
    }

    fn weekdays(open: u16, close: u16) -> Vec<DayHours> {
        [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ]
        .into_iter()
        .map(|d| DayHours::new(d, open, close).unwrap())
        .collect()
    }

    fn cal(hours: Vec<DayHours>, busy: Vec<Busy>) -> Calendar {
        Calendar {
            tz: tz(),
            hours,
            busy,
            closed: Vec::new(),
        }
    }

    fn local(ms: i64) -> String {
        Timestamp::from_millisecond(ms)
            .unwrap()
            .to_zoned_datetime(tz())
            .strftime("%a %H:%M")
            .to_string()
    }

    #[test]
    fn slots_fill_the_hours_and_skip_appointments_with_their_buffers() {
        // Monday 2026-03-02, 08:00–12:00; a 60-minute evaluation with 15 minutes after.
        let monday = "2026-03-02";
        let appt = Busy {
            start: at(monday, "09:30"),
            end: at(monday, "10:15"),
            buffer_before: 0,
            buffer_after: 15,
        };
        let c = cal(weekdays(8 * 60, 12 * 60), vec![appt]);
        let mut req = Request::new(60, at("2026-03-01", "12:00"));
        req.buffer_after_min = 15;
        req.horizon_days = 2;
        let starts: Vec<String> = open_slots(&c, &req)
            .iter()
            .map(|s| local(s.start))
            .collect();
        // 08:00 + 60 + 15 after = 09:15 < 09:30, fine; 08:15 would end 09:15 + 15 = 09:30, fine;
        // 08:30 ends 09:30 + 15 clashes. After: 10:15 + 15 = 10:30 onward, last start 11:00.
        assert_eq!(
            starts,
            [
                "Mon 08:00",
                "Mon 08:15",
                "Mon 10:30",
                "Mon 10:45",
                "Mon 11:00"
            ]
        );
    }

    #[test]
    fn notice_horizon_closed_days_and_lunch_breaks_are_respected() {
        let mut hours = weekdays(8 * 60, 12 * 60);
        hours.push(DayHours::new(Weekday::Tue, 13 * 60, 15 * 60).unwrap());
        let mut c = cal(hours, vec![]);
        c.closed.push("2026-03-04".parse().unwrap()); // Wednesday
        let mut req = Request::new(60, at("2026-03-02", "09:10"));
        req.step_min = 60;
        req.min_notice_min = 120; // nothing before 11:10 Monday
        req.horizon_days = 4; // Mon–Thu
        let starts: Vec<String> = open_slots(&c, &req)
            .iter()
            .map(|s| local(s.start))
            .collect();
        assert_eq!(
            starts,
            [
                "Tue 08:00",
                "Tue 09:00",
                "Tue 10:00",
                "Tue 11:00",
                "Tue 13:00",
                "Tue 14:00",
                "Thu 08:00",
                "Thu 09:00",
                "Thu 10:00",
                "Thu 11:00"
            ]
        );
    }

    #[test]
    fn spring_forward_keeps_wall_clock_hours_and_real_lengths() {
        // Sunday 2026-03-08, New York springs forward at 02:00. A clinician working 00:00–06:00
        // that night works five real hours; slots are an hour long in real time.
        let hours = vec![DayHours::new(Weekday::Sun, 0, 6 * 60).unwrap()];
        let c = cal(hours, vec![]);
        let mut req = Request::new(60, at("2026-03-07", "12:00"));
        req.step_min = 60;
        req.horizon_days = 3;
        let slots = open_slots(&c, &req);
        let starts: Vec<String> = slots.iter().map(|s| local(s.start)).collect();
        assert_eq!(
            starts,
            [
                "Sun 00:00",
                "Sun 01:00",
                "Sun 03:00",
                "Sun 04:00",
                "Sun 05:00"
            ]
        );
        assert!(slots.iter().all(|s| s.end - s.start == 60 * MINUTE));
        // An ordinary Monday morning after the change is at 08:00 EDT (12:00 UTC).
        let c = cal(weekdays(8 * 60, 9 * 60), vec![]);
        let slots = open_slots(&c, &req);
        assert_eq!(slots[0].start, at("2026-03-09", "08:00"));
        assert_eq!(slots[0].start % (24 * 60 * MINUTE), 12 * 60 * MINUTE);
    }

    #[test]
    fn fall_back_keeps_wall_clock_hours() {
        // Sunday 2026-11-01, New York falls back at 02:00: 00:00–04:00 is five real hours.
        let hours = vec![DayHours::new(Weekday::Sun, 0, 4 * 60).unwrap()];
        let c = cal(hours, vec![]);
        let mut req = Request::new(60, at("2026-10-31", "12:00"));
        req.step_min = 60;
        req.horizon_days = 3;
        let slots = open_slots(&c, &req);
        assert_eq!(slots.len(), 5, "the repeated hour is real working time");
        assert!(slots.iter().all(|s| s.end - s.start == 60 * MINUTE));
        assert_eq!(slots.last().unwrap().end, at("2026-11-01", "04:00"));
        // Monday 08:00 is 08:00 EST (13:00 UTC) again.
        let c = cal(weekdays(8 * 60, 9 * 60), vec![]);
        assert_eq!(open_slots(&c, &req)[0].start, at("2026-11-02", "08:00"));
    }

    #[test]
    fn the_earliest_slot_is_found_across_clinicians() {
        let monday = "2026-03-02";
        let full = Busy::time_off(at(monday, "08:00"), at(monday, "12:00"));
        let busy_all_monday = cal(weekdays(8 * 60, 12 * 60), vec![full]);
        let mut late = cal(weekdays(10 * 60, 12 * 60), vec![]);
        late.closed.clear();
        let mut req = Request::new(60, at("2026-03-01", "12:00"));
        req.horizon_days = 10;
        assert_eq!(
            earliest(&[busy_all_monday.clone(), late], &req),
            Some((
                1,
                Slot {
                    start: at(monday, "10:00"),
                    end: at(monday, "11:00")
                }
            ))
        );
        assert_eq!(
            earliest(&[busy_all_monday], &req).map(|(_, s)| local(s.start)),
            Some("Tue 08:00".into())
        );
        assert_eq!(earliest(&[], &req), None);
    }

    fn arb_busy(base: i64) -> impl Strategy<Value = Busy> {
        (0i64..14 * 24 * 60, 15i64..240, 0i64..30, 0i64..30).prop_map(move |(start, len, b, a)| {
            Busy {
                start: base + start * MINUTE,
                end: base + (start + len) * MINUTE,
                buffer_before: b,
                buffer_after: a,
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// No slot ever overlaps an appointment or time off (buffers included), and every slot
        /// lies inside the hours worked that local day; booking the earliest slot again and again
        /// never double-books.
        #[test]
        fn slots_never_overlap_and_stay_inside_working_hours(
            busy in proptest::collection::vec(arb_busy(at("2026-03-01", "00:00")), 0..25),
            open in 6u16 * 60..10 * 60,
            len in 2u16 * 60..9 * 60,
            duration in prop_oneof![Just(30i64), Just(45), Just(60)],
            before in 0i64..20,
            after in 0i64..20,
            now_offset in 0i64..(10 * 24 * 60),
        ) {
            let base = at("2026-03-01", "00:00");
            let close = (open + len).min(23 * 60);
            let mut c = cal(weekdays(open, close), busy.clone());
            let mut req = Request::new(duration, base + now_offset * MINUTE);
            req.buffer_before_min = before;
            req.buffer_after_min = after;
            req.horizon_days = 14;
            for s in open_slots(&c, &req) {
                prop_assert_eq!(s.end - s.start, duration * MINUTE);
                for b in &busy {
                    prop_assert!(!clashes(b, s.start, s.end, &req), "{s:?} clashes with {b:?}");
                    prop_assert!(s.end <= b.start || b.end <= s.start);
                }
                let z = Timestamp::from_millisecond(s.start).unwrap().to_zoned_datetime(tz());
                let d = z.date();
                let (o, e) = (instant(&tz(), d, open).unwrap(), instant(&tz(), d, close).unwrap());
                prop_assert!(o <= s.start && s.end <= e, "{} outside hours", local(s.start));
                prop_assert!(s.start >= req.now + req.min_notice_min * MINUTE);
            }
            let mut booked: Vec<Slot> = Vec::new();
            for _ in 0..8 {
                let Some((_, s)) = earliest(std::slice::from_ref(&c), &req) else { break };
                for other in &booked {
                    prop_assert!(s.end <= other.start || other.end <= s.start, "double-booked");
                }
                booked.push(s);
                c.busy.push(Busy { start: s.start, end: s.end, buffer_before: before, buffer_after: after });
            }
        }
    }

    #[test]
    fn a_series_keeps_its_wall_clock_time_across_dst_and_lists_conflicts() {
        let tz = TimeZone::get("America/New_York").unwrap();
        // Twice a week (Mon, Thu) for three weeks from Monday 2026-10-26, at 09:00: the clocks
        // fall back on Sunday 2026-11-01, and every visit is still at 09:00 local.
        let first: Date = "2026-10-26".parse().unwrap();
        let starts = series_starts(&tz, first, &[Weekday::Mon, Weekday::Thu], 9 * 60, 3);
        assert_eq!(starts.len(), 6);
        for s in &starts {
            let z = Timestamp::from_millisecond(*s)
                .unwrap()
                .to_zoned_datetime(tz.clone());
            assert_eq!((z.hour(), z.minute()), (9, 0), "{z}");
        }
        let now = starts[0] - 7 * DAY;
        let hours = crate::hours::parse_shifts("Mon-Fri 08:00-12:00").unwrap();
        let cal = Calendar {
            tz: tz.clone(),
            hours,
            // Someone already has Thursday 2026-10-29 09:00-10:00.
            busy: vec![Busy::time_off(starts[1], starts[1] + 60 * MINUTE)],
            closed: vec!["2026-11-09".parse().unwrap()],
        };
        let req = Request {
            buffer_after_min: 15,
            step_min: 15,
            ..Request::new(45, now)
        };
        let fits = fit_series(&cal, &req, &starts);
        assert!(matches!(fits[0], Fit::Open(s) if s.start == starts[0]));
        match fits[1] {
            Fit::Conflict {
                wanted,
                nearest: Some(n),
            } => {
                assert_eq!(wanted, starts[1]);
                // 08:00 (45 minutes and a 15-minute buffer end at 09:00) is as near as 10:00;
                // the earlier of equally near times is offered.
                assert_eq!(
                    n.start,
                    starts[1] - 60 * MINUTE,
                    "the nearest open time that day"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(fits[4], Fit::Conflict { nearest: None, .. }),
            "a closed day has no alternative"
        );
        assert!(fits.iter().filter(|f| matches!(f, Fit::Open(_))).count() == 4);
    }
}
