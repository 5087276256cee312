//! The OpenAI Videos bodies (`POST /v1/videos` and `POST /v1/videos/{id}/remix`, as the
//! official `openai` SDKs send them) turned into a [`SubmitRequest`], or into the one
//! [`RequestError`] the client should see, with the OpenAI field names as `param`. It owns
//! the mapping of OpenAI's fields onto the catalog and reuses the field rules of
//! [`super::parse`] (prompt length, size syntax, image URLs and data URIs, the
//! `Idempotency-Key` rule). It must not do I/O: the HTTP layer reads the body (JSON or
//! multipart/form-data) into [`OpenAiFields`] first.
//!
//! Decisions where the contract is silent:
//! - `model` omitted (or `null`) means [`DEFAULT_MODEL`], the SDK's own default; a model
//!   name is resolved through the catalog's aliases (`sora-2` is `sora2`).
//! - `seconds` is a string of digits (`"4"`), as the SDK sends it; a JSON whole number is
//!   accepted too. Its values are the model's durations; omitted, the model's default.
//! - `size` omitted means the model's default size (not OpenAI's `720x1280`).
//! - There is no audio switch in the OpenAI API (its clips always have sound), so a task
//!   created here has native audio exactly when the model offers it.
//! - `input_reference` is a file part in multipart (its type is sniffed from its bytes; a
//!   declared `image/*` type must match them, a generic one such as
//!   `application/octet-stream` is ignored) or, in JSON, `{"image_url": …}` taking what
//!   `source_image` takes (an `https://` URL or a `data:image/…;base64,` URI).
//!   `{"file_id": …}` is refused: vidgate has no Files API. Every image error names
//!   `input_reference`; the message says which part of it is at fault.
//! - In multipart, a field sent twice is `invalid_param`; every part other than
//!   `input_reference` must be UTF-8 text.
//! - Checks run in this order and the first failure wins: unknown fields (the first in
//!   byte order), `model`, `prompt`, `seconds`, `size`, `input_reference`, then the
//!   `Idempotency-Key` header.
//! - A remix takes only `prompt`; everything else comes from the original task and is
//!   checked against the catalog again, since the catalog may have changed since.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::parse::body::{Field, echo, invalid, sorted_keys};
use super::parse::guides;
use super::parse::source_image::{check_image_bytes, image_from_text};
use super::parse::{SubmitLimits, check_idempotency_header, check_prompt_length, join, parse_size_text};
use super::{GuideImages, ImageMime, SourceImageInput, SubmitRequest};
use crate::catalog::{Catalog, ModelSpec, Size};
use crate::error::{ErrorCode, RequestError};

/// The model of a create that names none (the SDK's default, `sora-2`).
pub const DEFAULT_MODEL: &str = "sora2";

/// The fields `POST /v1/videos` knows: OpenAI's, and vidgate's extensions that the SDK
/// has no field for (sent as extra body fields).
const CREATE_FIELDS: [&str; 8] =
    ["input_reference", "last_frame", "model", "negative_prompt", "prompt", "reference_images", "seconds", "size"];
/// The fields `POST /v1/videos/{id}/remix` knows.
const REMIX_FIELDS: [&str; 1] = ["prompt"];
const INPUT_REFERENCE: &str = "input_reference";
const IMAGE_URL: &str = "input_reference.image_url";

/// One part of a `multipart/form-data` body, as read off the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormPart {
    pub name: String,
    /// The part's own `Content-Type`, if it has one.
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// An uploaded file (`input_reference` in multipart).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// The fields of a create or remix body, whichever content type carried them: text fields
/// as JSON values, and the uploaded file, if any.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OpenAiFields {
    fields: Map<String, Value>,
    upload: Option<Upload>,
}

impl OpenAiFields {
    /// The fields of a JSON body, which must be an object.
    pub fn from_json(body: Value) -> Result<Self, RequestError> {
        match body {
            Value::Object(fields) => Ok(OpenAiFields { fields, upload: None }),
            _ => Err(RequestError::new(ErrorCode::InvalidJson, "the request body must be a JSON object")),
        }
    }

