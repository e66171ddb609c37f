//! The KubernetesNamespace kind, which a KubernetesJob's `spec.namespace` refers to by default:
//! decode strictly, resolve references, validate ([`mod@validate`]), render ([`mod@render`]) and compute
//! its outputs. Pure, like [`crate::kinds::job`].
//!
//! The whole of upstream's spec: `name` (a DNS-1123 label), `labels`, `annotations`,
//! `resourceProfile` (a preset size or custom quotas: a ResourceQuota `<name>-quota`, and with
//! custom `defaultLimits` a LimitRange `<name>-limits`), `networkConfig` (NetworkPolicies
//! `<name>-ingress-policy` and `<name>-egress-policy`), `serviceMeshConfig` (injection
//! annotations; Istio's also as a label) and `podSecurityStandard` (the label
//! `pod-security.kubernetes.io/enforce`). `targetCluster` is accepted and not used: the CLI
//! deploys to the cluster of its kubeconfig. Every object carries the ownership labels every kjob
//! object carries and the `planton.ai/*` labels with kind `KubernetesNamespace`. Deleting the
//! resource deletes its objects, the Namespace only while it holds nothing else.
//!
//! Outputs (`KubernetesNamespaceStackOutputs`, JSON names): `namespace` and `namespaceId` (the
//! name), `labelsJson` and `annotationsJson` (JSON of `spec.labels` / `spec.annotations`, `{}`
//! when empty), `resourceQuotasApplied`, `limitRangesApplied`, `networkPoliciesApplied` and
//! `serviceMeshEnabled` (`"true"` or `"false"`: whether the objects are rendered, whether
//! injection is on), `serviceMeshType` and `podSecurityStandard` (the enum value's name, or empty).

pub mod render;
pub mod validate;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::api;
use crate::api::namespace::KubernetesNamespace;
use crate::core::codec;
use crate::core::codec::UnknownTest;
use crate::core::load;
use crate::core::path::{Failure, PropertyPath};
use crate::core::refs::Source;

pub use render::{object_labels, object_ref, render};
pub use validate::{label_value, qualified_name, validate};

/// The kind's name.
pub const KIND: &str = "KubernetesNamespace";

/// A checked KubernetesNamespace manifest.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The manifest with defaults applied and references resolved.
    pub namespace: KubernetesNamespace,
    /// The same as JSON (camelCase names).
    pub document: Value,
    /// Paths that were unknown placeholders (Pulumi preview only).
    pub unknowns: Vec<PropertyPath>,
    /// Every problem, each at its path.
    pub failures: Vec<Failure>,
}

impl Checked {
    /// Whether the manifest can be deployed.
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// `metadata.name`: the resource's name and the owner label's value.
    pub fn resource_name(&self) -> String {
        self.namespace
            .metadata
            .as_ref()
            .map(|m| m.name.clone())
            .unwrap_or_default()
    }

    /// `spec.name`: the Namespace's name.
    pub fn namespace_name(&self) -> String {
        self.namespace
            .spec
            .as_ref()
            .map(|s| s.name.clone())
            .unwrap_or_default()
    }
}

/// Runs the pipeline over a manifest document (`{apiVersion, kind, metadata, spec}`).
pub fn check(
    document: &Value,
    root: &PropertyPath,
    unknown: Option<UnknownTest<'_>>,
    sources: &[&dyn Source],
) -> Checked {
    let desc = api::message(api::KUBERNETES_NAMESPACE);
    let loaded = load::load_resolved(&desc, document, root, unknown, sources);
    let mut failures = loaded.failures;
    let message = loaded.message;
    let namespace: KubernetesNamespace = codec::to_typed(&message);
    failures.extend(validate(&namespace, root));
    let failures = load::settle(failures, &loaded.unknowns);
    Checked {
        document: codec::encode(&message),
        namespace,
        unknowns: loaded.unknowns,
        failures,
    }
}

fn sorted_json(map: &BTreeMap<String, String>) -> String {
    serde_json::to_string(map).expect("a string map serializes")
}

/// `"true"` or `"false"`, as upstream's outputs spell booleans.
fn flag(value: bool) -> &'static str {
    if value { "true" } else { "false" }
}

/// The outputs (`status.outputs`) of a checked manifest, JSON names.
pub fn outputs(checked: &Checked) -> Value {
    let spec = checked.namespace.spec.clone().unwrap_or_default();
    json!({
        "namespace": spec.name,
        "namespaceId": spec.name,
        "resourceQuotasApplied": flag(render::quota_hard(&spec).is_some()),
        "limitRangesApplied": flag(render::limit_defaults(&spec).is_some()),
        "networkPoliciesApplied": flag(render::has_policies(&spec)),
        "serviceMeshEnabled": flag(render::mesh_enabled(&spec)),
        "serviceMeshType": render::mesh_type(&spec),
        "podSecurityStandard": render::pod_security_standard(&spec),
        "labelsJson": sorted_json(&spec.labels),
        "annotationsJson": sorted_json(&spec.annotations),
    })
}

#[cfg(test)]
mod tests;
