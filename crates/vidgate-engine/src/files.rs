//! Media storage: where a task's delivered files live and how they are read back.
//! [`MediaStore`] is a closed set of backends picked from config (today the local
//! directory, [`LocalDir`], or an S3-compatible bucket, [`S3Dir`]); every backend keeps the same contract, checked by the
//! `conformance` suite (the `testkit` feature): a file appears under `(task, name)` only once it is complete,
//! reads give its size and any byte range as a stream, and deleting a task's files is
//! idempotent. Scratch work (downloads, trims, posters) always stays on local disk under
//! `<scratch root>/<task>-<ulid>`, whatever the backend.

#[cfg(feature = "testkit")]
pub mod conformance;
mod local;
mod s3;

use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::stream::BoxStream;
use vidgate_domain::TaskId;

pub use local::LocalDir;
pub use s3::{S3Dir, S3Settings};

/// The names a task's files may have; anything else is never served.
pub const FILE_NAMES: [&str; 4] = ["video.mp4", "audio.m4a", "thumbnail.png", "spritesheet.png"];

/// The media type a stored file is served (and uploaded) with, from its name.
pub fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("mp4") => "video/mp4",
        Some("m4a") => "audio/mp4",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// The bytes of a stored file (or of a range of it), in chunks.
pub type ByteStream = BoxStream<'static, io::Result<Bytes>>;

/// Why a media store operation failed; the same variants for every backend.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// No file under that (task, name).
    #[error("no such file: {task}/{name}")]
    NotFound { task: String, name: String },
    /// The byte range starts at or past the end of the file.
    #[error("range {start}+{len} is outside a file of {size} bytes")]
    BadRange { start: u64, len: u64, size: u64 },
    /// Anything else the backend reported (disk, network, credentials).
    #[error("{backend}: {message}")]
    Backend { backend: &'static str, message: String },
}

impl MediaError {
    pub(crate) fn not_found(task: &TaskId, name: &str) -> MediaError {
        MediaError::NotFound { task: task.to_string(), name: name.to_string() }
    }

    pub(crate) fn io(backend: &'static str, e: io::Error) -> MediaError {
        MediaError::Backend { backend, message: e.to_string() }
    }
}

/// Where delivered files are kept; picked from config at start-up.
#[derive(Clone, Debug)]
enum Backend {
    /// A local directory: `<root>/<task_id>/<name>`.
    Local(LocalDir),
    /// An S3-compatible bucket: `<prefix>/<task_id>/<name>`.
    S3(S3Dir),
}

/// The media store: one backend for delivered files plus a local scratch root.
#[derive(Clone, Debug)]
pub struct MediaStore {
    scratch_root: PathBuf,
    backend: Backend,
}

impl MediaStore {
    /// Files in the local directory `root` (created if missing), scratch in `<root>/.tmp`:
    /// the layout vidgate has always used.
    pub fn local(root: impl Into<PathBuf>) -> io::Result<MediaStore> {
        let root = root.into();
        let scratch_root = root.join(".tmp");
        std::fs::create_dir_all(&scratch_root)?;
        Ok(MediaStore { scratch_root, backend: Backend::Local(LocalDir::open(root)?) })
    }

    /// Files in an S3-compatible bucket, scratch in the local directory `scratch_root`
    /// (created if missing). No request is sent until the first file is stored or read.
    pub fn s3(settings: &S3Settings, scratch_root: impl Into<PathBuf>) -> Result<MediaStore, MediaError> {
        let scratch_root = scratch_root.into();
        std::fs::create_dir_all(&scratch_root).map_err(|e| MediaError::io("local", e))?;
        Ok(MediaStore { scratch_root, backend: Backend::S3(S3Dir::open(settings)?) })
    }

    /// The backend's name, for logs.
    pub fn kind(&self) -> &'static str {
        match &self.backend {
            Backend::Local(_) => "local",
            Backend::S3(_) => "s3",
        }
    }

    /// A fresh scratch directory for one step's work; removed by the caller.
    pub fn scratch(&self, task: &TaskId) -> io::Result<PathBuf> {
        let dir = self.scratch_root.join(format!("{}-{}", task, ulid::Ulid::new()));
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Removes scratch dirs left by a crash.
    pub fn clean_scratch(&self) -> io::Result<()> {
        for entry in std::fs::read_dir(&self.scratch_root)? {
            let _ = std::fs::remove_dir_all(entry?.path());
        }
        Ok(())
    }

    /// Stores finished local files as `(task, name)`, durably; each appears only once
    /// complete. The local files may be moved away (they are scratch).
    pub async fn put(&self, task: &TaskId, files: &[(&Path, &str)]) -> Result<(), MediaError> {
        match &self.backend {
            Backend::Local(dir) => dir.put(task, files).await,
            Backend::S3(bucket) => bucket.put(task, files).await,
        }
    }

    /// The size in bytes of a stored file.
    pub async fn size(&self, task: &TaskId, name: &str) -> Result<u64, MediaError> {
        match &self.backend {
            Backend::Local(dir) => dir.size(task, name).await,
            Backend::S3(bucket) => bucket.size(task, name).await,
        }
    }

    /// `len` bytes of a stored file from `start` (clamped to the end of the file).
    pub async fn read(&self, task: &TaskId, name: &str, start: u64, len: u64) -> Result<ByteStream, MediaError> {
        match &self.backend {
            Backend::Local(dir) => dir.read(task, name, start, len).await,
            Backend::S3(bucket) => bucket.read(task, name, start, len).await,
        }
    }

    /// A URL that fetches a stored file straight from the backend for `expires_in`, where the
    /// backend can mint one without a network round trip: a presigned S3 GET (SigV4 query
    /// authentication; ranges work). `None` for the local directory, or when the signature
    /// could not be made at once; the caller then hands out the gateway's own URL.
    pub fn direct_url(&self, task: &TaskId, name: &str, expires_in: std::time::Duration) -> Option<String> {
        match &self.backend {
            Backend::Local(_) => None,
            Backend::S3(bucket) => bucket.presigned_get(task, name, expires_in),
        }
    }

    /// Removes every file of a task; removing nothing is not an error (retention, delete).
    pub async fn delete(&self, task: &TaskId) -> Result<(), MediaError> {
        match &self.backend {
            Backend::Local(dir) => dir.delete(task).await,
            Backend::S3(bucket) => bucket.delete(task).await,
        }
    }
}
