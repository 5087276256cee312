//! `last_frame` and `reference_images`: the images besides the first frame that guide a
//! generation (interpolation to a last frame; up to three reference images, each an
//! `asset` or a `style`). Each image is written as `source_image` is (an `https://` URL or
//! a data URI) and checked the same way: shape, then whether the model takes it, then the
//! bytes. Whether the chosen route can honour them (lengths, aspect ratio, style) is the
//! plan's question, not this file's.

use serde_json::Value;

use super::SubmitLimits;
use super::body::{Body, Field, echo, sorted_keys};
use super::source_image::image_from_text_unless;
use crate::catalog::ModelSpec;
use crate::error::{ErrorCode, RequestError};
use crate::request::{GuideImages, GuideRole, SourceImageInput};

/// The most reference images one request may carry (Veo's limit).
pub const MAX_REFERENCE_IMAGES: usize = 3;

/// Both fields; `has_first_frame` says whether a `source_image` was given.
pub(super) fn parse_guides(
    body: &Body,
    model: &ModelSpec,
    limits: &SubmitLimits,
    has_first_frame: bool,
) -> Result<GuideImages, RequestError> {
    let last_frame =
        body.generation("last_frame").map(|f| last_frame(&f, model, limits, has_first_frame)).transpose()?;
    let reference_images = match body.generation("reference_images") {
        Some(field) => reference_images(&field, model, limits)?,
        None => Vec::new(),
    };
    Ok(GuideImages { last_frame, reference_images })
}

/// A last frame: the model must take one, and it needs the first frame it ends.
pub(crate) fn last_frame(
    field: &Field,
    model: &ModelSpec,
    limits: &SubmitLimits,
    has_first_frame: bool,
) -> Result<SourceImageInput, RequestError> {
    let refusal = (!model.last_frame).then(|| format!("model {} does not take a last frame", model.id));
    let image = image_from_text_unless(field, refusal, limits)?;
    if !has_first_frame {
        let message =
            format!("{} needs a first frame (source_image): a last frame ends an interpolation from it", field.name);
        return Err(field.invalid(message));
    }
    Ok(image)
}

/// `reference_images`: an array of 1 to 3 items, each an image string (an `asset`) or an
/// object `{"image": …, "reference_type": "asset" | "style"}`.
pub(crate) fn reference_images(
    field: &Field,
    model: &ModelSpec,
    limits: &SubmitLimits,
) -> Result<Vec<(GuideRole, SourceImageInput)>, RequestError> {
    let name = &field.name;
    let shape = || {
        field.invalid(format!(
            "{name} must be an array of 1 to {MAX_REFERENCE_IMAGES} images, each a URL or data URI, or \
             {{\"image\": …, \"reference_type\": \"asset\" or \"style\"}}"
        ))
    };
    let items = field.value.as_array().filter(|items| !items.is_empty()).ok_or_else(shape)?;
    if items.len() > MAX_REFERENCE_IMAGES {
        let message = format!("{name} has {} images; at most {MAX_REFERENCE_IMAGES} are accepted", items.len());
        return Err(field.invalid(message));
    }
    let refusal = || (!model.reference_images).then(|| format!("model {} does not take reference images", model.id));
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("{name}[{i}]");
        let (role, image) = match item {
            Value::Object(obj) => {
                if let Some(key) = sorted_keys(obj).find(|k| !["image", "reference_type"].contains(k)) {
                    let unknown = format!("{at}.{}", echo(key));
                    let message = format!("unknown parameter {unknown}");
                    return Err(RequestError::param(ErrorCode::UnknownParam, &unknown, message));
                }
                let role = reference_type(obj.get("reference_type").filter(|v| !v.is_null()), &at)?;
                let value = obj.get("image").filter(|v| !v.is_null()).ok_or_else(|| {
                    let image = format!("{at}.image");
                    RequestError::param(ErrorCode::InvalidParam, &image, format!("{image} is required"))
                })?;
                (role, Field { value, name: format!("{at}.image") })
            }
            value => (GuideRole::Asset, Field { value, name: at }),
        };
        out.push((role, image_from_text_unless(&image, refusal(), limits)?));
    }
    Ok(out)
}

fn reference_type(value: Option<&Value>, at: &str) -> Result<GuideRole, RequestError> {
    match value.map(|v| v.as_str()) {
        None | Some(Some("asset")) => Ok(GuideRole::Asset),
        Some(Some("style")) => Ok(GuideRole::Style),
        Some(_) => {
            let name = format!("{at}.reference_type");
            let message = format!("{name} must be \"asset\" or \"style\"");
            Err(RequestError::param(ErrorCode::InvalidParam, &name, message))
        }
    }
}
