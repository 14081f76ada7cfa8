//! FHIR R4 export of one patient's record: a `collection` Bundle with the Patient, their Coverage,
//! a Condition, EpisodeOfCare, CarePlan and Goals for each plan of care, and for each visit an
//! Appointment and, once attended, an Encounter with one Procedure per billed code.
//!
//! Pure mapping: the caller loads and authorizes, this module only translates. It never invents a
//! clinical fact Stride does not record (no gender, no clinical status of a condition), and it
//! never writes an empty string, array or object, which FHIR forbids: whatever is blank is left
//! out, and a resource whose required content is blank is not written at all.
//!
//! Every entry's fullUrl is `{base_url}/fhir/{Type}/{id}` and resources point at each other with
//! relative references (`Patient/42`), which FHIR resolves against that base within the bundle. A
//! reference is only written when its target is in the same bundle; the practice and clinicians
//! are named by display-only references.

use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Map, Value, json};

use crate::billing::{self, Billed};
use crate::care::{self, PlanStatus};
use crate::deposits::Attendance;

/// CPT, the AMA's procedure codes.
pub const CPT_SYSTEM: &str = "http://www.ama-assn.org/go/cpt";
/// HCPCS level II, CMS's letter-first codes such as G0283.
pub const HCPCS_SYSTEM: &str = "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets";
/// ICD-10-CM diagnoses.
pub const ICD10_CM_SYSTEM: &str = "http://hl7.org/fhir/sid/icd-10-cm";

/// The code system of `Coverage.class.type` (R4 value set coverage-class).
const COVERAGE_CLASS_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/coverage-class";
const ACT_CODE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const SELF_PAY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/coverage-selfpay";
const GOAL_ACHIEVEMENT_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/goal-achievement";

/// 0001-01-01T00:00:00Z: FHIR instants have a four-digit year from 0001.
const MIN_INSTANT_MS: i64 = -62_135_596_800_000;

/// The patient's demographics.
#[derive(Debug, Clone)]
pub struct ExportPatient {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: Option<Date>,
    /// E.164, e.g. "+15125550142".
    pub phone: Option<String>,
    pub email: Option<String>,
    /// One free-text line.
    pub address: Option<String>,
    pub active: bool,
}

/// Who pays: an insurer (by id and/or name) or the patient themselves.
#[derive(Debug, Clone)]
pub struct ExportCoverage {
    pub payer_id: Option<i64>,
    pub payer_name: Option<String>,
    /// The plan on the insurance card ("PPO"), written as the Coverage's `plan` class.
    pub plan: Option<String>,
    pub member_id: Option<String>,
    pub self_pay: bool,
}

/// One goal of a plan of care.
#[derive(Debug, Clone)]
pub struct ExportGoal {
    pub id: i64,
    pub text: String,
    pub target: String,
    pub due_on: Option<Date>,
    /// 0..=100; 100 means achieved.
    pub progress: u32,
}

/// One plan of care with its goals.
#[derive(Debug, Clone)]
pub struct ExportPlan {
    pub id: i64,
    pub status: PlanStatus,
    pub condition: String,
    /// ICD-10-CM, e.g. "M54.50".
    pub icd10: Option<String>,
    /// Keys of [`care::REGIONS`].
    pub areas: Vec<&'static str>,
    pub starts_on: Date,
    pub closed_on: Option<Date>,
    pub certified_until: Option<Date>,
    pub prescribed_visits: u32,
    pub visits_per_week: u32,
    pub clinician: Option<String>,
    pub goals: Vec<ExportGoal>,
    pub summary: Option<String>,
}

/// One appointment, with the codes billed on its signed note.
#[derive(Debug, Clone)]
pub struct ExportVisit {
    pub id: i64,
    pub plan_id: Option<i64>,
    /// UTC milliseconds.
    pub starts_at: i64,
    pub ends_at: i64,
    pub status: Attendance,
    pub type_name: String,
    pub clinician: Option<String>,
    /// CPT/HCPCS codes and units; only for signed notes.
    pub lines: Vec<Billed>,
}

/// Everything one patient's export holds.
#[derive(Debug, Clone)]
pub struct Export {
    pub practice_name: String,
    /// The public address of this Stride, e.g. "https://stride.example": the base of every fullUrl
    /// and identifier system.
    pub base_url: String,
    /// UTC milliseconds.
    pub generated_at: i64,
    pub patient: ExportPatient,
    pub coverage: Option<ExportCoverage>,
    pub plans: Vec<ExportPlan>,
    pub visits: Vec<ExportVisit>,
}

/// The patient's record as a FHIR R4 Bundle of type `collection`, entries in a fixed order:
/// Patient, Coverage, then per plan Condition, EpisodeOfCare, CarePlan and its Goals, then per
/// visit (in the order given) Appointment, Encounter and Procedures.
pub fn bundle(e: &Export) -> Value {
    let base = e.base_url.trim().trim_end_matches('/');
    let mut resources = vec![patient(e, base)];
    resources.extend(e.coverage.as_ref().and_then(|c| coverage(e, base, c)));
    for plan in &e.plans {
        resources.extend(condition(e, plan));
        let goals: Vec<Value> = plan.goals.iter().filter_map(|g| goal(e, plan, g)).collect();
        resources.push(episode_of_care(e, plan));
        resources.push(care_plan(e, plan, &goals));
        resources.extend(goals);
    }
    for visit in &e.visits {
        resources.push(appointment(e, visit));
        if is_attended(visit.status) {
            resources.push(encounter(e, visit));
            resources.extend(procedures(e, visit));
        }
    }
    let entries: Vec<Value> = resources
        .into_iter()
        .filter_map(prune)
        .map(|resource| {
            let full_url = format!(
                "{base}/fhir/{}/{}",
                resource["resourceType"].as_str().unwrap_or_default(),
                resource["id"].as_str().unwrap_or_default()
            );
            json!({ "fullUrl": full_url, "resource": resource })
        })
        .collect();
    prune(json!({
        "resourceType": "Bundle",
        "id": format!("patient-{}-export", e.patient.id),
        "type": "collection",
        "timestamp": instant(e.generated_at),
        "entry": entries,
    }))
    .unwrap_or(Value::Null)
}

