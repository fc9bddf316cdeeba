//! Project tasks, run as `cargo xtask <task>`:
//!
//! * `test`: the project's test command (fmt, clippy, unit tests, the aliyun-fake SDK suite, e2e).
//! * `k8s-bins`: builds and caches kube-apiserver and etcd for the e2e tests.
//! * `stack up|down|status`: a local etcd + kube-apiserver + aliyun-fake in the background.
//! * `demo`: the CCM against the local stack (needs the controllers; not available yet).
//!
//! xtask stays small (anyhow + clap): it shells out to cargo, go and the e2e crate's `e2e-stack` binary.

mod cmd;
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
    /// Runs etcd, kube-apiserver and aliyun-fake in the background.
    Stack {
        #[command(subcommand)]
        action: StackAction,
    },
    /// Runs the CCM against the local stack and narrates what happens (needs the controllers).
    Demo {
        /// Exit after the scenario instead of running until Ctrl-C.
        #[arg(long)]
        once: bool,
    },
}

#[derive(Debug, Subcommand)]
enum StackAction {
    /// Starts the stack (replacing a running one) and prints how to reach it.
    Up {
        /// Seed file for aliyun-fake.
        #[arg(long)]
        seed: Option<PathBuf>,
        /// Do not start aliyun-fake.
        #[arg(long)]
        no_fake: bool,
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
        Task::Demo { once: _ } => {
            eprintln!(
                "cargo xtask demo needs the cloud-controller-manager binary and its controllers, which do not exist \
                 yet (issues 5-9).\nMeanwhile `cargo xtask stack up` brings up etcd, kube-apiserver and aliyun-fake \
                 to explore by hand."
            );
            Ok(ExitCode::from(2))
        }
    }
}

/// `stack up|down|status`: delegates to the e2e crate's `e2e-stack` binary, which owns certificates, tokens and
/// process handling. (When the CCM binary exists, `up` starts it too: that belongs in `e2e-stack`.)
fn stack(action: StackAction) -> Result<ExitCode> {
    let mut args: Vec<String> = vec![
        "run".into(),
        "--quiet".into(),
        "-p".into(),
        "e2e".into(),
        "--bin".into(),
        "e2e-stack".into(),
        "--".into(),
    ];
    let mut env = Vec::new();
    match action {
        StackAction::Up { seed, no_fake } => {
            let bins = k8s_bins::ensure(true)?;
            env.push((k8s_bins::BINS_ENV.to_string(), bins.dir.display().to_string()));
            args.push("up".into());
            if let Some(seed) = seed {
                args.push("--seed".into());
                args.push(seed.display().to_string());
            }
            if no_fake {
                args.push("--no-fake".into());
            }
        }
        StackAction::Down => args.push("down".into()),
        StackAction::Status => args.push("status".into()),
    }
    let status = cmd::cargo(&args).envs(env).status()?;
    Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
