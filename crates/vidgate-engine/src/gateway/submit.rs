//! Submitting a task: parse and validate, check the key may use the model, pick the route,
//! get the source image (fetched now, through the SSRF guard, and kept with the task),
//! then one store transaction that checks idempotency and limits, inserts the task and
//! takes the hold. A refused request leaves nothing behind.

use sha2::{Digest, Sha256};
use vidgate_domain::billing;
use vidgate_domain::request::fingerprint::fingerprint;
use vidgate_domain::request::{
    GuideRole, ImageMime, ParseOptions, SourceImageInput, SubmitLimits, SubmitRequest, parse_submit,
};
use vidgate_domain::task::TaskStatus;
use vidgate_domain::{ErrorCode, RequestError, TaskId};
use vidgate_store::{GuideImage, NewTask, SourceImage, SourceImageRef, SubmitChecks, SubmitOutcome, Task, TaskParams};

use super::{ApiError, Caller, Gateway};
use crate::clock::now_ms;

/// Which endpoint a submit came from (it decides whether a `params` envelope is allowed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubmitSurface {
    /// `POST /v1/videos/generations`: flat fields only.
    VideoGenerations,
    /// `POST /v1/tasks/submit`: flat fields or a `params` envelope.
    TasksSubmit,
}

impl Gateway {
    /// The limits of request parsing, from config.
    pub fn submit_limits(&self) -> SubmitLimits {
        SubmitLimits {
            max_image_bytes: self.config.fetch.max_image_bytes,
            allow_http_source_urls: self.config.fetch.allow_private_targets,
            allow_http_callback_urls: self.config.webhooks.allow_private_targets,
        }
    }

    /// Submits a JSON body. Returns the task and whether it is an idempotent replay.
    pub async fn submit_json(
        &self,
        caller: &Caller,
        body: &serde_json::Value,
        idempotency_key: Option<&str>,
        surface: SubmitSurface,
    ) -> Result<(Task, bool), ApiError> {
        let limits = self.submit_limits();
        let opts = ParseOptions {
            allow_params_envelope: surface == SubmitSurface::TasksSubmit,
            idempotency_header: idempotency_key,
            limits: &limits,
        };
        let req = parse_submit(body, &self.catalog, &opts)?;
        self.submit(caller, req).await.map_err(|e| image_named_as_sent(e, body, opts.allow_params_envelope))
    }

    /// Submits a typed request.
    pub async fn submit(&self, caller: &Caller, req: SubmitRequest) -> Result<(Task, bool), ApiError> {
        self.submit_remix_of(caller, req, None).await
    }

