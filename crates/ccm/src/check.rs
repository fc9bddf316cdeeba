//! `cloud-controller-manager check`: the first thing an operator runs. Reads the cloud-config, resolves the
//! region, VPC and credentials (saying which source, never a secret), then calls each read-only API action the
//! enabled controllers need, once, and prints per action `OK` or what is wrong — for a refusal, the RAM
//! permission to grant. The write actions are listed (they cannot be checked without changing something).

use std::fmt::Write as _;

use aliyun_api::{
    Client, Error as ApiError, Product, RawRequest, credentials::CredentialsProvider as _, ecs::DescribeInstances,
    slb::DescribeLoadBalancers, vpc::DescribeRouteTableList,
};

use crate::{
    cloud::{self, Cloud},
    cloud_config::CloudConfig,
    flags::Settings,
    wiring::{self, Unit},
};

/// The result of one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The call succeeded.
    Ok,
    /// The call failed; the text says why and what to do.
    Failed(String),
    /// Not called; the text says why.
    Skipped(String),
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    /// `ecs:DescribeInstances`.
    pub action: String,
    /// The controllers needing it.
    pub needed_by: Vec<&'static str>,
    /// What happened.
    pub verdict: Verdict,
}

/// What an API failure means to an operator.
pub fn explain(product: Product, action: &str, error: &ApiError, network_vpc: bool) -> String {
    let permission = format!("{}:{action}", product.code());
    if let Some(api) = error.api() {
        let code = api.code.as_str();
        let detail = format!("{}: {} (RequestId {})", api.code, api.message, api.request_id);
        if code.starts_with("Forbidden")
            || code.contains("NoPermission")
            || code.starts_with("Unauthorized")
            || code == "NotAuthorized"
            || (api.status == 403 && !code.starts_with("InvalidAccessKeyId") && !code.contains("Signature"))
        {
            return format!(
                "missing RAM permission `{permission}`: grant it to the credentials' RAM user or role — {detail}"
            );
        }
        if code.starts_with("InvalidAccessKeyId")
            || code.contains("Signature")
            || code.starts_with("InvalidSecurityToken")
            || code == "InvalidAccessKeySecret"
        {
            return format!("the credentials were refused: {detail}");
        }
        return detail;
    }
    match error {
        ApiError::Transport { .. } | ApiError::DeadlineExceeded { .. } if network_vpc => format!(
            "{error}; with --network=vpc (the default) the API is reached through VPC-internal endpoints, which \
             only answer inside the VPC: run on ECS, or pass --network=public"
        ),
        ApiError::Credentials(e) => format!("no credentials: {e}"),
        other => other.to_string(),
    }
}

fn verdict<T>(result: &Result<T, ApiError>, product: Product, action: &str, network_vpc: bool) -> Verdict {
    match result {
        Ok(_) => Verdict::Ok,
        Err(e) => Verdict::Failed(explain(product, action, e, network_vpc)),
    }
}

/// The write actions each controller needs (listed, not called).
fn writes(unit: Unit, settings: &Settings) -> Vec<&'static str> {
    match unit {
        Unit::Node if settings.skip_disable_source_dest_check => vec![],
        Unit::Node => vec!["ecs:ModifyNetworkInterfaceAttribute"],
        Unit::Route => {
            vec!["vpc:CreateRouteEntry", "vpc:DeleteRouteEntry", "vpc:CreateRouteEntries", "vpc:DeleteRouteEntries"]
        }
        Unit::Service => vec![
            "slb:CreateLoadBalancer",
            "slb:DeleteLoadBalancer",
            "slb:SetLoadBalancerDeleteProtection",
            "slb:SetLoadBalancerModificationProtection",
            "slb:SetLoadBalancerName",
            "slb:ModifyLoadBalancerInstanceSpec",
            "slb:ModifyLoadBalancerInternetSpec",
            "slb:TagResources",
            "slb:UntagResources",
            "slb:CreateLoadBalancerTCPListener (and UDP, HTTP, HTTPS)",
            "slb:SetLoadBalancerTCPListenerAttribute (and UDP, HTTP, HTTPS)",
            "slb:StartLoadBalancerListener",
            "slb:StopLoadBalancerListener",
            "slb:DeleteLoadBalancerListener",
            "slb:CreateVServerGroup",
            "slb:DeleteVServerGroup",
            "slb:SetVServerGroupAttribute",
            "slb:AddVServerGroupBackendServers",
            "slb:RemoveVServerGroupBackendServers",
            "slb:CreateAccessControlList (and the other *AccessControlList* actions, for source ranges)",
        ],
    }
}

