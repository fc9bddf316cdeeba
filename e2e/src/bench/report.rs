//! The report: what each scenario measured for each CCM, beside the scenario's lower bound, as JSON and as
//! readable tables (side by side with ratios when several CCMs ran).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use super::bound::LowerBound;
use super::observe::{ActionTally, Progress};

/// The scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ScenarioId {
    /// Bring-up: N nodes registered at once.
    S1,
    /// M LoadBalancer Services created at once.
    S2,
    /// Churn: nodes removed and added.
    S3,
    /// Steady state: idle.
    S4,
}

impl ScenarioId {
    /// Every scenario, in running order.
    pub const ALL: [ScenarioId; 4] = [ScenarioId::S1, ScenarioId::S2, ScenarioId::S3, ScenarioId::S4];

    /// Parses `s1`, `bringup`, `S2`, `services`, `churn`, `steady`...
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "s1" | "bringup" | "bring-up" => Some(Self::S1),
            "s2" | "services" => Some(Self::S2),
            "s3" | "churn" => Some(Self::S3),
            "s4" | "steady" | "steady-state" => Some(Self::S4),
            _ => None,
        }
    }

    /// `S1`...
    pub fn code(self) -> &'static str {
        match self {
            Self::S1 => "S1",
            Self::S2 => "S2",
            Self::S3 => "S3",
            Self::S4 => "S4",
        }
    }
}

/// Taint-removal latency of the nodes a scenario registered (watch event of the new Node to the first event
/// without the uninitialized taint).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LatencyStats {
    /// Nodes measured.
    pub count: usize,
    /// Nodes still tainted (or never seen) at the end.
    pub missing: usize,
    /// Median, seconds.
    pub p50_s: f64,
    /// 99th percentile, seconds.
    pub p99_s: f64,
    /// Slowest, seconds.
    pub max_s: f64,
}

impl LatencyStats {
    /// Nearest-rank percentiles of `samples` (seconds).
    pub fn from_samples(mut samples: Vec<f64>, missing: usize) -> Option<Self> {
        if samples.is_empty() {
            return (missing > 0).then(|| Self { missing, ..Default::default() });
        }
        samples.sort_by(f64::total_cmp);
        let rank = |q: f64| samples[((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len()) - 1];
        Some(Self {
            count: samples.len(),
            missing,
            p50_s: rank(0.50),
            p99_s: rank(0.99),
            max_s: samples[samples.len() - 1],
        })
    }
}

/// One observation of convergence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesPoint {
    /// Seconds since the scenario started.
    pub t_s: f64,
    /// What held then.
    #[serde(flatten)]
    pub progress: Progress,
}

/// What one scenario measured for one CCM.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioResult {
    /// Everything expected held at the end (S4: still held after the idle period).
    pub converged: bool,
    /// Seconds from the start of the scenario (before the harness created anything) to the first observation
    /// where everything held (resolution: the poll interval).
    pub time_to_converge_s: Option<f64>,
    /// Seconds the harness needed to create or delete the scenario's objects.
    pub setup_s: f64,
    /// Seconds between the two measurement points (convergence or timeout, plus the settle time).
    pub measured_s: f64,
    /// Taint-removal latency of the nodes registered in this scenario.
    pub taint_latency: Option<LatencyStats>,
    /// Calls per action (exact, from the fake's counters), with throttled and failed answers (from its log).
    pub calls: BTreeMap<String, ActionTally>,
    /// All calls.
    pub total_calls: u64,
    /// Calls answered `Throttling*` (exact).
    pub throttled: u64,
    /// Other error answers by code (exact).
    pub errors_by_code: BTreeMap<String, u64>,
    /// Whether every call was seen in the log (per-action throttled/error counts are otherwise a lower estimate).
    pub per_action_detail_complete: bool,
    /// Retries the CCM made.
    pub retries: Option<f64>,
    /// Where `retries` comes from.
    pub retries_source: String,
    /// CPU seconds (user + system) the CCM used during the scenario.
    pub cpu_seconds: Option<f64>,
    /// The CCM's peak resident memory so far (VmHWM), MiB.
    pub peak_rss_mib: Option<f64>,
    /// Its resident memory at the end, MiB.
    pub rss_mib: Option<f64>,
    /// The last observation.
    pub final_progress: Progress,
    /// Convergence over time.
    pub series: Vec<SeriesPoint>,
    /// Anything unusual.
    pub notes: Vec<String>,
}

