//! Website tracking intake: Plausible's Events API wire format in, cleaned and classified events
//! out, with bots, unknown sites and bad input refused or counted, and nothing identifying stored.

use stride_core::role::Role;
use stride_store::Store;
use stride_store::website::reports::Scope;

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
    // A site that routes by the fragment (Plausible's hash mode), with a campaign value holding an `&`.
    let (status, ..) = post(&app, CHROME, r#"{"n":"pageview","u":"https://alphapt.example/app#pricing?utm_campaign=Spring%20%26%20Summer&utm_id=7&name=Jo","d":"alphapt.example","h":1}"#).await;
    assert_eq!(status, 202);

    let got = events(&app.store, practice.id, site.id, 4).await;
    assert_eq!(got.len(), 4);
    let hashed = got.iter().find(|e| e.path.contains('#')).unwrap();
    assert_eq!(
        (hashed.path.as_str(), hashed.query.as_str()),
        ("/app#pricing", "utm_campaign=Spring+%26+Summer&utm_id=7")
    );
    let pageview = got
        .iter()
        .find(|e| e.name == "pageview" && !e.path.contains('#'))
        .unwrap();
    assert_eq!(pageview.path, "/conditions/knee-pain");
    assert_eq!(
        pageview.query,
        "utm_source=google&utm_medium=cpc&utm_campaign=Knee+Pain&gclid=Cj0abc&service=acl",
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
    // With no new day's salt to create (no events), the server's minutely round deletes them.
    sqlx::query("UPDATE visitor_salts SET created_at = created_at - $1 WHERE day = '2026-11-24'")
        .bind(49 * 3600 * 1000i64)
        .execute(app.store.pool())
        .await
        .unwrap();
    assert_eq!(app.store.delete_old_visitor_salts().await.unwrap(), 1);
    let days: Vec<String> = sqlx::query_scalar("SELECT day FROM visitor_salts ORDER BY day")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    assert_eq!(days, vec!["2026-11-25".to_string()]);
}

#[tokio::test]
async fn the_website_page_gives_the_snippet_and_shows_arriving_events() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let marketer = app.user(&practice, Role::Marketer).await;
    let b = app.login(&marketer).await;
    let (_, page) = b.text("/app/website").await;
    assert!(page.contains("No website connected yet"));
    let (_, page) = b.text("/app/website/setup").await;
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
    let (_, page) = b.text("/app/website/setup").await;
    assert!(
        page.contains("data-domain=&#34;alphapt.example&#34;")
            || page.contains("data-domain=\"alphapt.example\""),
        "snippet shown"
    );
    assert!(page.contains("/js/stride.js"));
    assert!(
        page.contains("/p/alpha/request?embed=1") && page.contains("/js/stride-numbers.js"),
        "the embeddable form and the call-tracking line are offered too"
    );
    assert!(
        page.contains("data-params=&#34;service&#34;") || page.contains("data-params=\"service\""),
        "the tracker is told which parameters to keep"
    );
    post(
        &app,
        CHROME,
        r#"{"n":"Phone Call","u":"https://alphapt.example/contact","d":"alphapt.example"}"#,
    )
    .await;
    let site = app.store.sites(practice.id).await.unwrap()[0].clone();
    events(&app.store, practice.id, site.id, 1).await;
    let (_, page) = b.text("/app/website/setup").await;
    assert!(page.contains("Phone Call") && page.contains("/contact"));
    for script in ["/js/stride.js", "/js/stride-numbers.js"] {
        let resp = reqwest::get(app.url(script)).await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/javascript")
        );
    }
}

fn event(
    site: &stride_store::website::Site,
    at: i64,
    visitor: i64,
    name: &str,
    path: &str,
    source: &str,
    channel: &str,
) -> stride_store::website::NewEvent {
    stride_store::website::NewEvent {
        site_id: site.id,
        practice_id: site.practice_id,
        at,
        visitor_id: visitor,
        name: name.into(),
        path: path.into(),
        query: String::new(),
        referrer_host: String::new(),
        source: source.into(),
        channel: channel.into(),
        campaign: String::new(),
        device: "desktop".into(),
        browser: "Chrome".into(),
        os: "Windows".into(),
        props: "{}".into(),
        revenue_cents: None,
        scroll_depth: None,
        engaged_ms: None,
        interactive: name != "engagement",
    }
}

