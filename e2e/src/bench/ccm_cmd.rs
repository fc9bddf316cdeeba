//! The CCM under test: any command line (`--ccm-cmd`), with placeholders for what the harness provides,
//! configured only through the standard endpoint variables and a cloud-config file in the Go CCM's format, so
//! that two builds or two implementations run the same scenarios.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::json;

use super::topology::{CLUSTER_CIDR, CLUSTER_ID, REGION, ROUTE_TABLE_ID, Topology, VPC_ID};
use crate::bins::target_profile_dir;
use crate::error::{Context as _, Error, Result};
use crate::process::{Lifetime, ManagedProcess, ProcessSpec};
use crate::stack::{FAKE_ACCESS_KEY_ID, FAKE_ACCESS_KEY_SECRET, Identity, Stack, free_port, workspace_root};

/// The placeholders a `--ccm-cmd` may use, with what they stand for.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("kubeconfig", "kubeconfig of the CCM's ServiceAccount (RBAC from manifests/rbac)"),
    ("cloud_config", "the cloud-config file (JSON, Go CCM format)"),
    ("cluster_cidr", "the pod network, 172.16.0.0/12"),
    ("metrics_addr", "127.0.0.1:PORT free for /metrics"),
    ("metrics_port", "its port"),
    ("health_addr", "127.0.0.1:PORT free for /healthz"),
    ("health_port", "its port"),
    ("region", "cn-hangzhou"),
    ("vpc_id", "the VPC"),
    ("route_table_ids", "the managed route table"),
    ("cluster_id", "Global.clusterID"),
    ("fake_endpoint", "http://127.0.0.1:PORT of aliyun-fake"),
    ("dir", "the stack's directory (logs, kubeconfigs)"),
];

/// One implementation to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CcmCommand {
    /// Short name for the report.
    pub name: String,
    /// The command line, with `{placeholders}`; run by `sh -c 'exec ...'`.
    pub template: String,
}

/// Which cargo profile builds the default CCM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildProfile {
    /// `--release` (the default: what operators run).
    Release,
    /// The dev profile.
    Debug,
}

/// Quotes `s` for `sh` when it holds anything but safe characters.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_./:,=@+-".contains(c)) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The command line of this workspace's `cloud-controller-manager` at `bin`.
pub fn default_template(bin: &Path) -> String {
    format!(
        "{} --kubeconfig={{kubeconfig}} --cloud-config={{cloud_config}} --cluster-cidr={{cluster_cidr}} \
         '--controllers=*' --leader-elect=false --health-probe-bind-addr={{health_addr}} \
         --metrics-bind-addr={{metrics_addr}}",
        shell_quote(&bin.display().to_string())
    )
}

/// Builds this workspace's `cloud-controller-manager` with cargo and returns its path.
pub fn build_default_ccm(profile: BuildProfile) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root()).args(["build", "--package", "ccm", "--bin", "cloud-controller-manager"]);
    if profile == BuildProfile::Release {
        cmd.arg("--release");
    }
    // As in `bins::workspace_binary`: the variables `cargo run` set for this binary would reach build scripts
    // that watch them (ring's) and rebuild half the tree on every other build.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key == "CARGO_MANIFEST_DIR" || key == "CARGO_MANIFEST_PATH" || key.starts_with("CARGO_PKG_") {
            cmd.env_remove(key.as_ref());
        }
    }
    let status = cmd.status().context("running cargo build for cloud-controller-manager")?;
    if !status.success() {
        return Err(Error::MissingBinary {
            what: "cloud-controller-manager".into(),
            hint: format!("`cargo build -p ccm --bin cloud-controller-manager` failed ({status})"),
        });
    }
    // The running binary lives in <target>/<profile>; the CCM in <target>/release or <target>/debug.
    let profile_dir = target_profile_dir()?;
    let target = profile_dir.parent().map(Path::to_path_buf).unwrap_or(profile_dir);
    let path = target
        .join(if profile == BuildProfile::Release { "release" } else { "debug" })
        .join("cloud-controller-manager");
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::MissingBinary {
            what: "cloud-controller-manager".into(),
            hint: format!("not at {}", path.display()),
        })
    }
}

