//! `cargo xtask k8s-bins`: kube-apiserver and etcd for the e2e tests, built from the Go module proxy with the
//! wrapper modules in `e2e/k8s-bins/` and cached under `${XDG_CACHE_HOME:-$HOME/.cache}/aliyun-ccm/k8s-bins/`.
//!
//! `k8s.io/kubernetes` requires its staging modules (`k8s.io/api`, `k8s.io/client-go`, ...) at the fake version
//! `v0.0.0` and points them at `./staging/...` with `replace` lines that only apply inside its own repository,
//! so `go install k8s.io/kubernetes/cmd/kube-apiserver@v1.x.y` cannot work. The wrapper module
//! (`e2e/k8s-bins/kube-apiserver/go.mod`) replaces each of them with its published `v0.x.y` twin; its `go.sum`
//! pins every module. `--update-wrappers` regenerates both wrappers for other versions.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use crate::cmd::{fmt_duration, on_path, workspace_root};

/// Environment variable through which the e2e harness is told where the binaries are.
pub const BINS_ENV: &str = "ALIYUN_CCM_K8S_BINS";

const KAS_PACKAGE: &str = "k8s.io/kubernetes/cmd/kube-apiserver";
const ETCD_PACKAGE: &str = "go.etcd.io/etcd/server/v3";
/// Build tags upstream uses for its release binaries (plus `grpcnotrace`, which trims the binary).
const KAS_TAGS: &str = "selinux,notest,grpcnotrace";
/// Everything about the build that is not in the wrapper modules; part of the cache key.
const BUILD_FLAGS: &str = "CGO_ENABLED=0 -trimpath -ldflags=-s -w";

/// Options of `cargo xtask k8s-bins`.
#[derive(Debug, clap::Args)]
pub struct K8sBinsArgs {
    /// Print only the directory holding the binaries.
    #[arg(long)]
    print_dir: bool,
    /// Rebuild even if the cache has the binaries.
    #[arg(long)]
    rebuild: bool,
    /// Regenerate the wrapper modules in e2e/k8s-bins/ for other versions (a maintenance step; commit the
    /// resulting go.mod/go.sum files), then build.
    #[arg(long, requires_all = ["kubernetes", "etcd"])]
    update_wrappers: bool,
    /// With --update-wrappers: the Kubernetes release, e.g. 1.36.3.
    #[arg(long)]
    kubernetes: Option<String>,
    /// With --update-wrappers: the etcd release, e.g. 3.6.8 (the one that Kubernetes release requires).
    #[arg(long)]
    etcd: Option<String>,
}

/// Where the binaries are.
#[derive(Debug, Clone)]
pub struct Bins {
    /// The cache directory holding both.
    pub dir: PathBuf,
    /// kube-apiserver.
    pub kube_apiserver: PathBuf,
    /// etcd.
    pub etcd: PathBuf,
    /// Kubernetes version (`v1.36.3`).
    pub kubernetes_version: String,
    /// etcd version (`v3.6.8`).
    pub etcd_version: String,
}

/// Runs `cargo xtask k8s-bins`.
pub fn run(args: &K8sBinsArgs) -> Result<()> {
    if args.update_wrappers {
        let (Some(k8s), Some(etcd)) = (&args.kubernetes, &args.etcd) else {
            bail!("--update-wrappers needs --kubernetes and --etcd");
        };
        update_wrappers(k8s.trim_start_matches('v'), etcd.trim_start_matches('v'))?;
    }
    let bins = ensure_with(!args.print_dir, args.rebuild)?;
    if args.print_dir {
        println!("{}", bins.dir.display());
    } else {
        println!("kube-apiserver {}  {}", bins.kubernetes_version, bins.kube_apiserver.display());
        println!("etcd           {}   {}", bins.etcd_version, bins.etcd.display());
        println!("(the e2e harness finds them in the cache; or export {BINS_ENV}={})", bins.dir.display());
    }
    Ok(())
}

/// The binaries, building them first if the cache lacks them. `verbose` prints progress for a build.
pub fn ensure(verbose: bool) -> Result<Bins> {
    ensure_with(verbose, false)
}

fn wrapper_dir(name: &str) -> PathBuf {
    workspace_root().join("e2e").join("k8s-bins").join(name)
}

fn cache_root() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("aliyun-ccm").join("k8s-bins")
}

