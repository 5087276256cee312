//! Media files on local disk: `<root>/<task_id>/<name>` for delivered files and
//! `<root>/.tmp/` for work in progress. A file appears under its final name only once it
//! is complete (write, fsync, rename), so a crash never leaves a half file that a URL
//! could serve.

use std::io;
use std::path::{Path, PathBuf};

use vidgate_domain::TaskId;

/// The local file store.
#[derive(Clone, Debug)]
pub struct LocalFiles {
    root: PathBuf,
}

/// The names a task's files may have; anything else is never served.
pub const FILE_NAMES: [&str; 4] = ["video.mp4", "audio.m4a", "thumbnail.png", "spritesheet.png"];

impl LocalFiles {
    /// A store rooted at `root` (created if missing).
    pub fn open(root: impl Into<PathBuf>) -> io::Result<LocalFiles> {
        let root = root.into();
        std::fs::create_dir_all(root.join(".tmp"))?;
        Ok(LocalFiles { root })
    }

    /// Where a delivered file lives.
    pub fn path(&self, task: &TaskId, name: &str) -> PathBuf {
        self.root.join(task.as_str()).join(name)
    }

    /// A fresh scratch directory for one step's work; removed by the caller.
    pub fn scratch(&self, task: &TaskId) -> io::Result<PathBuf> {
        let dir = self.root.join(".tmp").join(format!("{}-{}", task, ulid::Ulid::new()));
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Moves finished files from a scratch dir into the task's folder, durably.
    pub fn publish(&self, task: &TaskId, files: &[(&Path, &str)]) -> io::Result<()> {
        let dir = self.root.join(task.as_str());
        std::fs::create_dir_all(&dir)?;
        for (src, name) in files {
            std::fs::File::open(src)?.sync_all()?;
            std::fs::rename(src, dir.join(name))?;
        }
        std::fs::File::open(&dir)?.sync_all()?;
        Ok(())
    }

    /// Removes a task's files (retention, delete).
    pub fn remove(&self, task: &TaskId) -> io::Result<()> {
        match std::fs::remove_dir_all(self.root.join(task.as_str())) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Removes scratch dirs left by a crash.
    pub fn clean_scratch(&self) -> io::Result<()> {
        for entry in std::fs::read_dir(self.root.join(".tmp"))? {
            let _ = std::fs::remove_dir_all(entry?.path());
        }
        Ok(())
    }
}
