//! Tenancy and roles: a user of practice A reads and writes nothing of practice B, by page or API,
//! and a marketer never sees a patient's identity anywhere.

use stride_core::email::EmailAddress;
use stride_core::phone::PhoneE164;
use stride_core::role::Role;
use stride_store::audit::Actor;
use stride_store::patients::PatientInput;

use crate::helpers::*;

fn patient(first: &str, last: &str, phone: &str, email: &str) -> PatientInput {
    PatientInput {
        first_name: first.into(),
        last_name: last.into(),
        phone: Some(PhoneE164::parse(phone).unwrap()),
        email: Some(EmailAddress::parse(email).unwrap()),
        birth_date: Some("1980-05-17".parse().unwrap()),
        address: Some("12 Elm St".into()),
        member_id: Some("MBR12345".into()),
        sms_consent: true,
        email_consent: true,
    }
}

#[tokio::test]
async fn practice_a_reads_and_writes_nothing_of_practice_b() {
    let app = TestApp::spawn().await;
    let a = app.practice("alpha").await;
    let b = app.practice("bravo").await;
    let b_patient = app
        .store
        .create_patient(
            b.id,
            &patient(
                "Bartholomew",
                "Bravoson",
                "(312) 555-0199",
                "bart@bravo.example",
            ),
            &Actor::system("test"),
        )
        .await
        .unwrap();
    let b_location = app.store.locations(b.id).await.unwrap()[0].clone();
    let b_clinician = app
        .store
        .create_clinician(
            b.id,
            &stride_store::tenancy::ClinicianInput {
                name: "Bravo Clinician".into(),
                credentials: "PT".into(),
                location_id: None,
                active: true,
            },
        )
        .await
        .unwrap();
    let b_token = app.token(&b, Role::Owner).await;
    let b_token_row = app.store.api_tokens(b.id).await.unwrap()[0].clone();
    let b_owner = app.user(&b, Role::Owner).await;
    let b_owner_id = app
        .store
        .user_by_email(&EmailAddress::parse(&b_owner).unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    let b_holiday = app
        .store
        .add_holiday(
            b.id,
            b_location.id,
            "2026-12-25".parse().unwrap(),
            "Bravo Christmas",
        )
        .await
        .unwrap();

    // --- API as an owner of A
    let api = Api::new(&app, &app.token(&a, Role::Owner).await);
    for (path, patch) in [
        (
            format!("/api/v1/practices/{}", b.id),
            serde_json::json!({"name": "taken over"}),
        ),
        (
            format!("/api/v1/locations/{}", b_location.id),
            serde_json::json!({"name": "taken over"}),
        ),
        (
            format!("/api/v1/clinicians/{}", b_clinician.id),
            serde_json::json!({"name": "taken over"}),
        ),
        (
            format!("/api/v1/patients/{}", b_patient.id),
            serde_json::json!({"first_name": "taken"}),
        ),
    ] {
        let (status, body) = api.get(&path).await;
        assert_eq!(status, 404, "GET {path}: {body}");
        let (status, body) = api.call("PATCH", &path, Some(patch)).await;
        assert_eq!(status, 404, "PATCH {path}: {body}");
    }
    for path in [
        "/api/v1/practices",
        "/api/v1/locations",
        "/api/v1/clinicians",
        "/api/v1/patients",
        "/api/v1/users",
        "/api/v1/messages",
        "/api/v1/audit-log",
    ] {
        let (status, body) = api.get(path).await;
        assert_eq!(status, 200, "{path}");
        let text = body.to_string();
        for secret in ["bravo", "Bravo", "Bartholomew", "bart@bravo.example"] {
            assert!(!text.contains(secret), "{path} leaked {secret}: {text}");
        }
    }
    let (_, found) = api
        .call(
            "POST",
            "/api/v1/patients/search",
            Some(serde_json::json!({"q": "(312) 555-0199"})),
        )
        .await;
    assert_eq!(
        found["data"].as_array().unwrap().len(),
        0,
        "search stays inside the practice"
    );

    // --- Pages as an owner of A
    let a_owner = app.user(&a, Role::Owner).await;
    let browser = app.login(&a_owner).await;
    for path in [
        format!("/app/patients/{}", b_patient.id),
        format!("/app/settings/locations/{}", b_location.id),
    ] {
        assert_eq!(browser.get(&path).await.status(), 404, "{path}");
    }
    for path in [
        "/app",
        "/app/patients",
        "/app/settings",
        "/app/settings/locations",
        "/app/settings/clinicians",
        "/app/settings/users",
        "/app/settings/tokens",
        "/app/settings/messages",
        "/app/settings/audit",
    ] {
        let (status, body) = browser.text(path).await;
        assert_eq!(status, 200, "{path}");
        for secret in ["bravo", "Bravo", "Bartholomew", "bart@bravo.example"] {
            assert!(!body.contains(secret), "{path} leaked {secret}");
        }
    }
    let writes: Vec<(String, Vec<(&str, String)>)> = vec![
        (
            format!("/app/patients/{}", b_patient.id),
            vec![("first_name", "Taken".into()), ("last_name", "Over".into())],
        ),
        (
            format!("/app/settings/locations/{}", b_location.id),
            vec![
                ("name", "Taken".into()),
                ("main_phone", "(312) 555-0100".into()),
                ("time_zone", "America/Chicago".into()),
            ],
        ),
        (
            format!("/app/settings/clinicians/{}", b_clinician.id),
            vec![("name", "Taken".into())],
        ),
        (
            format!(
                "/app/settings/locations/{}/holidays/{}/delete",
                b_location.id, b_holiday.id
            ),
            vec![],
        ),
        (
            format!("/app/settings/tokens/{}/revoke", b_token_row.id),
            vec![],
        ),
        (format!("/app/settings/users/{b_owner_id}/remove"), vec![]),
        (
            format!("/app/settings/users/{b_owner_id}/role"),
            vec![("role", "marketer".into())],
        ),
        (
            format!("/app/settings/locations/{}/holidays", b_location.id),
            vec![("day", "2026-07-04".into()), ("name", "x".into())],
        ),
    ];
    for (path, fields) in &writes {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let status = browser.post_form(path, &fields).await.status();
        assert!(
            status == 404 || status == 422,
            "POST {path} answered {status}"
        );
    }
    // Practice B is exactly as it was.
    let audit = Actor::system("test");
    assert_eq!(
        app.store
            .patient(b.id, b_patient.id, &audit)
            .await
            .unwrap()
            .first_name,
        "Bartholomew"
    );
    assert_eq!(
        app.store.location(b.id, b_location.id).await.unwrap().name,
        b_location.name
    );
    assert_eq!(
        app.store
            .clinician(b.id, b_clinician.id)
            .await
            .unwrap()
            .name,
        "Bravo Clinician"
    );
    assert_eq!(
        app.store.holidays(b.id, b_location.id).await.unwrap().len(),
        1
    );
    assert_eq!(
        app.store.role_in(b_owner_id, b.id).await.unwrap(),
        Some(Role::Owner)
    );
    assert!(!app.store.api_tokens(b.id).await.unwrap()[0].revoked);
    // B's token still works for B, and only for B.
    let b_api = Api::new(&app, &b_token);
    assert_eq!(
        b_api
            .get(&format!("/api/v1/patients/{}", b_patient.id))
            .await
            .0,
        200
    );
    assert_eq!(
        b_api.get(&format!("/api/v1/practices/{}", a.id)).await.0,
        404
    );
}

#[tokio::test]
async fn a_marketer_never_sees_a_patients_identity() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    app.store
        .create_patient(
            practice.id,
            &patient(
                "Quintessa",
                "Marblehead",
                "(312) 555-0177",
                "quintessa@patients.example",
            ),
            &Actor::system("test"),
        )
        .await
        .unwrap();
    app.store
        .queue_message(
            practice.id,
            &stride_store::messages::NewMessage {
                channel: stride_store::messages::Channel::Sms,
                to: "+13125550177".into(),
                subject: None,
                body: "Hi Quintessa, see you Tuesday".into(),
                purpose: "reminder".into(),
                idempotency_key: None,
            },
        )
        .await
        .unwrap();
    let identity = [
        "Quintessa",
        "Marblehead",
        "555-0177",
        "5550177",
        "quintessa@patients.example",
    ];

    let marketer = app.user(&practice, Role::Marketer).await;
    let b = app.login(&marketer).await;
    for path in [
        "/app",
        "/app/website",
        "/app/leads/report",
        "/app/leads/campaigns",
        "/app/calls",
        "/app/settings",
        "/app/settings/locations",
        "/app/settings/clinicians",
        "/app/settings/messages",
        "/app/settings/audit",
        "/app/settings/audit.csv",
        "/app/patients",
        "/app/patients/1",
    ] {
        let (status, body) = b.text(path).await;
        assert!(status == 200 || status == 403, "{path} answered {status}");
        for s in identity {
            assert!(!body.contains(s), "{path} showed {s} to a marketer");
        }
    }
    assert_eq!(b.get("/app/patients").await.status(), 403);
    let inbox = b.get("/app/leads").await;
    assert_eq!(
        inbox.status(),
        303,
        "the lead inbox sends a marketer to the report"
    );
    assert_eq!(inbox.headers()["location"], "/app/leads/report");
    let (_, overview) = b.text("/app").await;
    assert!(
        !overview.contains("href=\"/app/patients\""),
        "no Patients link for marketers"
    );

    let api = Api::new(&app, &app.token(&practice, Role::Marketer).await);
    for (method, path, body) in [
        ("GET", "/api/v1/patients", None),
        ("GET", "/api/v1/patients/1", None),
        (
            "POST",
            "/api/v1/patients/search",
            Some(serde_json::json!({"q": "Marblehead"})),
        ),
        ("GET", "/api/v1/messages", None),
        ("GET", "/api/v1/audit-log", None),
        ("GET", "/api/v1/users", None),
        ("GET", "/api/v1/care/completion", None),
    ] {
        let (status, resp) = api.call(method, path, body).await;
        assert_eq!(status, 403, "{method} {path}");
        assert_eq!(resp["error"]["code"], "forbidden");
    }
    for path in [
        "/api/v1/practices",
        "/api/v1/locations",
        "/api/v1/clinicians",
    ] {
        let (status, resp) = api.get(path).await;
        assert_eq!(status, 200);
        for s in identity {
            assert!(!resp.to_string().contains(s));
        }
    }
}

#[tokio::test]
async fn each_role_reaches_exactly_its_pages() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    // (path, owner, front desk, clinician, marketer)
    let table: &[(&str, [bool; 4])] = &[
        ("/app", [true, true, true, true]),
        ("/app/patients", [true, true, true, false]),
        ("/app/patients/new", [true, true, true, false]),
        ("/app/settings", [true, true, true, true]),
        ("/app/settings/users", [true, false, false, false]),
        ("/app/settings/tokens", [true, false, false, false]),
        ("/app/settings/messages", [true, true, false, false]),
        ("/app/settings/audit", [true, false, false, false]),
        ("/app/calls", [true, true, false, true]),
        ("/app/leads/import", [true, true, false, false]),
        ("/app/care", [true, true, true, false]),
        ("/app/care/completion", [true, true, true, false]),
    ];
    for (i, role) in Role::ALL.iter().enumerate() {
        let email = app.user(&practice, *role).await;
        let b = app.login(&email).await;
        for (path, allowed) in table {
            let status = b.get(path).await.status().as_u16();
            let expected = if allowed[i] { 200 } else { 403 };
            assert_eq!(status, expected, "{} on {path}", role.label());
        }
    }
}
