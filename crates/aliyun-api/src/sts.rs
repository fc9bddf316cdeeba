//! Typed STS (`2015-04-01`) calls: `AssumeRoleWithOIDC`, which trades a service-account token (RRSA) for temporary
//! credentials of a RAM role.
//!
//! The OIDC token, the returned AccessKey secret and the security token are held in [`SecretString`], so that no
//! `Debug` output of a request or response ever shows them.
//!
//! Note for the transport: the official SDKs send `AssumeRoleWithOIDC` anonymously (no signature, no AccessKeyId)
//! with the parameters in a form body; the OIDC token itself is the proof of identity.

use serde::Deserialize;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};

use crate::{
    credentials::{Credentials, SecretString},
    endpoint::Product,
    lenient,
    params::Params,
    request::ApiRequest,
};

/// Exchanges an OIDC token for temporary credentials of a RAM role (role-based SSO with OIDC; RRSA on ACK).
#[derive(Debug, Clone, PartialEq)]
pub struct AssumeRoleWithOidc {
    /// ARN of the RAM role to assume (`acs:ram::<account>:role/<name>`).
    pub role_arn: String,
    /// ARN of the OIDC identity provider (`acs:ram::<account>:oidc-provider/<name>`).
    pub oidc_provider_arn: String,
    /// The OIDC token as issued (4 to 20,000 characters; not Base64-decoded).
    pub oidc_token: SecretString,
    /// Session name, for audit logs (2 to 64 characters of letters, digits, `.`, `@`, `-`, `_`).
    pub role_session_name: String,
    /// Lifetime of the credentials in seconds: 900 up to the role's maximum session duration (the API's default
    /// is 3600).
    pub duration_seconds: Option<u32>,
    /// A policy that narrows the role's permissions for this session (1 to 2048 characters of JSON).
    pub policy: Option<String>,
}

impl AssumeRoleWithOidc {
    /// A request with the three ARNs/tokens and a session name; no duration or policy.
    pub fn new(
        role_arn: impl Into<String>,
        oidc_provider_arn: impl Into<String>,
        oidc_token: impl Into<SecretString>,
        role_session_name: impl Into<String>,
    ) -> Self {
        Self {
            role_arn: role_arn.into(),
            oidc_provider_arn: oidc_provider_arn.into(),
            oidc_token: oidc_token.into(),
            role_session_name: role_session_name.into(),
            duration_seconds: None,
            policy: None,
        }
    }
}

impl ApiRequest for AssumeRoleWithOidc {
    type Response = AssumeRoleWithOidcResponse;
    const PRODUCT: Product = Product::Sts;
    const ACTION: &'static str = "AssumeRoleWithOIDC";

    fn to_params(&self, p: &mut Params) {
        p.set("RoleArn", self.role_arn.as_str())
            .set("OIDCProviderArn", self.oidc_provider_arn.as_str())
            .set("OIDCToken", self.oidc_token.expose())
            .set("RoleSessionName", self.role_session_name.as_str())
            .opt("DurationSeconds", self.duration_seconds)
            .opt_str("Policy", self.policy.as_deref());
    }

    /// Each call only issues a fresh set of credentials and changes nothing else, so a repeat is harmless.
    fn idempotent(&self) -> bool {
        true
    }

    /// The OIDC token is the credential: STS takes this call unsigned.
    fn anonymous(&self) -> bool {
        true
    }
}

/// Answer of [`AssumeRoleWithOidc`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AssumeRoleWithOidcResponse {
    /// Request ID.
    pub request_id: String,
    /// The assumed role session.
    pub assumed_role_user: AssumedRoleUser,
    /// The temporary credentials.
    pub credentials: StsCredentials,
    /// What STS read from the OIDC token.
    #[serde(rename = "OIDCTokenInfo")]
    pub oidc_token_info: OidcTokenInfo,
}

/// `AssumedRoleUser` of an STS answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AssumedRoleUser {
    /// ARN of the role session (`acs:ram::<account>:assumed-role/<role>/<session>`).
    pub arn: String,
    /// ID of the role session (`<role id>:<session>`).
    pub assumed_role_id: String,
}