/// The EpisodeOfCare status (R4 `episode-of-care-status`) of a plan. A dropped plan ended outside
/// the expected course, which R4 calls `cancelled`.
const fn episode_status(s: PlanStatus) -> &'static str {
    match s {
        PlanStatus::Active => "active",
        PlanStatus::OnHold => "onhold",
        PlanStatus::Completed | PlanStatus::Discharged => "finished",
        PlanStatus::Dropped => "cancelled",
    }
}

/// The CarePlan status (R4 `request-status`) of a plan.
const fn care_plan_status(s: PlanStatus) -> &'static str {
    match s {
        PlanStatus::Active => "active",
        PlanStatus::OnHold => "on-hold",
        PlanStatus::Completed | PlanStatus::Discharged => "completed",
        PlanStatus::Dropped => "revoked",
    }
}

/// The status of the plan's visits activity (R4 `care-plan-activity-status`).
const fn activity_status(s: PlanStatus) -> &'static str {
    match s {
        PlanStatus::Active => "in-progress",
        PlanStatus::OnHold => "on-hold",
        PlanStatus::Completed | PlanStatus::Discharged => "completed",
        PlanStatus::Dropped => "stopped",
    }
}

/// A goal's lifecycle (R4 `goal-status`) and achievement (`goal-achievement`) codes. A goal at
/// 100% is achieved whatever became of the plan; otherwise it follows its plan.
const fn goal_status(plan: PlanStatus, progress: u32) -> (&'static str, &'static str) {
    if progress >= 100 {
        return ("completed", "achieved");
    }
    match plan {
        PlanStatus::Active => ("active", "in-progress"),
        PlanStatus::OnHold => ("on-hold", "in-progress"),
        PlanStatus::Completed | PlanStatus::Discharged => ("completed", "not-achieved"),
        PlanStatus::Dropped => ("cancelled", "not-achieved"),
    }
}

/// The Appointment status (R4 `appointmentstatus`) of a visit.
const fn appointment_status(s: Attendance) -> &'static str {
    match s {
        Attendance::Booked | Attendance::Confirmed => "booked",
        Attendance::CheckedIn => "checked-in",
        Attendance::Completed => "fulfilled",
        Attendance::NoShow => "noshow",
        Attendance::LateCancel | Attendance::Cancelled => "cancelled",
    }
}

/// Visits that took place get an Encounter; the same rule counts them toward the plan.
const fn is_attended(s: Attendance) -> bool {
    matches!(s, Attendance::Completed | Attendance::CheckedIn)
}

/// The Encounter status (R4 `encounter-status`) of an attended visit.
const fn encounter_status(s: Attendance) -> &'static str {
    match s {
        Attendance::CheckedIn => "arrived",
        _ => "finished",
    }
}

fn patient(e: &Export, base: &str) -> Value {
    let p = &e.patient;
    json!({
        "resourceType": "Patient",
        "id": p.id.to_string(),
        "identifier": [{ "system": format!("{base}/fhir/sid/patient"), "value": p.id.to_string() }],
        "active": p.active,
        "name": [{ "family": p.last_name, "given": [p.first_name] }],
        "telecom": [
            nonblank(&p.phone).map(|v| json!({ "system": "phone", "value": v })),
            nonblank(&p.email).map(|v| json!({ "system": "email", "value": v })),
        ],
        "birthDate": p.birth_date.map(|d| d.to_string()),
        "address": [{ "text": p.address }],
        "managingOrganization": { "display": e.practice_name },
    })
}

/// The patient's Coverage. Self-pay is a Coverage of type `pay` whose payor is the patient; an
/// insurer is named by display and Stride's payer id. Without either there is no valid payor
/// (R4 requires one), so no Coverage.
fn coverage(e: &Export, base: &str, c: &ExportCoverage) -> Option<Value> {
    let (kind, payor, subscriber_id, class) = if c.self_pay {
        let kind = json!({
            "coding": [{ "system": SELF_PAY_SYSTEM, "code": "pay", "display": "Pay" }],
            "text": "Self-pay",
        });
        (Some(kind), patient_ref(e), None, None)
    } else {
        let name = nonblank(&c.payer_name);
        if name.is_none() && c.payer_id.is_none() {
            return None;
        }
        let identifier = c.payer_id.map(|id| {
            json!({
                "system": format!("{base}/fhir/sid/payer"),
                "value": id.to_string(),
            })
        });
        let payor = json!({ "identifier": identifier, "display": name });
        let class = nonblank(&c.plan).map(|plan| {
            json!([{
                "type": { "coding": [{ "system": COVERAGE_CLASS_SYSTEM, "code": "plan", "display": "Plan" }] },
                "value": plan,
            }])
        });
        (None, payor, nonblank(&c.member_id), class)
    };
    Some(json!({
        "resourceType": "Coverage",
        "id": e.patient.id.to_string(),
        "status": "active",
        "type": kind,
        "subscriberId": subscriber_id,
        "beneficiary": patient_ref(e),
        "payor": [payor],
        "class": class,
    }))
}

/// Whether the plan names what it treats; only then does it get a Condition.
fn has_condition(plan: &ExportPlan) -> bool {
    !plan.condition.trim().is_empty() || nonblank(&plan.icd10).is_some()
}

/// What the plan treats, with its body regions. Clinical and verification status are left out:
/// Stride does not record them.
fn condition(e: &Export, plan: &ExportPlan) -> Option<Value> {
    if !has_condition(plan) {
        return None;
    }
    let coding =
        nonblank(&plan.icd10).map(|code| json!({ "system": ICD10_CM_SYSTEM, "code": code }));
    let body_sites: Vec<Value> = plan
        .areas
        .iter()
        .map(|key| json!({ "text": care::region_label(key).unwrap_or(key) }))
        .collect();
    Some(json!({
        "resourceType": "Condition",
        "id": plan.id.to_string(),
        "code": { "coding": [coding], "text": plan.condition },
        "bodySite": body_sites,
        "subject": patient_ref(e),
    }))
}

