//! Health, metrics, the demo practice, backups, key checks and shutdown.

use stride_core::role::Role;
use stride_store::Keyring;

use crate::helpers::*;

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = TestApp::spawn().await;
    let c = reqwest::Client::new();
    let r = c.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = c.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ready");
    let metrics = c
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("stride_http_requests_total"), "{metrics}");
    assert!(
        metrics.contains("route=\"/readyz\""),
        "metrics are labelled by route pattern: {metrics}"
    );
    assert!(metrics.contains("stride_jobs"));
}

#[tokio::test]
async fn pages_carry_security_headers_and_unknown_paths_are_404() {
    let app = TestApp::spawn().await;
    let r = reqwest::get(app.url("/login")).await.unwrap();
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let r = reqwest::get(app.url("/nope")).await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("Not Found"));
    let r = reqwest::get(app.url("/api/v1/nope")).await.unwrap();
    assert_eq!(r.status(), 404);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn demo_seed_is_idempotent_and_builds_a_living_practice() {
    let app = TestApp::spawn().await;
    let first = stride::demo::seed(&app.store).await.unwrap();
    assert!(first.created);
    let counts = |store: stride_store::Store, id: i64| async move {
        (
            store.locations(id).await.unwrap().len(),
            store.clinicians(id).await.unwrap().len(),
            store.members(id).await.unwrap().len(),
            store.patient_count(id).await.unwrap(),
            // The seed's own messages; the server's reminder sweep adds reminders meanwhile.
            store
                .messages(id, 1000, &stride_store::audit::Actor::system("test"))
                .await
                .unwrap()
                .iter()
                .filter(|m| m.purpose != "reminder")
                .count(),
        )
    };
    let before = counts(app.store.clone(), first.practice_id).await;
    let second = stride::demo::seed(&app.store).await.unwrap();
    assert!(!second.created);
    assert_eq!(first.practice_id, second.practice_id);
    assert_eq!(
        before,
        counts(app.store.clone(), first.practice_id).await,
        "a refresh adds nothing twice"
    );
    let (locations, clinicians, members, patients, _) = before;
    assert_eq!(locations, 2);
    assert_eq!(clinicians, 5);
    assert_eq!(members, 4, "one user per role");
    assert!(patients >= 5);
    let zones: std::collections::BTreeSet<String> = app
        .store
        .locations(first.practice_id)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.time_zone)
        .collect();
    assert_eq!(zones.len(), 2, "two locations in different time zones");

    // Twelve months of website traffic, with goals that convert, written once.
    let site = app.store.sites(first.practice_id).await.unwrap()[0].clone();
    let year = stride_store::website::reports::Range {
        from: stride_store::now_ms() - 366 * 86_400_000,
        to: stride_store::now_ms() + 1,
    };
    let summary = app
        .store
        .website_summary(&stride_store::website::reports::Scope::new(
            first.practice_id,
            site.id,
            year,
        ))
        .await
        .unwrap();
    assert!(summary.visits > 5_000, "a year of visits: {summary:?}");
    let goals = app
        .store
        .goal_results(&stride_store::website::reports::Scope::new(
            first.practice_id,
            site.id,
            year,
        ))
        .await
        .unwrap();
    assert_eq!(
        goals.len(),
        6,
        "five of the demo's own and one for tracked calls"
    );
    assert!(goals.iter().any(|g| g.goal.pattern == "Tracked Call"));
    let rate = |name: &str| {
        let g = goals.iter().find(|g| g.goal.name == name).unwrap();
        g.converting_visitors as f64 * 100.0 / summary.visitors as f64
    };
    assert!(
        (1.0..8.0).contains(&rate("Appointment request")),
        "a plausible appointment-request rate: {}",
        rate("Appointment request")
    );
    let sources = app
        .store
        .website_breakdown(
            &stride_store::website::reports::Scope::new(first.practice_id, site.id, year),
            "source",
            3,
        )
        .await
        .unwrap();
    assert_eq!(
        sources[0].key, "Google",
        "search leads, as for most clinics"
    );
    let stride_store::website::reports::Summary {
        visits: before_refresh,
        ..
    } = summary;
    stride::demo::seed(&app.store).await.unwrap();
    assert_eq!(
        app.store
            .website_summary(&stride_store::website::reports::Scope::new(
                first.practice_id,
                site.id,
                year
            ))
            .await
            .unwrap()
            .visits,
        before_refresh
    );

    // A year of leads from several channels, with spend, written once; a paid campaign that
    // stopped shows its tail.
    let report = |store: stride_store::Store, id: i64| async move {
        store
            .lead_report(
                id,
                year.from,
                year.to,
                stride_store::campaigns::GroupBy::Channel,
            )
            .await
            .unwrap()
    };
    let leads = report(app.store.clone(), first.practice_id).await;
    stride::demo::seed(&app.store).await.unwrap();
    let again = report(app.store.clone(), first.practice_id).await;
    assert_eq!(
        again.total.leads, leads.total.leads,
        "a refresh adds no leads"
    );
    assert_eq!(again.total.spend_cents, leads.total.spend_cents);
    assert!(leads.total.leads >= 300, "{:?}", leads.total);
    assert!(leads.rows.len() >= 6, "leads from several channels");
    assert!(leads.total.patients > 0 && leads.total.lost > 0);
    assert!(leads.total.cost_per_patient_cents.is_some());
    assert!(leads.months.len() >= 12);
    assert!(leads.speed.median_ms.is_some());
    let stopped = leads
        .campaigns
        .iter()
        .find_map(|c| c.after_spend.as_ref())
        .expect("a campaign whose spend stopped");
    assert!(
        stopped.leads_after.iter().sum::<i64>() < stopped.leads_per_month_with_spend as i64 * 4
    );

    // Clinicians have hours, so the earliest evaluation can be found at each location.
    let types = app
        .store
        .appointment_types(first.practice_id)
        .await
        .unwrap();
    for location in app.store.locations(first.practice_id).await.unwrap() {
        let earliest = app
            .store
            .earliest_available(
                first.practice_id,
                types[0].id,
                location.id,
                None,
                stride_store::now_ms(),
            )
            .await
            .unwrap();
        assert!(
            earliest.is_some(),
            "an evaluation can be booked at {}",
            location.name
        );
    }

    // Every demo login works and lands on the overview.
    for (role, email, _) in stride::demo::LOGINS {
        let b = Browser::new(&app);
        let resp = b.sign_in(email, stride::demo::PASSWORD).await;
        assert_eq!(resp.status(), 303, "demo login for {}", role.label());
        let (status, body) = b.text("/app").await;
        assert_eq!(status, 200);
        assert!(body.contains("Riverside Physical Therapy"));
    }
}

