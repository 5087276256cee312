//! Reading Vertex AI answers (UPSTREAMS.md §2.3): the operation that `predictLongRunning`
//! returns, and `fetchPredictOperation`'s, whose finished `response.videos[]` carries each
//! result inline (`bytesBase64Encoded`) or in the caller's bucket (`gcsUri`), and whose
//! RAI fields say the filter removed it.

use base64::Engine as _;
use serde::Deserialize;

use crate::provider::veo::{Operation, finished_without_video};
use crate::provider::{PollOutcome, ProviderError};

/// One entry of `response.videos[]`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VertexVideo {
    #[serde(default)]
    pub gcs_uri: Option<String>,
    #[serde(default)]
    pub bytes_base64_encoded: Option<String>,
    #[serde(default)]
    pub mime_type: Option<String>,
}

#[derive(Default, Deserialize)]
struct VideoResponse {
    #[serde(default)]
    videos: Vec<VertexVideo>,
}

/// Where a finished job's video is.
#[derive(Clone, Debug, PartialEq)]
pub enum VideoSource {
    Inline(Vec<u8>),
    Gcs(String),
}

/// The videos of an operation's response (none while it runs).
pub fn videos(op: &Operation) -> Vec<VertexVideo> {
    op.response
        .as_ref()
        .and_then(|r| serde_json::from_value::<VideoResponse>(r.clone()).ok())
        .map(|r| r.videos)
        .unwrap_or_default()
}

/// What a poll found. A running Vertex operation has no documented progress field.
pub fn outcome(op: &Operation) -> PollOutcome {
    if !op.done {
        return PollOutcome::Running { progress: 0, poll_at: 0 };
    }
    let usable = videos(op).iter().filter(|v| v.gcs_uri.is_some() || v.bytes_base64_encoded.is_some()).count();
    finished_without_video(op, usable).unwrap_or(PollOutcome::Succeeded)
}

/// The first video of a finished operation.
pub fn video_source(op: &Operation) -> Result<VideoSource, ProviderError> {
    let video =
        videos(op).into_iter().next().ok_or_else(|| ProviderError::Refused("the operation has no video".into()))?;
    if let Some(b64) = video.bytes_base64_encoded {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|e| ProviderError::Refused(format!("inline video is not base64: {e}")))?;
        return Ok(VideoSource::Inline(bytes));
    }
    video
        .gcs_uri
        .map(VideoSource::Gcs)
        .ok_or_else(|| ProviderError::Refused("the video has neither bytes nor a gcsUri".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vidgate_domain::task::TaskErrorCode;

    fn op(json: &str) -> Operation {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_documented_gcs_answer_succeeds_with_its_uri() {
        let o = op(r#"{"name":"projects/p/locations/l/publishers/google/models/m/operations/o","done":true,
            "response":{"@type":"type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse",
            "raiMediaFilteredCount":0,
            "videos":[{"gcsUri":"gs://BUCKET/TIMESTAMPED_FOLDER/sample_0.mp4","mimeType":"video/mp4"}]}}"#);
        assert_eq!(outcome(&o), PollOutcome::Succeeded);
        assert_eq!(video_source(&o).unwrap(), VideoSource::Gcs("gs://BUCKET/TIMESTAMPED_FOLDER/sample_0.mp4".into()));
    }

    #[test]
    fn inline_bytes_are_decoded() {
        let o = op(
            r#"{"name":"x","done":true,"response":{"videos":[{"bytesBase64Encoded":"AAECAw==","mimeType":"video/mp4"}]}}"#,
        );
        assert_eq!(outcome(&o), PollOutcome::Succeeded);
        assert_eq!(video_source(&o).unwrap(), VideoSource::Inline(vec![0, 1, 2, 3]));
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
