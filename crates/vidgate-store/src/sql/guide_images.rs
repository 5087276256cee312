//! A task's guide images (last frame, reference images), for both backends (a shared
//! module; see the crate docs): inserted in order with the task, read back in that order.

use vidgate_domain::TaskId;
use vidgate_domain::request::GuideRole;

use super::{Backend, Tx};
use crate::model::{GuideImage, NewTask, SourceImage};
use crate::{Result, StoreError};

/// A task's guide images in the order sent.
pub(super) async fn of_task(store: &Backend, id: &TaskId) -> Result<Vec<GuideImage>> {
    let rows: Vec<(String, String, String, Vec<u8>)> =
        sqlx::query_as("SELECT role, mime, sha256, bytes FROM task_guide_images WHERE task_id = $1 ORDER BY position")
            .bind(id.as_str())
            .fetch_all(&store.pool)
            .await?;
    rows.into_iter()
        .map(|(role_text, mime, sha256, bytes)| {
            Ok(GuideImage { role: role(&role_text)?, image: SourceImage { mime, sha256, bytes } })
        })
        .collect()
}

/// Inserts the task's guide images, in order, inside the submit transaction.
pub(super) async fn insert(tx: &mut Tx, t: &NewTask) -> Result<()> {
    for (position, g) in t.guide_images.iter().enumerate() {
        sqlx::query(
            "INSERT INTO task_guide_images (task_id, position, role, mime, sha256, bytes) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(t.id.as_str())
        .bind(position as i32)
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
