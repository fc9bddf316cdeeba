//! Waiting for conditions with deadlines and clear timeout messages.

use std::fmt::Debug;
use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How often [`wait_for`] probes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Probes until `probe` returns `Ok(Some(value))`, for at most `timeout`.
///
/// `Ok(None)` means "not yet"; an `Err` is remembered (its text ends up in the timeout message) and retried,
/// since transient API errors are normal while things start. On timeout the error names `desc`, the time
/// waited, and the last error seen.
pub async fn wait_for<T, F, Fut>(desc: &str, timeout: Duration, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let started = Instant::now();
    let mut last = None;
    loop {
        match probe().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last = Some(error_chain(&e)),
        }
        if started.elapsed() >= timeout {
            return Err(Error::Timeout { desc: desc.to_string(), waited: started.elapsed(), last });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Like [`wait_for`], for a probe that returns an observation and a predicate on it: the last observation is
/// shown (with `Debug`) in the timeout message, so a failure says what the state *was*.
pub async fn wait_until<T, F, Fut, P>(desc: &str, timeout: Duration, mut observe: F, mut done: P) -> Result<T>
where
    T: Debug,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
    P: FnMut(&T) -> bool,
{
    let started = Instant::now();
    loop {
        let last = match observe().await {
            Ok(v) if done(&v) => return Ok(v),
            Ok(v) => format!("{v:?}"),
            Err(e) => error_chain(&e),
        };
        if started.elapsed() >= timeout {
            return Err(Error::Timeout { desc: desc.to_string(), waited: started.elapsed(), last: Some(last) });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// An error and its sources on one line.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_the_first_ready_value() {
        let mut n = 0;
        let v = wait_for("n to reach 3", Duration::from_secs(5), || {
            n += 1;
            let cur = n;
            async move { Ok((cur >= 3).then_some(cur)) }
        })
        .await
        .expect("ready");
        assert_eq!(v, 3);
    }

    #[tokio::test]
    async fn timeout_names_the_condition_and_last_observation() {
        let err = wait_until("the answer", Duration::from_millis(300), || async { Ok(41) }, |v| *v == 42)
            .await
            .expect_err("times out")
            .to_string();
        assert!(err.contains("the answer") && err.contains("41"), "{err}");
    }
}
