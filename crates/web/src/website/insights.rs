//! Set-up and views for what goes beyond visits and goals: heatmaps (a click map, dead and rage
//! clicks with advice, scroll depth against the call to action, forms), funnels, condition pages,
//! and pairing an event goal with the page goal that confirms it.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use serde::Deserialize;
use stride_core::role::Permission;
use stride_store::website::insights::{FunnelStep, Heatmap, HeatmapReport};
use stride_store::website::reports::{GoalKind, Scope};

use super::dashboard::{PERIODS, period_range, report_range};
use super::pages::{Refused, SiteForm, page as setup_page};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, PageResult};
use crate::pages::{Done, Layout, layout, practice_tz, redirect_done, render, saved_or_again};

const SETUP: &str = "/app/website/setup";

/// The set-up page again with a message at its top.
async fn setup_again(
    state: &AppState,
    p: &Principal,
    headers: &HeaderMap,
    error: String,
) -> PageResult {
    setup_page(
        state,
        p,
        headers,
        &Done::default(),
        SiteForm::default(),
        Some(error),
        None,
    )
    .await
}

/// The set-up page again after `form` of site `site_id` was refused: the form filled in as
/// `typed`, its message beside it.
pub(crate) async fn setup_refused(
    (state, p, headers): (&AppState, &Principal, &HeaderMap),
    site_id: i64,
    form: &'static str,
    error: String,
    typed: Vec<(&'static str, String)>,
) -> PageResult {
    let refused = Refused {
        site_id,
        form,
        error,
        typed,
    };
    setup_page(
        state,
        p,
        headers,
        &Done::default(),
        SiteForm::default(),
        None,
        Some(refused),
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ConfirmForm {
    page_goal_id: String,
}

/// Pairs an event goal with the page goal that confirms it, or unpairs it.
pub async fn confirm_goal(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(f): Form<ConfirmForm>,
) -> PageResult {
    p.require(Permission::ManageWebsite)?;
    let page_goal = f.page_goal_id.trim().parse::<i64>().ok();
    let result = state
        .store
        .set_goal_confirmation(p.practice_id, id, page_goal)
        .await
        .map_err(AppError::from);
    saved_or_again(result, SETUP, "confirmation", |e| async move {
        setup_again(&state, &p, &headers, e).await
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct FunnelForm {
    site_id: i64,
    name: String,
    /// One step per line: a page pattern ("/book*") or an event name.
    steps: String,
}

/// Reads the steps a person typed, one per line: lines starting with "/" are pages.
pub fn parse_steps(text: &str) -> Vec<FunnelStep> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| FunnelStep {
            kind: if l.starts_with('/') {
                GoalKind::Page
            } else {
                GoalKind::Event
            },
            pattern: l.to_string(),
        })
        .collect()
}

pub async fn add_funnel(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    Form(f): Form<FunnelForm>,
) -> PageResult {
    p.require(Permission::ManageWebsite)?;
    let result = state
        .store
        .create_funnel(p.practice_id, f.site_id, &f.name, &parse_steps(&f.steps))
        .await
        .map_err(AppError::from);
    saved_or_again(result, SETUP, "funnel", |e| async move {
        let typed = vec![("name", f.name), ("steps", f.steps)];
        setup_refused((&state, &p, &headers), f.site_id, "funnel", e, typed).await
    })
    .await
}

pub async fn delete_funnel(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
) -> PageResult {
    p.require(Permission::ManageWebsite)?;
    state.store.delete_funnel(p.practice_id, id).await?;
    Ok(redirect_done(SETUP, "funnel_deleted"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ConditionForm {
    site_id: i64,
    condition: String,
    pattern: String,
}

pub async fn add_condition(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    Form(f): Form<ConditionForm>,
) -> PageResult {
    p.require(Permission::ManageWebsite)?;
    let result = state
        .store
        .add_condition_page(p.practice_id, f.site_id, &f.condition, &f.pattern)
        .await
        .map_err(AppError::from);
    saved_or_again(result, SETUP, "condition", |e| async move {
        let typed = vec![("condition", f.condition), ("pattern", f.pattern)];
        setup_refused((&state, &p, &headers), f.site_id, "condition", e, typed).await
    })
    .await
}

pub async fn delete_condition(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
) -> PageResult {
    p.require(Permission::ManageWebsite)?;
    state.store.delete_condition_page(p.practice_id, id).await?;
    Ok(redirect_done(SETUP, "condition_deleted"))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct HeatmapForm {
    site_id: i64,
    pattern: String,
    cta: String,
}

pub async fn add_heatmap(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    Form(f): Form<HeatmapForm>,
) -> PageResult {
    p.require(Permission::ManageWebsite)?;
    let result = state
        .store
        .create_heatmap(p.practice_id, f.site_id, &f.pattern, &f.cta)
        .await
        .map_err(AppError::from);
    saved_or_again(result, SETUP, "heatmap", |e| async move {
        let typed = vec![("pattern", f.pattern), ("cta", f.cta)];
        setup_refused((&state, &p, &headers), f.site_id, "heatmap", e, typed).await
    })
    .await
}

pub async fn stop_heatmap(
    state: State<AppState>,
    p: Extension<Principal>,
    id: Path<i64>,
) -> PageResult {
    set_heatmap_stopped(state, p, id, true).await
}

pub async fn resume_heatmap(
    state: State<AppState>,
    p: Extension<Principal>,
    id: Path<i64>,
) -> PageResult {
    set_heatmap_stopped(state, p, id, false).await
}

async fn set_heatmap_stopped(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    stopped: bool,
) -> PageResult {
    p.require(Permission::ManageWebsite)?;
    state
        .store
        .set_heatmap_stopped(p.practice_id, id, stopped)
        .await?;
    let done = if stopped {
        "heatmap_stopped"
    } else {
        "heatmap"
    };
    Ok(redirect_done(SETUP, done))
}

#[derive(Template)]
#[template(path = "website_heatmaps.html")]
struct HeatmapsPage {
    l: Layout,
    /// (domain, heatmaps)
    sites: Vec<(String, Vec<Heatmap>)>,
    can_manage: bool,
}

/// Every recording page, with a link to each heatmap.
pub async fn heatmaps(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> PageResult {
    p.require(Permission::ViewAggregates)?;
    let l = layout(&state, &p, "website", &Done::default()).await?;
    let mut sites = Vec::new();
    for site in state.store.sites(p.practice_id).await? {
        let maps = state.store.heatmaps(p.practice_id, site.id).await?;
        sites.push((site.domain, maps));
    }
    render(&HeatmapsPage {
        l,
        sites,
        can_manage: p.can(Permission::ManageWebsite),
    })
}

#[derive(Deserialize, Default)]
pub struct HeatmapQuery {
    device: Option<String>,
    /// "1": show the live page behind the clicks.
    page: Option<String>,
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// A dot of the click map in the SVG's coordinates (1,000 wide).
pub struct Dot {
    pub x: i64,
    pub y: i64,
    pub kind: String,
}

#[derive(Template)]
#[template(path = "website_heatmap.html")]
struct HeatmapPage {
    l: Layout,
    r: HeatmapReport,
    domain: String,
    /// Names of the most clicked elements where their clicks land: (x, y, text).
    labels: Vec<(i64, i64, String)>,
    /// Where the call to action sits on the map.
    cta_y: Option<i64>,
    device: &'static str,
    period: &'static str,
    periods: &'static [(&'static str, &'static str, i64)],
    dots: Vec<Dot>,
    map_height: i64,
    /// The live page drawn behind the clicks, when asked for: its address, and its size in CSS
    /// pixels at the device class's typical width.
    frame: Option<(String, i64, i64)>,
    show_page: bool,
    /// (label, visitors, percent, bar height)
    depth: Vec<(String, i64, String, f64)>,
    cta_line: Option<String>,
}

impl HeatmapPage {
    /// Whether an element's words shown here hid a phone number (intake keeps "[phone]" in their
    /// place).
    fn hides_phone(&self) -> bool {
        self.r
            .top
            .iter()
            .chain(&self.r.dead)
            .chain(&self.r.rage)
            .any(|e| e.label.contains("[phone]"))
    }
}

/// Typical page widths in CSS pixels per device class, to turn pixel heights into the map's scale.
/// Label text size on the click map, in its units (the map is 1000 wide).
const LABEL_SIZE: i64 = 30;

/// Puts each label just above its clicks, moved down below any label already placed where it
/// would overlap (on a phone, menu links sit at one spot), and kept inside the map's width.
fn place_labels(wanted: Vec<(i64, i64, String)>) -> Vec<(i64, i64, String)> {
    // About half the text size per character, in map units.
    let half_width = |t: &str| t.chars().count() as i64 * LABEL_SIZE / 4 + 6;
    let mut placed: Vec<(i64, i64, String)> = Vec::new();
    for (x, y, text) in wanted {
        let hw = half_width(&text);
        let x = x.clamp(hw.min(500), (1000 - hw).max(500));
        let mut y = (y - 16).max(LABEL_SIZE + 4);
        while placed.iter().any(|(px, py, pt)| {
            (py - y).abs() < LABEL_SIZE + 4 && (px - x).abs() < hw + half_width(pt)
        }) {
            y += LABEL_SIZE + 4;
        }
        placed.push((x, y, text));
    }
    placed
}

fn typical_width(device: &str) -> i64 {
    match device {
        "mobile" => 390,
        "tablet" => 820,
        _ => 1280,
    }
}

pub async fn heatmap(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<i64>,
    Query(q): Query<HeatmapQuery>,
) -> Result<Response, AppError> {
    p.require(Permission::ViewAggregates)?;
    let map = state.store.heatmap(p.practice_id, id).await?;
    let site = state.store.site(p.practice_id, map.site_id).await?;
    let device = match q.device.as_deref() {
        Some("mobile") => "mobile",
        Some("tablet") => "tablet",
        _ => "desktop",
    };
    let (period, _, days) = PERIODS
        .iter()
        .find(|(k, ..)| Some(*k) == q.period.as_deref())
        .copied()
        .unwrap_or(PERIODS[1]);
    let tz = practice_tz(&state, p.practice_id).await?;
    let range = match (q.from.as_deref(), q.to.as_deref()) {
        (Some(f), Some(t)) if !f.is_empty() && !t.is_empty() => {
            report_range(None, Some(f), Some(t), &tz)?
        }
        _ => period_range(days, &tz),
    };
    let scope = Scope::new(p.practice_id, site.id, range);
    let r = state.store.heatmap_report(&scope, id, device).await?;
    let width = typical_width(device);
    let dots: Vec<Dot> = r
        .points
        .iter()
        .map(|pt| Dot {
            x: pt.x,
            y: pt.y * 1000 / width,
            kind: pt.kind.clone(),
        })
        .collect();
    let tallest = r.points.iter().map(|pt| pt.page_h).max().unwrap_or(0);
    let map_height = (tallest * 1000 / width)
        .max(dots.iter().map(|d| d.y + 10).max().unwrap_or(0))
        .max(600);
    let total = r.scroll.visitors;
    let depth = ["25%", "50%", "75%", "100%"]
        .iter()
        .zip(r.scroll.quarters)
        .map(|(label, n)| {
            let share = if total > 0 {
                n as f64 * 100.0 / total as f64
            } else {
                0.0
            };
            (label.to_string(), n, format!("{share:.0}%"), share)
        })
        .collect();
    // The call to action by its words where its clicks name them, else by its selector.
    let cta = r
        .top
        .iter()
        .find(|e| e.selector == r.heatmap.cta_selector && !e.label.is_empty())
        .map_or(r.heatmap.cta_selector.clone(), |e| e.label.clone());
    let cta_line = match (r.scroll.cta_depth, r.scroll.reached_cta) {
        (Some(at), Some(n)) if total > 0 => Some(format!(
            "The call to action (“{cta}”) sits {at}% down the page; {n} of {total} visitors ({:.0}%) scrolled that far.",
            n as f64 * 100.0 / total as f64
        )),
        _ if !r.heatmap.cta_selector.is_empty() => Some(format!(
            "The call to action (“{cta}”) has not been seen on a recorded visit yet."
        )),
        _ => None,
    };
    // The most clicked elements are named where their clicks land. The live page can be drawn
    // behind them on request: sandboxed (no scripts, so the tracker does not run and no visit is
    // counted), and only where the clinic's site allows framing.
    let show_page = q.page.as_deref() == Some("1");
    let frame = show_page.then(|| {
        let path = r
            .page_path
            .clone()
            .unwrap_or_else(|| r.heatmap.pattern.replace('*', ""));
        (
            format!("https://{}{path}", site.domain),
            width,
            map_height * width / 1000,
        )
    });
    let labels = place_labels(
        r.top
            .iter()
            .chain(&r.dead)
            .take(12)
            .map(|e| {
                let text = if e.label.is_empty() {
                    e.selector.clone()
                } else {
                    e.label.clone()
                };
                (e.x, e.y * 1000 / width, text)
            })
            .collect(),
    );
    let l = layout(&state, &p, "website", &Done::default()).await?;
    let page = HeatmapPage {
        l,
        domain: site.domain.clone(),
        labels,
        cta_y: r.scroll.cta_depth.map(|d| d * map_height / 100),
        device,
        period,
        periods: PERIODS,
        dots,
        map_height,
        frame,
        show_page,
        depth,
        cta_line,
        r,
    };
    let mut resp = render(&page)?.into_response();
    if show_page {
        // The clinic's own site (a normalized domain: letters, digits, dots and dashes) may be
        // framed here, and nothing else.
        let d = &site.domain;
        if let Ok(v) = axum::http::HeaderValue::from_str(&format!(
            "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; \
             frame-src https://{d} https://www.{d}; frame-ancestors 'none'"
        )) {
            resp.headers_mut()
                .insert(axum::http::header::CONTENT_SECURITY_POLICY, v);
        }
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_labels_at_one_spot_stack_instead_of_overlapping() {
        let placed = place_labels(vec![
            (900, 40, "Conditions".into()),
            (900, 40, "Insurance".into()),
            (100, 40, "Far away".into()),
        ]);
        let (a, b, c) = (&placed[0], &placed[1], &placed[2]);
        assert!(b.1 >= a.1 + LABEL_SIZE, "stacked: {placed:?}");
        assert_eq!(c.1, a.1, "a label elsewhere keeps its place");
        assert!(
            a.0 + "Conditions".len() as i64 * LABEL_SIZE / 4 <= 1000,
            "inside the map"
        );
    }

    #[test]
    fn steps_are_pages_or_events_by_their_first_character() {
        let steps = parse_steps("/\n\n  Appointment Request \n/thank-you*\n");
        assert_eq!(steps.len(), 3);
        assert_eq!(steps[0].kind, GoalKind::Page);
        assert_eq!(steps[1].kind, GoalKind::Event);
        assert_eq!(steps[1].pattern, "Appointment Request");
        assert_eq!(steps[2].pattern, "/thank-you*");
    }
}
