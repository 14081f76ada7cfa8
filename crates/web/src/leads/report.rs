//! The lead report and campaigns pages: what marketers and owners look at. Aggregates only;
//! nothing here reads a lead's identity.

use askama::Template;
use axum::extract::{Query, State};
use axum::{Extension, Form};
use serde::Deserialize;
use stride_core::leads::CampaignKind;
use stride_core::role::Permission;
use stride_store::campaigns::{
    CampaignInput, CampaignMonths, FunnelRow, GroupBy, LeadReport, MonthRow, SpeedToLead,
};

use super::api::group_by;
use crate::AppState;
use crate::auth::Principal;
use crate::error::{AppError, PageResult};
use crate::pages::{
    Done, Layout, form_error, layout, practice_tz, redirect_done, render, unprocessable,
};
use crate::website::dashboard::{PERIODS, report_range};

/// "$1,234" (whole dollars) or "$12.50" under $100.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    if c < 10_000 && !c.is_multiple_of(100) {
        return format!("{sign}${}.{:02}", c / 100, c % 100);
    }
    let dollars = ((c + 50) / 100) as i64;
    format!("{sign}${}", crate::pages::count(dollars))
}

/// Parses "$1,250.50", "1250" or "1250.5" into cents.
pub fn parse_money(s: &str) -> Result<i64, AppError> {
    let t: String = s
        .trim()
        .trim_start_matches('$')
        .chars()
        .filter(|c| *c != ',')
        .collect();
    let bad = || {
        AppError::invalid(format!(
            "“{}” is not an amount like 1250 or 1,250.50",
            s.trim()
        ))
    };
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    if whole.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || !frac.chars().all(|c| c.is_ascii_digit())
        || whole.len() > 10
    {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    Ok(whole * 100 + frac)
}

fn pct(v: Option<f64>) -> String {
    v.map(|p| format!("{p:.0}%")).unwrap_or_else(|| "—".into())
}

fn cost(v: Option<i64>) -> String {
    v.map(money).unwrap_or_else(|| "—".into())
}

pub struct RowView {
    pub label: String,
    pub direction: &'static str,
    pub leads: i64,
    pub sqls: i64,
    pub booked: i64,
    pub patients: i64,
    pub lead_to_sql: String,
    pub sql_to_booked: String,
    pub booked_to_patient: String,
    pub spend: String,
    pub per_lead: String,
    pub per_sql: String,
    pub per_patient: String,
}

fn view(r: &FunnelRow) -> RowView {
    RowView {
        label: r.label.clone(),
        direction: r.direction.map(|d| d.label()).unwrap_or(""),
        leads: r.leads,
        sqls: r.sqls,
        booked: r.booked,
        patients: r.patients,
        lead_to_sql: pct(r.lead_to_sql),
        sql_to_booked: pct(r.sql_to_booked),
        booked_to_patient: pct(r.booked_to_patient),
        spend: if r.spend_cents > 0 {
            money(r.spend_cents)
        } else {
            "—".into()
        },
        per_lead: cost(r.cost_per_lead_cents),
        per_sql: cost(r.cost_per_sql_cents),
        per_patient: cost(r.cost_per_patient_cents),
    }
}

/// One month's bars: inbound and outbound leads stacked, spend as a dot.
pub struct MonthBar {
    pub x: i64,
    pub inbound_h: f64,
    pub outbound_h: f64,
    pub unattributed_h: f64,
    pub spend_y: Option<f64>,
    pub label: String,
    pub title: String,
}

fn bars(months: &[MonthRow]) -> (Vec<MonthBar>, String) {
    let max_leads = months
        .iter()
        .map(|m| m.inbound + m.outbound + m.unattributed)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let max_spend = months.iter().map(|m| m.spend_cents).max().unwrap_or(0);
    let out = months
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let h = |n: i64| n as f64 * 90.0 / max_leads;
            MonthBar {
                x: i as i64 * 40,
                inbound_h: h(m.inbound),
                outbound_h: h(m.outbound),
                unattributed_h: h(m.unattributed),
                spend_y: (max_spend > 0 && m.spend_cents > 0)
                    .then(|| 100.0 - m.spend_cents as f64 * 90.0 / max_spend as f64),
                label: m.month.clone(),
                title: format!(
                    "{}: {} inbound, {} outbound, {} unknown; spend {}",
                    m.month,
                    m.inbound,
                    m.outbound,
                    m.unattributed,
                    money(m.spend_cents)
                ),
            }
        })
        .collect();
    let summary = format!(
        "Leads per month, inbound and outbound, over {} months: {} inbound, {} outbound{}",
        months.len(),
        months.iter().map(|m| m.inbound).sum::<i64>(),
        months.iter().map(|m| m.outbound).sum::<i64>(),
        if max_spend > 0 {
            "; dots mark each month's campaign spend"
        } else {
            ""
        }
    );
    (out, summary)
}

