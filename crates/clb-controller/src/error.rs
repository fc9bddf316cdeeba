//! The crate's error type.

use crate::{
    annotations::AnnotationErrors, apply::ApplyError, cloud::CloudError, model::ModelError, observe::ObserveError,
    plan::PlanError,
};

/// Why reconciling a Service failed. Printed, it is the note of the `SyncLoadBalancerFailed` event, with the
/// cloud's code and message when the cloud refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Invalid annotations (reported, not retried).
    #[error("invalid annotations: {0}")]
    Annotations(#[from] AnnotationErrors),
    /// The Service cannot be modelled.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Reading the cloud failed.
    #[error("reading the load balancer: {0}")]
    Observe(#[from] ObserveError),
    /// The cloud state forbids what the Service asks for.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A cloud change failed.
    #[error("changing the load balancer: {0}")]
    Apply(#[from] ApplyError),
    /// `external-ip-type: eip` but no elastic IP is bound to the load balancer.
    #[error("external-ip-type is eip but no elastic IP is bound to load balancer {0}; bind one (retrying)")]
    NoEip(String),
    /// A Kubernetes API write failed.
    #[error("{action}: {source}")]
    Kube {
        /// What was being written.
        action: &'static str,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

impl Error {
    /// The cloud error underneath, if the cloud refused.
    pub fn cloud(&self) -> Option<&CloudError> {
        match self {
            Error::Observe(ObserveError::Cloud(e)) => Some(e),
            Error::Apply(e) => e.cloud(),
            _ => None,
        }
    }
}
