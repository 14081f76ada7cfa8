//! Online booking as a patient does it (the public page and the manage link), the deposit ledger
//! through every outcome, its consistency report, and the payer directory with its aliases.

use stride_core::deposits::{Attendance, DepositStatus};
use stride_core::payers::Credentialing;
use stride_store::StoreError;
use stride_store::audit::Actor;
use stride_store::deposits::BookingSettings;
use stride_store::payers::PayerUpdate;
use stride_store::scheduling::NewAppointment;

use crate::helpers::*;

const HOUR: i64 = 3_600_000;

/// A clinician who works every hour of every day, so the tests do not depend on the clock.
pub(crate) async fn open_all_day(app: &TestApp, practice_id: i64) -> (i64, i64) {
    let (location, clinician) =
        crate::scheduling::clinician_with_hours(app, practice_id, "Mon-Sun 00:00-23:55").await;
    (location.id, clinician.id)
}

pub(crate) async fn deposits_on(app: &TestApp, practice_id: i64) {
    app.store
        .set_booking_settings(
            practice_id,
            &BookingSettings {
                deposit_enabled: true,
                ..BookingSettings::default()
            },
            &Actor::system("test"),
        )
        .await
        .unwrap();
}

/// The first open time at least `after` from now: (clinician, start).
pub(crate) async fn open_time(
    app: &TestApp,
    practice_id: i64,
    type_id: i64,
    location: i64,
    after: i64,
) -> (i64, i64) {
    let now = stride_store::now_ms();
    app.store
        .online_slots(practice_id, type_id, location, None, now)
        .await
        .unwrap()
        .into_iter()
        .find(|(_, s)| s.start >= now + after)
        .map(|(c, s)| (c, s.start))
        .expect("an open time")
}

