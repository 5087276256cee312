//! `source_image` (alias `image_init`): an `https://` URL, kept for the caller to fetch,
//! or a `data:image/…;base64,` URI, decoded here and checked against its declared type.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT;
use url::Url;

use super::body::{Body, Field};
use super::{SubmitLimits, parse_url};
use crate::catalog::ModelSpec;
use crate::error::RequestError;
use crate::request::{ImageMime, SourceImageInput};

/// A source image as written, before its bytes are looked at.
enum ImageSource<'a> {
    Url(Url),
    DataUri { mime: ImageMime, base64: &'a str },
}

pub(super) fn parse_source_image(
    body: &Body,
    model: &ModelSpec,
    limits: &SubmitLimits,
) -> Result<Option<SourceImageInput>, RequestError> {
    let field = match (body.generation("source_image"), body.generation("image_init")) {
        (None, None) => return Ok(None),
        (Some(_), Some(alias)) => {
            let message = format!("{} is an alias of {}; send only one of them", alias.name, body.name("source_image"));
            return Err(alias.invalid(message));
        }
        (Some(field), None) | (None, Some(field)) => field,
    };
    image_from_text(&field, model, limits).map(Some)
}

/// An image given as text (a URL or a data URI), checked in three steps so the cheapest
/// refusal wins: its shape, whether the model takes images, then a data URI's bytes.
pub(crate) fn image_from_text(
    field: &Field,
    model: &ModelSpec,
    limits: &SubmitLimits,
) -> Result<SourceImageInput, RequestError> {
    let refusal = (!model.image_to_video).then(|| format!("model {} does not take a source image", model.id));
    image_from_text_unless(field, refusal, limits)
}

/// [`image_from_text`] for any image field: `refusal` (the model cannot use it) is
/// `unsupported_value`, checked after the shape and before the bytes.
pub(crate) fn image_from_text_unless(
    field: &Field,
    refusal: Option<String>,
    limits: &SubmitLimits,
) -> Result<SourceImageInput, RequestError> {
    let source = image_source(field, limits)?;
    if let Some(message) = refusal {
        return Err(field.unsupported(message));
    }
    Ok(match source {
        ImageSource::Url(url) => SourceImageInput::Url(url),
        ImageSource::DataUri { mime, base64 } => decode_data_uri(field, mime, base64, limits)?,
    })
}

fn image_source<'a>(field: &Field<'a>, limits: &SubmitLimits) -> Result<ImageSource<'a>, RequestError> {
    let text = field.str()?;
    let is_data = text.get(..5).is_some_and(|scheme| scheme.eq_ignore_ascii_case("data:"));
    if !is_data {
        return parse_url(field, text, limits.allow_http_source_urls).map(ImageSource::Url);
    }
    let (mime, base64) = split_data_uri(&text[5..]).ok_or_else(|| {
        field.invalid(format!("{} must be a data:image/png, image/jpeg or image/webp URI with ;base64", field.name))
    })?;
    Ok(ImageSource::DataUri { mime, base64 })
}

/// `image/png;base64,<data>` (after `data:`) into the MIME type and the base64 text.
fn split_data_uri(rest: &str) -> Option<(ImageMime, &str)> {
    let (header, data) = rest.split_once(',')?;
    let (mime, encoding) = header.split_once(';')?;
    encoding.eq_ignore_ascii_case("base64").then_some(())?;
    Some((ImageMime::parse(mime)?, data))
}

fn decode_data_uri(
    field: &Field,
    mime: ImageMime,
    base64: &str,
    limits: &SubmitLimits,
) -> Result<SourceImageInput, RequestError> {
    let name = &field.name;
    let bytes = STANDARD_PAD_INDIFFERENT
        .decode(base64)
        .map_err(|_| field.unreadable(format!("the base64 data of {name} does not decode")))?;
    check_image_bytes(field, Some(mime), bytes, limits)
}

/// Image bytes within the size limit whose signature is PNG, JPEG or WebP and, when a type
/// was declared, that type.
pub(crate) fn check_image_bytes(
    field: &Field,
    declared: Option<ImageMime>,
    bytes: Vec<u8>,
    limits: &SubmitLimits,
) -> Result<SourceImageInput, RequestError> {
    let name = &field.name;
    if bytes.len() > limits.max_image_bytes {
        let message = format!("{name} is {} bytes; at most {} bytes are accepted", bytes.len(), limits.max_image_bytes);
        return Err(field.unreadable(message));
    }
    let sniffed = ImageMime::sniff(&bytes);
    match (declared, sniffed) {
        (Some(mime), _) if sniffed != Some(mime) => {
            Err(field.unreadable(format!("{name} is declared {} but its bytes are not such an image", mime.as_str())))
        }
        (_, Some(mime)) => Ok(SourceImageInput::Inline { mime, bytes }),
        (_, None) => Err(field.unreadable(format!("{name} is not a PNG, JPEG or WebP image"))),
    }
}
