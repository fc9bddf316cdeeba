//! Fault and load injection (per-action QPS limits, added latency, injected
//! errors) and the call log served under `/_fake/calls`.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::wire::ApiFault;

/// The key that applies a rule to every action without a rule of its own.
pub const ANY_ACTION: &str = "*";

/// Injected faults, keyed by action name (`DescribeInstances`) or `*`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// Calls per second allowed per action; more answer `Throttling.User`.
    #[serde(default)]
    pub qps: BTreeMap<String, u32>,
    /// Extra delay before answering, in milliseconds.
    #[serde(default)]
    pub latency_ms: BTreeMap<String, u64>,
    /// Errors returned instead of running the action.
    #[serde(default)]
    pub errors: BTreeMap<String, ErrorRule>,
}

/// An injected error: which code to answer, how often, how many times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorRule {
    /// Error code, such as `ServiceUnavailable` or `TaskConflict`.
    pub code: String,
    /// HTTP status (default 400; use 5xx for server errors).
    #[serde(default = "default_status")]
    pub status: u16,
    /// Message (default: a generic one naming the code).
    #[serde(default)]
    pub message: Option<String>,
    /// Probability in 0..=1 that a call fails (default 1).
    #[serde(default = "default_rate")]
    pub rate: f64,
    /// How many more calls may fail; `None` = unlimited.
    #[serde(default)]
    pub remaining: Option<u32>,
}

fn default_status() -> u16 {
    400
}

fn default_rate() -> f64 {
    1.0
}

impl ErrorRule {
    fn fault(&self) -> ApiFault {
        let message = self.message.clone().unwrap_or_else(|| format!("Injected error {}.", self.code));
        ApiFault::new(self.status, self.code.clone(), message)
    }
}

/// The outcome of a throttling check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateHeader {
    /// Value for the `x-ratelimit-user-api` header.
    pub value: String,
    /// Whether the call is over the limit.
    pub throttled: bool,
    /// Milliseconds until the window resets.
    pub time_left_ms: u64,
}

#[derive(Debug, Clone, Default)]
struct Window {
    second: u64,
    count: u32,
}

/// Fault rules plus the live counters they need.
#[derive(Debug, Default)]
pub struct Faults {
    /// The active rules.
    pub config: FaultConfig,
    windows: BTreeMap<String, Window>,
}

impl Faults {
    /// Faults with the given rules.
    pub fn new(config: FaultConfig) -> Self {
        Self { config, windows: BTreeMap::new() }
    }

    fn rule<'a, T>(map: &'a BTreeMap<String, T>, action: &str) -> Option<&'a T> {
        map.get(action).or_else(|| map.get(ANY_ACTION))
    }

    /// Added latency for an action.
    pub fn latency(&self, action: &str) -> Duration {
        Self::rule(&self.config.latency_ms, action).map(|ms| Duration::from_millis(*ms)).unwrap_or_default()
    }

    /// Counts a call against the action's QPS limit (one-second windows).
    /// `None` when the action has no limit.
    pub fn throttle(&mut self, action: &str, now: SystemTime) -> Option<RateHeader> {
        let limit = *Self::rule(&self.config.qps, action)?;
        let since = now.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        let second = since.as_secs();
        let window = self.windows.entry(action.to_string()).or_default();
        if window.second != second {
            *window = Window { second, count: 0 };
        }
        let throttled = window.count >= limit;
        if !throttled {
            window.count += 1;
        }
        let time_left = 1000 - u64::from(since.subsec_millis());
        let value = format!(
            "Limit:{limit},Remain:{},TimeLeft:{time_left},Reset:{}",
            limit.saturating_sub(window.count),
            second + 1
        );
        Some(RateHeader { value, throttled, time_left_ms: time_left })
    }

    /// The injected error for this call, if its rule fires.
    pub fn injected_error(&mut self, action: &str) -> Option<ApiFault> {
        let key = if self.config.errors.contains_key(action) { action } else { ANY_ACTION };
        let rule = self.config.errors.get_mut(key)?;
        if rule.remaining == Some(0) || rand::random::<f64>() >= rule.rate {
            return None;
        }
        if let Some(n) = rule.remaining.as_mut() {
            *n -= 1;
        }
        Some(rule.fault())
    }
}

