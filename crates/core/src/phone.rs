//! Phone numbers, normalized to E.164 ("+15552013344") so one number typed in
//! different ways is stored, compared and dialed the same way. US/Canada
//! (NANP) numbers are the default; others need an explicit "+".

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A phone number in E.164 form: "+" followed by 8–15 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneE164(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("Enter a phone number")]
    Empty,
    #[error("“{0}” is not a valid US phone number (use 10 digits, like (555) 201-3344)")]
    NotNanp(String),
    #[error(
        "“{0}” is not a valid US phone number (area codes and exchanges can’t start with 0 or 1)"
    )]
    BadNanpPrefix(String),
    #[error(
        "“{0}” is not a valid international phone number (use + and the country code, 8–15 digits in all)"
    )]
    BadInternational(String),
}

impl PhoneE164 {
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        // Only digits and the usual visual separators; letters (vanity
        // numbers, "ext.") are rejected rather than silently dropped.
        if !rest
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '(' | ')' | '-' | '.'))
        {
            return Err(if plus {
                PhoneError::BadInternational(input.to_owned())
            } else {
                PhoneError::NotNanp(input.to_owned())
            });
        }
        let digits: String = rest.chars().filter(char::is_ascii_digit).collect();

        let national = match (plus, digits.len()) {
            (false, 10) => &digits[..],
            (_, 11) if digits.starts_with('1') => &digits[1..],
            (false, _) => return Err(PhoneError::NotNanp(input.to_owned())),
            // "+1" is the NANP country code, so it must be a full NANP number.
            (true, _) if digits.starts_with('1') => {
                return Err(PhoneError::NotNanp(input.to_owned()));
            }
            (true, n) => {
                // Country codes never start with 0.
                if !(8..=15).contains(&n) || digits.starts_with('0') {
                    return Err(PhoneError::BadInternational(input.to_owned()));
                }
                return Ok(PhoneE164(format!("+{digits}")));
            }
        };
        let b = national.as_bytes();
        if matches!(b[0], b'0' | b'1') || matches!(b[3], b'0' | b'1') {
            return Err(PhoneError::BadNanpPrefix(input.to_owned()));
        }
        Ok(PhoneE164(format!("+1{national}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a US/Canada number.
    pub fn is_nanp(&self) -> bool {
        self.0.len() == 12 && self.0.starts_with("+1")
    }

    /// "(555) 201-3344" for US/Canada numbers; E.164 for everything else,
    /// since foreign formats vary too much to guess.
    pub fn national_display(&self) -> String {
        if self.is_nanp() {
            let d = &self.0[2..];
            format!("({}) {}-{}", &d[..3], &d[3..6], &d[6..])
        } else {
            self.0.clone()
        }
    }
}

impl fmt::Display for PhoneE164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PhoneE164 {
    type Err = PhoneError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for PhoneE164 {
    type Error = PhoneError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<PhoneE164> for String {
    fn from(p: PhoneE164) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(s: &str) -> String {
        PhoneE164::parse(s).unwrap().to_string()
    }

    #[test]
    fn common_us_formats() {
        for s in [
            "(555) 201-3344",
            "555.201.3344",
            "+1 555 201 3344",
            "1-555-201-3344",
            "5552013344",
            "  555-201-3344 ",
            "+1 (555) 201-3344",
        ] {
            assert_eq!(ok(s), "+15552013344", "{s}");
        }
        let p = PhoneE164::parse("555.201.3344").unwrap();
        assert_eq!(p.national_display(), "(555) 201-3344");
        assert!(p.is_nanp());
    }

    #[test]
    fn rejects_bad_us_numbers() {
        for s in [
            "055-201-3344",
            "155-201-3344",
            "555-001-3344",
            "555-101-3344",
            "2-555-201-3344",
            "555-201-334",
            "555-201-33445",
            "555-CALL-NOW",
            "555-201-3344 ext 2",
            "+1 555 201 334",
            "abc",
        ] {
            assert!(PhoneE164::parse(s).is_err(), "{s}");
        }
        assert_eq!(PhoneE164::parse(" "), Err(PhoneError::Empty));
        assert_eq!(
            PhoneE164::parse("abc").unwrap_err().to_string(),
            "“abc” is not a valid US phone number (use 10 digits, like (555) 201-3344)"
        );
    }

    #[test]
    fn international_needs_plus() {
        assert_eq!(ok("+44 20 7946 0958"), "+442079460958");
        assert_eq!(ok("+49 30 1234567"), "+49301234567");
        let p = PhoneE164::parse("+44 20 7946 0958").unwrap();
        assert!(!p.is_nanp());
        assert_eq!(p.national_display(), "+442079460958");
        assert!(PhoneE164::parse("44 20 7946 0958").is_err());
        assert!(PhoneE164::parse("+1234567").is_err()); // too short
        assert!(PhoneE164::parse("+4412345678901234").is_err()); // 16 digits
        assert!(PhoneE164::parse("+0 20 7946 0958").is_err());
        assert!(PhoneE164::parse("+44 20 7946 0958x").is_err());
    }

    #[test]
    fn string_conversions_used_by_serde() {
        let p = PhoneE164::try_from("(555) 201-3344".to_owned()).unwrap();
        assert_eq!(String::from(p), "+15552013344");
    }

    fn nanp() -> impl Strategy<Value = (u16, u16, u16)> {
        (200u16..1000, 200u16..1000, 0u16..10000)
    }

    proptest! {
        #[test]
        fn every_style_parses_to_same_e164((a, e, l) in nanp(), style in 0usize..6) {
            let want = format!("+1{a:03}{e:03}{l:04}");
            let text = match style {
                0 => format!("({a:03}) {e:03}-{l:04}"),
                1 => format!("{a:03}.{e:03}.{l:04}"),
                2 => format!("+1 {a:03} {e:03} {l:04}"),
                3 => format!("1-{a:03}-{e:03}-{l:04}"),
                4 => format!("{a:03}{e:03}{l:04}"),
                _ => format!("{a:03}-{e:03}-{l:04}"),
            };
            let p = PhoneE164::parse(&text).unwrap();
            prop_assert_eq!(p.as_str(), want.as_str());
            prop_assert_eq!(PhoneE164::parse(&p.national_display()).unwrap(), p.clone());
            prop_assert_eq!(PhoneE164::parse(&p.to_string()).unwrap(), p);
        }

        #[test]
        fn international_round_trips(first in 2u8..10, rest in "[0-9]{7,14}") {
            let text = format!("+{first}{rest}");
            let p = PhoneE164::parse(&text).unwrap();
            prop_assert_eq!(p.as_str(), text.as_str());
            prop_assert_eq!(PhoneE164::parse(&p.to_string()).unwrap(), p);
        }

        #[test]
        fn never_panics(s in "\\PC{0,20}") {
            let _ = PhoneE164::parse(&s);
        }
    }
}