/// `Credentials` of an STS answer. `Debug` shows the AccessKey ID and expiry, never the secret or the token.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StsCredentials {
    /// AccessKey ID (`STS.` prefix).
    pub access_key_id: String,
    /// AccessKey secret.
    pub access_key_secret: SecretString,
    /// Security token, sent with every call made with these credentials.
    pub security_token: SecretString,
    /// Expiry, UTC, RFC 3339 (`2021-10-20T04:27:09Z`).
    pub expiration: String,
}

impl Default for StsCredentials {
    fn default() -> Self {
        Self {
            access_key_id: String::new(),
            access_key_secret: SecretString::new(""),
            security_token: SecretString::new(""),
            expiration: String::new(),
        }
    }
}

impl StsCredentials {
    /// The expiry as a timestamp; `None` when absent, `Err` when not RFC 3339.
    pub fn expires_at(&self) -> Result<Option<OffsetDateTime>, time::error::Parse> {
        if self.expiration.trim().is_empty() {
            return Ok(None);
        }
        OffsetDateTime::parse(self.expiration.trim(), &Rfc3339).map(Some)
    }

    /// These credentials as the client signs with them: key pair, security token and expiry.
    pub fn into_credentials(self) -> Result<Credentials, time::error::Parse> {
        let expires_at = self.expires_at()?;
        let mut credentials = Credentials::access_key(self.access_key_id, self.access_key_secret)
            .with_security_token(self.security_token);
        if let Some(at) = expires_at {
            credentials = credentials.with_expiration(at);
        }
        Ok(credentials)
    }
}

/// `OIDCTokenInfo` of an `AssumeRoleWithOIDC` answer: the claims STS verified.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct OidcTokenInfo {
    /// The token's `sub` (for a service account: `system:serviceaccount:<ns>:<name>`).
    pub subject: String,
    /// The token's `iss`.
    pub issuer: String,
    /// The token's audiences, comma-separated (a string in the API, not a list).
    #[serde(deserialize_with = "lenient::string")]
    pub client_ids: String,
    /// The token's `exp`, as STS prints it.
    pub expiration_time: String,
    /// The token's `iat`, as STS prints it.
    pub issuance_time: String,
    /// Verification result (`Success`).
    pub verification_info: String,
}

