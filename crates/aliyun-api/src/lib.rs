//! Alibaba Cloud OpenAPI client for ECS, VPC, SLB (CLB) and STS.
//!
//! * [`signature`]: RPC (`HMAC-SHA1`, `SignatureVersion=1.0`) and V3 (`ACS3-HMAC-SHA256`) signing, byte-compatible
//!   with the official SDKs.
//! * [`credentials`]: static keys, environment, the Go CCM's cloud-config, the ECS RAM role through the metadata
//!   server, OIDC (RRSA), chained and refreshed before expiry.
//! * [`endpoint`]: regional public and VPC-internal endpoints and the Go CCM's overrides.
//! * [`Client`]: retries with jittered backoff where safe, client-side pacing per action, metrics.
//! * [`ecs`], [`vpc`], [`slb`], [`sts`]: typed requests and responses.
//!
//! ```no_run
//! use aliyun_api::{Client, credentials::default_chain, vpc::DescribeRouteTableList};
//!
//! # async fn run() -> Result<(), aliyun_api::Error> {
//! let client = Client::builder("cn-hangzhou")
//!     .credentials(default_chain(None)) // or Some(path) to the Go CCM's cloud-config
//!     .build()?;
//! let tables = client
//!     .collect_pages(DescribeRouteTableList { vpc_id: Some("vpc-123".into()), ..Default::default() })
//!     .await?;
//! for table in tables {
//!     println!("{} {}", table.route_table_id, table.route_table_type);
//! }
//! # Ok(()) }
//! ```

pub mod client;
pub mod credentials;
pub mod ecs;
pub mod endpoint;
pub mod error;
mod lenient;
pub mod metrics;
pub mod pagination;
pub mod params;
pub mod ratelimit;
pub mod request;
pub mod retry;
pub mod signature;
pub mod slb;
pub mod sts;
pub mod vpc;

pub use client::{Client, ClientBuilder, RawRequest, SignatureVersion};
pub use credentials::{Credentials, CredentialsProvider, SecretString};
pub use endpoint::{Endpoints, Network, Product, Scheme};
pub use error::{ApiError, Error, Result};
pub use params::{Params, Tag};
pub use request::ApiRequest;
