//! `cargo xtask test`: every check CI runs, each step timed and summarized; all steps run, and the exit status
//! is non-zero if any failed.

use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::Result;

use crate::cmd::{cargo, fmt_duration, workspace_root};
use crate::k8s_bins;

/// Options of `cargo xtask test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Skip the steps that need kube-apiserver (k8s-bins, e2e).
    #[arg(long)]
    no_e2e: bool,
    /// Run only these steps (repeatable): fmt, clippy, unit, sdk, k8s-bins, e2e.
    #[arg(long = "only", value_name = "STEP")]
    only: Vec<String>,
    /// Skip these steps (repeatable).
    #[arg(long = "skip", value_name = "STEP")]
    skip: Vec<String>,
}

const STEPS: [&str; 6] = ["fmt", "clippy", "unit", "sdk", "k8s-bins", "e2e"];

enum Outcome {
    Passed,
    Failed(String),
    Skipped(String),
}

/// Runs the steps.
pub fn run(args: &TestArgs) -> Result<ExitCode> {
    for s in args.only.iter().chain(&args.skip) {
        if !STEPS.contains(&s.as_str()) {
            anyhow::bail!("unknown step {s:?}; steps are {}", STEPS.join(", "));
        }
    }
    let selected: Vec<&str> = STEPS
        .into_iter()
        .filter(|s| args.only.is_empty() || args.only.iter().any(|o| o == s))
        .filter(|s| !args.skip.iter().any(|o| o == s))
        .filter(|s| !(args.no_e2e && matches!(*s, "k8s-bins" | "e2e")))
        .collect();

    let total_started = Instant::now();
    let mut results = Vec::new();
    let mut bins_dir = None;
    for (i, step) in selected.iter().enumerate() {
        println!("\n==> [{}/{}] {step}", i + 1, selected.len());
        let started = Instant::now();
        let outcome = match *step {
            "fmt" => run_cmds(vec![cargo(&["fmt", "--all", "--", "--check"])]),
            "clippy" => run_cmds(vec![cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])]),
            "unit" => run_cmds(vec![
                // Everything but the e2e suites (which need kube-apiserver), then the e2e crate's own unit tests.
                cargo(&["test", "--workspace", "--exclude", "e2e"]),
                cargo(&["test", "-p", "e2e", "--lib", "--bins"]),
            ]),
            "sdk" => sdk_suite(),
            "k8s-bins" => match k8s_bins::ensure(true) {
                Ok(bins) => {
                    println!(
                        "kube-apiserver {} and etcd {} in {}",
                        bins.kubernetes_version,
                        bins.etcd_version,
                        bins.dir.display()
                    );
                    bins_dir = Some(bins.dir);
                    Outcome::Passed
                }
                Err(e) => Outcome::Failed(format!("{e:#}")),
            },
            "e2e" => e2e(bins_dir.clone()),
            _ => Outcome::Skipped("unknown".into()),
        };
        let took = started.elapsed();
        let line = match &outcome {
            Outcome::Passed => format!("ok      {:>8}", fmt_duration(took)),
            Outcome::Failed(why) => format!("FAILED  {:>8}  {why}", fmt_duration(took)),
            Outcome::Skipped(why) => format!("skipped {:>8}  {why}", fmt_duration(took)),
        };
        println!("<== {step}: {line}");
        results.push((step.to_string(), outcome, line));
    }

    println!("\n==> summary ({})", fmt_duration(total_started.elapsed()));
    for (step, _, line) in &results {
        println!("  {step:<9} {line}");
    }
    let failed: Vec<&str> =
        results.iter().filter(|(_, o, _)| matches!(o, Outcome::Failed(_))).map(|(s, _, _)| s.as_str()).collect();
    if failed.is_empty() {
        println!("all {} step(s) passed", results.len());
        Ok(ExitCode::SUCCESS)
    } else {
        println!("FAILED: {}", failed.join(", "));
        Ok(ExitCode::FAILURE)
    }
}

/// Runs commands in order, stopping at the first failure.
fn run_cmds(cmds: Vec<Command>) -> Outcome {
    for mut c in cmds {
        let shown = format!(
            "{} {}",
            c.get_program().to_string_lossy(),
            c.get_args().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>().join(" ")
        );
        println!("$ {shown}");
        match c.status() {
            Ok(s) if s.success() => {}
            Ok(s) => return Outcome::Failed(format!("`{shown}` exited with {s}")),
            Err(e) => return Outcome::Failed(format!("could not run `{shown}`: {e}")),
        }
    }
    Outcome::Passed
}

/// The aliyun-fake SDK compatibility suite, if it exists yet.
fn sdk_suite() -> Outcome {
    let script = workspace_root().join("crates/aliyun-fake/sdk-tests/run.sh");
    if !script.is_file() {
        return Outcome::Skipped(format!("{} does not exist yet", script.display()));
    }
    let mut c = Command::new("bash");
    c.arg(&script).current_dir(workspace_root());
    run_cmds(vec![c])
}

/// The e2e suites against the cached kube-apiserver and etcd. The harness builds the workspace binaries each
/// suite runs (`aliyun-fake`, the CCM) on first use, so a crate the suites do not run cannot block them.
fn e2e(bins_dir: Option<std::path::PathBuf>) -> Outcome {
    let dir = match bins_dir {
        Some(d) => d,
        None => match k8s_bins::ensure(true) {
            Ok(b) => b.dir,
            Err(e) => return Outcome::Failed(format!("k8s-bins: {e:#}")),
        },
    };
    let mut test = cargo(&["test", "-p", "e2e", "--test", "*"]);
    test.env(k8s_bins::BINS_ENV, &dir);
    run_cmds(vec![test])
}
