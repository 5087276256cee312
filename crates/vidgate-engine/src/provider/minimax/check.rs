//! `upstreams check` on MiniMax: an authenticated query of a task id that cannot exist.
//! MiniMax may answer an unknown key with HTTP 200 and `base_resp.status_code` 1004 (or
//! 2049 for a key of the other region's host), so those codes refuse the key as a 401
//! does. There is no model read: the model id is checked by the first submit
//! (docs/upstreams.md §11).

use super::MinimaxProvider;
use super::request::query_url;
use super::response::error_code;
use crate::provider::check::{self, Check, PROBE_TASK_ID, Verdict, model_not_checkable};

/// `base_resp` codes of a refused key (§11 error table).
const KEY_REFUSED: [i64; 2] = [1004, 2049];

impl MinimaxProvider {
    pub(super) async fn check_live(&self) -> Check {
        let Some(url) = query_url(&self.base, PROBE_TASK_ID) else {
            return Check::unsupported("the base URL does not make a query URL");
        };
        let answer = match check::read(self.authorized(self.client.get(url))).await {
            Ok(a) => a,
            Err(c) => return c,
        };
        let credentials = match error_code(&answer.body) {
            Some((code, message)) if KEY_REFUSED.contains(&code) => Verdict::Bad(format!("code {code}: {message}")),
            _ => check::credentials(&answer),
        };
        Check { credentials, model: model_not_checkable("MiniMax") }
    }
}
