//! `--controllers`: which controllers run, with the rules of upstream `k8s.io/controller-manager` and the names of
//! both upstream and the Go CCM.
//!
//! * The list is read in order for each controller: the first entry naming it enables it, the first `-name`
//!   disables it; otherwise `*` (anywhere) enables it; otherwise it is off.
//! * Names: the Go CCM's (`node`, `route`, `service`) and upstream's, canonical and alias
//!   (`cloud-node-controller`/`cloud-node`, `cloud-node-lifecycle-controller`/`cloud-node-lifecycle`,
//!   `node-route-controller`, `service-lb-controller`). The Go CCM's `node` covers both node initialization and
//!   node lifecycle, as its node controller does both.
//! * The Go CCM's other controllers (`nlb`, `ingress`, `pvtz`) are recognised but not part of this CCM: naming
//!   them is a warning, not an error, so its manifests keep working.
//! * Any other name is a startup error naming it and the valid set.

use std::{collections::BTreeSet, fmt};

/// A controller of this CCM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Controller {
    /// Node initialization: provider ID, labels, addresses, taint removal (upstream `cloud-node-controller`).
    Node,
    /// Node lifecycle: deletion of nodes whose instance is gone, shutdown taint
    /// (upstream `cloud-node-lifecycle-controller`).
    NodeLifecycle,
    /// VPC routes for pod CIDRs (upstream `node-route-controller`).
    Route,
    /// Services of type LoadBalancer on CLB (upstream `service-lb-controller`).
    Service,
}

impl Controller {
    /// Every controller, in start order.
    pub const ALL: [Controller; 4] =
        [Controller::Node, Controller::NodeLifecycle, Controller::Route, Controller::Service];

    /// The upstream canonical name.
    pub fn canonical_name(self) -> &'static str {
        match self {
            Controller::Node => "cloud-node-controller",
            Controller::NodeLifecycle => "cloud-node-lifecycle-controller",
            Controller::Route => "node-route-controller",
            Controller::Service => "service-lb-controller",
        }
    }

    /// A short name for logs and metrics labels.
    pub fn short_name(self) -> &'static str {
        match self {
            Controller::Node => "node",
            Controller::NodeLifecycle => "node-lifecycle",
            Controller::Route => "route",
            Controller::Service => "service",
        }
    }
}

impl fmt::Display for Controller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.canonical_name())
    }
}

/// Every accepted name and the controllers it stands for.
const NAMES: &[(&str, &[Controller])] = &[
    ("node", &[Controller::Node, Controller::NodeLifecycle]),
    ("cloud-node", &[Controller::Node]),
    ("cloud-node-controller", &[Controller::Node]),
    ("cloud-node-lifecycle", &[Controller::NodeLifecycle]),
    ("cloud-node-lifecycle-controller", &[Controller::NodeLifecycle]),
    ("route", &[Controller::Route]),
    ("node-route-controller", &[Controller::Route]),
    ("service", &[Controller::Service]),
    ("service-lb-controller", &[Controller::Service]),
];

/// Controllers of the Go CCM that this CCM does not have.
const NOT_PROVIDED: &[(&str, &str)] = &[
    ("nlb", "Services with loadBalancerClass alibabacloud.com/nlb (NLB) are not served by this CCM"),
    ("ingress", "the ALB Ingress controller is not part of this CCM"),
    ("pvtz", "the PrivateZone controller is not part of this CCM"),
];

/// `--controllers` could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControllersError {
    /// A name nobody knows.
    #[error(
        "--controllers: {name:?} is not in the list of known controllers; valid: {valid} (prefix a name with - to disable it)"
    )]
    Unknown {
        /// The entry as given.
        name: String,
        /// The valid names.
        valid: String,
    },
}

/// The result of `--controllers`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnabledControllers {
    enabled: BTreeSet<Controller>,
    /// Warnings for entries naming Go CCM controllers this CCM does not have.
    pub warnings: Vec<String>,
}

impl EnabledControllers {
    /// Whether `controller` runs.
    pub fn is_enabled(&self, controller: Controller) -> bool {
        self.enabled.contains(&controller)
    }

    /// The controllers that run, in start order.
    pub fn iter(&self) -> impl Iterator<Item = Controller> + '_ {
        self.enabled.iter().copied()
    }

    /// Whether none runs.
    pub fn is_empty(&self) -> bool {
        self.enabled.is_empty()
    }

    /// Turns `controller` off (e.g. the route controller with `--configure-cloud-routes=false`).
    pub fn disable(&mut self, controller: Controller) {
        self.enabled.remove(&controller);
    }

    /// Exactly these controllers (for tests and callers that build settings in code).
    pub fn only(controllers: impl IntoIterator<Item = Controller>) -> Self {
        Self { enabled: controllers.into_iter().collect(), warnings: Vec::new() }
    }
}

fn valid_names() -> String {
    let mut names: Vec<&str> = vec!["*"];
    names.extend(NAMES.iter().map(|(n, _)| *n));
    names.extend(NOT_PROVIDED.iter().map(|(n, _)| *n));
    names.join(", ")
}