    /// The fields of a multipart body: `input_reference` is the upload, every other part a
    /// text field.
    pub fn from_form(parts: Vec<FormPart>) -> Result<Self, RequestError> {
        let mut out = OpenAiFields::default();
        for part in parts {
            let twice = out.fields.contains_key(&part.name) || (part.name == INPUT_REFERENCE && out.upload.is_some());
            if twice {
                let name = echo(&part.name);
                return Err(invalid(&name, format!("{name} is sent twice; send each field once")));
            }
            if part.name == INPUT_REFERENCE {
                out.upload = Some(Upload { content_type: part.content_type, bytes: part.bytes });
                continue;
            }
            let text = String::from_utf8(part.bytes).map_err(|_| {
                let name = echo(&part.name);
                invalid(&name, format!("{name} must be UTF-8 text"))
            })?;
            out.fields.insert(part.name, Value::String(text));
        }
        Ok(out)
    }

    /// A field that was sent and is not `null`.
    fn get(&self, key: &str) -> Option<Field<'_>> {
        self.fields.get(key).filter(|v| !v.is_null()).map(|value| Field { value, name: key.to_owned() })
    }

    /// The first field (in byte order) not in `known`, as `unknown_param`.
    fn check_unknown(&self, known: &[&str]) -> Result<(), RequestError> {
        let upload = self.upload.as_ref().map(|_| INPUT_REFERENCE);
        let mut names: Vec<&str> = sorted_keys(&self.fields).chain(upload).collect();
        names.sort_unstable();
        match names.into_iter().find(|k| !known.contains(k)) {
            Some(key) => {
                let name = echo(key);
                Err(RequestError::param(ErrorCode::UnknownParam, &name, format!("unknown parameter {name}")))
            }
            None => Ok(()),
        }
    }
}

/// What the endpoint was given besides the body.
#[derive(Clone, Debug)]
pub struct OpenAiOptions<'a> {
    /// The raw `Idempotency-Key` header value, if any.
    pub idempotency_header: Option<&'a str>,
    pub limits: &'a SubmitLimits,
}

/// Parses a `POST /v1/videos` body.
pub fn parse_create(
    fields: &OpenAiFields,
    catalog: &Catalog,
    opts: &OpenAiOptions,
) -> Result<SubmitRequest, RequestError> {
    fields.check_unknown(&CREATE_FIELDS)?;
    let model = parse_model(fields, catalog)?;
    let prompt = parse_prompt(fields, model)?;
    let duration_seconds = parse_seconds(fields, model)?;
    let size = parse_size(fields, model)?;
    let source_image = parse_input_reference(fields, model, opts.limits)?;
    let guides = parse_guides(fields, model, opts.limits, source_image.is_some())?;
    let negative_prompt = parse_negative_prompt(fields, model)?;
    let out_task_id = check_idempotency_header(opts.idempotency_header)?.map(str::to_owned);
    Ok(SubmitRequest {
        model: model.id.clone(),
        prompt,
        duration_seconds,
        size,
        audio: model.native_audio,
        source_image,
        seed: None,
        negative_prompt,
        guides,
        out_task_id,
        callback_url: None,
        metadata: BTreeMap::new(),
    })
}

/// `last_frame` and `reference_images`, as on the native surfaces. In multipart they are
/// text parts: `last_frame` a URL or data URI, `reference_images` the JSON array as text.
fn parse_guides(
    fields: &OpenAiFields,
    model: &ModelSpec,
    limits: &SubmitLimits,
    has_first_frame: bool,
) -> Result<GuideImages, RequestError> {
    let last_frame = match fields.get("last_frame") {
        Some(f) => Some(guides::last_frame(&f, model, limits, has_first_frame)?),
        None => None,
    };
    let reference_images = match fields.get("reference_images") {
        Some(f) => {
            let parsed = f.value.as_str().and_then(|text| serde_json::from_str::<Value>(text).ok());
            let value = parsed.as_ref().unwrap_or(f.value);
            guides::reference_images(&Field { value, name: f.name.clone() }, model, limits)?
        }
        None => Vec::new(),
    };
    Ok(GuideImages { last_frame, reference_images })
}

