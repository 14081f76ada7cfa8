//! The weekly summary by email: every Monday from 7 am in the practice's time zone, each address
//! on a site's list (set-up page) receives last week's figures against the week before: visitors,
//! visits, the visitors who completed a lead action with their benchmark band, each lead-action
//! goal, and the top sources, with a link to the dashboard for those dates. The message goes
//! through the practice's outbox like any other email, with an idempotency key per site, week and
//! address, so a restart or a second server never sends a week twice.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::{Extension, Form};
use jiff::civil::Weekday;
use serde::Deserialize;
use stride_core::email::EmailAddress;
use stride_core::role::Permission;
use stride_core::website::conversion::band;
use stride_store::Store;
use stride_store::error::StoreResult;
use stride_store::messages::{Channel, NewMessage};
use stride_store::website::reports::{GoalCategory, Range, Report, Scope};

use super::dashboard::{MIN_VISITORS_FOR_BAND, days_in_words};
use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, PageResult};
use crate::pages::{Done, Layout, count, layout, redirect_done, render, saved_or_again};

const SETUP: &str = "/app/website/setup";
/// The hour (local) from which Monday's summaries go out.
const SEND_FROM_HOUR: i8 = 7;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReportEmailForm {
    site_id: i64,
    email: String,
}

pub async fn add(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    Form(f): Form<ReportEmailForm>,
) -> PageResult {
    p.require(Permission::ManageWebsite)?;
    let result = match EmailAddress::parse(&f.email) {
        Ok(email) => state
            .store
            .add_report_email(p.practice_id, f.site_id, &email, &p.actor)
            .await
            .map_err(AppError::from),
        Err(e) => Err(AppError::invalid(e.to_string())),
    };
    saved_or_again(result, SETUP, "report_email", |e| async move {
        let typed = vec![("email", f.email)];
        super::insights::setup_refused((&state, &p, &headers), f.site_id, "email", e, typed).await
    })
    .await
}

pub async fn remove(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<ReportEmailForm>,
) -> PageResult {
    p.require(Permission::ManageWebsite)?;
    state
        .store
        .remove_report_email(p.practice_id, f.site_id, &f.email, &p.actor)
        .await?;
    Ok(redirect_done(SETUP, "report_email_removed"))
}

/// " (+4% on the week before)", or "" without anything to compare with.
fn change(now: i64, before: i64) -> String {
    super::dashboard::change(now as f64, before as f64)
        .map(|c| format!(" ({c} on the week before)"))
        .unwrap_or_default()
}

/// The subject and plain-text body of a site's summary for `week`, compared with the week before.
pub fn summary_email(
    practice: &str,
    domain: &str,
    (week, before): (&str, &str),
    report: &Report,
    link: &str,
) -> (String, String) {
    let (now, prev) = (&report.summary, &report.previous);
    let (converting, _) = report.converting_visitors();
    let mut body = format!(
        "{practice} · {domain}\nLast week, {week}, compared with {before}\n\n\
         Visitors: {}{}\nVisits: {}{}\n",
        count(now.visitors),
        change(now.visitors, prev.visitors),
        count(now.visits),
        change(now.visits, prev.visits),
    );
    if now.visitors > 0 {
        let rate = converting as f64 * 100.0 / now.visitors as f64;
        let judged = if now.visitors >= MIN_VISITORS_FOR_BAND {
            format!(", {}", band(rate).label().to_lowercase())
        } else {
            String::new()
        };
        body.push_str(&format!(
            "Visitors who completed a lead action: {} ({rate:.1}% of visitors{judged})\n",
            count(converting)
        ));
    }
    let leads: Vec<_> = report
        .goals
        .iter()
        .filter(|g| g.goal.category == GoalCategory::LeadAction)
        .collect();
    if !leads.is_empty() {
        body.push_str("\nLead actions\n");
        for g in leads {
            body.push_str(&format!(
                "- {}: {} visitor{}\n",
                g.goal.name,
                count(g.converting_visitors),
                if g.converting_visitors == 1 { "" } else { "s" }
            ));
        }
    }
    if !report.sources.is_empty() {
        body.push_str("\nWhere visitors came from\n");
        for r in report.sources.iter().take(5) {
            body.push_str(&format!(
                "- {}: {} visitors, {} completed a lead action\n",
                r.key,
                count(r.visitors),
                count(r.converting)
            ));
        }
    }
    body.push_str(&format!(
        "\nThe whole report: {link}\n\n\
         You receive this every Monday because your address is on the weekly summary list of {domain} in \
         Stride (Website, Set-up). Remove it there to stop. Only counts are sent: no visitor or patient is named.\n"
    ));
    let subject = format!(
        "{domain}: {} visitors last week{}",
        count(now.visitors),
        change(now.visitors, prev.visitors)
            .replace(" on the week before", "")
            .trim_end()
    );
    (subject, body)
}

