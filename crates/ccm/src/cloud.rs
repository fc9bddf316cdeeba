//! The Alibaba Cloud side of the process: the cloud-config, the region and VPC (from the cloud-config or the
//! metadata server), credentials (the default chain, with `--cloud-config`'s AccessKey), endpoints (`--network`,
//! the Go CCM's `*_ENDPOINT` variables) and the API client.

use std::sync::Arc;

use aliyun_api::{
    Client, Endpoints, Network,
    credentials::{ChainConfig, ChainProvider},
    metrics::ClientMetrics,
};
use anyhow::{Context as _, bail};
use provider_id_initor::MetadataClient;

use crate::{
    cloud_config::CloudConfig,
    flags::{NetworkFlag, Settings},
};

/// Where a value came from, for logs and `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The cloud-config file.
    CloudConfig,
    /// The instance metadata server.
    Metadata,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::CloudConfig => "cloud-config",
            Source::Metadata => "metadata server",
        })
    }
}

/// The cloud side, ready to use.
#[derive(Debug, Clone)]
pub struct Cloud {
    /// The API client of the cluster's region.
    pub client: Client,
    /// The credentials chain the client uses (to tell which source it picked).
    pub credentials: Arc<ChainProvider>,
    /// The region and where it came from.
    pub region: (String, Source),
    /// The VPC and where it came from; `None` when neither the cloud-config nor the metadata server says.
    pub vpc_id: Option<(String, Source)>,
    /// Why the VPC is unknown, when it is.
    pub vpc_error: Option<String>,
}

/// Loads `--cloud-config`; an empty configuration without the flag.
pub fn load_cloud_config(settings: &Settings) -> anyhow::Result<CloudConfig> {
    let Some(path) = &settings.cloud_config else {
        tracing::info!(
            "no --cloud-config: region and VPC come from the metadata server, credentials from the environment or the ECS RAM role"
        );
        return Ok(CloudConfig::default());
    };
    let config = CloudConfig::load(path)?;
    for warning in &config.warnings {
        tracing::warn!("cloud-config: {warning}");
    }
    if config.is_yaml && config.has_access_key {
        bail!(
            "cloud-config {}: the AccessKey is read from JSON cloud-configs only (the Go CCM's format); write the \
             file as JSON: {{\"Global\": {{\"accessKeyID\": \"...\", \"accessKeySecret\": \"...\", ...}}}}",
            path.display()
        );
    }
    Ok(config)
}

/// The metadata client per the flags (`METADATA_ENDPOINT`, `--enable-imdsv2`).
pub fn metadata_client(settings: &Settings) -> anyhow::Result<MetadataClient> {
    Ok(MetadataClient::from_env()?.with_imdsv2(settings.enable_imdsv2))
}

/// Resolves region, VPC and credentials and builds the client. `metrics` are recorded by the client.
pub async fn connect(settings: &Settings, config: &CloudConfig, metrics: ClientMetrics) -> anyhow::Result<Cloud> {
    let mut metadata: Option<MetadataClient> = None;
    let region = match &config.region {
        Some(region) => (region.clone(), Source::CloudConfig),
        None => {
            let md = metadata.insert(metadata_client(settings)?);
            let region = md.region_id().await.context(
                "no region: set Global.region in the cloud-config, or run on an ECS instance whose metadata \
                 server can tell it",
            )?;
            (region, Source::Metadata)
        }
    };
    let (vpc_id, vpc_error) = match &config.vpc_id {
        Some(vpc) => (Some((vpc.clone(), Source::CloudConfig)), None),
        None => {
            let md = match metadata.take() {
                Some(md) => md,
                None => metadata_client(settings)?,
            };
            match md.vpc_id().await {
                Ok(vpc) => (Some((vpc, Source::Metadata)), None),
                Err(e) => (None, Some(format!("no Global.vpcid in the cloud-config and {e}"))),
            }
        }
    };
    let mut chain = ChainConfig::from_process_env();
    if let Some(path) = &settings.cloud_config {
        chain = chain.cloud_config(path);
    }
    let credentials = Arc::new(chain.build());
    let network = match settings.network {
        NetworkFlag::Vpc => Network::Vpc,
        NetworkFlag::Public => Network::Public,
    };
    let endpoints = Endpoints::from_env(region.0.clone()).with_network(network);
    let client = Client::builder(region.0.clone())
        .endpoints(endpoints)
        .credentials_arc(credentials.clone())
        .metrics(metrics)
        .user_agent(concat!("cloud-controller-manager/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot build the Alibaba Cloud API client")?;
    Ok(Cloud { client, credentials, region, vpc_id, vpc_error })
}

impl Cloud {
    /// The VPC ID, or an error saying how to provide it.
    pub fn require_vpc(&self, why: &str) -> anyhow::Result<&str> {
        match &self.vpc_id {
            Some((vpc, _)) => Ok(vpc),
            None => bail!(
                "{why} needs the cluster's VPC: {}; set Global.vpcid in the cloud-config",
                self.vpc_error.as_deref().unwrap_or("it is unknown")
            ),
        }
    }
}
