//! [`Stack`]: etcd, kube-apiserver and aliyun-fake on loopback ports, with identities, kubeconfigs, the
//! project's RBAC, and everything needed to run the project's binaries against them.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use kube::discovery::Scope;
use serde::{Deserialize, Serialize};

use crate::bins::{K8sBins, workspace_binary};
use crate::certs::{self, CertFiles};
use crate::error::{Context as _, Error, Result};
use crate::process::{Lifetime, ManagedProcess, ProcessSpec, log_tail};
use crate::wait::{error_chain, wait_for};

/// How long to wait for each component to become ready (generous: CI machines have 2 cores and several
/// stacks may start at once).
pub const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// The user name the CCM runs as: the ServiceAccount `kube-system/cloud-controller-manager`. RBAC matches
/// ServiceAccount subjects by this user name, so a static token with it is authorized exactly like the real
/// ServiceAccount.
pub const CCM_USER: &str = "system:serviceaccount:kube-system:cloud-controller-manager";

/// The field manager the harness uses for server-side apply.
pub const FIELD_MANAGER: &str = "e2e-harness";

/// Who a client or a binary acts as. Each identity has a static bearer token and a kubeconfig.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    /// `e2e-admin`, in group `system:masters`.
    Admin,
    /// [`CCM_USER`], in the ServiceAccount groups; authorized only by the RBAC in `manifests/`.
    Ccm,
    /// `e2e-nobody`: authenticated, with no RBAC at all.
    Nobody,
    /// An extra user added with [`StackOptions::user`] (no groups).
    User(String),
}

impl Identity {
    /// The Kubernetes user name.
    pub fn user_name(&self) -> &str {
        match self {
            Identity::Admin => "e2e-admin",
            Identity::Ccm => CCM_USER,
            Identity::Nobody => "e2e-nobody",
            Identity::User(u) => u,
        }
    }

    /// The groups the token carries (besides `system:authenticated`, which the apiserver adds).
    fn groups(&self) -> &'static [&'static str] {
        match self {
            Identity::Admin => &["system:masters"],
            Identity::Ccm => &["system:serviceaccounts", "system:serviceaccounts:kube-system"],
            Identity::Nobody | Identity::User(_) => &[],
        }
    }

    /// A file-name-safe label (`admin`, `ccm`, `nobody`, or the sanitized user name).
    pub fn label(&self) -> String {
        match self {
            Identity::Admin => "admin".into(),
            Identity::Ccm => "ccm".into(),
            Identity::Nobody => "nobody".into(),
            Identity::User(u) => {
                u.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
            }
        }
    }
}

/// What [`Stack::start`] brings up.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// A short label (used in the temp directory name and in messages).
    pub name: String,
    /// Start etcd and kube-apiserver.
    pub kubernetes: bool,
    /// Start `aliyun-fake`.
    pub fake: bool,
    /// A seed file for `aliyun-fake` (`--seed`); its built-in default seed otherwise.
    pub fake_seed: Option<PathBuf>,
    /// Extra `aliyun-fake` arguments.
    pub fake_args: Vec<String>,
    /// Extra users with static tokens and kubeconfigs (see [`Identity::User`]).
    pub users: Vec<String>,
    /// Manifests applied (as admin, server-side apply) once the apiserver is ready. `None`: every YAML file in
    /// `manifests/rbac/` of the workspace, if that directory exists.
    pub manifests: Option<Vec<PathBuf>>,
    /// Work in this directory (kept afterwards) instead of a fresh temporary one.
    pub dir: Option<PathBuf>,
    /// Supervised (stopped with the stack) or detached (left running, for `cargo xtask stack up`).
    pub lifetime: Lifetime,
    /// Remove the directory when the processes exit, even if the stack is never dropped (shared stacks).
    pub remove_dir_at_exit: bool,
}

impl StackOptions {
    /// Everything on, with defaults.
    pub fn new(name: impl Into<String>) -> Self {
        StackOptions {
            name: name.into(),
            kubernetes: true,
            fake: true,
            fake_seed: None,
            fake_args: Vec::new(),
            users: Vec::new(),
            manifests: None,
            dir: None,
            lifetime: Lifetime::Supervised,
            remove_dir_at_exit: false,
        }
    }

    /// Without aliyun-fake.
    pub fn without_fake(mut self) -> Self {
        self.fake = false;
        self
    }

    /// Without etcd and kube-apiserver (only aliyun-fake).
    pub fn without_kubernetes(mut self) -> Self {
        self.kubernetes = false;
        self
    }

