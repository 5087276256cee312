//! Positioned reads from an input file and a scan of its top-level boxes.
//!
//! Owns [`Source`] (a file plus its length) and [`Layout`] (where `ftyp`, `moov`, `mdat` and
//! `moof` sit). It reads only box headers here, never sample data, so it is cheap on any size of
//! file. It must not interpret box contents: that is the demuxer's job.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::MediaError;

/// An opened input file.
pub(crate) struct Source {
    file: File,
    len: u64,
}

impl Source {
    /// Opens `path` for positioned reads.
    pub(crate) fn open(path: &Path) -> Result<Self, MediaError> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(Self { file, len })
    }

    /// File size in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Reads up to `size` bytes at `pos` (`None`: to the end of the file); short at EOF.
    pub(crate) fn read_at(&self, pos: u64, size: Option<usize>) -> Result<Vec<u8>, MediaError> {
        let available = self.len.saturating_sub(pos);
        let want = size.map_or(available, |s| (s as u64).min(available));
        let mut buf = vec![0; usize::try_from(want).map_err(|_| too_big())?];
        self.file.read_exact_at(&mut buf, pos)?;
        Ok(buf)
    }

    /// Reads exactly `buf.len()` bytes at `pos`; an error if the file is shorter.
    pub(crate) fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> Result<(), MediaError> {
        if pos.saturating_add(buf.len() as u64) > self.len {
            return Err(MediaError::Corrupt(format!(
                "sample data at {pos}+{} is past the end of the file ({} bytes)",
                buf.len(),
                self.len
            )));
        }
        self.file.read_exact_at(buf, pos)?;
        Ok(())
    }
}

fn too_big() -> MediaError {
    MediaError::Corrupt("box larger than addressable memory".into())
}

/// One top-level box: its type, where it starts and how long it is (header included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TopBox {
    pub(crate) kind: [u8; 4],
    pub(crate) offset: u64,
    pub(crate) size: u64,
}

/// The top-level structure of an MP4 file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) boxes: Vec<TopBox>,
    /// True when the last box claims to extend past the end of the file.
    pub(crate) truncated: bool,
}

impl Layout {
    /// Scans the top-level boxes. `NotMp4` unless the file starts with an `ftyp` box.
    pub(crate) fn scan(src: &Source) -> Result<Self, MediaError> {
        let mut boxes = Vec::new();
        let mut offset = 0;
        while offset < src.len() {
            let head = src.read_at(offset, Some(16))?;
            let Some(b) = parse_header(&head, offset, src.len()) else {
                return Self::stop(boxes);
            };
            if boxes.is_empty() && &b.kind != b"ftyp" {
                return Err(MediaError::NotMp4("the file does not start with an ftyp box".into()));
            }
            boxes.push(b);
            offset = b.offset + b.size;
        }
        if boxes.is_empty() {
            return Err(MediaError::NotMp4("the file is empty".into()));
        }
        let truncated = offset > src.len();
        Ok(Self { boxes, truncated })
    }

    /// Ends the scan at an unreadable header: fatal for the first box, truncation after it.
    fn stop(boxes: Vec<TopBox>) -> Result<Self, MediaError> {
        if boxes.is_empty() {
            return Err(MediaError::NotMp4("no valid box header at the start".into()));
        }
        Ok(Self { boxes, truncated: true })
    }

    /// The first box of a type.
    pub(crate) fn find(&self, kind: &[u8; 4]) -> Option<TopBox> {
        self.boxes.iter().copied().find(|b| &b.kind == kind)
    }

    /// True when `moov` precedes the first `mdat`.
    pub(crate) fn faststart(&self) -> bool {
        match (self.find(b"moov"), self.find(b"mdat")) {
            (Some(moov), Some(mdat)) => moov.offset < mdat.offset,
            _ => false,
        }
    }
}

/// Parses a box header at `offset`; `None` when it cannot be a box header.
pub(crate) fn parse_header(head: &[u8], offset: u64, file_len: u64) -> Option<TopBox> {
    if head.len() < 8 {
        return None;
    }
    let size32 = u32::from_be_bytes(head[0..4].try_into().ok()?);
    let kind: [u8; 4] = head[4..8].try_into().ok()?;
    if !kind.iter().all(|c| c.is_ascii_alphanumeric() || *c == b' ' || *c == 0xa9) {
        return None;
    }
    let size = match size32 {
        0 => file_len - offset,
        1 => u64::from_be_bytes(head.get(8..16)?.try_into().ok()?),
        n => u64::from(n),
    };
    let min = if size32 == 1 { 16 } else { 8 };
    (size >= min).then_some(TopBox { kind, offset, size })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(size: u32, kind: &[u8; 4]) -> Vec<u8> {
        let mut v = size.to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v
    }

    #[test]
    fn a_plain_header_gives_type_offset_and_size() {
        let b = parse_header(&header(24, b"ftyp"), 0, 100).unwrap();
        assert_eq!(b, TopBox { kind: *b"ftyp", offset: 0, size: 24 });
    }

    #[test]
    fn a_large_size_header_reads_the_64_bit_size() {
        let mut h = header(1, b"mdat");
        h.extend_from_slice(&5_000_000_000u64.to_be_bytes());
        let b = parse_header(&h, 40, 10).unwrap();
        assert_eq!(b.size, 5_000_000_000);
    }

    #[test]
    fn size_zero_means_up_to_the_end_of_the_file() {
        let b = parse_header(&header(0, b"mdat"), 40, 1000).unwrap();
        assert_eq!(b.size, 960);
    }

    #[test]
    fn text_and_tiny_sizes_are_not_box_headers() {
        assert_eq!(parse_header(b"hello, world", 0, 12), None);
        assert_eq!(parse_header(&header(4, b"free"), 0, 12), None);
        assert_eq!(parse_header(&[0, 0, 0], 0, 3), None);
    }
}
