//! Validation of a KubernetesNamespace: upstream's buf.validate rules, each failure at its
//! property path (JSON names), plus the few rules where kjob is stricter, whose messages name the
//! rule (README, "Stricter than upstream"). Enum values outside the proto's (upstream's
//! `defined_only`) and two members of the profile's oneof are refused by the decoder already.

use core::net::IpAddr;
use std::collections::BTreeMap; // address parsing only: no IO

use crate::api::namespace::{
    KubernetesNamespace, KubernetesNamespaceCustomQuotas, KubernetesNamespaceNetworkConfig,
    KubernetesNamespaceServiceMeshConfig, kubernetes_namespace_resource_profile::ProfileConfig,
};
use crate::core::names;
use crate::core::objects::API_VERSION;
use crate::core::path::{Failure, PropertyPath};

use super::KIND;

/// A quota or default quantity must parse: the API server would refuse the object at apply,
/// after the Namespace was created.
pub const RULE_QUANTITY: &str = "[rule: quantity]";
/// An allowed egress CIDR must be an IP block: the API server refuses the NetworkPolicy.
pub const RULE_CIDR: &str = "[rule: cidr]";
/// An allowed ingress namespace is a namespace's name (a DNS label), matched by label.
pub const RULE_NAMESPACE: &str = crate::kinds::job::validate::RULE_NAMESPACE;
/// The Istio revision tag is also written as the label `istio.io/rev`, so it is a label value.
pub const RULE_REVISION: &str = "[rule: revision-tag-label-value]";

/// Checks a label key: an optional DNS-1123 subdomain prefix and `/`, then a name of at most 63
/// characters (alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric).
pub fn qualified_name(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(prefix) = prefix {
        names::dns1123_subdomain(prefix).map_err(|e| format!("the prefix of {key:?}: {e}"))?;
    }
    if name.is_empty() {
        return Err(format!("{key:?} has an empty name part"));
    }
    label_value(name).map_err(|e| format!("{key:?} is not a valid key: {e}"))
}

