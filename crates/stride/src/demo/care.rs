//! The demo's plans of care. The year's calendar slots are handed out in time order as a clinic
//! fills them: an evaluation starts a patient's plan (visit 1 of Y), follow-ups go to the patients
//! whose next visit is due, and maintenance visits to patients who took a membership at discharge.
//! Some patients stop coming part-way. Before outreach began (five months ago) about a third of
//! plans were dropped; since then the front desk reaches out to patients who go quiet and brings
//! almost half of them back, so completion climbs past 80%. Today's active plans include patients
//! drifting away right now, so the daily risk list has work on it, and the last five weeks of
//! visits carry notes (most signed) so the documentation audit has something to find.

use std::collections::HashMap;

use jiff::civil::Date;
use stride_core::care::PlanStatus;
use stride_core::deposits::Attendance;
use stride_store::Store;
use stride_store::audit::Actor;
use stride_store::hep::{DEFAULT_VALID_DAYS, ExerciseInput, ItemInput};
use stride_store::messages::Channel;
use stride_store::outreach::PastOutreach;
use stride_store::plans::{Discharge, GoalAddressed, NoteInput, PlanInput, Soap};

use crate::traffic::Rng;

const DAY: i64 = 86_400_000;

/// When the front desk began working the drop-off list, in days before today.
pub const OUTREACH_STARTED_DAYS_AGO: i64 = 150;

/// (condition, ICD-10 code, body region, goals as (goal, target)).
type Condition = (
    &'static str,
    &'static str,
    &'static str,
    [(&'static str, &'static str); 2],
);

const CONDITIONS: &[Condition] = &[
    (
        "Low back pain with sciatica",
        "M54.41",
        "lower_back",
        [
            (
                "Sit through a workday without leg pain",
                "8 hours, pain under 2/10",
            ),
            (
                "Return to gardening",
                "1 hour of yard work without flare-up",
            ),
        ],
    ),
    (
        "Patellofemoral pain syndrome",
        "M22.2X1",
        "knee",
        [
            ("Climb stairs without pain", "2 flights, pain under 2/10"),
            ("Return to running", "5 km at an easy pace"),
        ],
    ),
    (
        "Rotator cuff tendinopathy",
        "M75.101",
        "shoulder",
        [
            ("Reach overhead shelves", "Full range, no pain"),
            ("Sleep on the affected side", "Through the night"),
        ],
    ),
    (
        "Cervicalgia",
        "M54.2",
        "neck",
        [
            ("Work at the computer without neck pain", "Full workday"),
            ("Check blind spots while driving", "Full rotation both ways"),
        ],
    ),
    (
        "Total knee arthroplasty rehab",
        "Z96.651",
        "knee",
        [
            (
                "Knee bend for stairs and car transfers",
                "110 degrees of flexion",
            ),
            ("Walk in the community without a cane", "20 minutes"),
        ],
    ),
    (
        "Lateral ankle sprain",
        "S93.401A",
        "ankle_foot",
        [
            ("Single-leg balance", "30 seconds eyes closed"),
            ("Return to soccer", "Full practice without giving way"),
        ],
    ),
    (
        "Plantar fasciitis",
        "M72.2",
        "ankle_foot",
        [
            ("First steps in the morning without pain", "Pain under 1/10"),
            ("Stand for a shift", "6 hours"),
        ],
    ),
    (
        "Hip osteoarthritis",
        "M16.11",
        "hip",
        [
            ("Put on socks and shoes unaided", "Without a reacher"),
            ("Walk the neighborhood loop", "30 minutes"),
        ],
    ),
    (
        "Lateral epicondylitis",
        "M77.11",
        "elbow",
        [
            ("Grip and carry groceries", "Two full bags, no pain"),
            ("Type through the workday", "Pain under 2/10"),
        ],
    ),
    (
        "Benign paroxysmal positional vertigo",
        "H81.10",
        "vestibular",
        [
            ("Roll over in bed without dizziness", "No symptoms"),
            ("Walk with head turns", "Steady for 10 turns"),
        ],
    ),
];

