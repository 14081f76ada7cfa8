//! Plans of care: a patient's prescribed course of visits, how far along it is, who is drifting
//! away from it, and how many plans the practice sees through. The share of patients who finish
//! their plan is the practice's economic engine: the industry's baseline is 55–70%, the best
//! practices finish 80% or more, and every visit skipped is lost care and lost revenue.
//!
//! The rules, in plain words:
//!
//! - **Visit X of Y is counted, never typed.** A visit counts as attended when it was completed or
//!   the patient is checked in; it counts as missed when it was a no-show or a late cancel; it is
//!   upcoming while it is booked or confirmed and has not started yet. A visit cancelled in time,
//!   or a past visit nobody recorded, counts as none of these. The patient's next visit is number
//!   attended + 1; once attended reaches the prescribed count the plan reads "8 of 8 done".
//! - **Milestones.** Visit 1 sets expectations (how many visits, what each is for), visit 3 checks
//!   progress against the goals, visit 5 ramps up the home exercise program.
//! - **Flexible cadence.** When a patient says "I'm fine now" before the plan is done, the
//!   remaining visits are spaced out rather than stopped: the next two a week apart, then every two
//!   weeks. A date that falls on a weekend moves to the following Monday, and each visit is counted
//!   from the one before it.
//! - **Drop-off risk.** Only active plans that are not yet complete are at risk. The reasons, most
//!   severe first: no next visit is booked; the most recent visit was missed; too many days have
//!   passed since the last attended visit (or the plan's start) for the prescribed frequency; the
//!   patient said they feel better; a home exercise program was sent but not opened for more than
//!   7 days. The gap allowed is the days between visits at the prescribed frequency, rounded up,
//!   plus 2 days of grace: 2 a week allows 4 + 2 = 6 days, once a week 7 + 2 = 9.
//! - **Completion.** A plan is closed when it is completed, dropped or discharged. A discharged
//!   plan counts as completed when the patient attended at least the prescribed visits, and as
//!   dropped when they were discharged early. The targets are 80% completion and under 20%
//!   drop-off.
//! - **Documentation audit.** Every billed visit needs a certified plan of care covering its day,
//!   and, where the payer authorizes visits, a visit number and day inside the authorization.

use jiff::Span;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::deposits::Attendance;

const DAY: i64 = 86_400_000;

/// Practices that win finish at least this share of their plans of care.
pub const TARGET_COMPLETION_PERCENT: f64 = 80.0;

/// Practices aim to keep plans dropped before completion under this share.
pub const TARGET_DROP_OFF_PERCENT: f64 = 20.0;

/// Days of grace on top of the prescribed interval between visits before a gap counts as a risk.
pub const GAP_GRACE_DAYS: u32 = 2;

/// A home program not opened for more than this many days counts as a risk.
pub const HOME_PROGRAM_STALE_DAYS: u32 = 7;

/// Under the flexible cadence, this many remaining visits stay a week apart before the rest move
/// to every two weeks.
pub const FLEXIBLE_WEEKLY_VISITS: u32 = 2;

/// Where a plan of care stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    Active,
    OnHold,
    Completed,
    Dropped,
    Discharged,
}

impl PlanStatus {
    pub const ALL: [PlanStatus; 5] = [
        PlanStatus::Active,
        PlanStatus::OnHold,
        PlanStatus::Completed,
        PlanStatus::Dropped,
        PlanStatus::Discharged,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Active => "active",
            PlanStatus::OnHold => "on_hold",
            PlanStatus::Completed => "completed",
            PlanStatus::Dropped => "dropped",
            PlanStatus::Discharged => "discharged",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            PlanStatus::Active => "Active",
            PlanStatus::OnHold => "On hold",
            PlanStatus::Completed => "Completed",
            PlanStatus::Dropped => "Dropped",
            PlanStatus::Discharged => "Discharged",
        }
    }

    pub fn parse(s: &str) -> Option<PlanStatus> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Completed, dropped or discharged: the plan counts toward the completion rate.
    pub const fn is_closed(self) -> bool {
        matches!(
            self,
            PlanStatus::Completed | PlanStatus::Dropped | PlanStatus::Discharged
        )
    }
}

/// A patient's plan of care: how many visits, how often, and for which certification period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Y in "visit X of Y".
    pub prescribed_visits: u32,
    /// The prescribed frequency, e.g. 2 for twice a week.
    pub visits_per_week: u32,
    pub starts_on: Date,
    /// The last day the physician's certification covers; `None` until it is signed.
    pub certified_until: Option<Date>,
    pub status: PlanStatus,
}

/// One appointment of the plan, as far as counting visits goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitRecord {
    pub starts_at: i64,
    pub status: Attendance,
}

/// Where the patient is in the plan, counted from the appointments.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VisitCount {
    /// Completed or checked in.
    pub attended: u32,
    /// No-shows and late cancels.
    pub missed: u32,
    /// Booked or confirmed and not started yet.
    pub upcoming: u32,
    /// The start of the earliest upcoming visit.
    pub next_at: Option<i64>,
    /// The start of the latest attended visit.
    pub last_attended_at: Option<i64>,
}

const fn is_attended(s: Attendance) -> bool {
    matches!(s, Attendance::Completed | Attendance::CheckedIn)
}

const fn is_missed(s: Attendance) -> bool {
    matches!(s, Attendance::NoShow | Attendance::LateCancel)
}

/// Counts a plan's appointments as of `now`. A booked or confirmed visit starting at `now` or later
/// is upcoming; one that started before `now` without an outcome counts as nothing.
pub fn visit_number(visits: &[VisitRecord], now: i64) -> VisitCount {
    let mut c = VisitCount::default();
    for v in visits {
        match v.status {
            s if is_attended(s) => {
                c.attended += 1;
                c.last_attended_at = c.last_attended_at.max(Some(v.starts_at));
            }
            s if is_missed(s) => c.missed += 1,
            Attendance::Booked | Attendance::Confirmed if v.starts_at >= now => {
                c.upcoming += 1;
                c.next_at = Some(c.next_at.map_or(v.starts_at, |n| n.min(v.starts_at)));
            }
            _ => {}
        }
    }
    c
}

/// Whether the patient has attended every prescribed visit.
pub const fn is_complete(count: &VisitCount, plan: &Plan) -> bool {
    count.attended >= plan.prescribed_visits
}

