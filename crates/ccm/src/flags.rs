//! Command-line flags, compatible with the Go CCM (`kubernetes/cloud-provider-alibaba-cloud`) and with upstream
//! `k8s.io/cloud-provider`: the same names, the same defaults, Go's value syntax (`--leader-elect=false`,
//! `--route-reconciliation-period=3m`), klog's `--v`/`-v`, and `_` or `-` in names alike.
//!
//! Flags that this binary does not need are accepted with a warning rather than refused, so that a DaemonSet
//! written for the Go CCM keeps working when only its image changes. [`Cli::parse_from`] parses;
//! [`Flags::resolve`] validates and turns the flags into [`Settings`].

use std::{
    ffi::OsString,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    path::PathBuf,
    time::Duration,
};

use clap::{ArgAction, ArgMatches, FromArgMatches as _, Parser, Subcommand, ValueEnum};

use crate::controllers::{self, Controller, ControllersError, EnabledControllers};

/// The `cloud-controller-manager` command line.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "cloud-controller-manager",
    version,
    about = "Kubernetes cloud controller manager for Alibaba Cloud ECS: node initialization and lifecycle, VPC \
             routes, Services of type LoadBalancer on CLB. A drop-in replacement for the Go \
             cloud-provider-alibaba-cloud: same flags, cloud-config, Lease and cloud-side names.",
    args_override_self = true
)]
pub struct Cli {
    /// What to do; without a subcommand, run the controllers.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The flags.
    #[command(flatten)]
    pub flags: Flags,
    /// Compatibility flags given (name, value), filled by [`Cli::parse_from`].
    #[arg(skip)]
    pub compat: Vec<(String, String)>,
}

/// Subcommands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Check the cloud-config, the credentials and the RAM permissions the enabled controllers need: calls each
    /// read-only API action once and prints OK or the missing permission. Exits non-zero if any failed.
    Check,
    /// Print what node, route and service reconciliation would change right now, writing nothing.
    Plan,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Which network the Alibaba Cloud API is reached over (`--network`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum NetworkFlag {
    /// VPC-internal endpoints (`ecs-vpc.<region>.aliyuncs.com`), the Go CCM's default.
    #[default]
    Vpc,
    /// Public endpoints, for a CCM running outside the VPC.
    Public,
}

/// Go's `strconv.ParseBool`.
pub fn parse_go_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("`{s}` is not a boolean; use true or false")),
    }
}

/// Go's `time.ParseDuration` (`300ms`, `10s`, `5m`, `1h30m`, `1.5h`; `0` alone), negative values refused.
pub fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration; write e.g. 10s, 5m, 1h30m");
    let text = s.trim();
    let text = text.strip_prefix('+').unwrap_or(text);
    if text.starts_with('-') {
        return Err(format!("`{s}` is negative; a duration must be 0 or more"));
    }
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(bad());
    }
    let mut total = 0f64;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if number_len == 0 {
            return Err(bad());
        }
        let value: f64 = rest[..number_len].parse().map_err(|_| bad())?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += value * seconds;
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

fn positive(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("`{s}` must be a whole number of at least 1")),
    }
}

/// The flags, shared by the run mode and the subcommands (they may come before or after the subcommand).
#[derive(Debug, Clone, clap::Args)]
pub struct Flags {
    /// Path to the cloud-config file (the Go CCM's JSON: Global.accessKeyID, region, vpcid, vswitchid, ...).
    #[arg(long, global = true, value_name = "PATH")]
    pub cloud_config: Option<PathBuf>,

    /// Path to a kubeconfig; in-cluster config (or $KUBECONFIG) when unset.
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// The Kubernetes API server address, overriding the kubeconfig's.
    #[arg(long, global = true, value_name = "URL")]
    pub master: Option<String>,

    /// Controllers to run: `*` for all, names (node, route, service, or upstream cloud-node, cloud-node-lifecycle,
    /// node-route-controller, service-lb-controller), `-name` to disable one. [default: *]
    #[arg(long, global = true, value_delimiter = ',', action = ArgAction::Append, value_name = "LIST")]
    pub controllers: Option<Vec<String>>,

    /// Pod CIDR(s) of the cluster (comma-separated, at most one IPv4 and one IPv6); needed by the route controller.
    #[arg(long, global = true, value_name = "CIDR")]
    pub cluster_cidr: Option<String>,

    /// Program VPC routes for pod CIDRs (the route controller); then --cluster-cidr is required.
    #[arg(long, global = true, default_value = "true", value_parser = parse_go_bool, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set, value_name = "BOOL")]
    pub configure_cloud_routes: bool,

    /// Period of the full route reconciliation.
    #[arg(long, global = true, default_value = "5m", value_parser = parse_go_duration, value_name = "DURATION")]
    pub route_reconciliation_period: Duration,

    /// Period of the node address and label refresh.
    #[arg(long, global = true, default_value = "5m", value_parser = parse_go_duration, value_name = "DURATION")]
    pub node_status_update_frequency: Duration,

    /// Period of the node lifecycle check (instances deleted or stopped).
    #[arg(long, global = true, default_value = "5s", value_parser = parse_go_duration, value_name = "DURATION")]
    pub node_monitor_period: Duration,

    /// Services reconciled in parallel (cloud-config Global.serviceMaxConcurrentReconciles wins when set).
    #[arg(long, global = true, default_value = "3", value_parser = positive, value_name = "N")]
    pub concurrent_service_syncs: u32,

    /// Queries per second to the Kubernetes API (client-side limit; 0 or less: no limit).
    #[arg(long, global = true, default_value = "20", value_name = "QPS")]
    pub kube_api_qps: f32,

