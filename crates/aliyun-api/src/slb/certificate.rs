//! Server certificates of HTTPS listeners.

use serde::Deserialize;

use super::ResourceTag;
use crate::lenient;
use crate::{
    endpoint::Product,
    params::{Params, Tag},
    request::ApiRequest,
};

/// Lists server certificates (`DescribeServerCertificates`), or describes one with `server_certificate_id`. The
/// incumbent CCM checks that a listener's new certificate exists and has not expired before switching to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DescribeServerCertificates {
    /// `ServerCertificateId`.
    pub server_certificate_id: Option<String>,
    /// `ResourceGroupId`.
    pub resource_group_id: Option<String>,
    /// `Tag.N.Key` / `Tag.N.Value` filter.
    pub tags: Vec<Tag>,
}

impl DescribeServerCertificates {
    /// Describes one certificate.
    pub fn one(server_certificate_id: impl Into<String>) -> Self {
        Self { server_certificate_id: Some(server_certificate_id.into()), ..Self::default() }
    }
}

impl ApiRequest for DescribeServerCertificates {
    type Response = DescribeServerCertificatesResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "DescribeServerCertificates";

    fn to_params(&self, p: &mut Params) {
        p.opt_str("ServerCertificateId", self.server_certificate_id.as_deref())
            .opt_str("ResourceGroupId", self.resource_group_id.as_deref())
            .tags("Tag", &self.tags);
    }
}

/// Response of [`DescribeServerCertificates`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeServerCertificatesResponse {
    /// Request ID.
    pub request_id: String,
    /// The certificates (`ServerCertificates.ServerCertificate[]`).
    #[serde(deserialize_with = "lenient::list")]
    pub server_certificates: Vec<ServerCertificate>,
}

/// One server certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServerCertificate {
    /// Certificate ID.
    pub server_certificate_id: String,
    /// Name.
    pub server_certificate_name: String,
    /// Fingerprint.
    pub fingerprint: String,
    /// Common name.
    pub common_name: String,
    /// Subject alternative names (`SubjectAlternativeNames.SubjectAlternativeName[]`).
    #[serde(deserialize_with = "lenient::string_list")]
    pub subject_alternative_names: Vec<String>,
    /// Expiry (`2025-01-01T00:00Z`).
    pub expire_time: String,
    /// Expiry in milliseconds since the epoch.
    #[serde(deserialize_with = "lenient::number")]
    pub expire_time_stamp: i64,
    /// Upload time.
    pub create_time: String,
    /// Upload time in milliseconds since the epoch.
    #[serde(deserialize_with = "lenient::number")]
    pub create_time_stamp: i64,
    /// Region.
    pub region_id: String,
    /// Resource group ID.
    pub resource_group_id: String,
    /// Whether the certificate comes from Alibaba Cloud Certificate Management Service (`1`/`0` on the wire).
    #[serde(deserialize_with = "lenient::boolean")]
    pub is_ali_cloud_certificate: bool,
    /// Its ID there.
    pub ali_cloud_certificate_id: String,
    /// Its name there.
    pub ali_cloud_certificate_name: String,
    /// Tags (`Tags.Tag[]`).
    #[serde(deserialize_with = "lenient::list")]
    pub tags: Vec<ResourceTag>,
}

impl ServerCertificate {
    /// Whether the certificate has expired at `now_ms` (milliseconds since the epoch); unknown expiry counts as
    /// not expired.
    pub fn is_expired_at(&self, now_ms: i64) -> bool {
        self.expire_time_stamp > 0 && self.expire_time_stamp <= now_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_params() {
        let mut p = Params::new();
        DescribeServerCertificates::one("139a00604ad-cn-east-hangzhou-01").to_params(&mut p);
        assert_eq!(p.iter().collect::<Vec<_>>(), [("ServerCertificateId", "139a00604ad-cn-east-hangzhou-01")]);
        let mut p = Params::new();
        DescribeServerCertificates::default().to_params(&mut p);
        assert!(p.is_empty());
        assert!(DescribeServerCertificates::default().idempotent());
    }

    #[test]
    fn parses_certificates() {
        let r: DescribeServerCertificatesResponse = serde_json::from_str(
            r#"{"RequestId":"DF2B2A6E","ServerCertificates":{"ServerCertificate":[
                {"ServerCertificateId":"139a00604ad-cn-east-hangzhou-01","ServerCertificateName":"web",
                 "Fingerprint":"68:08:1a:f8:8d","CommonName":"www.example.com",
                 "SubjectAlternativeNames":{"SubjectAlternativeName":["www.example.com","example.com"]},
                 "ExpireTime":"2025-12-31T00:00Z","ExpireTimeStamp":1767139200000,
                 "CreateTime":"2024-01-01T00:00Z","CreateTimeStamp":1704067200000,"RegionId":"cn-hangzhou",
                 "IsAliCloudCertificate":0,"AliCloudCertificateId":"","AliCloudCertificateName":"",
                 "Tags":{"Tag":[]}},
                {"ServerCertificateId":"cas-1","IsAliCloudCertificate":1,"SubjectAlternativeNames":{}}
            ]}}"#,
        )
        .unwrap();
        let c = &r.server_certificates[0];
        assert_eq!(c.common_name, "www.example.com");
        assert_eq!(c.subject_alternative_names, ["www.example.com", "example.com"]);
        assert!(!c.is_ali_cloud_certificate);
        assert!(c.is_expired_at(1_767_139_200_000));
        assert!(!c.is_expired_at(1_767_139_199_999));
        assert!(r.server_certificates[1].is_ali_cloud_certificate);
        assert!(r.server_certificates[1].subject_alternative_names.is_empty());

        let empty: DescribeServerCertificatesResponse =
            serde_json::from_str(r#"{"RequestId":"x","ServerCertificates":{"ServerCertificate":[]}}"#).unwrap();
        assert!(empty.server_certificates.is_empty());
    }
}
