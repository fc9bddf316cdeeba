//! Tags on SLB resources: `TagResources`, `UntagResources`, `ListTagResources`.
//!
//! Resources are named by type and ID; a listener's ID is `<LoadBalancerId>_<protocol>_<port>`
//! (see [`listener_resource_id`]).

use serde::Deserialize;

use super::{ListenerProtocol, RequestIdResponse};
use crate::lenient;
use crate::{
    endpoint::Product,
    params::{Params, Tag},
    request::{ApiRequest, NextTokenPage, NextTokenRequest},
};

/// Most resources one tag call may name (`ResourceId.N`, "You can specify at most 20 resources").
pub const MAX_TAG_RESOURCES_PER_CALL: usize = 20;

slb_enum! {
    /// Kind of SLB resource a tag call names (`ResourceType`); `instance` by default.
    TagResourceType default Instance {
        /// `instance`: a load balancer.
        Instance => "instance",
        /// `certificate`: a server or CA certificate.
        Certificate => "certificate",
        /// `acl`: an access control list.
        Acl => "acl",
        /// `listener`: a listener (ID `<LoadBalancerId>_<protocol>_<port>`).
        Listener => "listener",
        /// `vservergroup`: a vServer group.
        VServerGroup => "vservergroup",
        /// `masterslaveservergroup`: a primary/secondary server group.
        MasterSlaveServerGroup => "masterslaveservergroup",
    }
}

/// The tag-resource ID of a listener: `<LoadBalancerId>_<protocol>_<port>` (`lb-xxx_http_80`).
pub fn listener_resource_id(load_balancer_id: &str, protocol: &ListenerProtocol, port: u16) -> String {
    format!("{load_balancer_id}_{}_{port}", protocol.as_str())
}

/// Adds or overwrites tags on resources (`TagResources`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagResources {
    /// `ResourceType`.
    pub resource_type: TagResourceType,
    /// `ResourceId.N` (at most [`MAX_TAG_RESOURCES_PER_CALL`]).
    pub resource_ids: Vec<String>,
    /// `Tag.N.Key` / `Tag.N.Value`.
    pub tags: Vec<Tag>,
}

impl TagResources {
    /// Tags one load balancer.
    pub fn instance(load_balancer_id: impl Into<String>, tags: Vec<Tag>) -> Self {
        Self { resource_type: TagResourceType::Instance, resource_ids: vec![load_balancer_id.into()], tags }
    }
}

impl ApiRequest for TagResources {
    type Response = RequestIdResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "TagResources";

    fn to_params(&self, p: &mut Params) {
        p.set("ResourceType", self.resource_type.as_str())
            .repeat("ResourceId", &self.resource_ids)
            .tags("Tag", &self.tags);
    }

    /// Setting a tag to a value twice leaves the same tags.
    fn idempotent(&self) -> bool {
        true
    }
}

/// Removes tags from resources (`UntagResources`): the named keys, or every tag with `all`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UntagResources {
    /// `ResourceType`.
    pub resource_type: TagResourceType,
    /// `ResourceId.N` (at most [`MAX_TAG_RESOURCES_PER_CALL`]).
    pub resource_ids: Vec<String>,
    /// `TagKey.N` (at most 20). Per the API reference, leaving it empty removes every tag of the resources.
    pub tag_keys: Vec<String>,
    /// `All`: remove every tag (only when `tag_keys` is empty).
    pub all: Option<bool>,
}

impl UntagResources {
    /// Removes `keys` from one load balancer.
    pub fn instance(load_balancer_id: impl Into<String>, keys: Vec<String>) -> Self {
        Self {
            resource_type: TagResourceType::Instance,
            resource_ids: vec![load_balancer_id.into()],
            tag_keys: keys,
            all: None,
        }
    }
}

impl ApiRequest for UntagResources {
    type Response = RequestIdResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "UntagResources";

    fn to_params(&self, p: &mut Params) {
        p.set("ResourceType", self.resource_type.as_str())
            .repeat("ResourceId", &self.resource_ids)
            .repeat("TagKey", &self.tag_keys)
            .opt("All", self.all);
    }

    /// Removing a tag that is already gone leaves the same tags.
    fn idempotent(&self) -> bool {
        true
    }
}

/// Lists the tags of resources (`ListTagResources`), a page at a time with `NextToken`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListTagResources {
    /// `ResourceType`.
    pub resource_type: TagResourceType,
    /// `ResourceId.N` (at most [`MAX_TAG_RESOURCES_PER_CALL`]).
    pub resource_ids: Vec<String>,
    /// `Tag.N.Key` / `Tag.N.Value` filter.
    pub tags: Vec<Tag>,
    /// `NextToken`.
    pub next_token: Option<String>,
}

