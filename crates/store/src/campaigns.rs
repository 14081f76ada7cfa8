//! Campaigns with their channel, UTM values and monthly spend, and the lead funnel report: leads,
//! SQLs, evaluations booked and new patients by channel, source or campaign, the conversion
//! between stages, cost per lead, SQL and new patient, and the monthly flow inbound vs outbound.
//! No identity is read here: marketers see all of it.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;
use sqlx::Row;
use stride_core::leads::{CampaignKind, Stage};
use stride_core::website::channels::{Channel, Direction};

use crate::audit::Actor;
use crate::error::{StoreError, StoreResult};
use crate::{Store, now_ms};

#[derive(Debug, Clone, Serialize)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub kind: CampaignKind,
    pub direction: Direction,
    pub utm_source: String,
    pub utm_medium: String,
    pub utm_campaign: String,
    pub archived: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct CampaignInput {
    pub name: String,
    pub kind: CampaignKind,
    pub utm_source: String,
    pub utm_medium: String,
    pub utm_campaign: String,
    pub archived: bool,
}

/// Spend of one campaign in one calendar month.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Spend {
    pub campaign_id: i64,
    /// "2026-11"
    pub month: String,
    pub amount_cents: i64,
}

/// How the lead report groups leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Channel,
    Source,
    Campaign,
}

/// One row of the lead funnel report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FunnelRow {
    /// The channel, source or campaign id ("" when unknown or none).
    pub key: String,
    pub label: String,
    /// inbound or outbound, when known.
    pub direction: Option<Direction>,
    pub leads: i64,
    pub sqls: i64,
    pub booked: i64,
    pub patients: i64,
    pub lost: i64,
    pub spend_cents: i64,
    /// Percent of leads that became SQLs, of SQLs that booked, of bookings that became patients.
    pub lead_to_sql: Option<f64>,
    pub sql_to_booked: Option<f64>,
    pub booked_to_patient: Option<f64>,
    pub cost_per_lead_cents: Option<i64>,
    pub cost_per_sql_cents: Option<i64>,
    pub cost_per_patient_cents: Option<i64>,
    /// New patients × the practice's value per new patient.
    pub value_cents: i64,
}

/// Leads of one local month, inbound and outbound, with spend.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct MonthRow {
    pub month: String,
    pub inbound: i64,
    pub outbound: i64,
    /// Leads whose channel is not known.
    pub unattributed: i64,
    pub spend_cents: i64,
}

/// One campaign's leads and spend by month: how lead flow behaves when spend starts and stops.
#[derive(Debug, Clone, Serialize)]
pub struct CampaignMonths {
    pub campaign_id: i64,
    pub name: String,
    /// Every month of the range, in order, with the campaign's leads and spend.
    pub months: Vec<MonthRow>,
    /// When the campaign's spend stopped inside the range: how lead flow behaved after.
    pub after_spend: Option<AfterSpend>,
}

/// Lead flow of a campaign once its spend stopped: the tail paid media leaves behind.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AfterSpend {
    /// The last month with spend.
    pub last_spend_month: String,
    /// Leads per month on average over the months with spend.
    pub leads_per_month_with_spend: f64,
    /// Leads in each month after the spend stopped (up to the end of the range).
    pub leads_after: Vec<i64>,
}

/// How fast the front desk reaches new leads: time from inquiry to the first call, text or email.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SpeedToLead {
    pub leads: i64,
    pub contacted: i64,
    pub median_ms: Option<i64>,
    /// Contacted within 5 minutes, within an hour, within a day.
    pub within_5_min: i64,
    pub within_hour: i64,
    pub within_day: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LeadReport {
    pub total: FunnelRow,
    pub rows: Vec<FunnelRow>,
    pub months: Vec<MonthRow>,
    pub campaigns: Vec<CampaignMonths>,
    pub speed: SpeedToLead,
    /// From practice settings (0: not set), until visit revenue exists.
    pub new_patient_value_cents: i64,
}

