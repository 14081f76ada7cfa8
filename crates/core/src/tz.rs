//! IANA time zone names (like "America/Chicago") for practices and locations.
//! A name is only accepted if jiff's time zone database knows it, so every
//! stored zone can be turned into a `jiff::tz::TimeZone` without failing.

use std::fmt;
use std::str::FromStr;

use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// A time zone name known to the tz database, kept together with the resolved
/// zone so conversions never need to look it up (or fail) again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZoneName {
    name: String,
    tz: TimeZone,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeZoneError {
    #[error("Enter a time zone (for example America/Chicago)")]
    Empty,
    #[error("“{0}” is not a known IANA time zone (for example America/Chicago)")]
    Unknown(String),
}

impl TimeZoneName {
    pub fn parse(input: &str) -> Result<Self, TimeZoneError> {
        let name = input.trim();
        if name.is_empty() {
            return Err(TimeZoneError::Empty);
        }
        let unknown = || TimeZoneError::Unknown(input.to_owned());
        let tz = TimeZone::get(name).map_err(|_| unknown())?;
        // jiff resolves "Etc/Unknown" to a sentinel meaning "no idea"; a
        // clinic's schedule needs a real zone.
        if tz.is_unknown() {
            return Err(unknown());
        }
        // Lookups ignore case; store the database's spelling so equal zones
        // compare equal.
        let name = tz.iana_name().unwrap_or(name).to_owned();
        Ok(TimeZoneName { name, tz })
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    pub fn tz(&self) -> TimeZone {
        self.tz.clone()
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl FromStr for TimeZoneName {
    type Err = TimeZoneError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for TimeZoneName {
    type Error = TimeZoneError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<TimeZoneName> for String {
    fn from(t: TimeZoneName) -> String {
        t.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_zones() {
        for name in [
            "America/New_York",
            "America/Denver",
            "America/Chicago",
            "UTC",
        ] {
            let tz = TimeZoneName::parse(name).unwrap();
            assert_eq!(tz.as_str(), name);
            assert_eq!(tz.to_string(), name);
            assert_eq!(tz.tz().iana_name(), Some(name));
        }
    }

    #[test]
    fn canonical_spelling() {
        let tz = TimeZoneName::parse(" america/chicago ").unwrap();
        assert_eq!(tz.as_str(), "America/Chicago");
        assert_eq!(tz, TimeZoneName::parse("America/Chicago").unwrap());
    }

    #[test]
    fn unknown_zones() {
        assert_eq!(
            TimeZoneName::parse("Mars/Base").unwrap_err().to_string(),
            "“Mars/Base” is not a known IANA time zone (for example America/Chicago)"
        );
        assert_eq!(TimeZoneName::parse(""), Err(TimeZoneError::Empty));
        for bad in ["Etc/Unknown", "../etc/passwd", "America/", "CST6CDT/x"] {
            assert!(TimeZoneName::parse(bad).is_err(), "{bad}");
        }
    }
}
