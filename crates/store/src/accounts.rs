//! Users, their roles per practice, login sessions, API tokens and login throttling. Passwords are
//! argon2id hashes; session ids and API tokens are stored only as SHA-256 hashes, so a database dump
//! cannot be replayed as a login.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use stride_core::email::EmailAddress;
use stride_core::role::Role;

use crate::audit::Actor;
use crate::crypto::{constant_time_eq, random_token, sha256_hex};
use crate::error::{OrNotFound, StoreError, StoreResult};
use crate::tenancy::{Practice, practice_from};
use crate::{Store, now_ms};

/// Failed logins per account, and per client address, tolerated within the window.
pub const MAX_FAILURES_PER_ACCOUNT: i64 = 5;
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;
pub const FAILURE_WINDOW_MS: i64 = 15 * 60 * 1000;
pub const MIN_PASSWORD_CHARS: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub disabled: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub user: User,
    pub role: Role,
}

/// A signed-in browser session, resolved from its cookie.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub practice_id: i64,
    pub role: Role,
    pub csrf_token: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub practice_id: i64,
    pub name: String,
    pub role: Role,
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("wrong email or password")]
    WrongCredentials,
    #[error("too many failed sign-ins; wait 15 minutes and try again")]
    Throttled,
    #[error("this account has no access to any practice")]
    NoPractice,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug)]
pub enum SessionLookup {
    Active(Session),
    Expired,
    Missing,
}

fn user_from(row: &AnyRow) -> StoreResult<User> {
    Ok(User {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
    })
}

fn role_from(row: &AnyRow, col: &str) -> StoreResult<Role> {
    let text: String = row.try_get(col)?;
    text.parse()
        .map_err(|_| StoreError::Invalid(format!("unknown role {text} in the database")))
}

fn token_from(row: &AnyRow) -> StoreResult<ApiToken> {
    Ok(ApiToken {
        id: row.try_get("id")?,
        practice_id: row.try_get("practice_id")?,
        name: row.try_get("name")?,
        role: role_from(row, "role")?,
        prefix: row.try_get("prefix")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked: row.try_get::<Option<i64>, _>("revoked_at")?.is_some(),
    })
}

pub fn check_password_strength(password: &str) -> StoreResult<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(StoreError::Invalid(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if password.len() > 1024 {
        return Err(StoreError::Invalid("the password is too long".into()));
    }
    Ok(())
}

/// Password hashing runs on one dedicated thread fed by a bounded queue. Each argon2id operation
/// takes 19 MiB; one thread means a flood of sign-ins queues up instead of multiplying that memory
/// (and the allocator keeps at most one such buffer around), at the cost of hashing one at a time.
type HashJob = Box<dyn FnOnce() + Send>;

fn hash_thread() -> &'static tokio::sync::mpsc::Sender<HashJob> {
    static TX: std::sync::OnceLock<tokio::sync::mpsc::Sender<HashJob>> = std::sync::OnceLock::new();
    TX.get_or_init(|| {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<HashJob>(256);
        std::thread::Builder::new()
            .name("stride-passwords".into())
            .spawn(move || {
                while let Some(job) = rx.blocking_recv() {
                    job();
                }
            })
            .expect("start the password hashing thread");
        tx
    })
}

async fn on_hash_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> StoreResult<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: HashJob = Box::new(move || {
        let _ = tx.send(f());
    });
    let unavailable = || StoreError::Invalid("password checking is unavailable; try again".into());
    hash_thread().send(job).await.map_err(|_| unavailable())?;
    rx.await.map_err(|_| unavailable())
}

/// The argon2 working memory, allocated once on the password thread and reused for every hash and
/// check, so resident memory stays flat however many sign-ins come.
fn with_argon2_memory<T>(blocks: usize, f: impl FnOnce(&mut [argon2::Block]) -> T) -> T {
    thread_local! {
        static MEMORY: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    MEMORY.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() < blocks {
            m.resize(blocks, argon2::Block::default());
        }
        f(&mut m[..blocks])
    })
}

