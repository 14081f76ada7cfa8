//! Stride's database: one `Store` over SQLite or PostgreSQL through sqlx's `Any` driver, so every
//! portable query has a single code path. Patient data enters and leaves this crate only through
//! the encrypting helpers in each feature module; nothing here logs a decrypted value.

pub mod accounts;
pub mod audit;
pub mod booking;
pub mod calls;
pub mod campaigns;
pub mod care;
pub mod crypto;
pub mod deposits;
pub mod error;
pub mod feeds;
pub mod hep;
pub mod jobs;
pub mod leads;
pub mod messages;
pub mod outreach;
pub mod patients;
pub mod payers;
pub mod plans;
pub mod reminders;
pub mod scheduling;
pub mod tenancy;
pub mod waitlist;
pub mod website;

use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AnyPool, Executor, Row};

pub use crypto::Keyring;
pub use error::{StoreError, StoreResult};

/// Which database engine a `Store` talks to. Only job claiming and administrative statements differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Invalid(
                "the database URL must start with sqlite:, postgres:// or postgresql://".into(),
            ))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    keys: Arc<Keyring>,
    /// Wakes the rollup task when a report asks for a filter set it should fill in.
    rollups_wanted: Arc<tokio::sync::Notify>,
    /// The local day each site's sections were last looked for (see `Store::prepare_sections`).
    sections_checked: Arc<std::sync::Mutex<std::collections::HashMap<i64, i64>>>,
}

/// The URL of the embedded database inside a data directory.
pub fn sqlite_url(data_dir: &Path) -> String {
    sqlite_url_for_file(&data_dir.join("stride.db"))
}

