//! Custom event properties are free text from the clinic's website, so they
//! are screened before storage: anything shaped like an email address, phone
//! number or SSN is dropped, and sizes are capped. Erring toward dropping is fine.

use super::truncate_chars;

pub const MAX_PROPS: usize = 30;
pub const MAX_KEY_CHARS: usize = 64;
pub const MAX_VALUE_CHARS: usize = 200;

/// Digits left after separators are removed that make a value look like a
/// phone, record or card number.
const DIGIT_RUN: usize = 7;

/// Whether `value` contains an email address, a run of 7+ digits once the
/// usual separators (space - . ( ) +) are ignored, or a US SSN. Dates such as
/// "2024-01-15" count as digit runs on purpose: a birth date is personal too.
pub fn looks_personal(value: &str) -> bool {
    has_email(value) || has_digit_run(value) || has_ssn(value)
}

fn has_email(value: &str) -> bool {
    // Property values are sometimes still URL-encoded.
    let value = value.replace("%40", "@");
    let chars: Vec<char> = value.chars().collect();
    chars.iter().enumerate().any(|(at, &c)| {
        if c != '@' || at == 0 || !is_local_char(chars[at - 1]) {
            return false;
        }
        let domain: String = chars[at + 1..]
            .iter()
            .take_while(|c| c.is_alphanumeric() || **c == '-' || **c == '.')
            .collect();
        // A sentence may end right after the address.
        let domain = domain.trim_end_matches('.');
        match domain.rsplit_once('.') {
            Some((name, tld)) => {
                !name.is_empty()
                    && !name.starts_with('.')
                    && tld.chars().count() >= 2
                    && tld.chars().all(char::is_alphabetic)
            }
            None => false,
        }
    })
}

fn is_local_char(c: char) -> bool {
    c.is_alphanumeric() || "._%+-'".contains(c)
}

fn has_digit_run(value: &str) -> bool {
    let mut run = 0;
    for c in value.chars() {
        // Unicode digits count too, so full-width numbers can't slip through.
        if c.is_numeric() {
            run += 1;
            if run >= DIGIT_RUN {
                return true;
            }
        } else if !matches!(c, ' ' | '-' | '.' | '(' | ')' | '+') {
            run = 0;
        }
    }
    false
}

/// "123-45-6789", "123 45 6789" or "123456789". The digit-run rule already
/// catches these; checking the shape explicitly keeps SSNs covered if that
/// rule is ever loosened.
fn has_ssn(value: &str) -> bool {
    let chars: Vec<char> = value.chars().collect();
    let digit = |i: usize| chars.get(i).is_some_and(char::is_ascii_digit);
    let digits = |from: usize, n: usize| (from..from + n).all(digit);
    (0..chars.len()).any(|start| {
        if (start > 0 && digit(start - 1)) || !digits(start, 3) {
            return false;
        }
        [None, Some('-'), Some(' ')].into_iter().any(|sep| {
            let width = usize::from(sep.is_some());
            let sep_at = |i: usize| sep.is_none_or(|s| chars.get(i) == Some(&s));
            let group = start + 3 + width;
            let serial = group + 2 + width;
            sep_at(start + 3)
                && digits(group, 2)
                && sep_at(group + 2)
                && digits(serial, 4)
                && !digit(serial + 4)
        })
    })
}

