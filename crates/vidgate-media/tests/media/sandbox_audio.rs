//! The sandbox soundtrack is real AAC-LC that decodes to audible, changing sound.

use vidgate_media::sandbox::{RenderSpec, render};

use crate::common::{FRAME_MS, Scratch, duration_ms, ffprobe, num, run, stream};

const RATE: usize = 48_000;

fn rendered(seed: u64) -> (Scratch, std::path::PathBuf) {
    let scratch = Scratch::new("sound");
    let out = scratch.path("sound.mp4");
    let spec = RenderSpec {
        width: 160,
        height: 96,
        duration_ms: 5000,
        seed,
        prompt: "thunder over a quiet harbour with bells".into(),
        audio: true,
        source_image: None,
        created: std::time::Duration::from_secs(1_800_000_000),
    };
    render(&spec, &out).unwrap();
    (scratch, out)
}

/// Decoded PCM, left and right averaged.
fn mono_pcm(path: &std::path::Path) -> Vec<f64> {
    let raw = run(
        "ffmpeg",
        &["-v", "error", "-i", path.to_str().unwrap(), "-map", "0:a", "-f", "s16le", "-ac", "2", "-ar", "48000", "-"],
    )
    .stdout;
    raw.chunks_exact(4)
        .map(|c| (f64::from(i16::from_le_bytes([c[0], c[1]])) + f64::from(i16::from_le_bytes([c[2], c[3]]))) / 2.0)
        .collect()
}

fn rms(window: &[f64]) -> f64 {
    (window.iter().map(|s| s * s).sum::<f64>() / window.len() as f64).sqrt()
}

/// The strongest frequency between 80 Hz and 2 kHz in a 4096-sample window (Goertzel per bin).
fn dominant_hz(window: &[f64]) -> f64 {
    let n = 4096;
    let w = &window[..n];
    let bin_hz = RATE as f64 / n as f64;
    (7..=170)
        .map(|k| {
            let coeff = 2.0 * (std::f64::consts::TAU * k as f64 / n as f64).cos();
            let (mut s1, mut s2) = (0.0, 0.0);
            for x in w {
                let s0 = x + coeff * s1 - s2;
                s2 = s1;
                s1 = s0;
            }
            (k, s1 * s1 + s2 * s2 - coeff * s1 * s2)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(k, _)| k as f64 * bin_hz)
        .unwrap()
}

#[test]
fn the_soundtrack_is_aac_lc_48khz_stereo_as_long_as_the_video() {
    let (_scratch, out) = rendered(21);
    let p = ffprobe(&out);
    let (a, v) = (stream(&p, "audio").unwrap(), stream(&p, "video").unwrap());
    assert_eq!(a["codec_name"], "aac");
    assert_eq!(a["profile"], "LC");
    assert_eq!(num(a, "sample_rate"), 48_000.0);
    assert_eq!(a["channels"].as_u64(), Some(2));
    assert_eq!(a["nb_frames"].as_str(), Some("235"), "ceil(5 s * 48000 / 1024) access units");
    let gap = duration_ms(a) - duration_ms(v);
    assert!((0.0..=FRAME_MS).contains(&gap), "audio {} ms vs video {} ms", duration_ms(a), duration_ms(v));
    crate::common::assert_decodes_cleanly(&out);
}

#[test]
fn the_soundtrack_is_audible_and_changes_over_time() {
    let (_scratch, out) = rendered(21);
    let pcm = mono_pcm(&out);
    assert!(pcm.len() >= 5 * RATE, "{} samples", pcm.len());
    let windows: Vec<&[f64]> = pcm[..5 * RATE].chunks(RATE / 2).collect();
    let loudness: Vec<f64> = windows.iter().map(|w| rms(w)).collect();
    assert!(loudness.iter().all(|&r| r > 300.0), "every half second is audible: {loudness:?}");
    let (lo, hi) = loudness.iter().fold((f64::MAX, 0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
    assert!(hi > lo * 1.2, "loudness varies: {loudness:?}");
    let pitches: Vec<f64> = windows.iter().map(|w| dominant_hz(&w[2048..])).collect();
    let changes = pitches.windows(2).filter(|p| (p[0] - p[1]).abs() > 15.0).count();
    assert!(changes >= 1, "the dominant frequency changes: {pitches:?}");
    let mut distinct = pitches.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup_by(|a, b| (*a - *b).abs() <= 15.0);
    assert!(distinct.len() >= 3, "several different notes: {pitches:?}");
}

#[test]
fn different_seeds_sound_different() {
    let (_a, one) = rendered(1);
    let (_b, two) = rendered(2);
    let (x, y) = (mono_pcm(&one), mono_pcm(&two));
    let n = x.len().min(y.len());
    let diff = x[..n].iter().zip(&y[..n]).map(|(a, b)| (a - b).abs()).sum::<f64>() / n as f64;
    assert!(diff > 100.0, "mean sample difference {diff}");
}