/// The number of the patient's next visit (attended + 1), or `None` once the plan is complete.
pub const fn next_visit(count: &VisitCount, plan: &Plan) -> Option<u32> {
    if is_complete(count, plan) {
        None
    } else {
        Some(count.attended + 1)
    }
}

/// "Visit 4 of 8" for the patient's next visit, or "8 of 8 done" once every prescribed visit was
/// attended.
pub fn progress_label(count: &VisitCount, plan: &Plan) -> String {
    let y = plan.prescribed_visits;
    match next_visit(count, plan) {
        Some(x) => format!("Visit {x} of {y}"),
        None => format!("{y} of {y} done"),
    }
}

/// A conversation the clinician should have at a particular visit of the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Milestone {
    /// Visit 1: how many visits the plan takes and what each one does.
    SetExpectations,
    /// Visit 3: what has been achieved so far against the goals.
    ProgressCheck,
    /// Visit 5: the patient takes on more of the work at home.
    HomeProgramRampUp,
}

impl Milestone {
    pub const ALL: [Milestone; 3] = [
        Milestone::SetExpectations,
        Milestone::ProgressCheck,
        Milestone::HomeProgramRampUp,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Milestone::SetExpectations => "set_expectations",
            Milestone::ProgressCheck => "progress_check",
            Milestone::HomeProgramRampUp => "home_program_ramp_up",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            Milestone::SetExpectations => "Set expectations",
            Milestone::ProgressCheck => "Progress check",
            Milestone::HomeProgramRampUp => "Home program ramp-up",
        }
    }

    pub fn parse(s: &str) -> Option<Milestone> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The visit of the plan this conversation belongs to.
    pub const fn visit(self) -> u32 {
        match self {
            Milestone::SetExpectations => 1,
            Milestone::ProgressCheck => 3,
            Milestone::HomeProgramRampUp => 5,
        }
    }
}

/// The milestone of visit `visit_number` (1, 3 or 5), if it has one.
pub fn milestone_for(visit_number: u32) -> Option<Milestone> {
    Milestone::ALL
        .into_iter()
        .find(|m| m.visit() == visit_number)
}

fn plural(n: u32, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// A short note for the clinician's schedule at a milestone visit.
pub fn prompt(m: Milestone, plan: &Plan) -> String {
    let y = plan.prescribed_visits;
    match m {
        Milestone::SetExpectations => format!(
            "Set expectations: this plan takes {} at {} a week. Walk through what each stage of \
             the visits is for, and why finishing matters even once it feels better.",
            plural(y, "visit", "visits"),
            plan.visits_per_week
        ),
        Milestone::ProgressCheck => {
            let left = y.saturating_sub(m.visit());
            if left == 0 {
                "Progress check: show what the visits have achieved against the goals, and what \
                 is left to restore before discharge."
                    .to_string()
            } else {
                format!(
                    "Progress check: show what the first visits have achieved against the goals, \
                     and what the remaining {} after today are for.",
                    plural(left, "visit", "visits")
                )
            }
        }
        Milestone::HomeProgramRampUp => "Home program ramp-up: progress the home exercises so the \
             patient carries more of the work between visits, and send the updated program with \
             its video links."
            .to_string(),
    }
}

fn add_days(d: Date, days: i64) -> Option<Date> {
    d.checked_add(Span::new().days(days)).ok()
}

/// `d`, or the following Monday when `d` falls on a weekend.
fn on_weekday(d: Date) -> Option<Date> {
    match d.weekday() {
        Weekday::Saturday => add_days(d, 2),
        Weekday::Sunday => add_days(d, 1),
        _ => Some(d),
    }
}

/// Dates for the `remaining` visits of a patient who feels better, counted from `from` (usually
/// today's visit): the first [`FLEXIBLE_WEEKLY_VISITS`] a week after the one before, the rest two
/// weeks after the one before. A weekend date moves to the following Monday, and the next visit is
/// counted from the moved date. Remaining 4 from Thursday Nov 5 gives Nov 12, Nov 19, Dec 3 and
/// Dec 17. The dates are strictly increasing weekdays (fewer than `remaining` only at the very end
/// of the calendar).
pub fn flexible_cadence(remaining: u32, from: Date) -> Vec<Date> {
    let mut out = Vec::new();
    let mut last = from;
    for i in 0..remaining {
        let step = if i < FLEXIBLE_WEEKLY_VISITS { 7 } else { 14 };
        let Some(d) = add_days(last, step).and_then(on_weekday) else {
            break;
        };
        out.push(d);
        last = d;
    }
    out
}

/// Why a patient may be drifting away from their plan of care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RiskReason {
    /// Nothing on the calendar holds the patient to the plan.
    NoNextVisitBooked,
    /// The most recent past visit was a no-show or a late cancel.
    LastVisitMissed,
    /// `days` whole days since the last attended visit (or the plan's start), more than the
    /// `allowed` gap for the prescribed frequency.
    GapTooLong { days: u32, allowed: u32 },
    /// The patient said they feel better (the "I'm fine now" moment).
    FeelingBetter,
    /// The home exercise program was sent but not opened for `days` days.
    HomeProgramNotOpened { days: u32 },
}

impl RiskReason {
    pub const fn as_str(&self) -> &'static str {
        match self {
            RiskReason::NoNextVisitBooked => "no_next_visit_booked",
            RiskReason::LastVisitMissed => "last_visit_missed",
            RiskReason::GapTooLong { .. } => "gap_too_long",
            RiskReason::FeelingBetter => "feeling_better",
            RiskReason::HomeProgramNotOpened { .. } => "home_program_not_opened",
        }
    }

    /// Plain words for the front desk, e.g. "14 days since the last visit (plan: every 3–4 days)".
    pub fn label(&self) -> String {
        match *self {
            RiskReason::NoNextVisitBooked => "No next visit booked".to_string(),
            RiskReason::LastVisitMissed => "Last visit missed".to_string(),
            RiskReason::GapTooLong { days, allowed } => format!(
                "{} since the last visit (plan: {})",
                plural(days, "day", "days"),
                cadence_words(allowed)
            ),
            RiskReason::FeelingBetter => "Said they feel better".to_string(),
            RiskReason::HomeProgramNotOpened { days } => format!(
                "Home exercises not opened for {}",
                plural(days, "day", "days")
            ),
        }
    }

    /// How much this reason weighs in [`risk_score`].
    pub const fn weight(&self) -> u32 {
        match *self {
            RiskReason::NoNextVisitBooked => 40,
            RiskReason::LastVisitMissed => 30,
            RiskReason::GapTooLong { days, allowed } => {
                let over = days.saturating_sub(allowed);
                20 + if over < 10 { over } else { 10 }
            }
            RiskReason::FeelingBetter => 15,
            RiskReason::HomeProgramNotOpened { .. } => 10,
        }
    }
}

