//! Beyond visits: funnels, clicked-vs-confirmed gaps, condition pages ranked by leads, dashboard
//! filters, and heatmaps (clicks through the intake, dead and rage clicks, scroll depth, forms).

use stride_core::role::Role;
use stride_store::website::insights::FunnelStep;
use stride_store::website::reports::{GoalCategory, GoalKind, Range, Scope};
use stride_store::website::{Filters, NewEvent, Site, VisitCache};

use crate::helpers::*;

const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

struct Visit<'a> {
    site: &'a Site,
    visitor: i64,
    source: &'a str,
    channel: &'a str,
    device: &'a str,
    at: i64,
}

impl Visit<'_> {
    fn event(&mut self, name: &str, path: &str) -> NewEvent {
        self.at += 60_000;
        NewEvent {
            site_id: self.site.id,
            practice_id: self.site.practice_id,
            at: self.at,
            visitor_id: self.visitor,
            name: name.into(),
            path: path.into(),
            query: String::new(),
            referrer_host: String::new(),
            source: self.source.into(),
            channel: self.channel.into(),
            campaign: String::new(),
            device: self.device.into(),
            browser: "Chrome".into(),
            os: "Windows".into(),
            props: "{}".into(),
            revenue_cents: None,
            scroll_depth: None,
            engaged_ms: None,
            interactive: true,
        }
    }
}

