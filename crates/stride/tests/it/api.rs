//! The JSON API: resources round-trip, and bad input gets a clear 4xx with nothing half-written.

use stride_core::role::Role;

use crate::helpers::*;

#[tokio::test]
async fn locations_and_clinicians_round_trip_through_the_api() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let api = Api::new(&app, &app.token(&practice, Role::Owner).await);
    let (status, loc) = api
        .call(
            "POST",
            "/api/v1/locations",
            Some(serde_json::json!({
            "name": "Lakeside", "address": "5 Shore Rd", "main_phone": "303.555.0111",
            "time_zone": "America/Denver", "hours": "Mon-Fri 07:00-18:00; Sat 08:00-12:00"})),
        )
        .await;
    assert_eq!(status, 201, "{loc}");
    assert_eq!(loc["data"]["main_phone"], "+13035550111");
    assert_eq!(loc["data"]["hours"], "Mon-Fri 07:00-18:00; Sat 08:00-12:00");
    let id = loc["data"]["id"].as_i64().unwrap();
    let (status, patched) = api
        .call(
            "PATCH",
            &format!("/api/v1/locations/{id}"),
            Some(serde_json::json!({"hours": "Mon-Thu 08:00-17:00"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(patched["data"]["hours"], "Mon-Thu 08:00-17:00");
    assert_eq!(
        patched["data"]["time_zone"], "America/Denver",
        "PATCH keeps what it does not name"
    );

    let (status, c) = api.call("POST", "/api/v1/clinicians", Some(serde_json::json!({"name": "Riley Park", "credentials": "PT, DPT", "location_id": id}))).await;
    assert_eq!(status, 201);
    let cid = c["data"]["id"].as_i64().unwrap();
    let (_, c) = api
        .call(
            "PATCH",
            &format!("/api/v1/clinicians/{cid}"),
            Some(serde_json::json!({"active": false})),
        )
        .await;
    assert_eq!(c["data"]["active"], false);
    assert_eq!(c["data"]["location_id"], id);

    let (status, p) = api
        .call(
            "PATCH",
            &format!("/api/v1/practices/{}", practice.id),
            Some(serde_json::json!({"idle_timeout_minutes": 30})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(p["data"]["idle_timeout_minutes"], 30);
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let api = Api::new(&app, &app.token(&practice, Role::Owner).await);
    let locations_before = app.store.locations(practice.id).await.unwrap().len();

    let practice_path = format!("/api/v1/practices/{}", practice.id);
    let cases: Vec<(&str, &str, serde_json::Value, u16, &str)> = vec![
        (
            "POST",
            "/api/v1/locations",
            serde_json::json!({"name": "X", "main_phone": "(312) 555-0100", "time_zone": "Mars/Olympus_Mons"}),
            422,
            "not a known IANA time zone",
        ),
        (
            "POST",
            "/api/v1/locations",
            serde_json::json!({"name": "X", "main_phone": "12", "time_zone": "America/Chicago"}),
            422,
            "not a valid",
        ),
        (
            "POST",
            "/api/v1/locations",
            serde_json::json!({"name": "X", "main_phone": "(312) 555-0100", "time_zone": "America/Chicago", "hours": "Mon 18:00-07:00"}),
            422,
            "",
        ),
        (
            "POST",
            "/api/v1/locations",
            serde_json::json!({"name": "alpha main", "main_phone": "(312) 555-0100", "time_zone": "America/Chicago"}),
            409,
            "already exists",
        ),
        (
            "POST",
            "/api/v1/locations",
            serde_json::json!({"name": "X", "color": "red"}),
            422,
            "unknown field",
        ),
        (
            "POST",
            "/api/v1/patients",
            serde_json::json!({"first_name": "A"}),
            422,
            "last name is required",
        ),
        (
            "POST",
            "/api/v1/patients",
            serde_json::json!({"first_name": "A", "last_name": "B", "email": "not-an-email"}),
            422,
            "",
        ),
        (
            "POST",
            "/api/v1/patients",
            serde_json::json!({"first_name": "A", "last_name": "B", "birth_date": "2999-01-01"}),
            422,
            "in the past",
        ),
        (
            "POST",
            "/api/v1/users",
            serde_json::json!({"email": "x@alpha.example", "role": "janitor"}),
            422,
            "",
        ),
        (
            "PATCH",
            practice_path.as_str(),
            serde_json::json!({"idle_timeout_minutes": 0}),
            422,
            "between 1 and 720",
        ),
        (
            "GET",
            "/api/v1/patients/not-a-number",
            serde_json::Value::Null,
            400,
            "bad id",
        ),
    ];
    for (method, path, body, status, message) in cases {
        let (got, resp) = api
            .call(method, path, (!body.is_null()).then_some(body.clone()))
            .await;
        assert_eq!(got, status, "{method} {path} {body}: {resp}");
        assert!(resp["error"]["code"].is_string(), "error shape: {resp}");
        let text = resp["error"]["message"].as_str().unwrap();
        assert!(
            text.contains(message),
            "{method} {path}: message “{text}” should mention “{message}”"
        );
        assert!(
            !text.contains("sqlx") && !text.contains("SQL") && !text.contains("panicked"),
            "no internals: {text}"
        );
    }
    assert_eq!(
        app.store.locations(practice.id).await.unwrap().len(),
        locations_before,
        "nothing half-written"
    );
    assert_eq!(app.store.patient_count(practice.id).await.unwrap(), 0);

    // Malformed JSON, wrong content type, and an oversized body.
    let client = reqwest::Client::new();
    let token = api.token.clone();
    let r = client
        .post(app.url("/api/v1/patients"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"first_name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "bad_request"
    );
    let r = client
        .post(app.url("/api/v1/patients"))
        .bearer_auth(&token)
        .body("first_name=A")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("application/json"));
    let huge = format!("{{\"first_name\": \"{}\"}}", "A".repeat(2 * 1024 * 1024));
    let r = client
        .post(app.url("/api/v1/patients"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    // Tokens: missing, unknown, revoked.
    let r = client
        .get(app.url("/api/v1/locations"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"]["code"],
        "unauthorized"
    );
    let r = client
        .get(app.url("/api/v1/locations"))
        .bearer_auth("stride_made_up")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let t = app.store.api_tokens(practice.id).await.unwrap()[0].id;
    app.store.revoke_api_token(practice.id, t).await.unwrap();
    assert_eq!(
        api.get("/api/v1/locations").await.0,
        401,
        "a revoked token stops working"
    );
}

#[tokio::test]
async fn pages_keep_what_was_typed_when_a_form_has_a_mistake() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let owner = app.user(&practice, Role::Owner).await;
    let b = app.login(&owner).await;
    let resp = b
        .post_form(
            "/app/settings/locations",
            &[
                ("name", "Second Street"),
                ("address", "22 Second St"),
                ("main_phone", "(312) 555-0101"),
                ("time_zone", "America/Chicgo"),
                ("hours", "Mon-Fri 08:00-17:00"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(page.contains("not a known IANA time zone"));
    assert!(
        page.contains("value=\"Second Street\"")
            && page.contains("value=\"22 Second St\"")
            && page.contains("value=\"America/Chicgo\"")
    );
    assert_eq!(app.store.locations(practice.id).await.unwrap().len(), 1);

    let resp = b
        .post_form(
            "/app/patients",
            &[
                ("first_name", "Hal"),
                ("last_name", "Jordan"),
                ("phone", "555"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(page.contains("value=\"Hal\"") && page.contains("value=\"Jordan\""));
    assert_eq!(app.store.patient_count(practice.id).await.unwrap(), 0);

    // API tokens made in the page are shown once and work.
    let resp = b
        .post_form(
            "/app/settings/tokens",
            &[("name", "Reporting"), ("role", "marketer")],
        )
        .await;
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.unwrap();
    let secret =
        extract(&page, "<code class=\"secret\">").map(|s| s.split('<').next().unwrap().to_string());
    let secret = secret.unwrap_or_else(|| {
        let start = page.find("stride_").unwrap();
        page[start..].split('<').next().unwrap().to_string()
    });
    assert_eq!(
        Api::new(&app, &secret).get("/api/v1/locations").await.0,
        200
    );
    let (_, later) = b.text("/app/settings/tokens").await;
    assert!(!later.contains(&secret), "never shown again");
}
