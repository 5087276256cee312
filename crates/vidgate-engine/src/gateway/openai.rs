//! The OpenAI Videos operations (`/v1/videos`): create from JSON or multipart fields, remix,
//! list a page in either order, and delete. Creates and remixes go through the one submit
//! path, so keys, billing, idempotency and ownership are those of every other surface, and
//! the task they make is readable on every surface.

use vidgate_domain::request::openai::{OpenAiFields, OpenAiOptions, parse_create, parse_remix};
use vidgate_domain::request::{GuideImages, GuideRole, ImageMime, SourceImageInput, SubmitRequest};
use vidgate_domain::{ErrorCode, RequestError, TaskId};
use vidgate_store::{GuideImage, ListOrder, SourceImage, Task, TaskFilter};

use super::tasks::not_found;
use super::{ApiError, Caller, Gateway};
use crate::clock::now_ms;

impl Gateway {
    /// `POST /v1/videos`: a new task from the OpenAI fields. Returns the task and whether it
    /// is an idempotent replay.
    pub async fn openai_create(
        &self,
        caller: &Caller,
        fields: &OpenAiFields,
        idempotency_key: Option<&str>,
    ) -> Result<(Task, bool), ApiError> {
        let limits = self.submit_limits();
        let opts = OpenAiOptions { idempotency_header: idempotency_key, limits: &limits };
        let req = parse_create(fields, &self.catalog, &opts)?;
        self.submit(caller, req).await.map_err(openai_names)
    }

    /// `POST /v1/videos/{id}/remix`: a new task (billed as one) with the caller's task's
    /// parameters, its source image included, and the new prompt.
    pub async fn openai_remix(
        &self,
        caller: &Caller,
        id: &str,
        fields: &OpenAiFields,
        idempotency_key: Option<&str>,
    ) -> Result<(Task, bool), ApiError> {
        let original = self.task_for(caller, id).await?;
        let image = match original.params.source_image {
            Some(_) => self.store.source_image(&original.id).await?,
            None => None,
        };
        let guides = self.store.guide_images(&original.id).await?;
        let limits = self.submit_limits();
        let opts = OpenAiOptions { idempotency_header: idempotency_key, limits: &limits };
        let req = parse_remix(fields, original_request(&original, image, guides)?, &self.catalog, &opts)?;
        self.submit_remix_of(caller, req, Some(&original.id)).await.map_err(openai_names)
    }

    /// One page of the caller's tasks in `order`, starting past the task id `after`, and
    /// whether more follow.
    pub async fn list_page(
        &self,
        caller: &Caller,
        limit: u32,
        order: ListOrder,
        after: Option<&str>,
    ) -> Result<(Vec<Task>, bool), ApiError> {
        let after = after
            .map(|a| {
                a.parse::<TaskId>()
                    .map_err(|_| RequestError::param(ErrorCode::InvalidParam, "after", "after must be a video id"))
            })
            .transpose()?;
        let filter = TaskFilter {
            account_id: Some(caller.account_id.clone()),
            limit: limit + 1,
            after,
            order,
            ..Default::default()
        };
        let mut tasks = self.store.tasks(&filter).await?;
        let has_more = tasks.len() > limit as usize;
        tasks.truncate(limit as usize);
        Ok((tasks, has_more))
    }

    /// Deletes the caller's terminal task: its files are removed and it answers 404 on every
    /// surface from then on. An open task is 409 `task_not_terminal`.
    pub async fn delete_task(&self, caller: &Caller, id: &str) -> Result<Task, ApiError> {
        let task = self.task_for(caller, id).await?;
        if !task.status.is_terminal() {
            let message = format!("video {} is still {}; it can be deleted once it has finished", task.id, task.status);
            return Err(ApiError::new(ErrorCode::TaskNotTerminal, message));
        }
        if !self.store.delete_task(&task.id, now_ms()).await? {
            // Another request deleted it first.
            return Err(not_found());
        }
        if let Err(e) = self.engine.files.delete(&task.id).await {
            // The retention sweeper still lists the task and removes the files then.
            tracing::warn!(task = %task.id, error = %e, "removing a deleted task's files failed");
        }
        self.notifier.changed(&task.id);
        Ok(task)
    }
}

/// The request a task was made from (its idempotency key and webhook left out: a remix has
/// its own), for a remix to start from.
fn original_request(
    task: &Task,
    image: Option<SourceImage>,
    guides: Vec<GuideImage>,
) -> Result<SubmitRequest, ApiError> {
    let inline = |img: SourceImage| {
        let mime = ImageMime::parse(&img.mime)
            .ok_or_else(|| ApiError::internal(format!("task {} has a stored image of type {}", task.id, img.mime)))?;
        Ok::<_, ApiError>(SourceImageInput::Inline { mime, bytes: img.bytes })
    };
    let source_image = image.map(inline).transpose()?;
    let mut guide_images = GuideImages::default();
    for g in guides {
        match g.role {
            GuideRole::LastFrame => guide_images.last_frame = Some(inline(g.image)?),
            role => guide_images.reference_images.push((role, inline(g.image)?)),
        }
    }
    let p = &task.params;
    Ok(SubmitRequest {
        model: task.model.clone(),
        prompt: p.prompt.clone(),
        duration_seconds: p.duration_seconds,
        size: p.size,
        audio: p.audio,
        source_image,
        seed: p.seed,
        negative_prompt: p.negative_prompt.clone(),
        guides: guide_images,
        out_task_id: None,
        callback_url: None,
        metadata: p.metadata.clone(),
    })
}

/// The shared submit path names fields after the other surfaces; an OpenAI client sent
/// `input_reference` and the `Idempotency-Key` header.
fn openai_names(mut e: ApiError) -> ApiError {
    let renamed = match e.error.param.as_deref() {
        Some("source_image") => "input_reference",
        Some("out_task_id") => "Idempotency-Key",
        _ => return e,
    };
    e.error.param = Some(renamed.to_owned());
    e
}