fn episode_of_care(e: &Export, plan: &ExportPlan) -> Value {
    json!({
        "resourceType": "EpisodeOfCare",
        "id": plan.id.to_string(),
        "status": episode_status(plan.status),
        "type": [{ "text": "Physical therapy" }],
        "diagnosis": [
            has_condition(plan).then(|| json!({ "condition": reference("Condition", plan.id) })),
        ],
        "patient": patient_ref(e),
        "managingOrganization": { "display": e.practice_name },
        "period": date_period(plan.starts_on, plan.closed_on),
    })
}

/// The plan itself: its period runs to the day it closed or, while open, to the end of its
/// certification. One activity carries the prescribed visits and frequency.
fn care_plan(e: &Export, plan: &ExportPlan, goals: &[Value]) -> Value {
    let per_week = plan.visits_per_week;
    let timing = (per_week > 0)
        .then(|| json!({ "repeat": { "frequency": per_week, "period": 1, "periodUnit": "wk" } }));
    let activity = json!({
        "detail": {
            "code": { "text": "Physical therapy visits" },
            "status": activity_status(plan.status),
            "scheduledTiming": timing,
            "performer": [plan.clinician.as_ref().map(|c| json!({ "display": c }))],
            "description": visits_description(plan.prescribed_visits, per_week),
        }
    });
    let goal_refs: Vec<Value> = goals
        .iter()
        .map(|g| reference("Goal", g["id"].as_str().unwrap_or_default()))
        .collect();
    json!({
        "resourceType": "CarePlan",
        "id": plan.id.to_string(),
        "status": care_plan_status(plan.status),
        "intent": "plan",
        "title": nonblank_str(&plan.condition).unwrap_or("Plan of care"),
        "description": plan.summary,
        "subject": patient_ref(e),
        "period": date_period(plan.starts_on, plan.closed_on.or(plan.certified_until)),
        "author": plan.clinician.as_ref().map(|c| json!({ "display": c })),
        "addresses": [has_condition(plan).then(|| reference("Condition", plan.id))],
        "goal": goal_refs,
        "activity": [activity],
    })
}

/// "12 visits at 2 a week", or as much of it as the plan says.
fn visits_description(prescribed: u32, per_week: u32) -> Option<String> {
    let visits = |n: u32| format!("{n} {}", if n == 1 { "visit" } else { "visits" });
    match (prescribed, per_week) {
        (0, 0) => None,
        (0, w) => Some(format!("{} a week", visits(w))),
        (n, 0) => Some(visits(n)),
        (n, w) => Some(format!("{} at {w} a week", visits(n))),
    }
}

/// One goal, described by its text (or, failing that, its target). R4's gol-1 requires a
/// measure wherever a target detail is given, so the measure repeats the description.
fn goal(e: &Export, plan: &ExportPlan, g: &ExportGoal) -> Option<Value> {
    let description = nonblank_str(&g.text).or(nonblank_str(&g.target))?;
    let (lifecycle, achievement) = goal_status(plan.status, g.progress);
    let detail = nonblank_str(&g.target);
    let target = json!({
        "measure": detail.map(|_| json!({ "text": description })),
        "detailString": detail,
        "dueDate": g.due_on.map(|d| d.to_string()),
    });
    Some(json!({
        "resourceType": "Goal",
        "id": g.id.to_string(),
        "lifecycleStatus": lifecycle,
        "achievementStatus": {
            "coding": [{
                "system": GOAL_ACHIEVEMENT_SYSTEM,
                "code": achievement,
                "display": achievement_display(achievement),
            }],
        },
        "description": { "text": description },
        "subject": patient_ref(e),
        "startDate": plan.starts_on.to_string(),
        "target": [target],
        "addresses": [has_condition(plan).then(|| reference("Condition", plan.id))],
        "note": [{ "text": format!("Progress {}%", g.progress.min(100)) }],
    }))
}

/// The code system's own display for the achievement codes this module writes.
fn achievement_display(code: &str) -> &'static str {
    match code {
        "achieved" => "Achieved",
        "not-achieved" => "Not Achieved",
        _ => "In Progress",
    }
}

/// The visit on the calendar. R4's Appointment.basedOn may only point at a ServiceRequest, so
/// the link to the plan lives on the Encounter (episodeOfCare) instead.
fn appointment(e: &Export, v: &ExportVisit) -> Value {
    json!({
        "resourceType": "Appointment",
        "id": v.id.to_string(),
        "status": appointment_status(v.status),
        "cancelationReason": (v.status == Attendance::LateCancel)
            .then(|| json!({ "text": "Late cancellation" })),
        "serviceType": [{ "text": v.type_name }],
        "start": instant(v.starts_at),
        "end": instant(v.ends_at),
        "participant": [
            { "actor": patient_ref(e), "status": "accepted" },
            nonblank(&v.clinician)
                .map(|c| json!({ "actor": { "display": c }, "status": "accepted" })),
        ],
    })
}

/// The visit that took place. A checked-in visit has not ended yet, so its period has no end.
fn encounter(e: &Export, v: &ExportVisit) -> Value {
    let finished = v.status == Attendance::Completed;
    let episode = v
        .plan_id
        .filter(|id| e.plans.iter().any(|p| p.id == *id))
        .map(|id| reference("EpisodeOfCare", id));
    json!({
        "resourceType": "Encounter",
        "id": v.id.to_string(),
        "status": encounter_status(v.status),
        "class": { "system": ACT_CODE_SYSTEM, "code": "AMB", "display": "ambulatory" },
        "type": [{ "text": v.type_name }],
        "subject": patient_ref(e),
        "episodeOfCare": [episode],
        "participant": [nonblank(&v.clinician).map(|c| json!({ "individual": { "display": c } }))],
        "appointment": [reference("Appointment", v.id)],
        "period": {
            "start": instant(v.starts_at),
            "end": (finished && v.ends_at >= v.starts_at).then(|| instant(v.ends_at)),
        },
        "serviceProvider": { "display": e.practice_name },
    })
}