/// The version `module` is required at in a go.mod text.
fn required_version(go_mod: &str, module: &str) -> Option<String> {
    go_mod.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let first = words.next()?;
        let (name, version) = if first == "require" { (words.next()?, words.next()?) } else { (first, words.next()?) };
        (name == module && version.starts_with('v')).then(|| version.to_string())
    })
}

/// FNV-1a, 64 bit: a stable fingerprint of the wrapper modules for the cache key.
fn fnv1a(data: &[u8], mut hash: u64) -> u64 {
    for b in data {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// The Go version that builds in wrapper module `dir` (run there, so a `GOTOOLCHAIN` switch shows).
fn go_version(dir: &Path) -> Result<String> {
    if !on_path("go") {
        bail!(
            "the Go toolchain (`go`) is not on PATH; the e2e tests build kube-apiserver and etcd with it (Go >= 1.26)"
        );
    }
    let out = Command::new("go")
        .args(["env", "GOVERSION"])
        .current_dir(dir)
        .output()
        .context("running `go env GOVERSION`")?;
    if !out.status.success() {
        bail!("`go env GOVERSION` failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn ensure_with(verbose: bool, rebuild: bool) -> Result<Bins> {
    let kas_dir = wrapper_dir("kube-apiserver");
    let etcd_dir = wrapper_dir("etcd");
    let kas_mod = read(&kas_dir.join("go.mod"))?;
    let etcd_mod = read(&etcd_dir.join("go.mod"))?;
    let kubernetes_version = required_version(&kas_mod, "k8s.io/kubernetes")
        .context("e2e/k8s-bins/kube-apiserver/go.mod requires no k8s.io/kubernetes")?;
    let etcd_version = required_version(&etcd_mod, ETCD_PACKAGE)
        .context("e2e/k8s-bins/etcd/go.mod requires no go.etcd.io/etcd/server/v3")?;
    let go = go_version(&kas_dir)?;
    let mut hash = 0xcbf2_9ce4_8422_2325;
    for file in [kas_dir.join("go.mod"), kas_dir.join("go.sum"), etcd_dir.join("go.mod"), etcd_dir.join("go.sum")] {
        hash = fnv1a(read(&file)?.as_bytes(), hash);
    }
    hash = fnv1a(BUILD_FLAGS.as_bytes(), hash);
    hash = fnv1a(KAS_TAGS.as_bytes(), hash);
    let key = format!("k8s-{kubernetes_version}_etcd-{etcd_version}_{go}_{:08x}", hash & 0xffff_ffff);
    let dir = cache_root().join(key);
    let bins = Bins {
        kube_apiserver: dir.join("kube-apiserver"),
        etcd: dir.join("etcd"),
        dir: dir.clone(),
        kubernetes_version: kubernetes_version.clone(),
        etcd_version: etcd_version.clone(),
    };
    if !rebuild && bins.kube_apiserver.is_file() && bins.etcd.is_file() {
        return Ok(bins);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let say = |msg: &str| {
        if verbose {
            println!("{msg}");
        }
    };
    say(&format!(
        "building kube-apiserver {kubernetes_version} and etcd {etcd_version} with {go} into {}\n\
         (first time: ~1.2 GB of Go modules and 5-20 minutes on 2 cores; cached afterwards)",
        dir.display()
    ));

    let started = Instant::now();
    let etcd_ldflags = "-s -w".to_string();
    go_build("etcd", &etcd_dir, ETCD_PACKAGE, None, &etcd_ldflags, &bins.etcd, verbose)?;
    let etcd_time = started.elapsed();

    let minor = kubernetes_version.split('.').nth(1).unwrap_or("0").to_string();
    let mut kas_ldflags = "-s -w".to_string();
    for pkg in ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"] {
        kas_ldflags.push_str(&format!(
            " -X {pkg}.gitVersion={kubernetes_version} -X {pkg}.gitMajor=1 -X {pkg}.gitMinor={minor} \
             -X {pkg}.gitTreeState=clean -X {pkg}.buildDate=1970-01-01T00:00:00Z"
        ));
    }
    let kas_started = Instant::now();
    go_build("kube-apiserver", &kas_dir, KAS_PACKAGE, Some(KAS_TAGS), &kas_ldflags, &bins.kube_apiserver, verbose)?;
    let kas_time = kas_started.elapsed();

    let info = format!(
        "kubernetes {kubernetes_version}\netcd {etcd_version}\ngo {go}\nflags {BUILD_FLAGS} -tags {KAS_TAGS}\n\
         etcd build {}\nkube-apiserver build {}\n",
        fmt_duration(etcd_time),
        fmt_duration(kas_time)
    );
    std::fs::write(dir.join("versions.txt"), info).context("writing versions.txt")?;
    say(&format!(
        "built in {} (etcd {}, kube-apiserver {})",
        fmt_duration(started.elapsed()),
        fmt_duration(etcd_time),
        fmt_duration(kas_time)
    ));
    Ok(bins)
}

fn go_command(dir: &Path) -> Command {
    let mut c = Command::new("go");
    c.current_dir(dir).env("CGO_ENABLED", "0").env("GOFLAGS", "-mod=readonly");
    c
}

/// `go build` of `package` in wrapper module `dir` to `out`, with progress lines every 15 s.
fn go_build(
    label: &str,
    dir: &Path,
    package: &str,
    tags: Option<&str>,
    ldflags: &str,
    out: &Path,
    verbose: bool,
) -> Result<()> {
    let started = Instant::now();
    if verbose {
        println!("[{label}] resolving packages (downloads modules on first use) ...");
    }
    let mut list = go_command(dir);
    list.args(["list", "-deps"]);
    if let Some(tags) = tags {
        list.arg(format!("-tags={tags}"));
    }
    let listed = list.arg(package).output().with_context(|| format!("running go list in {}", dir.display()))?;
    if !listed.status.success() {
        bail!("[{label}] `go list -deps {package}` failed:\n{}", String::from_utf8_lossy(&listed.stderr));
    }
    let total = String::from_utf8_lossy(&listed.stdout).lines().count();
    if verbose {
        println!(
            "[{label}] {total} packages to build (cached ones are skipped), {} so far",
            fmt_duration(started.elapsed())
        );
    }

    let tmp = out.with_extension("partial");
    let mut build = go_command(dir);
    build.args(["build", "-v", "-trimpath"]);
    if let Some(tags) = tags {
        build.arg(format!("-tags={tags}"));
    }
    build.arg(format!("-ldflags={ldflags}")).arg("-o").arg(&tmp).arg(package);
    build.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = build.spawn().with_context(|| format!("running go build for {label}"))?;
    let stderr = child.stderr.take().context("go build stderr")?;

    // `go build -v` names each package as it compiles it: that is the progress. Other lines are diagnostics.
    let compiled = Arc::new(Mutex::new((0usize, Vec::<String>::new())));
    let reader = {
        let compiled = Arc::clone(&compiled);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut state = compiled.lock().unwrap_or_else(|p| p.into_inner());
                if !line.contains(' ') && !line.starts_with('#') {
                    state.0 += 1;
                } else {
                    state.1.push(line);
                }
            }
        })
    };
    let mut last_report = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for go build")? {
            break status;
        }
        if verbose && last_report.elapsed() >= Duration::from_secs(15) {
            let n = compiled.lock().unwrap_or_else(|p| p.into_inner()).0;
            println!("[{label}] compiled {n}/{total} packages, {}", fmt_duration(started.elapsed()));
            last_report = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = reader.join();
    let state = compiled.lock().unwrap_or_else(|p| p.into_inner());
    if !status.success() {
        let _ = std::fs::remove_file(&tmp);
        bail!("[{label}] go build failed ({status}):\n{}", state.1.join("\n"));
    }
    std::fs::rename(&tmp, out).with_context(|| format!("moving {} into place", out.display()))?;
    if verbose {
        println!("[{label}] done in {}: {}", fmt_duration(started.elapsed()), out.display());
    }
    Ok(())
}

/// Regenerates `e2e/k8s-bins/{kube-apiserver,etcd}/go.mod` and `go.sum` for the given releases.
///
/// The staging module list is derived from the release's own go.mod (read from the module cache, via the
/// proxy): every `k8s.io/*` module it requires at `v0.0.0` is replaced by its published `v0.<minor>.<patch>`
/// twin. The wrapper copies the release's `go` and `godebug` lines, so the binary gets upstream's defaults.
fn update_wrappers(k8s: &str, etcd: &str) -> Result<()> {
    let Some(staging_version) = k8s.strip_prefix("1.").map(|rest| format!("v0.{rest}")) else {
        bail!("Kubernetes version {k8s} is not 1.x.y");
    };
    let kas_dir = wrapper_dir("kube-apiserver");
    let etcd_dir = wrapper_dir("etcd");

    println!("reading k8s.io/kubernetes v{k8s}'s go.mod from the module proxy ...");
    let out = go_command(&workspace_root())
        .env("GOFLAGS", "-mod=mod")
        .args(["mod", "download", "-json", &format!("k8s.io/kubernetes@v{k8s}")])
        .output()
        .context("running go mod download")?;
    if !out.status.success() {
        bail!("go mod download k8s.io/kubernetes@v{k8s} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    let json = String::from_utf8_lossy(&out.stdout);
    let go_mod_path = json
        .lines()
        .find_map(|l| l.trim().strip_prefix("\"GoMod\": \"").and_then(|r| r.strip_suffix("\",")).map(str::to_string))
        .context("go mod download printed no GoMod path")?;
    let upstream = read(Path::new(&go_mod_path))?;
    let go_line = upstream.lines().find(|l| l.starts_with("go ")).context("the release's go.mod has no go line")?;
    let godebug: Vec<&str> = upstream.lines().filter(|l| l.starts_with("godebug ")).collect();
    let staging: Vec<&str> = upstream
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (m, v) = (w.next()?, w.next()?);
            (m.starts_with("k8s.io/") && v == "v0.0.0").then_some(m)
        })
        .collect();
    if staging.is_empty() {
        bail!("found no staging modules (k8s.io/* v0.0.0) in {go_mod_path}");
    }
    println!("{} staging modules -> {staging_version}", staging.len());

    let mut text = format!(
        "// Wrapper module: builds kube-apiserver v{k8s} for the e2e tests (`cargo xtask k8s-bins`).\n\
         // Generated by `cargo xtask k8s-bins --update-wrappers --kubernetes {k8s} --etcd {etcd}`.\n\
         module aliyun-ccm.invalid/e2e/k8s-bins/kube-apiserver\n\n{go_line}\n\n"
    );
    for g in &godebug {
        text.push_str(g);
        text.push('\n');
    }
    text.push_str(
        "\n// k8s.io/kubernetes requires its staging modules at v0.0.0; use the published twins.\nreplace (\n",
    );
    for m in &staging {
        text.push_str(&format!("\t{m} => {m} {staging_version}\n"));
    }
    text.push_str(")\n");
    write_wrapper(&kas_dir, &text, &format!("{KAS_PACKAGE}@v{k8s}"))?;

    let text = format!(
        "// Wrapper module: builds etcd v{etcd} for the e2e tests (`cargo xtask k8s-bins`).\n\
         // Generated by `cargo xtask k8s-bins --update-wrappers --kubernetes {k8s} --etcd {etcd}`.\n\
         module aliyun-ccm.invalid/e2e/k8s-bins/etcd\n\n{go_line}\n"
    );
    write_wrapper(&etcd_dir, &text, &format!("{ETCD_PACKAGE}@v{etcd}"))?;
    println!("wrappers updated in {}; commit their go.mod and go.sum", wrapper_dir("").display());
    Ok(())
}

fn write_wrapper(dir: &Path, go_mod: &str, tool: &str) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join("go.mod"), go_mod).context("writing go.mod")?;
    let _ = std::fs::remove_file(dir.join("go.sum"));
    for args in [vec!["get", "-tool", tool], vec!["mod", "tidy"]] {
        println!("  go {} (in {})", args.join(" "), dir.display());
        let status = go_command(dir).env("GOFLAGS", "-mod=mod").args(&args).status().context("running go")?;
        if !status.success() {
            bail!("go {} failed in {}", args.join(" "), dir.display());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_required_versions_in_both_go_mod_styles() {
        let m = "module x\n\nrequire k8s.io/kubernetes v1.36.3\nrequire (\n\tgo.etcd.io/etcd/server/v3 v3.6.8 // indirect\n)\n";
        assert_eq!(required_version(m, "k8s.io/kubernetes").as_deref(), Some("v1.36.3"));
        assert_eq!(required_version(m, "go.etcd.io/etcd/server/v3").as_deref(), Some("v3.6.8"));
        assert_eq!(required_version(m, "k8s.io/api"), None);
    }

    #[test]
    fn committed_wrappers_name_their_versions() {
        let kas = read(&wrapper_dir("kube-apiserver").join("go.mod")).expect("wrapper go.mod");
        assert!(required_version(&kas, "k8s.io/kubernetes").is_some());
        assert!(kas.contains("k8s.io/api => k8s.io/api v0."), "staging replaces missing");
    }
}
