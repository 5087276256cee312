//! Turns the JSON body of a submit (`POST /v1/videos/generations`, `POST /v1/tasks/submit`)
//! into a [`SubmitRequest`] whose every value is on the model's menu, or into the one
//! [`RequestError`] the client should see, with the code and `param` of docs/api.md §4 and §10.
//! It owns the field rules, the `params` envelope and the names errors give to fields. It
//! must not do I/O: a URL `source_image` is only checked for shape here; fetching it
//! (through the SSRF guard) and checking a callback target's address belong to the caller.
//!
//! Layout: `parse/body.rs` checks the keys and the envelope and names each field as sent;
//! `parse/source_image.rs` reads the image input; this file holds the other field rules. The
//! refusal cases are also kept as data in [`super::parse_cases`] for the HTTP tests.
//!
//! Decisions where the contract is silent:
//! - JSON `null` for an optional field means the field was omitted, everywhere (also
//!   `params: null`, and a generation field set to `null` next to `params`). `null` for
//!   `model` or `prompt` is the same as leaving it out: `invalid_param`, "is required".
//!   In the envelope form a missing `model` is named `params.model` (it may be given at
//!   either level), like every other field inside it.
//!   An unknown key is unknown whatever its value, `null` included.
//! - Checks run in this order and the first failure wins: the body is an object; unknown
//!   top-level keys; `params` is an object; unknown keys inside `params`; a generation
//!   field at the top level next to `params`; `model` both at the top level and inside
//!   `params`; then the fields in the order of the docs/api.md §4 table (model, prompt,
//!   duration_seconds, size/resolution/aspect_ratio, audio, source_image, last_frame,
//!   reference_images, seed,
//!   negative_prompt, out_task_id and the `Idempotency-Key` header, callback_url,
//!   metadata, stream). Where several keys are at fault, the first in byte order is named.
//! - `duration_seconds` and `seed` are integers; a JSON number with a zero fractional
//!   part (`5.0`) counts as one. A negative, fractional or non-numeric value is
//!   `invalid_param`; a whole number the model does not offer (`0`, `7`) is
//!   `unsupported_value`.
//! - `resolution` without `aspect_ratio` (or the reverse) takes the missing half from the
//!   model's default size; if that size has no resolution name (say 160x90), the given
//!   field is `invalid_param`, asking for both. `size` together with the pair is fine when
//!   they name the same size and `invalid_param` on `size` when they do not. A size off
//!   the menu is `unsupported_value` naming the field the client used: `size`, else
//!   `resolution`, else `aspect_ratio`.
//! - `source_image` is checked in three steps, so the cheapest refusal wins: its shape
//!   (`invalid_param`), then whether the model takes images (`unsupported_value`), then
//!   the data URI's bytes (`source_image_unreadable`, 422). A data URI is recognised by
//!   its `data:` scheme (any case); its MIME type is read by [`super::ImageMime::parse`], so
//!   `image/jpg` and upper case are accepted; exactly one `;base64` parameter is allowed;
//!   the base64 is the standard alphabet, padded or not, without whitespace. A URL must not
//!   carry a user name or password (it would be stored and shown with the task).
//! - `callback_url` refuses a user name or password for the same reason; webhooks are
//!   authenticated by their signature (§8). Its 2048-character limit counts the string as
//!   sent.
//! - `negative_prompt` that is empty (or only whitespace) is the same as omitted, so it
//!   does not change the idempotency fingerprint. `prompt` is kept exactly as sent.
//! - `metadata`: the object-level checks (type, at most 16 pairs, every key 1–64
//!   characters) come before the value checks (`metadata.<key>`); a `null` value is not a
//!   string. Lengths are counted in Unicode characters.
//! - Inside `params`, `out_task_id`, `callback_url`, `metadata` and `stream` are unknown
//!   (`params.<key>`); they belong at the top level, and the message says so.
//! - The `Idempotency-Key` header is taken as given (the HTTP layer has already stripped
//!   surrounding whitespace); it is checked after the body's `out_task_id`.
//! - Echoed client input (a model name, an unknown key, in `param` too) is cut to 64
//!   characters followed by `…`.

pub(crate) mod body;
pub(crate) mod guides;
pub(crate) mod source_image;

use std::collections::BTreeMap;

use serde_json::Value;
use url::Url;

use self::body::{Body, Field, echo, invalid, sorted_keys};
use self::source_image::parse_source_image;
use super::SubmitRequest;
use crate::catalog::{AspectRatio, Catalog, ModelSpec, Resolution, Size};
use crate::error::{ErrorCode, RequestError};

