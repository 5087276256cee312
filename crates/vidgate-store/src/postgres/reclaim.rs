//! Start-up lease reclaim on PostgreSQL: never. Replicas share the database, so a lease
//! this process did not take may belong to a live replica, and taking it would run that
//! task's step twice at once (fencing keeps the writes safe, but an upstream submit of a
//! non-idempotent provider would then fail the task as a possible orphan). A dead
//! replica's leases expire after `engine.lease_secs` and any replica takes the tasks over.
//!
//! A stable owner id per replica would let a restarted one take back its own leases, but
//! nothing here could prove that two running replicas were not given the same id; that is
//! why the restart shortcut exists only where the store can prove it is alone (SQLite).

use super::PgStore;
use crate::Result;

impl PgStore {
    /// `None`: another process may be holding any of the leases (see the module doc).
    pub(super) async fn reclaim_stale_leases_at_startup_impl(&self) -> Result<Option<u64>> {
        Ok(None)
    }
}
