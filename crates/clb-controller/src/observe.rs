//! Reading the cloud: finding a Service's load balancer and describing what is on it.

use crate::{
    cloud::{
        Backend, ClbCloud, CloudError, ObservedAcl, ObservedDomainExtension, ObservedListener, ObservedLoadBalancer,
    },
    naming::{ServiceOwner, TAG_OWNER},
};

/// How a Service's load balancer is looked up: by the `id` annotation, else by the ownership tag, else by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancerLookup {
    /// The `id` annotation.
    pub reuse_id: Option<String>,
    /// `"a"` + UID without dashes: owner tag value and default name.
    pub default_name: String,
}

/// How the load balancer was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoundBy {
    /// By the `id` annotation.
    Id,
    /// By the `kubernetes.do.not.delete` tag.
    Tag,
    /// By the default name.
    Name,
}

/// How much to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObserveScope {
    /// Listeners, and the Service's vServer groups with their backends.
    Full,
    /// Only the Service's vServer groups with their backends (node and endpoint churn).
    BackendsOnly,
    /// Listeners, and every vServer group with its backends (cleanup of a reused load balancer).
    Everything,
    /// Only the instance.
    Instance,
}

/// A vServer group on the load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedVServerGroup {
    /// `rsp-…`.
    pub id: String,
    /// Name.
    pub name: String,
    /// Backends, when they were read.
    pub backends: Option<Vec<Backend>>,
}

/// What the cloud has for a Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedClb {
    /// The instance.
    pub load_balancer: ObservedLoadBalancer,
    /// How it was found.
    pub found_by: FoundBy,
    /// Listeners, when they were read (not for backend-only work).
    pub listeners: Option<Vec<ObservedListener>>,
    /// vServer groups (all of them; backends only where read).
    pub vserver_groups: Vec<ObservedVServerGroup>,
    /// The Service's own access control lists (named [`ServiceOwner::acl_name`]) that one of its listeners
    /// references; read with the listeners, only when such a reference exists.
    pub owned_acls: Vec<ObservedAcl>,
    /// Domain extensions of the Service's HTTPS listeners, by port (read with the listeners).
    pub domain_extensions: std::collections::BTreeMap<u16, Vec<ObservedDomainExtension>>,
}

impl ObservedClb {
    /// The group named `name`, if any.
    pub fn group_named(&self, name: &str) -> Option<&ObservedVServerGroup> {
        self.vserver_groups.iter().find(|g| g.name == name)
    }

    /// Whether the owner tag says this Service's controller created the load balancer.
    pub fn is_owned_by(&self, default_name: &str) -> bool {
        self.load_balancer.tags.get(TAG_OWNER).map(String::as_str) == Some(default_name)
    }
}

/// Why observing failed.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    /// A cloud call failed.
    #[error(transparent)]
    Cloud(#[from] CloudError),
    /// More than one load balancer matches the tag or name.
    #[error("{count} load balancers match {by} {value:?} ({ids}); expected at most one")]
    Ambiguous {
        /// `tag` or `name`.
        by: &'static str,
        /// The value looked for.
        value: String,
        /// How many matched.
        count: usize,
        /// Their IDs.
        ids: String,
    },
}

/// Whether a look-up that finds no load balancer carrying the owner tag also looks for the default name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NameFallback {
    /// Look by name too: the load balancer may predate the owner tag (Go CCM versions that did not tag).
    #[default]
    Try,
    /// Do not: the Service never had a load balancer (no finalizer, no published address). A load balancer named
    /// after its UID could only come from a controller handling it, and both this one and the Go CCM tag it in
    /// the creating call, so the tag look-up alone is conclusive and a new Service costs one listing, not two.
    Skip,
}

/// Finds the load balancer of a Service: by ID, else by owner tag, else by name.
pub async fn find_load_balancer<C: ClbCloud>(
    cloud: &C,
    lookup: &LoadBalancerLookup,
) -> Result<Option<(ObservedLoadBalancer, FoundBy)>, ObserveError> {
    find_load_balancer_with(cloud, lookup, NameFallback::Try).await
}

