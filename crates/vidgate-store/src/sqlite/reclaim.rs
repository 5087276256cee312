//! Who else uses this SQLite file, and taking a dead predecessor's leases back at start-up.
//!
//! A SQLite database serves one gateway process (it has no cross-process change feed; see
//! `listen`). A process killed mid-step leaves its leases behind, and a restarted process
//! gets a new owner id, so without help it would wait `engine.lease_secs` for each of them
//! to expire. To know the predecessor is gone, every open store holds a *shared* `flock` on
//! `<database file>.lock` for its whole life (the kernel drops it when the process dies,
//! however it dies). At start-up the gateway asks for the lock *exclusively*: granted only
//! when no other open store exists anywhere on the machine, and then every lease in the
//! file is stale and is given back at once. Refused (another process, or a second handle
//! in this one, has the file open), nothing is touched and leases expire as usual.
//!
//! Must not: take leases back without the exclusive lock.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::SqliteStore;
use crate::{Result, StoreError};

/// How long opening a store waits for another process's start-up reclaim (which holds the
/// lock exclusively for one short transaction) before it gives up.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// The shared lock an open store holds on its database file (`None`: an in-memory
/// database, which no other process can open).
pub(super) struct FileLock {
    file: Option<File>,
    path: PathBuf,
}

impl FileLock {
    /// Takes the shared lock on `<database>.lock`, waiting out another store's start-up
    /// reclaim; `in_memory` databases need none.
    pub(super) async fn open(database: &Path, in_memory: bool) -> Result<FileLock> {
        let path = lock_path(database);
        if in_memory {
            return Ok(FileLock { file: None, path });
        }
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| StoreError::Database(format!("{}: {e}", path.display())))?;
        let lock = FileLock { file: Some(file), path };
        lock.shared().await?;
        Ok(lock)
    }

    /// Holds the lock shared again (waits while another store holds it exclusively).
    async fn shared(&self) -> Result<()> {
        let Some(file) = &self.file else { return Ok(()) };
        let until = tokio::time::Instant::now() + LOCK_WAIT;
        loop {
            match file.try_lock_shared() {
                Ok(()) => return Ok(()),
                Err(TryLockError::WouldBlock) if tokio::time::Instant::now() < until => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(TryLockError::WouldBlock) => {
                    let msg = format!("{} stayed locked by another process for {LOCK_WAIT:?}", self.path.display());
                    return Err(StoreError::Database(msg));
                }
                Err(TryLockError::Error(e)) => {
                    return Err(StoreError::Database(format!("{}: {e}", self.path.display())));
                }
            }
        }
    }

    /// The lock made exclusive: true when this is the only open store on the file. On
    /// false the shared lock is held again (Linux drops it when an upgrade is refused).
    async fn exclusive(&self) -> Result<bool> {
        let Some(file) = &self.file else { return Ok(true) };
        match file.try_lock() {
            Ok(()) => Ok(true),
            Err(TryLockError::WouldBlock) => self.shared().await.map(|()| false),
            Err(TryLockError::Error(e)) => Err(StoreError::Database(format!("{}: {e}", self.path.display()))),
        }
    }
}

/// `<database>.lock`, beside the database file.
fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl SqliteStore {
    /// Gives back every lease in the file when this is the only open store on it (see the
    /// module doc); `None` (nothing touched) otherwise.
    pub(super) async fn reclaim_if_alone(&self) -> Result<Option<u64>> {
        if !self.lock.exclusive().await? {
            return Ok(None);
        }
        let released = self.release_every_lease().await;
        // Back to shared whatever happened, so other handles (an operator's CLI, a reader)
        // can open the file; nobody holds a lease yet, so the short gap is harmless.
        self.lock.shared().await?;
        released.map(Some)
    }

    /// Task steps, webhook attempts and retention batches: every lease in the file.
    async fn release_every_lease(&self) -> Result<u64> {
        let mut tx = self.write().await?;
        let tasks = sqlx::query(
            "UPDATE tasks SET lease_owner = NULL, lease_until = NULL WHERE phase <> 'done' AND lease_until IS NOT NULL",
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let hooks = sqlx::query(
            "UPDATE webhook_outbox SET lease_owner = NULL, lease_until = NULL \
             WHERE state = 'pending' AND lease_until IS NOT NULL",
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let sweeps = sqlx::query("UPDATE tasks SET sweep_until = NULL WHERE sweep_until IS NOT NULL")
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(tasks + hooks + sweeps)
    }
}
