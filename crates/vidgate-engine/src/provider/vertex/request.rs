//! Building Vertex AI requests (docs/upstreams.md §2.2, §2.3): the `predictLongRunning` URL and
//! body (with the Vertex-only `generateAudio`, `seed`, `storageUri`), the
//! `fetchPredictOperation` URL derived from the operation name as the SDK does, and the
//! Cloud Storage URL of a `gs://` result.

use url::Url;

use crate::provider::JobSpec;
use crate::provider::veo::{PredictRequest, base_request};

/// Where a Vertex upstream lives.
#[derive(Clone, Debug)]
pub struct VertexTarget {
    /// `https://{location}-aiplatform.googleapis.com` or a test server.
    pub base: Url,
    pub project: String,
    pub location: String,
    pub model: String,
    /// `gs://…` for results, or empty for inline bytes.
    pub storage_uri: String,
    pub person_generation: String,
}

impl VertexTarget {
    /// `POST …/publishers/google/models/{model}:predictLongRunning`.
    pub fn predict_url(&self) -> Url {
        let path = format!(
            "v1/projects/{}/locations/{}/publishers/google/models/{}:predictLongRunning",
            self.project, self.location, self.model
        );
        self.base.join(&path).expect("a valid path")
    }

    /// `POST {operation name minus /operations/…}:fetchPredictOperation`.
    pub fn fetch_operation_url(&self, operation: &str) -> Option<Url> {
        let (resource, _) = operation.split_once("/operations/")?;
        if !resource.starts_with("projects/") {
            return None;
        }
        self.base.join(&format!("v1/{resource}:fetchPredictOperation")).ok()
    }

    /// The body for a job: the shared Veo body plus `generateAudio` (required on Veo 3),
    /// `seed` and `storageUri`.
    pub fn predict_body(&self, job: &JobSpec) -> Option<PredictRequest> {
        let mut body = base_request(job, &self.person_generation)?;
        body.parameters.generate_audio = Some(job.upstream_audio());
        body.parameters.seed = job.task.params.seed;
        if !self.storage_uri.is_empty() {
            body.parameters.storage_uri = Some(self.storage_uri.clone());
        }
        Some(body)
    }
}