/// Speed to lead as staff read it.
pub struct SpeedView {
    pub median: String,
    pub within_5_min: String,
    pub within_hour: String,
    pub within_day: String,
    pub waiting: i64,
}

fn speed_view(s: &SpeedToLead) -> SpeedView {
    let share = |n: i64| pct((s.contacted > 0).then(|| n as f64 * 100.0 / s.leads as f64));
    SpeedView {
        median: s
            .median_ms
            .map(stride_core::leads::short_duration)
            .unwrap_or_else(|| "—".into()),
        within_5_min: share(s.within_5_min),
        within_hour: share(s.within_hour),
        within_day: share(s.within_day),
        waiting: s.leads - s.contacted,
    }
}

/// One campaign's months as small bars (leads) with dots (spend), and what happened after the
/// spend stopped.
pub struct CampaignFlow {
    pub name: String,
    pub bars: Vec<(i64, f64, bool)>,
    pub width: i64,
    pub summary: String,
    pub after: String,
}

fn flow(c: &CampaignMonths) -> Option<CampaignFlow> {
    let leads = |m: &MonthRow| m.inbound + m.outbound + m.unattributed;
    let total: i64 = c.months.iter().map(leads).sum();
    let spend: i64 = c.months.iter().map(|m| m.spend_cents).sum();
    if total == 0 && spend == 0 {
        return None;
    }
    let max = c.months.iter().map(leads).max().unwrap_or(0).max(1) as f64;
    let after = match &c.after_spend {
        Some(a) => format!(
            "Spend stopped after {}: about {:.0} leads a month while paid, then {} in the months since.",
            a.last_spend_month,
            a.leads_per_month_with_spend,
            a.leads_after
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => String::new(),
    };
    Some(CampaignFlow {
        name: c.name.clone(),
        bars: c
            .months
            .iter()
            .enumerate()
            .map(|(i, m)| {
                (
                    i as i64 * 12,
                    leads(m) as f64 * 28.0 / max,
                    m.spend_cents > 0,
                )
            })
            .collect(),
        width: (c.months.len() as i64 * 12).max(12),
        summary: format!(
            "{}: {total} leads and {} spend over {} months",
            c.name,
            money(spend),
            c.months.len()
        ),
        after,
    })
}

#[derive(Template)]
#[template(path = "lead_report.html")]
struct ReportPage {
    l: Layout,
    period: String,
    by: &'static str,
    periods: Vec<(&'static str, &'static str)>,
    total: RowView,
    value: String,
    roi: String,
    rows: Vec<RowView>,
    bars: Vec<MonthBar>,
    chart_width: i64,
    chart_summary: String,
    speed: SpeedView,
    flows: Vec<CampaignFlow>,
    can_set_value: bool,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReportQuery {
    period: Option<String>,
    by: Option<String>,
    done: Option<String>,
}

async fn report_page(
    state: &AppState,
    p: &Principal,
    q: ReportQuery,
    error: Option<String>,
) -> PageResult {
    if !(p.can(Permission::ViewAggregates) || p.can(Permission::ManageCampaigns)) {
        return Err(AppError::Forbidden);
    }
    let mut l = layout(state, p, "leads", &Done::default()).await?;
    if q.done.as_deref() == Some("value") {
        l.flash = Some("Value per new patient saved.");
    }
    let period = q.period.clone().unwrap_or_else(|| "12mo".into());
    let by_key = match q.by.as_deref() {
        Some("source") => "source",
        Some("campaign") => "campaign",
        _ => "channel",
    };
    let by: GroupBy = group_by(Some(by_key))?;
    let tz = practice_tz(state, p.practice_id).await?;
    let range = report_range(Some(&period), None, None, &tz)?;
    let report: LeadReport = state
        .store
        .lead_report(p.practice_id, range.from, range.to, by)
        .await?;
    let (bars, chart_summary) = bars(&report.months);
    let value_cents = report.total.value_cents;
    let spend = report.total.spend_cents;
    let page = ReportPage {
        l,
        by: by_key,
        periods: PERIODS.iter().map(|(k, label, _)| (*k, *label)).collect(),
        total: view(&report.total),
        value: if report.new_patient_value_cents > 0 {
            money(report.new_patient_value_cents)
        } else {
            String::new()
        },
        roi: if report.new_patient_value_cents > 0 && spend > 0 {
            format!("{:.1}×", value_cents as f64 / spend as f64)
        } else {
            String::new()
        },
        rows: report.rows.iter().map(view).collect(),
        chart_width: (bars.len() as i64 * 40).max(40),
        bars,
        chart_summary,
        speed: speed_view(&report.speed),
        flows: report.campaigns.iter().filter_map(flow).collect(),
        can_set_value: p.can(Permission::ManagePractice),
        period,
        error: error.clone(),
    };
    if error.is_some() {
        unprocessable(&page)
    } else {
        render(&page)
    }
}

pub async fn report(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(q): Query<ReportQuery>,
) -> PageResult {
    report_page(&state, &p, q, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ValueForm {
    value: String,
}

pub async fn set_value(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<ValueForm>,
) -> PageResult {
    p.require(Permission::ManagePractice)?;
    let result = match parse_money(&f.value) {
        Ok(cents) => state
            .store
            .set_new_patient_value(p.practice_id, cents, &p.actor)
            .await
            .map_err(AppError::from),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(redirect_done("/app/leads/report", "value")),
        Err(e) => report_page(&state, &p, ReportQuery::default(), Some(form_error(e)?)).await,
    }
}

pub struct CampaignView {
    pub name: String,
    pub kind: &'static str,
    pub direction: &'static str,
    pub utm: String,
    pub spend: String,
    pub archived: bool,
}

#[derive(Template)]
#[template(path = "campaigns.html")]
struct CampaignsPage {
    l: Layout,
    campaigns: Vec<CampaignView>,
    options: Vec<(i64, String)>,
    kinds: Vec<(&'static str, &'static str, &'static str)>,
    can_manage: bool,
    this_month: String,
    f: CampaignForm,
    error: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct CampaignForm {
    action: String,
    name: String,
    kind: String,
    utm_source: String,
    utm_medium: String,
    utm_campaign: String,
    campaign_id: i64,
    month: String,
    amount: String,
}

async fn campaigns_page(
    state: &AppState,
    p: &Principal,
    flash: Option<&'static str>,
    f: CampaignForm,
    error: Option<String>,
) -> PageResult {
    if !(p.can(Permission::ViewAggregates) || p.can(Permission::ManageCampaigns)) {
        return Err(AppError::Forbidden);
    }
    let mut l = layout(state, p, "leads", &Done::default()).await?;
    l.flash = flash;
    let list = state.store.campaigns(p.practice_id).await?;
    let spend = state.store.campaign_spend(p.practice_id).await?;
    let tz = practice_tz(state, p.practice_id)
        .await?
        .map(|t| t.tz())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let today = jiff::Timestamp::now().to_zoned_datetime(tz).date();
    let this_month = format!("{:04}-{:02}", today.year(), today.month());
    let campaigns = list
        .iter()
        .map(|c| {
            let total: i64 = spend
                .iter()
                .filter(|s| s.campaign_id == c.id)
                .map(|s| s.amount_cents)
                .sum();
            let months = spend.iter().filter(|s| s.campaign_id == c.id).count();
            CampaignView {
                name: c.name.clone(),
                kind: c.kind.label(),
                direction: c.direction.label(),
                utm: [&c.utm_source, &c.utm_medium, &c.utm_campaign]
                    .iter()
                    .filter(|v| !v.is_empty())
                    .map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(" / "),
                spend: if total > 0 {
                    format!(
                        "{} over {months} month{}",
                        money(total),
                        if months == 1 { "" } else { "s" }
                    )
                } else {
                    "—".into()
                },
                archived: c.archived,
            }
        })
        .collect();
    let page = CampaignsPage {
        l,
        campaigns,
        options: list
            .iter()
            .filter(|c| !c.archived)
            .map(|c| (c.id, c.name.clone()))
            .collect(),
        kinds: CampaignKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label(), k.direction().label()))
            .collect(),
        can_manage: p.can(Permission::ManageCampaigns),
        f: CampaignForm {
            month: if f.month.is_empty() {
                this_month.clone()
            } else {
                f.month.clone()
            },
            ..f
        },
        this_month,
        error: error.clone(),
    };
    if error.is_some() {
        unprocessable(&page)
    } else {
        render(&page)
    }
}

pub async fn campaigns(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Query(done): Query<Done>,
) -> PageResult {
    let flash = match done.done.as_deref() {
        Some("campaign") => {
            Some("Campaign added. Leads whose UTM campaign matches are counted for it.")
        }
        Some("spend") => Some("Spend saved. Costs per lead, SQL and patient include it."),
        _ => None,
    };
    campaigns_page(&state, &p, flash, CampaignForm::default(), None).await
}

pub async fn save_campaign(
    State(state): State<AppState>,
    Extension(p): Extension<Principal>,
    Form(f): Form<CampaignForm>,
) -> PageResult {
    p.require(Permission::ManageCampaigns)?;
    let result: Result<&str, AppError> = async {
        if f.action == "spend" {
            let cents = parse_money(&f.amount)?;
            state
                .store
                .set_campaign_spend(p.practice_id, f.campaign_id, &f.month, cents, &p.actor)
                .await?;
            Ok("spend")
        } else {
            let kind: CampaignKind = f.kind.parse().map_err(AppError::invalid)?;
            let input = CampaignInput {
                name: f.name.clone(),
                kind,
                utm_source: f.utm_source.clone(),
                utm_medium: f.utm_medium.clone(),
                utm_campaign: f.utm_campaign.clone(),
                archived: false,
            };
            state
                .store
                .create_campaign(p.practice_id, &input, &p.actor)
                .await?;
            Ok("campaign")
        }
    }
    .await;
    match result {
        Ok(key) => Ok(redirect_done("/app/leads/campaigns", key)),
        Err(e) => {
            let message = form_error(e)?;
            campaigns_page(&state, &p, None, f, Some(message)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_like_a_price_and_parses_back() {
        assert_eq!(money(0), "$0");
        assert_eq!(money(1250), "$12.50");
        assert_eq!(money(60_000), "$600");
        assert_eq!(money(123_456_789), "$1,234,568");
        assert_eq!(parse_money("$1,250.5").unwrap(), 125_050);
        assert_eq!(parse_money(" 600 ").unwrap(), 60_000);
        for bad in ["", "-5", "12.345", "ten", "1e3", "$"] {
            assert!(parse_money(bad).is_err(), "{bad}");
        }
    }
}