/// Limits and switches that come from config.
#[derive(Clone, Debug)]
pub struct SubmitLimits {
    /// The largest decoded source image, in bytes (10 MiB by default).
    pub max_image_bytes: usize,
    /// Accept `http://` source image URLs (tests and private networks).
    pub allow_http_source_urls: bool,
    /// Accept `http://` callback URLs (tests and private networks).
    pub allow_http_callback_urls: bool,
}

impl Default for SubmitLimits {
    fn default() -> Self {
        SubmitLimits {
            max_image_bytes: 10 * 1024 * 1024,
            allow_http_source_urls: false,
            allow_http_callback_urls: false,
        }
    }
}

/// What the endpoint allows.
#[derive(Clone, Debug)]
pub struct ParseOptions<'a> {
    /// True on `POST /v1/tasks/submit`, false on `POST /v1/videos/generations`.
    pub allow_params_envelope: bool,
    /// The raw `Idempotency-Key` header value, if any.
    pub idempotency_header: Option<&'a str>,
    pub limits: &'a SubmitLimits,
}

const MAX_METADATA_PAIRS: usize = 16;
const MAX_METADATA_KEY_CHARS: usize = 64;
const MAX_METADATA_VALUE_CHARS: usize = 512;
const MAX_CALLBACK_URL_CHARS: usize = 2048;
const MAX_TASK_KEY_LEN: usize = 128;
const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";
const TASK_KEY_RULE: &str = "1 to 128 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'";

/// Parses a submit body. `catalog` resolves the model; `opts` says what the endpoint allows.
pub fn parse_submit(body: &Value, catalog: &Catalog, opts: &ParseOptions) -> Result<SubmitRequest, RequestError> {
    let body = Body::from_json(body, opts.allow_params_envelope)?;
    let model = parse_model(&body, catalog)?;
    let prompt = parse_prompt(&body, model)?;
    let duration_seconds = parse_duration(&body, model)?;
    let size = parse_size(&body, model)?;
    let audio = parse_audio(&body, model)?;
    let source_image = parse_source_image(&body, model, opts.limits)?;
    let guides = guides::parse_guides(&body, model, opts.limits, source_image.is_some())?;
    let seed = parse_seed(&body)?;
    let negative_prompt = parse_negative_prompt(&body, model)?;
    let out_task_id = parse_out_task_id(&body, opts.idempotency_header)?;
    let callback_url = parse_callback_url(&body, opts.limits)?;
    let metadata = parse_metadata(&body)?;
    parse_stream(&body)?;
    Ok(SubmitRequest {
        model: model.id.clone(),
        prompt,
        duration_seconds,
        size,
        audio,
        source_image,
        seed,
        negative_prompt,
        guides,
        out_task_id,
        callback_url,
        metadata,
    })
}

fn parse_model<'c>(body: &Body, catalog: &'c Catalog) -> Result<&'c ModelSpec, RequestError> {
    let field = body.model().ok_or_else(|| {
        let name = body.model_name();
        invalid(name, format!("{name} is required"))
    })?;
    let name = field.str()?;
    catalog.resolve(name).ok_or_else(|| {
        let message = format!("model {:?} does not exist; GET /v1/models lists the models", echo(name));
        RequestError::param(ErrorCode::ModelNotFound, &field.name, message)
    })
}

fn parse_prompt(body: &Body, model: &ModelSpec) -> Result<String, RequestError> {
    let name = body.name("prompt");
    let field = body.generation("prompt").ok_or_else(|| invalid(&name, format!("{name} is required")))?;
    let prompt = field.str()?;
    if prompt.trim().is_empty() {
        return Err(field.invalid(format!("{name} must not be empty")));
    }
    check_prompt_length(&field, prompt, model)?;
    Ok(prompt.to_owned())
}

pub(crate) fn check_prompt_length(field: &Field, text: &str, model: &ModelSpec) -> Result<(), RequestError> {
    let chars = text.chars().count();
    let max = model.max_prompt_chars as usize;
    if chars > max {
        let message = format!("{} is {chars} characters; model {} takes at most {max}", field.name, model.id);
        return Err(field.invalid(message));
    }
    Ok(())
}

fn parse_duration(body: &Body, model: &ModelSpec) -> Result<u32, RequestError> {
    let Some(field) = body.generation("duration_seconds") else {
        return Ok(model.default_duration);
    };
    let seconds = field.whole_number("a whole number of seconds")?;
    match u32::try_from(seconds) {
        Ok(s) if model.offers_duration(s) => Ok(s),
        _ => {
            let menu = join(&model.durations);
            Err(field.unsupported(format!("{} must be one of {menu} for model {}", field.name, model.id)))
        }
    }
}

