//! The manifests under `manifests/` are valid, consistent with each other, and start the binary with flags it
//! accepts.

#![allow(clippy::unwrap_used)] // a test file: helpers panic with the file name on bad input

use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;

fn manifests() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../manifests")
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .filter(|v: &Value| !v.is_null())
        .collect()
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = v;
    for key in path {
        v = v.get(*key)?;
    }
    v.as_str()
}

#[test]
fn every_manifest_is_a_list_of_named_objects() {
    let mut files = Vec::new();
    yaml_files(&manifests(), &mut files);
    assert!(files.len() >= 15, "{files:?}");
    for file in files {
        for doc in documents(&file) {
            assert!(str_at(&doc, &["apiVersion"]).is_some(), "{}: no apiVersion", file.display());
            let kind = str_at(&doc, &["kind"]).unwrap_or_else(|| panic!("{}: no kind", file.display()));
            if kind != "Kustomization" {
                assert!(str_at(&doc, &["metadata", "name"]).is_some(), "{}: a {kind} without name", file.display());
            }
        }
    }
}

#[test]
fn the_initor_rbac_copies_are_identical() {
    let m = manifests();
    let source = std::fs::read_to_string(m.join("rbac/provider-id-initor.yaml")).unwrap();
    for copy in ["provider-id-initor/broadcastjob/rbac.yaml", "provider-id-initor/daemonset/rbac.yaml"] {
        assert_eq!(
            std::fs::read_to_string(m.join(copy)).unwrap(),
            source,
            "{copy} differs from rbac/provider-id-initor.yaml"
        );
    }
}

fn container_command(file: &str) -> Vec<String> {
    let docs = documents(&manifests().join(file));
    let workload = docs.iter().find(|d| matches!(str_at(d, &["kind"]), Some("DaemonSet" | "Deployment"))).unwrap();
    let containers = workload["spec"]["template"]["spec"]["containers"].as_sequence().unwrap();
    containers[0]["command"].as_sequence().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

#[test]
fn the_workloads_start_the_binary_with_flags_it_accepts() {
    for file in ["daemonset/daemonset.yaml", "deployment/deployment.yaml"] {
        let command = container_command(file);
        assert_eq!(command[0], "/cloud-controller-manager", "{file}: the image's path (and the Go CCM's)");
        let settings = ccm::flags::settings_from(&command).unwrap_or_else(|e| panic!("{file}: {e:#}"));
        assert!(settings.warnings.is_empty(), "{file}: {:?}", settings.warnings);
        assert_eq!(settings.cloud_config.as_deref(), Some(Path::new("/etc/kubernetes/config/cloud-config.conf")));
        let le = settings.leader_election.unwrap();
        assert_eq!((le.namespace.as_str(), le.name.as_str()), ("kube-system", "ccm"));
    }
}

#[test]
fn the_lease_role_matches_the_default_lease() {
    let docs = documents(&manifests().join("rbac/cloud-controller-manager.yaml"));
    let role = docs.iter().find(|d| str_at(d, &["kind"]) == Some("Role")).unwrap();
    assert_eq!(str_at(role, &["metadata", "namespace"]), Some("kube-system"));
    let rules = role["rules"].as_sequence().unwrap();
    let named = rules.iter().find(|r| r.get("resourceNames").is_some()).unwrap();
    assert_eq!(named["resourceNames"][0].as_str(), Some("ccm"));
    let sa = docs.iter().find(|d| str_at(d, &["kind"]) == Some("ServiceAccount")).unwrap();
    assert_eq!(str_at(sa, &["metadata", "name"]), Some("cloud-controller-manager"));
    assert_eq!(str_at(sa, &["metadata", "namespace"]), Some("kube-system"));
}

#[test]
fn the_cloud_config_manifests_hold_the_seed_format() {
    for (file, path) in [
        ("cloud-config/configmap/cloud-config.yaml", ["data", "cloud-config.conf"]),
        ("cloud-config/secret/cloud-config.yaml", ["stringData", "cloud-config.conf"]),
    ] {
        let docs = documents(&manifests().join(file));
        let text = str_at(&docs[0], &path).unwrap();
        // The placeholders are not base64: the binary refuses them, naming the key.
        let err = ccm::cloud_config::CloudConfig::parse(text, file).unwrap_err().to_string();
        assert!(err.contains("Global.accessKeyID"), "{file}: {err}");
        let without_keys =
            text.replace("REPLACE-WITH-BASE64-ACCESS-KEY-ID", "").replace("REPLACE-WITH-BASE64-ACCESS-KEY-SECRET", "");
        let config = ccm::cloud_config::CloudConfig::parse(&without_keys, file).unwrap();
        assert_eq!(config.region.as_deref(), Some("cn-hangzhou"));
    }
}