#[tokio::test]
async fn visits_goals_and_reports_add_up() {
    use stride_store::website::VisitCache;
    use stride_store::website::reports::{GoalCategory, GoalKind, Range};

    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let site = app
        .store
        .create_site(practice.id, "alphapt.example", &[], false)
        .await
        .unwrap();
    let s = &app.store;
    let t0 = yesterday_at_ten();
    let min = 60_000;
    let events = vec![
        // Visitor 1 from Google reads two pages and reaches the thank-you page: a conversion.
        event(
            &site,
            t0,
            1,
            "pageview",
            "/conditions/sciatica",
            "Google",
            "organic_search",
        ),
        event(
            &site,
            t0 + min,
            1,
            "pageview",
            "/request",
            "Direct",
            "direct",
        ),
        event(
            &site,
            t0 + 2 * min,
            1,
            "pageview",
            "/thank-you",
            "Direct",
            "direct",
        ),
        event(
            &site,
            t0 + 3 * min,
            1,
            "engagement",
            "/thank-you",
            "Direct",
            "direct",
        ),
        // Visitor 2 from Facebook taps the phone number on the only page seen (the tap itself,
        // with no referrer, would classify as direct).
        event(&site, t0, 2, "pageview", "/", "Facebook", "organic_social"),
        event(&site, t0 + min, 2, "Phone Call", "/", "Direct", "direct"),
        // Visitor 3 bounces, then comes back 45 minutes later: a second visit. Paths are
        // case-sensitive in both databases, so this page is not the thank-you page.
        event(
            &site,
            t0,
            3,
            "pageview",
            "/THANK-YOU-notes-from-patients",
            "Google",
            "organic_search",
        ),
        event(&site, t0 + 45 * min, 3, "pageview", "/", "Direct", "direct"),
        // A stray engagement with no visit opens none.
        event(
            &site,
            t0 + 90 * min,
            4,
            "engagement",
            "/",
            "Direct",
            "direct",
        ),
    ];
    let mut cache = VisitCache::default();
    s.insert_events(&events[..5], &mut cache).await.unwrap();
    // A fresh cache (another instance) continues the same visits from the database.
    s.insert_events(&events[5..], &mut VisitCache::default())
        .await
        .unwrap();

    s.create_goal(
        practice.id,
        site.id,
        "Reached thank-you",
        GoalKind::Page,
        "/thank-you*",
        GoalCategory::LeadAction,
    )
    .await
    .unwrap();
    s.create_goal(
        practice.id,
        site.id,
        "Call tap",
        GoalKind::Event,
        "Phone Call",
        GoalCategory::LeadAction,
    )
    .await
    .unwrap();
    let dup = s
        .create_goal(
            practice.id,
            site.id,
            "Again",
            GoalKind::Event,
            "Phone Call",
            GoalCategory::LeadAction,
        )
        .await;
    assert!(matches!(dup, Err(stride_store::StoreError::Conflict(_))));
    let bad = s
        .create_goal(
            practice.id,
            site.id,
            "Bad",
            GoalKind::Page,
            "thank-you",
            GoalCategory::LeadAction,
        )
        .await;
    assert!(matches!(bad, Err(stride_store::StoreError::Invalid(_))));

    let range = Range {
        from: t0 - 1,
        to: t0 + 4 * 3_600_000,
    };
    let sum = s
        .website_summary(&Scope::new(practice.id, site.id, range))
        .await
        .unwrap();
    assert_eq!((sum.visitors, sum.visits, sum.pageviews), (3, 4, 6));
    // Bounces: visitor 3's two single-page visits; visitor 2 interacted, visitor 1 read three pages.
    assert_eq!(sum.bounce_rate, Some(50.0));
    let daily = s
        .website_daily(&Scope::new(practice.id, site.id, range))
        .await
        .unwrap();
    assert_eq!(daily.iter().map(|b| b.pageviews).sum::<i64>(), 6);

    let sources = s
        .website_breakdown(&Scope::new(practice.id, site.id, range), "source", 10)
        .await
        .unwrap();
    let pairs: Vec<(String, i64)> = sources.iter().map(|r| (r.key.clone(), r.visits)).collect();
    assert_eq!(
        pairs,
        vec![
            ("Google".to_string(), 2),
            ("Direct".to_string(), 1),
            ("Facebook".to_string(), 1)
        ]
    );
    let landing = s
        .website_breakdown(&Scope::new(practice.id, site.id, range), "entry_path", 10)
        .await
        .unwrap();
    assert!(landing.iter().any(|r| r.key == "/conditions/sciatica"));
    assert!(
        s.website_breakdown(
            &Scope::new(practice.id, site.id, range),
            "1; DROP TABLE visits",
            10
        )
        .await
        .is_err()
    );

    let goals = s
        .goal_results(&Scope::new(practice.id, site.id, range))
        .await
        .unwrap();
    let by_name = |n: &str| goals.iter().find(|g| g.goal.name == n).unwrap();
    assert_eq!(
        (
            by_name("Reached thank-you").converting_visitors,
            by_name("Call tap").conversions
        ),
        (1, 1)
    );

    // Filters see every event of a visit as the visit's: visitor 1's thank-you page counts for
    // Google (same batch as the landing), visitor 2's tap for Facebook (written by another
    // instance, so the visit's attribution came from the database).
    let filtered = |source: &str| {
        let mut scope = Scope::new(practice.id, site.id, range);
        scope.filters.source = Some(source.to_string());
        scope
    };
    let google = s.goal_results(&filtered("Google")).await.unwrap();
    let facebook = s.goal_results(&filtered("Facebook")).await.unwrap();
    let direct = s.goal_results(&filtered("Direct")).await.unwrap();
    let count = |rows: &[stride_store::website::reports::GoalResult], name: &str| {
        rows.iter()
            .find(|g| g.goal.name == name)
            .map(|g| g.conversions)
            .unwrap()
    };
    assert_eq!(
        (
            count(&google, "Reached thank-you"),
            count(&facebook, "Call tap"),
            count(&direct, "Reached thank-you"),
            count(&direct, "Call tap")
        ),
        (1, 1, 0, 0)
    );
    let recent = s.recent_events(practice.id, site.id, 20).await.unwrap();
    assert!(
        recent
            .iter()
            .filter(|e| e.visitor_id == 1)
            .all(|e| e.source == "Google"),
        "every event of visitor 1's visit carries the visit's source"
    );

    // The dashboard shows the goal's rate (1 of 3 visitors: 33.3%), but three visitors are too
    // few to give it a benchmark band.
    // A goal whose event the site never sends.
    s.create_goal(
        practice.id,
        site.id,
        "Booked online",
        GoalKind::Event,
        "Online Booking",
        GoalCategory::LeadAction,
    )
    .await
    .unwrap();
    let owner = app.user(&practice, Role::Owner).await;
    let b = app.login(&owner).await;
    let (status, page) = b.text("/app/website?period=7d").await;
    assert_eq!(status, 200);
    // Two of the three visitors completed a lead action (one reached the thank-you page, one
    // tapped to call).
    assert!(page.contains("66.7% of visitors"), "converting visitors");
    assert!(
        page.contains("no such event in 30 days: check its name in set-up"),
        "a goal counting an event never sent is not judged by the bands"
    );
    assert!(
        page.contains("33.3%") && page.contains("too few visitors to judge"),
        "goal rates, not judged on three visitors"
    );
    assert!(!page.contains("High-performing"));
    // Each of the 7 days is named under the chart.
    let axis = page
        .split(r#"class="chart-axis""#)
        .nth(1)
        .unwrap_or_default();
    let axis = axis.split("</div>").next().unwrap_or_default();
    assert_eq!(axis.matches("<span").count(), 7, "{axis}");
    assert!(page.contains(r#"Organic search</a> <span class="badge">inbound</span>"#));
    // Custom dates: shown in words with the period they are compared with, and the menu says
    // "Custom dates"; picking a named period while the form still holds those dates leaves them.
    let (_, page) = b
        .text("/app/website?period=30d&from=2026-11-01&to=2026-11-07")
        .await;
    assert!(
        page.contains("Nov 1 – Nov 7, 2026</strong>"),
        "the range in words"
    );
    assert!(page.contains("compared with Oct 25 – Oct 31, 2026"));
    assert!(page.contains(r#"<option value="custom" selected>Custom dates</option>"#));
    let (_, page) = b
        .text(
            "/app/website?period=7d&from=2026-11-01&to=2026-11-07\
             &shown_from=2026-11-01&shown_to=2026-11-07",
        )
        .await;
    assert!(
        !page.contains("Nov 1 – Nov 7, 2026"),
        "back to the last 7 days"
    );
    assert!(page.contains(r#"<option value="7d" selected>"#));
    assert!(page.contains(r#"name="from" value="""#));
    // The same report as a spreadsheet, linked from the dashboard.
    assert!(page.contains("/app/website/export.csv?"));
    let resp = b
        .get(&format!(
            "/app/website/export.csv?site={}&period=7d",
            site.id
        ))
        .await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("alphapt.example-")
    );
    let csv = resp.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "section,name,visitors,visits,converting_visitors,conversion_rate_pct,previous_visitors"
    );
    assert!(
        lines[1].starts_with("Total,alphapt.example ") && lines[1].contains(",3,4,2,66.7,"),
        "{csv}"
    );
    assert!(
        lines.contains(&"Goal (Lead action),Call tap,3,,1,33.3,"),
        "{csv}"
    );
    assert!(csv.contains("\nChannel,Organic search,"), "{csv}");
    let (_, page) = b
        .text("/app/website?period=custom&from=2099-01-01&to=2099-01-31")
        .await;
    assert!(page.contains("This period has not begun yet"));
    // Custom dates running past today are counted through today, and compared with as many days
    // before: a week that ends 23 days ahead reads like the last 7 days.
    let zone = s.practice_time_zone(practice.id).await.unwrap();
    let today = jiff::Timestamp::now().to_zoned_datetime(zone).date();
    let (from, to) = (
        today.checked_sub(jiff::Span::new().days(6)).unwrap(),
        today.checked_add(jiff::Span::new().days(23)).unwrap(),
    );
    let (_, ahead) = b
        .text(&format!("/app/website?period=custom&from={from}&to={to}"))
        .await;
    let compared = |page: &str| {
        page.split("compared with ")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .map(str::to_string)
    };
    let (_, week) = b.text("/app/website?period=7d").await;
    assert!(compared(&week).is_some());
    assert!(
        week.contains(" (today so far)</strong>"),
        "a named period ends with today"
    );
    assert_eq!(compared(&ahead), compared(&week));
    assert!(
        ahead.contains("still ahead: the period is counted up to now"),
        "{ahead}"
    );
    assert!(week.contains("over 7 days: 3 in all"), "{week}");
    assert!(
        ahead.contains("over 7 days: 3 in all"),
        "the chart covers the days counted: {ahead}"
    );
    let (_, page) = b.text("/app/website?period=custom&from=&to=").await;
    assert!(page.contains("for custom dates, pick both the first and the last day."));
    // Dates the other way round are refused, and stay in the form to be corrected.
    let (_, page) = b
        .text("/app/website?period=custom&from=2026-11-07&to=2026-11-01")
        .await;
    assert!(page.contains("the range ends before it starts. The last 30 days are shown instead."));
    assert!(page.contains(r#"name="from" value="2026-11-07""#));
    assert!(page.contains("/conditions/sciatica"));
    let (_, overview) = b.text("/app").await;
    assert!(
        overview.contains("3 visitors") && overview.contains("reached thank-you: 1 (33.3%)"),
        "the funnel's first step on the overview"
    );
    let marketer = app.user(&practice, Role::Marketer).await;
    assert_eq!(
        app.login(&marketer)
            .await
            .get("/app/website")
            .await
            .status(),
        200,
        "marketers see the aggregates"
    );
    let clinician = app.user(&practice, Role::Clinician).await;
    assert_eq!(
        app.login(&clinician)
            .await
            .get("/app/website")
            .await
            .status(),
        403
    );
}

#[tokio::test]
async fn sites_goals_and_reports_through_the_api() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let other = app.practice("bravo").await;
    let other_site = app
        .store
        .create_site(other.id, "bravopt.example", &[], false)
        .await
        .unwrap();
    let api = Api::new(&app, &app.token(&practice, Role::Marketer).await);

    let (status, body) = api.call("POST", "/api/v1/sites", Some(serde_json::json!({"domain": "https://www.AlphaPT.example", "allowed_params": ["service"]}))).await;
    assert_eq!(status, 201, "{body}");
    let site_id = body["data"]["id"].as_i64().unwrap();
    assert_eq!(body["data"]["domain"], "alphapt.example");
    let (status, body) = api
        .call(
            "POST",
            "/api/v1/sites",
            Some(serde_json::json!({"domain": "alphapt.example"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict"))
    );

    let goal = serde_json::json!({"name": "Call tap", "kind": "event", "pattern": "Phone Call", "category": "lead_action"});
    let (status, body) = api
        .call(
            "POST",
            &format!("/api/v1/sites/{site_id}/goals"),
            Some(goal),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = api
        .call("POST", &format!("/api/v1/sites/{site_id}/goals"), Some(serde_json::json!({"name": "x", "kind": "click", "pattern": "x", "category": "lead_action"})))
        .await;
    assert_eq!(status, 422);

    for (ua, name) in [
        (CHROME, "pageview"),
        (CHROME, "Phone Call"),
        (IPHONE, "pageview"),
    ] {
        let body = format!(
            r#"{{"n":"{name}","u":"https://alphapt.example/contact","d":"alphapt.example","r":"https://www.bing.com/"}}"#
        );
        assert_eq!(post(&app, ua, &body).await.0, 202);
    }
    events(&app.store, practice.id, site_id, 3).await;
    let (status, report) = api
        .get(&format!("/api/v1/sites/{site_id}/report?period=7d"))
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["data"]["summary"]["visitors"], 2);
    assert_eq!(report["data"]["summary"]["pageviews"], 2);
    assert_eq!(report["data"]["sources"][0]["key"], "Bing");
    assert_eq!(report["data"]["goals"][0]["converting_visitors"], 1);
    assert_eq!(report["conversion_rates"][0]["conversion_rate"], 50.0);
    assert_eq!(report["conversion_rates"][0]["band"], "high_performing");
    // The period compared with: the days before, only as far as this period has got (today is
    // under way); an hour either way where a clock change falls in between.
    let (range, before) = (&report["data"]["range"], &report["data"]["previous_range"]);
    let ms = |v: &serde_json::Value| v.as_i64().unwrap();
    let so_far = stride_store::now_ms() - ms(&range["from"]);
    let compared = ms(&before["to"]) - ms(&before["from"]);
    assert!(ms(&before["to"]) <= ms(&range["from"]), "{report}");
    assert!((compared - so_far).abs() <= 3_660_000, "{report}");
    // Every breakdown row has its conversion rate; channels their name and direction.
    for row in report["data"]["sources"].as_array().unwrap() {
        let (visitors, converting) = (
            row["visitors"].as_f64().unwrap(),
            row["converting"].as_f64().unwrap(),
        );
        assert_eq!(
            row["conversion_rate"].as_f64().unwrap(),
            converting / visitors * 100.0,
            "{row}"
        );
    }
    let channels = report["data"]["channels"].as_array().unwrap();
    assert!(!channels.is_empty());
    for row in channels {
        assert!(row["label"].is_string(), "{row}");
        assert!(
            ["inbound", "outbound"].contains(&row["direction"].as_str().unwrap()),
            "{row}"
        );
    }
    assert_eq!(report["data"]["devices"].as_array().unwrap().len(), 2);
    let (status, one) = api
        .get(&format!(
            "/api/v1/sites/{site_id}/report?period=30d&limit=1"
        ))
        .await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["data"]["devices"].as_array().unwrap().len(), 1);
    let (status, _) = api
        .get(&format!(
            "/api/v1/sites/{site_id}/report?period=30d&limit=0"
        ))
        .await;
    assert_eq!(status, 422);

    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    let (status, dated) = api
        .get(&format!(
            "/api/v1/sites/{site_id}/report?from=2020-01-01&to={today}"
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(dated["data"]["summary"]["visitors"], 2);
    for bad in [
        "?period=1y",
        "?from=2026-13-01&to=2026-12-01",
        "?from=2026-02-01&to=2026-01-01",
        "?from=2026-01-01",
    ] {
        let (status, body) = api
            .get(&format!("/api/v1/sites/{site_id}/report{bad}"))
            .await;
        assert_eq!(status, 422, "{bad}: {body}");
    }
    // Another practice's site is not there.
    assert_eq!(
        api.get(&format!("/api/v1/sites/{}/report", other_site.id))
            .await
            .0,
        404
    );
    assert_eq!(
        api.get(&format!("/api/v1/sites/{}/goals", other_site.id))
            .await
            .0,
        404
    );
    let (_, list) = api.get("/api/v1/sites").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    // Clinicians see no marketing numbers.
    let clinician = Api::new(&app, &app.token(&practice, Role::Clinician).await);
    assert_eq!(clinician.get("/api/v1/sites").await.0, 403);
}

#[tokio::test]
async fn the_client_address_comes_from_a_trusted_proxy_only() {
    // Two visitors behind the same proxy (this machine) are two visitors when it is trusted, and
    // one address when it is not.
    for (trusted, visitors) in [("true", 2), ("false", 1)] {
        let app = TestApp::spawn_with(stride::config::ServeArgs {
            trust_proxy: stride_web::TrustedProxies::parse(trusted).unwrap(),
            ..Default::default()
        })
        .await;
        let practice = app.practice("alpha").await;
        let site = app
            .store
            .create_site(practice.id, "alphapt.example", &[], false)
            .await
            .unwrap();
        for client in ["198.51.100.20", "198.51.100.21"] {
            let status = reqwest::Client::new()
                .post(app.url("/api/event"))
                .header("user-agent", CHROME)
                .header("x-forwarded-for", client)
                .body(r#"{"n":"pageview","u":"https://alphapt.example/","d":"alphapt.example"}"#)
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status, 202);
        }
        let got = events(&app.store, practice.id, site.id, 2).await;
        let ids: std::collections::HashSet<i64> = got.iter().map(|e| e.visitor_id).collect();
        assert_eq!(ids.len(), visitors, "trust_proxy = {trusted}");
    }
}