/// [`find_load_balancer`], looking by name only as `fallback` says. Each look-up is one listing, whose answer
/// carries the attributes and tags: no further call.
pub async fn find_load_balancer_with<C: ClbCloud>(
    cloud: &C,
    lookup: &LoadBalancerLookup,
    fallback: NameFallback,
) -> Result<Option<(ObservedLoadBalancer, FoundBy)>, ObserveError> {
    if let Some(id) = &lookup.reuse_id {
        return Ok(cloud.describe_load_balancer(id).await?.map(|lb| (lb, FoundBy::Id)));
    }
    let by_tag = cloud.find_load_balancers_by_tag(TAG_OWNER, &lookup.default_name).await?;
    let (mut candidates, found_by, by) = match fallback {
        NameFallback::Try if by_tag.is_empty() => {
            (cloud.find_load_balancers_by_name(&lookup.default_name).await?, FoundBy::Name, "name")
        }
        _ => (by_tag, FoundBy::Tag, "tag"),
    };
    match candidates.len() {
        0 => Ok(None),
        1 => Ok(candidates.pop().map(|lb| (lb, found_by))),
        count => Err(ObserveError::Ambiguous {
            by,
            value: lookup.default_name.clone(),
            count,
            ids: candidates.iter().map(|lb| lb.id.as_str()).collect::<Vec<_>>().join(", "),
        }),
    }
}

/// Finds the load balancer and reads what `scope` asks for; `None` if there is no load balancer.
pub async fn observe<C: ClbCloud>(
    cloud: &C,
    lookup: &LoadBalancerLookup,
    owner: &ServiceOwner,
    scope: ObserveScope,
) -> Result<Option<ObservedClb>, ObserveError> {
    observe_with_groups(cloud, lookup, owner, scope, &[]).await
}

/// [`observe`], also reading the backends of the groups `extra_groups` (the `vgroup-port` groups).
pub async fn observe_with_groups<C: ClbCloud>(
    cloud: &C,
    lookup: &LoadBalancerLookup,
    owner: &ServiceOwner,
    scope: ObserveScope,
    extra_groups: &[String],
) -> Result<Option<ObservedClb>, ObserveError> {
    let Some((load_balancer, found_by)) = find_load_balancer(cloud, lookup).await? else { return Ok(None) };
    Ok(Some(observe_found(cloud, load_balancer, found_by, owner, scope, extra_groups).await?))
}

/// Reads what `scope` asks for on a load balancer already found, so that reading a second scope (backends
/// first, then everything) costs no second look-up.
pub async fn observe_found<C: ClbCloud>(
    cloud: &C,
    load_balancer: ObservedLoadBalancer,
    found_by: FoundBy,
    owner: &ServiceOwner,
    scope: ObserveScope,
    extra_groups: &[String],
) -> Result<ObservedClb, ObserveError> {
    let id = load_balancer.id.clone();
    let listeners = match scope {
        ObserveScope::Full | ObserveScope::Everything => Some(cloud.describe_listeners(&id).await?),
        ObserveScope::BackendsOnly | ObserveScope::Instance => None,
    };
    let vserver_groups = match scope {
        ObserveScope::Instance => Vec::new(),
        _ => observe_groups(cloud, &id, owner, scope == ObserveScope::Everything, extra_groups).await?,
    };
    let referenced: Vec<&str> = listeners
        .iter()
        .flatten()
        .filter(|l| owner.owns_listener(&l.description))
        .filter_map(|l| l.settings.acl_id.as_deref())
        .collect();
    let owned_acls = if referenced.is_empty() {
        Vec::new()
    } else {
        cloud.find_acls(&owner.acl_name()).await?.into_iter().filter(|a| referenced.contains(&a.id.as_str())).collect()
    };
    let mut domain_extensions = std::collections::BTreeMap::new();
    for l in listeners.iter().flatten() {
        if l.protocol == aliyun_api::slb::ListenerProtocol::Https && owner.owns_listener(&l.description) {
            domain_extensions.insert(l.port, cloud.describe_domain_extensions(&id, l.port).await?);
        }
    }
    Ok(ObservedClb { load_balancer, found_by, listeners, vserver_groups, owned_acls, domain_extensions })
}

