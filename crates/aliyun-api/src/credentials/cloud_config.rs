//! The Go CCM's cloud-config file (`--cloud-config`, JSON or YAML): base64-encoded AccessKey in `Global`.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::Mutex,
    time::SystemTime,
};

use base64::Engine as _;

use super::{BoxFuture, Credentials, CredentialsError, CredentialsProvider, SecretString};

const PROVIDER: &str = "cloud-config";
const KEY_ID: &str = "accessKeyID";
const KEY_SECRET: &str = "accessKeySecret";

/// What identifies one version of the file: when a mounted Secret rotates, at least one of these changes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

/// AccessKey from the Go CCM's cloud-config file, JSON or YAML:
/// `{"Global": {"accessKeyID": "<base64>", "accessKeySecret": "<base64>", ...}}`.
///
/// As in the Go CCM, both values are base64-encoded (standard alphabet); line breaks in the decoded values are
/// dropped, and key names match case-insensitively (Go's `encoding/json` does the same). The file is re-read
/// whenever its modification time or size changes, so a rotated Secret mounted as a file is picked up.
/// Errors name the file, the key and the fix, never a value.
pub struct CloudConfigProvider {
    path: PathBuf,
    cache: Mutex<Option<(Stamp, Credentials)>>,
}

impl CloudConfigProvider {
    /// Reads the cloud-config file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), cache: Mutex::new(None) }
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, reason: impl fmt::Display) -> CredentialsError {
        CredentialsError::Provider { provider: PROVIDER, reason: format!("file {}: {reason}", self.path.display()) }
    }

    async fn load(&self) -> Result<Credentials, CredentialsError> {
        let metadata = tokio::fs::metadata(&self.path).await.map_err(|e| {
            self.err(format_args!("cannot read it: {e}; check the --cloud-config path and that the file is mounted"))
        })?;
        let stamp = Stamp { modified: metadata.modified().ok(), len: metadata.len() };
        if let Some((cached_stamp, credentials)) = self.lock().as_ref()
            && *cached_stamp == stamp
            && stamp.modified.is_some()
        {
            return Ok(credentials.clone());
        }
        let bytes = tokio::fs::read(&self.path).await.map_err(|e| {
            self.err(format_args!("cannot read it: {e}; check the --cloud-config path and that the file is mounted"))
        })?;
        let credentials = self.parse(&bytes)?;
        tracing::debug!(
            path = %self.path.display(),
            access_key_id = %credentials.access_key_id,
            "read AccessKey from cloud-config"
        );
        *self.lock() = Some((stamp, credentials.clone()));
        Ok(credentials)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Stamp, Credentials)>> {
        self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn parse(&self, bytes: &[u8]) -> Result<Credentials, CredentialsError> {
        // Parse into a `Value` so that errors are syntax errors with a position, never an echo of a value. JSON
        // first (what the Go CCM's manifests ship), then YAML, which the Go CCM accepts as well.
        let doc: serde_json::Value = match serde_json::from_slice(bytes) {
            Ok(doc) => doc,
            Err(json) => serde_yaml_ng::from_slice(bytes).map_err(|yaml| {
                let at = yaml.location().map(|l| format!("line {} column {}", l.line(), l.column()));
                self.err(format_args!(
                    "neither JSON (error at line {} column {}) nor YAML (error at {}); the file must look like \
                     {{\"Global\": {{\"{KEY_ID}\": \"<base64>\", \"{KEY_SECRET}\": \"<base64>\"}}}}",
                    json.line(),
                    json.column(),
                    at.as_deref().unwrap_or("an unknown place"),
                ))
            })?,
        };
        let global = get_ci(&doc, "Global").filter(|g| g.is_object()).ok_or_else(|| {
            self.err(format_args!(
                "no \"Global\" object; AccessKey credentials go in \
                 {{\"Global\": {{\"{KEY_ID}\": \"<base64>\", \"{KEY_SECRET}\": \"<base64>\"}}}}"
            ))
        })?;
        let id = self.decoded(global, KEY_ID)?;
        let secret = self.decoded(global, KEY_SECRET)?;
        Ok(Credentials::access_key(id, SecretString::new(secret)))
    }

    /// The base64-decoded value of `Global.<key>`.
    fn decoded(&self, global: &serde_json::Value, key: &str) -> Result<String, CredentialsError> {
        let value = match get_ci(global, key) {
            None | Some(serde_json::Value::Null) => {
                return Err(self.err(format_args!(
                    "Global.{key} is missing; set it to the base64 of the value (`printf %s <value> | base64`), \
                     or remove both {KEY_ID} and {KEY_SECRET} to use other credentials"
                )));
            }
            Some(serde_json::Value::String(s)) => s,
            Some(_) => return Err(self.err(format_args!("Global.{key} must be a string (base64-encoded)"))),
        };
        let encoded: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        if encoded.is_empty() {
            return Err(self.err(format_args!(
                "Global.{key} is empty; set it to the base64 of the value (`printf %s <value> | base64`), \
                 or remove both {KEY_ID} and {KEY_SECRET} to use other credentials"
            )));
        }
        let bytes = base64::engine::general_purpose::STANDARD.decode(encoded.as_bytes()).map_err(|_| {
            self.err(format_args!(
                "Global.{key} is not valid base64; the cloud-config holds it base64-encoded, as the Go CCM \
                 expects (`printf %s <value> | base64`)"
            ))
        })?;
        let text = String::from_utf8(bytes)
            .map_err(|_| self.err(format_args!("Global.{key} does not decode to UTF-8 text; check its base64")))?;
        let text: String = text.chars().filter(|c| *c != '\n' && *c != '\r').collect();
        let text = text.trim();
        if text.is_empty() {
            return Err(self.err(format_args!("Global.{key} decodes to an empty value; check its base64")));
        }
        Ok(text.to_owned())
    }
}

