//! Billing units for a physical-therapy visit by Medicare's "8-minute rule" (CMS Medicare Claims
//! Processing Manual, Chapter 5, §20.2), used by visit notes to bill what was documented and by
//! the documentation audit to flag units the minutes do not support.
//!
//! The rule in plain words:
//!
//! - **Untimed ("service-based") codes** — evaluations, hot/cold packs, unattended electrical
//!   stimulation, mechanical traction — are billed as one unit per visit however long they took.
//!   Their minutes never count toward the timed units.
//! - **Timed codes** are billed in 15-minute units, and the visit's *total* timed minutes decide
//!   how many units there are in all: under 8 minutes, none; 8–22, one; 23–37, two; 38–52, three;
//!   and one more for each further 15 minutes.
//! - Those units are then shared among the timed codes: each code first gets its full 15-minute
//!   units; any units left go, one each, to the codes with the most minutes left over (ties go to
//!   the code listed first). So a code done for under 8 minutes can still be billed when the
//!   leftovers add up ("7 minutes of exercise and 7 of manual therapy make one unit"), and no code
//!   is ever billed for more 15-minute units than its minutes reach.
//! - A code done in several segments is documented once, with its minutes added together.
//!
//! Some commercial payers count each code on its own instead (the AMA's "substantial portion"
//! rule); this module follows Medicare's total-time method.

use serde::{Deserialize, Serialize};

/// The most minutes a single line of a visit note may hold.
pub const MAX_LINE_MINUTES: u32 = 240;

/// A CPT (or HCPCS) code a physical therapist bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cpt {
    pub code: &'static str,
    pub label: &'static str,
    /// Billed in 15-minute units by total timed minutes; otherwise one unit per visit.
    pub timed: bool,
}

const fn timed(code: &'static str, label: &'static str) -> Cpt {
    Cpt {
        code,
        label,
        timed: true,
    }
}

const fn untimed(code: &'static str, label: &'static str) -> Cpt {
    Cpt {
        code,
        label,
        timed: false,
    }
}

/// The codes Stride bills: the common timed codes first, then the untimed ones.
pub const CODES: &[Cpt] = &[
    timed("97110", "Therapeutic exercise"),
    timed("97112", "Neuromuscular re-education"),
    timed("97116", "Gait training"),
    timed("97140", "Manual therapy"),
    timed("97530", "Therapeutic activities"),
    timed("97535", "Self-care/home management training"),
    timed("97750", "Physical performance test"),
    timed("97032", "Electrical stimulation (attended)"),
    timed("97035", "Ultrasound"),
    timed("97033", "Iontophoresis"),
    timed("97760", "Orthotic management and training"),
    untimed("97161", "PT evaluation, low complexity"),
    untimed("97162", "PT evaluation, moderate complexity"),
    untimed("97163", "PT evaluation, high complexity"),
    untimed("97164", "PT re-evaluation"),
    untimed("97010", "Hot/cold packs"),
    untimed("97014", "Electrical stimulation (unattended)"),
    untimed("G0283", "Electrical stimulation, unattended (Medicare)"),
    untimed("97012", "Mechanical traction"),
];

/// The code's entry in [`CODES`], ignoring surrounding spaces and letter case ("g0283").
pub fn cpt(code: &str) -> Option<&'static Cpt> {
    let code = code.trim();
    CODES.iter().find(|c| c.code.eq_ignore_ascii_case(code))
}

/// The timed units a visit's total timed minutes support: 0–7 minutes none, 8–22 one, 23–37 two,
/// 38–52 three, and one more for each further 15 minutes.
pub const fn total_timed_units(total_minutes: u32) -> u32 {
    total_minutes / 15 + if total_minutes % 15 >= 8 { 1 } else { 0 }
}

/// One intervention documented in a visit note: a code and the minutes spent on it (for an
/// untimed code the minutes are informational and may be 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub code: String,
    pub minutes: u32,
}

/// A code and the units billed for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Billed {
    pub code: String,
    pub units: u32,
}