    /// Burst of queries to the Kubernetes API.
    #[arg(long, global = true, default_value = "30", value_parser = positive, value_name = "N")]
    pub kube_api_burst: u32,

    /// Run the controllers only while holding the leader Lease.
    #[arg(long, global = true, default_value = "true", value_parser = parse_go_bool, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set, value_name = "BOOL")]
    pub leader_elect: bool,

    /// How long a leader's Lease is valid without renewal.
    #[arg(long, global = true, default_value = "15s", value_parser = parse_go_duration, value_name = "DURATION")]
    pub leader_elect_lease_duration: Duration,

    /// How long the leader keeps retrying to renew before it gives up (and exits).
    #[arg(long, global = true, default_value = "10s", value_parser = parse_go_duration, value_name = "DURATION")]
    pub leader_elect_renew_deadline: Duration,

    /// Interval between attempts to acquire or renew the Lease.
    #[arg(long, global = true, default_value = "2s", value_parser = parse_go_duration, value_name = "DURATION")]
    pub leader_elect_retry_period: Duration,

    /// Lock type; only Leases exist in current Kubernetes, other values are read as `leases`.
    #[arg(long, global = true, default_value = "leases", value_name = "LOCK")]
    pub leader_elect_resource_lock: String,

    /// Name of the Lease (`ccm`, the Go CCM's, so the two never run side by side).
    #[arg(long, global = true, default_value = "ccm", value_name = "NAME")]
    pub leader_elect_resource_name: String,

    /// Namespace of the Lease.
    #[arg(long, global = true, default_value = "kube-system", value_name = "NAMESPACE")]
    pub leader_elect_resource_namespace: String,

    /// Address of the health endpoint (/healthz, plain HTTP); `0` disables it.
    #[arg(long, global = true, default_value = ":10258", value_name = "ADDR")]
    pub health_probe_bind_addr: String,

    /// Address of the metrics endpoint (/metrics, plain HTTP); `0` disables it.
    #[arg(long, global = true, default_value = ":8080", value_name = "ADDR")]
    pub metrics_bind_addr: String,

    /// IP the health and metrics endpoints listen on when their address has none (upstream flag).
    #[arg(long, global = true, value_name = "IP")]
    pub bind_address: Option<IpAddr>,

    /// Port of the health endpoint (upstream flag; served as plain HTTP here); overrides the health address port.
    #[arg(long, global = true, value_name = "PORT")]
    pub secure_port: Option<u16>,

    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,

    /// Log verbosity (klog's): 0-2 info, 3-5 debug, 6+ trace. RUST_LOG, when set, wins.
    #[arg(short = 'v', long = "v", global = true, value_name = "LEVEL")]
    pub v: Option<u8>,

    /// Reach the Alibaba Cloud API over the VPC (`vpc`, internal endpoints) or the internet (`public`).
    /// Endpoint variables (ECS_ENDPOINT, VPC_ENDPOINT, SLB_ENDPOINT) win.
    #[arg(long, global = true, value_enum, default_value_t = NetworkFlag::Vpc, value_name = "NETWORK")]
    pub network: NetworkFlag,

    /// Ask the metadata server for an IMDSv2 token first.
    #[arg(long, global = true, default_value = "true", value_parser = parse_go_bool, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set, value_name = "BOOL")]
    pub enable_imdsv2: bool,

    /// Do not disable the source/destination check of nodes' primary ENIs.
    #[arg(long, global = true, default_value = "false", value_parser = parse_go_bool, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set, value_name = "BOOL")]
    pub skip_disable_source_dest_check: bool,

    /// The Go CCM's precheck mode: print what would change and exit (the same as the `plan` subcommand).
    #[arg(long, global = true, default_value = "false", value_parser = parse_go_bool, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set, value_name = "BOOL")]
    pub dry_run: bool,
}

/// How a compatibility flag takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CompatKind {
    /// `--flag`, `--flag=true|false`.
    Bool,
    /// `--flag=value` or `--flag value`.
    Value,
}

