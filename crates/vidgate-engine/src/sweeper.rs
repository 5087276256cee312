//! Background chores: the retention sweeper (removes files past retention, then marks the
//! task so its URLs disappear and file URLs answer 410) and the gauges of `/metrics`.
//!
//! Every replica sweeps; each claims its batch with a lease (`Store::claim_files_for_removal`),
//! so two never sweep one task at once. A sweeper that dies mid-batch leaves the rest to
//! the next after [`SWEEP_LEASE_MS`]; removing files already removed is harmless, so a task
//! swept again after a crash between the removal and the mark comes to no harm.

use std::sync::Arc;
use std::time::Duration;

use vidgate_domain::task::TaskStatus;

use crate::clock::now_ms;
use crate::worker::Engine;

/// Runs the retention sweep every `every` until `shutdown`.
pub async fn retention_loop(engine: Arc<Engine>, every: Duration, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        // A full batch may leave more due: go on at once.
        loop {
            match sweep_once(&engine).await {
                Ok(n) if n == SWEEP_BATCH as usize => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(error = %e, "retention sweep failed");
                    break;
                }
            }
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// How long a claimed batch is held: room to remove [`SWEEP_BATCH`] tasks' files.
pub const SWEEP_LEASE_MS: i64 = 10 * 60 * 1000;
/// Tasks claimed per batch.
pub const SWEEP_BATCH: u32 = 200;

/// Removes the files of a batch of tasks past retention (claimed, so no other replica
/// sweeps them at the same time); returns how many.
pub async fn sweep_once(engine: &Engine) -> Result<usize, String> {
    let store = &engine.store;
    let due = store.claim_files_for_removal(now_ms(), SWEEP_LEASE_MS, SWEEP_BATCH).await.map_err(|e| e.to_string())?;
    for id in &due {
        engine.files.delete(id).await.map_err(|e| format!("removing files of {id}: {e}"))?;
        engine.store.mark_files_expired(id).await.map_err(|e| e.to_string())?;
        engine.notifier.changed(id);
    }
    Ok(due.len())
}

/// Updates the queue gauges every `every` until `shutdown`.
pub async fn gauges_loop(engine: Arc<Engine>, every: Duration, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        if let Ok(counts) = engine.store.open_task_counts().await {
            let (mut queued, mut running) = (0u32, 0u32);
            for provider in engine.providers.names() {
                for status in [TaskStatus::Queued, TaskStatus::Running] {
                    let n = counts.iter().filter(|(p, s, _)| *p == provider && *s == status).map(|c| c.2).sum::<u32>();
                    metrics::gauge!("vidgate_tasks_open", "provider" => provider.clone(), "status" => status.as_str())
                        .set(f64::from(n));
                }
            }
            for (_, s, n) in &counts {
                if *s == TaskStatus::Queued { queued += n } else { running += n }
            }
            metrics::gauge!("vidgate_queue_depth").set(f64::from(queued));
            metrics::gauge!("vidgate_tasks_in_flight").set(f64::from(running));
            metrics::gauge!("vidgate_media_pool_busy").set(engine.media.in_use() as f64);
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
