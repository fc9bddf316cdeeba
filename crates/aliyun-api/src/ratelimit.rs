//! Client-side pacing: a token bucket per product and action, so a busy controller stays under the account's
//! API quotas instead of discovering them through `Throttling` errors.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::endpoint::Product;

/// A rate: `per_minute` calls on average, bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Sustained calls per minute.
    pub per_minute: f64,
    /// Calls that may go out at once after a quiet period.
    pub burst: f64,
}

impl Rate {
    /// `per_minute` sustained, with a burst of a tenth of a minute's worth (at least 1).
    pub fn per_minute(per_minute: f64) -> Self {
        Self { per_minute, burst: (per_minute / 10.0).max(1.0) }
    }
}

/// Configured rates: per-action overrides, then per-product defaults for reads and writes.
///
/// Defaults follow `aliyun-rate-limits.md`: Alibaba Cloud counts per account, region and API, mostly in
/// calls per minute; the published or estimated quotas are ECS reads ~1000/min, VPC reads 600/min,
/// VPC route writes 300/min, SLB reads 600/min, SLB writes 200/min, `CreateLoadBalancer` 100/min.
#[derive(Debug, Clone)]
pub struct RateLimits {
    /// Rate for one action (`(Product::Vpc, "CreateRouteEntry")`).
    pub actions: HashMap<(Product, String), Rate>,
    /// Rate for reads of a product.
    pub reads: HashMap<Product, Rate>,
    /// Rate for writes of a product.
    pub writes: HashMap<Product, Rate>,
}

impl Default for RateLimits {
    fn default() -> Self {
        let reads = [
            (Product::Ecs, Rate::per_minute(1000.0)),
            (Product::Vpc, Rate::per_minute(600.0)),
            (Product::Slb, Rate::per_minute(600.0)),
            (Product::Sts, Rate::per_minute(6000.0)),
        ];
        let writes = [
            (Product::Ecs, Rate::per_minute(500.0)),
            (Product::Vpc, Rate::per_minute(300.0)),
            (Product::Slb, Rate::per_minute(200.0)),
            (Product::Sts, Rate::per_minute(6000.0)),
        ];
        let actions = [((Product::Slb, "CreateLoadBalancer".to_owned()), Rate::per_minute(100.0))];
        Self { actions: actions.into(), reads: reads.into(), writes: writes.into() }
    }
}

impl RateLimits {
    /// No client-side pacing at all.
    pub fn unlimited() -> Self {
        Self { actions: HashMap::new(), reads: HashMap::new(), writes: HashMap::new() }
    }

    /// Sets the rate of one action.
    pub fn with_action(mut self, product: Product, action: &str, rate: Rate) -> Self {
        self.actions.insert((product, action.to_owned()), rate);
        self
    }

    fn rate_for(&self, product: Product, action: &str) -> Option<Rate> {
        if let Some(rate) = self.actions.get(&(product, action.to_owned())) {
            return Some(*rate);
        }
        let by_kind = if crate::request::is_read_action(action) { &self.reads } else { &self.writes };
        by_kind.get(&product).copied()
    }
}

#[derive(Debug)]
struct Bucket {
    rate: Rate,
    tokens: f64,
    refilled: Instant,
    /// Set when the server throttled us: no call goes out before this.
    paused_until: Option<Instant>,
}

impl Bucket {
    fn new(rate: Rate, now: Instant) -> Self {
        Self { rate, tokens: rate.burst, refilled: now, paused_until: None }
    }

    /// Takes one token, returning how long the caller must wait before sending.
    fn take(&mut self, now: Instant) -> Duration {
        let per_sec = self.rate.per_minute / 60.0;
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_sec).min(self.rate.burst);
        self.refilled = now;
        self.tokens -= 1.0;
        let mut wait = if self.tokens >= 0.0 || per_sec <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / per_sec)
        };
        if let Some(until) = self.paused_until {
            wait = wait.max(until.saturating_duration_since(now));
        }
        wait
    }
}

