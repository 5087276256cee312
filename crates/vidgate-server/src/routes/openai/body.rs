//! Reading a create or remix body in either content type the `openai` SDKs send:
//! `application/json` (SDKs before 2.27.0, and `remix`) or `multipart/form-data` (2.27.0
//! on, and any upload). Anything else is 415.
//!
//! Limits: a JSON body may be `server.body_limit_bytes` (1 MiB by default), like every JSON
//! body. A multipart body carries the image as raw bytes, so it may be
//! `server.body_limit_bytes + fetch.max_image_bytes + 1 MiB` (with the defaults 12 MiB:
//! the body limit plus 11 MiB); larger is 413. The image part alone is held to
//! `fetch.max_image_bytes` by the request parser (422 `source_image_unreadable`).
//!
//! JSON is read strictly like every JSON body (a repeated key is `invalid_json`, a NUL in a
//! string `invalid_param`); a text part of a multipart body holding a NUL is `invalid_param`
//! naming the part.

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use vidgate_domain::config::Config;
use vidgate_domain::request::openai::{FormPart, OpenAiFields};
use vidgate_domain::{ErrorCode, RequestError};

use crate::AppState;
use crate::error::HttpError;
use crate::extract::body::{parse_json, read_limited};
use crate::extract::read_body;

/// Room a multipart body gets on top of the body limit and the largest image: the parts'
/// headers, boundaries and text fields.
pub const MULTIPART_OVERHEAD_BYTES: usize = 1024 * 1024;

/// The largest multipart body accepted.
pub fn multipart_limit(config: &Config) -> usize {
    config.server.body_limit_bytes + config.fetch.max_image_bytes + MULTIPART_OVERHEAD_BYTES
}

/// The fields of a create or remix body.
pub struct OpenAiBody(pub OpenAiFields);

impl FromRequest<AppState> for OpenAiBody {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, HttpError> {
        let config = &state.gateway.config;
        let content_type =
            req.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("").to_ascii_lowercase());
        let essence = content_type.as_deref().map(|ct| ct.split(';').next().unwrap_or("").trim().to_owned());
        let fields = match essence.as_deref() {
            // Like the other JSON endpoints, a body without a content type is read as JSON.
            None | Some("application/json") => json_fields(req, config.server.body_limit_bytes).await?,
            Some(ct) if ct.ends_with("+json") => json_fields(req, config.server.body_limit_bytes).await?,
            Some("multipart/form-data") => form_fields(req, state, multipart_limit(config)).await?,
            Some(other) => {
                return Err(HttpError::param(
                    ErrorCode::UnsupportedMediaType,
                    "content-type",
                    format!("this endpoint takes application/json or multipart/form-data, not {other}"),
                ));
            }
        };
        Ok(OpenAiBody(fields))
    }
}

async fn json_fields(req: Request, limit: usize) -> Result<OpenAiFields, HttpError> {
    let bytes = read_body(req, limit).await?;
    Ok(OpenAiFields::from_json(parse_json(&bytes)?)?)
}

/// Reads the whole body within `limit` first (so the limit is exact and a 413 is a 413),
/// then splits it into parts.
async fn form_fields(req: Request, state: &AppState, limit: usize) -> Result<OpenAiFields, HttpError> {
    let (parts, body) = req.into_parts();
    // The headers go along so that a `Content-Length` over the limit is refused at once.
    let mut whole = Request::new(body);
    *whole.headers_mut() = parts.headers.clone();
    let bytes = read_limited(whole, limit, ErrorCode::InvalidParam).await?;
    let req = Request::from_parts(parts, Body::from(bytes));
    let mut multipart = Multipart::from_request(req, state).await.map_err(|e| malformed(e.body_text()))?;
    let mut form = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(|e| malformed(e.body_text()))? {
        let name = field.name().unwrap_or_default().to_owned();
        let content_type = field.content_type().map(str::to_owned);
        let bytes = field.bytes().await.map_err(|e| malformed(e.body_text()))?.to_vec();
        if name != "input_reference" && bytes.contains(&0) {
            let name = vidgate_domain::request::echo(&name);
            let message = format!("{name} contains a NUL character, which is not allowed in text");
            return Err(HttpError::param(ErrorCode::InvalidParam, &name, message));
        }
        form.push(FormPart { name, content_type, bytes });
    }
    Ok(OpenAiFields::from_form(form)?)
}

fn malformed(detail: String) -> HttpError {
    RequestError::new(ErrorCode::InvalidParam, format!("the multipart/form-data body is malformed: {detail}")).into()
}
