//! Website tracking in the JSON API: sites, goals, and a site's report for a period or a date
//! range, as agencies' dashboards and scripts use them. Aggregates only; never a visitor's identity.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use stride_core::role::Permission;
use stride_core::website::channels::Channel;
use stride_core::website::conversion::{band, conversion_rate};
use stride_store::website::Filters;
use stride_store::website::insights::FunnelStep;
use stride_store::website::reports::{GoalCategory, GoalKind, Scope};

use super::dashboard::report_range;
use crate::AppState;
use crate::api::{Body, Id, Params};
use crate::auth::Principal;
use crate::error::{ApiResult, AppError};
use crate::pages::practice_tz;

fn can_view(p: &Principal) -> Result<(), AppError> {
    if p.can(Permission::ViewAggregates) || p.can(Permission::ManageWebsite) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

pub async fn sites(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
) -> ApiResult<Json<Value>> {
    can_view(&p)?;
    Ok(Json(
        json!({ "data": state.store.sites(p.practice_id).await? }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteBody {
    domain: String,
    #[serde(default)]
    allowed_params: Vec<String>,
    #[serde(default)]
    honor_dnt: bool,
}

pub async fn create_site(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Body(b): Body<SiteBody>,
) -> ApiResult<Response> {
    p.require(Permission::ManageWebsite)?;
    let site = state
        .store
        .create_site(p.practice_id, &b.domain, &b.allowed_params, b.honor_dnt)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "data": site }))).into_response())
}

pub async fn goals(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(site_id): Id<i64>,
) -> ApiResult<Json<Value>> {
    can_view(&p)?;
    state.store.site(p.practice_id, site_id).await?;
    Ok(Json(
        json!({ "data": state.store.goals(p.practice_id, site_id).await? }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoalBody {
    name: String,
    kind: String,
    pattern: String,
    category: String,
}

pub async fn create_goal(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(site_id): Id<i64>,
    Body(b): Body<GoalBody>,
) -> ApiResult<Response> {
    p.require(Permission::ManageWebsite)?;
    let kind = match b.kind.as_str() {
        "event" => GoalKind::Event,
        "page" => GoalKind::Page,
        _ => return Err(AppError::invalid("kind must be event or page").into()),
    };
    let category = GoalCategory::parse(&b.category)?;
    let goal = state
        .store
        .create_goal(p.practice_id, site_id, &b.name, kind, &b.pattern, category)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "data": goal }))).into_response())
}

#[derive(Deserialize, Default)]
pub struct ReportParams {
    period: Option<String>,
    /// First day, inclusive, in the practice's time zone (YYYY-MM-DD).
    from: Option<String>,
    /// Last day, inclusive.
    to: Option<String>,
    /// Rows in each breakdown (1–500; the dashboard's lengths when absent).
    limit: Option<String>,
    #[serde(flatten)]
    filters: Filters,
}

pub async fn report(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(site_id): Id<i64>,
    Params(q): Params<ReportParams>,
) -> ApiResult<Json<Value>> {
    can_view(&p)?;
    state.store.site(p.practice_id, site_id).await?;
    let tz = practice_tz(&state, p.practice_id).await?;
    let range = report_range(q.period.as_deref(), q.from.as_deref(), q.to.as_deref(), &tz)?;
    let limit = match q.limit.as_deref().map(str::parse::<usize>) {
        None => None,
        Some(Ok(n @ 1..=500)) => Some(n),
        Some(_) => return Err(AppError::invalid("limit is a number of rows from 1 to 500").into()),
    };
    let scope = Scope::new(p.practice_id, site_id, range).with_filters(q.filters);
    let report = state.store.website_report_rows(&scope, limit).await?;
    let visitors = report.summary.visitors as u64;
    let rates: Vec<Value> = report
        .goals
        .iter()
        .map(|g| {
            let rate = conversion_rate(g.converting_visitors as u64, visitors);
            json!({
                "goal_id": g.goal.id,
                "conversion_rate": rate,
                "band": rate.filter(|_| g.goal.category == GoalCategory::LeadAction).map(|r| band(r).as_str()),
            })
        })
        .collect();
    let mut data = serde_json::to_value(&report).map_err(|e| AppError::Internal(e.into()))?;
    // Each breakdown row with its conversion rate (visitors with a lead action ÷ visitors), and
    // each channel with its name and whether the clinic reached out (outbound) or was found.
    for table in BREAKDOWNS {
        let Some(rows) = data.get_mut(*table).and_then(Value::as_array_mut) else {
            continue;
        };
        for row in rows {
            let count = |k: &str| row.get(k).and_then(Value::as_u64).unwrap_or(0);
            let rate = conversion_rate(count("converting"), count("visitors"));
            row["conversion_rate"] = json!(rate);
            if *table == "channels"
                && let Some(c) = row["key"].as_str().and_then(|k| k.parse::<Channel>().ok())
            {
                row["label"] = json!(c.label());
                row["direction"] = json!(c.direction().label().to_lowercase());
            }
        }
    }
    Ok(Json(json!({ "data": data, "conversion_rates": rates })))
}

