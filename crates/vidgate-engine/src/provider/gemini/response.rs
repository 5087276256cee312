//! Reading Gemini API answers (docs/upstreams.md §1.4): a finished operation's video is at
//! `response.generateVideoResponse.generatedSamples[i].video.uri`; `done` without samples
//! and with `raiMediaFilteredCount` is a safety block (a failure, never billed).

use crate::provider::PollOutcome;
use crate::provider::veo::{Operation, finished_without_video};

/// The result URIs of a finished operation.
pub fn video_uris(op: &Operation) -> Vec<String> {
    let samples = op
        .response
        .as_ref()
        .and_then(|r| r.pointer("/generateVideoResponse/generatedSamples"))
        .and_then(|s| s.as_array());
    samples
        .map(|s| s.iter().filter_map(|x| x.pointer("/video/uri")?.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// What a poll found; a running operation has no documented progress field.
pub fn outcome(op: &Operation) -> PollOutcome {
    if !op.done {
        return PollOutcome::Running { progress: 0, poll_at: 0 };
    }
    finished_without_video(op, video_uris(op).len()).unwrap_or(PollOutcome::Succeeded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vidgate_domain::task::TaskErrorCode;

    fn op(json: &str) -> Operation {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn the_documented_success_gives_the_sample_uri() {
        let o = op(r#"{"name":"models/.../operations/abc","done":true,
            "response":{"@type":"...","generateVideoResponse":{
            "generatedSamples":[{"video":{"uri":"https://generativelanguage.googleapis.com/v1beta/files/f1:download?alt=media"}}],
            "raiMediaFilteredCount":0}}}"#);
        assert_eq!(outcome(&o), PollOutcome::Succeeded);
        assert_eq!(video_uris(&o), ["https://generativelanguage.googleapis.com/v1beta/files/f1:download?alt=media"]);
    }

    #[test]
    fn done_with_empty_samples_and_a_filter_count_is_content_filtered() {
        let o = op(r#"{"name":"x","done":true,"response":{"generateVideoResponse":{"generatedSamples":[],
            "raiMediaFilteredCount":1,"raiMediaFilteredReasons":["...You have not been charged..."]}}}"#);
        assert!(matches!(outcome(&o), PollOutcome::Failed { code: TaskErrorCode::ContentFiltered, .. }));
    }

    #[test]
    fn an_error_fails_and_not_done_runs() {
        let o = op(r#"{"name":"x","done":true,"error":{"code":3,"message":"bad"}}"#);
        assert!(matches!(outcome(&o), PollOutcome::Failed { code: TaskErrorCode::UpstreamError, .. }));
        assert_eq!(outcome(&op(r#"{"name":"x","done":false}"#)), PollOutcome::Running { progress: 0, poll_at: 0 });
    }
}