/// The longest gap, in whole days, a plan of `visits_per_week` allows between attended visits: the
/// interval between visits rounded up, plus [`GAP_GRACE_DAYS`]. A plan with no frequency is held to
/// once a week.
pub const fn allowed_gap_days(visits_per_week: u32) -> u32 {
    let per_week = if visits_per_week == 0 {
        1
    } else {
        visits_per_week
    };
    7u32.div_ceil(per_week) + GAP_GRACE_DAYS
}

/// The prescribed spacing behind an allowed gap, in words: "every 3–4 days" for 2 a week.
fn cadence_words(allowed: u32) -> String {
    let Some(ceil) = allowed.checked_sub(GAP_GRACE_DAYS).filter(|c| *c > 0) else {
        return format!("at most {} between visits", plural(allowed, "day", "days"));
    };
    // 7 ÷ visits a week is whole only for 1 and 7 a week; otherwise it lies between ceil − 1 and
    // ceil.
    match ceil {
        1 => "daily".to_string(),
        7 => "weekly".to_string(),
        c if 7 % c == 0 => format!("every {c} days"),
        c => format!("every {}–{c} days", c - 1),
    }
}

/// What the daily drop-off list knows about one patient's plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskInput {
    pub plan: Plan,
    pub visits: Vec<VisitRecord>,
    /// The patient said they feel better ("I'm fine now").
    pub feeling_better: bool,
    pub home_program_last_opened: Option<i64>,
    pub home_program_sent_at: Option<i64>,
}

/// Whole days (24-hour periods) from `from` to `now`, none when `from` is later.
fn days_between(from: i64, now: i64) -> u32 {
    u32::try_from(now.saturating_sub(from).max(0) / DAY).unwrap_or(u32::MAX)
}