fn pct(n: i64, of: i64) -> Option<f64> {
    (of > 0).then(|| n as f64 * 100.0 / of as f64)
}

fn per(cents: i64, n: i64) -> Option<i64> {
    (n > 0 && cents > 0).then(|| (cents as f64 / n as f64).round() as i64)
}

impl FunnelRow {
    fn count(&mut self, stage: Stage, qualified: bool, booked: bool) {
        self.leads += 1;
        let rank = stage.rank();
        if qualified || booked || rank.is_some_and(|r| r >= 1) {
            self.sqls += 1;
        }
        if booked || rank.is_some_and(|r| r >= 2) {
            self.booked += 1;
        }
        if stage == Stage::BecamePatient {
            self.patients += 1;
        }
        if stage == Stage::Lost {
            self.lost += 1;
        }
    }

    fn finish(&mut self, value_per_patient: i64) {
        self.lead_to_sql = pct(self.sqls, self.leads);
        self.sql_to_booked = pct(self.booked, self.sqls);
        self.booked_to_patient = pct(self.patients, self.booked);
        self.cost_per_lead_cents = per(self.spend_cents, self.leads);
        self.cost_per_sql_cents = per(self.spend_cents, self.sqls);
        self.cost_per_patient_cents = per(self.spend_cents, self.patients);
        self.value_cents = self.patients * value_per_patient;
    }
}

/// "2026-11" of a date.
fn month_of(d: Date) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

/// Every month from `first` to `last` ("YYYY-MM", inclusive).
fn months_between(first: &str, last: &str) -> Vec<String> {
    let parse = |m: &str| -> Option<(i32, i32)> {
        Some((m.get(..4)?.parse().ok()?, m.get(5..)?.parse().ok()?))
    };
    let (Some((mut y, mut m)), Some(end)) = (parse(first), parse(last)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    while (y, m) <= end && out.len() < 1200 {
        out.push(format!("{y:04}-{m:02}"));
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    out
}

/// The months after a campaign's last month of spend, when the spend stopped before the range's end.
fn after_spend(months: &[MonthRow]) -> Option<AfterSpend> {
    let last = months.iter().rposition(|m| m.spend_cents > 0)?;
    if last + 1 >= months.len() {
        return None;
    }
    let leads = |m: &MonthRow| m.inbound + m.outbound + m.unattributed;
    let with_spend: Vec<&MonthRow> = months[..=last]
        .iter()
        .filter(|m| m.spend_cents > 0)
        .collect();
    Some(AfterSpend {
        last_spend_month: months[last].month.clone(),
        leads_per_month_with_spend: with_spend.iter().map(|m| leads(m)).sum::<i64>() as f64
            / with_spend.len() as f64,
        leads_after: months[last + 1..].iter().map(leads).collect(),
    })
}

/// Checks "YYYY-MM".
pub fn parse_month(s: &str) -> StoreResult<String> {
    let t = s.trim();
    let ok = t.len() == 7
        && t.as_bytes()[4] == b'-'
        && t[..4]
            .parse::<u16>()
            .is_ok_and(|y| (2000..=2100).contains(&y))
        && t[5..].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m));
    if ok {
        Ok(t.to_string())
    } else {
        Err(StoreError::Invalid(format!(
            "“{}” is not a month like 2026-11",
            t.chars().take(20).collect::<String>()
        )))
    }
}

fn check(input: &CampaignInput) -> StoreResult<()> {
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(StoreError::Invalid(
            "a campaign needs a name of at most 100 characters".into(),
        ));
    }
    for v in [&input.utm_source, &input.utm_medium, &input.utm_campaign] {
        if v.chars().count() > 100 {
            return Err(StoreError::Invalid(
                "UTM values are at most 100 characters".into(),
            ));
        }
    }
    Ok(())
}

