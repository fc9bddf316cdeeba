//! `aliyun-fake`: a faithful local Alibaba Cloud (ECS, VPC, SLB, STS and the
//! ECS metadata server) for tests, demos and benchmarks.
//!
//! One loopback listener serves every product (dispatched by API version),
//! the metadata server paths and an admin API under `/_fake/`. Requests are
//! authenticated like the real gateway (RPC HMAC-SHA1 and V3
//! ACS3-HMAC-SHA256 signatures, timestamp window, nonce replay, STS tokens)
//! and answered with the real response shapes and error codes.
//!
//! ```no_run
//! # async fn demo() -> Result<(), aliyun_fake::FakeError> {
//! let fake = aliyun_fake::FakeCloud::start(aliyun_fake::FakeConfig::default()).await?;
//! println!("ECS/VPC/SLB/STS and metadata at {}", fake.endpoint());
//! fake.shutdown().await;
//! # Ok(()) }
//! ```

pub mod actions;
pub mod admin;
pub mod auth;
pub mod common;
pub mod ecs;
pub mod error;
pub mod faults;
pub mod form;
pub mod metadata;
pub mod net;
pub mod seed;
pub mod server;
pub mod slb;
pub mod state;
pub mod sts;
pub mod vpc;
pub mod wire;

pub use error::FakeError;
pub use faults::{ErrorRule, FaultConfig};
pub use seed::Seed;
pub use server::{BackgroundFake, FakeCloud, FakeConfig, FakeHandle};
pub use state::CloudState;
