//! Organizations, practices, locations (hours, holidays) and clinicians. Every practice-owned row is
//! read and written with its practice id in the WHERE clause; a row of another practice is `NotFound`.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use stride_core::hours::WeeklyHours;
use stride_core::phone::PhoneE164;
use stride_core::slug::Slug;
use stride_core::tz::TimeZoneName;

use crate::error::{OrNotFound, StoreError, StoreResult};
use crate::{Store, now_ms};

#[derive(Debug, Clone, Serialize)]
pub struct Organization {
    pub id: i64,
    pub name: String,
    pub kind: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Practice {
    pub id: i64,
    pub organization_id: i64,
    pub slug: String,
    pub name: String,
    pub website: Option<String>,
    pub idle_timeout_minutes: i64,
}

#[derive(Debug, Clone)]
pub struct PracticeUpdate {
    pub name: String,
    pub website: Option<String>,
    pub idle_timeout_minutes: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Location {
    pub id: i64,
    pub practice_id: i64,
    pub name: String,
    pub address: String,
    pub main_phone: String,
    pub time_zone: String,
    pub hours: String,
}

#[derive(Debug, Clone)]
pub struct LocationInput {
    pub name: String,
    pub address: String,
    pub main_phone: PhoneE164,
    pub time_zone: TimeZoneName,
    pub hours: WeeklyHours,
}

#[derive(Debug, Clone, Serialize)]
pub struct Holiday {
    pub id: i64,
    pub location_id: i64,
    pub day: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Clinician {
    pub id: i64,
    pub practice_id: i64,
    pub location_id: Option<i64>,
    pub name: String,
    pub credentials: String,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct ClinicianInput {
    pub name: String,
    pub credentials: String,
    pub location_id: Option<i64>,
    pub active: bool,
}

pub(crate) fn practice_from(row: &AnyRow) -> StoreResult<Practice> {
    Ok(Practice {
        id: row.try_get("id")?,
        organization_id: row.try_get("organization_id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        website: row.try_get("website")?,
        idle_timeout_minutes: row.try_get("idle_timeout_minutes")?,
    })
}

fn location_from(row: &AnyRow) -> StoreResult<Location> {
    Ok(Location {
        id: row.try_get("id")?,
        practice_id: row.try_get("practice_id")?,
        name: row.try_get("name")?,
        address: row.try_get("address")?,
        main_phone: row.try_get("main_phone")?,
        time_zone: row.try_get("time_zone")?,
        hours: row.try_get("hours")?,
    })
}

fn clinician_from(row: &AnyRow) -> StoreResult<Clinician> {
    Ok(Clinician {
        id: row.try_get("id")?,
        practice_id: row.try_get("practice_id")?,
        location_id: row.try_get("location_id")?,
        name: row.try_get("name")?,
        credentials: row.try_get("credentials")?,
        active: row.try_get::<i64, _>("active")? != 0,
    })
}

macro_rules! practice_cols {
    () => {
        "id, organization_id, slug, name, website, idle_timeout_minutes"
    };
}
macro_rules! location_cols {
    () => {
        "id, practice_id, name, address, main_phone, time_zone, hours"
    };
}
macro_rules! clinician_cols {
    () => {
        "id, practice_id, location_id, name, credentials, active"
    };
}

fn check_name(what: &str, name: &str) -> StoreResult<()> {
    if name.trim().is_empty() {
        return Err(StoreError::Invalid(format!("{what} name is required")));
    }
    if name.chars().count() > 200 {
        return Err(StoreError::Invalid(format!(
            "{what} name is longer than 200 characters"
        )));
    }
    Ok(())
}

impl Store {
    pub async fn create_organization(&self, name: &str, kind: &str) -> StoreResult<Organization> {
        check_name("Organization", name)?;
        if kind != "group" && kind != "agency" {
            return Err(StoreError::Invalid(
                "organization kind must be group or agency".into(),
            ));
        }
        let id: i64 = sqlx::query(
            "INSERT INTO organizations (name, kind, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(name.trim().to_string())
        .bind(kind.to_string())
        .bind(now_ms())
        .fetch_one(self.pool())
        .await?
        .try_get("id")?;
        Ok(Organization {
            id,
            name: name.trim().to_string(),
            kind: kind.to_string(),
        })
    }

    pub async fn find_organization_by_name(&self, name: &str) -> StoreResult<Option<Organization>> {
        let row = sqlx::query("SELECT id, name, kind FROM organizations WHERE name = $1")
            .bind(name.to_string())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| {
            Ok(Organization {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                kind: r.try_get("kind")?,
            })
        })
        .transpose()
    }

    pub async fn create_practice(
        &self,
        organization_id: i64,
        slug: &Slug,
        name: &str,
    ) -> StoreResult<Practice> {
        check_name("Practice", name)?;
        let row = sqlx::query(concat!("INSERT INTO practices (organization_id, slug, name, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING ", practice_cols!()))
        .bind(organization_id)
        .bind(slug.as_str().to_string())
        .bind(name.trim().to_string())
        .bind(now_ms())
        .fetch_one(self.pool())
        .await
        .map_err(|e| StoreError::on_unique(e, format!("a practice with the address name “{slug}” already exists")))?;
        practice_from(&row)
    }

    pub async fn practice(&self, practice_id: i64) -> StoreResult<Practice> {
        let row = sqlx::query(concat!(
            "SELECT ",
            practice_cols!(),
            " FROM practices WHERE id = $1"
        ))
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await
        .or_not_found()?;
        practice_from(&row)
    }

    pub async fn practice_by_slug(&self, slug: &str) -> StoreResult<Practice> {
        let row = sqlx::query(concat!(
            "SELECT ",
            practice_cols!(),
            " FROM practices WHERE slug = $1"
        ))
        .bind(slug.to_string())
        .fetch_optional(self.pool())
        .await
        .or_not_found()?;
        practice_from(&row)
    }

    pub async fn update_practice(
        &self,
        practice_id: i64,
        update: &PracticeUpdate,
    ) -> StoreResult<Practice> {
        check_name("Practice", &update.name)?;
        if !(1..=720).contains(&update.idle_timeout_minutes) {
            return Err(StoreError::Invalid(
                "automatic logoff must be between 1 and 720 minutes".into(),
            ));
        }
        let row = sqlx::query(concat!(
            "UPDATE practices SET name = $1, website = $2, idle_timeout_minutes = $3 WHERE id = $4 \
             RETURNING ",
            practice_cols!()
        ))
        .bind(update.name.trim().to_string())
        .bind(update.website.clone())
        .bind(update.idle_timeout_minutes)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await
        .or_not_found()?;
        practice_from(&row)
    }

    pub async fn create_location(
        &self,
        practice_id: i64,
        input: &LocationInput,
    ) -> StoreResult<Location> {
        check_name("Location", &input.name)?;
        let row = sqlx::query(concat!("INSERT INTO locations (practice_id, name, address, main_phone, time_zone, hours, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ", location_cols!()))
        .bind(practice_id)
        .bind(input.name.trim().to_string())
        .bind(input.address.trim().to_string())
        .bind(input.main_phone.as_str().to_string())
        .bind(input.time_zone.as_str().to_string())
        .bind(input.hours.to_string())
        .bind(now_ms())
        .fetch_one(self.pool())
        .await
        .map_err(|e| StoreError::on_unique(e, format!("a location named “{}” already exists", input.name.trim())))?;
        location_from(&row)
    }

    pub async fn update_location(
        &self,
        practice_id: i64,
        id: i64,
        input: &LocationInput,
    ) -> StoreResult<Location> {
        check_name("Location", &input.name)?;
        let row = sqlx::query(concat!("UPDATE locations SET name = $1, address = $2, main_phone = $3, time_zone = $4, hours = $5 \
             WHERE id = $6 AND practice_id = $7 RETURNING ", location_cols!()))
        .bind(input.name.trim().to_string())
        .bind(input.address.trim().to_string())
        .bind(input.main_phone.as_str().to_string())
        .bind(input.time_zone.as_str().to_string())
        .bind(input.hours.to_string())
        .bind(id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| StoreError::on_unique(e, format!("a location named “{}” already exists", input.name.trim())))?
        .ok_or(StoreError::NotFound)?;
        location_from(&row)
    }

    pub async fn locations(&self, practice_id: i64) -> StoreResult<Vec<Location>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            location_cols!(),
            " FROM locations WHERE practice_id = $1 ORDER BY name"
        ))
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(location_from).collect()
    }

