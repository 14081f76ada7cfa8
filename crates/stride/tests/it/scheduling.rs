//! Scheduling in the database: open slots from clinicians' hours, booking, and the race for one
//! slot decided by the database (one winner of 100, on SQLite and PostgreSQL).

use stride_store::audit::Actor;
use stride_store::scheduling::{BookingError, NewAppointment};
use stride_store::tenancy::ClinicianInput;

use crate::helpers::*;

/// A clinician at the practice's location with these weekly hours.
pub(crate) async fn clinician_with_hours(
    app: &TestApp,
    practice_id: i64,
    hours: &str,
) -> (
    stride_store::tenancy::Location,
    stride_store::tenancy::Clinician,
) {
    let location = app.store.locations(practice_id).await.unwrap()[0].clone();
    let clinician = app
        .store
        .create_clinician(
            practice_id,
            &ClinicianInput {
                name: "Dr. Ada Park".into(),
                credentials: "PT, DPT".into(),
                location_id: Some(location.id),
                active: true,
            },
        )
        .await
        .unwrap();
    let shifts = stride_core::hours::parse_shifts(hours).unwrap();
    app.store
        .set_clinician_hours(
            practice_id,
            clinician.id,
            location.id,
            &shifts,
            &Actor::system("test"),
        )
        .await
        .unwrap();
    (location, clinician)
}

