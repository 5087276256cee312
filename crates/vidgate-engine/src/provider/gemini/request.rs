//! Building Gemini API requests (docs/upstreams.md §1.2, §1.4, §1.5): the `predictLongRunning`
//! URL and body (no `seed`, `generateAudio` or `storageUri`: the SDK refuses them there and
//! sending them over REST is UNCONFIRMED), the operation GET, and the Files API download
//! URL built from the file id as the SDK does, so the API key only ever goes to the
//! configured base; and the extension body (`instances[0].video.uri` of an earlier output).

use url::Url;

use vidgate_domain::upstream::EXTENSION_BASE_SECONDS;

use crate::provider::JobSpec;
use crate::provider::veo::{PredictRequest, VeoVideo, base_request};

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

    /// The body of an extension of the output at `video_uri` (docs/upstreams.md §1.2, §1.3): the
    /// prompt and the `uri` only (no image, no bytes), 720p (extension output is 720p only),
    /// `durationSeconds: 8` (the docs' "must be 8 with extension" may mean this request, so it
    /// always says 8) and `personGeneration` `allow_all` unless configured.
    pub fn extension_body(&self, job: &JobSpec, video_uri: &str) -> Option<PredictRequest> {
        let mut body = base_request(job, &self.person_generation)?;
        let instance = body.instances.first_mut()?;
        instance.image = None;
        instance.video = Some(VeoVideo { uri: video_uri.to_owned() });
        body.parameters.resolution = "720p";
        body.parameters.duration_seconds = EXTENSION_BASE_SECONDS;
        if self.person_generation.is_empty() {
            body.parameters.person_generation = "allow_all".into();
        }
        Some(body)
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
    fn an_extension_sends_the_previous_output_uri_at_720p_and_eight_seconds() {
        let mut j = job(10, "1280x720", false, Some(8));
        j.source_image = Some(vec![1, 2, 3]);
        let uri = "https://generativelanguage.googleapis.com/v1beta/files/f1:download?alt=media";
        let body = serde_json::to_value(target().extension_body(&j, uri).unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "instances": [{"prompt": "a red fox", "video": {"uri": uri}}],
                "parameters": {"aspectRatio": "16:9", "resolution": "720p", "durationSeconds": 8,
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
