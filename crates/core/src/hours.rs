//! Weekly opening hours for a clinic location, edited by staff as compact
//! text ("Mon-Fri 07:00-19:00; Sat 08:00-12:00") and stored the same way.
//! One interval per day; overnight hours are not supported.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

const MINUTES_PER_DAY: u16 = 24 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    pub const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];

    /// 0 for Monday through 6 for Sunday.
    pub const fn index(self) -> u8 {
        self as u8
    }

    pub const fn from_index(i: u8) -> Option<Weekday> {
        if (i as usize) < Self::ALL.len() {
            Some(Self::ALL[i as usize])
        } else {
            None
        }
    }

    pub const fn short(self) -> &'static str {
        match self {
            Weekday::Mon => "Mon",
            Weekday::Tue => "Tue",
            Weekday::Wed => "Wed",
            Weekday::Thu => "Thu",
            Weekday::Fri => "Fri",
            Weekday::Sat => "Sat",
            Weekday::Sun => "Sun",
        }
    }

    pub const fn long(self) -> &'static str {
        match self {
            Weekday::Mon => "Monday",
            Weekday::Tue => "Tuesday",
            Weekday::Wed => "Wednesday",
            Weekday::Thu => "Thursday",
            Weekday::Fri => "Friday",
            Weekday::Sat => "Saturday",
            Weekday::Sun => "Sunday",
        }
    }
}

impl fmt::Display for Weekday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short())
    }
}

impl FromStr for Weekday {
    type Err = HoursError;

    /// Short or full English name, any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Weekday::ALL
            .into_iter()
            .find(|d| t.eq_ignore_ascii_case(d.short()) || t.eq_ignore_ascii_case(d.long()))
            .ok_or_else(|| HoursError::UnknownDay(s.trim().to_owned()))
    }
}

impl From<jiff::civil::Weekday> for Weekday {
    fn from(w: jiff::civil::Weekday) -> Self {
        Weekday::ALL[usize::from(w.to_monday_zero_offset().unsigned_abs())]
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error("“{0}” is not a day of the week (use Mon, Tue, Wed, Thu, Fri, Sat or Sun)")]
    UnknownDay(String),
    #[error("“{0}” needs days and hours, like “Mon-Fri 07:00-19:00”")]
    Malformed(String),
    #[error("“{0}” is not a valid time (use 24-hour time, like 07:00 or 19:30)")]
    BadTime(String),
    #[error("“{0}” is not a valid range of hours: closing time must be after opening time")]
    EmptyInterval(String),
    #[error("{0} is listed more than once; give each day one opening time")]
    DuplicateDay(Weekday),
    #[error("the hours on {0} overlap; give each part of the day once")]
    Overlap(Weekday),
}

/// Open from `open` until just before `close`, in minutes after midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DayHours {
    weekday: Weekday,
    open: u16,
    close: u16,
}

impl DayHours {
    /// `close` may be 1440 (midnight at the end of the day).
    pub fn new(weekday: Weekday, open: u16, close: u16) -> Result<Self, HoursError> {
        if open >= close || close > MINUTES_PER_DAY {
            return Err(HoursError::EmptyInterval(format!(
                "{}-{}",
                Clock(open),
                Clock(close)
            )));
        }
        Ok(DayHours {
            weekday,
            open,
            close,
        })
    }

    pub fn weekday(&self) -> Weekday {
        self.weekday
    }

    pub fn open(&self) -> u16 {
        self.open
    }

    pub fn close(&self) -> u16 {
        self.close
    }

    pub fn contains(&self, minute: u16) -> bool {
        self.open <= minute && minute < self.close
    }
}

/// The week's hours, sorted Monday first, at most one interval per day.
/// Days without an entry are closed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WeeklyHours(Vec<DayHours>);

impl WeeklyHours {
    pub fn new(mut days: Vec<DayHours>) -> Result<Self, HoursError> {
        days.sort();
        if let Some(w) = days.windows(2).find(|w| w[0].weekday == w[1].weekday) {
            return Err(HoursError::DuplicateDay(w[0].weekday));
        }
        Ok(WeeklyHours(days))
    }