/// The subject and body of a site's summary of the week before `monday` (local dates).
async fn week_email(
    store: &Store,
    (practice_id, site_id): (i64, i64),
    monday: jiff::civil::Date,
    tz: &jiff::tz::TimeZone,
    base_url: &str,
) -> StoreResult<Option<(String, String)>> {
    let Ok(week_start) = monday.checked_sub(jiff::Span::new().days(7)) else {
        return Ok(None);
    };
    let start = |d: jiff::civil::Date| {
        d.to_zoned_datetime(tz.clone())
            .map(|z| z.timestamp().as_millisecond())
    };
    let (Ok(from), Ok(to)) = (start(week_start), start(monday)) else {
        return Ok(None);
    };
    let range = Range { from, to };
    let site = store.site(practice_id, site_id).await?;
    let practice = store.practice(practice_id).await?;
    let report = store
        .website_report(&Scope::new(practice_id, site_id, range))
        .await?;
    let before = stride_store::website::rollups::previous_range(range, tz);
    let last_day = monday.yesterday().unwrap_or(monday);
    let link = format!(
        "{}/app/website?site={site_id}&period=custom&from={week_start}&to={last_day}",
        base_url.trim_end_matches('/')
    );
    Ok(Some(summary_email(
        &practice.name,
        &site.domain,
        (&days_in_words(range, tz), &days_in_words(before, tz)),
        &report,
        &link,
    )))
}

#[derive(Deserialize)]
pub struct PreviewQuery {
    site: i64,
}

#[derive(Template)]
#[template(path = "website_weekly.html")]
struct PreviewPage {
    l: Layout,
    subject: String,
    body: String,
}

/// The summary as the list would receive it for the last whole week (Monday to Sunday).
pub async fn preview(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    Query(q): Query<PreviewQuery>,
) -> PageResult {
    p.require(Permission::ViewAggregates)?;
    let l = layout(&state, &p, "website", &Done::default()).await?;
    let tz = state.store.practice_time_zone(p.practice_id).await?;
    let today = jiff::Timestamp::now().to_zoned_datetime(tz.clone()).date();
    let monday = today
        .checked_sub(jiff::Span::new().days(i64::from(today.weekday().to_monday_zero_offset())))
        .unwrap_or(today);
    let (subject, body) = week_email(
        &state.store,
        (p.practice_id, q.site),
        monday,
        &tz,
        &state
            .config
            .public_url
            .clone()
            .unwrap_or_else(|| super::pages::origin(&headers)),
    )
    .await?
    .ok_or(AppError::NotFound)?;
    render(&PreviewPage { l, subject, body })
}

/// Queues the summaries due at `now`: on Mondays from 7 am local time, last week's for every
/// address of every site with a list. Returns how many messages it queued or found queued already.
pub async fn send_due(store: &Store, base_url: &str, now: i64) -> StoreResult<usize> {
    let mut queued = 0;
    for (practice_id, site_id, emails) in store.sites_with_report_emails().await? {
        let tz = store.practice_time_zone(practice_id).await?;
        let Ok(local) =
            jiff::Timestamp::from_millisecond(now).map(|t| t.to_zoned_datetime(tz.clone()))
        else {
            continue;
        };
        if local.weekday() != Weekday::Monday || local.hour() < SEND_FROM_HOUR {
            continue;
        }
        let monday = local.date();
        let Some((subject, body)) =
            week_email(store, (practice_id, site_id), monday, &tz, base_url).await?
        else {
            continue;
        };
        for email in emails {
            store
                .queue_message(
                    practice_id,
                    &NewMessage {
                        channel: Channel::Email,
                        to: email.clone(),
                        subject: Some(subject.clone()),
                        body: body.clone(),
                        purpose: "weekly_summary".into(),
                        idempotency_key: Some(format!("weekly_summary:{site_id}:{monday}:{email}")),
                    },
                )
                .await?;
            queued += 1;
        }
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stride_store::website::reports::{BreakdownRow, Summary};

    fn row(key: &str, visitors: i64, converting: i64) -> BreakdownRow {
        BreakdownRow {
            key: key.into(),
            visitors,
            converting,
            ..BreakdownRow::default()
        }
    }

    #[test]
    fn a_summary_reads_like_a_short_letter() {
        let report = Report {
            range: Range { from: 0, to: 1 },
            previous_range: Some(Range { from: -1, to: 0 }),
            summary: Summary {
                visitors: 1_240,
                visits: 1_400,
                ..Summary::default()
            },
            previous: Summary {
                visitors: 1_000,
                visits: 1_400,
                ..Summary::default()
            },
            daily: Vec::new(),
            goals: Vec::new(),
            sources: vec![row("Google", 700, 20), row("Facebook", 200, 3)],
            channels: Vec::new(),
            campaigns: Vec::new(),
            pages: Vec::new(),
            landing_pages: Vec::new(),
            devices: vec![row("mobile", 800, 15), row("desktop", 440, 10)],
            browsers: Vec::new(),
            systems: Vec::new(),
            funnels: Vec::new(),
            conditions: Vec::new(),
        };
        let (subject, body) = summary_email(
            "Riverside Physical Therapy",
            "riversidept.example",
            ("Nov 23 – Nov 29, 2026", "Nov 16 – Nov 22, 2026"),
            &report,
            "https://stride.example/app/website?site=1",
        );
        assert_eq!(
            subject,
            "riversidept.example: 1,240 visitors last week (+24%)"
        );
        assert!(
            body.contains("Visitors: 1,240 (+24% on the week before)"),
            "{body}"
        );
        assert!(
            body.contains("Visits: 1,400 (0% on the week before)"),
            "{body}"
        );
        // 25 of 1,240 visitors: 2.0%, a healthy rate.
        assert!(
            body.contains("Visitors who completed a lead action: 25 (2.0% of visitors, healthy)"),
            "{body}"
        );
        assert!(body.contains("- Google: 700 visitors, 20 completed a lead action"));
        assert!(body.contains("The whole report: https://stride.example/app/website?site=1"));
    }
}
