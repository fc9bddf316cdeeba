//! `e2e-stack up|down|status`: the local stack in the background, for `cargo xtask stack`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand};
use e2e::ccm::seed_cloud_config;
use e2e::process::{Lifetime, ManagedProcess, ProcessSpec, pid_alive, read_pid, stop_pid_file};
use e2e::stack::free_port;
use e2e::{Identity, Stack, StackInfo, StackOptions};
use serde::{Deserialize, Serialize};

/// The name (and pid/log file stem) of the stack's CCM.
const CCM: &str = "cloud-controller-manager";

/// How the stack's CCM runs, kept in `ccm.json` next to `stack.json`.
#[derive(Debug, Serialize, Deserialize)]
struct CcmInfo {
    health: SocketAddr,
    metrics: SocketAddr,
    cloud_config: PathBuf,
    log: PathBuf,
    args: Vec<String>,
}

/// Runs etcd, kube-apiserver, aliyun-fake and cloud-controller-manager in the background for manual use.
#[derive(Debug, Parser)]
#[command(name = "e2e-stack")]
struct Cli {
    /// Where the stack keeps its files (default: the user cache directory).
    #[arg(long, global = true)]
    dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Starts the stack in the background (replacing a running one).
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
        /// The CCM's --cluster-cidr (pod CIDRs of the nodes you register must lie inside it).
        #[arg(long, default_value = "172.16.0.0/16")]
        cluster_cidr: String,
    },
    /// Stops the stack.
    Down,
    /// Reports what runs.
    Status,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let dir = cli.dir.unwrap_or_else(|| e2e::bins::cache_dir().join("stack"));
    match cli.command {
        Command::Up { seed, no_fake, no_ccm, controllers, cluster_cidr } => {
            let ccm = (!no_fake && !no_ccm).then_some((controllers, cluster_cidr));
            up(&dir, seed, no_fake, ccm)
        }
        Command::Down => down(&dir, true),
        Command::Status => status(&dir),
    }
}

fn read_info(dir: &Path) -> Option<StackInfo> {
    let text = std::fs::read_to_string(dir.join("stack.json")).ok()?;
    serde_json::from_str(&text).ok()
}

fn up(dir: &Path, seed: Option<PathBuf>, no_fake: bool, ccm: Option<(String, String)>) -> Result<()> {
    if dir.exists() {
        down(dir, false)?;
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    let mut opts = StackOptions::new("local").in_dir(dir).detached();
    if no_fake {
        opts = opts.without_fake();
    }
    if let Some(seed) = seed {
        opts = opts.fake_seed(std::fs::canonicalize(&seed).with_context(|| format!("seed {}", seed.display()))?);
    }
    println!(
        "starting etcd, kube-apiserver{}{} in {} ...",
        if no_fake { "" } else { ", aliyun-fake" },
        if ccm.is_some() { " and cloud-controller-manager" } else { "" },
        dir.display()
    );
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let stack = match rt.block_on(e2e::Stack::start(opts)) {
        Ok(s) => s,
        Err(e) => {
            // Whatever started is detached; clean it up before reporting.
            let _ = down(dir, false);
            return Err(e).context("starting the stack");
        }
    };
    let ccm = match ccm {
        None => None,
        Some((controllers, cluster_cidr)) => match rt.block_on(start_ccm(&stack, dir, &controllers, &cluster_cidr)) {
            Ok(c) => Some(c),
            Err(e) => {
                drop(stack.detach());
                let _ = down(dir, false);
                return Err(e).context("starting cloud-controller-manager");
            }
        },
    };
    let mut info = stack.detach();
    if ccm.is_some() {
        // `status` reports the CCM with the rest; `down` stops it (first) through its pid file.
        info.pid_files.push((CCM.to_owned(), dir.join(format!("{CCM}.pid"))));
        let json = serde_json::to_string_pretty(&info).context("rendering stack.json")?;
        std::fs::write(dir.join("stack.json"), json).context("writing stack.json")?;
    }
    print_info(&info);
    Ok(())
}

/// The cloud-config for the running fake: the default seed's, with the region, VPC and vSwitches of the
/// fake's actual state (another `--seed` may have other ones).
async fn cloud_config_for(stack: &Stack) -> Result<serde_json::Value> {
    let mut config = seed_cloud_config(&serde_json::Map::new());
    let state = stack.fake_state().await?;
    if let Some(region) = state["region_id"].as_str() {
        config["Global"]["region"] = region.into();
    }
    if let Some(vpc) = state["vpcs"].as_object().and_then(|v| v.keys().next()) {
        config["Global"]["vpcid"] = vpc.as_str().into();
        let vswitches: Vec<String> = state["vswitches"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, v)| v["vpc_id"] == vpc.as_str())
            .map(|(id, v)| format!("{}:{id}", v["zone_id"].as_str().unwrap_or_default()))
            .collect();
        config["Global"]["vswitchid"] = vswitches.join(",").into();
    }
    Ok(config)
}

