//! The sandbox renderer: deterministic, exactly the ordered size/rate/length, faststart, and
//! image-to-video that starts on the source image.

use std::sync::Mutex;

use vidgate_media::sandbox::{RenderSpec, render, render_with_progress};
use vidgate_media::{MediaError, decode_image_dimensions, probe};

use crate::common::{Scratch, ffmpeg, ffprobe, mean_abs_diff, num, rgb_frames, run, stream};

fn spec(width: u32, height: u32, duration_ms: u64, seed: u64) -> RenderSpec {
    RenderSpec {
        width,
        height,
        duration_ms,
        seed,
        prompt: "a fox crossing a snowy field at sunrise".into(),
        audio: true,
        source_image: None,
        created: std::time::Duration::from_secs(1_800_000_000),
    }
}

#[test]
fn the_same_spec_renders_the_same_bytes() {
    let scratch = Scratch::new("determinism");
    let (a, b) = (scratch.path("a.mp4"), scratch.path("b.mp4"));
    render(&spec(256, 144, 1500, 11), &a).unwrap();
    render(&spec(256, 144, 1500, 11), &b).unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn a_different_seed_renders_a_different_clip() {
    let scratch = Scratch::new("seeds");
    let (a, b) = (scratch.path("a.mp4"), scratch.path("b.mp4"));
    render(&spec(256, 144, 1000, 1), &a).unwrap();
    render(&spec(256, 144, 1000, 2), &b).unwrap();
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let (fa, fb) = (rgb_frames(&a, &["-frames:v", "1"]), rgb_frames(&b, &["-frames:v", "1"]));
    assert!(mean_abs_diff(&fa, &fb) > 5.0, "the pictures themselves differ");
}

#[test]
fn size_rate_frame_count_and_duration_are_exact() {
    let scratch = Scratch::new("exact");
    for (w, h, ms, frames) in [(320, 180, 2500, 60), (180, 320, 1000, 24), (256, 144, 1010, 24)] {
        let out = scratch.path(&format!("{w}x{h}-{ms}.mp4"));
        let stats = render(&spec(w, h, ms, 3), &out).unwrap();
        assert_eq!(stats.frames, frames);
        assert_eq!(stats.bytes, std::fs::metadata(&out).unwrap().len());
        let p = ffprobe(&out);
        let v = stream(&p, "video").unwrap();
        assert_eq!((v["width"].as_u64(), v["height"].as_u64()), (Some(u64::from(w)), Some(u64::from(h))));
        assert_eq!(v["codec_name"], "h264");
        assert_eq!(v["pix_fmt"], "yuv420p");
        assert_eq!(v["r_frame_rate"], "24/1");
        assert_eq!(v["nb_frames"].as_str(), Some(frames.to_string().as_str()));
        assert_eq!(num(v, "duration"), ms as f64 / 1000.0, "{w}x{h} {ms} ms");
        let info = probe(&out).unwrap();
        assert!(info.faststart && !info.fragmented);
        assert_eq!(info.video.unwrap().duration_ms, ms);
    }
}

#[test]
fn keyframes_come_every_two_seconds() {
    let scratch = Scratch::new("gop");
    let out = scratch.path("gop.mp4");
    render(&spec(160, 96, 5000, 5), &out).unwrap();
    let csv = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-select_streams",
            "v",
            "-show_entries",
            "frame=key_frame",
            "-of",
            "csv=p=0",
            out.to_str().unwrap(),
        ],
    )
    .stdout;
    let keys: Vec<usize> =
        String::from_utf8(csv).unwrap().lines().enumerate().filter(|(_, l)| l.trim() == "1").map(|(i, _)| i).collect();
    assert_eq!(keys, vec![0, 48, 96]);
}

#[test]
fn without_audio_there_is_no_audio_track() {
    let scratch = Scratch::new("silent");
    let out = scratch.path("silent.mp4");
    render(&RenderSpec { audio: false, ..spec(256, 144, 1000, 4) }, &out).unwrap();
    let p = ffprobe(&out);
    assert!(stream(&p, "audio").is_none());
    assert_eq!(p["streams"].as_array().unwrap().len(), 1);
    assert!(probe(&out).unwrap().audio.is_none());
}

#[test]
fn progress_rises_from_zero_to_one_hundred() {
    let scratch = Scratch::new("progress");
    let seen = Mutex::new(Vec::new());
    render_with_progress(&spec(160, 96, 2000, 6), &scratch.path("p.mp4"), &|p| seen.lock().unwrap().push(p)).unwrap();
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.first(), Some(&0));
    assert_eq!(seen.last(), Some(&100));
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert!(seen.len() > 10, "reports along the way: {seen:?}");
}

