//! The pure diff: desired model against observed cloud → a [`ClbPlan`] of operations, one per API call.
//!
//! Only what differs is changed: attributes are compared only where an annotation asks for a value (so API
//! defaults never cause flapping), listeners and vServer groups are matched by the Go CCM's ownership keys,
//! listeners and backends someone else created are left alone, and backend changes are batched.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
};

use aliyun_api::{
    Tag,
    slb::{
        AddressType, HealthCheckType, InstanceChargeType, InternetChargeType, ListenerProtocol, ListenerStatus,
        MAX_BACKENDS_PER_CALL, ModificationProtectionStatus, OnOff,
    },
};

use crate::{
    cloud::{Backend, ListenerSettings, NEW_ACL, NewLoadBalancer, ObservedListener, ObservedLoadBalancer},
    model::{DesiredClb, LOCAL_HEALTH_CHECK_PATH, ListenerSpec, LoadBalancerSpec, OwnedAclSpec, VServerGroupSpec},
    naming::{MODIFICATION_PROTECTION_REASON, ServiceOwner, TAG_OWNER, TAG_REUSED, VServerGroupKey},
    observe::{ObservedClb, ObservedVServerGroup},
};

/// Most tags a load balancer may carry before the controller stops adding its ownership tag (the Go CCM's limit).
pub const MAX_LOAD_BALANCER_TAGS: usize = 10;
/// Spec of pay-by-spec load balancers when the annotation names none.
pub const DEFAULT_SPEC: &str = "slb.s1.small";
/// Most tags per `TagResources` call.
const MAX_TAGS_PER_CALL: usize = 20;

/// A vServer group an operation refers to: one that exists, or one an earlier operation of the plan creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupRef {
    /// An existing group.
    Existing {
        /// `rsp-…`.
        id: String,
        /// Its name.
        name: String,
    },
    /// The group created by a `CreateVServerGroup` of this plan.
    New(VServerGroupKey),
}

impl fmt::Display for GroupRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupRef::Existing { id, name } => write!(f, "{id} ({name})"),
            GroupRef::New(key) => write!(f, "new group {key}"),
        }
    }
}

/// Creation of the load balancer, with the vSwitches to try in turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancerCreation {
    /// The request, without vSwitch and client token (the executor adds them).
    pub request: NewLoadBalancer,
    /// vSwitches to try (intranet); the next is tried when one has no address left.
    pub vswitches: Vec<String>,
}

/// A listener to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerCreation {
    /// Port.
    pub port: u16,
    /// Protocol.
    pub protocol: ListenerProtocol,
    /// Group to forward to.
    pub group: GroupRef,
    /// Description (ownership key).
    pub description: String,
    /// Attributes (scheduler always set).
    pub settings: ListenerSettings,
}

/// Changes to one listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerUpdate {
    /// Port.
    pub port: u16,
    /// Protocol.
    pub protocol: ListenerProtocol,
    /// New group.
    pub group: Option<GroupRef>,
    /// New description.
    pub description: Option<String>,
    /// New attribute values.
    pub settings: ListenerSettings,
}

/// One operation: one API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClbOp {
    /// Create the load balancer.
    CreateLoadBalancer(Box<LoadBalancerCreation>),
    /// Add or overwrite tags.
    AddTags(Vec<Tag>),
    /// Remove tags.
    RemoveTags(Vec<String>),
    /// Rename.
    SetName(String),
    /// Delete protection.
    SetDeleteProtection(OnOff),
    /// Console modification protection.
    SetModificationProtection(ModificationProtectionStatus),
    /// Instance billing (and spec for pay-by-spec).
    ModifyInstanceChargeType {
        /// New billing.
        charge_type: InstanceChargeType,
        /// Spec, for pay-by-spec.
        spec: Option<String>,
    },
    /// Spec of a pay-by-spec instance.
    ModifyInstanceSpec(String),
    /// Internet billing and bandwidth.
    ModifyInternetSpec {
        /// Billing.
        charge_type: Option<InternetChargeType>,
        /// Bandwidth.
        bandwidth: Option<u32>,
    },
    /// Create a vServer group with its first batch of backends (the API takes them in the creation; any
    /// further batches follow as [`ClbOp::AddBackends`]).
    CreateVServerGroup {
        /// The group (its name).
        key: VServerGroupKey,
        /// Its first backends: at most one batch, possibly none.
        backends: Vec<Backend>,
    },
    /// Add backends (one batch).
    AddBackends {
        /// Group.
        group: GroupRef,
        /// Backends.
        backends: Vec<Backend>,
    },
    /// Change weights or descriptions (one batch).
    SetBackends {
        /// Group.
        group: GroupRef,
        /// Backends with their new values.
        backends: Vec<Backend>,
    },
    /// Remove backends (one batch).
    RemoveBackends {
        /// Group.
        group: GroupRef,
        /// Backends.
        backends: Vec<Backend>,
    },
    /// Delete a listener.
    DeleteListener {
        /// Port.
        port: u16,
        /// Protocol.
        protocol: ListenerProtocol,
    },
    /// Create a listener.
    CreateListener(Box<ListenerCreation>),
    /// Change a listener.
    SetListener(Box<ListenerUpdate>),
    /// Start a listener.
    StartListener {
        /// Port.
        port: u16,
        /// Protocol.
        protocol: ListenerProtocol,
    },
    /// Delete a vServer group.
    DeleteVServerGroup {
        /// `rsp-…`.
        id: String,
        /// Its name.
        name: String,
    },
    /// Delete the load balancer.
    DeleteLoadBalancer,
    /// Find the Service's access control list by name, or create it, and make its entries these; listeners of
    /// the plan bound to [`NEW_ACL`] get its ID.
    EnsureAcl(Box<OwnedAclSpec>),
    /// Add entries to an access control list.
    AddAclEntries {
        /// `acl-…`.
        id: String,
        /// CIDR blocks.
        entries: Vec<String>,
    },
    /// Remove entries from an access control list.
    RemoveAclEntries {
        /// `acl-…`.
        id: String,
        /// CIDR blocks.
        entries: Vec<String>,
    },
    /// Delete an access control list no listener uses any more.
    DeleteAcl(String),
    /// Add a certificate for a domain to an HTTPS listener.
    CreateDomainExtension {
        /// Listener port.
        port: u16,
        /// Domain.
        domain: String,
        /// Certificate.
        certificate_id: String,
    },
    /// Change the certificate of a domain extension.
    SetDomainExtension {
        /// `de-…`.
        id: String,
        /// Its domain.
        domain: String,
        /// New certificate.
        certificate_id: String,
    },
    /// Delete a domain extension.
    DeleteDomainExtension {
        /// `de-…`.
        id: String,
        /// Its domain.
        domain: String,
    },
}