/// Checks a label value: empty, or at most 63 alphanumerics, `-`, `_`, `.`, starting and ending
/// alphanumeric.
pub fn label_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    if value.len() > 63 {
        return Err(format!("{value:?} is longer than 63 characters"));
    }
    let ok_chars = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    let alnum = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    if !ok_chars || !alnum(value.bytes().next()) || !alnum(value.bytes().last()) {
        return Err(format!(
            "{value:?} must be letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

/// Checks a CIDR block (`10.0.0.0/8`, `fd00::/8`).
pub fn cidr(text: &str) -> Result<(), String> {
    let bad = || format!("{text:?} is not a CIDR block (e.g. 10.0.0.0/8) {RULE_CIDR}");
    let (address, bits) = text.split_once('/').ok_or_else(bad)?;
    let address: IpAddr = address.parse().map_err(|_| bad())?;
    let bits: u8 = bits.parse().map_err(|_| bad())?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    if bits > max {
        return Err(bad());
    }
    Ok(())
}

/// Collects failures.
struct Report(Vec<Failure>);

impl Report {
    fn check(&mut self, at: PropertyPath, result: Result<(), String>) {
        if let Err(e) = result {
            self.0.push(Failure::new(at, e));
        }
    }

    fn labels(&mut self, map: &BTreeMap<String, String>, at: &PropertyPath) {
        for (key, value) in map {
            let result = qualified_name(key)
                .and_then(|()| label_value(value).map_err(|e| format!("invalid label value: {e}")));
            self.check(at.key(key), result);
        }
    }

    fn annotations(&mut self, map: &BTreeMap<String, String>, at: &PropertyPath) {
        for key in map.keys() {
            self.check(at.key(key), qualified_name(key));
        }
    }

    /// A required quantity (upstream: `min_len: 1`; kjob: it parses).
    fn quantity(&mut self, text: &str, at: PropertyPath) {
        let result = if text.is_empty() {
            Err("is required (at least 1 character)".to_owned())
        } else {
            names::quantity(text)
                .map(|_| ())
                .map_err(|e| format!("{e} {RULE_QUANTITY}"))
        };
        self.check(at, result);
    }

    /// An integer at least `min` (upstream: `int32.gte`).
    fn at_least(&mut self, value: i32, min: i32, at: PropertyPath) {
        if value < min {
            self.0.push(Failure::new(
                at,
                format!("must be at least {min}, got {value}"),
            ));
        }
    }

    fn custom(&mut self, custom: &KubernetesNamespaceCustomQuotas, at: &PropertyPath) {
        if let Some(cpu) = &custom.cpu {
            self.quantity(&cpu.requests, at.field("cpu").field("requests"));
            self.quantity(&cpu.limits, at.field("cpu").field("limits"));
        }
        if let Some(memory) = &custom.memory {
            self.quantity(&memory.requests, at.field("memory").field("requests"));
            self.quantity(&memory.limits, at.field("memory").field("limits"));
        }
        if let Some(counts) = &custom.object_counts {
            let at = at.field("objectCounts");
            self.at_least(counts.pods, 1, at.field("pods"));
            self.at_least(counts.services, 1, at.field("services"));
            self.at_least(counts.configmaps, 1, at.field("configmaps"));
            self.at_least(counts.secrets, 1, at.field("secrets"));
            self.at_least(
                counts.persistent_volume_claims,
                0,
                at.field("persistentVolumeClaims"),
            );
            self.at_least(counts.load_balancers, 0, at.field("loadBalancers"));
        }
        if let Some(defaults) = &custom.default_limits {
            let at = at.field("defaultLimits");
            self.quantity(&defaults.default_cpu_request, at.field("defaultCpuRequest"));
            self.quantity(&defaults.default_cpu_limit, at.field("defaultCpuLimit"));
            self.quantity(
                &defaults.default_memory_request,
                at.field("defaultMemoryRequest"),
            );
            self.quantity(
                &defaults.default_memory_limit,
                at.field("defaultMemoryLimit"),
            );
        }
    }

    fn network(&mut self, network: &KubernetesNamespaceNetworkConfig, at: &PropertyPath) {
        for (i, name) in network.allowed_ingress_namespaces.iter().enumerate() {
            self.check(
                at.field("allowedIngressNamespaces").index(i),
                names::dns1123_label(name).map_err(|e| format!("{e} {RULE_NAMESPACE}")),
            );
        }
        for (i, block) in network.allowed_egress_cidrs.iter().enumerate() {
            self.check(at.field("allowedEgressCidrs").index(i), cidr(block));
        }
    }

    fn mesh(&mut self, mesh: &KubernetesNamespaceServiceMeshConfig, at: &PropertyPath) {
        if mesh.enabled && mesh.mesh_type == 0 {
            self.0.push(Failure::new(
                at.field("meshType"),
                "must be set when enabled is true (istio, linkerd or consul)",
            ));
        }
        let tag = &mesh.revision_tag;
        let result = if tag.chars().count() > 63 {
            Err(format!(
                "must be at most 63 characters, got {}",
                tag.chars().count()
            ))
        } else {
            label_value(tag).map_err(|e| format!("{e} {RULE_REVISION}"))
        };
        self.check(at.field("revisionTag"), result);
    }
}

/// Validates a KubernetesNamespace: every failure, each at its path under `root`.
pub fn validate(namespace: &KubernetesNamespace, root: &PropertyPath) -> Vec<Failure> {
    let mut report = Report(Vec::new());
    if namespace.api_version != API_VERSION {
        report.0.push(Failure::new(
            root.field("apiVersion"),
            format!("must be {API_VERSION:?}, got {:?}", namespace.api_version),
        ));
    }
    if namespace.kind != KIND {
        report.0.push(Failure::new(
            root.field("kind"),
            format!("must be {KIND:?}, got {:?}", namespace.kind),
        ));
    }
    match &namespace.metadata {
        None => report
            .0
            .push(Failure::new(root.field("metadata"), "is required")),
        Some(metadata) => {
            let at = root.field("metadata");
            let name = if metadata.name.is_empty() {
                Err("is required".to_owned())
            } else {
                names::dns1123_label(&metadata.name)
                    .map_err(|e| format!("{e} (it is the owner label's value)"))
            };
            report.check(at.field("name"), name);
            report.labels(&metadata.labels, &at.field("labels"));
            report.annotations(&metadata.annotations, &at.field("annotations"));
        }
    }
    let Some(spec) = &namespace.spec else {
        report
            .0
            .push(Failure::new(root.field("spec"), "is required"));
        return report.0;
    };
    let at = root.field("spec");
    let name = if spec.name.is_empty() {
        Err("is required (the Namespace's name)".to_owned())
    } else {
        names::dns1123_label(&spec.name)
    };
    report.check(at.field("name"), name);
    report.labels(&spec.labels, &at.field("labels"));
    report.annotations(&spec.annotations, &at.field("annotations"));
    if let Some(ProfileConfig::Custom(custom)) = spec
        .resource_profile
        .as_ref()
        .and_then(|p| p.profile_config.as_ref())
    {
        report.custom(custom, &at.field("resourceProfile").field("custom"));
    }
    if let Some(network) = &spec.network_config {
        report.network(network, &at.field("networkConfig"));
    }
    if let Some(mesh) = &spec.service_mesh_config {
        report.mesh(mesh, &at.field("serviceMeshConfig"));
    }
    report.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_syntax() {
        assert!(qualified_name("app.kubernetes.io/name").is_ok());
        assert!(qualified_name("team").is_ok());
        assert!(qualified_name("Bad_Prefix/x").is_err());
        assert!(qualified_name("a/").is_err());
        assert!(label_value("").is_ok());
        assert!(label_value("a.b-c_d").is_ok());
        assert!(label_value("-a").is_err());
    }

    #[test]
    fn cidr_syntax() {
        assert!(cidr("10.0.0.0/8").is_ok());
        assert!(cidr("fd00::/8").is_ok());
        assert!(cidr("10.0.0.0").is_err());
        assert!(cidr("10.0.0.0/33").unwrap_err().contains(RULE_CIDR));
        assert!(cidr("example.com/8").is_err());
    }
}
