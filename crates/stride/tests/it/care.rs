//! Plans of care: visit X of Y from the schedule, goals, visit notes that lock when signed, the
//! daily drop-off list with outreach, and the completion report. Run on SQLite and PostgreSQL.

use stride_core::deposits::Attendance;
use stride_core::role::Role;
use stride_store::audit::Actor;
use stride_store::scheduling::{ImportedAppointment, NewAppointment};

use crate::booking::open_all_day;
use crate::helpers::*;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// Imports past (or future) visits for a patient: (days from now, outcome).
async fn visits(
    app: &TestApp,
    practice_id: i64,
    (location, clinician): (i64, i64),
    patient_id: i64,
    list: &[(i64, Attendance)],
) -> Vec<i64> {
    let types = app.store.appointment_types(practice_id).await.unwrap();
    let follow_up = types[1].id;
    let coverage = app.store.coverage(practice_id, patient_id).await.unwrap();
    let now = stride_store::now_ms();
    let rows: Vec<ImportedAppointment> = list
        .iter()
        .map(|(days, status)| {
            let start = now + days * DAY;
            let mut a = NewAppointment::new(location, clinician, follow_up, start, "front desk");
            a.patient_id = Some(patient_id);
            a.payer_id = coverage.payer_id;
            a.self_pay = coverage.payer_id.is_none();
            ImportedAppointment {
                appointment: a,
                status: *status,
                created_at: now - 40 * DAY,
                status_at: (*days < 0).then_some(start),
                deposit: None,
            }
        })
        .collect();
    app.store
        .import_appointments(practice_id, &rows, &Actor::system("test"))
        .await
        .unwrap();
    let mut ids: Vec<(i64, i64)> = app
        .store
        .patient_appointments(practice_id, patient_id)
        .await
        .unwrap()
        .into_iter()
        .map(|(a, _)| (a.starts_at, a.id))
        .collect();
    ids.sort();
    ids.into_iter().map(|(_, id)| id).collect()
}

fn day(offset: i64) -> String {
    jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::get("America/Chicago").unwrap())
        .date()
        .checked_add(jiff::Span::new().days(offset))
        .unwrap()
        .to_string()
}

async fn start_plan(b: &Browser, patient_id: i64, fields: &[(&str, &str)]) -> reqwest::Response {
    b.post_form(&format!("/app/patients/{patient_id}/plans"), fields)
        .await
}

