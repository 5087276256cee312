//! `cargo bench -p vidgate-media`: in-process media work against the ffmpeg CLI, and sandbox
//! render times. Prints a Markdown table (medians over several runs) for BENCHMARKS.md.
//!
//! Needs ffmpeg/ffprobe on PATH (Debian `ffmpeg`), only to make the input file and as the
//! baseline. Timings are wall clock on whatever else the machine is doing: note the load.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use vidgate_media::sandbox::{RenderSpec, RenderStats, render};

const RUNS: usize = 15;
const CLI_RUNS: usize = 7;
const RENDER_RUNS: usize = 3;

fn main() {
    let dir = std::env::temp_dir().join(format!("vidgate-media-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = make_input(&dir);
    println!("| operation | vidgate-media (median) | ffmpeg CLI (median) | speed-up |");
    println!("|---|---|---|---|");
    compare_probe(&input);
    compare_extract(&input, &dir);
    compare_poster(&input, &dir);
    println!();
    println!("| sandbox render (with audio) | total (median of {RENDER_RUNS}) | render | H.264 | audio | mux | size |");
    println!("|---|---|---|---|---|---|---|");
    bench_render(&dir, 1280, 720, 5000);
    bench_render(&dir, 1920, 1080, 10_000);
    println!();
    println!("load average at the end: {}", load_average());
    let _ = std::fs::remove_dir_all(&dir);
}

/// 10 s of 1080p24 H.264 High + AAC, faststart (the benchmark input BENCHMARKS.md describes).
fn make_input(dir: &Path) -> PathBuf {
    let out = dir.join("in.mp4");
    cli(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1920x1080:rate=24",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
            "10",
            "-c:v",
            "libx264",
            "-profile:v",
            "high",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-ac",
            "2",
            "-movflags",
            "+faststart",
            out.to_str().unwrap(),
        ],
    );
    out
}

/// Runs a CLI tool with its output captured, as a service calling it would.
fn cli(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| {
        panic!("{program} is needed for the benchmark baseline ({e}); scripts/test.sh installs it")
    });
    assert!(out.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Median wall time of `runs` calls, in milliseconds.
fn median_ms(runs: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm the page cache and lazy statics
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[runs / 2]
}

fn row(name: &str, ours: f64, theirs: f64) {
    println!("| {name} | {ours:.2} ms | {theirs:.1} ms | {:.0}x |", theirs / ours);
}

fn compare_probe(input: &Path) {
    let ours = median_ms(RUNS, || {
        vidgate_media::probe(input).unwrap();
    });
    let p = input.to_str().unwrap();
    let theirs =
        median_ms(CLI_RUNS, || cli("ffprobe", &["-v", "error", "-show_streams", "-show_format", "-of", "json", p]));
    row("probe, 10 s 1080p H.264+AAC (`ffprobe -show_streams -show_format`)", ours, theirs);
}

fn compare_extract(input: &Path, dir: &Path) {
    let (ours_out, theirs_out) = (dir.join("ours.m4a"), dir.join("theirs.m4a"));
    let ours = median_ms(RUNS, || {
        vidgate_media::extract_audio(input, &ours_out).unwrap();
    });
    let (i, o) = (input.to_str().unwrap(), theirs_out.to_str().unwrap());
    let theirs = median_ms(CLI_RUNS, || cli("ffmpeg", &["-v", "error", "-y", "-i", i, "-vn", "-c:a", "copy", o]));
    row("extract audio (`ffmpeg -vn -c:a copy`)", ours, theirs);
}

fn compare_poster(input: &Path, dir: &Path) {
    let (ours_out, theirs_out) = (dir.join("ours.png"), dir.join("theirs.png"));
    let ours = median_ms(RUNS, || {
        vidgate_media::poster(input, &ours_out, 5000).unwrap();
    });
    let (i, o) = (input.to_str().unwrap(), theirs_out.to_str().unwrap());
    let theirs = median_ms(CLI_RUNS, || {
        cli("ffmpeg", &["-v", "error", "-y", "-skip_frame", "nokey", "-ss", "5", "-i", i, "-frames:v", "1", o])
    });
    row("poster PNG at 5 s, keyframe (`ffmpeg -skip_frame nokey -ss 5 … -frames:v 1`)", ours, theirs);
}

fn bench_render(dir: &Path, width: u32, height: u32, duration_ms: u64) {
    let out = dir.join(format!("render-{width}x{height}.mp4"));
    let spec = RenderSpec {
        width,
        height,
        duration_ms,
        seed: 42,
        prompt: "a lighthouse on a cliff at dusk, waves crashing, cinematic drone shot".into(),
        audio: true,
        source_image: None,
        created: std::time::Duration::from_secs(1_800_000_000),
    };
    let mut runs: Vec<(f64, RenderStats)> = (0..RENDER_RUNS)
        .map(|_| {
            let start = Instant::now();
            let stats = render(&spec, &out).unwrap();
            (start.elapsed().as_secs_f64() * 1000.0, stats)
        })
        .collect();
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (total, s) = runs[RENDER_RUNS / 2];
    println!(
        "| {width}x{height}, {} s, 24 fps | {total:.0} ms | {} ms | {} ms | {} ms | {} ms | {:.2} MB |",
        duration_ms / 1000,
        s.render_ms,
        s.encode_ms,
        s.audio_ms,
        s.mux_ms,
        s.bytes as f64 / 1e6
    );
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
