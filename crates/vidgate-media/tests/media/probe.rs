//! `probe` agrees with ffprobe on every fixture shape.

use vidgate_media::{AudioCodec, VideoCodec, probe};

use crate::common::{assert_within_frame, duration_ms, ffprobe, fixtures, num, stream};

fn family(codec_name: &str) -> VideoCodec {
    match codec_name {
        "h264" => VideoCodec::H264,
        "hevc" => VideoCodec::Hevc,
        "av1" => VideoCodec::Av1,
        "vp9" => VideoCodec::Vp9,
        _ => VideoCodec::Other,
    }
}

fn audio_family(codec_name: &str) -> AudioCodec {
    match codec_name {
        "aac" => AudioCodec::Aac,
        "opus" => AudioCodec::Opus,
        _ => AudioCodec::Other,
    }
}

#[test]
fn probe_agrees_with_ffprobe_on_every_fixture() {
    for fixture in fixtures::all() {
        let info = probe(&fixture.path).unwrap_or_else(|e| panic!("{}: {e}", fixture.name));
        let reference = ffprobe(&fixture.path);
        let name = fixture.name;

        let v = info.video.as_ref().unwrap_or_else(|| panic!("{name}: no video"));
        let rv = stream(&reference, "video").unwrap();
        assert_eq!(v.kind, family(rv["codec_name"].as_str().unwrap()), "{name}: video codec");
        assert_eq!(v.kind, fixture.video, "{name}: video codec");
        assert_eq!(
            (v.width, v.height),
            (rv["width"].as_u64().unwrap() as u32, rv["height"].as_u64().unwrap() as u32),
            "{name}: size"
        );
        assert_eq!((v.width, v.height), (320, 180), "{name}: size");
        let (n, d) = rv["avg_frame_rate"].as_str().unwrap().split_once('/').unwrap();
        let fps: f64 = n.parse::<f64>().unwrap() / d.parse::<f64>().unwrap();
        assert!((v.fps - fps).abs() < 0.01, "{name}: fps {} vs {fps}", v.fps);
        assert!((v.fps - 24.0).abs() < 0.01, "{name}: fps {}", v.fps);
        assert_eq!(v.frames, 60, "{name}: frames");
        assert_within_frame(&format!("{name} video duration"), v.duration_ms as f64, duration_ms(rv));

        match (&info.audio, stream(&reference, "audio")) {
            (Some(a), Some(ra)) => {
                assert_eq!(a.kind, audio_family(ra["codec_name"].as_str().unwrap()), "{name}: audio codec");
                assert_eq!(Some(a.kind), fixture.audio, "{name}: audio codec");
                assert_eq!(a.sample_rate as f64, num(ra, "sample_rate"), "{name}: sample rate");
                assert_eq!(u64::from(a.channels), ra["channels"].as_u64().unwrap(), "{name}: channels");
                assert_eq!((a.sample_rate, a.channels), (48_000, 2), "{name}: audio format");
                assert_within_frame(&format!("{name} audio duration"), a.duration_ms as f64, duration_ms(ra));
            }
            (None, None) => assert_eq!(fixture.audio, None),
            (ours, theirs) => panic!("{name}: audio {ours:?} vs ffprobe {theirs:?}"),
        }
        assert_within_frame(
            &format!("{name} duration"),
            info.duration_ms as f64,
            num(&reference["format"], "duration") * 1000.0,
        );
        assert_eq!(info.fragmented, fixture.fragmented, "{name}: fragmented");
        assert_eq!(info.faststart, fixture.faststart, "{name}: faststart");
        assert_eq!(info.bytes, std::fs::metadata(&fixture.path).unwrap().len(), "{name}: bytes");
    }
}

#[test]
fn probe_reports_rfc6381_codec_strings() {
    let codec = |name: &str| probe(&fixtures::get(name).path).unwrap();
    assert_eq!(codec("sandbox").video.unwrap().codec, "avc1.42c00c");
    assert_eq!(codec("faststart").video.unwrap().codec, "avc1.64000c");
    assert_eq!(codec("main_bframes").video.unwrap().codec, "avc1.4d400c");
    assert_eq!(codec("hevc").video.unwrap().codec, "hvc1.1.6.L60.90");
    assert_eq!(codec("faststart").audio.unwrap().codec, "mp4a.40.2");
    assert_eq!(codec("opus").audio.unwrap().codec, "Opus");
}

#[test]
fn probing_something_that_is_not_an_mp4_says_so() {
    let scratch = crate::common::Scratch::new("not-mp4");
    let text = scratch.path("notes.txt");
    std::fs::write(&text, "just some words, not a video\n").unwrap();
    assert!(matches!(probe(&text), Err(vidgate_media::MediaError::NotMp4(_))));
    assert!(matches!(probe(&scratch.path("missing.mp4")), Err(vidgate_media::MediaError::Io(_))));
}
