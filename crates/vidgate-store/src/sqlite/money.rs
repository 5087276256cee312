//! Money reads on SQLite: a key's committed spend and windows (one statement), an
//! account's ledger entries, and usage roll-ups. The writes (holds, captures, releases,
//! credits) live with the transitions they belong to, in tasks.rs and accounts.rs.

use sqlx::Row;
use vidgate_domain::task::Mode;
use vidgate_domain::{AccountId, KeyId, Usd};

use super::SqliteStore;
use super::rows::parse_id;
use crate::limits::COMMITTED_MICROS;
use crate::model::{LedgerKind, Millis};
use crate::money::*;
use crate::{Result, StoreError};

/// A task that was charged: completed, or cancelled under `charge` (which bills its length).
const CHARGED: &str = "(status = 'completed' OR (status = 'cancelled' AND billed_ms > 0))";

impl SqliteStore {
    pub(super) async fn key_status_impl(&self, key: &KeyId, now: Millis) -> Result<Option<KeyStatus>> {
        let [(_, h5), (_, d1), (_, d7)] = SPEND_WINDOWS;
        let window = |n: u8| {
            format!(
                "(SELECT COALESCE(SUM(amt), 0) FROM w WHERE at > ?{n}), (SELECT MIN(at) FROM w WHERE at > ?{n} AND amt > 0)"
            )
        };
        let sql = format!(
            "WITH w AS (SELECT created_at AS at, {COMMITTED_MICROS} AS amt FROM tasks \
               WHERE key_id = ?1 AND mode = 'live' AND created_at > ?4) \
             SELECT k.held_micros + k.spent_micros, \
               (SELECT COUNT(*) FROM tasks WHERE key_id = ?1 AND phase <> 'done'), {}, {}, {} \
             FROM api_keys k WHERE k.id = ?1",
            window(2),
            window(3),
            window(4)
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(key.as_str())
            .bind(now - h5)
            .bind(now - d1)
            .bind(now - d7)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let mut windows = Vec::with_capacity(SPEND_WINDOWS.len());
        for (i, (name, length_ms)) in SPEND_WINDOWS.into_iter().enumerate() {
            let used: i64 = row.try_get(2 + 2 * i)?;
            let oldest_at: Option<i64> = row.try_get(3 + 2 * i)?;
            windows.push(WindowUse { name, length_ms, used: Usd(used), oldest_at });
        }
        Ok(Some(KeyStatus { committed: Usd(row.try_get(0)?), in_flight: row.try_get::<i64, _>(1)? as u32, windows }))
    }

    pub(super) async fn ledger_entries_impl(
        &self,
        account: &AccountId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Vec<LedgerEntry>> {
        let rows = sqlx::query(
            "SELECT id, account_id, task_id, key_id, kind, amount_micros, note, created_at FROM ledger \
             WHERE account_id = ? AND id > ? ORDER BY id LIMIT ?",
        )
        .bind(account.as_str())
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("kind")?;
                let task: Option<String> = r.try_get("task_id")?;
                let key: Option<String> = r.try_get("key_id")?;
                Ok(LedgerEntry {
                    id: r.try_get("id")?,
                    account_id: parse_id(r.try_get("account_id")?)?,
                    task_id: task.as_deref().map(parse_id).transpose()?,
                    key_id: key.as_deref().map(parse_id).transpose()?,
                    kind: LedgerKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("ledger kind {kind}")))?,
                    amount: Usd(r.try_get("amount_micros")?),
                    note: r.try_get("note")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    pub(super) async fn usage_impl(&self, q: &UsageQuery) -> Result<Vec<UsageRow>> {
        let g = q.group;
        let pick = |on: bool, expr: &str| if on { expr.to_owned() } else { "NULL".to_owned() };
        let mut sql = format!(
            "SELECT {} AS day, {} AS model, {} AS account_id, {} AS key_id, {} AS mode, \
               COUNT(*) AS tasks, COALESCE(SUM(billed_ms), 0) AS billed, COALESCE(SUM(used_micros), 0) AS usd \
             FROM tasks WHERE completed_at >= ? AND completed_at < ? AND {CHARGED}",
            pick(g.day, &format!("completed_at / {DAY_MS}")),
            pick(g.model, "model"),
            pick(g.account, "account_id"),
            pick(g.key, "key_id"),
            pick(g.mode, "mode"),
        );
        let filters = [
            ("account_id", q.account_id.as_ref().map(|a| a.as_str().to_owned())),
            ("key_id", q.key_id.as_ref().map(|k| k.as_str().to_owned())),
            ("model", q.model.clone()),
            ("mode", q.mode.map(|m| m.as_str().to_owned())),
        ];
        for (column, value) in &filters {
            if value.is_some() {
                sql.push_str(&format!(" AND {column} = ?"));
            }
        }
        sql.push_str(" GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(q.since).bind(q.until);
        for value in filters.into_iter().filter_map(|(_, v)| v) {
            query = query.bind(value);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let account: Option<String> = r.try_get("account_id")?;
                let key: Option<String> = r.try_get("key_id")?;
                let mode: Option<String> = r.try_get("mode")?;
                Ok(UsageRow {
                    day: r.try_get("day")?,
                    model: r.try_get("model")?,
                    account_id: account.as_deref().map(parse_id).transpose()?,
                    key_id: key.as_deref().map(parse_id).transpose()?,
                    mode: mode
                        .map(|m| Mode::parse(&m).ok_or_else(|| StoreError::Corrupt(format!("bad mode {m:?}"))))
                        .transpose()?,
                    tasks: r.try_get::<i64, _>("tasks")? as u64,
                    billed_ms: r.try_get::<i64, _>("billed")? as u64,
                    usd: Usd(r.try_get("usd")?),
                })
            })
            .collect()
    }
}
