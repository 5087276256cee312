//! The Dream Machine list (digest §6): `GET /dream-machine/v1/generations?limit&offset`
//! answers `{generations, count, has_more, limit, offset}`, the key's generations newest
//! first (the order is the fake's choice: the digest does not give it), each in its full
//! shape with `request`, the echo of its create. Deleted ones are gone. Agents has no list.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Value, json};

use super::routes::generation_json;
use super::state::{Api, LumaState};
use crate::core::Ctx;
use crate::errors::Refusal;

/// The most generations one page holds.
const MAX_LIMIT: usize = 100;

fn number(q: &[(String, String)], name: &str, default: usize) -> Result<usize, Refusal> {
    match q.iter().find(|(k, _)| k == name) {
        None => Ok(default),
        Some((_, v)) => v.parse().map_err(|_| Refusal::bad(format!("{name} must be a whole number"))),
    }
}

pub(super) async fn list(
    State(state): State<Arc<LumaState>>,
    Extension(ctx): Extension<Ctx>,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let asked = state.check_key(&headers, Api::DreamMachine).and_then(|()| {
        let limit = number(&q, "limit", 10)?;
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Refusal::bad(format!("limit must be 1 to {MAX_LIMIT}")));
        }
        Ok((limit, number(&q, "offset", 0)?))
    });
    let (limit, offset) = match asked {
        Ok(asked) => asked,
        Err(refusal) => return state.core.refuse(&ctx, refusal),
    };
    let mut gens: Vec<_> = state.all().into_iter().filter(|g| g.api == Api::DreamMachine && !g.deleted).collect();
    gens.reverse();
    let page: Vec<Value> = gens.iter().skip(offset).take(limit).map(|g| generation_json(&state, g)).collect();
    let count = page.len();
    Json(json!({"generations": page, "count": count, "has_more": offset + count < gens.len(),
        "limit": limit, "offset": offset}))
    .into_response()
}
