//! Wake-ups across replicas: hears the changes other processes commit to the database
//! (`Store::listen`; PostgreSQL only) and passes them on, so a replica reacts to another's
//! work at once instead of at its next idle poll:
//!
//! - every change of a task goes to the in-process [`Notifier`](crate::notify::Notifier),
//!   so `?wait=` and SSE answer at once whichever replica the client reached;
//! - a task that may be due (submitted, rerouted, handed back) wakes the engine's workers;
//! - a deliverable webhook message wakes the delivery loop;
//! - a changed API key, or the keys of a suspended or resumed account, are dropped from the
//!   key cache;
//! - a changed upstream control makes the channels read the controls again.
//!
//! A lost subscription is taken again with a growing backoff; meanwhile, and for whatever was
//! announced while it was down, the idle polls and the waiters' re-reads do the work. After
//! each (re)subscription the engine and the delivery loop are woken once to catch up.
//!
//! This module must not decide anything about a task: an announcement only wakes someone,
//! who then reads the store.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use vidgate_store::{Change, ChangeFeed, StoreError};

use crate::worker::Engine;

/// The first wait before subscribing again after a loss; doubled up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// The longest wait between two attempts to subscribe.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Listens until `shutdown` resolves. Returns at once on a backend that announces nothing.
pub async fn listen_loop(engine: Arc<Engine>, shutdown: impl Future<Output = ()>) {
    let store = engine.store.clone();
    let subscribe = || store.listen();
    run(subscribe, |change| wake(&engine, change), || catch_up(&engine), shutdown).await
}

/// The loop itself: subscribes, passes each change to `on_change`, and subscribes again
/// with a growing backoff after a failure or a loss; `on_subscribed` runs after each
/// subscription (whatever was announced before it was not heard).
async fn run<S, F>(
    mut subscribe: S,
    on_change: impl Fn(&Change),
    on_subscribed: impl Fn(),
    shutdown: impl Future<Output = ()>,
) where
    S: FnMut() -> F,
    F: Future<Output = vidgate_store::Result<Option<Box<dyn ChangeFeed>>>>,
{
    tokio::pin!(shutdown);
    let mut backoff = FIRST_BACKOFF;
    loop {
        let feed = tokio::select! {
            _ = &mut shutdown => return,
            feed = subscribe() => feed,
        };
        match feed {
            Ok(None) => return,
            Ok(Some(feed)) => {
                backoff = FIRST_BACKOFF;
                on_subscribed();
                tokio::select! {
                    _ = &mut shutdown => return,
                    lost = pass_on(feed, &on_change) => {
                        tracing::warn!(error = %lost, "lost the change announcements; subscribing again");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, retry_in = ?backoff, "could not subscribe to change announcements"),
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Passes every announcement on until the feed fails; returns its error.
async fn pass_on(mut feed: Box<dyn ChangeFeed>, on_change: &impl Fn(&Change)) -> StoreError {
    loop {
        match feed.next().await {
            Ok(change) => on_change(&change),
            Err(e) => return e,
        }
    }
}

/// Wakes whoever an announcement concerns.
pub fn wake(engine: &Engine, change: &Change) {
    if let Some(task) = change.task() {
        engine.notifier.changed(task);
    }
    match change {
        Change::Due(_) => engine.wake.notify_one(),
        Change::Webhook(_) => engine.webhooks_due.notify_one(),
        Change::KeyChanged(key) => engine.key_cache.forget(key),
        Change::AccountChanged(account) => engine.key_cache.forget_account(account),
        Change::UpstreamChanged(_) => engine.channels.announced.notify_one(),
        Change::Changed(_) => {}
    }
}

fn catch_up(engine: &Engine) {
    engine.wake.notify_one();
    engine.webhooks_due.notify_one();
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use tokio::time::Instant;
    use vidgate_domain::TaskId;

    use super::*;

    /// A feed that hands out its changes, then fails as a dropped connection does.
    struct Scripted(VecDeque<Change>);

    #[async_trait::async_trait]
    impl ChangeFeed for Scripted {
        async fn next(&mut self) -> vidgate_store::Result<Change> {
            self.0.pop_front().ok_or_else(|| StoreError::Database("connection lost".into()))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_feed_is_taken_again_with_backoff_and_every_change_is_passed_on() {
        let (a, b) = (TaskId::generate(), TaskId::generate());
        let feed = |changes: Vec<Change>| Ok(Some(Box::new(Scripted(changes.into())) as Box<dyn ChangeFeed>));
        let script = Mutex::new(VecDeque::from([
            Err(StoreError::Database("refused".into())),
            Err(StoreError::Database("refused".into())),
            feed(vec![Change::Due(a.clone()), Change::Changed(b.clone())]),
            feed(vec![Change::Webhook(a.clone())]),
            Ok(None),
        ]));
        let t0 = Instant::now();
        let log = Mutex::new(Vec::new());
        let subscribe = || {
            log.lock().unwrap().push(format!("subscribe at {:?}", t0.elapsed()));
            let next = script.lock().unwrap().pop_front().expect("scripted");
            async move { next }
        };
        let on_change = |c: &Change| log.lock().unwrap().push(format!("{c:?}"));
        let on_subscribed = || log.lock().unwrap().push("catch up".to_owned());
        run(subscribe, on_change, on_subscribed, std::future::pending()).await;
        let expected = vec![
            "subscribe at 0ns".to_owned(),
            "subscribe at 200ms".to_owned(),
            "subscribe at 600ms".to_owned(),
            "catch up".to_owned(),
            format!("{:?}", Change::Due(a.clone())),
            format!("{:?}", Change::Changed(b)),
            "subscribe at 800ms".to_owned(),
            "catch up".to_owned(),
            format!("{:?}", Change::Webhook(a)),
            "subscribe at 1s".to_owned(),
        ];
        assert_eq!(log.into_inner().unwrap(), expected);
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_ends_the_loop_while_it_waits_to_subscribe_again() {
        let subscribe = || async { Err(StoreError::Database("refused".into())) };
        let shutdown = tokio::time::sleep(Duration::from_secs(30));
        let t0 = Instant::now();
        run(subscribe, |_| {}, || {}, shutdown).await;
        assert_eq!(t0.elapsed(), Duration::from_secs(30));
    }
}