/// Flags of the Go CCM, upstream CCM and klog that this binary accepts and ignores, with the reason.
const COMPAT_FLAGS: &[(&str, CompatKind, &str)] = &[
    ("cloud-provider", CompatKind::Value, "this binary always serves Alibaba Cloud"),
    (
        "use-service-account-credentials",
        CompatKind::Bool,
        "all controllers use the CCM's own ServiceAccount (cloud-controller-manager), which manifests/rbac covers",
    ),
    (
        "allocate-node-cidrs",
        CompatKind::Bool,
        "pod CIDRs are allocated by kube-controller-manager; routes follow spec.podCIDRs",
    ),
    ("cidr-allocator-type", CompatKind::Value, "pod CIDRs are allocated by kube-controller-manager"),
    ("allow-untagged-cloud", CompatKind::Bool, "no cluster tag is required"),
    ("pprof-bind-addr", CompatKind::Value, "no profiling endpoint is served"),
    ("profiling", CompatKind::Bool, "no profiling endpoint is served"),
    ("contention-profiling", CompatKind::Bool, "no profiling endpoint is served"),
    ("cert-dir", CompatKind::Value, "health and metrics are plain HTTP, as in the Go CCM"),
    ("tls-cert-file", CompatKind::Value, "health and metrics are plain HTTP, as in the Go CCM"),
    ("tls-private-key-file", CompatKind::Value, "health and metrics are plain HTTP, as in the Go CCM"),
    ("tls-cipher-suites", CompatKind::Value, "health and metrics are plain HTTP, as in the Go CCM"),
    ("tls-min-version", CompatKind::Value, "health and metrics are plain HTTP, as in the Go CCM"),
    ("authentication-kubeconfig", CompatKind::Value, "health and metrics need no authentication"),
    ("authorization-kubeconfig", CompatKind::Value, "health and metrics need no authorization"),
    ("authentication-skip-lookup", CompatKind::Bool, "health and metrics need no authentication"),
    ("authentication-tolerate-lookup-failure", CompatKind::Bool, "health and metrics need no authentication"),
    ("authorization-always-allow-paths", CompatKind::Value, "health and metrics need no authorization"),
    ("feature-gates", CompatKind::Value, "set feature gates in the cloud-config (Global.featureGates)"),
    ("external-cloud-volume-plugin", CompatKind::Value, "no volume plugin is involved"),
    (
        "enable-leader-migration",
        CompatKind::Bool,
        "leader migration is not supported; the Lease is --leader-elect-resource-name",
    ),
    ("leader-migration-config", CompatKind::Value, "leader migration is not supported"),
    ("kube-api-content-type", CompatKind::Value, "the Kubernetes API is spoken in JSON"),
    ("min-resync-period", CompatKind::Value, "watches need no periodic resync here"),
    ("node-sync-period", CompatKind::Value, "deprecated upstream, no effect"),
    ("controller-start-interval", CompatKind::Value, "controllers start together"),
    ("concurrent-node-status-updates", CompatKind::Value, "node refreshes are batched, 100 nodes per cloud call"),
    (
        "concurrent-node-syncs",
        CompatKind::Value,
        "nodes are initialized in batches of up to 100 per cloud call, 16 writes at once",
    ),
    (
        "cluster-name",
        CompatKind::Value,
        "load balancer names and tags follow the Go CCM and use the cloud-config's clusterID",
    ),
    (
        "node-reconcile-batch-size",
        CompatKind::Value,
        "Go CCM tuning: instances are looked up 100 per call (the API's maximum)",
    ),
    (
        "route-reconcile-batch-size",
        CompatKind::Value,
        "Go CCM tuning: route writes are batched by the route controller itself",
    ),
    ("node-event-aggregation-wait-seconds", CompatKind::Value, "Go CCM tuning: node changes are coalesced for 200 ms"),
    ("sg-batch-size", CompatKind::Value, "Go CCM tuning: backends are changed in the API's largest batches"),
    ("max-concurrent-actions", CompatKind::Value, "Go CCM tuning: the CLB controller bounds its own parallelism"),
    (
        "max-throttling-retry-times",
        CompatKind::Value,
        "Go CCM tuning: throttled calls are retried with backoff by the API client",
    ),
    ("logtostderr", CompatKind::Bool, "logs always go to stderr"),
    ("alsologtostderr", CompatKind::Bool, "logs always go to stderr"),
    ("log-dir", CompatKind::Value, "logs always go to stderr"),
    ("log-file", CompatKind::Value, "logs always go to stderr"),
    ("log-file-max-size", CompatKind::Value, "logs always go to stderr"),
    ("stderrthreshold", CompatKind::Value, "logs always go to stderr"),
    ("vmodule", CompatKind::Value, "use RUST_LOG for per-module levels"),
    ("log-backtrace-at", CompatKind::Value, "klog only"),
    ("log-flush-frequency", CompatKind::Value, "klog only"),
    ("add-dir-header", CompatKind::Bool, "klog only"),
    ("skip-headers", CompatKind::Bool, "klog only"),
    ("skip-log-headers", CompatKind::Bool, "klog only"),
    ("one-output", CompatKind::Bool, "klog only"),
];

fn compat_args() -> Vec<clap::Arg> {
    COMPAT_FLAGS
        .iter()
        .map(|(name, kind, _)| {
            let arg = clap::Arg::new(*name).long(*name).global(true).hide(true).action(ArgAction::Set);
            match kind {
                CompatKind::Bool => arg
                    .num_args(0..=1)
                    .require_equals(true)
                    .default_missing_value("true")
                    .value_parser(|s: &str| parse_go_bool(s).map(|_| s.to_owned())),
                CompatKind::Value => arg.allow_hyphen_values(true),
            }
        })
        .collect()
}

/// Rewrites arguments the way Go's flag packages read them: `_` and `-` are the same in long flag names
/// (`--log_dir`), and single-dash long flags (`-cloud-config=...`) are long flags. `-v=2` and `-v2` stay klog's `-v`.
pub fn normalize_args<I, T>(args: I) -> Vec<OsString>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let mut out = Vec::new();
    let mut after_double_dash = false;
    for (i, arg) in args.into_iter().map(Into::into).enumerate() {
        let Some(text) = arg.to_str().filter(|_| i > 0 && !after_double_dash) else {
            out.push(arg);
            continue;
        };
        if text == "--" {
            after_double_dash = true;
            out.push(arg);
            continue;
        }
        let (dashes, body) = if let Some(body) = text.strip_prefix("--") {
            ("--", body)
        } else if let Some(body) = text.strip_prefix('-') {
            ("-", body)
        } else {
            out.push(arg);
            continue;
        };
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let is_short = dashes == "-"
            && (name.chars().count() <= 1 || (name.starts_with('v') && name[1..].chars().all(|c| c.is_ascii_digit())));
        if is_short || name.is_empty() {
            out.push(arg);
            continue;
        }
        let mut rewritten = format!("--{}", name.replace('_', "-"));
        if let Some(v) = value {
            rewritten.push('=');
            rewritten.push_str(v);
        }
        out.push(rewritten.into());
    }
    out
}

impl Cli {
    /// The clap command with the hidden compatibility flags added.
    pub fn command_with_compat() -> clap::Command {
        <Cli as clap::CommandFactory>::command().args(compat_args())
    }

    /// Parses `args` (the first one is the program name).
    pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        let matches = Self::command_with_compat().try_get_matches_from(normalize_args(args))?;
        let mut cli = Cli::from_arg_matches(&matches)?;
        cli.compat = collect_compat(&matches);
        Ok(cli)
    }
}

