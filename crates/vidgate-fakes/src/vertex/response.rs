//! The operation JSON `fetchPredictOperation` answers (docs/upstreams.md §2.3): `{name}` while
//! running; then `response.videos[]` with `bytesBase64Encoded` or `gcsUri` (when `storageUri`
//! was given, the objects are written to the fake GCS first), `raiMediaFilteredCount` and
//! `raiMediaFilteredReasons` for a safety block, or `error: {code, message, status}`.
//!
//! Owns the Vertex result shapes. It must not decide the outcome.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::{Value, json};

use super::state::{Operation, VertexState};
use crate::faults::Outcome;
use crate::media;

const RESPONSE_TYPE: &str = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse";

/// The operation as of a poll; `Err` carries a rendering failure (a fake bug, not the client's).
pub(crate) async fn operation(state: &VertexState, op: &Operation, done: bool) -> Result<Value, String> {
    if !done {
        return Ok(if state.done_false_while_running {
            json!({"name": op.name, "done": false})
        } else {
            json!({"name": op.name})
        });
    }
    let response = match &op.outcome {
        Outcome::SafetyBlock => safety_block(op.predict.samples),
        Outcome::Error { code, message } => return Ok(error(op, code, message)),
        Outcome::CorruptMedia => videos(state, op, media::corrupt()),
        _ => videos(state, op, media::clip(op.predict.clip).await?),
    };
    Ok(json!({"name": op.name, "done": true, "response": response}))
}

fn safety_block(samples: u32) -> Value {
    json!({
        "@type": RESPONSE_TYPE,
        "raiMediaFilteredCount": samples,
        "raiMediaFilteredReasons": [format!(
            "Veo could not generate {samples} videos because the input prompt violates Vertex AI's usage guidelines. \
             Support codes: 42237218"
        )],
    })
}

fn error(op: &Operation, code: &str, message: &str) -> Value {
    let code: i64 = code.parse().unwrap_or(13);
    json!({"name": op.name, "done": true, "error": {"code": code, "message": message, "status": rpc_status(code)}})
}

/// The google.rpc.Code name of a code number.
pub(crate) fn rpc_status(code: i64) -> &'static str {
    match code {
        1 => "CANCELLED",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        14 => "UNAVAILABLE",
        16 => "UNAUTHENTICATED",
        _ => "INTERNAL",
    }
}

fn videos(state: &VertexState, op: &Operation, bytes: Bytes) -> Value {
    let op_id = op.name.rsplit('/').next().unwrap_or_default();
    let videos: Vec<Value> = (0..op.predict.samples)
        .map(|i| match &op.predict.storage_uri {
            Some(prefix) => {
                let uri = format!("{prefix}/{op_id}/sample_{i}.mp4");
                state.put_object(&uri, bytes.clone());
                json!({"gcsUri": uri, "mimeType": "video/mp4"})
            }
            None => json!({"bytesBase64Encoded": STANDARD.encode(&bytes), "mimeType": "video/mp4"}),
        })
        .collect();
    json!({"@type": RESPONSE_TYPE, "raiMediaFilteredCount": 0, "videos": videos})
}
