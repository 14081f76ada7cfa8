//! Email addresses, trimmed and lowercased so the same person typed two ways
//! matches one record. Deliberately stricter than RFC 5322: it accepts what
//! real patients and staff use and rejects what is almost always a typo.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Enter an email address")]
    Empty,
    #[error("“{0}” is not a valid email address (it needs exactly one @, like name@example.com)")]
    At(String),
    #[error(
        "“{0}” is not a valid email address (the part before the @ is empty, too long or has characters that aren’t allowed)"
    )]
    Local(String),
    #[error(
        "“{0}” is not a valid email address (the part after the @ must be a domain like example.com)"
    )]
    Domain(String),
    #[error("“{0}” is not a valid email address (it is longer than 254 characters)")]
    TooLong(String),
}

const MAX_LEN: usize = 254;
const MAX_LOCAL: usize = 64;
const MAX_LABEL: usize = 63;

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let s = input.trim().to_lowercase();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if s.len() > MAX_LEN {
            return Err(EmailError::TooLong(input.to_owned()));
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err(EmailError::At(input.to_owned()));
        };
        if domain.contains('@') {
            return Err(EmailError::At(input.to_owned()));
        }
        if !valid_local(local) {
            return Err(EmailError::Local(input.to_owned()));
        }
        if !valid_domain(domain) {
            return Err(EmailError::Domain(input.to_owned()));
        }
        Ok(EmailAddress(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn local_part(&self) -> &str {
        self.0.split_once('@').map_or("", |(l, _)| l)
    }

    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, d)| d)
    }
}

/// Unquoted RFC 5322 "dot-atom": no spaces, quotes, or stray dots.
fn valid_local(local: &str) -> bool {
    !local.is_empty()
        && local.len() <= MAX_LOCAL
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-.".contains(c))
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= MAX_LABEL
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        // An all-digit TLD means an IP address or a typo, not a mailbox domain.
        && labels.last().is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()))
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for EmailAddress {
    type Err = EmailError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = EmailError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<EmailAddress> for String {
    fn from(e: EmailAddress) -> String {
        e.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalizes() {
        let e = EmailAddress::parse("  Jane.Doe+PT@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "jane.doe+pt@example.com");
        assert_eq!(e.local_part(), "jane.doe+pt");
        assert_eq!(e.domain(), "example.com");
        assert_eq!(e.to_string(), "jane.doe+pt@example.com");
    }

    #[test]
    fn accepts_ordinary_addresses() {
        for s in [
            "a@b.co",
            "front-desk@riverside-pt.com",
            "o'brien@mail.example.org",
            "x_y@sub.domain.co.uk",
            "info@xn--bcher-kva.example",
            "123@456.com",
        ] {
            assert!(EmailAddress::parse(s).is_ok(), "{s}");
        }
    }

    #[test]
    fn rejects_malformed() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_total = format!("a@{}.com", "b.".repeat(130));
        // Error constructors, so each case names the reason it must fail for.
        type Reason = fn(String) -> EmailError;
        let cases: [(&str, Reason); 17] = [
            ("jane", EmailError::At),
            ("jane@@example.com", EmailError::At),
            ("jane@ex@ample.com", EmailError::At),
            ("@example.com", EmailError::Local),
            ("jane doe@example.com", EmailError::Local),
            (".jane@example.com", EmailError::Local),
            ("jane.@example.com", EmailError::Local),
            ("ja..ne@example.com", EmailError::Local),
            ("jané@example.com", EmailError::Local),
            (&long_local, EmailError::Local),
            ("jane@", EmailError::Domain),
            ("jane@localhost", EmailError::Domain),
            ("jane@example..com", EmailError::Domain),
            ("jane@-example.com", EmailError::Domain),
            ("jane@example-.com", EmailError::Domain),
            ("jane@exa mple.com", EmailError::Domain),
            ("jane@1.2.3.4", EmailError::Domain),
        ];
        for (s, err) in cases {
            assert_eq!(EmailAddress::parse(s), Err(err(s.to_owned())), "{s}");
        }
        assert!(matches!(
            EmailAddress::parse(&long_total),
            Err(EmailError::TooLong(_))
        ));
        assert_eq!(EmailAddress::parse("   "), Err(EmailError::Empty));
        assert_eq!(
            EmailAddress::parse("jane").unwrap_err().to_string(),
            "“jane” is not a valid email address (it needs exactly one @, like name@example.com)"
        );
    }

    #[test]
    fn length_limits_are_inclusive() {
        let local = "a".repeat(64);
        assert!(EmailAddress::parse(&format!("{local}@example.com")).is_ok());
        // 254 = 2 ("a@") + 248 + 4 (".com")
        let domain = format!(
            "{}.com",
            "b".repeat(63) + "." + &"c".repeat(63) + "." + &"d".repeat(63) + "." + &"e".repeat(56)
        );
        let total = format!("a@{domain}");
        assert_eq!(total.len(), 254);
        assert!(EmailAddress::parse(&total).is_ok());
    }

    proptest! {
        #[test]
        fn parse_is_idempotent(s in "[A-Za-z0-9._%+-]{1,20}@[A-Za-z0-9-]{1,10}\\.[A-Za-z]{2,6}") {
            if let Ok(e) = EmailAddress::parse(&s) {
                prop_assert_eq!(EmailAddress::parse(e.as_str()), Ok(e.clone()));
                prop_assert_eq!(e.as_str(), s.to_lowercase());
            }
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = EmailAddress::parse(&s);
        }
    }
}
