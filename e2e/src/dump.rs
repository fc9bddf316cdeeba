//! Readable dumps of Kubernetes objects for failure reports.

use std::fmt::Write as _;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event, Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams};
use kube::{Resource, ResourceExt as _};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::wait::error_chain;

/// Nodes, Services, EndpointSlices, Leases and Events (without `managedFields`) as YAML-ish text.
pub async fn kube_objects(client: &kube::Client) -> String {
    let mut out = String::new();
    section::<Node>(&mut out, "Nodes", Api::all(client.clone())).await;
    section::<Service>(&mut out, "Services", Api::all(client.clone())).await;
    section::<EndpointSlice>(&mut out, "EndpointSlices", Api::all(client.clone())).await;
    section::<Lease>(&mut out, "Leases", Api::all(client.clone())).await;
    events(&mut out, client).await;
    out
}

async fn section<K>(out: &mut String, title: &str, api: Api<K>)
where
    K: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    match api.list(&ListParams::default()).await {
        Ok(list) => {
            let _ = writeln!(out, "----- {title} ({}) -----", list.items.len());
            for mut item in list.items {
                item.meta_mut().managed_fields = None;
                match serde_yaml_ng::to_string(&item) {
                    Ok(yaml) => {
                        let _ = writeln!(out, "{yaml}---");
                    }
                    Err(e) => {
                        let _ = writeln!(out, "({}: {e})", item.name_any());
                    }
                }
            }
        }
        Err(e) => {
            let _ = writeln!(out, "----- {title}: {} -----", error_chain(&e));
        }
    }
}

async fn events(out: &mut String, client: &kube::Client) {
    let api: Api<Event> = Api::all(client.clone());
    match api.list(&ListParams::default()).await {
        Ok(list) => {
            let mut items = list.items;
            items.sort_by_key(|e| e.last_timestamp.clone().or_else(|| e.first_timestamp.clone()).map(|t| t.0));
            let _ = writeln!(out, "----- Events ({}) -----", items.len());
            for e in items.iter().rev().take(200).rev() {
                let _ = writeln!(
                    out,
                    "{} {} {}/{} {}: {} (x{})",
                    e.last_timestamp.as_ref().map(|t| t.0.to_string()).unwrap_or_default(),
                    e.type_.as_deref().unwrap_or("-"),
                    e.involved_object.kind.as_deref().unwrap_or("-"),
                    e.involved_object.name.as_deref().unwrap_or("-"),
                    e.reason.as_deref().unwrap_or("-"),
                    e.message.as_deref().unwrap_or(""),
                    e.count.unwrap_or(1),
                );
            }
        }
        Err(e) => {
            let _ = writeln!(out, "----- Events: {} -----", error_chain(&e));
        }
    }
}
