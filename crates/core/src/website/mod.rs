//! Privacy-first, cookieless website analytics (Plausible-compatible): the pure
//! rules that turn a raw pageview into what gets stored — a cleaned URL, a
//! classified source and device, and a daily-rotating visitor id, never a person.

pub mod agents;
pub mod channels;
pub mod conversion;
pub mod insights;
pub mod scrub;
pub mod urls;
pub mod visitors;

/// Cuts `s` to at most `max` characters without splitting a character, so a
/// length cap can never turn valid UTF-8 into a panic.
fn truncate_chars(s: &mut String, max: usize) {
    if let Some((at, _)) = s.char_indices().nth(max) {
        s.truncate(at);
    }
}

#[cfg(test)]
mod tests {
    use super::truncate_chars;

    #[test]
    fn truncates_on_char_boundaries() {
        let mut s = "héllo".to_owned();
        truncate_chars(&mut s, 2);
        assert_eq!(s, "hé");
        let mut s = "abc".to_owned();
        truncate_chars(&mut s, 3);
        assert_eq!(s, "abc");
        truncate_chars(&mut s, 0);
        assert_eq!(s, "");
    }
}
