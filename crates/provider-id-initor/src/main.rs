//! `provider-id-initor`: sets this node's `spec.providerID` to `<region-id>.<instance-id>` from the metadata server.
//!
//! Exit status: 0 set or already correct; 2 bad usage (e.g. `NODE_NAME` unset); 3 the node has a different
//! provider ID; 4 the metadata server failed; 5 the Kubernetes API failed.

use std::process::ExitCode;

use clap::Parser;
use provider_id_initor::{
    EXIT_KUBERNETES, EXIT_METADATA, EXIT_USAGE, Initor, KubeNodeApi, MetadataClient, Outcome, exit_code,
    metadata::{DEFAULT_ENDPOINT, ENDPOINT_ENV},
};

/// Sets this node's spec.providerID to <region-id>.<instance-id>, read from the ECS metadata server.
///
/// Exit status: 0 set or already correct; 2 bad usage; 3 the node has a different provider ID; 4 the metadata
/// server failed; 5 the Kubernetes API failed.
#[derive(Debug, Parser)]
#[command(name = "provider-id-initor", version, args_override_self = true)]
struct Args {
    /// The node to update (in a pod: the downward API `spec.nodeName`).
    #[arg(long, env = "NODE_NAME", value_name = "NAME")]
    node_name: Option<String>,
    /// The metadata server.
    #[arg(long, env = ENDPOINT_ENV, default_value = DEFAULT_ENDPOINT, value_name = "URL")]
    metadata_endpoint: String,
    /// Ask for an IMDSv2 token first (falls back to token-less requests when the token request fails).
    #[arg(long, default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          action = clap::ArgAction::Set)]
    enable_imdsv2: bool,
    /// Path to a kubeconfig; in-cluster (or $KUBECONFIG) when unset.
    #[arg(long, value_name = "PATH")]
    kubeconfig: Option<std::path::PathBuf>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(env_filter())
        .with_target(false)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .init();
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("provider-id-initor: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(run(args));
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn env_filter() -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
}

async fn run(args: Args) -> i32 {
    let Some(node_name) = args.node_name.filter(|n| !n.trim().is_empty()) else {
        eprintln!(
            "provider-id-initor: no node name; set NODE_NAME (in a pod: env NODE_NAME from fieldRef \
             spec.nodeName) or pass --node-name"
        );
        return EXIT_USAGE;
    };
    let metadata = match MetadataClient::new(&args.metadata_endpoint) {
        Ok(m) => m.with_imdsv2(args.enable_imdsv2),
        Err(e) => {
            eprintln!("provider-id-initor: {e}");
            return EXIT_METADATA;
        }
    };
    let client = match kube_client(args.kubeconfig.as_deref()).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("provider-id-initor: cannot build a Kubernetes client: {e:#}");
            return EXIT_KUBERNETES;
        }
    };
    let initor = Initor::new(metadata, KubeNodeApi::new(client), node_name);
    let result = tokio::select! {
        result = initor.run() => result,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("provider-id-initor: interrupted");
            return 1;
        }
    };
    match &result {
        Ok(Outcome::Set(id)) => println!("provider ID set to {id}"),
        Ok(Outcome::AlreadySet(id)) => println!("provider ID already {id}"),
        Err(e) => eprintln!("provider-id-initor: {e}"),
    }
    exit_code(&result)
}

async fn kube_client(kubeconfig: Option<&std::path::Path>) -> anyhow::Result<kube::Client> {
    let config = match kubeconfig {
        Some(path) => {
            let file = kube::config::Kubeconfig::read_from(path)?;
            kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default()).await?
        }
        None => kube::Config::infer().await?,
    };
    Ok(kube::Client::try_from(config)?)
}
