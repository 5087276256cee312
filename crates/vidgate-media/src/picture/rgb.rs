//! An owned RGB8 picture with the few operations posters and sprite sheets need: area-average
//! downscaling, pasting, and writing a PNG.
//!
//! Owns pixel math on packed RGB. It must not know about video or codecs.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use crate::MediaError;

/// A packed RGB8 image, rows top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RgbImage {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) data: Vec<u8>,
}

impl RgbImage {
    /// A black image.
    pub(crate) fn new(width: u32, height: u32) -> Self {
        Self { width, height, data: vec![0; width as usize * height as usize * 3] }
    }

    fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }

    /// Resizes by averaging the source pixels under each target pixel (good for shrinking);
    /// nearest-neighbour when enlarging.
    pub(crate) fn resize(&self, width: u32, height: u32) -> RgbImage {
        let mut out = RgbImage::new(width, height);
        let xs = spans(self.width, width);
        let ys = spans(self.height, height);
        for (ty, &(y0, y1)) in ys.iter().enumerate() {
            for (tx, &(x0, x1)) in xs.iter().enumerate() {
                let px = self.average(x0, x1, y0, y1);
                let i = (ty * width as usize + tx) * 3;
                out.data[i..i + 3].copy_from_slice(&px);
            }
        }
        out
    }

    fn average(&self, x0: u32, x1: u32, y0: u32, y1: u32) -> [u8; 3] {
        let mut sum = [0u64; 3];
        for y in y0..y1 {
            for x in x0..x1 {
                let p = self.pixel(x, y);
                for c in 0..3 {
                    sum[c] += u64::from(p[c]);
                }
            }
        }
        let n = u64::from((x1 - x0) * (y1 - y0));
        sum.map(|s| ((s + n / 2) / n) as u8)
    }

    /// Copies `tile` into this image with its top-left corner at (`x`, `y`), clipped.
    pub(crate) fn paste(&mut self, tile: &RgbImage, x: u32, y: u32) {
        let w = tile.width.min(self.width.saturating_sub(x)) as usize;
        for row in 0..tile.height.min(self.height.saturating_sub(y)) {
            let src = row as usize * tile.width as usize * 3;
            let dst = ((y + row) as usize * self.width as usize + x as usize) * 3;
            self.data[dst..dst + w * 3].copy_from_slice(&tile.data[src..src + w * 3]);
        }
    }

    /// Writes the image as an 8-bit RGB PNG.
    pub(crate) fn write_png(&self, path: &Path) -> Result<(), MediaError> {
        let file = BufWriter::new(File::create(path)?);
        let mut encoder = png::Encoder::new(file, self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().map_err(|e| MediaError::encode("png", e))?;
        writer.write_image_data(&self.data).map_err(|e| MediaError::encode("png", e))?;
        writer.finish().map_err(|e| MediaError::encode("png", e))
    }
}

/// For each of `to` target positions, the half-open source range it covers (never empty).
fn spans(from: u32, to: u32) -> Vec<(u32, u32)> {
    (0..to)
        .map(|i| {
            let start = (u64::from(i) * u64::from(from) / u64::from(to)) as u32;
            let end = (u64::from(i + 1) * u64::from(from) / u64::from(to)) as u32;
            (start.min(from - 1), end.max(start + 1).min(from))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_the_source_without_gaps_when_shrinking() {
        assert_eq!(spans(4, 2), vec![(0, 2), (2, 4)]);
        assert_eq!(spans(5, 2), vec![(0, 2), (2, 5)]);
    }

    #[test]
    fn spans_repeat_source_pixels_when_enlarging() {
        assert_eq!(spans(2, 4), vec![(0, 1), (0, 1), (1, 2), (1, 2)]);
    }

    #[test]
    fn shrinking_averages_each_block() {
        let img = RgbImage { width: 2, height: 1, data: vec![0, 100, 255, 10, 200, 255] };
        assert_eq!(img.resize(1, 1).data, vec![5, 150, 255]);
    }

    #[test]
    fn pasting_clips_at_the_right_and_bottom_edges() {
        let mut canvas = RgbImage::new(3, 2);
        let tile = RgbImage { width: 2, height: 2, data: vec![9; 12] };
        canvas.paste(&tile, 2, 1);
        assert_eq!(canvas.data, vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 9, 9]);
    }
}
