//! Retry policy for background jobs (message sends, webhook deliveries).
//! Pure and deterministic so schedules are testable; callers that need to
//! spread out a thundering herd add their own jitter on top.

/// Longest wait between attempts, so a job failing for a day still retries
/// hourly instead of disappearing into a multi-day backoff.
pub const MAX_RETRY_DELAY_MS: i64 = 60 * 60 * 1000;

/// Delay before the next try after attempt number `attempt` failed:
/// 2^attempt seconds, capped at [`MAX_RETRY_DELAY_MS`].
pub fn retry_delay_ms(attempt: u32) -> i64 {
    // 2^12 s already exceeds the cap; stopping there also avoids overflow.
    if attempt >= 12 {
        return MAX_RETRY_DELAY_MS;
    }
    ((1_i64 << attempt) * 1000).min(MAX_RETRY_DELAY_MS)
}

/// Whether a job that has now made `attempt` attempts may try again.
pub fn should_retry(attempt: u32, max_attempts: u32) -> bool {
    attempt < max_attempts
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn doubles_then_caps() {
        let delays: Vec<i64> = (0..14).map(retry_delay_ms).collect();
        assert_eq!(
            delays,
            [
                1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 512_000,
                1_024_000, 2_048_000, 3_600_000, 3_600_000
            ]
        );
        assert_eq!(retry_delay_ms(u32::MAX), MAX_RETRY_DELAY_MS);
    }

    #[test]
    fn retries_until_max() {
        assert!(should_retry(1, 5));
        assert!(should_retry(4, 5));
        assert!(!should_retry(5, 5));
        assert!(!should_retry(6, 5));
        assert!(!should_retry(0, 0));
    }

    proptest! {
        #[test]
        fn monotonic_and_capped(a in any::<u32>(), b in any::<u32>()) {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(retry_delay_ms(lo) <= retry_delay_ms(hi));
            prop_assert!(retry_delay_ms(hi) <= MAX_RETRY_DELAY_MS);
            prop_assert!(retry_delay_ms(lo) >= 1000);
        }

        #[test]
        fn small_attempts_monotonic(a in 0u32..40) {
            prop_assert!(retry_delay_ms(a) <= retry_delay_ms(a + 1));
        }
    }
}
