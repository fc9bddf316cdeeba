//! The Kubernetes clients: `--kubeconfig` or in-cluster (or `$KUBECONFIG`), `--master`, and a client-side limit of
//! `--kube-api-qps`/`--kube-api-burst` (best effort: a window of `burst` requests every `burst / qps` seconds).

use std::time::Duration;

use anyhow::Context as _;
use kube::{Config, client::ClientBuilder, config::KubeConfigOptions};

use crate::flags::Settings;

/// The Kubernetes clients of the process.
#[derive(Clone)]
pub struct KubeClients {
    /// For the controllers: rate-limited.
    pub main: kube::Client,
    /// For leader election only: not rate-limited, so controller traffic never delays a renewal.
    pub election: kube::Client,
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
    let builder = ClientBuilder::try_from(config).context("cannot build the Kubernetes client")?;
    let main = match settings.kube_api_qps {
        Some(qps) => {
            let burst = u64::from(settings.kube_api_burst.max(1));
            let window = Duration::from_secs_f64(burst as f64 / f64::from(qps));
            builder.with_layer(&tower::limit::RateLimitLayer::new(burst, window)).build()
        }
        None => builder.build(),
    };
    Ok(KubeClients { main, election })
}
