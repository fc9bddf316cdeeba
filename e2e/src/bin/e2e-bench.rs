//! `e2e-bench`: the cost of running a CCM at scale (docs/bench.md).
//!
//! ```text
//! cargo run -p e2e --bin e2e-bench -- --quick --out /tmp/bench
//! cargo run --release -p e2e --bin e2e-bench -- --out /tmp/bench          # 1000 nodes, 200 Services
//! cargo run -p e2e --bin e2e-bench -- --quick --ccm-cmd "/path/to/go-ccm --kubeconfig={kubeconfig} ..."
//! ```

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use e2e::bench::ccm_cmd::{self, BuildProfile, CcmCommand, PLACEHOLDERS};
use e2e::bench::limits::RateProfile;
use e2e::bench::topology::Topology;
use e2e::bench::{BenchOptions, ScenarioId, write_outputs};
use e2e::wait::error_chain;

#[derive(Debug, Parser)]
#[command(
    name = "e2e-bench",
    about = "Runs CCMs through bring-up, LoadBalancer Services, churn and steady state against a real \
             kube-apiserver and aliyun-fake, and reports cloud calls, time, CPU and memory beside the lower bounds",
    after_help = placeholder_help()
)]
struct Args {
    /// Nodes registered at once in S1 (default 1000; 100 with --quick).
    #[arg(long)]
    nodes: Option<usize>,
    /// LoadBalancer Services (two ports each) created at once in S2 (default 200; 20 with --quick).
    #[arg(long)]
    services: Option<usize>,
    /// N=100, M=20, and a 1-minute steady state unless --steady-minutes is given.
    #[arg(long)]
    quick: bool,
    /// Nodes removed and added in S3 (default 50, at most half the nodes).
    #[arg(long)]
    churn: Option<usize>,
    /// Ready endpoints per Service, each on its own node (externalTrafficPolicy Local).
    #[arg(long, default_value_t = 3)]
    endpoints_per_service: usize,
    /// A CCM command line to benchmark (repeatable; each runs the same scenarios on a fresh stack). Placeholders
    /// are listed below. Default: this workspace's cloud-controller-manager, built by cargo.
    #[arg(long = "ccm-cmd", value_name = "COMMAND LINE")]
    ccm_cmd: Vec<String>,
    /// A short name per --ccm-cmd, in the same order (default: the program's file name).
    #[arg(long = "ccm-name", value_name = "NAME")]
    ccm_name: Vec<String>,
    /// Cargo profile of the default CCM.
    #[arg(long, default_value = "release", value_parser = ["release", "debug"])]
    ccm_profile: String,
    /// Output directory: report.json, report.md, convergence.png, seed.json, the CCMs' logs.
    #[arg(long, default_value = "target/e2e-bench")]
    out: PathBuf,
    /// Added latency of every cloud call, ms.
    #[arg(long, default_value_t = 50)]
    latency_ms: u64,
    /// How long new route entries stay Pending (deleted ones Deleting), ms.
    #[arg(long, default_value_t = 3000)]
    route_pending_ms: u64,
    /// Idle time of S4, minutes (default 10; 1 with --quick).
    #[arg(long)]
    steady_minutes: Option<f64>,
    /// Scenarios to run, comma-separated: s1 (bring-up), s2 (services), s3 (churn), s4 (steady). S2-S4 also run
    /// S1 first.
    #[arg(long, value_delimiter = ',', default_value = "s1,s2,s3,s4")]
    scenarios: Vec<String>,
    /// Rate-limit profile (default: e2e/fixtures/bench-limits.yaml, built in).
    #[arg(long)]
    limits: Option<PathBuf>,
    /// Convergence poll interval, ms.
    #[arg(long, default_value_t = 1000)]
    poll_ms: u64,
    /// Seconds to wait after convergence before counting calls.
    #[arg(long, default_value_t = 5.0)]
    settle_secs: f64,
    /// Per-scenario timeout, seconds (default: max(300, 10 x lower bound + 60)).
    #[arg(long)]
    timeout_secs: Option<u64>,
    /// Kubernetes requests in flight while the harness creates objects.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Also write aliyun-fake's state after each scenario (state-<ccm>-<scenario>.json), to investigate a result.
    #[arg(long)]
    dump_state: bool,
}