#[tokio::test]
async fn a_patient_books_online_sees_network_and_deposit_then_manages_the_visit() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let actor = Actor::system("test");
    let (location, _) = open_all_day(&app, practice.id).await;
    deposits_on(&app, practice.id).await;
    let bcbs = app
        .store
        .find_payer(practice.id, "BCBS")
        .await
        .unwrap()
        .expect("the directory knows BCBS");
    app.store
        .update_payer(
            practice.id,
            bcbs.id,
            &PayerUpdate {
                status: Some(Credentialing::InNetwork),
                avg_reimbursement_cents: Some(9_800),
                ..PayerUpdate::default()
            },
            &actor,
        )
        .await
        .unwrap();
    let eval = app.store.appointment_types(practice.id).await.unwrap()[0].clone();
    let patient = Browser::new(&app);

    // Step 1 and 2: the visit, then the open times of one day.
    let (status, page) = patient.text("/p/alpha/book").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("New-patient evaluation") && page.contains("self-pay $150"),
        "{page}"
    );
    let (status, page) = patient
        .text(&format!("/p/alpha/book?type={}", eval.id))
        .await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Soonest:") && page.contains("class=\"slot\""),
        "{page}"
    );
    // The form's "Anyone" choice sends an empty clinician.
    let (status, _) = patient
        .text(&format!(
            "/p/alpha/book?type={}&location={location}&clinician=",
            eval.id
        ))
        .await;
    assert_eq!(status, 200, "an empty clinician means anyone");
    let (with, start) = open_time(&app, practice.id, eval.id, location, 30 * HOUR).await;
    let step3 = format!(
        "/p/alpha/book?type={}&location={location}&start={start}&with={with}",
        eval.id
    );
    let (status, page) = patient.text(&step3).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Blue Cross Blue Shield — in network"),
        "each plan says whether it is in network"
    );
    assert!(
        page.contains("$25 deposit") && page.contains("refunded in full"),
        "the deposit is disclosed before confirming"
    );

    let form = |policy: bool| {
        let mut f = vec![
            ("type", eval.id.to_string()),
            ("location", location.to_string()),
            ("start", start.to_string()),
            ("with", with.to_string()),
            ("first_name", "Rosalind".into()),
            ("last_name", "Quimby".into()),
            ("phone", "(312) 555-0188".into()),
            ("email", "ros@example.com".into()),
            ("payer", "other".into()),
            ("payer_other", "Blue Cross PPO".into()),
            ("sms_consent", "on".into()),
        ];
        if policy {
            f.push(("policy_ok", "on".into()));
        }
        f
    };
    let fields = form(false);
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let resp = patient.post_public("/p/alpha/book", &refs).await;
    assert_eq!(resp.status(), 422, "the deposit policy must be accepted");
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("tick the box") && page.contains("value=\"Rosalind\""),
        "nothing typed is lost"
    );

    let fields = form(true);
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let resp = patient.post_public("/p/alpha/book", &refs).await;
    assert_eq!(resp.status(), 303);
    let manage = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(
        manage.starts_with("/p/alpha/manage/") && manage.ends_with("?booked=1"),
        "{manage}"
    );
    assert!(
        !manage.contains("Rosalind") && !manage.contains("555"),
        "no patient data in the address"
    );

    // The booking made a lead (online booking, evaluation booked), a patient, and a deposit request.
    let token = manage
        .trim_start_matches("/p/alpha/manage/")
        .trim_end_matches("?booked=1");
    let (_, appt) = app.store.appointment_by_token(token).await.unwrap();
    assert_eq!(
        appt.payer_id,
        Some(bcbs.id),
        "“Blue Cross PPO” is Blue Cross Blue Shield"
    );
    assert_eq!(appt.source, "online");
    let lead = app
        .store
        .lead(practice.id, appt.lead_id.unwrap(), &actor)
        .await
        .unwrap();
    assert_eq!(lead.row.origin, stride_core::leads::Origin::Booking);
    assert_eq!(lead.row.stage, stride_core::leads::Stage::EvaluationBooked);
    assert_eq!(lead.patient_id, appt.patient_id);
    let desk = app
        .login(
            &app.user(&practice, stride_core::role::Role::FrontDesk)
                .await,
        )
        .await;
    let (_, page) = desk
        .text(&format!("/app/patients/{}", appt.patient_id.unwrap()))
        .await;
    assert!(
        page.contains(&format!("/app/leads/{}", lead.row.id)),
        "the patient's page links the lead they came from"
    );
    let p = app
        .store
        .patient(practice.id, appt.patient_id.unwrap(), &actor)
        .await
        .unwrap();
    assert_eq!((p.first_name.as_str(), p.sms_consent), ("Rosalind", true));
    let (deposit, events) = app
        .store
        .deposit_for(practice.id, appt.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (deposit.status, deposit.amount_cents),
        (DepositStatus::Pending, 2_500)
    );
    assert_eq!(events[0].actor, "online booking page");

    // The manage page: what, when, the coverage and the deposit; never cached or passed on.
    let resp = patient.get(&manage).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["referrer-policy"], "no-referrer");
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("You are booked") && page.contains("We are in network with this plan."),
        "{page}"
    );
    assert!(page.contains("Deposit $25:</strong> Pending"), "{page}");
    let base = manage.trim_end_matches("?booked=1").to_string();
    let resp = patient.post_public(&base, &[("action", "confirm")]).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        app.store
            .appointment(practice.id, appt.id)
            .await
            .unwrap()
            .status,
        "confirmed"
    );

    // The front desk collects the deposit; the patient cancels in time: refunded.
    app.store
        .move_deposit(
            practice.id,
            deposit.id,
            DepositStatus::Collected,
            "card_terminal",
            "",
            None,
            None,
            &actor,
        )
        .await
        .unwrap();
    let resp = patient.post_public(&base, &[("action", "cancel")]).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        app.store
            .appointment(practice.id, appt.id)
            .await
            .unwrap()
            .status,
        "cancelled"
    );
    let (deposit, events) = app
        .store
        .deposit_for(practice.id, appt.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(deposit.status, DepositStatus::Refunded);
    assert_eq!(
        events.iter().map(|e| e.to).collect::<Vec<_>>(),
        [
            DepositStatus::Pending,
            DepositStatus::Collected,
            DepositStatus::Refunded
        ]
    );
    assert_eq!(events[2].actor, "patient (manage link)");

    // The same person books again: the same patient and lead, no duplicates; the time is free again.
    let fields = form(true);
    let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let resp = patient.post_public("/p/alpha/book", &refs).await;
    assert_eq!(resp.status(), 303, "the cancelled time is open again");
    let again = resp.headers()["location"].to_str().unwrap().to_string();
    let token = again
        .trim_start_matches("/p/alpha/manage/")
        .trim_end_matches("?booked=1");
    let (_, second) = app.store.appointment_by_token(token).await.unwrap();
    assert_eq!(second.patient_id, appt.patient_id);
    assert_eq!(second.lead_id, appt.lead_id);
    // A third try at the same time loses: the page offers other times and keeps the details.
    let resp = patient.post_public("/p/alpha/book", &refs).await;
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("that time was just taken") && page.contains("class=\"slot\""),
        "{page}"
    );
    // A wrong secret opens nothing.
    assert_eq!(
        patient
            .get("/p/alpha/manage/not-a-real-secret-at-all-000")
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn a_patient_moves_a_visit_online_and_a_late_cancel_forfeits_the_deposit() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let actor = Actor::system("test");
    let (location, clinician) = open_all_day(&app, practice.id).await;
    deposits_on(&app, practice.id).await;
    let eval = app.store.appointment_types(practice.id).await.unwrap()[0].clone();
    let (_, start) = open_time(&app, practice.id, eval.id, location, 48 * HOUR).await;
    let booked = app
        .store
        .book_appointment(
            practice.id,
            &NewAppointment::new(location, clinician, eval.id, start, "online"),
            &actor,
        )
        .await
        .unwrap();
    let token = booked.manage_token.clone().unwrap();
    let patient = Browser::new(&app);
    let (status, page) = patient.text(&format!("/p/alpha/manage/{token}")).await;
    assert_eq!(status, 200);
    let to = extract(&page, "name=\"to\" value=\"").expect("other times are offered");
    let resp = patient
        .post_public(
            &format!("/p/alpha/manage/{token}"),
            &[("action", "move"), ("to", &to)],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let moved = app.store.appointment(practice.id, booked.id).await.unwrap();
    let (new_start, _) = to.split_once(':').unwrap();
    assert_eq!(moved.starts_at, new_start.parse::<i64>().unwrap());
    // The old time is free again.
    app.store
        .book_appointment(
            practice.id,
            &NewAppointment::new(location, clinician, eval.id, start, "front desk"),
            &actor,
        )
        .await
        .expect("the old time was released");

    // A visit three hours away, paid: cancelling online now is late and forfeits the deposit.
    let (_, soon) = open_time(&app, practice.id, eval.id, location, 3 * HOUR).await;
    let late = app
        .store
        .book_appointment(
            practice.id,
            &NewAppointment::new(location, clinician, eval.id, soon, "online"),
            &actor,
        )
        .await
        .unwrap();
    let (d, _) = app
        .store
        .deposit_for(practice.id, late.id)
        .await
        .unwrap()
        .unwrap();
    app.store
        .move_deposit(
            practice.id,
            d.id,
            DepositStatus::Collected,
            "cash",
            "",
            None,
            None,
            &actor,
        )
        .await
        .unwrap();
    let url = format!("/p/alpha/manage/{}", late.manage_token.unwrap());
    let (_, page) = patient.text(&url).await;
    assert!(
        page.contains("cancelling now forfeits your deposit"),
        "{page}"
    );
    assert!(
        page.contains("too close to the visit to move it online"),
        "{page}"
    );
    patient.post_public(&url, &[("action", "cancel")]).await;
    assert_eq!(
        app.store
            .appointment(practice.id, late.id)
            .await
            .unwrap()
            .status,
        "late_cancel"
    );
    let (d, _) = app
        .store
        .deposit_for(practice.id, late.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status, DepositStatus::Forfeited);
}

#[tokio::test]
async fn the_deposit_ledger_follows_every_outcome_and_the_consistency_report_names_waivers() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let system = Actor::system("test");
    let dana = Actor {
        label: "Dana Reyes <dana@example.com>".into(),
        user_id: None,
        token_id: None,
        ip: String::new(),
    };
    let (location, clinician) = open_all_day(&app, practice.id).await;
    let types = app.store.appointment_types(practice.id).await.unwrap();
    let (eval, maintenance) = (&types[0], &types[2]);
    assert!(eval.deposit_applies && !maintenance.deposit_applies);
    let now = stride_store::now_ms();
    let slots: Vec<i64> = app
        .store
        .open_slots(practice.id, eval.id, location, None, now, 30)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, s)| s.start)
        .filter(|s| s % (3 * HOUR) == 0)
        .take(7)
        .collect();
    let book = |start: i64, type_id: i64| {
        let store = app.store.clone();
        let system = system.clone();
        async move {
            store
                .book_appointment(
                    practice.id,
                    &NewAppointment::new(location, clinician, type_id, start, "front desk"),
                    &system,
                )
                .await
                .unwrap()
        }
    };
    // Before the policy: no deposit, and nothing counts against the report.
    let before = book(slots[0], eval.id).await;
    assert!(
        app.store
            .deposit_for(practice.id, before.id)
            .await
            .unwrap()
            .is_none()
    );
    deposits_on(&app, practice.id).await;
    let (a, b, c, d) = (
        book(slots[1], eval.id).await,
        book(slots[2], eval.id).await,
        book(slots[3], eval.id).await,
        book(slots[4], eval.id).await,
    );
    let not_needed = book(slots[5], maintenance.id).await;
    assert!(
        app.store
            .deposit_for(practice.id, not_needed.id)
            .await
            .unwrap()
            .is_none()
    );
    let dep = |id: i64| {
        let store = app.store.clone();
        async move { store.deposit_for(practice.id, id).await.unwrap().unwrap().0 }
    };
    let collect = |id: i64| {
        let store = app.store.clone();
        let dana = dana.clone();
        async move {
            store
                .move_deposit(
                    practice.id,
                    id,
                    DepositStatus::Collected,
                    "card_terminal",
                    "",
                    None,
                    None,
                    &dana,
                )
                .await
                .unwrap()
        }
    };
    // a: paid, attended → applied. b: paid, no-show → forfeited. c: never paid, no-show → voided.
    // Paid online: the payment's notification, delivered twice, moves the ledger once.
    let a_dep = dep(a.id).await.id;
    for (attempt, moved) in [(1, true), (2, false)] {
        let r = app
            .store
            .move_deposit(
                practice.id,
                a_dep,
                DepositStatus::Collected,
                "stripe",
                "",
                Some("evt_1"),
                None,
                &system,
            )
            .await
            .unwrap();
        assert_eq!(r, moved, "delivery {attempt}");
    }
    app.store
        .set_attendance(practice.id, a.id, Attendance::CheckedIn, None, &dana)
        .await
        .unwrap();
    app.store
        .set_attendance(practice.id, a.id, Attendance::Completed, None, &dana)
        .await
        .unwrap();
    assert_eq!(dep(a.id).await.status, DepositStatus::Applied);
    collect(dep(b.id).await.id).await;
    app.store
        .set_attendance(practice.id, b.id, Attendance::NoShow, None, &dana)
        .await
        .unwrap();
    assert_eq!(dep(b.id).await.status, DepositStatus::Forfeited);
    app.store
        .set_attendance(practice.id, c.id, Attendance::NoShow, None, &dana)
        .await
        .unwrap();
    assert_eq!(dep(c.id).await.status, DepositStatus::Voided);
    // Steps the ledger does not allow are refused, and so is a repeat of an outcome.
    let refused = app
        .store
        .move_deposit(
            practice.id,
            dep(a.id).await.id,
            DepositStatus::Refunded,
            "",
            "",
            None,
            None,
            &dana,
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    assert!(matches!(
        app.store
            .set_attendance(practice.id, b.id, Attendance::Completed, None, &dana)
            .await,
        Err(StoreError::Conflict(_))
    ));
    // d: waived, which needs a reason, kept with the name of who waived it.
    let no_reason = app
        .store
        .move_deposit(
            practice.id,
            dep(d.id).await.id,
            DepositStatus::Waived,
            "",
            " ",
            None,
            None,
            &dana,
        )
        .await;
    assert!(matches!(no_reason, Err(StoreError::Invalid(_))));
    app.store
        .move_deposit(
            practice.id,
            dep(d.id).await.id,
            DepositStatus::Waived,
            "",
            "hardship, approved by owner",
            None,
            None,
            &dana,
        )
        .await
        .unwrap();
    let report = app
        .store
        .deposit_consistency(practice.id, stride_store::now_ms())
        .await
        .unwrap();
    assert_eq!(
        (report.qualifying, report.requested),
        (4, 4),
        "every qualifying booking, and only those"
    );
    assert!(report.missing.is_empty());
    assert_eq!(report.waived.len(), 1);
    assert_eq!(report.waived[0].appointment_id, d.id);
    assert_eq!(report.waived[0].waived_by, "Dana Reyes <dana@example.com>");
    assert_eq!(report.waived[0].note, "hardship, approved by owner");

    // A qualifying booking that somehow has no deposit request is listed, not trusted.
    sqlx::query("INSERT INTO appointments (practice_id, location_id, clinician_id, type_id, starts_at, ends_at, status, source, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'booked', 'import', $7, $7)")
        .bind(practice.id)
        .bind(location)
        .bind(clinician)
        .bind(eval.id)
        .bind(slots[6])
        .bind(slots[6] + HOUR)
        .bind(stride_store::now_ms())
        .execute(app.store.pool())
        .await
        .unwrap();
    let report = app
        .store
        .deposit_consistency(practice.id, stride_store::now_ms())
        .await
        .unwrap();
    assert_eq!(
        (report.qualifying, report.requested, report.missing.len()),
        (5, 4, 1)
    );

    // The ledger's history cannot be rewritten.
    let rewrite = sqlx::query("UPDATE deposit_events SET actor = 'someone else'")
        .execute(app.store.pool())
        .await;
    assert!(rewrite.is_err(), "deposit_events is append-only");

    // The page: the front desk sees the check and the waiver by name; marketers cannot open it.
    let desk = app
        .login(
            &app.user(&practice, stride_core::role::Role::FrontDesk)
                .await,
        )
        .await;
    let (status, page) = desk.text("/app/deposits").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("1 qualifying bookings have no deposit request"),
        "{page}"
    );
    assert!(
        page.contains("Dana Reyes") && page.contains("hardship, approved by owner"),
        "{page}"
    );
    let marketer = app
        .login(&app.user(&practice, stride_core::role::Role::Marketer).await)
        .await;
    assert_eq!(marketer.get("/app/deposits").await.status(), 403);
}