impl ClbOp {
    /// Whether the operation only touches backends.
    pub fn is_backend_op(&self) -> bool {
        matches!(self, ClbOp::AddBackends { .. } | ClbOp::SetBackends { .. } | ClbOp::RemoveBackends { .. })
    }

    /// The API action the operation calls.
    pub fn action(&self) -> &'static str {
        match self {
            ClbOp::CreateLoadBalancer(_) => "CreateLoadBalancer",
            ClbOp::AddTags(_) => "TagResources",
            ClbOp::RemoveTags(_) => "UntagResources",
            ClbOp::SetName(_) => "SetLoadBalancerName",
            ClbOp::SetDeleteProtection(_) => "SetLoadBalancerDeleteProtection",
            ClbOp::SetModificationProtection(_) => "SetLoadBalancerModificationProtection",
            ClbOp::ModifyInstanceChargeType { .. } => "ModifyLoadBalancerInstanceChargeType",
            ClbOp::ModifyInstanceSpec(_) => "ModifyLoadBalancerInstanceSpec",
            ClbOp::ModifyInternetSpec { .. } => "ModifyLoadBalancerInternetSpec",
            ClbOp::CreateVServerGroup { .. } => "CreateVServerGroup",
            ClbOp::AddBackends { .. } => "AddVServerGroupBackendServers",
            ClbOp::SetBackends { .. } => "SetVServerGroupAttribute",
            ClbOp::RemoveBackends { .. } => "RemoveVServerGroupBackendServers",
            ClbOp::DeleteListener { .. } => "DeleteLoadBalancerListener",
            ClbOp::CreateListener(_) => "CreateLoadBalancerListener",
            ClbOp::SetListener(_) => "SetLoadBalancerListenerAttribute",
            ClbOp::StartListener { .. } => "StartLoadBalancerListener",
            ClbOp::DeleteVServerGroup { .. } => "DeleteVServerGroup",
            ClbOp::DeleteLoadBalancer => "DeleteLoadBalancer",
            ClbOp::EnsureAcl(_) => "CreateAccessControlList",
            ClbOp::AddAclEntries { .. } => "AddAccessControlListEntry",
            ClbOp::RemoveAclEntries { .. } => "RemoveAccessControlListEntry",
            ClbOp::DeleteAcl(_) => "DeleteAccessControlList",
            ClbOp::CreateDomainExtension { .. } => "CreateDomainExtension",
            ClbOp::SetDomainExtension { .. } => "SetDomainExtensionAttribute",
            ClbOp::DeleteDomainExtension { .. } => "DeleteDomainExtension",
        }
    }
}

fn list<T: fmt::Display>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