    /// Seeds aliyun-fake from `path`.
    pub fn fake_seed(mut self, path: impl Into<PathBuf>) -> Self {
        self.fake_seed = Some(path.into());
        self
    }

    /// Adds an aliyun-fake argument.
    pub fn fake_arg(mut self, arg: impl Into<String>) -> Self {
        self.fake_args.push(arg.into());
        self
    }

    /// Adds a user with a static token (and no RBAC unless a test grants it).
    pub fn user(mut self, name: impl Into<String>) -> Self {
        self.users.push(name.into());
        self
    }

    /// Applies exactly these manifests instead of `manifests/rbac/*.yaml`.
    pub fn manifests(mut self, paths: Vec<PathBuf>) -> Self {
        self.manifests = Some(paths);
        self
    }

    /// Uses (and keeps) `dir` instead of a temporary directory.
    pub fn in_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Leaves the processes running when the [`Stack`] is dropped (see [`Stack::detach`]).
    pub fn detached(mut self) -> Self {
        self.lifetime = Lifetime::Detached;
        self
    }
}

/// Connection details of a running stack, also written to `stack.json` in its directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StackInfo {
    /// The stack's directory (logs, certificates, kubeconfigs, data).
    pub dir: PathBuf,
    /// The kube-apiserver URL, if Kubernetes runs.
    pub apiserver_url: Option<String>,
    /// The etcd client URL, if Kubernetes runs.
    pub etcd_url: Option<String>,
    /// Kubeconfig files by identity label (`admin`, `ccm`, `nobody`, extra users).
    pub kubeconfigs: Vec<(String, PathBuf)>,
    /// The aliyun-fake endpoint (`http://127.0.0.1:PORT`), if it runs.
    pub fake_endpoint: Option<String>,
    /// The access key the harness registered with aliyun-fake.
    pub fake_access_key_id: Option<String>,
    /// Its secret.
    pub fake_access_key_secret: Option<String>,
    /// Pid files of the processes, in start order.
    pub pid_files: Vec<(String, PathBuf)>,
}

/// The access key id registered with every aliyun-fake the harness starts.
pub const FAKE_ACCESS_KEY_ID: &str = "LTAIe2eHarnessKey";
/// Its secret.
pub const FAKE_ACCESS_KEY_SECRET: &str = "e2e-harness-secret-0123456789";

#[derive(Debug)]
struct KubeParts {
    url: String,
    etcd_url: String,
    tokens: Vec<(Identity, String)>,
    certs: CertFiles,
}

/// A running control plane (etcd + kube-apiserver) and/or aliyun-fake, owned by one test (or shared by the
/// tests of one binary through a `static`).
///
/// Everything lives in one directory. Dropping the stack stops every process it started (kube-apiserver first)
/// and removes the directory, except after a panic: then it prints a dump (objects, logs, the fake's state) and
/// keeps the directory for inspection.
#[derive(Debug)]
pub struct Stack {
    name: String,
    dir: PathBuf,
    temp: Option<tempfile::TempDir>,
    kube: Option<KubeParts>,
    fake_endpoint: Option<String>,
    processes: Mutex<Vec<ManagedProcess>>,
    /// Logs of every process started through this stack (including binaries the tests own).
    logs: Mutex<Vec<(String, PathBuf)>>,
    workspace: PathBuf,
    /// A dump was printed already (by a timed-out [`Stack::wait_for`]); a panic need not print it again.
    dumped: AtomicBool,
}

/// Ports handed out in this process, never handed out twice.
static PORTS: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// A currently free loopback port.
pub fn free_port() -> Result<u16> {
    for _ in 0..50 {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding a free loopback port")?;
        let port = listener.local_addr().context("reading a bound port")?.port();
        let mut used = PORTS.lock().unwrap_or_else(|p| p.into_inner());
        if used.get_or_insert_with(HashSet::new).insert(port) {
            return Ok(port);
        }
    }
    Err(Error::Other("no free loopback port found".into()))
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or_else(|| manifest.to_path_buf())
}

/// A bearer token that differs per identity and per stack. Not secret-grade: the apiserver listens on loopback
/// only and lives for one test. (`RandomState` is seeded randomly per process and differs per instance.)
fn random_token() -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    (0..2u8)
        .map(|i| {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u128(nanos);
            h.write_u8(i);
            format!("{:016x}", h.finish())
        })
        .collect()
}

