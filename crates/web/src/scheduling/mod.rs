//! Scheduling: appointment types, availability and booking (the API first; pages follow).

pub mod api;
pub mod pages;