#[tokio::test]
async fn the_payer_directory_knows_many_names_and_tracks_credentialing() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let actor = Actor::system("test");
    for typed in [
        "BCBS",
        "Blue Cross",
        "Anthem BCBS",
        "blue cross blue shield",
    ] {
        let p = app
            .store
            .find_payer(practice.id, typed)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(p.name, "Blue Cross Blue Shield", "{typed}");
    }
    let aetna = app
        .store
        .find_payer(practice.id, "Aetna")
        .await
        .unwrap()
        .unwrap();
    let taken = app
        .store
        .add_payer_aliases(practice.id, aetna.id, &["BCBS".into()], &actor)
        .await;
    assert!(
        matches!(&taken, Err(StoreError::Conflict(m)) if m.contains("already names Blue Cross Blue Shield")),
        "{taken:?}"
    );
    app.store
        .add_payer_aliases(
            practice.id,
            aetna.id,
            &["Aetna Better Health".into()],
            &actor,
        )
        .await
        .unwrap();
    assert_eq!(
        app.store
            .find_payer(practice.id, "aetna better health")
            .await
            .unwrap()
            .unwrap()
            .id,
        aetna.id
    );
    let no_date = app
        .store
        .update_payer(
            practice.id,
            aetna.id,
            &PayerUpdate {
                status: Some(Credentialing::InProgress),
                ..PayerUpdate::default()
            },
            &actor,
        )
        .await;
    assert!(matches!(no_date, Err(StoreError::Invalid(_))));

    // Through the page: the owner sets credentialing in progress; the board shows it overdue.
    let owner = app
        .login(&app.user(&practice, stride_core::role::Role::Owner).await)
        .await;
    let resp = owner
        .post_form(
            &format!("/app/settings/payers/{}", aetna.id),
            &[
                ("status", "in_progress"),
                ("submitted_on", "2026-01-05"),
                ("expected_on", "2026-03-01"),
                ("avg_reimbursement", "92.50"),
                ("note", "called rep on the 3rd"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let (status, page) = owner.text("/app/settings/payers").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Credentialing board") && page.contains("days overdue"),
        "{page}"
    );
    let bad = owner
        .post_form(
            &format!("/app/settings/payers/{}", aetna.id),
            &[
                ("status", "in_progress"),
                ("submitted_on", "2026-03-05"),
                ("expected_on", "2026-03-01"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("expected date comes before the submitted date")
    );
    let p = app.store.payer(practice.id, aetna.id).await.unwrap();
    assert_eq!(
        (p.status, p.avg_reimbursement_cents),
        (Credentialing::InProgress, Some(9_250))
    );
}

/// The reminders a sweep at `at` queues, and every reminder queued so far (bodies decrypted).
async fn reminders_sent(app: &TestApp, practice_id: i64) -> Vec<String> {
    app.store
        .messages(practice_id, 100, &Actor::system("test"))
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.purpose == "reminder")
        .map(|m| m.body)
        .collect()
}

#[tokio::test]
async fn reminders_go_out_once_per_step_follow_a_moved_visit_and_stop_when_cancelled() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let actor = Actor::system("test");
    let (location, clinician) = open_all_day(&app, practice.id).await;
    app.store
        .set_booking_settings(
            practice.id,
            &BookingSettings {
                deposit_enabled: true,
                quiet_hours: String::new(),
                ..BookingSettings::default()
            },
            &actor,
        )
        .await
        .unwrap();
    let patient =
        patient_with_phone(&app, practice.id, "Ana", "Ruiz", "(312) 555-0101", true).await;
    let eval = app.store.appointment_types(practice.id).await.unwrap()[0].clone();
    let (_, start) = open_time(&app, practice.id, eval.id, location, 72 * HOUR).await;
    let mut request = NewAppointment::new(location, clinician, eval.id, start, "front desk");
    request.patient_id = Some(patient.id);
    let booked = app
        .store
        .book_appointment(practice.id, &request, &actor)
        .await
        .unwrap();
    let base = "https://stride.example.com";
    let sweep = |at: i64| {
        let store = app.store.clone();
        async move { store.send_due_reminders(base, at).await.unwrap().queued }
    };
    assert_eq!(sweep(start - 48 * HOUR - 60_000).await, 0, "not yet");
    assert_eq!(sweep(start - 48 * HOUR).await, 1, "the 48-hour reminder");
    assert_eq!(sweep(start - 48 * HOUR + 30_000).await, 0, "once");
    assert_eq!(sweep(start - 30 * HOUR).await, 0);
    assert_eq!(sweep(start - 24 * HOUR).await, 1, "the 24-hour reminder");
    // A restart: a new process on the same database sends nothing twice.
    let restarted = stride_store::Store::connect(&app.db.url, app.keys.clone())
        .await
        .unwrap();
    assert_eq!(
        restarted
            .send_due_reminders(base, start - 24 * HOUR + 60_000)
            .await
            .unwrap()
            .queued,
        0
    );
    let sent = reminders_sent(&app, practice.id).await;
    assert_eq!(sent.len(), 2);
    let body = &sent[0];
    assert!(
        body.starts_with("alpha PT: a reminder of your new-patient evaluation on "),
        "{body}"
    );
    assert!(
        body.contains("with Dr. Ada Park") && body.contains("Reply C to confirm."),
        "{body}"
    );
    let token = booked.manage_token.clone().unwrap();
    assert!(
        body.contains(&format!("{base}/p/alpha/manage/{token}")),
        "{body}"
    );
    assert!(
        body.contains("Your $25 deposit") && body.ends_with("Reply STOP to opt out."),
        "{body}"
    );

    // Moved a day later: its reminders follow the new time.
    let (_, later) = app
        .store
        .online_slots(
            practice.id,
            eval.id,
            location,
            Some(clinician),
            stride_store::now_ms(),
        )
        .await
        .unwrap()
        .into_iter()
        .map(|(_, s)| s.start)
        .find(|s| *s >= start + 24 * HOUR)
        .map(|s| ((), s))
        .unwrap();
    app.store
        .reschedule_appointment(practice.id, booked.id, later, None, false, &actor)
        .await
        .unwrap();
    // At the old time's 2-hour mark nothing goes out for the old time; the new time's 48-hour
    // step is due, so that reminder goes out (late, rather than never).
    assert_eq!(sweep(start - 2 * HOUR).await, 1);
    let newest = reminders_sent(&app, practice.id).await[0].clone();
    let new_day = jiff::Timestamp::from_millisecond(later)
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::get("America/Chicago").unwrap())
        .strftime("%a %b %-d at %-I:%M %p")
        .to_string();
    assert!(newest.contains(&new_day), "{newest} names {new_day}");
    assert_eq!(
        sweep(later - 24 * HOUR).await,
        1,
        "the new time's 24-hour reminder"
    );
    // Cancelled: nothing more.
    app.store
        .cancel_appointment(practice.id, booked.id, &actor)
        .await
        .unwrap();
    assert_eq!(sweep(later - 2 * HOUR).await, 0);
    assert_eq!(reminders_sent(&app, practice.id).await.len(), 4);

    // Booked 30 hours ahead: no 48-hour reminder, which would already be late.
    let (_, soon) = open_time(&app, practice.id, eval.id, location, 30 * HOUR).await;
    let mut request = NewAppointment::new(location, clinician, eval.id, soon, "front desk");
    request.patient_id = Some(patient.id);
    app.store
        .book_appointment(practice.id, &request, &actor)
        .await
        .unwrap();
    assert_eq!(sweep(stride_store::now_ms()).await, 0);
    assert_eq!(sweep(soon - 24 * HOUR).await, 1);
}

