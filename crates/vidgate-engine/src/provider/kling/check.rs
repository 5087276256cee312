//! `upstreams check` on Kling: a freshly signed token reads a task id that cannot exist;
//! 401 (codes 1000–1004) refuses the credentials, a not-found (1203) proves them. Kling has
//! no model read, so the model name is checked by the first submit (docs/upstreams.md §10).

use super::KlingProvider;
use super::request::{Endpoint, task_url};
use crate::provider::check::{self, Check, PROBE_TASK_ID, model_not_checkable};

impl KlingProvider {
    pub(super) async fn check_live(&self) -> Check {
        let Some(url) = task_url(&self.base, Endpoint::Text2Video, PROBE_TASK_ID) else {
            return Check::unsupported("the base URL does not make a task URL");
        };
        let bearer = self.auth.bearer(super::client::unix_now());
        let request = self.client.get(url).bearer_auth(bearer.expose()).timeout(self.settings.timeout);
        let answer = match check::read(request).await {
            Ok(a) => a,
            Err(c) => return c,
        };
        Check { credentials: check::credentials(&answer), model: model_not_checkable("Kling") }
    }
}
