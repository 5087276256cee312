//! The bad-value cases of [`super::parse_submit`] as data, so the HTTP tests of other
//! crates can replay them end to end and check the same code and `param`. It holds test
//! data only; nothing in the product reads it.

use serde_json::{Value, json};

use crate::error::ErrorCode;

/// Bodies that must be refused, with the error code and `param` they must get, when sent
/// to `POST /v1/tasks/submit` (envelope allowed) with the shipped catalog, the default
/// limits (https only, 10 MiB images) and no `Idempotency-Key` header. The status is
/// `code.status()`. Every body is refused for exactly the reason listed, so a case that
/// passes for another reason is a bug.
#[doc(hidden)]
pub fn validation_cases() -> Vec<(Value, ErrorCode, &'static str)> {
    use ErrorCode::{
        InvalidParam as Invalid, ModelNotFound, SourceImageUnreadable as Unreadable, UnknownParam as Unknown,
        UnsupportedValue as Unsupported,
    };
    let png = "data:image/png;base64,iVBORw0KGgo=";
    let flat = |extra: Value| with(json!({"model": "veo3.1", "prompt": "rain"}), extra);
    let fast = |extra: Value| with(json!({"model": "veo3.1-fast", "prompt": "rain"}), extra);
    let inner = |extra: Value| json!({"model": "veo3.1", "params": with(json!({"prompt": "rain"}), extra)});
    vec![
        (flat(json!({"n": 1})), Unknown, "n"),
        (flat(json!({"zz": 1, "aa": 1})), Unknown, "aa"),
        (json!({"prompt": "rain"}), Invalid, "model"),
        (json!({"model": null, "prompt": "rain"}), Invalid, "model"),
        (json!({"model": 1, "prompt": "rain"}), Invalid, "model"),
        (json!({"model": "veo9", "prompt": "rain"}), ModelNotFound, "model"),
        (json!({"model": "veo3.1"}), Invalid, "prompt"),
        (flat(json!({"prompt": 1})), Invalid, "prompt"),
        (flat(json!({"prompt": "   "})), Invalid, "prompt"),
        (flat(json!({"prompt": "a".repeat(4001)})), Invalid, "prompt"),
        (flat(json!({"duration_seconds": 8})), Unsupported, "duration_seconds"),
        (flat(json!({"duration_seconds": 5.5})), Invalid, "duration_seconds"),
        (flat(json!({"duration_seconds": -5})), Invalid, "duration_seconds"),
        (flat(json!({"duration_seconds": "5"})), Invalid, "duration_seconds"),
        (flat(json!({"size": "1280X720"})), Invalid, "size"),
        (fast(json!({"size": "1920x1080"})), Unsupported, "size"),
        (flat(json!({"resolution": "8k"})), Invalid, "resolution"),
        (flat(json!({"aspect_ratio": "1:1"})), Invalid, "aspect_ratio"),
        (flat(json!({"size": "1280x720", "resolution": "1080p"})), Invalid, "size"),
        (fast(json!({"resolution": "1080p", "aspect_ratio": "16:9"})), Unsupported, "resolution"),
        (fast(json!({"audio": true})), Unsupported, "audio"),
        (flat(json!({"audio": "yes"})), Invalid, "audio"),
        (flat(json!({"source_image": png, "image_init": png})), Invalid, "image_init"),
        (flat(json!({"source_image": "http://img.example.com/a.png"})), Invalid, "source_image"),
        (flat(json!({"source_image": "https://u:p@img.example.com/a.png"})), Invalid, "source_image"),
        (flat(json!({"image_init": "data:image/gif;base64,R0lGODlh"})), Invalid, "image_init"),
        (flat(json!({"source_image": "data:image/png;base64,!!!"})), Unreadable, "source_image"),
        (flat(json!({"source_image": "data:image/jpeg;base64,iVBORw0KGgo="})), Unreadable, "source_image"),
        (flat(json!({"seed": 4294967296u64})), Invalid, "seed"),
        (flat(json!({"seed": -1})), Invalid, "seed"),
        (flat(json!({"negative_prompt": 1})), Invalid, "negative_prompt"),
        (flat(json!({"negative_prompt": "a".repeat(4001)})), Invalid, "negative_prompt"),
        (flat(json!({"out_task_id": "has space"})), Invalid, "out_task_id"),
        (flat(json!({"out_task_id": "a".repeat(129)})), Invalid, "out_task_id"),
        (flat(json!({"callback_url": "http://hooks.example.com/"})), Invalid, "callback_url"),
        (flat(json!({"callback_url": format!("https://h.example.com/{}", "a".repeat(2048))})), Invalid, "callback_url"),
        (flat(json!({"metadata": "k=v"})), Invalid, "metadata"),
        (flat(json!({"metadata": {"": "v"}})), Invalid, "metadata"),
        (flat(json!({"metadata": {"k": 1}})), Invalid, "metadata.k"),
        (flat(json!({"stream": "yes"})), Invalid, "stream"),
        (json!({"model": "veo3.1", "params": "x"}), Invalid, "params"),
        (with(inner(json!({})), json!({"prompt": "rain"})), Invalid, "prompt"),
        (inner(json!({"n": 1})), Unknown, "params.n"),
        (inner(json!({"metadata": {}})), Unknown, "params.metadata"),
        (inner(json!({"model": "veo3.1"})), Invalid, "params.model"),
        (json!({"params": {"prompt": "rain"}}), Invalid, "params.model"),
        (json!({"model": null, "params": {"prompt": "rain"}}), Invalid, "params.model"),
        (json!({"model": "veo3.1", "params": {}}), Invalid, "params.prompt"),
        (inner(json!({"prompt": ""})), Invalid, "params.prompt"),
        (inner(json!({"duration_seconds": 7})), Unsupported, "params.duration_seconds"),
        (inner(json!({"size": "big"})), Invalid, "params.size"),
    ]
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(base), Value::Object(extra)) = (base.as_object_mut(), extra) {
        base.extend(extra);
    }
    base
}
