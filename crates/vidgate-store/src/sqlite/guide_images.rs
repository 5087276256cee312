//! A task's last frame and reference images (`task_guide_images`): written in the submit
//! transaction with the task, read back by the worker and by a remix.

use sqlx::{Row, Sqlite, Transaction};
use vidgate_domain::TaskId;
use vidgate_domain::request::GuideRole;

use super::SqliteStore;
use crate::model::{GuideImage, NewTask, SourceImage};
use crate::{Result, StoreError};

impl SqliteStore {
    pub(super) async fn guide_images_impl(&self, id: &TaskId) -> Result<Vec<GuideImage>> {
        let rows =
            sqlx::query("SELECT role, mime, sha256, bytes FROM task_guide_images WHERE task_id = ? ORDER BY position")
                .bind(id.as_str())
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let role = role(&r.try_get::<String, _>("role")?)?;
                let image =
                    SourceImage { mime: r.try_get("mime")?, sha256: r.try_get("sha256")?, bytes: r.try_get("bytes")? };
                Ok(GuideImage { role, image })
            })
            .collect()
    }
}

/// Inserts the task's guide images, in order, inside the submit transaction.
pub(super) async fn insert(tx: &mut Transaction<'static, Sqlite>, t: &NewTask) -> Result<()> {
    for (position, g) in t.guide_images.iter().enumerate() {
        sqlx::query(
            "INSERT INTO task_guide_images (task_id, position, role, mime, sha256, bytes) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(t.id.as_str())
        .bind(position as i64)
        .bind(g.role.as_str())
        .bind(&g.image.mime)
        .bind(&g.image.sha256)
        .bind(&g.image.bytes)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn role(text: &str) -> Result<GuideRole> {
    match text {
        "last_frame" => Ok(GuideRole::LastFrame),
        "asset" => Ok(GuideRole::Asset),
        "style" => Ok(GuideRole::Style),
        other => Err(StoreError::Corrupt(format!("unknown guide image role {other:?}"))),
    }
}