impl OidcTokenInfo {
    /// The audiences as a list.
    pub fn audiences(&self) -> Vec<&str> {
        self.client_ids.split(',').map(str::trim).filter(|a| !a.is_empty()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wyLTSmsyPGP1ohvvw8xYgB29dlGI8KMiH2pK****";
    const TOKEN: &str = "CAIShwJ1q6Ft5B2yfSjIr5bSEsj4g7BihPWGWHz****";
    const OIDC_JWT: &str = "eyJraWQiOiJKQzl3eHpyaHFKMGd0****";

    fn request() -> AssumeRoleWithOidc {
        AssumeRoleWithOidc::new(
            "acs:ram::113511544585****:role/testoidc",
            "acs:ram::113511544585****:oidc-provider/TestOidcIdp",
            OIDC_JWT,
            "TestOidcAssumedRoleSession",
        )
    }

    #[test]
    fn params_are_the_documented_names() {
        let mut r = request();
        r.duration_seconds = Some(3600);
        r.policy = Some(String::new());
        let mut p = Params::new();
        r.to_params(&mut p);
        assert_eq!(
            p.iter().collect::<Vec<_>>(),
            vec![
                ("DurationSeconds", "3600"),
                ("OIDCProviderArn", "acs:ram::113511544585****:oidc-provider/TestOidcIdp"),
                ("OIDCToken", OIDC_JWT),
                ("RoleArn", "acs:ram::113511544585****:role/testoidc"),
                ("RoleSessionName", "TestOidcAssumedRoleSession"),
            ]
        );
        assert_eq!(<AssumeRoleWithOidc as ApiRequest>::ACTION, "AssumeRoleWithOIDC");
        assert_eq!(<AssumeRoleWithOidc as ApiRequest>::PRODUCT.version(), "2015-04-01");
        assert!(r.idempotent());
    }

    #[test]
    fn request_debug_hides_the_oidc_token() {
        let shown = format!("{:?}", request());
        assert!(shown.contains("TestOidcAssumedRoleSession"));
        assert!(!shown.contains(OIDC_JWT), "{shown}");
    }

    const ANSWER: &str = r#"{
      "RequestId": "3D57EAD2-8723-1F26-B69C-F8707D8B565D",
      "OIDCTokenInfo": {
        "Subject": "system:serviceaccount:kube-system:cloud-controller-manager",
        "Issuer": "https://oidc-ack-cn-hangzhou.oss-cn-hangzhou-internal.aliyuncs.com/c1234",
        "ClientIds": "sts.aliyuncs.com, other",
        "ExpirationTime": "2021-10-20T05:27:09Z",
        "IssuanceTime": "2021-10-20T04:27:09Z",
        "VerificationInfo": "Success"
      },
      "AssumedRoleUser": {
        "AssumedRoleId": "33157794895460****:TestOidcAssumedRoleSession",
        "Arn": "acs:ram::113511544585****:assumed-role/testoidc/TestOidcAssumedRoleSession"
      },
      "Credentials": {
        "SecurityToken": "CAIShwJ1q6Ft5B2yfSjIr5bSEsj4g7BihPWGWHz****",
        "Expiration": "2021-10-20T04:27:09Z",
        "AccessKeySecret": "wyLTSmsyPGP1ohvvw8xYgB29dlGI8KMiH2pK****",
        "AccessKeyId": "STS.NT6qKAGPHHiwPfVb9kQJ****"
      }
    }"#;

    #[test]
    fn response_parses_and_converts_to_client_credentials() {
        let r: AssumeRoleWithOidcResponse = serde_json::from_str(ANSWER).unwrap();
        assert_eq!(r.request_id, "3D57EAD2-8723-1F26-B69C-F8707D8B565D");
        assert_eq!(r.assumed_role_user.assumed_role_id, "33157794895460****:TestOidcAssumedRoleSession");
        assert!(r.assumed_role_user.arn.ends_with("assumed-role/testoidc/TestOidcAssumedRoleSession"));
        assert_eq!(r.credentials.access_key_id, "STS.NT6qKAGPHHiwPfVb9kQJ****");
        assert_eq!(r.credentials.access_key_secret.expose(), SECRET);
        assert_eq!(r.credentials.security_token.expose(), TOKEN);
        assert_eq!(r.oidc_token_info.subject, "system:serviceaccount:kube-system:cloud-controller-manager");
        assert_eq!(r.oidc_token_info.audiences(), vec!["sts.aliyuncs.com", "other"]);
        assert_eq!(r.oidc_token_info.verification_info, "Success");

        let expiry = r.credentials.expires_at().unwrap().unwrap();
        assert_eq!(expiry.unix_timestamp(), 1_634_704_029);
        let c = r.credentials.into_credentials().unwrap();
        assert_eq!(c.access_key_id, "STS.NT6qKAGPHHiwPfVb9kQJ****");
        assert_eq!(c.access_key_secret.expose(), SECRET);
        assert_eq!(c.security_token.as_ref().map(SecretString::expose), Some(TOKEN));
        assert_eq!(c.expiration, Some(expiry));
    }

    #[test]
    fn debug_redacts_secret_and_token() {
        let r: AssumeRoleWithOidcResponse = serde_json::from_str(ANSWER).unwrap();
        let shown = format!("{r:?} {:?}", r.credentials);
        assert!(shown.contains("STS.NT6qKAGPHHiwPfVb9kQJ****"));
        assert!(shown.contains("2021-10-20T04:27:09Z"));
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(!shown.contains(TOKEN), "{shown}");
    }

    #[test]
    fn missing_fields_and_bad_expiry() {
        let r: AssumeRoleWithOidcResponse = serde_json::from_str(r#"{"RequestId":"r"}"#).unwrap();
        assert_eq!(r.credentials.expires_at().unwrap(), None);
        assert!(r.credentials.access_key_secret.expose().is_empty());
        let bad = StsCredentials { expiration: "tomorrow".into(), ..StsCredentials::default() };
        assert!(bad.clone().into_credentials().is_err());
        assert!(bad.expires_at().is_err());
    }
}