fn collect_compat(matches: &ArgMatches) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    let mut level = Some(matches);
    while let Some(m) = level {
        for (name, _, _) in COMPAT_FLAGS {
            if let Ok(Some(value)) = m.try_get_one::<String>(name)
                && !seen.iter().any(|(n, _): &(String, String)| n == name)
            {
                seen.push(((*name).to_owned(), value.clone()));
            }
        }
        level = m.subcommand().map(|(_, sub)| sub);
    }
    seen
}

/// What the process does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Run the controllers.
    Run,
    /// `check`.
    Check,
    /// `plan` (or `--dry-run`).
    Plan,
}

/// Leader election settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderElectionSettings {
    /// Lease namespace.
    pub namespace: String,
    /// Lease name.
    pub name: String,
    /// Lease duration.
    pub lease_duration: Duration,
    /// Renew deadline.
    pub renew_deadline: Duration,
    /// Retry period.
    pub retry_period: Duration,
}

/// The validated flags.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// What to do.
    pub mode: Mode,
    /// `--cloud-config`.
    pub cloud_config: Option<PathBuf>,
    /// `--kubeconfig`.
    pub kubeconfig: Option<PathBuf>,
    /// `--master`.
    pub master: Option<String>,
    /// The controllers that run.
    pub controllers: EnabledControllers,
    /// `--cluster-cidr`, validated (at most one IPv4 and one IPv6 CIDR).
    pub cluster_cidrs: Vec<String>,
    /// `--configure-cloud-routes`.
    pub configure_cloud_routes: bool,
    /// `--route-reconciliation-period`.
    pub route_reconciliation_period: Duration,
    /// `--node-status-update-frequency`.
    pub node_status_update_frequency: Duration,
    /// `--node-monitor-period`.
    pub node_monitor_period: Duration,
    /// `--concurrent-service-syncs`.
    pub concurrent_service_syncs: u32,
    /// `--kube-api-qps`, `None` for no limit.
    pub kube_api_qps: Option<f32>,
    /// `--kube-api-burst`.
    pub kube_api_burst: u32,
    /// Leader election, `None` with `--leader-elect=false`.
    pub leader_election: Option<LeaderElectionSettings>,
    /// Health endpoint address, `None` when disabled.
    pub health_addr: Option<SocketAddr>,
    /// Metrics endpoint address, `None` when disabled.
    pub metrics_addr: Option<SocketAddr>,
    /// `--log-format`.
    pub log_format: LogFormat,
    /// `--v`.
    pub verbosity: u8,
    /// `--network`.
    pub network: NetworkFlag,
    /// `--enable-imdsv2`.
    pub enable_imdsv2: bool,
    /// `--skip-disable-source-dest-check`.
    pub skip_disable_source_dest_check: bool,
    /// Things the operator should know (compatibility flags ignored, values adjusted).
    pub warnings: Vec<String>,
}

/// Flags that cannot be used together or have bad values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagError {
    /// `--controllers`.
    #[error(transparent)]
    Controllers(#[from] ControllersError),
    /// `--configure-cloud-routes` without `--cluster-cidr`.
    #[error(
        "the route controller is enabled and --configure-cloud-routes is true (the default), but --cluster-cidr is \
         not set; pass --cluster-cidr=<the cluster's pod CIDR, e.g. 172.16.0.0/16> (see `kubectl cluster-info dump \
         | grep -m1 cluster-cidr`), or --configure-cloud-routes=false, or leave route out of --controllers"
    )]
    ClusterCidrRequired,
    /// Another flag has a bad value.
    #[error("--{flag}: {reason}")]
    Invalid {
        /// Flag name.
        flag: &'static str,
        /// What is wrong.
        reason: String,
    },
}

fn invalid(flag: &'static str, reason: impl Into<String>) -> FlagError {
    FlagError::Invalid { flag, reason: reason.into() }
}

/// Parses `--cluster-cidr`: one CIDR, or an IPv4 and an IPv6 one, comma-separated.
pub fn parse_cluster_cidrs(value: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<(IpAddr, u8)> = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (ip, prefix) = part.split_once('/').ok_or_else(|| format!("`{part}` is not a CIDR (address/prefix)"))?;
        let ip: IpAddr = ip.parse().map_err(|_| format!("`{part}` is not a CIDR: bad address"))?;
        let prefix: u8 = prefix.parse().map_err(|_| format!("`{part}` is not a CIDR: bad prefix length"))?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(format!("`{part}`: the prefix length must be at most {max}"));
        }
        out.push((ip, prefix));
    }
    let shape: Result<(), String> = match out.as_slice() {
        [] => Err("no CIDR given".into()),
        [_] => Ok(()),
        [(a, _), (b, _)] if a.is_ipv4() != b.is_ipv4() => Ok(()),
        [_, _] => Err("two CIDRs must be one IPv4 and one IPv6 (dual-stack)".into()),
        _ => Err("at most two CIDRs (one IPv4 and one IPv6)".into()),
    };
    shape?;
    Ok(out.iter().map(|(ip, p)| format!("{ip}/{p}")).collect())
}

/// Parses a Go listen address: `:8080`, `0.0.0.0:8080`, `[::]:8080`, `127.0.0.1:8080`; `0` or empty disables.
pub fn parse_bind_addr(value: &str, default_ip: IpAddr) -> Result<Option<SocketAddr>, String> {
    let value = value.trim();
    if value.is_empty() || value == "0" {
        return Ok(None);
    }
    if let Some(port) = value.strip_prefix(':') {
        let port: u16 = port.parse().map_err(|_| format!("`{value}`: bad port"))?;
        return Ok(Some(SocketAddr::new(default_ip, port)));
    }
    value
        .parse::<SocketAddr>()
        .map(Some)
        .map_err(|_| format!("`{value}` is not host:port (e.g. :8080, 127.0.0.1:8080)"))
}

