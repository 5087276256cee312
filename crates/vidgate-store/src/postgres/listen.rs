//! Change announcements on PostgreSQL: the triggers of migrations 0005, 0041, 0051 and 0090 `pg_notify` on the
//! channel `vidgate_changes` at commit, and a feed `LISTEN`s to it on a connection of its
//! own (outside the pool, so it never takes a connection the steps need).
//!
//! A lost connection ends the feed with an error instead of reconnecting behind the
//! caller's back: announcements made while it was down are gone, and only the caller
//! knows to re-read what it waits for.

use async_trait::async_trait;
use sqlx::postgres::{PgListener, PgPoolOptions};

use super::PgStore;
use super::sql::rows::parse_id;
use crate::changes::{Change, ChangeFeed};
use crate::{Result, StoreError};

/// The channel the triggers announce on.
pub const CHANNEL: &str = "vidgate_changes";

impl PgStore {
    /// A `LISTEN` connection of its own, as a feed of the changes every replica commits.
    pub(super) async fn subscribe(&self) -> Result<Box<dyn ChangeFeed>> {
        let options = (*self.pool.connect_options()).clone();
        let pool =
            PgPoolOptions::new().max_connections(1).max_lifetime(None).idle_timeout(None).connect_lazy_with(options);
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.ignore_pool_close_event(true);
        listener.eager_reconnect(false);
        listener.listen(CHANNEL).await?;
        Ok(Box::new(PgFeed { listener }))
    }
}

struct PgFeed {
    listener: PgListener,
}

#[async_trait]
impl ChangeFeed for PgFeed {
    async fn next(&mut self) -> Result<Change> {
        loop {
            let Some(n) = self.listener.try_recv().await? else {
                return Err(StoreError::Database("the connection listening for changes was lost".into()));
            };
            // Anything unreadable is another version's announcement; skip it.
            if let Some(change) = parse(n.payload()) {
                return Ok(change);
            }
        }
    }
}

/// `due <task>`, `changed <task>`, `webhook <task>`, `key <key>`, `account <account>` or
/// `upstream <name>` (migration 0090).
fn parse(payload: &str) -> Option<Change> {
    let (kind, id) = payload.split_once(' ')?;
    match kind {
        "key" => return id.parse().ok().map(Change::KeyChanged),
        "account" => return id.parse().ok().map(Change::AccountChanged),
        "upstream" => return Some(Change::UpstreamChanged(id.to_owned())),
        _ => {}
    }
    let id = parse_id(id).ok()?;
    match kind {
        "due" => Some(Change::Due(id)),
        "changed" => Some(Change::Changed(id)),
        "webhook" => Some(Change::Webhook(id)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_the_kind_and_the_task() {
        let id = vidgate_domain::TaskId::generate();
        assert_eq!(parse(&format!("due {id}")), Some(Change::Due(id.clone())));
        assert_eq!(parse(&format!("changed {id}")), Some(Change::Changed(id.clone())));
        assert_eq!(parse(&format!("webhook {id}")), Some(Change::Webhook(id.clone())));
        let key = vidgate_domain::KeyId::generate();
        assert_eq!(parse(&format!("key {key}")), Some(Change::KeyChanged(key)));
        assert_eq!(parse("key not-a-key"), None);
        let account = vidgate_domain::AccountId::generate();
        assert_eq!(parse(&format!("account {account}")), Some(Change::AccountChanged(account)));
        assert_eq!(parse("account not-an-account"), None);
        assert_eq!(parse("upstream veo-a"), Some(Change::UpstreamChanged("veo-a".into())));
        assert_eq!(parse(&format!("other {id}")), None);
        assert_eq!(parse("due not-a-task"), None);
        assert_eq!(parse("due"), None);
    }
}
