//! The shape of a submit body: which keys may appear where (flat fields, or the `params`
//! envelope of `POST /v1/tasks/submit`), and each field with the name the client gave it,
//! so that every error names the field as sent (`prompt` or `params.prompt`). It knows
//! no field's rules beyond its type; those live in [`super`].

use serde_json::{Map, Value};

use crate::error::{ErrorCode, RequestError};

/// The fields that describe the video; inside `params` in the envelope form.
const GENERATION_FIELDS: [&str; 12] = [
    "prompt",
    "duration_seconds",
    "size",
    "resolution",
    "aspect_ratio",
    "audio",
    "source_image",
    "image_init",
    "last_frame",
    "reference_images",
    "seed",
    "negative_prompt",
];

/// The fields about the task rather than the video; always at the top level.
const TASK_FIELDS: [&str; 5] = ["model", "out_task_id", "callback_url", "metadata", "stream"];

const MAX_ECHO_CHARS: usize = 64;

/// The body after the shape checks: where each field lives and what the client calls it.
pub(super) struct Body<'a> {
    top: &'a Map<String, Value>,
    /// The `params` object of the envelope form.
    params: Option<&'a Map<String, Value>>,
}

/// One field the client sent (never `null`), with its name as the client sent it.
pub(crate) struct Field<'a> {
    pub(crate) value: &'a Value,
    pub(crate) name: String,
}

impl<'a> Body<'a> {
    pub(super) fn from_json(body: &'a Value, allow_envelope: bool) -> Result<Self, RequestError> {
        let top = body
            .as_object()
            .ok_or_else(|| RequestError::new(ErrorCode::InvalidJson, "the request body must be a JSON object"))?;
        let params = if allow_envelope { present(top, "params") } else { None };
        let Some(params) = params else {
            let known = |k: &str| is_generation(k) || is_task(k) || (allow_envelope && k == "params");
            check_unknown(top, "", known)?;
            return Ok(Body { top, params: None });
        };
        check_unknown(top, "", |k| is_generation(k) || is_task(k) || k == "params")?;
        let params = params.as_object().ok_or_else(|| invalid("params", "params must be an object"))?;
        check_unknown(params, "params.", |k| is_generation(k) || k == "model")?;
        if let Some(mixed) = sorted_keys(top).find(|k| is_generation(k) && present(top, k).is_some()) {
            let message =
                format!("{mixed} cannot be sent next to params: put it inside params, or send every field flat");
            return Err(invalid(mixed, message));
        }
        if present(top, "model").is_some() && present(params, "model").is_some() {
            return Err(invalid(
                "params.model",
                "model is given both at the top level and inside params; send it once",
            ));
        }
        Ok(Body { top, params: Some(params) })
    }

    /// A generation field: inside `params` in the envelope form, else at the top level.
    pub(super) fn generation(&self, key: &str) -> Option<Field<'a>> {
        let map = self.params.unwrap_or(self.top);
        present(map, key).map(|value| Field { value, name: self.name(key) })
    }

    /// A task field, always at the top level.
    pub(super) fn task(&self, key: &str) -> Option<Field<'a>> {
        present(self.top, key).map(|value| Field { value, name: key.to_owned() })
    }

    /// `model`, at the top level or inside `params`.
    pub(super) fn model(&self) -> Option<Field<'a>> {
        let in_params = || present(self.params?, "model").map(|value| Field { value, name: "params.model".into() });
        self.task("model").or_else(in_params)
    }

    /// What the client calls `model`: `params.model` in the envelope form (where it may
    /// also be at the top level), else `model`.
    pub(super) fn model_name(&self) -> &'static str {
        if self.params.is_some() { "params.model" } else { "model" }
    }

    /// What the client calls a generation field: `prompt` or `params.prompt`.
    pub(super) fn name(&self, key: &str) -> String {
        if self.params.is_some() { format!("params.{key}") } else { key.to_owned() }
    }
}

impl<'a> Field<'a> {
    pub(crate) fn invalid(&self, message: impl Into<String>) -> RequestError {
        invalid(&self.name, message)
    }

    pub(crate) fn unsupported(&self, message: impl Into<String>) -> RequestError {
        RequestError::param(ErrorCode::UnsupportedValue, &self.name, message)
    }

    pub(crate) fn unreadable(&self, message: impl Into<String>) -> RequestError {
        RequestError::param(ErrorCode::SourceImageUnreadable, &self.name, message)
    }

    pub(crate) fn str(&self) -> Result<&'a str, RequestError> {
        self.value.as_str().ok_or_else(|| self.invalid(format!("{} must be a string", self.name)))
    }

    pub(super) fn bool(&self) -> Result<bool, RequestError> {
        self.value.as_bool().ok_or_else(|| self.invalid(format!("{} must be true or false", self.name)))
    }

    /// A non-negative whole number; `5.0` counts, `5.5` and `-5` do not.
    pub(crate) fn whole_number(&self, what: &str) -> Result<u64, RequestError> {
        let number = match self.value {
            Value::Number(n) => n.as_u64().or_else(|| n.as_f64().and_then(whole_f64)),
            _ => None,
        };
        number.ok_or_else(|| self.invalid(format!("{} must be {what}", self.name)))
    }
}

fn whole_f64(f: f64) -> Option<u64> {
    // `as` saturates: a whole number beyond u64 (say 1e20) stays a whole number, too big
    // for every menu and range, rather than becoming a type error.
    (f >= 0.0 && f.fract() == 0.0).then_some(f as u64)
}

/// The first key (in byte order) that `known` refuses, as `unknown_param` named `prefix + key`.
fn check_unknown(map: &Map<String, Value>, prefix: &str, known: impl Fn(&str) -> bool) -> Result<(), RequestError> {
    let Some(key) = sorted_keys(map).find(|k| !known(k)) else {
        return Ok(());
    };
    let name = format!("{prefix}{}", echo(key));
    let hint = if !prefix.is_empty() && is_task(key) { "; it belongs at the top level, next to params" } else { "" };
    Err(RequestError::param(ErrorCode::UnknownParam, &name, format!("unknown parameter {name}{hint}")))
}

pub(crate) fn sorted_keys(map: &Map<String, Value>) -> impl Iterator<Item = &str> {
    let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys.into_iter()
}

/// The value of a key, unless it is absent or `null`.
fn present<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

fn is_generation(key: &str) -> bool {
    GENERATION_FIELDS.contains(&key)
}

fn is_task(key: &str) -> bool {
    TASK_FIELDS.contains(&key)
}

/// Client input cut short enough to be echoed in an error.
pub fn echo(text: &str) -> String {
    match text.char_indices().nth(MAX_ECHO_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// An `invalid_param` error about `param`.
pub(crate) fn invalid(param: &str, message: impl Into<String>) -> RequestError {
    RequestError::param(ErrorCode::InvalidParam, param, message)
}