/// Milliseconds since the Unix epoch, the unit of every stored instant.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl Store {
    /// Connects without running migrations.
    pub async fn connect(url: &str, keys: Keyring) -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let options = sqlx::any::AnyConnectOptions::from_str(url)?;
        let mut pool = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(10))
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            });
        if backend == Backend::Sqlite {
            pool = pool.after_connect(|conn, _meta| {
                Box::pin(async move {
                    // LIKE is case-sensitive, as in PostgreSQL: the only LIKEs match page paths
                    // against goal, funnel and heatmap patterns, and paths are case-sensitive.
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                         PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL; \
                         PRAGMA case_sensitive_like = ON;",
                    )
                    .await?;
                    Ok(())
                })
            });
        }
        let pool = pool.connect_with(options).await?;
        Ok(Store {
            pool,
            backend,
            keys: Arc::new(keys),
            rollups_wanted: Arc::default(),
            sections_checked: Arc::default(),
        })
    }

    /// Connects and brings the schema up to date.
    pub async fn open(url: &str, keys: Keyring) -> StoreResult<Store> {
        let store = Store::connect(url, keys).await?;
        store.migrate().await?;
        Ok(store)
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        migrator(self.backend).run(&self.pool).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn keys(&self) -> &Keyring {
        &self.keys
    }

    /// Starts a transaction that writes. SQLite takes the write lock up front (`BEGIN IMMEDIATE`) so
    /// concurrent writers wait on the busy timeout instead of failing mid-transaction.
    pub async fn begin(&self) -> StoreResult<sqlx::Transaction<'static, sqlx::Any>> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(tx)
    }

    /// Deletes row `id` of `table` if it belongs to the practice; `NotFound` otherwise (including
    /// another practice's row).
    pub(crate) async fn delete_owned(
        &self,
        table: &'static str,
        practice_id: i64,
        id: i64,
    ) -> StoreResult<()> {
        let done = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE id = $1 AND practice_id = $2"
        )))
        .bind(id)
        .bind(practice_id)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(error::StoreError::NotFound);
        }
        Ok(())
    }

    /// A cheap round trip for `/readyz`.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Writes a consistent copy of the SQLite database while it is in use (`VACUUM INTO`).
    pub async fn backup_sqlite(&self, dest: &Path) -> StoreResult<()> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Invalid(
                "stride backup copies the embedded SQLite database; back up PostgreSQL with pg_dump".into(),
            ));
        }
        if dest.exists() {
            return Err(StoreError::Conflict(format!(
                "{} already exists; choose a new file name",
                dest.display()
            )));
        }
        let dest = dest
            .to_str()
            .ok_or_else(|| StoreError::Invalid("the backup path must be valid UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1")
            .bind(dest.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Every migration, in order, for a dialect's directory: both dialects always have the same list.
macro_rules! migration_files {
    ($dialect:literal) => {
        &[
            (
                1,
                "platform",
                include_str!(concat!("../migrations/", $dialect, "/0001_platform.sql")),
            ),
            (
                2,
                "website",
                include_str!(concat!("../migrations/", $dialect, "/0002_website.sql")),
            ),
            (
                3,
                "insights",
                include_str!(concat!("../migrations/", $dialect, "/0003_insights.sql")),
            ),
            (
                4,
                "rollups",
                include_str!(concat!("../migrations/", $dialect, "/0004_rollups.sql")),
            ),
            (
                5,
                "event_attribution",
                include_str!(concat!(
                    "../migrations/",
                    $dialect,
                    "/0005_event_attribution.sql"
                )),
            ),
            (
                6,
                "rollup_segments",
                include_str!(concat!(
                    "../migrations/",
                    $dialect,
                    "/0006_rollup_segments.sql"
                )),
            ),
            (
                7,
                "leads",
                include_str!(concat!("../migrations/", $dialect, "/0007_leads.sql")),
            ),
            (
                8,
                "calls",
                include_str!(concat!("../migrations/", $dialect, "/0008_calls.sql")),
            ),
            (
                9,
                "scheduling",
                include_str!(concat!("../migrations/", $dialect, "/0009_scheduling.sql")),
            ),
            (
                10,
                "booking",
                include_str!(concat!("../migrations/", $dialect, "/0010_booking.sql")),
            ),
            (
                11,
                "care",
                include_str!(concat!("../migrations/", $dialect, "/0011_care.sql")),
            ),
            (
                12,
                "plans",
                include_str!(concat!("../migrations/", $dialect, "/0012_plans.sql")),
            ),
            (
                13,
                "rollup pairs",
                include_str!(concat!(
                    "../migrations/",
                    $dialect,
                    "/0013_rollup_pairs.sql"
                )),
            ),
            (
                14,
                "report segments",
                include_str!(concat!(
                    "../migrations/",
                    $dialect,
                    "/0014_report_segments.sql"
                )),
            ),
            (
                15,
                "heatmap cta",
                include_str!(concat!("../migrations/", $dialect, "/0015_heatmap_cta.sql")),
            ),
            (
                16,
                "heatmap stop",
                include_str!(concat!(
                    "../migrations/",
                    $dialect,
                    "/0016_heatmap_stop.sql"
                )),
            ),
            (
                17,
                "report emails",
                include_str!(concat!(
                    "../migrations/",
                    $dialect,
                    "/0017_report_emails.sql"
                )),
            ),
            (
                18,
                "rollup families",
                include_str!(concat!(
                    "../migrations/",
                    $dialect,
                    "/0018_rollup_families.sql"
                )),
            ),
            (
                19,
                "day digests",
                include_str!(concat!("../migrations/", $dialect, "/0019_day_digests.sql")),
            ),
        ]
    };
}

fn migrator(backend: Backend) -> Migrator {
    let files: &[(i64, &str, &'static str)] = match backend {
        Backend::Sqlite => migration_files!("sqlite"),
        Backend::Postgres => migration_files!("postgres"),
    };
    let migrations: Vec<Migration> = files
        .iter()
        .map(|(version, name, sql)| {
            Migration::new(
                *version,
                Cow::Borrowed(*name),
                MigrationType::Simple,
                sqlx::SqlStr::from_static(sql),
                false,
            )
        })
        .collect();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

/// Reads an optional ciphertext column.
pub(crate) fn opt_bytes(row: &AnyRow, col: &str) -> StoreResult<Option<Vec<u8>>> {
    Ok(row.try_get::<Option<Vec<u8>>, _>(col)?)
}

impl Store {
    /// The same database seen through another keyring (key rotation).
    pub fn with_keys(&self, keys: Keyring) -> Store {
        Store {
            pool: self.pool.clone(),
            backend: self.backend,
            keys: Arc::new(keys),
            rollups_wanted: self.rollups_wanted.clone(),
            sections_checked: self.sections_checked.clone(),
        }
    }

    /// Rewrites every encrypted value under the keyring's current key and recomputes blind indexes.
    /// Returns the number of rows rewritten. Run with `serve` stopped: a server still holding the old
    /// keyring would go on encrypting under the old key.
    pub async fn reencrypt_all(&self) -> StoreResult<u64> {
        let n = self.reencrypt_patients().await?
            + self.reencrypt_messages().await?
            + self.reencrypt_leads().await?
            + self.reencrypt_calls().await?
            + self.reencrypt_manage_tokens().await?
            + self.reencrypt_feeds().await?
            + self.reencrypt_stripe_keys().await?
            + self.reencrypt_referrals().await?
            + self.reencrypt_plans().await?
            + self.reencrypt_programs().await?;
        self.write_key_check().await?;
        Ok(n)
    }
}

impl Store {
    /// Re-seals one encrypted column of a table under the keyring's current key. `key` is the
    /// table's integer key column; `aad` gives a row's AAD from its practice.
    pub(crate) async fn reencrypt_column(
        &self,
        table: &str,
        key: &str,
        column: &str,
        aad: impl Fn(i64) -> Vec<u8>,
    ) -> StoreResult<u64> {
        let k = self.keys();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {key} AS k, practice_id, {column} AS blob FROM {table} WHERE {column} IS NOT NULL"
        )))
        .fetch_all(self.pool())
        .await?;
        let mut n = 0;
        for r in &rows {
            let blob: Vec<u8> = r.try_get("blob")?;
            if !k.needs_reencrypt(&blob) {
                continue;
            }
            let practice_id: i64 = r.try_get("practice_id")?;
            let plain = k.decrypt_string(&blob, &aad(practice_id))?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET {column} = $2 WHERE {key} = $1"
            )))
            .bind(r.try_get::<i64, _>("k")?)
            .bind(k.encrypt_str(&plain, &aad(practice_id)))
            .execute(self.pool())
            .await?;
            n += 1;
        }
        Ok(n)
    }
}