#[tokio::test]
async fn backup_writes_a_readable_copy_while_serving() {
    let app = TestApp::spawn().await;
    if app.db.postgres {
        let err = app
            .store
            .backup_sqlite(&app.db.dir.path().join("x.db"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("pg_dump"));
        return;
    }
    let practice = app.practice("alpha").await;
    let owner = app.user(&practice, Role::Owner).await;
    let browser = app.login(&owner).await;
    let out = app.db.dir.path().join("backup.db");
    app.store.backup_sqlite(&out).await.unwrap();
    // Serving continues while and after the copy is made.
    assert_eq!(browser.get("/app").await.status(), 200);
    let copy =
        stride_store::Store::open(&stride_store::sqlite_url_for_file(&out), app.keys.clone())
            .await
            .unwrap();
    assert_eq!(
        copy.practice_by_slug("alpha").await.unwrap().name,
        "alpha PT"
    );
    let again = app.store.backup_sqlite(&out).await.unwrap_err();
    assert!(again.to_string().contains("already exists"));
}

#[tokio::test]
async fn a_wrong_encryption_key_is_refused_at_start() {
    let app = TestApp::spawn().await;
    let other = stride_store::Store::connect(&app.db.url, Keyring::generate())
        .await
        .unwrap();
    let err = other.verify_keys().await.unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
    let same = stride_store::Store::connect(&app.db.url, app.keys.clone())
        .await
        .unwrap();
    same.verify_keys().await.unwrap();
}

#[tokio::test]
async fn shutdown_finishes_and_stops_serving() {
    let mut app = TestApp::spawn().await;
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        200
    );
    app.shutdown().await;
    assert!(
        reqwest::get(app.url("/healthz")).await.is_err(),
        "no longer accepting connections"
    );
}

#[tokio::test]
async fn every_documented_api_operation_is_served() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let api = Api::new(&app, &app.token(&practice, Role::Owner).await);
    let (status, doc) = api.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(
        paths
            .values()
            .map(|p| p.as_object().unwrap().len())
            .sum::<usize>(),
        stride_web::openapi::OPERATIONS.len()
    );
    for stride_web::openapi::Operation { method, path, .. } in stride_web::openapi::OPERATIONS {
        let concrete = path.replace("{id}", &practice.id.to_string());
        let (status, body) = api
            .call(
                &method.to_uppercase(),
                &concrete,
                Some(serde_json::json!({})),
            )
            .await;
        assert!(
            status != 405
                && !(status == 404
                    && body["error"]["message"] == "not found"
                    && !path.contains("{id}")),
            "{method} {path} answered {status}: {body}"
        );
    }
}