/// The demo's exercise library: (name, region, instructions, video).
const EXERCISES: &[(&str, &str, &str, &str)] = &[
    (
        "Bridges",
        "lower_back",
        "Lie on your back with knees bent. Lift your hips until your body is straight, hold 3 seconds, lower slowly.",
        "https://videos.riversidept.example/bridges",
    ),
    (
        "Bird dog",
        "lower_back",
        "On hands and knees, reach one arm and the opposite leg out long. Hold 5 seconds, switch sides.",
        "https://videos.riversidept.example/bird-dog",
    ),
    (
        "Straight leg raise",
        "knee",
        "Lie on your back, one knee bent. Tighten the straight leg's thigh and lift it to the other knee's height.",
        "https://videos.riversidept.example/slr",
    ),
    (
        "Step-downs",
        "knee",
        "Stand on a step. Slowly lower the other heel to the floor, keeping the knee over the toes, and return.",
        "",
    ),
    (
        "Wall slides",
        "shoulder",
        "Back to a wall, arms in a W. Slide them up into a Y without your back leaving the wall.",
        "https://videos.riversidept.example/wall-slides",
    ),
    (
        "Chin tucks",
        "neck",
        "Sit tall. Glide your chin straight back, making a double chin. Hold 5 seconds.",
        "",
    ),
    (
        "Calf raises",
        "ankle_foot",
        "Hold a counter. Rise onto your toes, pause, lower slowly over 3 seconds.",
        "https://videos.riversidept.example/calf-raises",
    ),
    (
        "Clamshells",
        "hip",
        "Lie on your side, knees bent, feet together. Open the top knee without rolling back.",
        "https://videos.riversidept.example/clamshells",
    ),
    (
        "Wrist extensor stretch",
        "elbow",
        "Arm straight, palm down. Gently bend the wrist down with the other hand. Hold 30 seconds.",
        "",
    ),
    (
        "Brandt-Daroff",
        "vestibular",
        "Sit on the bed edge, lie quickly onto one side with your head turned up, wait 30 seconds, sit up, repeat to the other side.",
        "",
    ),
];

/// What one slot of the calendar is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Evaluation,
    FollowUp,
    Maintenance,
}

/// An open time on the demo calendar, before a patient is chosen.
#[derive(Debug, Clone)]
pub(super) struct Slot {
    pub start: i64,
    pub end: i64,
    pub day: Date,
    pub clinician: i64,
    pub location: i64,
    pub kind: Kind,
    pub type_id: i64,
}

/// The patient a slot went to and what became of the visit.
#[derive(Debug, Clone)]
pub(super) struct Visit {
    pub slot: Slot,
    pub patient: usize,
    pub status: Attendance,
    pub status_at: Option<i64>,
    /// Billed to a membership (cash) rather than the patient's payer.
    pub membership: bool,
    /// The episode (plan) it belongs to.
    pub episode: Option<usize>,
}

