//! Where a visit came from: turns a pageview's referrer, UTM tags and ad click
//! ids into a source name and a marketing channel. The knowledge lives in the
//! tables below (`KNOWN`, `MEDIUMS`, `CLICK_IDS`) so extending it is one line.
//!
//! The rules, in order:
//!
//! * **Source** is the `utm_source` when given — trimmed and lowercased, with a
//!   known site's spellings folded into its friendly name ("fb", "m.facebook.com"
//!   → "Facebook", the same name its referrer gets). Otherwise a
//!   known referrer's friendly name ("Google"), otherwise the bare referrer
//!   host without "www.", otherwise the site implied by an ad click id
//!   (gclid → "Google"), otherwise "Direct". A referrer on the site's own
//!   host is a page-to-page hop, not a source, and counts as no referrer.
//! * **Channel** comes from `utm_medium` when it is a spelling we recognize
//!   (see `MEDIUMS`); "cpc"-style and "organic" mediums become social rather
//!   than search when the source is a social network. Without a recognized
//!   medium, a Google or Microsoft ad click id means paid search. Otherwise
//!   the kind of source decides: search engine → organic search, social
//!   network → organic social, webmail → email, anything else that sent or
//!   tagged the visit → referral, and nothing at all → direct.
//! * `fbclid` alone never means paid: Facebook adds it to organic shares too.
//! * **Campaign** is `utm_campaign` trimmed; without one, an auto-tagged ad
//!   click is its ad network's own campaign ("Google Ads (auto-tagged)": the
//!   click id names the click, and only the ad account knows its campaign);
//!   otherwise `None`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Whether the clinic reached out (paid or physical marketing) or the patient
/// found the clinic on their own; owners budget the two very differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub const ALL: [Direction; 2] = [Direction::Inbound, Direction::Outbound];

    pub const fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            Direction::Inbound => "Inbound",
            Direction::Outbound => "Outbound",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The marketing channel of a visit, coarse enough to compare month to month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    OrganicSearch,
    PaidSearch,
    OrganicSocial,
    PaidSocial,
    Email,
    Referral,
    Display,
    Direct,
    Offline,
}

impl Channel {
    pub const ALL: [Channel; 9] = [
        Channel::OrganicSearch,
        Channel::PaidSearch,
        Channel::OrganicSocial,
        Channel::PaidSocial,
        Channel::Email,
        Channel::Referral,
        Channel::Display,
        Channel::Direct,
        Channel::Offline,
    ];

    /// Stable identifier used in storage and APIs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Channel::OrganicSearch => "organic_search",
            Channel::PaidSearch => "paid_search",
            Channel::OrganicSocial => "organic_social",
            Channel::PaidSocial => "paid_social",
            Channel::Email => "email",
            Channel::Referral => "referral",
            Channel::Display => "display",
            Channel::Direct => "direct",
            Channel::Offline => "offline",
        }
    }

    /// Name shown to clinic staff.
    pub const fn label(self) -> &'static str {
        match self {
            Channel::OrganicSearch => "Organic search",
            Channel::PaidSearch => "Paid search",
            Channel::OrganicSocial => "Organic social",
            Channel::PaidSocial => "Paid social",
            Channel::Email => "Email",
            Channel::Referral => "Referral",
            Channel::Display => "Display",
            Channel::Direct => "Direct",
            Channel::Offline => "Offline",
        }
    }

    /// Print, QR codes and mailers are outbound: the clinic paid to put them
    /// in front of people, just like ads.
    pub const fn direction(self) -> Direction {
        match self {
            Channel::OrganicSearch
            | Channel::OrganicSocial
            | Channel::Email
            | Channel::Referral
            | Channel::Direct => Direction::Inbound,
            Channel::PaidSearch | Channel::PaidSocial | Channel::Display | Channel::Offline => {
                Direction::Outbound
            }
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("“{0}” is not a marketing channel")]
pub struct ChannelError(pub String);

impl FromStr for Channel {
    type Err = ChannelError;

    /// Accepts the identifier or the label, ignoring case, so stored values and
    /// filter links both parse.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        Channel::ALL
            .into_iter()
            .find(|c| t.eq_ignore_ascii_case(c.as_str()) || t.eq_ignore_ascii_case(c.label()))
            .ok_or_else(|| ChannelError(s.to_owned()))
    }
}