#[tokio::test]
async fn a_hundred_requests_race_for_one_slot_and_exactly_one_wins() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let store = &app.store;
    let actor = Actor::system("test");
    // Every day 08:00–12:00 and 13:00–17:00, so the test does not depend on the weekday.
    let (location, clinician) =
        clinician_with_hours(&app, practice.id, "Mon-Sun 08:00-12:00, 13:00-17:00").await;
    let types = store.appointment_types(practice.id).await.unwrap();
    assert_eq!(
        types
            .iter()
            .map(|t| (t.name.as_str(), t.duration_min))
            .collect::<Vec<_>>(),
        [
            ("New-patient evaluation", 60),
            ("Follow-up visit", 45),
            ("Maintenance visit", 45)
        ]
    );
    let evaluation = &types[0];
    let now = stride_store::now_ms();
    let (who, slot) = store
        .earliest_available(practice.id, evaluation.id, location.id, None, now)
        .await
        .unwrap()
        .expect("an open slot");
    assert_eq!(who, clinician.id);
    assert!(slot.start >= now + 2 * 3_600_000, "two hours' notice");

    let request = NewAppointment {
        location_id: location.id,
        clinician_id: clinician.id,
        type_id: evaluation.id,
        starts_at: slot.start,
        patient_id: None,
        lead_id: None,
        source: "online".into(),
        payer_id: None,
        self_pay: false,
    };
    let mut racers = Vec::new();
    for _ in 0..100 {
        let store = store.clone();
        let request = request.clone();
        let actor = actor.clone();
        let practice_id = practice.id;
        racers.push(tokio::spawn(async move {
            store.book_appointment(practice_id, &request, &actor).await
        }));
    }
    let mut won = Vec::new();
    let mut offered = Vec::new();
    for r in racers {
        match r.await.unwrap() {
            Ok(a) => won.push(a),
            Err(BookingError::Taken(next)) => offered.push(next),
            Err(BookingError::Store(e)) => panic!("a racer failed: {e}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one request gets the slot");
    assert_eq!(offered.len(), 99);
    let booked = &won[0];
    assert_eq!((booked.starts_at, booked.ends_at), (slot.start, slot.end));
    // The others are offered the next open times, clear of the booking and its 15-minute buffer.
    for next in &offered {
        assert!(!next.is_empty(), "the losers get other times");
        for s in next {
            assert!(s.start >= booked.ends_at + 15 * 60_000 || s.end <= booked.starts_at);
        }
    }
    let live = store
        .appointments(practice.id, clinician.id, now, now + 90 * 86_400_000)
        .await
        .unwrap();
    assert_eq!(live.len(), 1, "one appointment in the database");

    // The booked time is no longer offered; a cancellation frees it again.
    let open = store
        .open_slots(practice.id, evaluation.id, location.id, None, now, 14)
        .await
        .unwrap();
    assert!(
        open.iter()
            .all(|(_, s)| s.end <= booked.starts_at || s.start >= booked.ends_at + 15 * 60_000)
    );
    store
        .cancel_appointment(practice.id, booked.id, &actor)
        .await
        .unwrap();
    let again = store.book_appointment(practice.id, &request, &actor).await;
    assert!(again.is_ok(), "a cancelled time can be booked again");

    // Outside the hours, or during time off: not open.
    let mut night = request.clone();
    night.starts_at = slot.start - slot.start.rem_euclid(86_400_000) + 86_400_000 + 7 * 3_600_000;
    assert!(matches!(
        store.book_appointment(practice.id, &night, &actor).await,
        Err(BookingError::Taken(_))
    ));
    let day_after = slot.start + 86_400_000;
    store
        .add_time_off(
            practice.id,
            clinician.id,
            day_after - 3_600_000,
            day_after + 3_600_000 * 4,
            "Course",
            &actor,
        )
        .await
        .unwrap();
    let mut away = request.clone();
    away.starts_at = day_after;
    assert!(matches!(
        store.book_appointment(practice.id, &away, &actor).await,
        Err(BookingError::Taken(_))
    ));
}

#[tokio::test]
async fn the_api_gives_open_times_books_and_says_when_a_time_was_taken() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let (location, clinician) =
        clinician_with_hours(&app, practice.id, "Mon-Sun 09:00-17:00").await;
    let desk = Api::new(
        &app,
        &app.token(&practice, stride_core::role::Role::FrontDesk)
            .await,
    );
    let (status, types) = desk.get("/api/v1/appointment-types").await;
    assert_eq!(status, 200, "{types}");
    let eval = types["data"][0]["id"].as_i64().unwrap();
    let (status, open) = desk
        .get(&format!(
            "/api/v1/availability?type_id={eval}&location_id={}&days=7",
            location.id
        ))
        .await;
    assert_eq!(status, 200, "{open}");
    let earliest = open["data"]["earliest"].clone();
    assert_eq!(earliest["clinician_id"], clinician.id);
    assert!(open["data"]["slots"].as_array().unwrap().len() > 20);
    let body = serde_json::json!({
        "type_id": eval, "location_id": location.id, "clinician_id": clinician.id,
        "start": earliest["start"],
    });
    let (status, booked) = desk
        .call("POST", "/api/v1/appointments", Some(body.clone()))
        .await;
    assert_eq!(status, 201, "{booked}");
    let (status, taken) = desk.call("POST", "/api/v1/appointments", Some(body)).await;
    assert_eq!(status, 409, "{taken}");
    assert_eq!(taken["error"]["code"], "conflict");
    assert!(
        !taken["next"].as_array().unwrap().is_empty(),
        "the next open times are offered"
    );
    let (status, bad) = desk
        .call(
            "POST",
            "/api/v1/appointments",
            Some(serde_json::json!({"type_id": eval, "location_id": location.id, "clinician_id": clinician.id, "start": "tomorrow at ten"})),
        )
        .await;
    assert_eq!(status, 422, "{bad}");
    let id = booked["data"]["id"].as_i64().unwrap();
    let (status, _) = desk
        .call("POST", &format!("/api/v1/appointments/{id}/cancel"), None)
        .await;
    assert_eq!(status, 200);
    let marketer = Api::new(
        &app,
        &app.token(&practice, stride_core::role::Role::Marketer)
            .await,
    );
    let (status, _) = marketer.get("/api/v1/appointment-types").await;
    assert_eq!(status, 403, "marketers do not see the schedule");
}

