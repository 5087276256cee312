//! Fitting a source image to the task's frame before it is sent, for upstreams that would
//! otherwise make a video of the image's size or aspect instead of the one planned and held
//! for.

use vidgate_domain::request::GuideRole;
use vidgate_media::MediaError;
use vidgate_store::SourceImageRef;

use crate::provider::{JobSpec, ProviderError};

/// The job with its source image cover-fitted to the frame (as the sandbox fits its first
/// frame) and sent as a PNG, for upstreams that make the video in the image's own size or
/// aspect: OpenAI's `input_reference` must match `size` (docs/upstreams.md §3.2) and Wan's
/// image-to-video follows the image's aspect (§9). `None` when the job has no image or it already fits. CPU
/// work: call it off the async threads.
pub fn fit_source_image(job: &JobSpec) -> Result<Option<JobSpec>, MediaError> {
    let (Some(bytes), Some(meta)) = (&job.source_image, &job.task.params.source_image) else { return Ok(None) };
    let size = job.task.params.size;
    if vidgate_media::decode_image_dimensions(bytes)? == (size.width, size.height) {
        return Ok(None);
    }
    let mut fitted = job.clone();
    fitted.source_image = Some(vidgate_media::cover_png(bytes, size.width, size.height)?);
    fitted.task.params.source_image = Some(SourceImageRef { mime: "image/png".into(), ..meta.clone() });
    Ok(Some(fitted))
}

/// The job with its source image and its last frame both cover-fitted to the frame, for
/// upstreams that interpolate between the two at the image's own size or aspect (Wan's
/// first-and-last-frame models, MiniMax, docs/upstreams.md §9.3, §11.3): a video that
/// starts on the fitted first frame must end on a last frame of the same size. `None` when
/// nothing needs fitting.
pub fn fit_frames(job: &JobSpec) -> Result<Option<JobSpec>, MediaError> {
    let first = fit_source_image(job)?;
    let size = job.task.params.size;
    let mut out = first.clone();
    let base = first.as_ref().unwrap_or(job);
    for (i, guide) in base.guide_images.iter().enumerate() {
        let fits = vidgate_media::decode_image_dimensions(&guide.image.bytes)? == (size.width, size.height);
        if guide.role != GuideRole::LastFrame || fits {
            continue;
        }
        let png = vidgate_media::cover_png(&guide.image.bytes, size.width, size.height)?;
        let fitted = &mut out.get_or_insert_with(|| base.clone()).guide_images[i].image;
        (fitted.bytes, fitted.mime) = (png, "image/png".into());
    }
    Ok(out)
}

/// The job with its source image fitted to the frame size, when it needs fitting (on a
/// blocking thread: decoding and scaling an image is CPU work). Nothing has been sent yet, so
/// a failure is a refusal the next route may not share.
pub async fn fitted_image(job: &JobSpec) -> Result<Option<JobSpec>, ProviderError> {
    fitted_with(job, fit_source_image).await
}

/// [`fit_frames`] on a blocking thread, as [`fitted_image`].
pub async fn fitted_frames(job: &JobSpec) -> Result<Option<JobSpec>, ProviderError> {
    fitted_with(job, fit_frames).await
}

async fn fitted_with(
    job: &JobSpec,
    fit: fn(&JobSpec) -> Result<Option<JobSpec>, MediaError>,
) -> Result<Option<JobSpec>, ProviderError> {
    if job.source_image.is_none() {
        return Ok(None);
    }
    let job = job.clone();
    let fitted = tokio::task::spawn_blocking(move || fit(&job))
        .await
        .map_err(|e| ProviderError::Refused(format!("fitting the source image: {e}")))?;
    fitted.map_err(|e| ProviderError::Refused(format!("the source image cannot be fitted to the frame: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::testing::job;

    /// A PNG of `width` x `height`, scaled up from a one-pixel PNG.
    fn png(width: u32, height: u32) -> Vec<u8> {
        use base64::Engine as _;
        let one_pixel =
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
        let bytes = base64::engine::general_purpose::STANDARD.decode(one_pixel).unwrap();
        vidgate_media::cover_png(&bytes, width, height).unwrap()
    }

    fn with_image(mut j: JobSpec, bytes: Vec<u8>, mime: &str) -> JobSpec {
        j.source_image = Some(bytes);
        j.task.params.source_image = Some(SourceImageRef { sha256: "x".into(), mime: mime.into() });
        j
    }

    #[test]
    fn a_source_image_of_another_size_is_fitted_to_the_frame_as_a_png() {
        let j = with_image(job(5, "1280x720", false, Some(8)), png(640, 480), "image/png");
        let fitted = fit_source_image(&j).unwrap().expect("refitted");
        assert_eq!(vidgate_media::decode_image_dimensions(fitted.source_image.as_ref().unwrap()).unwrap(), (1280, 720));
        assert_eq!(fitted.task.params.source_image.unwrap().mime, "image/png");
    }
    #[test]
    fn a_source_image_of_the_frame_size_or_none_is_sent_as_it_is() {
        let j = with_image(job(5, "720x1280", false, Some(8)), png(720, 1280), "image/png");
        assert!(fit_source_image(&j).unwrap().is_none());
        assert!(fit_source_image(&job(5, "720x1280", false, Some(8))).unwrap().is_none());
    }

    #[test]
    fn a_last_frame_of_another_size_is_fitted_like_the_first_and_a_fitting_one_is_kept() {
        let last = |bytes: Vec<u8>| vidgate_store::GuideImage {
            role: GuideRole::LastFrame,
            image: vidgate_store::SourceImage { mime: "image/jpeg".into(), sha256: "y".into(), bytes },
        };
        let mut j = with_image(job(5, "1280x720", false, Some(5)), png(1280, 720), "image/png");
        j.guide_images = vec![last(png(640, 480))];
        let fitted = fit_frames(&j).unwrap().expect("the last frame refitted");
        let image = &fitted.guide_images[0].image;
        assert_eq!(vidgate_media::decode_image_dimensions(&image.bytes).unwrap(), (1280, 720));
        assert_eq!(image.mime, "image/png");
        assert_eq!(fitted.source_image, j.source_image, "the first frame already fits");
        j.guide_images = vec![last(png(1280, 720))];
        assert!(fit_frames(&j).unwrap().is_none());
    }
}
