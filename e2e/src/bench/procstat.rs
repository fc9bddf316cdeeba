//! Resource use of the CCM under test, from `/proc/<pid>`: CPU seconds (`stat` utime + stime) and peak and
//! current resident memory (`status` VmHWM and VmRSS).

use std::process::Command;
use std::sync::OnceLock;

use serde::Serialize;

use crate::error::{Context as _, Error, Result};

/// One reading.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProcSample {
    /// User plus system CPU time so far, seconds.
    pub cpu_seconds: f64,
    /// Peak resident set size so far (VmHWM), KiB.
    pub peak_rss_kib: u64,
    /// Resident set size now (VmRSS), KiB.
    pub rss_kib: u64,
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 when unknown).
fn ticks_per_second() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0)
    })
}

/// utime + stime in clock ticks, from the text of `/proc/<pid>/stat`.
pub fn cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) may contain spaces and parentheses: count fields after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime and stime are fields 14 and 15.
    let utime: u64 = fields.get(14 - 3)?.parse().ok()?;
    let stime: u64 = fields.get(15 - 3)?.parse().ok()?;
    Some(utime + stime)
}

/// A `kB` field (`VmHWM:   12345 kB`) of `/proc/<pid>/status`.
pub fn status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Reads `/proc/<pid>`.
pub fn sample(pid: u32) -> Result<ProcSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).context(format!("reading /proc/{pid}/stat"))?;
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).context(format!("reading /proc/{pid}/status"))?;
    let bad = |what: &str| Error::Format { context: format!("/proc/{pid}"), message: format!("no {what}") };
    let ticks = cpu_ticks(&stat).ok_or_else(|| bad("utime/stime"))?;
    Ok(ProcSample {
        cpu_seconds: ticks as f64 / ticks_per_second(),
        peak_rss_kib: status_kib(&status, "VmHWM").ok_or_else(|| bad("VmHWM"))?,
        rss_kib: status_kib(&status, "VmRSS").ok_or_else(|| bad("VmRSS"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_command_names() {
        let stat = "4242 (my (odd) ccm) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 8 0 1000 0 0";
        assert_eq!(cpu_ticks(stat), Some(325));
    }

    #[test]
    fn parses_status_fields() {
        let status = "Name:\tccm\nVmPeak:\t  200000 kB\nVmHWM:\t   51234 kB\nVmRSS:\t   40000 kB\n";
        assert_eq!(status_kib(status, "VmHWM"), Some(51234));
        assert_eq!(status_kib(status, "VmRSS"), Some(40000));
        assert_eq!(status_kib(status, "VmSwap"), None);
    }

    #[test]
    fn samples_this_process() {
        let s = sample(std::process::id()).expect("sample");
        assert!(s.peak_rss_kib >= s.rss_kib / 2 && s.rss_kib > 0, "{s:?}");
    }
}
