//! The `stride` command line, run as a program: set up a practice and an owner, mint a token, migrate,
//! back up, and rotate the generated key, with the database the suite is testing.

use std::process::Command;

use stride_core::email::EmailAddress;
use stride_store::{Keyring, Store};

use crate::helpers::*;

fn stride(db: &TestDb, args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stride"));
    cmd.arg("--data-dir")
        .arg(db.dir.path())
        .args(args)
        .env_remove("STRIDE_ENCRYPTION_KEY")
        .env("STRIDE_LOG", "warn");
    if db.postgres {
        cmd.env("STRIDE_DATABASE_URL", &db.url);
    } else {
        cmd.env_remove("STRIDE_DATABASE_URL");
    }
    let out = cmd.output().expect("run stride");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

async fn store_of(db: &TestDb) -> Store {
    let keys =
        Keyring::parse(&std::fs::read_to_string(db.dir.path().join("encryption.key")).unwrap())
            .unwrap();
    Store::open(&db.url, keys).await.unwrap()
}

#[tokio::test]
async fn a_new_instance_is_set_up_from_the_command_line() {
    let db = TestDb::new().await;
    let (ok, out, err) = stride(&db, &["migrate"]);
    assert!(ok, "{err}");
    assert!(out.contains("up to date"));
    let key_file = db.dir.path().join("encryption.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
            0o600,
            "the generated key is private"
        );
    }

    let (ok, out, err) = stride(
        &db,
        &[
            "practice",
            "add",
            "--slug",
            "lakeside",
            "--name",
            "Lakeside PT",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("Lakeside PT"));
    let (ok, _, err) = stride(
        &db,
        &["practice", "add", "--slug", "lakeside", "--name", "Again"],
    );
    assert!(!ok);
    assert!(err.contains("already exists"), "{err}");

    let (ok, out, err) = stride(
        &db,
        &[
            "user",
            "add",
            "--practice",
            "lakeside",
            "--email",
            "Owner@Lakeside.example",
            "--name",
            "Lee Owner",
            "--role",
            "owner",
        ],
    );
    assert!(ok, "{err}");
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("First password: "))
        .expect("a first password is printed")
        .to_string();
    let (ok, _, err) = stride(
        &db,
        &[
            "user",
            "add",
            "--practice",
            "nowhere",
            "--email",
            "x@y.example",
            "--role",
            "owner",
        ],
    );
    assert!(!ok && err.contains("no practice has the slug"), "{err}");
    let (ok, _, err) = stride(
        &db,
        &[
            "user",
            "add",
            "--practice",
            "lakeside",
            "--email",
            "x@y.example",
            "--role",
            "janitor",
        ],
    );
    assert!(!ok && err.contains("janitor"), "{err}");

    let (ok, out, err) = stride(
        &db,
        &[
            "token",
            "create",
            "--practice",
            "lakeside",
            "--role",
            "front_desk",
        ],
    );
    assert!(ok, "{err}");
    let token = out.trim();
    assert!(
        token.starts_with("stride_") && !token.contains('\n'),
        "only the token on stdout: {out}"
    );

    let store = store_of(&db).await;
    let practice = store.practice_by_slug("lakeside").await.unwrap();
    let t = store
        .api_token(token)
        .await
        .unwrap()
        .expect("the printed token works");
    assert_eq!(
        (t.practice_id, t.role),
        (practice.id, stride_core::role::Role::FrontDesk)
    );
    let user = store
        .verify_login("owner@lakeside.example", &password, "127.0.0.1")
        .await
        .expect("the printed password works");
    assert_eq!(
        store.role_in(user.id, practice.id).await.unwrap(),
        Some(stride_core::role::Role::Owner)
    );
    assert!(
        store
            .user_by_email(&EmailAddress::parse("owner@lakeside.example").unwrap())
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn backup_and_key_rotation_from_the_command_line() {
    let db = TestDb::new().await;
    let (ok, _, err) = stride(
        &db,
        &[
            "practice",
            "add",
            "--slug",
            "lakeside",
            "--name",
            "Lakeside PT",
        ],
    );
    assert!(ok, "{err}");
    let store = store_of(&db).await;
    let practice = store.practice_by_slug("lakeside").await.unwrap();
    let actor = stride_store::audit::Actor::system("test");
    let patient = store
        .create_patient(
            practice.id,
            &stride_store::patients::PatientInput {
                first_name: "Rosalind".into(),
                last_name: "Franklin".into(),
                phone: None,
                email: Some(EmailAddress::parse("rosalind@example.com").unwrap()),
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
    // Secrets of the booking features: Stripe keys and a clinician's calendar feed.
    store
        .set_stripe_keys(
            practice.id,
            Some("sk_test_rotate"),
            Some("whsec_rotate"),
            &actor,
        )
        .await
        .unwrap();
    let clinician = store
        .create_clinician(
            practice.id,
            &stride_store::tenancy::ClinicianInput {
                name: "Dr. Key".into(),
                credentials: "PT".into(),
                location_id: None,
                active: true,
            },
        )
        .await
        .unwrap();
    let feed = store
        .reset_calendar_feed(practice.id, clinician.id, &actor)
        .await
        .unwrap();
    // A plan of care with a goal, and a signed (locked) visit note with an addendum.
    let note_visit = signed_note(&store, practice.id, patient.id, clinician.id).await;
    store.close().await;

    let backup = db.dir.path().join("copy.db");
    let (ok, out, err) = stride(&db, &["backup", "--out", backup.to_str().unwrap()]);
    if db.postgres {
        assert!(
            !ok && err.contains("pg_dump"),
            "PostgreSQL is backed up with pg_dump: {err}"
        );
    } else {
        assert!(ok, "{err}");
        assert!(out.contains("Keep the encryption key"));
        assert!(backup.exists());
    }

    let old_key = std::fs::read_to_string(db.dir.path().join("encryption.key")).unwrap();
    let (ok, out, err) = stride(&db, &["rotate-key"]);
    assert!(ok, "{err}");
    assert!(out.contains("Re-encrypted"), "{out}");
    let new_key = std::fs::read_to_string(db.dir.path().join("encryption.key")).unwrap();
    assert_ne!(old_key, new_key);
    assert_eq!(
        Keyring::parse(&new_key).unwrap().ids().len(),
        1,
        "the old key was removed"
    );
    let rotated = store_of(&db).await;
    rotated.verify_keys().await.unwrap();
    assert_eq!(
        rotated
            .patient(practice.id, patient.id, &actor)
            .await
            .unwrap()
            .last_name,
        "Franklin"
    );
    let keys = rotated.stripe_keys(practice.id).await.unwrap().unwrap();
    assert_eq!(keys.secret, "sk_test_rotate");
    assert_eq!(
        rotated
            .calendar_feed_secret(practice.id, clinician.id)
            .await
            .unwrap(),
        Some(feed)
    );
    let note = rotated
        .visit_note(practice.id, note_visit, &actor)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(note.soap.assessment, "Improving");
    assert!(note.signed_at.is_some() && note.intact);
    assert_eq!(note.addenda[0].text, "Called back: fine.");
    let plans = rotated
        .patient_plans(practice.id, patient.id)
        .await
        .unwrap();
    assert_eq!(plans[0].condition, "Rotator cuff tendinopathy");
    // The old key no longer opens the database.
    let stale = Store::connect(&db.url, Keyring::parse(&old_key).unwrap())
        .await
        .unwrap();
    assert!(stale.verify_keys().await.is_err());
}

/// A plan of care, a goal, one completed visit and its signed note with an addendum; the visit.
async fn signed_note(store: &Store, practice_id: i64, patient_id: i64, clinician_id: i64) -> i64 {
    let actor = stride_store::audit::Actor::system("test");
    let location = store
        .create_location(
            practice_id,
            &stride_store::tenancy::LocationInput {
                name: "Main".into(),
                address: "1 Main St".into(),
                main_phone: stride_core::phone::PhoneE164::parse("+13125550100").unwrap(),
                time_zone: stride_core::tz::TimeZoneName::parse("America/Chicago").unwrap(),
                hours: Default::default(),
            },
        )
        .await
        .unwrap();
    let today = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::get("America/Chicago").unwrap())
        .date();
    let plan = store
        .create_plan(
            practice_id,
            patient_id,
            &stride_store::plans::PlanInput {
                clinician_id: Some(clinician_id),
                condition: "Rotator cuff tendinopathy".into(),
                icd10: Some("M75.101".into()),
                areas: vec!["shoulder"],
                prescribed_visits: 6,
                visits_per_week: 2,
                starts_on: today.yesterday().unwrap(),
                certified_on: None,
                certified_until: None,
            },
            &actor,
        )
        .await
        .unwrap();
    store
        .add_goal(
            practice_id,
            plan,
            "Reach overhead",
            "Full range, no pain",
            None,
            &actor,
        )
        .await
        .unwrap();
    let types = store.appointment_types(practice_id).await.unwrap();
    let start = stride_store::now_ms() - 3_600_000;
    let mut a = stride_store::scheduling::NewAppointment::new(
        location.id,
        clinician_id,
        types[1].id,
        start,
        "front desk",
    );
    a.patient_id = Some(patient_id);
    store
        .import_appointments(
            practice_id,
            &[stride_store::scheduling::ImportedAppointment {
                appointment: a,
                status: stride_core::deposits::Attendance::Completed,
                created_at: start,
                status_at: Some(start),
                deposit: None,
            }],
            &actor,
        )
        .await
        .unwrap();
    let visit = store
        .patient_appointments(practice_id, patient_id)
        .await
        .unwrap()[0]
        .0
        .id;
    store
        .save_note(
            practice_id,
            visit,
            &stride_store::plans::NoteInput {
                soap: stride_store::plans::Soap {
                    assessment: "Improving".into(),
                    ..Default::default()
                },
                ..Default::default()
            },
            &actor,
        )
        .await
        .unwrap();
    store.sign_note(practice_id, visit, &actor).await.unwrap();
    store
        .add_addendum(practice_id, visit, "Called back: fine.", &actor)
        .await
        .unwrap();
    visit
}