/// `negative_prompt`: text up to the model's prompt length; empty is the same as omitted.
fn parse_negative_prompt(fields: &OpenAiFields, model: &ModelSpec) -> Result<Option<String>, RequestError> {
    let Some(field) = fields.get("negative_prompt") else { return Ok(None) };
    let text = field.str()?;
    check_prompt_length(&field, text, model)?;
    Ok((!text.trim().is_empty()).then(|| text.to_owned()))
}

/// Parses a `POST /v1/videos/{id}/remix` body: `original` (the original task's request)
/// with the new prompt, checked against the catalog as it is now.
pub fn parse_remix(
    fields: &OpenAiFields,
    original: SubmitRequest,
    catalog: &Catalog,
    opts: &OpenAiOptions,
) -> Result<SubmitRequest, RequestError> {
    fields.check_unknown(&REMIX_FIELDS)?;
    let model = catalog.resolve(&original.model).ok_or_else(|| {
        let message = format!("the original video's model {} is no longer offered", original.model);
        RequestError::new(ErrorCode::ModelNotFound, message)
    })?;
    let prompt = parse_prompt(fields, model)?;
    check_still_offered(&original, model)?;
    let out_task_id = check_idempotency_header(opts.idempotency_header)?.map(str::to_owned);
    Ok(SubmitRequest { model: model.id.clone(), prompt, out_task_id, ..original })
}

fn parse_model<'c>(fields: &OpenAiFields, catalog: &'c Catalog) -> Result<&'c ModelSpec, RequestError> {
    let name = match fields.get("model") {
        Some(field) => field.str()?,
        None => DEFAULT_MODEL,
    };
    catalog.resolve(name).ok_or_else(|| {
        let message = format!("model {:?} does not exist; GET /v1/models lists the models", echo(name));
        RequestError::param(ErrorCode::ModelNotFound, "model", message)
    })
}

fn parse_prompt(fields: &OpenAiFields, model: &ModelSpec) -> Result<String, RequestError> {
    let field = fields.get("prompt").ok_or_else(|| invalid("prompt", "prompt is required"))?;
    let prompt = field.str()?;
    if prompt.trim().is_empty() {
        return Err(field.invalid("prompt must not be empty"));
    }
    check_prompt_length(&field, prompt, model)?;
    Ok(prompt.to_owned())
}

fn parse_seconds(fields: &OpenAiFields, model: &ModelSpec) -> Result<u32, RequestError> {
    let Some(field) = fields.get("seconds") else {
        return Ok(model.default_duration);
    };
    let what = "a whole number of seconds as a string, such as \"4\"";
    let seconds = match field.value {
        Value::String(text) => digits(text).ok_or_else(|| field.invalid(format!("seconds must be {what}")))?,
        _ => field.whole_number(what)?,
    };
    match u32::try_from(seconds) {
        Ok(s) if model.offers_duration(s) => Ok(s),
        _ => {
            let menu = model.durations.iter().map(|d| format!("\"{d}\"")).collect::<Vec<_>>().join(", ");
            Err(field.unsupported(format!("seconds must be one of {menu} for model {}", model.id)))
        }
    }
}

/// A string of ASCII digits as a number; one too big for `u64` is off every menu anyway.
fn digits(text: &str) -> Option<u64> {
    let ok = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| text.parse().unwrap_or(u64::MAX))
}

fn parse_size(fields: &OpenAiFields, model: &ModelSpec) -> Result<Size, RequestError> {
    let Some(field) = fields.get("size") else {
        return Ok(model.default_size);
    };
    let size = parse_size_text(&field)?;
    if !model.offers_size(size) {
        let message = format!("size {size} is not offered by model {}; it offers {}", model.id, join(&model.sizes));
        return Err(field.unsupported(message));
    }
    Ok(size)
}

