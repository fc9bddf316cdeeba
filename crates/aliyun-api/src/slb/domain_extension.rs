//! Domain extensions: additional certificates of an HTTPS listener, chosen by SNI domain.
//!
//! The action that adds one is `CreateDomainExtension` (there is no `AddDomainExtension` in API `2014-05-15`).

use serde::Deserialize;

use super::RequestIdResponse;
use crate::lenient;
use crate::{endpoint::Product, params::Params, request::ApiRequest};

/// Adds a domain with its own certificate to an HTTPS listener (`CreateDomainExtension`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreateDomainExtension {
    /// `LoadBalancerId`.
    pub load_balancer_id: String,
    /// `ListenerPort` of the HTTPS listener.
    pub listener_port: u16,
    /// `Domain`.
    pub domain: String,
    /// `ServerCertificateId`.
    pub server_certificate_id: Option<String>,
}

impl ApiRequest for CreateDomainExtension {
    type Response = CreateDomainExtensionResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "CreateDomainExtension";

    fn to_params(&self, p: &mut Params) {
        p.set("LoadBalancerId", &self.load_balancer_id)
            .set("ListenerPort", self.listener_port.to_string())
            .set("Domain", &self.domain)
            .opt_str("ServerCertificateId", self.server_certificate_id.as_deref());
    }
}

/// Response of [`CreateDomainExtension`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateDomainExtensionResponse {
    /// Request ID.
    pub request_id: String,
    /// The new domain extension's ID (`de-…`).
    pub domain_extension_id: String,
    /// Listener port.
    #[serde(deserialize_with = "lenient::number")]
    pub listener_port: u16,
}

/// Lists the domain extensions of an HTTPS listener (`DescribeDomainExtensions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DescribeDomainExtensions {
    /// `LoadBalancerId`.
    pub load_balancer_id: String,
    /// `ListenerPort`.
    pub listener_port: u16,
    /// `DomainExtensionId` filter.
    pub domain_extension_id: Option<String>,
}

impl DescribeDomainExtensions {
    /// Lists the domain extensions of the HTTPS listener on `listener_port`.
    pub fn new(load_balancer_id: impl Into<String>, listener_port: u16) -> Self {
        Self { load_balancer_id: load_balancer_id.into(), listener_port, domain_extension_id: None }
    }
}

impl ApiRequest for DescribeDomainExtensions {
    type Response = DescribeDomainExtensionsResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "DescribeDomainExtensions";

    fn to_params(&self, p: &mut Params) {
        p.set("LoadBalancerId", &self.load_balancer_id)
            .set("ListenerPort", self.listener_port.to_string())
            .opt_str("DomainExtensionId", self.domain_extension_id.as_deref());
    }
}

/// Response of [`DescribeDomainExtensions`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeDomainExtensionsResponse {
    /// Request ID.
    pub request_id: String,
    /// The domain extensions (`DomainExtensions.DomainExtension[]`).
    #[serde(deserialize_with = "lenient::list")]
    pub domain_extensions: Vec<DomainExtension>,
}

/// One domain extension.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DomainExtension {
    /// ID (`de-…`).
    pub domain_extension_id: String,
    /// Domain.
    pub domain: String,
    /// Certificate served for the domain.
    pub server_certificate_id: String,
}

/// Replaces the certificate of a domain extension (`SetDomainExtensionAttribute`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetDomainExtensionAttribute {
    /// `DomainExtensionId`.
    pub domain_extension_id: String,
    /// `ServerCertificateId`: the new certificate.
    pub server_certificate_id: Option<String>,
}

impl ApiRequest for SetDomainExtensionAttribute {
    type Response = RequestIdResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "SetDomainExtensionAttribute";

    fn to_params(&self, p: &mut Params) {
        p.set("DomainExtensionId", &self.domain_extension_id)
            .opt_str("ServerCertificateId", self.server_certificate_id.as_deref());
    }

    /// Sets a target certificate: repeating the call leaves the same state.
    fn idempotent(&self) -> bool {
        true
    }
}

/// Deletes a domain extension (`DeleteDomainExtension`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteDomainExtension {
    /// `DomainExtensionId`.
    pub domain_extension_id: String,
}

impl ApiRequest for DeleteDomainExtension {
    type Response = RequestIdResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "DeleteDomainExtension";

    fn to_params(&self, p: &mut Params) {
        p.set("DomainExtensionId", &self.domain_extension_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params<R: ApiRequest>(r: &R) -> Vec<(String, String)> {
        let mut p = Params::new();
        r.to_params(&mut p);
        p.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
    }

    fn pairs(want: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut v: Vec<_> = want.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        v.sort();
        v
    }

    #[test]
    fn requests() {
        let r = CreateDomainExtension {
            load_balancer_id: "lb-bp1b6c08ex0000".into(),
            listener_port: 443,
            domain: "www.example.com".into(),
            server_certificate_id: Some("cert-2".into()),
        };
        assert_eq!(
            params(&r),
            pairs(&[
                ("Domain", "www.example.com"),
                ("ListenerPort", "443"),
                ("LoadBalancerId", "lb-bp1b6c08ex0000"),
                ("ServerCertificateId", "cert-2"),
            ])
        );
        assert!(!r.idempotent());

        let r = DescribeDomainExtensions {
            domain_extension_id: Some("de-bp1rp7ta10000".into()),
            ..DescribeDomainExtensions::new("lb-bp1b6c08ex0000", 443)
        };
        assert_eq!(
            params(&r),
            pairs(&[
                ("DomainExtensionId", "de-bp1rp7ta10000"),
                ("ListenerPort", "443"),
                ("LoadBalancerId", "lb-bp1b6c08ex0000"),
            ])
        );
        assert!(r.idempotent());

        let r = SetDomainExtensionAttribute {
            domain_extension_id: "de-1".into(),
            server_certificate_id: Some("cert-3".into()),
        };
        assert_eq!(params(&r), pairs(&[("DomainExtensionId", "de-1"), ("ServerCertificateId", "cert-3")]));
        assert!(r.idempotent());

        let r = DeleteDomainExtension { domain_extension_id: "de-1".into() };
        assert_eq!(params(&r), pairs(&[("DomainExtensionId", "de-1")]));
        assert!(!r.idempotent());
    }

    #[test]
    fn parses_domain_extensions() {
        let r: DescribeDomainExtensionsResponse = serde_json::from_str(
            r#"{"RequestId":"48C1B671-C6DB-4DDE-9B30-10557E36CDE0","DomainExtensions":{"DomainExtension":[
                {"DomainExtensionId":"de-bp1rp7ta1****","Domain":"www.example.com",
                 "ServerCertificateId":"1231579085529123_166f8204689_1714763408_70998****"}]}}"#,
        )
        .unwrap();
        assert_eq!(r.domain_extensions[0].domain_extension_id, "de-bp1rp7ta1****");
        let r: DescribeDomainExtensionsResponse =
            serde_json::from_str(r#"{"RequestId":"x","DomainExtensions":{"DomainExtension":[]}}"#).unwrap();
        assert!(r.domain_extensions.is_empty());
        let r: CreateDomainExtensionResponse =
            serde_json::from_str(r#"{"RequestId":"x","ListenerPort":443,"DomainExtensionId":"de-1"}"#).unwrap();
        assert_eq!((r.listener_port, r.domain_extension_id.as_str()), (443, "de-1"));
    }
}