/// The Cloud Storage JSON API download URL of `gs://BUCKET/OBJECT` on `storage_base`.
pub fn gcs_media_url(storage_base: &Url, gcs_uri: &str) -> Option<Url> {
    let (bucket, object) = gcs_uri.strip_prefix("gs://")?.split_once('/')?;
    if bucket.is_empty() || object.is_empty() {
        return None;
    }
    let mut url = storage_base.join("storage/v1/b/").ok()?;
    url.path_segments_mut().ok()?.pop_if_empty().push(bucket).push("o").push(object);
    url.query_pairs_mut().append_pair("alt", "media");
    Some(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::job;

    fn target() -> VertexTarget {
        VertexTarget {
            base: Url::parse("https://us-central1-aiplatform.googleapis.com").unwrap(),
            project: "proj-1".into(),
            location: "us-central1".into(),
            model: "veo-3.1-generate-001".into(),
            storage_uri: String::new(),
            person_generation: String::new(),
        }
    }

    #[test]
    fn the_predict_url_names_project_location_and_model() {
        assert_eq!(
            target().predict_url().as_str(),
            "https://us-central1-aiplatform.googleapis.com/v1/projects/proj-1/locations/us-central1/publishers/google/models/veo-3.1-generate-001:predictLongRunning"
        );
    }

    #[test]
    fn polling_posts_to_the_operation_name_minus_its_operation_part() {
        let op = "projects/proj-1/locations/us-central1/publishers/google/models/veo-3.1-generate-001/operations/a1b2";
        assert_eq!(
            target().fetch_operation_url(op).unwrap().as_str(),
            "https://us-central1-aiplatform.googleapis.com/v1/projects/proj-1/locations/us-central1/publishers/google/models/veo-3.1-generate-001:fetchPredictOperation"
        );
        assert_eq!(target().fetch_operation_url("models/x/operations/y"), None);
    }

    #[test]
    fn the_body_has_an_integer_duration_audio_seed_and_a_base64_image() {
        let mut j = job(5, "1280x720", true, Some(6));
        j.task.params.seed = Some(42);
        j.task.params.negative_prompt = Some("blur".into());
        j.source_image = Some(vec![0x89, b'P', b'N', b'G']);
        j.task.params.source_image =
            Some(vidgate_store::SourceImageRef { sha256: "x".into(), mime: "image/png".into() });
        let mut t = target();
        t.storage_uri = "gs://bucket/out/".into();
        let body = serde_json::to_value(t.predict_body(&j).unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "instances": [{"prompt": "a red fox", "image": {"bytesBase64Encoded": "iVBORw==", "mimeType": "image/png"}}],
                "parameters": {
                    "aspectRatio": "16:9", "resolution": "720p", "durationSeconds": 6, "sampleCount": 1,
                    "personGeneration": "allow_adult", "negativePrompt": "blur", "generateAudio": true,
                    "seed": 42, "storageUri": "gs://bucket/out/"
                }
            })
        );
    }

    #[test]
    fn a_silent_text_request_turns_audio_off_and_allows_all_people() {
        let j = job(8, "1080x1920", false, Some(8));
        let body = serde_json::to_value(target().predict_body(&j).unwrap()).unwrap();
        assert_eq!(body["parameters"]["generateAudio"], false);
        assert_eq!(body["parameters"]["personGeneration"], "allow_all");
        assert_eq!(body["parameters"]["aspectRatio"], "9:16");
        assert_eq!(body["parameters"]["resolution"], "1080p");
        assert!(body["instances"][0].get("image").is_none());
    }

    #[test]
    fn a_last_frame_and_reference_images_go_under_instances_with_their_reference_type() {
        use vidgate_domain::request::GuideRole;
        use vidgate_store::{GuideImage, SourceImage};
        let guide = |role, byte: u8| GuideImage {
            role,
            image: SourceImage { mime: "image/jpeg".into(), sha256: "x".into(), bytes: vec![byte] },
        };
        let mut j = job(8, "3840x2160", false, Some(8));
        j.guide_images = vec![guide(GuideRole::LastFrame, 1)];
        let body = serde_json::to_value(target().predict_body(&j).unwrap()).unwrap();
        assert_eq!(
            body["instances"][0]["lastFrame"],
            serde_json::json!({"bytesBase64Encoded": "AQ==", "mimeType": "image/jpeg"})
        );
        assert_eq!(body["parameters"]["resolution"], "4k");
        assert_eq!(body["parameters"]["personGeneration"], "allow_adult");
        j.guide_images = vec![guide(GuideRole::Asset, 2), guide(GuideRole::Asset, 3)];
        let body = serde_json::to_value(target().predict_body(&j).unwrap()).unwrap();
        assert_eq!(
            body["instances"][0]["referenceImages"],
            serde_json::json!([
                {"image": {"bytesBase64Encoded": "Ag==", "mimeType": "image/jpeg"}, "referenceType": "asset"},
                {"image": {"bytesBase64Encoded": "Aw==", "mimeType": "image/jpeg"}, "referenceType": "asset"}
            ])
        );
        assert!(body["instances"][0].get("lastFrame").is_none() && body["parameters"].get("referenceImages").is_none());
    }

    #[test]
    fn a_gcs_uri_becomes_a_storage_api_media_url() {
        let base = Url::parse("https://storage.googleapis.com").unwrap();
        assert_eq!(
            gcs_media_url(&base, "gs://bucket/folder/sample 0.mp4").unwrap().as_str(),
            "https://storage.googleapis.com/storage/v1/b/bucket/o/folder%2Fsample%200.mp4?alt=media"
        );
        assert_eq!(gcs_media_url(&base, "https://x/y"), None);
        assert_eq!(gcs_media_url(&base, "gs://bucket"), None);
    }
}
