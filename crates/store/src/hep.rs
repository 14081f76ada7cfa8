//! Home exercise programs: the practice's exercise library, and per-patient programs (exercises
//! with sets, reps and times a week) sent by text or email as a link that needs no login. The link
//! is a random secret found by its SHA-256 and good for a set number of days; the secret itself is
//! sealed so staff can send it again. Every opening is recorded: a program sent and not opened
//! feeds the drop-off risk list.

use serde::Serialize;
use sqlx::Row;

use crate::audit::{self, Actor};
use crate::crypto::{random_token, sha256_hex};
use crate::error::{StoreError, StoreResult};
use crate::messages::{Channel, NewMessage};
use crate::{Store, now_ms};

const DAY_MS: i64 = 86_400_000;

/// How long a program's link works unless staff choose otherwise.
pub const DEFAULT_VALID_DAYS: i64 = 42;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Exercise {
    pub id: i64,
    pub name: String,
    pub instructions: String,
    pub video_url: String,
    /// A `care::REGIONS` key, or empty.
    pub region: String,
    pub active: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ExerciseInput {
    pub name: String,
    pub instructions: String,
    pub video_url: String,
    pub region: String,
    pub active: bool,
}

/// One exercise of a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemInput {
    pub exercise_id: i64,
    pub sets: u32,
    pub reps: u32,
    pub times_per_week: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProgramItem {
    pub exercise: Exercise,
    pub sets: u32,
    pub reps: u32,
    pub times_per_week: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Program {
    pub id: i64,
    pub patient_id: i64,
    pub plan_id: Option<i64>,
    pub items: Vec<ProgramItem>,
    pub expires_at: i64,
    pub sent_at: Option<i64>,
    pub channel: String,
    pub created_by: String,
    pub created_at: i64,
    pub opens: i64,
    pub last_opened: Option<i64>,
}

fn token_aad(practice_id: i64) -> Vec<u8> {
    format!("hep_programs.token:{practice_id}").into_bytes()
}

fn check_exercise(e: &ExerciseInput) -> StoreResult<()> {
    let name = e.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(StoreError::Invalid(
            "give the exercise a name of up to 80 characters".into(),
        ));
    }
    if e.instructions.chars().count() > 2000 {
        return Err(StoreError::Invalid(
            "the instructions are longer than 2,000 characters".into(),
        ));
    }
    let url = e.video_url.trim();
    if !url.is_empty()
        && (!url.starts_with("https://") || url.len() > 500 || url.contains(char::is_whitespace))
    {
        return Err(StoreError::Invalid(
            "the video link must be a web address starting with https://".into(),
        ));
    }
    if !e.region.is_empty() && stride_core::care::region_label(&e.region).is_none() {
        return Err(StoreError::Invalid(
            "choose a body region from the list".into(),
        ));
    }
    Ok(())
}

impl Store {
    /// The library, active exercises first, then by name.
    pub async fn exercises(&self, practice_id: i64) -> StoreResult<Vec<Exercise>> {
        sqlx::query(
            "SELECT id, name, instructions, video_url, region, active FROM exercises WHERE practice_id = $1 \
             ORDER BY active DESC, name",
        )
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(Exercise {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                instructions: r.try_get("instructions")?,
                video_url: r.try_get("video_url")?,
                region: r.try_get("region")?,
                active: r.try_get::<i64, _>("active")? != 0,
            })
        })
        .collect()
    }

    /// Adds an exercise (`id` none) or changes one. Names are unique in a practice.
    pub async fn save_exercise(
        &self,
        practice_id: i64,
        id: Option<i64>,
        e: &ExerciseInput,
        actor: &Actor,
    ) -> StoreResult<i64> {
        check_exercise(e)?;
        let mut tx = self.begin().await?;
        let result = match id {
            None => sqlx::query(
                "INSERT INTO exercises (practice_id, name, instructions, video_url, region, active, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(practice_id)
            .bind(e.name.trim().to_string())
            .bind(e.instructions.trim().to_string())
            .bind(e.video_url.trim().to_string())
            .bind(e.region.clone())
            .bind(i64::from(e.active))
            .bind(now_ms())
            .fetch_one(&mut *tx)
            .await
            .and_then(|r| r.try_get::<i64, _>("id")),
            Some(id) => sqlx::query(
                "UPDATE exercises SET name = $3, instructions = $4, video_url = $5, region = $6, active = $7 \
                 WHERE id = $1 AND practice_id = $2 RETURNING id",
            )
            .bind(id)
            .bind(practice_id)
            .bind(e.name.trim().to_string())
            .bind(e.instructions.trim().to_string())
            .bind(e.video_url.trim().to_string())
            .bind(e.region.clone())
            .bind(i64::from(e.active))
            .fetch_optional(&mut *tx)
            .await
            .and_then(|r| {
                r.ok_or(sqlx::Error::RowNotFound)
                    .and_then(|r| r.try_get::<i64, _>("id"))
            }),
        };
        let id = match result {
            Ok(id) => id,
            Err(sqlx::Error::RowNotFound) => return Err(StoreError::NotFound),
            Err(e) => {
                return Err(StoreError::on_unique(
                    e,
                    "the library already has an exercise with that name",
                ));
            }
        };
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "save",
            "exercise",
            Some(id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Makes a program for a patient, tied to their open plan of care if they have one. Returns
    /// the program's id and its link secret.
    pub async fn create_program(
        &self,
        practice_id: i64,
        patient_id: i64,
        items: &[ItemInput],
        valid_days: i64,
        actor: &Actor,
    ) -> StoreResult<(i64, String)> {
        if items.is_empty() {
            return Err(StoreError::Invalid("choose at least one exercise".into()));
        }
        if items.len() > 20 {
            return Err(StoreError::Invalid(
                "a program holds at most 20 exercises".into(),
            ));
        }
        for i in items {
            if !(1..=20).contains(&i.sets)
                || !(1..=200).contains(&i.reps)
                || !(1..=21).contains(&i.times_per_week)
            {
                return Err(StoreError::Invalid(
                    "sets are 1 to 20, reps 1 to 200 and times a week 1 to 21".into(),
                ));
            }
        }
        if !(1..=365).contains(&valid_days) {
            return Err(StoreError::Invalid(
                "the link works for 1 to 365 days".into(),
            ));
        }
        let library = self.exercises(practice_id).await?;
        if items
            .iter()
            .any(|i| !library.iter().any(|e| e.id == i.exercise_id && e.active))
        {
            return Err(StoreError::Invalid(
                "choose exercises from the library".into(),
            ));
        }
        let plan_id: Option<i64> = sqlx::query(
            "SELECT id FROM care_plans WHERE practice_id = $1 AND patient_id = $2 AND status IN ('active', 'on_hold')",
        )
        .bind(practice_id)
        .bind(patient_id)
        .fetch_optional(self.pool())
        .await?
        .map(|r| r.try_get("id"))
        .transpose()?;
        let token = random_token(24);
        let now = now_ms();
        let mut tx = self.begin().await?;
        sqlx::query("SELECT id FROM patients WHERE id = $1 AND practice_id = $2")
            .bind(patient_id)
            .bind(practice_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let id: i64 = sqlx::query(
            "INSERT INTO hep_programs (practice_id, patient_id, plan_id, token_hash, token_enc, expires_at, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(practice_id)
        .bind(patient_id)
        .bind(plan_id)
        .bind(sha256_hex(token.as_bytes()))
        .bind(self.keys().encrypt_str(&token, &token_aad(practice_id)))
        .bind(now + valid_days * DAY_MS)
        .bind(actor.label.clone())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        for (pos, i) in items.iter().enumerate() {
            sqlx::query(
                "INSERT INTO hep_items (program_id, position, exercise_id, sets, reps, times_per_week) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(pos as i64)
            .bind(i.exercise_id)
            .bind(i64::from(i.sets))
            .bind(i64::from(i.reps))
            .bind(i64::from(i.times_per_week))
            .execute(&mut *tx)
            .await?;
        }
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "create",
            "hep_program",
            Some(id),
            &format!("patient {patient_id}"),
        )
        .await?;
        tx.commit().await?;
        Ok((id, token))
    }

    /// Sends the program's link to the patient by text or email (with their consent), and
    /// records when and how.
    pub async fn send_program(
        &self,
        practice_id: i64,
        program_id: i64,
        channel: Channel,
        base_url: &str,
        actor: &Actor,
    ) -> StoreResult<()> {
        let r = sqlx::query(
            "SELECT patient_id, token_enc, expires_at FROM hep_programs WHERE id = $1 AND practice_id = $2",
        )
        .bind(program_id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        let expires_at: i64 = r.try_get("expires_at")?;
        if expires_at <= now_ms() {
            return Err(StoreError::Conflict(
                "the program's link has expired: make a new program".into(),
            ));
        }
        let blob: Vec<u8> = r.try_get("token_enc")?;
        let token = self.keys().decrypt_string(&blob, &token_aad(practice_id))?;
        let patient = self
            .patient(practice_id, r.try_get("patient_id")?, actor)
            .await?;
        let practice = self.practice(practice_id).await?;
        let link = format!(
            "{}/p/{}/hep/{token}",
            base_url.trim_end_matches('/'),
            practice.slug
        );
        let until = jiff::Timestamp::from_millisecond(expires_at)
            .map(|t| t.strftime("%b %-d").to_string())
            .unwrap_or_default();
        let body = format!(
            "Hi {}, here are your home exercises from {}: {link} (the link works until {until}).",
            patient.first_name, practice.name
        );
        let (to, body) = match channel {
            Channel::Sms => (
                patient
                    .phone
                    .clone()
                    .filter(|_| patient.sms_consent)
                    .ok_or_else(|| {
                        StoreError::Invalid(
                            "the patient has no mobile number with consent to texts".into(),
                        )
                    })?,
                format!("{body} Reply STOP to opt out."),
            ),
            Channel::Email => (
                patient
                    .email
                    .clone()
                    .filter(|_| patient.email_consent)
                    .ok_or_else(|| {
                        StoreError::Invalid(
                            "the patient has no email address with consent to email".into(),
                        )
                    })?,
                body,
            ),
        };
        self.queue_message(
            practice_id,
            &NewMessage {
                subject: (channel == Channel::Email)
                    .then(|| format!("Your home exercises from {}", practice.name)),
                channel,
                to,
                body,
                purpose: "home exercise program".into(),
                idempotency_key: None,
            },
        )
        .await?;
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE hep_programs SET sent_at = $2, channel = $3 WHERE id = $1")
            .bind(program_id)
            .bind(now_ms())
            .bind(channel.as_str())
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "send",
            "hep_program",
            Some(program_id),
            channel.as_str(),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn program_items(&self, program_id: i64) -> StoreResult<Vec<ProgramItem>> {
        sqlx::query(
            "SELECT e.id, e.name, e.instructions, e.video_url, e.region, e.active, i.sets, i.reps, i.times_per_week \
             FROM hep_items i JOIN exercises e ON e.id = i.exercise_id WHERE i.program_id = $1 ORDER BY i.position",
        )
        .bind(program_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(ProgramItem {
                exercise: Exercise {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    instructions: r.try_get("instructions")?,
                    video_url: r.try_get("video_url")?,
                    region: r.try_get("region")?,
                    active: r.try_get::<i64, _>("active")? != 0,
                },
                sets: r.try_get::<i64, _>("sets")? as u32,
                reps: r.try_get::<i64, _>("reps")? as u32,
                times_per_week: r.try_get::<i64, _>("times_per_week")? as u32,
            })
        })
        .collect()
    }

    /// A patient's programs, newest first, with how often and when they were opened.
    pub async fn patient_programs(
        &self,
        practice_id: i64,
        patient_id: i64,
    ) -> StoreResult<Vec<Program>> {
        let rows = sqlx::query(
            "SELECT p.id, p.patient_id, p.plan_id, p.expires_at, p.sent_at, p.channel, p.created_by, p.created_at, \
             (SELECT COUNT(*) FROM hep_opens o WHERE o.program_id = p.id) AS opens, \
             (SELECT MAX(o.opened_at) FROM hep_opens o WHERE o.program_id = p.id) AS last_opened \
             FROM hep_programs p WHERE p.practice_id = $1 AND p.patient_id = $2 ORDER BY p.id DESC",
        )
        .bind(practice_id)
        .bind(patient_id)
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            out.push(Program {
                id,
                patient_id: r.try_get("patient_id")?,
                plan_id: r.try_get("plan_id")?,
                items: self.program_items(id).await?,
                expires_at: r.try_get("expires_at")?,
                sent_at: r.try_get("sent_at")?,
                channel: r.try_get("channel")?,
                created_by: r.try_get("created_by")?,
                created_at: r.try_get("created_at")?,
                opens: r.try_get("opens")?,
                last_opened: r.try_get("last_opened")?,
            });
        }
        Ok(out)
    }

    /// The program behind a link secret, for the public page, recording the opening. `Ok(None)`
    /// for an unknown secret; `Err(Conflict)` once the link has expired.
    pub async fn open_program(
        &self,
        slug: &str,
        token: &str,
    ) -> StoreResult<Option<(String, Vec<ProgramItem>, i64)>> {
        let r = sqlx::query(
            "SELECT p.id, p.practice_id, p.expires_at, pr.name FROM hep_programs p JOIN practices pr ON pr.id = p.practice_id \
             WHERE p.token_hash = $1 AND pr.slug = $2",
        )
        .bind(sha256_hex(token.as_bytes()))
        .bind(slug.to_string())
        .fetch_optional(self.pool())
        .await?;
        let Some(r) = r else { return Ok(None) };
        let expires_at: i64 = r.try_get("expires_at")?;
        let now = now_ms();
        if expires_at <= now {
            return Err(StoreError::Conflict(
                "This link has expired. Ask the clinic to send your current exercises.".into(),
            ));
        }
        let id: i64 = r.try_get("id")?;
        let practice_id: i64 = r.try_get("practice_id")?;
        sqlx::query(
            "INSERT INTO hep_opens (practice_id, program_id, opened_at) VALUES ($1, $2, $3)",
        )
        .bind(practice_id)
        .bind(id)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(Some((
            r.try_get("name")?,
            self.program_items(id).await?,
            expires_at,
        )))
    }

    pub(crate) async fn reencrypt_programs(&self) -> StoreResult<u64> {
        self.reencrypt_column("hep_programs", "id", "token_enc", token_aad)
            .await
    }
}

impl Store {
    /// Records a program's past sending and openings with their own times (imports and the demo).
    pub async fn import_program_activity(
        &self,
        practice_id: i64,
        program_id: i64,
        sent: Option<(Channel, i64)>,
        opened_at: &[i64],
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE hep_programs SET sent_at = $3, channel = $4 WHERE id = $1 AND practice_id = $2",
        )
        .bind(program_id)
        .bind(practice_id)
        .bind(sent.map(|(_, at)| at))
        .bind(sent.map_or("", |(c, _)| c.as_str()))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        for at in opened_at {
            sqlx::query(
                "INSERT INTO hep_opens (practice_id, program_id, opened_at) VALUES ($1, $2, $3)",
            )
            .bind(practice_id)
            .bind(program_id)
            .bind(*at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
