//! What Veo on Vertex AI and on the Gemini API share (docs/upstreams.md §1, §2): the
//! `predictLongRunning` body (`instances[0]` with the prompt and a `bytesBase64Encoded`
//! image, never `inlineData`; `parameters` with `durationSeconds` as an integer), the
//! long-running operation, Google's error body, and the RAI-filter fields.
//!
//! The platform differences (which fields each accepts, where the video is in the
//! answer, auth) live in `vertex/` and `gemini/`.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use vidgate_domain::request::GuideRole;
use vidgate_domain::task::TaskErrorCode;

use super::http::{Answer, Call, status_error};
use super::{JobSpec, PollOutcome, ProviderError};

/// `{"bytesBase64Encoded", "mimeType"}`: the only image form both platforms accept.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VeoImage {
    pub bytes_base64_encoded: String,
    pub mime_type: String,
}

/// `instances[0].video` of an extension (Gemini API only): the Files-API URI of an earlier
/// Veo output; bytes are refused there (docs/upstreams.md §1.2).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VeoVideo {
    pub uri: String,
}

/// `instances[0].referenceImages[i]` (docs/upstreams.md §1.2, §2.2): `referenceType` `asset`
/// (the plan never sends `style` to Veo 3.1, which has none).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VeoReference {
    pub image: VeoImage,
    pub reference_type: &'static str,
}

/// `instances[0]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VeoInstance {
    pub prompt: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<VeoImage>,
    /// The last frame of an interpolation (with `image`), under `instances[0]` on both
    /// platforms, never under `parameters`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_frame: Option<VeoImage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reference_images: Vec<VeoReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<VeoVideo>,
}

/// `parameters`; the Vertex-only fields are `None` on the Gemini API (its SDK refuses them).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VeoParameters {
    pub aspect_ratio: &'static str,
    pub resolution: &'static str,
    pub duration_seconds: u32,
    pub sample_count: u32,
    pub person_generation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative_prompt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generate_audio: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_uri: Option<String>,
}

/// The `predictLongRunning` body.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PredictRequest {
    pub instances: Vec<VeoInstance>,
    pub parameters: VeoParameters,
}

/// The parts of a Veo body both platforms fill the same way: `None` for a size Veo has no
/// name for (the plan never routes one here).
pub fn base_request(job: &JobSpec, person_generation: &str) -> Option<PredictRequest> {
    let p = &job.task.params;
    let (resolution, aspect) = p.size.resolution_and_aspect()?;
    let encode = |bytes: &[u8], mime: &str| VeoImage {
        bytes_base64_encoded: base64::engine::general_purpose::STANDARD.encode(bytes),
        mime_type: mime.to_owned(),
    };
    let image = match (&job.source_image, &p.source_image) {
        (Some(bytes), Some(meta)) => Some(encode(bytes, &meta.mime)),
        _ => None,
    };
    let mut last_frame = None;
    let mut reference_images = Vec::new();
    for g in &job.guide_images {
        let image = encode(&g.image.bytes, &g.image.mime);
        match g.role {
            GuideRole::LastFrame => last_frame = Some(image),
            role => reference_images.push(VeoReference { image, reference_type: role.as_str() }),
        }
    }
    // Interpolation and reference images are documented with `allow_adult` only.
    let guided = image.is_some() || !job.guide_images.is_empty();
    // Documented values: text-to-video `allow_all`, image-to-video `allow_adult`.
    let person = match (person_generation, guided) {
        ("", false) => "allow_all".to_owned(),
        ("", true) => "allow_adult".to_owned(),
        (configured, _) => configured.to_owned(),
    };
    Some(PredictRequest {
        instances: vec![VeoInstance { prompt: p.prompt.clone(), image, last_frame, reference_images, video: None }],
        parameters: VeoParameters {
            aspect_ratio: aspect.as_str(),
            resolution: resolution.as_str(),
            duration_seconds: job.upstream_seconds(),
            sample_count: 1,
            person_generation: person,
            negative_prompt: p.negative_prompt.clone(),
            generate_audio: None,
            seed: None,
            storage_uri: None,
        },
    })
}

