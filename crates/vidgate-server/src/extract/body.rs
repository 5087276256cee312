//! Reading a request body within a limit, and reading it as JSON strictly.
//!
//! - A `Content-Length` over the limit is 413 `request_too_large` at once, from the header,
//!   without waiting for the body; a body that grows past the limit is 413 when it does.
//! - After a 413 the rest of the body is read and thrown away in the background for up to
//!   [`LINGER`] (what web servers call a lingering close): a client still uploading then
//!   finishes its upload and reads the 413, where closing at once would reset the
//!   connection under it and lose the answer. The answer itself never waits for this.
//! - A body that cannot be read to its end (a malformed chunked encoding, a connection
//!   that ends early) is 400, not 413: the client sent something broken, not something big.
//! - JSON: a syntax error, a key given twice in one object (ambiguous: which value did the
//!   client mean?) and a body that is not an object are 400 `invalid_json`; a NUL character
//!   (`\u0000`) in any string, a value or a key, is 400 `invalid_param` naming the field
//!   (PostgreSQL text cannot hold NUL, so the two stores would disagree otherwise).

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use axum::extract::Request;
use axum::http::header;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use vidgate_domain::ErrorCode;

use crate::error::{HttpError, HttpResult};

/// How long the rest of a refused body is read and discarded before the connection closes.
pub const LINGER: Duration = Duration::from_secs(10);

/// Reads a whole body of at most `limit` bytes; `unreadable` is the code of a body that
/// cannot be read (`invalid_json` where JSON is expected).
pub async fn read_limited(req: Request, limit: usize, unreadable: ErrorCode) -> HttpResult<Bytes> {
    let too_large = || HttpError::new(ErrorCode::RequestTooLarge, format!("the body is larger than {limit} bytes"));
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let mut stream = req.into_body().into_data_stream();
    if declared.is_some_and(|n| n > limit as u64) {
        linger(stream);
        return Err(too_large());
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            tracing::info!(error = %e, "a request body could not be read");
            HttpError::new(
                unreadable,
                "the body could not be read: it ended early or its chunked encoding is malformed",
            )
        })?;
        if body.len() + chunk.len() > limit {
            linger(stream);
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Reads and discards the rest of a refused body for up to [`LINGER`], off the request.
fn linger(mut stream: axum::body::BodyDataStream) {
    tokio::spawn(async move {
        let drain = async { while let Some(Ok(_)) = stream.next().await {} };
        let _ = tokio::time::timeout(LINGER, drain).await;
    });
}

/// Parses JSON strictly (see the module doc); the value may be of any type.
pub fn parse_json(bytes: &[u8]) -> HttpResult<Value> {
    let value = serde_json::from_slice::<StrictValue>(bytes)
        .map_err(|e| HttpError::new(ErrorCode::InvalidJson, format!("the body is not valid JSON: {e}")))?
        .0;
    refuse_nul(&value, "")?;
    Ok(value)
}

/// Parses a JSON object strictly (see the module doc).
pub fn parse_json_object(bytes: &[u8]) -> HttpResult<Value> {
    let value = parse_json(bytes)?;
    if !value.is_object() {
        return Err(HttpError::new(ErrorCode::InvalidJson, "the body must be a JSON object"));
    }
    Ok(value)
}

/// The first string holding a NUL, in key order, as 400 `invalid_param` naming its field:
/// `prompt`, `params.prompt`, `metadata.k`, `items[2]`; a key holding one names the object
/// it is in (the key itself cannot be shown).
fn refuse_nul(value: &Value, path: &str) -> HttpResult<()> {
    let refuse = |name: &str, what: &str| {
        let shown = if name.is_empty() { "the body" } else { name };
        let message = format!("{shown} {what} a NUL character (\\u0000), which is not allowed in text");
        if name.is_empty() {
            HttpError::new(ErrorCode::InvalidParam, message)
        } else {
            HttpError::param(ErrorCode::InvalidParam, name, message)
        }
    };
    match value {
        Value::String(s) if s.contains('\0') => Err(refuse(path, "contains")),
        Value::Array(items) => {
            items.iter().enumerate().try_for_each(|(i, item)| refuse_nul(item, &format!("{path}[{i}]")))
        }
        Value::Object(map) => {
            if map.keys().any(|k| k.contains('\0')) {
                return Err(refuse(path, "has a field name with"));
            }
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            keys.into_iter().try_for_each(|k| {
                let name = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                refuse_nul(&map[k], &vidgate_domain::request::echo(&name))
            })
        }
        _ => Ok(()),
    }
}

/// A JSON value whose objects never repeat a key.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        let mut seen = HashSet::new();
        while let Some(key) = access.next_key::<String>()? {
            if !seen.insert(key.clone()) {
                let shown = vidgate_domain::request::echo(&key);
                return Err(de::Error::custom(format!("the key {shown:?} appears twice in one object")));
            }
            let StrictValue(value) = access.next_value()?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(bytes: &[u8]) -> (ErrorCode, Option<String>) {
        let e = parse_json(bytes).expect_err("refused").0.error;
        (e.code, e.param)
    }

    #[test]
    fn a_key_given_twice_in_one_object_is_invalid_json() {
        assert_eq!(refusal(br#"{"prompt":"a","prompt":"b"}"#), (ErrorCode::InvalidJson, None));
        assert_eq!(refusal(br#"{"m":{"k":"1","k":"1"}}"#), (ErrorCode::InvalidJson, None));
        assert_eq!(refusal(br#"[{"a":1},{"a":1,"a":2}]"#), (ErrorCode::InvalidJson, None));
    }

    #[test]
    fn the_same_key_in_different_objects_is_fine_and_values_keep_their_types() {
        let body = br#"{"a":{"a":1},"b":[{"a":-2.5},{"a":null}],"c":true,"d":18446744073709551615}"#;
        let Ok(v) = parse_json(body) else { panic!("valid JSON is accepted") };
        assert_eq!(
            v,
            serde_json::json!({"a":{"a":1},"b":[{"a":-2.5},{"a":null}],"c":true,"d":18446744073709551615u64})
        );
    }

    #[test]
    fn a_nul_names_the_field_it_is_in() {
        assert_eq!(refusal(br#"{"prompt":"a\u0000b"}"#), (ErrorCode::InvalidParam, Some("prompt".into())));
        assert_eq!(
            refusal(br#"{"params":{"prompt":"x","negative_prompt":"\u0000"}}"#),
            (ErrorCode::InvalidParam, Some("params.negative_prompt".into()))
        );
        assert_eq!(refusal(br#"{"metadata":{"k":"v\u0000"}}"#), (ErrorCode::InvalidParam, Some("metadata.k".into())));
        assert_eq!(refusal(br#"{"metadata":{"k\u0000":"v"}}"#), (ErrorCode::InvalidParam, Some("metadata".into())));
        assert_eq!(refusal(br#"{"list":["ok","\u0000"]}"#), (ErrorCode::InvalidParam, Some("list[1]".into())));
        assert_eq!(refusal(br#"{"a\u0000":1}"#), (ErrorCode::InvalidParam, None));
    }
}
