//! The durable job queue: idempotency keys, scheduled runs, retries with backoff, lease expiry, and
//! several workers (as several `stride serve` processes would) running each job exactly once.

use std::collections::HashSet;

use stride_store::Store;
use stride_store::jobs::NewJob;

use crate::helpers::*;

#[tokio::test]
async fn idempotency_keys_and_run_times_are_honoured() {
    let app = TestApp::spawn_with(stride::config::ServeArgs {
        workers: 0,
        ..Default::default()
    })
    .await;
    let s = &app.store;
    let a = s
        .enqueue(&NewJob::now("noop", serde_json::json!({})).key("once"))
        .await
        .unwrap();
    let b = s
        .enqueue(&NewJob::now("noop", serde_json::json!({"other": 1})).key("once"))
        .await
        .unwrap();
    assert_eq!(a, b, "the same idempotency key is the same job");
    let later = s
        .enqueue(&NewJob::now("noop", serde_json::json!({})).at(stride_store::now_ms() + 3_600_000))
        .await
        .unwrap();
    let claimed = s.claim_job("w", 60_000).await.unwrap().unwrap();
    assert_eq!(claimed.id, a);
    assert!(
        s.claim_job("w", 60_000).await.unwrap().is_none(),
        "the scheduled job is not due yet"
    );
    assert_eq!(s.job(later).await.unwrap().status, "queued");
}

#[tokio::test]
async fn failures_retry_with_backoff_then_fail_for_good() {
    let app = TestApp::spawn_with(stride::config::ServeArgs {
        workers: 0,
        ..Default::default()
    })
    .await;
    let s = &app.store;
    let mut job = NewJob::now("flaky", serde_json::json!({}));
    job.max_attempts = 2;
    let id = s.enqueue(&job).await.unwrap();
    let first = s.claim_job("w", 60_000).await.unwrap().unwrap();
    assert_eq!(first.attempts, 1);
    let before = stride_store::now_ms();
    s.fail_job(&first, "w", "provider timed out").await.unwrap();
    let after_first = s.job(id).await.unwrap();
    assert_eq!(after_first.status, "queued");
    assert_eq!(
        after_first.last_error.as_deref(),
        Some("provider timed out")
    );
    assert!(
        after_first.run_at >= before + stride_core::jobs::retry_delay_ms(1),
        "backoff before the next attempt"
    );
    // Pretend the backoff has passed.
    sqlx::query("UPDATE jobs SET run_at = 0 WHERE id = $1")
        .bind(id)
        .execute(s.pool())
        .await
        .unwrap();
    let second = s.claim_job("w", 60_000).await.unwrap().unwrap();
    assert_eq!(second.attempts, 2);
    s.fail_job(&second, "w", "still down").await.unwrap();
    assert_eq!(s.job(id).await.unwrap().status, "failed");
    assert!(s.claim_job("w", 60_000).await.unwrap().is_none());
}

#[tokio::test]
async fn a_job_whose_worker_died_is_taken_over_after_its_lease() {
    let app = TestApp::spawn_with(stride::config::ServeArgs {
        workers: 0,
        ..Default::default()
    })
    .await;
    let s = &app.store;
    let id = s
        .enqueue(&NewJob::now("noop", serde_json::json!({})))
        .await
        .unwrap();
    // A lease long enough that a busy machine cannot let it lapse before the next line.
    let dead = s.claim_job("dead-worker", 1_500).await.unwrap().unwrap();
    assert!(
        s.claim_job("live-worker", 60_000).await.unwrap().is_none(),
        "leased"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_600)).await;
    let taken = s.claim_job("live-worker", 60_000).await.unwrap().unwrap();
    assert_eq!(taken.id, id);
    assert_eq!(taken.attempts, 2);
    assert!(
        !s.complete_job(&dead, "dead-worker").await.unwrap(),
        "the old worker lost its lease"
    );
    assert!(s.complete_job(&taken, "live-worker").await.unwrap());
    assert_eq!(s.job(id).await.unwrap().status, "done");
}

#[tokio::test]
async fn two_workers_on_one_database_run_each_job_once() {
    let app = TestApp::spawn_with(stride::config::ServeArgs {
        workers: 0,
        ..Default::default()
    })
    .await;
    sqlx::query("CREATE TABLE test_job_runs (job_id BIGINT NOT NULL, worker TEXT NOT NULL)")
        .execute(app.store.pool())
        .await
        .unwrap();
    const JOBS: usize = 120;
    for i in 0..JOBS {
        app.store
            .enqueue(&NewJob::now("count", serde_json::json!({"i": i})))
            .await
            .unwrap();
    }
    // Two independent connection pools, as two `stride serve` processes would have.
    let mut handles = Vec::new();
    for w in 0..2 {
        let store = Store::connect(&app.db.url, app.keys.clone()).await.unwrap();
        handles.push(tokio::spawn(async move {
            let name = format!("worker-{w}");
            let mut ran = 0;
            while let Some(job) = store.claim_job(&name, 60_000).await.unwrap() {
                sqlx::query("INSERT INTO test_job_runs (job_id, worker) VALUES ($1, $2)")
                    .bind(job.id)
                    .bind(name.clone())
                    .execute(store.pool())
                    .await
                    .unwrap();
                assert!(store.complete_job(&job, &name).await.unwrap());
                ran += 1;
                tokio::task::yield_now().await;
            }
            ran
        }));
    }
    let mut per_worker = Vec::new();
    for h in handles {
        per_worker.push(h.await.unwrap());
    }
    let runs: Vec<i64> = sqlx::query_scalar("SELECT job_id FROM test_job_runs")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    let unique: HashSet<i64> = runs.iter().copied().collect();
    assert_eq!(runs.len(), JOBS, "every job ran once: {per_worker:?}");
    assert_eq!(unique.len(), JOBS, "no job ran twice");
    assert!(
        per_worker.iter().all(|n| *n > 0),
        "both workers took part: {per_worker:?}"
    );
    let stats = app.store.queue_stats().await.unwrap();
    assert_eq!(
        (stats.done, stats.queued, stats.running),
        (JOBS as i64, 0, 0)
    );
}

#[tokio::test]
async fn queued_jobs_survive_a_restart() {
    let mut app = TestApp::spawn_with(stride::config::ServeArgs {
        workers: 0,
        ..Default::default()
    })
    .await;
    let practice = app.practice("alpha").await;
    let id = app
        .store
        .queue_message(
            practice.id,
            &stride_store::messages::NewMessage {
                channel: stride_store::messages::Channel::Email,
                to: "someone@example.com".into(),
                subject: Some("Hello".into()),
                body: "Body".into(),
                purpose: "test".into(),
                idempotency_key: None,
            },
        )
        .await
        .unwrap();
    app.shutdown().await;
    // A new process on the same database, now with workers, delivers it.
    let store = Store::open(&app.db.url, app.keys.clone()).await.unwrap();
    let args = stride::config::ServeArgs {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    let next = stride::Application::build(store.clone(), args)
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(next.run_until_stopped(async move {
        let _ = rx.await;
    }));
    eventually("the message is delivered after the restart", || {
        let store = store.clone();
        async move { store.message_for_delivery(id).await.unwrap().status == "recorded" }
    })
    .await;
    let _ = tx.send(());
    running.await.unwrap().unwrap();
}
