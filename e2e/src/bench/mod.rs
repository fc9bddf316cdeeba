//! The scale benchmark behind `e2e-bench` (see `docs/bench.md`): what running a CCM costs at scale, in cloud
//! calls, time, CPU and memory, beside the least any implementation could need.
//!
//! Each CCM under test (any command line, [`ccm_cmd`]) gets a fresh stack: a real kube-apiserver and etcd, and
//! aliyun-fake seeded with one instance per node ([`seed`], [`topology`]), per-action rate limits
//! ([`limits`]), added latency and route entries that stay Pending. Then the scenarios run in order
//! ([`run`]): S1 bring-up, S2 LoadBalancer Services, S3 node churn, S4 steady state. [`observe`] watches
//! convergence, [`procstat`] and [`metrics`] measure the process, [`bound`] computes the lower bounds, and
//! [`report`] and [`plot`] write JSON, tables and a PNG.

pub mod bound;
pub mod ccm_cmd;
pub mod limits;
pub mod metrics;
pub mod observe;
pub mod plot;
pub mod procstat;
pub mod report;
pub mod run;
pub mod seed;
pub mod topology;

use std::path::PathBuf;

pub use report::{BenchReport, ScenarioId};
pub use run::{BenchOptions, run};

use crate::error::{Context as _, Result};

/// Files written by [`write_outputs`].
#[derive(Debug, Clone)]
pub struct Outputs {
    /// `report.json`.
    pub json: PathBuf,
    /// `report.md`: the tables.
    pub markdown: PathBuf,
    /// `convergence.png`, when there was a series to draw.
    pub plot: Option<PathBuf>,
}

/// Writes `report.json`, `report.md` and `convergence.png` into `report`'s output directory `out`.
pub fn write_outputs(report: &BenchReport, out: &std::path::Path) -> Result<Outputs> {
    std::fs::create_dir_all(out).context(format!("creating {}", out.display()))?;
    let json = out.join("report.json");
    let text = serde_json::to_string_pretty(report).context("rendering report.json")?;
    std::fs::write(&json, text).context(format!("writing {}", json.display()))?;
    let markdown = out.join("report.md");
    std::fs::write(&markdown, report::render_markdown(report)).context(format!("writing {}", markdown.display()))?;
    let png = out.join("convergence.png");
    let plot = plot::render(report, &png)?.then_some(png);
    Ok(Outputs { json, markdown, plot })
}