/// Replaces every `{name}` of [`PLACEHOLDERS`] in `template`; an unknown `{identifier}` is an error, other braces
/// stay as they are.
pub fn substitute(template: &str, values: &BTreeMap<&str, String>) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let ident_len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
        if ident_len > 0 && after[ident_len..].starts_with('}') {
            let name = &after[..ident_len];
            let value = values.get(name).ok_or_else(|| {
                let known: Vec<&str> = PLACEHOLDERS.iter().map(|(k, _)| *k).collect();
                Error::Other(format!("--ccm-cmd: unknown placeholder {{{name}}}; known: {}", known.join(", ")))
            })?;
            out.push_str(&shell_quote(value));
            rest = &after[ident_len + 1..];
        } else {
            out.push('{');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The cloud-config the harness writes: base64 AccessKey, region, VPC, vSwitches, cluster id, route table.
pub fn cloud_config() -> serde_json::Value {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    json!({"Global": {
        "accessKeyID": b64(FAKE_ACCESS_KEY_ID),
        "accessKeySecret": b64(FAKE_ACCESS_KEY_SECRET),
        "region": REGION,
        "vpcid": VPC_ID,
        "vswitchid": Topology::vswitch_config(),
        "clusterID": CLUSTER_ID,
        "routeTableIDs": ROUTE_TABLE_ID,
    }})
}

/// A CCM started for the benchmark.
#[derive(Debug)]
pub struct StartedCcm {
    /// The process (its pid is the CCM's: the command is `exec`ed).
    pub process: ManagedProcess,
    /// The command line as run.
    pub command: String,
    /// `/metrics` URL, if the command line uses `{metrics_addr}` or `{metrics_port}`.
    pub metrics_url: Option<String>,
    /// `/healthz` URL, if the command line uses `{health_addr}` or `{health_port}`.
    pub health_url: Option<String>,
}

/// Starts `ccm` against `stack`: its cloud-config in the stack directory, the endpoint variables pointing at the
/// fake, and nothing else of the harness's.
pub fn start(stack: &Stack, ccm: &CcmCommand, index: usize) -> Result<StartedCcm> {
    let metrics_addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let health_addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let cloud_config_path = stack.dir().join(format!("bench-cloud-config-{index}.json"));
    let text = serde_json::to_string_pretty(&cloud_config()).context("rendering the cloud-config")?;
    std::fs::write(&cloud_config_path, text).context(format!("writing {}", cloud_config_path.display()))?;
    let fake = stack.fake_endpoint()?.to_owned();
    let values: BTreeMap<&str, String> = [
        ("kubeconfig", stack.kubeconfig(&Identity::Ccm)?.display().to_string()),
        ("cloud_config", cloud_config_path.display().to_string()),
        ("cluster_cidr", CLUSTER_CIDR.to_owned()),
        ("metrics_addr", metrics_addr.to_string()),
        ("metrics_port", metrics_addr.port().to_string()),
        ("health_addr", health_addr.to_string()),
        ("health_port", health_addr.port().to_string()),
        ("region", REGION.to_owned()),
        ("vpc_id", VPC_ID.to_owned()),
        ("route_table_ids", ROUTE_TABLE_ID.to_owned()),
        ("cluster_id", CLUSTER_ID.to_owned()),
        ("fake_endpoint", fake.clone()),
        ("dir", stack.dir().display().to_string()),
    ]
    .into_iter()
    .collect();
    let command = substitute(&ccm.template, &values)?;
    let uses = |names: &[&str]| names.iter().any(|n| ccm.template.contains(&format!("{{{n}}}")));
    let hostport = fake.trim_start_matches("http://").to_owned();
    let mut spec = ProcessSpec::new(format!("ccm-under-test-{index}"), "sh")
        .args(["-c".to_owned(), format!("exec {command}")])
        .env("ECS_ENDPOINT", &hostport)
        .env("VPC_ENDPOINT", &hostport)
        .env("SLB_ENDPOINT", &hostport)
        .env("ALICLOUD_CLIENT_SCHEME", "HTTP")
        .env("METADATA_ENDPOINT", &fake);
    if std::env::var_os("RUST_LOG").is_none() {
        spec = spec.env("RUST_LOG", "info");
    }
    let process = ManagedProcess::spawn(&spec, stack.dir(), Lifetime::Supervised)?;
    Ok(StartedCcm {
        process,
        command,
        metrics_url: uses(&["metrics_addr", "metrics_port"]).then(|| format!("http://{metrics_addr}/metrics")),
        health_url: uses(&["health_addr", "health_port"]).then(|| format!("http://{health_addr}/healthz")),
    })
}

impl StartedCcm {
    /// Waits until the process has a pid and answers `/healthz` (else `/metrics`; else has run 5 s).
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<u32> {
        let started = Instant::now();
        let http =
            reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(2)).build().context("HTTP client")?;
        let probe = self.health_url.clone().or_else(|| self.metrics_url.clone());
        loop {
            self.process.check_running()?;
            if let Some(pid) = self.process.pid() {
                let ready = match &probe {
                    Some(url) => http.get(url).send().await.is_ok_and(|r| r.status().is_success()),
                    None => started.elapsed() >= Duration::from_secs(5),
                };
                if ready {
                    return Ok(pid);
                }
            }
            if started.elapsed() > timeout {
                return Err(Error::Timeout {
                    desc: format!("the CCM under test to become ready ({})", probe.as_deref().unwrap_or("5 s alive")),
                    waited: started.elapsed(),
                    last: Some(self.process.log_tail(20)),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `GET /metrics` as text, if the command exposes it.
    pub async fn metrics(&self) -> Option<String> {
        let url = self.metrics_url.as_ref()?;
        let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(10)).build().ok()?;
        http.get(url).send().await.ok()?.error_for_status().ok()?.text().await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_substituted_and_quoted() {
        let values: BTreeMap<&str, String> =
            [("kubeconfig", "/tmp/a b/ccm.kubeconfig".to_owned()), ("cluster_cidr", "172.16.0.0/12".to_owned())].into();
        let out = substitute("ccm --kubeconfig={kubeconfig} --cluster-cidr={cluster_cidr} --json='{}'", &values)
            .expect("substituted");
        assert_eq!(out, "ccm --kubeconfig='/tmp/a b/ccm.kubeconfig' --cluster-cidr=172.16.0.0/12 --json='{}'");
        assert!(substitute("ccm {nope}", &values).is_err());
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("abc-1.2:3"), "abc-1.2:3");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn default_command_uses_the_standard_flags() {
        let t = default_template(Path::new("/x/cloud-controller-manager"));
        for p in ["{kubeconfig}", "{cloud_config}", "{cluster_cidr}", "{metrics_addr}", "{health_addr}"] {
            assert!(t.contains(p), "{t}");
        }
        let c = cloud_config();
        assert_eq!(c["Global"]["routeTableIDs"], ROUTE_TABLE_ID);
        assert!(c["Global"]["vswitchid"].as_str().is_some_and(|v| v.starts_with("cn-hangzhou-h:vsw-")));
    }
}
