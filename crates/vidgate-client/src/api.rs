//! One method per endpoint. Paths and shapes are the API reference's (`docs/api.md`);
//! whether a call is retried follows the crate docs.

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Number, Value, json};

use crate::{Account, ApiKey, Auth, Client, Error, GenerateRequest, List, Model, NewKey, Result, Task, Video};

/// `path?k=v&…`, leaving out empty values.
pub fn with_query(path: &str, pairs: &[(&str, Option<String>)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            q.append_pair(k, v);
        }
    }
    let q = q.finish();
    if q.is_empty() { path.to_owned() } else { format!("{path}?{q}") }
}

/// A fresh idempotency key: `vgc-` and a ULID.
pub fn new_idempotency_key() -> String {
    format!("vgc-{}", ulid::Ulid::new())
}

/// A path segment from an id the user typed: anything but `[A-Za-z0-9._:-]` is refused, so
/// an id can never change the path.
pub(crate) fn segment(id: &str) -> Result<&str> {
    let ok = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if ok { Ok(id) } else { Err(Error::Url(format!("id {id:?}"))) }
}

impl Client {
    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str, auth: Auth) -> Result<T> {
        self.call(Method::GET, path, auth, None, HeaderMap::new(), true).await
    }

    /// Submits a generation with `idempotency_key` (a fresh one if None), retried safely:
    /// a repeat after a lost answer gets the same task back.
    pub async fn submit(&self, request: &GenerateRequest, idempotency_key: Option<&str>) -> Result<Task> {
        let key = idempotency_key.map_or_else(new_idempotency_key, str::to_owned);
        let mut headers = HeaderMap::new();
        headers.insert("idempotency-key", HeaderValue::from_str(&key).map_err(|_| Error::Url(key.clone()))?);
        let body = serde_json::to_value(request).expect("a request serialises");
        self.call(Method::POST, "/v1/videos/generations", Auth::Key, Some(&body), headers, true).await
    }

    /// The task object.
    pub async fn task(&self, task_id: &str) -> Result<Task> {
        self.get(&format!("/v1/videos/tasks/{}", segment(task_id)?), Auth::Key).await
    }

    /// Cancels a task (idempotent); the task object as it is now.
    pub async fn cancel(&self, task_id: &str) -> Result<Task> {
        let path = format!("/v1/tasks/cancel/{}", segment(task_id)?);
        self.call(Method::POST, &path, Auth::Key, None, HeaderMap::new(), true).await
    }

    /// A page of the caller's videos, newest first (`GET /v1/videos`, the listing API keys
    /// have).
    pub async fn videos(&self, limit: u32, after: Option<&str>) -> Result<List<Video>> {
        let path = with_query("/v1/videos", &[("limit", Some(limit.to_string())), ("after", after.map(Into::into))]);
        self.get(&path, Auth::Key).await
    }

    /// The catalog, with `available` for the caller's key.
    pub async fn models(&self) -> Result<List<Model>> {
        self.get("/v1/models", Auth::Key).await
    }

    /// The account's balance and the key's limits.
    pub async fn balance(&self) -> Result<Value> {
        self.get("/v1/balance", Auth::Key).await
    }

    /// Usage roll-ups (`since`, `until`, `group_by`, `model`, `mode`, `key_id`).
    pub async fn usage(&self, query: &[(&str, Option<String>)]) -> Result<Value> {
        self.get(&with_query("/v1/usage", query), Auth::Key).await
    }

    /// Accounts, paged, optionally those whose name matches `name`.
    pub async fn accounts(&self, query: &[(&str, Option<String>)]) -> Result<List<Account>> {
        self.get(&with_query("/admin/v1/accounts", query), Auth::Admin).await
    }

    /// Creates an account (sent once).
    pub async fn create_account(&self, name: &str) -> Result<Account> {
        let body = json!({ "name": name });
        self.call(Method::POST, "/admin/v1/accounts", Auth::Admin, Some(&body), HeaderMap::new(), false).await
    }

    /// One account.
    pub async fn account(&self, id: &str) -> Result<Account> {
        self.get(&format!("/admin/v1/accounts/{}", segment(id)?), Auth::Admin).await
    }

    /// Changes an account: `changes` holds the fields to set (`name`, `status`).
    pub async fn update_account(&self, id: &str, changes: &Value) -> Result<Account> {
        let path = format!("/admin/v1/accounts/{}", segment(id)?);
        self.call(Method::PATCH, &path, Auth::Admin, Some(changes), HeaderMap::new(), true).await
    }

    /// Adds (or, negative, removes) credits (sent once: a repeat would add twice).
    pub async fn add_credits(&self, id: &str, amount_usd: Number, note: Option<&str>) -> Result<Account> {
        let mut body = json!({ "amount_usd": amount_usd });
        if let Some(note) = note {
            body["note"] = json!(note);
        }
        let path = format!("/admin/v1/accounts/{}/credits", segment(id)?);
        self.call(Method::POST, &path, Auth::Admin, Some(&body), HeaderMap::new(), false).await
    }

    /// Every key, or one account's.
    pub async fn keys(&self, account_id: Option<&str>) -> Result<List<ApiKey>> {
        self.get(&with_query("/admin/v1/keys", &[("account_id", account_id.map(Into::into))]), Auth::Admin).await
    }

    /// Creates a key; the answer is the only one that carries the secret (sent once).
    pub async fn create_key(&self, key: &NewKey) -> Result<ApiKey> {
        let body = serde_json::to_value(key).expect("a key serialises");
        self.call(Method::POST, "/admin/v1/keys", Auth::Admin, Some(&body), HeaderMap::new(), false).await
    }

    /// One key, masked.
    pub async fn key(&self, id: &str) -> Result<ApiKey> {
        self.get(&format!("/admin/v1/keys/{}", segment(id)?), Auth::Admin).await
    }

    /// Changes a key: `changes` holds the fields to set (the create fields, `disabled`).
    pub async fn update_key(&self, id: &str, changes: &Value) -> Result<ApiKey> {
        let path = format!("/admin/v1/keys/{}", segment(id)?);
        self.call(Method::PATCH, &path, Auth::Admin, Some(changes), HeaderMap::new(), true).await
    }

    /// Revokes a key (idempotent).
    pub async fn delete_key(&self, id: &str) -> Result<ApiKey> {
        let path = format!("/admin/v1/keys/{}", segment(id)?);
        self.call(Method::DELETE, &path, Auth::Admin, None, HeaderMap::new(), true).await
    }

    /// The audit list of management changes (`target_id`, `limit`, `after`).
    pub async fn audit(&self, query: &[(&str, Option<String>)]) -> Result<List<Value>> {
        self.get(&with_query("/admin/v1/audit", query), Auth::Admin).await
    }

    /// The admin task search (`account_id`, `status`, `model`, `metadata.K`, `limit`, `after`).
    pub async fn admin_tasks(&self, query: &[(&str, Option<String>)]) -> Result<List<Task>> {
        self.get(&with_query("/admin/v1/tasks", query), Auth::Admin).await
    }
}