/// `google.rpc.Status`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct RpcStatus {
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub status: Option<String>,
}

/// `{"error": Status}`, Google's HTTP error body.
#[derive(Deserialize)]
struct ErrorBody {
    error: RpcStatus,
}

/// A long-running operation.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Operation {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub done: bool,
    #[serde(default)]
    pub error: Option<RpcStatus>,
    #[serde(default)]
    pub response: Option<serde_json::Value>,
}

/// The answer as an operation, or the HTTP error it is.
pub fn operation(answer: &Answer, call: Call) -> Result<Operation, ProviderError> {
    if !answer.status.is_success() {
        return Err(http_error(answer, call));
    }
    answer.json(call)
}

/// A non-2xx answer, with Google's error message when the body has one.
pub fn http_error(answer: &Answer, call: Call) -> ProviderError {
    let detail = serde_json::from_slice::<ErrorBody>(&answer.body)
        .map(|b| format!("{} {}", b.error.status.unwrap_or_default(), b.error.message))
        .unwrap_or_default();
    status_error(answer.status, answer.retry_after_ms(), &detail, call)
}

/// How a finished operation failed: an `error`, or results the RAI filter removed
/// (`raiMediaFilteredCount`; those are not billed, docs/upstreams.md §1.4).
pub fn finished_without_video(op: &Operation, videos: usize) -> Option<PollOutcome> {
    if let Some(e) = &op.error {
        // The upstream's own words go to the log; the client gets the code only.
        tracing::info!(operation = %op.name, code = e.code, message = %e.message, "upstream operation failed");
        let message = format!("the upstream failed the job (code {})", e.code);
        return Some(PollOutcome::Failed { code: TaskErrorCode::UpstreamError, message });
    }
    if videos > 0 {
        return None;
    }
    let response = op.response.as_ref().and_then(|r| r.get("generateVideoResponse").or(Some(r)));
    let filtered = response.and_then(|r| r.get("raiMediaFilteredCount")).and_then(|c| c.as_u64()).unwrap_or(0);
    Some(if filtered > 0 {
        PollOutcome::Failed {
            code: TaskErrorCode::ContentFiltered,
            message: "the upstream's safety filter blocked the video; nothing is billed".into(),
        }
    } else {
        PollOutcome::Failed {
            code: TaskErrorCode::UpstreamError,
            message: "the upstream finished without a video".into(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(json: &str) -> Operation {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_done_operation_without_samples_but_filtered_is_content_filtered() {
        let gemini = op(r#"{"name":"x","done":true,"response":{"generateVideoResponse":{
            "raiMediaFilteredCount":1,"raiMediaFilteredReasons":["You have not been charged"]}}}"#);
        let outcome = finished_without_video(&gemini, 0).unwrap();
        assert!(matches!(outcome, PollOutcome::Failed { code: TaskErrorCode::ContentFiltered, .. }), "{outcome:?}");
        let vertex = op(r#"{"name":"x","done":true,"response":{"raiMediaFilteredCount":1,"videos":[]}}"#);
        let outcome = finished_without_video(&vertex, 0).unwrap();
        assert!(matches!(outcome, PollOutcome::Failed { code: TaskErrorCode::ContentFiltered, .. }), "{outcome:?}");
    }

    #[test]
    fn an_operation_error_is_an_upstream_error_with_its_code() {
        let o = op(r#"{"name":"x","done":true,"error":{"code":13,"message":"internal"}}"#);
        assert_eq!(
            finished_without_video(&o, 0),
            Some(PollOutcome::Failed {
                code: TaskErrorCode::UpstreamError,
                message: "the upstream failed the job (code 13)".into()
            })
        );
        let ok = op(r#"{"name":"x","done":true,"response":{}}"#);
        assert_eq!(finished_without_video(&ok, 1), None);
    }
}
