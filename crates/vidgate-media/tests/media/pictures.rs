//! Posters and sprite sheets: PNGs of the right size, including from B-frame streams, and
//! pixels that match ffmpeg's own decode; HEVC is refused.

use vidgate_media::{MediaError, poster, spritesheet};

use crate::common::{Scratch, fixtures, mean_abs_diff, png_header, rgb_frames};

#[test]
fn posters_of_every_h264_fixture_are_full_size_rgb_pngs() {
    let scratch = Scratch::new("posters");
    for fixture in fixtures::all().iter().filter(|f| f.video == vidgate_media::VideoCodec::H264) {
        let out = scratch.path(&format!("{}.png", fixture.name));
        let size = poster(&fixture.path, &out, 1700).unwrap_or_else(|e| panic!("{}: {e}", fixture.name));
        assert_eq!(size, (320, 180), "{}", fixture.name);
        assert_eq!(png_header(&out), (320, 180, 8, 2), "{}: 8-bit RGB", fixture.name);
    }
}

#[test]
fn a_poster_shows_the_keyframe_at_or_before_the_time() {
    // Keyframes every second in the ffmpeg fixtures: 1.7 s shows the frame at 1.0 s.
    let scratch = Scratch::new("poster-pixels");
    let fixture = fixtures::get("main_bframes");
    let out = scratch.path("poster.png");
    poster(&fixture.path, &out, 1700).unwrap();
    let ours = image::open(&out).unwrap().to_rgb8().into_raw();
    let theirs = rgb_frames(&fixture.path, &["-vf", "select=eq(n\\,24)", "-frames:v", "1"]);
    let diff = mean_abs_diff(&ours, &theirs);
    assert!(diff < 3.0, "poster differs from ffmpeg's frame 24 by {diff}");
    let wrong = rgb_frames(&fixture.path, &["-vf", "select=eq(n\\,40)", "-frames:v", "1"]);
    assert!(mean_abs_diff(&ours, &wrong) > diff + 1.0, "the poster must be frame 24, not 40");
}

#[test]
fn a_sandbox_poster_matches_ffmpegs_decode_of_the_first_frame() {
    let scratch = Scratch::new("poster-sandbox");
    let fixture = fixtures::get("sandbox");
    let out = scratch.path("poster.png");
    poster(&fixture.path, &out, 0).unwrap();
    let ours = image::open(&out).unwrap().to_rgb8().into_raw();
    let theirs = rgb_frames(&fixture.path, &["-frames:v", "1"]);
    let diff = mean_abs_diff(&ours, &theirs);
    assert!(diff < 3.0, "mean abs diff {diff}");
}

#[test]
fn sprite_sheets_have_the_grid_size_with_and_without_b_frames() {
    let scratch = Scratch::new("sprites");
    for name in ["high_no_bframes", "main_bframes", "fragmented", "sandbox"] {
        let out = scratch.path(&format!("{name}.png"));
        let size = spritesheet(&fixtures::get(name).path, &out, 4, 3, 80).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(size, (320, 135), "{name}");
        assert_eq!(png_header(&out), (320, 135, 8, 2), "{name}");
    }
}

#[test]
fn sprite_tiles_differ_because_they_are_spread_over_the_clip() {
    let scratch = Scratch::new("sprite-tiles");
    let out = scratch.path("sheet.png");
    spritesheet(&fixtures::get("high_no_bframes").path, &out, 3, 1, 160).unwrap();
    let sheet = image::open(&out).unwrap().to_rgb8();
    let tile = |i: u32| image::imageops::crop_imm(&sheet, i * 160, 0, 160, 90).to_image().into_raw();
    assert!(mean_abs_diff(&tile(0), &tile(1)) > 2.0);
    assert!(mean_abs_diff(&tile(1), &tile(2)) > 2.0);
}

#[test]
fn hevc_pictures_are_an_unsupported_codec() {
    let scratch = Scratch::new("hevc-poster");
    let hevc = &fixtures::get("hevc").path;
    let err = poster(hevc, &scratch.path("p.png"), 0).unwrap_err();
    assert!(matches!(&err, MediaError::UnsupportedCodec(c) if c.contains("hvc1")), "{err}");
    let err = spritesheet(hevc, &scratch.path("s.png"), 2, 2, 64).unwrap_err();
    assert!(matches!(err, MediaError::UnsupportedCodec(_)), "{err}");
}

#[test]
fn pictures_of_an_audio_only_file_report_no_video() {
    let scratch = Scratch::new("audio-poster");
    let m4a = scratch.path("a.m4a");
    vidgate_media::extract_audio(&fixtures::get("faststart").path, &m4a).unwrap();
    assert!(matches!(poster(&m4a, &scratch.path("p.png"), 0), Err(MediaError::NoVideo)));
}