fn lookup(name: &str) -> Option<&'static [Controller]> {
    NAMES.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// Applies the `--controllers` rules to `entries` (already split at commas).
pub fn resolve(entries: &[String]) -> Result<EnabledControllers, ControllersError> {
    let entries: Vec<&str> = entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()).collect();
    let mut warnings = Vec::new();
    // Validate every entry first, so that a typo is reported even when an earlier entry decides.
    for entry in &entries {
        let name = entry.strip_prefix('-').unwrap_or(entry);
        if *entry == "*" || lookup(name).is_some() {
            continue;
        }
        if let Some((_, why)) = NOT_PROVIDED.iter().find(|(n, _)| *n == name) {
            if !entry.starts_with('-') {
                warnings
                    .push(format!("--controllers: `{name}` is a Go CCM controller that this CCM does not have: {why}"));
            }
            continue;
        }
        return Err(ControllersError::Unknown { name: (*entry).to_owned(), valid: valid_names() });
    }
    let has_star = entries.contains(&"*");
    let mut enabled = BTreeSet::new();
    for controller in Controller::ALL {
        let mut decision = None;
        for entry in &entries {
            let (negated, name) = match entry.strip_prefix('-') {
                Some(name) => (true, name),
                None => (false, *entry),
            };
            if lookup(name).is_some_and(|cs| cs.contains(&controller)) {
                decision = Some(!negated);
                break;
            }
        }
        if decision.unwrap_or(has_star) {
            enabled.insert(controller);
        }
    }
    Ok(EnabledControllers { enabled, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Controller::*;

    fn on(list: &str) -> Vec<Controller> {
        let entries: Vec<String> = list.split(',').map(str::to_owned).collect();
        resolve(&entries).unwrap().iter().collect()
    }

    #[test]
    fn star_enables_everything() {
        assert_eq!(on("*"), [Node, NodeLifecycle, Route, Service]);
    }

    #[test]
    fn go_ccm_names() {
        assert_eq!(on("node,route"), [Node, NodeLifecycle, Route]);
        assert_eq!(on("service"), [Service]);
        assert_eq!(on("node,route,service"), Controller::ALL);
    }

    #[test]
    fn upstream_names_and_aliases() {
        assert_eq!(on("cloud-node,cloud-node-lifecycle"), [Node, NodeLifecycle]);
        assert_eq!(on("cloud-node-controller,node-route-controller"), [Node, Route]);
        assert_eq!(on("service-lb-controller,cloud-node-lifecycle-controller"), [NodeLifecycle, Service]);
    }

    #[test]
    fn minus_disables_and_the_first_mention_wins() {
        assert_eq!(on("*,-route"), [Node, NodeLifecycle, Service]);
        assert_eq!(on("-route,*"), [Node, NodeLifecycle, Service]);
        assert_eq!(on("*,-node-route-controller,-service-lb-controller"), [Node, NodeLifecycle]);
        assert_eq!(on("route,-route"), [Route]);
        assert_eq!(on("-route,route"), Vec::<Controller>::new());
        assert_eq!(on("-cloud-node-lifecycle,node"), [Node]);
        assert_eq!(on("*,-node"), [Route, Service]);
        assert_eq!(on("*,-cloud-node"), [NodeLifecycle, Route, Service]);
    }

    #[test]
    fn without_star_unnamed_controllers_are_off() {
        assert_eq!(on("-route"), Vec::<Controller>::new());
        assert_eq!(on(""), Vec::<Controller>::new());
        assert!(resolve(&[]).unwrap().is_empty());
        assert_eq!(on(" node , ,service "), [Node, NodeLifecycle, Service]);
    }

    #[test]
    fn unknown_names_fail_naming_them_and_the_valid_set() {
        let err = resolve(&["node".into(), "routes".into()]).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("\"routes\" is not in the list of known controllers"), "{text}");
        assert!(text.contains("valid: *, node, cloud-node,") && text.contains("service-lb-controller"), "{text}");
        assert!(resolve(&["-bogus".into()]).unwrap_err().to_string().contains("\"-bogus\""));
        // Reported even when an earlier entry already decides everything.
        assert!(resolve(&["*".into(), "typo".into()]).is_err());
    }

    #[test]
    fn go_ccm_controllers_we_lack_are_warnings() {
        let r = resolve(&["node".into(), "route".into(), "service".into(), "nlb".into()]).unwrap();
        assert_eq!(r.iter().collect::<Vec<_>>(), Controller::ALL);
        assert_eq!(r.warnings.len(), 1);
        assert!(r.warnings[0].contains("`nlb`"), "{:?}", r.warnings);
        let r = resolve(&["*".into(), "-nlb".into()]).unwrap();
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn disable_and_only() {
        let mut r = EnabledControllers::only([Route, Service]);
        assert!(r.is_enabled(Route));
        r.disable(Route);
        assert!(!r.is_enabled(Route));
        assert_eq!(Route.to_string(), "node-route-controller");
        assert_eq!(Route.short_name(), "route");
    }
}
