//! API keys and the admin token: generation, hashing and constant-time checks.
//!
//! A key is `sk-vg-` (live) or `sk-vg-test-` (test), then the 26-character ULID of its
//! key id, then 32 random base62 characters (190 bits). Only its SHA-256 is stored; the
//! key id in it finds the row, and the hash is compared in constant time. A key read from
//! the store is kept for `auth.key_cache_ms` (`key_cache.rs`); the checks run every time.

use rand::RngExt;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use vidgate_domain::task::Mode;
use vidgate_domain::{AccountId, ErrorCode, KeyId};
use vidgate_store::{ApiKey, Millis};

use super::key_cache::CachedKey;
use super::{ApiError, Gateway};

/// Prefix of live keys.
pub const LIVE_PREFIX: &str = "sk-vg-";
/// Prefix of test keys.
pub const TEST_PREFIX: &str = "sk-vg-test-";
/// Prefix of the admin token.
pub const ADMIN_PREFIX: &str = "vg-admin-";

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Who is calling: the key and its account.
#[derive(Clone, Debug)]
pub struct Caller {
    pub key: ApiKey,
    pub account_id: AccountId,
}

/// `n` random base62 characters from the OS generator.
pub fn random_base62(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n).map(|_| BASE62[rng.random_range(0..BASE62.len())] as char).collect()
}

/// SHA-256, hex.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A new key for `id`: (the key itself, its hash, its masked form).
pub fn generate_key(id: &KeyId, mode: Mode) -> (String, String, String) {
    let prefix = if mode == Mode::Test { TEST_PREFIX } else { LIVE_PREFIX };
    let ulid = &id.as_str()[KeyId::PREFIX.len()..];
    let key = format!("{prefix}{ulid}{}", random_base62(32));
    let masked = format!("{prefix}{}…{}", &ulid[..6], &key[key.len() - 4..]);
    let hash = sha256_hex(&key);
    (key, hash, masked)
}

/// The key id a presented key claims, if it has the shape of a key.
pub fn key_id_of(presented: &str) -> Option<KeyId> {
    let rest = presented.strip_prefix(TEST_PREFIX).or_else(|| presented.strip_prefix(LIVE_PREFIX))?;
    if rest.len() != 26 + 32 || !rest.is_ascii() {
        return None;
    }
    format!("{}{}", KeyId::PREFIX, &rest[..26]).parse().ok()
}

/// Constant-time comparison of a presented secret's hash with a stored hash.
pub fn hash_matches(presented: &str, stored_hex: &str) -> bool {
    sha256_hex(presented).as_bytes().ct_eq(stored_hex.as_bytes()).into()
}

/// A new admin token.
pub fn generate_admin_token() -> String {
    format!("{ADMIN_PREFIX}{}", random_base62(43))
}

impl Gateway {
    /// The caller behind a presented API key, or 401 `invalid_api_key` (missing, unknown,
    /// revoked, disabled or expired keys all look the same), or 403 `permission_denied`
    /// when the key's account is suspended.
    pub async fn authenticate(&self, presented: Option<&str>, now: Millis) -> Result<Caller, ApiError> {
        let invalid = || ApiError::new(ErrorCode::InvalidApiKey, "missing or invalid API key");
        let presented = presented.ok_or_else(invalid)?;
        let id = key_id_of(presented).ok_or_else(invalid)?;
        let read_at = std::time::Instant::now();
        let cached = match self.engine.key_cache.get(&id, read_at) {
            Some(cached) => cached,
            None => {
                let key = self.store.key(&id).await?.ok_or_else(invalid)?;
                let account = self.store.account(&key.account_id).await?.ok_or_else(invalid)?;
                let cached = CachedKey { key, account_suspended: account.suspended };
                self.engine.key_cache.put(&cached, read_at);
                cached
            }
        };
        let key = cached.key;
        if !hash_matches(presented, &key.hash)
            || key.revoked_at.is_some()
            || key.disabled
            || key.limits.expires_at.is_some_and(|e| e <= now)
        {
            return Err(invalid());
        }
        // A suspension drops the account's keys from the cache, so it holds from the next
        // request on.
        if cached.account_suspended {
            let msg = format!("account {} is suspended; ask the operator to resume it", key.account_id);
            return Err(ApiError::new(ErrorCode::PermissionDenied, msg));
        }
        Ok(Caller { account_id: key.account_id.clone(), key })
    }

    /// Whether a presented token is the admin token.
    pub fn is_admin(&self, presented: Option<&str>) -> bool {
        presented.is_some_and(|p| p.starts_with(ADMIN_PREFIX) || !self.config.auth.admin_token.is_empty())
            && presented.is_some_and(|p| hash_matches(p, &self.admin_token_hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_names_its_id_and_matches_its_hash() {
        let id = KeyId::generate();
        let (key, hash, masked) = generate_key(&id, Mode::Test);
        assert!(key.starts_with(TEST_PREFIX));
        assert_eq!(key_id_of(&key), Some(id));
        assert!(hash_matches(&key, &hash));
        assert!(!hash_matches(&format!("{key}x"), &hash));
        assert!(masked.starts_with("sk-vg-test-") && masked.ends_with(&key[key.len() - 4..]));
    }

    #[test]
    fn live_and_test_keys_have_different_prefixes() {
        let (live, ..) = generate_key(&KeyId::generate(), Mode::Live);
        assert!(live.starts_with(LIVE_PREFIX) && !live.starts_with(TEST_PREFIX));
    }

    #[test]
    fn malformed_keys_name_no_id() {
        for bad in ["", "sk-vg-", "sk-vg-short", "Bearer x", "vg-admin-abc"] {
            assert_eq!(key_id_of(bad), None, "{bad}");
        }
    }
}
