//! The server pool of a ComfyUI upstream (docs/upstreams.md §15.1, §15.6): requests to one
//! server with the proxy credential and no `Origin` header, the pick of the server with the
//! shortest queue (`GET /prompt` → `exec_info.queue_remaining`), the template check against a
//! server's `/object_info` (once per server while it fits), finding a prompt id in a server's
//! history or queue, and the first-frame upload.
//!
//! Owns which server is asked. It must not decide what an answer means for the task.

use reqwest::Method;
use serde_json::{Map, Value};
use url::Url;

use super::ComfyuiProvider;
use super::response::{Queued, in_queue};
use crate::provider::ProviderError;
use crate::provider::http::{self, Call, MAX_API_BODY};

/// `/object_info` of a server with many custom nodes runs to megabytes.
const MAX_OBJECT_INFO: usize = 64 * 1024 * 1024;

impl ComfyuiProvider {
    /// A request to `path` on `server`, with the proxy credential and the request timeout.
    pub(super) fn request(&self, method: Method, server: &Url, path: &str) -> reqwest::RequestBuilder {
        let url = server.join(path).unwrap_or_else(|_| server.clone());
        let mut request = self.client.request(method, url).timeout(self.settings.timeout);
        if let Some(value) = &self.authorization {
            request = request.header(reqwest::header::AUTHORIZATION, value.clone());
        }
        request
    }

    /// A JSON answer of a read; an error status is the call's error.
    pub(super) async fn read(&self, request: reqwest::RequestBuilder, max: usize) -> Result<Value, ProviderError> {
        let answer = http::send(request, Call::Read, max).await?;
        if !answer.status.is_success() {
            let detail = String::from_utf8_lossy(&answer.body).into_owned();
            return Err(http::status_error(answer.status, answer.retry_after_ms(), &detail, Call::Read));
        }
        answer.json(Call::Read)
    }

    /// `GET /history/{id}` on `server`: the entry, or `None` while queued, running or lost.
    pub(super) async fn history(&self, server: &Url, id: &str) -> Result<Option<Value>, ProviderError> {
        let body = self.read(self.request(Method::GET, server, &format!("history/{id}")), MAX_API_BODY * 4).await?;
        Ok(body.get(id).cloned())
    }

    /// Where `id` is in `server`'s `/queue`.
    pub(super) async fn queued(&self, server: &Url, id: &str) -> Result<Queued, ProviderError> {
        let queue = self.read(self.request(Method::GET, server, "queue"), MAX_API_BODY * 4).await?;
        Ok(in_queue(&queue, id))
    }

    /// The server with the fewest prompts queued and running; servers that do not answer
    /// are skipped.
    pub(super) async fn pick(&self) -> Result<Url, ProviderError> {
        let asks = self.servers.iter().map(|s| async move {
            let body = self.read(self.request(Method::GET, s, "prompt"), MAX_API_BODY).await.ok()?;
            Some((body.pointer("/exec_info/queue_remaining")?.as_u64()?, s.clone()))
        });
        let lengths = futures::future::join_all(asks).await;
        let best = lengths.into_iter().flatten().min_by_key(|(n, _)| *n).map(|(_, s)| s);
        best.ok_or_else(|| ProviderError::Unreachable("no ComfyUI server of the pool answered GET /prompt".into()))
    }

    /// Checks the template against `server`'s `/object_info` unless it already fits; a
    /// misfit is a refusal naming every problem.
    pub(super) async fn ensure_fits(&self, server: &Url) -> Result<(), ProviderError> {
        if self.checked.lock().unwrap_or_else(|p| p.into_inner()).contains(server.as_str()) {
            return Ok(());
        }
        let info = self.read(self.request(Method::GET, server, "object_info"), MAX_OBJECT_INFO).await?;
        let info: Map<String, Value> = info.as_object().cloned().unwrap_or_default();
        let problems = super::validate::problems(&self.template, &info);
        if !problems.is_empty() {
            let workflow = &self.config.workflow;
            return Err(ProviderError::Refused(format!(
                "workflow {workflow:?} does not fit the ComfyUI server {server}: {}",
                problems.join("; ")
            )));
        }
        self.checked.lock().unwrap_or_else(|p| p.into_inner()).insert(server.to_string());
        Ok(())
    }

    /// The template checked against every server, for the start-up log.
    pub async fn check_servers(&self) -> Vec<(String, Result<(), String>)> {
        let mut out = Vec::new();
        for s in &self.servers {
            out.push((s.to_string(), self.ensure_fits(s).await.map_err(|e| e.to_string())));
        }
        out
    }

    /// The server that holds `id` in its history or queue, if any; a server that cannot be
    /// asked makes the answer unknown (an error, so the step comes back).
    pub(super) async fn find(&self, id: &str) -> Result<Option<Url>, ProviderError> {
        for s in &self.servers {
            if self.history(s, id).await?.is_some() || self.queued(s, id).await? != Queued::Absent {
                return Ok(Some(s.clone()));
            }
        }
        Ok(None)
    }

    /// `POST /upload/image` of the first frame under `name`, overwriting; the name to bind
    /// is the one the server answers (trap 14), prefixed with its subfolder.
    pub(super) async fn upload(
        &self,
        server: &Url,
        bytes: Vec<u8>,
        mime: &str,
        name: &str,
    ) -> Result<String, ProviderError> {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(name.to_owned())
            .mime_str(mime)
            .map_err(|e| ProviderError::Refused(format!("the source image type: {e}")))?;
        let form = reqwest::multipart::Form::new().part("image", part).text("type", "input").text("overwrite", "true");
        let answer = self.read(self.request(Method::POST, server, "upload/image").multipart(form), MAX_API_BODY).await;
        let answer = answer.map_err(crate::provider::settings::never_sent)?;
        let uploaded = answer["name"].as_str().ok_or_else(|| ProviderError::Busy {
            message: "the image upload answered no name".into(),
            retry_after_ms: None,
        })?;
        Ok(match answer["subfolder"].as_str().filter(|s| !s.is_empty()) {
            Some(sub) => format!("{sub}/{uploaded}"),
            None => uploaded.to_owned(),
        })
    }
}