/// What the tracker saw about one visit's origin. Hosts may arrive in any case
/// and with "www."; they are normalized here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VisitSource<'a> {
    pub referrer_host: Option<&'a str>,
    pub utm_source: Option<&'a str>,
    pub utm_medium: Option<&'a str>,
    pub utm_campaign: Option<&'a str>,
    /// Names of the ad click-id parameters present (gclid, gbraid, wbraid,
    /// msclkid, fbclid); their values identify a click and are never needed.
    pub click_ids: &'a [&'a str],
    /// The tracked site's own host, so internal navigation isn't a referral.
    pub own_host: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    pub source: String,
    pub channel: Channel,
    pub campaign: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Search,
    Social,
    Webmail,
    /// Named for readability (reviews, directories) but still a referral.
    Referral,
}

struct KnownSource {
    kind: Kind,
    /// Shown when the visit is identified by its referrer.
    name: &'static str,
    /// The canonical `utm_source` spelling; a tagged visit from this site is still shown as `name`,
    /// so one source never appears twice in reports under two spellings.
    key: &'static str,
    /// Matches the host and any subdomain of it; a trailing ".*" stands for
    /// any country or generic TLD ("google.*" is google.com, google.co.uk, …).
    hosts: &'static [&'static str],
    /// Further `utm_source` spellings marketers use for this site.
    aliases: &'static [&'static str],
}

const fn known(
    kind: Kind,
    name: &'static str,
    key: &'static str,
    hosts: &'static [&'static str],
    aliases: &'static [&'static str],
) -> KnownSource {
    KnownSource {
        kind,
        name,
        key,
        hosts,
        aliases,
    }
}

/// When hosts overlap (mail.google.com vs google.*), the pattern covering more
/// of the host wins, so table order does not matter.
#[rustfmt::skip]
const KNOWN: &[KnownSource] = {
    use Kind::*;
    &[
        known(Search,   "Google",       "google",       &["google.*"], &[]),
        known(Search,   "Bing",         "bing",         &["bing.com"], &[]),
        known(Search,   "DuckDuckGo",   "duckduckgo",   &["duckduckgo.com"], &["ddg"]),
        known(Search,   "Yahoo",        "yahoo",        &["search.yahoo.com"], &[]),
        known(Search,   "Yandex",       "yandex",       &["yandex.*", "ya.ru"], &[]),
        known(Search,   "Ecosia",       "ecosia",       &["ecosia.org"], &[]),
        known(Search,   "Brave Search", "brave",        &["search.brave.com"], &[]),
        known(Search,   "Baidu",        "baidu",        &["baidu.com"], &[]),
        known(Search,   "Startpage",    "startpage",    &["startpage.com"], &[]),
        known(Search,   "Qwant",        "qwant",        &["qwant.com"], &[]),
        known(Search,   "Kagi",         "kagi",         &["kagi.com"], &[]),
        known(Search,   "AOL",          "aol",          &["search.aol.com"], &[]),
        known(Search,   "Ask",          "ask",          &["ask.com"], &[]),
        known(Social,   "Facebook",     "facebook",     &["facebook.com", "fb.com", "fb.me"], &["fb"]),
        known(Social,   "Messenger",    "messenger",    &["messenger.com"], &[]),
        known(Social,   "Instagram",    "instagram",    &["instagram.com"], &["ig", "insta"]),
        known(Social,   "Twitter",      "twitter",      &["twitter.com", "x.com", "t.co"], &["x", "tw"]),
        known(Social,   "LinkedIn",     "linkedin",     &["linkedin.com", "lnkd.in"], &[]),
        known(Social,   "Pinterest",    "pinterest",    &["pinterest.*", "pin.it"], &[]),
        known(Social,   "Reddit",       "reddit",       &["reddit.com", "redd.it"], &[]),
        known(Social,   "YouTube",      "youtube",      &["youtube.com", "youtu.be"], &["yt"]),
        known(Social,   "TikTok",       "tiktok",       &["tiktok.com"], &[]),
        known(Social,   "Nextdoor",     "nextdoor",     &["nextdoor.*"], &[]),
        known(Social,   "Threads",      "threads",      &["threads.net", "threads.com"], &[]),
        known(Social,   "Snapchat",     "snapchat",     &["snapchat.com"], &[]),
        known(Social,   "Bluesky",      "bluesky",      &["bsky.app"], &[]),
        known(Social,   "WhatsApp",     "whatsapp",     &["whatsapp.com", "wa.me"], &[]),
        known(Webmail,  "Gmail",        "gmail",        &["mail.google.com"], &[]),
        known(Webmail,  "Outlook",      "outlook",      &["outlook.live.com", "outlook.office.com",
                                                          "outlook.office365.com"], &[]),
        known(Webmail,  "Yahoo Mail",   "yahoo_mail",   &["mail.yahoo.com"], &[]),
        known(Webmail,  "AOL Mail",     "aol_mail",     &["mail.aol.com"], &[]),
        known(Referral, "Yelp",         "yelp",         &["yelp.*"], &[]),
        known(Referral, "Healthgrades", "healthgrades", &["healthgrades.com"], &[]),
        known(Referral, "Zocdoc",       "zocdoc",       &["zocdoc.com"], &[]),
    ]
};