struct Prober<'a> {
    client: &'a Client,
    network_vpc: bool,
    results: Vec<ProbeResult>,
}

impl Prober<'_> {
    fn record(&mut self, product: Product, action: &str, needed_by: &[&'static str], verdict: Verdict) {
        let name = format!("{}:{action}", product.code());
        if let Some(existing) = self.results.iter_mut().find(|r| r.action == name) {
            for n in needed_by {
                if !existing.needed_by.contains(n) {
                    existing.needed_by.push(n);
                }
            }
            return;
        }
        self.results.push(ProbeResult { action: name, needed_by: needed_by.to_vec(), verdict });
    }

    fn done(&self, product: Product, action: &str) -> bool {
        let name = format!("{}:{action}", product.code());
        self.results.iter().any(|r| r.action == name)
    }

    async fn raw(&mut self, request: RawRequest, needed_by: &[&'static str]) {
        if self.done(request.product, &request.action) {
            self.record(request.product, &request.action, needed_by, Verdict::Ok);
            return;
        }
        let result = self.client.call_raw(&request).await;
        let v = verdict(&result, request.product, &request.action, self.network_vpc);
        self.record(request.product, &request.action, needed_by, v);
    }
}

/// Runs the probes of `units` against `cloud`; `config` gives the route tables to read.
pub async fn probe(cloud: &Cloud, config: &CloudConfig, settings: &Settings, units: &[Unit]) -> Vec<ProbeResult> {
    let network_vpc = settings.network == crate::flags::NetworkFlag::Vpc;
    let mut p = Prober { client: &cloud.client, network_vpc, results: Vec::new() };
    let vpc = cloud.vpc_id.as_ref().map(|(v, _)| v.clone());
    let no_vpc = || {
        Verdict::Skipped(format!("no VPC ID ({}); set Global.vpcid", cloud.vpc_error.as_deref().unwrap_or("unknown")))
    };

    for unit in units {
        let by: &[&'static str] = &[unit.name()];
        match unit {
            Unit::Node => {
                let request = DescribeInstances { vpc_id: vpc.clone(), max_results: Some(10), ..Default::default() };
                if !p.done(Product::Ecs, "DescribeInstances") {
                    let result = p.client.call(&request).await;
                    let v = verdict(&result, Product::Ecs, "DescribeInstances", network_vpc);
                    p.record(Product::Ecs, "DescribeInstances", by, v);
                } else {
                    p.record(Product::Ecs, "DescribeInstances", by, Verdict::Ok);
                }
                if !settings.skip_disable_source_dest_check {
                    let mut r = RawRequest::new(Product::Ecs, "DescribeNetworkInterfaces").param("MaxResults", "10");
                    if let Some(vpc) = &vpc {
                        r = r.param("VpcId", vpc);
                    }
                    p.raw(r, by).await;
                }
            }
            Unit::Route => {
                let Some(vpc) = vpc.clone() else {
                    for action in ["DescribeRouteTableList", "DescribeRouteEntryList", "DescribeVSwitches"] {
                        p.record(Product::Vpc, action, by, no_vpc());
                    }
                    continue;
                };
                let tables = p.client.call(&DescribeRouteTableList::of_vpc(&vpc)).await;
                let v = verdict(&tables, Product::Vpc, "DescribeRouteTableList", network_vpc);
                p.record(Product::Vpc, "DescribeRouteTableList", by, v);
                let table = config.route_table_ids.first().cloned().or_else(|| {
                    tables.ok().and_then(|t| {
                        t.router_table_list.router_table_list_type.first().map(|t| t.route_table_id.clone())
                    })
                });
                match table {
                    Some(table) => {
                        let r = RawRequest::new(Product::Vpc, "DescribeRouteEntryList")
                            .param("RouteTableId", table)
                            .param("MaxResult", "10");
                        p.raw(r, by).await;
                    }
                    None => p.record(
                        Product::Vpc,
                        "DescribeRouteEntryList",
                        by,
                        Verdict::Skipped("no route table found to read".into()),
                    ),
                }
                p.raw(
                    RawRequest::new(Product::Vpc, "DescribeVSwitches").param("VpcId", &vpc).param("PageSize", "10"),
                    by,
                )
                .await;
            }
            Unit::Service => {
                let request = DescribeLoadBalancers { page_number: Some(1), page_size: Some(10), ..Default::default() };
                let lbs = p.client.call(&request).await;
                let v = verdict(&lbs, Product::Slb, "DescribeLoadBalancers", network_vpc);
                p.record(Product::Slb, "DescribeLoadBalancers", by, v);
                let first = lbs.ok().and_then(|r| r.load_balancers.first().map(|lb| lb.load_balancer_id.clone()));
                // The reads the service controller makes of a load balancer it found (attributes and tags come
                // with DescribeLoadBalancers).
                for action in ["DescribeVServerGroups", "DescribeLoadBalancerListeners"] {
                    match &first {
                        Some(id) => {
                            let request = match action {
                                "DescribeLoadBalancerListeners" => {
                                    RawRequest::new(Product::Slb, action).param("LoadBalancerId.1", id)
                                }
                                _ => RawRequest::new(Product::Slb, action).param("LoadBalancerId", id),
                            };
                            p.raw(request, by).await;
                        }
                        None => p.record(
                            Product::Slb,
                            action,
                            by,
                            Verdict::Skipped("no load balancer in the region to read".into()),
                        ),
                    }
                }
                match &vpc {
                    Some(vpc) => {
                        p.raw(
                            RawRequest::new(Product::Vpc, "DescribeVSwitches")
                                .param("VpcId", vpc)
                                .param("PageSize", "10"),
                            by,
                        )
                        .await;
                    }
                    None => p.record(Product::Vpc, "DescribeVSwitches", by, no_vpc()),
                }
                p.raw(RawRequest::new(Product::Vpc, "DescribeEipAddresses").param("PageSize", "10"), by).await;
                let mut r = RawRequest::new(Product::Ecs, "DescribeNetworkInterfaces").param("MaxResults", "10");
                if let Some(vpc) = &vpc {
                    r = r.param("VpcId", vpc);
                }
                p.raw(r, by).await;
            }
        }
    }
    p.results
}

/// Masks an AccessKey ID for display: `LTAI****wxyz`.
pub fn mask_key_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 8 {
        return "****".into();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// Formats the report; `Ok(true)` when every probe passed.
pub fn render(results: &[ProbeResult], writes: &[(&'static str, Vec<&'static str>)]) -> (bool, String) {
    let mut out = String::new();
    let width = results.iter().map(|r| r.action.len()).max().unwrap_or(0);
    let mut failed = 0;
    for r in results {
        let (tag, detail) = match &r.verdict {
            Verdict::Ok => ("OK  ", String::new()),
            Verdict::Failed(why) => {
                failed += 1;
                ("FAIL", format!(" — {why}"))
            }
            Verdict::Skipped(why) => ("SKIP", format!(" — {why}")),
        };
        let _ = writeln!(out, "  {tag} {:width$}  ({}){detail}", r.action, r.needed_by.join(", "));
    }
    if !writes.is_empty() {
        let _ = writeln!(out, "write actions the enabled controllers also need (not called by check):");
        for (action, by) in writes {
            let _ = writeln!(out, "  {action}  ({})", by.join(", "));
        }
    }
    let _ = if failed == 0 {
        writeln!(out, "result: all {} checks passed", results.len())
    } else {
        writeln!(out, "result: {failed} of {} checks failed", results.len())
    };
    (failed == 0, out)
}

/// The `check` subcommand. Returns the process exit status (0 all good, 1 something failed).
pub async fn run(settings: Settings) -> i32 {
    let mut out = String::new();
    macro_rules! say {
        ($($t:tt)*) => {{ let _ = writeln!(out, $($t)*); }};
    }
    let fail = |out: String, message: String| {
        print!("{out}");
        println!("FAIL {message}");
        1
    };
    let config = match cloud::load_cloud_config(&settings) {
        Ok(c) => c,
        Err(e) => return fail(out, format!("{e:#}")),
    };
    match &settings.cloud_config {
        Some(path) => say!(
            "cloud-config: {} ({}, {} warning(s))",
            path.display(),
            if config.is_yaml { "YAML" } else { "JSON" },
            config.warnings.len()
        ),
        None => say!("cloud-config: none (--cloud-config not given)"),
    }
    for w in &config.warnings {
        say!("  warning: {w}");
    }
    say!("cluster ID: {}", config.cluster_id());
    let units = match wiring::units(&settings.controllers) {
        Ok(u) => u,
        Err(e) => return fail(out, e.to_string()),
    };
    say!(
        "controllers: {}",
        if units.is_empty() {
            "none".to_owned()
        } else {
            units.iter().map(|u| u.name()).collect::<Vec<_>>().join(", ")
        }
    );
    let cloud = match cloud::connect(&settings, &config, Default::default()).await {
        Ok(c) => c,
        Err(e) => return fail(out, format!("{e:#}")),
    };
    say!("region: {} (from {})", cloud.region.0, cloud.region.1);
    match &cloud.vpc_id {
        Some((vpc, source)) => say!("VPC: {vpc} (from {source})"),
        None => say!("VPC: unknown ({})", cloud.vpc_error.as_deref().unwrap_or("")),
    }
    let endpoints = cloud.client.endpoints();
    say!(
        "endpoints: ecs {}, vpc {}, slb {}",
        endpoints.base_url(Product::Ecs),
        endpoints.base_url(Product::Vpc),
        endpoints.base_url(Product::Slb)
    );
    match cloud.credentials.credentials().await {
        Ok(c) => say!(
            "credentials: {} (AccessKey ID {}{})",
            cloud.credentials.chosen().unwrap_or("unknown"),
            mask_key_id(&c.access_key_id),
            if c.security_token.is_some() { ", temporary STS credentials" } else { "" }
        ),
        Err(e) => return fail(out, format!("credentials: {e}")),
    }
    say!("read actions:");
    let results = probe(&cloud, &config, &settings, &units).await;
    let mut write_list: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for unit in &units {
        for w in writes(*unit, &settings) {
            match write_list.iter_mut().find(|(a, _)| *a == w) {
                Some((_, by)) => by.push(unit.name()),
                None => write_list.push((w, vec![unit.name()])),
            }
        }
    }
    let (ok, report) = render(&results, &write_list);
    print!("{out}{report}");
    i32::from(!ok)
}

#[cfg(test)]
mod tests {
    use aliyun_api::ApiError as Api;

    use super::*;

    fn api_error(status: u16, code: &str) -> ApiError {
        ApiError::Api {
            product: "vpc",
            action: "DescribeRouteTableList".into(),
            source: Box::new(Api {
                status,
                code: code.into(),
                message: "User not authorized to operate on the specified resource.".into(),
                request_id: "RID-1".into(),
                host_id: String::new(),
                recommend: String::new(),
                retry_after: None,
            }),
        }
    }

    #[test]
    fn refusals_name_the_missing_permission() {
        for code in ["Forbidden.RAM", "Forbidden", "NoPermission", "Forbidden.NoPermission"] {
            let text = explain(Product::Vpc, "DescribeRouteTableList", &api_error(403, code), true);
            assert!(text.starts_with("missing RAM permission `vpc:DescribeRouteTableList`"), "{code}: {text}");
            assert!(text.contains("RID-1"), "{text}");
        }
        let text = explain(Product::Vpc, "X", &api_error(400, "InvalidAccessKeyId.NotFound"), true);
        assert!(text.starts_with("the credentials were refused"), "{text}");
        let text = explain(Product::Vpc, "X", &api_error(400, "SignatureDoesNotMatch"), true);
        assert!(text.starts_with("the credentials were refused"), "{text}");
        let text = explain(Product::Vpc, "X", &api_error(400, "InvalidParameter"), true);
        assert!(text.starts_with("InvalidParameter"), "{text}");
    }

    #[test]
    fn the_report_counts_failures() {
        let results = vec![
            ProbeResult { action: "ecs:DescribeInstances".into(), needed_by: vec!["node"], verdict: Verdict::Ok },
            ProbeResult {
                action: "vpc:DescribeRouteTableList".into(),
                needed_by: vec!["route"],
                verdict: Verdict::Failed("missing RAM permission `vpc:DescribeRouteTableList`".into()),
            },
            ProbeResult {
                action: "slb:DescribeVServerGroups".into(),
                needed_by: vec!["service"],
                verdict: Verdict::Skipped("no load balancer".into()),
            },
        ];
        let (ok, text) = render(&results, &[("vpc:CreateRouteEntry", vec!["route"])]);
        assert!(!ok);
        assert!(text.contains("  OK   ecs:DescribeInstances       (node)"), "{text}");
        assert!(text.contains("  FAIL vpc:DescribeRouteTableList  (route) — missing RAM permission"), "{text}");
        assert!(text.contains("SKIP slb:DescribeVServerGroups"), "{text}");
        assert!(text.contains("vpc:CreateRouteEntry  (route)"), "{text}");
        assert!(text.ends_with("result: 1 of 3 checks failed\n"), "{text}");
        let (ok, text) = render(&results[..1], &[]);
        assert!(ok && text.ends_with("result: all 1 checks passed\n"));
    }

    #[test]
    fn key_ids_are_masked() {
        assert_eq!(mask_key_id("LTAI5tAbcdefgh1234"), "LTAI****1234");
        assert_eq!(mask_key_id("short"), "****");
    }
}