/// One CCM's run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CcmRun {
    /// Short name.
    pub name: String,
    /// The `--ccm-cmd` template.
    pub template: String,
    /// The command as run (placeholders filled in).
    pub command: Option<String>,
    /// Copy of its log in the output directory.
    pub log: Option<PathBuf>,
    /// Calls it made between its start and the first scenario.
    pub startup_calls: BTreeMap<String, u64>,
    /// How it exited when stopped.
    pub exit: Option<String>,
    /// What went wrong, if the run stopped early.
    pub error: Option<String>,
}

/// One scenario across CCMs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioReport {
    /// Which.
    pub id: ScenarioId,
    /// What it does, with its sizes.
    pub title: String,
    /// The least any CCM could do.
    pub lower_bound: LowerBound,
    /// Per CCM, in `ccms` order (`None`: not reached).
    pub results: Vec<Option<ScenarioResult>>,
}

/// The benchmark's settings as run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchConfig {
    /// Nodes in S1.
    pub nodes: usize,
    /// Services in S2.
    pub services: usize,
    /// Ports per Service.
    pub ports_per_service: usize,
    /// Ready endpoints per Service (each on its own node; `externalTrafficPolicy: Local`).
    pub endpoints_per_service: usize,
    /// Nodes removed and added in S3.
    pub churn: usize,
    /// Latency of every cloud call, ms.
    pub latency_ms: u64,
    /// Pending time of route entries, ms.
    pub route_pending_ms: u64,
    /// Idle time of S4, minutes.
    pub steady_minutes: f64,
    /// Convergence poll interval, ms.
    pub poll_ms: u64,
    /// Wait after convergence before the calls are counted, s.
    pub settle_s: f64,
    /// Managed route tables.
    pub route_tables: u64,
    /// CPUs of this machine.
    pub cpus: usize,
}

/// Everything the benchmark produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// When it ran (UTC).
    pub generated_at: String,
    /// Settings.
    pub config: BenchConfig,
    /// Per-second limits the fake enforced, per action (`*`: any other).
    pub qps: BTreeMap<String, u32>,
    /// The CCMs, in `--ccm-cmd` order.
    pub ccms: Vec<CcmRun>,
    /// The scenarios that ran.
    pub scenarios: Vec<ScenarioReport>,
}

fn fmt_f(v: Option<f64>, decimals: usize) -> String {
    v.map(|v| format!("{v:.decimals$}")).unwrap_or_else(|| "—".into())
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        (Some(a), Some(b)) if a == 0.0 && b == 0.0 => "1.00×".into(),
        _ => "—".into(),
    }
}

/// One table row: label, bound, per-CCM values (for ratios) and their texts.
struct Row {
    label: String,
    bound: String,
    values: Vec<Option<f64>>,
    texts: Vec<String>,
}

impl Row {
    fn numeric(label: impl Into<String>, bound: String, values: Vec<Option<f64>>, decimals: usize) -> Self {
        let texts = values.iter().map(|v| fmt_f(*v, decimals)).collect();
        Row { label: label.into(), bound, values, texts }
    }
}

