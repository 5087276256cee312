//! `vidgate generate PROMPT …`: submit with an idempotency key, follow to the end, download
//! the video, the audio track and the poster, print where they are and what it cost.

use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::Engine;
use vidgate_client::{Client, GenerateRequest, Task};

use super::Global;
use super::follow::{follow, require_completed};
use super::output;

/// `vidgate generate`'s flags.
#[derive(clap::Args)]
pub struct Args {
    /// What the video shows.
    prompt: String,
    /// A catalog model id or alias (`vidgate models` lists them).
    #[arg(long, default_value = "veo3.1")]
    model: String,
    /// Seconds of video (the model's default if not given).
    #[arg(long)]
    duration: Option<u32>,
    /// WIDTHxHEIGHT, such as 1280x720 (the model's default if not given).
    #[arg(long, conflicts_with_all = ["resolution", "aspect"])]
    size: Option<String>,
    /// 720p or 1080p, instead of --size.
    #[arg(long)]
    resolution: Option<String>,
    /// 16:9 or 9:16, instead of --size.
    #[arg(long)]
    aspect: Option<String>,
    /// Native audio (models that have it).
    #[arg(long, overrides_with = "no_audio")]
    audio: bool,
    /// No audio track (the default).
    #[arg(long)]
    no_audio: bool,
    /// The first frame: a PNG, JPEG or WebP file, or an https:// URL.
    #[arg(long, value_name = "PATH_OR_URL")]
    image: Option<String>,
    /// A seed, for upstreams that take one.
    #[arg(long)]
    seed: Option<u64>,
    /// KEY=VALUE echoed back on the task (at most 16); may be repeated.
    #[arg(long, value_name = "KEY=VALUE")]
    metadata: Vec<String>,
    /// Where to write the video (default TASK_ID.mp4); the audio (.m4a) and the poster
    /// (.png) go beside it.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The idempotency key (a fresh one if not given): the same key and request gives the
    /// same task back instead of a second one.
    #[arg(long)]
    idempotency_key: Option<String>,
}

/// Runs `vidgate generate`.
pub async fn run(g: &Global, args: Args) -> anyhow::Result<()> {
    let client = g.client()?;
    let request = request(&args)?;
    let task = client.submit(&request, args.idempotency_key.as_deref()).await?;
    let done = follow(&client, &task, g.json).await?;
    require_completed(&done)?;
    let target = args.output.unwrap_or_else(|| PathBuf::from(format!("{}.mp4", done.task_id)));
    let files = download_all(&client, &done, &target).await?;
    if g.json {
        return output::json(&done);
    }
    let mut lines: Vec<(&str, String)> = files.into_iter().map(|(k, p)| (k, p.display().to_string())).collect();
    lines.push(("task", done.task_id.clone()));
    lines.push(("billed", billed(&done)));
    output::fields(&lines);
    Ok(())
}

fn request(args: &Args) -> anyhow::Result<GenerateRequest> {
    let audio = if args.audio { Some(true) } else { args.no_audio.then_some(false) };
    let source_image = args.image.as_deref().map(image).transpose()?;
    let mut metadata = serde_json::Map::new();
    for pair in &args.metadata {
        let (k, v) = pair.split_once('=').with_context(|| format!("--metadata takes KEY=VALUE (got {pair:?})"))?;
        metadata.insert(k.to_owned(), v.into());
    }
    Ok(GenerateRequest {
        model: args.model.clone(),
        prompt: args.prompt.clone(),
        duration_seconds: args.duration,
        size: args.size.clone(),
        resolution: args.resolution.clone(),
        aspect_ratio: args.aspect.clone(),
        audio,
        source_image,
        seed: args.seed,
        metadata,
        ..GenerateRequest::default()
    })
}

/// A URL as it is; a file as a data URI, its type read from its first bytes.
fn image(arg: &str) -> anyhow::Result<String> {
    if arg.starts_with("https://") || arg.starts_with("http://") || arg.starts_with("data:") {
        return Ok(arg.to_owned());
    }
    let bytes = std::fs::read(arg).with_context(|| format!("reading the image {arg}"))?;
    let mime = match bytes.as_slice() {
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "image/webp",
        _ => anyhow::bail!("{arg} is not a PNG, JPEG or WebP image"),
    };
    Ok(format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes)))
}

/// Downloads the task's video to `target` and its audio and poster beside it; what was
/// written, labelled.
pub async fn download_all(client: &Client, task: &Task, target: &Path) -> anyhow::Result<Vec<(&'static str, PathBuf)>> {
    let wanted = [
        ("video", task.result_url.as_deref(), target.to_path_buf()),
        ("audio", task.audio_url.as_deref(), target.with_extension("m4a")),
        ("poster", task.thumbnail_url.as_deref(), target.with_extension("png")),
    ];
    let mut written = Vec::new();
    for (label, url, path) in wanted {
        let Some(url) = url else { continue };
        client.download(url, &path).await.with_context(|| format!("downloading the {label} to {}", path.display()))?;
        written.push((label, path));
    }
    anyhow::ensure!(!written.is_empty(), "task {} has no files to download (removed after retention?)", task.task_id);
    Ok(written)
}

/// `5 s, 2 USD`.
pub fn billed(task: &Task) -> String {
    let seconds =
        task.billed_seconds().map_or_else(|| "-".to_owned(), |s| format!("{}", (s * 1000.0).round() / 1000.0));
    format!("{seconds} s, {} USD", task.credits_used)
}

#[cfg(test)]
mod tests {
    use super::image;

    #[test]
    fn an_image_file_becomes_a_data_uri_of_the_type_its_bytes_say_and_a_url_passes_as_it_is() {
        let dir = std::env::temp_dir().join(format!("vidgate-image-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let png = dir.join("a.jpg");
        std::fs::write(&png, b"\x89PNG\r\n\x1a\nrest").unwrap();
        assert_eq!(image(png.to_str().unwrap()).unwrap(), "data:image/png;base64,iVBORw0KGgpyZXN0");
        let text = dir.join("b.png");
        std::fs::write(&text, b"hello").unwrap();
        let err = image(text.to_str().unwrap()).unwrap_err().to_string();
        assert_eq!(err, format!("{} is not a PNG, JPEG or WebP image", text.display()));
        assert_eq!(image("https://example.com/a.png").unwrap(), "https://example.com/a.png");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