/// The start of `d` in UTC, the reference for a plan with no attended visit yet.
fn utc_start(d: Date) -> Option<i64> {
    d.to_zoned_datetime(TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

/// Why the patient may drop their plan, most severe first (the order of [`RiskReason`]'s
/// variants). Empty unless the plan is active and not complete.
///
/// - No booked or confirmed visit starts at `now` or later.
/// - The latest visit that started before `now` with an attended or missed outcome was a no-show or
///   late cancel (in-time cancellations and unrecorded visits are skipped).
/// - More whole days than [`allowed_gap_days`] passed since the last attended visit, or since the
///   start of the plan's first day (00:00 UTC) when none was attended.
/// - The patient said they feel better.
/// - A home program was sent and more than [`HOME_PROGRAM_STALE_DAYS`] days passed since it was last
///   opened, or since it was sent when that is later (a program re-sent after the last opening).
pub fn risk(input: &RiskInput, now: i64) -> Vec<RiskReason> {
    let plan = &input.plan;
    let count = visit_number(&input.visits, now);
    if plan.status != PlanStatus::Active || is_complete(&count, plan) {
        return Vec::new();
    }
    let mut out = Vec::new();
    if count.upcoming == 0 {
        out.push(RiskReason::NoNextVisitBooked);
    }
    let last_past = input
        .visits
        .iter()
        .filter(|v| v.starts_at < now && (is_attended(v.status) || is_missed(v.status)))
        .max_by_key(|v| v.starts_at);
    if last_past.is_some_and(|v| is_missed(v.status)) {
        out.push(RiskReason::LastVisitMissed);
    }
    if let Some(since) = count.last_attended_at.or_else(|| utc_start(plan.starts_on)) {
        let days = days_between(since, now);
        let allowed = allowed_gap_days(plan.visits_per_week);
        if days > allowed {
            out.push(RiskReason::GapTooLong { days, allowed });
        }
    }
    if input.feeling_better {
        out.push(RiskReason::FeelingBetter);
    }
    if let Some(sent) = input.home_program_sent_at {
        let since = input.home_program_last_opened.map_or(sent, |o| o.max(sent));
        if now.saturating_sub(since) > i64::from(HOME_PROGRAM_STALE_DAYS) * DAY {
            out.push(RiskReason::HomeProgramNotOpened {
                days: days_between(since, now),
            });
        }
    }
    out
}

/// A number to sort the daily list by, highest first: the sum of the reasons' weights (no next
/// visit 40, last visit missed 30, a long gap 20 plus a point a day beyond the allowed gap up to
/// 10, feeling better 15, home program not opened 10). Zero means no risk.
pub fn risk_score(reasons: &[RiskReason]) -> u32 {
    reasons.iter().map(RiskReason::weight).sum()
}

/// How one plan of care ended (or stands).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub status: PlanStatus,
    pub prescribed: u32,
    pub attended: u32,
}

impl Outcome {
    /// Closed and counted as completed: completed, or discharged with every prescribed visit
    /// attended.
    pub const fn counts_completed(&self) -> bool {
        match self.status {
            PlanStatus::Completed => true,
            PlanStatus::Discharged => self.attended >= self.prescribed,
            _ => false,
        }
    }

    /// Closed and counted as dropped: dropped, or discharged before the prescribed visits.
    pub const fn counts_dropped(&self) -> bool {
        match self.status {
            PlanStatus::Dropped => true,
            PlanStatus::Discharged => self.attended < self.prescribed,
            _ => false,
        }
    }
}

/// The practice's completion figures over closed plans.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize)]
pub struct Completion {
    pub completed: u32,
    pub dropped: u32,
    /// Completed, dropped and discharged plans; `completed + dropped`.
    pub closed: u32,
    /// Completed as a percentage of closed plans, when there are any.
    pub completion_rate: Option<f64>,
    /// Dropped as a percentage of closed plans, when there are any.
    pub drop_off_rate: Option<f64>,
}

impl Completion {
    /// At least [`TARGET_COMPLETION_PERCENT`] completed, when there is a rate to judge.
    pub fn on_target(&self) -> Option<bool> {
        self.completion_rate.map(|r| r >= TARGET_COMPLETION_PERCENT)
    }
}

/// Completion and drop-off over the closed plans; active and on-hold plans are left out. A
/// discharged plan counts as completed when attended ≥ prescribed, otherwise as dropped.
pub fn completion(outcomes: &[Outcome]) -> Completion {
    let mut c = Completion::default();
    for o in outcomes {
        if o.counts_completed() {
            c.completed += 1;
        } else if o.counts_dropped() {
            c.dropped += 1;
        }
    }
    c.closed = c.completed + c.dropped;
    if c.closed > 0 {
        let closed = f64::from(c.closed);
        c.completion_rate = Some(f64::from(c.completed) * 100.0 / closed);
        c.drop_off_rate = Some(f64::from(c.dropped) * 100.0 / closed);
    }
    c
}

/// Prescribed visits never attended, summed over dropped plans (discharged-early plans included).
pub fn visits_lost(outcomes: &[Outcome]) -> u32 {
    outcomes
        .iter()
        .filter(|o| o.counts_dropped())
        .fold(0u32, |sum, o| {
            sum.saturating_add(o.prescribed.saturating_sub(o.attended))
        })
}

/// What an auditor would flag about a visit on `visit_day` under `plan`'s certification: "plan of
/// care not certified", "visit before the plan of care starts on 2026-10-05" or "certification
/// expired on 2026-11-02".
pub fn certification_problem(plan: &Plan, visit_day: Date) -> Option<String> {
    let Some(until) = plan.certified_until else {
        return Some("plan of care not certified".to_string());
    };
    if visit_day < plan.starts_on {
        Some(format!(
            "visit before the plan of care starts on {}",
            plan.starts_on
        ))
    } else if visit_day > until {
        Some(format!("certification expired on {until}"))
    } else {
        None
    }
}

/// What an auditor would flag about visit number `visit_number` on `visit_day` under the payer's
/// authorization of (visits, first day, last day): more visits than authorized, or a day outside
/// the range (both joined with "; "). `None` for no authorization means the payer requires none,
/// so there is nothing to check.
pub fn authorization_problem(
    authorized: Option<(u32, Date, Date)>,
    visit_number: u32,
    visit_day: Date,
) -> Option<String> {
    let (visits, first, last) = authorized?;
    let mut problems = Vec::new();
    if visit_number > visits {
        problems.push(format!(
            "visit {visit_number} exceeds the {}",
            plural(visits, "authorized visit", "authorized visits")
        ));
    }
    if visit_day < first {
        problems.push(format!(
            "visit on {visit_day} is before the authorization starts on {first}"
        ));
    } else if visit_day > last {
        problems.push(format!(
            "visit on {visit_day} is after the authorization ended on {last}"
        ));
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// Whether to warn that the authorization is running out: 2 or fewer authorized visits remain.
pub const fn authorization_low(authorized_visits: u32, used: u32) -> bool {
    authorized_visits.saturating_sub(used) <= 2
}

/// Body regions a plan of care and its visit notes are tagged with: (key, label).
pub const REGIONS: &[(&str, &str)] = &[
    ("neck", "Neck"),
    ("shoulder", "Shoulder"),
    ("elbow", "Elbow"),
    ("wrist_hand", "Wrist and hand"),
    ("upper_back", "Upper back"),
    ("lower_back", "Lower back"),
    ("hip", "Hip"),
    ("knee", "Knee"),
    ("ankle_foot", "Ankle and foot"),
    ("pelvic_floor", "Pelvic floor"),
    ("vestibular", "Balance and dizziness"),
    ("general", "General conditioning"),
];

/// The label of a region key, or `None` for an unknown key.
pub fn region_label(key: &str) -> Option<&'static str> {
    REGIONS.iter().find(|(k, _)| *k == key).map(|(_, l)| *l)
}

/// Reads a comma-separated list of region keys, keeping [`REGIONS`]' order and dropping
/// duplicates; the first unknown key is the error.
pub fn parse_regions(list: &str) -> Result<Vec<&'static str>, String> {
    let wanted: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(bad) = wanted.iter().find(|w| region_label(w).is_none()) {
        return Err(format!("“{bad}” is not a body region"));
    }
    Ok(REGIONS
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| wanted.contains(k))
        .collect())
}

/// Normalizes an ICD-10-CM code as clinicians type it ("m54.5", "S83.511a", "M545"): a letter, two
/// digits (the third character may be a letter in a few chapters), then up to four more letters or
/// digits after an optional dot. Returns the code in capitals with the dot after the third
/// character, or a message.
pub fn parse_icd10(s: &str) -> Result<String, String> {
    let raw: String = s
        .trim()
        .chars()
        .filter(|c| *c != '.')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let b = raw.as_bytes();
    let ok = (3..=7).contains(&b.len())
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_digit()
        && b[2].is_ascii_alphanumeric()
        && b[3..].iter().all(u8::is_ascii_alphanumeric)
        && s.trim().chars().filter(|c| *c == '.').count() <= 1
        && s.trim().find('.').is_none_or(|i| i == 3);
    if !ok {
        return Err(format!(
            "“{}” does not look like an ICD-10 code (for example M54.50 or S83.511A)",
            s.trim()
        ));
    }
    Ok(if raw.len() > 3 {
        format!("{}.{}", &raw[..3], &raw[3..])
    } else {
        raw
    })
}

/// What the documentation audit knows about one billed (attended) visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditVisit {
    pub day: Date,
    /// The visit's number in its plan of care (1-based, attended visits only).
    pub visit_number: u32,
    /// The plan of care the visit falls under, if any.
    pub plan: Option<Plan>,
    /// The visit note, if one was started.
    pub note: Option<AuditNote>,
    /// The payer's authorization covering the plan: (visits, first day, last day).
    pub authorization: Option<(u32, Date, Date)>,
}

/// The parts of a visit note the audit checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditNote {
    pub signed: bool,
    pub goals_addressed: u32,
    pub lines: Vec<crate::billing::Line>,
    pub billed: Vec<crate::billing::Billed>,
}

