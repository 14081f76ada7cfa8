//! Turning stored instants (Unix milliseconds) into a clinic's local time for
//! display. No clock access here: callers pass the instant in.

use jiff::Timestamp;
use jiff::civil::DateTime;

use crate::tz::TimeZoneName;

/// The wall-clock time in `tz` at Unix millisecond `ms`. Instants outside
/// jiff's supported range (about ±9999 years) are clamped to its ends.
pub fn local_date_time(ms: i64, tz: &TimeZoneName) -> DateTime {
    tz.tz().to_datetime(timestamp(ms))
}

/// Staff-facing local time, e.g. "Mon Nov 23, 2026 9:05 AM CST".
pub fn format_local(ms: i64, tz: &TimeZoneName) -> String {
    let zdt = timestamp(ms).to_zoned_datetime(tz.tz());
    // Only fails for unsupported specifiers, which this fixed format avoids;
    // fall back to ISO rather than panicking inside a page render.
    jiff::fmt::strtime::format("%a %b %-d, %Y %-I:%M %p %Z", &zdt)
        .unwrap_or_else(|_| zdt.to_string())
}

fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc3339: &str) -> i64 {
        rfc3339.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn chicago() -> TimeZoneName {
        TimeZoneName::parse("America/Chicago").unwrap()
    }

    #[test]
    fn formats_like_the_example() {
        let t = ms("2026-11-23T15:05:00Z");
        assert_eq!(format_local(t, &chicago()), "Mon Nov 23, 2026 9:05 AM CST");
        assert_eq!(
            local_date_time(t, &chicago()).to_string(),
            "2026-11-23T09:05:00"
        );
    }

    #[test]
    fn spring_forward() {
        let tz = chicago();
        assert_eq!(
            format_local(ms("2026-03-08T07:59:00Z"), &tz),
            "Sun Mar 8, 2026 1:59 AM CST"
        );
        assert_eq!(
            format_local(ms("2026-03-08T08:00:00Z"), &tz),
            "Sun Mar 8, 2026 3:00 AM CDT"
        );
        assert_eq!(
            local_date_time(ms("2026-03-08T08:00:00Z"), &tz).to_string(),
            "2026-03-08T03:00:00"
        );
    }

    #[test]
    fn fall_back() {
        let tz = chicago();
        // 1:30 AM happens twice; the abbreviation tells them apart.
        assert_eq!(
            format_local(ms("2026-11-01T06:30:00Z"), &tz),
            "Sun Nov 1, 2026 1:30 AM CDT"
        );
        assert_eq!(
            format_local(ms("2026-11-01T07:30:00Z"), &tz),
            "Sun Nov 1, 2026 1:30 AM CST"
        );
        assert_eq!(
            local_date_time(ms("2026-11-01T06:30:00Z"), &tz),
            local_date_time(ms("2026-11-01T07:30:00Z"), &tz)
        );
        assert_eq!(
            format_local(ms("2026-11-01T18:00:00Z"), &tz),
            "Sun Nov 1, 2026 12:00 PM CST"
        );
    }

    #[test]
    fn other_zones_and_extremes() {
        let utc = TimeZoneName::parse("UTC").unwrap();
        assert_eq!(format_local(0, &utc), "Thu Jan 1, 1970 12:00 AM UTC");
        let denver = TimeZoneName::parse("America/Denver").unwrap();
        assert_eq!(
            format_local(ms("2026-07-04T18:00:00Z"), &denver),
            "Sat Jul 4, 2026 12:00 PM MDT"
        );
        // Must not panic on absurd inputs.
        let _ = format_local(i64::MAX, &utc);
        let _ = local_date_time(i64::MIN, &chicago());
    }
}
