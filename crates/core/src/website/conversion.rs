//! Conversion rate (visitors who booked or called, per 100 visitors) and the
//! band that tells a clinic owner whether theirs is worrying or healthy,
//! using typical ranges for healthcare practice websites.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Percent of `visitors` who converted, unrounded; `None` without visitors,
/// where a rate would be meaningless rather than zero. Not clamped: a value
/// over 100 means the counts disagree and should stay visible.
pub fn conversion_rate(converting_visitors: u64, visitors: u64) -> Option<f64> {
    // Multiplying first keeps exact ratios exact (3 of 200 is 1.5, not
    // 1.4999…), which matters because band bounds are inclusive.
    (visitors != 0).then(|| converting_visitors as f64 * 100.0 / visitors as f64)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// Under 1%.
    NeedsAttention,
    /// 1% up to 1.5%.
    BelowTypical,
    /// 1.5% up to 3%.
    Healthy,
    /// 3% up to 4%.
    Strong,
    /// 4% and above.
    HighPerforming,
}

impl Band {
    pub const ALL: [Band; 5] = [
        Band::NeedsAttention,
        Band::BelowTypical,
        Band::Healthy,
        Band::Strong,
        Band::HighPerforming,
    ];

    /// Stable identifier used in storage and APIs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Band::NeedsAttention => "needs_attention",
            Band::BelowTypical => "below_typical",
            Band::Healthy => "healthy",
            Band::Strong => "strong",
            Band::HighPerforming => "high_performing",
        }
    }

    /// Name shown to clinic staff.
    pub const fn label(self) -> &'static str {
        match self {
            Band::NeedsAttention => "Needs attention",
            Band::BelowTypical => "Below typical",
            Band::Healthy => "Healthy",
            Band::Strong => "Strong",
            Band::HighPerforming => "High-performing",
        }
    }
}

impl fmt::Display for Band {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The band for a rate in percent; each lower bound is inclusive. NaN falls
/// in `NeedsAttention`, the band that prompts someone to look.
pub fn band(rate_percent: f64) -> Band {
    if rate_percent >= 4.0 {
        Band::HighPerforming
    } else if rate_percent >= 3.0 {
        Band::Strong
    } else if rate_percent >= 1.5 {
        Band::Healthy
    } else if rate_percent >= 1.0 {
        Band::BelowTypical
    } else {
        Band::NeedsAttention
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rates() {
        assert_eq!(conversion_rate(0, 0), None);
        assert_eq!(conversion_rate(5, 0), None);
        assert_eq!(conversion_rate(0, 10), Some(0.0));
        assert_eq!(conversion_rate(1, 3), Some(100.0 / 3.0));
        assert_eq!(conversion_rate(3, 200), Some(1.5));
        assert_eq!(conversion_rate(7, 700), Some(1.0));
        assert_eq!(conversion_rate(10, 10), Some(100.0));
        assert_eq!(conversion_rate(12, 10), Some(120.0));
        assert!(conversion_rate(u64::MAX, u64::MAX).is_some_and(|r| (r - 100.0).abs() < 1e-9));
    }

    #[test]
    fn every_boundary() {
        let cases = [
            (f64::NEG_INFINITY, Band::NeedsAttention),
            (0.0, Band::NeedsAttention),
            (0.999, Band::NeedsAttention),
            (1.0_f64.next_down(), Band::NeedsAttention),
            (1.0, Band::BelowTypical),
            (1.499, Band::BelowTypical),
            (1.5_f64.next_down(), Band::BelowTypical),
            (1.5, Band::Healthy),
            (2.999, Band::Healthy),
            (3.0_f64.next_down(), Band::Healthy),
            (3.0, Band::Strong),
            (4.0_f64.next_down(), Band::Strong),
            (4.0, Band::HighPerforming),
            (100.0, Band::HighPerforming),
            (f64::INFINITY, Band::HighPerforming),
            (f64::NAN, Band::NeedsAttention),
        ];
        for (rate, want) in cases {
            assert_eq!(band(rate), want, "{rate}");
        }
        // Exact counts land exactly on the bounds.
        for (c, v, want) in [
            (1, 100, Band::BelowTypical),
            (3, 200, Band::Healthy),
            (3, 100, Band::Strong),
            (4, 100, Band::HighPerforming),
            (99, 10_000, Band::NeedsAttention),
        ] {
            assert_eq!(band(conversion_rate(c, v).unwrap()), want, "{c}/{v}");
        }
    }

    #[test]
    fn names() {
        assert_eq!(
            Band::ALL.map(Band::label),
            [
                "Needs attention",
                "Below typical",
                "Healthy",
                "Strong",
                "High-performing"
            ]
        );
        assert_eq!(
            Band::ALL.map(Band::as_str),
            [
                "needs_attention",
                "below_typical",
                "healthy",
                "strong",
                "high_performing"
            ]
        );
        assert_eq!(Band::Healthy.to_string(), "healthy");
    }

    proptest! {
        #[test]
        fn bands_rise_with_the_rate(a in 0.0f64..200.0, b in 0.0f64..200.0) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(band(lo) <= band(hi));
        }

        #[test]
        fn rate_is_a_percentage(v in 1u64..1_000_000, c in 0u64..1_000_000) {
            let c = c % (v + 1);
            let r = conversion_rate(c, v).unwrap();
            prop_assert!((0.0..=100.0).contains(&r));
        }
    }
}
