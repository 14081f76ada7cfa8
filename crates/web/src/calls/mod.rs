//! Call tracking: Twilio's webhooks, the calls page with one-click classes, and tracking numbers.

pub mod api;
pub mod hooks;
pub mod numbers;
pub mod pages;
