//! URL-safe short names ("riverside-physical-therapy") for practices and
//! sites, plus a suggestion helper that derives one from a display name.
//! Slugs appear in public links, so the rules are strict and ASCII-only.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub const MIN_LEN: usize = 2;
pub const MAX_LEN: usize = 40;

/// 2–40 characters of `a-z`, `0-9` and `-`; starts with a letter, has no
/// "--" and does not end with "-".
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    #[error("“{0}” is too short for a web address name (use at least 2 characters)")]
    TooShort(String),
    #[error("“{0}” is too long for a web address name (use at most 40 characters)")]
    TooLong(String),
    #[error("“{0}” can’t be used in a web address (use only lowercase letters, digits and dashes)")]
    BadChar(String),
    #[error("“{0}” can’t be used in a web address (it must start with a letter)")]
    BadStart(String),
    #[error(
        "“{0}” can’t be used in a web address (it can’t end with a dash or have two dashes in a row)"
    )]
    BadDashes(String),
}

impl Slug {
    pub fn parse(input: &str) -> Result<Self, SlugError> {
        let s = input.trim();
        let err = |f: fn(String) -> SlugError| Err(f(input.to_owned()));
        if !s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return err(SlugError::BadChar);
        }
        if s.len() < MIN_LEN {
            return err(SlugError::TooShort);
        }
        if s.len() > MAX_LEN {
            return err(SlugError::TooLong);
        }
        if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
            return err(SlugError::BadStart);
        }
        if s.ends_with('-') || s.contains("--") {
            return err(SlugError::BadDashes);
        }
        Ok(Slug(s.to_owned()))
    }

    /// Suggests a slug for a display name: lowercased, common accents
    /// folded, "&" spelled "and", apostrophes dropped, everything else a
    /// word break. Leading digits are skipped (slugs start with a letter) and
    /// long names are cut at a word boundary. `None` if too little is left.
    pub fn from_name(name: &str) -> Option<Slug> {
        let mut out = String::new();
        for c in name.chars().flat_map(char::to_lowercase) {
            match c {
                'a'..='z' => out.push(c),
                '0'..='9' if !out.is_empty() => out.push(c),
                '\'' | '’' => {}
                '&' => push_word(&mut out, "and"),
                _ => match fold(c) {
                    Some(f) => out.push_str(f),
                    None if !out.is_empty() && !out.ends_with('-') => out.push('-'),
                    None => {}
                },
            }
        }
        let mut s = out.trim_end_matches('-').to_owned();
        if s.len() > MAX_LEN {
            // All ASCII here, so byte indices are char boundaries.
            let cut = match s[..=MAX_LEN].rfind('-') {
                Some(i) if i >= MIN_LEN => i,
                _ => MAX_LEN,
            };
            s.truncate(cut);
            s.truncate(s.trim_end_matches('-').len());
        }
        Slug::parse(&s).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn push_word(out: &mut String, word: &str) {
    if !out.is_empty() && !out.ends_with('-') {
        out.push('-');
    }
    out.push_str(word);
    out.push('-');
}

/// ASCII spellings for the accented Latin letters clinic names commonly use.
fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => "a",
        'ç' | 'č' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'ē' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'ī' => "i",
        'ñ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => "o",
        'ù' | 'ú' | 'û' | 'ü' | 'ū' => "u",
        'ý' | 'ÿ' => "y",
        'š' => "s",
        'ž' => "z",
        'ß' => "ss",
        'æ' => "ae",
        'œ' => "oe",
        _ => return None,
    })
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Slug {
    type Err = SlugError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Slug {
    type Error = SlugError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Slug> for String {
    fn from(s: Slug) -> String {
        s.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn suggest(name: &str) -> Option<String> {
        Slug::from_name(name).map(String::from)
    }

    #[test]
    fn valid_slugs() {
        for s in ["ab", "riverside-pt", "a1", "clinic-2", &"a".repeat(40)] {
            assert_eq!(Slug::parse(s).unwrap().as_str(), s);
        }
    }

    #[test]
    fn invalid_slugs() {
        use SlugError as E;
        // Error constructors, so each case names the reason it must fail for.
        type Reason = fn(String) -> SlugError;
        let cases: [(&str, Reason); 10] = [
            ("a", E::TooShort),
            ("", E::TooShort),
            ("Riverside", E::BadChar),
            ("river side", E::BadChar),
            ("river_side", E::BadChar),
            ("café", E::BadChar),
            ("1clinic", E::BadStart),
            ("-clinic", E::BadStart),
            ("river--side", E::BadDashes),
            ("riverside-", E::BadDashes),
        ];
        for (s, err) in cases {
            assert_eq!(Slug::parse(s), Err(err(s.to_owned())), "{s}");
        }
        let long = "a".repeat(41);
        assert_eq!(Slug::parse(&long), Err(SlugError::TooLong(long.clone())));
        assert_eq!(
            Slug::parse("Riverside").unwrap_err().to_string(),
            "“Riverside” can’t be used in a web address (use only lowercase letters, digits and dashes)"
        );
    }

    #[test]
    fn suggestions() {
        let cases = [
            ("Riverside Physical Therapy", "riverside-physical-therapy"),
            ("  St. Mary's PT & Rehab!  ", "st-marys-pt-and-rehab"),
            ("Café Mañana Physio", "cafe-manana-physio"),
            ("123 Main Street PT", "main-street-pt"),
            ("PT — 2nd Ave", "pt-2nd-ave"),
            (
                "Greater Metropolitan Area Sports Physical Therapy and Rehabilitation",
                "greater-metropolitan-area-sports",
            ),
            (
                "Supercalifragilisticexpialidociousphysiotherapy",
                "supercalifragilisticexpialidociousphysio",
            ),
        ];
        for (name, want) in cases {
            assert_eq!(suggest(name).as_deref(), Some(want), "{name}");
        }
        assert_eq!(suggest("!!!"), None);
        assert_eq!(suggest("42"), None);
        assert_eq!(suggest("X"), None);
    }

    proptest! {
        #[test]
        fn suggestions_are_valid(name in "\\PC{0,80}") {
            if let Some(s) = Slug::from_name(&name) {
                prop_assert_eq!(Slug::parse(s.as_str()), Ok(s.clone()));
                prop_assert!(s.as_str().len() <= MAX_LEN);
            }
        }

        #[test]
        fn ascii_words_always_suggest(words in prop::collection::vec("[A-Za-z]{2,12}", 1..8)) {
            prop_assert!(Slug::from_name(&words.join(" ")).is_some());
        }
    }
}
