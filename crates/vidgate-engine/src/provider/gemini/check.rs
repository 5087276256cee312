//! `upstreams check` on the Gemini API: `GET /v1beta/models/{model}` (the API's
//! `models.get`) with the key proves both the key and the model id (docs/upstreams.md §1.9).

use reqwest::StatusCode;

use super::GeminiProvider;
use crate::provider::check::{self, Check, Verdict};

impl GeminiProvider {
    pub(super) async fn check_live(&self) -> Check {
        let Ok(url) = self.target.base.join(&format!("v1beta/models/{}", self.target.model)) else {
            return Check::unsupported("the model id does not make a URL");
        };
        let request = match self.with_key(self.client.get(url)) {
            Ok(r) => r,
            Err(e) => return Check { credentials: Verdict::Bad(e.to_string()), model: Verdict::Unknown(String::new()) },
        };
        let answer = match check::read(request).await {
            Ok(a) => a,
            Err(c) => return c,
        };
        // A key the API does not know is 400 INVALID_ARGUMENT ("API key not valid"), not 401.
        let key_refused = answer.status == StatusCode::BAD_REQUEST && check::summary(&answer).contains("API key");
        if key_refused {
            let why = check::summary(&answer);
            return Check { credentials: Verdict::Bad(why), model: Verdict::Unknown("the key was refused".into()) };
        }
        let credentials = check::credentials(&answer);
        let model = match credentials {
            Verdict::Bad(_) => Verdict::Unknown("the key was refused".into()),
            _ => check::model_read(&answer, &self.target.model),
        };
        Check { credentials, model }
    }
}