#[tokio::test]
async fn the_attendance_report_counts_no_shows_against_the_target_around_the_deposit_policy() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let actor = Actor::system("test");
    let (location, clinician) = open_all_day(&app, practice.id).await;
    let now = stride_store::now_ms();
    let started = now - 30 * 24 * HOUR;
    app.store
        .set_booking_settings(
            practice.id,
            &BookingSettings {
                deposit_enabled: true,
                deposit_started_at: Some(started),
                ..BookingSettings::default()
            },
            &actor,
        )
        .await
        .unwrap();
    let types = app.store.appointment_types(practice.id).await.unwrap();
    let follow_up = types[1].id;
    // Sixty days ago: 10 visits, 3 no-shows. Ten days ago: 10 visits, 1 no-show, 1 cancelled in time.
    let mut list = Vec::new();
    for (days_ago, outcomes) in [
        (
            60,
            [
                Attendance::NoShow,
                Attendance::NoShow,
                Attendance::NoShow,
                Attendance::Completed,
                Attendance::Completed,
                Attendance::Completed,
                Attendance::Completed,
                Attendance::Completed,
                Attendance::Completed,
                Attendance::Completed,
            ],
        ),
        (
            10,
            [
                Attendance::NoShow,
                Attendance::Cancelled,
                Attendance::Completed,
                Attendance::Completed,
                Attendance::Completed,
                Attendance::Completed,
                Attendance::Completed,
                Attendance::Completed,
                Attendance::Completed,
                Attendance::LateCancel,
            ],
        ),
    ] {
        for (i, status) in outcomes.into_iter().enumerate() {
            let start = now - days_ago * 24 * HOUR + i as i64 * HOUR;
            let mut a = NewAppointment::new(location, clinician, follow_up, start, "front desk");
            a.self_pay = i % 2 == 0;
            list.push(stride_store::scheduling::ImportedAppointment {
                appointment: a,
                status,
                created_at: start - 5 * 24 * HOUR,
                status_at: Some(start),
                deposit: None,
            });
        }
    }
    app.store
        .import_appointments(practice.id, &list, &actor)
        .await
        .unwrap();
    let api = Api::new(
        &app,
        &app.token(&practice, stride_core::role::Role::Owner).await,
    );
    let (status, r) = api.get("/api/v1/attendance-report?period=3mo").await;
    assert_eq!(status, 200, "{r}");
    let d = &r["data"];
    assert_eq!(
        d["total"]["due"], 19,
        "the in-time cancellation freed its slot"
    );
    assert_eq!(d["total"]["no_shows"], 4);
    assert_eq!(d["before_policy"]["no_show_rate"], 30.0);
    assert_eq!(
        d["after_policy"]["no_show_rate"].as_f64().unwrap(),
        100.0 / 9.0
    );
    assert_eq!(d["target_no_show_rate"], 10.0);
    assert_eq!(d["deposit_policy_started_at"], started);
    let desk = app
        .login(
            &app.user(&practice, stride_core::role::Role::FrontDesk)
                .await,
        )
        .await;
    let (status, page) = desk.text("/app/schedule/attendance?period=3mo").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("30.0%") && page.contains("11.1%") && page.contains("Deposits start"),
        "{page}"
    );
    let marketer = Api::new(
        &app,
        &app.token(&practice, stride_core::role::Role::Marketer)
            .await,
    );
    assert_eq!(marketer.get("/api/v1/attendance-report").await.0, 403);
}