fn parse_size(body: &Body, model: &ModelSpec) -> Result<Size, RequestError> {
    let size = body.generation("size").map(|f| parse_size_text(&f).map(|s| (s, f))).transpose()?;
    let resolution = body.generation("resolution").map(|f| parse_resolution(&f).map(|r| (r, f))).transpose()?;
    let aspect = body.generation("aspect_ratio").map(|f| parse_aspect(&f).map(|a| (a, f))).transpose()?;
    let from_pair = size_from_pair(body, model, resolution, aspect)?;
    let (chosen, field) = match (size, from_pair) {
        (Some((s, f)), Some((p, _))) if s != p => {
            let pair = ["resolution", "aspect_ratio"].map(|k| body.generation(k).map(|g| g.name));
            let pair = pair.into_iter().flatten().collect::<Vec<_>>().join(" and ");
            return Err(f.invalid(format!("{} {s} contradicts {pair} ({p})", f.name)));
        }
        (Some(given), _) | (None, Some(given)) => given,
        (None, None) => return Ok(model.default_size),
    };
    if !model.offers_size(chosen) {
        let (menu, id) = (join(&model.sizes), &model.id);
        let message = if field.name == body.name("size") {
            format!("size {chosen} is not offered by model {id}; it offers {menu}")
        } else {
            format!("{} makes the size {chosen}, which model {id} does not offer; it offers {menu}", field.name)
        };
        return Err(field.unsupported(message));
    }
    Ok(chosen)
}

pub(crate) fn parse_size_text(field: &Field) -> Result<Size, RequestError> {
    let bad = || field.invalid(format!("{} must be WIDTHxHEIGHT, such as 1280x720", field.name));
    field.value.as_str().ok_or_else(bad)?.parse().map_err(|()| bad())
}

fn parse_resolution(field: &Field) -> Result<Resolution, RequestError> {
    let bad = || field.invalid(format!("{} must be \"720p\", \"1080p\" or \"4k\"", field.name));
    field.value.as_str().and_then(Resolution::parse).ok_or_else(bad)
}

fn parse_aspect(field: &Field) -> Result<AspectRatio, RequestError> {
    let bad = || field.invalid(format!("{} must be \"16:9\" or \"9:16\"", field.name));
    field.value.as_str().and_then(AspectRatio::parse).ok_or_else(bad)
}