#[derive(Debug, Clone, Copy)]
enum MediumRule {
    /// Paid search, or paid social when the source is a social network:
    /// "cpc" is used for both.
    Paid,
    /// Organic search, or organic social when the source is a social network.
    Organic,
    Is(Channel),
}

/// `utm_medium` spellings, after lowercasing and turning '-' and ' ' into '_'.
const MEDIUMS: &[(&str, MediumRule)] = {
    use Channel::*;
    use MediumRule::{Is, Organic, Paid};
    &[
        ("cpc", Paid),
        ("ppc", Paid),
        ("paid", Paid),
        ("paidsearch", Paid),
        ("paid_search", Paid),
        ("sem", Paid),
        ("paid_social", Is(PaidSocial)),
        ("paidsocial", Is(PaidSocial)),
        ("social_paid", Is(PaidSocial)),
        ("social_ads", Is(PaidSocial)),
        ("social", Is(OrganicSocial)),
        ("social_network", Is(OrganicSocial)),
        ("social_media", Is(OrganicSocial)),
        ("sm", Is(OrganicSocial)),
        ("organic_social", Is(OrganicSocial)),
        ("email", Is(Email)),
        ("e_mail", Is(Email)),
        ("newsletter", Is(Email)),
        ("display", Is(Display)),
        ("banner", Is(Display)),
        ("cpm", Is(Display)),
        ("programmatic", Is(Display)),
        ("print", Is(Offline)),
        ("qr", Is(Offline)),
        ("qrcode", Is(Offline)),
        ("qr_code", Is(Offline)),
        ("direct_mail", Is(Offline)),
        ("mailer", Is(Offline)),
        ("offline", Is(Offline)),
        ("flyer", Is(Offline)),
        ("billboard", Is(Offline)),
        ("radio", Is(Offline)),
        ("tv", Is(Offline)),
        ("referral", Is(Referral)),
        ("organic", Organic),
    ]
};

/// Ad click-id parameters: the site whose ads add them, and the campaign an
/// auto-tagged click without `utm_campaign` is counted in, for those whose
/// presence alone proves a paid click.
const CLICK_IDS: &[(&str, &str, Option<&str>)] = &[
    ("gclid", "google", Some("Google Ads (auto-tagged)")),
    ("gbraid", "google", Some("Google Ads (auto-tagged)")),
    ("wbraid", "google", Some("Google Ads (auto-tagged)")),
    ("msclkid", "bing", Some("Microsoft Ads (auto-tagged)")),
    ("fbclid", "facebook", None),
];