impl Flags {
    /// Validates the flags and derives the settings; `compat` are the compatibility flags given.
    pub fn resolve(self, command: Option<&Command>, compat: &[(String, String)]) -> Result<Settings, FlagError> {
        let mut warnings = Vec::new();
        for (name, value) in compat {
            let why = COMPAT_FLAGS.iter().find(|(n, _, _)| n == name).map(|(_, _, why)| *why).unwrap_or("not used");
            warnings.push(format!("--{name}={value} is accepted for compatibility and ignored: {why}"));
        }

        let entries = self.controllers.clone().unwrap_or_else(|| vec!["*".to_owned()]);
        let mut controllers = controllers::resolve(&entries)?;
        warnings.append(&mut controllers.warnings);

        let cluster_cidrs = match self.cluster_cidr.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(value) => parse_cluster_cidrs(value).map_err(|r| invalid("cluster-cidr", r))?,
            None => Vec::new(),
        };
        if controllers.is_enabled(Controller::Route) {
            if !self.configure_cloud_routes {
                warnings.push("the route controller is off: --configure-cloud-routes=false".into());
                controllers.disable(Controller::Route);
            } else if cluster_cidrs.is_empty() {
                return Err(FlagError::ClusterCidrRequired);
            }
        }

        let leader_election = if self.leader_elect {
            let lock = self.leader_elect_resource_lock.trim().to_ascii_lowercase();
            match lock.as_str() {
                "leases" => {}
                "endpoints" | "configmaps" | "endpointsleases" | "configmapsleases" => warnings.push(format!(
                    "--leader-elect-resource-lock={lock}: Kubernetes no longer supports {lock} locks; a Lease \
                     {}/{} is used",
                    self.leader_elect_resource_namespace, self.leader_elect_resource_name
                )),
                _ => {
                    return Err(invalid(
                        "leader-elect-resource-lock",
                        format!("`{lock}` is not a lock type; use leases"),
                    ));
                }
            }
            let (lease, renew, retry) =
                (self.leader_elect_lease_duration, self.leader_elect_renew_deadline, self.leader_elect_retry_period);
            if retry.is_zero() {
                return Err(invalid("leader-elect-retry-period", "must be more than 0"));
            }
            if renew <= retry.mul_f64(1.2) {
                return Err(invalid(
                    "leader-elect-renew-deadline",
                    format!("must be more than 1.2 × --leader-elect-retry-period ({retry:?})"),
                ));
            }
            if lease <= renew {
                return Err(invalid(
                    "leader-elect-lease-duration",
                    format!("must be more than --leader-elect-renew-deadline ({renew:?})"),
                ));
            }
            if self.leader_elect_resource_name.trim().is_empty() {
                return Err(invalid("leader-elect-resource-name", "must not be empty"));
            }
            if self.leader_elect_resource_namespace.trim().is_empty() {
                return Err(invalid("leader-elect-resource-namespace", "must not be empty"));
            }
            Some(LeaderElectionSettings {
                namespace: self.leader_elect_resource_namespace.trim().to_owned(),
                name: self.leader_elect_resource_name.trim().to_owned(),
                lease_duration: lease,
                renew_deadline: renew,
                retry_period: retry,
            })
        } else {
            None
        };

        let default_ip = self.bind_address.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let mut health_addr = parse_bind_addr(&self.health_probe_bind_addr, default_ip)
            .map_err(|r| invalid("health-probe-bind-addr", r))?;
        if let Some(port) = self.secure_port {
            health_addr = if port == 0 {
                None
            } else {
                warnings.push(format!("--secure-port={port}: /healthz is served there over plain HTTP (no TLS)"));
                Some(SocketAddr::new(health_addr.map_or(default_ip, |a| a.ip()), port))
            };
        }
        let metrics_addr =
            parse_bind_addr(&self.metrics_bind_addr, default_ip).map_err(|r| invalid("metrics-bind-addr", r))?;
        if let (Some(h), Some(m)) = (health_addr, metrics_addr)
            && h.port() == m.port()
            && (h.ip() == m.ip() || h.ip().is_unspecified() || m.ip().is_unspecified())
        {
            return Err(invalid("metrics-bind-addr", format!("{m} collides with the health address {h}")));
        }

        let kube_api_qps = if self.kube_api_qps > 0.0 {
            Some(self.kube_api_qps)
        } else {
            warnings.push("--kube-api-qps <= 0: no client-side limit on Kubernetes API requests".into());
            None
        };

        for (flag, period) in [
            ("route-reconciliation-period", self.route_reconciliation_period),
            ("node-status-update-frequency", self.node_status_update_frequency),
            ("node-monitor-period", self.node_monitor_period),
        ] {
            if period < Duration::from_secs(1) {
                return Err(invalid(flag, format!("{period:?} is too short; use 1s or more")));
            }
        }

        let mode = match command {
            Some(Command::Check) => Mode::Check,
            Some(Command::Plan) => Mode::Plan,
            None if self.dry_run => {
                warnings.push("--dry-run: printing the plan once and exiting (the `plan` subcommand)".into());
                Mode::Plan
            }
            None => Mode::Run,
        };
        if controllers.is_empty() && mode == Mode::Run {
            warnings.push("--controllers enables no controller: this process will only hold the Lease".into());
        }

