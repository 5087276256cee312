//! Money outside a task's own transitions, for both backends (a shared module; see the
//! crate docs): credits (a credit locks its account row on PostgreSQL, so a debit's balance
//! check and its write are one step against concurrent submits and settlements), a key's
//! committed spend and windows (one statement), an account's ledger entries, usage
//! roll-ups, and the ledger append every money write goes through. Sums are cast back to
//! BIGINT (`SUM(BIGINT)` is NUMERIC on PostgreSQL) and the dimensions a roll-up does not
//! group by are typed NULLs.

use sqlx::Row;
use vidgate_domain::task::Mode;
use vidgate_domain::{AccountId, KeyId, Usd};

use super::rows::parse_id;
use super::{Backend, Tx, dialect};
use crate::limits::COMMITTED_MICROS;
use crate::model::{Account, LedgerKind, Millis};
use crate::money::*;
use crate::{AccountStore, MoneyStore, Result, StoreError};

/// A task that was charged: completed, or cancelled under `charge` (which bills its length).
const CHARGED: &str = "(status = 'completed' OR (status = 'cancelled' AND billed_ms > 0))";

#[async_trait::async_trait]
impl MoneyStore for Backend {
    async fn add_credit(&self, id: &AccountId, amount: Usd, note: &str, now: Millis) -> Result<Account> {
        let mut tx = self.write().await?;
        let sql = format!(
            "SELECT credited_micros, held_micros, spent_micros FROM accounts WHERE id = $1{}",
            dialect::FOR_UPDATE
        );
        let (credited, held, spent): (i64, i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        // A debit may take the balance to zero, never below: open holds stay covered.
        let available = Usd(credited).minus(Usd(held)).minus(Usd(spent));
        if amount < Usd::ZERO && available.plus(amount) < Usd::ZERO {
            return Err(StoreError::InsufficientBalance { available });
        }
        sqlx::query("UPDATE accounts SET credited_micros = credited_micros + $1 WHERE id = $2")
            .bind(amount.micros())
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        ledger(&mut tx, id, None, None, LedgerKind::Credit, amount, note, now).await?;
        tx.commit().await?;
        self.account(id).await?.ok_or(StoreError::NotFound)
    }

    async fn key_status(&self, key: &KeyId, now: Millis) -> Result<Option<KeyStatus>> {
        let [(_, h5), (_, d1), (_, d7)] = SPEND_WINDOWS;
        let window = |n: u8| {
            format!(
                "(SELECT CAST(COALESCE(SUM(amt), 0) AS BIGINT) FROM w WHERE at > ${n}), \
                 (SELECT MIN(at) FROM w WHERE at > ${n} AND amt > 0)"
            )
        };
        let sql = format!(
            "WITH w AS (SELECT created_at AS at, {COMMITTED_MICROS} AS amt FROM tasks \
               WHERE key_id = $1 AND mode = 'live' AND created_at > $4) \
             SELECT k.held_micros + k.spent_micros, \
               (SELECT COUNT(*) FROM tasks WHERE key_id = $1 AND phase <> 'done'), {}, {}, {} \
             FROM api_keys k WHERE k.id = $1",
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

    async fn ledger_entries(&self, account: &AccountId, after: Option<i64>, limit: u32) -> Result<Vec<LedgerEntry>> {
        let rows = sqlx::query(
            "SELECT id, account_id, task_id, key_id, kind, amount_micros, note, created_at FROM ledger \
             WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3",
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

    async fn usage(&self, q: &UsageQuery) -> Result<Vec<UsageRow>> {
        let g = q.group;
        let pick = |on: bool, expr: &str, ty: &str| if on { expr.to_owned() } else { format!("CAST(NULL AS {ty})") };
        let mut sql = format!(
            "SELECT {} AS day, {} AS model, {} AS account_id, {} AS key_id, {} AS mode, \
               COUNT(*) AS tasks, CAST(COALESCE(SUM(billed_ms), 0) AS BIGINT) AS billed, \
               CAST(COALESCE(SUM(used_micros), 0) AS BIGINT) AS usd \
             FROM tasks WHERE completed_at >= $1 AND completed_at < $2 AND {CHARGED}",
            pick(g.day, &format!("completed_at / {DAY_MS}"), "BIGINT"),
            pick(g.model, "model", "TEXT"),
            pick(g.account, "account_id", "TEXT"),
            pick(g.key, "key_id", "TEXT"),
            pick(g.mode, "mode", "TEXT"),
        );
        let filters = [
            ("account_id", q.account_id.as_ref().map(|a| a.as_str().to_owned())),
            ("key_id", q.key_id.as_ref().map(|k| k.as_str().to_owned())),
            ("model", q.model.clone()),
            ("mode", q.mode.map(|m| m.as_str().to_owned())),
        ];
        let mut n = 2;
        for (column, value) in &filters {
            if value.is_some() {
                n += 1;
                sql.push_str(&format!(" AND {column} = ${n}"));
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

/// Appends one ledger entry. The ledger is append-only: nothing updates or deletes it.
/// The caller holds the account's row lock on PostgreSQL (see
/// migrations/postgres/0001_init.sql), the write lock on SQLite.
#[allow(clippy::too_many_arguments)]
pub(super) async fn ledger(
    tx: &mut Tx,
    account: &AccountId,
    task: Option<&str>,
    key: Option<&str>,
    kind: LedgerKind,
    amount: Usd,
    note: &str,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO ledger (account_id, task_id, key_id, kind, amount_micros, note, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(account.as_str())
    .bind(task)
    .bind(key)
    .bind(kind.as_str())
    .bind(amount.micros())
    .bind(note)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