/// argon2id with the crate's default parameters (19 MiB, 2 passes, 1 lane), as a PHC string.
async fn hash_password(password: String) -> StoreResult<String> {
    on_hash_thread(move || {
        let fail = |e: &dyn std::fmt::Display| {
            StoreError::Invalid(format!("password hashing failed: {e}"))
        };
        let params = Params::default();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let salt_bytes = argon2::password_hash::try_generate_salt().map_err(|e| fail(&e))?;
        let salt = Salt::new(&salt_bytes).map_err(|e| fail(&e))?;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        with_argon2_memory(params.block_count(), |memory| {
            argon.hash_password_into_with_memory(password.as_bytes(), &salt_bytes, &mut out, memory)
        })
        .map_err(|e| fail(&e))?;
        let hash = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(|e| fail(&e))?,
            salt: Some(salt),
            hash: Some(Output::new(&out).map_err(|e| fail(&e))?),
        };
        Ok(hash.to_string())
    })
    .await?
}

async fn verify_password(password: String, hash: String) -> bool {
    on_hash_thread(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
            Algorithm::try_from(parsed.algorithm.as_str()),
            Params::try_from(&parsed),
            parsed.salt,
            parsed.hash,
        ) else {
            return false;
        };
        let version = parsed
            .version
            .and_then(|v| Version::try_from(v).ok())
            .unwrap_or_default();
        let argon = Argon2::new(algorithm, version, params.clone());
        let mut out = vec![0u8; expected.len()];
        let computed = with_argon2_memory(params.block_count(), |memory| {
            argon.hash_password_into_with_memory(
                password.as_bytes(),
                salt.as_ref(),
                &mut out,
                memory,
            )
        });
        computed.is_ok() && constant_time_eq(&out, expected.as_bytes())
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password: verifying against it when the account does not exist costs the same
/// time as a real check, so response times do not reveal which emails have accounts.
async fn dummy_hash() -> String {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_init(|| async { hash_password(random_token(16)).await.unwrap_or_default() })
        .await
        .clone()
}

impl Store {
    pub async fn create_user(
        &self,
        email: &EmailAddress,
        name: &str,
        password: &str,
    ) -> StoreResult<User> {
        if name.trim().is_empty() {
            return Err(StoreError::Invalid("the user's name is required".into()));
        }
        check_password_strength(password)?;
        let hash = hash_password(password.to_string()).await?;
        let row = sqlx::query(
            "INSERT INTO users (email, name, password_hash, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id, email, name, disabled",
        )
        .bind(email.as_str().to_string())
        .bind(name.trim().to_string())
        .bind(hash)
        .bind(now_ms())
        .fetch_one(self.pool())
        .await
        .map_err(|e| {
            StoreError::on_unique(e, format!("a user with the email {email} already exists"))
        })?;
        user_from(&row)
    }

    pub async fn set_password(&self, user_id: i64, password: &str) -> StoreResult<()> {
        check_password_strength(password)?;
        let hash = hash_password(password.to_string()).await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(user_id)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        // A new password ends every existing session of that user.
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn user_by_email(&self, email: &EmailAddress) -> StoreResult<Option<User>> {
        let row = sqlx::query("SELECT id, email, name, disabled FROM users WHERE email = $1")
            .bind(email.as_str().to_string())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(user_from).transpose()
    }

    pub async fn user(&self, id: i64) -> StoreResult<User> {
        let row = sqlx::query("SELECT id, email, name, disabled FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await
            .or_not_found()?;
        user_from(&row)
    }

    /// Gives a user a role in a practice, replacing any role they had there.
    pub async fn grant_role(&self, user_id: i64, practice_id: i64, role: Role) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO memberships (user_id, practice_id, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, practice_id) DO UPDATE SET role = excluded.role",
        )
        .bind(user_id)
        .bind(practice_id)
        .bind(role.as_str().to_string())
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Gives a person a role in a practice: an existing account (an agency marketer who serves several
    /// practices, say) or a new one with the given first password. Refuses someone already there.
    pub async fn add_member(
        &self,
        practice_id: i64,
        email: &EmailAddress,
        name: &str,
        password: &str,
        role: Role,
        actor: &Actor,
    ) -> StoreResult<User> {
        let user = match self.user_by_email(email).await? {
            Some(u) if self.role_in(u.id, practice_id).await?.is_some() => {
                return Err(StoreError::Conflict(format!(
                    "{email} already has access to this practice"
                )));
            }
            Some(u) => u,
            None => self.create_user(email, name, password).await?,
        };
        self.grant_role(user.id, practice_id, role).await?;
        self.audit(
            Some(practice_id),
            actor,
            "grant_role",
            "user",
            Some(user.id),
            role.as_str(),
        )
        .await?;
        Ok(user)
    }

    /// Removes a user from a practice, refusing to remove its last owner.
    pub async fn revoke_role(&self, user_id: i64, practice_id: i64) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let owners: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM memberships WHERE practice_id = $1 AND role = 'owner' AND user_id <> $2",
        )
        .bind(practice_id)
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get("n")?;
        if owners == 0 {
            return Err(StoreError::Conflict(
                "a practice must keep at least one owner".into(),
            ));
        }
        let done = sqlx::query("DELETE FROM memberships WHERE user_id = $1 AND practice_id = $2")
            .bind(user_id)
            .bind(practice_id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND practice_id = $2")
            .bind(user_id)
            .bind(practice_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes a member's role, refusing to leave the practice without an owner.
    pub async fn change_role(&self, user_id: i64, practice_id: i64, role: Role) -> StoreResult<()> {
        if role != Role::Owner {
            let others: i64 = sqlx::query(
                "SELECT COUNT(*) AS n FROM memberships WHERE practice_id = $1 AND role = 'owner' AND user_id <> $2",
            )
            .bind(practice_id)
            .bind(user_id)
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
            if others == 0 {
                return Err(StoreError::Conflict(
                    "a practice must keep at least one owner".into(),
                ));
            }
        }
        let done =
            sqlx::query("UPDATE memberships SET role = $1 WHERE user_id = $2 AND practice_id = $3")
                .bind(role.as_str().to_string())
                .bind(user_id)
                .bind(practice_id)
                .execute(self.pool())
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn role_in(&self, user_id: i64, practice_id: i64) -> StoreResult<Option<Role>> {
        let row =
            sqlx::query("SELECT role FROM memberships WHERE user_id = $1 AND practice_id = $2")
                .bind(user_id)
                .bind(practice_id)
                .fetch_optional(self.pool())
                .await?;
        row.map(|r| role_from(&r, "role")).transpose()
    }

    /// The practices a user may work in, with their role in each, by practice name.
    pub async fn practices_of(&self, user_id: i64) -> StoreResult<Vec<(Practice, Role)>> {
        let rows = sqlx::query(
            "SELECT p.id, p.organization_id, p.slug, p.name, p.website, p.idle_timeout_minutes, m.role \
             FROM memberships m JOIN practices p ON p.id = m.practice_id WHERE m.user_id = $1 ORDER BY p.name",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((practice_from(r)?, role_from(r, "role")?)))
            .collect()
    }

    pub async fn members(&self, practice_id: i64) -> StoreResult<Vec<Member>> {
        let rows = sqlx::query(
            "SELECT u.id, u.email, u.name, u.disabled, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.practice_id = $1 ORDER BY u.name",
        )
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Member {
                    user: user_from(r)?,
                    role: role_from(r, "role")?,
                })
            })
            .collect()
    }

    async fn recent_failures(&self, key_hash: &str, now: i64) -> StoreResult<i64> {
        Ok(
            sqlx::query("SELECT COUNT(*) AS n FROM login_failures WHERE key_hash = $1 AND at > $2")
                .bind(key_hash.to_string())
                .bind(now - FAILURE_WINDOW_MS)
                .fetch_one(self.pool())
                .await?
                .try_get("n")?,
        )
    }

    async fn record_failure(&self, key_hash: &str, now: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO login_failures (key_hash, at) VALUES ($1, $2)")
            .bind(key_hash.to_string())
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Checks a password, throttling by account and by client address. Failure keys are hashed so the
    /// table holds neither emails nor addresses.
    pub async fn verify_login(
        &self,
        email: &str,
        password: &str,
        client_ip: &str,
    ) -> Result<User, LoginError> {
        let now = now_ms();
        let account_key = sha256_hex(format!("account:{}", email.trim().to_lowercase()).as_bytes());
        let address_key = sha256_hex(format!("address:{client_ip}").as_bytes());
        if self.recent_failures(&account_key, now).await? >= MAX_FAILURES_PER_ACCOUNT
            || self.recent_failures(&address_key, now).await? >= MAX_FAILURES_PER_ADDRESS
        {
            return Err(LoginError::Throttled);
        }
        let row = match EmailAddress::parse(email) {
            Ok(parsed) => sqlx::query(
                "SELECT id, email, name, disabled, password_hash FROM users WHERE email = $1",
            )
            .bind(parsed.as_str().to_string())
            .fetch_optional(self.pool())
            .await
            .map_err(StoreError::from)?,
            Err(_) => None,
        };
        let (user, hash) = match &row {
            Some(r) => (
                Some(user_from(r)?),
                r.try_get::<String, _>("password_hash")
                    .map_err(StoreError::from)?,
            ),
            None => (None, dummy_hash().await),
        };
        let ok = verify_password(password.to_string(), hash).await;
        match user {
            Some(user) if ok && !user.disabled => {
                sqlx::query("DELETE FROM login_failures WHERE key_hash = $1")
                    .bind(account_key)
                    .execute(self.pool())
                    .await
                    .map_err(StoreError::from)?;
                Ok(user)
            }
            _ => {
                self.record_failure(&account_key, now).await?;
                self.record_failure(&address_key, now).await?;
                Err(LoginError::WrongCredentials)
            }
        }
    }

    /// Opens a session; returns the cookie value (shown once, stored hashed).
    pub async fn create_session(&self, user_id: i64, practice_id: i64) -> StoreResult<String> {
        let token = random_token(32);
        let now = now_ms();
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, practice_id, csrf_token, created_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(sha256_hex(token.as_bytes()))
        .bind(user_id)
        .bind(practice_id)
        .bind(random_token(24))
        .bind(now)
        .bind(now)
        .execute(self.pool())
        .await?;
        // Old sessions are swept here rather than by a timer: a day past any idle limit.
        sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1")
            .bind(now - 24 * 3600 * 1000)
            .execute(self.pool())
            .await?;
        Ok(token)
    }

    /// Resolves a session cookie, enforcing the practice's idle timeout and refreshing activity.
    pub async fn session(&self, token: &str) -> StoreResult<SessionLookup> {
        let id_hash = sha256_hex(token.as_bytes());
        let row = sqlx::query(
            "SELECT s.user_id, s.practice_id, s.csrf_token, s.last_seen_at, p.idle_timeout_minutes, m.role, \
                    u.id, u.email, u.name, u.disabled \
             FROM sessions s JOIN users u ON u.id = s.user_id JOIN practices p ON p.id = s.practice_id \
             LEFT JOIN memberships m ON m.user_id = s.user_id AND m.practice_id = s.practice_id \
             WHERE s.id_hash = $1",
        )
        .bind(id_hash.clone())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(SessionLookup::Missing);
        };
        let now = now_ms();
        let last_seen: i64 = row.try_get("last_seen_at")?;
        let idle_ms = row.try_get::<i64, _>("idle_timeout_minutes")? * 60_000;
        let user = user_from(&row)?;
        let role: Option<String> = row.try_get("role")?;
        if now - last_seen > idle_ms || user.disabled || role.is_none() {
            self.delete_session(token).await?;
            return Ok(SessionLookup::Expired);
        }
        // Writing on every request would serialize SQLite; a 20-second granularity is plenty for a
        // timeout measured in minutes.
        if now - last_seen > 20_000 {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
                .bind(now)
                .bind(id_hash)
                .execute(self.pool())
                .await?;
        }
        Ok(SessionLookup::Active(Session {
            user,
            practice_id: row.try_get("practice_id")?,
            role: role_from(&row, "role")?,
            csrf_token: row.try_get("csrf_token")?,
        }))
    }

    /// Moves a signed-in session to another practice the same user has a role in.
    pub async fn switch_session_practice(&self, token: &str, practice_id: i64) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE sessions SET practice_id = $1 WHERE id_hash = $2 AND EXISTS \
             (SELECT 1 FROM memberships m WHERE m.user_id = sessions.user_id AND m.practice_id = $1)",
        )
        .bind(practice_id)
        .bind(sha256_hex(token.as_bytes()))
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn delete_session(&self, token: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(sha256_hex(token.as_bytes()))
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Creates an API token; the plaintext is returned once and only its hash is kept.
    pub async fn create_api_token(
        &self,
        practice_id: i64,
        name: &str,
        role: Role,
        created_by: Option<i64>,
    ) -> StoreResult<(ApiToken, String)> {
        if name.trim().is_empty() {
            return Err(StoreError::Invalid(
                "give the token a name that says what uses it".into(),
            ));
        }
        let secret = format!("stride_{}", random_token(30));
        let prefix: String = secret.chars().take(12).collect();
        let row = sqlx::query(
            "INSERT INTO api_tokens (practice_id, name, role, token_hash, prefix, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             RETURNING id, practice_id, name, role, prefix, created_at, last_used_at, revoked_at",
        )
        .bind(practice_id)
        .bind(name.trim().to_string())
        .bind(role.as_str().to_string())
        .bind(sha256_hex(secret.as_bytes()))
        .bind(prefix)
        .bind(created_by)
        .bind(now_ms())
        .fetch_one(self.pool())
        .await?;
        Ok((token_from(&row)?, secret))
    }

    /// Resolves a bearer token to its practice and role; revoked and unknown tokens are `None`.
    pub async fn api_token(&self, secret: &str) -> StoreResult<Option<ApiToken>> {
        let hash = sha256_hex(secret.as_bytes());
        let row = sqlx::query(
            "SELECT id, practice_id, name, role, prefix, created_at, last_used_at, revoked_at \
             FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(hash)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let token = token_from(&row)?;
        let now = now_ms();
        if token.last_used_at.is_none_or(|t| now - t > 60_000) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(token.id)
                .execute(self.pool())
                .await?;
        }
        Ok(Some(token))
    }

    pub async fn api_tokens(&self, practice_id: i64) -> StoreResult<Vec<ApiToken>> {
        let rows = sqlx::query(
            "SELECT id, practice_id, name, role, prefix, created_at, last_used_at, revoked_at \
             FROM api_tokens WHERE practice_id = $1 ORDER BY revoked_at IS NOT NULL, created_at DESC",
        )
        .bind(practice_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(token_from).collect()
    }

    pub async fn revoke_api_token(&self, practice_id: i64, id: i64) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND practice_id = $3 AND revoked_at IS NULL",
        )
        .bind(now_ms())
        .bind(id)
        .bind(practice_id)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn session_count(&self) -> StoreResult<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM sessions")
            .fetch_one(self.pool())
            .await?
            .try_get("n")?)
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    use super::*;

    #[tokio::test]
    async fn hashes_are_standard_argon2id_phc_strings() {
        let ours = hash_password("correct horse battery".into()).await.unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        // The stock verifier accepts our hash, and ours accepts the stock hasher's.
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"wrong horse battery", &parsed)
                .is_err()
        );
        let stock = Argon2::default()
            .hash_password(b"another secret")
            .unwrap()
            .to_string();
        assert!(verify_password("another secret".into(), stock.clone()).await);
        assert!(!verify_password("another secreT".into(), stock).await);
        assert!(verify_password("correct horse battery".into(), ours.clone()).await);
        assert!(!verify_password("correct horse battery".into(), "not a hash".into()).await);
        assert_ne!(
            ours,
            hash_password("correct horse battery".into()).await.unwrap(),
            "salted"
        );
    }
}