/// Drops properties whose key or value looks personal, keeps at most 30 of
/// the rest and truncates keys to 64 and values to 200 characters. Returns the
/// kept properties and how many were dropped as personal (not those over the cap).
pub fn scrub_props(props: Vec<(String, String)>) -> (Vec<(String, String)>, usize) {
    let mut dropped = 0;
    let mut kept = Vec::new();
    for (key, value) in props {
        let mut short_key = key.clone();
        let mut short_value = value.clone();
        truncate_chars(&mut short_key, MAX_KEY_CHARS);
        truncate_chars(&mut short_value, MAX_VALUE_CHARS);
        // Both before and after cutting: cutting could hide half an address,
        // or turn "a@b.co1" into the address "a@b.co".
        if [&key, &value, &short_key, &short_value]
            .into_iter()
            .any(|s| looks_personal(s))
        {
            dropped += 1;
            continue;
        }
        if kept.len() < MAX_PROPS && !short_key.trim().is_empty() {
            kept.push((short_key, short_value));
        }
    }
    (kept, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn personal_values() {
        for s in [
            "jane.doe@example.com",
            "Contact: JANE@Example.COM.",
            "o'brien+pt@mail.example.co.uk",
            "jane%40example.com",
            "(555) 201-3344",
            "+1 555 201 3344",
            "555.201.3344",
            "call 5552013",
            "555-2013",
            "123-45-6789",
            "ssn 123 45 6789",
            "MRN 00012345",
            "born 1985-03-12",
            "１２３４５６７",
            "4111 1111 1111 1111",
        ] {
            assert!(looks_personal(s), "{s}");
        }
    }

    #[test]
    fn ordinary_values() {
        for s in [
            "",
            "Book appointment",
            "/services/back-pain",
            "555-201",
            "Suite 100, 2500 Main St",
            "@riversidept",
            "a@b",
            "name@localhost",
            "user@example.c",
            "v1.2.3",
            "12:30 pm",
            "plan 123456",
            "2024/01/15",
            "1,234,567",
        ] {
            assert!(!looks_personal(s), "{s}");
        }
    }

    #[test]
    fn ssn_shapes() {
        assert!(has_ssn("123-45-6789"));
        assert!(has_ssn("x 123 45 6789 y"));
        assert!(has_ssn("123456789"));
        assert!(!has_ssn("123-45 6789"));
        assert!(!has_ssn("1234-45-6789"));
        assert!(!has_ssn("123-45-67890"));
        assert!(!has_ssn("123-456-789"));
    }

    fn props(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn scrubs_and_counts() {
        let (kept, dropped) = scrub_props(props(&[
            ("plan", "Knee rehab"),
            ("email", "jane@example.com"),
            ("phone", "555-201-3344"),
            ("jane@example.com", "key is personal"),
            ("", "no key"),
            ("location", "Downtown"),
        ]));
        assert_eq!(
            kept,
            props(&[("plan", "Knee rehab"), ("location", "Downtown")])
        );
        assert_eq!(dropped, 3);
    }

    #[test]
    fn caps_count_and_lengths() {
        let many: Vec<(String, String)> = (0..40)
            .map(|i| (format!("k{i}"), "v".to_owned()))
            .chain([("late".to_owned(), "555-201-3344".to_owned())])
            .collect();
        let (kept, dropped) = scrub_props(many);
        assert_eq!(kept.len(), MAX_PROPS);
        assert_eq!(kept[29].0, "k29");
        assert_eq!(dropped, 1);

        let (kept, _) = scrub_props(props(&[(&"ķ".repeat(100), &"é".repeat(300))]));
        assert_eq!(kept[0].0.chars().count(), MAX_KEY_CHARS);
        assert_eq!(kept[0].1.chars().count(), MAX_VALUE_CHARS);

        // The check runs on the whole value: an address past the cap still counts.
        let tail = format!("{} jane@example.com", "x".repeat(250));
        assert_eq!(scrub_props(props(&[("note", &tail)])).1, 1);
    }

    proptest! {
        #[test]
        fn never_panics_and_respects_caps(
            pairs in proptest::collection::vec((any::<String>(), any::<String>()), 0..40),
        ) {
            let n = pairs.len();
            let (kept, dropped) = scrub_props(pairs);
            prop_assert!(kept.len() <= MAX_PROPS);
            prop_assert!(kept.len() + dropped <= n);
            for (k, v) in &kept {
                prop_assert!(k.chars().count() <= MAX_KEY_CHARS);
                prop_assert!(v.chars().count() <= MAX_VALUE_CHARS);
                prop_assert!(!looks_personal(k) && !looks_personal(v));
            }
        }

        #[test]
        fn phone_numbers_are_personal(
            a in 200u16..1000,
            e in 200u16..1000,
            l in 0u16..10000,
            style in 0usize..4,
        ) {
            let s = match style {
                0 => format!("({a}) {e}-{l:04}"),
                1 => format!("{a}.{e}.{l:04}"),
                2 => format!("+1 {a} {e} {l:04}"),
                _ => format!("call me at {a}{e}{l:04} please"),
            };
            prop_assert!(looks_personal(&s));
        }

        #[test]
        fn emails_are_personal(
            local in "[a-z0-9._+-]{1,12}",
            domain in "[a-z0-9-]{1,12}",
            tld in "[a-z]{2,6}",
        ) {
            let email = format!("{local}@{domain}.{tld}");
            prop_assert!(looks_personal(&email));
        }
    }
}
