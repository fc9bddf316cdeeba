//! The actions aliyun-fake serves, per product: what its dispatchers answer (anything else is
//! `InvalidAction.NotFound`). Benchmarks and tests use these lists to set per-action limits and to check coverage.

/// ECS actions aliyun-fake serves.
pub const ECS_ACTIONS: &[&str] = &[
    "DescribeInstances",
    "DescribeNetworkInterfaces",
    "ModifyNetworkInterfaceAttribute",
    "DescribeRegions",
    "DescribeZones",
];

/// VPC actions aliyun-fake serves.
pub const VPC_ACTIONS: &[&str] = &[
    "DescribeVpcs",
    "DescribeVpcAttribute",
    "DescribeVSwitches",
    "DescribeVSwitchAttributes",
    "DescribeRouteTableList",
    "DescribeRouteTables",
    "DescribeRouteEntryList",
    "CreateRouteEntry",
    "DeleteRouteEntry",
    "CreateRouteEntries",
    "DeleteRouteEntries",
    "DescribeEipAddresses",
];

/// SLB (CLB) actions aliyun-fake serves.
pub const SLB_ACTIONS: &[&str] = &[
    "CreateLoadBalancer",
    "DescribeLoadBalancers",
    "DescribeLoadBalancerAttribute",
    "SetLoadBalancerName",
    "SetLoadBalancerStatus",
    "SetLoadBalancerDeleteProtection",
    "SetLoadBalancerModificationProtection",
    "ModifyLoadBalancerInstanceSpec",
    "ModifyLoadBalancerInternetSpec",
    "ModifyLoadBalancerInstanceChargeType",
    "DeleteLoadBalancer",
    "CreateLoadBalancerTCPListener",
    "CreateLoadBalancerUDPListener",
    "CreateLoadBalancerHTTPListener",
    "CreateLoadBalancerHTTPSListener",
    "SetLoadBalancerTCPListenerAttribute",
    "SetLoadBalancerUDPListenerAttribute",
    "SetLoadBalancerHTTPListenerAttribute",
    "SetLoadBalancerHTTPSListenerAttribute",
    "DescribeLoadBalancerTCPListenerAttribute",
    "DescribeLoadBalancerUDPListenerAttribute",
    "DescribeLoadBalancerHTTPListenerAttribute",
    "DescribeLoadBalancerHTTPSListenerAttribute",
    "DescribeLoadBalancerListeners",
    "StartLoadBalancerListener",
    "StopLoadBalancerListener",
    "DeleteLoadBalancerListener",
    "CreateVServerGroup",
    "DeleteVServerGroup",
    "DescribeVServerGroups",
    "DescribeVServerGroupAttribute",
    "SetVServerGroupAttribute",
    "AddVServerGroupBackendServers",
    "RemoveVServerGroupBackendServers",
    "ModifyVServerGroupBackendServers",
    "TagResources",
    "UntagResources",
    "ListTagResources",
    "AddTags",
    "RemoveTags",
    "DescribeTags",
    "CreateAccessControlList",
    "DeleteAccessControlList",
    "SetAccessControlListAttribute",
    "AddAccessControlListEntry",
    "RemoveAccessControlListEntry",
    "DescribeAccessControlListAttribute",
    "DescribeAccessControlLists",
    "UploadServerCertificate",
    "DescribeServerCertificates",
    "SetServerCertificateName",
    "DeleteServerCertificate",
    "CreateDomainExtension",
    "DescribeDomainExtensions",
    "DescribeDomainExtensionAttribute",
    "SetDomainExtensionAttribute",
    "DeleteDomainExtension",
];

/// STS actions aliyun-fake serves.
pub const STS_ACTIONS: &[&str] = &["AssumeRoleWithOIDC", "AssumeRole", "GetCallerIdentity"];

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::{slb::test_support::cloud, wire::Request};

    /// Every listed action reaches a handler (which may well refuse the empty request), and an unlisted one does
    /// not: the lists say exactly what the dispatchers serve.
    #[test]
    fn the_lists_match_the_dispatchers() {
        let served = |action: &str| {
            let mut state = cloud();
            let req = Request::new(action, BTreeMap::new());
            crate::ecs::handle(&mut state, action, &req).is_some()
                || crate::vpc::handle(&mut state, action, &req).is_some()
                || crate::slb::handle(&mut state, action, &req).is_some()
                || crate::sts::handle(&mut state, action, &req, None).is_some()
        };
        for action in ECS_ACTIONS.iter().chain(VPC_ACTIONS).chain(SLB_ACTIONS).chain(STS_ACTIONS) {
            assert!(served(action), "{action} is listed but no handler serves it");
        }
        assert!(!served("RunInstances"), "an action no handler serves must not look served");
    }
}
