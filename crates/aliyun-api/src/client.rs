//! The client (stub being replaced).
use crate::{error::Result, request::ApiRequest};

/// Signature scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureVersion {
    /// RPC HMAC-SHA1.
    #[default]
    V1,
    /// ACS3-HMAC-SHA256.
    V3,
}
/// Client.
#[derive(Debug, Clone)]
pub struct Client;
/// Builder.
#[derive(Debug)]
pub struct ClientBuilder;
/// Raw request.
#[derive(Debug)]
pub struct RawRequest;
impl Client {
    /// Call.
    pub async fn call<R: ApiRequest>(&self, _r: &R) -> Result<R::Response> {
        Err(crate::Error::InvalidRequest("stub".into()))
    }
}
