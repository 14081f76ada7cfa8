//! An RFC 5545 (iCalendar) writer for the subscribable per-clinician calendar feed.
//!
//! The rules it follows:
//! - One VCALENDAR (VERSION 2.0, our PRODID, Gregorian, METHOD:PUBLISH, the feed's name as
//!   X-WR-CALNAME) holding one VEVENT per appointment, in the order given.
//! - Instants are UTC milliseconds and are written in UTC form, `YYYYMMDDTHHMMSSZ` (seconds
//!   truncated), so calendar apps convert them to the viewer's zone themselves; instants outside
//!   years 0000–9999 are clamped to that range.
//! - TEXT values (UID, SUMMARY, LOCATION, DESCRIPTION, the calendar name) escape backslash,
//!   semicolon and comma with a backslash and write line breaks as `\n` (§3.3.11). CRLF and a
//!   lone CR count as one line break; other ASCII control characters (except tab) are not
//!   allowed in TEXT and are dropped.
//! - SUMMARY, LOCATION and DESCRIPTION are left out when empty.
//! - Every line ends in CRLF; a line longer than 75 octets is folded by CRLF and one space (§3.1),
//!   always between two UTF-8 characters, never inside one.
//!
//! The feed has no patient names: the caller supplies neutral summaries ("New-patient
//! evaluation"). A cancelled appointment stays in the feed with STATUS:CANCELLED and a higher
//! SEQUENCE, so subscribed calendars remove it instead of keeping a stale copy.

use jiff::Timestamp;

/// Longest content line, in octets, before folding (CRLF not counted).
const MAX_LINE: usize = 75;
/// 0000-01-01T00:00:00Z, the earliest instant with a four-digit year.
const MIN_MS: i64 = -62_167_219_200_000;

/// One appointment in the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Globally unique and stable across feed refreshes (e.g. "appt-1234@stride"), so calendar
    /// apps update the event rather than duplicating it.
    pub uid: String,
    /// Start and end, UTC milliseconds.
    pub start: i64,
    pub end: i64,
    /// When this version of the event was last changed (DTSTAMP), UTC milliseconds.
    pub stamp: i64,
    /// What the appointment is, without patient details ("New-patient evaluation").
    pub summary: String,
    pub location: String,
    pub description: String,
    pub cancelled: bool,
    /// Revision number; raise it on every change, cancellation included.
    pub sequence: u32,
}

/// The whole feed: a VCALENDAR named `name` holding `events`, with CRLF line endings.
pub fn calendar(name: &str, events: &[Event]) -> String {
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//Stride//Scheduling//EN");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, "METHOD:PUBLISH");
    line(&mut out, &format!("X-WR-CALNAME:{}", escape(name)));
    for e in events {
        line(&mut out, "BEGIN:VEVENT");
        line(&mut out, &format!("UID:{}", escape(&e.uid)));
        line(&mut out, &format!("DTSTAMP:{}", date_time(e.stamp)));
        line(&mut out, &format!("DTSTART:{}", date_time(e.start)));
        line(&mut out, &format!("DTEND:{}", date_time(e.end)));
        for (property, value) in [
            ("SUMMARY", &e.summary),
            ("LOCATION", &e.location),
            ("DESCRIPTION", &e.description),
        ] {
            if !value.is_empty() {
                line(&mut out, &format!("{property}:{}", escape(value)));
            }
        }
        let status = if e.cancelled {
            "CANCELLED"
        } else {
            "CONFIRMED"
        };
        line(&mut out, &format!("STATUS:{status}"));
        line(&mut out, &format!("SEQUENCE:{}", e.sequence));
        line(&mut out, "END:VEVENT");
    }
    line(&mut out, "END:VCALENDAR");
    out
}

/// Appends one content line, folded to at most 75 octets per physical line, with CRLF.
fn line(out: &mut String, content: &str) {
    let mut rest = content;
    // A continuation line starts with the folding space, which counts toward its length.
    let mut room = MAX_LINE;
    while rest.len() > room {
        let mut cut = room;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        room = MAX_LINE - 1;
    }
    out.push_str(rest);
    out.push_str("\r\n");
}

/// A TEXT value escaped per RFC 5545 §3.3.11.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str("\\n");
            }
            '\t' => out.push('\t'),
            c if c.is_ascii_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A UTC DATE-TIME, `YYYYMMDDTHHMMSSZ`.
