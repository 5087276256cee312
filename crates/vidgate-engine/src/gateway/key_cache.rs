//! Authenticated API keys kept in memory for a short while (`auth.key_cache_ms`), each with
//! whether its account was suspended when it was read, so a poll reads the store once (its
//! task) instead of three times. An entry is dropped at once when its key is revoked,
//! disabled or edited, or its account suspended or resumed: by the change itself in this
//! process, and on PostgreSQL by the database's announcement in every other replica
//! (`listen.rs`); its lifetime bounds how long a change announced while a replica was not
//! listening can go unseen.
//!
//! Only keys found in the store are kept (a made-up key id costs a store read, never
//! memory), at most [`MAX_KEYS`] of them. Every request still checks the presented secret
//! against the stored hash, the revocation and the expiry.
//!
//! Must not: decide whether a key is valid; `auth.rs` does.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use vidgate_domain::{AccountId, KeyId};
use vidgate_store::ApiKey;

/// The most keys kept; past it the cache starts over (keys are few; this bounds a flood).
pub const MAX_KEYS: usize = 10_000;

/// A key as read from the store, with its account's suspension at that time.
#[derive(Clone, Debug)]
pub struct CachedKey {
    pub key: ApiKey,
    pub account_suspended: bool,
}

/// Keys read from the store, with when they were read.
#[derive(Debug)]
pub struct KeyCache {
    ttl: Duration,
    keys: RwLock<HashMap<KeyId, (CachedKey, Instant)>>,
}

impl KeyCache {
    /// A cache keeping keys for `ttl` (zero: keeps nothing).
    pub fn new(ttl: Duration) -> Self {
        KeyCache { ttl, keys: RwLock::new(HashMap::new()) }
    }

    /// The key, if it was read less than the lifetime before `now`.
    pub fn get(&self, id: &KeyId, now: Instant) -> Option<CachedKey> {
        let keys = self.keys.read().expect("key cache lock");
        let (key, read_at) = keys.get(id)?;
        (now.saturating_duration_since(*read_at) < self.ttl).then(|| key.clone())
    }

    /// Keeps a key just read from the store at `now`.
    pub fn put(&self, entry: &CachedKey, now: Instant) {
        if self.ttl.is_zero() {
            return;
        }
        let mut keys = self.keys.write().expect("key cache lock");
        if keys.len() >= MAX_KEYS && !keys.contains_key(&entry.key.id) {
            keys.clear();
        }
        keys.insert(entry.key.id.clone(), (entry.clone(), now));
    }

    /// Drops a key (it was revoked, disabled or edited, here or in another replica).
    pub fn forget(&self, id: &KeyId) {
        self.keys.write().expect("key cache lock").remove(id);
    }

    /// Drops every key of an account (it was suspended or resumed).
    pub fn forget_account(&self, account: &AccountId) {
        self.keys.write().expect("key cache lock").retain(|_, (entry, _)| entry.key.account_id != *account);
    }
}

#[cfg(test)]
mod tests {
    use vidgate_domain::AccountId;
    use vidgate_domain::task::Mode;
    use vidgate_store::KeyLimits;

    use super::*;

    fn key() -> CachedKey {
        CachedKey { key: api_key(), account_suspended: false }
    }

    fn api_key() -> ApiKey {
        ApiKey {
            id: KeyId::generate(),
            account_id: AccountId::generate(),
            name: "k".into(),
            mode: Mode::Test,
            hash: "h".into(),
            masked: "m".into(),
            limits: KeyLimits::default(),
            created_at: 0,
            revoked_at: None,
            disabled: false,
        }
    }

    #[test]
    fn a_key_is_kept_for_its_lifetime_and_dropped_at_once_when_forgotten() {
        let cache = KeyCache::new(Duration::from_secs(5));
        let (k, t0) = (key(), Instant::now());
        let id = k.key.id.clone();
        assert!(cache.get(&id, t0).is_none());
        cache.put(&k, t0);
        assert_eq!(cache.get(&id, t0 + Duration::from_millis(4999)).map(|c| c.key.id), Some(id.clone()));
        assert!(cache.get(&id, t0 + Duration::from_secs(5)).is_none(), "read again after its lifetime");
        cache.put(&k, t0);
        cache.forget(&id);
        assert!(cache.get(&id, t0).is_none(), "a revoke drops it at once");
    }

    #[test]
    fn a_suspension_drops_every_key_of_its_account_and_no_other() {
        let cache = KeyCache::new(Duration::from_secs(5));
        let (a, b, other, t0) = (key(), key(), key(), Instant::now());
        let mut b = b;
        b.key.account_id = a.key.account_id.clone();
        for k in [&a, &b, &other] {
            cache.put(k, t0);
        }
        cache.forget_account(&a.key.account_id);
        assert!(cache.get(&a.key.id, t0).is_none() && cache.get(&b.key.id, t0).is_none());
        assert!(cache.get(&other.key.id, t0).is_some());
    }

    #[test]
    fn a_zero_lifetime_keeps_nothing_and_a_flood_never_grows_it_past_the_bound() {
        let off = KeyCache::new(Duration::ZERO);
        let (k, t0) = (key(), Instant::now());
        off.put(&k, t0);
        assert!(off.get(&k.key.id, t0).is_none());
        let cache = KeyCache::new(Duration::from_secs(5));
        for _ in 0..MAX_KEYS + 5 {
            cache.put(&key(), t0);
        }
        assert_eq!(cache.keys.read().unwrap().len(), 5, "it started over once full");
    }
}