#[derive(Debug, Clone)]
pub(super) struct Episode {
    patient: usize,
    clinician: i64,
    starts_on: Date,
    condition: usize,
    prescribed: u32,
    per_week: u32,
    attended: u32,
    booked_ahead: u32,
    last_day: Date,
    next_due: Date,
    drop_after: Option<u32>,
    silent: bool,
    outreach: Option<(i64, Option<(&'static str, i64)>)>,
    closed: Option<(PlanStatus, Date)>,
    membership: (bool, bool),
    certified: bool,
}

fn add(d: Date, days: i64) -> Date {
    d.checked_add(jiff::Span::new().days(days)).unwrap_or(d)
}

/// Mid-morning of `d` in Chicago, for events that happen "that day".
fn morning(d: Date) -> i64 {
    d.at(10, 0, 0, 0)
        .to_zoned_datetime(
            jiff::tz::TimeZone::get("America/Chicago").unwrap_or(jiff::tz::TimeZone::UTC),
        )
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(0)
}

/// Decides a past visit's fate from its slot and whether the patient pays themselves.
pub(super) type Outcome<'a> = dyn FnMut(&mut Rng, &Slot, bool) -> (Attendance, Option<i64>) + 'a;

/// Hands the slots (in time order) to patients. `outcome` decides a past visit's fate from the
/// slot and whether the patient pays themselves.
pub(super) fn assign(
    rng: &mut Rng,
    slots: &[Slot],
    patients: usize,
    self_pay: &dyn Fn(usize) -> bool,
    today: Date,
    now: i64,
    outcome: &mut Outcome<'_>,
) -> (Vec<Visit>, Vec<Episode>) {
    let outreach_from = add(today, -OUTREACH_STARTED_DAYS_AGO);
    let mut episodes: Vec<Episode> = Vec::new();
    let mut open: HashMap<usize, usize> = HashMap::new();
    let mut free_from: Vec<Date> = vec![add(today, -400); patients];
    let mut members: Vec<usize> = Vec::new();
    let mut visits = Vec::new();
    let mut swept = add(today, -400);
    for slot in slots {
        let d = slot.day;
        // Once a day: outreach to patients who went quiet, and closing plans nobody came back to.
        while swept < d.min(today) {
            swept = add(swept, 1);
            for (&p, &e) in open.clone().iter() {
                let ep = &mut episodes[e];
                let quiet = (swept - ep.last_day).get_days();
                let stale = !ep.silent && ep.next_due < add(swept, -28);
                if ep.silent && swept >= outreach_from && ep.outreach.is_none() && quiet >= 5 {
                    let at = morning(swept);
                    if rng.chance(45) {
                        ep.outreach = Some((at, Some(("rebooked", at + 2 * 3_600_000))));
                        ep.silent = false;
                        ep.drop_after = None;
                        ep.next_due = add(swept, 2);
                    } else {
                        ep.outreach = Some((at, None));
                    }
                }
                if (ep.silent && quiet >= 21) || stale {
                    ep.closed = Some((PlanStatus::Dropped, swept));
                    if let Some((at, None)) = ep.outreach {
                        ep.outreach = Some((at, Some(("dropped", morning(swept)))));
                    }
                    open.remove(&p);
                    free_from[p] = add(swept, 30);
                }
            }
        }
        let past = slot.end <= now;
        let today_visit = slot.start <= now && !past;
        match slot.kind {
            Kind::Evaluation => {
                let mut chosen = None;
                for _ in 0..25 {
                    let p = rng.below(patients as u64) as usize;
                    if !open.contains_key(&p) && free_from[p] < d {
                        chosen = Some(p);
                        break;
                    }
                }
                let Some(p) = chosen else { continue };
                let (status, status_at) = if past {
                    outcome(rng, slot, self_pay(p))
                } else if today_visit {
                    (Attendance::CheckedIn, Some(slot.start - 300_000))
                } else {
                    (Attendance::Booked, None)
                };
                let mut episode = None;
                if matches!(status, Attendance::Completed | Attendance::CheckedIn) {
                    let prescribed = *rng.pick(&[(6u32, 15), (8, 45), (10, 25), (12, 15)]);
                    let per_week = *rng.pick(&[(2u32, 70), (3, 15), (1, 15)]);
                    let drops = rng.chance(if d < outreach_from { 36 } else { 24 });
                    let e = episodes.len();
                    episodes.push(Episode {
                        patient: p,
                        clinician: slot.clinician,
                        starts_on: d,
                        condition: rng.below(CONDITIONS.len() as u64) as usize,
                        prescribed,
                        per_week,
                        attended: 1,
                        booked_ahead: 0,
                        last_day: d,
                        next_due: add(d, gap(per_week, 1)),
                        drop_after: drops.then(|| 2 + rng.below(u64::from(prescribed - 3)) as u32),
                        silent: false,
                        outreach: None,
                        closed: None,
                        membership: (false, false),
                        certified: rng.chance(95),
                    });
                    open.insert(p, e);
                    episode = Some(e);
                } else {
                    free_from[p] = add(d, 7);
                }
                visits.push(Visit {
                    slot: slot.clone(),
                    patient: p,
                    status,
                    status_at,
                    membership: false,
                    episode,
                });
            }
            Kind::FollowUp => {
                let due = |e: &Episode| {
                    !e.silent
                        && e.next_due <= d
                        && e.last_day < d
                        && e.attended + e.booked_ahead < e.prescribed
                };
                let pick = open
                    .values()
                    .copied()
                    .filter(|&e| due(&episodes[e]))
                    .min_by_key(|&e| {
                        let ep = &episodes[e];
                        (ep.clinician != slot.clinician, ep.next_due, e)
                    });
                let Some(e) = pick else { continue };
                let p = episodes[e].patient;
                let (status, status_at) = if past {
                    outcome(rng, slot, self_pay(p))
                } else if today_visit {
                    (Attendance::CheckedIn, Some(slot.start - 300_000))
                } else if slot.start - now < 2 * DAY && rng.chance(55) {
                    (Attendance::Confirmed, Some(now - 3_600_000))
                } else {
                    (Attendance::Booked, None)
                };
                let ep = &mut episodes[e];
                ep.last_day = d;
                match status {
                    Attendance::Completed | Attendance::CheckedIn => {
                        ep.attended += 1;
                        ep.next_due = add(d, gap(ep.per_week, ep.attended));
                        if ep.drop_after == Some(ep.attended) {
                            ep.silent = true;
                        }
                        if ep.attended >= ep.prescribed && !today_visit {
                            let offered = rng.chance(70);
                            ep.membership = (offered, offered && rng.chance(40));
                            ep.closed = Some((
                                if rng.chance(85) {
                                    PlanStatus::Discharged
                                } else {
                                    PlanStatus::Completed
                                },
                                d,
                            ));
                            open.remove(&p);
                            free_from[p] = add(d, 45);
                            if ep.membership.1 {
                                members.push(p);
                            }
                        }
                    }
                    Attendance::Booked | Attendance::Confirmed => {
                        ep.booked_ahead += 1;
                        ep.next_due = add(d, gap(ep.per_week, ep.attended + ep.booked_ahead));
                    }
                    _ => ep.next_due = add(d, 1),
                }
                visits.push(Visit {
                    slot: slot.clone(),
                    patient: p,
                    status,
                    status_at,
                    membership: false,
                    episode: Some(e),
                });
            }
            Kind::Maintenance => {
                if members.is_empty() {
                    continue;
                }
                let p = members[rng.below(members.len() as u64) as usize];
                if open.contains_key(&p) {
                    continue;
                }
                let (status, status_at) = if past {
                    outcome(rng, slot, true)
                } else if today_visit {
                    (Attendance::CheckedIn, Some(slot.start - 300_000))
                } else {
                    (Attendance::Booked, None)
                };
                visits.push(Visit {
                    slot: slot.clone(),
                    patient: p,
                    status,
                    status_at,
                    membership: true,
                    episode: None,
                });
            }
        }
    }
    (visits, episodes)
}

/// Days to the next visit at `per_week`: twice a week alternates 3 and 4 days.
fn gap(per_week: u32, n: u32) -> i64 {
    match per_week {
        1 => 7,
        2 => 3 + i64::from(n % 2),
        _ => 2 + i64::from(n.is_multiple_of(3)),
    }
}

/// Writes the plans, goals, discharges, outreach and recent notes. `patient_ids` maps the
/// simulation's patients to stored ones; `visit_ids` the visits (by clinician and start) to
/// appointments; `clinicians` gives each clinician's name for signatures.
#[allow(clippy::too_many_arguments)]
pub(super) async fn seed(
    store: &Store,
    practice_id: i64,
    rng: &mut Rng,
    episodes: &[Episode],
    visits: &[Visit],
    patient_ids: &[(i64, Option<i64>)],
    visit_ids: &HashMap<(i64, i64), i64>,
    clinicians: &HashMap<i64, String>,
    desk: &str,
    today: Date,
) -> anyhow::Result<()> {
    let system = Actor::system("demo");
    let mut order: Vec<usize> = (0..episodes.len()).collect();
    order.sort_by_key(|&e| (episodes[e].starts_on, e));
    let mut plan_ids = vec![0i64; episodes.len()];
    let mut goal_ids: Vec<Vec<i64>> = vec![Vec::new(); episodes.len()];
    for e in order {
        let ep = &episodes[e];
        let (condition, icd10, region, goals) = CONDITIONS[ep.condition];
        let (patient, payer) = patient_ids[ep.patient];
        let certified_on = add(ep.starts_on, 2).min(today);
        let plan = store
            .create_plan(
                practice_id,
                patient,
                &PlanInput {
                    clinician_id: Some(ep.clinician),
                    condition: condition.into(),
                    icd10: Some(icd10.into()),
                    areas: vec![region],
                    prescribed_visits: ep.prescribed,
                    visits_per_week: ep.per_week,
                    starts_on: ep.starts_on,
                    certified_on: ep.certified.then_some(certified_on),
                    certified_until: ep.certified.then_some(add(ep.starts_on, 60)),
                },
                &system,
            )
            .await?;
        plan_ids[e] = plan;
        // Goals for the plans people look at: open ones and those closed in the last quarter.
        if ep.closed.is_none_or(|(_, d)| d > add(today, -90)) {
            for (text, target) in goals {
                goal_ids[e].push(
                    store
                        .add_goal(
                            practice_id,
                            plan,
                            text,
                            target,
                            Some(add(ep.starts_on, 42)),
                            &system,
                        )
                        .await?,
                );
            }
        }
        // Half the payers authorize the prescribed visits for sixty days; a few authorize fewer,
        // so the count runs low before the plan ends.
        if payer.is_some() && ep.closed.is_none_or(|(_, d)| d > add(today, -90)) && rng.chance(50) {
            let short = if rng.chance(25) { 2 } else { 0 };
            store
                .add_authorization(
                    practice_id,
                    patient,
                    payer,
                    i64::from(ep.prescribed - short),
                    ep.starts_on,
                    add(ep.starts_on, 60),
                    &format!("AUTH-{:05}", 40_000 + e),
                    &system,
                )
                .await?;
        }
        if let Some((at, outcome)) = ep.outreach {
            store
                .import_outreach(
                    practice_id,
                    plan,
                    &PastOutreach {
                        action: if rng.chance(60) { "call" } else { "text" },
                        template: "next_visit",
                        reasons: "no_next_visit_booked,gap_too_long".into(),
                        created_by: desk.into(),
                        created_at: at,
                        outcome,
                    },
                    &system,
                )
                .await?;
        }
        match ep.closed {
            Some((status, day)) => {
                store
                    .close_plan(
                        practice_id,
                        plan,
                        &Discharge {
                            status,
                            closed_on: day,
                            summary: if status == PlanStatus::Dropped {
                                String::new()
                            } else {
                                format!(
                                    "{} of {} visits attended. Goals met; independent with the home program.",
                                    ep.attended, ep.prescribed
                                )
                            },
                            membership_offered: ep.membership.0,
                            membership_taken: ep.membership.1,
                        },
                        &system,
                    )
                    .await?;
            }
            None if !ep.silent && ep.attended * 2 >= ep.prescribed && rng.chance(15) => {
                store
                    .set_feeling_better(practice_id, plan, Some(today), &system)
                    .await?;
            }
            None if !ep.silent && ep.booked_ahead == 0 && rng.chance(25) => {
                store
                    .set_plan_hold(practice_id, plan, true, &system)
                    .await?;
            }
            None => {}
        }
    }
    // The exercise library, and a home program for each open plan (and those closed lately),
    // sent by text a few days after the evaluation. Most patients open it now and then; some never
    // do, which puts them on the drop-off list.
    let mut library = Vec::new();
    for (name, region, instructions, video) in EXERCISES {
        library.push((
            *region,
            store
                .save_exercise(
                    practice_id,
                    None,
                    &ExerciseInput {
                        name: (*name).into(),
                        instructions: (*instructions).into(),
                        video_url: (*video).into(),
                        region: (*region).into(),
                        active: true,
                    },
                    &system,
                )
                .await?,
        ));
    }
    let now = jiff::Timestamp::now().as_millisecond();
    for (e, ep) in episodes.iter().enumerate() {
        if ep.closed.is_some_and(|(_, d)| d <= add(today, -30)) || add(ep.starts_on, 3) > today {
            continue;
        }
        let region = CONDITIONS[ep.condition].2;
        let items: Vec<ItemInput> = library
            .iter()
            .filter(|(r, _)| *r == region)
            .chain(library.iter().filter(|(r, _)| *r != region).take(1))
            .map(|(_, id)| ItemInput {
                exercise_id: *id,
                sets: 3,
                reps: 10 + 2 * (e % 3) as u32,
                times_per_week: 5,
            })
            .collect();
        let Ok((program, _)) = store
            .create_program(
                practice_id,
                patient_ids[ep.patient].0,
                &items,
                DEFAULT_VALID_DAYS,
                &system,
            )
            .await
        else {
            continue;
        };
        let sent = morning(add(ep.starts_on, 3)).min(now);
        let mut opens = Vec::new();
        if !rng.chance(22) {
            let mut at = sent + 3_600_000;
            while at < now {
                opens.push(at);
                at += (2 + rng.below(6) as i64) * DAY;
            }
        }
        store
            .import_program_activity(practice_id, program, Some((Channel::Sms, sent)), &opens)
            .await?;
    }
    // Notes for the last five weeks' attended plan visits: most signed, a few drafts or missing.
    let since = add(today, -35);
    for v in visits.iter().filter(|v| {
        v.slot.day >= since && matches!(v.status, Attendance::Completed | Attendance::CheckedIn)
    }) {
        let Some(e) = v.episode else { continue };
        let Some(&appointment) = visit_ids.get(&(v.slot.clinician, v.slot.start)) else {
            continue;
        };
        let roll = rng.below(100);
        if roll < 3 {
            continue;
        }
        let ep = &episodes[e];
        let (condition, _, region, _) = CONDITIONS[ep.condition];
        let evaluation = v.slot.kind == Kind::Evaluation;
        let exercise = 15 + rng.below(16) as u32;
        let mut lines = vec![stride_core::billing::Line {
            code: "97110".into(),
            minutes: exercise,
        }];
        if evaluation {
            lines.insert(
                0,
                stride_core::billing::Line {
                    code: "97162".into(),
                    minutes: 0,
                },
            );
        } else {
            lines.push(stride_core::billing::Line {
                code: if rng.chance(60) { "97140" } else { "97530" }.into(),
                minutes: 8 + rng.below(8) as u32,
            });
        }
        let progress = (ep.attended * 100 / ep.prescribed.max(1)).min(95);
        let author = Actor {
            label: format!(
                "{} (demo)",
                clinicians
                    .get(&v.slot.clinician)
                    .cloned()
                    .unwrap_or_default()
            ),
            user_id: None,
            token_id: None,
            ip: String::new(),
        };
        store
            .save_note(
                practice_id,
                appointment,
                &NoteInput {
                    soap: Soap {
                        subjective: "Reports steady improvement; pain 3/10 at worst this week.".into(),
                        objective: format!("{condition}: range of motion and strength improving; tolerated all exercises."),
                        assessment: if evaluation {
                            "Good rehab potential. Plan of care established with measurable goals.".into()
                        } else {
                            "Progressing toward goals as expected.".into()
                        },
                        plan: "Continue plan of care; progress home exercises.".into(),
                    },
                    areas: vec![region],
                    goals: if roll < 6 {
                        Vec::new()
                    } else {
                        goal_ids[e]
                            .iter()
                            .map(|&goal| GoalAddressed { goal, progress })
                            .collect()
                    },
                    lines,
                    feeling_better: false,
                },
                &author,
            )
            .await?;
        if roll >= 8 {
            store.sign_note(practice_id, appointment, &author).await?;
        }
    }
    Ok(())
}