#[test]
fn impossible_specs_are_invalid() {
    let scratch = Scratch::new("invalid");
    let out = scratch.path("x.mp4");
    for bad in [
        RenderSpec { width: 321, ..spec(320, 180, 1000, 1) },
        RenderSpec { height: 8, ..spec(320, 180, 1000, 1) },
        RenderSpec { width: 4096, ..spec(320, 180, 1000, 1) },
        spec(320, 180, 0, 1),
        RenderSpec { source_image: Some(b"not an image".to_vec()), ..spec(320, 180, 1000, 1) },
    ] {
        let err = render(&bad, &out).unwrap_err();
        assert!(matches!(err, MediaError::Invalid(_)), "{bad:?}: {err}");
    }
}

/// A 400x300 test card: gradients plus a few blocks, so scaling errors show.
fn source_card(path: &std::path::Path) {
    let img = image::RgbImage::from_fn(400, 300, |x, y| {
        let block = ((x / 50) + (y / 50)) % 2 == 0;
        image::Rgb([(x * 255 / 400) as u8, (y * 255 / 300) as u8, if block { 220 } else { 40 }])
    });
    img.save(path).unwrap();
}

#[test]
fn image_to_video_starts_on_the_cover_fit_source_and_then_moves() {
    let scratch = Scratch::new("i2v");
    let png = scratch.path("card.png");
    source_card(&png);
    let out = scratch.path("i2v.mp4");
    let source_image = Some(std::fs::read(&png).unwrap());
    render(&RenderSpec { source_image, ..spec(320, 180, 2000, 8) }, &out).unwrap();

    let expected =
        rgb_frames(&png, &["-vf", "scale=320:180:force_original_aspect_ratio=increase:flags=bilinear,crop=320:180"]);
    let first = rgb_frames(&out, &["-frames:v", "1"]);
    let diff = mean_abs_diff(&first, &expected);
    assert!(diff < 6.0, "frame 0 differs from the cover-fit source by {diff}");
    let last = rgb_frames(&out, &["-vf", "select=eq(n\\,47)", "-frames:v", "1"]);
    let moved = mean_abs_diff(&last, &expected);
    assert!(moved > diff + 4.0, "the last frame should have zoomed/panned and gained overlays ({moved} vs {diff})");
}

#[test]
fn jpeg_and_webp_sources_are_accepted_and_measured() {
    let scratch = Scratch::new("formats");
    let png = scratch.path("card.png");
    source_card(&png);
    for ext in ["jpg", "webp"] {
        let converted = scratch.path(&format!("card.{ext}"));
        ffmpeg(&["-i", png.to_str().unwrap(), converted.to_str().unwrap()]);
        let bytes = std::fs::read(&converted).unwrap();
        assert_eq!(decode_image_dimensions(&bytes).unwrap(), (400, 300), "{ext}");
        let out = scratch.path(&format!("{ext}.mp4"));
        render(&RenderSpec { source_image: Some(bytes), audio: false, ..spec(160, 96, 500, 1) }, &out).unwrap();
        assert_eq!(probe(&out).unwrap().video.unwrap().frames, 12);
    }
    assert_eq!(decode_image_dimensions(&std::fs::read(&png).unwrap()).unwrap(), (400, 300));
    assert!(matches!(decode_image_dimensions(b"GIF89a......"), Err(MediaError::Invalid(_))));
}

#[test]
fn the_creation_time_is_the_one_passed_in_and_a_trim_keeps_it() {
    let scratch = Scratch::new("creation-time");
    let (out, cut, audio) = (scratch.path("a.mp4"), scratch.path("cut.mp4"), scratch.path("a.m4a"));
    // 2027-01-15T08:00:00Z
    render(&spec(160, 96, 2000, 3), &out).unwrap();
    let created = |p: &std::path::Path| ffprobe(p)["format"]["tags"]["creation_time"].as_str().map(str::to_owned);
    assert_eq!(created(&out).as_deref(), Some("2027-01-15T08:00:00.000000Z"));
    vidgate_media::trim(&out, &cut, 1000).unwrap();
    assert_eq!(created(&cut).as_deref(), Some("2027-01-15T08:00:00.000000Z"), "a stream copy keeps it");
    vidgate_media::extract_audio(&out, &audio).unwrap();
    assert_eq!(created(&audio).as_deref(), Some("2027-01-15T08:00:00.000000Z"));
}