#[tokio::test]
async fn funnels_gaps_conditions_and_filters_add_up() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let s = &app.store;
    let site = s
        .create_site(practice.id, "alphapt.example", &[], false)
        .await
        .unwrap();
    let t0 = yesterday_at_ten();
    let visit = |visitor, source, channel, device| Visit {
        site: &site,
        visitor,
        source,
        channel,
        device,
        at: t0 + visitor * 1_000,
    };
    let mut events = Vec::new();
    // 1: Google, home → sciatica → clicks Request Appointment → reaches the thank-you page.
    let mut v = visit(1, "Google", "organic_search", "desktop");
    for (n, p) in [
        ("pageview", "/"),
        ("pageview", "/conditions/sciatica"),
        ("Appointment Request", "/conditions/sciatica"),
        ("pageview", "/thank-you"),
    ] {
        events.push(v.event(n, p));
    }
    // 2: Facebook, home → clicks Request Appointment, never confirmed.
    let mut v = visit(2, "Facebook", "organic_social", "desktop");
    events.push(v.event("pageview", "/"));
    events.push(v.event("Appointment Request", "/"));
    // 3: Google, reads about knee pain and leaves.
    let mut v = visit(3, "Google", "organic_search", "desktop");
    events.push(v.event("pageview", "/conditions/knee-pain"));
    // 4: direct to the thank-you page (a bookmark), then home: not in order for the funnel.
    let mut v = visit(4, "Direct", "direct", "desktop");
    events.push(v.event("pageview", "/thank-you"));
    events.push(v.event("pageview", "/"));
    // 5: on a phone from Google, sciatica page → thank-you page.
    let mut v = visit(5, "Google", "organic_search", "mobile");
    events.push(v.event("pageview", "/conditions/sciatica/exercises"));
    events.push(v.event("pageview", "/thank-you"));
    s.insert_events(&events, &mut VisitCache::default())
        .await
        .unwrap();

    let request = s
        .create_goal(
            practice.id,
            site.id,
            "Appointment request",
            GoalKind::Event,
            "Appointment Request",
            GoalCategory::LeadAction,
        )
        .await
        .unwrap();
    let thanks = s
        .create_goal(
            practice.id,
            site.id,
            "Reached thank-you",
            GoalKind::Page,
            "/thank-you*",
            GoalCategory::LeadAction,
        )
        .await
        .unwrap();
    // Only an event goal is confirmed, and only by a page goal.
    assert!(
        s.set_goal_confirmation(practice.id, thanks.id, Some(request.id))
            .await
            .is_err()
    );
    s.set_goal_confirmation(practice.id, request.id, Some(thanks.id))
        .await
        .unwrap();

    let funnel = s
        .create_funnel(
            practice.id,
            site.id,
            "Home to booking",
            &[
                FunnelStep {
                    kind: GoalKind::Page,
                    pattern: "/".into(),
                },
                FunnelStep {
                    kind: GoalKind::Event,
                    pattern: "Appointment Request".into(),
                },
                FunnelStep {
                    kind: GoalKind::Page,
                    pattern: "/thank-you*".into(),
                },
            ],
        )
        .await
        .unwrap();
    let one_step = s
        .create_funnel(
            practice.id,
            site.id,
            "Too short",
            &[FunnelStep {
                kind: GoalKind::Page,
                pattern: "/".into(),
            }],
        )
        .await;
    assert!(matches!(
        one_step,
        Err(stride_store::StoreError::Invalid(_))
    ));
    for (condition, pattern) in [
        ("Sciatica", "/conditions/sciatica*"),
        ("Knee pain", "/conditions/knee-pain*"),
    ] {
        s.add_condition_page(practice.id, site.id, condition, pattern)
            .await
            .unwrap();
    }
    assert!(
        s.add_condition_page(practice.id, site.id, "Sciatica", "sciatica")
            .await
            .is_err(),
        "a pattern is a path"
    );

    let range = Range {
        from: t0 - 1,
        to: t0 + 3_600_000,
    };
    let scope = Scope::new(practice.id, site.id, range);
    let report = s.website_report(&scope).await.unwrap();
    assert_eq!(report.summary.visitors, 5);

    // Funnel: visits 1, 2 and 4 saw the home page; 1 and 2 then asked; only 1 got to the end.
    let steps = &report.funnels[0].steps;
    assert_eq!(report.funnels[0].funnel.id, funnel.id);
    let visits: Vec<i64> = steps.iter().map(|s| s.visits).collect();
    assert_eq!(visits, vec![3, 2, 1]);
    assert_eq!(steps[2].dropoff, Some(50.0));
    assert_eq!(steps[1].label, "Event “Appointment Request”");

    // Clicked vs confirmed: two visits asked, one reached the thank-you page.
    let asked = report
        .goals
        .iter()
        .find(|g| g.goal.id == request.id)
        .unwrap();
    let c = asked.confirmation.as_ref().expect("a confirmation");
    assert_eq!(
        (c.page_goal.as_str(), c.clicked, c.confirmed),
        ("Reached thank-you", 2, 1)
    );

    // Conditions by leads: sciatica readers (1 and 5) both became leads; knee pain's did not.
    let conditions: Vec<(&str, i64, i64)> = report
        .conditions
        .iter()
        .map(|c| (c.condition.as_str(), c.visitors, c.leads))
        .collect();
    assert_eq!(conditions, vec![("Sciatica", 2, 2), ("Knee pain", 1, 0)]);

    // Breakdowns count the visitors who completed a lead action.
    let converting = |rows: &[stride_store::website::reports::BreakdownRow], key: &str| {
        rows.iter()
            .find(|r| r.key == key)
            .map(|r| (r.visitors, r.converting))
    };
    assert_eq!(converting(&report.sources, "Google"), Some((3, 2)));
    assert_eq!(converting(&report.sources, "Facebook"), Some((1, 1)));
    assert_eq!(converting(&report.landing_pages, "/"), Some((2, 2)));
    assert_eq!(
        converting(&report.landing_pages, "/conditions/knee-pain"),
        Some((1, 0))
    );
    assert_eq!(converting(&report.pages, "/thank-you"), Some((3, 3)));

    // Filters narrow every part of the report.
    let only = |f: Filters| scope.clone().with_filters(f);
    let google = only(Filters {
        source: Some("Google".into()),
        ..Filters::default()
    });
    let r = s.website_report(&google).await.unwrap();
    assert_eq!(r.summary.visitors, 3);
    assert_eq!(r.sources.len(), 1);
    let thanks_result = r.goals.iter().find(|g| g.goal.id == thanks.id).unwrap();
    assert_eq!(thanks_result.converting_visitors, 2);
    let mobile = only(Filters {
        device: Some("mobile".into()),
        ..Filters::default()
    });
    assert_eq!(s.website_summary(&mobile).await.unwrap().visitors, 1);
    let r = s.website_report(&mobile).await.unwrap();
    let thanks_result = r.goals.iter().find(|g| g.goal.id == thanks.id).unwrap();
    assert_eq!(thanks_result.converting_visitors, 1, "visit 5, on a phone");
    assert_eq!(r.pages.len(), 2, "its two pages");
    let conditions_pages = only(Filters {
        page: Some("/conditions/*".into()),
        ..Filters::default()
    });
    let r = s.website_report(&conditions_pages).await.unwrap();
    assert_eq!(
        r.summary.visitors, 3,
        "visits 1, 3 and 5 read a condition page"
    );
    assert_eq!(r.funnels[0].steps[0].visits, 1);
    let social_asks = only(Filters {
        channel: Some("organic_social".into()),
        ..Filters::default()
    });
    let r = s.website_report(&social_asks).await.unwrap();
    let asked = r.goals.iter().find(|g| g.goal.id == request.id).unwrap();
    assert_eq!(asked.converting_visitors, 1);
    assert_eq!(asked.confirmation.as_ref().unwrap().confirmed, 0);
    // Blank filter values mean "any"; hostile ones are only ever bound values.
    let blank = only(Filters {
        source: Some("  ".into()),
        campaign: Some("x' OR 1=1 --".into()),
        ..Filters::default()
    });
    assert_eq!(s.website_summary(&blank).await.unwrap().visitors, 0);

    // The dashboard shows the same, filtered through its query string.
    let owner = app.user(&practice, Role::Owner).await;
    let b = app.login(&owner).await;
    let (status, html) = b
        .text(&format!(
            "/app/website?site={}&channel=organic_search&period=7d",
            site.id
        ))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("Showing only: "), "{html}");
    assert!(html.contains("Channel: Organic search"));
    assert!(html.contains("Home to booking"));
    // Funnel steps a goal counts go by the goal's name.
    assert!(html.contains("<div>Home page: <strong>"), "{html}");
    assert!(html.contains("<div>Appointment request: <strong>"));
    assert!(html.contains("<div>Reached thank-you (Pages /thank-you*): <strong>"));
    assert!(html.contains("Clicked vs confirmed"));
    assert!(html.contains("Condition pages by leads"));
    // The page filter offers the patterns goals and condition pages use (rollups keep those).
    for pattern in [
        "/thank-you*",
        "/conditions/sciatica*",
        "/conditions/knee-pain*",
    ] {
        assert!(
            html.contains(&format!("<option value=\"{pattern}\">")),
            "{pattern} offered"
        );
    }
    // Three filters: no standard rollup segment serves them. Once the site has rollups, the first
    // report remembers the combination and says it is being prepared; filled in, it is not.
    while s.refresh_rollups(100).await.unwrap() > 0 {}
    let three = format!(
        "/app/website?site={}&source=Google&channel=organic_search&device=mobile&period=7d",
        site.id
    );
    let (status, html) = b.text(&three).await;
    assert_eq!(status, 200);
    assert!(html.contains("These filters are new here"), "{html}");
    // The server's rollup task is woken to fill the combination in (it would otherwise look again
    // only in a minute).
    let mut waited = 0;
    let html = loop {
        let (_, html) = b.text(&three).await;
        if !html.contains("These filters are new here") || waited >= 200 {
            break html;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    };
    assert!(
        !html.contains("These filters are new here"),
        "filled in within 20 s: {html}"
    );
    // The site's sections (several pages under /conditions/) are prepared before anyone asks,
    // and offered.
    let plain = format!("/app/website?site={}&period=7d", site.id);
    let (_, html) = b.text(&plain).await;
    assert!(
        html.contains("<option value=\"/conditions/*\">"),
        "a section"
    );
    let offered =
        |html: &str, pattern: &str| html.contains(&format!("<option value=\"{pattern}\">"));
    assert!(!offered(&html, "/conditions/sciatica/*"), "not before");
    // Another pattern asked for on its own is offered once its days are filled in; a mistyped
    // one, which matches nothing, is not.
    for pattern in ["/conditions/sciatica/*", "/blgo/*"] {
        b.text(&format!(
            "/app/website?site={}&page={pattern}&period=7d",
            site.id
        ))
        .await;
    }
    while s.refresh_rollups(100).await.unwrap() > 0 {}
    let (_, html) = b.text(&plain).await;
    assert!(offered(&html, "/conditions/sciatica/*"), "offered after");
    assert!(!offered(&html, "/blgo/*"), "a pattern that matched nothing");
    let (status, html) = b
        .text(&format!(
            "/app/website?site={}&from=2026-13-01&to=2026-01-01",
            site.id
        ))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("is not a date"), "a bad date is explained");
    // A filter that matches nothing says so, and why that may be.
    let (_, html) = b
        .text(&format!(
            "/app/website?site={}&source=google&period=7d",
            site.id
        ))
        .await;
    assert!(
        html.contains("No visits match these filters in this period")
            && html.contains("capitals included"),
        "{html}"
    );
    // ... and offers the value it likely meant, as a link that sets it.
    let meant = format!(
        "/app/website?site={}&#38;period=7d&#38;source=Google",
        site.id
    );
    assert!(
        html.contains(&format!(
            r#"Did you mean <a href="{meant}">source “Google”</a>?"#
        )),
        "{html}"
    );
    // Two values likely meant: one link sets both.
    let (_, html) = b
        .text(&format!(
            "/app/website?site={}&source=google&page=/thank-yuo&period=7d",
            site.id
        ))
        .await;
    let both = html
        .split("Did you mean <a href=\"")
        .nth(1)
        .and_then(|rest| rest.split_once("\">"))
        .expect("a suggestion");
    assert!(
        both.0.contains("source=Google") && both.0.contains("page=%2Fthank-you"),
        "{}",
        both.0
    );
    assert!(
        both.1
            .starts_with("source “Google” and page “/thank-you”</a>?"),
        "{}",
        both.1
    );
    // A page alone: capitals are not the likely mistake.
    let (_, html) = b
        .text(&format!(
            "/app/website?site={}&page=/thank-yuo&period=7d",
            site.id
        ))
        .await;
    assert!(html.contains("page “/thank-you”</a>?"), "{html}");
    assert!(!html.contains("capitals included"), "{html}");
    // An exact page with pages under it: the pattern for all of them, as a link.
    let (_, html) = b
        .text(&format!(
            "/app/website?site={}&page=/conditions&period=7d",
            site.id
        ))
        .await;
    assert!(
        html.contains("for every page under it, use <a href=")
            && html.contains(">/conditions/*</a>"),
        "{html}"
    );
    // Values the period has, which no visit has together.
    let (_, html) = b
        .text(&format!(
            "/app/website?site={}&source=Facebook&device=mobile&period=7d",
            site.id
        ))
        .await;
    assert!(
        html.contains("but no visit matches all of them together"),
        "{html}"
    );
    assert!(!html.contains("capitals included"));
    assert!(html.contains("none matched in the period before"));
    // The page filter offers the period's pages as well as the patterns.
    assert!(html.contains("<option value=\"/conditions/sciatica\">"));

    // And the API, with the same filters.
    let api = Api::new(&app, &app.token(&practice, Role::Marketer).await);
    let (status, body) = api
        .get(&format!(
            "/api/v1/sites/{}/report?period=7d&source=Google",
            site.id
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["summary"]["visitors"], 3);
    assert_eq!(body["data"]["conditions"][0]["condition"], "Sciatica");
}

