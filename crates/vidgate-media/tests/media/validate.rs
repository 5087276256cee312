//! `validate` accepts a good delivery and rejects broken or wrong ones with a reason.

use vidgate_media::{Expectation, MediaError, validate};

use crate::common::{Scratch, fixtures};

const GOOD: Expectation = Expectation { width: 320, height: 180, min_video_ms: 2400, max_bytes: 10_000_000 };

fn reason(result: Result<vidgate_media::MediaInfo, MediaError>) -> String {
    match result {
        Err(MediaError::Invalid(reason)) => reason,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn a_complete_file_of_the_ordered_size_and_length_is_accepted() {
    for name in ["faststart", "moov_at_end", "fragmented", "sandbox"] {
        let info = validate(&fixtures::get(name).path, &GOOD).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(info.video.unwrap().width, 320);
    }
}

#[test]
fn a_truncated_file_is_rejected() {
    let scratch = Scratch::new("truncated");
    for name in ["faststart", "moov_at_end", "fragmented", "sandbox"] {
        let bytes = std::fs::read(&fixtures::get(name).path).unwrap();
        let cut = scratch.path(&format!("{name}.mp4"));
        std::fs::write(&cut, &bytes[..bytes.len() * 3 / 4]).unwrap();
        let why = reason(validate(&cut, &GOOD));
        assert!(why.contains("truncated") || why.contains("cut off") || why.contains("no moov"), "{name}: {why}");
    }
}

#[test]
fn random_bytes_and_text_are_not_mp4() {
    let scratch = Scratch::new("garbage");
    let random = scratch.path("random.mp4");
    let mut state = 0x1234_5678_u32;
    let noise: Vec<u8> = (0..50_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    std::fs::write(&random, noise).unwrap();
    assert!(reason(validate(&random, &GOOD)).contains("not an MP4"));
    let text = scratch.path("text.mp4");
    std::fs::write(&text, "<html><body>502 Bad Gateway</body></html>").unwrap();
    assert!(reason(validate(&text, &GOOD)).contains("not an MP4"));
}

#[test]
fn the_wrong_size_is_rejected() {
    let exp = Expectation { width: 1280, height: 720, ..GOOD };
    assert_eq!(reason(validate(&fixtures::get("faststart").path, &exp)), "video is 320x180, expected 1280x720");
}

#[test]
fn a_clip_shorter_than_ordered_is_rejected() {
    let exp = Expectation { min_video_ms: 5000, ..GOOD };
    assert_eq!(
        reason(validate(&fixtures::get("sandbox").path, &exp)),
        "video lasts 2500 ms, expected at least 5000 ms"
    );
}

#[test]
fn an_oversized_file_is_rejected() {
    let path = &fixtures::get("faststart").path;
    let size = std::fs::metadata(path).unwrap().len();
    let exp = Expectation { max_bytes: size - 1, ..GOOD };
    assert_eq!(reason(validate(path, &exp)), format!("file is {size} bytes, the limit is {}", size - 1));
}

#[test]
fn an_audio_only_file_has_no_video() {
    let scratch = Scratch::new("audio-only");
    let m4a = scratch.path("a.m4a");
    vidgate_media::extract_audio(&fixtures::get("faststart").path, &m4a).unwrap();
    assert_eq!(reason(validate(&m4a, &GOOD)), "the file has no video track");
}