    /// Parses entries separated by `;` or newlines, each a day, a day range
    /// (ranges may wrap, e.g. "Sun-Thu") or a comma list, then "HH:MM-HH:MM".
    pub fn parse(input: &str) -> Result<Self, HoursError> {
        let mut days = Vec::new();
        for entry in input
            .split([';', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let malformed = || HoursError::Malformed(entry.to_owned());
            let split = entry
                .find(|c: char| c.is_ascii_digit())
                .ok_or_else(malformed)?;
            let (day_part, time_part) = entry.split_at(split);
            let day_part = normalize(day_part);
            if day_part.is_empty() {
                return Err(malformed());
            }
            let time_part = normalize(time_part);
            let (open, close) = time_part.split_once('-').ok_or_else(malformed)?;
            let (open, close) = (parse_clock(open)?, parse_clock(close)?);
            for item in day_part.split(',') {
                if item.is_empty() {
                    return Err(malformed());
                }
                for weekday in parse_day_range(item)? {
                    days.push(
                        DayHours::new(weekday, open, close)
                            .map_err(|_| HoursError::EmptyInterval(time_part.clone()))?,
                    );
                }
            }
        }
        Self::new(days)
    }

    pub fn days(&self) -> &[DayHours] {
        &self.0
    }

    pub fn get(&self, weekday: Weekday) -> Option<&DayHours> {
        self.0.iter().find(|d| d.weekday == weekday)
    }

    /// `minute` is minutes after local midnight; closing time is exclusive.
    pub fn is_open(&self, weekday: Weekday, minute: u16) -> bool {
        self.get(weekday).is_some_and(|d| d.contains(minute))
    }
}

/// A clinician's working hours: like [`WeeklyHours::parse`], but a day may have several intervals
/// ("Mon-Fri 07:00-12:00, 13:00-19:00; Sat 08:00-12:00"); intervals of one day must not overlap.
/// Returned sorted, Monday first.
pub fn parse_shifts(input: &str) -> Result<Vec<DayHours>, HoursError> {
    let mut days = Vec::new();
    for entry in input
        .split([';', '\n'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let malformed = || HoursError::Malformed(entry.to_owned());
        let split = entry
            .find(|c: char| c.is_ascii_digit())
            .ok_or_else(malformed)?;
        let (day_part, times) = entry.split_at(split);
        for range in times.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            days.extend_from_slice(WeeklyHours::parse(&format!("{day_part} {range}"))?.days());
        }
    }
    days.sort();
    if let Some(w) = days
        .windows(2)
        .find(|w| w[0].weekday == w[1].weekday && w[1].open < w[0].close)
    {
        return Err(HoursError::Overlap(w[0].weekday));
    }
    Ok(days)
}

/// The canonical text of [`parse_shifts`]: consecutive days with the same intervals collapsed.
pub fn format_shifts(shifts: &[DayHours]) -> String {
    let mut sorted = shifts.to_vec();
    sorted.sort();
    let of_day = |d: Weekday| -> Vec<String> {
        sorted
            .iter()
            .filter(|h| h.weekday == d)
            .map(|h| format!("{}-{}", Clock(h.open), Clock(h.close)))
            .collect()
    };
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < Weekday::ALL.len() {
        let first = Weekday::ALL[i];
        let times = of_day(first);
        let mut j = i + 1;
        while j < Weekday::ALL.len() && !times.is_empty() && of_day(Weekday::ALL[j]) == times {
            j += 1;
        }
        if !times.is_empty() {
            let days = if j - i > 1 {
                format!("{}-{}", first.short(), Weekday::ALL[j - 1].short())
            } else {
                first.short().to_string()
            };
            out.push(format!("{days} {}", times.join(", ")));
        }
        i = j;
    }
    out.join("; ")
}

/// Drops spaces and accepts typographic dashes, so "Mon – Fri 7:00 - 19:00"
/// reads the same as "Mon-Fri 7:00-19:00".
fn normalize(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if matches!(c, '–' | '—') { '-' } else { c })
        .collect()
}

fn parse_day_range(item: &str) -> Result<Vec<Weekday>, HoursError> {
    let Some((from, to)) = item.split_once('-') else {
        return Ok(vec![item.parse()?]);
    };
    let (from, to): (Weekday, Weekday) = (from.parse()?, to.parse()?);
    let len = (to.index() + 7 - from.index()) % 7 + 1;
    Ok((0..len)
        .map(|k| Weekday::ALL[usize::from((from.index() + k) % 7)])
        .collect())
}