impl fmt::Display for ClbOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClbOp::CreateLoadBalancer(c) => {
                let r = &c.request;
                let kind = r.address_type.as_ref().map_or("internet", AddressType::as_str);
                write!(f, "create load balancer {} ({kind}", r.name)?;
                if let Some(t) = &r.instance_charge_type {
                    write!(f, ", {t}")?;
                }
                if !c.vswitches.is_empty() {
                    write!(f, ", vswitch {}", c.vswitches.join(" or "))?;
                }
                let tags: Vec<String> = r.tags.iter().map(|t| format!("{}={}", t.key, t.value)).collect();
                write!(f, ", tags {})", tags.join(","))
            }
            ClbOp::AddTags(tags) => {
                let tags: Vec<String> = tags.iter().map(|t| format!("{}={}", t.key, t.value)).collect();
                write!(f, "tag load balancer {}", tags.join(", "))
            }
            ClbOp::RemoveTags(keys) => write!(f, "untag load balancer {}", keys.join(", ")),
            ClbOp::SetName(name) => write!(f, "rename load balancer to {name}"),
            ClbOp::SetDeleteProtection(on) => write!(f, "set delete protection {on}"),
            ClbOp::SetModificationProtection(s) => write!(f, "set modification protection {s}"),
            ClbOp::ModifyInstanceChargeType { charge_type, spec } => {
                write!(f, "change instance charge type to {charge_type}")?;
                spec.as_ref().map_or(Ok(()), |s| write!(f, " (spec {s})"))
            }
            ClbOp::ModifyInstanceSpec(spec) => write!(f, "change spec to {spec}"),
            ClbOp::ModifyInternetSpec { charge_type, bandwidth } => {
                let charge = charge_type.as_ref().map_or("unchanged", InternetChargeType::as_str);
                let bw = bandwidth.map_or("unchanged".to_owned(), |b| format!("{b} Mbit/s"));
                write!(f, "change internet charge type {charge}, bandwidth {bw}")
            }
            ClbOp::CreateVServerGroup { key, backends } if backends.is_empty() => {
                write!(f, "create vserver group {key}")
            }
            ClbOp::CreateVServerGroup { key, backends } => {
                write!(f, "create vserver group {key} with {}", list(backends))
            }
            ClbOp::AddBackends { group, backends } => write!(f, "add to {group}: {}", list(backends)),
            ClbOp::SetBackends { group, backends } => write!(f, "update in {group}: {}", list(backends)),
            ClbOp::RemoveBackends { group, backends } => write!(f, "remove from {group}: {}", list(backends)),
            ClbOp::DeleteListener { port, protocol } => write!(f, "delete listener {protocol}/{port}"),
            ClbOp::CreateListener(c) => {
                write!(
                    f,
                    "create listener {}/{} -> {} [{}] ({})",
                    c.protocol, c.port, c.group, c.description, c.settings
                )
            }
            ClbOp::SetListener(u) => {
                write!(f, "update listener {}/{}:", u.protocol, u.port)?;
                if let Some(g) = &u.group {
                    write!(f, " group {g};")?;
                }
                if let Some(d) = &u.description {
                    write!(f, " description {d};")?;
                }
                if !u.settings.is_empty() {
                    write!(f, " {}", u.settings)?;
                }
                Ok(())
            }
            ClbOp::StartListener { port, protocol } => write!(f, "start listener {protocol}/{port}"),
            ClbOp::DeleteVServerGroup { id, name } => write!(f, "delete vserver group {id} ({name})"),
            ClbOp::DeleteLoadBalancer => f.write_str("delete load balancer"),
            ClbOp::EnsureAcl(acl) => {
                write!(f, "ensure access control list {} with {}", acl.name, acl.entries.join(", "))
            }
            ClbOp::AddAclEntries { id, entries } => {
                write!(f, "add to access control list {id}: {}", entries.join(", "))
            }
            ClbOp::RemoveAclEntries { id, entries } => {
                write!(f, "remove from access control list {id}: {}", entries.join(", "))
            }
            ClbOp::DeleteAcl(id) => write!(f, "delete access control list {id}"),
            ClbOp::CreateDomainExtension { port, domain, certificate_id } => {
                write!(f, "add domain extension {domain} ({certificate_id}) to https/{port}")
            }
            ClbOp::SetDomainExtension { id, domain, certificate_id } => {
                write!(f, "set certificate of domain extension {id} ({domain}) to {certificate_id}")
            }
            ClbOp::DeleteDomainExtension { id, domain } => write!(f, "delete domain extension {id} ({domain})"),
        }
    }
}

/// The operations to run, in order, on one load balancer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClbPlan {
    /// The existing load balancer (`None`: the plan creates it, or there is none).
    pub load_balancer_id: Option<String>,
    /// Operations in execution order.
    pub ops: Vec<ClbOp>,
}

impl ClbPlan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Whether every operation only touches backends.
    pub fn only_backends(&self) -> bool {
        self.ops.iter().all(ClbOp::is_backend_op)
    }
}

impl fmt::Display for ClbPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = self.load_balancer_id.as_deref().unwrap_or("new load balancer");
        if self.ops.is_empty() {
            return write!(f, "{target}: no changes");
        }
        writeln!(f, "{target}: {} operation(s)", self.ops.len())?;
        for (i, op) in self.ops.iter().enumerate() {
            writeln!(f, "  {:>2}. {op}", i + 1)?;
        }
        Ok(())
    }
}

/// Why a plan cannot be made: the Service asks for something the cloud state forbids. Nothing is changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A listener someone else created uses one of the Service's ports.
    #[error(
        "listener {protocol}/{port} on the load balancer is not managed by this Service (description {description:?}); \
         remove it, use another port, or set force-override-listeners: \"true\" to take it over"
    )]
    ListenerConflict {
        /// Port.
        port: u16,
        /// Its protocol.
        protocol: ListenerProtocol,
        /// Its description.
        description: String,
    },
    /// An attribute that cannot change after creation differs from the annotation.
    #[error(
        "{attribute} of load balancer {id} is {actual:?} and cannot be changed to {wanted:?}; delete and recreate it"
    )]
    Immutable {
        /// Load balancer.
        id: String,
        /// Attribute name.
        attribute: &'static str,
        /// Annotation value.
        wanted: String,
        /// Cloud value.
        actual: String,
    },
    /// The `id` annotation names a load balancer that cannot be reused.
    #[error("load balancer {id} cannot be reused: {reason}")]
    NotReusable {
        /// Load balancer.
        id: String,
        /// Why.
        reason: String,
    },
    /// The `id` annotation names a load balancer that does not exist.
    #[error("load balancer {0} named by the id annotation does not exist")]
    ReusedNotFound(String),
    /// The Service publishes an address but its load balancer is gone; a new one would change the address.
    #[error(
        "the load balancer of this Service (address {0}) was not found; not creating a new one with another address \
         (remove status.loadBalancer to allow it)"
    )]
    LoadBalancerMissing(String),
    /// A `vgroup-port` group does not exist on the load balancer.
    #[error("vServer group {0} named by vgroup-port does not exist on the load balancer")]
    VGroupNotFound(String),
    /// A `vgroup-port` group is one the controller created (for some Service).
    #[error("vServer group {id} ({name}) named by vgroup-port was created by Kubernetes and cannot be reused")]
    VGroupOwned {
        /// `rsp-…`.
        id: String,
        /// Its name.
        name: String,
    },
    /// An intranet load balancer is needed but no vSwitch is configured.
    #[error(
        "no vSwitch for an intranet load balancer: set the vswitch-id annotation or cloud-config vswitchid (zone:vsw-id)"
    )]
    NoVSwitch,
}