/// Classifies one visit; see the module docs for the rules.
pub fn classify(v: &VisitSource) -> Attribution {
    let own = v.own_host.and_then(normalize_host);
    let referrer = v
        .referrer_host
        .and_then(normalize_host)
        .filter(|h| own.as_deref() != Some(h.as_str()));
    let referrer_known = referrer.as_deref().and_then(lookup_host);

    let clicks: Vec<(&str, Option<&str>)> = v
        .click_ids
        .iter()
        .filter_map(|id| {
            let id = id.trim();
            CLICK_IDS
                .iter()
                .find(|(name, _, _)| name.eq_ignore_ascii_case(id))
                .map(|&(_, site, paid)| (site, paid))
        })
        .collect();
    let paid_campaign = clicks.iter().find_map(|&(_, paid)| paid);
    let paid_click = paid_campaign.is_some();

    let utm = v
        .utm_source
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(normalize_utm_source);
    // Anything that says where the visit came from makes it at least a referral.
    let has_origin = utm.is_some() || referrer.is_some();

    // An explicit tag beats the referrer: in-app browsers often send a
    // misleading referrer or none. An unknown tag still borrows the
    // referrer's kind (a custom newsletter name clicked in Gmail is email).
    let (source, kind) = if let Some((source, kind)) = utm {
        (source, kind.or(referrer_known.map(|k| k.kind)))
    } else if let Some(k) = referrer_known {
        (k.name.to_owned(), Some(k.kind))
    } else if let Some(host) = referrer {
        (host, None)
    } else if let Some(k) = clicks.first().and_then(|&(site, _)| by_key(site)) {
        // Apps and privacy settings strip referrers, but the click id still
        // says which site the visitor came from.
        (k.name.to_owned(), Some(k.kind))
    } else {
        ("Direct".to_owned(), None)
    };

    let social = match kind {
        Some(k) => k == Kind::Social,
        None => !clicks.is_empty() && !paid_click,
    };
    let channel = match v.utm_medium.and_then(medium_rule) {
        Some(MediumRule::Paid) if social => Channel::PaidSocial,
        Some(MediumRule::Paid) => Channel::PaidSearch,
        Some(MediumRule::Organic) if social => Channel::OrganicSocial,
        Some(MediumRule::Organic) => Channel::OrganicSearch,
        Some(MediumRule::Is(channel)) => channel,
        None if paid_click => Channel::PaidSearch,
        None => match kind {
            Some(Kind::Search) => Channel::OrganicSearch,
            Some(Kind::Social) => Channel::OrganicSocial,
            Some(Kind::Webmail) => Channel::Email,
            Some(Kind::Referral) => Channel::Referral,
            None if has_origin => Channel::Referral,
            None => Channel::Direct,
        },
    };

    let campaign = v
        .utm_campaign
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .or(paid_campaign)
        .map(str::to_owned);

    Attribution {
        source,
        channel,
        campaign,
    }
}

/// Lowercase, no trailing dot, no leading "www."; `None` when nothing is left.
fn normalize_host(raw: &str) -> Option<String> {
    let lower = raw.trim().to_lowercase();
    let host = lower.trim_end_matches('.');
    let host = host
        .strip_prefix("www.")
        .filter(|rest| !rest.is_empty())
        .unwrap_or(host);
    (!host.is_empty()).then(|| host.to_owned())
}

/// The canonical key and kind for a known site, else the lowercased value.
fn normalize_utm_source(raw: &str) -> (String, Option<Kind>) {
    let s = raw.trim().to_lowercase();
    if let Some(k) = KNOWN
        .iter()
        .find(|k| k.key == s || k.aliases.contains(&s.as_str()))
    {
        return (k.name.to_owned(), Some(k.kind));
    }
    // Marketers often paste the site's address ("m.facebook.com") as source.
    let bare = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(&s);
    let bare = bare.split('/').next().unwrap_or(bare);
    if let Some(k) = normalize_host(bare).as_deref().and_then(lookup_host) {
        return (k.name.to_owned(), Some(k.kind));
    }
    (s, None)
}

fn by_key(key: &str) -> Option<&'static KnownSource> {
    KNOWN.iter().find(|k| k.key == key)
}

fn lookup_host(host: &str) -> Option<&'static KnownSource> {
    let mut best: Option<(usize, &'static KnownSource)> = None;
    for k in KNOWN {
        for pattern in k.hosts {
            if let Some(covered) = host_match(host, pattern)
                && best.is_none_or(|(b, _)| covered > b)
            {
                best = Some((covered, k));
            }
        }
    }
    best.map(|(_, k)| k)
}

/// How many of `host`'s trailing labels `pattern` covers, if it matches.
fn host_match(host: &str, pattern: &str) -> Option<usize> {
    if let Some(brand) = pattern.strip_suffix(".*") {
        let labels: Vec<&str> = host.split('.').collect();
        let at = labels.iter().rposition(|l| *l == brand)?;
        let tld = &labels[at + 1..];
        // "co.uk" or "de", but not "example.com": a brand label followed by
        // an arbitrary domain is someone else's site.
        let is_tld = matches!(tld.len(), 1 | 2)
            && tld
                .iter()
                .all(|l| (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_lowercase()));
        return is_tld.then_some(labels.len() - at);
    }
    let matches = host == pattern
        || host
            .strip_suffix(pattern)
            .is_some_and(|rest| rest.ends_with('.'));
    matches.then(|| pattern.split('.').count())
}