#[tokio::test]
async fn a_clinicians_calendar_feed_lists_visits_without_patient_names_and_a_reset_revokes_it() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let actor = Actor::system("test");
    let (location, clinician) = open_all_day(&app, practice.id).await;
    let patient = patient_with_phone(
        &app,
        practice.id,
        "Zebulon",
        "Quixote",
        "(312) 555-0177",
        false,
    )
    .await;
    let eval = app.store.appointment_types(practice.id).await.unwrap()[0].clone();
    let (_, start) = open_time(&app, practice.id, eval.id, location, 30 * HOUR).await;
    let mut request = NewAppointment::new(location, clinician, eval.id, start, "front desk");
    request.patient_id = Some(patient.id);
    let kept = app
        .store
        .book_appointment(practice.id, &request, &actor)
        .await
        .unwrap();
    let (_, other) = open_time(&app, practice.id, eval.id, location, 50 * HOUR).await;
    let cancelled = app
        .store
        .book_appointment(
            practice.id,
            &NewAppointment::new(location, clinician, eval.id, other, "front desk"),
            &actor,
        )
        .await
        .unwrap();
    app.store
        .cancel_appointment(practice.id, cancelled.id, &actor)
        .await
        .unwrap();

    // The owner makes the link on the clinicians page.
    let owner = app
        .login(&app.user(&practice, stride_core::role::Role::Owner).await)
        .await;
    let resp = owner
        .post_form(&format!("/app/settings/clinicians/{clinician}/feed"), &[])
        .await;
    assert_eq!(resp.status(), 303);
    let (_, page) = owner.text("/app/settings/clinicians").await;
    let url = extract(&page, "<input value=\"").expect("the link is shown");
    let path = &url[url.find("/calendar/").expect("a feed path")..];
    let anyone = Browser::new(&app);
    let resp = anyone.get(path).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    let ics = resp.text().await.unwrap();
    assert!(
        ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n") && ics.ends_with("END:VCALENDAR\r\n")
    );
    assert!(
        ics.split("\r\n").all(|l| l.len() <= 75),
        "lines are folded at 75 octets"
    );
    let unfolded = ics.replace("\r\n ", "");
    assert_eq!(unfolded.matches("BEGIN:VEVENT").count(), 2);
    assert!(unfolded.contains(&format!("UID:appointment-{}@alpha.stride", kept.id)));
    assert!(unfolded.contains("SUMMARY:New-patient evaluation"));
    assert!(unfolded.contains("STATUS:CANCELLED") && unfolded.contains("STATUS:CONFIRMED"));
    let starts = jiff::Timestamp::from_millisecond(start)
        .unwrap()
        .strftime("DTSTART:%Y%m%dT%H%M%SZ")
        .to_string();
    assert!(unfolded.contains(&starts), "{starts} in {unfolded}");
    for secret in ["Zebulon", "Quixote", "555-0177", "+13125550177"] {
        assert!(
            !ics.contains(secret),
            "no patient data in the feed: {secret}"
        );
    }
    // A new link revokes the old one.
    owner
        .post_form(&format!("/app/settings/clinicians/{clinician}/feed"), &[])
        .await;
    assert_eq!(anyone.get(path).await.status(), 404);
    // The front desk cannot make or see links.
    let desk = app
        .login(
            &app.user(&practice, stride_core::role::Role::FrontDesk)
                .await,
        )
        .await;
    assert_eq!(
        desk.post_form(&format!("/app/settings/clinicians/{clinician}/feed"), &[])
            .await
            .status(),
        403
    );
}

