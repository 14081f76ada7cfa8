//! The pure rules behind heatmaps, scroll depth and funnels: page patterns, the device class of a
//! viewport, plain advice for a dead click, how far a visit gets through a funnel, and how many
//! visitors reach each quarter of a page.

use super::agents::Device;

/// Whether `path` matches a page pattern where `*` stands for any run of characters
/// ("/thank-you*", "/conditions/*/treatment"). Everything else matches itself.
pub fn path_matches(pattern: &str, path: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = path.strip_prefix(first) else {
        return false;
    };
    let tail: Vec<&str> = parts.collect();
    let Some((last, middle)) = tail.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// A page pattern as the source of an anchored JavaScript regular expression, for the tracker.
pub fn pattern_js_regex(pattern: &str) -> String {
    let mut out = String::from("^");
    for c in pattern.chars() {
        match c {
            '*' => out.push_str(".*"),
            '\\' | '^' | '$' | '.' | '|' | '?' | '+' | '(' | ')' | '[' | ']' | '{' | '}' | '/' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('$');
    out
}

/// The device class of a viewport width in CSS pixels, as responsive sites break their layouts.
pub fn viewport_class(width: i64) -> Device {
    match width {
        ..768 => Device::Mobile,
        768..1024 => Device::Tablet,
        _ => Device::Desktop,
    }
}

/// What to do about an element visitors click although it does nothing, from its tag and label.
pub fn dead_click_advice(tag: &str, label: &str) -> &'static str {
    let label = label.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| label.contains(w));
    if label.contains("[phone]") || has(&["call us", "phone"]) {
        return "Visitors try to call from here: make the number a tap-to-call link (tel:).";
    }
    if has(&[
        "insurance",
        "aetna",
        "cigna",
        "medicare",
        "blue cross",
        "bcbs",
        "united",
        "humana",
    ]) {
        return "Visitors want to know if their insurance is accepted: link this to the insurance page.";
    }
    if has(&["book", "appointment", "schedule", "request"]) {
        return "Visitors are trying to book: make this a button to the appointment request or booking page.";
    }
    if has(&["map", "direction", "address", "parking", "location"]) {
        return "Visitors look for directions: link this to a map of the clinic.";
    }
    match tag {
        "img" | "picture" | "svg" | "figure" => {
            "Visitors expect this image to lead somewhere: link it to the page it illustrates."
        }
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
            "Visitors click this heading for more: link it to the page that covers it."
        }
        "li" | "span" | "strong" | "b" | "em" | "u" => {
            "This text looks clickable: link it to what it names, or style it so it does not look like a link."
        }
        _ => {
            "Visitors expect this to do something: make it a link or button, or restyle it so it does not look clickable."
        }
    }
}

/// How many steps of a funnel one visit completed, in order. `hits` lists the visit's events in
/// time order, each as the set of steps it satisfies (bit `i` for step `i`); an event advances the
/// visit by at most one step, and a step only counts once the steps before it are done.
pub fn funnel_reached(steps: usize, hits: impl IntoIterator<Item = u64>) -> usize {
    let mut reached = 0;
    for mask in hits {
        if reached >= steps {
            break;
        }
        if mask & (1 << reached) != 0 {
            reached += 1;
        }
    }
    reached
}

/// Counts per step: how many visits reached each step, from each visit's `funnel_reached`.
pub fn funnel_counts(steps: usize, reached: impl IntoIterator<Item = usize>) -> Vec<u64> {
    let mut counts = vec![0u64; steps];
    for r in reached {
        for c in counts.iter_mut().take(r.min(steps)) {
            *c += 1;
        }
    }
    counts
}

/// How many of the given per-visitor deepest scroll depths (percent of the page) reach 25, 50,
/// 75 and 100 percent.
pub fn scroll_quarters(depths: impl IntoIterator<Item = i64>) -> [u64; 4] {
    let mut out = [0u64; 4];
    for d in depths {
        for (q, n) in out.iter_mut().enumerate() {
            if d >= (q as i64 + 1) * 25 {
                *n += 1;
            }
        }
    }
    out
}

