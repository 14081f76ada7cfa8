//! User-agent classification into a bot flag and coarse device, browser and
//! OS families. Only these results are stored, never the agent string, since
//! the full string is rare enough to help fingerprint a visitor.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    Desktop,
    Tablet,
    Mobile,
}

impl Device {
    pub const ALL: [Device; 3] = [Device::Desktop, Device::Tablet, Device::Mobile];

    pub const fn as_str(self) -> &'static str {
        match self {
            Device::Desktop => "desktop",
            Device::Tablet => "tablet",
            Device::Mobile => "mobile",
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Agent {
    /// Bots are counted separately, not dropped, so a crawler surge is visible.
    pub bot: bool,
    pub device: Device,
    /// "Edge", "Opera", "Samsung Internet", "Chrome", "Firefox", "Safari" or "Other".
    pub browser: &'static str,
    /// "iOS", "Android", "Windows", "macOS", "Linux", "ChromeOS" or "Other".
    pub os: &'static str,
}

/// Lowercase substrings that only automated clients send. "bot" also covers
/// Googlebot, bingbot, GPTBot, Slackbot and UptimeRobot.
const BOT_MARKERS: &[&str] = &[
    "bot",
    "crawl",
    "spider",
    "slurp",
    "headless",
    "phantomjs",
    "puppeteer",
    "playwright",
    "selenium",
    "lighthouse",
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "go-http-client",
    "java/",
    "okhttp",
    "axios/",
    "node-fetch",
    "scrapy",
    "facebookexternalhit",
    "preview",
    "uptimerobot",
    "pingdom",
    "statuscake",
];

/// Real devices whose names contain a bot marker.
const NOT_BOTS: &[&str] = &["cubot"];

/// Browser families, first match wins: Chromium-based browsers also say
/// "Chrome/" and nearly everything says "Safari/", so specific ones go first.
const BROWSERS: &[(&[&str], &str)] = &[
    (&["edg/", "edge/", "edga/", "edgios/"], "Edge"),
    (&["opr/", "opera", "opt/"], "Opera"),
    (&["samsungbrowser/"], "Samsung Internet"),
    (&["firefox/", "fxios/"], "Firefox"),
    (&["chrome/", "crios/", "chromium/"], "Chrome"),
];

/// OS families, first match wins: iOS agents say "like Mac OS X", Android ones
/// say "Linux", and ChromeOS ones say "X11" like Linux desktops. "CrOS" is
/// matched with its trailing space because "Microsoft" contains "cros".
const SYSTEMS: &[(&[&str], &str)] = &[
    (&["iphone", "ipad", "ipod"], "iOS"),
    (&["android"], "Android"),
    (&["cros "], "ChromeOS"),
    (&["windows"], "Windows"),
    (&["macintosh", "mac os x"], "macOS"),
    (&["linux", "x11"], "Linux"),
];

pub fn classify_agent(ua: &str) -> Agent {
    let ua = ua.trim().to_lowercase();
    let has = |needle: &str| ua.contains(needle);
    let any = |needles: &[&str]| needles.iter().any(|n| ua.contains(n));

    let bot = ua.is_empty() || {
        // Copied only for the rare agent that names one (this runs for every event).
        let mut scrubbed = std::borrow::Cow::Borrowed(ua.as_str());
        for name in NOT_BOTS {
            if scrubbed.contains(name) {
                scrubbed = scrubbed.replace(name, "").into();
            }
        }
        BOT_MARKERS.iter().any(|m| scrubbed.contains(m))
            // Crawlers identify as "compatible; Name/1.0; +http://…/about".
            || (scrubbed.contains("compatible;") && scrubbed.contains("+http"))
    };

    let browser = BROWSERS
        .iter()
        .find(|(needles, _)| any(needles))
        .map(|&(_, name)| name)
        .unwrap_or(if has("safari/") && has("version/") {
            "Safari"
        } else {
            "Other"
        });
    let os = SYSTEMS
        .iter()
        .find(|(needles, _)| any(needles))
        .map_or("Other", |&(_, name)| name);

    let device = if has("ipad") || has("tablet") || (has("android") && !has("mobile")) {
        Device::Tablet
    } else if has("iphone") || has("ipod") || has("mobile") {
        Device::Mobile
    } else {
        Device::Desktop
    };

    Agent {
        bot,
        device,
        browser,
        os,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn real_browsers() {
        use Device::*;
        let cases: &[(&str, Device, &str, &str)] = &[
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                Desktop,
                "Chrome",
                "Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                Desktop,
                "Edge",
                "Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
                Desktop,
                "Firefox",
                "Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 OPR/115.0.0.0",
                Desktop,
                "Opera",
                "Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
                Desktop,
                "Safari",
                "macOS",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                Desktop,
                "Chrome",
                "macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
                Mobile,
                "Safari",
                "iOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1",
                Mobile,
                "Chrome",
                "iOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/470.0.0.40.107;FBBV/639112473;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.5;FBSS/3;FBCR/;FBID/phone;FBLC/en_US;FBOP/80]",
                Mobile,
                "Other",
                "iOS",
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1",
                Tablet,
                "Safari",
                "iOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
                Mobile,
                "Samsung Internet",
                "Android",
            ),
            (
                "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                Mobile,
                "Chrome",
                "Android",
            ),
            (
                "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                Tablet,
                "Chrome",
                "Android",
            ),
            (
                "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
                Mobile,
                "Firefox",
                "Android",
            ),
            (
                "Mozilla/5.0 (Android 13; Tablet; rv:133.0) Gecko/133.0 Firefox/133.0",
                Tablet,
                "Firefox",
                "Android",
            ),
            (
                "Mozilla/5.0 (Linux; Android 11; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
                Mobile,
                "Chrome",
                "Android",
            ),
            (
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
                Desktop,
                "Chrome",
                "ChromeOS",
            ),
            (
                "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                Desktop,
                "Firefox",
                "Linux",
            ),
            (
                "Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)",
                Desktop,
                "Other",
                "Windows",
            ),
        ];
        for &(ua, device, browser, os) in cases {
            let a = classify_agent(ua);
            assert_eq!(
                a,
                Agent {
                    bot: false,
                    device,
                    browser,
                    os
                },
                "{ua}"
            );
        }
    }

    #[test]
    fn bots() {
        for ua in [
            "",
            "   ",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.69 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
            "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
            "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
            "curl/8.5.0",
            "Wget/1.21.4",
            "python-requests/2.32.3",
            "Go-http-client/2.0",
            "okhttp/4.12.0",
            "axios/1.7.7",
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_1) AppleWebKit/600.2.5 (KHTML, like Gecko) Version/8.0.2 Safari/600.2.5 (Applebot/0.1; +http://www.apple.com/go/applebot)",
            "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
            "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
            "Mozilla/5.0 (compatible; Yeti/1.1; +http://naver.me/spd)",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Google-PageRenderer Google (+https://developers.google.com/+/web/snippet/) Preview",
        ] {
            assert!(classify_agent(ua).bot, "{ua}");
        }
    }

    #[test]
    fn device_names() {
        assert_eq!(
            Device::ALL.map(Device::as_str),
            ["desktop", "tablet", "mobile"]
        );
        assert_eq!(Device::Tablet.to_string(), "tablet");
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            let a = classify_agent(&s);
            prop_assert!(!a.browser.is_empty() && !a.os.is_empty());
        }
    }
}