    /// Submits a typed request; `remixed_from` names the task it remixes (OpenAI remix).
    pub(crate) async fn submit_remix_of(
        &self,
        caller: &Caller,
        req: SubmitRequest,
        remixed_from: Option<&TaskId>,
    ) -> Result<(Task, bool), ApiError> {
        if let Some(allowed) = &caller.key.limits.models
            && !allowed.iter().any(|m| m == &req.model)
        {
            let msg = format!("this key may not use model {}", req.model);
            return Err(RequestError::param(ErrorCode::ModelNotAllowed, "model", msg).into());
        }
        let routed = self.plan_submit(&caller.key, &req)?;
        let spec = self.catalog.resolve(&req.model).expect("parsed models exist");
        self.check_callback_target(&req)?;
        let image = match &req.source_image {
            Some(input) => Some(self.load_image(input, "source_image").await?),
            None => None,
        };
        let guide_images = self.guide_images(&req).await?;
        let image_sha = image.as_ref().map(|i| i.sha256.clone());
        let guide_shas: Vec<(&str, &str)> =
            guide_images.iter().map(|g| (g.role.as_str(), g.image.sha256.as_str())).collect();
        let estimated = billing::estimate(spec.rate_for(req.size), req.duration_seconds);
        let now = now_ms();
        let task = NewTask {
            id: TaskId::generate(),
            account_id: caller.account_id.clone(),
            key_id: caller.key.id.clone(),
            mode: caller.key.mode,
            model: req.model.clone(),
            fingerprint: fingerprint(&req, image_sha.as_deref(), &guide_shas),
            params: TaskParams {
                prompt: req.prompt.clone(),
                duration_seconds: req.duration_seconds,
                size: req.size,
                audio: req.audio,
                seed: req.seed,
                negative_prompt: req.negative_prompt.clone(),
                callback_url: req.callback_url.as_ref().map(|u| u.to_string()),
                metadata: req.metadata.clone(),
                source_image: image.as_ref().map(|i| SourceImageRef { sha256: i.sha256.clone(), mime: i.mime.clone() }),
                remixed_from: remixed_from.map(TaskId::to_string),
            },
            source_image: image,
            guide_images,
            out_task_id: req.out_task_id.clone(),
            estimated,
            plan: routed.plan,
            provider: routed.provider,
            upstream_cost: routed.upstream_cost,
            created_at: now,
        };
        let limits = &caller.key.limits;
        let checks =
            SubmitChecks { key_quota: limits.quota, spend: limits.spend.clone(), concurrency: limits.concurrency };
        match self.store.submit(task, checks).await? {
            SubmitOutcome::Created(t) => {
                crate::worker::transition(&t, TaskStatus::Queued);
                self.engine.submitted(&t.provider);
                self.notifier.changed(&t.id);
                Ok((t, false))
            }
            SubmitOutcome::Replayed(t) => Ok((t, true)),
            refusal => Err(refusal_error(refusal, now)),
        }
    }

    /// The SSRF rule of docs/api.md §8 at submit: an IP-literal host must be public unless
    /// `webhooks.allow_private_targets`. A name is judged at each connection, on the addresses
    /// it resolves to then (the delivery's client), not here: an answer now proves nothing later.
    fn check_callback_target(&self, req: &SubmitRequest) -> Result<(), ApiError> {
        let Some(url) = &req.callback_url else { return Ok(()) };
        let policy = crate::net::Policy { allow_private: self.config.webhooks.allow_private_targets };
        crate::net::check_url(url.as_str(), policy).map(drop).map_err(|rejected| {
            use crate::net::UrlRejected;
            let msg = match rejected {
                UrlRejected::NonPublic(_) => "callback_url must not be a private, loopback or link-local address",
                UrlRejected::Scheme => "callback_url must use https",
                _ => "callback_url is not a valid https URL",
            };
            RequestError::param(ErrorCode::InvalidParam, "callback_url", msg).into()
        })
    }

    /// The last frame and reference images, each fetched and decoded like the source image;
    /// an error names the field (`last_frame`, `reference_images[1]`).
    async fn guide_images(&self, req: &SubmitRequest) -> Result<Vec<GuideImage>, ApiError> {
        let mut out = Vec::new();
        let mut reference = 0;
        for (role, input) in req.guides.all() {
            let param = match role {
                GuideRole::LastFrame => "last_frame".to_owned(),
                _ => {
                    reference += 1;
                    format!("reference_images[{}]", reference - 1)
                }
            };
            out.push(GuideImage { role, image: self.load_image(input, &param).await? });
        }
        Ok(out)
    }

