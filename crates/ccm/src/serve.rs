//! The health endpoint (`/healthz`, default `:10258`) and the metrics endpoint (`/metrics`, default `:8080`), both
//! plain HTTP as in the Go CCM (its DaemonSet probes `http://127.0.0.1:10258/healthz`).
//!
//! `/healthz` (also `/livez`, `/readyz`) runs named checks: `ping`, `leaderElection` (fails when this process
//! leads but stopped renewing the Lease), and one per started controller (fails when it stopped). `?verbose`
//! lists them as upstream does (`[+]ping ok`).

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    extract::{Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

use crate::leader::LeaderStatus;

/// One named health check.
pub type Check = Box<dyn Fn() -> Result<(), String> + Send + Sync>;

/// The health checks, shared between the server and whoever adds checks (controllers as they start).
#[derive(Clone, Default)]
pub struct Health {
    checks: Arc<Mutex<Vec<(String, Check)>>>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.lock().iter().map(|(n, _)| n.clone()).collect();
        f.debug_struct("Health").field("checks", &names).finish()
    }
}

impl Health {
    /// Health with `ping` and, when given, `leaderElection`.
    pub fn new(leader: Option<Arc<LeaderStatus>>) -> Self {
        let health = Self::default();
        health.add("ping", || Ok(()));
        if let Some(status) = leader {
            health.add("leaderElection", move || status.check(tokio::time::Instant::now()));
        }
        health
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(String, Check)>> {
        self.checks.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds (or replaces) the check `name`.
    pub fn add(&self, name: &str, check: impl Fn() -> Result<(), String> + Send + Sync + 'static) {
        let mut checks = self.lock();
        checks.retain(|(n, _)| n != name);
        checks.push((name.to_owned(), Box::new(check)));
    }

    /// Runs every check: `(all passed, upstream-style report)`.
    pub fn evaluate(&self) -> (bool, String) {
        let mut ok = true;
        let mut report = String::new();
        for (name, check) in self.lock().iter() {
            match check() {
                Ok(()) => report.push_str(&format!("[+]{name} ok\n")),
                Err(reason) => {
                    ok = false;
                    report.push_str(&format!("[-]{name} failed: {reason}\n"));
                }
            }
        }
        report.push_str(if ok { "healthz check passed\n" } else { "healthz check failed\n" });
        (ok, report)
    }
}

#[derive(serde::Deserialize, Default)]
struct HealthQuery {
    verbose: Option<String>,
}

async fn healthz(State(health): State<Health>, Query(q): Query<HealthQuery>) -> Response {
    let (ok, report) = health.evaluate();
    let status = if ok { StatusCode::OK } else { StatusCode::INTERNAL_SERVER_ERROR };
    if !ok {
        tracing::warn!(report = %report.trim_end().replace('\n', "; "), "health check failed");
    }
    let body = if ok && q.verbose.is_none() { "ok".to_owned() } else { report };
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// The health router.
pub fn health_router(health: Health) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/livez", get(healthz))
        .route("/readyz", get(healthz))
        .with_state(health)
}

async fn metrics(State(registry): State<Arc<Registry>>) -> Response {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &registry) {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
            text,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("cannot encode metrics: {e}")).into_response(),
    }
}

/// The metrics router.
pub fn metrics_router(registry: Arc<Registry>) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(registry)
}

/// Binds `addr` (the error names the flag and the address) and serves `router` in a background task.
pub async fn spawn(what: &str, addr: SocketAddr, router: Router) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} for {what}: {e} (is another process using the port?)"))?;
    let local = listener.local_addr()?;
    tracing::info!(address = %local, "serving {}", if what == "health" { "/healthz" } else { "/metrics" });
    let what = what.to_owned();
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "the {what} server stopped");
        }
    });
    Ok(local)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use prometheus_client::metrics::counter::Counter;

    use super::*;

    async fn get_text(url: &str) -> (u16, String, String) {
        let r = reqwest::get(url).await.unwrap();
        let status = r.status().as_u16();
        let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        (status, ct, r.text().await.unwrap())
    }

    #[tokio::test]
    async fn healthz_reports_every_check() {
        let health = Health::new(Some(Arc::new(LeaderStatus::default())));
        let addr = spawn("health", "127.0.0.1:0".parse().unwrap(), health_router(health.clone())).await.unwrap();
        let (status, _, body) = get_text(&format!("http://{addr}/healthz")).await;
        assert_eq!((status, body.as_str()), (200, "ok"));
        let (_, _, body) = get_text(&format!("http://{addr}/healthz?verbose")).await;
        assert_eq!(body, "[+]ping ok\n[+]leaderElection ok\nhealthz check passed\n");

        health.add("route", || Err("stopped: cloud error".into()));
        let (status, _, body) = get_text(&format!("http://{addr}/livez")).await;
        assert_eq!(status, 500);
        assert!(body.contains("[-]route failed: stopped: cloud error"), "{body}");
        health.add("route", || Ok(()));
        assert_eq!(get_text(&format!("http://{addr}/readyz")).await.0, 200);
    }

    #[tokio::test]
    async fn metrics_are_served_in_openmetrics_text() {
        let mut registry = Registry::default();
        let counter: Counter = Counter::default();
        counter.inc();
        registry.register("ccm_test_things", "Things", counter);
        let addr = spawn("metrics", "127.0.0.1:0".parse().unwrap(), metrics_router(Arc::new(registry))).await.unwrap();
        let (status, ct, body) = get_text(&format!("http://{addr}/metrics")).await;
        assert_eq!(status, 200);
        assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
        assert!(body.contains("ccm_test_things_total 1"), "{body}");
        assert!(body.ends_with("# EOF\n"));
    }

    #[tokio::test]
    async fn a_busy_port_is_a_clear_error() {
        let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = taken.local_addr().unwrap();
        let e = spawn("metrics", addr, metrics_router(Arc::default())).await.unwrap_err();
        assert!(e.to_string().contains(&format!("cannot listen on {addr} for metrics")), "{e}");
        let _ = Duration::ZERO;
    }
}