/// The size named by `resolution` and `aspect_ratio`, a missing half taken from the
/// model's default size, with the field to name if it is off the menu.
fn size_from_pair<'a>(
    body: &Body,
    model: &ModelSpec,
    resolution: Option<(Resolution, Field<'a>)>,
    aspect: Option<(AspectRatio, Field<'a>)>,
) -> Result<Option<(Size, Field<'a>)>, RequestError> {
    let default = model.default_size.resolution_and_aspect();
    let needs_both = |given: &Field, other: &str| {
        let message = format!(
            "{} needs {} too: the default size of model {} ({}) has no resolution or aspect ratio",
            given.name,
            body.name(other),
            model.id,
            model.default_size
        );
        given.invalid(message)
    };
    Ok(match (resolution, aspect) {
        (None, None) => None,
        (Some((r, field)), Some((a, _))) => Some((Size::from_resolution(r, a), field)),
        (Some((r, field)), None) => match default {
            Some((_, a)) => Some((Size::from_resolution(r, a), field)),
            None => return Err(needs_both(&field, "aspect_ratio")),
        },
        (None, Some((a, field))) => match default {
            Some((r, _)) => Some((Size::from_resolution(r, a), field)),
            None => return Err(needs_both(&field, "resolution")),
        },
    })
}

fn parse_audio(body: &Body, model: &ModelSpec) -> Result<bool, RequestError> {
    let Some(field) = body.generation("audio") else {
        return Ok(false);
    };
    let audio = field.bool()?;
    if audio && !model.native_audio {
        return Err(field.unsupported(format!("model {} has no native audio; send audio: false or omit it", model.id)));
    }
    Ok(audio)
}

/// An absolute `https://` URL (or `http://` when allowed) without a user name or password.
fn parse_url(field: &Field, text: &str, allow_http: bool) -> Result<Url, RequestError> {
    let name = &field.name;
    let expected = if allow_http { "an https:// or http:// URL" } else { "an https:// URL" };
    let url = Url::parse(text).map_err(|_| field.invalid(format!("{name} must be {expected}")))?;
    let scheme_ok = url.scheme() == "https" || (allow_http && url.scheme() == "http");
    if !scheme_ok {
        return Err(field.invalid(format!("{name} must be {expected}")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(field.invalid(format!("{name} must not contain a user name or password")));
    }
    Ok(url)
}

fn parse_seed(body: &Body) -> Result<Option<u32>, RequestError> {
    let Some(field) = body.generation("seed") else {
        return Ok(None);
    };
    let what = "an integer from 0 to 4294967295";
    let seed = field.whole_number(what)?;
    u32::try_from(seed).map(Some).map_err(|_| field.invalid(format!("{} must be {what}", field.name)))
}

fn parse_negative_prompt(body: &Body, model: &ModelSpec) -> Result<Option<String>, RequestError> {
    let Some(field) = body.generation("negative_prompt") else {
        return Ok(None);
    };
    let text = field.str()?;
    check_prompt_length(&field, text, model)?;
    Ok((!text.trim().is_empty()).then(|| text.to_owned()))
}

fn parse_out_task_id(body: &Body, header: Option<&str>) -> Result<Option<String>, RequestError> {
    let from_body = match body.task("out_task_id") {
        Some(field) => {
            let key = field.str()?;
            check_out_task_id(key)?;
            Some(key)
        }
        None => None,
    };
    check_idempotency_header(header)?;
    match (from_body, header) {
        (Some(b), Some(h)) if b != h => {
            let message =
                format!("the {IDEMPOTENCY_HEADER} header and out_task_id differ; send one, or the same value in both");
            Err(invalid(IDEMPOTENCY_HEADER, message))
        }
        (key, other) => Ok(key.or(other).map(str::to_owned)),
    }
}

/// An `out_task_id` as a client sent it (in a submit, or to find a task by it): 400
/// `invalid_param` naming `out_task_id` unless it is 1 to 128 characters of
/// `[A-Za-z0-9._:-]`.
pub fn check_out_task_id(key: &str) -> Result<(), RequestError> {
    if is_task_key(key) { Ok(()) } else { Err(invalid("out_task_id", format!("out_task_id must be {TASK_KEY_RULE}"))) }
}

/// The `Idempotency-Key` header, held to the `out_task_id` rule.
pub(crate) fn check_idempotency_header(header: Option<&str>) -> Result<Option<&str>, RequestError> {
    match header {
        Some(h) if !is_task_key(h) => {
            Err(invalid(IDEMPOTENCY_HEADER, format!("the {IDEMPOTENCY_HEADER} header must be {TASK_KEY_RULE}")))
        }
        other => Ok(other),
    }
}

fn is_task_key(key: &str) -> bool {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-');
    (1..=MAX_TASK_KEY_LEN).contains(&key.len()) && key.bytes().all(allowed)
}

fn parse_callback_url(body: &Body, limits: &SubmitLimits) -> Result<Option<Url>, RequestError> {
    let Some(field) = body.task("callback_url") else {
        return Ok(None);
    };
    let text = field.str()?;
    if text.chars().count() > MAX_CALLBACK_URL_CHARS {
        return Err(field.invalid(format!("callback_url must be at most {MAX_CALLBACK_URL_CHARS} characters")));
    }
    parse_url(&field, text, limits.allow_http_callback_urls).map(Some)
}

fn parse_metadata(body: &Body) -> Result<BTreeMap<String, String>, RequestError> {
    let Some(field) = body.task("metadata") else {
        return Ok(BTreeMap::new());
    };
    let pairs = field.value.as_object().ok_or_else(|| field.invalid("metadata must be an object of string values"))?;
    if pairs.len() > MAX_METADATA_PAIRS {
        let message = format!("metadata has {} pairs; at most {MAX_METADATA_PAIRS} are allowed", pairs.len());
        return Err(field.invalid(message));
    }
    let key_ok = |k: &str| (1..=MAX_METADATA_KEY_CHARS).contains(&k.chars().count());
    if let Some(bad) = sorted_keys(pairs).find(|k| !key_ok(k)) {
        let message = format!("metadata keys must be 1 to {MAX_METADATA_KEY_CHARS} characters, not {:?}", echo(bad));
        return Err(field.invalid(message));
    }
    let mut metadata = BTreeMap::new();
    for key in sorted_keys(pairs) {
        let name = format!("metadata.{key}");
        let value = pairs[key].as_str().ok_or_else(|| invalid(&name, format!("{name} must be a string")))?;
        if value.chars().count() > MAX_METADATA_VALUE_CHARS {
            return Err(invalid(&name, format!("{name} must be at most {MAX_METADATA_VALUE_CHARS} characters")));
        }
        metadata.insert(key.to_owned(), value.to_owned());
    }
    Ok(metadata)
}

/// `stream` is reserved by the hosted system: accepted when boolean, then ignored.
fn parse_stream(body: &Body) -> Result<(), RequestError> {
    body.task("stream").map_or(Ok(()), |field| field.bool().map(drop))
}

pub(crate) fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items.iter().map(T::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
