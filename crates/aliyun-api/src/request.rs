//! The contract between a typed API call and the client.

use serde::de::DeserializeOwned;

use crate::{endpoint::Product, params::Params};

/// One typed API action: its product, name, parameters and response model.
///
/// Implemented by every request type in [`crate::ecs`], [`crate::vpc`], [`crate::slb`] and [`crate::sts`];
/// [`crate::Client::call`] sends it.
pub trait ApiRequest {
    /// The response model, parsed from the JSON body.
    type Response: DeserializeOwned;
    /// The product the action belongs to.
    const PRODUCT: Product;
    /// The action name (`DescribeInstances`).
    const ACTION: &'static str;

    /// The operation parameters (without `RegionId`, which the client adds for regional products unless set).
    fn to_params(&self, params: &mut Params);

    /// Whether sending the request twice is harmless, so that the client may retry it after an ambiguous
    /// failure. Reads are; writes only when they carry a `ClientToken` or are idempotent by nature.
    fn idempotent(&self) -> bool {
        is_read_action(Self::ACTION)
    }

    /// Whether the call is sent without credentials or signature (STS `AssumeRoleWithOIDC`).
    fn anonymous(&self) -> bool {
        false
    }
}

/// Whether an action name denotes a read (`Describe*`, `List*`, `Get*`, `Query*`, `Check*`).
pub fn is_read_action(action: &str) -> bool {
    ["Describe", "List", "Get", "Query", "Check"].iter().any(|p| action.starts_with(p))
}

/// A response page in `NextToken` style: the token for the next page, and this page's items.
pub trait NextTokenPage {
    /// One item of the listing.
    type Item;
    /// The token for the next page; `None` or empty when this is the last page.
    fn next_token(&self) -> Option<&str>;
    /// This page's items.
    fn into_items(self) -> Vec<Self::Item>;
}

/// A request that can ask for the page after `token`.
pub trait NextTokenRequest: ApiRequest<Response: NextTokenPage> + Clone {
    /// Asks for the page that follows `token` (or the first page with `None`).
    fn set_next_token(&mut self, token: Option<String>);
}

/// A response page in `PageNumber`/`PageSize` style.
pub trait NumberedPage {
    /// One item of the listing.
    type Item;
    /// Total number of items across all pages.
    fn total_count(&self) -> u64;
    /// This page's items.
    fn into_items(self) -> Vec<Self::Item>;
}

/// A request that can ask for one numbered page.
pub trait NumberedRequest: ApiRequest<Response: NumberedPage> + Clone {
    /// The largest page size the action accepts (VPC: 50; SLB: 100; ECS: 100).
    const MAX_PAGE_SIZE: u32;
    /// Asks for page `number` (1-based) of `size` items.
    fn set_page(&mut self, number: u32, size: u32);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_actions_are_recognised_by_prefix() {
        assert!(is_read_action("DescribeInstances"));
        assert!(is_read_action("ListTagResources"));
        assert!(!is_read_action("CreateRouteEntry"));
        assert!(!is_read_action("DeleteLoadBalancer"));
    }
}
