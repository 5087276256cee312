//! [`UpstreamControls`] for both backends (a shared module; see the crate docs): the
//! statements of `crate::upstreams`, run as they are written there.

use async_trait::async_trait;
use sqlx::Row;

use super::Backend;
use super::rows::to_json;
use crate::upstreams::{self as sql, HealthChange, UpstreamChange, UpstreamControl, UpstreamControls, UpstreamSpend};
use crate::{Millis, NewAudit, Result};

#[async_trait]
impl UpstreamControls for Backend {
    async fn upstream_controls(&self) -> Result<Vec<UpstreamControl>> {
        let rows = sqlx::query(sql::SELECT_CONTROLS).fetch_all(&self.pool).await?;
        rows.iter().map(sql::control_of).collect()
    }

    async fn set_upstream_health(&self, name: &str, change: HealthChange) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query(sql::SET_HEALTH)
            .bind(name)
            .bind(change.health.as_str())
            .bind(change.open_until)
            .bind(&change.error)
            .bind(change.at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn cool_upstream(&self, name: &str, until: Millis, error: &str, at: Millis) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query(sql::COOL).bind(name).bind(until).bind(error).bind(at).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn change_upstream(&self, name: &str, change: UpstreamChange, audit: NewAudit) -> Result<UpstreamControl> {
        let mut tx = self.write().await?;
        sqlx::query(sql::ENSURE).bind(name).bind(audit.at).execute(&mut *tx).await?;
        let row = sqlx::query(sql::SELECT_CONTROL).bind(name).fetch_one(&mut *tx).await?;
        let (disabled, weight, priority) = sql::changed(&sql::control_of(&row)?, &change);
        sqlx::query(sql::OPERATOR)
            .bind(name)
            .bind(disabled)
            .bind(weight)
            .bind(priority)
            .bind(change.reset)
            .bind(audit.at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(sql::AUDIT)
            .bind(audit.at)
            .bind(&audit.actor)
            .bind(&audit.action)
            .bind(&audit.target_id)
            .bind(to_json(&audit.changes))
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(sql::SELECT_CONTROL).bind(name).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        sql::control_of(&row)
    }

    async fn upstream_spend(&self, day: Millis, month: Millis) -> Result<Vec<UpstreamSpend>> {
        let rows = sqlx::query(sql::SPEND).bind(day).bind(month).fetch_all(&self.pool).await?;
        rows.iter().map(sql::spend_of).collect()
    }

    async fn upstream_in_flight(&self) -> Result<Vec<(String, u32)>> {
        let rows = sqlx::query(sql::IN_FLIGHT).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("provider")?, u32::try_from(r.try_get::<i64, _>("n")?).unwrap_or(u32::MAX))))
            .collect()
    }
}
