//! The Website section: the practice's sites with the snippet to paste, their tracking settings,
//! and the newest events as they arrive, so a practice can see its tracking work at once.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::{Extension, Form};
use serde::Deserialize;
use stride_core::role::Permission;
use stride_core::website::channels::Channel;
use stride_core::website::insights::likely_meant;
use stride_store::website::Site;
use stride_store::website::insights::{ConditionPage, Funnel, Heatmap};
use stride_store::website::reports::{Goal, GoalCategory, GoalKind};

use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, PageResult};
use crate::pages::{
    Done, Layout, layout, local_time, practice_tz, render, saved_or_again, unprocessable,
};

pub struct EventRow {
    pub when: String,
    pub name: String,
    pub path: String,
    pub source: String,
    pub channel: String,
    pub device: String,
}

pub struct SiteView {
    pub site: Site,
    pub goals: Vec<Goal>,
    pub heatmaps: Vec<Heatmap>,
    pub funnels: Vec<Funnel>,
    pub conditions: Vec<ConditionPage>,
    pub snippet: String,
    /// The appointment-request form to embed on the clinic's own site.
    pub form_snippet: String,
    /// Dynamic number insertion for call tracking.
    pub numbers_snippet: String,
    pub events: Vec<EventRow>,
    pub dropped: Vec<(String, i64)>,
    /// For each goal (same order as `goals`): a warning when an event goal's event has not been
    /// received lately, naming the event it likely meant; empty otherwise.
    pub goal_notes: Vec<String>,
    /// The same for each funnel's event steps (same order as `funnels`).
    pub funnel_notes: Vec<String>,
    /// The event names received in the last 30 days, offered when adding a goal.
    pub received: Vec<String>,
    /// The addresses its weekly summary goes to.
    pub report_emails: Vec<String>,
}

/// A set-up form that was refused: which form of which site, why, and what was typed, so the
/// form comes back filled in with the message beside it.
pub struct Refused {
    pub site_id: i64,
    pub form: &'static str,
    pub error: String,
    pub typed: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "website_setup.html")]
struct WebsitePage {
    l: Layout,
    sites: Vec<SiteView>,
    can_manage: bool,
    f: SiteForm,
    error: Option<String>,
    refused: Option<Refused>,
}

impl WebsitePage {
    /// What was typed in `field` of a refused `form` of site `site_id`, or nothing.
    fn typed(&self, site_id: &i64, form: &str, field: &str) -> &str {
        self.refused
            .as_ref()
            .filter(|r| r.site_id == *site_id && r.form == form)
            .and_then(|r| r.typed.iter().find(|(f, _)| *f == field))
            .map_or("", |(_, v)| v.as_str())
    }

    /// Why `form` of site `site_id` was refused, if it was.
    fn refusal(&self, site_id: &i64, form: &str) -> Option<&str> {
        self.refused
            .as_ref()
            .filter(|r| r.site_id == *site_id && r.form == form)
            .map(|r| r.error.as_str())
    }
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct SiteForm {
    pub domain: String,
    pub allowed_params: String,
    pub honor_dnt: Option<String>,
}

/// The address browsers use to reach this Stride, for the snippet.
pub(crate) fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("STRIDE-HOST");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("http");
    format!("{proto}://{host}")
}

