//! `extract_audio`, `strip_audio` and `trim` produce files ffprobe and ffmpeg accept, with the
//! expected codecs and durations, without re-encoding.

use vidgate_media::{MediaError, extract_audio, probe, strip_audio, trim};

use crate::common::{Scratch, assert_decodes_cleanly, assert_within_frame, duration_ms, ffprobe, fixtures, stream};

#[test]
fn extracted_audio_is_the_same_track_alone_in_a_faststart_file() {
    let scratch = Scratch::new("extract");
    for fixture in fixtures::all().iter().filter(|f| f.audio.is_some()) {
        let out = scratch.path(&format!("{}.m4a", fixture.name));
        let info = extract_audio(&fixture.path, &out).unwrap_or_else(|e| panic!("{}: {e}", fixture.name));
        let source = ffprobe(&fixture.path);
        let result = ffprobe(&out);
        let (src_audio, out_audio) = (stream(&source, "audio").unwrap(), stream(&result, "audio").unwrap());
        assert!(stream(&result, "video").is_none(), "{}: video left in", fixture.name);
        assert_eq!(out_audio["codec_name"], src_audio["codec_name"], "{}", fixture.name);
        assert_eq!(out_audio["channels"], src_audio["channels"], "{}", fixture.name);
        assert_eq!(packets(&out, "a"), packets(&fixture.path, "a"), "{}: packet count", fixture.name);
        assert_within_frame(fixture.name, duration_ms(out_audio), duration_ms(src_audio));
        assert!(info.video.is_none() && info.audio.is_some() && info.faststart && !info.fragmented);
        assert_decodes_cleanly(&out);
    }
}

/// Packets ffprobe reads from the first stream of a type ("a" / "v"), fragmented files included.
fn packets(path: &std::path::Path, kind: &str) -> String {
    let select = format!("{kind}:0");
    let out = crate::common::run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-count_packets",
            "-select_streams",
            &select,
            "-show_entries",
            "stream=nb_read_packets",
            "-of",
            "csv=p=0",
            path.to_str().unwrap(),
        ],
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn extracted_audio_bytes_equal_the_source_packets() {
    let scratch = Scratch::new("extract-bytes");
    let fixture = fixtures::get("faststart");
    let out = scratch.path("audio.m4a");
    extract_audio(&fixture.path, &out).unwrap();
    let packets = |p: &std::path::Path| {
        crate::common::run(
            "ffmpeg",
            &["-v", "error", "-i", p.to_str().unwrap(), "-map", "0:a", "-c", "copy", "-f", "data", "-"],
        )
        .stdout
    };
    assert_eq!(packets(&out), packets(&fixture.path));
}

#[test]
fn extracting_audio_from_a_silent_file_is_no_audio() {
    let scratch = Scratch::new("extract-none");
    let err = extract_audio(&fixtures::get("no_audio").path, &scratch.path("x.m4a")).unwrap_err();
    assert!(matches!(err, MediaError::NoAudio), "{err}");
}

#[test]
fn stripped_files_keep_the_video_and_lose_the_audio() {
    let scratch = Scratch::new("strip");
    for fixture in fixtures::all() {
        let out = scratch.path(&format!("{}.mp4", fixture.name));
        let info = strip_audio(&fixture.path, &out).unwrap_or_else(|e| panic!("{}: {e}", fixture.name));
        let (source, result) = (ffprobe(&fixture.path), ffprobe(&out));
        let (src_video, out_video) = (stream(&source, "video").unwrap(), stream(&result, "video").unwrap());
        assert!(stream(&result, "audio").is_none(), "{}: audio left in", fixture.name);
        assert_eq!(out_video["codec_name"], src_video["codec_name"], "{}", fixture.name);
        assert_eq!(packets(&out, "v"), "60", "{}", fixture.name);
        assert_within_frame(fixture.name, duration_ms(out_video), duration_ms(src_video));
        assert_eq!(info.video.as_ref().map(|v| v.frames), Some(60));
        assert!(info.audio.is_none() && info.faststart, "{}", fixture.name);
        assert_decodes_cleanly(&out);
    }
}

#[test]
fn trimming_cuts_every_track_to_the_requested_length() {
    let scratch = Scratch::new("trim");
    for fixture in fixtures::all() {
        let out = scratch.path(&format!("{}.mp4", fixture.name));
        let info = trim(&fixture.path, &out, 1500).unwrap_or_else(|e| panic!("{}: {e}", fixture.name));
        let result = ffprobe(&out);
        let video = stream(&result, "video").unwrap();
        assert_within_frame(&format!("{} video", fixture.name), duration_ms(video), 1500.0);
        if let Some(audio) = stream(&result, "audio") {
            assert_within_frame(&format!("{} audio", fixture.name), duration_ms(audio), 1500.0);
        }
        assert_eq!(stream(&result, "audio").is_some(), fixture.audio.is_some(), "{}", fixture.name);
        assert!(info.faststart, "{}", fixture.name);
        assert_within_frame(&format!("{} probe", fixture.name), info.duration_ms as f64, 1500.0);
        assert_decodes_cleanly(&out);
    }
}

#[test]
fn trimming_to_a_frame_boundary_is_exact_for_plain_files() {
    let scratch = Scratch::new("trim-exact");
    let out = scratch.path("cut.mp4");
    let info = trim(&fixtures::get("sandbox").path, &out, 1000).unwrap();
    let video = info.video.unwrap();
    assert_eq!((video.frames, video.duration_ms), (24, 1000));
    assert_eq!(info.audio.unwrap().duration_ms, 1000);
    let result = ffprobe(&out);
    assert_eq!(stream(&result, "video").unwrap()["nb_frames"].as_str(), Some("24"));
    assert_eq!(stream(&result, "video").unwrap()["duration"].as_str(), Some("1.000000"));
}

#[test]
fn trimming_a_file_that_is_already_short_enough_copies_it_unchanged() {
    let scratch = Scratch::new("trim-copy");
    let fixture = fixtures::get("moov_at_end");
    let out = scratch.path("same.mp4");
    let info = trim(&fixture.path, &out, 10_000).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&fixture.path).unwrap());
    assert_eq!(info, probe(&fixture.path).unwrap());
}

#[test]
fn trimming_to_zero_is_invalid() {
    let scratch = Scratch::new("trim-zero");
    let err = trim(&fixtures::get("sandbox").path, &scratch.path("x.mp4"), 0).unwrap_err();
    assert!(matches!(err, MediaError::Invalid(_)), "{err}");
}

#[test]
fn writing_over_the_input_is_refused_and_leaves_it_intact() {
    let scratch = Scratch::new("in-place");
    let copy = scratch.path("clip.mp4");
    std::fs::copy(&fixtures::get("faststart").path, &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();
    for result in [extract_audio(&copy, &copy), strip_audio(&copy, &copy), trim(&copy, &copy, 1000)] {
        assert!(matches!(result, Err(MediaError::Invalid(_))), "{result:?}");
    }
    assert_eq!(std::fs::read(&copy).unwrap(), before);
}
