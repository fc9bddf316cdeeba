//! The Kubernetes clients: `--kubeconfig` or in-cluster (or `$KUBECONFIG`), `--master`, and a client-side limit of
//! `--kube-api-qps`/`--kube-api-burst` (best effort: a window of `burst` requests every `burst / qps` seconds).
//!
//! As in upstream's controller managers, where every controller gets its own client from the client builder (and
//! so its own token bucket), each controller and the shared Node watch get their own limited client: one
//! controller's burst (1,000 joining nodes to initialize) never starves another's writes (their routes'
//! conditions), and the limit means what operators of the Go CCM expect it to mean.

use std::time::Duration;

use anyhow::Context as _;
use kube::{Config, client::ClientBuilder, config::KubeConfigOptions};

use crate::flags::Settings;

/// The Kubernetes clients of the process.
#[derive(Clone)]
pub struct KubeClients {
    /// Rate-limited; for whatever has no client of its own ([`KubeClients::limited`]).
    pub main: kube::Client,
    /// For leader election only: not rate-limited, so controller traffic never delays a renewal.
    pub election: kube::Client,
    config: Config,
    limit: Option<(f32, u32)>,
}

impl std::fmt::Debug for KubeClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeClients").finish_non_exhaustive()
    }
}

/// The kube config from the flags.
pub async fn config(settings: &Settings) -> anyhow::Result<Config> {
    let mut config = match &settings.kubeconfig {
        Some(path) => {
            let file = kube::config::Kubeconfig::read_from(path).with_context(|| {
                format!(
                    "cannot read --kubeconfig {}: if the file is on the host and readable by root only, the \
                     container (which runs as a non-root user) cannot read it; use the ServiceAccount \
                     (drop --kubeconfig) or run the container as root",
                    path.display()
                )
            })?;
            Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
                .await
                .with_context(|| format!("cannot use --kubeconfig {}", path.display()))?
        }
        None => Config::infer().await.context(
            "no Kubernetes configuration: not running in a pod with a ServiceAccount, and no --kubeconfig or \
             $KUBECONFIG",
        )?,
    };
    if let Some(master) = &settings.master {
        config.cluster_url = master.parse().with_context(|| format!("--master {master} is not a URL"))?;
    }
    Ok(config)
}

/// Builds both clients.
pub async fn clients(settings: &Settings) -> anyhow::Result<KubeClients> {
    let config = config(settings).await?;
    let election = kube::Client::try_from(config.clone()).context("cannot build the Kubernetes client")?;
    let limit = settings.kube_api_qps.map(|qps| (qps, settings.kube_api_burst));
    let main = limited_client(&config, limit)?;
    Ok(KubeClients { main, election, config, limit })
}

impl KubeClients {
    /// A new client with its own `--kube-api-qps`/`--kube-api-burst` budget, for one controller (or the watch).
    pub fn limited(&self) -> anyhow::Result<kube::Client> {
        limited_client(&self.config, self.limit)
    }
}

/// A client from `config`, limited to `(qps, burst)` when given.
fn limited_client(config: &Config, limit: Option<(f32, u32)>) -> anyhow::Result<kube::Client> {
    let builder = ClientBuilder::try_from(config.clone()).context("cannot build the Kubernetes client")?;
    Ok(match limit {
        Some((qps, burst)) => {
            let burst = u64::from(burst.max(1));
            let window = Duration::from_secs_f64(burst as f64 / f64::from(qps));
            builder.with_layer(&tower::limit::RateLimitLayer::new(burst, window)).build()
        }
        None => builder.build(),
    })
}