fn read_campaign(r: &sqlx::any::AnyRow) -> StoreResult<Campaign> {
    let kind: String = r.try_get("kind")?;
    let kind: CampaignKind = kind
        .parse()
        .map_err(|_| StoreError::Invalid(format!("unknown campaign kind “{kind}”")))?;
    Ok(Campaign {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind,
        direction: kind.direction(),
        utm_source: r.try_get("utm_source")?,
        utm_medium: r.try_get("utm_medium")?,
        utm_campaign: r.try_get("utm_campaign")?,
        archived: r.try_get::<i64, _>("archived")? != 0,
        created_at: r.try_get("created_at")?,
    })
}

const CAMPAIGN_COLS: &str =
    "id, name, kind, utm_source, utm_medium, utm_campaign, archived, created_at";

impl Store {
    pub async fn campaigns(&self, practice_id: i64) -> StoreResult<Vec<Campaign>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CAMPAIGN_COLS} FROM campaigns WHERE practice_id = $1 ORDER BY archived, name"
        )))
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(read_campaign)
        .collect()
    }

    pub async fn campaign(&self, practice_id: i64, id: i64) -> StoreResult<Campaign> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CAMPAIGN_COLS} FROM campaigns WHERE id = $1 AND practice_id = $2"
        )))
        .bind(id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        read_campaign(&r)
    }

    pub async fn create_campaign(
        &self,
        practice_id: i64,
        input: &CampaignInput,
        actor: &Actor,
    ) -> StoreResult<Campaign> {
        check(input)?;
        let mut tx = self.begin().await?;
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO campaigns (practice_id, name, kind, utm_source, utm_medium, utm_campaign, archived, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {CAMPAIGN_COLS}"
        )))
        .bind(practice_id)
        .bind(input.name.trim().to_string())
        .bind(input.kind.as_str())
        .bind(input.utm_source.trim().to_string())
        .bind(input.utm_medium.trim().to_string())
        .bind(input.utm_campaign.trim().to_string())
        .bind(i64::from(input.archived))
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            StoreError::on_unique(e, "a campaign with that name already exists")
        })?;
        let c = read_campaign(&r)?;
        crate::audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "create",
            "campaign",
            Some(c.id),
            &c.name,
        )
        .await?;
        tx.commit().await?;
        Ok(c)
    }

    pub async fn update_campaign(
        &self,
        practice_id: i64,
        id: i64,
        input: &CampaignInput,
        actor: &Actor,
    ) -> StoreResult<Campaign> {
        check(input)?;
        let mut tx = self.begin().await?;
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE campaigns SET name = $3, kind = $4, utm_source = $5, utm_medium = $6, utm_campaign = $7, \
             archived = $8 WHERE id = $1 AND practice_id = $2 RETURNING {CAMPAIGN_COLS}"
        )))
        .bind(id)
        .bind(practice_id)
        .bind(input.name.trim().to_string())
        .bind(input.kind.as_str())
        .bind(input.utm_source.trim().to_string())
        .bind(input.utm_medium.trim().to_string())
        .bind(input.utm_campaign.trim().to_string())
        .bind(i64::from(input.archived))
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| {
            StoreError::on_unique(e, "a campaign with that name already exists")
        })?
        .ok_or(StoreError::NotFound)?;
        let c = read_campaign(&r)?;
        crate::audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "campaign",
            Some(id),
            &c.name,
        )
        .await?;
        tx.commit().await?;
        Ok(c)
    }

    /// Sets (or with 0, clears) a campaign's spend for a month.
    pub async fn set_campaign_spend(
        &self,
        practice_id: i64,
        campaign_id: i64,
        month: &str,
        amount_cents: i64,
        actor: &Actor,
    ) -> StoreResult<()> {
        let month = parse_month(month)?;
        if !(0..=10_000_000_000).contains(&amount_cents) {
            return Err(StoreError::Invalid(
                "spend must be between $0 and $100,000,000".into(),
            ));
        }
        self.campaign(practice_id, campaign_id).await?;
        let mut tx = self.begin().await?;
        if amount_cents == 0 {
            sqlx::query("DELETE FROM campaign_spend WHERE campaign_id = $1 AND practice_id = $2 AND month = $3")
                .bind(campaign_id)
                .bind(practice_id)
                .bind(month.clone())
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query(
                "INSERT INTO campaign_spend (campaign_id, practice_id, month, amount_cents) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (campaign_id, month) DO UPDATE SET amount_cents = $4",
            )
            .bind(campaign_id)
            .bind(practice_id)
            .bind(month.clone())
            .bind(amount_cents)
            .execute(&mut *tx)
            .await?;
        }
        crate::audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "campaign",
            Some(campaign_id),
            &format!("spend {month}: {amount_cents} cents"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn campaign_spend(&self, practice_id: i64) -> StoreResult<Vec<Spend>> {
        sqlx::query(
            "SELECT campaign_id, month, amount_cents FROM campaign_spend WHERE practice_id = $1 \
             ORDER BY campaign_id, month",
        )
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(Spend {
                campaign_id: r.try_get("campaign_id")?,
                month: r.try_get("month")?,
                amount_cents: r.try_get("amount_cents")?,
            })
        })
        .collect()
    }

    /// The campaign a UTM campaign value or campaign name names, if the practice has one.
    pub(crate) async fn campaign_named(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        practice_id: i64,
        name: &str,
    ) -> StoreResult<Option<i64>> {
        let name = name.trim().to_lowercase();
        if name.is_empty() {
            return Ok(None);
        }
        let r = sqlx::query(
            "SELECT id FROM campaigns WHERE practice_id = $1 AND (LOWER(utm_campaign) = $2 OR LOWER(name) = $2) \
             ORDER BY archived, id LIMIT 1",
        )
        .bind(practice_id)
        .bind(name)
        .fetch_optional(&mut **tx)
        .await?;
        Ok(r.map(|r| r.try_get("id")).transpose()?)
    }

    pub async fn new_patient_value(&self, practice_id: i64) -> StoreResult<i64> {
        Ok(
            sqlx::query("SELECT new_patient_value_cents FROM practices WHERE id = $1")
                .bind(practice_id)
                .fetch_optional(self.pool())
                .await?
                .ok_or(StoreError::NotFound)?
                .try_get("new_patient_value_cents")?,
        )
    }

    pub async fn set_new_patient_value(
        &self,
        practice_id: i64,
        cents: i64,
        actor: &Actor,
    ) -> StoreResult<()> {
        if !(0..=10_000_000).contains(&cents) {
            return Err(StoreError::Invalid(
                "the value per new patient must be between $0 and $100,000".into(),
            ));
        }
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE practices SET new_patient_value_cents = $2 WHERE id = $1")
            .bind(practice_id)
            .bind(cents)
            .execute(&mut *tx)
            .await?;
        crate::audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "practice",
            Some(practice_id),
            "new patient value",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The lead funnel of the leads that arrived in `[from, to)`, grouped by `by`, with spend of
    /// the local months the range touches, and the monthly flow.
    pub async fn lead_report(
        &self,
        practice_id: i64,
        from: i64,
        to: i64,
        by: GroupBy,
    ) -> StoreResult<LeadReport> {
        let tz: TimeZone = self.practice_time_zone(practice_id).await?;
        let value = self.new_patient_value(practice_id).await?;
        let campaigns = self.campaigns(practice_id).await?;
        let local_month = |ms: i64| {
            jiff::Timestamp::from_millisecond(ms)
                .map(|t| month_of(t.to_zoned_datetime(tz.clone()).date()))
                .unwrap_or_default()
        };
        let (first_month, last_month) = (local_month(from), local_month(to - 1));
        let spend: Vec<Spend> = self
            .campaign_spend(practice_id)
            .await?
            .into_iter()
            .filter(|s| s.month >= first_month && s.month <= last_month)
            .collect();

        let rows = sqlx::query(
            "SELECT first_channel, first_source, campaign_id, stage, qualified_at, booked_at, created_at, first_contact_at \
             FROM leads WHERE practice_id = $1 AND merged_into IS NULL AND created_at >= $2 AND created_at < $3",
        )
        .bind(practice_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?;

        let campaign_by_id = |id: i64| campaigns.iter().find(|c| c.id == id);
        let mut total = FunnelRow {
            label: "All leads".into(),
            ..FunnelRow::default()
        };
        let mut groups: BTreeMap<String, FunnelRow> = BTreeMap::new();
        let mut months: BTreeMap<String, MonthRow> = BTreeMap::new();
        let mut per_campaign: BTreeMap<i64, BTreeMap<String, MonthRow>> = BTreeMap::new();
        let mut speed = SpeedToLead::default();
        let mut waits = Vec::new();
        for r in &rows {
            let channel: String = r.try_get("first_channel")?;
            let source: String = r.try_get("first_source")?;
            let campaign_id: Option<i64> = r.try_get("campaign_id")?;
            let stage_text: String = r.try_get("stage")?;
            let stage: Stage = stage_text.parse().unwrap_or(Stage::New);
            let qualified = r.try_get::<Option<i64>, _>("qualified_at")?.is_some();
            let booked = r.try_get::<Option<i64>, _>("booked_at")?.is_some();
            let created_at: i64 = r.try_get("created_at")?;
            speed.leads += 1;
            if let Some(wait) = stride_core::leads::speed_to_lead(
                created_at,
                r.try_get::<Option<i64>, _>("first_contact_at")?,
            ) {
                waits.push(wait);
                speed.contacted += 1;
                speed.within_5_min += i64::from(wait <= 5 * 60_000);
                speed.within_hour += i64::from(wait <= 3_600_000);
                speed.within_day += i64::from(wait <= 86_400_000);
            }
            let parsed: Option<Channel> = channel.parse().ok();
            let direction = parsed.map(Channel::direction).or_else(|| {
                campaign_id
                    .and_then(campaign_by_id)
                    .map(|c| c.kind.direction())
            });
            total.count(stage, qualified, booked);
            let (key, label) = match by {
                GroupBy::Channel => (
                    channel.clone(),
                    parsed.map_or("Unknown".to_string(), |c| c.label().to_string()),
                ),
                GroupBy::Source => (
                    source.clone(),
                    if source.is_empty() {
                        "Unknown".to_string()
                    } else {
                        source.clone()
                    },
                ),
                GroupBy::Campaign => match campaign_id.and_then(campaign_by_id) {
                    Some(c) => (c.id.to_string(), c.name.clone()),
                    None => (String::new(), "No campaign".to_string()),
                },
            };
            let g = groups.entry(key.clone()).or_insert_with(|| FunnelRow {
                key,
                label,
                direction: match by {
                    GroupBy::Campaign => campaign_id
                        .and_then(campaign_by_id)
                        .map(|c| c.kind.direction()),
                    _ => parsed.map(Channel::direction),
                },
                ..FunnelRow::default()
            });
            g.count(stage, qualified, booked);
            let month = local_month(created_at);
            let m = months.entry(month.clone()).or_insert_with(|| MonthRow {
                month: month.clone(),
                ..MonthRow::default()
            });
            match direction {
                Some(Direction::Inbound) => m.inbound += 1,
                Some(Direction::Outbound) => m.outbound += 1,
                None => m.unattributed += 1,
            }
            if let Some(id) = campaign_id {
                let cm = per_campaign.entry(id).or_default();
                let row = cm.entry(month.clone()).or_insert_with(|| MonthRow {
                    month,
                    ..MonthRow::default()
                });
                match direction {
                    Some(Direction::Outbound) => row.outbound += 1,
                    Some(Direction::Inbound) => row.inbound += 1,
                    None => row.unattributed += 1,
                }
            }
        }
        for s in &spend {
            total.spend_cents += s.amount_cents;
            let m = months.entry(s.month.clone()).or_insert_with(|| MonthRow {
                month: s.month.clone(),
                ..MonthRow::default()
            });
            m.spend_cents += s.amount_cents;
            let cm = per_campaign.entry(s.campaign_id).or_default();
            cm.entry(s.month.clone())
                .or_insert_with(|| MonthRow {
                    month: s.month.clone(),
                    ..MonthRow::default()
                })
                .spend_cents += s.amount_cents;
            let Some(c) = campaign_by_id(s.campaign_id) else {
                continue;
            };
            let (key, label) = match by {
                GroupBy::Channel => (
                    c.kind.channel().as_str().to_string(),
                    c.kind.channel().label().to_string(),
                ),
                // Spend has no source of its own.
                GroupBy::Source => continue,
                GroupBy::Campaign => (c.id.to_string(), c.name.clone()),
            };
            groups
                .entry(key.clone())
                .or_insert_with(|| FunnelRow {
                    key,
                    label,
                    direction: Some(c.kind.direction()),
                    ..FunnelRow::default()
                })
                .spend_cents += s.amount_cents;
        }
        total.finish(value);
        let mut rows: Vec<FunnelRow> = groups.into_values().collect();
        for r in &mut rows {
            r.finish(value);
        }
        rows.sort_by(|a, b| {
            b.leads
                .cmp(&a.leads)
                .then(b.spend_cents.cmp(&a.spend_cents))
        });
        waits.sort_unstable();
        speed.median_ms = (!waits.is_empty()).then(|| waits[waits.len() / 2]);
        let range_months = months_between(&first_month, &last_month);
        let campaigns_out = per_campaign
            .into_iter()
            .filter_map(|(id, mut months)| {
                let c = campaign_by_id(id)?;
                let months: Vec<MonthRow> = range_months
                    .iter()
                    .map(|m| {
                        months.remove(m).unwrap_or_else(|| MonthRow {
                            month: m.clone(),
                            ..MonthRow::default()
                        })
                    })
                    .collect();
                Some(CampaignMonths {
                    campaign_id: id,
                    name: c.name.clone(),
                    after_spend: after_spend(&months),
                    months,
                })
            })
            .collect();
        Ok(LeadReport {
            total,
            rows,
            months: months.into_values().collect(),
            campaigns: campaigns_out,
            speed,
            new_patient_value_cents: value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn month(m: &str, leads: i64, spend: i64) -> MonthRow {
        MonthRow {
            month: m.into(),
            outbound: leads,
            spend_cents: spend,
            ..MonthRow::default()
        }
    }

    #[test]
    fn months_run_across_a_new_year() {
        assert_eq!(
            months_between("2025-11", "2026-02"),
            ["2025-11", "2025-12", "2026-01", "2026-02"]
        );
        assert_eq!(months_between("2026-03", "2026-03"), ["2026-03"]);
        assert!(months_between("2026-04", "2026-03").is_empty());
        assert!(months_between("", "2026-03").is_empty());
    }

    #[test]
    fn lead_flow_after_spend_stops_is_the_tail_after_the_last_paid_month() {
        let months = [
            month("2026-01", 0, 0),
            month("2026-02", 10, 50_000),
            month("2026-03", 14, 50_000),
            month("2026-04", 5, 0),
            month("2026-05", 1, 0),
        ];
        let after = after_spend(&months).unwrap();
        assert_eq!(after.last_spend_month, "2026-03");
        assert_eq!(after.leads_per_month_with_spend, 12.0);
        assert_eq!(after.leads_after, [5, 1]);
        // Still spending in the last month, or never spent: nothing to say.
        assert_eq!(after_spend(&months[..3]), None);
        assert_eq!(after_spend(&[month("2026-01", 3, 0)]), None);
    }
}
