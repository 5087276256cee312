//! Looking a lost Dream Machine create up in its generation list (docs/upstreams.md §14.6,
//! §14.8 trap 9): `GET {base}/generations?limit&offset` answers
//! `{generations, count, has_more, limit, offset}`, each generation echoing its create as
//! `request`. The generation of a lost create is the one whose model and prompt are the
//! create's and whose `created_at` lies in the window around the send.
//!
//! The list's order is UNCONFIRMED. It is read as newest first, which the data must show: a
//! `created_at` later than the one before it ends the lookup unread (an unknown outcome).
//! The window is read to its end when a generation older than it appears or `has_more` is
//! false; `task_list_lookup.page_size` and `max_pages` bound the reading. The Agents API has
//! no list, so its lost creates stay unknown.

use serde::Deserialize;
use serde_json::Value;
use url::Url;
use vidgate_domain::task_list::TaskListLookup;

use super::LumaProvider;
use super::response::error;
use crate::provider::ProviderError;
use crate::provider::http::{self, Call, MAX_API_BODY};
use crate::provider::task_list::{self, Found, SendId, Window};

/// One page of the list (only the fields read).
#[derive(Debug, Default, Deserialize)]
struct ListPage {
    #[serde(default)]
    generations: Vec<Listed>,
    #[serde(default)]
    has_more: bool,
}

#[derive(Debug, Default, Deserialize)]
struct Listed {
    #[serde(default)]
    id: String,
    #[serde(default)]
    created_at: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    request: Value,
}

/// What a create is matched on: the model it named and its prompt.
pub(super) fn signature(body: &Value) -> String {
    format!("{}\n{}", body["model"].as_str().unwrap_or(""), body["prompt"].as_str().unwrap_or(""))
}

/// `{base}/generations?limit=…&offset=…`.
pub(super) fn list_url(base: &Url, offset: u32, limit: u32) -> Url {
    let mut url = base.join("generations").expect("a valid path");
    url.query_pairs_mut().append_pair("limit", &limit.to_string()).append_pair("offset", &offset.to_string());
    url
}

/// An RFC 3339 `created_at` in Unix seconds.
fn created_secs(text: &str) -> Option<u64> {
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    u64::try_from(t.unix_timestamp()).ok()
}

impl LumaProvider {
    /// After a create of `body` sent at `sent_at` whose answer was lost: the id of its
    /// generation in the list, or the unknown outcome `why`.
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
        let (model, prompt) = (&body["model"], &body["prompt"]);
        let held = self.sends.held();
        let mut found = Found::default();
        let mut newest_seen = u64::MAX;
        for page in 0..t.max_pages {
            let url = list_url(&self.base, page * t.page_size, t.page_size);
            let answer = http::send(self.authorized(self.client.get(url)), Call::Read, MAX_API_BODY).await?;
            if !answer.status.is_success() {
                return Err(error(&answer, Call::Read));
            }
            let listed: ListPage = answer.json(Call::Read)?;
            for g in listed.generations {
                let at = created_secs(&g.created_at)
                    .ok_or_else(|| ProviderError::Refused(format!("unreadable created_at {:?}", g.created_at)))?;
                if at > newest_seen {
                    return Err(ProviderError::Refused("the list is not newest first".into()));
                }
                newest_seen = at;
                if at < window.from {
                    found.complete = true;
                    return Ok(found);
                }
                let ours = g.model == model.as_str().unwrap_or("") && &g.request["prompt"] == prompt;
                if window.contains(at) && ours && !g.id.is_empty() && !held.contains(&g.id) {
                    found.matches.push(g.id);
                }
            }
            if !listed.has_more {
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

    #[test]
    fn pages_are_asked_by_offset_and_times_read_as_rfc_3339() {
        let base = Url::parse("https://api.lumalabs.ai/dream-machine/v1/").unwrap();
        assert_eq!(
            list_url(&base, 100, 50).as_str(),
            "https://api.lumalabs.ai/dream-machine/v1/generations?limit=50&offset=100"
        );
        assert_eq!(created_secs("2026-08-27T07:59:59Z"), Some(1_787_817_599));
        assert_eq!(created_secs("2026-08-27T07:59:59.500+00:00"), Some(1_787_817_599));
        assert_eq!(created_secs("2026-08-27 07:59:59"), None);
        let body = serde_json::json!({"model": "ray-2", "prompt": "a cat"});
        assert_eq!(signature(&body), "ray-2\na cat");
    }
}
