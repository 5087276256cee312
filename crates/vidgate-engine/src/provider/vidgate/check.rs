//! `upstreams check` on another vidgate: `GET /v1/models/{id}` with the key (docs/api.md
//! §11) proves the key and the model id (an alias resolves too; 404 `not_found` means the
//! upstream's catalog has no such model).

use super::VidgateProvider;
use crate::provider::check::{self, Check, Verdict};

impl VidgateProvider {
    pub(super) async fn check_live(&self) -> Check {
        let Ok(url) = self.base.join(&format!("v1/models/{}", self.model)) else {
            return Check::unsupported("the model id does not make a URL");
        };
        let answer = match check::read(self.authorized(self.client.get(url))).await {
            Ok(a) => a,
            Err(c) => return c,
        };
        let credentials = check::credentials(&answer);
        let model = match credentials {
            Verdict::Bad(_) => Verdict::Unknown("the key was refused".into()),
            _ => check::model_read(&answer, &self.model),
        };
        Check { credentials, model }
    }
}