/// "H:MM" or "HH:MM", 00:00 through 24:00.
fn parse_clock(s: &str) -> Result<u16, HoursError> {
    let bad = || HoursError::BadTime(s.to_owned());
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

struct Clock(u16);

impl fmt::Display for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl fmt::Display for WeeklyHours {
    /// Canonical form: Monday first, consecutive days with equal hours
    /// collapsed into a range, entries joined by "; ". Closed all week is "".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = &self.0[..];
        let mut first = true;
        while let Some(start) = rest.first() {
            let run = rest
                .iter()
                .enumerate()
                .take_while(|(k, d)| {
                    usize::from(d.weekday.index()) == usize::from(start.weekday.index()) + k
                        && (d.open, d.close) == (start.open, start.close)
                })
                .count();
            let end = &rest[run - 1];
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            f.write_str(start.weekday.short())?;
            if run > 1 {
                write!(f, "-{}", end.weekday.short())?;
            }
            write!(f, " {}-{}", Clock(start.open), Clock(start.close))?;
            rest = &rest[run..];
        }
        Ok(())
    }
}

impl FromStr for WeeklyHours {
    type Err = HoursError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for WeeklyHours {
    type Error = HoursError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<WeeklyHours> for String {
    fn from(h: WeeklyHours) -> String {
        h.to_string()
    }
}

#[cfg(test)]
mod shift_tests {
    use super::*;

    #[test]
    fn shifts_allow_a_lunch_break_and_read_back_the_same() {
        let shifts = parse_shifts("Mon-Fri 07:00-12:00, 13:00-19:00; Sat 8:00-12:00").unwrap();
        assert_eq!(shifts.len(), 11);
        assert_eq!(
            format_shifts(&shifts),
            "Mon-Fri 07:00-12:00, 13:00-19:00; Sat 08:00-12:00"
        );
        assert_eq!(parse_shifts(&format_shifts(&shifts)).unwrap(), shifts);
        assert_eq!(
            format_shifts(&parse_shifts("Mon,Wed 09:00-17:00").unwrap()),
            "Mon 09:00-17:00; Wed 09:00-17:00"
        );
        assert!(parse_shifts("").unwrap().is_empty());
        assert!(matches!(
            parse_shifts("Mon 08:00-12:00, 11:00-14:00"),
            Err(HoursError::Overlap(Weekday::Mon))
        ));
        assert!(parse_shifts("Mon 12:00-08:00").is_err());
        assert!(parse_shifts("Funday 08:00-12:00").is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Weekday::*;
    use proptest::prelude::*;

    fn dh(w: Weekday, open: u16, close: u16) -> DayHours {
        DayHours::new(w, open, close).unwrap()
    }

    #[test]
    fn parses_the_example() {
        let h = WeeklyHours::parse("Mon-Fri 07:00-19:00; Sat 08:00-12:00").unwrap();
        let mut want: Vec<_> = [Mon, Tue, Wed, Thu, Fri].map(|d| dh(d, 420, 1140)).into();
        want.push(dh(Sat, 480, 720));
        assert_eq!(h.days(), want);
        assert_eq!(h.to_string(), "Mon-Fri 07:00-19:00; Sat 08:00-12:00");
        assert!(h.get(Sun).is_none());
    }

    #[test]
    fn lenient_input_canonical_output() {
        let h = WeeklyHours::parse(
            "saturday 8:00 - 12:00\nmon – wed 7:00-19:00\n  Thu,Fri 07:00-19:00 ;; Sun 10:00-24:00",
        )
        .unwrap();
        assert_eq!(
            h.to_string(),
            "Mon-Fri 07:00-19:00; Sat 08:00-12:00; Sun 10:00-24:00"
        );
    }

    #[test]
    fn wrapping_range_and_split_runs() {
        let h = WeeklyHours::parse("Sun-Tue 09:00-17:00; Thu 09:00-17:00").unwrap();
        assert_eq!(
            h.to_string(),
            "Mon-Tue 09:00-17:00; Thu 09:00-17:00; Sun 09:00-17:00"
        );
        let h = WeeklyHours::parse("Mon 09:00-17:00; Tue 09:00-12:00; Wed 09:00-12:00").unwrap();
        assert_eq!(h.to_string(), "Mon 09:00-17:00; Tue-Wed 09:00-12:00");
    }

    #[test]
    fn empty_means_closed() {
        let h = WeeklyHours::parse("  ").unwrap();
        assert_eq!(h, WeeklyHours::default());
        assert_eq!(h.to_string(), "");
        assert!(!h.is_open(Mon, 600));
    }

    #[test]
    fn rejects_bad_input() {
        use HoursError as E;
        let cases = [
            ("Mon-Fri 07:00-19:00; Fri 08:00-12:00", E::DuplicateDay(Fri)),
            ("Mon 07:00-19:00; Mon 08:00-09:00", E::DuplicateDay(Mon)),
            ("Funday 07:00-19:00", E::UnknownDay("Funday".into())),
            ("Mon-Xyz 07:00-19:00", E::UnknownDay("Xyz".into())),
            ("Mon 7:00-25:00", E::BadTime("25:00".into())),
            ("Mon 7:60-9:00", E::BadTime("7:60".into())),
            ("Mon 7-9", E::BadTime("7".into())),
            ("Mon 07:00-07:00", E::EmptyInterval("07:00-07:00".into())),
            ("Mon 19:00-07:00", E::EmptyInterval("19:00-07:00".into())),
            ("Mon 24:00-24:00", E::EmptyInterval("24:00-24:00".into())),
            ("Mon", E::Malformed("Mon".into())),
            ("07:00-19:00", E::Malformed("07:00-19:00".into())),
            ("Mon 07:00", E::Malformed("Mon 07:00".into())),
            ("Mon, 07:00-09:00", E::Malformed("Mon, 07:00-09:00".into())),
        ];
        for (input, want) in cases {
            assert_eq!(WeeklyHours::parse(input), Err(want), "{input}");
        }
        assert_eq!(
            WeeklyHours::parse("Funday 07:00-19:00")
                .unwrap_err()
                .to_string(),
            "“Funday” is not a day of the week (use Mon, Tue, Wed, Thu, Fri, Sat or Sun)"
        );
        assert!(DayHours::new(Mon, 0, 1441).is_err());
        assert!(WeeklyHours::new(vec![dh(Tue, 1, 2), dh(Tue, 5, 6)]).is_err());
    }

    #[test]
    fn is_open_is_half_open() {
        let h = WeeklyHours::parse("Mon-Fri 07:00-19:00").unwrap();
        assert!(!h.is_open(Mon, 419));
        assert!(h.is_open(Mon, 420));
        assert!(h.is_open(Fri, 1139));
        assert!(!h.is_open(Fri, 1140));
        assert!(!h.is_open(Sat, 600));
    }

    #[test]
    fn weekday_conversions() {
        for (i, d) in Weekday::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(d.index()), i);
            assert_eq!(Weekday::from_index(d.index()), Some(d));
            assert_eq!(d.short().parse::<Weekday>(), Ok(d));
            assert_eq!(d.long().to_uppercase().parse::<Weekday>(), Ok(d));
        }
        assert_eq!(Weekday::from_index(7), None);
        assert_eq!(Weekday::from(jiff::civil::Weekday::Monday), Mon);
        assert_eq!(Weekday::from(jiff::civil::Weekday::Sunday), Sun);
    }

    fn interval() -> impl Strategy<Value = (u16, u16)> {
        prop_oneof![
            Just((420, 1140)),
            Just((480, 720)),
            (0u16..MINUTES_PER_DAY).prop_flat_map(|o| (Just(o), o + 1..=MINUTES_PER_DAY)),
        ]
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(week in prop::collection::vec(prop::option::of(interval()), 7)) {
            let days = Weekday::ALL
                .into_iter()
                .zip(week)
                .filter_map(|(d, iv)| iv.map(|(o, c)| dh(d, o, c)))
                .collect();
            let h = WeeklyHours::new(days).unwrap();
            let text = h.to_string();
            prop_assert_eq!(WeeklyHours::parse(&text), Ok(h.clone()), "{}", text);
        }

        #[test]
        fn never_panics(s in "[A-Za-z0-9:;, \\-\n–]{0,40}") {
            let _ = WeeklyHours::parse(&s);
        }
    }
}
