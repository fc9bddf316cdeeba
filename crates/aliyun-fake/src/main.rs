//! The `aliyun-fake` binary: serves a local Alibaba Cloud on one loopback port.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;

use aliyun_fake::{FakeCloud, FakeConfig, FakeError, Seed};

/// A faithful local Alibaba Cloud (ECS, VPC, SLB, STS, metadata server).
#[derive(Debug, Parser)]
#[command(name = "aliyun-fake", version, about)]
struct Cli {
    /// Address to listen on; port 0 picks a free port (printed on start).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Seed file (YAML or JSON); default: the built-in seed.
    #[arg(long)]
    seed: Option<PathBuf>,
    /// Extra access key ID:SECRET (repeatable).
    #[arg(long = "access-key", value_name = "ID:SECRET")]
    access_keys: Vec<String>,
    /// Instance the metadata server describes (default: the first instance).
    #[arg(long, value_name = "INSTANCE_ID")]
    metadata_instance: Option<String>,
    /// Require a metadata token (PUT /latest/api/token) for metadata reads.
    #[arg(long)]
    metadata_token_required: bool,
    /// How long new route entries stay Pending, in milliseconds (overrides the seed).
    #[arg(long, value_name = "MS")]
    route_entry_delay_ms: Option<u64>,
    /// Print the default seed (YAML) and exit.
    #[arg(long)]
    print_default_seed: bool,
    /// Write the bound address to this file once listening (for scripts).
    #[arg(long, value_name = "FILE")]
    addr_file: Option<PathBuf>,
}

fn parse_access_key(text: &str) -> Result<(String, String), FakeError> {
    match text.split_once(':') {
        Some((id, secret)) if !id.is_empty() && !secret.is_empty() => Ok((id.to_string(), secret.to_string())),
        _ => Err(FakeError::AccessKeyFormat(text.to_string())),
    }
}

fn config_from(cli: &Cli) -> anyhow::Result<FakeConfig> {
    let mut seed = match &cli.seed {
        Some(path) => Seed::load(path)?,
        None => Seed::default_seed(),
    };
    if let Some(ms) = cli.route_entry_delay_ms {
        seed.route_entry_delay_ms = Some(ms);
    }
    let extra_access_keys = cli.access_keys.iter().map(|k| parse_access_key(k)).collect::<Result<Vec<_>, _>>()?;
    Ok(FakeConfig {
        seed,
        listen: cli.listen,
        extra_access_keys,
        metadata_instance: cli.metadata_instance.clone(),
        metadata_token_required: cli.metadata_token_required,
    })
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if cli.print_default_seed {
        print!("{}", aliyun_fake::seed::DEFAULT_SEED_YAML);
        return Ok(());
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = config_from(&cli)?;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the Tokio runtime")?;
    runtime.block_on(serve(config, cli.addr_file))
}

async fn serve(config: FakeConfig, addr_file: Option<PathBuf>) -> anyhow::Result<()> {
    let handle = FakeCloud::start(config).await?;
    println!("aliyun-fake listening on {}", handle.endpoint());
    if let Some(path) = addr_file {
        std::fs::write(&path, handle.host()).with_context(|| format!("cannot write {}", path.display()))?;
    }
    wait_for_signal().await;
    tracing::info!("shutting down");
    handle.shutdown().await;
    Ok(())
}

async fn wait_for_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