/// Why a visit's interventions cannot be billed as documented.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillingError {
    #[error("“{0}” is not a CPT code Stride bills; check the code (97110 is therapeutic exercise)")]
    UnknownCode(String),
    #[error("{0} is listed more than once; list it once with its minutes added together")]
    DuplicateCode(&'static str),
    #[error(
        "{code} is documented for {minutes} minutes, more than one visit can hold ({MAX_LINE_MINUTES} at most); check the minutes"
    )]
    TooManyMinutes { code: &'static str, minutes: u32 },
    #[error("{0} is billed in 15-minute units; enter the minutes it took")]
    NoMinutes(&'static str),
}

/// Validates the lines and resolves their codes, in input order.
fn documented(lines: &[Line]) -> Result<Vec<(&'static Cpt, u32)>, BillingError> {
    let mut out: Vec<(&'static Cpt, u32)> = Vec::with_capacity(lines.len());
    for line in lines {
        let c =
            cpt(&line.code).ok_or_else(|| BillingError::UnknownCode(line.code.trim().into()))?;
        if line.minutes > MAX_LINE_MINUTES {
            return Err(BillingError::TooManyMinutes {
                code: c.code,
                minutes: line.minutes,
            });
        }
        if c.timed && line.minutes == 0 {
            return Err(BillingError::NoMinutes(c.code));
        }
        if out.iter().any(|(d, _)| d.code == c.code) {
            return Err(BillingError::DuplicateCode(c.code));
        }
        out.push((c, line.minutes));
    }
    Ok(out)
}

/// The units of each entry of `doc`, by the rule: 1 for an untimed code; for timed codes, full
/// 15-minute units first, then the remaining units to the most leftover minutes (ties in order).
fn allocate(doc: &[(&'static Cpt, u32)]) -> Vec<u32> {
    let mut units: Vec<u32> = doc
        .iter()
        .map(|(c, m)| if c.timed { m / 15 } else { 1 })
        .collect();
    let total: u32 = doc
        .iter()
        .filter(|(c, _)| c.timed)
        .fold(0, |sum, (_, m)| sum.saturating_add(*m));
    let full: u32 = doc
        .iter()
        .zip(&units)
        .filter(|((c, _), _)| c.timed)
        .map(|(_, u)| u)
        .sum();
    let extra = total_timed_units(total) - full;
    let mut leftovers: Vec<(usize, u32)> = doc
        .iter()
        .enumerate()
        .filter(|(_, (c, _))| c.timed)
        .map(|(i, (_, m))| (i, m % 15))
        .collect();
    // Stable: equal leftovers keep the order given.
    leftovers.sort_by_key(|&(_, r)| std::cmp::Reverse(r));
    // The extra units never outnumber the codes with minutes left over (each leftover is under
    // 15 minutes, and it takes 8 more to make a unit), so no code passes ceil(minutes / 15).
    for &(i, r) in leftovers.iter().take(extra as usize) {
        debug_assert!(r > 0);
        units[i] += 1;
    }
    units
}

/// The units to bill for a visit's documented interventions, in input order. Untimed codes get
/// one unit each; the total timed minutes give the timed units, shared out as the module
/// describes. Timed codes left with no unit are dropped (5 minutes of exercise alone bills
/// nothing).
pub fn units(lines: &[Line]) -> Result<Vec<Billed>, BillingError> {
    let doc = documented(lines)?;
    let units = allocate(&doc);
    Ok(doc
        .iter()
        .zip(units)
        .filter(|&(_, u)| u > 0)
        .map(|((c, _), units)| Billed {
            code: c.code.into(),
            units,
        })
        .collect())
}

fn count(n: u32, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// For the documentation audit: the ways the units someone billed differ from what the documented
/// minutes support, in plain words, e.g. "97110: 3 units billed, 24 minutes support 2",
/// "97140 billed but not documented" or "total timed units 4 exceed the 3 that 47 minutes
/// support". Flags billing over and under what the rule gives, and a leftover-minutes unit given
/// to the wrong code; any way of breaking a tie is accepted. Empty when consistent.
pub fn check(lines: &[Line], billed: &[Billed]) -> Vec<String> {
    let mut problems: Vec<String> = Vec::new();
    let mut note = |p: String| {
        if !problems.contains(&p) {
            problems.push(p);
        }
    };

    // What was documented, every problem noted; a code listed twice is judged on its sum.
    let mut doc: Vec<(&'static Cpt, u32)> = Vec::new();
    for line in lines {
        let Some(c) = cpt(&line.code) else {
            note(BillingError::UnknownCode(line.code.trim().into()).to_string());
            continue;
        };
        if line.minutes > MAX_LINE_MINUTES {
            note(
                BillingError::TooManyMinutes {
                    code: c.code,
                    minutes: line.minutes,
                }
                .to_string(),
            );
        }
        if c.timed && line.minutes == 0 {
            note(BillingError::NoMinutes(c.code).to_string());
        }
        match doc.iter_mut().find(|(d, _)| d.code == c.code) {
            Some((_, m)) => {
                note(BillingError::DuplicateCode(c.code).to_string());
                *m = m.saturating_add(line.minutes);
            }
            None => doc.push((c, line.minutes)),
        }
    }

    // What was billed, by code.
    let mut bill: Vec<(&'static Cpt, u32)> = Vec::new();
    for b in billed.iter().filter(|b| b.units > 0) {
        let Some(c) = cpt(&b.code) else {
            note(format!(
                "“{}” billed but is not a CPT code Stride bills",
                b.code.trim()
            ));
            continue;
        };
        match bill.iter_mut().find(|(d, _)| d.code == c.code) {
            Some((_, u)) => {
                note(format!(
                    "{} billed on more than one line; bill it once with all its units",
                    c.code
                ));
                *u = u.saturating_add(b.units);
            }
            None => bill.push((c, b.units)),
        }
    }
    let billed_units =
        |code: &str| -> u32 { bill.iter().find(|(c, _)| c.code == code).map_or(0, |b| b.1) };

    for &(c, u) in &bill {
        let Some(&(_, m)) = doc.iter().find(|(d, _)| d.code == c.code) else {
            note(format!("{} billed but not documented", c.code));
            continue;
        };
        if !c.timed && u > 1 {
            note(format!(
                "{}: {} billed, but it is billed once per visit",
                c.code,
                count(u, "unit", "units")
            ));
        }
        if c.timed {
            let most = m.div_ceil(15);
            if u > most {
                let support = if most == 0 {
                    "none".to_string()
                } else {
                    most.to_string()
                };
                note(format!(
                    "{}: {} billed, {} support {support}",
                    c.code,
                    count(u, "unit", "units"),
                    count(m, "minute", "minutes"),
                ));
            }
        }
    }

    for &(c, m) in &doc {
        let u = billed_units(c.code);
        if !c.timed && u == 0 {
            note(format!("{} documented but not billed", c.code));
        }
        if c.timed && u < m / 15 {
            note(format!(
                "{}: {} billed, but {} make {}",
                c.code,
                count(u, "unit", "units"),
                count(m, "minute", "minutes"),
                count(m / 15, "full 15-minute unit", "full 15-minute units"),
            ));
        }
    }

    // The visit's total: timed units billed against the total timed minutes.
    let minutes: u32 = doc
        .iter()
        .filter(|(c, _)| c.timed)
        .fold(0, |sum, (_, m)| sum.saturating_add(*m));
    let allowed = total_timed_units(minutes);
    let total: u32 = bill
        .iter()
        .filter(|(c, _)| c.timed)
        .fold(0, |sum, (_, u)| sum.saturating_add(*u));
    if total > allowed && allowed == 0 {
        note(format!(
            "total timed units {total}, but {} of timed treatment support none (it takes 8)",
            count(minutes, "minute", "minutes")
        ));
    } else if total > allowed {
        note(format!(
            "total timed units {total} exceed the {allowed} that {} support",
            count(minutes, "minute", "minutes")
        ));
    } else if total < allowed {
        note(format!(
            "total timed units {total} fall short of the {allowed} that {} support",
            count(minutes, "minute", "minutes")
        ));
    }

    // Units for leftover minutes belong to the codes with the most left over. Among codes billed
    // their full units plus at most one, pair the smallest leftover that got a unit with the
    // largest that did not, while the one that got it has strictly fewer minutes left.
    let mut got: Vec<(&str, u32)> = Vec::new();
    let mut missed: Vec<(&str, u32)> = Vec::new();
    for &(c, m) in doc.iter().filter(|(c, _)| c.timed) {
        let (u, r) = (billed_units(c.code), m % 15);
        if r == 0 {
            continue;
        }
        if u == m / 15 + 1 {
            got.push((c.code, r));
        } else if u == m / 15 {
            missed.push((c.code, r));
        }
    }
    got.sort_by_key(|&(_, r)| r);
    missed.sort_by_key(|&(_, r)| std::cmp::Reverse(r));
    for (&(to, r_to), &(from, r_from)) in got.iter().zip(&missed) {
        if r_to >= r_from {
            break;
        }
        note(format!(
            "{to} billed a unit for {} left over, but {from} had more left over ({r_from}); \
             the unit belongs to {from}",
            count(r_to, "minute", "minutes")
        ));
    }

    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lines(items: &[(&str, u32)]) -> Vec<Line> {
        items
            .iter()
            .map(|&(code, minutes)| Line {
                code: code.into(),
                minutes,
            })
            .collect()
    }

    fn billed(items: &[(&str, u32)]) -> Vec<Billed> {
        items
            .iter()
            .map(|&(code, units)| Billed {
                code: code.into(),
                units,
            })
            .collect()
    }

    fn bill(items: &[(&str, u32)]) -> Vec<Billed> {
        units(&lines(items)).unwrap()
    }

    #[test]
    fn the_code_table_is_consistent() {
        for (i, c) in CODES.iter().enumerate() {
            assert_eq!(cpt(c.code), Some(c));
            assert!(
                CODES[..i].iter().all(|d| d.code != c.code),
                "{} twice",
                c.code
            );
            assert!(!c.label.is_empty());
        }
        assert_eq!(CODES.iter().filter(|c| c.timed).count(), 11);
        assert_eq!(CODES.iter().filter(|c| !c.timed).count(), 8);
        assert!(cpt("97110").unwrap().timed);
        assert!(!cpt("97162").unwrap().timed);
        assert_eq!(cpt(" g0283 ").map(|c| c.code), Some("G0283"));
        assert_eq!(cpt("97999"), None);
        assert_eq!(cpt(""), None);
    }

    #[test]
    fn the_eight_minute_table() {
        let table = [
            (0, 0),
            (7, 0),
            (8, 1),
            (22, 1),
            (23, 2),
            (37, 2),
            (38, 3),
            (52, 3),
            (53, 4),
            (67, 4),
            (68, 5),
            (82, 5),
            (83, 6),
            (97, 6),
            (98, 7),
        ];
        for (minutes, units) in table {
            assert_eq!(total_timed_units(minutes), units, "{minutes} minutes");
        }
        for m in 8..2_000 {
            assert_eq!(total_timed_units(m), (m + 7) / 15);
        }
        assert_eq!(total_timed_units(u32::MAX), u32::MAX / 15);
    }

    #[test]
    fn cms_two_codes_over_15_minutes_more_units_to_the_longer() {
        // 24 + 23 = 47 minutes: 3 units. One full unit each, leftovers 9 and 8: the third unit
        // goes to 97110.
        assert_eq!(
            bill(&[("97110", 24), ("97140", 23)]),
            billed(&[("97110", 2), ("97140", 1)])
        );
        assert_eq!(
            bill(&[("97140", 23), ("97110", 24)]),
            billed(&[("97140", 1), ("97110", 2)])
        );
    }

    #[test]
    fn cms_seven_minutes_can_take_the_leftover_unit() {
        // 33 + 7 = 40 minutes: 3 units. 97110 has 2 full units and 3 left over; 97140's 7 minutes
        // are more, so the third unit is 97140's.
        assert_eq!(
            bill(&[("97110", 33), ("97140", 7)]),
            billed(&[("97110", 2), ("97140", 1)])
        );
    }

    #[test]
    fn cms_mixed_remainders_make_one_unit() {
        // 7 + 7 = 14 minutes: 1 unit, to the first listed.
        assert_eq!(bill(&[("97110", 7), ("97140", 7)]), billed(&[("97110", 1)]));
        assert_eq!(bill(&[("97140", 7), ("97110", 7)]), billed(&[("97140", 1)]));
        // 7 + 7 + 7 = 21 minutes: still 1 unit.
        assert_eq!(
            bill(&[("97112", 7), ("97110", 7), ("97140", 7)]),
            billed(&[("97112", 1)])
        );
        // The longer of two short codes takes it.
        assert_eq!(bill(&[("97110", 3), ("97140", 6)]), billed(&[("97140", 1)]));
    }

    #[test]
    fn cms_four_codes() {
        // 18 + 13 + 10 + 8 = 49 minutes: 3 units. 97110's full unit, then the two largest
        // leftovers (13 and 10) over 97035's 8 and 97110's 3.
        assert_eq!(
            bill(&[("97110", 18), ("97140", 13), ("97116", 10), ("97035", 8)]),
            billed(&[("97110", 1), ("97140", 1), ("97116", 1)])
        );
    }

    #[test]
    fn under_eight_timed_minutes_bill_nothing() {
        assert_eq!(bill(&[("97110", 5)]), []);
        assert_eq!(bill(&[("97110", 7)]), []);
        assert_eq!(bill(&[("97110", 8)]), billed(&[("97110", 1)]));
        assert_eq!(bill(&[]), []);
        // A full unit with nothing left over leaves a 7-minute code unbilled.
        assert_eq!(
            bill(&[("97110", 15), ("97140", 7)]),
            billed(&[("97110", 1)])
        );
    }

    #[test]
    fn untimed_codes_are_one_unit_and_their_minutes_never_count() {
        assert_eq!(
            bill(&[("97162", 45), ("97110", 10)]),
            billed(&[("97162", 1), ("97110", 1)])
        );
        // 45 evaluation minutes would have made the 5 exercise minutes billable if counted.
        assert_eq!(
            bill(&[("97162", 45), ("97110", 5)]),
            billed(&[("97162", 1)])
        );
        assert_eq!(
            bill(&[("97010", 0), ("g0283", 0), ("97140", 30)]),
            billed(&[("97010", 1), ("G0283", 1), ("97140", 2)])
        );
    }

    #[test]
    fn documentation_errors_are_named() {
        let err = |items: &[(&str, u32)]| units(&lines(items)).unwrap_err();
        assert_eq!(
            err(&[("97999", 10)]),
            BillingError::UnknownCode("97999".into())
        );
        assert_eq!(
            err(&[("97110", 10), ("97140", 5), ("97110", 8)]),
            BillingError::DuplicateCode("97110")
        );
        assert_eq!(
            err(&[("g0283", 0), ("G0283", 0)]),
            BillingError::DuplicateCode("G0283")
        );
        assert_eq!(
            err(&[("97110", 241)]),
            BillingError::TooManyMinutes {
                code: "97110",
                minutes: 241
            }
        );
        assert_eq!(
            err(&[("97162", 300)]),
            BillingError::TooManyMinutes {
                code: "97162",
                minutes: 300
            }
        );
        assert_eq!(err(&[("97140", 0)]), BillingError::NoMinutes("97140"));
        assert!(units(&lines(&[("97110", 240)])).is_ok());
        let text = err(&[("97140", 0)]).to_string();
        assert!(text.contains("enter the minutes"), "{text}");
        let text = err(&[("97110", 241)]).to_string();
        assert!(text.contains("240"), "{text}");
    }

    #[test]
    fn check_accepts_what_the_rule_bills() {
        let l = lines(&[("97162", 45), ("97110", 24), ("97140", 23)]);
        assert_eq!(check(&l, &units(&l).unwrap()), Vec::<String>::new());
        // A tie may go either way.
        let l = lines(&[("97110", 7), ("97140", 7)]);
        assert!(check(&l, &billed(&[("97140", 1)])).is_empty());
        assert!(check(&l, &billed(&[("97110", 1)])).is_empty());
        // Rows of zero units and any letter case are fine.
        let l = lines(&[("G0283", 0), ("97110", 20)]);
        assert!(check(&l, &billed(&[("g0283", 1), ("97110", 1), ("97140", 0)])).is_empty());
    }

    #[test]
    fn check_names_overbilling() {
        let l = lines(&[("97110", 24), ("97140", 23)]);
        assert_eq!(
            check(&l, &billed(&[("97110", 3), ("97140", 1)])),
            [
                "97110: 3 units billed, 24 minutes support 2",
                "total timed units 4 exceed the 3 that 47 minutes support",
            ]
        );
        assert_eq!(
            check(&l, &billed(&[("97110", 2), ("97140", 1), ("97530", 1)])),
            [
                "97530 billed but not documented",
                "total timed units 4 exceed the 3 that 47 minutes support",
            ]
        );
        let l = lines(&[("97110", 5)]);
        assert_eq!(
            check(&l, &billed(&[("97110", 1)])),
            ["total timed units 1, but 5 minutes of timed treatment support none (it takes 8)"]
        );
        let l = lines(&[("97162", 60)]);
        assert_eq!(
            check(&l, &billed(&[("97162", 2)])),
            ["97162: 2 units billed, but it is billed once per visit"]
        );
    }

    #[test]
    fn check_names_underbilling_and_misplaced_units() {
        let l = lines(&[("97162", 45), ("97110", 33), ("97140", 7)]);
        assert_eq!(
            check(&l, &billed(&[("97110", 1), ("97140", 1)])),
            [
                "97162 documented but not billed",
                "97110: 1 unit billed, but 33 minutes make 2 full 15-minute units",
                "total timed units 2 fall short of the 3 that 40 minutes support",
            ]
        );
        // The third unit of 24 + 23 belongs to 97110 (9 left over), not 97140 (8).
        let l = lines(&[("97110", 24), ("97140", 23)]);
        assert_eq!(
            check(&l, &billed(&[("97110", 1), ("97140", 2)])),
            [
                "97140 billed a unit for 8 minutes left over, but 97110 had more left over (9); \
                 the unit belongs to 97110"
            ]
        );
        // 33 + 7: the 7 minutes of 97140 beat 97110's 3 left over.
        let l = lines(&[("97110", 33), ("97140", 7)]);
        assert_eq!(
            check(&l, &billed(&[("97110", 3)])),
            [
                "97110 billed a unit for 3 minutes left over, but 97140 had more left over (7); \
                 the unit belongs to 97140"
            ]
        );
    }

    #[test]
    fn check_reports_bad_documentation_and_codes() {
        let l = lines(&[("97999", 10), ("97110", 20), ("97110", 10), ("97140", 0)]);
        let problems = check(&l, &billed(&[("97110", 2), ("XYZ", 1), ("97110", 0)]));
        assert_eq!(
            problems,
            [
                BillingError::UnknownCode("97999".into()).to_string(),
                BillingError::DuplicateCode("97110").to_string(),
                BillingError::NoMinutes("97140").to_string(),
                "“XYZ” billed but is not a CPT code Stride bills".to_string(),
            ]
        );
        let l = lines(&[("97110", 30)]);
        assert_eq!(
            check(&l, &billed(&[("97110", 1), ("97110", 1)])),
            ["97110 billed on more than one line; bill it once with all its units"]
        );
    }

    /// Distinct timed codes, in any order, each with 1..=120 minutes.
    fn timed_lines() -> impl Strategy<Value = Vec<Line>> {
        let codes: Vec<&'static str> = CODES.iter().filter(|c| c.timed).map(|c| c.code).collect();
        let n = codes.len();
        (
            proptest::sample::subsequence(codes, 1..=n).prop_shuffle(),
            proptest::collection::vec(1u32..=120, n),
        )
            .prop_map(|(codes, minutes)| {
                codes
                    .into_iter()
                    .zip(minutes)
                    .map(|(code, minutes)| Line {
                        code: code.into(),
                        minutes,
                    })
                    .collect()
            })
    }

    proptest! {
        /// The units add up to what the total minutes support, no code passes its own minutes,
        /// and the audit agrees with the rule.
        #[test]
        fn units_follow_the_total_and_pass_the_audit(lines in timed_lines()) {
            let out = units(&lines).unwrap();
            let minutes: u32 = lines.iter().map(|l| l.minutes).sum();
            let sum: u32 = out.iter().map(|b| b.units).sum();
            prop_assert_eq!(sum, total_timed_units(minutes));
            for b in &out {
                let l = lines.iter().find(|l| l.code == b.code).unwrap();
                prop_assert!(b.units >= 1);
                prop_assert!(b.units <= l.minutes.div_ceil(15), "{b:?} for {l:?}");
                prop_assert!(b.units >= l.minutes / 15, "{b:?} for {l:?}");
            }
            // In input order.
            let order: Vec<&str> = lines
                .iter()
                .map(|l| l.code.as_str())
                .filter(|c| out.iter().any(|b| b.code == *c))
                .collect();
            let got: Vec<&str> = out.iter().map(|b| b.code.as_str()).collect();
            prop_assert_eq!(order, got);
            prop_assert_eq!(check(&lines, &out), Vec::<String>::new());
        }

        /// One unit more on any documented code, billed or not, is flagged.
        #[test]
        fn an_extra_unit_is_flagged(lines in timed_lines(), pick in any::<prop::sample::Index>()) {
            let out = units(&lines).unwrap();
            let code = &lines[pick.index(lines.len())].code;
            let mut more = out.clone();
            match more.iter_mut().find(|b| &b.code == code) {
                Some(b) => b.units += 1,
                None => more.push(Billed { code: code.clone(), units: 1 }),
            }
            prop_assert!(!check(&lines, &more).is_empty());
            // And one fewer.
            if let Some(i) = (!out.is_empty()).then(|| pick.index(out.len())) {
                let mut fewer = out.clone();
                fewer[i].units -= 1;
                prop_assert!(!check(&lines, &fewer).is_empty());
            }
        }

        /// Listing the same interventions in another order only changes how ties break: the
        /// audit accepts either.
        #[test]
        fn any_tie_break_passes_the_audit(lines in timed_lines(), seed in any::<u64>()) {
            let mut shuffled = lines.clone();
            let n = shuffled.len();
            let mut s = seed;
            for i in (1..n).rev() {
                s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                shuffled.swap(i, (s >> 33) as usize % (i + 1));
            }
            prop_assert_eq!(check(&lines, &units(&shuffled).unwrap()), Vec::<String>::new());
        }

        /// Untimed lines add one unit each and leave the timed units alone.
        #[test]
        fn untimed_lines_never_change_timed_units(
            lines in timed_lines(),
            extra in proptest::sample::subsequence(
                CODES.iter().filter(|c| !c.timed).map(|c| c.code).collect::<Vec<_>>(), 0..=8),
            minutes in 0u32..=240,
        ) {
            let timed = units(&lines).unwrap();
            let mut all = lines.clone();
            all.extend(extra.iter().map(|c| Line { code: (*c).into(), minutes }));
            let out = units(&all).unwrap();
            let (t, u): (Vec<Billed>, Vec<Billed>) =
                out.iter().cloned().partition(|b| cpt(&b.code).unwrap().timed);
            prop_assert_eq!(t, timed);
            prop_assert_eq!(u.len(), extra.len());
            prop_assert!(u.iter().all(|b| b.units == 1));
            prop_assert_eq!(check(&all, &out), Vec::<String>::new());
        }
    }
}
