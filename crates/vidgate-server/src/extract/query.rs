//! Query strings whose every refusal is in the contract's error shape. A name given twice
//! (`?task_id=a&task_id=b`, `?sig=x&sig=y`) is ambiguous, so it is refused with 400
//! `invalid_param` naming it, before anything else, and so is a NUL (`%00`) in a name or a
//! value (no stored text can hold one); then the pairs are read as axum's
//! `Query` reads them, and a name the target refuses (`deny_unknown_fields`) is 400
//! `unknown_param` naming it. A target that is a map takes every name, and the handler
//! judges the names itself.

use std::collections::HashSet;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use vidgate_domain::ErrorCode;

use crate::error::HttpError;

/// The query string, read into `T`.
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, HttpError> {
        check_pairs(parts.uri.query().unwrap_or_default())?;
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|e| named_refusal(&e.body_text()))
    }
}

/// Refuses a query string that names a parameter more than once or holds a NUL.
pub fn check_pairs(query: &str) -> Result<(), HttpError> {
    let mut seen = HashSet::new();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if name.contains('\0') {
            return Err(HttpError::new(ErrorCode::InvalidParam, "a query parameter's name contains a NUL character"));
        }
        if value.contains('\0') {
            let name = vidgate_domain::request::echo(&name);
            let message = format!("the query parameter {name} contains a NUL character, which is not allowed");
            return Err(HttpError::param(ErrorCode::InvalidParam, &name, message));
        }
        if !seen.insert(name.clone()) {
            let name = vidgate_domain::request::echo(&name);
            let message = format!("the query parameter {name} is given more than once; give it once");
            return Err(HttpError::param(ErrorCode::InvalidParam, &name, message));
        }
    }
    Ok(())
}

/// A deserializer's refusal of a query string or a body, naming the field it is about
/// where the message says which.
pub fn named_refusal(message: &str) -> HttpError {
    let field = |marker: &str| message.split(marker).nth(1).and_then(|r| r.split('`').next()).map(str::to_owned);
    if let Some(f) = field("unknown field `") {
        let f = vidgate_domain::request::echo(&f);
        HttpError::param(ErrorCode::UnknownParam, &f, format!("unknown parameter {f}"))
    } else if let Some(f) = field("missing field `") {
        HttpError::param(ErrorCode::InvalidParam, &f, format!("{f} is required"))
    } else {
        let detail = message.strip_prefix("Failed to deserialize query string: ").unwrap_or(message);
        HttpError::new(ErrorCode::InvalidParam, format!("the query string is not valid: {detail}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(query: &str) -> (ErrorCode, Option<String>) {
        let e = check_pairs(query).expect_err("refused").0.error;
        (e.code, e.param)
    }

    #[test]
    fn a_name_given_twice_is_refused_naming_it_even_with_the_same_value() {
        assert_eq!(refusal("task_id=a&task_id=b"), (ErrorCode::InvalidParam, Some("task_id".into())));
        assert_eq!(refusal("wait=1&x=2&wait=1"), (ErrorCode::InvalidParam, Some("wait".into())));
        // Percent-encoding does not make a different name.
        assert_eq!(refusal("sig=a&%73ig=b"), (ErrorCode::InvalidParam, Some("sig".into())));
        assert!(check_pairs("task_id=a&out_task_id=a&wait=").is_ok());
        assert!(check_pairs("").is_ok());
    }

    #[test]
    fn a_nul_in_a_value_names_the_parameter_and_in_a_name_names_none() {
        assert_eq!(refusal("model=a%00b"), (ErrorCode::InvalidParam, Some("model".into())));
        assert_eq!(refusal("a%00b=1"), (ErrorCode::InvalidParam, None));
    }

    #[test]
    fn deserializer_messages_name_unknown_and_missing_fields() {
        let unknown =
            named_refusal("Failed to deserialize query string: unknown field `bogus`, expected `wait`").0.error;
        assert_eq!((unknown.code, unknown.param.as_deref()), (ErrorCode::UnknownParam, Some("bogus")));
        let missing = named_refusal("missing field `exp`").0.error;
        assert_eq!((missing.code, missing.param.as_deref()), (ErrorCode::InvalidParam, Some("exp")));
        let other = named_refusal("Failed to deserialize query string: invalid digit").0.error;
        assert_eq!((other.code, other.param), (ErrorCode::InvalidParam, None));
        assert_eq!(other.message, "the query string is not valid: invalid digit");
    }
}