/// Starts cloud-controller-manager detached, as the CCM ServiceAccount under `manifests/rbac`, with every
/// controller, leader election on Lease kube-system/ccm, and health and metrics on free loopback ports; waits
/// until it answers `/healthz`.
async fn start_ccm(stack: &Stack, dir: &Path, controllers: &str, cluster_cidr: &str) -> Result<CcmInfo> {
    let program = e2e::bins::workspace_binary("ccm", CCM)?;
    let cloud_config = dir.join("cloud-config.json");
    let text = serde_json::to_string_pretty(&cloud_config_for(stack).await?)?;
    std::fs::write(&cloud_config, text).with_context(|| format!("writing {}", cloud_config.display()))?;
    let health = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let args = vec![
        format!("--cloud-config={}", cloud_config.display()),
        format!("--controllers={controllers}"),
        format!("--cluster-cidr={cluster_cidr}"),
        "--leader-elect=true".to_owned(),
        format!("--health-probe-bind-addr={health}"),
        format!("--metrics-bind-addr={metrics}"),
    ];
    let mut spec = ProcessSpec::new(CCM, program)
        .args(args.clone())
        .env("KUBECONFIG", stack.kubeconfig(&Identity::Ccm)?)
        .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()));
    for (k, v) in stack.fake_env()? {
        spec = spec.env(k, v);
    }
    let mut process = ManagedProcess::spawn(&spec, dir, Lifetime::Detached)?;
    let info = CcmInfo { health, metrics, cloud_config, log: process.log_path().to_path_buf(), args };
    let started = Instant::now();
    loop {
        process.check_running()?;
        if healthz(health).await == Some(200) {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("cloud-controller-manager did not answer /healthz within 60 s; see {}", info.log.display());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    process.detach();
    std::fs::write(dir.join("ccm.json"), serde_json::to_string_pretty(&info)?).context("writing ccm.json")?;
    Ok(info)
}

/// The status of `GET /healthz`, or `None` when nothing answers.
async fn healthz(addr: SocketAddr) -> Option<u16> {
    let client = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(2)).build().ok()?;
    client.get(format!("http://{addr}/healthz")).send().await.ok().map(|r| r.status().as_u16())
}

fn read_ccm(dir: &Path) -> Option<CcmInfo> {
    serde_json::from_str(&std::fs::read_to_string(dir.join("ccm.json")).ok()?).ok()
}

