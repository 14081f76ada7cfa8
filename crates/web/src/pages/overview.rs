//! The overview: the practice at a glance (locations open now in their own time zone, team, patients,
//! messages) and the funnel stages that later sections fill in.

use askama::Template;
use axum::Extension;
use axum::extract::{Query, State};
use stride_core::hours::{Weekday, WeeklyHours};
use stride_core::role::Permission;
use stride_core::tz::TimeZoneName;

use super::{Done, Layout, layout, render};
use crate::AppState;
use crate::auth::Principal;
use crate::error::PageResult;

pub struct LocationNow {
    pub name: String,
    pub local_time: String,
    pub open_now: bool,
    pub time_zone: String,
}

/// The website's last 30 days, for the first step of the funnel.
pub struct WebsiteNow {
    pub visitors: i64,
    /// (goal name, converting visitors, rate text) for the lead-action goals.
    pub leads: Vec<(String, i64, String)>,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct Overview {
    website: Option<WebsiteNow>,
    can_set_up_website: bool,
    l: Layout,
    locations: Vec<LocationNow>,
    clinicians: usize,
    patients: Option<i64>,
    queued: i64,
    failed: i64,
}

pub async fn overview(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(done): Query<Done>,
) -> PageResult {
    let l = layout(&state, &p, "overview", &done).await?;
    let now = jiff::Timestamp::now();
    let locations = state
        .store
        .locations(p.practice_id)
        .await?
        .into_iter()
        .map(|loc| {
            let tz = TimeZoneName::parse(&loc.time_zone).ok();
            let zoned = tz.as_ref().map(|tz| now.to_zoned_datetime(tz.tz()));
            let hours = WeeklyHours::parse(&loc.hours).unwrap_or_default();
            let open_now = zoned.as_ref().is_some_and(|z| {
                let minute = u16::try_from(z.hour() as i32 * 60 + z.minute() as i32).unwrap_or(0);
                hours.is_open(Weekday::from(z.weekday()), minute)
            });
            LocationNow {
                name: loc.name,
                local_time: zoned
                    .map(|z| z.strftime("%-I:%M %p %Z").to_string())
                    .unwrap_or_default(),
                open_now,
                time_zone: loc.time_zone,
            }
        })
        .collect();
    let clinicians = state
        .store
        .clinicians(p.practice_id)
        .await?
        .iter()
        .filter(|c| c.active)
        .count();
    let patients = if p.can(Permission::ViewPatients) || p.can(Permission::ViewAggregates) {
        Some(state.store.patient_count(p.practice_id).await?)
    } else {
        None
    };
    let stats = state.store.practice_message_stats(p.practice_id).await?;
    let website = if p.can(Permission::ViewAggregates) {
        website_now(&state, p.practice_id).await?
    } else {
        None
    };
    render(&Overview {
        website,
        can_set_up_website: p.can(Permission::ManageWebsite),
        l,
        locations,
        clinicians,
        patients,
        queued: stats.0,
        failed: stats.1,
    })
}

async fn website_now(state: &AppState, practice_id: i64) -> PageResult<Option<WebsiteNow>> {
    use stride_core::website::conversion::conversion_rate;
    use stride_store::website::reports::GoalCategory;
    let Some(site) = state.store.sites(practice_id).await?.into_iter().next() else {
        return Ok(None);
    };
    let tz = super::practice_tz(state, practice_id).await?;
    let range = crate::website::dashboard::period_range(30, &tz);
    let scope = stride_store::website::reports::Scope::new(practice_id, site.id, range);
    let summary = state.store.website_summary(&scope).await?;
    let leads = state
        .store
        .goal_results(&scope)
        .await?
        .into_iter()
        .filter(|g| g.goal.category == GoalCategory::LeadAction)
        .map(|g| {
            let rate = conversion_rate(g.converting_visitors as u64, summary.visitors as u64)
                .map(|r| format!("{r:.1}%"))
                .unwrap_or_else(|| "–".into());
            (g.goal.name, g.converting_visitors, rate)
        })
        .collect();
    Ok(Some(WebsiteNow {
        visitors: summary.visitors,
        leads,
    }))
}