/// Plans everything needed to make the cloud match `desired`. With `observed.listeners == None` (backend-only
/// observation) the load balancer's attributes and listeners are left out.
pub fn plan_ensure(desired: &DesiredClb, observed: Option<&ObservedClb>) -> Result<ClbPlan, PlanError> {
    let Some(observed) = observed else { return plan_creation(desired) };
    let lb = &observed.load_balancer;
    let full = observed.listeners.is_some();
    let mut ops = Vec::new();
    if full {
        ops.extend(plan_load_balancer(&desired.load_balancer, lb, &desired.published_addresses)?);
    }
    let groups = plan_groups(&desired.owner, &desired.vserver_groups, observed)?;
    ops.extend(groups.ops);
    let mut after = Vec::new();
    if let (Some(listeners), true) = (&observed.listeners, desired.load_balancer.manages_listeners()) {
        let (resolved, acl_ops, acl_deletes) = plan_acl(desired, observed, listeners);
        ops.extend(acl_ops);
        ops.extend(plan_listeners(&resolved, listeners, &groups.refs)?);
        ops.extend(plan_domain_extensions(desired, observed));
        after = acl_deletes;
    }
    if full {
        ops.extend(unused_owned_groups(&desired.owner, &desired.vserver_groups, &observed.vserver_groups));
    }
    ops.extend(after);
    Ok(ClbPlan { load_balancer_id: Some(lb.id.clone()), ops })
}

/// Domain extensions per listener port, as observed.
type ObservedDomainExtensions = BTreeMap<u16, Vec<crate::cloud::ObservedDomainExtension>>;

/// Something that knows the observed domain extensions.
trait HasDomainExtensions {
    fn domain_extensions(&self) -> &ObservedDomainExtensions;
}

impl HasDomainExtensions for ObservedClb {
    fn domain_extensions(&self) -> &ObservedDomainExtensions {
        &self.domain_extensions
    }
}

impl HasDomainExtensions for ObservedDomainExtensions {
    fn domain_extensions(&self) -> &ObservedDomainExtensions {
        self
    }
}

/// Domain extensions of the Service's HTTPS listeners: added, re-certified and deleted to match the annotation
/// (after the listeners, which must exist first). A listener recreated by the plan starts without any.
fn plan_domain_extensions(desired: &DesiredClb, observed: &impl HasDomainExtensions) -> Vec<ClbOp> {
    let observed = observed.domain_extensions();
    let mut ops = Vec::new();
    for l in desired.listeners.iter().filter(|l| l.protocol == ListenerProtocol::Https) {
        let have = observed.get(&l.key.port).map(Vec::as_slice).unwrap_or_default();
        for (domain, cert) in &l.domain_extensions {
            match have.iter().find(|d| d.domain == *domain) {
                None => ops.push(ClbOp::CreateDomainExtension {
                    port: l.key.port,
                    domain: domain.clone(),
                    certificate_id: cert.clone(),
                }),
                Some(d) if d.certificate_id != *cert => ops.push(ClbOp::SetDomainExtension {
                    id: d.id.clone(),
                    domain: domain.clone(),
                    certificate_id: cert.clone(),
                }),
                Some(_) => {}
            }
        }
        for d in have.iter().filter(|d| !l.domain_extensions.contains_key(&d.domain)) {
            ops.push(ClbOp::DeleteDomainExtension { id: d.id.clone(), domain: d.domain.clone() });
        }
    }
    ops
}

/// The Service's own access control list on an existing load balancer: the desired model with [`NEW_ACL`]
/// resolved to the existing list (or, when the source ranges are gone, with access control switched off on the
/// listeners bound to the Service's list), the operations to run before the listeners', and the deletions to
/// run after them (only of lists no listener references any more: the API refuses the others).
fn plan_acl(
    desired: &DesiredClb,
    observed: &ObservedClb,
    listeners: &[ObservedListener],
) -> (DesiredClb, Vec<ClbOp>, Vec<ClbOp>) {
    let mut resolved = desired.clone();
    let mut ops = Vec::new();
    let mut deletes = Vec::new();
    let referenced = |id: &str| listeners.iter().any(|l| l.settings.acl_id.as_deref() == Some(id));
    match (&desired.owned_acl, observed.owned_acls.first()) {
        (Some(want), Some(have)) => {
            let wanted: BTreeSet<&String> = want.entries.iter().collect();
            let add: Vec<String> = want.entries.iter().filter(|e| !have.entries.contains(*e)).cloned().collect();
            let remove: Vec<String> = have.entries.iter().filter(|e| !wanted.contains(e)).cloned().collect();
            if !add.is_empty() {
                ops.push(ClbOp::AddAclEntries { id: have.id.clone(), entries: add });
            }
            if !remove.is_empty() {
                ops.push(ClbOp::RemoveAclEntries { id: have.id.clone(), entries: remove });
            }
            for l in &mut resolved.listeners {
                if l.settings.acl_id.as_deref() == Some(NEW_ACL) {
                    l.settings.acl_id = Some(have.id.clone());
                }
            }
        }
        (Some(want), None) => ops.push(ClbOp::EnsureAcl(Box::new(want.clone()))),
        (None, _) => {
            for acl in &observed.owned_acls {
                for want in &mut resolved.listeners {
                    let bound = listeners.iter().any(|l| {
                        l.port == want.key.port
                            && l.protocol == want.protocol
                            && l.settings.acl_id.as_deref() == Some(acl.id.as_str())
                            && l.settings.acl_status == Some(OnOff::On)
                    });
                    if bound && want.settings.acl_status.is_none() {
                        want.settings.acl_status = Some(OnOff::Off);
                    }
                }
                if !referenced(&acl.id) {
                    deletes.push(ClbOp::DeleteAcl(acl.id.clone()));
                }
            }
        }
    }
    (resolved, ops, deletes)
}