impl ListTagResources {
    /// Lists the tags of one load balancer.
    pub fn instance(load_balancer_id: impl Into<String>) -> Self {
        Self {
            resource_type: TagResourceType::Instance,
            resource_ids: vec![load_balancer_id.into()],
            tags: Vec::new(),
            next_token: None,
        }
    }
}

impl ApiRequest for ListTagResources {
    type Response = ListTagResourcesResponse;
    const PRODUCT: Product = Product::Slb;
    const ACTION: &'static str = "ListTagResources";

    fn to_params(&self, p: &mut Params) {
        p.set("ResourceType", self.resource_type.as_str())
            .repeat("ResourceId", &self.resource_ids)
            .tags("Tag", &self.tags)
            .opt_str("NextToken", self.next_token.as_deref());
    }
}

impl NextTokenRequest for ListTagResources {
    fn set_next_token(&mut self, token: Option<String>) {
        self.next_token = token;
    }
}

/// Response of [`ListTagResources`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListTagResourcesResponse {
    /// Request ID.
    pub request_id: String,
    /// Token of the next page; empty on the last.
    #[serde(deserialize_with = "lenient::string")]
    pub next_token: String,
    /// One entry per (resource, tag) (`TagResources.TagResource[]`).
    #[serde(deserialize_with = "lenient::list")]
    pub tag_resources: Vec<TagResource>,
}

impl NextTokenPage for ListTagResourcesResponse {
    type Item = TagResource;

    fn next_token(&self) -> Option<&str> {
        Some(self.next_token.as_str()).filter(|t| !t.is_empty())
    }

    fn into_items(self) -> Vec<TagResource> {
        self.tag_resources
    }
}

/// One tag of one resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TagResource {
    /// Resource ID.
    pub resource_id: String,
    /// Resource type (`instance`, …; the API reference shows values like `instance`, some SDK samples
    /// `ALIYUN::SLB::INSTANCE`: kept as text).
    pub resource_type: String,
    /// Tag key.
    #[serde(deserialize_with = "lenient::string")]
    pub tag_key: String,
    /// Tag value.
    #[serde(deserialize_with = "lenient::string")]
    pub tag_value: String,
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
    fn tag_untag_and_list_flatten_lists() {
        let r = TagResources::instance("lb-1", vec![Tag::new("k1", "v1"), Tag::new("k2", "")]);
        assert_eq!(
            params(&r),
            pairs(&[
                ("ResourceId.1", "lb-1"),
                ("ResourceType", "instance"),
                ("Tag.1.Key", "k1"),
                ("Tag.1.Value", "v1"),
                ("Tag.2.Key", "k2"),
                ("Tag.2.Value", ""),
            ])
        );
        assert!(r.idempotent());

        let r = UntagResources::instance("lb-1", vec!["kubernetes.do.not.delete".into(), "ack.aliyun.com".into()]);
        assert_eq!(
            params(&r),
            pairs(&[
                ("ResourceId.1", "lb-1"),
                ("ResourceType", "instance"),
                ("TagKey.1", "kubernetes.do.not.delete"),
                ("TagKey.2", "ack.aliyun.com"),
            ])
        );
        assert!(r.idempotent());

        let mut r = ListTagResources {
            resource_type: TagResourceType::Listener,
            resource_ids: vec![listener_resource_id("lb-1", &ListenerProtocol::Http, 80)],
            tags: Vec::new(),
            next_token: None,
        };
        r.set_next_token(Some("t2".into()));
        assert_eq!(
            params(&r),
            pairs(&[("NextToken", "t2"), ("ResourceId.1", "lb-1_http_80"), ("ResourceType", "listener")])
        );
        assert!(r.idempotent());
        assert_eq!(TagResourceType::parse("vservergroup"), TagResourceType::VServerGroup);
    }

    #[test]
    fn parses_list_tag_resources() {
        let r: ListTagResourcesResponse = serde_json::from_str(
            r#"{"RequestId":"DE65F6B7","NextToken":"",
                "TagResources":{"TagResource":[
                  {"ResourceId":"lb-1","ResourceType":"instance","TagKey":"kubernetes.do.not.delete","TagValue":"a3f1"},
                  {"ResourceId":"lb-1","ResourceType":"instance","TagKey":"ack.aliyun.com","TagValue":"c1"}]}}"#,
        )
        .unwrap();
        assert_eq!(r.next_token(), None);
        let items = r.into_items();
        assert_eq!(items.len(), 2);
        assert_eq!((items[1].tag_key.as_str(), items[1].tag_value.as_str()), ("ack.aliyun.com", "c1"));

        let r: ListTagResourcesResponse =
            serde_json::from_str(r#"{"RequestId":"x","NextToken":"n2","TagResources":{"TagResource":[]}}"#).unwrap();
        assert_eq!(r.next_token(), Some("n2"));
        assert!(r.tag_resources.is_empty());
    }
}
