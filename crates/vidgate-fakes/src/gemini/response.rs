//! The operation JSON `GET /v1beta/{name}` answers (docs/upstreams.md §1.4): `done: false` (or no
//! `done`) while running; then `response.generateVideoResponse.generatedSamples[].video.uri`
//! (a Files-API download URI), `generateVideoResponse` without samples but with
//! `raiMediaFilteredCount`/`raiMediaFilteredReasons` for a safety block, or
//! `error: {code, message}`.
//!
//! Owns the Gemini result shapes. It must not decide the outcome.

use serde_json::{Value, json};

use super::state::{GeminiState, Operation};
use crate::faults::Outcome;
use crate::media;

const RESPONSE_TYPE: &str = "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse";

/// The operation as of a poll; `Err` carries a rendering failure (a fake bug).
pub(crate) async fn operation(state: &GeminiState, op: &Operation, done: bool) -> Result<Value, String> {
    if !done {
        return Ok(if state.omit_done_while_running {
            json!({"name": op.name})
        } else {
            json!({"name": op.name, "done": false})
        });
    }
    let clip = op.generate.clip;
    let generate_video_response = match &op.outcome {
        Outcome::SafetyBlock => json!({
            "raiMediaFilteredCount": 1,
            "raiMediaFilteredReasons": [
                "Your current safety settings blocked this video. You have not been charged for this request."
            ],
        }),
        Outcome::Error { code, message } => {
            let code: i64 = code.parse().unwrap_or(13);
            return Ok(
                json!({"name": op.name, "done": true, "error": {"code": code, "message": message, "details": []}}),
            );
        }
        outcome => {
            let bytes = if *outcome == Outcome::CorruptMedia { media::corrupt() } else { media::clip(clip).await? };
            let id = state.file_for(&op.name, clip, bytes);
            json!({"generatedSamples": [{"video": {"uri": state.file_uri(&id)}}], "raiMediaFilteredCount": 0})
        }
    };
    Ok(json!({"name": op.name, "done": true,
              "response": {"@type": RESPONSE_TYPE, "generateVideoResponse": generate_video_response}}))
}
