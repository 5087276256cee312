//! `upstreams check` on an OpenAI-Videos-compatible API: `GET /models/{model}` with the key.
//! OpenAI answers a model it does not know with 404 `model_not_found`; a compatible gateway
//! without that endpoint answers 404 too, so only that code makes the model id bad
//! (docs/upstreams.md §3.8).

use reqwest::StatusCode;

use super::OpenAiProvider;
use crate::provider::check::{self, Check, Verdict};

impl OpenAiProvider {
    pub(super) async fn check_live(&self) -> Check {
        let Ok(url) = self.base.join(&format!("models/{}", self.model)) else {
            return Check::unsupported("the model id does not make a URL");
        };
        let answer = match check::read(self.authorized(self.client.get(url))).await {
            Ok(a) => a,
            Err(c) => return c,
        };
        let credentials = check::credentials(&answer);
        let model = match (&credentials, answer.status) {
            (Verdict::Bad(_), _) => Verdict::Unknown("the key was refused".into()),
            (_, StatusCode::NOT_FOUND) if !String::from_utf8_lossy(&answer.body).contains("model_not_found") => {
                Verdict::NotChecked("the upstream has no model read (GET /models/{id} is 404)".into())
            }
            _ => check::model_read(&answer, &self.model),
        };
        Check { credentials, model }
    }
}
