//! Leads through the API: one person is one lead however they reach the practice, the lifecycle
//! and follow-up, and what a marketer may see.

use serde_json::{Value, json};
use stride_core::role::Role;
use stride_store::audit::Actor;
use stride_store::leads::{Inbox, LeadInput};

use crate::helpers::*;

async fn post(api: &Api, path: &str, body: Value) -> (u16, Value) {
    api.call("POST", path, Some(body)).await
}

#[tokio::test]
async fn the_same_person_by_form_and_by_call_is_one_lead_with_both_histories() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let desk = Api::new(&app, &app.token(&practice, Role::FrontDesk).await);

    let (status, form) = post(
        &desk,
        "/api/v1/leads",
        json!({"first_name": "Ana", "last_name": "Ruiz", "email": "Ana.Ruiz@Example.com", "service": "Back pain",
               "origin": "form", "message": "Mornings are best", "source": "Google", "channel": "organic_search"}),
    )
    .await;
    assert_eq!(status, 201, "{form}");
    assert_eq!(form["captured"], "created");
    let id = form["data"]["id"].as_i64().unwrap();
    assert_eq!(form["data"]["stage"], "new");
    assert_eq!(form["data"]["first_touch"]["source"], "Google");
    assert_eq!(form["data"]["attribution"], "front_desk");

    // She calls the next day from her phone and gives the same email.
    let (status, call) = post(
        &desk,
        "/api/v1/leads",
        json!({"phone": "(312) 555-0188", "email": "ana.ruiz@example.com", "origin": "call",
               "source": "Yelp", "channel": "referral"}),
    )
    .await;
    assert_eq!(status, 200, "{call}");
    assert_eq!(call["captured"], "matched");
    assert_eq!(call["data"]["id"], id);
    assert_eq!(
        call["data"]["first_touch"]["source"], "Google",
        "first touch kept"
    );
    assert_eq!(
        call["data"]["last_touch"]["source"], "Yelp",
        "last touch moved"
    );

    let (status, lead) = desk.get(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(lead["data"]["first_name"], "Ana");
    assert_eq!(
        lead["data"]["phone"], "+13125550188",
        "the call filled in the phone"
    );
    let inquiries: Vec<&Value> = lead["activities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "inquiry")
        .collect();
    assert_eq!(inquiries.len(), 2);
    assert_eq!(inquiries[0]["detail"], "Website form: Back pain");
    assert_eq!(inquiries[0]["body"], "Mornings are best");
    assert_eq!(inquiries[1]["detail"], "Phone call");

    // A second lead for the same person, entered before the match could be made, is merged.
    let (status, other) = post(
        &desk,
        "/api/v1/leads",
        json!({"first_name": "Ana", "phone": "312 555 0199", "origin": "front_desk", "message": "Walk-in"}),
    )
    .await;
    assert_eq!(status, 201, "{other}");
    let other_id = other["data"]["id"].as_i64().unwrap();
    let (status, task) = post(
        &desk,
        &format!("/api/v1/leads/{other_id}/tasks"),
        json!({"title": "Send the intake form", "due_at": "2030-05-01T14:00:00Z"}),
    )
    .await;
    assert_eq!(status, 201, "{task}");
    let (status, merged) = post(
        &desk,
        &format!("/api/v1/leads/{id}/merge"),
        json!({"other_id": other_id}),
    )
    .await;
    assert_eq!(status, 200, "{merged}");
    let (status, _) = desk.get(&format!("/api/v1/leads/{other_id}")).await;
    assert_eq!(status, 404, "the merged lead is gone from view");
    let (_, lead) = desk.get(&format!("/api/v1/leads/{id}")).await;
    let kinds: Vec<&str> = lead["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["inquiry", "inquiry", "inquiry", "merged"],
        "both histories kept"
    );
    assert_eq!(lead["tasks"][0]["title"], "Send the intake form");
    let (_, all) = desk.get("/api/v1/leads?view=all").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 1);

    // A retried request with the same key changes nothing.
    for expected in ["created", "duplicate"] {
        let (_, r) = post(
            &desk,
            "/api/v1/leads",
            json!({"email": "sam@example.com", "origin": "api", "external_key": "crm-1042"}),
        )
        .await;
        assert_eq!(r["captured"], expected);
    }

    // Bad input: a clear message, nothing stored.
    for (body, message) in [
        (
            json!({"first_name": "No Contact"}),
            "a lead needs a phone number or an email address to follow up",
        ),
        (json!({"phone": "12"}), "phone"),
        (
            json!({"email": "x@example.com", "origin": "fax"}),
            "is not a lead origin",
        ),
        (
            json!({"email": "x@example.com", "channel": "carrier pigeon"}),
            "not a marketing channel",
        ),
    ] {
        let (status, err) = post(&desk, "/api/v1/leads", body).await;
        assert_eq!(status, 422, "{err}");
        assert!(
            err["error"]["message"].as_str().unwrap().contains(message),
            "{err}"
        );
    }
    let (_, all) = desk.get("/api/v1/leads?view=all").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_lead_is_followed_up_qualified_and_closed_with_speed_to_lead_measured() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let desk = Api::new(&app, &app.token(&practice, Role::FrontDesk).await);
    let mut ids = Vec::new();
    for email in ["first@example.com", "second@example.com"] {
        let (status, r) = post(
            &desk,
            "/api/v1/leads",
            json!({"email": email, "service": "Knee pain", "origin": "form"}),
        )
        .await;
        assert_eq!(status, 201);
        ids.push(r["data"]["id"].as_i64().unwrap());
    }
    let ids_of = |v: &Value| -> Vec<i64> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_i64().unwrap())
            .collect()
    };
    let (_, newest) = desk.get("/api/v1/leads").await;
    assert_eq!(ids_of(&newest), [ids[1], ids[0]], "newest first");
    let (_, untouched) = desk.get("/api/v1/leads?view=untouched").await;
    assert_eq!(
        ids_of(&untouched),
        [ids[0], ids[1]],
        "longest waiting first"
    );
    assert!(untouched["data"][0]["speed_to_lead_ms"].is_null());

    // A note is not contact; a call is.
    let (status, _) = post(
        &desk,
        &format!("/api/v1/leads/{}/activities", ids[0]),
        json!({"kind": "note", "body": "Looked up her insurance"}),
    )
    .await;
    assert_eq!(status, 201);
    let (_, untouched) = desk.get("/api/v1/leads?view=untouched").await;
    assert_eq!(ids_of(&untouched), [ids[0], ids[1]]);
    let (_, called) = post(
        &desk,
        &format!("/api/v1/leads/{}/activities", ids[0]),
        json!({"kind": "call", "body": "Left a voicemail"}),
    )
    .await;
    assert!(called["data"]["speed_to_lead_ms"].as_i64().unwrap() >= 0);
    let (_, untouched) = desk.get("/api/v1/leads?view=untouched").await;
    assert_eq!(ids_of(&untouched), [ids[1]]);

    // Screening makes the MQL an SQL with a score.
    let (status, q) = post(
        &desk,
        &format!("/api/v1/leads/{}/qualification", ids[0]),
        json!({"interest": "high", "fit": "yes", "likelihood": "likely"}),
    )
    .await;
    assert_eq!(status, 200, "{q}");
    assert_eq!(q["data"]["stage"], "qualified");
    assert_eq!(q["data"]["score"], 100);
    assert!(q["data"]["qualified_at"].is_i64());

    let stage = |id: i64, body: Value| {
        let desk = &desk;
        async move { post(desk, &format!("/api/v1/leads/{id}/stage"), body).await }
    };
    let (status, err) = stage(ids[1], json!({"stage": "lost"})).await;
    assert_eq!(status, 422, "a reason is required: {err}");
    let (status, lost) = stage(
        ids[1],
        json!({"stage": "lost", "lost_reason": "chose_another_clinic"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(lost["data"]["lost_reason"], "chose_another_clinic");
    let (_, booked) = stage(ids[0], json!({"stage": "evaluation_booked"})).await;
    assert!(booked["data"]["booked_at"].is_i64());
    let (_, patient) = stage(ids[0], json!({"stage": "became_patient"})).await;
    assert_eq!(patient["data"]["stage"], "became_patient");
    let (status, err) = stage(ids[0], json!({"stage": "lost", "lost_reason": "price"})).await;
    assert_eq!(status, 409);
    assert_eq!(
        err["error"]["message"],
        "a lead cannot move from “Became a patient” to “Lost”"
    );
    let (status, _) = stage(ids[0], json!({"stage": "sold"})).await;
    assert_eq!(status, 422);

    // The lost lead asks again: reopened as new, with the reason cleared.
    let (_, again) = post(
        &desk,
        "/api/v1/leads",
        json!({"email": "second@example.com", "origin": "call"}),
    )
    .await;
    assert_eq!(again["captured"], "matched");
    assert_eq!(again["data"]["stage"], "new");
    assert!(again["data"]["lost_reason"].is_null());

    // Tasks: due soonest first; done ones disappear.
    let (_, t) = post(
        &desk,
        &format!("/api/v1/leads/{}/tasks", ids[1]),
        json!({"title": "Call back", "due_at": "2030-01-01T09:00:00-05:00"}),
    )
    .await;
    let task_id = t["data"]["id"].as_i64().unwrap();
    let (status, err) = post(
        &desk,
        &format!("/api/v1/leads/{}/tasks", ids[1]),
        json!({"title": "Call back", "due_at": "tomorrow"}),
    )
    .await;
    assert_eq!(status, 422, "{err}");
    let (_, lead) = desk.get(&format!("/api/v1/leads/{}", ids[1])).await;
    assert_eq!(lead["tasks"][0]["due_at"], 1_893_506_400_000_i64);
    let (status, _) = post(
        &desk,
        &format!("/api/v1/lead-tasks/{task_id}/done"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let (_, lead) = desk.get(&format!("/api/v1/leads/{}", ids[1])).await;
    assert_eq!(lead["tasks"].as_array().unwrap().len(), 0);

    // Another practice's lead is not there.
    let other = app.practice("beta").await;
    let theirs = Api::new(&app, &app.token(&other, Role::Owner).await);
    let (status, _) = theirs.get(&format!("/api/v1/leads/{}", ids[0])).await;
    assert_eq!(status, 404);
    let (status, _) = post(
        &theirs,
        &format!("/api/v1/leads/{}/stage", ids[1]),
        json!({"stage": "qualified"}),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_marketer_sees_sources_stages_and_counts_but_never_who() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let desk = Api::new(&app, &app.token(&practice, Role::FrontDesk).await);
    let (_, r) = post(
        &desk,
        "/api/v1/leads",
        json!({"first_name": "Priscilla", "last_name": "Vantongeren", "phone": "(415) 555-0142",
               "email": "priscilla.v@example.com", "service": "Shoulder pain", "message": "After my surgery",
               "source": "Facebook", "channel": "paid_social", "campaign": "Spring shoulders"}),
    )
    .await;
    let id = r["data"]["id"].as_i64().unwrap();
    let marketer = Api::new(&app, &app.token(&practice, Role::Marketer).await);
    let (status, list) = marketer.get("/api/v1/leads?view=all").await;
    assert_eq!(status, 200);
    assert_eq!(list["data"][0]["service"], "Shoulder pain");
    assert_eq!(
        list["data"][0]["first_touch"]["campaign"],
        "Spring shoulders"
    );
    assert_eq!(list["data"][0]["stage"], "new");
    let (status, one) = marketer.get(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(status, 200);
    for body in [list.to_string(), one.to_string()] {
        for secret in [
            "Priscilla",
            "Vantongeren",
            "555-0142",
            "5550142",
            "priscilla.v@",
            "surgery",
        ] {
            assert!(
                !body.contains(secret),
                "{secret} shown to a marketer: {body}"
            );
        }
    }
    let (status, _) = post(
        &marketer,
        "/api/v1/leads",
        json!({"email": "m@example.com"}),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = post(
        &marketer,
        &format!("/api/v1/leads/{id}/stage"),
        json!({"stage": "qualified"}),
    )
    .await;
    assert_eq!(status, 403);

    // Identity reads are audited; the marketer's anonymous reads reveal nothing to audit.
    let owner = Api::new(&app, &app.token(&practice, Role::Owner).await);
    owner.get(&format!("/api/v1/leads/{id}")).await;
    let (_, log) = owner.get("/api/v1/audit-log").await;
    let entries = log["data"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "read" && e["entity"] == "lead" && e["entity_id"] == id),
        "{log}"
    );
    assert!(
        entries
            .iter()
            .any(|e| e["action"] == "create" && e["entity"] == "lead"),
        "{log}"
    );
}

#[tokio::test]
async fn campaigns_carry_spend_and_the_report_gives_cost_per_lead_sql_and_patient() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let marketer = Api::new(&app, &app.token(&practice, Role::Marketer).await);
    let desk = Api::new(&app, &app.token(&practice, Role::FrontDesk).await);
    let tz = app.store.practice_time_zone(practice.id).await.unwrap();
    let today = jiff::Timestamp::now().to_zoned_datetime(tz).date();
    let month = format!("{:04}-{:02}", today.year(), today.month());

    let (status, ppc) = post(
        &marketer,
        "/api/v1/campaigns",
        json!({"name": "Spring PPC", "kind": "paid_ads", "utm_source": "google", "utm_medium": "cpc", "utm_campaign": "spring_ppc"}),
    )
    .await;
    assert_eq!(status, 201, "{ppc}");
    assert_eq!(ppc["data"]["direction"], "outbound");
    let ppc_id = ppc["data"]["id"].as_i64().unwrap();
    let (status, blog) = post(
        &marketer,
        "/api/v1/campaigns",
        json!({"name": "Back-pain blog", "kind": "content"}),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(blog["data"]["direction"], "inbound");
    let (status, err) = post(
        &marketer,
        "/api/v1/campaigns",
        json!({"name": "Spring PPC", "kind": "display"}),
    )
    .await;
    assert_eq!(
        (status, err["error"]["message"].as_str()),
        (409, Some("a campaign with that name already exists"))
    );
    let (status, err) = post(&marketer, "/api/v1/campaigns", json!({"name": "Radio"})).await;
    assert_eq!(status, 422, "{err}");
    for (body, code) in [
        (json!({"month": month, "amount_cents": 60_000}), 200),
        (json!({"month": "2026-13", "amount_cents": 100}), 422),
        (json!({"month": month, "amount_cents": -5}), 422),
    ] {
        let (status, r) = post(
            &marketer,
            &format!("/api/v1/campaigns/{ppc_id}/spend"),
            body,
        )
        .await;
        assert_eq!(status, code, "{r}");
    }
    let (status, _) = post(
        &desk,
        &format!("/api/v1/campaigns/{ppc_id}/spend"),
        json!({"month": month, "amount_cents": 1}),
    )
    .await;
    assert_eq!(status, 403, "the front desk does not manage campaigns");

    // Four leads from the paid campaign (found by its UTM value), one from organic search.
    let mut ppc_leads = Vec::new();
    for i in 0..4 {
        let (status, r) = post(
            &desk,
            "/api/v1/leads",
            json!({"phone": format!("312555010{i}"), "source": "Google", "channel": "paid_search", "campaign": "spring_ppc"}),
        )
        .await;
        assert_eq!(status, 201, "{r}");
        assert_eq!(r["data"]["campaign_id"], ppc_id);
        ppc_leads.push(r["data"]["id"].as_i64().unwrap());
    }
    post(
        &desk,
        "/api/v1/leads",
        json!({"email": "organic@example.com", "source": "Google", "channel": "organic_search"}),
    )
    .await;
    // Two become SQLs, one books, and that one becomes a patient.
    for id in &ppc_leads[..2] {
        post(
            &desk,
            &format!("/api/v1/leads/{id}/qualification"),
            json!({"interest": "high", "fit": "yes", "likelihood": "maybe"}),
        )
        .await;
    }
    for stage in ["evaluation_booked", "became_patient"] {
        let (status, r) = post(
            &desk,
            &format!("/api/v1/leads/{}/stage", ppc_leads[0]),
            json!({"stage": stage}),
        )
        .await;
        assert_eq!(status, 200, "{r}");
    }
    post(
        &desk,
        &format!("/api/v1/leads/{}/stage", ppc_leads[3]),
        json!({"stage": "lost", "lost_reason": "price"}),
    )
    .await;

    // The front desk called one back straight away; the others still wait.
    post(
        &desk,
        &format!("/api/v1/leads/{}/activities", ppc_leads[1]),
        json!({"kind": "call", "body": "Left a voicemail"}),
    )
    .await;

    let (status, report) = marketer
        .get("/api/v1/lead-report?period=30d&by=campaign")
        .await;
    assert_eq!(status, 200, "{report}");
    let speed = &report["data"]["speed"];
    assert_eq!(
        (&speed["leads"], &speed["contacted"], &speed["within_5_min"]),
        (&json!(5), &json!(1), &json!(1)),
        "{speed}"
    );
    assert!(speed["median_ms"].as_i64().unwrap() < 60_000);
    let rows = report["data"]["rows"].as_array().unwrap();
    let spring = rows.iter().find(|r| r["label"] == "Spring PPC").unwrap();
    assert_eq!(
        (
            &spring["leads"],
            &spring["sqls"],
            &spring["booked"],
            &spring["patients"],
            &spring["lost"]
        ),
        (&json!(4), &json!(2), &json!(1), &json!(1), &json!(1))
    );
    assert_eq!(spring["spend_cents"], 60_000);
    assert_eq!(spring["cost_per_lead_cents"], 15_000);
    assert_eq!(spring["cost_per_sql_cents"], 30_000);
    assert_eq!(spring["cost_per_patient_cents"], 60_000);
    assert_eq!(spring["lead_to_sql"], 50.0);
    assert_eq!(spring["booked_to_patient"], 100.0);
    let none = rows.iter().find(|r| r["label"] == "No campaign").unwrap();
    assert_eq!(none["leads"], 1);
    assert!(none["cost_per_lead_cents"].is_null(), "no spend, no cost");
    assert_eq!(report["data"]["total"]["leads"], 5);

    let (_, by_channel) = marketer.get("/api/v1/lead-report?period=30d").await;
    let rows = by_channel["data"]["rows"].as_array().unwrap();
    let paid = rows.iter().find(|r| r["key"] == "paid_search").unwrap();
    assert_eq!(
        (&paid["leads"], &paid["spend_cents"], &paid["direction"]),
        (&json!(4), &json!(60_000), &json!("outbound"))
    );
    let months = by_channel["data"]["months"].as_array().unwrap();
    let this = months.iter().find(|m| m["month"] == month).unwrap();
    assert_eq!(
        (&this["inbound"], &this["outbound"], &this["spend_cents"]),
        (&json!(1), &json!(4), &json!(60_000))
    );
    let (status, _) = marketer.get("/api/v1/lead-report?by=zodiac").await;
    assert_eq!(status, 400);
}

const SAFARI: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15";

/// A visitor's browser: the tracker's beacons and the form come from the same address and agent.
fn visitor() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(SAFARI)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn beacon(app: &TestApp, client: &reqwest::Client, body: Value) {
    let status = client
        .post(app.url("/api/event"))
        .header("content-type", "text/plain")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 202);
}

#[tokio::test]
async fn the_request_form_makes_a_lead_with_the_visitors_website_source_and_counts_a_conversion() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let site = app
        .store
        .create_site(practice.id, "alphapt.example", &[], false)
        .await
        .unwrap();
    let client = visitor();
    // The visitor arrives from a paid search ad and reads a condition page, then opens the form.
    beacon(
        &app,
        &client,
        json!({"n": "pageview", "d": "alphapt.example", "r": "https://www.google.com/",
               "u": "https://alphapt.example/conditions/sciatica?utm_source=google&utm_medium=cpc&utm_campaign=sciatica_ads"}),
    )
    .await;
    beacon(
        &app,
        &client,
        json!({"n": "pageview", "d": "alphapt.example", "u": "https://alphapt.example/contact"}),
    )
    .await;
    let mut visit = Vec::new();
    for _ in 0..200 {
        visit = app
            .store
            .recent_events(practice.id, site.id, 10)
            .await
            .unwrap();
        if visit.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(visit.len(), 2, "the visit was stored");

    let page = client
        .get(app.url("/p/alpha/request"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = |r: &reqwest::Response| {
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string()
    };
    assert!(
        csp(&page).contains("frame-ancestors 'none'"),
        "not framed by default"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("Request an appointment"), "{html}");
    // Embedded on the clinic's own site: only its domains may frame it.
    let embedded = client
        .get(app.url("/p/alpha/request?embed=1"))
        .send()
        .await
        .unwrap();
    assert!(
        csp(&embedded).contains("frame-ancestors 'self' alphapt.example:* *.alphapt.example:*"),
        "{}",
        csp(&embedded)
    );
    assert!(
        embedded
            .text()
            .await
            .unwrap()
            .contains("name=\"embed\" value=\"1\"")
    );

    // A mistake keeps everything typed.
    let resp = client
        .post(app.url("/p/alpha/request"))
        .form(&[
            ("first_name", "Dora"),
            ("last_name", "Keyes"),
            ("phone", "555"),
            ("message", "Evenings please"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("role=\"alert\""), "{html}");
    assert!(
        html.contains("value=\"Keyes\"") && html.contains("Evenings please"),
        "{html}"
    );

    let resp = client
        .post(app.url("/p/alpha/request"))
        .form(&[
            ("first_name", "Dora"),
            ("last_name", "Keyes"),
            ("phone", "(312) 555-0147"),
            ("service", "Sciatica"),
            ("payer", "Aetna"),
            ("message", "Evenings please"),
            ("sms_consent", "on"),
            ("redirect", "https://alphapt.example/thank-you"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers()["location"],
        "https://alphapt.example/thank-you",
        "the clinic's own thank-you page, on its registered domain"
    );

    let desk = Api::new(&app, &app.token(&practice, Role::FrontDesk).await);
    let (_, list) = desk.get("/api/v1/leads").await;
    let lead = &list["data"][0];
    assert_eq!(lead["origin"], "form");
    assert_eq!(lead["attribution"], "website");
    assert_eq!(lead["first_touch"]["channel"], "paid_search");
    assert_eq!(lead["first_touch"]["campaign"], "sciatica_ads");
    assert_eq!(lead["first_touch"]["landing"], "/conditions/sciatica");
    assert_eq!(lead["payer"], "Aetna");
    assert_eq!(lead["sms_consent"], true);
    assert_eq!(lead["message"], "Evenings please");

    // The submit is a conversion on the same visit, with its source.
    let mut events = Vec::new();
    for _ in 0..200 {
        events = app
            .store
            .recent_events(practice.id, site.id, 10)
            .await
            .unwrap();
        if events.len() >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let conversion = events
        .iter()
        .find(|e| e.name == "Appointment Request")
        .expect("the conversion was recorded");
    assert_eq!(conversion.visitor_id, visit[0].visitor_id);
    assert_eq!(conversion.channel, "paid_search");
    assert_eq!(conversion.path, "/contact");

    // Another browser, never on the site: a lead without a website touch, and Stride's own
    // confirmation page, since a foreign thank-you address is ignored.
    let other = reqwest::Client::builder()
        .user_agent("Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0")
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = other
        .post(app.url("/p/alpha/request"))
        .form(&[
            ("first_name", "Eli"),
            ("email", "eli@example.com"),
            ("redirect", "https://evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["location"], "/p/alpha/request/thanks");
    let thanks = other
        .get(app.url("/p/alpha/request/thanks"))
        .send()
        .await
        .unwrap();
    assert!(
        thanks
            .text()
            .await
            .unwrap()
            .contains("we have your request")
    );
    let (_, list) = desk.get("/api/v1/leads").await;
    assert_eq!(list["data"][0]["attribution"], "none");
    assert_eq!(list["data"][0]["payer"], "Self-pay");

    // A bot filling the hidden field is thanked and forgotten.
    other
        .post(app.url("/p/alpha/request"))
        .form(&[
            ("first_name", "Spam"),
            ("email", "spam@example.com"),
            ("website", "http://spam.example"),
        ])
        .send()
        .await
        .unwrap();
    let (_, list) = desk.get("/api/v1/leads?view=all").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    let (status, _) = desk.get("/p/nobody/request").await;
    assert_eq!(status, 404);
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()["location"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn the_front_desk_works_a_lead_from_the_inbox_and_a_marketer_gets_the_report() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let desk = app.login(&app.user(&practice, Role::FrontDesk).await).await;
    let (status, page) = desk.text("/app/leads").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("No leads yet") && page.contains("/p/alpha/request"),
        "{page}"
    );

    // A caller, taken on the phone; a mistake first, with nothing lost.
    let resp = desk
        .post_form(
            "/app/leads",
            &[
                ("origin", "call"),
                ("first_name", "Marta"),
                ("last_name", "Olsen"),
                ("phone", "12"),
                ("service", "Hip pain"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("role=\"alert\"")
            && page.contains("value=\"Olsen\"")
            && page.contains("value=\"Hip pain\""),
        "{page}"
    );
    let resp = desk
        .post_form(
            "/app/leads",
            &[
                ("origin", "call"),
                ("first_name", "Marta"),
                ("last_name", "Olsen"),
                ("phone", "(773) 555-0190"),
                ("service", "Hip pain"),
                ("source", "Dr. Patel"),
                ("channel", "referral"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let lead_url = location(&resp);
    assert!(
        lead_url.starts_with("/app/leads/") && lead_url.ends_with("?done=lead"),
        "{lead_url}"
    );
    let lead_path = lead_url.split('?').next().unwrap().to_string();

    let (_, inbox) = desk.text("/app/leads?view=untouched").await;
    assert!(
        inbox.contains("Marta Olsen")
            && inbox.contains("(773) 555-0190")
            && inbox.contains("Dr. Patel · Referral"),
        "{inbox}"
    );

    // Call back, qualify, book, add a task and finish it.
    for fields in [
        vec![
            ("action", "contact"),
            ("kind", "call"),
            ("body", "Booked for Tuesday"),
        ],
        vec![
            ("action", "qualify"),
            ("interest", "high"),
            ("fit", "unsure"),
            ("likelihood", "likely"),
        ],
        vec![("action", "stage"), ("stage", "evaluation_booked")],
        vec![
            ("action", "task"),
            ("title", "Verify her Medicare"),
            ("due", "2030-03-04T09:30"),
        ],
    ] {
        let resp = desk.post_form(&lead_path, &fields).await;
        assert_eq!(
            resp.status(),
            303,
            "{fields:?}: {}",
            resp.text().await.unwrap()
        );
    }
    let (_, page) = desk.text(&lead_path).await;
    assert!(
        page.contains("Evaluation booked") && page.contains("score 85"),
        "{page}"
    );
    assert!(
        page.contains("Booked for Tuesday") && page.contains("Verify her Medicare"),
        "{page}"
    );
    let (_, inbox) = desk.text("/app/leads?view=untouched").await;
    assert!(
        !inbox.contains("Marta Olsen"),
        "contacted: no longer waiting"
    );
    let (_, inbox) = desk.text("/app/leads").await;
    assert!(
        inbox.contains("Follow-ups due") && inbox.contains("Verify her Medicare"),
        "{inbox}"
    );

    // A stage the lifecycle does not allow: the page says why.
    desk.post_form(
        &lead_path,
        &[("action", "stage"), ("stage", "became_patient")],
    )
    .await;
    let resp = desk
        .post_form(
            &lead_path,
            &[
                ("action", "stage"),
                ("stage", "lost"),
                ("lost_reason", "price"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(resp.text().await.unwrap().contains("cannot move from"));

    // The marketer: sent to the report, which names no one.
    let marketer = app.login(&app.user(&practice, Role::Marketer).await).await;
    let resp = marketer.get("/app/leads").await;
    assert_eq!(location(&resp), "/app/leads/report");
    let (status, report) = marketer.text("/app/leads/report?by=source").await;
    assert_eq!(status, 200);
    assert!(
        report.contains("Dr. Patel") && report.contains("<svg"),
        "{report}"
    );
    assert!(!report.contains("Marta") && !report.contains("Olsen") && !report.contains("555-0190"));
    let (status, _) = marketer.text(&lead_path).await;
    assert_eq!(status, 403);
    let resp = marketer
        .post_form(
            "/app/leads/campaigns",
            &[
                ("action", "campaign"),
                ("name", "Hip mailer"),
                ("kind", "direct_mail"),
                ("utm_campaign", "hip_mailer"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let (_, page) = marketer.text("/app/leads/campaigns").await;
    let id = extract(&page, "<option value=\"").unwrap();
    let resp = marketer
        .post_form(
            "/app/leads/campaigns",
            &[
                ("action", "spend"),
                ("campaign_id", &id),
                ("month", "2026-10"),
                ("amount", "twelve"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 422);
    let resp = marketer
        .post_form(
            "/app/leads/campaigns",
            &[
                ("action", "spend"),
                ("campaign_id", &id),
                ("month", "2026-10"),
                ("amount", "$1,250"),
            ],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let (_, page) = marketer.text("/app/leads/campaigns").await;
    assert!(
        page.contains("$1,250 over 1 month") && page.contains("Direct mail"),
        "{page}"
    );
    let resp = marketer
        .post_form("/app/leads/report/value", &[("value", "1200")])
        .await;
    assert_eq!(
        resp.status(),
        403,
        "only the owner sets the value of a patient"
    );
}

/// Uploads a file the way a browser's multipart form does.
async fn upload(b: &Browser, csrf: &str, file: &str) -> (u16, String) {
    let boundary = "----stridetestboundary7MA4YWxkTrZu0gW";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"leads.csv\"\r\nContent-Type: text/csv\r\n\r\n{file}\r\n\
         --{boundary}--\r\n"
    );
    let resp = b
        .client
        .post(format!("{}/app/leads/import", b.base))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn a_csv_import_previews_every_row_imports_the_good_ones_once_and_lists_the_rest() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let actor = Actor::system("test");
    // Someone already on file by email.
    let mut existing = LeadInput::new(stride_core::leads::Origin::Form);
    existing.first_name = "Ana".into();
    existing.email =
        Some(stride_core::email::EmailAddress::parse("ana.reyes@example.com").unwrap());
    app.store
        .capture_lead(practice.id, &existing, &actor)
        .await
        .unwrap();

    let desk = app.login(&app.user(&practice, Role::FrontDesk).await).await;
    let (status, page) = desk.text("/app/leads/import").await;
    assert_eq!(status, 200);
    assert!(page.contains("enctype=\"multipart/form-data\""));
    let csrf = desk.csrf("/app/leads/import").await;

    // A forged upload (no CSRF token) changes nothing.
    let (status, _) = upload(&desk, "forged", "Phone\n6305550101\n").await;
    assert_eq!(status, 403);

    let file = "Full Name,Mobile,E-mail,Reason for visit,Lead Source,Created At,Internal ID\n\
                Marta Olsen,(312) 555-0170,,Knee pain,Yelp,2026-03-14,A1\n\
                \"Reyes, Ana\",,ana.reyes@example.com,Back pain,Newsletter,03/02/2026,A2\n\
                Bo Nguyen,555,,Neck pain,Google,2026-04-01,A3\n\
                Cy Park,,,Sciatica,,2026-04-02,A4\n\
                Di Lund,(312) 555-0171,,Shoulder pain,Facebook,14.04.2026,A5\n";
    let (status, preview) = upload(&desk, &csrf, file).await;
    assert_eq!(status, 200, "{preview}");
    // Columns are guessed from their headers; every problem is shown with its line.
    for (col, field) in [
        (0, "name"),
        (1, "phone"),
        (2, "email"),
        (3, "service"),
        (4, "source"),
        (5, "date"),
        (6, ""),
    ] {
        let marker = format!("name=\"col_{col}\">");
        let at = preview.find(&marker).expect("a select per column");
        let select = &preview[at..at + preview[at..].find("</select>").unwrap()];
        assert!(
            select.contains(&format!("value=\"{field}\" selected")),
            "column {col} should be {field}: {select}"
        );
    }
    assert!(preview.contains("5 rows, 3 with a problem"), "{preview}");
    assert!(preview.contains("no phone number or email"));
    assert!(preview.contains("not a date"));
    assert!(preview.contains("Import 2 leads"));
    assert!(
        app.store
            .lead_rows(practice.id, Inbox::All, 10)
            .await
            .unwrap()
            .len()
            == 1,
        "nothing is saved by a preview"
    );

    let at = preview.find("aria-hidden=\"true\">").unwrap() + "aria-hidden=\"true\">".len();
    let csv = &preview[at..at + preview[at..].find("</textarea>").unwrap()];
    let csv = csv
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let fields: Vec<(&str, &str)> = vec![
        ("csv", csv.as_str()),
        ("action", "import"),
        ("col_0", "name"),
        ("col_1", "phone"),
        ("col_2", "email"),
        ("col_3", "service"),
        ("col_4", "source"),
        ("col_5", "date"),
        ("col_6", ""),
    ];
    let resp = desk.post_form("/app/leads/import/run", &fields).await;
    assert_eq!(resp.status(), 200);
    let done = resp.text().await.unwrap();
    assert!(
        done.contains("<strong>1</strong> new leads")
            && done.contains("<strong>1</strong> joined a lead already on file")
            && done.contains("<strong>3</strong> not imported"),
        "{done}"
    );
    let leads = app
        .store
        .leads(practice.id, Inbox::All, 10, &actor)
        .await
        .unwrap();
    assert_eq!(leads.len(), 2);
    let marta = leads.iter().find(|l| l.first_name == "Marta").unwrap();
    assert_eq!(marta.row.origin, stride_core::leads::Origin::Import);
    assert_eq!(marta.row.first_touch.source, "Yelp");
    assert_eq!(marta.row.service, "Knee pain");
    let march = jiff::Timestamp::from_millisecond(marta.row.created_at)
        .unwrap()
        .to_string();
    assert!(march.starts_with("2026-03-14"), "{march}");
    let ana = leads.iter().find(|l| l.first_name == "Ana").unwrap();
    assert_eq!(ana.last_name, "", "a name on file is kept");
    assert_eq!(
        ana.row.service, "Back pain",
        "the service it lacked is filled"
    );

    // The same file again adds nothing.
    let again = desk
        .post_form("/app/leads/import/run", &fields)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        again.contains("<strong>0</strong> new leads")
            && again.contains("<strong>2</strong> skipped, imported before"),
        "{again}"
    );
    assert_eq!(
        app.store
            .lead_rows(practice.id, Inbox::All, 10)
            .await
            .unwrap()
            .len(),
        2
    );

    // Not a CSV at all, and a file with no rows: a clear error, nothing saved.
    let (status, page) = upload(&desk, &csrf, "").await;
    assert_eq!(status, 422);
    assert!(page.contains("choose a CSV file"));
    let (status, page) = upload(&desk, &csrf, "Name,Phone\n").await;
    assert_eq!(status, 422);
    assert!(page.contains("no leads"), "{page}");

    // A marketer cannot import.
    let marketer = app.login(&app.user(&practice, Role::Marketer).await).await;
    assert_eq!(marketer.get("/app/leads/import").await.status(), 403);
}
