//! Stride's pure domain core: parsed value types, the access policy and small
//! deterministic rules shared by the store and web crates. No I/O, no async.

pub mod attendance;
pub mod availability;
pub mod billing;
pub mod calls;
pub mod care;
pub mod deposits;
pub mod email;
pub mod fhir;
pub mod hours;
pub mod ics;
pub mod jobs;
pub mod leads;
pub mod payers;
pub mod phone;
pub mod reminders;
pub mod role;
pub mod slug;
pub mod time;
pub mod tz;
pub mod website;