/// Every reason a payer's reviewer would reject the visit, in the order a reviewer reads a chart:
/// the note (missing or unsigned, no goal addressed, units that the minutes do not support), then
/// the plan of care (none, uncertified, expired), then the authorization. Empty when the visit
/// would survive the review.
pub fn audit_visit(v: &AuditVisit) -> Vec<String> {
    let mut out = Vec::new();
    match &v.note {
        None => out.push("no visit note".to_string()),
        Some(n) => {
            if !n.signed {
                out.push("note not signed".to_string());
            }
            if n.goals_addressed == 0 {
                out.push("no goal addressed".to_string());
            }
            out.extend(crate::billing::check(&n.lines, &n.billed));
        }
    }
    match &v.plan {
        None => out.push("no plan of care".to_string()),
        Some(plan) => out.extend(certification_problem(plan, v.day)),
    }
    out.extend(authorization_problem(
        v.authorization,
        v.visit_number,
        v.day,
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn tz() -> TimeZone {
        TimeZone::get("America/Chicago").unwrap()
    }

    /// `day` at `hour`:00 in Chicago.
    fn at(day: &str, hour: i8) -> i64 {
        day.parse::<Date>()
            .unwrap()
            .at(hour, 0, 0, 0)
            .to_zoned_datetime(tz())
            .unwrap()
            .timestamp()
            .as_millisecond()
    }

    fn plan(prescribed: u32, per_week: u32, status: PlanStatus) -> Plan {
        Plan {
            prescribed_visits: prescribed,
            visits_per_week: per_week,
            starts_on: date(2026, 10, 5),
            certified_until: Some(date(2026, 11, 2)),
            status,
        }
    }

    fn v(day: &str, status: Attendance) -> VisitRecord {
        VisitRecord {
            starts_at: at(day, 10),
            status,
        }
    }

    fn input(p: Plan, visits: Vec<VisitRecord>) -> RiskInput {
        RiskInput {
            plan: p,
            visits,
            feeling_better: false,
            home_program_last_opened: None,
            home_program_sent_at: None,
        }
    }

    #[test]
    fn the_enums_round_trip_through_their_names() {
        for s in PlanStatus::ALL {
            assert_eq!(PlanStatus::parse(s.as_str()), Some(s));
            assert!(!s.label().is_empty());
        }
        for m in Milestone::ALL {
            assert_eq!(Milestone::parse(m.as_str()), Some(m));
        }
        assert_eq!(PlanStatus::parse("on_hold"), Some(PlanStatus::OnHold));
        assert_eq!(PlanStatus::parse("On hold"), None);
        assert!(PlanStatus::Discharged.is_closed());
        assert!(!PlanStatus::OnHold.is_closed());
    }

    #[test]
    fn visits_are_counted_from_the_calendar() {
        use Attendance::*;
        let visits = [
            v("2026-10-05", Completed),
            v("2026-10-08", Completed),
            v("2026-10-12", NoShow),
            v("2026-10-15", Completed),
            v("2026-10-19", LateCancel),
            v("2026-10-20", Cancelled),
            v("2026-10-22", Booked), // past and never recorded: counts as nothing
            v("2026-10-26", CheckedIn),
            v("2026-10-29", Confirmed),
            v("2026-11-02", Booked),
        ];
        let now = at("2026-10-26", 11);
        let c = visit_number(&visits, now);
        assert_eq!(c.attended, 4);
        assert_eq!(c.missed, 2);
        assert_eq!(c.upcoming, 2);
        assert_eq!(c.next_at, Some(at("2026-10-29", 10)));
        assert_eq!(c.last_attended_at, Some(at("2026-10-26", 10)));

        let p = plan(8, 2, PlanStatus::Active);
        assert_eq!(progress_label(&c, &p), "Visit 5 of 8");
        assert_eq!(next_visit(&c, &p), Some(5));
        let three = VisitCount {
            attended: 3,
            ..VisitCount::default()
        };
        assert_eq!(progress_label(&three, &p), "Visit 4 of 8");
        let done = VisitCount {
            attended: 8,
            ..VisitCount::default()
        };
        assert_eq!(progress_label(&done, &p), "8 of 8 done");
        let extra = VisitCount {
            attended: 9,
            ..VisitCount::default()
        };
        assert_eq!(progress_label(&extra, &p), "8 of 8 done", "capped at Y");
        assert_eq!(progress_label(&VisitCount::default(), &p), "Visit 1 of 8");
    }

    #[test]
    fn milestones_fall_on_visits_one_three_and_five() {
        assert_eq!(milestone_for(1), Some(Milestone::SetExpectations));
        assert_eq!(milestone_for(3), Some(Milestone::ProgressCheck));
        assert_eq!(milestone_for(5), Some(Milestone::HomeProgramRampUp));
        for n in [0, 2, 4, 6, 8, 40] {
            assert_eq!(milestone_for(n), None, "visit {n}");
        }
        let p = plan(8, 2, PlanStatus::Active);
        let first = prompt(Milestone::SetExpectations, &p);
        assert!(first.contains("8 visits at 2 a week"), "{first}");
        let third = prompt(Milestone::ProgressCheck, &p);
        assert!(third.contains("remaining 5 visits"), "{third}");
        let short = prompt(Milestone::ProgressCheck, &plan(3, 1, PlanStatus::Active));
        assert!(short.contains("before discharge"), "{short}");
        let fifth = prompt(Milestone::HomeProgramRampUp, &p);
        assert!(fifth.contains("home exercises"), "{fifth}");
    }

    #[test]
    fn the_flexible_cadence_steps_from_weekly_to_every_two_weeks() {
        // Thursday Nov 5: two weekly visits, then every two weeks.
        let dates = flexible_cadence(4, date(2026, 11, 5));
        assert_eq!(
            dates,
            [
                date(2026, 11, 12),
                date(2026, 11, 19),
                date(2026, 12, 3),
                date(2026, 12, 17)
            ]
        );
        // From a Saturday the first date moves to Monday and the rest count from it.
        let dates = flexible_cadence(3, date(2026, 11, 7));
        assert_eq!(
            dates,
            [date(2026, 11, 16), date(2026, 11, 23), date(2026, 12, 7)]
        );
        // Across the new year.
        assert_eq!(
            flexible_cadence(1, date(2026, 12, 27)),
            [date(2027, 1, 4)],
            "Sunday Jan 3 moves to Monday Jan 4"
        );
        assert!(flexible_cadence(0, date(2026, 11, 5)).is_empty());
    }

    #[test]
    fn a_missed_last_visit_and_nothing_booked_are_the_top_risks() {
        use Attendance::*;
        let p = plan(8, 2, PlanStatus::Active);
        let visits = vec![
            v("2026-10-05", Completed),
            v("2026-10-08", Completed),
            v("2026-10-12", Completed),
            v("2026-10-15", NoShow),
        ];
        let now = at("2026-10-16", 8);
        let reasons = risk(&input(p, visits.clone()), now);
        assert_eq!(
            reasons,
            [RiskReason::NoNextVisitBooked, RiskReason::LastVisitMissed]
        );
        assert_eq!(risk_score(&reasons), 70);

        // Rebooked: only the miss is left.
        let mut rebooked = visits;
        rebooked.push(v("2026-10-19", Booked));
        assert_eq!(
            risk(&input(p, rebooked.clone()), now),
            [RiskReason::LastVisitMissed]
        );
        // A later in-time cancellation does not hide the miss.
        rebooked.push(VisitRecord {
            starts_at: at("2026-10-15", 16),
            status: Cancelled,
        });
        assert_eq!(
            risk(&input(p, rebooked), now),
            [RiskReason::LastVisitMissed]
        );
    }

    #[test]
    fn a_long_gap_is_measured_against_the_prescribed_frequency() {
        use Attendance::*;
        let p = plan(8, 2, PlanStatus::Active);
        assert_eq!(allowed_gap_days(2), 6);
        assert_eq!(allowed_gap_days(1), 9);
        assert_eq!(allowed_gap_days(3), 5);
        assert_eq!(allowed_gap_days(7), 3);
        assert_eq!(allowed_gap_days(0), 9);
        let visits = vec![
            v("2026-10-05", Completed),
            v("2026-10-08", Completed),
            v("2026-10-29", Booked),
        ];
        // 14 days after Oct 8 at 10:00, at 11:00.
        let now = at("2026-10-22", 11);
        let reasons = risk(&input(p, visits.clone()), now);
        let gap = RiskReason::GapTooLong {
            days: 14,
            allowed: 6,
        };
        assert_eq!(reasons, [gap]);
        assert_eq!(
            gap.label(),
            "14 days since the last visit (plan: every 3–4 days)"
        );
        assert_eq!(
            risk_score(&reasons),
            28,
            "20 plus a point for each of 8 days over"
        );
        // Six days is still within the plan.
        assert!(risk(&input(p, visits), at("2026-10-14", 11)).is_empty());
        assert_eq!(
            RiskReason::GapTooLong {
                days: 12,
                allowed: allowed_gap_days(1)
            }
            .label(),
            "12 days since the last visit (plan: weekly)"
        );
        assert_eq!(
            RiskReason::GapTooLong {
                days: 6,
                allowed: allowed_gap_days(3)
            }
            .label(),
            "6 days since the last visit (plan: every 2–3 days)"
        );
    }

    #[test]
    fn a_plan_with_no_attended_visit_counts_from_its_start() {
        let p = plan(8, 2, PlanStatus::Active);
        let booked = vec![v("2026-10-20", Attendance::Booked)];
        assert_eq!(
            risk(&input(p, booked.clone()), at("2026-10-12", 9)),
            [RiskReason::GapTooLong {
                days: 7,
                allowed: 6
            }]
        );
        assert!(risk(&input(p, booked), at("2026-10-10", 9)).is_empty());
    }

    #[test]
    fn feeling_better_and_an_unopened_home_program_are_flagged_last() {
        use Attendance::*;
        let p = plan(8, 2, PlanStatus::Active);
        let mut i = input(
            p,
            vec![
                v("2026-10-12", Completed),
                v("2026-10-15", Completed),
                v("2026-10-19", Confirmed),
            ],
        );
        i.feeling_better = true;
        i.home_program_sent_at = Some(at("2026-10-05", 12));
        i.home_program_last_opened = Some(at("2026-10-07", 20));
        let now = at("2026-10-16", 21);
        let reasons = risk(&i, now);
        assert_eq!(
            reasons,
            [
                RiskReason::FeelingBetter,
                RiskReason::HomeProgramNotOpened { days: 9 }
            ]
        );
        assert_eq!(reasons[0].label(), "Said they feel better");
        assert_eq!(reasons[1].label(), "Home exercises not opened for 9 days");
        // Opened yesterday: fine. Re-sent yesterday and not opened since: fine for now.
        i.home_program_last_opened = Some(at("2026-10-15", 20));
        assert_eq!(risk(&i, now), [RiskReason::FeelingBetter]);
        i.home_program_last_opened = Some(at("2026-10-01", 20));
        i.home_program_sent_at = Some(at("2026-10-15", 12));
        assert_eq!(risk(&i, now), [RiskReason::FeelingBetter]);
        // Never sent: nothing to open.
        i.home_program_sent_at = None;
        i.home_program_last_opened = None;
        assert_eq!(risk(&i, now), [RiskReason::FeelingBetter]);
    }

    #[test]
    fn a_complete_or_paused_plan_has_no_risk() {
        use Attendance::*;
        let visits: Vec<VisitRecord> = ["2026-10-05", "2026-10-08", "2026-10-12", "2026-10-15"]
            .iter()
            .map(|d| v(d, Completed))
            .collect();
        let mut i = input(plan(4, 2, PlanStatus::Active), visits);
        i.feeling_better = true;
        i.home_program_sent_at = Some(at("2026-10-05", 12));
        let now = at("2026-11-20", 9);
        assert!(risk(&i, now).is_empty(), "all four visits attended");
        i.plan.prescribed_visits = 8;
        assert_eq!(risk(&i, now).len(), 4);
        i.plan.status = PlanStatus::OnHold;
        assert!(risk(&i, now).is_empty());
        assert_eq!(risk_score(&[]), 0);
    }

    #[test]
    fn risk_scores_sort_the_daily_list() {
        let missed = [RiskReason::NoNextVisitBooked, RiskReason::LastVisitMissed];
        let drifting = [
            RiskReason::GapTooLong {
                days: 9,
                allowed: 6,
            },
            RiskReason::FeelingBetter,
        ];
        let quiet = [RiskReason::HomeProgramNotOpened { days: 8 }];
        let mut list = [&quiet[..], &missed[..], &drifting[..]];
        list.sort_by_key(|r| std::cmp::Reverse(risk_score(r)));
        assert_eq!(list, [&missed[..], &drifting[..], &quiet[..]]);
        assert_eq!(risk_score(&drifting), 38);
    }

    #[test]
    fn a_plan_discharged_early_counts_as_dropped() {
        use PlanStatus::*;
        let o = |status, prescribed, attended| Outcome {
            status,
            prescribed,
            attended,
        };
        let outcomes = [
            o(Completed, 8, 8),
            o(Completed, 6, 6),
            o(Discharged, 8, 8),  // completed
            o(Discharged, 8, 10), // completed
            o(Discharged, 8, 4),  // discharged early: dropped, 4 visits lost
            o(Dropped, 12, 5),    // 7 visits lost
            o(Active, 8, 2),      // not closed
            o(OnHold, 8, 3),      // not closed
        ];
        let c = completion(&outcomes);
        assert_eq!((c.completed, c.dropped, c.closed), (4, 2, 6));
        assert!((c.completion_rate.unwrap() - 200.0 / 3.0).abs() < 1e-9);
        assert!((c.drop_off_rate.unwrap() - 100.0 / 3.0).abs() < 1e-9);
        assert_eq!(c.on_target(), Some(false));
        assert_eq!(visits_lost(&outcomes), 11);

        let none = completion(&[o(Active, 8, 1)]);
        assert_eq!(none.closed, 0);
        assert_eq!(none.completion_rate, None);
        assert_eq!(none.drop_off_rate, None);
        assert_eq!(none.on_target(), None);
        assert_eq!(
            completion(&[o(Completed, 8, 8); 4]).completion_rate,
            Some(100.0)
        );
    }

    #[test]
    fn certification_covers_the_visit_day() {
        let mut p = plan(8, 2, PlanStatus::Active);
        assert_eq!(certification_problem(&p, date(2026, 10, 20)), None);
        assert_eq!(certification_problem(&p, date(2026, 11, 2)), None);
        assert_eq!(
            certification_problem(&p, date(2026, 11, 3)).as_deref(),
            Some("certification expired on 2026-11-02")
        );
        assert_eq!(
            certification_problem(&p, date(2026, 10, 2)).as_deref(),
            Some("visit before the plan of care starts on 2026-10-05")
        );
        p.certified_until = None;
        assert_eq!(
            certification_problem(&p, date(2026, 10, 20)).as_deref(),
            Some("plan of care not certified")
        );
    }

    #[test]
    fn authorization_limits_the_count_and_the_dates() {
        let auth = Some((12, date(2026, 10, 1), date(2026, 12, 31)));
        assert_eq!(authorization_problem(auth, 12, date(2026, 12, 31)), None);
        assert_eq!(
            authorization_problem(auth, 13, date(2026, 12, 1)).as_deref(),
            Some("visit 13 exceeds the 12 authorized visits")
        );
        assert_eq!(
            authorization_problem(auth, 2, date(2026, 9, 30)).as_deref(),
            Some("visit on 2026-09-30 is before the authorization starts on 2026-10-01")
        );
        assert_eq!(
            authorization_problem(auth, 14, date(2027, 1, 4)).as_deref(),
            Some(
                "visit 14 exceeds the 12 authorized visits; \
                 visit on 2027-01-04 is after the authorization ended on 2026-12-31"
            )
        );
        assert_eq!(authorization_problem(None, 40, date(2027, 1, 4)), None);

        assert!(!authorization_low(12, 9));
        assert!(authorization_low(12, 10));
        assert!(authorization_low(12, 12));
        assert!(authorization_low(12, 15));
        assert!(authorization_low(2, 0));
    }

    #[test]
    fn icd10_codes_are_normalized_and_nonsense_refused() {
        assert_eq!(parse_icd10("m54.5").unwrap(), "M54.5");
        assert_eq!(parse_icd10(" S83511a ").unwrap(), "S83.511A");
        assert_eq!(parse_icd10("M25").unwrap(), "M25");
        assert_eq!(parse_icd10("m22.2x1").unwrap(), "M22.2X1");
        for bad in [
            "",
            "knee",
            "5M4.5",
            "M5",
            "M54.51234",
            "M5.45",
            "M54..5",
            "M54-5",
        ] {
            assert!(parse_icd10(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn regions_keep_their_order_and_refuse_unknown_keys() {
        assert_eq!(parse_regions("knee, neck,knee").unwrap(), ["neck", "knee"]);
        assert!(parse_regions("").unwrap().is_empty());
        assert_eq!(
            parse_regions("knee,elbowz").unwrap_err(),
            "“elbowz” is not a body region"
        );
        assert_eq!(region_label("ankle_foot"), Some("Ankle and foot"));
    }

    /// An active plan from Nov 1 certified until `until`.
    fn certified(until: Date) -> Plan {
        Plan {
            starts_on: date(2026, 11, 1),
            certified_until: Some(until),
            ..plan(8, 2, PlanStatus::Active)
        }
    }

    fn audited(note: Option<AuditNote>) -> AuditVisit {
        AuditVisit {
            day: date(2026, 11, 10),
            visit_number: 3,
            plan: Some(certified(date(2026, 12, 31))),
            note,
            authorization: None,
        }
    }

    fn good_note() -> AuditNote {
        use crate::billing::{Billed, Line};
        AuditNote {
            signed: true,
            goals_addressed: 1,
            lines: vec![Line {
                code: "97110".into(),
                minutes: 38,
            }],
            billed: vec![Billed {
                code: "97110".into(),
                units: 3,
            }],
        }
    }

    #[test]
    fn a_documented_certified_visit_survives_the_audit() {
        assert!(audit_visit(&audited(Some(good_note()))).is_empty());
    }

    #[test]
    fn the_audit_names_every_problem_in_a_reviewers_order() {
        assert_eq!(audit_visit(&audited(None)), ["no visit note"]);
        let mut n = good_note();
        n.signed = false;
        n.goals_addressed = 0;
        n.billed[0].units = 4;
        let mut v = audited(Some(n));
        v.plan = Some(certified(date(2026, 11, 5)));
        v.authorization = Some((2, date(2026, 11, 1), date(2026, 11, 30)));
        let problems = audit_visit(&v);
        assert_eq!(problems[0], "note not signed");
        assert_eq!(problems[1], "no goal addressed");
        assert!(problems[2].starts_with("97110"), "{problems:?}");
        let n = problems.len();
        assert_eq!(problems[n - 2], "certification expired on 2026-11-05");
        assert_eq!(problems[n - 1], "visit 3 exceeds the 2 authorized visits");
        v.plan = None;
        assert!(audit_visit(&v).contains(&"no plan of care".to_string()));
    }

    fn visits_strategy() -> impl Strategy<Value = Vec<VisitRecord>> {
        proptest::collection::vec((0i64..90 * 24, 0usize..7), 0..40).prop_map(|vs| {
            let base = at("2026-10-01", 0);
            vs.into_iter()
                .map(|(h, s)| VisitRecord {
                    starts_at: base + h * 3_600_000,
                    status: Attendance::ALL[s],
                })
                .collect()
        })
    }

    proptest! {
        /// Each visit lands in the count its status (and, for bookings, its time) says.
        #[test]
        fn counts_match_the_statuses(visits in visits_strategy(), now_h in 0i64..90 * 24) {
            let now = at("2026-10-01", 0) + now_h * 3_600_000;
            let c = visit_number(&visits, now);
            let n = |f: &dyn Fn(&VisitRecord) -> bool| visits.iter().filter(|v| f(v)).count() as u32;
            use Attendance::*;
            prop_assert_eq!(c.attended, n(&|v| matches!(v.status, Completed | CheckedIn)));
            prop_assert_eq!(c.missed, n(&|v| matches!(v.status, NoShow | LateCancel)));
            prop_assert_eq!(
                c.upcoming,
                n(&|v| matches!(v.status, Booked | Confirmed) && v.starts_at >= now)
            );
            prop_assert_eq!(c.attended + c.missed + c.upcoming, n(&|v| {
                is_attended(v.status) || is_missed(v.status)
                    || (matches!(v.status, Booked | Confirmed) && v.starts_at >= now)
            }));
            prop_assert_eq!(c.next_at.is_some(), c.upcoming > 0);
            prop_assert_eq!(c.last_attended_at.is_some(), c.attended > 0);
            if let Some(next) = c.next_at {
                prop_assert!(next >= now);
            }
        }

        /// Closed and paused plans never appear on the drop-off list, nor do complete ones.
        #[test]
        fn risk_is_only_for_active_unfinished_plans(
            visits in visits_strategy(),
            status in prop::sample::select(vec![
                PlanStatus::Completed, PlanStatus::Dropped, PlanStatus::Discharged, PlanStatus::OnHold,
            ]),
            prescribed in 0u32..20,
            per_week in 0u32..8,
            feeling_better in any::<bool>(),
            opened in proptest::option::of(0i64..90),
            sent in proptest::option::of(0i64..90),
            now_d in 0i64..120,
        ) {
            let base = at("2026-10-01", 0);
            let mut i = RiskInput {
                plan: Plan {
                    prescribed_visits: prescribed,
                    visits_per_week: per_week,
                    starts_on: date(2026, 10, 1),
                    certified_until: None,
                    status,
                },
                visits,
                feeling_better,
                home_program_last_opened: opened.map(|d| base + d * DAY),
                home_program_sent_at: sent.map(|d| base + d * DAY),
            };
            let now = base + now_d * DAY;
            prop_assert!(risk(&i, now).is_empty());
            i.plan.status = PlanStatus::Active;
            let reasons = risk(&i, now);
            if visit_number(&i.visits, now).attended >= prescribed {
                prop_assert!(reasons.is_empty());
            } else {
                prop_assert_eq!(risk_score(&reasons) > 0, !reasons.is_empty());
                // Most severe first: the reasons come in the order of the enum.
                let order = [
                    "no_next_visit_booked", "last_visit_missed", "gap_too_long", "feeling_better",
                    "home_program_not_opened",
                ];
                let rank = |r: &RiskReason| order.iter().position(|k| *k == r.as_str());
                let ranks: Vec<_> = reasons.iter().map(rank).collect();
                prop_assert!(ranks.windows(2).all(|w| w[0] < w[1]));
            }
        }

        /// Completed and dropped split every closed plan between them.
        #[test]
        fn completion_and_drop_off_add_up(
            outcomes in proptest::collection::vec((0usize..5, 0u32..20, 0u32..25), 0..50),
        ) {
            let outcomes: Vec<Outcome> = outcomes.into_iter().map(|(s, p, a)| Outcome {
                status: PlanStatus::ALL[s],
                prescribed: p,
                attended: a,
            }).collect();
            let c = completion(&outcomes);
            let closed = outcomes.iter().filter(|o| o.status.is_closed()).count() as u32;
            prop_assert_eq!(c.closed, closed);
            prop_assert_eq!(c.completed + c.dropped, c.closed);
            match (c.completion_rate, c.drop_off_rate) {
                (Some(a), Some(b)) => prop_assert!((a + b - 100.0).abs() < 1e-9),
                (None, None) => prop_assert_eq!(closed, 0),
                _ => prop_assert!(false, "rates come together"),
            }
            let lost: u32 = outcomes.iter()
                .filter(|o| o.status == PlanStatus::Dropped
                    || (o.status == PlanStatus::Discharged && o.attended < o.prescribed))
                .map(|o| o.prescribed.saturating_sub(o.attended))
                .sum();
            prop_assert_eq!(visits_lost(&outcomes), lost);
        }

        /// The spaced-out plan keeps every remaining visit, in order, on weekdays.
        #[test]
        fn flexible_cadence_keeps_every_visit_on_a_weekday(
            remaining in 0u32..30,
            offset in 0i64..36_500,
        ) {
            let from = date(2000, 1, 1).checked_add(Span::new().days(offset)).unwrap();
            let dates = flexible_cadence(remaining, from);
            prop_assert_eq!(dates.len(), remaining as usize);
            prop_assert!(dates.first().is_none_or(|d| *d > from));
            prop_assert!(dates.windows(2).all(|w| w[0] < w[1]));
            prop_assert!(dates.iter().all(|d| !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)));
        }
    }
}
