//! Project tasks, run as `cargo xtask <task>`:
//!
//! * `test`: the project's test command (fmt, clippy, unit tests, the aliyun-fake SDK suite, e2e).
//! * `k8s-bins`: builds and caches kube-apiserver and etcd for the e2e tests.
//! * `stack up|down|status`: a local etcd + kube-apiserver + aliyun-fake + cloud-controller-manager in the
//!   background.
//! * `demo`: the whole system on this machine, narrated (the README's "run it" command).
//!
//! xtask stays small (anyhow + clap): it shells out to cargo, go and the e2e crate's `e2e-stack` and `e2e-demo`
//! binaries.

mod cmd;
mod demo;
mod k8s_bins;
mod test;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Project tasks for the Alibaba Cloud CCM")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Runs every check CI runs: fmt, clippy, unit tests, the aliyun-fake SDK suite, k8s-bins and e2e.
    Test(test::TestArgs),
    /// Builds (once) and prints kube-apiserver and etcd for the e2e tests.
    K8sBins(k8s_bins::K8sBinsArgs),
    /// Runs etcd, kube-apiserver, aliyun-fake and cloud-controller-manager in the background.
    Stack {
        #[command(subcommand)]
        action: StackAction,
    },
    /// Brings up the stack, runs the CCM, registers three nodes and a LoadBalancer Service, and narrates what
    /// happens; until Ctrl-C, or with --once until everything converged.
    Demo(demo::DemoArgs),
    /// Measures the CCM at scale against aliyun-fake (not part of `test`); arguments go to `e2e-bench`
    /// (`--quick`, `--nodes`, `--services`, `--ccm-cmd`, `--out`; see docs/bench.md).
    Bench {
        /// Arguments for e2e-bench.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum StackAction {
    /// Starts the stack (replacing a running one) and prints how to reach it.
    Up {
        /// Seed file for aliyun-fake.
        #[arg(long)]
        seed: Option<PathBuf>,
        /// Do not start aliyun-fake (nor the CCM, which needs it).
        #[arg(long)]
        no_fake: bool,
        /// Do not start cloud-controller-manager.
        #[arg(long)]
        no_ccm: bool,
        /// The CCM's --controllers.
        #[arg(long, default_value = "*")]
        controllers: String,
        /// The CCM's --cluster-cidr (the pod CIDRs of the nodes you register must lie inside it).
        #[arg(long, default_value = "172.16.0.0/16")]
        cluster_cidr: String,
    },
    /// Stops the stack.
    Down,
    /// Reports what runs and where.
    Status,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.task {
        Task::Test(args) => test::run(&args),
        Task::K8sBins(args) => k8s_bins::run(&args).map(|()| ExitCode::SUCCESS),
        Task::Stack { action } => stack(action),
        Task::Demo(args) => demo::run(&args),
        Task::Bench { args } => bench(&args),
    }
}

/// `bench`: makes sure kube-apiserver and etcd are built, then runs the e2e crate's `e2e-bench`.
fn bench(args: &[String]) -> Result<ExitCode> {
    k8s_bins::ensure(true)?;
    let mut cmd = cmd::cargo(&["run", "--quiet", "--package", "e2e", "--bin", "e2e-bench", "--"]);
    cmd.args(args);
    let status = cmd.status()?;
    Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `stack up|down|status`: delegates to the e2e crate's `e2e-stack` binary, which owns certificates, tokens and
/// process handling. `up` first builds what the stack runs, with progress output.
fn stack(action: StackAction) -> Result<ExitCode> {
    let mut cmd = match &action {
        StackAction::Up { .. } => demo::prepare(&demo::STACK_BINS, 3)?,
        StackAction::Down | StackAction::Status => {
            // Nothing to start: no k8s-bins, and the stack's binaries only if e2e-stack itself is missing.
            let mut c = cmd::cargo(&["run", "--quiet", "--package", "e2e", "--bin", "e2e-stack", "--"]);
            c.env("E2E_NO_CARGO_BUILD", "1");
            c
        }
    };
    match action {
        StackAction::Up { seed, no_fake, no_ccm, controllers, cluster_cidr } => {
            println!("==> [3/3] starting the stack");
            cmd.arg("up");
            if let Some(seed) = seed {
                cmd.arg("--seed").arg(seed);
            }
            if no_fake {
                cmd.arg("--no-fake");
            }
            if no_ccm {
                cmd.arg("--no-ccm");
            }
            cmd.arg("--controllers").arg(controllers).arg("--cluster-cidr").arg(cluster_cidr);
        }
        StackAction::Down => {
            cmd.arg("down");
        }
        StackAction::Status => {
            cmd.arg("status");
        }
    }
    let status = cmd.status()?;
    Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