fn rows_for(s: &ScenarioReport) -> Vec<Row> {
    let lb = &s.lower_bound;
    let results: Vec<Option<&ScenarioResult>> = s.results.iter().map(Option::as_ref).collect();
    let each = |f: &dyn Fn(&ScenarioResult) -> Option<f64>| results.iter().map(|r| r.and_then(f)).collect::<Vec<_>>();
    let mut rows = Vec::new();
    let steady = s.id == ScenarioId::S4;
    rows.push(Row {
        label: if steady { "stayed converged".into() } else { "converged".into() },
        bound: String::new(),
        values: vec![None; results.len()],
        texts: results
            .iter()
            .map(|r| match r {
                Some(r) if r.converged => "yes".into(),
                Some(r) => format!("NO ({})", progress_text(&r.final_progress)),
                None => "not run".into(),
            })
            .collect(),
    });
    if steady {
        let minutes = |r: &ScenarioResult| r.measured_s / 60.0;
        rows.push(Row::numeric(
            "cloud calls per minute",
            "0".into(),
            each(&|r| Some(r.total_calls as f64 / minutes(r).max(1e-9))),
            1,
        ));
    } else {
        rows.push(Row::numeric("time to converge (s)", fmt_f(lb.time_s, 1), each(&|r| r.time_to_converge_s), 1));
        if lb.taint_p50_s.is_some() {
            rows.push(Row::numeric(
                "taint removal p50 (s)",
                fmt_f(lb.taint_p50_s, 2),
                each(&|r| r.taint_latency.as_ref().filter(|l| l.count > 0).map(|l| l.p50_s)),
                2,
            ));
            rows.push(Row::numeric(
                "taint removal p99 (s)",
                fmt_f(lb.taint_p99_s, 2),
                each(&|r| r.taint_latency.as_ref().filter(|l| l.count > 0).map(|l| l.p99_s)),
                2,
            ));
        }
    }
    rows.push(Row::numeric("cloud calls", lb.total_calls.to_string(), each(&|r| Some(r.total_calls as f64)), 0));
    let actions: BTreeSet<&String> =
        lb.calls.keys().chain(results.iter().flatten().flat_map(|r| r.calls.keys())).collect();
    for action in actions {
        let mut row = Row::numeric(
            format!("  {action}"),
            lb.calls.get(action).map(|c| c.to_string()).unwrap_or_else(|| "—".into()),
            each(&|r| Some(r.calls.get(action).map(|t| t.calls).unwrap_or(0) as f64)),
            0,
        );
        for (text, r) in row.texts.iter_mut().zip(&results) {
            if let Some(t) = r.and_then(|r| r.calls.get(action)) {
                let mut extra = Vec::new();
                if t.throttled > 0 {
                    extra.push(format!("{} throttled", t.throttled));
                }
                if t.errors > 0 {
                    extra.push(format!("{} failed", t.errors));
                }
                if !extra.is_empty() {
                    let _ = write!(text, " ({})", extra.join(", "));
                }
            }
        }
        rows.push(row);
    }
    rows.push(Row::numeric("throttled answers", "0".into(), each(&|r| Some(r.throttled as f64)), 0));
    rows.push(Row::numeric(
        "other error answers",
        "0".into(),
        each(&|r| Some(r.errors_by_code.values().sum::<u64>() as f64)),
        0,
    ));
    let mut retries = Row::numeric("retries", "0".into(), each(&|r| r.retries), 0);
    for (text, r) in retries.texts.iter_mut().zip(&results) {
        if r.is_some_and(|r| r.retries.is_some() && !r.retries_source.starts_with("ccm")) {
            text.push_str(" (est.)");
        }
    }
    rows.push(retries);
    rows.push(Row::numeric("CCM CPU (s)", "—".into(), each(&|r| r.cpu_seconds), 2));
    rows.push(Row::numeric("CCM peak RSS (MiB)", "—".into(), each(&|r| r.peak_rss_mib), 1));
    rows
}

