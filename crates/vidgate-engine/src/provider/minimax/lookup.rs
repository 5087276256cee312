//! Looking a lost v2 create up in MiniMax's task list (docs/upstreams.md §11.6, §11.8 trap
//! 14): `GET {base}/v2/query/video_generation?page_num&page_size` → `{"items": [<task>],
//! "total"}`, items shaped as the query's task (§11.5; UNCONFIRMED in detail). The list
//! carries no prompt, so a task matches on what it does carry: `model`, `resolution`,
//! `ratio` (text-to-video only; with a frame the ratio follows the image) and `created_at`
//! inside the window (Unix seconds or milliseconds, or RFC 3339: its type is UNCONFIRMED).
//! The list has no time filter; it is read newest first (UNCONFIRMED) until an item older
//! than the window or a short page. Since two creates of the same shape cannot be told
//! apart, a key another client also uses can make a lost create adopt that client's task:
//! the lookup is off unless the entry sets `task_list_lookup.enabled = true` (docs/upstreams.md §11.6).

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::Url;
use vidgate_domain::task_list::TaskListLookup;

use super::MinimaxProvider;
use crate::provider::ProviderError;
use crate::provider::http::{self, Call, MAX_API_BODY};
use crate::provider::task_list::{self, Found, SendId, Window};

/// One page of the list (only the fields read).
#[derive(Debug, Default, Deserialize)]
struct ListPage {
    #[serde(default)]
    items: Vec<Value>,
}

/// What a create is matched on: model, resolution and, on text only, ratio.
pub(super) fn signature(body: &Value) -> String {
    let field = |k: &str| body[k].as_str().unwrap_or("").to_owned();
    format!("{}|{}|{}", field("model"), field("resolution"), field("ratio"))
}

/// A listed task's signature, read as [`signature`] reads a create (no ratio when the
/// create sent none).
fn item_signature(item: &Value, with_ratio: bool) -> String {
    let field = |k: &str| item[k].as_str().unwrap_or("").to_owned();
    let ratio = if with_ratio { field("ratio") } else { String::new() };
    format!("{}|{}|{ratio}", field("model"), field("resolution"))
}

/// `created_at` in Unix seconds, from seconds, milliseconds or an RFC 3339 text.
pub(super) fn created_secs(value: &Value) -> Option<u64> {
    let seconds = |n: u64| if n > 100_000_000_000 { n / 1000 } else { n };
    match value {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)).map(seconds),
        Value::String(s) => match s.trim().parse::<u64>() {
            Ok(n) => Some(seconds(n)),
            Err(_) => {
                OffsetDateTime::parse(s.trim(), &Rfc3339).ok().and_then(|t| u64::try_from(t.unix_timestamp()).ok())
            }
        },
        _ => None,
    }
}

/// `{base}/v2/query/video_generation?page_num&page_size`.
pub(super) fn list_url(base: &Url, page: u32, page_size: u32) -> Url {
    let mut url = base.join("v2/query/video_generation").expect("a valid path");
    url.query_pairs_mut().append_pair("page_num", &page.to_string()).append_pair("page_size", &page_size.to_string());
    url
}

impl MinimaxProvider {
    /// After a v2 create of `body` sent at `sent_at` whose answer was lost: the id of its
    /// task in the list, or the unknown outcome `why`.
    pub(super) async fn recover(
        &self,
        body: &Value,
        send: SendId,
        sent_at: u64,
        why: String,
    ) -> Result<String, ProviderError> {
        let lookup = TaskListLookup::of(&self.config);
        let find = |window| self.find(body, window, &lookup);
        task_list::recover(&self.settings.name, &lookup, &self.sends, (send, sent_at), why, find).await
    }

    async fn find(&self, body: &Value, window: Window, t: &TaskListLookup) -> Result<Found, ProviderError> {
        let wanted = signature(body);
        let with_ratio = body.get("ratio").is_some();
        let held = self.sends.held();
        let mut found = Found::default();
        for page in 1..=t.max_pages {
            let url = list_url(&self.base, page, t.page_size);
            let answer = http::send(self.authorized(self.client.get(url)), Call::Read, MAX_API_BODY).await?;
            if !answer.status.is_success() || super::response::error_code(&answer.body).is_some() {
                return Err(super::response::error(&answer, Call::Read));
            }
            let listed: ListPage = answer.json(Call::Read)?;
            let short = listed.items.len() < t.page_size as usize;
            for item in &listed.items {
                let at = created_secs(&item["created_at"]);
                if at.is_some_and(|at| at < window.from) {
                    // Newest first: the rest of the list is older than the window.
                    found.complete = true;
                }
                let id = item["id"].as_str().unwrap_or("");
                let inside = at.is_some_and(|at| window.contains(at));
                if inside && !id.is_empty() && !held.contains(id) && item_signature(item, with_ratio) == wanted {
                    found.matches.push(id.to_owned());
                }
            }
            if short || found.complete {
                found.complete = true;
                break;
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn created_at_is_read_from_seconds_milliseconds_or_rfc_3339() {
        assert_eq!(created_secs(&json!(1_787_817_599)), Some(1_787_817_599));
        assert_eq!(created_secs(&json!(1_787_817_599_123_u64)), Some(1_787_817_599));
        assert_eq!(created_secs(&json!("1787817599")), Some(1_787_817_599));
        assert_eq!(created_secs(&json!("2026-08-27T07:59:59Z")), Some(1_787_817_599));
        assert_eq!(created_secs(&json!(null)), None);
    }

    #[test]
    fn a_listed_task_matches_on_model_resolution_and_the_ratio_only_when_the_create_sent_one() {
        let text = json!({"model": "MiniMax-H3", "resolution": "768P", "duration": 5, "ratio": "16:9"});
        let item = json!({"id": "1", "model": "MiniMax-H3", "resolution": "768P", "ratio": "16:9"});
        assert_eq!(item_signature(&item, true), signature(&text));
        assert_ne!(
            item_signature(&json!({"model": "MiniMax-H3", "resolution": "2K", "ratio": "16:9"}), true),
            signature(&text)
        );
        let framed = json!({"model": "MiniMax-H3", "resolution": "768P", "duration": 5});
        let adaptive = json!({"id": "2", "model": "MiniMax-H3", "resolution": "768P", "ratio": "adaptive"});
        assert_eq!(item_signature(&adaptive, false), signature(&framed));
        let base = Url::parse("https://api.minimax.io/").unwrap();
        assert_eq!(
            list_url(&base, 2, 50).as_str(),
            "https://api.minimax.io/v2/query/video_generation?page_num=2&page_size=50"
        );
    }
}
