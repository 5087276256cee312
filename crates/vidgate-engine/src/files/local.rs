//! The local-directory media backend: `<root>/<task_id>/<name>`. A file appears under its
//! final name only once it is complete (fsync, rename, fsync of the directory), so a crash
//! never leaves a half file that a URL could serve.

use std::io::{self, SeekFrom};
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt};
use vidgate_domain::TaskId;

use super::{ByteStream, MediaError};

const BACKEND: &str = "local";
const CHUNK: usize = 64 * 1024;

/// Delivered files in a local directory.
#[derive(Clone, Debug)]
pub struct LocalDir {
    root: PathBuf,
}

impl LocalDir {
    /// A directory store rooted at `root` (created if missing).
    pub fn open(root: impl Into<PathBuf>) -> io::Result<LocalDir> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        Ok(LocalDir { root })
    }

    fn path(&self, task: &TaskId, name: &str) -> PathBuf {
        self.root.join(task.as_str()).join(name)
    }

    pub(super) async fn put(&self, task: &TaskId, files: &[(&Path, &str)]) -> Result<(), MediaError> {
        let dir = self.root.join(task.as_str());
        let moves: Vec<(PathBuf, PathBuf)> =
            files.iter().map(|(src, name)| (src.to_path_buf(), dir.join(name))).collect();
        let publish = move || -> io::Result<()> {
            std::fs::create_dir_all(&dir)?;
            for (src, dst) in &moves {
                std::fs::File::open(src)?.sync_all()?;
                std::fs::rename(src, dst)?;
            }
            std::fs::File::open(&dir)?.sync_all()
        };
        tokio::task::spawn_blocking(publish)
            .await
            .map_err(|e| MediaError::Backend { backend: BACKEND, message: e.to_string() })?
            .map_err(|e| MediaError::io(BACKEND, e))
    }

    pub(super) async fn size(&self, task: &TaskId, name: &str) -> Result<u64, MediaError> {
        match tokio::fs::metadata(self.path(task, name)).await {
            Ok(m) if m.is_file() => Ok(m.len()),
            Ok(_) => Err(MediaError::not_found(task, name)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(MediaError::not_found(task, name)),
            Err(e) => Err(MediaError::io(BACKEND, e)),
        }
    }

    pub(super) async fn read(&self, task: &TaskId, name: &str, start: u64, len: u64) -> Result<ByteStream, MediaError> {
        let size = self.size(task, name).await?;
        if start >= size && !(start == 0 && size == 0) {
            return Err(MediaError::BadRange { start, len, size });
        }
        let mut file = match tokio::fs::File::open(self.path(task, name)).await {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(MediaError::not_found(task, name)),
            Err(e) => return Err(MediaError::io(BACKEND, e)),
        };
        file.seek(SeekFrom::Start(start)).await.map_err(|e| MediaError::io(BACKEND, e))?;
        Ok(chunks(file.take(len.min(size - start))))
    }

    pub(super) async fn delete(&self, task: &TaskId) -> Result<(), MediaError> {
        match tokio::fs::remove_dir_all(self.root.join(task.as_str())).await {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(MediaError::io(BACKEND, e)),
            _ => Ok(()),
        }
    }
}

/// A reader as a stream of chunks; ends after the first error.
fn chunks<R: AsyncRead + Unpin + Send + 'static>(reader: R) -> ByteStream {
    Box::pin(futures::stream::unfold(Some(reader), |state| async move {
        let mut reader = state?;
        let mut buf = BytesMut::with_capacity(CHUNK);
        match reader.read_buf(&mut buf).await {
            Ok(0) => None,
            Ok(_) => Some((Ok(buf.freeze()), Some(reader))),
            Err(e) => Some((Err(e), None)),
        }
    }))
}
