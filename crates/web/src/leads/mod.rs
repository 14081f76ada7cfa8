//! Leads: the front desk's inbox, qualification and follow-up, in pages and the API.

pub mod api;
pub mod form;
pub mod import;
pub mod pages;
pub mod report;