/// The stack shared by the tests of one test binary (see [`Stack::shared`]).
static SHARED: tokio::sync::OnceCell<Stack> = tokio::sync::OnceCell::const_new();

/// Prints a dump of its stack if dropped while panicking (see [`Stack::guard`]).
#[derive(Debug)]
pub struct PanicDump<'a>(&'a Stack);

impl Drop for PanicDump<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.print_dump_blocking();
        }
    }
}

impl Stack {
    /// One etcd + kube-apiserver (no aliyun-fake) shared by every test of the calling test binary, started on
    /// first use. Tests sharing it must use unique object names (e.g. [`Stack::create_namespace`]) and take a
    /// [`Stack::guard`] for failure dumps. It is never dropped: its processes stop and its directory is removed
    /// when the test binary exits.
    pub async fn shared() -> Result<&'static Stack> {
        SHARED
            .get_or_try_init(|| async {
                let mut opts = StackOptions::new("shared").without_fake().user("e2e-viewer");
                opts.remove_dir_at_exit = true;
                Stack::start(opts).await
            })
            .await
    }

    /// A guard that prints [`Stack::dump`] if the test panics while holding it (for stacks the test does not
    /// own, such as [`Stack::shared`]; an owned stack dumps itself when dropped during a panic).
    pub fn guard(&self) -> PanicDump<'_> {
        PanicDump(self)
    }

    /// Prints [`Stack::dump`] to stderr from synchronous code (a `Drop`), on a private runtime.
    fn print_dump_blocking(&self) {
        if self.dumped.load(Ordering::Relaxed) {
            eprintln!("(stack {}: see the dump printed at the timeout above)", self.name);
            return;
        }
        let dump = std::thread::scope(|s| {
            s.spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map(|rt| rt.block_on(async { tokio::time::timeout(Duration::from_secs(30), self.dump()).await }))
            })
            .join()
        });
        match dump {
            Ok(Ok(Ok(text))) => eprintln!("{text}"),
            _ => eprintln!("(dump of stack {} failed)", self.name),
        }
    }

    /// Starts what `opts` asks for and waits until it is ready.
    pub async fn start(opts: StackOptions) -> Result<Stack> {
        let (dir, temp) = match &opts.dir {
            Some(d) => {
                std::fs::create_dir_all(d).context(format!("creating {}", d.display()))?;
                (d.clone(), None)
            }
            None => {
                let t = tempfile::Builder::new()
                    .prefix(&format!("aliyun-ccm-e2e-{}-", opts.name))
                    .tempdir()
                    .context("creating the stack's temporary directory")?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        // A never-dropped stack's directory is removed by etcd's supervisor instead.
        let temp = match temp {
            Some(t) if opts.remove_dir_at_exit => {
                let _ = t.keep();
                None
            }
            other => other,
        };
        let mut stack = Stack {
            name: opts.name.clone(),
            dir,
            temp,
            kube: None,
            fake_endpoint: None,
            processes: Mutex::new(Vec::new()),
            logs: Mutex::new(Vec::new()),
            workspace: workspace_root(),
            dumped: AtomicBool::new(false),
        };
        if opts.kubernetes {
            stack.start_kubernetes(&opts).await?;
        }
        if opts.fake {
            stack.start_fake(&opts).await?;
        }
        if opts.kubernetes {
            let manifests = match &opts.manifests {
                Some(m) => m.clone(),
                None => default_manifests(&stack.workspace.join("manifests").join("rbac"))?,
            };
            for m in &manifests {
                stack.apply_manifest(m).await?;
            }
        }
        stack.write_info()?;
        Ok(stack)
    }

    fn push_process(&self, p: ManagedProcess) {
        self.logs.lock().unwrap_or_else(|e| e.into_inner()).push((p.name().to_string(), p.log_path().to_path_buf()));
        self.processes.lock().unwrap_or_else(|e| e.into_inner()).push(p);
    }

    /// Runs `f` on the stack's own process called `name`.
    fn with_process<T>(&self, name: &str, f: impl FnOnce(&mut ManagedProcess) -> T) -> Option<T> {
        let mut procs = self.processes.lock().unwrap_or_else(|e| e.into_inner());
        procs.iter_mut().find(|p| p.name() == name).map(f)
    }

    fn check_process(&self, name: &str) -> Result<()> {
        self.with_process(name, ManagedProcess::check_running).unwrap_or(Ok(()))
    }

    async fn start_kubernetes(&mut self, opts: &StackOptions) -> Result<()> {
        let bins = K8sBins::locate()?;
        let certs = certs::generate(&self.dir)?;

        // Identities and their static tokens.
        let mut identities = vec![Identity::Admin, Identity::Ccm, Identity::Nobody];
        identities.extend(opts.users.iter().cloned().map(Identity::User));
        let tokens: Vec<(Identity, String)> = identities.into_iter().map(|i| (i, random_token())).collect();
        let mut csv = String::new();
        for (identity, token) in &tokens {
            let groups = identity.groups().join(",");
            let _ = writeln!(csv, "{token},{},{}-uid,\"{groups}\"", identity.user_name(), identity.label());
        }
        let token_file = self.dir.join("tokens.csv");
        std::fs::write(&token_file, csv).context("writing tokens.csv")?;

        // etcd, retried on a port clash.
        let mut attempt = 0;
        let etcd_url = loop {
            attempt += 1;
            let client_port = free_port()?;
            let peer_port = free_port()?;
            let url = format!("http://127.0.0.1:{client_port}");
            let peer = format!("http://127.0.0.1:{peer_port}");
            let data = self.dir.join("etcd-data");
            let _ = std::fs::remove_dir_all(&data);
            let spec = ProcessSpec::new("etcd", &bins.etcd).args([
                "--name=e2e".to_string(),
                format!("--data-dir={}", data.display()),
                format!("--listen-client-urls={url}"),
                format!("--advertise-client-urls={url}"),
                format!("--listen-peer-urls={peer}"),
                format!("--initial-advertise-peer-urls={peer}"),
                format!("--initial-cluster=e2e={peer}"),
                "--unsafe-no-fsync=true".to_string(),
                "--log-level=warn".to_string(),
            ]);
            // etcd stops last, so its supervisor removes the directory of a never-dropped stack.
            let mut spec = spec;
            spec.cleanup_dir = opts.remove_dir_at_exit.then(|| self.dir.clone());
            self.push_process(ManagedProcess::spawn(&spec, &self.dir, opts.lifetime)?);
            match self.wait_http_ok("etcd", &format!("{url}/health"), None).await {
                Ok(()) => break url,
                Err(e) if attempt < 3 && matches!(e, Error::ProcessExited { .. }) => {
                    self.remove_process("etcd");
                }
                Err(e) => return Err(e),
            }
        };

        // kube-apiserver, retried on a port clash.
        let mut attempt = 0;
        let url = loop {
            attempt += 1;
            let port = free_port()?;
            let url = format!("https://127.0.0.1:{port}");
            let spec = ProcessSpec::new("kube-apiserver", &bins.kube_apiserver).args([
                format!("--etcd-servers={etcd_url}"),
                "--bind-address=127.0.0.1".to_string(),
                format!("--secure-port={port}"),
                // Nothing connects to the advertised address; with no endpoint reconciler it is never written
                // into the `kubernetes` Endpoints, so hosts without a default route work too.
                "--advertise-address=192.0.2.10".to_string(),
                "--endpoint-reconciler-type=none".to_string(),
                format!("--tls-cert-file={}", certs.serving_cert.display()),
                format!("--tls-private-key-file={}", certs.serving_key.display()),
                format!("--cert-dir={}", self.dir.join("apiserver-certs").display()),
                format!("--client-ca-file={}", certs.ca_cert.display()),
                format!("--service-account-issuer={url}"),
                format!("--service-account-key-file={}", certs.sa_pub.display()),
                format!("--service-account-signing-key-file={}", certs.sa_key.display()),
                "--service-cluster-ip-range=10.0.0.0/16".to_string(),
                "--authorization-mode=RBAC".to_string(),
                format!("--token-auth-file={}", token_file.display()),
                "--disable-admission-plugins=ServiceAccount".to_string(),
                "--enable-priority-and-fairness=false".to_string(),
                "--allow-privileged=true".to_string(),
                "--profiling=false".to_string(),
                "--v=1".to_string(),
            ]);
            self.push_process(ManagedProcess::spawn(&spec, &self.dir, opts.lifetime)?);
            let admin_token = tokens.iter().find(|(i, _)| *i == Identity::Admin).map(|(_, t)| t.clone());
            match self
                .wait_http_ok("kube-apiserver", &format!("{url}/readyz"), Some((&certs.ca_pem, admin_token)))
                .await
            {
                Ok(()) => break url,
                Err(e) if attempt < 3 && matches!(e, Error::ProcessExited { .. }) => {
                    let log = self.with_process("kube-apiserver", |p| p.log_tail(20)).unwrap_or_default();
                    self.remove_process("kube-apiserver");
                    if !log.contains("address already in use") {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        };

        self.kube = Some(KubeParts { url, etcd_url, tokens, certs });
        for (identity, _) in self.kube.as_ref().map(|k| k.tokens.clone()).unwrap_or_default() {
            self.write_kubeconfig(&identity)?;
        }
        // The bootstrap controller creates kube-system shortly after /readyz; manifests go there.
        let admin = self.client(&Identity::Admin).await?;
        let namespaces: Api<Namespace> = Api::all(admin);
        wait_for("namespace kube-system", READY_TIMEOUT, || {
            let namespaces = namespaces.clone();
            async move { Ok(namespaces.get_opt("kube-system").await.context("reading namespace kube-system")?.map(|_| ())) }
        })
        .await?;
        Ok(())
    }

    fn remove_process(&self, name: &str) {
        let mut procs = self.processes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = procs.iter().position(|p| p.name() == name) {
            let mut p = procs.remove(i);
            p.stop(Duration::from_secs(5));
        }
    }

    /// Polls `url` until it answers 2xx, failing early if process `name` exits.
    async fn wait_http_ok(&self, name: &str, url: &str, tls: Option<(&str, Option<String>)>) -> Result<()> {
        let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(5)).no_proxy();
        let mut token = None;
        if let Some((ca, t)) = tls {
            let cert = reqwest::Certificate::from_pem(ca.as_bytes()).context("loading the test CA")?;
            builder = builder.add_root_certificate(cert);
            token = t;
        }
        let http = builder.build().context("building an HTTP client")?;
        let started = Instant::now();
        loop {
            self.check_process(name)?;
            let mut req = http.get(url);
            if let Some(t) = &token {
                req = req.bearer_auth(t);
            }
            let last = match req.send().await {
                Ok(resp) if resp.status().is_success() => return Ok(()),
                Ok(resp) => {
                    let status = resp.status();
                    let body = resp.text().await.unwrap_or_default();
                    format!(
                        "HTTP {status}: {}",
                        body.lines().filter(|l| l.contains("[-]")).collect::<Vec<_>>().join("; ")
                    )
                }
                Err(e) => error_chain(&e),
            };
            if started.elapsed() > READY_TIMEOUT {
                let tail = self.with_process(name, |p| p.log_tail(30)).unwrap_or_default();
                return Err(Error::Timeout {
                    desc: format!("{name} to answer {url}"),
                    waited: started.elapsed(),
                    last: Some(format!("{last}\n--- {name} log ---\n{tail}")),
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn start_fake(&mut self, opts: &StackOptions) -> Result<()> {
        let bin = workspace_binary("aliyun-fake", "aliyun-fake")?;
        // Port 0 and --addr-file: the fake picks its port, so parallel stacks never race for one.
        let addr_file = self.dir.join("aliyun-fake.addr");
        let _ = std::fs::remove_file(&addr_file);
        let mut args = vec![
            "--listen".to_string(),
            "127.0.0.1:0".to_string(),
            "--addr-file".to_string(),
            addr_file.display().to_string(),
            "--access-key".to_string(),
            format!("{FAKE_ACCESS_KEY_ID}:{FAKE_ACCESS_KEY_SECRET}"),
        ];
        if let Some(seed) = &opts.fake_seed {
            args.push("--seed".into());
            args.push(seed.display().to_string());
        }
        args.extend(opts.fake_args.iter().cloned());
        let spec = ProcessSpec::new("aliyun-fake", &bin).args(args);
        self.push_process(ManagedProcess::spawn(&spec, &self.dir, opts.lifetime)?);
        let this = &*self;
        let host = wait_for("aliyun-fake to write its address", READY_TIMEOUT, || {
            let addr_file = addr_file.clone();
            async move {
                this.check_process("aliyun-fake")?;
                Ok(std::fs::read_to_string(&addr_file).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()))
            }
        })
        .await?;
        let endpoint = if host.contains("://") { host } else { format!("http://{host}") };
        self.wait_http_ok("aliyun-fake", &format!("{endpoint}/_fake/state"), None).await?;
        self.fake_endpoint = Some(endpoint);
        Ok(())
    }

    fn kube_parts(&self) -> Result<&KubeParts> {
        self.kube.as_ref().ok_or_else(|| Error::Other(format!("stack {} was started without Kubernetes", self.name)))
    }

    /// The stack's directory (logs, certificates, kubeconfigs, data).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The kube-apiserver URL.
    pub fn apiserver_url(&self) -> Result<&str> {
        Ok(&self.kube_parts()?.url)
    }

    /// The etcd client URL.
    pub fn etcd_url(&self) -> Result<&str> {
        Ok(&self.kube_parts()?.etcd_url)
    }

    /// The CA certificate (PEM) that signed the apiserver's serving certificate.
    pub fn ca_pem(&self) -> Result<&str> {
        Ok(&self.kube_parts()?.certs.ca_pem)
    }

    /// The bearer token of `identity`.
    pub fn token(&self, identity: &Identity) -> Result<&str> {
        self.kube_parts()?
            .tokens
            .iter()
            .find(|(i, _)| i == identity)
            .map(|(_, t)| t.as_str())
            .ok_or_else(|| Error::Other(format!("no token for {identity:?}; add it with StackOptions::user")))
    }

    /// The kubeconfig file of `identity`.
    pub fn kubeconfig(&self, identity: &Identity) -> Result<PathBuf> {
        self.token(identity)?;
        Ok(self.dir.join(format!("{}.kubeconfig", identity.label())))
    }

    fn write_kubeconfig(&self, identity: &Identity) -> Result<()> {
        let kube = self.kube_parts()?;
        let token = self.token(identity)?;
        let user = identity.label();
        let doc = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "e2e", "cluster": {
                "server": kube.url,
                "certificate-authority": kube.certs.ca_cert,
            }}],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": user, "context": {"cluster": "e2e", "user": user, "namespace": "default"}}],
            "current-context": user,
        });
        let yaml = serde_yaml_ng::to_string(&doc).context("rendering a kubeconfig")?;
        let path = self.dir.join(format!("{user}.kubeconfig"));
        std::fs::write(&path, yaml).context(format!("writing {}", path.display()))
    }

    /// A new client acting as `identity`. Clients are cheap; make one per test (a client is bound to the tokio
    /// runtime it is first used on).
    pub async fn client(&self, identity: &Identity) -> Result<kube::Client> {
        let path = self.kubeconfig(identity)?;
        let kubeconfig = Kubeconfig::read_from(&path).context(format!("reading {}", path.display()))?;
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .context("building a client configuration")?;
        kube::Client::try_from(config).context("building a client")
    }

    /// An admin client.
    pub async fn admin(&self) -> Result<kube::Client> {
        self.client(&Identity::Admin).await
    }

    /// The aliyun-fake endpoint, `http://127.0.0.1:PORT`.
    pub fn fake_endpoint(&self) -> Result<&str> {
        self.fake_endpoint
            .as_deref()
            .ok_or_else(|| Error::Other(format!("stack {} was started without aliyun-fake", self.name)))
    }

    /// `GET /_fake/state` of aliyun-fake, as JSON.
    pub async fn fake_state(&self) -> Result<serde_json::Value> {
        self.fake_admin_get("state").await
    }

    /// `GET /_fake/<path>` of aliyun-fake (`state`, `calls`, ...), as JSON.
    pub async fn fake_admin_get(&self, path: &str) -> Result<serde_json::Value> {
        let url = format!("{}/_fake/{path}", self.fake_endpoint()?);
        let resp = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .context("building an HTTP client")?
            .get(&url)
            .send()
            .await
            .context(format!("GET {url}"))?
            .error_for_status()
            .context(format!("GET {url}"))?;
        let body = resp.bytes().await.context(format!("reading {url}"))?;
        serde_json::from_slice(&body).context(format!("decoding {url}"))
    }

    /// Environment variables that point an Alibaba Cloud client (the CCM, `aliyun-call`) at aliyun-fake: the Go
    /// CCM's endpoint overrides and the harness's access key.
    pub fn fake_env(&self) -> Result<Vec<(String, String)>> {
        let endpoint = self.fake_endpoint()?.to_string();
        let hostport = endpoint.trim_start_matches("http://").to_string();
        Ok(vec![
            ("ECS_ENDPOINT".into(), hostport.clone()),
            ("VPC_ENDPOINT".into(), hostport.clone()),
            ("SLB_ENDPOINT".into(), hostport.clone()),
            ("STS_ENDPOINT".into(), hostport),
            ("METADATA_ENDPOINT".into(), endpoint),
            ("ALICLOUD_CLIENT_SCHEME".into(), "http".into()),
            ("ALIBABA_CLOUD_ACCESS_KEY_ID".into(), FAKE_ACCESS_KEY_ID.into()),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET".into(), FAKE_ACCESS_KEY_SECRET.into()),
        ])
    }

    /// Starts workspace binary `bin` of `package` (built by cargo if needed) with `args`, its log in the stack's
    /// directory, `KUBECONFIG` set for `identity` if given, and [`Stack::fake_env`] if aliyun-fake runs.
    ///
    /// The caller owns the returned process: dropping it stops the binary (so a test can kill a leader). Its log
    /// is part of [`Stack::dump`] either way.
    pub fn run_binary<I, S>(
        &self,
        package: &str,
        bin: &str,
        args: I,
        identity: Option<&Identity>,
    ) -> Result<ManagedProcess>
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let program = workspace_binary(package, bin)?;
        let n = self
            .logs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(name, _)| name.starts_with(bin))
            .count();
        let mut spec = ProcessSpec::new(format!("{bin}-{}", n + 1), program).args(args);
        if let Some(identity) = identity {
            spec = spec.env("KUBECONFIG", self.kubeconfig(identity)?);
        }
        if self.fake_endpoint.is_some() {
            for (k, v) in self.fake_env()? {
                spec = spec.env(k, v);
            }
        }
        if std::env::var_os("RUST_LOG").is_none() {
            spec = spec.env("RUST_LOG", "info");
        }
        let p = ManagedProcess::spawn(&spec, &self.dir, Lifetime::Supervised)?;
        self.logs.lock().unwrap_or_else(|e| e.into_inner()).push((p.name().to_string(), p.log_path().to_path_buf()));
        Ok(p)
    }

    /// Applies every document of a (multi-document) YAML file as admin with server-side apply. Namespaced
    /// objects without a namespace go to `default`. Returns the applied objects.
    pub async fn apply_manifest(&self, path: &Path) -> Result<Vec<DynamicObject>> {
        let text = std::fs::read_to_string(path).context(format!("reading {}", path.display()))?;
        self.apply_yaml(&text).await.map_err(|e| match e {
            Error::Format { context, message } => {
                Error::Format { context: format!("{}: {context}", path.display()), message }
            }
            e => e,
        })
    }

    /// Applies every document of a YAML string (see [`Stack::apply_manifest`]).
    pub async fn apply_yaml(&self, yaml: &str) -> Result<Vec<DynamicObject>> {
        let client = self.admin().await?;
        let mut applied = Vec::new();
        for doc in serde_yaml_ng::Deserializer::from_str(yaml) {
            let value = serde_json::Value::deserialize(doc).context("parsing a YAML document")?;
            if value.is_null() {
                continue;
            }
            if value.get("kind").and_then(|k| k.as_str()) == Some("List") {
                for item in value.get("items").and_then(|i| i.as_array()).cloned().unwrap_or_default() {
                    applied.push(apply_one(&client, item).await?);
                }
            } else {
                applied.push(apply_one(&client, value).await?);
            }
        }
        Ok(applied)
    }

    /// A readable dump of the state: the stack's Kubernetes objects (Nodes, Services, EndpointSlices, Leases,
    /// Events), the end of every process log, and aliyun-fake's `/_fake/state`.
    pub async fn dump(&self) -> String {
        let mut out = format!("===== dump of stack {} ({}) =====\n", self.name, self.dir.display());
        if self.kube.is_some() {
            match self.admin().await {
                Ok(client) => out.push_str(&crate::dump::kube_objects(&client).await),
                Err(e) => {
                    let _ = writeln!(out, "(no client: {})", error_chain(&e));
                }
            }
        }
        let logs = self.logs.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for (name, log) in logs {
            let _ =
                writeln!(out, "----- log of {name} ({}), last 60 lines -----\n{}", log.display(), log_tail(&log, 60));
        }
        if self.fake_endpoint.is_some() {
            match self.fake_state().await {
                Ok(state) => {
                    let text = serde_json::to_string_pretty(&state).unwrap_or_default();
                    let cut: String = text.chars().take(30_000).collect();
                    let _ = writeln!(out, "----- aliyun-fake /_fake/state -----\n{cut}");
                }
                Err(e) => {
                    let _ = writeln!(out, "----- aliyun-fake /_fake/state: {} -----", error_chain(&e));
                }
            }
        }
        out
    }

    /// Like [`crate::wait::wait_for`]; on timeout it also prints [`Stack::dump`] to stderr.
    pub async fn wait_for<T, F, Fut>(&self, desc: &str, timeout: Duration, probe: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>>>,
    {
        let result = wait_for(desc, timeout, probe).await;
        if let Err(e) = &result {
            eprintln!("{e}\n{}", self.dump().await);
            self.dumped.store(true, Ordering::Relaxed);
        }
        result
    }

    fn info(&self) -> StackInfo {
        let kube = self.kube.as_ref();
        let pid_files = self
            .processes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|p| (p.name().to_string(), self.dir.join(format!("{}.pid", p.name()))))
            .collect();
        StackInfo {
            dir: self.dir.clone(),
            apiserver_url: kube.map(|k| k.url.clone()),
            etcd_url: kube.map(|k| k.etcd_url.clone()),
            kubeconfigs: kube
                .map(|k| {
                    k.tokens
                        .iter()
                        .map(|(i, _)| (i.label(), self.dir.join(format!("{}.kubeconfig", i.label()))))
                        .collect()
                })
                .unwrap_or_default(),
            fake_endpoint: self.fake_endpoint.clone(),
            fake_access_key_id: self.fake_endpoint.as_ref().map(|_| FAKE_ACCESS_KEY_ID.to_string()),
            fake_access_key_secret: self.fake_endpoint.as_ref().map(|_| FAKE_ACCESS_KEY_SECRET.to_string()),
            pid_files,
        }
    }

    fn write_info(&self) -> Result<()> {
        let json = serde_json::to_string_pretty(&self.info()).context("rendering stack.json")?;
        std::fs::write(self.dir.join("stack.json"), json).context("writing stack.json")
    }

    /// Leaves every process running and the directory in place; returns how to reach them.
    pub fn detach(mut self) -> StackInfo {
        let info = self.info();
        for p in std::mem::take(&mut *self.processes.lock().unwrap_or_else(|e| e.into_inner())) {
            p.detach();
        }
        if let Some(t) = self.temp.take() {
            let _ = t.keep();
        }
        info
    }

    /// Stops every process (kube-apiserver first, then aliyun-fake, then etcd). Idempotent.
    pub fn stop(&self) {
        let mut procs = std::mem::take(&mut *self.processes.lock().unwrap_or_else(|e| e.into_inner()));
        for name in ["kube-apiserver", "aliyun-fake"] {
            if let Some(i) = procs.iter().position(|p| p.name() == name) {
                let mut p = procs.remove(i);
                p.stop(Duration::from_secs(10));
            }
        }
        while let Some(mut p) = procs.pop() {
            p.stop(Duration::from_secs(10));
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // The test failed: show what the system looked like, and keep the directory.
            self.print_dump_blocking();
            if let Some(t) = self.temp.take() {
                eprintln!("stack {} kept for inspection at {}", self.name, t.keep().display());
            }
        }
        self.stop();
    }
}

/// Every `*.yaml`/`*.yml` file in `dir` except `kustomization.yaml`, sorted; none if `dir` does not exist.
fn default_manifests(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .context(format!("listing {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .filter(|p| p.file_stem().is_none_or(|s| s != "kustomization"))
        .collect();
    files.sort();
    Ok(files)
}

async fn apply_one(client: &kube::Client, value: serde_json::Value) -> Result<DynamicObject> {
    let obj: DynamicObject = serde_json::from_value(value).context("reading a manifest object")?;
    let types = obj.types.clone().ok_or_else(|| Error::Format {
        context: "applying a manifest".into(),
        message: "a document has no apiVersion/kind".into(),
    })?;
    let gvk = GroupVersionKind::try_from(&types)
        .map_err(|e| Error::Format { context: "applying a manifest".into(), message: e.to_string() })?;
    let name = obj.metadata.name.clone().ok_or_else(|| Error::Format {
        context: format!("applying a {}", gvk.kind),
        message: "metadata.name is missing".into(),
    })?;
    let (resource, caps) = kube::discovery::pinned_kind(client, &gvk)
        .await
        .context(format!("discovering {}/{} {}", gvk.group, gvk.version, gvk.kind))?;
    let api: Api<DynamicObject> = if caps.scope == Scope::Namespaced {
        let ns = obj.metadata.namespace.clone().unwrap_or_else(|| "default".into());
        Api::namespaced_with(client.clone(), &ns, &resource)
    } else {
        Api::all_with(client.clone(), &resource)
    };
    api.patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&obj))
        .await
        .context(format!("applying {} {name}", gvk.kind))
}
