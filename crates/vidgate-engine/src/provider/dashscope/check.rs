//! `upstreams check` on DashScope: an authenticated read of a task id that cannot exist
//! proves the key (401 refuses it; a not-found answers it); DashScope has no model read, so
//! the model id is checked by the first submit (docs/upstreams.md §9).

use super::DashscopeProvider;
use super::request::task_url;
use crate::provider::check::{self, Check, PROBE_TASK_ID, model_not_checkable};

impl DashscopeProvider {
    pub(super) async fn check_live(&self) -> Check {
        let Some(url) = task_url(&self.base, PROBE_TASK_ID) else {
            return Check::unsupported("the base URL does not make a task URL");
        };
        let answer = match check::read(self.authorized(self.client.get(url))).await {
            Ok(a) => a,
            Err(c) => return c,
        };
        Check { credentials: check::credentials(&answer), model: model_not_checkable("DashScope") }
    }
}
