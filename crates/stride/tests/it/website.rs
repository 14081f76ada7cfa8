//! Website tracking intake: Plausible's Events API wire format in, cleaned and classified events
//! out, with bots, unknown sites and bad input refused or counted, and nothing identifying stored.

use stride_core::role::Role;
use stride_store::Store;

use crate::helpers::*;

const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
const GOOGLEBOT: &str = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

async fn post(app: &TestApp, ua: &str, body: &str) -> (u16, String, Option<String>) {
    let resp = reqwest::Client::new()
        .post(app.url("/api/event"))
        .header("user-agent", ua)
        .header("content-type", "text/plain")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let cors = resp
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_string());
    (status, resp.text().await.unwrap(), cors)
}

async fn events(
    store: &Store,
    practice_id: i64,
    site_id: i64,
    n: usize,
) -> Vec<stride_store::website::RecordedEvent> {
    let mut got = Vec::new();
    for _ in 0..200 {
        got = store
            .recent_events(practice_id, site_id, 100)
            .await
            .unwrap();
        if got.len() >= n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    got
}

#[tokio::test]
async fn plausible_events_are_cleaned_classified_and_stored() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let site = app
        .store
        .create_site(
            practice.id,
            "https://www.AlphaPT.example/",
            &["service".into()],
            false,
        )
        .await
        .unwrap();
    assert_eq!(site.domain, "alphapt.example");

    let (status, body, cors) = post(&app, CHROME, r#"{"n":"pageview","u":"https://alphapt.example/conditions/knee-pain?utm_source=google&utm_medium=cpc&utm_campaign=Knee%20Pain&gclid=Cj0abc&email=jo@example.com&service=acl&token=secret","d":"alphapt.example","r":"https://www.google.com/"}"#).await;
    assert_eq!(
        (status, body.as_str(), cors.as_deref()),
        (202, "ok", Some("*"))
    );
    // The long field names and a JSON string of props, as older trackers send them.
    let (status, ..) = post(&app, IPHONE, r#"{"name":"Appointment Request","url":"https://alphapt.example/request","domain":"alphapt.example","referrer":"https://l.facebook.com/","props":"{\"service\":\"knee\",\"phone\":\"(630) 555-0101\",\"note\":\"call me at jo@example.com\"}"}"#).await;
    assert_eq!(status, 202);
    let (status, ..) = post(&app, CHROME, r#"{"n":"engagement","u":"https://alphapt.example/conditions/knee-pain","d":"alphapt.example","sd":87,"e":15400,"i":false}"#).await;
    assert_eq!(status, 202);

    let got = events(&app.store, practice.id, site.id, 3).await;
    assert_eq!(got.len(), 3);
    let pageview = got.iter().find(|e| e.name == "pageview").unwrap();
    assert_eq!(pageview.path, "/conditions/knee-pain");
    assert_eq!(
        pageview.query,
        "utm_source=google&utm_medium=cpc&utm_campaign=Knee Pain&gclid=Cj0abc&service=acl",
        "only campaign and allowed parameters"
    );
    assert_eq!(
        (
            pageview.source.as_str(),
            pageview.channel.as_str(),
            pageview.campaign.as_str()
        ),
        ("Google", "paid_search", "Knee Pain")
    );
    assert_eq!(
        (
            pageview.device.as_str(),
            pageview.browser.as_str(),
            pageview.os.as_str()
        ),
        ("desktop", "Chrome", "Windows")
    );

    let request = got
        .iter()
        .find(|e| e.name == "Appointment Request")
        .unwrap();
    assert_eq!(
        request.props, r#"{"service":"knee"}"#,
        "personal-looking values are scrubbed"
    );
    assert_eq!(
        (
            request.source.as_str(),
            request.channel.as_str(),
            request.device.as_str()
        ),
        ("Facebook", "organic_social", "mobile")
    );

    let engagement = got.iter().find(|e| e.name == "engagement").unwrap();
    assert_eq!(
        (engagement.scroll_depth, engagement.engaged_ms),
        (Some(87), Some(15400))
    );
    assert_eq!(
        engagement.visitor_id, pageview.visitor_id,
        "same address and browser, same day: the same visitor"
    );
    assert_ne!(
        request.visitor_id, pageview.visitor_id,
        "another browser is another visitor"
    );
    let text = serde_json::to_string(&got).unwrap();
    for secret in [
        CHROME,
        IPHONE,
        "127.0.0.1",
        "jo@example.com",
        "555-0101",
        "token=secret",
    ] {
        assert!(!text.contains(secret), "{secret} was stored");
    }
}

#[tokio::test]
async fn bots_unknown_sites_and_bad_input_are_refused_or_counted() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let site = app
        .store
        .create_site(practice.id, "alphapt.example", &[], true)
        .await
        .unwrap();
    let ok = r#"{"n":"pageview","u":"https://alphapt.example/","d":"alphapt.example"}"#;

    assert_eq!(
        post(&app, GOOGLEBOT, ok).await.0,
        202,
        "bots get the usual answer"
    );
    let (status, body, _) = post(
        &app,
        CHROME,
        r#"{"n":"pageview","u":"https://other.example/","d":"other.example"}"#,
    )
    .await;
    assert_eq!(status, 404);
    assert!(body.contains("unknown_site"));
    let cases = [
        ("{not json", 400),
        (r#"{"n":"pageview","d":"alphapt.example"}"#, 400),
        (
            r#"{"n":"pageview","u":"javascript:alert(1)","d":"alphapt.example"}"#,
            400,
        ),
        (
            r#"{"n":"pageview","u":"https://evil.example/","d":"alphapt.example"}"#,
            400,
        ),
        (
            r#"{"n":"","u":"https://alphapt.example/","d":"alphapt.example"}"#,
            400,
        ),
    ];
    for (body, status) in cases {
        let (got, text, _) = post(&app, CHROME, body).await;
        assert_eq!(got, status, "{body}: {text}");
        assert!(text.contains("\"error\""), "{text}");
    }
    let long_name = format!(
        r#"{{"n":"{}","u":"https://alphapt.example/","d":"alphapt.example"}}"#,
        "x".repeat(200)
    );
    assert_eq!(post(&app, CHROME, &long_name).await.0, 400);
    let huge = format!(
        r#"{{"n":"pageview","u":"https://alphapt.example/","d":"alphapt.example","p":{{"x":"{}"}}}}"#,
        "a".repeat(20_000)
    );
    assert_eq!(post(&app, CHROME, &huge).await.0, 413);

    // Do-Not-Track is honoured when the practice turned that on.
    let resp = reqwest::Client::new()
        .post(app.url("/api/event"))
        .header("user-agent", CHROME)
        .header("sec-gpc", "1")
        .body(ok)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    // One real event, to know the writer has run.
    assert_eq!(post(&app, CHROME, ok).await.0, 202);
    let got = events(&app.store, practice.id, site.id, 1).await;
    assert_eq!(got.len(), 1, "only the real visit was stored");
    let mut dropped = Vec::new();
    for _ in 0..200 {
        dropped = app.store.dropped(site.id).await.unwrap();
        if dropped.len() >= 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    for reason in ["bot", "bad_url", "foreign_url", "do_not_track"] {
        assert!(
            dropped.iter().any(|(r, n)| r == reason && *n >= 1),
            "{reason} counted: {dropped:?}"
        );
    }
}

#[tokio::test]
async fn visitor_salts_rotate_daily_and_are_deleted_after_two_days() {
    let app = TestApp::spawn().await;
    let today = app.store.visitor_salt("2026-11-23").await.unwrap();
    assert_eq!(today, app.store.visitor_salt("2026-11-23").await.unwrap());
    let tomorrow = app.store.visitor_salt("2026-11-24").await.unwrap();
    assert_ne!(today, tomorrow);
    let raw: Vec<Vec<u8>> = sqlx::query_scalar("SELECT salt_enc FROM visitor_salts")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    assert!(
        raw.iter()
            .all(|r| !r.windows(32).any(|w| w == today || w == tomorrow)),
        "salts are encrypted at rest"
    );
    sqlx::query("UPDATE visitor_salts SET created_at = created_at - $1 WHERE day = '2026-11-23'")
        .bind(49 * 3600 * 1000i64)
        .execute(app.store.pool())
        .await
        .unwrap();
    app.store.visitor_salt("2026-11-25").await.unwrap();
    let days: Vec<String> = sqlx::query_scalar("SELECT day FROM visitor_salts ORDER BY day")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    assert_eq!(
        days,
        vec!["2026-11-24".to_string(), "2026-11-25".to_string()]
    );
}

#[tokio::test]
async fn the_website_page_gives_the_snippet_and_shows_arriving_events() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let marketer = app.user(&practice, Role::Marketer).await;
    let b = app.login(&marketer).await;
    let (_, page) = b.text("/app/website").await;
    assert!(page.contains("No website connected yet"));
    let resp = b
        .post_form(
            "/app/website/sites",
            &[("domain", "not a domain"), ("allowed_params", "")],
        )
        .await;
    assert_eq!(resp.status(), 422);
    assert!(
        resp.text()
            .await
            .unwrap()
            .contains("is not a website domain")
    );
    let resp = b
        .post_form(
            "/app/website/sites",
            &[("domain", "alphapt.example"), ("allowed_params", "service")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let (_, page) = b.text("/app/website").await;
    assert!(
        page.contains("data-domain=&#34;alphapt.example&#34;")
            || page.contains("data-domain=\"alphapt.example\""),
        "snippet shown"
    );
    assert!(page.contains("/js/stride.js"));
    assert!(page.contains("data-params=&#34;service&#34;") || page.contains("data-params=\"service\""), "the tracker is told which parameters to keep");
    post(
        &app,
        CHROME,
        r#"{"n":"Phone Call","u":"https://alphapt.example/contact","d":"alphapt.example"}"#,
    )
    .await;
    let site = app.store.sites(practice.id).await.unwrap()[0].clone();
    events(&app.store, practice.id, site.id, 1).await;
    let (_, page) = b.text("/app/website").await;
    assert!(page.contains("Phone Call") && page.contains("/contact"));
    let resp = reqwest::get(app.url("/js/stride.js")).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/javascript")
    );
}
