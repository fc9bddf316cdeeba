//! When and how long to wait before retrying a call.

use std::time::Duration;

use rand::Rng as _;

/// Retry behaviour of a client.
///
/// Delays grow exponentially from `base_delay` (throttling from `throttling_base_delay`, since the server
/// asked us to slow down) up to `max_delay`, with full jitter so that many callers do not retry in step. A
/// server hint (`x-ratelimit-user[-api]: ...TimeLeft:<ms>`) replaces the computed delay, capped by `max_delay`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = never retry).
    pub max_attempts: u32,
    /// First delay for transient server and transport errors.
    pub base_delay: Duration,
    /// First delay after throttling.
    pub throttling_base_delay: Duration,
    /// Largest delay between two attempts.
    pub max_delay: Duration,
    /// Time budget of one call, all attempts and waits included.
    pub deadline: Duration,
    /// Time budget of one attempt (connect, send, receive).
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            throttling_base_delay: Duration::from_millis(1000),
            max_delay: Duration::from_secs(20),
            deadline: Duration::from_secs(120),
            attempt_timeout: Duration::from_secs(20),
        }
    }
}

impl RetryPolicy {
    /// Never retry; one attempt with the default timeouts.
    pub fn never() -> Self {
        Self { max_attempts: 1, ..Self::default() }
    }

    /// The delay before attempt `attempt + 1`, after `attempt` (1-based) failed.
    pub fn delay(&self, attempt: u32, throttled: bool, server_hint: Option<Duration>) -> Duration {
        if let Some(hint) = server_hint.filter(|h| !h.is_zero()) {
            return hint.min(self.max_delay);
        }
        let base = if throttled { self.throttling_base_delay } else { self.base_delay };
        let exp = attempt.saturating_sub(1).min(16);
        let ceiling = base.saturating_mul(1 << exp).min(self.max_delay);
        // Full jitter, but never less than a tenth of the ceiling so a retry is never immediate.
        let floor = ceiling / 10;
        let span = ceiling.saturating_sub(floor).as_millis() as u64;
        floor + Duration::from_millis(rand::rng().random_range(0..=span))
    }
}

/// Reads the server's throttling hint: the larger `TimeLeft` (milliseconds) of the `x-ratelimit-user-api` and
/// `x-ratelimit-user` headers (value format `Limit:1,Remain:0,TimeLeft:2000,Reset:1234`).
pub fn throttling_hint(headers: &http::HeaderMap) -> Option<Duration> {
    ["x-ratelimit-user-api", "x-ratelimit-user"]
        .iter()
        .filter_map(|name| headers.get(*name)?.to_str().ok())
        .filter_map(time_left_ms)
        .max()
        .map(Duration::from_millis)
}

fn time_left_ms(value: &str) -> Option<u64> {
    value.split(',').find_map(|pair| {
        let (key, v) = pair.split_once(':')?;
        (key.trim() == "TimeLeft").then(|| v.trim().parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_time_left_from_either_header() {
        let mut h = http::HeaderMap::new();
        h.insert("x-ratelimit-user", "Limit:1,Remain:0,TimeLeft:2000,Reset:1234".parse().unwrap());
        assert_eq!(throttling_hint(&h), Some(Duration::from_millis(2000)));
        h.insert("x-ratelimit-user-api", "Limit:5,Remain:0,TimeLeft:3500,Reset:1".parse().unwrap());
        assert_eq!(throttling_hint(&h), Some(Duration::from_millis(3500)));
        assert_eq!(throttling_hint(&http::HeaderMap::new()), None);
        let mut bad = http::HeaderMap::new();
        bad.insert("x-ratelimit-user", "garbage".parse().unwrap());
        assert_eq!(throttling_hint(&bad), None);
    }

    #[test]
    fn delays_grow_exponentially_within_bounds() {
        let p = RetryPolicy::default();
        for attempt in 1..=10 {
            let ceiling = p.base_delay.saturating_mul(1 << (attempt - 1)).min(p.max_delay);
            for _ in 0..50 {
                let d = p.delay(attempt, false, None);
                assert!(d <= ceiling && d >= ceiling / 10, "attempt {attempt}: {d:?} vs {ceiling:?}");
            }
        }
        assert!(p.delay(1, true, None) >= p.throttling_base_delay / 10);
    }

    #[test]
    fn server_hint_wins_but_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1, true, Some(Duration::from_millis(700))), Duration::from_millis(700));
        assert_eq!(p.delay(1, true, Some(Duration::from_secs(3600))), p.max_delay);
    }
}
