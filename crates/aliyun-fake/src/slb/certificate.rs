//! Server certificates: seeding, upload, describe, rename and delete.
//!
//! Uploaded PEM certificates are read with a small DER walker (subject
//! common name, subject alternative DNS names, notAfter) so that
//! `DescribeServerCertificates` reports what a client such as the Go CCM
//! checks before binding a certificate (existence and expiry).

use std::time::{Duration, SystemTime};

use base64::Engine;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use super::common::{DEFAULT_RESOURCE_GROUP, certificate_not_found, comma_list, created_now};
use super::{ServerCertificate, SlbState, ok_empty, tags};
use crate::state::{CloudState, format_rfc3339};
use crate::wire::{ApiFault, Ids, Request};

/// What to seed a server certificate with (see [`SlbState::seed_certificate`]).
#[derive(Debug, Clone)]
pub struct CertificateSeed {
    /// Fixed id; generated when `None`.
    pub id: Option<String>,
    /// Certificate name.
    pub name: String,
    /// Subject common name.
    pub common_name: String,
    /// Subject alternative names.
    pub subject_alternative_names: Vec<String>,
    /// Expiry, epoch milliseconds; one year from now when `None`.
    pub expire_time_stamp: Option<i64>,
}

impl CertificateSeed {
    /// A certificate named `name` for `common_name`, valid for a year.
    pub fn new(name: impl Into<String>, common_name: impl Into<String>) -> Self {
        Self {
            id: None,
            name: name.into(),
            common_name: common_name.into(),
            subject_alternative_names: Vec::new(),
            expire_time_stamp: None,
        }
    }

    /// Uses a fixed id.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the subject alternative names.
    pub fn with_sans(mut self, sans: Vec<String>) -> Self {
        self.subject_alternative_names = sans;
        self
    }

    /// Sets the expiry (epoch milliseconds; a past value makes an expired certificate).
    pub fn expiring_at(mut self, epoch_ms: i64) -> Self {
        self.expire_time_stamp = Some(epoch_ms);
        self
    }
}

const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);

fn epoch_ms(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn format_ms(ms: i64) -> String {
    let t = u64::try_from(ms)
        .ok()
        .and_then(|ms| SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(ms)))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    format_rfc3339(t)
}

/// Server certificate ids look like `<account>_<hex>_<digits>_<digits>` in the
/// real API; the fake uses `<account>_<20 alphanumerics>`.
fn new_id(ids: &mut Ids, account_id: &str) -> String {
    ids.next(&format!("{account_id}_"))
}

/// Account id used in the ids of seeded certificates (the fake's default account).
const SEED_ACCOUNT: &str = "1234567890123456";

fn fingerprint(der: &[u8]) -> String {
    let digest = Sha1::digest(der);
    digest.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

pub(crate) fn seed(slb: &mut SlbState, ids: &mut Ids, seed: CertificateSeed) -> String {
    let now = SystemTime::now();
    let id = seed.id.unwrap_or_else(|| new_id(ids, SEED_ACCOUNT));
    let expire = seed.expire_time_stamp.unwrap_or_else(|| epoch_ms(now + YEAR));
    let seq = slb.next_seq();
    let fp = fingerprint(format!("{}/{}", id, seed.common_name).as_bytes());
    slb.server_certificates.insert(
        id.clone(),
        ServerCertificate {
            server_certificate_id: id.clone(),
            server_certificate_name: seed.name,
            fingerprint: fp,
            common_name: seed.common_name,
            subject_alternative_names: seed.subject_alternative_names,
            create_time: format_rfc3339(now),
            create_time_stamp: epoch_ms(now),
            expire_time: format_ms(expire),
            expire_time_stamp: expire,
            resource_group_id: DEFAULT_RESOURCE_GROUP.into(),
            is_ali_cloud_certificate: false,
            ali_cloud_certificate_id: String::new(),
            ali_cloud_certificate_name: String::new(),
            tags: Vec::new(),
            seq,
        },
    );
    id
}

/// What the DER walker found in a certificate.
#[derive(Debug, Default, PartialEq, Eq)]
struct CertInfo {
    common_name: String,
    sans: Vec<String>,
    not_after_ms: i64,
}

/// One DER element: (tag, content, rest).
fn tlv(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = data.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

fn elements(mut data: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    while let Some((tag, content, rest)) = tlv(data) {
        out.push((tag, content));
        data = rest;
    }
    out
}

const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];

fn parse_time(tag: u8, content: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(content).ok()?.trim_end_matches('Z');
    let (year, rest) = match tag {
        0x17 => {
            let yy: i32 = s.get(0..2)?.parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, s.get(2..)?)
        }
        0x18 => (s.get(0..4)?.parse().ok()?, s.get(4..)?),
        _ => return None,
    };
    let num = |r: std::ops::Range<usize>| rest.get(r).and_then(|v| v.parse::<u8>().ok());
    let month = time::Month::try_from(num(0..2)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, num(2..4)?).ok()?;
    let clock = time::Time::from_hms(num(4..6)?, num(6..8)?, num(8..10).unwrap_or(0)).ok()?;
    let secs = time::PrimitiveDateTime::new(date, clock).assume_utc().unix_timestamp();
    Some(secs * 1000)
}