    pub async fn location(&self, practice_id: i64, id: i64) -> StoreResult<Location> {
        let row = sqlx::query(concat!(
            "SELECT ",
            location_cols!(),
            " FROM locations WHERE id = $1 AND practice_id = $2"
        ))
        .bind(id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await
        .or_not_found()?;
        location_from(&row)
    }

    pub async fn add_holiday(
        &self,
        practice_id: i64,
        location_id: i64,
        day: jiff::civil::Date,
        name: &str,
    ) -> StoreResult<Holiday> {
        check_name("Holiday", name)?;
        // Proves the location belongs to this practice before writing.
        self.location(practice_id, location_id).await?;
        let id: i64 = sqlx::query(
            "INSERT INTO location_holidays (practice_id, location_id, day, name) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(practice_id)
        .bind(location_id)
        .bind(day.to_string())
        .bind(name.trim().to_string())
        .fetch_one(self.pool())
        .await
        .map_err(|e| StoreError::on_unique(e, format!("{day} is already a holiday at this location")))?
        .try_get("id")?;
        Ok(Holiday {
            id,
            location_id,
            day: day.to_string(),
            name: name.trim().to_string(),
        })
    }

    pub async fn holidays(&self, practice_id: i64, location_id: i64) -> StoreResult<Vec<Holiday>> {
        let rows = sqlx::query(
            "SELECT id, location_id, day, name FROM location_holidays \
             WHERE practice_id = $1 AND location_id = $2 ORDER BY day",
        )
        .bind(practice_id)
        .bind(location_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Holiday {
                    id: r.try_get("id")?,
                    location_id: r.try_get("location_id")?,
                    day: r.try_get("day")?,
                    name: r.try_get("name")?,
                })
            })
            .collect()
    }