    /// An image input as bytes of a known type that decode in full: a URL is fetched once
    /// through the SSRF guard; every error is `source_image_unreadable` naming `param`.
    async fn load_image(&self, input: &SourceImageInput, param: &str) -> Result<SourceImage, ApiError> {
        let unreadable = |m: String| ApiError::from(RequestError::param(ErrorCode::SourceImageUnreadable, param, m));
        let (bytes, declared) = match input {
            SourceImageInput::Inline { mime, bytes } => (bytes.clone(), Some(*mime)),
            SourceImageInput::Url(url) => {
                let max = self.config.fetch.max_image_bytes;
                let policy = crate::net::Policy { allow_private: self.config.fetch.allow_private_targets };
                // IP-literal hosts never reach the resolver's check, so check the URL itself.
                let url = crate::net::check_url(url.as_str(), policy)
                    .map_err(|e| unreadable(crate::net::FetchError::from(e).to_string()))?;
                let fetched = crate::net::fetch_image(&self.fetch_client, &url, max)
                    .await
                    .map_err(|e| unreadable(e.to_string()))?;
                (fetched.bytes, None)
            }
        };
        let what = if param == "source_image" { "the source image".to_owned() } else { param.to_owned() };
        let sniffed =
            ImageMime::sniff(&bytes).ok_or_else(|| unreadable(format!("{what} is not a PNG, JPEG or WebP image")))?;
        if declared.is_some_and(|d| d != sniffed) {
            return Err(unreadable(format!("{what}'s bytes do not match its declared type")));
        }
        // Every pixel, not just the header: an image that does not decode now would fail
        // every render later, after the task was accepted and its money held.
        let (bytes, decoded) = self
            .engine
            .media
            .run(move || {
                let decoded = vidgate_media::decode_image_fully(&bytes);
                (bytes, decoded)
            })
            .await;
        decoded.map_err(|_| unreadable(format!("{what} could not be decoded (corrupt or truncated pixel data)")))?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        Ok(SourceImage { mime: sniffed.as_str().to_owned(), sha256, bytes })
    }
}

/// The image step names `source_image`; the client may have sent `image_init` (the alias)
/// or either inside `params`, and is told the name it used.
fn image_named_as_sent(mut e: ApiError, body: &serde_json::Value, envelope_allowed: bool) -> ApiError {
    let params = body.get("params").filter(|p| envelope_allowed && p.is_object());
    let guide =
        e.error.param.as_deref().is_some_and(|p| p.starts_with("last_frame") || p.starts_with("reference_images"));
    if guide && params.is_some() && e.error.code == ErrorCode::SourceImageUnreadable {
        e.error.param = e.error.param.map(|p| format!("params.{p}"));
        return e;
    }
    if e.error.param.as_deref() != Some("source_image") {
        return e;
    }
    let fields = params.unwrap_or(body);
    let key = if fields.get("image_init").is_some_and(|v| !v.is_null()) { "image_init" } else { "source_image" };
    e.error.param = Some(if params.is_some() { format!("params.{key}") } else { key.to_owned() });
    e
}

fn refusal_error(outcome: SubmitOutcome, now: i64) -> ApiError {
    let retry = |at: i64| Some(((at - now).max(1000) as u64).div_ceil(1000));
    match outcome {
        SubmitOutcome::Conflict => RequestError::param(
            ErrorCode::DuplicateOutTaskId,
            "out_task_id",
            "this out_task_id was already used for a different request",
        )
        .into(),
        SubmitOutcome::InsufficientBalance { needed, available } => ApiError::new(
            ErrorCode::InsufficientBalance,
            format!("this task needs a hold of {needed} USD; the balance available is {available} USD"),
        ),
        SubmitOutcome::QuotaExceeded { remaining } => ApiError::new(
            ErrorCode::QuotaExceeded,
            format!("the key's quota has {remaining} USD left, not enough for this task"),
        ),
        SubmitOutcome::SpendWindowExceeded { window, resets_at } => ApiError {
            retry_after_secs: retry(resets_at),
            ..ApiError::new(ErrorCode::RateLimitExceeded, format!("the key's {window} spend limit would be exceeded"))
        },
        SubmitOutcome::ConcurrencyLimit { limit } => ApiError {
            retry_after_secs: Some(2),
            ..ApiError::new(ErrorCode::ConcurrencyLimit, format!("the key already has {limit} tasks queued or running"))
        },
        SubmitOutcome::Created(_) | SubmitOutcome::Replayed(_) => ApiError::internal("refusal_error called on success"),
    }
}