fn progress_text(p: &Progress) -> String {
    let mut parts = Vec::new();
    if p.nodes > 0 {
        parts.push(format!("untainted {}/{}", p.nodes_untainted, p.nodes));
        parts.push(format!("net {}/{}", p.nodes_network_ready, p.nodes));
        parts.push(format!("routes {}/{}", p.routes_ready, p.routes));
    }
    if p.routes_stale > 0 {
        parts.push(format!("{} stale routes", p.routes_stale));
    }
    if p.services > 0 {
        parts.push(format!("ingress {}/{}", p.services_with_ingress, p.services));
        parts.push(format!("backends {}/{}", p.services_backends_ok, p.services));
    }
    parts.join(", ")
}

/// The tables as Markdown (also readable as plain text).
pub fn render_markdown(report: &BenchReport) -> String {
    let c = &report.config;
    let mut out = String::new();
    let _ = writeln!(out, "# CCM benchmark ({})\n", report.generated_at);
    let _ = writeln!(
        out,
        "{} nodes, {} LoadBalancer Services ({} ports, {} endpoints each, externalTrafficPolicy Local), churn {}; \
         cloud latency {} ms, route entries Pending {} ms, {} route table(s), {} CPU(s).\n",
        c.nodes,
        c.services,
        c.ports_per_service,
        c.endpoints_per_service,
        c.churn,
        c.latency_ms,
        c.route_pending_ms,
        c.route_tables,
        c.cpus
    );
    for (i, ccm) in report.ccms.iter().enumerate() {
        let _ = writeln!(out, "- CCM {} `{}`: `{}`", i + 1, ccm.name, ccm.template);
        if let Some(e) = &ccm.error {
            let _ = writeln!(out, "  - **stopped early**: {e}");
        }
        if let Some(log) = &ccm.log {
            let _ = writeln!(out, "  - log: {}", log.display());
        }
    }
    out.push('\n');
    for s in &report.scenarios {
        let _ = writeln!(out, "## {} {}\n", s.id.code(), s.title);
        let mut header = vec!["metric".to_owned(), "lower bound".to_owned()];
        header.extend(report.ccms.iter().map(|c| c.name.clone()));
        let names: Vec<&str> = report.ccms.iter().map(|c| c.name.as_str()).collect();
        for n in names.iter().skip(1) {
            header.push(format!("{n} / {}", names[0]));
        }
        let rows = rows_for(s);
        let mut table: Vec<Vec<String>> = vec![header];
        for r in &rows {
            let mut line = vec![r.label.clone(), r.bound.clone()];
            line.extend(r.texts.iter().cloned());
            for k in 1..r.values.len() {
                line.push(ratio(r.values[k], r.values[0]));
            }
            table.push(line);
        }
        out.push_str(&markdown_table(&table));
        out.push('\n');
        for line in &s.lower_bound.explain {
            let _ = writeln!(out, "- bound: {line}");
        }
        for (ccm, r) in report.ccms.iter().zip(&s.results) {
            let Some(r) = r else { continue };
            if let Some(l) = &r.taint_latency {
                let _ = writeln!(
                    out,
                    "- {}: taint removal of {} node(s): p50 {:.2}s, p99 {:.2}s, max {:.2}s{}",
                    ccm.name,
                    l.count,
                    l.p50_s,
                    l.p99_s,
                    l.max_s,
                    if l.missing > 0 { format!(", {} still tainted", l.missing) } else { String::new() }
                );
            }
            let _ =
                writeln!(out, "- {}: harness setup {:.1}s; measured over {:.1}s", ccm.name, r.setup_s, r.measured_s);
            if !r.retries_source.is_empty() {
                let _ = writeln!(out, "- {}: retries from {}", ccm.name, r.retries_source);
            }
            for n in &r.notes {
                let _ = writeln!(out, "- {}: {n}", ccm.name);
            }
        }
        out.push('\n');
    }
    out
}