/// A plan from scratch: create the load balancer, its groups with backends, its listeners.
fn plan_creation(desired: &DesiredClb) -> Result<ClbPlan, PlanError> {
    let spec = &desired.load_balancer;
    if let Some(id) = spec.reuse_id() {
        return Err(PlanError::ReusedNotFound(id.to_owned()));
    }
    if let Some(address) = desired.published_addresses.first() {
        return Err(PlanError::LoadBalancerMissing(address.clone()));
    }
    let creation = load_balancer_creation(spec)?;
    let mut ops = vec![ClbOp::CreateLoadBalancer(Box::new(creation))];
    let mut refs = BTreeMap::new();
    for group in &desired.vserver_groups {
        let (create, adds) = group_creation(group);
        ops.push(create);
        ops.extend(adds);
        refs.insert(group.key.clone(), GroupRef::New(group.key.clone()));
    }
    if let Some(acl) = &desired.owned_acl {
        ops.push(ClbOp::EnsureAcl(Box::new(acl.clone())));
    }
    ops.extend(plan_listeners(desired, &[], &refs)?);
    ops.extend(plan_domain_extensions(desired, &ObservedDomainExtensions::default()));
    Ok(ClbPlan { load_balancer_id: None, ops })
}

/// The creation request with the Go CCM's defaults.
fn load_balancer_creation(spec: &LoadBalancerSpec) -> Result<LoadBalancerCreation, PlanError> {
    let address_type = spec.address_type.clone().unwrap_or(AddressType::Internet);
    let intranet = address_type == AddressType::Intranet;
    if intranet && spec.placement.vswitches.is_empty() {
        return Err(PlanError::NoVSwitch);
    }
    let charge_type = spec.instance_charge_type.clone().unwrap_or(InstanceChargeType::PayByClcu);
    let modification = spec.modification_protection.clone().unwrap_or(ModificationProtectionStatus::ConsoleProtection);
    let request = NewLoadBalancer {
        name: spec.name.clone().unwrap_or_else(|| spec.default_name.clone()),
        address: spec.address.clone(),
        address_ip_version: spec.ip_version.clone(),
        vpc_id: spec.placement.vpc_id.clone().filter(|_| intranet),
        master_zone_id: spec.master_zone_id.clone(),
        slave_zone_id: spec.slave_zone_id.clone(),
        spec: (charge_type == InstanceChargeType::PayBySpec)
            .then(|| spec.spec.clone().unwrap_or_else(|| DEFAULT_SPEC.to_owned())),
        instance_charge_type: Some(charge_type),
        internet_charge_type: spec.internet_charge_type.clone(),
        bandwidth: spec.bandwidth,
        delete_protection: Some(spec.delete_protection.clone().unwrap_or(OnOff::On)),
        modification_protection_reason: (modification == ModificationProtectionStatus::ConsoleProtection)
            .then(|| MODIFICATION_PROTECTION_REASON.to_owned()),
        modification_protection: Some(modification),
        resource_group_id: spec.placement.resource_group_id.clone(),
        tags: spec.creation_tags(),
        address_type: Some(address_type),
        vswitch_id: None,
        client_token: String::new(),
    };
    let vswitches = if intranet { spec.placement.vswitches.clone() } else { Vec::new() };
    Ok(LoadBalancerCreation { request, vswitches })
}

/// Attribute changes of an existing load balancer: only where an annotation asks and the cloud differs.
fn plan_load_balancer(
    spec: &LoadBalancerSpec,
    lb: &ObservedLoadBalancer,
    published: &[String],
) -> Result<Vec<ClbOp>, PlanError> {
    check_immutables(spec, lb)?;
    let mut ops = match spec.reuse_id() {
        Some(_) => reuse_tags(spec, lb, published)?,
        None => missing_owner_tags(spec, lb),
    };
    ops.extend(charge_ops(spec, lb));
    if let Some(on) = spec.delete_protection.clone().filter(|d| lb.delete_protection.as_ref() != Some(d)) {
        ops.push(ClbOp::SetDeleteProtection(on));
    }
    if let Some(m) = spec.modification_protection.clone().filter(|m| lb.modification_protection.as_ref() != Some(m)) {
        ops.push(ClbOp::SetModificationProtection(m));
    }
    if let Some(name) = spec.name.clone().filter(|n| *n != lb.name) {
        ops.push(ClbOp::SetName(name));
    }
    let tags: Vec<Tag> = spec
        .additional_tags
        .iter()
        .filter(|(k, v)| lb.tags.get(*k) != Some(*v))
        .map(|(k, v)| Tag::new(k.clone(), v.clone()))
        .collect();
    ops.extend(tags.chunks(MAX_TAGS_PER_CALL).map(|c| ClbOp::AddTags(c.to_vec())));
    Ok(ops)
}

