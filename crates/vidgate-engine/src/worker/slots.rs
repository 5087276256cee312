//! Worker slots and deliveries in progress. Each step runs holding one of `engine.workers`
//! slots; a fetch step gives its slot back once its result is downloaded and it is about
//! to wait for (and run on) the media pool, so under a burst of deliveries the polls and
//! submits of other tasks still get workers. Deliveries without a slot are bounded by
//! `engine.max_deliveries`: past that, a delivery waits for one of those while still
//! holding its worker slot (back-pressure, as before). The step's lease heartbeat keeps
//! running all along; the slot is only this process's accounting.
//!
//! Must not: decide what a step does; the worker does.

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// The slots of one engine loop.
pub(super) struct Slots {
    workers: Arc<Semaphore>,
    deliveries: Arc<Semaphore>,
    /// Poked when a delivery gives its worker slot back, so the loop claims more work.
    pub(super) freed: Arc<Notify>,
}

/// What a running step holds.
pub(super) struct Slot {
    worker: Mutex<Option<OwnedSemaphorePermit>>,
    deliveries: Arc<Semaphore>,
    freed: Arc<Notify>,
}

tokio::task_local! {
    static SLOT: Slot;
}

impl Slots {
    pub(super) fn new(workers: usize, max_deliveries: usize) -> Self {
        Slots {
            workers: Arc::new(Semaphore::new(workers)),
            deliveries: Arc::new(Semaphore::new(max_deliveries.max(1))),
            freed: Arc::new(Notify::new()),
        }
    }

    /// Worker slots free now.
    pub(super) fn free(&self) -> usize {
        self.workers.available_permits()
    }

    /// A worker slot for one step (waits for one).
    pub(super) async fn take(&self) -> Slot {
        let worker = self.workers.clone().acquire_owned().await.expect("the semaphore is never closed");
        Slot { worker: Mutex::new(Some(worker)), deliveries: self.deliveries.clone(), freed: self.freed.clone() }
    }
}

/// Runs a step holding `slot` (given back when the step ends, if it was not before).
pub(super) async fn run_in<F: Future>(slot: Slot, step: F) -> F::Output {
    SLOT.scope(slot, step).await
}

/// Called by a delivery before it waits for the media pool: a place among the deliveries
/// in progress, then the step's worker slot given back. `None` outside [`run_in`] (a step
/// run directly, as in tests).
pub(super) async fn delivering() -> Option<OwnedSemaphorePermit> {
    let (deliveries, freed) = SLOT.try_with(|s| (s.deliveries.clone(), s.freed.clone())).ok()?;
    let place = deliveries.acquire_owned().await.expect("the semaphore is never closed");
    let worker = SLOT.with(|s| s.worker.lock().expect("slot lock").take());
    if worker.is_some() {
        drop(worker);
        freed.notify_one();
    }
    Some(place)
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use vidgate_media::MediaPool;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_delivery_waiting_for_a_busy_media_pool_lets_another_step_poll() {
        let slots = Slots::new(1, 4);
        let pool = MediaPool::new(1);
        let order = Arc::new(Mutex::new(Vec::new()));
        // The pool's one thread is busy until the test lets it go.
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (busy_tx, busy_rx) = mpsc::channel();
        let busy = {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.run(move || {
                    busy_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                })
                .await
            })
        };
        tokio::task::spawn_blocking(move || busy_rx.recv().unwrap()).await.unwrap();
        let delivery = {
            let (slot, pool, order) = (slots.take().await, pool.clone(), order.clone());
            tokio::spawn(run_in(slot, async move {
                let _place = delivering().await.expect("inside a step");
                order.lock().unwrap().push("delivery waits for the pool");
                pool.run(|| ()).await;
                order.lock().unwrap().push("delivered");
            }))
        };
        // With one worker slot, this poll can only start once the delivery gave its slot back.
        let slot = tokio::time::timeout(std::time::Duration::from_secs(10), slots.take())
            .await
            .expect("the delivery gave its worker slot back");
        let polled = order.clone();
        run_in(slot, async move { polled.lock().unwrap().push("another task polled") }).await;
        assert_eq!(slots.free(), 1, "the poll gave its slot back; the delivery holds none");
        release_tx.send(()).unwrap();
        busy.await.unwrap();
        delivery.await.unwrap();
        // The poll ran while the delivery waited for the pool; which of the two noted itself
        // first after the slot changed hands is the scheduler's choice.
        let mut order = order.lock().unwrap().clone();
        assert_eq!(order.pop(), Some("delivered"));
        order.sort();
        assert_eq!(order, ["another task polled", "delivery waits for the pool"]);
    }

    #[tokio::test]
    async fn past_the_delivery_limit_a_delivery_keeps_its_worker_slot_until_a_place_frees() {
        let slots = Slots::new(2, 1);
        let first = slots.take().await;
        let place = run_in(first, delivering()).await.expect("a place");
        assert_eq!(slots.free(), 2, "the first delivery gave its slot back");
        let second = slots.take().await;
        let waiting = tokio::spawn({
            async move {
                let _place = run_in(second, delivering()).await;
            }
        });
        tokio::task::yield_now().await;
        assert_eq!(slots.free(), 1, "the second still holds its slot while it waits for a place");
        drop(place);
        waiting.await.unwrap();
        assert_eq!(slots.free(), 2);
    }
}
