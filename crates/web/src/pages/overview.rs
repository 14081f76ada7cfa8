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

#[derive(Template)]
#[template(path = "overview.html")]
struct Overview {
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
    render(&Overview {
        l,
        locations,
        clinicians,
        patients,
        queued: stats.0,
        failed: stats.1,
    })
}