/// Token buckets keyed by product and action, shared by every clone of a client.
#[derive(Debug, Default)]
pub struct RateLimiter {
    limits: Option<RateLimits>,
    buckets: Mutex<HashMap<(Product, String), Bucket>>,
}

impl RateLimiter {
    /// A limiter with `limits`.
    pub fn new(limits: RateLimits) -> Self {
        Self { limits: Some(limits), buckets: Mutex::default() }
    }

    /// How long a call of `action` must wait for its turn; the caller sleeps that long before sending.
    /// Reserving at once (rather than sleeping under the lock) keeps concurrent callers in order.
    pub fn reserve(&self, product: Product, action: &str, now: Instant) -> Duration {
        let Some(rate) = self.limits.as_ref().and_then(|l| l.rate_for(product, action)) else {
            return Duration::ZERO;
        };
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        buckets.entry((product, action.to_owned())).or_insert_with(|| Bucket::new(rate, now)).take(now)
    }

    /// Records that the server throttled `action`: the next calls wait `pause` and the bucket starts empty,
    /// so we probe again slowly instead of repeating the burst that was refused.
    pub fn throttled(&self, product: Product, action: &str, pause: Duration, now: Instant) {
        let Some(rate) = self.limits.as_ref().and_then(|l| l.rate_for(product, action)) else {
            return;
        };
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry((product, action.to_owned())).or_insert_with(|| Bucket::new(rate, now));
        bucket.tokens = bucket.tokens.min(0.0);
        bucket.paused_until = Some(now + pause);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_passes_then_calls_are_spaced_at_the_rate() {
        let limits = RateLimits::unlimited().with_action(
            Product::Vpc,
            "CreateRouteEntry",
            Rate { per_minute: 60.0, burst: 2.0 },
        );
        let limiter = RateLimiter::new(limits);
        let t0 = Instant::now();
        assert_eq!(limiter.reserve(Product::Vpc, "CreateRouteEntry", t0), Duration::ZERO);
        assert_eq!(limiter.reserve(Product::Vpc, "CreateRouteEntry", t0), Duration::ZERO);
        let third = limiter.reserve(Product::Vpc, "CreateRouteEntry", t0);
        assert!((third.as_secs_f64() - 1.0).abs() < 0.01, "{third:?}");
        let fourth = limiter.reserve(Product::Vpc, "CreateRouteEntry", t0);
        assert!((fourth.as_secs_f64() - 2.0).abs() < 0.01, "{fourth:?}");
        // Other actions have their own bucket (and here no limit at all).
        assert_eq!(limiter.reserve(Product::Vpc, "DeleteRouteEntry", t0), Duration::ZERO);
    }

    #[test]
    fn tokens_refill_over_time() {
        let limiter = RateLimiter::new(RateLimits::unlimited().with_action(
            Product::Slb,
            "X",
            Rate { per_minute: 60.0, burst: 1.0 },
        ));
        let t0 = Instant::now();
        assert_eq!(limiter.reserve(Product::Slb, "X", t0), Duration::ZERO);
        assert_eq!(limiter.reserve(Product::Slb, "X", t0 + Duration::from_secs(1)), Duration::ZERO);
    }

    #[test]
    fn throttling_pauses_the_action() {
        let limiter = RateLimiter::new(RateLimits::default());
        let t0 = Instant::now();
        limiter.throttled(Product::Ecs, "DescribeInstances", Duration::from_secs(3), t0);
        let wait = limiter.reserve(Product::Ecs, "DescribeInstances", t0);
        assert!(wait >= Duration::from_secs(3), "{wait:?}");
    }

    #[test]
    fn defaults_distinguish_reads_and_writes() {
        let l = RateLimits::default();
        assert_eq!(l.rate_for(Product::Vpc, "DescribeRouteEntryList").unwrap().per_minute, 600.0);
        assert_eq!(l.rate_for(Product::Vpc, "CreateRouteEntry").unwrap().per_minute, 300.0);
        assert_eq!(l.rate_for(Product::Slb, "CreateLoadBalancer").unwrap().per_minute, 100.0);
        assert!(RateLimits::unlimited().rate_for(Product::Vpc, "CreateRouteEntry").is_none());
    }
}
