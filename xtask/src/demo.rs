//! `cargo xtask demo` (the README's "run it" command) and the builds `cargo xtask stack up` needs: kube-apiserver
//! and etcd from the cache (built on first use), the workspace binaries with cargo's own progress output, then the
//! e2e crate's `e2e-demo` (or `e2e-stack`) in place of this process.

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};

use crate::cmd::{cargo, fmt_duration};
use crate::k8s_bins;

/// Options of `cargo xtask demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Exit 0 once everything converged (non-zero with what is missing if it does not within --timeout)
    /// instead of narrating until Ctrl-C.
    #[arg(long)]
    once: bool,
    /// Seconds convergence may take after the CCM starts.
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    timeout: u64,
}

/// The binaries the demo runs: `(package, binary)`.
const DEMO_BINS: [(&str, &str); 3] =
    [("aliyun-fake", "aliyun-fake"), ("ccm", "cloud-controller-manager"), ("e2e", "e2e-demo")];

/// The binaries `stack up` runs.
pub const STACK_BINS: [(&str, &str); 3] =
    [("aliyun-fake", "aliyun-fake"), ("ccm", "cloud-controller-manager"), ("e2e", "e2e-stack")];

/// Runs `cargo xtask demo`.
pub fn run(args: &DemoArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let mut cmd = prepare(&DEMO_BINS, 3)?;
    println!("==> [3/3] the demo (ready after {}; Ctrl-C stops everything)\n", fmt_duration(started.elapsed()));
    if args.once {
        cmd.arg("--once");
    }
    cmd.arg("--timeout").arg(args.timeout.to_string());
    exec(cmd)
}

/// Steps 1 and 2 of `steps`: kube-apiserver and etcd, then `bins` with cargo. Returns the command running the
/// last of `bins`, with the environment telling the harness where everything is.
pub fn prepare(bins: &[(&str, &str)], steps: usize) -> Result<Command> {
    println!("==> [1/{steps}] kube-apiserver and etcd (built from the Go module proxy once, then cached)");
    let started = Instant::now();
    let k8s = k8s_bins::ensure(true)?;
    println!(
        "    kube-apiserver {} and etcd {} in {} ({})",
        k8s.kubernetes_version,
        k8s.etcd_version,
        k8s.dir.display(),
        fmt_duration(started.elapsed())
    );

    let names: Vec<&str> = bins.iter().map(|(_, b)| *b).collect();
    println!(
        "==> [2/{steps}] cargo build: {} (the first build compiles a few hundred crates: minutes on 2 cores)",
        names.join(", ")
    );
    let started = Instant::now();
    // One build per binary, exactly as the e2e harness builds them (`e2e::bins::workspace_binary`): cargo unifies
    // features across the packages of one build, so building them together would produce other artifacts than
    // the tests' and relink the binaries back and forth between a demo and a test run.
    for (package, bin) in bins {
        let args = ["build", "--package", package, "--bin", bin];
        println!("    $ cargo {}", args.join(" "));
        let status = cargo(&args).status().context("running cargo build")?;
        if !status.success() {
            bail!("cargo build failed ({status})");
        }
    }
    println!("    built in {}", fmt_duration(started.elapsed()));

    let (_, last) = bins.last().context("no binary to run")?;
    let program = profile_dir()?.join(last);
    if !program.is_file() {
        bail!("{} was not built", program.display());
    }
    let mut cmd = Command::new(program);
    cmd.env(k8s_bins::BINS_ENV, &k8s.dir).env("E2E_NO_CARGO_BUILD", "1");
    Ok(cmd)
}

/// Where cargo put the binaries: next to this xtask binary (`target/debug`, honouring `CARGO_TARGET_DIR`).
fn profile_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("finding the xtask executable")?;
    exe.parent().map(PathBuf::from).context("the xtask executable has no directory")
}

/// Replaces this process with `cmd` (so Ctrl-C reaches it directly); elsewhere, runs it and passes its status on.
pub fn exec(mut cmd: Command) -> Result<ExitCode> {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        let err = cmd.exec();
        Err(err).with_context(|| format!("running {}", cmd.get_program().to_string_lossy()))
    }
    #[cfg(not(unix))]
    {
        let status = cmd.status().with_context(|| format!("running {}", cmd.get_program().to_string_lossy()))?;
        Ok(if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }
}