fn parse_input_reference(
    fields: &OpenAiFields,
    model: &ModelSpec,
    limits: &SubmitLimits,
) -> Result<Option<SourceImageInput>, RequestError> {
    let image = match (&fields.upload, fields.get(INPUT_REFERENCE)) {
        (None, None) => return Ok(None),
        (Some(upload), _) => uploaded_image(upload, model, limits),
        (None, Some(field)) => image_reference(&field, model, limits),
    };
    // The reused URL rules name the part they checked; every image error names the field.
    image.map(Some).map_err(|mut e| {
        if e.param.as_deref() == Some(IMAGE_URL) {
            e.param = Some(INPUT_REFERENCE.to_owned());
        }
        e
    })
}

fn uploaded_image(upload: &Upload, model: &ModelSpec, limits: &SubmitLimits) -> Result<SourceImageInput, RequestError> {
    let placeholder = Value::Null;
    let field = Field { value: &placeholder, name: INPUT_REFERENCE.to_owned() };
    if !model.image_to_video {
        return Err(field.unsupported(format!("model {} does not take an input_reference image", model.id)));
    }
    // Only an image type is a claim about the bytes; clients often label any upload
    // `application/octet-stream`.
    let essence = upload.content_type.as_deref().map(|ct| ct.split(';').next().unwrap_or("").trim());
    let declared = match essence {
        Some(ct) if ct.to_ascii_lowercase().starts_with("image/") => Some(ImageMime::parse(ct).ok_or_else(|| {
            field.unreadable(format!("input_reference is {}; it must be image/png, image/jpeg or image/webp", echo(ct)))
        })?),
        _ => None,
    };
    check_image_bytes(&field, declared, upload.bytes.clone(), limits)
}

/// The JSON form: `{"image_url": "https://…" | "data:image/…;base64,…"}`.
fn image_reference(field: &Field, model: &ModelSpec, limits: &SubmitLimits) -> Result<SourceImageInput, RequestError> {
    let shape = "input_reference must be an object {\"image_url\": …} in JSON, or a file part in multipart";
    let object = field.value.as_object().ok_or_else(|| field.invalid(shape))?;
    if let Some(key) = sorted_keys(object).find(|k| !["image_url", "file_id"].contains(k)) {
        let name = format!("input_reference.{}", echo(key));
        return Err(RequestError::param(ErrorCode::UnknownParam, &name, format!("unknown parameter {name}")));
    }
    let present = |k: &str| object.get(k).filter(|v| !v.is_null());
    match (present("image_url"), present("file_id")) {
        (Some(value), None) => image_from_text(&Field { value, name: IMAGE_URL.into() }, model, limits),
        (None, Some(_)) => Err(field.invalid(
            "input_reference.file_id is not supported (vidgate has no Files API); send image_url or upload the file",
        )),
        (Some(_), Some(_)) => Err(field.invalid("input_reference takes one of image_url and file_id, not both")),
        (None, None) => Err(field.invalid(shape)),
    }
}

/// The original's duration and size must still be on its model's menu, and its image
/// still accepted.
fn check_still_offered(original: &SubmitRequest, model: &ModelSpec) -> Result<(), RequestError> {
    let refuse = |what: String| {
        let message = format!("the original video's {what} is no longer offered by model {}", model.id);
        Err(RequestError::new(ErrorCode::UnsupportedValue, message))
    };
    if !model.offers_duration(original.duration_seconds) {
        return refuse(format!("length of {} seconds", original.duration_seconds));
    }
    if !model.offers_size(original.size) {
        return refuse(format!("size {}", original.size));
    }
    if original.source_image.is_some() && !model.image_to_video {
        return refuse("input image".into());
    }
    if original.audio && !model.native_audio {
        return refuse("native audio".into());
    }
    Ok(())
}

#[cfg(test)]
#[path = "openai_tests.rs"]
mod tests;
