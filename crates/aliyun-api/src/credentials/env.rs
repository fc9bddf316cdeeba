//! Environment variables: the lookup abstraction the providers share, and [`EnvProvider`].

use std::{collections::HashMap, fmt, sync::Arc};

use super::{BoxFuture, Credentials, CredentialsError, CredentialsProvider, SecretString};

/// The official SDKs' AccessKey ID variable.
pub const ACCESS_KEY_ID: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";
/// The official SDKs' AccessKey secret variable.
pub const ACCESS_KEY_SECRET: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";
/// The official SDKs' STS token variable (optional).
pub const SECURITY_TOKEN: &str = "ALIBABA_CLOUD_SECURITY_TOKEN";
/// The Go CCM's AccessKey ID variable, used when the official ones are absent.
pub const LEGACY_ACCESS_KEY_ID: &str = "ACCESS_KEY_ID";
/// The Go CCM's AccessKey secret variable, used when the official ones are absent.
pub const LEGACY_ACCESS_KEY_SECRET: &str = "ACCESS_KEY_SECRET";

type LookupFn = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Where providers read environment variables from: the process environment, or a function or map (for tests).
///
/// Empty values count as unset, as in the official SDKs. `Debug` shows no values.
#[derive(Clone)]
pub struct Env(Arc<LookupFn>);

impl Env {
    /// The real process environment.
    pub fn process() -> Self {
        Self(Arc::new(|name| std::env::var(name).ok()))
    }

    /// Looks variables up with `lookup`.
    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Self(Arc::new(lookup))
    }

    /// Exactly these variables, nothing else.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        let map: HashMap<String, String> = pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        Self(Arc::new(move |name| map.get(name).cloned()))
    }

    /// No variables at all.
    pub fn empty() -> Self {
        Self(Arc::new(|_| None))
    }

    /// The value of `name`, or `None` when unset or empty.
    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|v| !v.is_empty())
    }

    /// Whether `name` is set to `true` (any case) or `1`.
    pub fn is_true(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| {
            let v = v.trim();
            v.eq_ignore_ascii_case("true") || v == "1"
        })
    }
}

impl Default for Env {
    fn default() -> Self {
        Self::process()
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Env")
    }
}

/// AccessKey from environment variables.
///
/// Reads `ALIBABA_CLOUD_ACCESS_KEY_ID` and `ALIBABA_CLOUD_ACCESS_KEY_SECRET` (plus the optional
/// `ALIBABA_CLOUD_SECURITY_TOKEN`); when neither is set, falls back to the Go CCM's `ACCESS_KEY_ID` and
/// `ACCESS_KEY_SECRET`. One variable of a pair set without the other is an error naming both. The variables are
/// read on every call.
#[derive(Debug, Clone)]
pub struct EnvProvider {
    env: Env,
}

impl EnvProvider {
    /// Reads variables through `env` (use [`Env::from_pairs`] in tests).
    pub fn new(env: Env) -> Self {
        Self { env }
    }

    /// Reads the process environment.
    pub fn from_process_env() -> Self {
        Self::new(Env::process())
    }

    /// The credentials the variables describe, now.
    pub fn read(&self) -> Result<Credentials, CredentialsError> {
        let err = |reason: String| CredentialsError::Provider { provider: "environment", reason };
        let official = (self.env.get(ACCESS_KEY_ID), self.env.get(ACCESS_KEY_SECRET));
        let (id, secret, token) = match official {
            (Some(id), Some(secret)) => (id, secret, self.env.get(SECURITY_TOKEN)),
            (Some(_), None) => {
                return Err(err(format!("{ACCESS_KEY_ID} is set but {ACCESS_KEY_SECRET} is not; set both or neither")));
            }
            (None, Some(_)) => {
                return Err(err(format!("{ACCESS_KEY_SECRET} is set but {ACCESS_KEY_ID} is not; set both or neither")));
            }
            (None, None) => match (self.env.get(LEGACY_ACCESS_KEY_ID), self.env.get(LEGACY_ACCESS_KEY_SECRET)) {
                (Some(id), Some(secret)) => (id, secret, None),
                (Some(_), None) => {
                    return Err(err(format!(
                        "{LEGACY_ACCESS_KEY_ID} is set but {LEGACY_ACCESS_KEY_SECRET} is not; set both or neither"
                    )));
                }
                (None, Some(_)) => {
                    return Err(err(format!(
                        "{LEGACY_ACCESS_KEY_SECRET} is set but {LEGACY_ACCESS_KEY_ID} is not; set both or neither"
                    )));
                }
                (None, None) => {
                    return Err(err(format!("{ACCESS_KEY_ID} not set (nor the Go CCM's {LEGACY_ACCESS_KEY_ID})")));
                }
            },
        };
        let id = id.trim().to_owned();
        let mut credentials = Credentials::access_key(id, SecretString::new(secret.trim()));
        if let Some(token) = token {
            credentials = credentials.with_security_token(SecretString::new(token.trim()));
        }
        Ok(credentials)
    }
}