/// One Procedure per billed code, id `{visit}-{n}`. FHIR has no element for billed units, so
/// they go in a note.
fn procedures(e: &Export, v: &ExportVisit) -> Vec<Value> {
    v.lines
        .iter()
        .enumerate()
        .filter(|(_, line)| !line.code.trim().is_empty())
        .map(|(i, line)| {
            let known = billing::cpt(&line.code);
            let code = known.map_or_else(
                || line.code.trim().to_ascii_uppercase(),
                |c| c.code.to_string(),
            );
            let system = if code.starts_with(|c: char| c.is_ascii_alphabetic()) {
                HCPCS_SYSTEM
            } else {
                CPT_SYSTEM
            };
            let label = known.map(|c| c.label);
            let units = format!(
                "{} {}",
                line.units,
                if line.units == 1 { "unit" } else { "units" }
            );
            json!({
                "resourceType": "Procedure",
                "id": format!("{}-{}", v.id, i + 1),
                "status": "completed",
                "code": {
                    "coding": [{ "system": system, "code": code, "display": label }],
                    "text": label.unwrap_or(&code),
                },
                "subject": patient_ref(e),
                "encounter": reference("Encounter", v.id),
                "performedDateTime": instant(v.starts_at),
                "performer": [nonblank(&v.clinician).map(|c| json!({ "actor": { "display": c } }))],
                "note": [{ "text": units }],
            })
        })
        .collect()
}

fn reference(kind: &str, id: impl std::fmt::Display) -> Value {
    json!({ "reference": format!("{kind}/{id}") })
}

fn patient_ref(e: &Export) -> Value {
    reference("Patient", e.patient.id)
}

/// A Period of two days; an end before the start is dropped rather than written (R4's per-1).
fn date_period(start: Date, end: Option<Date>) -> Value {
    json!({
        "start": start.to_string(),
        "end": end.filter(|end| *end >= start).map(|d| d.to_string()),
    })
}