fn print_info(info: &StackInfo) {
    println!();
    if let Some(url) = &info.apiserver_url {
        println!("kube-apiserver  {url}");
    }
    if let Some(url) = &info.etcd_url {
        println!("etcd            {url}");
    }
    for (who, path) in &info.kubeconfigs {
        println!("kubeconfig      {:<8} {}", who, path.display());
    }
    if let Some(ep) = &info.fake_endpoint {
        println!("aliyun-fake     {ep}   (state: {ep}/_fake/state, calls: {ep}/_fake/calls)");
        if let (Some(id), Some(secret)) = (&info.fake_access_key_id, &info.fake_access_key_secret) {
            println!("access key      {id} / {secret}");
        }
    }
    if let Some(ccm) = read_ccm(&info.dir) {
        println!("ccm             {}", ccm.args.join(" "));
        println!("                health http://{}/healthz, metrics http://{}/metrics", ccm.health, ccm.metrics);
        println!("                as ServiceAccount kube-system/cloud-controller-manager, Lease kube-system/ccm");
    }
    println!("logs            {}/*.log", info.dir.display());
    println!();
    if let Some((_, admin)) = info.kubeconfigs.iter().find(|(w, _)| w == "admin") {
        println!("use it:");
        println!("  export KUBECONFIG={}", admin.display());
        println!("  kubectl get nodes,svc -A            # if kubectl is installed");
    }
    if let Some(ccm) = read_ccm(&info.dir) {
        println!("  tail -f {}", ccm.log.display());
        println!("  curl -s http://{}/metrics | grep aliyun_api_requests", ccm.metrics);
    }
    if let Some(ep) = &info.fake_endpoint {
        println!("  curl -s {ep}/_fake/state");
        if let (Some(id), Some(secret)) = (&info.fake_access_key_id, &info.fake_access_key_secret) {
            println!(
                "  ALIBABA_CLOUD_ACCESS_KEY_ID={id} ALIBABA_CLOUD_ACCESS_KEY_SECRET={secret} \\\n    cargo run -q -p aliyun-api --bin aliyun-call -- --endpoint {ep} --product ecs DescribeInstances"
            );
        }
    }
    println!("  cargo xtask stack down");
}

/// Stops every process with a pid file in `dir`; `report_none` says so when there is none.
fn down(dir: &Path, report_none: bool) -> Result<()> {
    // Pid files, not stack.json, say what runs: a stack that failed half-way has no stack.json.
    // The project's binaries and the apiserver before etcd.
    let mut pid_files: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pid"))
        .map(|p| (p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(), p))
        .collect();
    pid_files.sort_by_key(|(name, _)| match name.as_str() {
        "kube-apiserver" => 1,
        "aliyun-fake" => 2,
        "etcd" => 3,
        _ => 0,
    });
    if pid_files.is_empty() && report_none {
        println!("no stack in {}", dir.display());
    }
    for (name, path) in pid_files {
        let was_running = stop_pid_file(&path, Duration::from_secs(10))?;
        println!("{name:<24} {}", if was_running { "stopped" } else { "was not running" });
    }
    let _ = std::fs::remove_file(dir.join("stack.json"));
    let _ = std::fs::remove_file(dir.join("ccm.json"));
    Ok(())
}

fn status(dir: &Path) -> Result<()> {
    let Some(info) = read_info(dir) else {
        println!("no stack in {} (start one with `cargo xtask stack up`)", dir.display());
        return Ok(());
    };
    let mut down = 0;
    for (name, pid_file) in &info.pid_files {
        match read_pid(pid_file) {
            Some(pid) if pid_alive(pid) => println!("{name:<24} running (pid {pid})"),
            Some(pid) => {
                down += 1;
                println!("{name:<24} NOT running (pid {pid}); see {}/{name}.log", info.dir.display());
            }
            None => {
                down += 1;
                println!("{name:<24} NOT running (no pid file)");
            }
        }
    }
    if let Some(ccm) = read_ccm(&info.dir) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        match rt.block_on(healthz(ccm.health)) {
            Some(200) => println!("{:<24} healthy (http://{}/healthz)", CCM, ccm.health),
            Some(code) => {
                down += 1;
                println!("{:<24} UNHEALTHY: /healthz answers {code}; see {}", CCM, ccm.log.display());
            }
            None => println!("{:<24} /healthz does not answer", CCM),
        }
    }
    print_info(&info);
    if down > 0 {
        bail!("{down} process(es) of the stack are not running");
    }
    Ok(())
}
