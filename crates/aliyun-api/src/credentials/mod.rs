//! Credentials: AccessKey pairs and STS tokens, where they come from, and their refresh.
//!
//! Secrets are held in [`SecretString`], whose `Debug` and `Display` never show the value.

use std::{fmt, future::Future, pin::Pin, sync::Arc};

use time::OffsetDateTime;

mod cache;
mod chain;
mod cloud_config;
mod ecs_ram_role;
mod env;
mod oidc;
mod util;

pub use cache::{CachedProvider, Clock, DEFAULT_REFRESH_BEFORE, DEFAULT_RETRY_AFTER_FAILURE};
pub use chain::{ChainConfig, ChainProvider, ECS_METADATA_DISABLED_ENV, default_chain};
pub use cloud_config::CloudConfigProvider;
pub use ecs_ram_role::{DEFAULT_METADATA_ENDPOINT, EcsRamRoleProvider, METADATA_TOKEN_TTL_SECONDS};
pub use env::{Env, EnvProvider};
pub use oidc::{DEFAULT_STS_ENDPOINT, OidcProvider, sts_endpoint_from_env};

/// A boxed future, so providers can be used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A secret string (AccessKey secret, STS token, OIDC token). `Debug` and `Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for signing. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// Reads a secret from a JSON string (STS responses), so that it is never held in a plain `String`.
impl<'de> serde::Deserialize<'de> for SecretString {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

/// One set of credentials: an AccessKey pair, plus an STS token and expiry when they are temporary.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// AccessKey ID (not secret; shown in logs to identify the key).
    pub access_key_id: String,
    /// AccessKey secret.
    pub access_key_secret: SecretString,
    /// STS security token, for temporary credentials.
    pub security_token: Option<SecretString>,
    /// When temporary credentials expire.
    pub expiration: Option<OffsetDateTime>,
}

impl Credentials {
    /// Long-lived AccessKey credentials.
    pub fn access_key(id: impl Into<String>, secret: impl Into<SecretString>) -> Self {
        Self { access_key_id: id.into(), access_key_secret: secret.into(), security_token: None, expiration: None }
    }

    /// Adds an STS token.
    pub fn with_security_token(mut self, token: impl Into<SecretString>) -> Self {
        self.security_token = Some(token.into());
        self
    }

    /// Sets the expiry.
    pub fn with_expiration(mut self, expiration: OffsetDateTime) -> Self {
        self.expiration = Some(expiration);
        self
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &self.access_key_secret)
            .field("security_token", &self.security_token.as_ref().map(|_| "<redacted>"))
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// Why credentials could not be had. Messages never contain a secret.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// No provider of the chain had credentials; lists what each said.
    #[error("no Alibaba Cloud credentials found; tried: {}", .tried.join("; "))]
    NotFound {
        /// One line per provider tried.
        tried: Vec<String>,
    },
    /// A provider was configured but failed.
    #[error("{provider} credentials: {reason}")]
    Provider {
        /// Provider name (`environment`, `cloud-config`, `ecs-ram-role`, `oidc`).
        provider: &'static str,
        /// What went wrong and how to fix it.
        reason: String,
    },
}

/// Something that yields credentials (static, environment, file, metadata server, OIDC, a chain of them).
pub trait CredentialsProvider: Send + Sync + fmt::Debug {
    /// A short name for logs and errors (`static`, `environment`, `ecs-ram-role`).
    fn name(&self) -> &'static str;

    /// Current credentials. Providers of temporary credentials refresh them well before they expire.
    fn credentials(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>>;
}

/// Fixed credentials, given in code.
#[derive(Debug, Clone)]
pub struct StaticProvider(Credentials);

impl StaticProvider {
    /// Always yields `credentials`.
    pub fn new(credentials: Credentials) -> Self {
        Self(credentials)
    }
}

impl CredentialsProvider for StaticProvider {
    fn name(&self) -> &'static str {
        "static"
    }

    fn credentials(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        let c = self.0.clone();
        Box::pin(async move { Ok(c) })
    }
}

impl<P: CredentialsProvider + ?Sized> CredentialsProvider for Arc<P> {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn credentials(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        (**self).credentials()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_secrets() {
        let c = Credentials::access_key("LTAIexample", "very-secret-value").with_security_token("sts-token-value");
        let shown = format!("{c:?} {} {:?}", c.access_key_secret, c.security_token);
        assert!(shown.contains("LTAIexample"));
        assert!(!shown.contains("very-secret-value"), "{shown}");
        assert!(!shown.contains("sts-token-value"), "{shown}");
    }
}
