//! Patient identity records. Every identifier is encrypted at rest under the practice-bound AAD
//! "patients.<column>:<practice id>"; exact lookups by phone, email or last name go through keyed
//! blind indexes. Every read and change writes an audit entry in the same breath.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use stride_core::email::EmailAddress;
use stride_core::phone::PhoneE164;

use crate::audit::{self, Actor};
use crate::error::{StoreError, StoreResult};
use crate::{Store, now_ms, opt_bytes};

#[derive(Debug, Clone)]
pub struct PatientInput {
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<PhoneE164>,
    pub email: Option<EmailAddress>,
    pub birth_date: Option<jiff::civil::Date>,
    pub address: Option<String>,
    pub member_id: Option<String>,
    pub sms_consent: bool,
    pub email_consent: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Patient {
    pub id: i64,
    pub practice_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub birth_date: Option<String>,
    pub address: Option<String>,
    pub member_id: Option<String>,
    pub sms_consent: bool,
    pub email_consent: bool,
    /// Reminders by email rather than text, when both are agreed to.
    pub prefers_email: bool,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What a patient search looks for; each is an exact match through a blind index.
#[derive(Debug, Clone)]
pub enum PatientQuery {
    All,
    Phone(PhoneE164),
    Email(EmailAddress),
    LastName(String),
}

const COLS: &str = "id, practice_id, first_name_enc, last_name_enc, phone_enc, email_enc, birth_date_enc, \
                    address_enc, member_id_enc, sms_consent, email_consent, prefers_email, status, created_at, updated_at";

fn aad(column: &str, practice_id: i64) -> Vec<u8> {
    format!("patients.{column}:{practice_id}").into_bytes()
}

fn normalize_name(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn check(input: &PatientInput) -> StoreResult<()> {
    for (label, value) in [
        ("first name", &input.first_name),
        ("last name", &input.last_name),
    ] {
        if value.trim().is_empty() {
            return Err(StoreError::Invalid(format!(
                "the patient's {label} is required"
            )));
        }
        if value.chars().count() > 100 {
            return Err(StoreError::Invalid(format!(
                "the patient's {label} is longer than 100 characters"
            )));
        }
    }
    Ok(())
}

/// The encrypted form of a patient's identifiers, ready to bind.
struct Sealed {
    first: Vec<u8>,
    last: Vec<u8>,
    phone: Option<Vec<u8>>,
    email: Option<Vec<u8>>,
    birth: Option<Vec<u8>>,
    address: Option<Vec<u8>>,
    member: Option<Vec<u8>>,
    phone_bidx: Option<String>,
    email_bidx: Option<String>,
    name_bidx: String,
}

impl Store {
    fn seal(&self, practice_id: i64, p: &PatientFields<'_>) -> Sealed {
        let k = self.keys();
        Sealed {
            first: k.encrypt_str(p.first_name.trim(), &aad("first_name", practice_id)),
            last: k.encrypt_str(p.last_name.trim(), &aad("last_name", practice_id)),
            phone: k.encrypt_opt(p.phone, &aad("phone", practice_id)),
            email: k.encrypt_opt(p.email, &aad("email", practice_id)),
            birth: k.encrypt_opt(p.birth_date, &aad("birth_date", practice_id)),
            address: k.encrypt_opt(p.address, &aad("address", practice_id)),
            member: k.encrypt_opt(p.member_id, &aad("member_id", practice_id)),
            phone_bidx: p.phone.map(|v| k.blind_index("phone", v)),
            email_bidx: p.email.map(|v| k.blind_index("email", v)),
            name_bidx: k.blind_index("last_name", &normalize_name(p.last_name)),
        }
    }

    fn open_patient(&self, row: &AnyRow) -> StoreResult<Patient> {
        let k = self.keys();
        let practice_id: i64 = row.try_get("practice_id")?;
        let first: Vec<u8> = row.try_get("first_name_enc")?;
        let last: Vec<u8> = row.try_get("last_name_enc")?;
        Ok(Patient {
            id: row.try_get("id")?,
            practice_id,
            first_name: k.decrypt_string(&first, &aad("first_name", practice_id))?,
            last_name: k.decrypt_string(&last, &aad("last_name", practice_id))?,
            phone: k.decrypt_opt(
                opt_bytes(row, "phone_enc")?.as_deref(),
                &aad("phone", practice_id),
            )?,
            email: k.decrypt_opt(
                opt_bytes(row, "email_enc")?.as_deref(),
                &aad("email", practice_id),
            )?,
            birth_date: k.decrypt_opt(
                opt_bytes(row, "birth_date_enc")?.as_deref(),
                &aad("birth_date", practice_id),
            )?,
            address: k.decrypt_opt(
                opt_bytes(row, "address_enc")?.as_deref(),
                &aad("address", practice_id),
            )?,
            member_id: k.decrypt_opt(
                opt_bytes(row, "member_id_enc")?.as_deref(),
                &aad("member_id", practice_id),
            )?,
            sms_consent: row.try_get::<i64, _>("sms_consent")? != 0,
            email_consent: row.try_get::<i64, _>("email_consent")? != 0,
            prefers_email: row.try_get::<i64, _>("prefers_email")? != 0,
            status: row.try_get("status")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }

    pub async fn create_patient(
        &self,
        practice_id: i64,
        input: &PatientInput,
        actor: &Actor,
    ) -> StoreResult<Patient> {
        check(input)?;
        let birth = input.birth_date.map(|d| d.to_string());
        let s = self.seal(
            practice_id,
            &PatientFields::from_input(input, birth.as_deref()),
        );
        let now = now_ms();
        let mut tx = self.begin().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO patients (practice_id, first_name_enc, last_name_enc, phone_enc, email_enc, birth_date_enc, \
             address_enc, member_id_enc, phone_bidx, email_bidx, name_bidx, sms_consent, email_consent, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING {COLS}"
        )))
        .bind(practice_id)
        .bind(s.first)
        .bind(s.last)
        .bind(s.phone)
        .bind(s.email)
        .bind(s.birth)
        .bind(s.address)
        .bind(s.member)
        .bind(s.phone_bidx)
        .bind(s.email_bidx)
        .bind(s.name_bidx)
        .bind(i64::from(input.sms_consent))
        .bind(i64::from(input.email_consent))
        .bind(now)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let patient = self.open_patient(&row)?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "create",
            "patient",
            Some(patient.id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(patient)
    }

    pub async fn update_patient(
        &self,
        practice_id: i64,
        id: i64,
        input: &PatientInput,
        actor: &Actor,
    ) -> StoreResult<Patient> {
        check(input)?;
        let birth = input.birth_date.map(|d| d.to_string());
        let s = self.seal(
            practice_id,
            &PatientFields::from_input(input, birth.as_deref()),
        );
        let mut tx = self.begin().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE patients SET first_name_enc = $1, last_name_enc = $2, phone_enc = $3, email_enc = $4, \
             birth_date_enc = $5, address_enc = $6, member_id_enc = $7, phone_bidx = $8, email_bidx = $9, \
             name_bidx = $10, sms_consent = $11, email_consent = $12, updated_at = $13 \
             WHERE id = $14 AND practice_id = $15 RETURNING {COLS}"
        )))
        .bind(s.first)
        .bind(s.last)
        .bind(s.phone)
        .bind(s.email)
        .bind(s.birth)
        .bind(s.address)
        .bind(s.member)
        .bind(s.phone_bidx)
        .bind(s.email_bidx)
        .bind(s.name_bidx)
        .bind(i64::from(input.sms_consent))
        .bind(i64::from(input.email_consent))
        .bind(now_ms())
        .bind(id)
        .bind(practice_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let patient = self.open_patient(&row)?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "patient",
            Some(id),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(patient)
    }

    /// Reads one patient and records the read.
    pub async fn patient(&self, practice_id: i64, id: i64, actor: &Actor) -> StoreResult<Patient> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM patients WHERE id = $1 AND practice_id = $2"
        )))
        .bind(id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        let patient = self.open_patient(&row)?;
        self.audit(Some(practice_id), actor, "read", "patient", Some(id), "")
            .await?;
        Ok(patient)
    }

    /// Lists patients (newest first) and records which records were shown.
    pub async fn patients(
        &self,
        practice_id: i64,
        query: &PatientQuery,
        limit: i64,
        actor: &Actor,
    ) -> StoreResult<Vec<Patient>> {
        let k = self.keys();
        let (filter, value) = match query {
            PatientQuery::All => ("", None),
            PatientQuery::Phone(p) => (
                " AND phone_bidx = $2",
                Some(k.blind_index("phone", p.as_str())),
            ),
            PatientQuery::Email(e) => (
                " AND email_bidx = $2",
                Some(k.blind_index("email", e.as_str())),
            ),
            PatientQuery::LastName(n) => (
                " AND name_bidx = $2",
                Some(k.blind_index("last_name", &normalize_name(n))),
            ),
        };
        let limit_param = if value.is_some() { "$3" } else { "$2" };
        let sql = format!(
            "SELECT {COLS} FROM patients WHERE practice_id = $1 AND merged_into IS NULL{filter} ORDER BY id DESC LIMIT {limit_param}"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(practice_id);
        if let Some(v) = value {
            q = q.bind(v);
        }
        let rows = q.bind(limit.clamp(1, 1000)).fetch_all(self.pool()).await?;
        let patients = rows
            .iter()
            .map(|r| self.open_patient(r))
            .collect::<StoreResult<Vec<_>>>()?;
        if !patients.is_empty() {
            let ids: Vec<String> = patients.iter().map(|p| p.id.to_string()).collect();
            self.audit(
                Some(practice_id),
                actor,
                "list",
                "patient",
                None,
                &format!("ids {}", ids.join(",")),
            )
            .await?;
        }
        Ok(patients)
    }

    pub async fn patient_count(&self, practice_id: i64) -> StoreResult<i64> {
        Ok(
            sqlx::query("SELECT COUNT(*) AS n FROM patients WHERE practice_id = $1")
                .bind(practice_id)
                .fetch_one(self.pool())
                .await?
                .try_get("n")?,
        )
    }

    /// Re-encrypts every patient under the current key and recomputes the blind indexes; returns
    /// how many rows were rewritten. Used by key rotation.
    pub(crate) async fn reencrypt_patients(&self) -> StoreResult<u64> {
        let ids: Vec<(i64, i64)> = sqlx::query("SELECT id, practice_id FROM patients ORDER BY id")
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("practice_id")?)))
            .collect::<StoreResult<_>>()?;
        let mut n = 0;
        for (id, practice_id) in ids {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLS} FROM patients WHERE id = $1"
            )))
            .bind(id)
            .fetch_one(self.pool())
            .await?;
            let p = self.open_patient(&row)?;
            let mut s = self.seal(practice_id, &PatientFields::from_patient(&p));
            if p.status == MERGED {
                // A merged duplicate stays out of every lookup.
                (s.phone_bidx, s.email_bidx, s.name_bidx) = (None, None, MERGED.into());
            }
            sqlx::query(
                "UPDATE patients SET first_name_enc = $1, last_name_enc = $2, phone_enc = $3, email_enc = $4, \
                 birth_date_enc = $5, address_enc = $6, member_id_enc = $7, phone_bidx = $8, email_bidx = $9, \
                 name_bidx = $10 WHERE id = $11",
            )
            .bind(s.first)
            .bind(s.last)
            .bind(s.phone)
            .bind(s.email)
            .bind(s.birth)
            .bind(s.address)
            .bind(s.member)
            .bind(s.phone_bidx)
            .bind(s.email_bidx)
            .bind(s.name_bidx)
            .bind(id)
            .execute(self.pool())
            .await?;
            n += 1;
        }
        Ok(n)
    }
}

