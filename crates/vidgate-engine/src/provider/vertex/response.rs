//! Reading Vertex AI answers (docs/upstreams.md §2.3): the operation that `predictLongRunning`
//! returns, and `fetchPredictOperation`'s, whose finished `response.videos[]` carries each
//! result inline (`bytesBase64Encoded`) or in the caller's bucket (`gcsUri`), and whose
//! RAI fields say the filter removed it.

use std::borrow::Cow;

use serde::Deserialize;

use crate::provider::veo::{Operation, RpcStatus, finished_without_video};
use crate::provider::{PollOutcome, ProviderError};

/// A `fetchPredictOperation` answer, read in place: an inline result stays a borrowed
/// slice of the answer (tens of MB of base64 are not copied, only decoded into the file).
#[derive(Debug, Default, Deserialize)]
pub struct OperationView<'a> {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub done: bool,
    #[serde(default)]
    pub error: Option<RpcStatus>,
    #[serde(default, borrow)]
    pub response: Option<ResponseView<'a>>,
}

/// `response` of a finished operation.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseView<'a> {
    #[serde(default, borrow)]
    pub videos: Vec<VideoView<'a>>,
    #[serde(default)]
    pub rai_media_filtered_count: u64,
}

/// One entry of `response.videos[]`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoView<'a> {
    #[serde(default)]
    pub gcs_uri: Option<String>,
    #[serde(default, borrow)]
    pub bytes_base64_encoded: Option<Base64<'a>>,
    #[serde(default)]
    pub mime_type: Option<String>,
}

/// Base64 text borrowed from the answer (owned only when the JSON escaped a character).
/// A newtype because serde borrows a `Cow` only as a direct field, not inside an `Option`.
#[derive(Debug, Deserialize)]
pub struct Base64<'a>(#[serde(borrow)] pub Cow<'a, str>);

/// Where a finished job's video is.
#[derive(Clone, Debug, PartialEq)]
pub enum VideoSource<'a> {
    /// Base64, as it is in the answer.
    Inline(&'a str),
    Gcs(&'a str),
}

/// A 2xx operation answer's body, read in place.
pub fn parse(body: &[u8]) -> Result<OperationView<'_>, ProviderError> {
    serde_json::from_slice(body)
        .map_err(|e| ProviderError::Busy { message: format!("unreadable answer: {e}"), retry_after_ms: None })
}

/// What a poll found. A running Vertex operation has no documented progress field.
pub fn outcome(op: &OperationView<'_>) -> PollOutcome {
    if !op.done {
        return PollOutcome::Running { progress: 0, poll_at: 0 };
    }
    let response = op.response.as_ref();
    let usable = response
        .map(|r| r.videos.iter().filter(|v| v.gcs_uri.is_some() || v.bytes_base64_encoded.is_some()).count())
        .unwrap_or(0);
    // The shared reading of errors and RAI blocks needs only these fields.
    let light = Operation {
        name: op.name.clone(),
        done: true,
        error: op.error.clone(),
        response: response.map(|r| serde_json::json!({"raiMediaFilteredCount": r.rai_media_filtered_count})),
    };
    finished_without_video(&light, usable).unwrap_or(PollOutcome::Succeeded)
}

/// The first video of a finished operation.
pub fn video_source<'v>(op: &'v OperationView<'_>) -> Result<VideoSource<'v>, ProviderError> {
    let video = op
        .response
        .as_ref()
        .and_then(|r| r.videos.first())
        .ok_or_else(|| ProviderError::Refused("the operation has no video".into()))?;
    if let Some(b64) = &video.bytes_base64_encoded {
        return Ok(VideoSource::Inline(&b64.0));
    }
    video
        .gcs_uri
        .as_deref()
        .map(VideoSource::Gcs)
        .ok_or_else(|| ProviderError::Refused("the video has neither bytes nor a gcsUri".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vidgate_domain::task::TaskErrorCode;

    fn op(json: &str) -> OperationView<'_> {
        parse(json.as_bytes()).unwrap()
    }

    #[test]
    fn the_documented_gcs_answer_succeeds_with_its_uri() {
        let o = op(r#"{"name":"projects/p/locations/l/publishers/google/models/m/operations/o","done":true,
            "response":{"@type":"type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse",
            "raiMediaFilteredCount":0,
            "videos":[{"gcsUri":"gs://BUCKET/TIMESTAMPED_FOLDER/sample_0.mp4","mimeType":"video/mp4"}]}}"#);
        assert_eq!(outcome(&o), PollOutcome::Succeeded);
        assert_eq!(video_source(&o).unwrap(), VideoSource::Gcs("gs://BUCKET/TIMESTAMPED_FOLDER/sample_0.mp4"));
    }

    #[test]
    fn inline_bytes_are_read_in_place() {
        let o = op(
            r#"{"name":"x","done":true,"response":{"videos":[{"bytesBase64Encoded":"AAECAw==","mimeType":"video/mp4"}]}}"#,
        );
        assert_eq!(outcome(&o), PollOutcome::Succeeded);
        assert_eq!(video_source(&o).unwrap(), VideoSource::Inline("AAECAw=="));
        let Some(Base64(Cow::Borrowed(_))) = &o.response.as_ref().unwrap().videos[0].bytes_base64_encoded else {
            panic!("the base64 is borrowed from the answer, not copied");
        };
    }

    #[test]
    fn a_filtered_result_is_content_filtered_and_a_running_one_runs() {
        let o = op(r#"{"name":"x","done":true,"response":{"raiMediaFilteredCount":1,
            "raiMediaFilteredReasons":["Veo could not generate 1 videos ... Support codes: 42237218"]}}"#);
        assert!(matches!(outcome(&o), PollOutcome::Failed { code: TaskErrorCode::ContentFiltered, .. }));
        assert_eq!(outcome(&op(r#"{"name":"x"}"#)), PollOutcome::Running { progress: 0, poll_at: 0 });
        assert_eq!(outcome(&op(r#"{"name":"x","done":false}"#)), PollOutcome::Running { progress: 0, poll_at: 0 });
    }
}