const KEY_CHECK_AAD: &[u8] = b"instance_settings.key_check";
const KEY_CHECK_TEXT: &str = "stride key check";

impl Store {
    /// Proves the keyring can read this database before anything is served: the first start writes a
    /// small ciphertext, every later start must decrypt it. A wrong or lost key fails here, loudly,
    /// instead of on the first patient record.
    pub async fn verify_keys(&self) -> StoreResult<()> {
        let row = sqlx::query("SELECT value FROM instance_settings WHERE name = 'key_check'")
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => {
                let blob: Vec<u8> = row.try_get("value")?;
                self.keys.decrypt(&blob, KEY_CHECK_AAD).map_err(|e| {
                    StoreError::Invalid(format!(
                        "the encryption key does not match this database ({e}); start Stride with the key it was created with"
                    ))
                })?;
                if self.keys.needs_reencrypt(&blob) {
                    self.write_key_check().await?;
                }
            }
            None => self.write_key_check().await?,
        }
        Ok(())
    }

    async fn write_key_check(&self) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO instance_settings (name, value) VALUES ('key_check', $1) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(self.keys.encrypt_str(KEY_CHECK_TEXT, KEY_CHECK_AAD))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// The URL of a SQLite database file at an arbitrary path (backups, tests).
pub fn sqlite_url_for_file(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}