impl CredentialsProvider for EnvProvider {
    fn name(&self) -> &'static str {
        "environment"
    }

    fn credentials(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        let result = self.read();
        Box::pin(async move { result })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "env-secret-value-123";
    const TOKEN: &str = "env-sts-token-456";

    #[test]
    fn official_variables_with_token() {
        let env = Env::from_pairs([(ACCESS_KEY_ID, "LTAIenv"), (ACCESS_KEY_SECRET, SECRET), (SECURITY_TOKEN, TOKEN)]);
        let p = EnvProvider::new(env);
        let c = p.read().unwrap();
        assert_eq!(c.access_key_id, "LTAIenv");
        assert_eq!(c.access_key_secret.expose(), SECRET);
        assert_eq!(c.security_token.as_ref().map(SecretString::expose), Some(TOKEN));
        assert_eq!(c.expiration, None);
        let shown = format!("{p:?} {c:?}");
        assert!(!shown.contains(SECRET) && !shown.contains(TOKEN), "{shown}");
    }

    #[test]
    fn official_variables_win_over_legacy() {
        let env = Env::from_pairs([
            (ACCESS_KEY_ID, "LTAIofficial"),
            (ACCESS_KEY_SECRET, "s1"),
            (LEGACY_ACCESS_KEY_ID, "LTAIlegacy"),
            (LEGACY_ACCESS_KEY_SECRET, "s2"),
        ]);
        assert_eq!(EnvProvider::new(env).read().unwrap().access_key_id, "LTAIofficial");
    }

    #[test]
    fn legacy_go_ccm_variables() {
        let env = Env::from_pairs([(LEGACY_ACCESS_KEY_ID, "LTAIlegacy"), (LEGACY_ACCESS_KEY_SECRET, SECRET)]);
        let c = EnvProvider::new(env).read().unwrap();
        assert_eq!(c.access_key_id, "LTAIlegacy");
        assert_eq!(c.access_key_secret.expose(), SECRET);
        assert!(c.security_token.is_none());
    }

    #[test]
    fn half_a_pair_names_both_variables_and_hides_the_secret() {
        for (set, missing) in [(ACCESS_KEY_ID, ACCESS_KEY_SECRET), (ACCESS_KEY_SECRET, ACCESS_KEY_ID)] {
            let err = EnvProvider::new(Env::from_pairs([(set, SECRET)])).read().unwrap_err();
            let shown = format!("{err} {err:?}");
            assert!(shown.contains(set) && shown.contains(missing), "{shown}");
            assert!(!shown.contains(SECRET), "{shown}");
        }
        let err = EnvProvider::new(Env::from_pairs([(LEGACY_ACCESS_KEY_SECRET, SECRET)])).read().unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(shown.contains(LEGACY_ACCESS_KEY_ID) && shown.contains(LEGACY_ACCESS_KEY_SECRET), "{shown}");
        assert!(!shown.contains(SECRET), "{shown}");
    }

    #[test]
    fn nothing_set_and_empty_values_count_as_unset() {
        let err = EnvProvider::new(Env::from_pairs([(ACCESS_KEY_ID, ""), (ACCESS_KEY_SECRET, "")])).read().unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment credentials: ALIBABA_CLOUD_ACCESS_KEY_ID not set (nor the Go CCM's ACCESS_KEY_ID)"
        );
    }

    #[tokio::test]
    async fn provider_trait() {
        let p = EnvProvider::new(Env::from_pairs([(ACCESS_KEY_ID, "LTAIenv"), (ACCESS_KEY_SECRET, SECRET)]));
        assert_eq!(p.name(), "environment");
        assert_eq!(p.credentials().await.unwrap().access_key_id, "LTAIenv");
    }

    #[test]
    fn env_helpers() {
        let env = Env::from_fn(|n| match n {
            "A" => Some("TRUE".into()),
            "B" => Some("1".into()),
            "C" => Some("false".into()),
            _ => None,
        });
        assert!(env.is_true("A") && env.is_true("B"));
        assert!(!env.is_true("C") && !env.is_true("D"));
        assert_eq!(Env::empty().get("PATH"), None);
        assert_eq!(format!("{env:?}"), "Env");
    }
}