fn medium_rule(raw: &str) -> Option<MediumRule> {
    let m: String = raw
        .trim()
        .chars()
        .map(|c| match c {
            '-' | ' ' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    MEDIUMS
        .iter()
        .find(|(spelling, _)| *spelling == m)
        .map(|&(_, rule)| rule)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OWN: &str = "riversidept.com";

    /// A visit to riversidept.com; "" stands for an absent value.
    fn visit<'a>(
        referrer: &'a str,
        source: &'a str,
        medium: &'a str,
        campaign: &'a str,
        click_ids: &'a [&'a str],
    ) -> VisitSource<'a> {
        let opt = |s: &'a str| (!s.is_empty()).then_some(s);
        VisitSource {
            referrer_host: opt(referrer),
            utm_source: opt(source),
            utm_medium: opt(medium),
            utm_campaign: opt(campaign),
            click_ids,
            own_host: Some(OWN),
        }
    }

    #[test]
    fn realistic_visits() {
        use Channel::*;
        let cases: &[(&str, VisitSource, &str, Channel, Option<&str>)] = &[
            (
                "Google organic",
                visit("www.google.com", "", "", "", &[]),
                "Google",
                OrganicSearch,
                None,
            ),
            (
                "Google UK organic",
                visit("www.google.co.uk", "", "", "", &[]),
                "Google",
                OrganicSearch,
                None,
            ),
            (
                "Google Ads, auto-tagged",
                visit("www.google.com", "", "", "", &["gclid"]),
                "Google",
                PaidSearch,
                Some("Google Ads (auto-tagged)"),
            ),
            (
                "Google Ads, manually tagged",
                visit(
                    "www.google.com",
                    "google",
                    "cpc",
                    "spring_intake",
                    &["gclid"],
                ),
                "Google",
                PaidSearch,
                Some("spring_intake"),
            ),
            (
                "Google Ads click, referrer stripped by an app",
                visit("", "", "", "", &["gbraid"]),
                "Google",
                PaidSearch,
                Some("Google Ads (auto-tagged)"),
            ),
            (
                "Bing Ads with msclkid",
                visit("www.bing.com", "", "", "", &["msclkid"]),
                "Bing",
                PaidSearch,
                Some("Microsoft Ads (auto-tagged)"),
            ),
            (
                "Bing organic",
                visit("bing.com", "", "", "", &[]),
                "Bing",
                OrganicSearch,
                None,
            ),
            (
                "DuckDuckGo",
                visit("duckduckgo.com", "", "", "", &[]),
                "DuckDuckGo",
                OrganicSearch,
                None,
            ),
            (
                "Yahoo search",
                visit("search.yahoo.com", "", "", "", &[]),
                "Yahoo",
                OrganicSearch,
                None,
            ),
            (
                "Yandex",
                visit("yandex.ru", "", "", "", &[]),
                "Yandex",
                OrganicSearch,
                None,
            ),
            (
                "Facebook organic share with fbclid",
                visit("l.facebook.com", "", "", "", &["fbclid"]),
                "Facebook",
                OrganicSocial,
                None,
            ),
            (
                "Facebook ad via utm_medium=paid_social",
                visit(
                    "m.facebook.com",
                    "facebook",
                    "paid_social",
                    "back_pain_ad",
                    &["fbclid"],
                ),
                "Facebook",
                PaidSocial,
                Some("back_pain_ad"),
            ),
            (
                "Facebook ad tagged cpc is social, not search",
                visit("", "fb", "cpc", "", &[]),
                "Facebook",
                PaidSocial,
                None,
            ),
            (
                "Custom source with fbclid and a paid medium",
                visit("", "spring_promo", "paid", "", &["fbclid"]),
                "spring_promo",
                PaidSocial,
                None,
            ),
            (
                "Instagram link in bio, tagged",
                visit("l.instagram.com", "ig", "social", "", &[]),
                "Instagram",
                OrganicSocial,
                None,
            ),
            (
                "Instagram link in bio, untagged",
                visit("l.instagram.com", "", "", "", &[]),
                "Instagram",
                OrganicSocial,
                None,
            ),
            (
                "X / Twitter short link",
                visit("t.co", "", "", "", &[]),
                "Twitter",
                OrganicSocial,
                None,
            ),
            (
                "LinkedIn short link",
                visit("lnkd.in", "", "", "", &[]),
                "LinkedIn",
                OrganicSocial,
                None,
            ),
            (
                "Nextdoor",
                visit("nextdoor.com", "", "", "", &[]),
                "Nextdoor",
                OrganicSocial,
                None,
            ),
            (
                "Newsletter",
                visit("", "Mailchimp", "email", "may_newsletter", &[]),
                "mailchimp",
                Email,
                Some("may_newsletter"),
            ),
            (
                "Newsletter spelled e-mail",
                visit("", "newsletter", "E-Mail", "", &[]),
                "newsletter",
                Email,
                None,
            ),
            (
                "Gmail on the web, untagged",
                visit("mail.google.com", "", "", "", &[]),
                "Gmail",
                Email,
                None,
            ),
            (
                "Custom newsletter name clicked in Outlook",
                visit("outlook.live.com", "clinic_news", "", "", &[]),
                "clinic_news",
                Email,
                None,
            ),
            (
                "QR code on a flyer",
                visit("", "flyer", "qr", " Spring Flyer ", &[]),
                "flyer",
                Offline,
                Some("Spring Flyer"),
            ),
            (
                "Postcard mailer",
                visit("", "postcard", "direct-mail", "", &[]),
                "postcard",
                Offline,
                None,
            ),
            (
                "Display banner",
                visit("", "google", "display", "", &[]),
                "Google",
                Display,
                None,
            ),
            ("Direct", visit("", "", "", "", &[]), "Direct", Direct, None),
            (
                "Self-referral",
                visit("www.riversidept.com", "", "", "", &[]),
                "Direct",
                Direct,
                None,
            ),
            (
                "Yelp review page",
                visit("www.yelp.com", "", "", "", &[]),
                "Yelp",
                Referral,
                None,
            ),
            (
                "Referring physician's website",
                visit("www.drsmithortho.com", "", "", "", &[]),
                "drsmithortho.com",
                Referral,
                None,
            ),
            (
                "ChatGPT referrer",
                visit("chatgpt.com", "", "", "", &[]),
                "chatgpt.com",
                Referral,
                None,
            ),
            (
                "ChatGPT's own utm_source tag",
                visit("chatgpt.com", "chatgpt.com", "", "", &[]),
                "chatgpt.com",
                Referral,
                None,
            ),
            (
                "Mixed-case, padded medium",
                visit("", " Google ", " CPC ", "", &[]),
                "Google",
                PaidSearch,
                None,
            ),
            (
                "Source pasted as a URL",
                visit("", "https://www.Google.com/", "organic", "", &[]),
                "Google",
                OrganicSearch,
                None,
            ),
            (
                "Organic post tagged organic",
                visit("", "facebook.com", "organic", "", &[]),
                "Facebook",
                OrganicSocial,
                None,
            ),
            (
                "Partner referral, tagged",
                visit("", "chamber_of_commerce", "referral", "", &[]),
                "chamber_of_commerce",
                Referral,
                None,
            ),
            (
                "Tagged with an unknown medium",
                visit("", "text_blast", "sms", "", &[]),
                "text_blast",
                Referral,
                None,
            ),
            (
                "A site merely named like Google",
                visit("google.example.com", "", "", "", &[]),
                "google.example.com",
                Referral,
                None,
            ),
            (
                "Empty campaign",
                visit("", "flyer", "print", "   ", &[]),
                "flyer",
                Offline,
                None,
            ),
        ];
        for (name, v, source, channel, campaign) in cases {
            let got = classify(v);
            assert_eq!(got.source, *source, "{name}");
            assert_eq!(got.channel, *channel, "{name}");
            assert_eq!(got.campaign.as_deref(), *campaign, "{name}");
        }
        assert!(cases.len() >= 25);
    }

    #[test]
    fn hosts_are_normalized() {
        let v = VisitSource {
            referrer_host: Some(" WWW.DrSmithOrtho.com. "),
            own_host: Some("www.RiversidePT.com"),
            ..VisitSource::default()
        };
        assert_eq!(classify(&v).source, "drsmithortho.com");
        let own = VisitSource {
            referrer_host: Some("RiversidePT.com"),
            own_host: Some("www.riversidept.com"),
            ..VisitSource::default()
        };
        assert_eq!(classify(&own).channel, Channel::Direct);
        let no_own = VisitSource {
            referrer_host: Some("www."),
            ..VisitSource::default()
        };
        assert_eq!(classify(&no_own).source, "www");
    }

    #[test]
    fn more_specific_host_wins() {
        assert_eq!(lookup_host("mail.google.com").unwrap().name, "Gmail");
        assert_eq!(lookup_host("news.google.de").unwrap().name, "Google");
        assert_eq!(lookup_host("uk.search.yahoo.com").unwrap().name, "Yahoo");
        assert!(lookup_host("yahoo.com").is_none());
        assert!(lookup_host("notfacebook.com").is_none());
        assert!(lookup_host("google.evil.com").is_none());
    }

    #[test]
    fn channel_metadata() {
        let outbound: Vec<_> = Channel::ALL
            .into_iter()
            .filter(|c| c.direction() == Direction::Outbound)
            .collect();
        assert_eq!(
            outbound,
            [
                Channel::PaidSearch,
                Channel::PaidSocial,
                Channel::Display,
                Channel::Offline
            ]
        );
        for c in Channel::ALL {
            assert_eq!(c.as_str().parse::<Channel>(), Ok(c));
            assert_eq!(c.label().to_uppercase().parse::<Channel>(), Ok(c));
            assert_eq!(c.to_string(), c.as_str());
        }
        assert_eq!(Channel::OrganicSearch.label(), "Organic search");
        assert_eq!(
            "tv".parse::<Channel>().unwrap_err().to_string(),
            "“tv” is not a marketing channel"
        );
        assert_eq!(Direction::Outbound.label(), "Outbound");
    }

    #[test]
    fn tables_are_consistent() {
        for (i, k) in KNOWN.iter().enumerate() {
            let same_key = KNOWN.iter().filter(|o| o.key == k.key).count();
            assert_eq!(same_key, 1, "duplicate key {}", k.key);
            for h in k.hosts {
                assert_eq!(*h, h.to_lowercase());
                assert!(!h.starts_with("www."), "{h}");
            }
            for other in &KNOWN[i + 1..] {
                assert!(!other.aliases.contains(&k.key), "{}", k.key);
                assert!(
                    !k.aliases.iter().any(|a| other.aliases.contains(a)),
                    "{}",
                    k.key
                );
            }
        }
        for &(_, site, _) in CLICK_IDS {
            assert!(by_key(site).is_some(), "{site}");
        }
        for (i, (m, _)) in MEDIUMS.iter().enumerate() {
            assert!(MEDIUMS[i + 1..].iter().all(|(o, _)| o != m), "{m}");
        }
    }

    proptest! {
        #[test]
        fn never_panics_and_always_names_a_source(
            referrer in proptest::option::of(any::<String>()),
            source in proptest::option::of(any::<String>()),
            medium in proptest::option::of(any::<String>()),
            campaign in proptest::option::of(any::<String>()),
            own in proptest::option::of(any::<String>()),
            ids in proptest::collection::vec(any::<String>(), 0..4),
        ) {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            let v = VisitSource {
                referrer_host: referrer.as_deref(),
                utm_source: source.as_deref(),
                utm_medium: medium.as_deref(),
                utm_campaign: campaign.as_deref(),
                click_ids: &ids,
                own_host: own.as_deref(),
            };
            let a = classify(&v);
            prop_assert!(!a.source.is_empty());
            prop_assert!(a.campaign.as_deref().is_none_or(|c| !c.is_empty()));
        }

        #[test]
        fn known_click_ids_always_classify(
            id in proptest::sample::select(vec!["gclid", "GBRAID", "wbraid", "msclkid"]),
            referrer in "[a-z]{1,10}\\.(com|org|net)",
        ) {
            let ids = [id];
            let a = classify(&visit(&referrer, "", "", "", &ids));
            prop_assert_eq!(a.channel, Channel::PaidSearch);
        }
    }
}
