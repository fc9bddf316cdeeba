//! `cloud-controller-manager`: the Kubernetes cloud controller manager for Alibaba Cloud ECS.
//!
//! Exit status: 0 after a graceful stop (SIGTERM/SIGINT) or a successful `check`/`plan`; 1 on failure (including
//! a lost leader Lease, as upstream); 2 for bad flags or configuration.

use std::process::ExitCode;

use ccm::{
    check,
    flags::{Cli, Mode},
    logging, plan, run,
};

fn main() -> ExitCode {
    let cli = match Cli::parse_from(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let (format, verbosity) = (cli.flags.log_format, cli.flags.v.unwrap_or(0));
    let settings = match cli.flags.resolve(cli.command.as_ref(), &cli.compat) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cloud-controller-manager: {e}");
            return ExitCode::from(2);
        }
    };
    logging::init(format, verbosity);
    tracing::info!(version = env!("CARGO_PKG_VERSION"), mode = ?settings.mode, "cloud-controller-manager starting");
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cloud-controller-manager: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(async move {
        match settings.mode {
            Mode::Check => check::run(settings).await,
            Mode::Plan => plan::run(settings).await,
            Mode::Run => match run::run(settings, run::shutdown_signal()).await {
                Ok(()) => {
                    tracing::info!("stopped");
                    0
                }
                Err(e) => {
                    tracing::error!("{e:#}");
                    eprintln!("cloud-controller-manager: {e:#}");
                    1
                }
            },
        }
    });
    // Do not wait for lingering tasks (watches, servers): they hold nothing that needs flushing.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