#[tokio::test]
async fn a_clinician_runs_a_plan_of_care_and_a_signed_note_is_locked() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let place = open_all_day(&app, practice.id).await;
    let patient =
        patient_with_phone(&app, practice.id, "Rosa", "Quill", "+13125550141", true).await;
    let aetna = app
        .store
        .find_payer(practice.id, "Aetna")
        .await
        .unwrap()
        .unwrap();
    app.store
        .set_coverage(
            practice.id,
            patient.id,
            &stride_store::care::Coverage {
                payer_id: Some(aetna.id),
                plan: "Open Access Managed Choice".into(),
                ..Default::default()
            },
            &Actor::system("test"),
        )
        .await
        .unwrap();
    let clinician = app.user(&practice, Role::Clinician).await;
    let b = app.login(&clinician).await;
    let started = day(-20);

    // A bad ICD-10 code is refused and everything typed comes back.
    let r = start_plan(
        &b,
        patient.id,
        &[
            ("condition", "Patellofemoral pain"),
            ("icd10", "knee hurts"),
            ("areas", "knee"),
            ("areas", "hip"),
            ("visits", "4"),
            ("per_week", "2"),
            ("starts_on", &started),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("does not look like an ICD-10 code"), "{body}");
    assert!(body.contains("value=\"Patellofemoral pain\""));
    assert!(body.contains("value=\"hip\" checked"));

    let r = start_plan(
        &b,
        patient.id,
        &[
            ("condition", "Patellofemoral pain"),
            ("icd10", "m22.2x1"),
            ("areas", "knee"),
            ("visits", "4"),
            ("per_week", "2"),
            ("starts_on", &started),
            ("certified_on", &started),
            ("certified_until", &day(60)),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let plan_path = r.headers()["location"]
        .to_str()
        .unwrap()
        .replace("?done=plan", "");
    assert!(plan_path.starts_with("/app/plans/"), "{plan_path}");

    // A second open plan is refused.
    let r = start_plan(
        &b,
        patient.id,
        &[
            ("condition", "Neck pain"),
            ("areas", "neck"),
            ("visits", "6"),
            ("per_week", "2"),
            ("starts_on", &day(0)),
        ],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("already has an open plan"));

    // X of Y counts attended visits only: two done, one missed, one booked ahead.
    let ids = visits(
        &app,
        practice.id,
        place,
        patient.id,
        &[
            (-15, Attendance::Completed),
            (-12, Attendance::NoShow),
            (-10, Attendance::Completed),
            (2, Attendance::Booked),
        ],
    )
    .await;
    let (status, page) = b.text(&plan_path).await;
    assert_eq!(status, 200);
    assert!(page.contains("Visit 3 of 4"), "{page}");
    assert!(page.contains("2 attended · 1 missed · 1 booked ahead"));
    assert!(page.contains("M22.2X1"));

    let r = b
        .post_form(
            &format!("{plan_path}/goals"),
            &[
                ("text", "Climb stairs without pain"),
                ("target", "2 flights, pain under 2/10"),
                ("due_on", &day(20)),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let plan_id: i64 = plan_path.rsplit('/').next().unwrap().parse().unwrap();
    let goal = app.store.plan_goals(practice.id, plan_id).await.unwrap()[0].id;

    // The third visit's note: the milestone prompt heads it.
    let third = ids[2];
    let note_path = format!("/app/visits/{third}/note");
    let (status, page) = b.text(&note_path).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Visit 2 of 4"),
        "the second attended visit: {page}"
    );
    let upcoming = ids[3];
    let (_, page) = b.text(&format!("/app/visits/{upcoming}/note")).await;
    assert!(page.contains("Visit 3 of 4"));
    assert!(
        page.contains("Progress check"),
        "visit 3 prompts a progress check"
    );

    let goal_s = goal.to_string();
    let progress_field = format!("progress_{goal}");
    let note = [
        ("subjective", "Stairs easier, 3/10 on the way down."),
        ("objective", "Step-down test 12 reps; knee flexion 125°."),
        ("assessment", "Improving toward the stair goal."),
        ("plan", "Progress step-downs; review home program."),
        ("areas", "knee"),
        ("goal", goal_s.as_str()),
        (progress_field.as_str(), "40"),
        ("code_0", "97110"),
        ("minutes_0", "23"),
        ("code_1", "97140"),
        ("minutes_1", "15"),
    ];
    // Minutes that are not a number are refused with everything kept.
    let mut bad = note.to_vec();
    bad.push(("code_2", "97530"));
    bad.push(("minutes_2", "ten"));
    bad.push(("action", "save"));
    let r = b.post_form(&note_path, &bad).await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("should be a whole number"));
    assert!(body.contains("Stairs easier, 3/10 on the way down."));

    let mut save = note.to_vec();
    save.push(("action", "save"));
    let r = b.post_form(&note_path, &save).await;
    assert_eq!(r.status(), 303);
    let (_, page) = b.text(&note_path).await;
    assert!(
        page.contains("Saved: 38 minutes, 3 units billed."),
        "{page}"
    );

    let mut sign = note.to_vec();
    sign.push(("action", "sign"));
    let r = b.post_form(&note_path, &sign).await;
    assert_eq!(r.status(), 303);
    let (_, page) = b.text(&note_path).await;
    assert!(page.contains("Signed by"), "{page}");
    assert!(page.contains("The note is locked"));
    let (_, plan_page) = b.text(&plan_path).await;
    assert!(
        plan_page.contains("aria-valuenow=\"40\""),
        "the goal took the note's progress"
    );
    assert!(plan_page.contains("Signed note"));

    // Editing a signed note is refused; the database refuses it too.
    let mut edit = note.to_vec();
    edit[0] = ("subjective", "Rewritten later");
    edit.push(("action", "save"));
    let r = b.post_form(&note_path, &edit).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("signed and locked"));
    let db = sqlx::query("UPDATE visit_notes SET lines = '[]' WHERE appointment_id = $1")
        .bind(third)
        .execute(app.store.pool())
        .await;
    assert!(
        db.is_err(),
        "the trigger refuses changing a signed note's billing"
    );
    let db = sqlx::query("DELETE FROM visit_notes WHERE appointment_id = $1")
        .bind(third)
        .execute(app.store.pool())
        .await;
    assert!(db.is_err(), "the trigger refuses deleting a signed note");
    let stored = app
        .store
        .visit_note(practice.id, third, &Actor::system("test"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.soap.subjective,
        "Stairs easier, 3/10 on the way down."
    );
    assert!(stored.intact);
    assert_eq!(
        stored
            .lines
            .iter()
            .map(|l| (l.code.as_str(), l.units))
            .collect::<Vec<_>>(),
        [("97110", 2), ("97140", 1)]
    );

    // Changes after signing are addenda.
    let r = b
        .post_form(
            &format!("/app/visits/{third}/addendum"),
            &[("text", "Patient called: mild soreness next day, expected.")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, page) = b.text(&note_path).await;
    assert!(page.contains("mild soreness next day"));
    let db = sqlx::query("DELETE FROM note_addenda")
        .execute(app.store.pool())
        .await;
    assert!(db.is_err(), "addenda are append-only");

    // "I'm fine now": the remaining visit is offered spaced out, at an open time, and booked.
    let r = b.post_form(&format!("{plan_path}/flexible"), &[]).await;
    assert_eq!(r.status(), 303);
    let (_, page) = b.text(&plan_path).await;
    assert!(page.contains("space the visits, don't stop"), "{page}");
    assert!(page.contains("(after the 1 already booked)"));
    let start = extract(&page, "name=\"start\" value=\"").expect("an open time is offered");
    let before = app
        .store
        .patient_appointments(practice.id, patient.id)
        .await
        .unwrap()
        .len();
    let r = b
        .post_form(
            &format!("{plan_path}/flexible/book"),
            &[("start", start.as_str())],
        )
        .await;
    assert_eq!(r.status(), 303);
    let after = app
        .store
        .patient_appointments(practice.id, patient.id)
        .await
        .unwrap();
    assert_eq!(after.len(), before + 1);
    assert!(after.iter().any(|(a, _)| a.starts_at.to_string() == start));

    // The documentation audit: the first visit has no note, the signed one is past the payer's
    // single authorized visit.
    app.store
        .add_authorization(
            practice.id,
            patient.id,
            None,
            1,
            day(-20).parse().unwrap(),
            day(60).parse().unwrap(),
            "AUTH-1",
            &Actor::system("test"),
        )
        .await
        .unwrap();
    let (status, audit) = b.text("/app/care/audit").await;
    assert_eq!(status, 200);
    assert!(
        audit.contains("of 2 visits billed to payers would survive a review"),
        "{audit}"
    );
    assert!(audit.contains("no visit note"));
    assert!(audit.contains("visit 2 exceeds the 1 authorized visit"));
    assert!(!audit.contains("note not signed"));

    // The schedule shows the visit number and the milestone for visit 3.
    let (_, schedule) = b.text(&format!("/app/schedule?date={}", day(2))).await;
    assert!(schedule.contains("visit 3 of 4"), "{schedule}");
    assert!(schedule.contains("Progress check"));

    // Reads of notes and plans are audited, and the text is sealed at rest.
    let audit = app
        .store
        .audit_entries(practice.id, None, 200)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.entity == "visit_note" && e.action == "view")
    );
    assert!(
        audit
            .iter()
            .any(|e| e.entity == "visit_note" && e.action == "sign")
    );
    assert!(
        audit
            .iter()
            .any(|e| e.entity == "care_plan" && e.action == "view")
    );
    let raw: Vec<u8> = sqlx::Row::get(
        &sqlx::query("SELECT body_enc FROM visit_notes WHERE appointment_id = $1")
            .bind(third)
            .fetch_one(app.store.pool())
            .await
            .unwrap(),
        "body_enc",
    );
    assert!(!String::from_utf8_lossy(&raw).contains("Stairs"));

    // The FHIR export: a Bundle whose references resolve, checked by an independent validator
    // when scripts/test installed one.
    let owner = Api::new(&app, &app.token(&practice, Role::Owner).await);
    let (status, fhir) = owner
        .get(&format!("/api/v1/patients/{}/fhir", patient.id))
        .await;
    assert_eq!(status, 200, "{fhir}");
    assert_eq!(fhir["resourceType"], "Bundle");
    let resources: Vec<&serde_json::Value> = fhir["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .collect();
    let count = |t: &str| resources.iter().filter(|r| r["resourceType"] == t).count();
    assert_eq!(count("Patient"), 1);
    assert_eq!(
        count("Appointment"),
        5,
        "four imported, one booked at the flexible cadence"
    );
    assert_eq!(count("Encounter"), 2, "one per attended visit");
    assert_eq!(count("EpisodeOfCare"), 1);
    assert_eq!(count("CarePlan"), 1);
    assert_eq!(count("Goal"), 1);
    assert_eq!(count("Procedure"), 2, "97110 and 97140 of the signed note");
    let text = fhir.to_string();
    assert!(text.contains("\"M22.2X1\""));
    assert!(
        text.contains("\"Open Access Managed Choice\""),
        "the plan on the card"
    );
    assert!(text.contains("Quill"));
    if let Ok(python) = std::env::var("STRIDE_FHIR_PYTHON") {
        let file = std::env::temp_dir().join(format!("stride-fhir-{}.json", std::process::id()));
        std::fs::write(&file, serde_json::to_vec_pretty(&fhir).unwrap()).unwrap();
        let out = std::process::Command::new(python)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../tests/fhir/validate.py"
            ))
            .arg(&file)
            .arg("--valuesets")
            .arg(std::env::var("STRIDE_FHIR_DEFINITIONS").expect("the R4 definitions"))
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&file);
        assert!(
            out.status.success(),
            "the FHIR validator refused the export: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let audit = app
        .store
        .audit_entries(practice.id, None, 20)
        .await
        .unwrap();
    assert!(audit.iter().any(|e| e.action == "export_fhir"));
    for role in [Role::FrontDesk, Role::Marketer] {
        let api = Api::new(&app, &app.token(&practice, role).await);
        let (status, _) = api
            .get(&format!("/api/v1/patients/{}/fhir", patient.id))
            .await;
        assert_eq!(status, 403, "{}", role.label());
    }

    // The front desk sees visit counts but no clinical content; marketers see nothing.
    let desk = app.login(&app.user(&practice, Role::FrontDesk).await).await;
    assert_eq!(desk.get(&plan_path).await.status(), 403);
    assert_eq!(desk.get(&note_path).await.status(), 403);
    let (_, patient_page) = desk.text(&format!("/app/patients/{}", patient.id)).await;
    assert!(patient_page.contains("Visit 3 of 4"));
    assert!(!patient_page.contains("Patellofemoral"));
    let marketer = app.login(&app.user(&practice, Role::Marketer).await).await;
    assert_eq!(desk.get("/app/care/audit").await.status(), 403);
    for path in [
        plan_path.as_str(),
        note_path.as_str(),
        "/app/care",
        "/app/care/completion",
        "/app/care/audit",
    ] {
        assert_eq!(marketer.get(path).await.status(), 403, "{path}");
    }
}

#[tokio::test]
async fn the_risk_list_drives_outreach_and_the_completion_report_counts_what_was_lost() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let place = open_all_day(&app, practice.id).await;
    let owner = app.login(&app.user(&practice, Role::Owner).await).await;
    let fields = |visits: &'static str, starts: String| {
        vec![
            ("condition", "Low back pain".to_string()),
            ("areas", "lower_back".to_string()),
            ("visits", visits.to_string()),
            ("per_week", "2".to_string()),
            ("starts_on", starts.clone()),
            ("certified_on", starts),
            ("certified_until", day(60)),
        ]
    };
    let post = |path: String, f: Vec<(&'static str, String)>| {
        let owner = &owner;
        async move {
            let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
            owner.post_form(&path, &pairs).await
        }
    };

    let self_pay = stride_store::care::Coverage {
        self_pay: true,
        ..Default::default()
    };
    // Drifting: two visits done, the last one missed 18 days ago, nothing booked.
    let drifting =
        patient_with_phone(&app, practice.id, "Omar", "Vale", "+13125550142", true).await;
    app.store
        .set_coverage(practice.id, drifting.id, &self_pay, &Actor::system("test"))
        .await
        .unwrap();
    let r = post(
        format!("/app/patients/{}/plans", drifting.id),
        fields("8", day(-30)),
    )
    .await;
    assert_eq!(r.status(), 303);
    visits(
        &app,
        practice.id,
        place,
        drifting.id,
        &[
            (-25, Attendance::Completed),
            (-22, Attendance::Completed),
            (-18, Attendance::NoShow),
        ],
    )
    .await;
    // On track: attended three days ago, next visit booked.
    let steady = patient_with_phone(&app, practice.id, "Ines", "Marr", "+13125550143", true).await;
    post(
        format!("/app/patients/{}/plans", steady.id),
        fields("8", day(-10)),
    )
    .await;
    visits(
        &app,
        practice.id,
        place,
        steady.id,
        &[(-3, Attendance::Completed), (1, Attendance::Booked)],
    )
    .await;
    // Finished: four of four attended, then discharged.
    let done = patient_with_phone(&app, practice.id, "Lena", "Ortiz", "+13125550144", true).await;
    app.store
        .set_coverage(practice.id, done.id, &self_pay, &Actor::system("test"))
        .await
        .unwrap();
    let r = post(
        format!("/app/patients/{}/plans", done.id),
        fields("4", day(-40)),
    )
    .await;
    let done_plan = r.headers()["location"]
        .to_str()
        .unwrap()
        .replace("?done=plan", "");
    visits(
        &app,
        practice.id,
        place,
        done.id,
        &[
            (-38, Attendance::Completed),
            (-35, Attendance::Completed),
            (-31, Attendance::Completed),
            (-28, Attendance::Completed),
        ],
    )
    .await;
    let r = post(
        format!("{done_plan}/close"),
        vec![
            ("status", "discharged".into()),
            ("closed_on", day(-27)),
            ("summary", String::new()),
        ],
    )
    .await;
    assert_eq!(r.status(), 422, "a discharge needs a summary");
    let r = post(
        format!("{done_plan}/close"),
        vec![
            ("status", "discharged".into()),
            ("closed_on", day(-27)),
            (
                "summary",
                "Goals met: sits through work without pain.".into(),
            ),
            ("membership_offered", "on".into()),
            ("membership_taken", "on".into()),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let (_, page) = owner.text(&done_plan).await;
    assert!(page.contains("Maintenance membership offered and taken"));
    assert!(page.contains("4 of 4 done"));

    // The daily list: only the drifting patient, with every reason in words.
    let (status, list) = owner.text("/app/care").await;
    assert_eq!(status, 200);
    assert!(list.contains("Omar Vale"), "{list}");
    assert!(!list.contains("Ines Marr"));
    assert!(list.contains("No next visit booked"));
    assert!(list.contains("Last visit missed"));
    assert!(list.contains("22 days since the last visit (plan: every 3–4 days)"));
    assert!(
        list.contains("<option value=\"missed\" selected"),
        "the template fits the reason"
    );

    // A text from the template goes to the patient, with no clinical detail.
    let plans = app
        .store
        .patient_plans(practice.id, drifting.id)
        .await
        .unwrap();
    let plan_id = plans[0].id.to_string();
    let r = owner
        .post_form(
            "/app/care/outreach",
            &[
                ("plan", plan_id.as_str()),
                ("action", "text"),
                ("template", "missed"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let sent = app
        .store
        .messages(practice.id, 10, &Actor::system("test"))
        .await
        .unwrap();
    let text = sent
        .iter()
        .find(|m| m.purpose == "outreach")
        .expect("queued");
    assert_eq!(text.to, "+13125550142");
    assert!(
        text.body.starts_with("Hi Omar, we missed you at"),
        "{}",
        text.body
    );
    assert!(text.body.contains("6 visits left"));
    assert!(text.body.contains("/p/alpha/book"));
    assert!(!text.body.contains("back"), "no condition in a text");
    // A task needs a due day.
    let r = owner
        .post_form(
            "/app/care/outreach",
            &[
                ("plan", plan_id.as_str()),
                ("action", "task"),
                ("template", "missed"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    // With one, the list shows it until the outcome is recorded.
    let due = day(3);
    let r = owner
        .post_form(
            "/app/care/outreach",
            &[
                ("plan", plan_id.as_str()),
                ("action", "task"),
                ("template", "missed"),
                ("due_on", due.as_str()),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, list) = owner.text("/app/care").await;
    assert!(
        list.contains(&format!("Task for later, due {due}")),
        "{list}"
    );

    // The outcome "dropped" closes the plan; the report counts the visits lost.
    let outreach = app
        .store
        .plan_outreach(practice.id, plans[0].id)
        .await
        .unwrap();
    let r = owner
        .post_form(
            &format!("/app/care/outreach/{}", outreach[0].id),
            &[("outcome", "dropped")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, list) = owner.text("/app/care").await;
    assert!(!list.contains("Omar Vale"));

    let price = app.store.appointment_types(practice.id).await.unwrap()[1].cash_price_cents;
    let api = Api::new(&app, &app.token(&practice, Role::Owner).await);
    let (status, r) = api.get("/api/v1/care/completion").await;
    assert_eq!(status, 200, "{r}");
    let total = &r["data"]["report"]["practice"];
    assert_eq!(total["completion"]["closed"], 2);
    assert_eq!(total["completion"]["completed"], 1);
    assert_eq!(total["completion"]["completion_rate"], 50.0);
    assert_eq!(total["visits_lost"], 6);
    assert_eq!(total["revenue_lost_cents"], 6 * price);
    assert_eq!(r["data"]["report"]["by_payer"][0]["label"], "Self-pay");
    assert!(r["data"]["report"]["outreach_started"].is_string());
    let (status, page) = owner.text("/app/care/completion").await;
    assert_eq!(status, 200);
    assert!(page.contains("50%"));
    assert!(page.contains("below target"));
    assert!(page.contains("Outreach starts"));
}

#[tokio::test]
async fn a_home_program_goes_out_as_a_private_link_and_an_unopened_one_is_a_risk() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let place = open_all_day(&app, practice.id).await;
    let clinician = app.login(&app.user(&practice, Role::Clinician).await).await;

    // The library refuses a video link that is not https, keeping what was typed.
    let r = clinician
        .post_form(
            "/app/care/exercises",
            &[
                ("name", "Bridges"),
                ("instructions", "Lift your hips, hold 3 seconds."),
                ("video_url", "javascript:alert(1)"),
                ("region", "lower_back"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("must be a web address starting with https://"));
    assert!(body.contains("Lift your hips, hold 3 seconds."));
    for (name, video) in [
        ("Bridges", "https://videos.example/bridges"),
        ("Clamshells", ""),
    ] {
        let r = clinician
            .post_form(
                "/app/care/exercises",
                &[("name", name), ("video_url", video), ("region", "hip")],
            )
            .await;
        assert_eq!(r.status(), 303, "{name}");
    }
    let r = clinician
        .post_form("/app/care/exercises", &[("name", "Bridges")])
        .await;
    assert_eq!(r.status(), 422, "names are unique");
    let library = app.store.exercises(practice.id).await.unwrap();

    let patient =
        patient_with_phone(&app, practice.id, "Tess", "Harlow", "+13125550145", true).await;
    let r = start_plan(
        &clinician,
        patient.id,
        &[
            ("condition", "Hip osteoarthritis"),
            ("areas", "hip"),
            ("visits", "8"),
            ("per_week", "2"),
            ("starts_on", &day(-12)),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    visits(
        &app,
        practice.id,
        place,
        patient.id,
        &[
            (-12, Attendance::Completed),
            (-2, Attendance::Completed),
            (2, Attendance::Booked),
        ],
    )
    .await;
    let (b, c) = (library[0].id.to_string(), library[1].id.to_string());
    let r = clinician
        .post_form(
            &format!("/app/patients/{}/hep", patient.id),
            &[
                ("exercise_0", b.as_str()),
                ("sets_0", "3"),
                ("reps_0", "12"),
                ("per_week_0", "5"),
                ("exercise_1", c.as_str()),
                ("sets_1", "2"),
                ("reps_1", "15"),
                ("per_week_1", "3"),
                ("valid_days", "30"),
                ("send", "sms"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let sent = app
        .store
        .messages(practice.id, 10, &Actor::system("test"))
        .await
        .unwrap();
    let text = sent
        .iter()
        .find(|m| m.purpose == "home exercise program")
        .expect("the link was texted");
    assert_eq!(text.to, "+13125550145");
    let link = text
        .body
        .split_whitespace()
        .find(|w| w.contains("/p/alpha/hep/"))
        .unwrap();
    let path = &link[link.find("/p/").unwrap()..];
    assert!(!text.body.contains("Hip"), "no condition in a text");

    // Sent today and not opened: no risk yet. Sent nine days ago and never opened: a risk.
    let now = stride_store::now_ms();
    let (_, list) = clinician.text("/app/care").await;
    assert!(!list.contains("Tess Harlow"), "{list}");
    sqlx::query("UPDATE hep_programs SET sent_at = $1")
        .bind(now - 9 * DAY)
        .execute(app.store.pool())
        .await
        .unwrap();
    let (_, list) = clinician.text("/app/care").await;
    assert!(list.contains("Tess Harlow"));
    assert!(list.contains("Home exercises not opened for 9 days"));

    // The patient opens the link without signing in; the page is private and the open counts.
    let anyone = reqwest::Client::new();
    let r = anyone.get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["referrer-policy"], "no-referrer");
    assert_eq!(r.headers()["cache-control"], "no-store");
    let page = r.text().await.unwrap();
    assert!(page.contains("Bridges"));
    assert!(page.contains("3 sets of 12, 5 times a week"));
    assert!(page.contains("https://videos.example/bridges"));
    assert!(!page.contains("Tess"), "the page names no patient");
    let (_, list) = clinician.text("/app/care").await;
    assert!(!list.contains("Tess Harlow"), "opened: no longer at risk");
    let (_, patient_page) = clinician
        .text(&format!("/app/patients/{}", patient.id))
        .await;
    assert!(
        patient_page.contains("<td>once, last "),
        "one opening recorded"
    );

    // A wrong secret is not found; an expired link says so.
    let r = anyone
        .get(app.url("/p/alpha/hep/not-a-real-secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    sqlx::query("UPDATE hep_programs SET expires_at = $1")
        .bind(now - DAY)
        .execute(app.store.pool())
        .await
        .unwrap();
    let r = anyone.get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 410);
    assert!(r.text().await.unwrap().contains("This link has expired"));

    // Marketers and the front desk cannot reach the library.
    for role in [Role::Marketer, Role::FrontDesk] {
        let b = app.login(&app.user(&practice, role).await).await;
        assert_eq!(b.get("/app/care/exercises").await.status(), 403);
    }
}

#[tokio::test]
async fn duplicate_patients_are_found_and_merged_with_their_history() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let place = open_all_day(&app, practice.id).await;
    let actor = Actor::system("test");
    let desk = app.login(&app.user(&practice, Role::FrontDesk).await).await;
    let clinician = app.login(&app.user(&practice, Role::Clinician).await).await;
    // The same person twice: once by phone at the front desk, once by email from a web form.
    let keep = patient_with_phone(&app, practice.id, "Nora", "Pike", "+13125550146", true).await;
    let dup = app
        .store
        .create_patient(
            practice.id,
            &stride_store::patients::PatientInput {
                first_name: "nora".into(),
                last_name: "PIKE".into(),
                phone: None,
                email: Some(stride_core::email::EmailAddress::parse("nora@example.com").unwrap()),
                birth_date: None,
                address: None,
                member_id: None,
                sms_consent: false,
                email_consent: true,
            },
            &actor,
        )
        .await
        .unwrap();
    let other = patient_with_phone(&app, practice.id, "Noel", "Pike", "+13125550147", true).await;
    visits(
        &app,
        practice.id,
        place,
        dup.id,
        &[(-5, Attendance::Completed)],
    )
    .await;

    let (_, page) = desk.text(&format!("/app/patients/{}", keep.id)).await;
    assert!(page.contains("Possible duplicates"));
    assert!(
        page.contains(&format!("/app/patients/{}\">nora PIKE", dup.id)),
        "{page}"
    );
    assert!(
        !page.contains("Noel"),
        "a different first name is not a duplicate"
    );

    // Overlapping open plans of care are refused until one is closed.
    for p in [keep.id, dup.id] {
        let r = start_plan(
            &clinician,
            p,
            &[
                ("condition", "Neck pain"),
                ("areas", "neck"),
                ("visits", "6"),
                ("per_week", "2"),
                ("starts_on", &day(-7)),
            ],
        )
        .await;
        assert_eq!(r.status(), 303);
    }
    let dup_s = dup.id.to_string();
    let r = desk
        .post_form(
            &format!("/app/patients/{}/merge", keep.id),
            &[("duplicate", dup_s.as_str())],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("close or discharge one before merging")
    );
    let dup_plan = app.store.patient_plans(practice.id, dup.id).await.unwrap()[0].id;
    sqlx::query("DELETE FROM care_plans WHERE id = $1")
        .bind(dup_plan)
        .execute(app.store.pool())
        .await
        .unwrap();

    let r = desk
        .post_form(
            &format!("/app/patients/{}/merge", keep.id),
            &[("duplicate", dup_s.as_str())],
        )
        .await;
    assert_eq!(r.status(), 303);
    let merged = app
        .store
        .patient(practice.id, keep.id, &actor)
        .await
        .unwrap();
    assert_eq!(
        merged.email.as_deref(),
        Some("nora@example.com"),
        "the missing email came over"
    );
    assert!(merged.email_consent);
    assert_eq!(
        merged.phone.as_deref(),
        Some("+13125550146"),
        "its own phone is kept"
    );
    let moved = app
        .store
        .patient_appointments(practice.id, keep.id)
        .await
        .unwrap();
    assert_eq!(moved.len(), 1, "the duplicate's visit moved");
    // The duplicate is out of every search, and its page points to the kept record.
    let found = app
        .store
        .patients(
            practice.id,
            &stride_store::patients::PatientQuery::Email(
                stride_core::email::EmailAddress::parse("nora@example.com").unwrap(),
            ),
            10,
            &actor,
        )
        .await
        .unwrap();
    assert_eq!(found.iter().map(|p| p.id).collect::<Vec<_>>(), [keep.id]);
    let (_, page) = desk.text(&format!("/app/patients/{}", dup.id)).await;
    assert!(page.contains(&format!(
        "merged into <a href=\"/app/patients/{}\">",
        keep.id
    )));
    let (_, page) = desk.text(&format!("/app/patients/{}", keep.id)).await;
    assert!(!page.contains("Possible duplicates"));
    // Merging again, or into itself, is refused.
    let r = desk
        .post_form(
            &format!("/app/patients/{}/merge", other.id),
            &[("duplicate", dup_s.as_str())],
        )
        .await;
    assert_eq!(r.status(), 409);
    let keep_s = keep.id.to_string();
    let r = desk
        .post_form(
            &format!("/app/patients/{}/merge", keep.id),
            &[("duplicate", keep_s.as_str())],
        )
        .await;
    assert_eq!(r.status(), 422);
    let audit = app
        .store
        .audit_entries(practice.id, None, 50)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "merge" && e.entity_id == Some(keep.id))
    );
}
