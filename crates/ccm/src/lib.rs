//! The `cloud-controller-manager` binary for Alibaba Cloud, as a library so that flags, configuration, leader
//! election and wiring are unit-testable.
//!
//! * [`flags`]: the command line, compatible with the Go CCM and upstream; validated into [`flags::Settings`].
//! * [`controllers`]: the `--controllers` rules.
//! * [`cloud_config`]: the Go CCM's cloud-config file.
//! * [`cloud`], [`kube_client`]: the Alibaba Cloud and Kubernetes clients.
//! * [`leader`]: Lease-based leader election compatible with client-go's.
//! * [`serve`]: `/healthz` and `/metrics`.
//! * [`wiring`]: building and planning each controller crate.
//! * [`run`], [`check`], [`plan`]: the three modes.

pub mod check;
pub mod cloud;
pub mod cloud_config;
pub mod controllers;
pub mod flags;
pub mod kube_client;
pub mod leader;
pub mod logging;
pub mod plan;
pub mod run;
pub mod serve;
pub mod wiring;
