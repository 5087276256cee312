//! A small CLI over the crate, for trying it by hand:
//! `cargo run -p vidgate-media --release --example mediatool -- probe FILE...`
//! (also `extract-audio IN OUT`, `strip-audio IN OUT`, `trim IN OUT MS`, `poster IN OUT.png MS`,
//! `sprite IN OUT.png COLS ROWS TILE_W`, `render OUT W H MS SEED [PROMPT [IMAGE]]`).

use std::path::Path;

use vidgate_media::sandbox::{RenderSpec, render};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let p = |i: usize| Path::new(&args[i]);
    let n = |i: usize| args[i].parse::<u64>().expect("a number");
    match args.first().map(String::as_str) {
        Some("probe") => {
            for file in &args[1..] {
                println!("{file}: {:#?}", vidgate_media::probe(Path::new(file))?);
            }
        }
        Some("extract-audio") => println!("{:#?}", vidgate_media::extract_audio(p(1), p(2))?),
        Some("strip-audio") => println!("{:#?}", vidgate_media::strip_audio(p(1), p(2))?),
        Some("trim") => println!("{:#?}", vidgate_media::trim(p(1), p(2), n(3))?),
        Some("poster") => println!("{:?}", vidgate_media::poster(p(1), p(2), n(3))?),
        Some("sprite") => {
            println!("{:?}", vidgate_media::spritesheet(p(1), p(2), n(3) as u32, n(4) as u32, n(5) as u32)?)
        }
        Some("render") => {
            let spec = RenderSpec {
                width: n(2) as u32,
                height: n(3) as u32,
                duration_ms: n(4),
                seed: n(5),
                prompt: args.get(6).cloned().unwrap_or_else(|| "a lighthouse at dusk".into()),
                audio: true,
                source_image: args.get(7).map(|f| std::fs::read(f).expect("read the source image")),
                created: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default(),
            };
            println!("{:?}", render(&spec, p(1))?);
        }
        _ => eprintln!("usage: mediatool probe|extract-audio|strip-audio|trim|poster|sprite|render ..."),
    }
    Ok(())
}
