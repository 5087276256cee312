//! `upstreams check` on Vertex AI: the service account's token exchange proves the
//! credentials (a refused key is `invalid_grant`); Vertex offers no model read this gateway
//! relies on, so the model id is checked by the first submit (docs/upstreams.md §2.1).

use super::VertexProvider;
use crate::clock::now_ms;
use crate::provider::ProviderError;
use crate::provider::check::{Check, Verdict, model_not_checkable};

impl VertexProvider {
    pub(super) async fn check_live(&self) -> Check {
        let credentials = match self.fetch_token(now_ms()).await {
            Ok(_) => Verdict::Good("the token endpoint issued an access token".into()),
            Err(ProviderError::Refused(why)) => Verdict::Bad(format!("the token endpoint refused the key: {why}")),
            Err(e) => Verdict::Unknown(e.to_string()),
        };
        Check { credentials, model: model_not_checkable("Vertex AI") }
    }
}
