//! Black-box tests of the HTTP surfaces: each test spawns a fresh gateway (its own data dir,
//! port 0, a catalog with tiny clips) and talks to it over HTTP like a client would.

mod helpers;

mod accounts;
mod files;
mod quickstart;
mod tasks;
mod validation;