fn placeholder_help() -> String {
    let mut s = String::from("Placeholders in --ccm-cmd (values are shell-quoted):\n");
    for (name, what) in PLACEHOLDERS {
        s.push_str(&format!("  {{{name}}}  {what}\n"));
    }
    s.push_str(
        "The command runs as `sh -c 'exec COMMAND'` with only ECS_ENDPOINT, VPC_ENDPOINT, SLB_ENDPOINT,\n\
         ALICLOUD_CLIENT_SCHEME=HTTP and METADATA_ENDPOINT added to the environment.",
    );
    s
}

fn options(args: Args) -> Result<BenchOptions, String> {
    let nodes = args.nodes.unwrap_or(if args.quick { 100 } else { 1000 });
    let services = args.services.unwrap_or(if args.quick { 20 } else { 200 });
    let churn = args.churn.unwrap_or(50.min(nodes / 2));
    let steady_minutes = args.steady_minutes.unwrap_or(if args.quick { 1.0 } else { 10.0 });
    if !(steady_minutes.is_finite() && steady_minutes >= 0.0) {
        return Err("--steady-minutes must be a non-negative number".into());
    }
    let topology = Topology::new(nodes, churn, services, args.endpoints_per_service).map_err(|e| e.to_string())?;
    let mut scenarios = BTreeSet::new();
    for s in &args.scenarios {
        scenarios.insert(ScenarioId::parse(s).ok_or_else(|| format!("unknown scenario {s:?} (s1, s2, s3, s4)"))?);
    }
    let limits = match &args.limits {
        Some(path) => RateProfile::load(path),
        None => RateProfile::builtin(),
    }
    .map_err(|e| error_chain(&e))?;
    let ccms = if args.ccm_cmd.is_empty() {
        let profile = if args.ccm_profile == "debug" { BuildProfile::Debug } else { BuildProfile::Release };
        eprintln!("== e2e-bench: building cloud-controller-manager ({})", args.ccm_profile);
        let bin = ccm_cmd::build_default_ccm(profile).map_err(|e| error_chain(&e))?;
        vec![CcmCommand {
            name: args.ccm_name.first().cloned().unwrap_or_else(|| format!("ccm-{}", args.ccm_profile)),
            template: ccm_cmd::default_template(&bin),
        }]
    } else {
        args.ccm_cmd
            .iter()
            .enumerate()
            .map(|(i, cmd)| CcmCommand {
                name: args.ccm_name.get(i).cloned().unwrap_or_else(|| {
                    let program = cmd.split_whitespace().next().unwrap_or("ccm");
                    let base = program.rsplit('/').next().unwrap_or(program);
                    format!("{}-{base}", i + 1)
                }),
                template: cmd.clone(),
            })
            .collect()
    };
    Ok(BenchOptions {
        topology,
        latency_ms: args.latency_ms,
        route_pending_ms: args.route_pending_ms,
        steady: Duration::from_secs_f64(steady_minutes * 60.0),
        scenarios,
        ccms,
        out: args.out,
        limits,
        poll: Duration::from_millis(args.poll_ms.max(100)),
        settle: Duration::from_secs_f64(args.settle_secs.max(0.0)),
        timeout: args.timeout_secs.map(Duration::from_secs),
        concurrency: args.concurrency.max(1),
        dump_state: args.dump_state,
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    let opts = match options(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("e2e-bench: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("e2e-bench: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = match runtime.block_on(e2e::bench::run(&opts)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("e2e-bench: {}", error_chain(&e));
            return ExitCode::FAILURE;
        }
    };
    match write_outputs(&report, &opts.out) {
        Ok(outputs) => {
            println!("{}", e2e::bench::report::render_markdown(&report));
            eprintln!("== e2e-bench: wrote {} and {}", outputs.json.display(), outputs.markdown.display());
            if let Some(png) = outputs.plot {
                eprintln!("== e2e-bench: wrote {}", png.display());
            }
        }
        Err(e) => {
            eprintln!("e2e-bench: writing the report: {}", error_chain(&e));
            return ExitCode::FAILURE;
        }
    }
    let failed = report.ccms.iter().any(|c| c.error.is_some())
        || report
            .scenarios
            .iter()
            .filter(|s| opts.scenarios.contains(&s.id))
            .any(|s| s.results.iter().any(|r| r.as_ref().is_none_or(|r| !r.converged)));
    if failed {
        eprintln!("e2e-bench: some scenario did not converge or a CCM stopped early (see the report)");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