fn parse_der(der: &[u8]) -> Option<CertInfo> {
    let (_, cert, _) = tlv(der)?;
    let (_, tbs, _) = tlv(cert)?;
    let mut fields = elements(tbs).into_iter().peekable();
    if fields.peek().is_some_and(|(tag, _)| *tag == 0xa0) {
        fields.next(); // version
    }
    let _serial = fields.next()?;
    let _signature = fields.next()?;
    let _issuer = fields.next()?;
    let (_, validity) = fields.next()?;
    let times = elements(validity);
    let (tag, not_after) = times.get(1)?;
    let not_after_ms = parse_time(*tag, not_after)?;
    let (_, subject) = fields.next()?;
    let mut info = CertInfo { not_after_ms, ..CertInfo::default() };
    for (_, set) in elements(subject) {
        for (_, attribute) in elements(set) {
            let parts = elements(attribute);
            if let [(0x06, oid), (_, value)] = parts.as_slice()
                && *oid == OID_CN
            {
                info.common_name = String::from_utf8_lossy(value).into_owned();
            }
        }
    }
    for (tag, content) in fields {
        if tag != 0xa3 {
            continue;
        }
        let Some((_, exts, _)) = tlv(content) else {
            continue;
        };
        for (_, ext) in elements(exts) {
            let parts = elements(ext);
            let Some((0x06, oid)) = parts.first() else {
                continue;
            };
            if *oid != OID_SAN {
                continue;
            }
            if let Some((0x04, octets)) = parts.last()
                && let Some((_, names, _)) = tlv(octets)
            {
                info.sans.extend(
                    elements(names)
                        .into_iter()
                        .filter(|(t, _)| *t == 0x82)
                        .map(|(_, n)| String::from_utf8_lossy(n).into_owned()),
                );
            }
        }
    }
    Some(info)
}

