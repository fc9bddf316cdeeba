//! STS `2015-04-01`: AssumeRole, AssumeRoleWithOIDC (anonymous) and
//! GetCallerIdentity, plus the credential issuing the metadata RAM role shares.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::auth::{Caller, unix_seconds};
use crate::server::Product;
use crate::state::{CloudState, StsCredential, format_rfc3339};
use crate::wire::{ApiFault, Request};

/// Shortest session allowed, in seconds.
pub const MIN_DURATION: u32 = 900;
/// Longest session allowed, in seconds.
pub const MAX_DURATION: u32 = 43_200;

/// Whether an action is called without a signature (`AssumeRoleWithOIDC`).
pub fn is_anonymous(product: Product, action: &str) -> bool {
    product == Product::Sts && action == "AssumeRoleWithOIDC"
}

/// Handles one STS action; `None` when the action is not emulated.
pub fn handle(
    state: &mut CloudState,
    action: &str,
    req: &Request,
    caller: Option<&Caller>,
) -> Option<Result<Value, ApiFault>> {
    let result = match action {
        "AssumeRoleWithOIDC" => assume_role_with_oidc(state, req),
        "AssumeRole" => assume_role(state, req),
        "GetCallerIdentity" => Ok(get_caller_identity(state, caller)),
        _ => return None,
    };
    Some(result)
}

/// Issues temporary credentials for `role_arn`, valid for `duration`.
pub fn issue_credentials(state: &mut CloudState, role_arn: &str, duration: Duration) -> StsCredential {
    let expires = state.wall_now() + duration;
    let secret: [u8; 24] = rand::random();
    let token: [u8; 96] = rand::random();
    let credential = StsCredential {
        access_key_id: format!("STS.{}", state.ids.next("NU").to_ascii_uppercase()),
        access_key_secret: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret),
        security_token: format!("CAIS{}", base64::engine::general_purpose::STANDARD.encode(token)),
        expiration: format_rfc3339(expires),
        expires_at_unix: unix_seconds(expires),
        role_arn: role_arn.to_string(),
        account_id: state.account_id.clone(),
    };
    state.sts_credentials.insert(credential.access_key_id.clone(), credential.clone());
    credential
}

/// `acs:ram::<account>:role/<name>` -> (account, name).
fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("acs:ram::")?;
    let (account, role) = rest.split_once(":role/")?;
    (!account.is_empty() && !role.is_empty()).then_some((account, role))
}

fn check_role_arn(arn: &str) -> Result<(&str, &str), ApiFault> {
    parse_role_arn(arn)
        .ok_or_else(|| ApiFault::bad_request("InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed."))
}

fn duration(req: &Request) -> Result<Duration, ApiFault> {
    let seconds = req.opt_u32("DurationSeconds")?.unwrap_or(3600);
    if !(MIN_DURATION..=MAX_DURATION).contains(&seconds) {
        return Err(ApiFault::bad_request(
            "InvalidParameter.DurationSeconds",
            format!("The Min/Max value of DurationSeconds is {MIN_DURATION}/{MAX_DURATION} seconds."),
        ));
    }
    Ok(Duration::from_secs(u64::from(seconds)))
}

fn session_name(req: &Request, required: bool) -> Result<String, ApiFault> {
    let name = match req.get("RoleSessionName") {
        Some(n) if !n.is_empty() => n,
        _ if required => return Err(ApiFault::missing("RoleSessionName")),
        _ => return Ok(format!("session-{}", unix_seconds(std::time::SystemTime::now()))),
    };
    let valid = (2..=64).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'@' | b'-' | b'_'));
    if !valid {
        return Err(ApiFault::bad_request(
            "InvalidParameter.RoleSessionName",
            "The parameter RoleSessionName is wrongly formed.",
        ));
    }
    Ok(name.to_string())
}

/// Whether `token` looks like a JWT: three base64url segments, the first
/// two decoding to JSON objects.
fn is_jwt(token: &str) -> bool {
    let parts: Vec<&str> = token.trim().split('.').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return false;
    }
    parts[..2].iter().all(|p| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(p.trim_end_matches('='))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .is_some_and(|v| v.is_object())
    })
}

