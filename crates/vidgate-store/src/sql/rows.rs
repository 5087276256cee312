//! Turning rows into records, for both backends (a shared module; see the crate docs).
//! Every stored enum and JSON column is parsed here, and a value that does not parse is
//! reported as corrupt data rather than guessed at. The column types differ and sqlx
//! bridges them: a flag is BOOLEAN on PostgreSQL and 0/1 on SQLite (both decode as
//! `bool`), a JSON column is JSONB on PostgreSQL and TEXT on SQLite (both decode as
//! `serde_json::Value` and bind as [`Json`]).

use std::str::FromStr;

use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::types::Json;
use vidgate_domain::plan::TaskPlan;
use vidgate_domain::task::{Mode, TaskErrorCode, TaskStatus};
use vidgate_domain::{AccountId, KeyId, Usd};

use super::DbRow;
use crate::model::*;
use crate::{Result, StoreError};

/// Every column of `tasks` a [`Task`] needs, for `SELECT {TASK_COLUMNS} FROM tasks`.
pub const TASK_COLUMNS: &str = "id, account_id, key_id, mode, model, params, out_task_id, fingerprint, status, \
    version, progress, estimated_micros, used_micros, created_at, started_at, completed_at, error_code, \
    error_message, result, files_expire_at, files_expired, provider, phase, upstream_job, upstream_state, \
    engine_counters, submitting, submit_attempts, deadline_at, possible_orphan, plan, upstream_cost_micros, attempts, lease_token";

pub fn parse_id<T: FromStr>(s: &str) -> Result<T> {
    s.parse().map_err(|_| StoreError::Corrupt(format!("bad id {s:?}")))
}

/// A JSON column into a record.
fn json<T: DeserializeOwned>(value: serde_json::Value, what: &str) -> Result<T> {
    serde_json::from_value(value).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// A record as a JSON parameter (JSONB on PostgreSQL, TEXT on SQLite).
pub fn to_json<T: serde::Serialize>(value: &T) -> Json<&T> {
    Json(value)
}

fn mode(s: &str) -> Result<Mode> {
    Mode::parse(s).ok_or_else(|| StoreError::Corrupt(format!("bad mode {s:?}")))
}

pub fn task(row: &DbRow) -> Result<Task> {
    let status: &str = row.try_get("status")?;
    let phase: &str = row.try_get("phase")?;
    let error_code: Option<&str> = row.try_get("error_code")?;
    let error = match error_code {
        Some(code) => {
            let code = TaskErrorCode::parse(code).ok_or_else(|| StoreError::Corrupt(format!("error code {code}")))?;
            Some((code, row.try_get::<Option<String>, _>("error_message")?.unwrap_or_default()))
        }
        None => None,
    };
    let result: Option<serde_json::Value> = row.try_get("result")?;
    let plan: serde_json::Value = row.try_get("plan")?;
    let mut task = Task {
        id: parse_id(row.try_get("id")?)?,
        account_id: parse_id::<AccountId>(row.try_get("account_id")?)?,
        key_id: parse_id::<KeyId>(row.try_get("key_id")?)?,
        mode: mode(row.try_get("mode")?)?,
        model: row.try_get("model")?,
        params: json(row.try_get("params")?, "params")?,
        out_task_id: row.try_get("out_task_id")?,
        fingerprint: row.try_get("fingerprint")?,
        status: TaskStatus::parse(status).ok_or_else(|| StoreError::Corrupt(format!("status {status}")))?,
        version: row.try_get("version")?,
        progress: row.try_get::<i64, _>("progress")?.clamp(0, 100) as u8,
        estimated: Usd(row.try_get("estimated_micros")?),
        credits_used: Usd(row.try_get("used_micros")?),
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        completed_at: row.try_get("completed_at")?,
        error,
        result: result.map(|r| json(r, "result")).transpose()?,
        files_expire_at: row.try_get("files_expire_at")?,
        files_expired: row.try_get("files_expired")?,
        provider: row.try_get("provider")?,
        phase: Phase::parse(phase).ok_or_else(|| StoreError::Corrupt(format!("phase {phase}")))?,
        upstream_job: row.try_get("upstream_job")?,
        upstream_state: row.try_get("upstream_state")?,
        counters: row.try_get::<sqlx::types::Json<EngineCounters>, _>("engine_counters")?.0,
        submitting: row.try_get("submitting")?,
        submit_attempts: row.try_get::<i64, _>("submit_attempts")? as u32,
        deadline_at: row.try_get("deadline_at")?,
        possible_orphan: row.try_get("possible_orphan")?,
        plan: TaskPlan::default(),
        upstream_cost: Usd(row.try_get("upstream_cost_micros")?),
        attempts: row.try_get::<i64, _>("attempts")? as u32,
    };
    task.plan = TaskPlan::from_stored(&plan, task.params.audio);
    Ok(task)
}

pub fn account(row: &DbRow) -> Result<Account> {
    let credited = Usd(row.try_get("credited_micros")?);
    let held = Usd(row.try_get("held_micros")?);
    let spent = Usd(row.try_get("spent_micros")?);
    Ok(Account {
        id: parse_id(row.try_get("id")?)?,
        name: row.try_get("name")?,
        webhook_secret: row.try_get("webhook_secret")?,
        created_at: row.try_get("created_at")?,
        balance: credited.minus(spent).minus(held),
        held,
        spent,
        credited,
        suspended: row.try_get("suspended")?,
    })
}

pub fn api_key(row: &DbRow) -> Result<ApiKey> {
    let models: Option<serde_json::Value> = row.try_get("models")?;
    let limits = KeyLimits {
        quota: row.try_get::<Option<i64>, _>("quota_micros")?.map(Usd),
        spend: json(row.try_get("spend_limits")?, "spend_limits")?,
        concurrency: row.try_get::<Option<i64>, _>("concurrency_limit")?.map(|n| n as u32),
        models: models.map(|m| json(m, "models")).transpose()?,
        expires_at: row.try_get("expires_at")?,
        ip_allow: json(row.try_get("ip_allow")?, "ip_allow")?,
    };
    Ok(ApiKey {
        id: parse_id(row.try_get("id")?)?,
        account_id: parse_id(row.try_get("account_id")?)?,
        name: row.try_get("name")?,
        mode: mode(row.try_get("mode")?)?,
        hash: row.try_get("hash")?,
        masked: row.try_get("masked")?,
        limits,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
        disabled: row.try_get("disabled")?,
    })
}
