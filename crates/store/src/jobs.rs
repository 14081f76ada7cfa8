//! The durable job queue: jobs live in the database, are claimed under a lease that expires if a
//! worker dies, retried with backoff, deduplicated by idempotency key and scheduled by run time.
//! Claiming is one atomic UPDATE; on PostgreSQL it skips rows other workers hold (`SKIP LOCKED`), so
//! any number of `stride serve` processes can share a queue and each job runs once per attempt.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};
use stride_core::jobs::{retry_delay_ms, should_retry};

use crate::{Backend, Store, StoreResult, now_ms};

#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: serde_json::Value,
    pub practice_id: Option<i64>,
    /// A second enqueue with the same key is a no-op that returns the first job's id.
    pub idempotency_key: Option<String>,
    pub run_at: i64,
    pub max_attempts: i64,
}

impl NewJob {
    pub fn now(kind: &str, payload: serde_json::Value) -> NewJob {
        NewJob {
            kind: kind.to_string(),
            payload,
            practice_id: None,
            idempotency_key: None,
            run_at: now_ms(),
            max_attempts: 5,
        }
    }

    pub fn key(mut self, key: impl Into<String>) -> NewJob {
        self.idempotency_key = Some(key.into());
        self
    }

    pub fn practice(mut self, practice_id: i64) -> NewJob {
        self.practice_id = Some(practice_id);
        self
    }

    pub fn at(mut self, run_at: i64) -> NewJob {
        self.run_at = run_at;
        self
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: serde_json::Value,
    pub practice_id: Option<i64>,
    pub status: String,
    pub run_at: i64,
    pub attempts: i64,
    pub max_attempts: i64,
    pub last_error: Option<String>,
}

const COLS: &str =
    "id, kind, payload, practice_id, status, run_at, attempts, max_attempts, last_error";

fn job_from(row: &AnyRow) -> StoreResult<Job> {
    let payload: String = row.try_get("payload")?;
    Ok(Job {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        practice_id: row.try_get("practice_id")?,
        status: row.try_get("status")?,
        run_at: row.try_get("run_at")?,
        attempts: row.try_get("attempts")?,
        max_attempts: row.try_get("max_attempts")?,
        last_error: row.try_get("last_error")?,
    })
}

/// Enqueues through any executor, so a job can be created in the transaction that needs it.
pub async fn enqueue<'e, E>(executor: E, job: &NewJob) -> StoreResult<Option<i64>>
where
    E: Executor<'e, Database = Any>,
{
    let row = sqlx::query(
        "INSERT INTO jobs (kind, payload, practice_id, idempotency_key, run_at, max_attempts, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
    )
    .bind(job.kind.clone())
    .bind(job.payload.to_string())
    .bind(job.practice_id)
    .bind(job.idempotency_key.clone())
    .bind(job.run_at)
    .bind(job.max_attempts.max(1))
    .bind(now_ms())
    .fetch_optional(executor)
    .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

/// Counts of jobs by status, for `/metrics` and the health of the queue.
#[derive(Debug, Clone, Default, Serialize)]
pub struct QueueStats {
    pub queued: i64,
    pub running: i64,
    pub done: i64,
    pub failed: i64,
}

impl Store {
    /// Enqueues a job; with an idempotency key already used, returns the existing job's id.
    pub async fn enqueue(&self, job: &NewJob) -> StoreResult<i64> {
        if let Some(id) = enqueue(self.pool(), job).await? {
            return Ok(id);
        }
        let id = sqlx::query("SELECT id FROM jobs WHERE idempotency_key = $1")
            .bind(job.idempotency_key.clone())
            .fetch_one(self.pool())
            .await?
            .try_get("id")?;
        Ok(id)
    }

    /// Claims the next due job (or one whose lease expired) for `worker` until `now + lease_ms`.
    pub async fn claim_job(&self, worker: &str, lease_ms: i64) -> StoreResult<Option<Job>> {
        let now = now_ms();
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_until = $1, locked_by = $2 \
             WHERE id = (SELECT id FROM jobs WHERE (status = 'queued' AND run_at <= $3) \
                         OR (status = 'running' AND lease_until < $3) ORDER BY run_at, id LIMIT 1{lock}) \
             RETURNING {COLS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now + lease_ms)
            .bind(worker.to_string())
            .bind(now)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(job_from).transpose()
    }

    /// Marks a claimed job done. Returns false when the lease was lost to another worker.
    pub async fn complete_job(&self, job: &Job, worker: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET status = 'done', finished_at = $1, lease_until = NULL, last_error = NULL \
             WHERE id = $2 AND locked_by = $3 AND status = 'running'",
        )
        .bind(now_ms())
        .bind(job.id)
        .bind(worker.to_string())
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a failed attempt: back to the queue after a backoff, or failed for good.
    pub async fn fail_job(&self, job: &Job, worker: &str, error: &str) -> StoreResult<()> {
        let now = now_ms();
        let attempts = u32::try_from(job.attempts).unwrap_or(u32::MAX);
        let max = u32::try_from(job.max_attempts).unwrap_or(1);
        let error: String = error.chars().take(500).collect();
        if should_retry(attempts, max) {
            sqlx::query(
                "UPDATE jobs SET status = 'queued', run_at = $1, lease_until = NULL, last_error = $2 \
                 WHERE id = $3 AND locked_by = $4 AND status = 'running'",
            )
            .bind(now + retry_delay_ms(attempts))
            .bind(error)
            .bind(job.id)
            .bind(worker.to_string())
            .execute(self.pool())
            .await?;
        } else {
            sqlx::query(
                "UPDATE jobs SET status = 'failed', finished_at = $1, lease_until = NULL, last_error = $2 \
                 WHERE id = $3 AND locked_by = $4 AND status = 'running'",
            )
            .bind(now)
            .bind(error)
            .bind(job.id)
            .bind(worker.to_string())
            .execute(self.pool())
            .await?;
        }
        Ok(())
    }

    pub async fn job(&self, id: i64) -> StoreResult<Job> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM jobs WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(crate::StoreError::NotFound)?;
        job_from(&row)
    }

    pub async fn queue_stats(&self) -> StoreResult<QueueStats> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")
            .fetch_all(self.pool())
            .await?;
        let mut stats = QueueStats::default();
        for r in rows {
            let n: i64 = r.try_get("n")?;
            match r.try_get::<String, _>("status")?.as_str() {
                "queued" => stats.queued = n,
                "running" => stats.running = n,
                "done" => stats.done = n,
                _ => stats.failed = n,
            }
        }
        Ok(stats)
    }
}