fn check_immutables(spec: &LoadBalancerSpec, lb: &ObservedLoadBalancer) -> Result<(), PlanError> {
    let address_type = lb.address_type.as_ref().map(|t| t.as_str().to_owned()).unwrap_or_default();
    let ip_version = lb.ip_version.as_ref().map(|t| t.as_str().to_owned()).unwrap_or_default();
    let checks: [(&'static str, Option<String>, &str); 6] = [
        ("address type", spec.address_type.as_ref().map(|t| t.as_str().to_owned()), &address_type),
        ("IP version", spec.ip_version.as_ref().map(|t| t.as_str().to_owned()), &ip_version),
        ("master zone", spec.master_zone_id.clone(), &lb.master_zone_id),
        ("slave zone", spec.slave_zone_id.clone(), &lb.slave_zone_id),
        ("resource group", spec.resource_group_id.clone(), &lb.resource_group_id),
        ("address", spec.address.clone(), &lb.address),
    ];
    for (attribute, wanted, actual) in checks {
        if let Some(wanted) = wanted
            && !actual.is_empty()
            && !wanted.eq_ignore_ascii_case(actual)
        {
            return Err(PlanError::Immutable { id: lb.id.clone(), attribute, wanted, actual: actual.to_owned() });
        }
    }
    Ok(())
}

/// A reused load balancer must not be one the controller created (that is how the API server's own load balancer
/// is protected) and must keep the address the Service publishes; it is marked as reused.
fn reuse_tags(
    spec: &LoadBalancerSpec,
    lb: &ObservedLoadBalancer,
    published: &[String],
) -> Result<Vec<ClbOp>, PlanError> {
    let not_reusable = |reason: String| PlanError::NotReusable { id: lb.id.clone(), reason };
    if lb.tags.contains_key(TAG_OWNER) || spec.owner_tags.iter().any(|(k, _)| lb.tags.contains_key(k)) {
        return Err(not_reusable("it was created by Kubernetes (it carries an ownership tag)".to_owned()));
    }
    if !published.is_empty() && !published.contains(&lb.address) {
        return Err(not_reusable(format!(
            "the Service already publishes address {}, the load balancer has {}",
            published.join(", "),
            lb.address
        )));
    }
    if lb.tags.contains_key(TAG_REUSED) || lb.tags.len() >= MAX_LOAD_BALANCER_TAGS {
        return Ok(Vec::new());
    }
    Ok(vec![ClbOp::AddTags(vec![Tag::new(TAG_REUSED, "true")])])
}

/// Ownership tags missing from a load balancer found by name (within the tag limit).
fn missing_owner_tags(spec: &LoadBalancerSpec, lb: &ObservedLoadBalancer) -> Vec<ClbOp> {
    let missing: Vec<Tag> = spec
        .owner_tags
        .iter()
        .filter(|(k, _)| !lb.tags.contains_key(k))
        .map(|(k, v)| Tag::new(k.clone(), v.clone()))
        .collect();
    if missing.is_empty() || lb.tags.len() + missing.len() > MAX_LOAD_BALANCER_TAGS {
        return Vec::new();
    }
    vec![ClbOp::AddTags(missing)]
}

fn charge_ops(spec: &LoadBalancerSpec, lb: &ObservedLoadBalancer) -> Vec<ClbOp> {
    let mut ops = Vec::new();
    let charge_type = spec.instance_charge_type.clone();
    if let Some(t) = charge_type.clone().filter(|t| lb.instance_charge_type.as_ref() != Some(t)) {
        let spec_name =
            (t == InstanceChargeType::PayBySpec).then(|| spec.spec.clone().unwrap_or_else(|| DEFAULT_SPEC.to_owned()));
        ops.push(ClbOp::ModifyInstanceChargeType { charge_type: t, spec: spec_name });
    } else if charge_type.or_else(|| lb.instance_charge_type.clone()) == Some(InstanceChargeType::PayBySpec)
        && let Some(s) = spec.spec.clone().filter(|s| *s != lb.spec)
    {
        ops.push(ClbOp::ModifyInstanceSpec(s));
    }
    let charge_changed =
        spec.internet_charge_type.as_ref().is_some_and(|c| lb.internet_charge_type.as_ref() != Some(c));
    let by_bandwidth = spec.internet_charge_type == Some(InternetChargeType::PayByBandwidth);
    let bandwidth_changed = spec.bandwidth.is_some_and(|b| by_bandwidth && i64::from(b) != lb.bandwidth);
    let internet = lb.address_type.as_ref().is_none_or(|t| *t == AddressType::Internet);
    if (charge_changed || bandwidth_changed) && internet {
        ops.push(ClbOp::ModifyInternetSpec {
            charge_type: spec.internet_charge_type.clone(),
            bandwidth: spec.bandwidth.filter(|_| by_bandwidth),
        });
    }
    ops
}

/// Group operations and the reference each desired group resolves to.
struct GroupPlan {
    ops: Vec<ClbOp>,
    refs: BTreeMap<VServerGroupKey, GroupRef>,
}

fn plan_groups(
    owner: &ServiceOwner,
    desired: &[VServerGroupSpec],
    observed: &ObservedClb,
) -> Result<GroupPlan, PlanError> {
    let mut plan = GroupPlan { ops: Vec::new(), refs: BTreeMap::new() };
    let mut creates = Vec::new();
    let mut backend_ops = Vec::new();
    for group in desired {
        if let Some(id) = &group.existing_id {
            let existing = observed.vserver_groups.iter().find(|g| g.id == *id);
            let Some(existing) = existing else { return Err(PlanError::VGroupNotFound(id.clone())) };
            if existing.name.parse::<VServerGroupKey>().is_ok() {
                return Err(PlanError::VGroupOwned { id: id.clone(), name: existing.name.clone() });
            }
            let r = GroupRef::Existing { id: existing.id.clone(), name: existing.name.clone() };
            backend_ops.extend(diff_backends(owner, &r, group, existing));
            plan.refs.insert(group.key.clone(), r);
            continue;
        }
        match observed.group_named(&group.key.to_string()) {
            Some(existing) => {
                let r = GroupRef::Existing { id: existing.id.clone(), name: existing.name.clone() };
                backend_ops.extend(diff_backends(owner, &r, group, existing));
                plan.refs.insert(group.key.clone(), r);
            }
            None => {
                let (create, adds) = group_creation(group);
                creates.push(create);
                backend_ops.extend(adds);
                plan.refs.insert(group.key.clone(), GroupRef::New(group.key.clone()));
            }
        }
    }
    plan.ops = creates.into_iter().chain(backend_ops).collect();
    Ok(plan)
}

/// Backends to add, update and remove in one existing group, by (server, port). Backends whose description is
/// not one of the Service's keys belong to someone else and are left alone.
fn diff_backends(
    owner: &ServiceOwner,
    group: &GroupRef,
    spec: &VServerGroupSpec,
    observed: &ObservedVServerGroup,
) -> Vec<ClbOp> {
    let desired = &spec.backends;
    let current = observed.backends.as_deref().unwrap_or_default();
    let current_by_id: BTreeMap<(&str, u16), &Backend> = current.iter().map(|b| (b.identity(), b)).collect();
    let wanted_ids: std::collections::BTreeSet<(&str, u16)> = desired.iter().map(Backend::identity).collect();
    let mut add = Vec::new();
    let mut set = Vec::new();
    for want in desired {
        match current_by_id.get(&want.identity()) {
            None => add.push(want.clone()),
            Some(have) if owner.owns_group_key(&have.description) => {
                let weight_changed = have.weight != want.weight && !spec.ignore_weight_update;
                if weight_changed || have.description != want.description {
                    let mut update = want.clone();
                    if spec.ignore_weight_update {
                        update.weight = have.weight;
                    }
                    set.push(update);
                }
            }
            Some(_) => {}
        }
    }
    let remove: Vec<Backend> = current
        .iter()
        .filter(|b| owner.owns_group_key(&b.description) && !wanted_ids.contains(&b.identity()))
        .cloned()
        .collect();
    let mut ops = batches(&add, |b| ClbOp::AddBackends { group: group.clone(), backends: b });
    ops.extend(batches(&set, |b| ClbOp::SetBackends { group: group.clone(), backends: b }));
    ops.extend(batches(&remove, |b| ClbOp::RemoveBackends { group: group.clone(), backends: b }));
    ops
}

/// Creation of a group carrying its first batch of backends, and the adds of the other batches: one call fewer
/// per new group than creating it empty.
fn group_creation(group: &VServerGroupSpec) -> (ClbOp, Vec<ClbOp>) {
    let (first, rest) = group.backends.split_at(group.backends.len().min(MAX_BACKENDS_PER_CALL));
    let r = GroupRef::New(group.key.clone());
    let create = ClbOp::CreateVServerGroup { key: group.key.clone(), backends: first.to_vec() };
    (create, batches(rest, |b| ClbOp::AddBackends { group: r.clone(), backends: b }))
}

fn batches(backends: &[Backend], op: impl Fn(Vec<Backend>) -> ClbOp) -> Vec<ClbOp> {
    backends.chunks(MAX_BACKENDS_PER_CALL).map(|c| op(c.to_vec())).collect()
}

/// Whether two protocols share a transport, so that they cannot listen on the same port.
fn same_transport(a: &ListenerProtocol, b: &ListenerProtocol) -> bool {
    (*a == ListenerProtocol::Udp) == (*b == ListenerProtocol::Udp)
}

/// Listener operations: deletions of the Service's listeners no longer wanted, creations, then updates.
fn plan_listeners(
    desired: &DesiredClb,
    observed: &[ObservedListener],
    groups: &BTreeMap<VServerGroupKey, GroupRef>,
) -> Result<Vec<ClbOp>, PlanError> {
    let owner = &desired.owner;
    let take_over = desired.load_balancer.take_over_listeners;
    let owned = |l: &ObservedListener| owner.owns_listener(&l.description);
    let mut deletes = Vec::new();
    let mut creates = Vec::new();
    let mut forwarded_creates = Vec::new();
    let mut updates = Vec::new();
    for want in &desired.listeners {
        let group = groups.get(&want.group).cloned().unwrap_or_else(|| GroupRef::New(want.group.clone()));
        let exact = observed.iter().find(|l| l.port == want.key.port && l.protocol == want.protocol);
        // Redirecting listeners are created after the HTTPS listeners they redirect to.
        let target = if want.settings.forward_port.is_some() { &mut forwarded_creates } else { &mut creates };
        match exact {
            // The redirect of an HTTP listener is fixed at creation: a change recreates it.
            Some(have) if (owned(have) || take_over) && have.settings.forward_port != want.settings.forward_port => {
                deletes.push(ClbOp::DeleteListener { port: have.port, protocol: have.protocol.clone() });
                target.push(listener_creation(want, group));
                target.push(ClbOp::StartListener { port: want.key.port, protocol: want.protocol.clone() });
            }
            Some(have) if owned(have) || take_over => updates.extend(listener_update(want, have, &group)),
            Some(have) => return Err(conflict(have)),
            None => {
                for other in
                    observed.iter().filter(|l| l.port == want.key.port && same_transport(&l.protocol, &want.protocol))
                {
                    if !owned(other) && !take_over {
                        return Err(conflict(other));
                    }
                    if !owned(other) {
                        deletes.push(ClbOp::DeleteListener { port: other.port, protocol: other.protocol.clone() });
                    }
                }
                target.push(listener_creation(want, group));
                target.push(ClbOp::StartListener { port: want.key.port, protocol: want.protocol.clone() });
            }
        }
    }
    creates.extend(forwarded_creates);
    for have in observed.iter().filter(|l| owned(l)) {
        let wanted = desired.listeners.iter().any(|w| w.key.port == have.port && w.protocol == have.protocol);
        if !wanted {
            deletes.push(ClbOp::DeleteListener { port: have.port, protocol: have.protocol.clone() });
        }
    }
    Ok(deletes.into_iter().chain(creates).chain(updates).collect())
}

fn conflict(l: &ObservedListener) -> PlanError {
    PlanError::ListenerConflict { port: l.port, protocol: l.protocol.clone(), description: l.description.clone() }
}

fn listener_creation(want: &ListenerSpec, group: GroupRef) -> ClbOp {
    let mut settings = want.settings.clone();
    settings.scheduler.get_or_insert(aliyun_api::slb::Scheduler::Rr);
    if matches!(want.protocol, ListenerProtocol::Http | ListenerProtocol::Https) {
        // The Go CCM's defaults for new layer-7 listeners.
        settings.health_check_switch.get_or_insert(OnOff::Off);
        settings.sticky_session.get_or_insert(OnOff::Off);
    }
    ClbOp::CreateListener(Box::new(ListenerCreation {
        port: want.key.port,
        protocol: want.protocol.clone(),
        group,
        description: want.key.to_string(),
        settings,
    }))
}

/// Updates of one existing listener: group, description, asked-for attributes, and a start if stopped.
fn listener_update(want: &ListenerSpec, have: &ObservedListener, group: &GroupRef) -> Vec<ClbOp> {
    let description = want.key.to_string();
    let group_change = match group {
        GroupRef::Existing { id, .. } if *id == have.vserver_group_id => None,
        other => Some(other.clone()),
    };
    let update = ListenerUpdate {
        port: have.port,
        protocol: have.protocol.clone(),
        group: group_change,
        description: (have.description != description).then_some(description),
        settings: settings_update(want, have),
    };
    let mut ops = Vec::new();
    if update.group.is_some() || update.description.is_some() || !update.settings.is_empty() {
        ops.push(ClbOp::SetListener(Box::new(update)));
    }
    if have.status == Some(ListenerStatus::Stopped) {
        ops.push(ClbOp::StartListener { port: have.port, protocol: have.protocol.clone() });
    }
    ops
}

/// The attribute changes of a listener, including the switch back from a left-over `/healthz` check.
fn settings_update(want: &ListenerSpec, have: &ObservedListener) -> ListenerSettings {
    let mut settings = want.settings.differences_from(&have.settings);
    let observed = &have.settings;
    let leftover_local_check = observed.health_check_type == Some(HealthCheckType::Http)
        && observed.health_check_uri.as_deref() == Some(LOCAL_HEALTH_CHECK_PATH);
    if let Some(port) = want.reset_health_check
        && leftover_local_check
        && observed.health_check_connect_port != Some(port)
    {
        settings.health_check_type = Some(HealthCheckType::Tcp);
        settings.health_check_connect_port = Some(port);
    }
    settings
}

/// The Service's own groups that no desired group uses any more: deleted, or, when someone else's backends are
/// in them, emptied of the Service's backends.
fn unused_owned_groups(
    owner: &ServiceOwner,
    desired: &[VServerGroupSpec],
    observed: &[ObservedVServerGroup],
) -> Vec<ClbOp> {
    observed
        .iter()
        .filter(|g| owner.owns_group_key(&g.name))
        .filter(|g| !desired.iter().any(|d| d.key.to_string() == g.name))
        .flat_map(|g| release_group(owner, g))
        .collect()
}

/// Deletes a group of the Service, or removes the Service's backends from a group that is not (only) its own.
fn release_group(owner: &ServiceOwner, g: &ObservedVServerGroup) -> Vec<ClbOp> {
    let ours: Vec<Backend> =
        g.backends.iter().flatten().filter(|b| owner.owns_group_key(&b.description)).cloned().collect();
    let all_ours = g.backends.as_ref().is_none_or(|b| b.len() == ours.len());
    if owner.owns_group_key(&g.name) && all_ours {
        return vec![ClbOp::DeleteVServerGroup { id: g.id.clone(), name: g.name.clone() }];
    }
    let r = GroupRef::Existing { id: g.id.clone(), name: g.name.clone() };
    batches(&ours, |b| ClbOp::RemoveBackends { group: r.clone(), backends: b })
}

/// What to do with a load balancer when its Service goes away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CleanupMode {
    /// A load balancer the controller created: protection off, delete it.
    Delete,
    /// `preserve-lb-on-delete`: keep it, protections off, ownership tags removed.
    Preserve,
    /// A reused (or unproven) load balancer: remove only the Service's listeners, groups and backends.
    Release,
}

