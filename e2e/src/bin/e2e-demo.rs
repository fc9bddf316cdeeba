//! `e2e-demo`: the narrated demo behind `cargo xtask demo` (see [`e2e::demo`]).
//!
//! The demo runs in a child process of its own process group, so that Ctrl-C in the terminal reaches only this
//! process, which then asks the demo to stop: etcd, kube-apiserver, aliyun-fake and the CCM are never
//! interrupted half-way by the terminal's signal, and stop in order. If this process dies, the child notices (its
//! standard input closes) and stops too.

use std::io::Read as _;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use clap::Parser;
use e2e::demo::{DemoOptions, run};

/// Set in the child that runs the demo.
const INNER_ENV: &str = "E2E_DEMO_INNER";

/// Brings up etcd, kube-apiserver and aliyun-fake, runs cloud-controller-manager, registers three nodes and a
/// LoadBalancer Service, and narrates what happens.
#[derive(Debug, Parser)]
#[command(name = "e2e-demo")]
struct Cli {
    /// Exit 0 once everything converged (non-zero if it does not within --timeout) instead of running until Ctrl-C.
    #[arg(long)]
    once: bool,
    /// Seconds convergence may take after the CCM starts.
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    timeout: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("e2e-demo: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if std::env::var_os(INNER_ENV).is_some() { runtime.block_on(inner(cli)) } else { runtime.block_on(outer()) }
}

/// Starts the demo in its own process group and forwards Ctrl-C (and SIGTERM) to it as SIGTERM.
async fn outer() -> ExitCode {
    use std::os::unix::process::CommandExt as _;
    let Ok(exe) = std::env::current_exe() else {
        eprintln!("e2e-demo: cannot find its own executable");
        return ExitCode::FAILURE;
    };
    let spawned = Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(INNER_ENV, "1")
        .stdin(Stdio::piped())
        .process_group(0)
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            eprintln!("e2e-demo: cannot start the demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Held until this process exits: the child's lifeline.
    let _lifeline = child.stdin.take();
    let mut signals = match Signals::new() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("e2e-demo: cannot listen for Ctrl-C: {e}");
            let _ = child.kill();
            return ExitCode::FAILURE;
        }
    };
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE },
            Ok(None) => {}
            Err(e) => {
                eprintln!("e2e-demo: {e}");
                return ExitCode::FAILURE;
            }
        }
        tokio::select! {
            () = signals.next() => {
                let _ = e2e::process::signal(child.id(), "TERM");
            }
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
}

/// SIGINT and SIGTERM.
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals { int: signal(SignalKind::interrupt())?, term: signal(SignalKind::terminate())? })
    }

    async fn next(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
    }
}

/// Runs the demo until it converges (`--once`), or until SIGINT, SIGTERM or the end of standard input.
async fn inner(cli: Cli) -> ExitCode {
    let opts = DemoOptions { once: cli.once, timeout: Duration::from_secs(cli.timeout), ..DemoOptions::default() }
        .color_if_terminal();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        while matches!(std::io::stdin().read(&mut buf), Ok(n) if n > 0) {}
        let _ = tx.send(());
    });
    let stop = async move {
        let signals = Signals::new();
        match signals {
            Ok(mut s) => {
                tokio::select! {
                    () = s.next() => {}
                    _ = rx => {}
                }
            }
            Err(_) => {
                let _ = rx.await;
            }
        }
    };
    match run(&opts, &mut std::io::stdout(), stop).await {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo failed: {e:#}");
            ExitCode::FAILURE
        }
    }
}
