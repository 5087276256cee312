//! Source images for image-to-video: sniffing PNG/JPEG/WebP bytes, reading their size, and
//! decoding them cover-fit to a frame size.
//!
//! Owns the `image` crate and its limits. It must not accept other formats: the gateway only
//! promises PNG, JPEG and WebP.

use std::io::Cursor;

use image::imageops::{self, FilterType};
use image::{ImageFormat, ImageReader, Limits, RgbImage};

use crate::MediaError;

/// Largest accepted side of a source image.
const MAX_SIDE: u32 = 16_384;

/// Width and height of a PNG, JPEG or WebP image, from its header. `Invalid` for anything else.
pub fn decode_image_dimensions(bytes: &[u8]) -> Result<(u32, u32), MediaError> {
    reader(bytes)?.into_dimensions().map_err(invalid)
}

/// Decodes every pixel of a PNG, JPEG or WebP image, within the limits rendering uses (the
/// largest side, and the `image` crate's default memory cap of 512 MiB), and returns its
/// width and height. `Invalid` for an image whose header reads but whose pixel data does
/// not (truncated, or corrupt compressed data): such an image would fail every render.
pub fn decode_image_fully(bytes: &[u8]) -> Result<(u32, u32), MediaError> {
    let image = reader(bytes)?.decode().map_err(invalid)?;
    Ok((image.width(), image.height()))
}

/// Decodes a source image and scales it to exactly `width` x `height`, filling the frame and
/// cropping the overflow equally on both sides (CSS `object-fit: cover`).
pub(crate) fn decode_cover(bytes: &[u8], width: u32, height: u32) -> Result<RgbImage, MediaError> {
    let image = reader(bytes)?.decode().map_err(invalid)?.to_rgb8();
    let (cx, cy, cw, ch) = cover_crop(image.width(), image.height(), width, height);
    let cropped = imageops::crop_imm(&image, cx, cy, cw, ch).to_image();
    Ok(imageops::resize(&cropped, width, height, FilterType::Triangle))
}

/// A source image as a PNG of exactly `width` x `height`, cover-fitted like [`decode_cover`]:
/// for upstreams that take a first frame only at the frame size (OpenAI's `input_reference`).
pub fn cover_png(bytes: &[u8], width: u32, height: u32) -> Result<Vec<u8>, MediaError> {
    let mut out = Cursor::new(Vec::new());
    decode_cover(bytes, width, height)?.write_to(&mut out, ImageFormat::Png).map_err(invalid)?;
    Ok(out.into_inner())
}

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, MediaError> {
    let format = image::guess_format(bytes).map_err(|_| MediaError::Invalid("not a PNG, JPEG or WebP image".into()))?;
    if !matches!(format, ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP) {
        return Err(MediaError::Invalid(format!("unsupported image format {format:?}")));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    reader.limits(limits);
    Ok(reader)
}

fn invalid(e: image::ImageError) -> MediaError {
    MediaError::Invalid(format!("bad image: {e}"))
}

/// The centred region of a `sw` x `sh` source that has the aspect ratio of `w` x `h`.
fn cover_crop(sw: u32, sh: u32, w: u32, h: u32) -> (u32, u32, u32, u32) {
    let (sw64, sh64, w64, h64) = (u64::from(sw), u64::from(sh), u64::from(w), u64::from(h));
    if sw64 * h64 > sh64 * w64 {
        // Source is wider: keep full height.
        let cw = ((sh64 * w64 + h64 / 2) / h64).clamp(1, sw64) as u32;
        ((sw - cw) / 2, 0, cw, sh)
    } else {
        let ch = ((sw64 * h64 + w64 / 2) / w64).clamp(1, sh64) as u32;
        (0, (sh - ch) / 2, sw, ch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_bytes(width: u32, height: u32) -> Vec<u8> {
        let img = RgbImage::from_pixel(width, height, image::Rgb([10, 20, 30]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn png_dimensions_come_from_the_header() {
        assert_eq!(decode_image_dimensions(&png_bytes(33, 17)).unwrap(), (33, 17));
    }

    #[test]
    fn a_png_whose_pixel_data_is_cut_short_reads_its_header_but_does_not_decode() {
        let png = png_bytes(64, 48);
        let cut = &png[..png.len() - 40];
        assert_eq!(decode_image_dimensions(cut).unwrap(), (64, 48));
        assert!(matches!(decode_image_fully(cut), Err(MediaError::Invalid(_))));
        assert_eq!(decode_image_fully(&png).unwrap(), (64, 48));
    }

    #[test]
    fn text_and_gif_are_rejected_as_invalid() {
        assert!(matches!(decode_image_dimensions(b"hello"), Err(MediaError::Invalid(_))));
        assert!(matches!(decode_image_dimensions(b"GIF89a\x01\x00\x01\x00"), Err(MediaError::Invalid(_))));
    }

    #[test]
    fn cover_crop_trims_the_long_side_symmetrically() {
        assert_eq!(cover_crop(400, 100, 200, 100), (100, 0, 200, 100));
        assert_eq!(cover_crop(100, 400, 100, 100), (0, 150, 100, 100));
        assert_eq!(cover_crop(1920, 1080, 1280, 720), (0, 0, 1920, 1080));
    }

    #[test]
    fn cover_png_is_a_png_of_exactly_the_frame_size() {
        let png = cover_png(&png_bytes(640, 480), 1280, 720).unwrap();
        assert_eq!(image::guess_format(&png).unwrap(), ImageFormat::Png);
        assert_eq!(decode_image_dimensions(&png).unwrap(), (1280, 720));
    }

    #[test]
    fn decode_cover_returns_exactly_the_frame_size() {
        let img = decode_cover(&png_bytes(50, 20), 16, 16).unwrap();
        assert_eq!((img.width(), img.height()), (16, 16));
        assert_eq!(img.get_pixel(8, 8).0, [10, 20, 30]);
    }
}