async fn post(app: &TestApp, body: serde_json::Value) -> u16 {
    reqwest::Client::new()
        .post(app.url("/api/event"))
        .header("user-agent", CHROME)
        .header("content-type", "text/plain")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_site_remembers_its_thirty_most_recent_filter_sets() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let s = &app.store;
    let site = s
        .create_site(practice.id, "alphapt.example", &[], false)
        .await
        .unwrap();
    let now = stride_store::now_ms();
    let range = Range {
        from: now - 7 * 86_400_000,
        to: now,
    };
    // Three filters each: no standard segment serves them, so each report remembers its set.
    for i in 0..31 {
        let scope = Scope::new(practice.id, site.id, range).with_filters(Filters {
            source: Some(format!("Source {i}")),
            channel: Some("referral".into()),
            device: Some("mobile".into()),
            ..Filters::default()
        });
        s.website_report(&scope).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let kept: Vec<String> =
        sqlx::query_scalar("SELECT segment FROM report_segments WHERE site_id = $1")
            .bind(site.id)
            .fetch_all(s.pool())
            .await
            .unwrap();
    assert_eq!(kept.len(), 30);
    assert!(
        !kept.iter().any(|k| k.starts_with("source=Source 0&")),
        "the least recently used went: {kept:?}"
    );
    assert!(kept.iter().any(|k| k.starts_with("source=Source 30&")));
}

#[tokio::test]
async fn heatmaps_record_clicks_only_where_asked_and_explain_them() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let s = &app.store;
    let site = s
        .create_site(practice.id, "alphapt.example", &[], false)
        .await
        .unwrap();
    let api = Api::new(&app, &app.token(&practice, Role::Marketer).await);
    let (status, body) = api
        .call(
            "POST",
            &format!("/api/v1/sites/{}/heatmaps", site.id),
            Some(serde_json::json!({"pattern": "/", "cta_selector": "#book"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let map_id = body["data"]["id"].as_i64().unwrap();

    // The tracker asks which pages record, and gets anchored regular expressions.
    let config: serde_json::Value = reqwest::get(app.url("/api/heatmaps?d=www.alphapt.example"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        config,
        serde_json::json!({"p": [{"r": "^\\/$", "c": "#book"}]})
    );
    let unknown: serde_json::Value = reqwest::get(app.url("/api/heatmaps?d=nobody.example"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(unknown, serde_json::json!({"p": []}));

    let click = |path: &str, kind: &str, sel: &str, tag: &str, label: &str, x: i64, y: i64| {
        serde_json::json!({"n": "$click", "u": format!("https://alphapt.example{path}"), "d": "alphapt.example",
            "x": x, "y": y, "ph": 3000, "vw": 1440, "s": sel, "t": tag, "l": label, "a": 0, "k": kind})
    };
    for _ in 0..3 {
        assert_eq!(
            post(
                &app,
                click(
                    "/",
                    "dead",
                    "#insurers > img:nth-of-type(2)",
                    "img",
                    "Aetna logo",
                    400,
                    900
                )
            )
            .await,
            202
        );
    }
    assert_eq!(
        post(
            &app,
            click(
                "/",
                "dead",
                "#hours > p:nth-of-type(1)",
                "p",
                "Call us: (630) 555-0142",
                200,
                1200
            )
        )
        .await,
        202
    );
    assert_eq!(
        post(
            &app,
            click("/", "rage", "#book", "button", "Book now", 500, 300)
        )
        .await,
        202
    );
    assert_eq!(
        post(
            &app,
            click("/", "click", "#book", "button", "Book now", 500, 300)
        )
        .await,
        202
    );
    // A page that does not record: accepted (the script may lag behind a change) but not kept.
    assert_eq!(
        post(&app, click("/about", "click", "#x", "div", "", 1, 1)).await,
        202
    );
    // Bad clicks are refused.
    assert_eq!(
        post(&app, click("/", "poke", "#x", "div", "", 1, 1)).await,
        400
    );
    assert_eq!(
        post(&app, click("/", "click", "", "div", "", 1, 1)).await,
        400
    );
    assert_eq!(
        post(&app, click("/", "click", "#x", "<script>", "", 1, 1)).await,
        400
    );
    // Where the call to action sits on a desktop and on a phone (lower: the columns stack), and how
    // far two desktop visitors and one phone visitor scrolled.
    let cta = serde_json::json!({"n": "$cta", "u": "https://alphapt.example/", "d": "alphapt.example", "y": 60, "vw": 1280});
    assert_eq!(post(&app, cta).await, 202);
    let cta = serde_json::json!({"n": "$cta", "u": "https://alphapt.example/", "d": "alphapt.example", "y": 85, "vw": 390});
    assert_eq!(post(&app, cta).await, 202);
    for (ua, depth) in [
        (format!("{CHROME} A"), 90),
        (format!("{CHROME} B"), 30),
        (IPHONE.to_string(), 95),
    ] {
        let client = reqwest::Client::new();
        for body in [
            serde_json::json!({"n": "pageview", "u": "https://alphapt.example/", "d": "alphapt.example"}),
            serde_json::json!({"n": "Form Start", "u": "https://alphapt.example/", "d": "alphapt.example", "p": {"form": "request"}}),
            serde_json::json!({"n": "engagement", "u": "https://alphapt.example/", "d": "alphapt.example", "sd": depth, "e": 30000}),
        ] {
            let status = client
                .post(app.url("/api/event"))
                .header("user-agent", &ua)
                .body(body.to_string())
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status, 202);
        }
        if depth > 50 && depth < 95 {
            let status = client
                .post(app.url("/api/event"))
                .header("user-agent", &ua)
                .body(serde_json::json!({"n": "Form Submit", "u": "https://alphapt.example/", "d": "alphapt.example", "p": {"form": "request"}}).to_string())
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status, 202);
        }
    }

    let scope = Scope::new(
        practice.id,
        site.id,
        Range {
            from: stride_store::now_ms() - 3_600_000,
            to: stride_store::now_ms() + 3_600_000,
        },
    );
    eventually("the clicks and events are stored", || async {
        let r = s.heatmap_report(&scope, map_id, "desktop").await.unwrap();
        let m = s.heatmap_report(&scope, map_id, "mobile").await.unwrap();
        r.points.len() == 6
            && r.scroll.visitors == 2
            && r.scroll.cta_depth.is_some()
            && m.scroll.visitors == 1
            && m.scroll.cta_depth.is_some()
    })
    .await;
    let r = s.heatmap_report(&scope, map_id, "desktop").await.unwrap();
    assert_eq!(r.clicks, 5, "rage bursts are not counted as extra clicks");
    assert_eq!(r.dead[0].clicks, 3);
    assert_eq!(r.dead[0].label, "Aetna logo");
    assert!(r.dead[0].advice.unwrap().contains("insurance page"));
    // Page text that looks like a phone number is never stored, but the advice still fits.
    assert_eq!(r.dead[1].label, "[phone]");
    assert!(r.dead[1].advice.unwrap().contains("tel:"));
    assert_eq!(r.rage[0].selector, "#book");
    assert_eq!(r.scroll.quarters, [2, 1, 1, 0]);
    assert_eq!(r.scroll.cta_depth, Some(60));
    assert_eq!(r.scroll.reached_cta, Some(1));
    assert_eq!(r.forms.len(), 1);
    assert_eq!((r.forms[0].started, r.forms[0].submitted), (2, 1));
    assert_eq!(r.forms[0].abandonment, Some(50.0));
    // The phone's figures are its own: its call to action's depth, its visitor's scroll, its form.
    let mobile = s.heatmap_report(&scope, map_id, "mobile").await.unwrap();
    assert!(mobile.points.is_empty());
    assert_eq!(mobile.scroll.cta_depth, Some(85));
    assert_eq!(
        (mobile.scroll.quarters, mobile.scroll.reached_cta),
        ([1, 1, 1, 0], Some(1))
    );
    assert_eq!(mobile.forms.len(), 1);
    assert_eq!((mobile.forms[0].started, mobile.forms[0].submitted), (1, 0));

    // The heatmap's page and API answer the same.
    let owner = app.user(&practice, Role::Owner).await;
    let b = app.login(&owner).await;
    let (status, html) = b.text(&format!("/app/website/heatmaps/{map_id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("link this to the insurance page"), "{html}");
    assert!(html.contains("sits 60% down the page; 1 of 2 visitors"));
    assert!(!html.contains("<iframe"), "the live page only on request");
    // On request, the live page behind the clicks: sandboxed (its scripts, the tracker among
    // them, do not run) and allowed by this page's policy for the clinic's domain alone.
    let resp = b
        .get(&format!(
            "/app/website/heatmaps/{map_id}?device=desktop&page=1"
        ))
        .await;
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("frame-src https://alphapt.example https://www.alphapt.example;"),
        "{csp}"
    );
    let html = resp.text().await.unwrap();
    assert!(
        html.contains(r#"<iframe class="heat-page" src="https://alphapt.example/" sandbox="""#),
        "{html}"
    );
    let (_, plain) = b.text(&format!("/app/website/heatmaps/{map_id}")).await;
    assert!(!plain.contains("<iframe"));
    let (status, body) = api
        .get(&format!("/api/v1/heatmaps/{map_id}/report?device=desktop"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["dead"][0]["clicks"], 3);
    let (status, _) = api
        .get(&format!("/api/v1/heatmaps/{map_id}/report?device=watch"))
        .await;
    assert_eq!(status, 422);

    // Stopping a heatmap stops the recording but keeps its clicks in view, and adding its page
    // again resumes it.
    let resp = b
        .post_form(&format!("/app/website/heatmaps/{map_id}/stop"), &[])
        .await;
    assert_eq!(resp.status().as_u16(), 303);
    let (_, setup) = b.text("/app/website/setup").await;
    assert!(
        setup.contains("(stopped; its clicks so far are kept)"),
        "{setup}"
    );
    assert!(setup.contains("Resume recording /"), "{setup}");
    let (status, html) = b.text(&format!("/app/website/heatmaps/{map_id}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Stopped: this shows the clicks recorded before it stopped"));
    assert!(html.contains("link this to the insurance page"), "{html}");
    let (_, list) = b.text("/app/website/heatmaps").await;
    assert!(
        list.contains(&format!("/app/website/heatmaps/{map_id}")),
        "{list}"
    );
    // What the tracker is told (it caches this for half a minute).
    assert!(s.heatmap_config(site.id).await.unwrap().is_empty());
    let (status, body) = api
        .call(
            "POST",
            &format!("/api/v1/sites/{}/heatmaps", site.id),
            Some(serde_json::json!({"pattern": "/", "cta_selector": "#request"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["data"]["id"], map_id, "the same heatmap, resumed");
    assert_eq!(body["data"]["stopped"], false);
    let (status, _) = api
        .call(
            "POST",
            &format!("/api/v1/sites/{}/heatmaps", site.id),
            Some(serde_json::json!({"pattern": "/"})),
        )
        .await;
    assert_eq!(status, 409, "a page that records cannot be added twice");
    assert_eq!(
        s.heatmap_config(site.id).await.unwrap(),
        [("/".to_string(), "#request".to_string())]
    );

    // Another practice sees none of it.
    let other = app.practice("bravo").await;
    let other_api = Api::new(&app, &app.token(&other, Role::Owner).await);
    let (status, _) = other_api
        .get(&format!("/api/v1/heatmaps/{map_id}/report"))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn set_up_forms_explain_mistakes_and_keep_the_rest() {
    let app = TestApp::spawn().await;
    let practice = app.practice("alpha").await;
    let site = app
        .store
        .create_site(practice.id, "alphapt.example", &[], false)
        .await
        .unwrap();
    let owner = app.user(&practice, Role::Owner).await;
    let b = app.login(&owner).await;
    let sid = site.id.to_string();
    let resp = b
        .post_form(
            "/app/website/funnels",
            &[("site_id", &sid), ("name", "Booking"), ("steps", "/\n")],
        )
        .await;
    assert_eq!(resp.status().as_u16(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("a funnel has 2 to 8 steps"));
    // What was typed comes back, to be corrected rather than typed again.
    assert!(html.contains(r#"placeholder="Appointment request" value="Booking""#));
    assert!(html.contains("/\n</textarea>"), "the steps typed");
    let resp = b
        .post_form(
            "/app/website/goals",
            &[
                ("site_id", &sid),
                ("name", "Thanks"),
                ("kind", "page"),
                ("pattern", "thank-you"),
                ("category", "early_interest"),
            ],
        )
        .await;
    assert_eq!(resp.status().as_u16(), 422);
    let html = resp.text().await.unwrap();
    assert!(html.contains("a page goal is a path starting with /"));
    assert!(html.contains(r#"value="thank-you""#));
    assert!(html.contains(r#"<option value="page" selected>"#));
    assert!(html.contains(r#"<option value="early_interest" selected>"#));
    // The cursor starts in the refused form, whose first field points to the message.
    assert!(html.contains(&format!(
        r#"value="Thanks" autofocus aria-describedby="goal-error-{sid}""#
    )));
    assert!(html.contains(&format!(r#"id="goal-error-{sid}""#)));
    // An event goal whose event the site has not sent lately says so, and names the event it
    // likely meant.
    let mut v = Visit {
        site: &site,
        visitor: 1,
        source: "Direct",
        channel: "direct",
        device: "desktop",
        at: yesterday_at_ten(),
    };
    let sent = [
        v.event("pageview", "/"),
        v.event("Appointment Request", "/"),
    ];
    app.store
        .insert_events(&sent, &mut VisitCache::default())
        .await
        .unwrap();
    for (name, event) in [
        ("Requests", "Appointmnt Request"),
        ("Sent", "Appointment Request"),
    ] {
        let resp = b
            .post_form(
                "/app/website/goals",
                &[
                    ("site_id", &sid),
                    ("name", name),
                    ("kind", "event"),
                    ("pattern", event),
                    ("category", "lead_action"),
                ],
            )
            .await;
        assert_eq!(resp.status().as_u16(), 303);
    }
    // So does a funnel's event step.
    let resp = b
        .post_form(
            "/app/website/funnels",
            &[
                ("site_id", &sid),
                ("name", "Lower case"),
                ("steps", "/\nappointment request"),
            ],
        )
        .await;
    assert_eq!(resp.status().as_u16(), 303);
    let (_, html) = b.text("/app/website/setup").await;
    assert!(html.contains(
        "No “Appointmnt Request” event in the last 30 days. The site sends “Appointment Request”"
    ));
    assert!(html.contains(
        "No “appointment request” event in the last 30 days. The site sends “Appointment Request”"
    ));
    assert_eq!(
        html.matches("in the last 30 days.").count(),
        2,
        "only the misspelt goal and step"
    );
    assert!(
        html.contains(r#"<option value="Appointment Request">"#),
        "offered when adding a goal"
    );
    // Only lead-action page goals are offered to confirm an event goal: reading a blog post
    // confirms no appointment request.
    use stride_store::website::reports::{GoalCategory, GoalKind};
    for (name, pattern, category) in [
        ("Thanks page", "/thank-you*", GoalCategory::LeadAction),
        ("Read the blog", "/blog/*", GoalCategory::EarlyInterest),
    ] {
        app.store
            .create_goal(
                practice.id,
                site.id,
                name,
                GoalKind::Page,
                pattern,
                category,
            )
            .await
            .unwrap();
    }
    let (_, html) = b.text("/app/website/setup").await;
    let select = html
        .split(r#"aria-label="Page goal that confirms Sent""#)
        .nth(1)
        .and_then(|rest| rest.split("</select>").next())
        .unwrap();
    assert!(
        select.contains("Thanks page") && !select.contains("Read the blog"),
        "{select}"
    );
    let resp = b
        .post_form(
            "/app/website/funnels",
            &[
                ("site_id", &sid),
                ("name", "Booking"),
                ("steps", "/\r\nAppointment Request\r\n/thank-you*"),
            ],
        )
        .await;
    assert_eq!(resp.status().as_u16(), 303);
    let resp = b
        .post_form(
            "/app/website/heatmaps",
            &[("site_id", &sid), ("pattern", "/"), ("cta", "#book")],
        )
        .await;
    assert_eq!(resp.status().as_u16(), 303);
    let resp = b
        .post_form(
            "/app/website/conditions",
            &[
                ("site_id", &sid),
                ("condition", "Sciatica"),
                ("pattern", "/conditions/sciatica*"),
            ],
        )
        .await;
    assert_eq!(resp.status().as_u16(), 303);
    let (_, html) = b.text("/app/website/setup").await;
    assert!(html.contains("Home page → Event “Appointment Request” → Pages /thank-you*"));
    assert!(html.contains("call to action <code>#book</code>"));
    assert!(html.contains("Sciatica: <code>/conditions/sciatica*</code>"));
    // A front-desk user cannot change tracking.
    let desk = app.user(&practice, Role::FrontDesk).await;
    let d = app.login(&desk).await;
    let resp = d
        .post_form(
            "/app/website/heatmaps",
            &[("site_id", &sid), ("pattern", "/about")],
        )
        .await;
    assert_eq!(resp.status().as_u16(), 403);
}

#[tokio::test]
async fn rolled_up_days_give_the_same_reports_as_the_raw_data() {
    let app = TestApp::spawn().await;
    let s = &app.store;
    let demo = stride::demo::seed(s).await.unwrap();
    let practice_id = demo.practice_id;
    let site = s.sites(practice_id).await.unwrap()[0].clone();
    let tz = stride_core::tz::TimeZoneName::parse(
        s.practice_time_zone(practice_id)
            .await
            .unwrap()
            .iana_name()
            .unwrap(),
    )
    .ok();
    // Until rollups exist a report is the raw data itself. The ranges end at the start of today:
    // today's rollup stops a minute ago, and visits in progress then are only caught up later.
    let period = |days| stride_web::website::dashboard::period_range(days, &tz);
    let today = period(1).from;
    let mut scopes: Vec<Scope> = [7, 30, 365]
        .into_iter()
        .map(|days| {
            Scope::new(
                practice_id,
                site.id,
                stride_store::website::reports::Range {
                    from: period(days + 1).from,
                    to: today,
                },
            )
        })
        .collect();
    // Filters are rolled up per value, alone and in pairs; page patterns only those the site's
    // goals, funnels and condition pages use. Others are summed from the raw data when asked, in
    // memory, by the same rules the report queries follow.
    let filters = |pairs: &[(&str, &str)]| {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.to_string())
        };
        Filters {
            source: get("source"),
            channel: get("channel"),
            campaign: get("campaign"),
            page: get("page"),
            device: get("device"),
        }
    };
    let mut rolled = vec![true; scopes.len()];
    for (i, (pairs, served)) in [
        (vec![("channel", "organic_search")], true),
        (vec![("source", "Google")], true),
        (vec![("device", "mobile")], true),
        (vec![("campaign", "Back pain – search")], true),
        (vec![("page", "/request-appointment")], true),
        // A goal's pattern.
        (vec![("page", "/conditions/*")], true),
        (
            vec![("channel", "organic_search"), ("device", "mobile")],
            true,
        ),
        (
            vec![("source", "Google"), ("campaign", "Back pain – search")],
            true,
        ),
        (vec![("device", "mobile"), ("page", "/conditions/*")], true),
        (
            vec![("channel", "paid_search"), ("page", "/insurance")],
            true,
        ),
        // These no standard segment serves (a pattern nothing defines, three filters) until a
        // report has asked for them once.
        (vec![("page", "/services*")], false),
        // With another filter: the pattern's family, remembered and filled in with the pattern.
        (vec![("device", "mobile"), ("page", "/services*")], false),
        (
            vec![
                ("source", "Google"),
                ("channel", "organic_search"),
                ("device", "mobile"),
            ],
            false,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let mut scope = scopes[1 + i % 2].clone();
        scope.filters = filters(&pairs);
        scopes.push(scope);
        rolled.push(served);
    }
    // The previous period's figures are compared on their own below.
    let view = |r: &stride_store::website::reports::Report| {
        let mut r = r.clone();
        for g in &mut r.goals {
            g.previous = None;
        }
        for rows in [
            &mut r.sources,
            &mut r.channels,
            &mut r.campaigns,
            &mut r.pages,
            &mut r.landing_pages,
            &mut r.devices,
        ] {
            for row in rows.iter_mut() {
                row.previous = None;
            }
        }
        serde_json::json!({
            "summary": r.summary, "daily": r.daily, "goals": r.goals, "funnels": r.funnels,
            "conditions": r.conditions, "sources": r.sources, "channels": r.channels,
            "pages": r.pages, "landing_pages": r.landing_pages, "devices": &r.devices[..r.devices.len().min(5)],
            "campaigns": r.campaigns,
        })
    };
    let mut raw = Vec::new();
    for scope in &scopes {
        raw.push(view(&s.raw_report(scope, 10).await.unwrap()));
    }
    // Roll up the newest six weeks (the server's own background task may do more meanwhile): the
    // year's report then adds raw data for its older part to the rollups.
    s.refresh_rollups(45).await.unwrap();
    let days: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rollup_days")
        .fetch_one(s.pool())
        .await
        .unwrap();
    assert!(days >= 40, "six weeks rolled up: {days}");
    let mut compared_before = 0;
    let mut asked: Vec<Option<String>> = Vec::new();
    for ((scope, raw), served) in scopes.iter().zip(&raw).zip(&rolled) {
        // Asked first: asking remembers a new filter set, and the server's rollup task, woken, may
        // start filling it in at once (a report over partly filled-in days must still add up).
        // A pattern's family asked for before may be filled in already.
        let part = s.rolled_up_part(scope).await.unwrap();
        if *served || !asked.contains(&scope.filters.page) {
            assert_eq!(
                part.is_some(),
                *served,
                "read from rollups: {:?}",
                scope.filters
            );
        }
        asked.push(scope.filters.page.clone());
        let full = s.website_report(scope).await.unwrap();
        assert_eq!(&view(&full), raw, "the same report for {:?}", scope.filters);
        if !*served {
            // The previous period of a set read raw is summed day by day: the same as at once.
            let zone = s.practice_time_zone(practice_id).await.unwrap();
            let before = scope.over(stride_store::website::rollups::previous_range(
                scope.range,
                &zone,
            ));
            let at_once = s.website_summary(&before).await.unwrap();
            compared_before += at_once.visitors;
            assert_eq!(
                serde_json::json!(full.previous),
                serde_json::json!(at_once),
                "the previous period of {:?}",
                scope.filters
            );
        }
    }
    assert!(
        compared_before > 0,
        "a previous period read raw had visitors"
    );
    // Each goal and row of the 30 days is compared with the 30 days before, as a report of those
    // days counts them.
    let month = &scopes[1];
    let report = s.website_report(month).await.unwrap();
    let zone = s.practice_time_zone(practice_id).await.unwrap();
    let earlier = s
        .raw_report(
            &month.over(stride_store::website::rollups::previous_range(
                month.range,
                &zone,
            )),
            1000,
        )
        .await
        .unwrap();
    assert!(earlier.summary.visitors > 0);
    assert_eq!(report.previous.visitors, earlier.summary.visitors);
    for g in &report.goals {
        let before = earlier
            .goals
            .iter()
            .find(|b| b.goal.id == g.goal.id)
            .unwrap();
        assert_eq!(
            g.previous,
            Some(stride_store::website::reports::Earlier {
                visitors: earlier.summary.visitors,
                converting: before.converting_visitors
            }),
            "{}",
            g.goal.name
        );
    }
    for (rows, before) in [
        (&report.sources, &earlier.sources),
        (&report.channels, &earlier.channels),
        (&report.pages, &earlier.pages),
    ] {
        for row in rows {
            let (visitors, converting) = before
                .iter()
                .find(|b| b.key == row.key)
                .map_or((0, 0), |b| (b.visitors, b.converting));
            assert_eq!(
                row.previous,
                Some(stride_store::website::reports::Earlier {
                    visitors,
                    converting
                }),
                "{}",
                row.key
            );
        }
    }
    // Asking for those two remembered them: the background task fills in their days, and from then
    // on rollups serve them too, with the same reports.
    while s.refresh_rollups(400).await.unwrap() > 0 {}
    // So are the site's sections, though no report asked for one: the first is already quick.
    assert!(
        s.rolled_up_patterns(practice_id, site.id)
            .await
            .unwrap()
            .contains(&"/blog/*".to_string()),
        "the blog is a section"
    );
    let blog = scopes[2]
        .clone()
        .with_filters(filters(&[("page", "/blog/*")]));
    let raw_blog = view(&s.raw_report(&blog, 10).await.unwrap());
    assert!(raw_blog["summary"]["visits"].as_i64() > Some(0));
    assert!(s.rolled_up_part(&blog).await.unwrap().is_some());
    assert_eq!(view(&s.website_report(&blog).await.unwrap()), raw_blog);
    // ... and so is the section with another filter: its family.
    let mobile_blog = scopes[2]
        .clone()
        .with_filters(filters(&[("device", "mobile"), ("page", "/blog/*")]));
    let raw_mobile_blog = view(&s.raw_report(&mobile_blog, 10).await.unwrap());
    assert!(raw_mobile_blog["summary"]["visits"].as_i64() > Some(0));
    assert!(s.rolled_up_part(&mobile_blog).await.unwrap().is_some());
    assert_eq!(
        view(&s.website_report(&mobile_blog).await.unwrap()),
        raw_mobile_blog
    );
    let pairs: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM report_segments WHERE segment LIKE 'device=%'")
            .fetch_one(s.pool())
            .await
            .unwrap();
    assert_eq!(pairs, 0, "a pattern with a filter is served by its family");
    for ((scope, raw), served) in scopes.iter().zip(&raw).zip(&rolled) {
        if *served {
            continue;
        }
        let part = s.rolled_up_part(scope).await.unwrap();
        assert!(part.is_some(), "now from rollups: {:?}", scope.filters);
        let report = view(&s.website_report(scope).await.unwrap());
        assert_eq!(&report, raw, "the same report for {:?}", scope.filters);
    }
    // New traffic shows at once: today is rolled up only to a minute ago.
    let this_week = Scope::new(practice_id, site.id, period(7));
    let before = s.website_report(&this_week).await.unwrap().summary.visits;
    let mut e = Visit {
        site: &site,
        visitor: 999_999_999,
        source: "Google",
        channel: "organic_search",
        device: "desktop",
        at: stride_store::now_ms() - 120_000,
    }
    .event("pageview", "/");
    e.at = stride_store::now_ms() - 1_000;
    s.insert_events(&[e], &mut VisitCache::default())
        .await
        .unwrap();
    assert_eq!(
        s.website_report(&this_week).await.unwrap().summary.visits,
        before + 1
    );
    // Changing a goal drops the rollups; reports stay right while they are rebuilt.
    s.create_goal(
        practice_id,
        site.id,
        "Insurance page",
        GoalKind::Page,
        "/insurance",
        GoalCategory::EarlyInterest,
    )
    .await
    .unwrap();
    let raw_year = view(&s.raw_report(&scopes[2], 10).await.unwrap());
    assert!(
        raw[3..]
            .iter()
            .all(|r| r["summary"]["visits"].as_i64() > Some(0)),
        "every filtered report has traffic to compare"
    );
    assert_eq!(view(&s.website_report(&scopes[2]).await.unwrap()), raw_year);
    s.refresh_rollups(30).await.unwrap();
    assert_eq!(view(&s.website_report(&scopes[2]).await.unwrap()), raw_year);
}

#[tokio::test]
async fn a_day_under_way_is_compared_with_as_much_of_the_day_before() {
    let app = TestApp::spawn().await;
    let s = &app.store;
    let practice = app.practice("alpha").await;
    let site = s
        .create_site(practice.id, "alphapt.example", &[], false)
        .await
        .unwrap();
    let zone = s.practice_time_zone(practice.id).await.unwrap();
    let now = jiff::Timestamp::now().to_zoned_datetime(zone.clone());
    let ms = |z: &jiff::ZonedDateTime| z.timestamp().as_millisecond();
    let midnight = |d: jiff::civil::Date| ms(&d.to_zoned_datetime(zone.clone()).unwrap());
    let today = now.date();
    let yesterday = today.yesterday().unwrap();
    // This time of day, yesterday; one visitor came earlier than that, one later.
    let same_time = ms(&now.checked_sub(jiff::Span::new().days(1)).unwrap());
    let earlier = same_time - (same_time - midnight(yesterday)) / 2;
    let later = same_time + (midnight(today) - same_time) / 2;
    // And one visitor today so far.
    let this_morning = midnight(today) + (ms(&now) - midnight(today)) / 2;
    let mut events = Vec::new();
    for (visitor, at) in [(1, earlier), (2, later), (3, this_morning)] {
        let mut v = Visit {
            site: &site,
            visitor,
            source: "Google",
            channel: "organic_search",
            device: "mobile",
            // Its pageview comes a minute after this.
            at: at - 60_000,
        };
        events.push(v.event("pageview", "/"));
    }
    s.insert_events(&events, &mut VisitCache::default())
        .await
        .unwrap();
    let day = |d: jiff::civil::Date| Range {
        from: midnight(d),
        to: midnight(d.tomorrow().unwrap()),
    };
    // Today so far is compared with yesterday up to this time of day: the earlier visitor only.
    // With today rolled up so far, rows are compared too, though yesterday's part is read raw.
    let today_so_far = Scope::new(practice.id, site.id, day(today));
    for rolled_up in [false, true] {
        if rolled_up {
            s.refresh_rollups(30).await.unwrap();
        }
        let report = s.website_report(&today_so_far).await.unwrap();
        assert_eq!(report.previous.visitors, 1, "yesterday up to now's time");
        if rolled_up && s.rolled_up_part(&today_so_far).await.unwrap().is_some() {
            let google = report.sources.iter().find(|r| r.key == "Google");
            assert_eq!(google.and_then(|r| r.previous).map(|p| p.visitors), Some(1));
        }
    }
    // Yesterday, a whole day, is compared with the whole day before it, and has both.
    let report = s
        .website_report(&Scope::new(practice.id, site.id, day(yesterday)))
        .await
        .unwrap();
    assert_eq!(report.summary.visitors, 2);
    // The dashboard says so.
    let owner = app.user(&practice, Role::Owner).await;
    let b = app.login(&owner).await;
    let (_, page) = b
        .text(&format!(
            "/app/website?period=custom&from={today}&to={today}"
        ))
        .await;
    assert!(
        page.contains("(today so far)</strong>") && page.contains("(up to the same time of day)"),
        "{page}"
    );
}

/// A site "alphapt.example" with a lead-action goal, "Call tap" (the event "Phone Call"), and
/// `visitors` phone visitors yesterday, from Google but for the third (Facebook); the first tapped
/// to call.
async fn site_with_callers(s: &stride_store::Store, practice_id: i64, visitors: i64) -> Site {
    let site = s
        .create_site(practice_id, "alphapt.example", &[], false)
        .await
        .unwrap();
    s.create_goal(
        practice_id,
        site.id,
        "Call tap",
        GoalKind::Event,
        "Phone Call",
        GoalCategory::LeadAction,
    )
    .await
    .unwrap();
    let t0 = yesterday_at_ten();
    let mut events = Vec::new();
    for visitor in 1..=visitors {
        let mut v = Visit {
            site: &site,
            visitor,
            source: if visitor == 3 { "Facebook" } else { "Google" },
            channel: "organic_search",
            device: "mobile",
            at: t0 + visitor * 1_000,
        };
        events.push(v.event("pageview", "/"));
        if visitor == 1 {
            events.push(v.event("Phone Call", "/"));
        }
    }
    s.insert_events(&events, &mut VisitCache::default())
        .await
        .unwrap();
    site
}

#[tokio::test]
async fn an_agency_sees_its_clinics_side_by_side() {
    let app = TestApp::spawn().await;
    let s = &app.store;
    let (alpha, beta, gamma) = (
        app.practice("alpha").await,
        app.practice("beta").await,
        app.practice("gamma").await,
    );
    // The agency's marketer works for alpha and beta; at gamma they are a clinician.
    let marketer = app.user(&alpha, Role::Marketer).await;
    let id = s
        .user_by_email(&stride_core::email::EmailAddress::parse(&marketer).unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    s.grant_role(id, beta.id, Role::Marketer).await.unwrap();
    s.grant_role(id, gamma.id, Role::Clinician).await.unwrap();
    site_with_callers(s, alpha.id, 4).await;

    // Two leads for alpha this week: the page counts them, and never names them.
    for name in ["Anastasia", "Bartholomew"] {
        let mut lead = stride_store::leads::LeadInput::new(stride_core::leads::Origin::Form);
        lead.first_name = name.into();
        lead.email =
            Some(stride_core::email::EmailAddress::parse(&format!("{name}@example.com")).unwrap());
        s.capture_lead(alpha.id, &lead, &stride_store::audit::Actor::system("test"))
            .await
            .unwrap();
    }

    let b = app.login(&marketer).await;
    let (status, page) = b.text("/app/clinics?period=7d").await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(r#"href="/app/clinics""#),
        "linked in the header"
    );
    let row = |name: &str| {
        // After the header, whose practice switcher names every practice too.
        page.split("<tr>")
            .skip(1)
            .find(|r| r.contains(name))
            .unwrap_or_else(|| panic!("a row for {name}: {page}"))
            .to_string()
    };
    let a = row("alphapt.example");
    assert!(
        a.contains(r#"data-label="Visitors">4 "#) && a.contains("1 converting"),
        "{a}"
    );
    assert!(
        a.contains("25.0%"),
        "one of four visitors tapped to call: {a}"
    );
    assert!(a.contains("too few visitors to judge"), "{a}");
    assert!(a.contains(r#"data-label="Leads">2</td>"#), "{a}");
    assert!(
        !page.contains("Anastasia") && !page.contains("Bartholomew"),
        "no lead is named"
    );
    assert!(row(&beta.name).contains("No website set up yet"));
    let g = row(&gamma.name);
    assert!(g.contains("Your role here does not include reports"), "{g}");
    assert!(
        !g.contains("Open"),
        "no way in to a report the role may not see"
    );
    // The same as a spreadsheet, numbers unformatted.
    let resp = b.get("/app/clinics.csv?period=7d").await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"clinics-7d-")
    );
    let csv = resp.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "practice,website,visitors,previous_visitors,converting_visitors,lead_action_rate_pct,band,leads,new_patients,cost_per_lead"
    );
    assert!(
        lines.contains(&"alpha PT,alphapt.example,4,0,1,25.0,too few visitors to judge,2,0,"),
        "{csv}"
    );
    assert!(
        csv.contains("your role here does not include reports"),
        "{csv}"
    );
    // Open goes to that practice's website dashboard.
    let resp = b
        .post_form(
            "/app/switch-practice",
            &[
                ("practice_id", &beta.id.to_string()),
                ("section", "website"),
                ("period", "90d"),
            ],
        )
        .await;
    assert_eq!(
        resp.headers()["location"],
        "/app/website?period=90d",
        "the period being compared"
    );
    let (_, html) = b.text("/app/website").await;
    assert!(html.contains(&format!("<option value=\"{}\" selected", beta.id)));

    // Someone with one practice has no such link.
    let owner = app.user(&alpha, Role::Owner).await;
    let (_, page) = app.login(&owner).await.text("/app").await;
    assert!(!page.contains(r#"href="/app/clinics""#));
}

#[tokio::test]
async fn a_weekly_summary_goes_out_on_monday_morning_once() {
    let app = TestApp::spawn().await;
    let s = &app.store;
    let practice = app.practice("alpha").await;
    let site = site_with_callers(s, practice.id, 3).await;

    // The owner puts the agency's address on the list; a mistyped one is refused and kept.
    let owner = app.login(&app.user(&practice, Role::Owner).await).await;
    let sid = site.id.to_string();
    let resp = owner
        .post_form(
            "/app/website/report-emails",
            &[("site_id", &sid), ("email", "agency@brightpath.example")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let resp = owner
        .post_form(
            "/app/website/report-emails",
            &[("site_id", &sid), ("email", "agency.brightpath.example")],
        )
        .await;
    let html = resp.text().await.unwrap();
    assert!(html.contains("is not a valid email address"), "{html}");
    assert!(html.contains(r#"value="agency.brightpath.example""#));
    let (_, html) = owner.text("/app/website/setup").await;
    assert!(html.contains("<li>agency@brightpath.example"), "{html}");
    // The set-up page previews the email, for the last whole week.
    let (status, preview) = owner
        .text(&format!("/app/website/weekly?site={}", site.id))
        .await;
    assert_eq!(status, 200);
    assert!(
        preview.contains("<strong>Subject:</strong> alphapt.example: ")
            && preview.contains("alpha PT · alphapt.example\nLast week, "),
        "{preview}"
    );

    // The Monday after the week that holds yesterday, in the practice's time zone.
    let zone = s.practice_time_zone(practice.id).await.unwrap();
    let yesterday = jiff::Timestamp::from_millisecond(yesterday_at_ten())
        .unwrap()
        .to_zoned_datetime(zone.clone())
        .date();
    let monday = yesterday
        .checked_add(
            jiff::Span::new().days(7 - i64::from(yesterday.weekday().to_monday_zero_offset())),
        )
        .unwrap();
    let at = |date: jiff::civil::Date, hour: i8| {
        date.at(hour, 0, 0, 0)
            .to_zoned_datetime(zone.clone())
            .unwrap()
            .timestamp()
            .as_millisecond()
    };
    let send = |now: i64| stride_web::website::weekly::send_due(s, "https://stride.example", now);
    // Not on Sunday evening, nor on Monday before 7 am.
    let sunday = monday.yesterday().unwrap();
    assert_eq!(send(at(sunday, 20)).await.unwrap(), 0);
    assert_eq!(send(at(monday, 6)).await.unwrap(), 0);
    assert_eq!(send(at(monday, 8)).await.unwrap(), 1);
    // A second server, or the next sweep, finds it queued already.
    send(at(monday, 9)).await.unwrap();
    let actor = stride_store::audit::Actor::system("test");
    let sent: Vec<_> = s
        .messages(practice.id, 10, &actor)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.purpose == "weekly_summary")
        .collect();
    assert_eq!(sent.len(), 1, "one email a week");
    let m = &sent[0];
    assert_eq!(m.to, "agency@brightpath.example");
    assert_eq!(
        m.subject.as_deref(),
        Some("alphapt.example: 3 visitors last week")
    );
    assert!(m.body.contains("Visitors: 3\n"), "{}", m.body);
    assert!(
        m.body
            .contains("Visitors who completed a lead action: 1 (33.3% of visitors)"),
        "{}",
        m.body
    );
    assert!(m.body.contains("- Call tap: 1 visitor\n"), "{}", m.body);
    assert!(
        m.body
            .contains("- Google: 2 visitors, 1 completed a lead action")
    );
    let first = monday.checked_sub(jiff::Span::new().days(7)).unwrap();
    assert!(m.body.contains(&format!(
        "https://stride.example/app/website?site={}&period=custom&from={first}&to={sunday}",
        site.id
    )));
    // It goes out through the outbox like any email (recorded, with no provider set).
    eventually("the summary is delivered", || async {
        s.messages(practice.id, 10, &actor)
            .await
            .unwrap()
            .iter()
            .any(|m| m.purpose == "weekly_summary" && m.status == "recorded")
    })
    .await;

    // Taken off the list: nothing the next Monday.
    let resp = owner
        .post_form(
            "/app/website/report-emails/delete",
            &[("site_id", &sid), ("email", "agency@brightpath.example")],
        )
        .await;
    assert_eq!(resp.status(), 303);
    let next = monday.checked_add(jiff::Span::new().days(7)).unwrap();
    assert_eq!(send(at(next, 8)).await.unwrap(), 0);
    let audit: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE entity = 'report_email' ORDER BY id",
    )
    .fetch_all(s.pool())
    .await
    .unwrap();
    assert_eq!(audit, vec!["create", "delete"]);
}
