//! Finding the executables the stack runs: kube-apiserver and etcd (built by `cargo xtask k8s-bins`) and the
//! workspace's own binaries (built by cargo).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use crate::error::{Context as _, Error, Result};

/// The wrapper module `cargo xtask k8s-bins` builds kube-apiserver from; its `require` line is the version.
const KUBE_APISERVER_GO_MOD: &str = include_str!("../k8s-bins/kube-apiserver/go.mod");
/// The wrapper module `cargo xtask k8s-bins` builds etcd from.
const ETCD_GO_MOD: &str = include_str!("../k8s-bins/etcd/go.mod");

/// Environment variable naming a directory that holds `kube-apiserver` and `etcd`, overriding the cache lookup.
pub const K8S_BINS_ENV: &str = "ALIYUN_CCM_K8S_BINS";
/// Environment variable that, when set to `1`, stops the harness from running `cargo build` for workspace
/// binaries (the caller built them already, e.g. `cargo xtask test`).
pub const NO_CARGO_BUILD_ENV: &str = "E2E_NO_CARGO_BUILD";

/// The Kubernetes version the e2e kube-apiserver is built at (from `e2e/k8s-bins/kube-apiserver/go.mod`).
pub fn kubernetes_version() -> &'static str {
    version_in(KUBE_APISERVER_GO_MOD, "k8s.io/kubernetes").unwrap_or("unknown")
}

/// The etcd version the e2e etcd is built at (from `e2e/k8s-bins/etcd/go.mod`).
pub fn etcd_version() -> &'static str {
    version_in(ETCD_GO_MOD, "go.etcd.io/etcd/server/v3").unwrap_or("unknown")
}

/// The version of `module` required by a wrapper `go.mod` (`v1.36.3` style).
fn version_in(go_mod: &'static str, module: &str) -> Option<&'static str> {
    go_mod.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let first = words.next()?;
        let (name, version) = if first == "require" { (words.next()?, words.next()?) } else { (first, words.next()?) };
        (name == module && version.starts_with('v')).then_some(version)
    })
}

/// The user's cache directory for this project: `${XDG_CACHE_HOME:-$HOME/.cache}/aliyun-ccm`.
pub fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("aliyun-ccm")
}

/// Paths of the Kubernetes control-plane binaries.
#[derive(Debug, Clone)]
pub struct K8sBins {
    /// `kube-apiserver`.
    pub kube_apiserver: PathBuf,
    /// `etcd`.
    pub etcd: PathBuf,
}

impl K8sBins {
    /// Finds the binaries: `$ALIYUN_CCM_K8S_BINS`, else the newest matching build in the cache that
    /// `cargo xtask k8s-bins` fills.
    pub fn locate() -> Result<Self> {
        if let Some(dir) = std::env::var_os(K8S_BINS_ENV).filter(|v| !v.is_empty()) {
            return Self::in_dir(Path::new(&dir)).ok_or_else(|| Error::MissingBinary {
                what: "kube-apiserver/etcd".into(),
                hint: format!("${K8S_BINS_ENV}={} does not hold both executables", PathBuf::from(dir).display()),
            });
        }
        let root = cache_dir().join("k8s-bins");
        let prefix = format!("k8s-{}_etcd-{}_", kubernetes_version(), etcd_version());
        let mut found: Vec<(std::time::SystemTime, K8sBins)> = std::fs::read_dir(&root)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .filter_map(|e| {
                let bins = Self::in_dir(&e.path())?;
                let modified = std::fs::metadata(&bins.kube_apiserver).and_then(|m| m.modified()).ok()?;
                Some((modified, bins))
            })
            .collect();
        found.sort_by_key(|(t, _)| *t);
        found.pop().map(|(_, b)| b).ok_or_else(|| Error::MissingBinary {
            what: format!("kube-apiserver {} / etcd {}", kubernetes_version(), etcd_version()),
            hint: format!("run `cargo xtask k8s-bins` (looked in {}/{prefix}*)", root.display()),
        })
    }

    fn in_dir(dir: &Path) -> Option<Self> {
        let kube_apiserver = dir.join("kube-apiserver");
        let etcd = dir.join("etcd");
        (kube_apiserver.is_file() && etcd.is_file()).then_some(K8sBins { kube_apiserver, etcd })
    }
}

/// The cargo output directory of the running executable (`target/debug` for tests and `cargo run`).
pub fn target_profile_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("finding the running executable")?;
    let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.file_name().is_some_and(|n| n == "deps" || n == "examples") {
        dir.pop();
    }
    Ok(dir)
}

/// Binaries already built (or found fresh) in this process.
static BUILT: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// The path of workspace binary `bin` of package `package`, building it with cargo first (once per process)
/// unless `$E2E_NO_CARGO_BUILD=1`.
pub fn workspace_binary(package: &str, bin: &str) -> Result<PathBuf> {
    let dir = target_profile_dir()?;
    let path = dir.join(bin);
    let skip_build = std::env::var(NO_CARGO_BUILD_ENV).is_ok_and(|v| v == "1");
    if !skip_build {
        let mut built = BUILT.lock().unwrap_or_else(|p| p.into_inner());
        let set = built.get_or_insert_with(HashSet::new);
        if !set.contains(bin) {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let mut cmd = Command::new(cargo);
            cmd.args(["build", "--quiet", "--package", package, "--bin", bin]);
            // The variables cargo set for this test binary (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`) would reach build
            // scripts that watch them (ring's), rebuilding ring and everything above it on every other build.
            for (key, _) in std::env::vars_os() {
                let key = key.to_string_lossy();
                if key == "CARGO_MANIFEST_DIR" || key == "CARGO_MANIFEST_PATH" || key.starts_with("CARGO_PKG_") {
                    cmd.env_remove(key.as_ref());
                }
            }
            if dir.file_name().is_some_and(|n| n == "release") {
                cmd.arg("--release");
            }
            let status = cmd.status().context(format!("running cargo build for {bin}"))?;
            if !status.success() {
                return Err(Error::MissingBinary {
                    what: bin.into(),
                    hint: format!("`cargo build -p {package} --bin {bin}` failed ({status})"),
                });
            }
            set.insert(bin.into());
        }
    }
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::MissingBinary {
            what: bin.into(),
            hint: format!("expected at {}; run `cargo build -p {package} --bin {bin}`", path.display()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_from_the_wrapper_modules() {
        assert!(kubernetes_version().starts_with("v1."), "{}", kubernetes_version());
        assert!(etcd_version().starts_with("v3."), "{}", etcd_version());
    }
}