/// The report's breakdown tables, as serialized.
const BREAKDOWNS: &[&str] = &[
    "sources",
    "channels",
    "campaigns",
    "pages",
    "landing_pages",
    "devices",
    "browsers",
    "systems",
];

pub async fn funnels(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(site_id): Id<i64>,
) -> ApiResult<Json<Value>> {
    can_view(&p)?;
    state.store.site(p.practice_id, site_id).await?;
    Ok(Json(
        json!({ "data": state.store.funnels(p.practice_id, site_id).await? }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunnelBody {
    name: String,
    steps: Vec<FunnelStep>,
}

pub async fn create_funnel(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(site_id): Id<i64>,
    Body(b): Body<FunnelBody>,
) -> ApiResult<Response> {
    p.require(Permission::ManageWebsite)?;
    let funnel = state
        .store
        .create_funnel(p.practice_id, site_id, &b.name, &b.steps)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "data": funnel }))).into_response())
}

pub async fn condition_pages(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(site_id): Id<i64>,
) -> ApiResult<Json<Value>> {
    can_view(&p)?;
    state.store.site(p.practice_id, site_id).await?;
    Ok(Json(
        json!({ "data": state.store.condition_pages(p.practice_id, site_id).await? }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionBody {
    condition: String,
    pattern: String,
}

pub async fn create_condition_page(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(site_id): Id<i64>,
    Body(b): Body<ConditionBody>,
) -> ApiResult<Response> {
    p.require(Permission::ManageWebsite)?;
    let page = state
        .store
        .add_condition_page(p.practice_id, site_id, &b.condition, &b.pattern)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "data": page }))).into_response())
}

pub async fn heatmaps(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(site_id): Id<i64>,
) -> ApiResult<Json<Value>> {
    can_view(&p)?;
    state.store.site(p.practice_id, site_id).await?;
    Ok(Json(
        json!({ "data": state.store.heatmaps(p.practice_id, site_id).await? }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeatmapBody {
    pattern: String,
    #[serde(default)]
    cta_selector: String,
}

pub async fn create_heatmap(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(site_id): Id<i64>,
    Body(b): Body<HeatmapBody>,
) -> ApiResult<Response> {
    p.require(Permission::ManageWebsite)?;
    let map = state
        .store
        .create_heatmap(p.practice_id, site_id, &b.pattern, &b.cta_selector)
        .await?;
    Ok((StatusCode::CREATED, Json(json!({ "data": map }))).into_response())
}

#[derive(Deserialize, Default)]
pub struct HeatmapParams {
    device: Option<String>,
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

pub async fn heatmap_report(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Id(id): Id<i64>,
    Params(q): Params<HeatmapParams>,
) -> ApiResult<Json<Value>> {
    can_view(&p)?;
    let map = state.store.heatmap(p.practice_id, id).await?;
    let device = q.device.as_deref().unwrap_or("desktop");
    if !["desktop", "tablet", "mobile"].contains(&device) {
        return Err(AppError::invalid("device must be desktop, tablet or mobile").into());
    }
    let tz = practice_tz(&state, p.practice_id).await?;
    let range = report_range(q.period.as_deref(), q.from.as_deref(), q.to.as_deref(), &tz)?;
    let scope = Scope::new(p.practice_id, map.site_id, range);
    let report = state.store.heatmap_report(&scope, id, device).await?;
    Ok(Json(json!({ "data": report })))
}
