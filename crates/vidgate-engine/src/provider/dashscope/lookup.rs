//! Looking a lost create up in DashScope's task list (docs/upstreams.md §9.6, §9.8 trap 12):
//! `GET {base}/tasks?start_time&end_time&model_name&page_no&page_size` over the window
//! around the send, then each listed task's own `GET /tasks/{id}` (§9.5, documented), whose
//! `orig_prompt` and `submit_time` must be the create's prompt and lie in the window (we send
//! `prompt_extend: false`, so the prompt is ours as sent). The list's answer shape is
//! UNCONFIRMED: it is read leniently as `{"data": [{"task_id", "model_name"?}], …}`, and a
//! page shorter than `page_size` ends it. Anything unreadable is an unknown outcome.

use serde::Deserialize;
use serde_json::Value;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};
use url::Url;
use vidgate_domain::task_list::TaskListLookup;

use super::DashscopeProvider;
use crate::provider::ProviderError;
use crate::provider::http::{self, Call, MAX_API_BODY};
use crate::provider::task_list::{self, Found, SendId, Window};

/// One page of the list (only the fields read).
#[derive(Debug, Default, Deserialize)]
struct ListPage {
    #[serde(default)]
    data: Vec<ListItem>,
}

#[derive(Debug, Default, Deserialize)]
struct ListItem {
    #[serde(default)]
    task_id: String,
    #[serde(default)]
    model_name: String,
}

/// What a create is matched on: the model it named and its prompt.
pub(super) fn signature(body: &Value) -> String {
    format!("{}\n{}", body["model"].as_str().unwrap_or(""), body["input"]["prompt"].as_str().unwrap_or(""))
}

/// `YYYYMMDDhhmmss` at `offset` (the list's query format, §9.6).
fn list_time(unix: u64, offset: UtcOffset) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix as i64).unwrap_or(OffsetDateTime::UNIX_EPOCH).to_offset(offset);
    let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
    format!("{y:04}{mo:02}{d:02}{:02}{:02}{:02}", t.hour(), t.minute(), t.second())
}

/// A task answer's `submit_time` (`YYYY-MM-DD HH:mm:ss.SSS` at `offset`, §9.5) in Unix seconds.
pub(super) fn submit_secs(text: &str, offset: UtcOffset) -> Option<u64> {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let whole = text.split('.').next()?;
    let t = PrimitiveDateTime::parse(whole, format).ok()?.assume_offset(offset);
    u64::try_from(t.unix_timestamp()).ok()
}

/// `{base}/tasks?…` for one page of the window.
pub(super) fn list_url(base: &Url, model: &str, window: Window, page: u32, t: &TaskListLookup) -> Url {
    let offset = offset(t);
    let mut url = base.join("tasks").expect("a valid path");
    url.query_pairs_mut()
        .append_pair("start_time", &list_time(window.from, offset))
        .append_pair("end_time", &list_time(window.to, offset))
        .append_pair("model_name", model)
        .append_pair("page_no", &page.to_string())
        .append_pair("page_size", &t.page_size.to_string());
    url
}

fn offset(t: &TaskListLookup) -> UtcOffset {
    UtcOffset::from_whole_seconds(t.utc_offset_minutes * 60).unwrap_or(UtcOffset::UTC)
}

impl DashscopeProvider {
    /// After a create of `body` sent at `sent_at` whose answer was lost: the id of its task
    /// in the list, or the unknown outcome `why`.
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
        let model = body["model"].as_str().unwrap_or("");
        let prompt = body["input"]["prompt"].as_str().unwrap_or("");
        let held = self.sends.held();
        let mut found = Found::default();
        for page in 1..=t.max_pages {
            let url = list_url(&self.base, model, window, page, t);
            let answer = http::send(self.authorized(self.client.get(url)), Call::Read, MAX_API_BODY).await?;
            if !answer.status.is_success() {
                return Err(super::response::error(&answer, Call::Read));
            }
            let listed: ListPage = answer.json(Call::Read)?;
            let short = listed.data.len() < t.page_size as usize;
            for item in listed.data {
                let other_model = !item.model_name.is_empty() && item.model_name != model;
                if item.task_id.is_empty() || other_model || held.contains(&item.task_id) {
                    continue;
                }
                if self.is_the_create(&item.task_id, prompt, window, t).await? {
                    found.matches.push(item.task_id);
                }
            }
            if short {
                found.complete = true;
                break;
            }
        }
        Ok(found)
    }

    /// Whether the listed task `id` was created with `prompt` inside `window` (§9.5).
    async fn is_the_create(
        &self,
        id: &str,
        prompt: &str,
        window: Window,
        t: &TaskListLookup,
    ) -> Result<bool, ProviderError> {
        let (task, _) = self.task(id).await?;
        let at = submit_secs(&task.output.submit_time, offset(t));
        Ok(task.output.orig_prompt == prompt && at.is_some_and(|at| window.contains(at)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_times_and_answer_times_are_read_at_the_configured_offset() {
        let beijing = UtcOffset::from_whole_seconds(8 * 3600).unwrap();
        // 2026-08-27 07:59:59 UTC.
        let unix = 1_787_817_599;
        assert_eq!(list_time(unix, beijing), "20260827155959");
        assert_eq!(submit_secs("2026-08-27 15:59:59.299", beijing), Some(unix));
        assert_eq!(submit_secs("2026-08-27T15:59:59", beijing), None);
        let base = Url::parse("https://dashscope.aliyuncs.com/api/v1/").unwrap();
        let url = list_url(&base, "wan2.6-t2v", Window { from: unix, to: unix + 1 }, 2, &TaskListLookup::default());
        assert_eq!(
            url.as_str(),
            "https://dashscope.aliyuncs.com/api/v1/tasks?start_time=20260827155959&end_time=20260827160000\
             &model_name=wan2.6-t2v&page_no=2&page_size=50"
        );
    }
}
