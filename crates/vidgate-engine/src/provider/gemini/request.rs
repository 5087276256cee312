//! Building Gemini API requests (UPSTREAMS.md §1.2, §1.4, §1.5): the `predictLongRunning`
//! URL and body (no `seed`, `generateAudio` or `storageUri`: the SDK refuses them there and
//! sending them over REST is UNCONFIRMED), the operation GET, and the Files API download
//! URL built from the file id as the SDK does, so the API key only ever goes to the
//! configured base.

use url::Url;

use crate::provider::JobSpec;
use crate::provider::veo::{PredictRequest, base_request};

/// Where a Gemini upstream lives.
#[derive(Clone, Debug)]
pub struct GeminiTarget {
    /// `https://generativelanguage.googleapis.com/` or a test server.
    pub base: Url,
    pub model: String,
    pub person_generation: String,
}

impl GeminiTarget {
    /// `POST /v1beta/models/{model}:predictLongRunning`.
    pub fn predict_url(&self) -> Url {
        self.base.join(&format!("v1beta/models/{}:predictLongRunning", self.model)).expect("a valid path")
    }

    /// `GET /v1beta/{operation name}`.
    pub fn operation_url(&self, name: &str) -> Option<Url> {
        if name.is_empty() || name.starts_with('/') || name.contains("..") || name.contains("://") {
            return None;
        }
        self.base.join(&format!("v1beta/{name}")).ok()
    }

    /// The body: the shared Veo body; audio is always generated here.
    pub fn predict_body(&self, job: &JobSpec) -> Option<PredictRequest> {
        base_request(job, &self.person_generation)
    }

    /// `GET /v1beta/files/{id}:download?alt=media` for a result URI, the id parsed as the
    /// SDK does (`files/` then `[a-z0-9]+`).
    pub fn download_url(&self, video_uri: &str) -> Option<Url> {
        let after = &video_uri[video_uri.find("files/")? + "files/".len()..];
        let id: String = after.chars().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit()).collect();
        if id.is_empty() {
            return None;
        }
        let mut url = self.base.join(&format!("v1beta/files/{id}:download")).ok()?;
        url.query_pairs_mut().append_pair("alt", "media");
        Some(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::job;

    fn target() -> GeminiTarget {
        GeminiTarget {
            base: Url::parse("https://generativelanguage.googleapis.com/").unwrap(),
            model: "veo-3.1-generate-preview".into(),
            person_generation: String::new(),
        }
    }

    #[test]
    fn the_body_has_no_vertex_only_fields() {
        let mut j = job(5, "720x1280", false, Some(6));
        j.task.params.seed = Some(7);
        let body = serde_json::to_value(target().predict_body(&j).unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "instances": [{"prompt": "a red fox"}],
                "parameters": {"aspectRatio": "9:16", "resolution": "720p", "durationSeconds": 6,
                    "sampleCount": 1, "personGeneration": "allow_all"}
            })
        );
    }

    #[test]
    fn urls_follow_the_documented_paths() {
        let t = target();
        assert_eq!(
            t.predict_url().as_str(),
            "https://generativelanguage.googleapis.com/v1beta/models/veo-3.1-generate-preview:predictLongRunning"
        );
        assert_eq!(
            t.operation_url("models/veo-3.1-generate-preview/operations/abc123").unwrap().as_str(),
            "https://generativelanguage.googleapis.com/v1beta/models/veo-3.1-generate-preview/operations/abc123"
        );
        assert_eq!(t.operation_url("https://evil.example/x"), None);
    }

    #[test]
    fn the_download_goes_to_the_configured_base_whatever_host_the_uri_names() {
        let t = target();
        let uri = "https://generativelanguage.googleapis.com/v1beta/files/abc123xyz:download?alt=media";
        assert_eq!(
            t.download_url(uri).unwrap().as_str(),
            "https://generativelanguage.googleapis.com/v1beta/files/abc123xyz:download?alt=media"
        );
        assert_eq!(
            t.download_url("https://elsewhere.example/v1beta/files/q9:download").unwrap().as_str(),
            "https://generativelanguage.googleapis.com/v1beta/files/q9:download?alt=media"
        );
        assert_eq!(t.download_url("https://x/y"), None);
    }
}