pub(crate) async fn page(
    state: &AppState,
    p: &Principal,
    headers: &HeaderMap,
    done: &Done,
    f: SiteForm,
    error: Option<String>,
    refused: Option<Refused>,
) -> PageResult {
    if !p.can(Permission::ViewAggregates) && !p.can(Permission::ManageWebsite) {
        return Err(AppError::Forbidden);
    }
    let l = layout(state, p, "website", done).await?;
    let tz = practice_tz(state, p.practice_id).await?;
    let base = origin(headers);
    let mut sites = Vec::new();
    for site in state.store.sites(p.practice_id).await? {
        let events = state
            .store
            .recent_events(p.practice_id, site.id, 60)
            .await?
            .into_iter()
            // Engagement is each page's time and scroll depth: bookkeeping, not activity.
            .filter(|e| e.name != "engagement")
            .take(20)
            .map(|e| EventRow {
                when: local_time(e.at, &tz),
                name: e.name,
                path: e.path,
                source: e.source,
                channel: e
                    .channel
                    .parse::<Channel>()
                    .map(|c| c.label().to_string())
                    .unwrap_or(e.channel),
                device: e.device,
            })
            .collect();
        let params = if site.allowed_params.is_empty() {
            String::new()
        } else {
            format!(" data-params=\"{}\"", site.allowed_params.join(","))
        };
        let snippet = format!(
            "<script defer data-domain=\"{}\"{params} src=\"{base}/js/stride.js\"></script>",
            site.domain
        );
        let practice = state.store.practice(p.practice_id).await?;
        let form_snippet = format!(
            "<iframe src=\"{base}/p/{}/request?embed=1\" title=\"Request an appointment\" loading=\"lazy\" style=\"width:100%;max-width:560px;height:980px;border:0\"></iframe>",
            practice.slug
        );
        let numbers_snippet = format!(
            "<script defer data-domain=\"{}\" src=\"{base}/js/stride-numbers.js\"></script>",
            site.domain
        );
        let dropped = state.store.dropped(site.id).await?;
        let goals = state.store.goals(p.practice_id, site.id).await?;
        let funnels = state.store.funnels(p.practice_id, site.id).await?;
        let since = jiff::Timestamp::now().as_millisecond() - 30 * 86_400_000;
        let received: Vec<String> = state
            .store
            .event_names_since(p.practice_id, site.id, since)
            .await?
            .into_iter()
            // Pages are goals of their own kind; engagement is bookkeeping.
            .filter(|n| n != "pageview" && n != "engagement")
            .collect();
        let goal_notes = goals
            .iter()
            .map(|g| match g.kind {
                GoalKind::Event => missing_event(&g.pattern, &received),
                GoalKind::Page => String::new(),
            })
            .collect();
        let funnel_notes = funnels
            .iter()
            .map(|f| {
                f.steps
                    .iter()
                    .filter(|st| st.kind == GoalKind::Event)
                    .map(|st| missing_event(&st.pattern, &received))
                    .filter(|n| !n.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let heatmaps = state.store.heatmaps(p.practice_id, site.id).await?;
        let conditions = state.store.condition_pages(p.practice_id, site.id).await?;
        let report_emails = state.store.report_emails(p.practice_id, site.id).await?;
        sites.push(SiteView {
            site,
            goals,
            heatmaps,
            funnels,
            conditions,
            snippet,
            form_snippet,
            numbers_snippet,
            events,
            dropped,
            goal_notes,
            funnel_notes,
            received,
            report_emails,
        });
    }
    let page = WebsitePage {
        l,
        sites,
        can_manage: p.can(Permission::ManageWebsite),
        f,
        error,
        refused,
    };
    if page.error.is_some() || page.refused.is_some() {
        unprocessable(&page)
    } else {
        render(&page)
    }
}

/// A warning for an event goal or funnel step whose event `name` has not arrived lately (it
/// will count nothing), naming the event it likely meant; empty when it has arrived.
fn missing_event(name: &str, received: &[String]) -> String {
    if received.iter().any(|r| r == name) {
        return String::new();
    }
    let mut note = format!("No “{name}” event in the last 30 days.");
    match likely_meant(name, received) {
        Some(m) => note.push_str(&format!(
            " The site sends “{m}”: names must match exactly, capitals included."
        )),
        None if !received.is_empty() => note.push_str(&format!(
            " Events received: {}.",
            received
                .iter()
                .take(12)
                .map(|n| format!("“{n}”"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        None => {}
    }
    note
}

pub async fn setup(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    Query(done): Query<Done>,
) -> PageResult {
    page(&state, &p, &headers, &done, SiteForm::default(), None, None).await
}

fn params(text: &str) -> Vec<String> {
    text.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

pub async fn add_site(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    Form(f): Form<SiteForm>,
) -> PageResult {
    p.require(Permission::ManageWebsite)?;
    let result = state
        .store
        .create_site(
            p.practice_id,
            &f.domain,
            &params(&f.allowed_params),
            f.honor_dnt.is_some(),
        )
        .await
        .map_err(AppError::from);
    saved_or_again(result, "/app/website/setup", "site", |error| async move {
        page(&state, &p, &headers, &Done::default(), f, Some(error), None).await
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct GoalForm {
    site_id: i64,
    name: String,
    kind: String,
    pattern: String,
    category: String,
}

pub async fn add_goal(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    Form(f): Form<GoalForm>,
) -> PageResult {
    p.require(Permission::ManageWebsite)?;
    let result = async {
        let kind = if f.kind == "page" {
            GoalKind::Page
        } else {
            GoalKind::Event
        };
        let category = GoalCategory::parse(&f.category)?;
        state
            .store
            .create_goal(
                p.practice_id,
                f.site_id,
                &f.name,
                kind,
                &f.pattern,
                category,
            )
            .await
    }
    .await
    .map_err(AppError::from);
    saved_or_again(result, "/app/website/setup", "goal", |error| async move {
        let refused = Refused {
            site_id: f.site_id,
            form: "goal",
            error,
            typed: vec![
                ("name", f.name),
                ("kind", f.kind),
                ("pattern", f.pattern),
                ("category", f.category),
            ],
        };
        page(
            &state,
            &p,
            &headers,
            &Done::default(),
            SiteForm::default(),
            None,
            Some(refused),
        )
        .await
    })
    .await
}

pub async fn delete_goal(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<i64>,
) -> PageResult {
    p.require(Permission::ManageWebsite)?;
    state.store.delete_goal(p.practice_id, id).await?;
    Ok(crate::pages::redirect_done(
        "/app/website/setup",
        "goal_deleted",
    ))
}
