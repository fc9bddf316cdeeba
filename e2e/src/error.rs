//! The harness's error type.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong while running the end-to-end stack.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file-system or process operation failed.
    #[error("{context}")]
    Io {
        /// What the harness was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A Kubernetes API call failed.
    #[error("{context}")]
    Kube {
        /// What the harness was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: kube::Error,
    },
    /// Building a kube client configuration failed.
    #[error("{context}")]
    KubeConfig {
        /// What the harness was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// An HTTP call (etcd health, aliyun-fake admin API) failed.
    #[error("{context}")]
    Http {
        /// What the harness was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// Generating certificates or keys failed.
    #[error("generating test certificates")]
    Cert(#[from] rcgen::Error),
    /// A YAML or JSON document could not be parsed or rendered.
    #[error("{context}: {message}")]
    Format {
        /// What the harness was doing.
        context: String,
        /// The parser's message.
        message: String,
    },
    /// A required executable was not found.
    #[error("{what} not found: {hint}")]
    MissingBinary {
        /// Which executable.
        what: String,
        /// How to get it.
        hint: String,
    },
    /// A process the harness started exited while it was expected to keep running.
    #[error("{name} exited ({status}); last log lines from {}:\n{tail}", log.display())]
    ProcessExited {
        /// The process's short name.
        name: String,
        /// Its exit status.
        status: String,
        /// Its log file.
        log: PathBuf,
        /// The end of its log.
        tail: String,
    },
    /// A condition did not become true in time.
    #[error("timed out after {waited:?} waiting for {desc}{}", last.as_deref().map(|l| format!(" (last observation: {l})")).unwrap_or_default())]
    Timeout {
        /// What was awaited.
        desc: String,
        /// How long the harness waited.
        waited: Duration,
        /// The last error or observation, if any.
        last: Option<String>,
    },
    /// Anything else, described in words.
    #[error("{0}")]
    Other(String),
}

/// The harness's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds a context message to fallible operations, producing an [`Error`].
/// Adds what the harness (or a test) was doing to an error, turning it into [`Error`].
pub trait Context<T> {
    /// Wraps the error with `context`.
    fn context(self, context: impl Into<String>) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, std::io::Error> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|source| Error::Io { context: context.into(), source })
    }
}

impl<T> Context<T> for std::result::Result<T, kube::Error> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|source| Error::Kube { context: context.into(), source })
    }
}

impl<T> Context<T> for std::result::Result<T, reqwest::Error> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|source| Error::Http { context: context.into(), source })
    }
}

impl<T> Context<T> for std::result::Result<T, kube::config::KubeconfigError> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|source| Error::KubeConfig { context: context.into(), source })
    }
}

impl<T> Context<T> for std::result::Result<T, serde_json::Error> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|e| Error::Format { context: context.into(), message: e.to_string() })
    }
}

impl<T> Context<T> for std::result::Result<T, serde_yaml_ng::Error> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|e| Error::Format { context: context.into(), message: e.to_string() })
    }
}
