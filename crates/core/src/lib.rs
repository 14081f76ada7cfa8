//! Stride's pure domain core: parsed value types, the access policy and small
//! deterministic rules shared by the store and web crates. No I/O, no async.

pub mod availability;
pub mod calls;
pub mod email;
pub mod hours;
pub mod jobs;
pub mod leads;
pub mod phone;
pub mod role;
pub mod slug;
pub mod time;
pub mod tz;
pub mod website;
