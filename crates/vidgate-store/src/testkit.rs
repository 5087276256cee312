//! Test harnesses for the store's backends, shared by every crate's tests (enable the
//! `testkit` feature in dev-dependencies). Not part of the gateway.
//!
//! - [`postgres`]: a PostgreSQL server for tests (the one `VIDGATE_TEST_POSTGRES_URL` names,
//!   or a throwaway cluster started for the test process) and a fresh database per test.

pub mod postgres;