        Ok(Settings {
            mode,
            cloud_config: self.cloud_config,
            kubeconfig: self.kubeconfig,
            master: self.master.filter(|m| !m.trim().is_empty()),
            controllers,
            cluster_cidrs,
            configure_cloud_routes: self.configure_cloud_routes,
            route_reconciliation_period: self.route_reconciliation_period,
            node_status_update_frequency: self.node_status_update_frequency,
            node_monitor_period: self.node_monitor_period,
            concurrent_service_syncs: self.concurrent_service_syncs,
            kube_api_qps,
            kube_api_burst: self.kube_api_burst,
            leader_election,
            health_addr,
            metrics_addr,
            log_format: self.log_format,
            verbosity: self.v.unwrap_or(0),
            network: self.network,
            enable_imdsv2: self.enable_imdsv2,
            skip_disable_source_dest_check: self.skip_disable_source_dest_check,
            warnings,
        })
    }
}

/// Parses and resolves in one go (for tests and `main`).
pub fn settings_from<I, T>(args: I) -> Result<Settings, anyhow::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let cli = Cli::parse_from(args)?;
    Ok(cli.flags.resolve(cli.command.as_ref(), &cli.compat)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(args: &[&str]) -> Settings {
        let mut all = vec!["cloud-controller-manager"];
        all.extend_from_slice(args);
        settings_from(all).unwrap_or_else(|e| panic!("{args:?}: {e:#}"))
    }

    fn error(args: &[&str]) -> String {
        let mut all = vec!["cloud-controller-manager"];
        all.extend_from_slice(args);
        match settings_from(all) {
            Ok(s) => panic!("{args:?} parsed: {s:?}"),
            Err(e) => format!("{e:#}"),
        }
    }

    /// The container command of the seed guide's DaemonSet, after the binary name.
    const SEED_DAEMONSET: &[&str] = &[
        "--leader-elect=true",
        "--cloud-provider=alicloud",
        "--use-service-account-credentials=true",
        "--cloud-config=/etc/kubernetes/config/cloud-config.conf",
        "--configure-cloud-routes=true",
        "--route-reconciliation-period=3m",
        "--leader-elect-resource-lock=endpoints",
        "--cluster-cidr=172.16.0.0/16",
    ];

    #[test]
    fn the_seed_daemonset_command_is_accepted() {
        let s = settings(SEED_DAEMONSET);
        assert_eq!(s.mode, Mode::Run);
        assert_eq!(s.cloud_config, Some(PathBuf::from("/etc/kubernetes/config/cloud-config.conf")));
        assert_eq!(s.route_reconciliation_period, Duration::from_secs(180));
        assert_eq!(s.cluster_cidrs, ["172.16.0.0/16"]);
        assert!(s.controllers.is_enabled(Controller::Route));
        let le = s.leader_election.as_ref().unwrap();
        assert_eq!((le.namespace.as_str(), le.name.as_str()), ("kube-system", "ccm"));
        let warnings = s.warnings.join("\n");
        assert!(warnings.contains("--cloud-provider=alicloud is accepted for compatibility and ignored"), "{warnings}");
        assert!(warnings.contains("--use-service-account-credentials=true"), "{warnings}");
        assert!(
            warnings.contains("--leader-elect-resource-lock=endpoints") && warnings.contains("Lease"),
            "{warnings}"
        );
    }

    #[test]
    fn the_other_seed_command_is_accepted() {
        // Seed 000: kubeconfig, cloud-config, node and route controllers (cluster CIDR elided in the guide).
        let s = settings(&[
            "--kubeconfig=/etc/kubernetes/cloud-controller-manager.conf",
            "--cloud-config=/etc/kubernetes/config/cloud-config.conf",
            "--controllers=node,route",
            "--cluster-cidr=192.168.200.0/21",
        ]);
        assert_eq!(
            s.controllers.iter().collect::<Vec<_>>(),
            [Controller::Node, Controller::NodeLifecycle, Controller::Route]
        );
        assert_eq!(s.kubeconfig, Some(PathBuf::from("/etc/kubernetes/cloud-controller-manager.conf")));
    }

    #[test]
    fn defaults_match_the_go_ccm() {
        let s = settings(&["--cluster-cidr=10.0.0.0/16"]);
        assert_eq!(s.controllers.iter().collect::<Vec<_>>(), Controller::ALL);
        assert!(s.configure_cloud_routes);
        assert_eq!(s.route_reconciliation_period, Duration::from_secs(300));
        assert_eq!(s.node_status_update_frequency, Duration::from_secs(300));
        assert_eq!(s.concurrent_service_syncs, 3);
        assert_eq!((s.kube_api_qps, s.kube_api_burst), (Some(20.0), 30));
        assert_eq!(
            s.leader_election,
            Some(LeaderElectionSettings {
                namespace: "kube-system".into(),
                name: "ccm".into(),
                lease_duration: Duration::from_secs(15),
                renew_deadline: Duration::from_secs(10),
                retry_period: Duration::from_secs(2),
            })
        );
        assert_eq!(s.health_addr, Some("0.0.0.0:10258".parse().unwrap()));
        assert_eq!(s.metrics_addr, Some("0.0.0.0:8080".parse().unwrap()));
        assert_eq!(s.network, NetworkFlag::Vpc);
        assert!(s.enable_imdsv2 && !s.skip_disable_source_dest_check);
        assert_eq!(s.log_format, LogFormat::Text);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    #[test]
    fn configure_cloud_routes_needs_cluster_cidr() {
        let e = error(&[]);
        assert!(e.contains("--cluster-cidr is not set") && e.contains("--configure-cloud-routes=false"), "{e}");
        let e = error(&["--controllers=route", "--configure-cloud-routes=true"]);
        assert!(e.contains("--cluster-cidr"), "{e}");
        // Without the route controller, or with routes off, no CIDR is needed.
        assert!(!settings(&["--controllers=node,service"]).controllers.is_enabled(Controller::Route));
        let s = settings(&["--configure-cloud-routes=false"]);
        assert!(!s.controllers.is_enabled(Controller::Route));
        assert!(s.warnings[0].contains("route controller is off"));
        assert!(!settings(&["--controllers=*,-route"]).controllers.is_enabled(Controller::Route));
    }

    #[test]
    fn cluster_cidr_validation() {
        assert_eq!(settings(&["--cluster-cidr=10.0.0.0/16,fd00::/56"]).cluster_cidrs, ["10.0.0.0/16", "fd00::/56"]);
        for (bad, hint) in [
            ("10.0.0.0", "not a CIDR"),
            ("10.0.0.0/33", "at most 32"),
            ("10.0.0.0/16,10.1.0.0/16", "one IPv4 and one IPv6"),
            ("a.b.c.d/8", "bad address"),
            ("10.0.0.0/8,fd00::/8,10.1.0.0/16", "at most two"),
        ] {
            let e = error(&[&format!("--cluster-cidr={bad}")]);
            assert!(e.contains(hint), "{bad}: {e}");
        }
    }

    #[test]
    fn controllers_flag_rules() {
        let on = |v: &str| settings(&[v, "--cluster-cidr=10.0.0.0/8"]).controllers.iter().collect::<Vec<_>>();
        assert_eq!(on("--controllers=*"), Controller::ALL);
        assert_eq!(on("--controllers=*,-service"), [Controller::Node, Controller::NodeLifecycle, Controller::Route]);
        assert_eq!(on("--controllers=cloud-node,service-lb-controller"), [Controller::Node, Controller::Service]);
        assert_eq!(on("--controllers=cloud-node-lifecycle"), [Controller::NodeLifecycle]);
        assert_eq!(on("--controllers=node-route-controller"), [Controller::Route]);
        // Repeated flags add up, as pflag's string slices do.
        let s = settings(&["--controllers=node", "--controllers", "service"]);
        assert_eq!(
            s.controllers.iter().collect::<Vec<_>>(),
            [Controller::Node, Controller::NodeLifecycle, Controller::Service]
        );
        let e = error(&["--controllers=node,bogus"]);
        assert!(e.contains("\"bogus\" is not in the list of known controllers") && e.contains("valid: *"), "{e}");
        let s = settings(&["--controllers="]);
        assert!(s.controllers.is_empty());
        assert!(s.warnings.iter().any(|w| w.contains("no controller")));
        let s = settings(&["--controllers=node,service,nlb"]);
        assert!(s.warnings.iter().any(|w| w.contains("`nlb`")));
    }

    #[test]
    fn go_syntax_for_booleans_durations_and_names() {
        let s =
            settings(&["--leader-elect=false", "--configure-cloud-routes=F", "--route-reconciliation-period=1h30m"]);
        assert!(s.leader_election.is_none());
        assert!(!s.configure_cloud_routes);
        assert_eq!(s.route_reconciliation_period, Duration::from_secs(5400));
        let s = settings(&["--controllers=service", "--leader-elect", "--skip-disable-source-dest-check"]);
        assert!(s.leader_election.is_some() && s.skip_disable_source_dest_check);
        // Underscores, single-dash long flags, klog's -v in all spellings.
        assert_eq!(settings(&["--controllers=service", "-v=4"]).verbosity, 4);
        assert_eq!(settings(&["--controllers=service", "-v", "3"]).verbosity, 3);
        assert_eq!(settings(&["--controllers=service", "-v2"]).verbosity, 2);
        assert_eq!(settings(&["--controllers=service", "--v=5"]).verbosity, 5);
        let s = settings(&["-controllers=service", "--log_dir=/var/log", "--logtostderr", "-kube-api-qps=50"]);
        assert_eq!(s.kube_api_qps, Some(50.0));
        assert!(s.warnings.iter().any(|w| w.starts_with("--log-dir=/var/log is accepted")), "{:?}", s.warnings);
        assert!(s.warnings.iter().any(|w| w.starts_with("--logtostderr=true")), "{:?}", s.warnings);
        // The last value of a repeated flag wins, as in pflag.
        assert_eq!(settings(&["--controllers=service", "--kube-api-burst=5", "--kube-api-burst=7"]).kube_api_burst, 7);
        let e = error(&["--leader-elect=maybe"]);
        assert!(e.contains("not a boolean"), "{e}");
        let e = error(&["--controllers=service", "--node-monitor-period=5 minutes"]);
        assert!(e.contains("not a duration"), "{e}");
    }

    #[test]
    fn every_go_ccm_flag_is_accepted() {
        let s = settings(&[
            "--cloud-config=/cc",
            "--kubeconfig=/kc",
            "--master=https://10.0.0.1:6443",
            "--controllers=node,route,service,nlb",
            "--configure-cloud-routes=true",
            "--cluster-cidr=172.20.0.0/16",
            "--route-reconciliation-period=5m",
            "--node-monitor-period=5m",
            "--concurrent-service-syncs=4",
            "--node-reconcile-batch-size=50",
            "--route-reconcile-batch-size=20",
            "--node-event-aggregation-wait-seconds=2",
            "--sg-batch-size=30",
            "--max-concurrent-actions=5",
            "--max-throttling-retry-times=3",
            "--skip-disable-source-dest-check=true",
            "--network=public",
            "--enable-imdsv2=false",
            "--metrics-bind-addr=:9090",
            "--health-probe-bind-addr=127.0.0.1:10259",
            "--pprof-bind-addr=0",
            "--kube-api-qps=40",
            "--kube-api-burst=60",
            "--leader-elect=true",
            "--leader-elect-lease-duration=30s",
            "--leader-elect-renew-deadline=20s",
            "--leader-elect-retry-period=4s",
            "--leader-elect-resource-lock=leases",
            "--leader-elect-resource-name=my-ccm",
            "--leader-elect-resource-namespace=infra",
            "--cloud-provider=alicloud",
            "--cluster-name=prod",
            "--allocate-node-cidrs=true",
            "--use-service-account-credentials=true",
            "--allow-untagged-cloud=true",
            "--v=2",
        ]);
        assert_eq!(s.master.as_deref(), Some("https://10.0.0.1:6443"));
        assert_eq!(s.network, NetworkFlag::Public);
        assert!(!s.enable_imdsv2);
        assert_eq!(s.metrics_addr, Some("0.0.0.0:9090".parse().unwrap()));
        assert_eq!(s.health_addr, Some("127.0.0.1:10259".parse().unwrap()));
        let le = s.leader_election.unwrap();
        assert_eq!(
            (le.namespace.as_str(), le.name.as_str(), le.lease_duration),
            ("infra", "my-ccm", Duration::from_secs(30))
        );
        assert!(s.warnings.iter().any(|w| w.starts_with("--sg-batch-size=30 is accepted")), "{:?}", s.warnings);
        assert!(s.warnings.iter().any(|w| w.starts_with("--cluster-name=prod is accepted")), "{:?}", s.warnings);
    }

    #[test]
    fn every_upstream_ccm_flag_is_accepted() {
        let s = settings(&[
            "--controllers=*,-route",
            "--bind-address=127.0.0.1",
            "--secure-port=10260",
            "--authentication-kubeconfig=/kc",
            "--authorization-kubeconfig=/kc",
            "--authorization-always-allow-paths=/healthz,/metrics",
            "--authentication-skip-lookup",
            "--cert-dir=/tmp",
            "--profiling=false",
            "--feature-gates=Foo=true",
            "--node-status-update-frequency=1m",
            "--concurrent-node-syncs=2",
            "--min-resync-period=12h",
            "--node-sync-period=0",
            "--controller-start-interval=0",
            "--kube-api-content-type=application/vnd.kubernetes.protobuf",
            "--external-cloud-volume-plugin=alicloud",
            "--enable-leader-migration=false",
            "--leader-migration-config=/x",
            "--concurrent-node-status-updates=2",
        ]);
        assert_eq!(s.health_addr, Some("127.0.0.1:10260".parse().unwrap()));
        assert_eq!(s.metrics_addr, Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(s.node_status_update_frequency, Duration::from_secs(60));
        assert!(s.warnings.iter().any(|w| w.contains("--secure-port=10260") && w.contains("plain HTTP")));
    }

    #[test]
    fn unknown_flags_are_errors() {
        let e = error(&["--no-such-flag=1"]);
        assert!(e.contains("--no-such-flag"), "{e}");
    }

    #[test]
    fn leader_election_validation() {
        let e = error(&["--controllers=service", "--leader-elect-renew-deadline=20s"]);
        assert!(e.contains("--leader-elect-lease-duration"), "{e}");
        let e = error(&["--controllers=service", "--leader-elect-retry-period=9s"]);
        assert!(e.contains("--leader-elect-renew-deadline"), "{e}");
        let e = error(&["--controllers=service", "--leader-elect-resource-lock=etcd"]);
        assert!(e.contains("not a lock type"), "{e}");
        // Timing is not validated when leader election is off.
        assert!(
            settings(&["--controllers=service", "--leader-elect=false", "--leader-elect-retry-period=1h"])
                .leader_election
                .is_none()
        );
    }

    #[test]
    fn serving_addresses() {
        let s = settings(&["--controllers=service", "--metrics-bind-addr=0", "--health-probe-bind-addr=[::1]:10258"]);
        assert_eq!(s.metrics_addr, None);
        assert_eq!(s.health_addr, Some("[::1]:10258".parse().unwrap()));
        let e = error(&["--controllers=service", "--metrics-bind-addr=:10258"]);
        assert!(e.contains("collides"), "{e}");
        let e = error(&["--controllers=service", "--metrics-bind-addr=localhost"]);
        assert!(e.contains("host:port"), "{e}");
        assert_eq!(settings(&["--controllers=service", "--secure-port=0"]).health_addr, None);
    }

    #[test]
    fn subcommands_and_dry_run() {
        assert_eq!(settings(&["check", "--cloud-config=/cc", "--controllers=service"]).mode, Mode::Check);
        assert_eq!(settings(&["--controllers=service", "plan"]).mode, Mode::Plan);
        let s = settings(&["--controllers=service", "--dry-run"]);
        assert_eq!(s.mode, Mode::Plan);
        assert!(s.warnings.iter().any(|w| w.contains("--dry-run")));
        let s = settings(&["check", "--controllers=service", "--cloud-provider=alicloud"]);
        assert!(s.warnings.iter().any(|w| w.contains("--cloud-provider")));
    }

    #[test]
    fn go_durations() {
        for (text, secs) in
            [("0", 0.0), ("10s", 10.0), ("1m30s", 90.0), ("1.5h", 5400.0), ("300ms", 0.3), ("2h0m0s", 7200.0)]
        {
            assert_eq!(parse_go_duration(text), Ok(Duration::from_secs_f64(secs)), "{text}");
        }
        for bad in ["", "5", "5 m", "m", "-1s", "1x", "1.2.3s"] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn normalization_leaves_values_and_positionals_alone() {
        let out = normalize_args(["ccm", "--log_file=/a_b", "-v=2", "-h", "--", "--x_y"]);
        let out: Vec<_> = out.iter().map(|s| s.to_str().unwrap()).collect();
        assert_eq!(out, ["ccm", "--log-file=/a_b", "-v=2", "-h", "--", "--x_y"]);
    }
}