    pub async fn delete_holiday(&self, practice_id: i64, id: i64) -> StoreResult<()> {
        self.delete_owned("location_holidays", practice_id, id)
            .await?;
        Ok(())
    }

    async fn check_location_ref(
        &self,
        practice_id: i64,
        location_id: Option<i64>,
    ) -> StoreResult<()> {
        if let Some(id) = location_id {
            self.location(practice_id, id).await.map_err(|e| match e {
                StoreError::NotFound => StoreError::Invalid("that location does not exist".into()),
                other => other,
            })?;
        }
        Ok(())
    }

    pub async fn create_clinician(
        &self,
        practice_id: i64,
        input: &ClinicianInput,
    ) -> StoreResult<Clinician> {
        check_name("Clinician", &input.name)?;
        self.check_location_ref(practice_id, input.location_id)
            .await?;
        let row = sqlx::query(concat!("INSERT INTO clinicians (practice_id, location_id, name, credentials, active, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING ", clinician_cols!()))
        .bind(practice_id)
        .bind(input.location_id)
        .bind(input.name.trim().to_string())
        .bind(input.credentials.trim().to_string())
        .bind(i64::from(input.active))
        .bind(now_ms())
        .fetch_one(self.pool())
        .await?;
        clinician_from(&row)
    }

    pub async fn update_clinician(
        &self,
        practice_id: i64,
        id: i64,
        input: &ClinicianInput,
    ) -> StoreResult<Clinician> {
        check_name("Clinician", &input.name)?;
        self.check_location_ref(practice_id, input.location_id)
            .await?;
        let row = sqlx::query(concat!(
            "UPDATE clinicians SET location_id = $1, name = $2, credentials = $3, active = $4 \
             WHERE id = $5 AND practice_id = $6 RETURNING ",
            clinician_cols!()
        ))
        .bind(input.location_id)
        .bind(input.name.trim().to_string())
        .bind(input.credentials.trim().to_string())
        .bind(i64::from(input.active))
        .bind(id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await
        .or_not_found()?;
        clinician_from(&row)
    }

    pub async fn clinicians(&self, practice_id: i64) -> StoreResult<Vec<Clinician>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            clinician_cols!(),
            " FROM clinicians WHERE practice_id = $1 ORDER BY active DESC, name"
        ))
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(clinician_from).collect()
    }

    pub async fn clinician(&self, practice_id: i64, id: i64) -> StoreResult<Clinician> {
        let row = sqlx::query(concat!(
            "SELECT ",
            clinician_cols!(),
            " FROM clinicians WHERE id = $1 AND practice_id = $2"
        ))
        .bind(id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await
        .or_not_found()?;
        clinician_from(&row)
    }
}