/// An object's member by name, exact match first, then ASCII case-insensitive (as Go's `encoding/json`).
fn get_ci<'a>(object: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
    let map = object.as_object()?;
    map.get(key).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

impl fmt::Debug for CloudConfigProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudConfigProvider").field("path", &self.path).finish_non_exhaustive()
    }
}

impl CredentialsProvider for CloudConfigProvider {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    fn credentials(&self) -> BoxFuture<'_, Result<Credentials, CredentialsError>> {
        Box::pin(self.load())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const SECRET: &str = "cc-secret-value-789";

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn tempdir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("aliyun-api-cc-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn write(path: &Path, text: &str, modified: SystemTime) {
        std::fs::write(path, text).unwrap();
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(modified).unwrap();
    }

    fn config(id: &str, secret: &str) -> String {
        format!(
            r#"{{"Global": {{"accessKeyID": "{}", "accessKeySecret": "{}", "uid": "", "region": "cn-hangzhou",
               "vpcid": "vpc-1", "vswitchid": "cn-hangzhou-b:vsw-1", "clusterID": "c-1"}}}}"#,
            b64(id),
            b64(secret)
        )
    }

    #[tokio::test]
    async fn decodes_base64_and_drops_trailing_newlines() {
        let dir = tempdir("decode");
        let path = dir.join("cloud-config.json");
        // `echo value | base64` leaves a trailing newline in the decoded value; the Go CCM strips it.
        write(&path, &config("LTAIcc\n", &format!("{SECRET}\r\n")), SystemTime::now());
        let p = CloudConfigProvider::new(&path);
        let c = p.credentials().await.unwrap();
        assert_eq!(c.access_key_id, "LTAIcc");
        assert_eq!(c.access_key_secret.expose(), SECRET);
        assert!(c.security_token.is_none() && c.expiration.is_none());
        assert_eq!(p.name(), "cloud-config");
        assert!(!format!("{p:?}").contains(SECRET));
    }

    #[tokio::test]
    async fn key_names_are_case_insensitive_like_go() {
        let dir = tempdir("case");
        let path = dir.join("cc.json");
        let text =
            format!(r#"{{"global": {{"AccessKeyId": "{}", "accesskeysecret": "{}"}}}}"#, b64("LTAIx"), b64(SECRET));
        write(&path, &text, SystemTime::now());
        let c = CloudConfigProvider::new(&path).credentials().await.unwrap();
        assert_eq!(c.access_key_id, "LTAIx");
    }

    #[tokio::test]
    async fn yaml_is_read_too_as_the_go_ccm_does() {
        let dir = tempdir("yaml");
        let path = dir.join("cloud-config.yaml");
        let text = format!(
            "Global:\n  accessKeyID: {}\n  accessKeySecret: \"{}\"\n  region: cn-hangzhou\n",
            b64("LTAIy"),
            b64(SECRET)
        );
        write(&path, &text, SystemTime::now());
        let c = CloudConfigProvider::new(&path).credentials().await.unwrap();
        assert_eq!(c.access_key_id, "LTAIy");
        assert_eq!(c.access_key_secret.expose(), SECRET);
    }

    #[tokio::test]
    async fn errors_name_file_and_key_never_values() {
        let dir = tempdir("errors");
        let path = dir.join("cc.json");
        let cases: Vec<(String, &str)> = vec![
            (format!(r#"{{"Global": {{"accessKeySecret": "{}"}}}}"#, b64(SECRET)), "Global.accessKeyID is missing"),
            (format!(r#"{{"Global": {{"accessKeyID": "{}"}}}}"#, b64("LTAIx")), "Global.accessKeySecret is missing"),
            (
                format!(r#"{{"Global": {{"accessKeyID": "{}", "accessKeySecret": ""}}}}"#, b64("LTAIx")),
                "Global.accessKeySecret is empty",
            ),
            (
                format!(r#"{{"Global": {{"accessKeyID": "{}", "accessKeySecret": "{SECRET}!"}}}}"#, b64("LTAIx")),
                "Global.accessKeySecret is not valid base64",
            ),
            (
                format!(r#"{{"Global": {{"accessKeyID": "{}", "accessKeySecret": 12}}}}"#, b64("LTAIx")),
                "Global.accessKeySecret must be a string",
            ),
            (format!(r#"{{"Global": {{"accessKeyID": "{SECRET}""#), "neither JSON (error at line 1"),
            (format!("Global:\n  accessKeyID: [\"{SECRET}\"\n"), "nor YAML (error at line"),
            (format!(r#"{{"accessKeyID": "{}"}}"#, b64(SECRET)), "no \"Global\" object"),
        ];
        for (i, (text, expected)) in cases.into_iter().enumerate() {
            // Distinct mtimes so each version is re-read.
            write(&path, &text, SystemTime::UNIX_EPOCH + Duration::from_secs(1_000 + i as u64));
            let err = CloudConfigProvider::new(&path).credentials().await.unwrap_err();
            let shown = format!("{err} {err:?}");
            assert!(shown.contains(expected), "{shown}");
            assert!(shown.contains(&path.display().to_string()), "{shown}");
            assert!(!shown.contains(SECRET) && !shown.contains(&b64(SECRET)), "{shown}");
        }
        let err = CloudConfigProvider::new(dir.join("absent.json")).credentials().await.unwrap_err();
        assert!(err.to_string().contains("absent.json") && err.to_string().contains("--cloud-config"), "{err}");
    }

    #[tokio::test]
    async fn rotation_is_picked_up_by_mtime() {
        let dir = tempdir("rotate");
        let path = dir.join("cc.json");
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        write(&path, &config("LTAIold", "old-secret"), t0);
        let p = CloudConfigProvider::new(&path);
        assert_eq!(p.credentials().await.unwrap().access_key_id, "LTAIold");

        // Same length and mtime: served from the cache without re-parsing.
        write(&path, &config("LTAInew", "new-secret"), t0);
        assert_eq!(p.credentials().await.unwrap().access_key_id, "LTAIold");

        // New mtime: re-read.
        write(&path, &config("LTAInew", "new-secret"), t0 + Duration::from_secs(60));
        let c = p.credentials().await.unwrap();
        assert_eq!(c.access_key_id, "LTAInew");
        assert_eq!(c.access_key_secret.expose(), "new-secret");

        // A broken rotation is an error (naming the key), and a fixed one recovers.
        write(&path, r#"{"Global": {}}"#, t0 + Duration::from_secs(120));
        assert!(p.credentials().await.unwrap_err().to_string().contains("accessKeyID"));
        write(&path, &config("LTAIthird", "third-secret"), t0 + Duration::from_secs(180));
        assert_eq!(p.credentials().await.unwrap().access_key_id, "LTAIthird");
    }
}