fn date_time(ms: i64) -> String {
    let ts = Timestamp::from_millisecond(ms.max(MIN_MS)).unwrap_or(Timestamp::MAX);
    ts.strftime("%Y%m%dT%H%M%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn utc(rfc3339: &str) -> i64 {
        rfc3339.parse::<Timestamp>().unwrap().as_millisecond()
    }

    /// Undoes folding (§3.1) and splits into content lines.
    fn unfold(ics: &str) -> Vec<String> {
        let joined = ics.replace("\r\n ", "").replace("\r\n\t", "");
        let mut lines: Vec<String> = joined.split("\r\n").map(str::to_owned).collect();
        assert_eq!(lines.pop().as_deref(), Some(""), "ends with CRLF");
        lines
    }

    fn unescape(value: &str) -> String {
        let mut out = String::new();
        let mut chars = value.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n' | 'N') => out.push('\n'),
                    Some(other) => out.push(other),
                    None => panic!("dangling backslash in {value:?}"),
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    fn property<'a>(lines: &'a [String], name: &str) -> Option<&'a str> {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
    }

    fn physical_lines_ok(ics: &str) {
        assert!(ics.ends_with("\r\n"));
        for physical in ics.split_terminator("\r\n") {
            assert!(physical.len() <= MAX_LINE, "{physical:?} is too long");
            assert!(
                !physical.contains(['\r', '\n']),
                "bare line break in {physical:?}"
            );
        }
    }

    fn event(summary: &str) -> Event {
        Event {
            uid: "appt-1@stride".into(),
            start: utc("2026-03-09T13:00:00Z"),
            end: utc("2026-03-09T14:00:00Z"),
            stamp: utc("2026-03-01T12:00:00Z"),
            summary: summary.into(),
            location: String::new(),
            description: String::new(),
            cancelled: false,
            sequence: 0,
        }
    }

    #[test]
    fn escapes_text_values() {
        assert_eq!(
            escape("Eval; knee, left\\right\nline two"),
            "Eval\\; knee\\, left\\\\right\\nline two"
        );
        assert_eq!(escape("a\r\nb\rc\n\nd"), "a\\nb\\nc\\n\\nd");
        assert_eq!(escape("tab\there\u{7}\u{0}x: ok"), "tab\therex: ok");
        assert_eq!(escape("Suite 2: Zürich — 10 €"), "Suite 2: Zürich — 10 €");
        assert_eq!(unescape(&escape("a;b,c\\d\ne")), "a;b,c\\d\ne");
    }

    #[test]
    fn folds_at_75_octets_without_splitting_characters() {
        // Exactly 75 octets: not folded.
        let mut out = String::new();
        let exact = format!("SUMMARY:{}", "a".repeat(67));
        line(&mut out, &exact);
        assert_eq!(out, format!("{exact}\r\n"));
        // 76 octets: the last one moves to a continuation line.
        let mut out = String::new();
        line(&mut out, &format!("SUMMARY:{}", "a".repeat(68)));
        assert_eq!(out, format!("SUMMARY:{}\r\n a\r\n", "a".repeat(67)));

        // "é" is two octets at 75–76: the first line stops before it, at 74 octets.
        let text = format!("{}é{}", "a".repeat(66), "€😀ü".repeat(30));
        let mut out = String::new();
        line(&mut out, &format!("SUMMARY:{text}"));
        physical_lines_ok(&out);
        let physical: Vec<&str> = out.split_terminator("\r\n").collect();
        assert_eq!(physical[0].len(), 74);
        assert!(physical[1].starts_with(" é€😀ü"));
        assert!(physical.len() > 3);
        assert!(physical[1..].iter().all(|l| l.starts_with(' ')));
        // Continuation lines are full up to a character boundary.
        for l in &physical[1..physical.len() - 1] {
            assert!(l.len() > MAX_LINE - 4, "{l:?} folded too early");
        }
        assert_eq!(unfold(&out), [format!("SUMMARY:{text}")]);
    }

    #[test]
    fn writes_a_whole_calendar() {
        let events = [
            Event {
                uid: "appt-41@stride".into(),
                start: utc("2026-03-09T13:00:00Z"),
                end: utc("2026-03-09T14:00:00Z"),
                stamp: utc("2026-03-01T12:00:00.750Z"),
                summary: "New-patient evaluation".into(),
                location: "Main St clinic, Room 2".into(),
                description: "Bring: referral; insurance card".into(),
                cancelled: false,
                sequence: 0,
            },
            Event {
                uid: "appt-42@stride".into(),
                start: utc("2026-03-10T15:30:00Z"),
                end: utc("2026-03-10T16:15:00Z"),
                stamp: utc("2026-03-02T08:05:09Z"),
                summary: "Follow-up visit".into(),
                location: String::new(),
                description: String::new(),
                cancelled: true,
                sequence: 3,
            },
        ];
        let expected = concat!(
            "BEGIN:VCALENDAR\r\n",
            "VERSION:2.0\r\n",
            "PRODID:-//Stride//Scheduling//EN\r\n",
            "CALSCALE:GREGORIAN\r\n",
            "METHOD:PUBLISH\r\n",
            "X-WR-CALNAME:Dr. Lee\\, PT\r\n",
            "BEGIN:VEVENT\r\n",
            "UID:appt-41@stride\r\n",
            "DTSTAMP:20260301T120000Z\r\n",
            "DTSTART:20260309T130000Z\r\n",
            "DTEND:20260309T140000Z\r\n",
            "SUMMARY:New-patient evaluation\r\n",
            "LOCATION:Main St clinic\\, Room 2\r\n",
            "DESCRIPTION:Bring: referral\\; insurance card\r\n",
            "STATUS:CONFIRMED\r\n",
            "SEQUENCE:0\r\n",
            "END:VEVENT\r\n",
            "BEGIN:VEVENT\r\n",
            "UID:appt-42@stride\r\n",
            "DTSTAMP:20260302T080509Z\r\n",
            "DTSTART:20260310T153000Z\r\n",
            "DTEND:20260310T161500Z\r\n",
            "SUMMARY:Follow-up visit\r\n",
            "STATUS:CANCELLED\r\n",
            "SEQUENCE:3\r\n",
            "END:VEVENT\r\n",
            "END:VCALENDAR\r\n",
        );
        assert_eq!(calendar("Dr. Lee, PT", &events), expected);
        assert_eq!(
            calendar("Empty", &[]),
            concat!(
                "BEGIN:VCALENDAR\r\n",
                "VERSION:2.0\r\n",
                "PRODID:-//Stride//Scheduling//EN\r\n",
                "CALSCALE:GREGORIAN\r\n",
                "METHOD:PUBLISH\r\n",
                "X-WR-CALNAME:Empty\r\n",
                "END:VCALENDAR\r\n",
            )
        );
    }

    #[test]
    fn long_descriptions_fold_inside_a_calendar() {
        let mut e = event("Treatment session");
        e.description = "Übungen: Kniebeugen, Ausfallschritte; danach Eis.\n".repeat(5);
        let ics = calendar("Feed", &[e.clone()]);
        physical_lines_ok(&ics);
        let lines = unfold(&ics);
        assert_eq!(
            property(&lines, "DESCRIPTION").map(unescape),
            Some(e.description)
        );
        assert!(property(&lines, "LOCATION").is_none());
    }

    #[test]
    fn instants_are_utc_and_clamped() {
        assert_eq!(date_time(0), "19700101T000000Z");
        assert_eq!(date_time(-1), "19691231T235959Z");
        assert_eq!(date_time(i64::MIN), "00000101T000000Z");
        assert!(date_time(i64::MAX).starts_with("9999"));
    }

    fn arb_text() -> impl Strategy<Value = String> {
        let ch = prop_oneof![
            // TEXT has no control characters but tab and line breaks (others are dropped).
            4 => any::<char>().prop_map(|c| {
                if c.is_ascii_control() && !matches!(c, '\t' | '\n') { '?' } else { c }
            }),
            1 => prop::sample::select(vec!['\n', ';', ',', '\\', ':', 'é', '€', '😀', 'a', ' ']),
        ];
        proptest::collection::vec(ch, 0..200).prop_map(String::from_iter)
    }

    proptest! {
        /// Unfolding and unescaping the feed gives every summary back, and no physical line is
        /// longer than 75 octets.
        #[test]
        fn summaries_round_trip(summary in arb_text(), name in arb_text()) {
            let ics = calendar(&name, &[event(&summary)]);
            physical_lines_ok(&ics);
            let lines = unfold(&ics);
            prop_assert_eq!(property(&lines, "SUMMARY").map(unescape).unwrap_or_default(), summary);
            prop_assert_eq!(property(&lines, "X-WR-CALNAME").map(unescape), Some(name));
            prop_assert_eq!(lines.len(), 16 - usize::from(property(&lines, "SUMMARY").is_none()));
        }
    }
}
