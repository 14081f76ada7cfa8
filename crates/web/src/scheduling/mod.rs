//! Scheduling: appointment types, availability and booking, by API, for staff, and for patients
//! on the public booking page.

pub mod admin;
pub mod api;
pub mod attendance;
pub mod calendar;
pub mod pages;
pub mod public;
pub mod stripe;