/// Every vServer group; backends of the Service's own groups (or of all, with `all_backends`).
async fn observe_groups<C: ClbCloud>(
    cloud: &C,
    load_balancer_id: &str,
    owner: &ServiceOwner,
    all_backends: bool,
    extra_groups: &[String],
) -> Result<Vec<ObservedVServerGroup>, CloudError> {
    let mut groups = Vec::new();
    for summary in cloud.describe_vserver_groups(load_balancer_id).await? {
        let backends = if all_backends || owner.owns_group_key(&summary.name) || extra_groups.contains(&summary.id) {
            Some(cloud.describe_vserver_group_backends(&summary.id).await?)
        } else {
            None
        };
        groups.push(ObservedVServerGroup { id: summary.id, name: summary.name, backends });
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{cloud::ObservedLoadBalancer, mock::MockClbCloud};

    const NAME: &str = "a5e1b7c0d4f2a4b8e9a310c2d3e4f5a6";

    fn lookup() -> LoadBalancerLookup {
        LoadBalancerLookup { reuse_id: None, default_name: NAME.into() }
    }

    fn lb(name: &str, owner_tag: Option<&str>) -> ObservedLoadBalancer {
        let tags = owner_tag.map(|v| (TAG_OWNER.to_owned(), v.to_owned())).into_iter().collect();
        ObservedLoadBalancer { name: name.into(), tags, ..Default::default() }
    }

    fn actions(mock: &MockClbCloud) -> Vec<String> {
        mock.calls().iter().map(|c| format!("{} {}", c.action, c.detail)).collect()
    }

    #[tokio::test]
    async fn a_new_service_is_looked_up_once_without_the_name_fallback() {
        let mock = MockClbCloud::new();
        assert!(find_load_balancer_with(&mock, &lookup(), NameFallback::Skip).await.unwrap().is_none());
        assert_eq!(actions(&mock), [format!("DescribeLoadBalancers tag {TAG_OWNER}={NAME}")]);
        mock.clear_calls();
        assert!(find_load_balancer(&mock, &lookup()).await.unwrap().is_none());
        assert_eq!(
            actions(&mock),
            [format!("DescribeLoadBalancers tag {TAG_OWNER}={NAME}"), format!("DescribeLoadBalancers name {NAME}")]
        );
    }

    #[tokio::test]
    async fn an_untagged_load_balancer_is_found_by_name_only_with_the_fallback() {
        let mock = MockClbCloud::new();
        let id = mock.add_load_balancer(lb(NAME, None));
        let (found, by) = find_load_balancer(&mock, &lookup()).await.unwrap().unwrap();
        assert_eq!((found.id, by), (id, FoundBy::Name));
        assert!(find_load_balancer_with(&mock, &lookup(), NameFallback::Skip).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_tagged_or_reused_load_balancer_takes_one_listing_and_no_attribute_call() {
        let mock = MockClbCloud::new();
        let id = mock.add_load_balancer(lb("renamed", Some(NAME)));
        mock.clear_calls();
        let (found, by) = find_load_balancer(&mock, &lookup()).await.unwrap().unwrap();
        assert_eq!((found.id.as_str(), by, found.name.as_str()), (id.as_str(), FoundBy::Tag, "renamed"));
        let reused = LoadBalancerLookup { reuse_id: Some(id.clone()), default_name: NAME.into() };
        let (_, by) = find_load_balancer(&mock, &reused).await.unwrap().unwrap();
        assert_eq!(by, FoundBy::Id);
        let calls: Vec<&str> = mock.calls().iter().map(|c| c.action).collect();
        assert_eq!(calls, ["DescribeLoadBalancers", "DescribeLoadBalancers"]);
        let gone = LoadBalancerLookup { reuse_id: Some("lb-gone".into()), default_name: NAME.into() };
        assert!(find_load_balancer(&mock, &gone).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn two_load_balancers_with_the_tag_are_ambiguous() {
        let mock = MockClbCloud::new();
        let a = mock.add_load_balancer(lb("x", Some(NAME)));
        let b = mock.add_load_balancer(lb("y", Some(NAME)));
        let err = find_load_balancer_with(&mock, &lookup(), NameFallback::Skip).await.unwrap_err();
        assert!(matches!(&err, ObserveError::Ambiguous { by: "tag", count: 2, .. }), "{err}");
        assert!(err.to_string().contains(&format!("({a}, {b})")), "{err}");
    }

    #[tokio::test]
    async fn a_second_scope_on_a_found_load_balancer_needs_no_second_look_up() {
        let mock = MockClbCloud::new();
        mock.add_load_balancer(lb(NAME, Some(NAME)));
        let owner = ServiceOwner::new("default", "web", "c1");
        let (found, by) = find_load_balancer(&mock, &lookup()).await.unwrap().unwrap();
        mock.clear_calls();
        let observed = observe_found(&mock, found, by, &owner, ObserveScope::Full, &[]).await.unwrap();
        assert_eq!(observed.listeners, Some(Vec::new()));
        let calls: Vec<&str> = mock.calls().iter().map(|c| c.action).collect();
        assert_eq!(calls, ["DescribeLoadBalancerListeners", "DescribeVServerGroups"]);
    }
}