#[tokio::test]
async fn a_freed_time_is_offered_to_the_waitlist_and_the_first_to_accept_gets_it() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let actor = Actor::system("test");
    let (location, clinician) = open_all_day(&app, practice.id).await;
    let eval = app.store.appointment_types(practice.id).await.unwrap()[0].clone();
    let mut booked = Vec::new();
    for (i, days) in [2, 5, 6].into_iter().enumerate() {
        let patient = patient_with_phone(
            &app,
            practice.id,
            &format!("Patient{i}"),
            "Waiting",
            &format!("(312) 555-01{i}5"),
            true,
        )
        .await;
        let (_, start) = open_time(&app, practice.id, eval.id, location, days * 24 * HOUR).await;
        let mut request = NewAppointment::new(location, clinician, eval.id, start, "online");
        request.patient_id = Some(patient.id);
        booked.push(
            app.store
                .book_appointment(practice.id, &request, &actor)
                .await
                .unwrap(),
        );
    }
    let (early, b, c) = (&booked[0], &booked[1], &booked[2]);
    // B asks from the manage page; C through the front desk.
    let patient = Browser::new(&app);
    let b_manage = format!("/p/alpha/manage/{}", b.manage_token.clone().unwrap());
    let resp = patient
        .post_public(&b_manage, &[("action", "waitlist")])
        .await;
    assert_eq!(resp.status(), 303);
    let (_, page) = patient.text(&b_manage).await;
    assert!(page.contains("On the waitlist"), "{page}");
    app.store
        .join_waitlist(practice.id, c.id, &actor)
        .await
        .unwrap();
    assert_eq!(app.store.waitlist(practice.id).await.unwrap().len(), 2);

    // The early visit is cancelled: both are offered its time by text.
    app.store
        .cancel_appointment(practice.id, early.id, &actor)
        .await
        .unwrap();
    let offers = || async {
        app.store
            .messages(practice.id, 50, &Actor::system("test"))
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.purpose == "waitlist offer")
            .map(|m| (m.to, m.body))
            .collect::<Vec<_>>()
    };
    eventually("both waiting patients are offered the time", || async {
        offers().await.len() == 2
    })
    .await;
    let sent = offers().await;
    let link_of = |to: &str| {
        let body = &sent.iter().find(|(t, _)| t == to).unwrap().1;
        assert!(
            body.contains("an earlier time opened") && body.contains("with Dr. Ada Park"),
            "{body}"
        );
        let at = body.find("/p/alpha/offer/").unwrap();
        body[at..].split_whitespace().next().unwrap().to_string()
    };
    let (b_link, c_link) = (link_of("+13125550115"), link_of("+13125550125"));
    // C accepts first and gets it; B is told it was taken and keeps their time.
    let (status, page) = patient.text(&c_link).await;
    assert_eq!(status, 200);
    assert!(page.contains("Take this time"));
    let resp = patient.post_public(&c_link, &[]).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("Your visit is moved"));
    assert_eq!(
        app.store
            .appointment(practice.id, c.id)
            .await
            .unwrap()
            .starts_at,
        early.starts_at
    );
    let resp = patient.post_public(&b_link, &[]).await;
    assert!(resp.text().await.unwrap().contains("this time was taken"));
    assert_eq!(
        app.store
            .appointment(practice.id, b.id)
            .await
            .unwrap()
            .starts_at,
        b.starts_at
    );
    let waiting = app.store.waitlist(practice.id).await.unwrap();
    assert_eq!(waiting.len(), 1, "B still waits; C moved");
    assert_eq!(waiting[0].0.id, b.id);
}

