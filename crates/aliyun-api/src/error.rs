//! Errors of the client: API errors with the server's code, transport failures, credentials, and local ones.

use std::time::Duration;

use crate::credentials::CredentialsError;

/// An error answered by the API: HTTP status plus the JSON error body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message} (RequestId: {request_id}, HTTP {status})")]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// Error code (`Throttling.User`, `InvalidLoadBalancerId.NotFound`).
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// Request ID, for Alibaba Cloud support.
    pub request_id: String,
    /// Gateway host that answered.
    pub host_id: String,
    /// Troubleshooting link, when the server gives one.
    pub recommend: String,
    /// How long the server asked us to wait (from `x-ratelimit-user[-api]: ...TimeLeft:<ms>`).
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// Whether this is flow control (`Throttling`, `Throttling.User`, `Throttling.Api`, `Throttling.Resource`).
    pub fn is_throttling(&self) -> bool {
        self.code.starts_with("Throttling") || self.code == "Rejected.Throttling"
    }

    /// Whether the server failed transiently and the same request may succeed later.
    pub fn is_transient(&self) -> bool {
        self.is_throttling()
            || self.status >= 500
            || matches!(self.code.as_str(), "ServiceUnavailable" | "InternalError" | "UnknownError" | "SystemBusy")
    }

    /// Whether the code says the target does not exist (`*.NotFound`, `*.NotExist`, `ResourceNotFound*`).
    pub fn is_not_found(&self) -> bool {
        self.code.ends_with(".NotFound")
            || self.code.ends_with(".NotExist")
            || self.code.starts_with("ResourceNotFound")
            || self.status == 404 && !self.code.starts_with("InvalidAccessKeyId")
    }
}

/// Everything a call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API answered with an error.
    #[error("{product}.{action}: {source}")]
    Api {
        /// Product code.
        product: &'static str,
        /// Action name.
        action: String,
        /// The server's error (boxed: it is the large variant, and errors travel through every `Result`).
        #[source]
        source: Box<ApiError>,
    },
    /// The API answered with something that is not its JSON error body (a proxy's HTML page, an empty body).
    #[error("{product}.{action}: HTTP {status} with a non-JSON body: {snippet}")]
    UnexpectedBody {
        /// Product code.
        product: &'static str,
        /// Action name.
        action: String,
        /// HTTP status.
        status: u16,
        /// The first bytes of the body, as text.
        snippet: String,
    },
    /// A success body did not match the response model.
    #[error("{product}.{action}: could not parse the response: {source}")]
    Decode {
        /// Product code.
        product: &'static str,
        /// Action name.
        action: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// The request never got an answer (DNS, connect, TLS, timeout, reset).
    #[error("{product}.{action}: transport error: {source}")]
    Transport {
        /// Product code.
        product: &'static str,
        /// Action name.
        action: String,
        /// The HTTP client's error.
        #[source]
        source: reqwest::Error,
    },
    /// The call's total deadline passed before it succeeded; `last` is the last attempt's error.
    #[error("{product}.{action}: gave up after {attempts} attempt(s) in {elapsed:?}: {last}")]
    DeadlineExceeded {
        /// Product code.
        product: &'static str,
        /// Action name.
        action: String,
        /// Attempts made.
        attempts: u32,
        /// Time spent.
        elapsed: Duration,
        /// Why the last attempt failed.
        last: String,
    },
    /// No usable credentials.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// The request could not be built (bad endpoint URL, invalid header value).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

impl Error {
    /// The API error, when the server answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }

    /// The API error code, when the server answered with one.
    pub fn code(&self) -> Option<&str> {
        self.api().map(|e| e.code.as_str())
    }

    /// Whether the server throttled the call.
    pub fn is_throttling(&self) -> bool {
        self.api().is_some_and(ApiError::is_throttling)
    }

    /// Whether the target resource does not exist.
    pub fn is_not_found(&self) -> bool {
        self.api().is_some_and(ApiError::is_not_found)
    }

    /// Whether a retry of the same request may succeed: throttling, 5xx and busy codes, transport errors, and
    /// gateway pages. Whether a retry is *safe* depends on the request too (see `ApiRequest::idempotent`).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Api { source, .. } => source.is_transient(),
            Error::UnexpectedBody { status, .. } => *status >= 500 || *status == 429,
            Error::Transport { .. } => true,
            _ => false,
        }
    }

    /// Whether the request certainly did not reach the service, so that even a non-idempotent write may be
    /// retried: throttling (rejected before processing) and connection failures before sending.
    pub fn certainly_not_applied(&self) -> bool {
        match self {
            Error::Api { source, .. } => source.is_throttling(),
            Error::Transport { source, .. } => source.is_connect(),
            _ => false,
        }
    }
}

/// Result of a client call.
pub type Result<T, E = Error> = std::result::Result<T, E>;