/// The DER bytes of the first `CERTIFICATE` block of a PEM text.
fn pem_der(pem: &str) -> Option<Vec<u8>> {
    let start = pem.find("-----BEGIN CERTIFICATE-----")? + "-----BEGIN CERTIFICATE-----".len();
    let end = pem[start..].find("-----END CERTIFICATE-----")? + start;
    let body: String = pem[start..end].chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

/// `UploadServerCertificate` (a PEM certificate and key, or a certificate
/// from Certificate Management by `AliCloudCertificateId`).
pub(crate) fn upload(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let name = req.get("ServerCertificateName").unwrap_or("").to_string();
    let ali_id = req.get("AliCloudCertificateId").filter(|v| !v.is_empty()).map(str::to_string);
    let tags = tags::from_params(req, state.slb.limits.tags_per_resource)?;
    let (create_time, create_time_stamp) = created_now(state);
    let (info, fp) = match &ali_id {
        Some(id) => {
            let info = CertInfo {
                common_name: req.get("AliCloudCertificateName").unwrap_or(id).to_string(),
                sans: Vec::new(),
                not_after_ms: create_time_stamp + YEAR.as_millis() as i64,
            };
            (info, fingerprint(id.as_bytes()))
        }
        None => {
            let pem = req.required("ServerCertificate")?;
            let key = req.required("PrivateKey")?;
            // guess: the exact codes for malformed certificate material are undocumented.
            let der =
                pem_der(pem).ok_or_else(|| ApiFault::invalid("ServerCertificate", "It is not a PEM certificate."))?;
            let info = parse_der(&der)
                .ok_or_else(|| ApiFault::invalid("ServerCertificate", "The certificate cannot be parsed."))?;
            if !key.contains("PRIVATE KEY-----") {
                return Err(ApiFault::invalid("PrivateKey", "It is not a PEM private key."));
            }
            (info, fingerprint(&der))
        }
    };
    let account = state.account_id.clone();
    let id = new_id(&mut state.ids, &account);
    let seq = state.slb.next_seq();
    let cert = ServerCertificate {
        server_certificate_id: id.clone(),
        server_certificate_name: name,
        fingerprint: fp,
        common_name: info.common_name,
        subject_alternative_names: info.sans,
        create_time,
        create_time_stamp,
        expire_time: format_ms(info.not_after_ms),
        expire_time_stamp: info.not_after_ms,
        resource_group_id: req
            .get("ResourceGroupId")
            .filter(|r| !r.is_empty())
            .unwrap_or(DEFAULT_RESOURCE_GROUP)
            .to_string(),
        is_ali_cloud_certificate: ali_id.is_some(),
        ali_cloud_certificate_id: ali_id.clone().unwrap_or_default(),
        ali_cloud_certificate_name: req.get("AliCloudCertificateName").unwrap_or("").to_string(),
        tags,
        seq,
    };
    let mut out = certificate_json(&cert, &state.region_id);
    if let Some(m) = out.as_object_mut() {
        m.remove("Tags");
    }
    state.slb.server_certificates.insert(id, cert);
    Ok(out)
}

fn certificate_json(c: &ServerCertificate, region: &str) -> Value {
    json!({
        "ServerCertificateId": c.server_certificate_id,
        "ServerCertificateName": c.server_certificate_name,
        "Fingerprint": c.fingerprint,
        "CommonName": c.common_name,
        "SubjectAlternativeNames": { "SubjectAlternativeName": c.subject_alternative_names },
        "CreateTime": c.create_time,
        "CreateTimeStamp": c.create_time_stamp,
        "ExpireTime": c.expire_time,
        "ExpireTimeStamp": c.expire_time_stamp,
        "RegionId": region,
        "ResourceGroupId": c.resource_group_id,
        "IsAliCloudCertificate": i32::from(c.is_ali_cloud_certificate),
        "AliCloudCertificateId": c.ali_cloud_certificate_id,
        "AliCloudCertificateName": c.ali_cloud_certificate_name,
        "Tags": tags::wrapped(&c.tags),
    })
}

/// `DescribeServerCertificates` (optionally by comma-separated ids).
pub(crate) fn describe_many(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let ids = req.get("ServerCertificateId").map(comma_list).unwrap_or_default();
    let group = req.get("ResourceGroupId").filter(|g| !g.is_empty());
    let tag_filter = tags::filter_from_params(req);
    let mut certs: Vec<&ServerCertificate> = state
        .slb
        .server_certificates
        .values()
        .filter(|c| ids.is_empty() || ids.contains(&c.server_certificate_id))
        .filter(|c| group.is_none_or(|g| g == c.resource_group_id))
        .filter(|c| tags::matches(&c.tags, &tag_filter))
        .collect();
    certs.sort_by_key(|c| c.seq);
    let items: Vec<Value> = certs.iter().map(|c| certificate_json(c, &state.region_id)).collect();
    Ok(json!({ "ServerCertificates": { "ServerCertificate": items } }))
}

/// `SetServerCertificateName`.
pub(crate) fn set_name(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let id = req.required("ServerCertificateId")?;
    let name = req.required("ServerCertificateName")?.to_string();
    let c = state.slb.server_certificates.get_mut(id).ok_or_else(certificate_not_found)?;
    c.server_certificate_name = name;
    ok_empty()
}

/// `DeleteServerCertificate`: refused while an HTTPS listener or a domain
/// extension uses the certificate.
pub(crate) fn delete(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let id = req.required("ServerCertificateId")?.to_string();
    if !state.slb.server_certificates.contains_key(&id) {
        return Err(certificate_not_found());
    }
    let by_listener = state.slb.load_balancers.values().any(|lb| {
        lb.listeners
            .iter()
            .any(|l| l.attributes.get("ServerCertificateId").and_then(Value::as_str) == Some(id.as_str()))
    });
    let by_extension = state.slb.domain_extensions.values().any(|d| d.server_certificate_id == id);
    if by_listener || by_extension {
        // guess: code and text of the in-use error are undocumented.
        return Err(ApiFault::bad_request("ServerCertificate.InUse", "The specified server certificate is in use."));
    }
    state.slb.server_certificates.remove(&id);
    ok_empty()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    /// A self-signed certificate for `fake.example` (SAN `fake.example`,
    /// `*.fake.example`), notAfter 2034-01-01T00:00:00Z, built by hand in DER.
    fn test_certificate_pem() -> String {
        fn der(tag: u8, content: &[u8]) -> Vec<u8> {
            let mut out = vec![tag];
            let n = content.len();
            if n < 0x80 {
                out.push(n as u8);
            } else if n < 0x100 {
                out.extend([0x81, n as u8]);
            } else {
                out.extend([0x82, (n >> 8) as u8, n as u8]);
            }
            out.extend_from_slice(content);
            out
        }
        let cn = der(0x31, &der(0x30, &[der(0x06, OID_CN), der(0x0c, b"fake.example")].concat()));
        let name = der(0x30, &cn);
        let validity = der(0x30, &[der(0x17, b"240101000000Z"), der(0x17, b"340101000000Z")].concat());
        let alg = der(0x30, &der(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]));
        let spki = der(0x30, &[alg.clone(), der(0x03, &[0x00, 0x04, 0x01])].concat());
        let names = der(0x30, &[der(0x82, b"fake.example"), der(0x82, b"*.fake.example")].concat());
        let san = der(0x30, &[der(0x06, OID_SAN), der(0x04, &names)].concat());
        let exts = der(0xa3, &der(0x30, &san));
        let tbs = der(
            0x30,
            &[der(0xa0, &der(0x02, &[2])), der(0x02, &[1]), alg.clone(), name.clone(), validity, name, spki, exts]
                .concat(),
        );
        let cert = der(0x30, &[tbs, alg, der(0x03, &[0x00, 0x01])].concat());
        let b64 = base64::engine::general_purpose::STANDARD.encode(cert);
        format!("-----BEGIN CERTIFICATE-----\n{b64}\n-----END CERTIFICATE-----\n")
    }

    #[test]
    fn upload_reads_the_certificate() {
        let mut s = cloud();
        let pem = test_certificate_pem();
        let out = call(
            &mut s,
            "UploadServerCertificate",
            &[
                ("ServerCertificate", &pem),
                ("PrivateKey", "-----BEGIN RSA PRIVATE KEY-----\nAA==\n-----END RSA PRIVATE KEY-----"),
                ("ServerCertificateName", "site"),
            ],
        )
        .unwrap();
        assert_eq!(out["CommonName"], "fake.example");
        assert_eq!(out["ExpireTime"], "2034-01-01T00:00:00Z");
        assert_eq!(out["ExpireTimeStamp"], 2_019_686_400_000i64);
        assert_eq!(out["SubjectAlternativeNames"]["SubjectAlternativeName"][1], "*.fake.example");
        assert_eq!(out["Fingerprint"].as_str().unwrap().split(':').count(), 20);
        let id = out["ServerCertificateId"].as_str().unwrap().to_string();
        let listed = call(&mut s, "DescribeServerCertificates", &[("ServerCertificateId", &id)]).unwrap();
        let c = &listed["ServerCertificates"]["ServerCertificate"][0];
        assert_eq!(c["ServerCertificateName"], "site");
        assert_eq!(c["IsAliCloudCertificate"], 0);
        assert_eq!(c["RegionId"], "cn-hangzhou");

        let err = call(&mut s, "UploadServerCertificate", &[("ServerCertificate", "junk"), ("PrivateKey", "junk")])
            .unwrap_err();
        assert!(err.message.contains("ServerCertificate"));
    }

    /// A certificate made by openssl (P-256, CN and SANs `fake.example`,
    /// `*.fake.example`, notAfter 2126-10-30T07:54:47Z as GeneralizedTime).
    const OPENSSL_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBrjCCAVSgAwIBAgIUG3naR4S7lz/unCk+gowETLTpzc4wCgYIKoZIzj0EAwIw
FzEVMBMGA1UEAwwMZmFrZS5leGFtcGxlMCAXDTI2MTEyMzA3NTQ0N1oYDzIxMjYx
MDMwMDc1NDQ3WjAXMRUwEwYDVQQDDAxmYWtlLmV4YW1wbGUwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAASeFUGMt8+31nnH8K/D70jBK05ORKgQsiaoRxsdDHcrwyyn
oDbHZwjzVDc8/IFrWod6/ILZQT93HGyj6TRLeV2Ao3wwejAdBgNVHQ4EFgQUDIYS
XdexByqRmKZGc1wq4XD9T3EwHwYDVR0jBBgwFoAUDIYSXdexByqRmKZGc1wq4XD9
T3EwDwYDVR0TAQH/BAUwAwEB/zAnBgNVHREEIDAeggxmYWtlLmV4YW1wbGWCDiou
ZmFrZS5leGFtcGxlMAoGCCqGSM49BAMCA0gAMEUCIHf2FqdTEZR0SqV7W19XoSbo
Abtf2TV97dTHD7CRGHNEAiEA7OcGgZOW/xEZnEpJGhYXcZ6pKltoK09AHVWjLSSZ
cI0=
-----END CERTIFICATE-----
";

    #[test]
    fn openssl_certificate_is_read() {
        let der = pem_der(OPENSSL_PEM).unwrap();
        let info = parse_der(&der).unwrap();
        assert_eq!(info.common_name, "fake.example");
        assert_eq!(info.sans, vec!["fake.example", "*.fake.example"]);
        assert_eq!(format_ms(info.not_after_ms), "2126-10-30T07:54:47Z");
        // `openssl x509 -fingerprint -sha1` of the same certificate.
        assert_eq!(fingerprint(&der), "26:db:a7:50:8d:72:78:fc:76:55:a3:90:e0:e8:e6:67:d9:2a:d9:ab");
        assert!(parse_der(&der[..40]).is_none(), "truncated input is rejected, not a panic");
        assert!(format_ms(i64::MAX).ends_with('Z'), "absurd expiries do not panic");
    }

    #[test]
    fn seeded_certificates_are_listed_and_in_use_ones_kept() {
        let mut s = cloud();
        let id = s.slb.seed_certificate(
            &mut s.ids,
            CertificateSeed::new("old", "old.example").with_id("cert-old").expiring_at(1_000),
        );
        assert_eq!(id, "cert-old");
        let listed = call(&mut s, "DescribeServerCertificates", &[]).unwrap();
        let c = &listed["ServerCertificates"]["ServerCertificate"][0];
        assert_eq!(c["ExpireTimeStamp"], 1_000);
        assert_eq!(c["CommonName"], "old.example");

        let lb = create_intranet_lb(&mut s);
        call(
            &mut s,
            "CreateLoadBalancerHTTPSListener",
            &[
                ("LoadBalancerId", &lb),
                ("ListenerPort", "443"),
                ("BackendServerPort", "80"),
                ("Bandwidth", "-1"),
                ("HealthCheck", "off"),
                ("ServerCertificateId", "cert-old"),
            ],
        )
        .unwrap();
        assert!(call(&mut s, "DeleteServerCertificate", &[("ServerCertificateId", "cert-old")]).is_err());
        call(
            &mut s,
            "SetServerCertificateName",
            &[("ServerCertificateId", "cert-old"), ("ServerCertificateName", "renamed")],
        )
        .unwrap();
        assert_eq!(s.slb.server_certificates["cert-old"].server_certificate_name, "renamed");
        let err = call(&mut s, "DeleteServerCertificate", &[("ServerCertificateId", "nope")]).unwrap_err();
        assert_eq!(err.code, "ServerCertificateId.NotFound");
    }
}
