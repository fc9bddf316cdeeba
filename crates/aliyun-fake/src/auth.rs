//! Request authentication as the OpenAPI gateway does it: RPC (HMAC-SHA1,
//! `SignatureVersion=1.0`) and V3 (`ACS3-HMAC-SHA256`) signature
//! verification, timestamp window, nonce replay, and STS tokens.
//!
//! This is an independent implementation of the canonicalisation in the
//! reference (§1.2-§1.5, §2.2-§2.4); it shares no code with any client signer.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Digest as _;

use crate::form::percent_encode;
use crate::state::CloudState;
use crate::wire::ApiFault;

/// How far a request timestamp may be from the fake's clock, either way.
pub const TIMESTAMP_WINDOW: Duration = Duration::from_secs(15 * 60);
/// The V3 signature algorithm name.
pub const ACS3: &str = "ACS3-HMAC-SHA256";
/// Headers every V3 request must sign.
pub const V3_REQUIRED_SIGNED: [&str; 6] =
    ["host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"];

/// Who made an authenticated call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// AccessKeyId used (long-term or STS).
    pub access_key_id: String,
    /// Account the key belongs to.
    pub account_id: String,
    /// The assumed role, for STS credentials.
    pub role_arn: Option<String>,
}

/// The RPC canonicalized query string (§1.2): every parameter but
/// `Signature`, sorted by name, percent-encoded, joined with `&`.
pub fn rpc_canonical_query(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .filter(|(k, _)| k.as_str() != "Signature")
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The RPC string to sign (§1.3): `METHOD&%2F&` + encoded canonical query.
pub fn rpc_string_to_sign(method: &str, params: &BTreeMap<String, String>) -> String {
    format!("{method}&{}&{}", percent_encode("/"), percent_encode(&rpc_canonical_query(params)))
}

/// Base64 HMAC-SHA1 of the string to sign with key `secret&`.
pub fn rpc_signature(secret: &str, string_to_sign: &str) -> String {
    let mut mac =
        Hmac::<sha1::Sha1>::new_from_slice(format!("{secret}&").as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The parsed `Authorization: ACS3-HMAC-SHA256 Credential=..,SignedHeaders=..,Signature=..` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Authorization {
    /// AccessKeyId from `Credential=`.
    pub access_key_id: String,
    /// Lowercased signed header names, as listed.
    pub signed_headers: Vec<String>,
    /// Lowercase hex signature.
    pub signature: String,
}

impl V3Authorization {
    /// Parses the header value; `None` when it is not a well-formed ACS3 value.
    pub fn parse(value: &str) -> Option<Self> {
        let rest = value.strip_prefix(ACS3)?.strip_prefix(' ')?;
        let mut credential = None;
        let mut signed = None;
        let mut signature = None;
        for part in rest.split(',') {
            let (k, v) = part.trim().split_once('=')?;
            match k {
                "Credential" => credential = Some(v.to_string()),
                "SignedHeaders" => signed = Some(v),
                "Signature" => signature = Some(v.to_string()),
                _ => return None,
            }
        }
        Some(Self {
            access_key_id: credential.filter(|c| !c.is_empty())?,
            signed_headers: signed?.split(';').filter(|h| !h.is_empty()).map(str::to_ascii_lowercase).collect(),
            signature: signature?,
        })
    }
}

/// Inputs of a V3 canonical request.
#[derive(Debug, Clone)]
pub struct V3Parts<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// URL path (`/` when empty).
    pub path: &'a str,
    /// Decoded query parameters.
    pub query: &'a BTreeMap<String, String>,
    /// Request headers: lowercased name to every value received.
    pub headers: &'a BTreeMap<String, Vec<String>>,
    /// Names of the headers to include (lowercase).
    pub signed_headers: &'a [String],
    /// The `x-acs-content-sha256` value.
    pub payload_hash: &'a str,
}

/// The V3 canonical request (§2.2).
pub fn v3_canonical_request(parts: &V3Parts<'_>) -> String {
    let path = if parts.path.is_empty() { "/" } else { parts.path };
    let query = parts
        .query
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut names: Vec<&str> = parts.signed_headers.iter().map(String::as_str).collect();
    names.sort_unstable();
    names.dedup();
    let mut canonical_headers = String::new();
    for name in &names {
        let mut values: Vec<&str> =
            parts.headers.get(*name).map(|vs| vs.iter().map(|v| v.trim()).collect()).unwrap_or_default();
        values.sort_unstable();
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    format!("{}\n{path}\n{query}\n{canonical_headers}\n{}\n{}", parts.method, names.join(";"), parts.payload_hash)
}

/// The V3 string to sign: algorithm name and the hex SHA-256 of the canonical request.
pub fn v3_string_to_sign(canonical_request: &str) -> String {
    format!("{ACS3}\n{}", sha256_hex(canonical_request.as_bytes()))
}

/// Lowercase hex HMAC-SHA256 with the raw secret as key.
pub fn v3_signature(secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

/// Signature nonces seen within the replay window.
#[derive(Debug, Default)]
pub struct NonceCache {
    seen: HashMap<String, Instant>,
    order: VecDeque<(Instant, String)>,
}

impl NonceCache {
    /// Records `nonce` at `now`; `false` if it was already used within the window.
    pub fn record(&mut self, nonce: &str, now: Instant) -> bool {
        self.expire(now);
        if self.seen.contains_key(nonce) {
            return false;
        }
        self.seen.insert(nonce.to_string(), now);
        self.order.push_back((now, nonce.to_string()));
        true
    }

    fn expire(&mut self, now: Instant) {
        while let Some((at, _)) = self.order.front() {
            if now.saturating_duration_since(*at) <= TIMESTAMP_WINDOW {
                break;
            }
            if let Some((_, nonce)) = self.order.pop_front() {
                self.seen.remove(&nonce);
            }
        }
    }
}

/// Finds the secret of `access_key_id`, checking the STS token when the
/// key is temporary.
pub fn secret_for(
    state: &CloudState,
    access_key_id: &str,
    security_token: Option<&str>,
) -> Result<(String, Caller), ApiFault> {
    if let Some(key) = state.access_keys.get(access_key_id) {
        if security_token.is_some_and(|t| !t.is_empty()) {
            return Err(token_mismatch());
        }
        let caller =
            Caller { access_key_id: key.access_key_id.clone(), account_id: key.account_id.clone(), role_arn: None };
        return Ok((key.access_key_secret.clone(), caller));
    }
    let Some(sts) = state.sts_credentials.get(access_key_id) else {
        return Err(ApiFault::not_found("InvalidAccessKeyId.NotFound", "Specified access key is not found."));
    };
    match security_token {
        None | Some("") => {
            return Err(ApiFault::bad_request("MissingSecurityToken", "SecurityToken is mandatory for this action."));
        }
        Some(t) if t != sts.security_token => return Err(token_mismatch()),
        Some(_) => {}
    }
    if unix_seconds(state.wall_now()) >= sts.expires_at_unix {
        return Err(ApiFault::bad_request("InvalidSecurityToken.Expired", "Specified SecurityToken is expired."));
    }
    let caller = Caller {
        access_key_id: sts.access_key_id.clone(),
        account_id: sts.account_id.clone(),
        role_arn: Some(sts.role_arn.clone()),
    };
    Ok((sts.access_key_secret.clone(), caller))
}

fn token_mismatch() -> ApiFault {
    ApiFault::bad_request(
        "InvalidSecurityToken.MismatchWithAccessKey",
        "Specified SecurityToken mismatch with the AccessKey.",
    )
}

/// Seconds since the Unix epoch.
pub fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Parses `yyyy-MM-ddTHH:mm:ssZ` into seconds since the epoch.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || b[19] != b'Z' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i32> {
        let s = text.get(from..to)?;
        s.bytes().all(|c| c.is_ascii_digit()).then(|| s.parse().ok())?
    };
    let month = time::Month::try_from(u8::try_from(num(5, 7)?).ok()?).ok()?;
    let date = time::Date::from_calendar_date(num(0, 4)?, month, u8::try_from(num(8, 10)?).ok()?).ok()?;
    let clock = time::Time::from_hms(
        u8::try_from(num(11, 13)?).ok()?,
        u8::try_from(num(14, 16)?).ok()?,
        u8::try_from(num(17, 19)?).ok()?,
    )
    .ok()?;
    Some(time::PrimitiveDateTime::new(date, clock).assume_utc().unix_timestamp())
}

/// Checks a request timestamp against `now`. The verifier passes the real
/// wall clock, not the fake's (advancing the fake's clock moves resource
/// timers and STS expiry, not the signature window).
pub fn check_timestamp(text: &str, now: SystemTime) -> Result<(), ApiFault> {
    let at = parse_timestamp(text).ok_or_else(|| {
        ApiFault::bad_request("InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
    })?;
    let now = unix_seconds(now) as i64;
    if (now - at).unsigned_abs() > TIMESTAMP_WINDOW.as_secs() {
        return Err(ApiFault::bad_request(
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    Ok(())
}

/// The `SignatureDoesNotMatch` fault echoing the server's string to sign.
pub fn signature_mismatch(string_to_sign: &str) -> ApiFault {
    ApiFault::bad_request(
        "SignatureDoesNotMatch",
        format!("Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"),
    )
}

/// A used nonce.
pub fn nonce_used() -> ApiFault {
    ApiFault::bad_request("SignatureNonceUsed", "Specified signature nonce was used already.")
}

fn incomplete(detail: &str) -> ApiFault {
    ApiFault::bad_request(
        "IncompleteSignature",
        format!("The request signature does not conform to Aliyun standards. {detail}"),
    )
}

/// Verifies an RPC-signed call (§1.5). `params` are the decoded, merged
/// query and form parameters.
pub fn verify_rpc(
    state: &CloudState,
    nonces: &mut NonceCache,
    method: &str,
    params: &BTreeMap<String, String>,
) -> Result<Caller, ApiFault> {
    let get = |name: &str| params.get(name).map(String::as_str);
    for name in ["AccessKeyId", "Signature", "SignatureNonce", "Timestamp", "SignatureMethod"] {
        if get(name).is_none_or(str::is_empty) {
            return Err(ApiFault::missing(name));
        }
    }
    if get("SignatureMethod") != Some("HMAC-SHA1") {
        return Err(incomplete("SignatureMethod must be HMAC-SHA1."));
    }
    if get("SignatureVersion") != Some("1.0") {
        return Err(incomplete("SignatureVersion must be 1.0."));
    }
    let access_key_id = get("AccessKeyId").unwrap_or_default();
    let (secret, caller) = secret_for(state, access_key_id, get("SecurityToken"))?;
    let string_to_sign = rpc_string_to_sign(method, params);
    let expected = rpc_signature(&secret, &string_to_sign);
    if !constant_time_eq(&expected, get("Signature").unwrap_or_default()) {
        return Err(signature_mismatch(&string_to_sign));
    }
    check_timestamp(get("Timestamp").unwrap_or_default(), SystemTime::now())?;
    if !nonces.record(get("SignatureNonce").unwrap_or_default(), state.now()) {
        return Err(nonce_used());
    }
    Ok(caller)
}

/// Everything the V3 verifier needs from the HTTP request.
#[derive(Debug, Clone)]
pub struct V3Request<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// URL path.
    pub path: &'a str,
    /// Decoded query parameters.
    pub query: &'a BTreeMap<String, String>,
    /// Lowercased header name to every value.
    pub headers: &'a BTreeMap<String, Vec<String>>,
    /// Raw body.
    pub body: &'a [u8],
}

impl V3Request<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.first()).map(String::as_str)
    }
}

/// Verifies a V3-signed call (§2.4).
pub fn verify_v3(state: &CloudState, nonces: &mut NonceCache, req: &V3Request<'_>) -> Result<Caller, ApiFault> {
    let auth = req
        .header("authorization")
        .and_then(V3Authorization::parse)
        .ok_or_else(|| incomplete("The Authorization header is malformed."))?;
    for name in V3_REQUIRED_SIGNED {
        if !auth.signed_headers.iter().any(|h| h == name) || req.header(name).is_none() {
            return Err(incomplete(&format!("Header {name} must be present and signed.")));
        }
    }
    let token = req.header("x-acs-security-token");
    if token.is_some() && !auth.signed_headers.iter().any(|h| h == "x-acs-security-token") {
        return Err(incomplete("Header x-acs-security-token must be signed."));
    }
    let (secret, caller) = secret_for(state, &auth.access_key_id, token)?;
    let payload_hash = req.header("x-acs-content-sha256").unwrap_or_default();
    let parts = V3Parts {
        method: req.method,
        path: req.path,
        query: req.query,
        headers: req.headers,
        signed_headers: &auth.signed_headers,
        payload_hash,
    };
    let string_to_sign = v3_string_to_sign(&v3_canonical_request(&parts));
    let expected = v3_signature(&secret, &string_to_sign);
    if !constant_time_eq(&expected, &auth.signature) {
        return Err(signature_mismatch(&string_to_sign));
    }
    if payload_hash != sha256_hex(req.body) {
        let mut fault = signature_mismatch(&string_to_sign);
        fault.message = format!("The x-acs-content-sha256 header does not match the request body. {}", fault.message);
        return Err(fault);
    }
    check_timestamp(req.header("x-acs-date").unwrap_or_default(), SystemTime::now())?;
    let nonce = req.header("x-acs-signature-nonce").unwrap_or_default();
    if nonce.is_empty() || !nonces.record(nonce, state.now()) {
        return Err(nonce_used());
    }
    Ok(caller)
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn v1_official_rpc_vector() {
        let p = params(&[
            ("AccessKeyId", "testid"),
            ("Action", "DescribeDedicatedHosts"),
            ("Format", "JSON"),
            ("RegionId", "cn-beijing"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "edb2b34af0af9a6d14deaf7c1a5315eb"),
            ("SignatureVersion", "1.0"),
            ("Timestamp", "2023-03-13T08:34:30Z"),
            ("Version", "2014-05-26"),
            ("Signature", "ignored"),
        ]);
        assert_eq!(
            rpc_canonical_query(&p),
            "AccessKeyId=testid&Action=DescribeDedicatedHosts&Format=JSON&RegionId=cn-beijing&SignatureMethod=HMAC-SHA1&SignatureNonce=edb2b34af0af9a6d14deaf7c1a5315eb&SignatureVersion=1.0&Timestamp=2023-03-13T08%3A34%3A30Z&Version=2014-05-26"
        );
        let sts = rpc_string_to_sign("GET", &p);
        assert_eq!(
            sts,
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeDedicatedHosts%26Format%3DJSON%26RegionId%3Dcn-beijing%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3Dedb2b34af0af9a6d14deaf7c1a5315eb%26SignatureVersion%3D1.0%26Timestamp%3D2023-03-13T08%253A34%253A30Z%26Version%3D2014-05-26"
        );
        assert_eq!(rpc_signature("testsecret", &sts), "9NaGiOspFP5UPcwX8Iwt2YJXXuk=");
        let post = rpc_string_to_sign("POST", &p);
        assert_eq!(rpc_signature("testsecret", &post), "ZvQ9xGiFnquSJRvj+WE6kdSpTwU=");
    }

    #[test]
    fn v2_classic_describe_regions_vector() {
        let p = params(&[
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Format", "XML"),
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("Version", "2014-05-26"),
            ("SignatureVersion", "1.0"),
        ]);
        let get = rpc_string_to_sign("GET", &p);
        assert_eq!(rpc_signature("testsecret", &get), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
        let post = rpc_string_to_sign("POST", &p);
        assert_eq!(rpc_signature("testsecret", &post), "MxbnVAM4w6sft9xjVpe/GCKueuk=");
    }

    #[test]
    fn v3_go_sdk_vector_with_empty_values() {
        let mut p = params(&[
            ("AccessKeyId", "accessKeyId"),
            ("Action", ""),
            ("Format", "JSON"),
            ("RegionId", "regionId"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "MOCK_UUID"),
            ("SignatureType", ""),
            ("SignatureVersion", "1.0"),
            ("Timestamp", "mock date"),
            ("Version", ""),
        ]);
        let sts = rpc_string_to_sign("GET", &p);
        assert_eq!(
            sts,
            "GET&%2F&AccessKeyId%3DaccessKeyId%26Action%3D%26Format%3DJSON%26RegionId%3DregionId%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3DMOCK_UUID%26SignatureType%3D%26SignatureVersion%3D1.0%26Timestamp%3Dmock%2520date%26Version%3D"
        );
        assert_eq!(rpc_signature("accessKeySecret", &sts), "7loPmFjvDnzOVnQeQNj85S6nFGY=");
        p.insert("SecurityToken".into(), "accessKeyStsToken".into());
        let sts = rpc_string_to_sign("GET", &p);
        assert_eq!(rpc_signature("accessKeySecret", &sts), "5Nxdcler+ihqWqv0Hr2On4PsBf4=");
    }

    #[test]
    fn v8_official_acs3_vector() {
        let query =
            params(&[("ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"), ("RegionId", "cn-shanghai")]);
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(sha256_hex(b""), empty);
        let headers: BTreeMap<String, Vec<String>> = [
            ("host", "ecs.cn-shanghai.aliyuncs.com"),
            ("x-acs-action", "RunInstances"),
            ("x-acs-content-sha256", empty),
            ("x-acs-date", "2023-10-26T10:22:32Z"),
            ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
            ("x-acs-version", "2014-05-26"),
            ("user-agent", "not signed"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
        .collect();
        let auth = V3Authorization::parse("ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0").unwrap();
        assert_eq!(auth.access_key_id, "YourAccessKeyId");
        let canonical = v3_canonical_request(&V3Parts {
            method: "POST",
            path: "/",
            query: &query,
            headers: &headers,
            signed_headers: &auth.signed_headers,
            payload_hash: empty,
        });
        assert_eq!(
            sha256_hex(canonical.as_bytes()),
            "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
        );
        let sts = v3_string_to_sign(&canonical);
        assert_eq!(v3_signature("YourAccessKeySecret", &sts), auth.signature);
    }

    #[test]
    fn v9_sdk_vector_merges_header_case_variants() {
        let query = params(&[("test", "ok"), ("empty", "")]);
        // "x-acs-test: http" and "x-acs-TEST: https" arrive as one lowercased name.
        let headers: BTreeMap<String, Vec<String>> =
            [("x-acs-test".to_string(), vec!["https".to_string(), "http".to_string()])].into();
        let canonical = v3_canonical_request(&V3Parts {
            method: "",
            path: "",
            query: &query,
            headers: &headers,
            signed_headers: &["x-acs-test".to_string()],
            payload_hash: "55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23",
        });
        assert_eq!(
            canonical,
            "\n/\nempty=&test=ok\nx-acs-test:http,https\n\nx-acs-test\n55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23"
        );
        assert_eq!(
            v3_signature("secret", &v3_string_to_sign(&canonical)),
            "4ab59fffe3c5738ff8a2729f90cc04fe18b02a4b15b2102cbaf92f9ff3df2ea3"
        );
    }

    #[test]
    fn authorization_header_parsing_rejects_garbage() {
        assert!(V3Authorization::parse("ACS3-HMAC-SHA256 Credential=,SignedHeaders=a,Signature=b").is_none());
        assert!(V3Authorization::parse("Bearer x").is_none());
        assert!(V3Authorization::parse("ACS3-HMAC-SHA256 Credential=a,Bogus=1,Signature=b").is_none());
        assert!(V3Authorization::parse("ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host").is_none());
    }

    #[test]
    fn timestamps_parse_strictly() {
        assert_eq!(parse_timestamp("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(parse_timestamp("2023-11-14T22:13:20.000Z"), None);
        assert_eq!(parse_timestamp("2023-13-14T22:13:20Z"), None);
        assert_eq!(parse_timestamp("mock date"), None);
        assert_eq!(parse_timestamp("2023-11-14 22:13:20Z"), None);
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert!(check_timestamp("2023-11-14T22:13:20Z", now).is_ok());
        assert!(check_timestamp("2023-11-14T22:27:20Z", now).is_ok(), "14 min ahead");
        let late = check_timestamp("2023-11-14T21:57:19Z", now).unwrap_err();
        assert_eq!(late.code, "InvalidTimeStamp.Expired");
        let bad = check_timestamp("yesterday", now).unwrap_err();
        assert_eq!(bad.code, "InvalidTimeStamp.Format");
    }

    #[test]
    fn nonces_are_single_use_within_the_window() {
        let mut cache = NonceCache::default();
        let t0 = Instant::now();
        assert!(cache.record("n1", t0));
        assert!(!cache.record("n1", t0 + Duration::from_secs(60)));
        assert!(cache.record("n2", t0));
        assert!(cache.record("n1", t0 + TIMESTAMP_WINDOW + Duration::from_secs(1)));
    }
}