/// One API call as logged.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    /// Sequence number since start (not reset by `reset-calls`).
    pub seq: u64,
    /// When the call arrived (RFC 3339).
    pub at: String,
    /// Product (`Ecs`, `Vpc`, `Slb`, `Sts`), empty if the version was unknown.
    pub product: String,
    /// Action name.
    pub action: String,
    /// Caller's AccessKeyId, empty when anonymous or unauthenticated.
    pub access_key_id: String,
    /// HTTP status answered.
    pub status: u16,
    /// Error code answered, if any.
    pub code: Option<String>,
    /// The request parameters (signature parameters removed).
    pub params: BTreeMap<String, String>,
}

/// The most calls kept in the log (older ones drop off; counts stay exact).
pub const CALL_LOG_CAPACITY: usize = 10_000;

/// Call log with per-action counts.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallLog {
    /// Calls counted since the last reset.
    pub total: u64,
    /// Calls per action since the last reset.
    pub by_action: BTreeMap<String, u64>,
    /// Error answers per code since the last reset.
    pub by_code: BTreeMap<String, u64>,
    /// The latest calls, oldest first.
    pub calls: VecDeque<CallRecord>,
    #[serde(skip)]
    next_seq: u64,
}

impl CallLog {
    /// Appends a call.
    pub fn record(&mut self, mut call: CallRecord) {
        self.next_seq += 1;
        call.seq = self.next_seq;
        self.total += 1;
        *self.by_action.entry(call.action.clone()).or_default() += 1;
        if let Some(code) = &call.code {
            *self.by_code.entry(code.clone()).or_default() += 1;
        }
        if self.calls.len() == CALL_LOG_CAPACITY {
            self.calls.pop_front();
        }
        self.calls.push_back(call);
    }

    /// Forgets logged calls and counts.
    pub fn reset(&mut self) {
        self.total = 0;
        self.by_action.clear();
        self.by_code.clear();
        self.calls.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, millis: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(secs * 1000 + millis)
    }

    #[test]
    fn qps_limit_throttles_within_a_second_and_resets() {
        let mut f =
            Faults::new(FaultConfig { qps: [("DescribeInstances".to_string(), 2)].into(), ..Default::default() });
        assert!(f.throttle("Other", at(100, 0)).is_none());
        assert!(!f.throttle("DescribeInstances", at(100, 0)).unwrap().throttled);
        let second = f.throttle("DescribeInstances", at(100, 100)).unwrap();
        assert!(!second.throttled);
        assert_eq!(second.value, "Limit:2,Remain:0,TimeLeft:900,Reset:101");
        let third = f.throttle("DescribeInstances", at(100, 250)).unwrap();
        assert!(third.throttled);
        assert_eq!(third.value, "Limit:2,Remain:0,TimeLeft:750,Reset:101");
        assert_eq!(third.time_left_ms, 750);
        assert!(!f.throttle("DescribeInstances", at(101, 0)).unwrap().throttled);
    }

    #[test]
    fn wildcard_rules_apply_to_unlisted_actions() {
        let mut f = Faults::new(FaultConfig {
            latency_ms: [("*".to_string(), 5), ("A".to_string(), 1)].into(),
            ..Default::default()
        });
        assert_eq!(f.latency("A"), Duration::from_millis(1));
        assert_eq!(f.latency("B"), Duration::from_millis(5));
        assert!(f.injected_error("B").is_none());
    }

    #[test]
    fn error_rules_fire_a_limited_number_of_times() {
        let mut f = Faults::new(FaultConfig {
            errors: [(
                "CreateRouteEntry".to_string(),
                ErrorRule { code: "TaskConflict".into(), status: 400, message: None, rate: 1.0, remaining: Some(2) },
            )]
            .into(),
            ..Default::default()
        });
        assert_eq!(f.injected_error("CreateRouteEntry").unwrap().code, "TaskConflict");
        assert!(f.injected_error("CreateRouteEntry").is_some());
        assert!(f.injected_error("CreateRouteEntry").is_none());
        assert!(f.injected_error("DeleteRouteEntry").is_none());
    }

    #[test]
    fn call_log_counts_and_resets() {
        let mut log = CallLog::default();
        for code in [None, Some("Throttling.User".to_string())] {
            log.record(CallRecord {
                seq: 0,
                at: String::new(),
                product: "Ecs".into(),
                action: "DescribeInstances".into(),
                access_key_id: String::new(),
                status: 200,
                code,
                params: BTreeMap::new(),
            });
        }
        assert_eq!(log.total, 2);
        assert_eq!(log.by_action["DescribeInstances"], 2);
        assert_eq!(log.by_code["Throttling.User"], 1);
        assert_eq!(log.calls.back().unwrap().seq, 2);
        log.reset();
        assert_eq!(log.total, 0);
        assert!(log.calls.is_empty());
    }
}