/// Plans the cleanup of `observed` for the Service `owner`.
pub fn plan_cleanup(
    owner: &ServiceOwner,
    observed: &ObservedClb,
    mode: CleanupMode,
    owner_tag_keys: &[String],
) -> ClbPlan {
    let lb = &observed.load_balancer;
    let mut ops = Vec::new();
    match mode {
        CleanupMode::Delete => {
            if lb.delete_protection.as_ref() != Some(&OnOff::Off) {
                ops.push(ClbOp::SetDeleteProtection(OnOff::Off));
            }
            ops.push(ClbOp::DeleteLoadBalancer);
        }
        CleanupMode::Preserve => {
            if lb.delete_protection.as_ref() != Some(&OnOff::Off) {
                ops.push(ClbOp::SetDeleteProtection(OnOff::Off));
            }
            if lb.modification_protection.as_ref() != Some(&ModificationProtectionStatus::NonProtection) {
                ops.push(ClbOp::SetModificationProtection(ModificationProtectionStatus::NonProtection));
            }
            let present: Vec<String> = owner_tag_keys.iter().filter(|k| lb.tags.contains_key(*k)).cloned().collect();
            if !present.is_empty() {
                ops.push(ClbOp::RemoveTags(present));
            }
        }
        CleanupMode::Release => ops = release_ops(owner, observed),
    }
    ClbPlan { load_balancer_id: Some(lb.id.clone()), ops }
}

/// The Service's listeners, its backends in other groups, then its groups.
fn release_ops(owner: &ServiceOwner, observed: &ObservedClb) -> Vec<ClbOp> {
    let listeners = observed
        .listeners
        .iter()
        .flatten()
        .filter(|l| owner.owns_listener(&l.description))
        .map(|l| ClbOp::DeleteListener { port: l.port, protocol: l.protocol.clone() });
    let (deletes, removals): (Vec<ClbOp>, Vec<ClbOp>) = observed
        .vserver_groups
        .iter()
        .flat_map(|g| release_group(owner, g))
        .partition(|op| matches!(op, ClbOp::DeleteVServerGroup { .. }));
    listeners.chain(removals).chain(deletes).collect()
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
