//! Times `availability::earliest` across 20 clinicians and a 90-day horizon.
//!
//!     cargo run --release -p stride-core --example availability_bench
//!
//! Two cases: every calendar booked solid for 89 days, so the search walks the whole horizon to
//! find the one free day at its end (the worst case), and a realistic week (70% of the hours
//! booked, so the earliest slot is near).

use std::time::Instant;

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use stride_core::availability::{Busy, Calendar, Request, earliest};
use stride_core::hours::{DayHours, Weekday};

const MINUTE: i64 = 60_000;

fn main() {
    let tz = TimeZone::get("America/New_York").unwrap();
    let now = Timestamp::now().as_millisecond();
    let today = Timestamp::now().to_zoned_datetime(tz.clone()).date();
    let hours: Vec<DayHours> = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ]
    .into_iter()
    .flat_map(|d| {
        [
            DayHours::new(d, 7 * 60, 12 * 60).unwrap(),
            DayHours::new(d, 13 * 60, 19 * 60).unwrap(),
        ]
    })
    .collect();
    let calendars = |booked_days: i64, free_every: Option<i64>| -> Vec<Calendar> {
        (0..20)
            .map(|c| {
                let mut busy = Vec::new();
                for day in 0..booked_days {
                    let date = today.checked_add(day.days()).unwrap();
                    let start = date
                        .at(7, 0, 0, 0)
                        .to_zoned_datetime(tz.clone())
                        .unwrap()
                        .timestamp()
                        .as_millisecond();
                    // 45-minute visits with 15 minutes after, back to back from 07:00 to 19:00.
                    for k in 0..12 {
                        if free_every.is_some_and(|n| (day * 12 + k + c) % n == 0) {
                            continue;
                        }
                        let s = start + k * 60 * MINUTE;
                        busy.push(Busy {
                            start: s,
                            end: s + 45 * MINUTE,
                            buffer_before: 0,
                            buffer_after: 15,
                        });
                    }
                }
                Calendar {
                    tz: tz.clone(),
                    hours: hours.clone(),
                    busy,
                    closed: Vec::new(),
                }
            })
            .collect()
    };
    let mut req = Request::new(60, now);
    req.horizon_days = 90;
    for (name, cals) in [
        ("worst case: booked solid for 85 days", calendars(85, None)),
        ("a realistic week: 70% booked", calendars(90, Some(3))),
    ] {
        let busy: usize = cals.iter().map(|c| c.busy.len()).sum();
        let found = earliest(&cals, &req);
        let mut times = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            std::hint::black_box(earliest(std::hint::black_box(&cals), &req));
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let when = found.map(|(c, s)| {
            format!(
                "clinician {c} at {}",
                Timestamp::from_millisecond(s.start)
                    .unwrap()
                    .to_zoned_datetime(tz.clone())
                    .strftime("%a %b %-d %H:%M")
            )
        });
        println!(
            "{name}: 20 clinicians, {busy} appointments; earliest = {}; median {:.3} ms, p99 {:.3} ms (200 runs)",
            when.unwrap_or_else(|| "none".into()),
            times[100],
            times[197]
        );
    }
}