fn credentials_body(state: &CloudState, cred: &StsCredential, role: &str, session: &str) -> Value {
    json!({
        "AssumedRoleUser": {
            "Arn": format!("acs:ram::{}:role/{role}/{session}", state.account_id),
            "AssumedRoleId": format!("3{}:{session}", &crate::auth::sha256_hex(role.as_bytes())[..16]),
        },
        "Credentials": {
            "AccessKeyId": cred.access_key_id,
            "AccessKeySecret": cred.access_key_secret,
            "SecurityToken": cred.security_token,
            "Expiration": cred.expiration,
        },
    })
}

fn assume_role_with_oidc(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let role_arn = req.required("RoleArn")?.to_string();
    let provider = req.required("OIDCProviderArn")?;
    let token = req.required("OIDCToken")?;
    let (_, role) = check_role_arn(&role_arn)?;
    let role = role.to_string();
    if !provider.starts_with("acs:ram::") || !provider.contains(":oidc-provider/") {
        return Err(ApiFault::bad_request(
            "InvalidParameter.OIDCProviderArn",
            "The parameter OIDCProviderArn is wrongly formed.",
        ));
    }
    if !is_jwt(token) {
        return Err(ApiFault::bad_request(
            "InvalidParameter.OIDCToken",
            "The parameter OIDCToken is not a well-formed JWT.",
        ));
    }
    let duration = duration(req)?;
    let session = session_name(req, false)?;
    let cred = issue_credentials(state, &role_arn, duration);
    let mut body = credentials_body(state, &cred, &role, &session);
    if let Value::Object(map) = &mut body {
        map.insert("OIDCTokenInfo".into(), json!({"Subject": "", "Issuer": "", "ClientIds": "sts.aliyuncs.com"}));
    }
    Ok(body)
}

fn assume_role(state: &mut CloudState, req: &Request) -> Result<Value, ApiFault> {
    let role_arn = req.required("RoleArn")?.to_string();
    let session = session_name(req, true)?;
    let (_, role) = check_role_arn(&role_arn)?;
    let role = role.to_string();
    let duration = duration(req)?;
    let cred = issue_credentials(state, &role_arn, duration);
    Ok(credentials_body(state, &cred, &role, &session))
}

fn get_caller_identity(state: &CloudState, caller: Option<&Caller>) -> Value {
    let account = caller.map(|c| c.account_id.clone()).unwrap_or_else(|| state.account_id.clone());
    match caller.and_then(|c| c.role_arn.clone()) {
        Some(role_arn) => json!({
            "AccountId": account,
            "UserId": "",
            "RoleId": "",
            "Arn": role_arn,
            "IdentityType": "AssumedRoleUser",
            "PrincipalId": "",
        }),
        None => json!({
            "AccountId": account,
            "UserId": account,
            "Arn": format!("acs:ram::{account}:root"),
            "IdentityType": "Account",
            "PrincipalId": account,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_parse() {
        assert_eq!(parse_role_arn("acs:ram::123:role/ccm"), Some(("123", "ccm")));
        assert_eq!(parse_role_arn("arn:aws:iam::123:role/ccm"), None);
        assert_eq!(parse_role_arn("acs:ram:::role/ccm"), None);
    }

    #[test]
    fn jwt_shape_is_checked() {
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256"}"#);
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"x"}"#);
        assert!(is_jwt(&format!("{header}.{claims}.sig\n")));
        assert!(!is_jwt("not-a-token"));
        assert!(!is_jwt(&format!("{header}.{header}")));
        assert!(!is_jwt("a.b.c"));
    }

    #[test]
    fn issued_credentials_are_registered() {
        let mut state = CloudState::empty("cn-hangzhou");
        let cred = issue_credentials(&mut state, "acs:ram::1:role/r", Duration::from_secs(900));
        assert!(cred.access_key_id.starts_with("STS."));
        assert!(state.sts_credentials.contains_key(&cred.access_key_id));
    }
}
