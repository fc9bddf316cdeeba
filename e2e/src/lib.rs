//! End-to-end harness: a real kube-apiserver and etcd on loopback ports, `aliyun-fake`, and the project's
//! binaries running as the CCM's ServiceAccount under the RBAC from `manifests/`.
//!
//! * [`Stack`]: starts etcd, kube-apiserver (RBAC on, static tokens per [`Identity`], generated certificates)
//!   and `aliyun-fake`; writes a kubeconfig per identity; applies `manifests/rbac/*.yaml`; runs workspace
//!   binaries ([`Stack::run_binary`]); dumps objects, logs and the fake's state on failure; stops everything
//!   it started, even when a test panics or the test process dies.
//! * [`fixtures`]: Nodes as a kubelet with `--cloud-provider=external` registers them, Services,
//!   EndpointSlices, unique namespaces.
//! * [`wait`]: deadlines with clear timeout messages.
//!
//! The control-plane binaries come from `cargo xtask k8s-bins` (see [`bins`]).
//!
//! ```ignore
//! let stack = Stack::start(StackOptions::new("my-test")).await?;
//! stack.create_kubelet_node("node-1", None, "10.0.1.10", &["172.16.1.0/24"]).await?;
//! let ccm = stack.run_binary("ccm", "cloud-controller-manager", ["--cloud-config", "..."], Some(&Identity::Ccm))?;
//! ```

pub mod bench;
pub mod bins;
pub mod ccm;
pub mod certs;
pub mod cloud_admin;
pub mod demo;
pub mod dump;
pub mod error;
pub mod fixtures;
pub mod process;
pub mod slb_admin;
pub mod stack;
pub mod wait;

pub use ccm::{CcmOptions, FakeInstance, RunningCcm};
pub use error::{Context, Error, Result};
pub use fixtures::{KubeletNode, UNINITIALIZED_TAINT};
pub use process::{Lifetime, ManagedProcess};
pub use stack::{CCM_USER, Identity, Stack, StackInfo, StackOptions};
pub use wait::{wait_for, wait_until};