/// An RFC 3339 instant in UTC to the second ("2024-04-01T15:00:00Z"), clamped to the years FHIR
/// can write (jiff's latest instant is on 9999-12-30).
fn instant(ms: i64) -> String {
    let ts = Timestamp::from_millisecond(ms.max(MIN_INSTANT_MS)).unwrap_or(Timestamp::MAX);
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn nonblank(s: &Option<String>) -> Option<&str> {
    s.as_deref().and_then(nonblank_str)
}

fn nonblank_str(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

/// Trims every string and drops nulls and blank strings, then the arrays and objects left empty,
/// innermost first: FHIR forbids empty values, so the builders above can write optional fields
/// plainly and let this pass remove the ones that have nothing in them.
fn prune(v: Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::String(s) => nonblank_str(&s).map(|t| Value::String(t.to_string())),
        Value::Array(items) => {
            let items: Vec<Value> = items.into_iter().filter_map(prune).collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        Value::Object(fields) => {
            let fields: Map<String, Value> = fields
                .into_iter()
                .filter_map(|(k, v)| prune(v).map(|v| (k, v)))
                .collect();
            (!fields.is_empty()).then_some(Value::Object(fields))
        }
        other => Some(other),
    }
}

/// A rich example used by tests and the validator: two plans (one active, one dropped) with
/// goals in every state, and visits in every attendance state, some with billed codes.
pub fn example() -> Export {
    use Attendance::*;
    use jiff::civil::date;

    let at = |s: &str| s.parse::<Timestamp>().map_or(0, |t| t.as_millisecond());
    let text = |s: &str| Some(s.to_string());
    // (id, text, target, due, progress)
    let goals = |rows: &[(i64, &str, &str, Option<Date>, u32)]| -> Vec<ExportGoal> {
        rows.iter()
            .map(|&(id, text, target, due_on, progress)| ExportGoal {
                id,
                text: text.to_string(),
                target: target.to_string(),
                due_on,
                progress,
            })
            .collect()
    };
    // (id, plan, start, minutes, status, type); plan 5 is Alex Kim's, plan 7 Sam Patel's.
    #[rustfmt::skip]
    let visits = [
        (101, Some(5), "2023-09-05T14:00:00Z", 60, Completed, "Evaluation"),
        (102, Some(5), "2023-09-12T14:00:00Z", 45, Completed, "Follow-up"),
        (103, Some(5), "2023-09-19T14:00:00Z", 45, NoShow, "Follow-up"),
        (104, Some(5), "2023-09-26T14:00:00Z", 45, LateCancel, "Follow-up"),
        (105, Some(7), "2024-02-05T16:00:00Z", 60, Completed, "Evaluation"),
        (106, Some(7), "2024-03-26T16:00:00Z", 45, Cancelled, "Follow-up"),
        (107, Some(7), "2024-04-01T14:30:00Z", 45, CheckedIn, "Follow-up"),
        (108, Some(7), "2024-04-03T16:00:00Z", 45, Booked, "Follow-up"),
        (109, Some(7), "2024-04-05T16:00:00Z", 45, Confirmed, "Follow-up"),
        (110, None, "2024-04-10T18:00:00Z", 30, Booked, "Free injury screen"),
    ];
    #[rustfmt::skip]
    let knee_goals = goals(&[
        (8, "Climb stairs without a rail", "2 flights", Some(date(2023, 11, 1)), 40),
    ]);
    #[rustfmt::skip]
    let back_goals = goals(&[
        (11, "Sit through a workday", "8 hours with pain under 3/10", Some(date(2024, 4, 15)), 60),
        (12, "Lift a toddler from the floor", "12 kg, 10 times", Some(date(2024, 5, 1)), 100),
        (13, "Return to running", "5 km", None, 0),
    ]);
    let clinician = |plan| {
        if plan == 5 {
            "Alex Kim, DPT"
        } else {
            "Sam Patel, PT"
        }
    };
    let billed = |id: i64| -> Vec<Billed> {
        let lines: &[(&str, u32)] = match id {
            101 => &[("97161", 1), ("97110", 2)],
            102 => &[("97110", 2), ("97140", 1)],
            105 => &[("97162", 1), ("97110", 1), ("G0283", 1)],
            _ => &[],
        };
        lines
            .iter()
            .map(|&(code, units)| Billed {
                code: code.to_string(),
                units,
            })
            .collect()
    };
    Export {
        practice_name: "Riverside Physical Therapy".to_string(),
        base_url: "https://stride.example".to_string(),
        generated_at: at("2024-04-01T15:00:00Z"),
        patient: ExportPatient {
            id: 42,
            first_name: "Dana".to_string(),
            last_name: "Reyes".to_string(),
            birth_date: Some(date(1984, 7, 19)),
            phone: text("+15125550142"),
            email: text("dana.reyes@example.com"),
            address: text("1200 Congress Ave, Austin, TX 78701"),
            active: true,
        },
        coverage: Some(ExportCoverage {
            payer_id: Some(3),
            payer_name: text("Blue Cross Blue Shield of Texas"),
            plan: text("PPO"),
            member_id: text("XZP123456789"),
            self_pay: false,
        }),
        plans: vec![
            ExportPlan {
                id: 5,
                status: PlanStatus::Dropped,
                condition: "Right knee pain after a fall".to_string(),
                icd10: text("M25.561"),
                areas: vec!["knee"],
                starts_on: date(2023, 9, 5),
                closed_on: Some(date(2023, 10, 16)),
                certified_until: Some(date(2023, 12, 1)),
                prescribed_visits: 8,
                visits_per_week: 2,
                clinician: text(clinician(5)),
                goals: knee_goals,
                summary: text("Stopped attending after two visits; discharged by letter."),
            },
            ExportPlan {
                id: 7,
                status: PlanStatus::Active,
                condition: "Low back pain".to_string(),
                icd10: text("M54.50"),
                areas: vec!["lower_back", "hip"],
                starts_on: date(2024, 2, 5),
                closed_on: None,
                certified_until: Some(date(2024, 5, 5)),
                prescribed_visits: 12,
                visits_per_week: 2,
                clinician: text(clinician(7)),
                goals: back_goals,
                summary: None,
            },
        ],
        visits: visits
            .into_iter()
            .map(
                |(id, plan_id, start, minutes, status, type_name)| ExportVisit {
                    id,
                    plan_id,
                    starts_at: at(start),
                    ends_at: at(start) + minutes * 60_000,
                    status,
                    type_name: type_name.to_string(),
                    clinician: plan_id.and_then(|p| text(clinician(p))),
                    lines: billed(id),
                },
            )
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn entries(b: &Value) -> &Vec<Value> {
        b["entry"].as_array().expect("entries")
    }

    fn resources<'a>(b: &'a Value, kind: &str) -> Vec<&'a Value> {
        entries(b)
            .iter()
            .map(|e| &e["resource"])
            .filter(|r| r["resourceType"] == kind)
            .collect()
    }

    fn by_id<'a>(b: &'a Value, kind: &str, id: &str) -> &'a Value {
        resources(b, kind)
            .into_iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("no {kind}/{id}"))
    }

    /// Every path holding an empty string, array or object (or a null).
    fn empties(v: &Value, path: &str, out: &mut Vec<String>) {
        match v {
            Value::Null => out.push(path.to_string()),
            Value::String(s) if s.trim().is_empty() => out.push(path.to_string()),
            Value::Array(a) if a.is_empty() => out.push(path.to_string()),
            Value::Object(o) if o.is_empty() => out.push(path.to_string()),
            Value::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    empties(item, &format!("{path}[{i}]"), out);
                }
            }
            Value::Object(o) => {
                for (k, item) in o {
                    empties(item, &format!("{path}.{k}"), out);
                }
            }
            _ => {}
        }
    }

    fn references(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(r)) = o.get("reference") {
                    out.push(r.clone());
                }
                o.values().for_each(|item| references(item, out));
            }
            Value::Array(a) => a.iter().for_each(|item| references(item, out)),
            _ => {}
        }
    }

    fn assert_no_empties(b: &Value) {
        let mut found = Vec::new();
        empties(b, "Bundle", &mut found);
        assert!(found.is_empty(), "empty values at {found:?}");
    }

    fn assert_references_resolve(b: &Value, base: &str) {
        let full_urls: BTreeSet<&str> = entries(b)
            .iter()
            .map(|e| e["fullUrl"].as_str().expect("fullUrl"))
            .collect();
        assert_eq!(full_urls.len(), entries(b).len(), "fullUrls are unique");
        let mut refs = Vec::new();
        references(b, &mut refs);
        for r in refs {
            assert!(
                full_urls.contains(format!("{base}/fhir/{r}").as_str()),
                "{r} does not resolve"
            );
        }
    }

    #[test]
    fn example_has_every_resource_once_per_source_row() {
        let b = bundle(&example());
        assert_eq!(b["resourceType"], "Bundle");
        assert_eq!(b["type"], "collection");
        assert_eq!(b["id"], "patient-42-export");
        assert_eq!(b["timestamp"], "2024-04-01T15:00:00Z");
        let mut counts = BTreeMap::new();
        for e in entries(&b) {
            *counts
                .entry(e["resource"]["resourceType"].as_str().unwrap())
                .or_insert(0) += 1;
        }
        let expected = BTreeMap::from([
            ("Patient", 1),
            ("Coverage", 1),
            ("Condition", 2),
            ("EpisodeOfCare", 2),
            ("CarePlan", 2),
            ("Goal", 4),
            ("Appointment", 10),
            ("Encounter", 4),
            ("Procedure", 7),
        ]);
        assert_eq!(counts, expected);
    }

    #[test]
    fn example_references_resolve_and_nothing_is_empty() {
        let b = bundle(&example());
        let mut refs = Vec::new();
        references(&b, &mut refs);
        assert_eq!(refs.len(), 59, "every link the example should carry");
        assert_references_resolve(&b, "https://stride.example");
        assert_no_empties(&b);
        for e in entries(&b) {
            let id = e["resource"]["id"].as_str().unwrap();
            assert!(
                (1..=64).contains(&id.len())
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'),
                "{id} is not a FHIR id"
            );
        }
    }

    #[test]
    fn patient_and_coverage_carry_demographics_and_payer() {
        let b = bundle(&example());
        let p = by_id(&b, "Patient", "42");
        assert_eq!(
            p["identifier"][0]["system"],
            "https://stride.example/fhir/sid/patient"
        );
        assert_eq!(p["identifier"][0]["value"], "42");
        assert_eq!(
            p["name"][0],
            json!({ "family": "Reyes", "given": ["Dana"] })
        );
        assert_eq!(
            p["telecom"][0],
            json!({ "system": "phone", "value": "+15125550142" })
        );
        assert_eq!(p["telecom"][1]["system"], "email");
        assert_eq!(p["birthDate"], "1984-07-19");
        assert_eq!(
            p["address"][0]["text"],
            "1200 Congress Ave, Austin, TX 78701"
        );
        let c = by_id(&b, "Coverage", "42");
        assert_eq!(c["status"], "active");
        assert_eq!(c["subscriberId"], "XZP123456789");
        assert_eq!(c["beneficiary"]["reference"], "Patient/42");
        assert_eq!(c["payor"][0]["display"], "Blue Cross Blue Shield of Texas");
        assert_eq!(c["payor"][0]["identifier"]["value"], "3");
        assert!(c.get("type").is_none());
    }

    #[test]
    fn self_pay_is_a_coverage_paid_by_the_patient() {
        let mut e = example();
        e.coverage = Some(ExportCoverage {
            payer_id: None,
            payer_name: None,
            plan: None,
            member_id: Some("ignored".to_string()),
            self_pay: true,
        });
        let b = bundle(&e);
        let c = by_id(&b, "Coverage", "42");
        assert_eq!(c["type"]["coding"][0]["system"], SELF_PAY_SYSTEM);
        assert_eq!(c["type"]["coding"][0]["code"], "pay");
        assert_eq!(c["payor"], json!([{ "reference": "Patient/42" }]));
        assert!(c.get("subscriberId").is_none());
        assert_references_resolve(&b, "https://stride.example");
    }

    #[test]
    fn an_insurer_nobody_named_gets_no_coverage() {
        let mut e = example();
        e.coverage = Some(ExportCoverage {
            payer_id: None,
            payer_name: Some(" ".to_string()),
            plan: None,
            member_id: None,
            self_pay: false,
        });
        assert!(resources(&bundle(&e), "Coverage").is_empty());
        e.coverage = None;
        assert!(resources(&bundle(&e), "Coverage").is_empty());
    }

    #[test]
    fn plans_map_to_condition_episode_and_care_plan() {
        let b = bundle(&example());
        let cond = by_id(&b, "Condition", "7");
        assert_eq!(
            cond["code"]["coding"][0],
            json!({ "system": ICD10_CM_SYSTEM, "code": "M54.50" })
        );
        assert_eq!(cond["code"]["text"], "Low back pain");
        assert_eq!(
            cond["bodySite"],
            json!([{ "text": "Lower back" }, { "text": "Hip" }])
        );

        let active = by_id(&b, "EpisodeOfCare", "7");
        assert_eq!(active["status"], "active");
        assert_eq!(active["period"], json!({ "start": "2024-02-05" }));
        assert_eq!(
            active["diagnosis"][0]["condition"]["reference"],
            "Condition/7"
        );
        let dropped = by_id(&b, "EpisodeOfCare", "5");
        assert_eq!(dropped["status"], "cancelled");
        assert_eq!(
            dropped["period"],
            json!({ "start": "2023-09-05", "end": "2023-10-16" })
        );

        let plan = by_id(&b, "CarePlan", "7");
        assert_eq!(plan["status"], "active");
        assert_eq!(plan["intent"], "plan");
        assert_eq!(plan["title"], "Low back pain");
        assert_eq!(
            plan["period"],
            json!({ "start": "2024-02-05", "end": "2024-05-05" })
        );
        assert_eq!(plan["addresses"], json!([{ "reference": "Condition/7" }]));
        assert_eq!(
            plan["goal"],
            json!([
                { "reference": "Goal/11" },
                { "reference": "Goal/12" },
                { "reference": "Goal/13" },
            ])
        );
        let detail = &plan["activity"][0]["detail"];
        assert_eq!(detail["status"], "in-progress");
        assert_eq!(detail["description"], "12 visits at 2 a week");
        assert_eq!(
            detail["scheduledTiming"]["repeat"],
            json!({ "frequency": 2, "period": 1, "periodUnit": "wk" })
        );
        let revoked = by_id(&b, "CarePlan", "5");
        assert_eq!(revoked["status"], "revoked");
        assert_eq!(revoked["activity"][0]["detail"]["status"], "stopped");
        assert_eq!(
            revoked["description"],
            "Stopped attending after two visits; discharged by letter."
        );
    }

    #[test]
    fn plan_statuses_map_to_r4_codes() {
        let table = [
            (PlanStatus::Active, "active", "active", "in-progress"),
            (PlanStatus::OnHold, "onhold", "on-hold", "on-hold"),
            (PlanStatus::Completed, "finished", "completed", "completed"),
            (PlanStatus::Dropped, "cancelled", "revoked", "stopped"),
            (PlanStatus::Discharged, "finished", "completed", "completed"),
        ];
        for (status, episode, plan, activity) in table {
            assert_eq!(episode_status(status), episode);
            assert_eq!(care_plan_status(status), plan);
            assert_eq!(activity_status(status), activity);
        }
        assert_eq!(table.map(|t| t.0), PlanStatus::ALL);
    }

    #[test]
    fn goals_follow_their_plan_unless_achieved() {
        assert_eq!(
            goal_status(PlanStatus::Active, 60),
            ("active", "in-progress")
        );
        assert_eq!(
            goal_status(PlanStatus::OnHold, 0),
            ("on-hold", "in-progress")
        );
        assert_eq!(
            goal_status(PlanStatus::Completed, 90),
            ("completed", "not-achieved")
        );
        assert_eq!(
            goal_status(PlanStatus::Discharged, 10),
            ("completed", "not-achieved")
        );
        assert_eq!(
            goal_status(PlanStatus::Dropped, 40),
            ("cancelled", "not-achieved")
        );
        for s in PlanStatus::ALL {
            assert_eq!(goal_status(s, 100), ("completed", "achieved"));
        }

        let b = bundle(&example());
        let g = by_id(&b, "Goal", "11");
        assert_eq!(g["lifecycleStatus"], "active");
        assert_eq!(g["achievementStatus"]["coding"][0]["code"], "in-progress");
        assert_eq!(g["description"]["text"], "Sit through a workday");
        assert_eq!(
            g["target"][0],
            json!({
                "measure": { "text": "Sit through a workday" },
                "detailString": "8 hours with pain under 3/10",
                "dueDate": "2024-04-15",
            })
        );
        assert_eq!(g["note"][0]["text"], "Progress 60%");
        assert_eq!(by_id(&b, "Goal", "12")["lifecycleStatus"], "completed");
        assert!(
            by_id(&b, "Goal", "13")["target"][0]
                .get("dueDate")
                .is_none()
        );
        assert_eq!(by_id(&b, "Goal", "8")["lifecycleStatus"], "cancelled");
    }

    #[test]
    fn visits_map_to_appointments_and_attended_ones_to_encounters() {
        let table = [
            (Attendance::Booked, "booked", None),
            (Attendance::Confirmed, "booked", None),
            (Attendance::CheckedIn, "checked-in", Some("arrived")),
            (Attendance::Completed, "fulfilled", Some("finished")),
            (Attendance::NoShow, "noshow", None),
            (Attendance::LateCancel, "cancelled", None),
            (Attendance::Cancelled, "cancelled", None),
        ];
        assert_eq!(table.map(|t| t.0), Attendance::ALL);
        for (status, appointment, encounter) in table {
            assert_eq!(appointment_status(status), appointment);
            assert_eq!(
                is_attended(status).then(|| encounter_status(status)),
                encounter
            );
        }

        let b = bundle(&example());
        let a = by_id(&b, "Appointment", "105");
        assert_eq!(a["status"], "fulfilled");
        assert_eq!(a["start"], "2024-02-05T16:00:00Z");
        assert_eq!(a["end"], "2024-02-05T17:00:00Z");
        assert_eq!(a["serviceType"][0]["text"], "Evaluation");
        assert_eq!(
            a["participant"][0],
            json!({ "actor": { "reference": "Patient/42" }, "status": "accepted" })
        );
        assert_eq!(a["participant"][1]["actor"]["display"], "Sam Patel, PT");
        assert_eq!(
            by_id(&b, "Appointment", "104")["cancelationReason"]["text"],
            "Late cancellation"
        );
        assert_eq!(
            by_id(&b, "Appointment", "110")["participant"]
                .as_array()
                .unwrap()
                .len(),
            1
        );

        let enc = by_id(&b, "Encounter", "105");
        assert_eq!(enc["status"], "finished");
        assert_eq!(
            enc["class"],
            json!({ "system": ACT_CODE_SYSTEM, "code": "AMB", "display": "ambulatory" })
        );
        assert_eq!(
            enc["episodeOfCare"],
            json!([{ "reference": "EpisodeOfCare/7" }])
        );
        assert_eq!(
            enc["appointment"],
            json!([{ "reference": "Appointment/105" }])
        );
        assert_eq!(
            enc["period"],
            json!({ "start": "2024-02-05T16:00:00Z", "end": "2024-02-05T17:00:00Z" })
        );
        let arrived = by_id(&b, "Encounter", "107");
        assert_eq!(arrived["status"], "arrived");
        assert_eq!(
            arrived["period"],
            json!({ "start": "2024-04-01T14:30:00Z" })
        );
    }

    #[test]
    fn billed_codes_become_procedures_of_attended_visits_only() {
        let mut e = example();
        // A code on a cancelled visit never happened.
        e.visits[5].lines = vec![Billed {
            code: "97110".to_string(),
            units: 1,
        }];
        let b = bundle(&e);
        assert_eq!(resources(&b, "Procedure").len(), 7);
        let p = by_id(&b, "Procedure", "101-2");
        assert_eq!(p["status"], "completed");
        assert_eq!(
            p["code"]["coding"][0],
            json!({ "system": CPT_SYSTEM, "code": "97110", "display": "Therapeutic exercise" })
        );
        assert_eq!(p["encounter"]["reference"], "Encounter/101");
        assert_eq!(p["performedDateTime"], "2023-09-05T14:00:00Z");
        assert_eq!(p["note"][0]["text"], "2 units");
        let hcpcs = by_id(&b, "Procedure", "105-3");
        assert_eq!(hcpcs["code"]["coding"][0]["system"], HCPCS_SYSTEM);
        assert_eq!(hcpcs["note"][0]["text"], "1 unit");
    }

    #[test]
    fn blank_input_leaves_out_what_is_blank_and_stays_valid() {
        let e = Export {
            practice_name: String::new(),
            base_url: "https://stride.example/".to_string(),
            generated_at: 0,
            patient: ExportPatient {
                id: 1,
                first_name: " ".to_string(),
                last_name: String::new(),
                birth_date: None,
                phone: Some(String::new()),
                email: None,
                address: Some(" ".to_string()),
                active: false,
            },
            coverage: None,
            plans: vec![ExportPlan {
                id: 2,
                status: PlanStatus::OnHold,
                condition: String::new(),
                icd10: None,
                areas: vec![],
                starts_on: jiff::civil::date(2024, 3, 1),
                closed_on: Some(jiff::civil::date(2024, 2, 1)),
                certified_until: None,
                prescribed_visits: 0,
                visits_per_week: 0,
                clinician: None,
                goals: vec![ExportGoal {
                    id: 3,
                    text: " ".to_string(),
                    target: String::new(),
                    due_on: None,
                    progress: 0,
                }],
                summary: Some(String::new()),
            }],
            visits: vec![ExportVisit {
                id: 4,
                plan_id: Some(99),
                starts_at: 0,
                ends_at: 1_800_000,
                status: Attendance::Completed,
                type_name: String::new(),
                clinician: Some(String::new()),
                lines: vec![Billed {
                    code: " ".to_string(),
                    units: 1,
                }],
            }],
        };
        let b = bundle(&e);
        assert_no_empties(&b);
        assert_references_resolve(&b, "https://stride.example");
        assert_eq!(
            by_id(&b, "Patient", "1"),
            &json!({
                "resourceType": "Patient",
                "id": "1",
                "identifier": [{
                    "system": "https://stride.example/fhir/sid/patient",
                    "value": "1",
                }],
                "active": false,
            })
        );
        assert!(resources(&b, "Condition").is_empty());
        assert!(resources(&b, "Goal").is_empty());
        assert!(resources(&b, "Procedure").is_empty());
        let plan = by_id(&b, "CarePlan", "2");
        assert_eq!(plan["title"], "Plan of care");
        assert_eq!(plan["period"], json!({ "start": "2024-03-01" }));
        assert_eq!(
            plan["activity"][0]["detail"],
            json!({ "code": { "text": "Physical therapy visits" }, "status": "on-hold" })
        );
        // The plan the visit names is not in the export, so nothing points at it.
        assert!(by_id(&b, "Encounter", "4").get("episodeOfCare").is_none());
        assert_eq!(b["timestamp"], "1970-01-01T00:00:00Z");
    }

    #[test]
    fn instants_are_utc_seconds_within_four_digit_years() {
        assert_eq!(instant(1_711_983_600_123), "2024-04-01T15:00:00Z");
        assert_eq!(instant(i64::MIN), "0001-01-01T00:00:00Z");
        assert_eq!(instant(i64::MAX), "9999-12-30T22:00:00Z");
    }

    #[test]
    fn visit_descriptions_say_what_the_plan_says() {
        assert_eq!(
            visits_description(12, 2).as_deref(),
            Some("12 visits at 2 a week")
        );
        assert_eq!(
            visits_description(1, 1).as_deref(),
            Some("1 visit at 1 a week")
        );
        assert_eq!(visits_description(8, 0).as_deref(), Some("8 visits"));
        assert_eq!(visits_description(0, 3).as_deref(), Some("3 visits a week"));
        assert_eq!(visits_description(0, 0), None);
    }

    /// Blank or present text, any statuses, and visits naming plans that may not be exported.
    fn export_strategy() -> impl Strategy<Value = Export> {
        let text = || prop_oneof![Just(String::new()), Just("  ".to_string()), "[a-z]{1,4}"];
        let plan = (
            0usize..5,
            text(),
            proptest::option::of(text()),
            proptest::collection::vec((text(), text(), 0u32..=100), 0..3),
        );
        let visit = (
            0usize..7,
            proptest::option::of(1i64..4),
            text(),
            proptest::collection::vec(("[0-9G]{0,5}", 0u32..4), 0..3),
        );
        (
            text(),
            proptest::option::of((any::<bool>(), proptest::option::of(text()), 0i64..2)),
            proptest::collection::vec(plan, 0..3),
            proptest::collection::vec(visit, 0..6),
        )
            .prop_map(|(name, coverage, plans, visits)| {
                let mut e = example();
                e.patient.first_name = name.clone();
                e.patient.last_name = name.clone();
                e.patient.email = Some(name.clone());
                e.coverage = coverage.map(|(self_pay, payer_name, id)| ExportCoverage {
                    payer_id: (id > 0).then_some(id),
                    payer_name,
                    plan: Some(name.clone()),
                    member_id: Some(name.clone()),
                    self_pay,
                });
                let template = e.plans[1].clone();
                e.plans = plans
                    .into_iter()
                    .enumerate()
                    .map(|(i, (status, condition, icd10, goals))| ExportPlan {
                        id: i as i64 + 1,
                        status: PlanStatus::ALL[status],
                        condition,
                        icd10,
                        goals: goals
                            .into_iter()
                            .enumerate()
                            .map(|(g, (text, target, progress))| ExportGoal {
                                id: (i * 10 + g) as i64,
                                text,
                                target,
                                due_on: None,
                                progress,
                            })
                            .collect(),
                        ..template.clone()
                    })
                    .collect();
                e.visits = visits
                    .into_iter()
                    .enumerate()
                    .map(|(i, (status, plan_id, clinician, lines))| ExportVisit {
                        id: i as i64,
                        plan_id,
                        starts_at: 1_700_000_000_000,
                        ends_at: 1_700_002_700_000,
                        status: Attendance::ALL[status],
                        type_name: clinician.clone(),
                        clinician: Some(clinician),
                        lines: lines
                            .into_iter()
                            .map(|(code, units)| Billed { code, units })
                            .collect(),
                    })
                    .collect();
                e
            })
    }

    proptest! {
        /// Whatever is blank, nothing empty is written and every reference finds its entry.
        #[test]
        fn any_export_has_no_empties_and_resolving_references(e in export_strategy()) {
            let b = bundle(&e);
            assert_no_empties(&b);
            assert_references_resolve(&b, "https://stride.example");
            for goal in resources(&b, "Goal") {
                prop_assert!(goal["description"]["text"].is_string());
                for target in goal["target"].as_array().into_iter().flatten() {
                    // gol-1: a detail needs a measure.
                    let detail = target.get("detailString").is_some();
                    prop_assert_eq!(detail, target.get("measure").is_some());
                }
            }
            for c in resources(&b, "Coverage") {
                prop_assert!(c["payor"].is_array());
            }
        }
    }

    /// `STRIDE_FHIR_SAMPLE_OUT=/tmp/fhir-sample.json cargo test -p stride-core fhir` writes the
    /// example bundle there, for tests/fhir/validate.py.
    #[test]
    fn writes_the_sample_bundle_when_asked() {
        if let Some(path) = std::env::var_os("STRIDE_FHIR_SAMPLE_OUT") {
            let json = serde_json::to_string_pretty(&bundle(&example())).expect("serializable");
            std::fs::write(&path, json + "\n").expect("sample written");
        }
    }
}