fn markdown_table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width = |c: usize| rows.iter().map(|r| r.get(c).map(|s| s.chars().count()).unwrap_or(0)).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols).map(width).collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        out.push('|');
        for (c, w) in widths.iter().enumerate() {
            let cell = row.get(c).map(String::as_str).unwrap_or("");
            let pad = w.saturating_sub(cell.chars().count());
            if c == 0 {
                let _ = write!(out, " {cell}{} |", " ".repeat(pad));
            } else {
                let _ = write!(out, " {}{cell} |", " ".repeat(pad));
            }
        }
        out.push('\n');
        if i == 0 {
            out.push('|');
            for (c, w) in widths.iter().enumerate() {
                let dashes = "-".repeat((*w).max(3));
                if c == 0 {
                    let _ = write!(out, " {dashes} |");
                } else {
                    let _ = write!(out, " {}: |", &dashes[1..]);
                }
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let l = LatencyStats::from_samples((1..=100).map(f64::from).collect(), 2).expect("stats");
        assert_eq!((l.p50_s, l.p99_s, l.max_s, l.count, l.missing), (50.0, 99.0, 100.0, 100, 2));
        let one = LatencyStats::from_samples(vec![0.3], 0).expect("stats");
        assert_eq!((one.p50_s, one.p99_s), (0.3, 0.3));
        assert!(LatencyStats::from_samples(vec![], 0).is_none());
    }

    #[test]
    fn scenario_names_parse() {
        assert_eq!(ScenarioId::parse("churn"), Some(ScenarioId::S3));
        assert_eq!(ScenarioId::parse("S1"), Some(ScenarioId::S1));
        assert_eq!(ScenarioId::parse("s9"), None);
    }

    #[test]
    fn tables_show_bounds_and_ratios() {
        let result = |t: f64, calls: u64| ScenarioResult {
            converged: true,
            time_to_converge_s: Some(t),
            setup_s: 1.0,
            measured_s: t + 5.0,
            taint_latency: LatencyStats::from_samples(vec![0.5, 1.0], 0),
            calls: [("DescribeInstances".to_string(), ActionTally { calls, throttled: 1, errors: 0 })].into(),
            total_calls: calls,
            throttled: 1,
            errors_by_code: BTreeMap::new(),
            per_action_detail_complete: true,
            retries: Some(1.0),
            retries_source: "ccm /metrics aliyun_api_retries".into(),
            cpu_seconds: Some(0.5),
            peak_rss_mib: Some(30.0),
            rss_mib: Some(25.0),
            final_progress: Progress::default(),
            series: vec![],
            notes: vec![],
        };
        let report = BenchReport {
            generated_at: "now".into(),
            config: BenchConfig {
                nodes: 100,
                services: 20,
                ports_per_service: 2,
                endpoints_per_service: 3,
                churn: 50,
                latency_ms: 50,
                route_pending_ms: 3000,
                steady_minutes: 1.0,
                poll_ms: 1000,
                settle_s: 5.0,
                route_tables: 1,
                cpus: 2,
            },
            qps: BTreeMap::new(),
            ccms: vec![
                CcmRun { name: "a".into(), ..Default::default() },
                CcmRun { name: "b".into(), ..Default::default() },
            ],
            scenarios: vec![ScenarioReport {
                id: ScenarioId::S1,
                title: "bring-up".into(),
                lower_bound: LowerBound {
                    calls: [("DescribeInstances".to_string(), 1)].into(),
                    total_calls: 1,
                    time_s: Some(6.1),
                    taint_p50_s: Some(0.05),
                    taint_p99_s: Some(0.05),
                    explain: vec!["x".into()],
                },
                results: vec![Some(result(10.0, 2)), Some(result(20.0, 8))],
            }],
        };
        let md = render_markdown(&report);
        assert!(md.contains("| time to converge (s)"), "{md}");
        assert!(md.contains("2.00×"), "{md}");
        assert!(md.contains("4.00×"), "{md}");
        assert!(md.contains("2 (1 throttled)"), "{md}");
    }
}
