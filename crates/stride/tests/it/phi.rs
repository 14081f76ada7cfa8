//! Patient data at rest: encrypted in the database file and dumps, absent from logs, every access
//! audited in a log nothing can change, and key rotation that loses nothing.

use stride_core::role::Role;
use stride_store::Keyring;
use stride_store::audit::Actor;
use stride_store::patients::PatientQuery;

use crate::helpers::*;

const NAME: &str = "Zebulon";
const SURNAME: &str = "Quackenbush";
const PHONE_DIGITS: &str = "7735550123";
const EMAIL: &str = "zebulon.quackenbush@phi-test.example";
const MEMBER: &str = "ZQ99887766";

async fn create_patient_via_api(app: &TestApp) -> (i64, Api) {
    let practice = app.practice("alpha").await;
    let api = Api::new(app, &app.token(&practice, Role::FrontDesk).await);
    let (status, body) = api
        .call(
            "POST",
            "/api/v1/patients",
            Some(serde_json::json!({
                "first_name": NAME, "last_name": SURNAME, "phone": "(773) 555-0123", "email": EMAIL,
                "birth_date": "1977-08-09", "member_id": MEMBER, "address": "99 Unusual Lane", "sms_consent": true
            })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["phone"], "+17735550123");
    let id = body["data"]["id"].as_i64().unwrap();
    let (status, got) = api.get(&format!("/api/v1/patients/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got["data"]["last_name"], SURNAME);
    let (_, found) = api
        .call(
            "POST",
            "/api/v1/patients/search",
            Some(serde_json::json!({"q": EMAIL})),
        )
        .await;
    assert_eq!(
        found["data"][0]["id"], id,
        "exact lookup by email through the blind index"
    );
    let (_, found) = api
        .call(
            "POST",
            "/api/v1/patients/search",
            Some(serde_json::json!({"q": "773.555.0123"})),
        )
        .await;
    assert_eq!(
        found["data"][0]["id"], id,
        "exact lookup by phone through the blind index"
    );
    (id, api)
}

/// A lead with the same identifiers, a message and a follow-up task: all encrypted like a patient's.
async fn create_lead_via_api(api: &Api) -> i64 {
    let (status, body) = api
        .call(
            "POST",
            "/api/v1/leads",
            Some(serde_json::json!({
                "first_name": NAME, "last_name": SURNAME, "phone": "773-555-0123", "email": EMAIL,
                "service": "Back pain", "message": "I live on Unusual Lane", "origin": "form"
            })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["data"]["id"].as_i64().unwrap();
    let (status, body) = api
        .call(
            "POST",
            &format!("/api/v1/leads/{id}/tasks"),
            Some(serde_json::json!({"title": format!("Call {NAME} back"), "due_at": "2030-01-02T15:00:00Z"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    id
}

fn assert_absent(haystack: &[u8], where_: &str) {
    let text = String::from_utf8_lossy(haystack);
    for needle in [
        NAME,
        SURNAME,
        PHONE_DIGITS,
        "555-0123",
        EMAIL,
        MEMBER,
        "Unusual Lane",
        "1977-08-09",
    ] {
        assert!(!text.contains(needle), "{needle} appears in {where_}");
    }
}

#[tokio::test]
async fn patient_identifiers_never_reach_the_database_file_a_dump_or_the_logs() {
    let app = TestApp::spawn().await;
    let (_id, api) = create_patient_via_api(&app).await;
    create_lead_via_api(&api).await;
    if app.db.postgres {
        let out = std::process::Command::new("pg_dump")
            .arg("--data-only")
            .arg(&app.db.url)
            .output()
            .expect("pg_dump runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.len() > 1000, "the dump has content");
        assert_absent(&out.stdout, "the PostgreSQL dump");
    } else {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(app.store.pool())
            .await
            .unwrap();
        for file in ["stride.db", "stride.db-wal"] {
            if let Ok(bytes) = std::fs::read(app.db.dir.path().join(file)) {
                assert_absent(&bytes, file);
            }
        }
    }
    let logs = captured_logs();
    assert!(logs.contains("/api/v1/patients"), "requests were logged");
    assert_absent(logs.as_bytes(), "the logs");
}

#[tokio::test]
async fn every_read_and_change_is_audited_and_the_log_cannot_be_altered() {
    let app = TestApp::spawn().await;
    let (id, api) = create_patient_via_api(&app).await;
    let (status, _) = api
        .call(
            "PATCH",
            &format!("/api/v1/patients/{id}"),
            Some(serde_json::json!({"email_consent": true})),
        )
        .await;
    assert_eq!(status, 200);
    let practice = app.store.practice_by_slug("alpha").await.unwrap();
    let entries = app
        .store
        .audit_entries(practice.id, None, 100)
        .await
        .unwrap();
    let actions: Vec<(String, Option<i64>)> = entries
        .iter()
        .filter(|e| e.entity == "patient")
        .map(|e| (e.action.clone(), e.entity_id))
        .collect();
    assert!(actions.contains(&("create".into(), Some(id))));
    assert!(actions.contains(&("read".into(), Some(id))));
    assert!(actions.contains(&("update".into(), Some(id))));
    assert!(
        actions.iter().any(|(a, _)| a == "list"),
        "searches are audited"
    );
    let create = entries
        .iter()
        .find(|e| e.action == "create" && e.entity == "patient")
        .unwrap();
    assert!(create.actor.contains("API token"), "who: {}", create.actor);
    assert_eq!(create.ip, "127.0.0.1", "from where");
    assert!(create.at > 0, "when");
    assert_absent(
        serde_json::to_string(&entries).unwrap().as_bytes(),
        "the audit log",
    );

    // Nothing can edit or delete it, not even SQL.
    let edit = sqlx::query("UPDATE audit_log SET actor = 'someone else'")
        .execute(app.store.pool())
        .await;
    assert!(edit.is_err(), "UPDATE refused");
    let delete = sqlx::query("DELETE FROM audit_log")
        .execute(app.store.pool())
        .await;
    assert!(delete.is_err(), "DELETE refused");
    assert_eq!(
        app.store
            .audit_entries(practice.id, None, 1000)
            .await
            .unwrap()
            .len(),
        entries.len()
    );

    // Owners view and export it.
    let owner = app.user(&practice, Role::Owner).await;
    let b = app.login(&owner).await;
    let (status, page) = b.text("/app/settings/audit").await;
    assert_eq!(status, 200);
    assert!(page.contains("API token"));
    let resp = b.get("/app/settings/audit.csv").await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = resp.text().await.unwrap();
    assert!(csv.starts_with("id,at_utc,actor,action,entity,entity_id,ip,detail"));
    assert!(
        csv.lines().count() > entries.len(),
        "every entry, plus the header"
    );
}

#[tokio::test]
async fn rotating_the_key_re_encrypts_everything_and_keeps_lookups_working() {
    let app = TestApp::spawn().await;
    let (id, api) = create_patient_via_api(&app).await;
    let lead_id = create_lead_via_api(&api).await;
    let practice = app.store.practice_by_slug("alpha").await.unwrap();
    // A call and a STOP text from the patient's phone to a tracking number.
    let actor = Actor::system("test");
    let caller = stride_core::phone::PhoneE164::parse("7735550123").unwrap();
    app.store
        .create_tracking_number(
            practice.id,
            &stride_store::calls::NumberInput {
                number: stride_core::phone::PhoneE164::parse("3125550199").unwrap(),
                label: String::new(),
                source: "Google Business Profile".into(),
                channel: "organic_search".into(),
                campaign_id: None,
                location_id: None,
                pool: false,
                active: true,
            },
            &actor,
        )
        .await
        .unwrap();
    let route = app
        .store
        .number_route("+13125550199")
        .await
        .unwrap()
        .unwrap();
    app.store
        .start_call(&route, "CA1", Some(&caller), "ringing", 1)
        .await
        .unwrap();
    app.store
        .receive_sms(&route, "SM1", &caller, "STOP", 1)
        .await
        .unwrap();
    let next: Keyring = app.keys.with_new_current();
    let rotated = app.store.with_keys(next.clone());
    let n = rotated.reencrypt_all().await.unwrap();
    assert!(n >= 1);
    // Only the new key is needed now.
    let only_new = stride_store::Store::connect(&app.db.url, next.only_current())
        .await
        .unwrap();
    only_new.verify_keys().await.unwrap();
    let p = only_new.patient(practice.id, id, &actor).await.unwrap();
    assert_eq!(
        (p.first_name.as_str(), p.email.as_deref()),
        (NAME, Some(EMAIL))
    );
    let found = only_new
        .patients(
            practice.id,
            &PatientQuery::Phone(stride_core::phone::PhoneE164::parse("7735550123").unwrap()),
            10,
            &actor,
        )
        .await
        .unwrap();
    assert_eq!(
        found.len(),
        1,
        "blind indexes were recomputed under the new key"
    );
    let lead = only_new.lead(practice.id, lead_id, &actor).await.unwrap();
    assert_eq!(
        (lead.last_name.as_str(), lead.message.as_str()),
        (SURNAME, "I live on Unusual Lane")
    );
    let tasks = only_new
        .lead_tasks(practice.id, Some(lead_id), 10)
        .await
        .unwrap();
    assert_eq!(tasks[0].title, format!("Call {NAME} back"));
    let mut again = stride_store::leads::LeadInput::new(stride_core::leads::Origin::Call);
    again.phone = Some(stride_core::phone::PhoneE164::parse("7735550123").unwrap());
    let (captured, row) = only_new
        .capture_lead(practice.id, &again, &actor)
        .await
        .unwrap();
    assert_eq!(
        (captured, row.id),
        (stride_store::leads::Captured::Matched, lead_id),
        "the lead's blind index was recomputed too"
    );
    // The caller, the text and the opt-out were rotated too, and still match the patient.
    let finished = only_new
        .finish_call(practice.id, "CA1", "completed", 2)
        .await
        .unwrap();
    assert_eq!(
        finished.call.auto_class,
        Some(stride_core::calls::CallClass::ExistingPatient)
    );
    let calls = only_new
        .calls(practice.id, 0, 10, 10, &actor)
        .await
        .unwrap();
    assert_eq!(calls[0].caller.as_deref(), Some("+17735550123"));
    assert!(only_new.is_opted_out(practice.id, &caller).await.unwrap());
    let texts = only_new.inbound_sms(practice.id, 10, &actor).await.unwrap();
    assert_eq!(texts[0].body, "STOP");
    // The old key alone can no longer read anything.
    let old_only = stride_store::Store::connect(&app.db.url, app.keys.only_current())
        .await
        .unwrap();
    assert!(old_only.verify_keys().await.is_err());
    assert!(old_only.patient(practice.id, id, &actor).await.is_err());
}
