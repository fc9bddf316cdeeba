//! `cloud-controller-manager plan` (and the Go CCM's `--dry-run`): what each enabled controller would change right
//! now, computed by the controllers' own pure planning from the live cluster and cloud, writing nothing.

use std::{fmt::Write as _, sync::Arc};

use anyhow::Context as _;
use k8s_openapi::api::core::v1::Node;
use kube::{Api, api::ListParams};

use crate::{
    cloud,
    flags::Settings,
    kube_client,
    wiring::{self, PlanReport, Runtime, Unit},
};

/// Formats the plans; a controller that could not plan shows its error.
pub fn render(results: &[(Unit, Result<PlanReport, String>)]) -> String {
    let mut out = String::new();
    for (unit, result) in results {
        match result {
            Ok(report) => {
                let _ = writeln!(out, "{} controller: {} change(s)", unit.name(), report.changes);
                for line in &report.lines {
                    let _ = writeln!(out, "  {line}");
                }
                for note in &report.notes {
                    let _ = writeln!(out, "  note: {note}");
                }
            }
            Err(e) => {
                let _ = writeln!(out, "{} controller: cannot plan: {e}", unit.name());
            }
        }
    }
    if results.is_empty() {
        out.push_str("no controller enabled: nothing to plan\n");
    }
    out
}

async fn runtime(settings: Settings) -> anyhow::Result<Runtime> {
    let config = cloud::load_cloud_config(&settings)?;
    let cloud = cloud::connect(&settings, &config, Default::default()).await?;
    let kube = kube_client::clients(&settings).await?.main;
    Ok(Runtime {
        settings: Arc::new(settings),
        cloud_config: Arc::new(config),
        kube,
        kube_clients: None,
        cloud,
        instance: None,
    })
}

/// The `plan` subcommand. Returns the process exit status (0 planned, 1 a controller could not plan).
pub async fn run(settings: Settings) -> i32 {
    let units = match wiring::units(&settings.controllers) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("cloud-controller-manager plan: {e}");
            return 1;
        }
    };
    let rt = match runtime(settings).await {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cloud-controller-manager plan: {e:#}");
            return 1;
        }
    };
    let nodes = match Api::<Node>::all(rt.kube.clone()).list(&ListParams::default()).await.context("listing nodes") {
        Ok(list) => list.items.into_iter().map(Arc::new).collect::<Vec<_>>(),
        Err(e) => {
            eprintln!("cloud-controller-manager plan: {e:#}");
            return 1;
        }
    };
    let mut results = Vec::new();
    for unit in units {
        let result = wiring::plan(unit, &rt, &nodes).await.map_err(|e| e.to_string());
        results.push((unit, result));
    }
    print!("{}", render(&results));
    i32::from(results.iter().any(|(_, r)| r.is_err()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_and_failures_are_printed() {
        let node = PlanReport {
            lines: vec!["node-a: update: remove taint".into(), "node-b: skip: initialized".into()],
            changes: 1,
            notes: vec!["ENI checks not shown".into()],
        };
        let text = render(&[(Unit::Node, Ok(node)), (Unit::Route, Err("not available".into()))]);
        assert_eq!(
            text,
            "node controller: 1 change(s)\n  node-a: update: remove taint\n  node-b: skip: \
             initialized\n  note: ENI checks not shown\nroute controller: cannot plan: not available\n"
        );
        assert_eq!(render(&[]), "no controller enabled: nothing to plan\n");
    }
}
