//! Changes made on the cloud side, and what the cloud looks like, through aliyun-fake's admin API (`/_fake/`):
//! adding, stopping, starting and deleting instances, reading route tables and the call log.

use std::time::Duration;

use serde_json::Value;

use crate::error::{Context as _, Error, Result};
use crate::stack::Stack;

/// One route entry of a route table, as `/_fake/state` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeRoute {
    /// `rte-...`.
    pub route_entry_id: String,
    /// Destination CIDR block.
    pub destination: String,
    /// `System` or `Custom`.
    pub entry_type: String,
    /// `Instance`, `NetworkInterface`, `local`, `service`...
    pub next_hop_type: String,
    /// Next hop id (empty for system routes).
    pub next_hop_id: String,
    /// `Pending`, `Available`, `Deleting`...
    pub status: String,
}

impl FakeRoute {
    fn from_state(v: &Value) -> Self {
        let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        FakeRoute {
            route_entry_id: text("route_entry_id"),
            destination: text("destination_cidr_block"),
            entry_type: text("entry_type"),
            next_hop_type: text("next_hop_type"),
            next_hop_id: text("next_hop_id"),
            status: text("status"),
        }
    }
}

impl Stack {
    /// Sends `method /_fake/<path>` with an optional JSON body; the answer as JSON. An error status is an error
    /// carrying the fake's message.
    pub async fn fake_admin_send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<Value> {
        let url = format!("{}/_fake/{path}", self.fake_endpoint()?);
        let what = format!("{method} {url}");
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .context("building an HTTP client")?;
        let mut request = client.request(method, &url);
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        let resp = request.send().await.context(what.clone())?;
        let status = resp.status();
        let bytes = resp.bytes().await.context(format!("reading the answer of {what}"))?;
        if !status.is_success() {
            return Err(Error::Other(format!("{what}: {status}: {}", String::from_utf8_lossy(&bytes))));
        }
        serde_json::from_slice(&bytes).context(format!("decoding the answer of {what}"))
    }

    /// `POST /_fake/<path>` with a JSON body.
    pub async fn fake_admin_post(&self, path: &str, body: &Value) -> Result<Value> {
        self.fake_admin_send(reqwest::Method::POST, path, Some(body)).await
    }

    /// Adds an instance (a seed instance: `{"id", "hostname", "vswitch", "type", "private_ip", "public_ip", "eip",
    /// "ipv6", "tags", "status"}`); returns its id.
    pub async fn add_fake_instance(&self, seed: &Value) -> Result<String> {
        let answer = self.fake_admin_post("instances", seed).await?;
        answer["InstanceId"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| Error::Format { context: "POST /_fake/instances".into(), message: answer.to_string() })
    }

    /// Adds an in-use ENI of no instance (as an ECI pod on a virtual-kubelet node has), with the next free
    /// address of the first vSwitch; returns its id and address.
    pub async fn add_fake_eni(&self, description: &str) -> Result<(String, String)> {
        let answer = self.fake_admin_post("enis", &serde_json::json!({ "description": description })).await?;
        let field = |name: &str| answer[name].as_str().map(str::to_owned);
        field("NetworkInterfaceId")
            .zip(field("PrivateIpAddress"))
            .ok_or_else(|| Error::Format { context: "POST /_fake/enis".into(), message: answer.to_string() })
    }

    /// Stops an instance on the cloud side (status `Stopped`).
    pub async fn stop_fake_instance(&self, id: &str) -> Result<()> {
        self.fake_admin_send(reqwest::Method::POST, &format!("instances/{id}/stop"), None).await.map(drop)
    }

    /// Starts an instance on the cloud side (status `Running`).
    pub async fn start_fake_instance(&self, id: &str) -> Result<()> {
        self.fake_admin_send(reqwest::Method::POST, &format!("instances/{id}/start"), None).await.map(drop)
    }

    /// Deletes an instance on the cloud side (its ENI and private IP are released; routes to it stay).
    pub async fn delete_fake_instance(&self, id: &str) -> Result<()> {
        self.fake_admin_send(reqwest::Method::DELETE, &format!("instances/{id}"), None).await.map(drop)
    }

    /// Changes how the fake behaves: `{"route_entry_delay_ms": N, "route_entry_quota": N}` (`PUT /_fake/behaviour`).
    pub async fn set_fake_behaviour(&self, change: &Value) -> Result<Value> {
        self.fake_admin_send(reqwest::Method::PUT, "behaviour", Some(change)).await
    }

    /// One instance of `/_fake/state` as JSON (`None` when it does not exist).
    pub async fn fake_instance(&self, id: &str) -> Result<Option<Value>> {
        let state = self.fake_state().await?;
        Ok(state["instances"].get(id).cloned())
    }

    /// The entries of route table `table_id`, in creation order.
    pub async fn fake_routes(&self, table_id: &str) -> Result<Vec<FakeRoute>> {
        let state = self.fake_state().await?;
        let table = state["route_tables"].get(table_id).ok_or_else(|| Error::Format {
            context: "/_fake/state".into(),
            message: format!("no route table {table_id}"),
        })?;
        Ok(table["entries"].as_array().map(|a| a.iter().map(FakeRoute::from_state).collect()).unwrap_or_default())
    }

    /// The fake's call log (`total`, `byAction`, `byCode`, `calls[]`).
    pub async fn fake_calls(&self) -> Result<Value> {
        self.fake_admin_get("calls").await
    }

    /// Forgets the fake's call log.
    pub async fn reset_fake_calls(&self) -> Result<()> {
        self.fake_admin_send(reqwest::Method::POST, "reset-calls", None).await.map(drop)
    }
}