/// The received event name an event goal most likely meant when its own name has not been
/// received: the same name in other capitals, or one a typo or two away ("Appointmnt Request"
/// for "Appointment Request"). `received` holds the site's recent event names.
pub fn likely_meant<'a>(wanted: &str, received: &'a [String]) -> Option<&'a str> {
    let lower = wanted.trim().to_lowercase();
    if let Some(same) = received.iter().find(|n| n.to_lowercase() == lower) {
        return Some(same);
    }
    // A typo per four letters, at most three: "Call" never stands for "Mail".
    let limit = (lower.chars().count() / 4).clamp(1, 3);
    received
        .iter()
        .map(|n| (strsim::damerau_levenshtein(&lower, &n.to_lowercase()), n))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_paths() {
        assert!(path_matches("/thank-you*", "/thank-you"));
        assert!(path_matches("/thank-you*", "/thank-you/booking"));
        assert!(!path_matches("/thank-you*", "/thanks"));
        assert!(path_matches("/", "/"));
        assert!(!path_matches("/", "/about"));
        assert!(path_matches(
            "/conditions/*/treatment",
            "/conditions/knee/treatment"
        ));
        assert!(!path_matches(
            "/conditions/*/treatment",
            "/conditions/knee/treatment/more"
        ));
        assert!(path_matches("*", "/anything"));
        assert!(path_matches("/a*b*c", "/a-b-b-c"));
        assert!(!path_matches("/ab*ba", "/aba"));
    }

    #[test]
    fn js_regexes_escape_everything_but_the_wildcard() {
        assert_eq!(pattern_js_regex("/thank-you*"), "^\\/thank-you.*$");
        assert_eq!(pattern_js_regex("/a.b(c)"), "^\\/a\\.b\\(c\\)$");
    }

    #[test]
    fn viewports_fall_into_device_classes() {
        assert_eq!(viewport_class(375), Device::Mobile);
        assert_eq!(viewport_class(768), Device::Tablet);
        assert_eq!(viewport_class(1023), Device::Tablet);
        assert_eq!(viewport_class(1440), Device::Desktop);
    }

    #[test]
    fn advice_names_the_likely_fix() {
        assert!(dead_click_advice("img", "Aetna logo").contains("insurance page"));
        assert!(dead_click_advice("span", "[phone]").contains("tel:"));
        assert!(dead_click_advice("img", "Our team").contains("image"));
        assert!(dead_click_advice("div", "").contains("link or button"));
    }

    #[test]
    fn funnels_count_steps_in_order() {
        // Step 1 (bit 1) before step 0 does not count; then 0, 1, 2 in order.
        assert_eq!(funnel_reached(3, [0b010, 0b001, 0b010, 0b100]), 3);
        assert_eq!(funnel_reached(3, [0b010, 0b100]), 0);
        // One event satisfying two steps advances one.
        assert_eq!(funnel_reached(2, [0b11]), 1);
        assert_eq!(funnel_reached(2, [0b11, 0b11]), 2);
        assert_eq!(funnel_counts(3, [3, 1, 0, 2]), vec![3, 2, 1]);
    }

    #[test]
    fn scroll_quarters_are_cumulative() {
        assert_eq!(scroll_quarters([10, 30, 55, 80, 100]), [4, 3, 2, 1]);
    }

    #[test]
    fn a_goal_names_the_event_it_likely_meant() {
        let received: Vec<String> = ["Appointment Request", "Phone Call", "Guide Download"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            likely_meant("appointment request", &received),
            Some("Appointment Request")
        );
        assert_eq!(
            likely_meant("Appointmnt Request", &received),
            Some("Appointment Request")
        );
        assert_eq!(likely_meant("Phone Cal", &received), Some("Phone Call"));
        assert_eq!(likely_meant("Newsletter Signup", &received), None);
        assert_eq!(likely_meant("Mail", &["Call".to_string()]), None);
    }
}
