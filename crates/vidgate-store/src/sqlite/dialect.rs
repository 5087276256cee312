//! The SQL fragments where SQLite differs from PostgreSQL, named for the shared modules
//! (src/sql/) that splice them into statements written once.

/// Row locks: none. Every write transaction holds SQLite's single write lock from its
/// `BEGIN IMMEDIATE`, so what it reads cannot change under it.
pub(super) const FOR_UPDATE: &str = "";

/// `POSITION_OF(haystack, needle) > 0`: whether a text contains another.
pub(super) const POSITION_OF: &str = "instr";