#[tokio::test]
async fn a_visit_type_can_have_its_own_reminder_cadence() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let actor = Actor::system("test");
    let (location, clinician) = open_all_day(&app, practice.id).await;
    app.store
        .set_booking_settings(
            practice.id,
            &BookingSettings {
                quiet_hours: String::new(),
                ..BookingSettings::default()
            },
            &actor,
        )
        .await
        .unwrap();
    let mut eval = app.store.appointment_types(practice.id).await.unwrap()[0].clone();
    // Through the settings page: evaluations get one reminder, three days ahead.
    let owner = app
        .login(&app.user(&practice, stride_core::role::Role::Owner).await)
        .await;
    let bad = owner
        .post_form(
            &format!("/app/settings/booking/types/{}", eval.id),
            &[
                ("name", &eval.name),
                ("duration_min", "60"),
                ("buffer_after_min", "15"),
                ("cash_price", "150"),
                ("deposit_applies", "on"),
                ("new_patient", "on"),
                ("active", "on"),
                ("reminder_hours", "72, soon"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("“soon” is not a number of hours")
    );
    let ok = owner
        .post_form(
            &format!("/app/settings/booking/types/{}", eval.id),
            &[
                ("name", &eval.name),
                ("duration_min", "60"),
                ("buffer_after_min", "15"),
                ("cash_price", "150"),
                ("deposit_applies", "on"),
                ("new_patient", "on"),
                ("active", "on"),
                ("reminder_hours", "72"),
            ],
        )
        .await;
    assert_eq!(ok.status(), 303);
    eval = app.store.appointment_types(practice.id).await.unwrap()[0].clone();
    assert_eq!(eval.reminder_hours, Some(vec![72]));
    let patient = app
        .store
        .create_patient(
            practice.id,
            &stride_store::patients::PatientInput {
                first_name: "Ana".into(),
                last_name: "Ruiz".into(),
                phone: None,
                email: Some(stride_core::email::EmailAddress::parse("ana@example.com").unwrap()),
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
    let (_, start) = open_time(&app, practice.id, eval.id, location, 96 * HOUR).await;
    let mut request = NewAppointment::new(location, clinician, eval.id, start, "front desk");
    request.patient_id = Some(patient.id);
    app.store
        .book_appointment(practice.id, &request, &actor)
        .await
        .unwrap();
    let sweep = |at: i64| {
        let store = app.store.clone();
        async move {
            store
                .send_due_reminders("https://x.example", at)
                .await
                .unwrap()
                .queued
        }
    };
    assert_eq!(
        sweep(start - 72 * HOUR).await,
        1,
        "the type's 72-hour reminder"
    );
    assert_eq!(
        sweep(start - 24 * HOUR).await,
        0,
        "and not the practice's 24"
    );
    assert_eq!(sweep(start - 2 * HOUR).await, 0, "nor its 2");
    let sent = app.store.messages(practice.id, 10, &actor).await.unwrap();
    assert_eq!(
        sent[0].channel,
        stride_store::messages::Channel::Email,
        "email, the patient's only consent"
    );
    assert!(
        sent[0]
            .subject
            .as_deref()
            .unwrap()
            .starts_with("Reminder: your visit on ")
    );
    assert!(
        !sent[0].body.contains("Reply C"),
        "no texting instructions in an email"
    );
}

#[tokio::test]
async fn one_phone_number_books_at_most_three_visits_online_a_day() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let (location, _) = open_all_day(&app, practice.id).await;
    let follow_up = app.store.appointment_types(practice.id).await.unwrap()[1].clone();
    let patient = Browser::new(&app);
    let now = stride_store::now_ms();
    let times: Vec<(i64, i64)> = app
        .store
        .online_slots(practice.id, follow_up.id, location, None, now)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, s)| s.start % (6 * HOUR) == 0)
        .take(4)
        .map(|(c, s)| (c, s.start))
        .collect();
    for (i, (with, start)) in times.iter().enumerate() {
        let fields = [
            ("type", follow_up.id.to_string()),
            ("location", location.to_string()),
            ("start", start.to_string()),
            ("with", with.to_string()),
            ("first_name", "Repeat".to_string()),
            ("last_name", "Booker".to_string()),
            ("phone", "(312) 555-0166".to_string()),
            ("payer", "self".to_string()),
            ("policy_ok", "on".to_string()),
        ];
        let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let resp = patient.post_public("/p/alpha/book", &refs).await;
        if i < 3 {
            assert_eq!(resp.status(), 303, "booking {}", i + 1);
        } else {
            assert_eq!(resp.status(), 422);
            let page = resp.text().await.unwrap();
            assert!(
                page.contains("already booked 3 visits online today"),
                "{page}"
            );
            assert!(page.contains("value=\"Repeat\""), "what was typed stays");
        }
    }
}

