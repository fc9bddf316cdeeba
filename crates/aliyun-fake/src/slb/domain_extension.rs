//! Domain extensions: additional certificates of an HTTPS listener, chosen by
//! SNI domain.

use serde_json::{Value, json};

use super::common::{certificate_not_found, lb_not_found, listener_not_found, required_port};
use super::{DomainExtension, ok_empty};
use crate::state::CloudState;
use crate::wire::{ApiFault, Request};

/// Terraform's not-found code for domain extensions; message guessed.
fn not_found() -> ApiFault {
    ApiFault::bad_request("InvalidParameter.DomainExtensionId", "The specified DomainExtensionId does not exist.")
}

fn extension<'a>(state: &'a CloudState, req: &Request) -> Result<&'a DomainExtension, ApiFault> {
    let id = req.required("DomainExtensionId")?;
    state.slb.domain_extensions.get(id).ok_or_else(not_found)
}

/// The HTTPS listener a request names: (instance id, port).
fn https_listener(state: &CloudState, req: &Request) -> Result<(String, u16), ApiFault> {
    let lb_id = req.required("LoadBalancerId")?;
    let port = required_port(req, "ListenerPort")?;
    let lb = state.slb.load_balancers.get(lb_id).ok_or_else(lb_not_found)?;
    if !lb.listeners.iter().any(|l| l.listener_port == port && l.listener_protocol == "https") {
        return Err(listener_not_found());
    }
    Ok((lb.load_balancer_id.clone(), port))
}

/// `CreateDomainExtension`.
pub(crate) fn create(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let (lb_id, port) = https_listener(state, req)?;
    let domain = req.required("Domain")?.to_string();
    let cert = req.required("ServerCertificateId")?.to_string();
    if !state.slb.server_certificates.contains_key(&cert) {
        return Err(certificate_not_found());
    }
    if state
        .slb
        .domain_extensions
        .values()
        .any(|d| d.load_balancer_id == lb_id && d.listener_port == port && d.domain == domain)
    {
        // guess: the code for a domain already configured on the listener.
        return Err(ApiFault::bad_request("DomainExist", "The specified domain already exists."));
    }
    let id = state.ids.next("de-");
    let seq = state.slb.next_seq();
    state.slb.domain_extensions.insert(
        id.clone(),
        DomainExtension {
            domain_extension_id: id.clone(),
            load_balancer_id: lb_id,
            listener_port: port,
            domain,
            server_certificate_id: cert,
            seq,
        },
    );
    Ok(json!({ "DomainExtensionId": id, "ListenerPort": port }))
}

/// `DescribeDomainExtensions` (of one HTTPS listener, optionally one id).
pub(crate) fn describe_many(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let (lb_id, port) = https_listener(state, req)?;
    let only = req.get("DomainExtensionId").filter(|d| !d.is_empty());
    let mut found: Vec<&DomainExtension> = state
        .slb
        .domain_extensions
        .values()
        .filter(|d| d.load_balancer_id == lb_id && d.listener_port == port)
        .filter(|d| only.is_none_or(|id| id == d.domain_extension_id))
        .collect();
    found.sort_by_key(|d| d.seq);
    let items: Vec<Value> = found
        .iter()
        .map(|d| {
            json!({
                "DomainExtensionId": d.domain_extension_id,
                "Domain": d.domain,
                "ServerCertificateId": d.server_certificate_id,
            })
        })
        .collect();
    Ok(json!({ "DomainExtensions": { "DomainExtension": items } }))
}

/// `DescribeDomainExtensionAttribute`.
pub(crate) fn describe_attribute(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let d = extension(state, req)?;
    Ok(json!({
        "DomainExtensionId": d.domain_extension_id,
        "Domain": d.domain,
        "ServerCertificateId": d.server_certificate_id,
        "LoadBalancerId": d.load_balancer_id,
        "ListenerPort": d.listener_port,
    }))
}

/// `SetDomainExtensionAttribute` (replace the certificate).
pub(crate) fn set_attribute(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let id = extension(state, req)?.domain_extension_id.clone();
    let cert = req.required("ServerCertificateId")?.to_string();
    if !state.slb.server_certificates.contains_key(&cert) {
        return Err(certificate_not_found());
    }
    if let Some(d) = state.slb.domain_extensions.get_mut(&id) {
        d.server_certificate_id = cert;
    }
    ok_empty()
}

/// `DeleteDomainExtension`.
pub(crate) fn delete(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let id = extension(state, req)?.domain_extension_id.clone();
    state.slb.domain_extensions.remove(&id);
    ok_empty()
}

#[cfg(test)]
mod tests {
    use super::super::CertificateSeed;
    use super::super::test_support::*;

    #[test]
    fn domain_extension_lifecycle() {
        let mut s = cloud();
        let lb = create_intranet_lb(&mut s);
        let c1 = s.slb.seed_certificate(&mut s.ids, CertificateSeed::new("a", "a.example"));
        let c2 = s.slb.seed_certificate(&mut s.ids, CertificateSeed::new("b", "b.example"));
        // Needs an HTTPS listener.
        let err = call(
            &mut s,
            "CreateDomainExtension",
            &[("LoadBalancerId", &lb), ("ListenerPort", "443"), ("Domain", "a.example"), ("ServerCertificateId", &c1)],
        )
        .unwrap_err();
        assert!(err.message.contains("does not exist"));
        call(
            &mut s,
            "CreateLoadBalancerHTTPSListener",
            &[
                ("LoadBalancerId", &lb),
                ("ListenerPort", "443"),
                ("BackendServerPort", "80"),
                ("Bandwidth", "-1"),
                ("HealthCheck", "off"),
                ("ServerCertificateId", &c1),
            ],
        )
        .unwrap();
        let out = call(
            &mut s,
            "CreateDomainExtension",
            &[("LoadBalancerId", &lb), ("ListenerPort", "443"), ("Domain", "b.example"), ("ServerCertificateId", &c2)],
        )
        .unwrap();
        assert_eq!(out["ListenerPort"], 443);
        let id = out["DomainExtensionId"].as_str().unwrap().to_string();
        let err = call(
            &mut s,
            "CreateDomainExtension",
            &[("LoadBalancerId", &lb), ("ListenerPort", "443"), ("Domain", "b.example"), ("ServerCertificateId", &c2)],
        )
        .unwrap_err();
        assert_eq!(err.status, 400);

        call(&mut s, "SetDomainExtensionAttribute", &[("DomainExtensionId", &id), ("ServerCertificateId", &c1)])
            .unwrap();
        let attr = call(&mut s, "DescribeDomainExtensionAttribute", &[("DomainExtensionId", &id)]).unwrap();
        assert_eq!(attr["ServerCertificateId"], c1.as_str());
        assert_eq!(attr["LoadBalancerId"], lb.as_str());
        let listed =
            call(&mut s, "DescribeDomainExtensions", &[("LoadBalancerId", &lb), ("ListenerPort", "443")]).unwrap();
        assert_eq!(listed["DomainExtensions"]["DomainExtension"][0]["Domain"], "b.example");
        call(&mut s, "DeleteDomainExtension", &[("DomainExtensionId", &id)]).unwrap();
        let err = call(&mut s, "DescribeDomainExtensionAttribute", &[("DomainExtensionId", &id)]).unwrap_err();
        assert_eq!(err.code, "InvalidParameter.DomainExtensionId");
    }
}