#[tokio::test]
async fn the_front_desk_books_a_leads_evaluation_from_the_schedule_in_one_click() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let actor = Actor::system("test");
    let (location, clinician) =
        clinician_with_hours(&app, practice.id, "Mon-Sun 09:00-17:00").await;
    let mut input = stride_store::leads::LeadInput::new(stride_core::leads::Origin::Call);
    input.first_name = "Rosalind".into();
    input.last_name = "Quimby".into();
    input.phone = Some(stride_core::phone::PhoneE164::parse("(312) 555-0144").unwrap());
    let (_, lead) = app
        .store
        .capture_lead(practice.id, &input, &actor)
        .await
        .unwrap();

    let desk = app
        .login(
            &app.user(&practice, stride_core::role::Role::FrontDesk)
                .await,
        )
        .await;
    let (status, page) = desk.text(&format!("/app/leads/{}", lead.id)).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("/app/schedule?lead={}", lead.id)),
        "a Book button on the lead"
    );
    let (_, (when, slot)) = app
        .store
        .earliest_available(
            practice.id,
            app.store.appointment_types(practice.id).await.unwrap()[0].id,
            location.id,
            None,
            stride_store::now_ms(),
        )
        .await
        .unwrap()
        .map(|(c, s)| (c, (s.start, s)))
        .unwrap();
    let date = jiff::Timestamp::from_millisecond(when)
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::get("America/Chicago").unwrap())
        .date()
        .to_string();
    let (status, page) = desk
        .text(&format!("/app/schedule?lead={}&date={date}", lead.id))
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Booking an evaluation for") && page.contains("Rosalind Quimby"));
    assert!(
        page.contains("Dr. Ada Park") && page.contains(&format!("value=\"{when}\"")),
        "{page}"
    );
    let types = app.store.appointment_types(practice.id).await.unwrap();
    let resp = desk
        .post_form(
            "/app/schedule/book",
            &[
                ("location", &location.id.to_string()),
                ("clinician", &clinician.id.to_string()),
                ("type", &types[0].id.to_string()),
                ("start", &when.to_string()),
                ("date", &date),
                ("lead", &lead.id.to_string()),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers()["location"],
        format!("/app/leads/{}?done=booked", lead.id).as_str()
    );
    let booked = app.store.lead(practice.id, lead.id, &actor).await.unwrap();
    assert_eq!(
        booked.row.stage,
        stride_core::leads::Stage::EvaluationBooked
    );
    let appts = app
        .store
        .appointments(practice.id, clinician.id, slot.start - 1, slot.end)
        .await
        .unwrap();
    assert_eq!(appts.len(), 1);
    assert_eq!(appts[0].lead_id, Some(lead.id));
    let (_, page) = desk.text(&format!("/app/schedule?date={date}")).await;
    assert!(
        page.contains(&format!("/app/leads/{}", lead.id)),
        "the day shows the booking"
    );
    assert!(page.contains(&format!("/app/schedule/{}/cancel", appts[0].id)));
    // The same time again: taken, said plainly.
    let resp = desk
        .post_form(
            "/app/schedule/book",
            &[
                ("location", &location.id.to_string()),
                ("clinician", &clinician.id.to_string()),
                ("type", &types[0].id.to_string()),
                ("start", &when.to_string()),
                ("date", &date),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("just taken"));
    // Cancelled from the day view: the time is open to book again.
    let resp = desk
        .post_form(
            &format!("/app/schedule/{}/cancel", appts[0].id),
            &[("location", &location.id.to_string()), ("date", &date)],
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert!(
        app.store
            .appointments(practice.id, clinician.id, slot.start - 1, slot.end)
            .await
            .unwrap()
            .is_empty()
    );
    let (_, page) = desk
        .text(&format!("/app/schedule?date={date}&done=cancelled"))
        .await;
    assert!(page.contains("Cancelled: the time is open again."));
    assert!(
        page.contains(&format!("value=\"{when}\"")),
        "the time is offered again"
    );
    let marketer = app
        .login(&app.user(&practice, stride_core::role::Role::Marketer).await)
        .await;
    assert_eq!(marketer.get("/app/schedule").await.status(), 403);
}

#[tokio::test]
async fn an_owner_sets_a_clinicians_hours_and_the_schedule_opens() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let location = app.store.locations(practice.id).await.unwrap()[0].clone();
    let owner = app
        .login(&app.user(&practice, stride_core::role::Role::Owner).await)
        .await;
    let loc = location.id.to_string();
    // A typo keeps what was typed and says what is wrong.
    let resp = owner
        .post_form(
            "/app/settings/clinicians",
            &[
                ("name", "Dr. Ada Park"),
                ("credentials", "PT, DPT"),
                ("location_id", &loc),
                ("active", "on"),
                ("hours", "Mon-Fri 07:00-12:00, 11:00-19:00"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(page.contains("the hours on Mon overlap"), "{page}");
    assert!(page.contains("11:00-19:00"), "the hours typed are kept");
    let resp = owner
        .post_form(
            "/app/settings/clinicians",
            &[
                ("name", "Dr. Ada Park"),
                ("credentials", "PT, DPT"),
                ("location_id", &loc),
                ("active", "on"),
                ("hours", "Mon-Sun 07:00-12:00, 13:00-19:00"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let (_, page) = owner.text("/app/settings/clinicians").await;
    assert!(page.contains("Mon-Sun 07:00-12:00, 13:00-19:00"), "{page}");
    let (_, schedule) = owner.text("/app/schedule").await;
    assert!(schedule.contains("Dr. Ada Park"));
    assert!(
        !schedule.contains("nothing open in the next 60 days"),
        "the clinician can be booked"
    );
}

#[tokio::test]
async fn the_front_desk_books_a_series_with_conflicts_listed_moves_a_visit_and_sees_the_week() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let actor = Actor::system("test");
    let (location, clinician) =
        clinician_with_hours(&app, practice.id, "Mon-Fri 08:00-12:00").await;
    let types = app.store.appointment_types(practice.id).await.unwrap();
    let follow_up = types[1].id;
    let tz = jiff::tz::TimeZone::get(&location.time_zone).unwrap();
    // Next Monday, three weeks of Monday and Thursday at 09:00; the first Thursday's 09:00 is taken.
    let today = jiff::Timestamp::now().to_zoned_datetime(tz.clone()).date();
    let monday = (1..=7)
        .map(|d| today.checked_add(jiff::Span::new().days(d)).unwrap())
        .find(|d| d.weekday() == jiff::civil::Weekday::Monday)
        .unwrap();
    let at = |d: jiff::civil::Date, h: i8| {
        d.at(h, 0, 0, 0)
            .to_zoned_datetime(tz.clone())
            .unwrap()
            .timestamp()
            .as_millisecond()
    };
    let thursday = monday.checked_add(jiff::Span::new().days(3)).unwrap();
    let blocker = app
        .store
        .book_appointment(
            practice.id,
            &NewAppointment::new(
                location.id,
                clinician.id,
                follow_up,
                at(thursday, 9),
                "front desk",
            ),
            &actor,
        )
        .await
        .unwrap();
    let desk = app
        .login(
            &app.user(&practice, stride_core::role::Role::FrontDesk)
                .await,
        )
        .await;
    let patient = patient_with_phone(
        &app,
        practice.id,
        "Series",
        "Patient",
        "(312) 555-0190",
        true,
    )
    .await;
    let (_, page) = desk
        .text(&format!("/app/schedule/series?patient={}", patient.id))
        .await;
    assert!(
        page.contains("For <strong>Series Patient</strong>"),
        "{page}"
    );
    let form = |action: &'static str| {
        vec![
            ("patient", patient.id.to_string()),
            ("location", location.id.to_string()),
            ("clinician", clinician.id.to_string()),
            ("type", follow_up.to_string()),
            ("first", monday.to_string()),
            ("time", "09:00".into()),
            ("mon", "on".into()),
            ("thu", "on".into()),
            ("weeks", "3".into()),
            ("use_nearest", "on".into()),
            ("action", action.into()),
        ]
    };
    let check = form("check");
    let refs: Vec<(&str, &str)> = check.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let resp = desk.post_form("/app/schedule/series", &refs).await;
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    assert!(page.contains("The series: 1 conflicts"), "{page}");
    assert!(page.contains("nearest open that day: 8:00 AM"), "{page}");
    assert!(page.contains("Book 6 visits"));
    let count = || async {
        app.store
            .appointments(
                practice.id,
                clinician.id,
                at(monday, 0),
                at(monday, 0) + 21 * 86_400_000,
            )
            .await
            .unwrap()
            .len()
    };
    assert_eq!(count().await, 1, "checking books nothing");
    let book = form("book");
    let refs: Vec<(&str, &str)> = book.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = desk
        .post_form("/app/schedule/series", &refs)
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Booked 6 visits."), "{page}");
    assert_eq!(count().await, 7);
    // The patient's page lists the series.
    let (_, page) = desk.text(&format!("/app/patients/{}", patient.id)).await;
    assert_eq!(page.matches("Follow-up visit").count(), 6, "{page}");
    assert!(page.contains("Book a series of visits"));

    // Move the blocker to another open time from its move page.
    let (status, page) = desk
        .text(&format!("/app/schedule/{}/move", blocker.id))
        .await;
    assert_eq!(status, 200);
    let to = extract(&page, "name=\"to\" value=\"").expect("open times");
    let resp = desk
        .post_form(
            &format!("/app/schedule/{}/move", blocker.id),
            &[("to", &to)],
        )
        .await;
    assert_eq!(resp.status(), 303);
    assert!(
        resp.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("done=moved")
    );
    let moved = app
        .store
        .appointment(practice.id, blocker.id)
        .await
        .unwrap();
    assert_eq!(moved.starts_at.to_string(), to.split(':').next().unwrap());

    // The week shows the series.
    let (status, page) = desk
        .text(&format!(
            "/app/schedule/week?location={}&week={monday}",
            location.id
        ))
        .await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Follow-up visit") && page.contains("9:00 AM"),
        "{page}"
    );
}

#[tokio::test]
async fn time_off_set_in_settings_is_not_offered_for_booking() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let (location, clinician) =
        clinician_with_hours(&app, practice.id, "Mon-Sun 08:00-17:00").await;
    let eval = app.store.appointment_types(practice.id).await.unwrap()[0].id;
    let tz = jiff::tz::TimeZone::get(&location.time_zone).unwrap();
    let today = jiff::Timestamp::now().to_zoned_datetime(tz.clone()).date();
    let (from, to) = (
        today.checked_add(jiff::Span::new().days(2)).unwrap(),
        today.checked_add(jiff::Span::new().days(4)).unwrap(),
    );
    let owner = app
        .login(&app.user(&practice, stride_core::role::Role::Owner).await)
        .await;
    let resp = owner
        .post_form(
            &format!("/app/settings/clinicians/{}/time-off", clinician.id),
            &[
                ("from", &from.to_string()),
                ("to", &to.to_string()),
                ("reason", "Conference"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let (_, page) = owner.text("/app/settings/clinicians").await;
    assert!(
        page.contains("Upcoming time off") && page.contains("Conference"),
        "{page}"
    );
    let slots = app
        .store
        .open_slots(
            practice.id,
            eval,
            location.id,
            None,
            stride_store::now_ms(),
            10,
        )
        .await
        .unwrap();
    let day_of = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .unwrap()
            .to_zoned_datetime(tz.clone())
            .date()
    };
    assert!(!slots.is_empty());
    assert!(
        slots
            .iter()
            .all(|(_, s)| day_of(s.start) < from || day_of(s.start) > to),
        "no time offered during the time off"
    );
    assert!(slots.iter().any(|(_, s)| day_of(s.start) > to));
    let bad = owner
        .post_form(
            &format!("/app/settings/clinicians/{}/time-off", clinician.id),
            &[("from", &to.to_string()), ("to", &from.to_string())],
        )
        .await;
    assert_eq!(bad.status(), 422);
}

/// Open times and bookings on New York's daylight-saving Sundays, through the database: every slot
/// is its full length in real time, none starts in the skipped hour, the repeated hour is two
/// distinct hours, and a booking across the change holds exactly its real length.
#[tokio::test]
async fn bookings_across_new_yorks_spring_and_fall_changes_keep_real_lengths() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let actor = Actor::system("test");
    let ny = app
        .store
        .create_location(
            practice.id,
            &stride_store::tenancy::LocationInput {
                name: "Manhattan".into(),
                address: "5 Broadway, New York, NY".into(),
                main_phone: stride_core::phone::PhoneE164::parse("(212) 555-0100").unwrap(),
                time_zone: stride_core::tz::TimeZoneName::parse("America/New_York").unwrap(),
                hours: stride_core::hours::WeeklyHours::parse("Sun 00:00-06:00").unwrap(),
            },
        )
        .await
        .unwrap();
    let clinician = app
        .store
        .create_clinician(
            practice.id,
            &ClinicianInput {
                name: "Dr. Night Owl".into(),
                credentials: "PT".into(),
                location_id: Some(ny.id),
                active: true,
            },
        )
        .await
        .unwrap();
    app.store
        .set_clinician_hours(
            practice.id,
            clinician.id,
            ny.id,
            &stride_core::hours::parse_shifts("Sun 00:00-06:00").unwrap(),
            &actor,
        )
        .await
        .unwrap();
    let eval = app.store.appointment_types(practice.id).await.unwrap()[0].clone();
    let tz = jiff::tz::TimeZone::get("America/New_York").unwrap();
    let slots = app
        .store
        .open_slots(
            practice.id,
            eval.id,
            ny.id,
            None,
            stride_store::now_ms(),
            366,
        )
        .await
        .unwrap();
    let on = |day: &str| -> Vec<stride_core::availability::Slot> {
        slots
            .iter()
            .map(|(_, s)| *s)
            .filter(|s| {
                jiff::Timestamp::from_millisecond(s.start)
                    .unwrap()
                    .to_zoned_datetime(tz.clone())
                    .date()
                    .to_string()
                    == day
            })
            .collect()
    };
    let local = |ms: i64| {
        jiff::Timestamp::from_millisecond(ms)
            .unwrap()
            .to_zoned_datetime(tz.clone())
            .strftime("%H:%M %Z")
            .to_string()
    };
    let spring = on("2027-03-14");
    let fall = on("2027-11-07");
    assert!(!spring.is_empty() && !fall.is_empty());
    for s in spring.iter().chain(&fall) {
        assert_eq!(
            s.end - s.start,
            3_600_000,
            "an hour of real time: {}",
            local(s.start)
        );
    }
    assert!(
        spring.iter().all(|s| !local(s.start).starts_with("02:")),
        "nothing starts in the skipped hour"
    );
    // 00:00–06:00 is five real hours in spring and seven in fall, on a 15-minute grid of local
    // time: the fall day has both 01:00 EDT and 01:00 EST.
    assert!(fall.len() > spring.len());
    assert!(fall.iter().any(|s| local(s.start) == "01:00 EDT"));
    assert!(fall.iter().any(|s| local(s.start) == "01:00 EST"));

    // A visit from 01:30 EST to 03:30 EDT holds one real hour.
    let across = spring
        .iter()
        .find(|s| local(s.start) == "01:30 EST")
        .copied()
        .expect("01:30 is open");
    let booked = app
        .store
        .book_appointment(
            practice.id,
            &NewAppointment::new(ny.id, clinician.id, eval.id, across.start, "front desk"),
            &actor,
        )
        .await
        .unwrap();
    assert_eq!(booked.ends_at - booked.starts_at, 3_600_000);
    assert_eq!(local(booked.ends_at), "03:30 EDT");
    // The repeated hour: a booking at 01:00 EDT and one at 01:15 EST (after its buffer) both fit.
    let first = fall.iter().find(|s| local(s.start) == "01:00 EDT").unwrap();
    let second = fall.iter().find(|s| local(s.start) == "01:15 EST").unwrap();
    for s in [first, second] {
        app.store
            .book_appointment(
                practice.id,
                &NewAppointment::new(ny.id, clinician.id, eval.id, s.start, "front desk"),
                &actor,
            )
            .await
            .unwrap_or_else(|_| panic!("{} is open", local(s.start)));
    }
    assert!(matches!(
        app.store
            .book_appointment(
                practice.id,
                &NewAppointment::new(
                    ny.id,
                    clinician.id,
                    eval.id,
                    first.start + 30 * 60_000,
                    "front desk"
                ),
                &actor,
            )
            .await,
        Err(BookingError::Taken(_))
    ));
}