#[tokio::test]
async fn a_patient_who_prefers_email_gets_reminders_by_email_even_with_texts_allowed() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let actor = Actor::system("test");
    let (location, clinician) = open_all_day(&app, practice.id).await;
    let patient =
        patient_with_phone(&app, practice.id, "Both", "Ways", "(312) 555-0133", true).await;
    let owner = app
        .login(&app.user(&practice, stride_core::role::Role::Owner).await)
        .await;
    let resp = owner
        .post_form(
            &format!("/app/patients/{}", patient.id),
            &[
                ("first_name", "Both"),
                ("last_name", "Ways"),
                ("phone", "(312) 555-0133"),
                ("email", "both@example.com"),
                ("sms_consent", "on"),
                ("email_consent", "on"),
                ("prefers", "email"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let (_, page) = owner.text(&format!("/app/patients/{}", patient.id)).await;
    assert!(
        page.contains("<option value=\"email\" selected>"),
        "the preference shows"
    );
    let eval = app.store.appointment_types(practice.id).await.unwrap()[0].clone();
    let (_, start) = open_time(&app, practice.id, eval.id, location, 72 * HOUR).await;
    let mut request = NewAppointment::new(location, clinician, eval.id, start, "front desk");
    request.patient_id = Some(patient.id);
    app.store
        .book_appointment(practice.id, &request, &actor)
        .await
        .unwrap();
    let queued = app
        .store
        .send_due_reminders("https://x.example", start - 24 * HOUR)
        .await
        .unwrap()
        .queued;
    assert_eq!(queued, 1);
    let sent = app.store.messages(practice.id, 10, &actor).await.unwrap();
    assert_eq!(sent[0].channel, stride_store::messages::Channel::Email);
    assert_eq!(sent[0].to, "both@example.com");
}

#[tokio::test]
async fn coverage_referral_and_an_authorization_running_low_show_on_the_patients_page() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let actor = Actor::system("test");
    let (location, clinician) = open_all_day(&app, practice.id).await;
    let patient =
        patient_with_phone(&app, practice.id, "Cora", "Vance", "(312) 555-0144", true).await;
    let bcbs = app
        .store
        .find_payer(practice.id, "BCBS")
        .await
        .unwrap()
        .unwrap();
    let owner = app
        .login(&app.user(&practice, stride_core::role::Role::Owner).await)
        .await;
    let resp = owner
        .post_form(
            &format!("/app/patients/{}/coverage", patient.id),
            &[
                ("coverage", &bcbs.id.to_string()),
                ("referral", "physician"),
                ("physician", "Dr. Hippocrates Osler"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let c = app.store.coverage(practice.id, patient.id).await.unwrap();
    assert_eq!(
        (c.payer_id, c.referral.as_str()),
        (Some(bcbs.id), "physician")
    );
    let raw: Vec<u8> =
        sqlx::query_scalar("SELECT referring_physician_enc FROM patients WHERE id = $1")
            .bind(patient.id)
            .fetch_one(app.store.pool())
            .await
            .unwrap();
    assert!(
        !String::from_utf8_lossy(&raw).contains("Osler"),
        "the physician's name is encrypted"
    );
    let tz = jiff::tz::TimeZone::get("America/Chicago").unwrap();
    let today = jiff::Timestamp::now().to_zoned_datetime(tz).date();
    let until = today.checked_add(jiff::Span::new().days(60)).unwrap();
    let resp = owner
        .post_form(
            &format!("/app/patients/{}/authorizations", patient.id),
            &[
                ("visits", "3"),
                ("starts_on", &today.to_string()),
                ("ends_on", &until.to_string()),
                ("reference", "AUTH-123"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let follow_up = app.store.appointment_types(practice.id).await.unwrap()[1].id;
    for days in [3, 7] {
        let (_, start) = open_time(&app, practice.id, follow_up, location, days * 24 * HOUR).await;
        let mut a = NewAppointment::new(location, clinician, follow_up, start, "front desk");
        a.patient_id = Some(patient.id);
        app.store
            .book_appointment(practice.id, &a, &actor)
            .await
            .unwrap();
    }
    let (_, page) = owner.text(&format!("/app/patients/{}", patient.id)).await;
    assert!(
        page.contains("Dr. Hippocrates Osler") && page.contains("AUTH-123"),
        "{page}"
    );
    assert!(page.contains("1 left: ask the payer for more"), "{page}");
    let auths = app
        .store
        .authorizations(practice.id, patient.id)
        .await
        .unwrap();
    assert_eq!(
        (auths[0].visits, auths[0].used, auths[0].payer_id),
        (3, 2, Some(bcbs.id))
    );
    // Booking a series for the patient flags the visits past the authorization before booking.
    let first = today.checked_add(jiff::Span::new().days(10)).unwrap();
    let page = owner
        .post_form(
            "/app/schedule/series",
            &[
                ("patient", &patient.id.to_string()),
                ("location", &location.to_string()),
                ("clinician", &clinician.to_string()),
                ("type", &follow_up.to_string()),
                ("first", &first.to_string()),
                ("time", "10:00"),
                ("mon", "on"),
                ("tue", "on"),
                ("wed", "on"),
                ("thu", "on"),
                ("fri", "on"),
                ("sat", "on"),
                ("weeks", "1"),
                ("action", "check"),
            ],
        )
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        page.matches("exceeds the 3 authorized visits").count(),
        5,
        "{page}"
    );
    let bad = owner
        .post_form(
            &format!("/app/patients/{}/authorizations", patient.id),
            &[
                ("visits", "3"),
                ("starts_on", &until.to_string()),
                ("ends_on", &today.to_string()),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422);
}
