//! Background workers inside `stride serve`: each claims due jobs from the database queue under a
//! lease, runs them, and records success or a retry. On shutdown a worker finishes the job in hand
//! and claims no more.

use std::time::Duration;

use stride_store::Store;
use stride_store::jobs::Job;
use stride_store::messages::SEND_MESSAGE_JOB;
use tokio::sync::watch;

use crate::providers::Delivery;

/// How long a claimed job is ours before another worker may take it over.
pub const LEASE_MS: i64 = 5 * 60 * 1000;
const IDLE_POLL: Duration = Duration::from_millis(500);

pub async fn run(
    store: Store,
    delivery: Delivery,
    worker_id: String,
    mut stop: watch::Receiver<bool>,
) {
    tracing::info!(worker = %worker_id, "job worker started");
    loop {
        if *stop.borrow() {
            break;
        }
        match store.claim_job(&worker_id, LEASE_MS).await {
            Ok(Some(job)) => {
                let outcome = run_job(&store, &delivery, &job).await;
                let recorded = match outcome {
                    Ok(()) => store.complete_job(&job, &worker_id).await.map(|_| ()),
                    Err(e) => {
                        tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempts, error = %format!("{e:#}"), "job failed");
                        let result = store.fail_job(&job, &worker_id, &format!("{e:#}")).await;
                        if job.attempts >= job.max_attempts {
                            on_final_failure(&store, &job, &format!("{e:#}")).await;
                        }
                        result
                    }
                };
                if let Err(e) = recorded {
                    tracing::error!(job = job.id, error = %e, "could not record the job's outcome");
                }
                metrics::counter!("stride_jobs_run_total", "kind" => job.kind.clone()).increment(1);
            }
            Ok(None) => {
                tokio::select! {
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                    _ = stop.changed() => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "could not claim a job; retrying shortly");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
    tracing::info!(worker = %worker_id, "job worker stopped");
}

async fn run_job(store: &Store, delivery: &Delivery, job: &Job) -> anyhow::Result<()> {
    match job.kind.as_str() {
        SEND_MESSAGE_JOB => {
            let id = job.payload["message_id"]
                .as_i64()
                .ok_or_else(|| anyhow::anyhow!("send_message job without a message_id"))?;
            let message = store.message_for_delivery(id).await?;
            if message.status != "queued" {
                // Already delivered by an earlier attempt whose completion was not recorded.
                return Ok(());
            }
            let delivered = delivery.deliver(store, &message).await?;
            store
                .set_message_status(
                    id,
                    delivered.provider,
                    &delivered.status,
                    delivered.provider_message_id.as_deref(),
                    None,
                )
                .await?;
            Ok(())
        }
        stride_store::deposits::STRIPE_REFUND_JOB => {
            let (Some(practice_id), Some(deposit_id)) = (
                job.payload["practice_id"].as_i64(),
                job.payload["deposit_id"].as_i64(),
            ) else {
                anyhow::bail!("a refund job without its deposit");
            };
            delivery
                .refund_deposit(store, practice_id, deposit_id)
                .await
        }
        stride_store::waitlist::WAITLIST_OFFER_JOB => {
            let p = &job.payload;
            let field = |k: &str| {
                p[k].as_i64()
                    .ok_or_else(|| anyhow::anyhow!("a waitlist job without {k}"))
            };
            store
                .offer_freed_slot(
                    field("practice_id")?,
                    field("clinician_id")?,
                    field("location_id")?,
                    field("type_id")?,
                    field("start")?,
                    delivery.base_url(),
                    stride_store::now_ms(),
                )
                .await?;
            Ok(())
        }
        other => anyhow::bail!("no handler for jobs of kind {other}"),
    }
}

/// After the last attempt, the thing the job was for is marked failed where people can see it.
async fn on_final_failure(store: &Store, job: &Job, error: &str) {
    if job.kind == SEND_MESSAGE_JOB
        && let Some(id) = job.payload["message_id"].as_i64()
        && let Err(e) = store
            .set_message_status(id, "", "failed", None, Some(error))
            .await
    {
        tracing::error!(error = %e, "could not mark the message failed");
    }
}
