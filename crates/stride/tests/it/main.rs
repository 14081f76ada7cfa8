//! Stride's one integration-test binary (one binary links once; see kanidm's DO_NOT_ADD_MORE_TESTS_HERE).
//! Every test starts the real application on port 0 against SQLite, or against PostgreSQL when
//! STRIDE_TEST_DATABASE_URL names a server; `scripts/test` runs the suite both ways.

mod helpers;

mod access;
mod accounts;
mod api;
mod booking;
mod calls;
mod care;
mod cli;
mod insights;
mod jobs;
mod leads;
mod messages;
mod phi;
mod platform;
mod scheduling;
mod stripe;
mod website;
