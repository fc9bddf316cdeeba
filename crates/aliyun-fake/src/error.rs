//! The crate's own errors (starting the fake, reading seeds).

/// What can go wrong starting or configuring the fake.
#[derive(Debug, thiserror::Error)]
pub enum FakeError {
    /// The seed is not valid YAML/JSON or has unknown keys.
    #[error("seed does not parse: {0}")]
    SeedParse(String),
    /// The seed parses but describes an impossible region.
    #[error("seed is invalid: {0}")]
    SeedInvalid(String),
    /// The seed file could not be read.
    #[error("cannot read seed file {path}")]
    SeedRead {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An `--access-key` value is not `ID:SECRET`.
    #[error("access key {0:?} is not ID:SECRET")]
    AccessKeyFormat(String),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The metadata instance is not in the region.
    #[error("metadata instance {0} does not exist")]
    UnknownMetadataInstance(String),
    /// The in-process runtime could not be built.
    #[error("cannot start the runtime")]
    Runtime(#[source] std::io::Error),
}