/// The plaintext identifiers to seal, borrowed from either an input or a decrypted patient.
struct PatientFields<'a> {
    first_name: &'a str,
    last_name: &'a str,
    phone: Option<&'a str>,
    email: Option<&'a str>,
    birth_date: Option<&'a str>,
    address: Option<&'a str>,
    member_id: Option<&'a str>,
}

impl<'a> PatientFields<'a> {
    fn from_input(i: &'a PatientInput, birth: Option<&'a str>) -> Self {
        PatientFields {
            first_name: &i.first_name,
            last_name: &i.last_name,
            phone: i.phone.as_ref().map(|p| p.as_str()),
            email: i.email.as_ref().map(|e| e.as_str()),
            birth_date: birth,
            address: i.address.as_deref().filter(|s| !s.trim().is_empty()),
            member_id: i.member_id.as_deref().filter(|s| !s.trim().is_empty()),
        }
    }

    fn from_patient(p: &'a Patient) -> Self {
        PatientFields {
            first_name: &p.first_name,
            last_name: &p.last_name,
            phone: p.phone.as_deref(),
            email: p.email.as_deref(),
            birth_date: p.birth_date.as_deref(),
            address: p.address.as_deref(),
            member_id: p.member_id.as_deref(),
        }
    }
}

impl Store {
    /// Whether reminders go by email rather than text when the patient agreed to both.
    pub async fn set_contact_preference(
        &self,
        practice_id: i64,
        patient_id: i64,
        prefers_email: bool,
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE patients SET prefers_email = $3 WHERE id = $1 AND practice_id = $2",
        )
        .bind(patient_id)
        .bind(practice_id)
        .bind(i64::from(prefers_email))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "update",
            "patient",
            Some(patient_id),
            if prefers_email {
                "prefers email"
            } else {
                "prefers texts"
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The status of a duplicate record merged into another.
pub const MERGED: &str = "merged";

impl Store {
    /// Other records that look like the same person: the same phone or email, or the same first
    /// and last name. Merged records are left out.
    pub async fn possible_duplicates(
        &self,
        practice_id: i64,
        patient_id: i64,
    ) -> StoreResult<Vec<Patient>> {
        let me = sqlx::query(
            "SELECT phone_bidx, email_bidx, name_bidx FROM patients WHERE id = $1 AND practice_id = $2",
        )
        .bind(patient_id)
        .bind(practice_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        let phone: Option<String> = me.try_get("phone_bidx")?;
        let email: Option<String> = me.try_get("email_bidx")?;
        let name: String = me.try_get("name_bidx")?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS}, phone_bidx, email_bidx, name_bidx FROM patients WHERE practice_id = $1 AND id <> $2 \
             AND merged_into IS NULL AND (phone_bidx = $3 OR email_bidx = $4 OR name_bidx = $5) ORDER BY id LIMIT 20"
        )))
        .bind(practice_id)
        .bind(patient_id)
        .bind(phone.clone().unwrap_or_default())
        .bind(email.clone().unwrap_or_default())
        .bind(name.clone())
        .fetch_all(self.pool())
        .await?;
        let first = {
            let r = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLS} FROM patients WHERE id = $1"
            )))
            .bind(patient_id)
            .fetch_one(self.pool())
            .await?;
            self.open_patient(&r)?.first_name
        };
        let mut out = Vec::new();
        for r in &rows {
            let p = self.open_patient(r)?;
            let same_contact = (phone.is_some()
                && r.try_get::<Option<String>, _>("phone_bidx")? == phone)
                || (email.is_some() && r.try_get::<Option<String>, _>("email_bidx")? == email);
            let same_name = r.try_get::<String, _>("name_bidx")? == name
                && normalize_name(&p.first_name) == normalize_name(&first);
            if same_contact || same_name {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Merges `duplicate` into `keep`: its visits, leads, calls, plans of care, authorizations and
    /// home programs move over; contact details and coverage `keep` lacks are copied (with the
    /// consent that came with them); the duplicate stays as an empty record marked merged, out of
    /// every search, so the audit trail still resolves. Refused when both have plans of care whose
    /// dates overlap.
    pub async fn merge_patients(
        &self,
        practice_id: i64,
        keep: i64,
        duplicate: i64,
        actor: &Actor,
    ) -> StoreResult<()> {
        if keep == duplicate {
            return Err(StoreError::Invalid(
                "a record cannot be merged into itself".into(),
            ));
        }
        let mut tx = self.begin().await?;
        let mut rows = Vec::new();
        for id in [keep, duplicate] {
            let r = sqlx::query(
                "SELECT id, phone_enc, email_enc, birth_date_enc, address_enc, member_id_enc, phone_bidx, email_bidx, \
                 sms_consent, email_consent, payer_id, self_pay, referral, referring_physician_enc, merged_into \
                 FROM patients WHERE id = $1 AND practice_id = $2",
            )
            .bind(id)
            .bind(practice_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
            if r.try_get::<Option<i64>, _>("merged_into")?.is_some() {
                return Err(StoreError::Conflict(format!(
                    "patient {id} was already merged into another record"
                )));
            }
            rows.push(r);
        }
        let (k, d) = (&rows[0], &rows[1]);
        // Plans of care may not overlap once they belong to one person.
        let plans = sqlx::query(
            "SELECT patient_id, starts_on, closed_on FROM care_plans WHERE patient_id IN ($1, $2)",
        )
        .bind(keep)
        .bind(duplicate)
        .fetch_all(&mut *tx)
        .await?;
        let span = |r: &sqlx::any::AnyRow| -> StoreResult<(i64, String, String)> {
            Ok((
                r.try_get("patient_id")?,
                r.try_get("starts_on")?,
                r.try_get::<Option<String>, _>("closed_on")?
                    .unwrap_or_else(|| "9999-12-31".into()),
            ))
        };
        let spans = plans.iter().map(span).collect::<StoreResult<Vec<_>>>()?;
        for a in spans.iter().filter(|s| s.0 == keep) {
            for b in spans.iter().filter(|s| s.0 == duplicate) {
                if a.1 <= b.2 && b.1 <= a.2 {
                    return Err(StoreError::Conflict(format!(
                        "both records have a plan of care around {}: close or discharge one before merging",
                        a.1.clone().max(b.1.clone())
                    )));
                }
            }
        }
        // Contact details and coverage the kept record lacks.
        let missing = |col: &str| -> StoreResult<bool> {
            Ok(opt_bytes(k, col)?.is_none() && opt_bytes(d, col)?.is_some())
        };
        let mut cols: Vec<&str> = Vec::new();
        if missing("phone_enc")? {
            cols.extend(["phone_enc", "phone_bidx", "sms_consent"]);
        }
        if missing("email_enc")? {
            cols.extend(["email_enc", "email_bidx", "email_consent"]);
        }
        for col in ["birth_date_enc", "address_enc", "member_id_enc"] {
            if missing(col)? {
                cols.push(col);
            }
        }
        if k.try_get::<Option<i64>, _>("payer_id")?.is_none()
            && k.try_get::<i64, _>("self_pay")? == 0
        {
            cols.extend(["payer_id", "self_pay", "coverage_plan"]);
        }
        if k.try_get::<String, _>("referral")?.is_empty() {
            cols.extend(["referral", "referring_physician_enc"]);
        }
        // Column by column from the duplicate's row (a correlated update both dialects share).
        for col in cols {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE patients SET {col} = (SELECT d.{col} FROM patients d WHERE d.id = $2) WHERE id = $1"
            )))
            .bind(keep)
            .bind(duplicate)
            .execute(&mut *tx)
            .await?;
        }
        for table in [
            "appointments",
            "leads",
            "calls",
            "authorizations",
            "care_plans",
            "hep_programs",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET patient_id = $1 WHERE patient_id = $2 AND practice_id = $3"
            )))
            .bind(keep)
            .bind(duplicate)
            .bind(practice_id)
            .execute(&mut *tx)
            .await?;
        }
        let now = now_ms();
        sqlx::query(
            "UPDATE patients SET status = $3, merged_into = $1, phone_bidx = NULL, email_bidx = NULL, name_bidx = $3, \
             updated_at = $4 WHERE id = $2",
        )
        .bind(keep)
        .bind(duplicate)
        .bind(MERGED)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE patients SET updated_at = $2 WHERE id = $1")
            .bind(keep)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut *tx,
            Some(practice_id),
            actor,
            "merge",
            "patient",
            Some(keep),
            &format!("merged patient {duplicate} into {keep}"),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The record a merged duplicate now lives in.
    pub async fn merged_into(&self, practice_id: i64, patient_id: i64) -> StoreResult<Option<i64>> {
        Ok(
            sqlx::query("SELECT merged_into FROM patients WHERE id = $1 AND practice_id = $2")
                .bind(patient_id)
                .bind(practice_id)
                .fetch_optional(self.pool())
                .await?
                .ok_or(StoreError::NotFound)?
                .try_get("merged_into")?,
        )
    }
}

impl Store {
    /// The patients with these ids (in any order), recorded in the audit log as one listing, for
    /// pages that name many patients at once (the drop-off list, the documentation audit).
    pub async fn patients_by_ids(
        &self,
        practice_id: i64,
        ids: &[i64],
        actor: &Actor,
    ) -> StoreResult<std::collections::HashMap<i64, Patient>> {
        let mut ids: Vec<i64> = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut out = std::collections::HashMap::new();
        for chunk in ids.chunks(500) {
            let list = chunk
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            // The ids are integers formatted here, never text from a request.
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLS} FROM patients WHERE practice_id = $1 AND id IN ({list})"
            )))
            .bind(practice_id)
            .fetch_all(self.pool())
            .await?;
            for r in &rows {
                let p = self.open_patient(r)?;
                out.insert(p.id, p);
            }
        }
        if !out.is_empty() {
            let mut shown: Vec<i64> = out.keys().copied().collect();
            shown.sort_unstable();
            let shown: Vec<String> = shown.iter().map(i64::to_string).collect();
            self.audit(
                Some(practice_id),
                actor,
                "list",
                "patient",
                None,
                &format!("ids {}", shown.join(",")),
            )
            .await?;
        }
        Ok(out)
    }
}
