//! `e2e-stack up|down|status`: the local stack in the background, for `cargo xtask stack`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand};
use e2e::process::{pid_alive, read_pid, stop_pid_file};
use e2e::{StackInfo, StackOptions};

/// Runs etcd, kube-apiserver and aliyun-fake in the background for manual use.
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
        /// Do not start aliyun-fake.
        #[arg(long)]
        no_fake: bool,
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
        Command::Up { seed, no_fake } => up(&dir, seed, no_fake),
        Command::Down => down(&dir, true),
        Command::Status => status(&dir),
    }
}

fn read_info(dir: &Path) -> Option<StackInfo> {
    let text = std::fs::read_to_string(dir.join("stack.json")).ok()?;
    serde_json::from_str(&text).ok()
}

fn up(dir: &Path, seed: Option<PathBuf>, no_fake: bool) -> Result<()> {
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
    println!("starting etcd, kube-apiserver{} in {} ...", if no_fake { "" } else { " and aliyun-fake" }, dir.display());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let stack = match rt.block_on(e2e::Stack::start(opts)) {
        Ok(s) => s,
        Err(e) => {
            // Whatever started is detached; clean it up before reporting.
            let _ = down(dir, false);
            return Err(e).context("starting the stack");
        }
    };
    // Hook for the CCM (issue 9): once the `cloud-controller-manager` binary exists, start it here as
    // `Identity::Ccm` with `stack.run_binary(..)` in detached form, so `down` stops it through its pid file.
    let info = stack.detach();
    print_info(&info);
    Ok(())
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
    println!("logs            {}/*.log", info.dir.display());
    println!();
    if let Some((_, admin)) = info.kubeconfigs.iter().find(|(w, _)| w == "admin") {
        println!("use it:");
        println!("  export KUBECONFIG={}", admin.display());
        println!("  kubectl get nodes,svc -A            # if kubectl is installed");
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
        println!("{name:<16} {}", if was_running { "stopped" } else { "was not running" });
    }
    let _ = std::fs::remove_file(dir.join("stack.json"));
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
            Some(pid) if pid_alive(pid) => println!("{name:<16} running (pid {pid})"),
            Some(pid) => {
                down += 1;
                println!("{name:<16} NOT running (pid {pid}); see {}/{name}.log", info.dir.display());
            }
            None => {
                down += 1;
                println!("{name:<16} NOT running (no pid file)");
            }
        }
    }
    print_info(&info);
    if down > 0 {
        bail!("{down} process(es) of the stack are not running");
    }
    Ok(())
}
