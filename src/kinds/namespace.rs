//! The KubernetesNamespace kind, which a KubernetesJob's `spec.namespace` refers to by default:
//! decode strictly with defaults, resolve references, validate, render to one `Namespace`, and
//! compute its outputs. Pure, like [`crate::kinds::job`].
//!
//! Supported spec: `name` (a DNS-1123 label, 1–63 characters), `labels`, `annotations`
//! (`targetCluster` is accepted and not used: the CLI deploys to the cluster of its kubeconfig).
//! The Namespace carries the ownership labels every kjob object carries
//! (`app.kubernetes.io/managed-by: kjob`, `kjob.project-planton.org/job: <metadata.name>`), the
//! `planton.ai/*` labels with kind `KubernetesNamespace`, `metadata.labels` and `spec.labels`;
//! and `metadata.annotations` with `spec.annotations`. Deleting the resource deletes the
//! Namespace only while it carries those ownership labels.
//!
//! Outputs (`KubernetesNamespaceStackOutputs`, JSON names): `namespace` and `namespaceId` (the
//! name), `labelsJson` and `annotationsJson` (JSON of `spec.labels` / `spec.annotations`, `{}`
//! when empty), and `resourceQuotasApplied`, `limitRangesApplied`, `networkPoliciesApplied`,
//! `serviceMeshEnabled` (`"false"`), `serviceMeshType`, `podSecurityStandard` (empty): quotas,
//! limit ranges, policies and meshes are not part of this kind's spec here.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Value, json};

use crate::api;
use crate::api::namespace::KubernetesNamespace;
use crate::core::codec;
use crate::core::codec::UnknownTest;
use crate::core::load;
use crate::core::names;
use crate::core::objects::API_VERSION;
use crate::core::objects::{Object, ObjectKind, ObjectRef, labels};
use crate::core::path::{Failure, PropertyPath};
use crate::core::refs::Source;

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
    let ok_ends = value
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        && value
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if !ok_chars || !ok_ends {
        return Err(format!(
            "{value:?} must be letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
        ));
    }
    Ok(())
}

fn validate_labels(
    failures: &mut Vec<Failure>,
    labels_map: &BTreeMap<String, String>,
    at: &PropertyPath,
) {
    for (key, value) in labels_map {
        if let Err(e) = qualified_name(key) {
            failures.push(Failure::new(at.key(key), e));
        } else if let Err(e) = label_value(value) {
            failures.push(Failure::new(
                at.key(key),
                format!("invalid label value: {e}"),
            ));
        }
    }
}

fn validate_annotations(
    failures: &mut Vec<Failure>,
    annotations: &BTreeMap<String, String>,
    at: &PropertyPath,
) {
    for key in annotations.keys() {
        if let Err(e) = qualified_name(key) {
            failures.push(Failure::new(at.key(key), e));
        }
    }
}

/// Validates a KubernetesNamespace (upstream's rules: spec.name 1–63 characters, a DNS label).
pub fn validate(namespace: &KubernetesNamespace, root: &PropertyPath) -> Vec<Failure> {
    let mut failures = Vec::new();
    if namespace.api_version != API_VERSION {
        failures.push(Failure::new(
            root.field("apiVersion"),
            format!("must be {API_VERSION:?}, got {:?}", namespace.api_version),
        ));
    }
    if namespace.kind != KIND {
        failures.push(Failure::new(
            root.field("kind"),
            format!("must be {KIND:?}, got {:?}", namespace.kind),
        ));
    }
    match &namespace.metadata {
        None => failures.push(Failure::new(root.field("metadata"), "is required")),
        Some(metadata) => {
            let at = root.field("metadata");
            if metadata.name.is_empty() {
                failures.push(Failure::new(at.field("name"), "is required"));
            } else if let Err(e) = names::dns1123_label(&metadata.name) {
                failures.push(Failure::new(
                    at.field("name"),
                    format!("{e} (it is the owner label's value)"),
                ));
            }
            validate_labels(&mut failures, &metadata.labels, &at.field("labels"));
            validate_annotations(
                &mut failures,
                &metadata.annotations,
                &at.field("annotations"),
            );
        }
    }
    match &namespace.spec {
        None => failures.push(Failure::new(root.field("spec"), "is required")),
        Some(spec) => {
            let at = root.field("spec");
            if spec.name.is_empty() {
                failures.push(Failure::new(
                    at.field("name"),
                    "is required (the Namespace's name)",
                ));
            } else if let Err(e) = names::dns1123_label(&spec.name) {
                failures.push(Failure::new(at.field("name"), e));
            }
            validate_labels(&mut failures, &spec.labels, &at.field("labels"));
            validate_annotations(&mut failures, &spec.annotations, &at.field("annotations"));
        }
    }
    failures
}

/// The labels of the Namespace.
pub fn object_labels(namespace: &KubernetesNamespace) -> BTreeMap<String, String> {
    let metadata = namespace.metadata.clone().unwrap_or_default();
    let mut out: BTreeMap<String, String> = metadata.labels.into_iter().collect();
    if let Some(spec) = &namespace.spec {
        out.extend(spec.labels.clone());
    }
    for (key, value) in [
        (labels::PLANTON_ID, &metadata.id),
        (labels::PLANTON_ORG, &metadata.org),
        (labels::PLANTON_ENV, &metadata.env),
    ] {
        if !value.is_empty() {
            out.insert(key.into(), value.clone());
        }
    }
    out.insert(labels::MANAGED_BY.into(), labels::MANAGED_BY_VALUE.into());
    out.insert(labels::OWNER.into(), metadata.name.clone());
    out.insert(labels::PLANTON_RESOURCE.into(), "true".into());
    out.insert(labels::PLANTON_NAME.into(), metadata.name.clone());
    out.insert(labels::PLANTON_KIND.into(), KIND.into());
    out
}

/// The identity of the Namespace a checked manifest renders.
pub fn object_ref(checked: &Checked) -> ObjectRef {
    ObjectRef {
        kind: ObjectKind::Namespace,
        namespace: None,
        name: checked.namespace_name(),
    }
}

/// Renders the one object of a checked manifest (the caller has made sure it has no failures).
pub fn render(checked: &Checked) -> Vec<Object> {
    let ns = &checked.namespace;
    let mut annotations: BTreeMap<String, String> = ns
        .metadata
        .as_ref()
        .map(|m| m.annotations.clone().into_iter().collect())
        .unwrap_or_default();
    if let Some(spec) = &ns.spec {
        annotations.extend(spec.annotations.clone());
    }
    let object = Namespace {
        metadata: ObjectMeta {
            name: Some(checked.namespace_name()),
            labels: Some(object_labels(ns)),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    let mut body = serde_json::to_value(&object).expect("a Namespace serializes");
    if let Some(map) = body.as_object_mut() {
        let mut out = serde_json::Map::new();
        out.insert(
            "apiVersion".into(),
            ObjectKind::Namespace.api_version().into(),
        );
        out.insert("kind".into(), ObjectKind::Namespace.as_str().into());
        out.extend(std::mem::take(map));
        body = Value::Object(out);
    }
    vec![Object {
        id: object_ref(checked),
        body,
        sensitive: false,
    }]
}

fn sorted_json(map: &BTreeMap<String, String>) -> String {
    serde_json::to_string(map).expect("a string map serializes")
}

/// The outputs (`status.outputs`) of a checked manifest, JSON names.
pub fn outputs(checked: &Checked) -> Value {
    let spec = checked.namespace.spec.clone().unwrap_or_default();
    json!({
        "namespace": spec.name,
        "namespaceId": spec.name,
        "resourceQuotasApplied": "false",
        "limitRangesApplied": "false",
        "networkPoliciesApplied": "false",
        "serviceMeshEnabled": "false",
        "serviceMeshType": "",
        "podSecurityStandard": "",
        "labelsJson": sorted_json(&spec.labels),
        "annotationsJson": sorted_json(&spec.annotations),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(spec: Value) -> Value {
        json!({"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": "team", "env": "dev", "labels": {"cost": "a"}}, "spec": spec})
    }

    #[test]
    fn checks_renders_and_outputs() {
        let c = check(
            &manifest(
                json!({"name": "team-ns", "labels": {"tier": "batch"}, "annotations": {"note": "x"}}),
            ),
            &PropertyPath::root(),
            None,
            &[],
        );
        assert!(c.is_ok(), "{:?}", c.failures);
        let objects = render(&c);
        assert_eq!(objects.len(), 1);
        assert_eq!(
            objects[0].id,
            ObjectRef {
                kind: ObjectKind::Namespace,
                namespace: None,
                name: "team-ns".into()
            }
        );
        let body = &objects[0].body;
        assert_eq!(body["apiVersion"], "v1");
        assert_eq!(body["kind"], "Namespace");
        let l = &body["metadata"]["labels"];
        assert_eq!(l[labels::MANAGED_BY], "kjob");
        assert_eq!(l[labels::OWNER], "team");
        assert_eq!(l[labels::PLANTON_KIND], KIND);
        assert_eq!(l[labels::PLANTON_ENV], "dev");
        assert_eq!(l["tier"], "batch");
        assert_eq!(l["cost"], "a");
        assert_eq!(body["metadata"]["annotations"]["note"], "x");
        let out = outputs(&c);
        assert_eq!(out["namespace"], "team-ns");
        assert_eq!(out["namespaceId"], "team-ns");
        assert_eq!(out["labelsJson"], "{\"tier\":\"batch\"}");
        assert_eq!(out["annotationsJson"], "{\"note\":\"x\"}");
        assert_eq!(out["serviceMeshEnabled"], "false");
    }

    #[test]
    fn validates_the_name_and_labels() {
        let long = "a".repeat(64);
        let c = check(
            &manifest(
                json!({"name": long, "labels": {"bad key!": "x", "ok": "-bad"}, "annotations": {"example.com/fine": "anything at all"}}),
            ),
            &PropertyPath::root(),
            None,
            &[],
        );
        let paths: Vec<String> = c.failures.iter().map(|f| f.path.to_string()).collect();
        assert_eq!(
            paths,
            ["spec.labels[\"bad key!\"]", "spec.labels.ok", "spec.name"],
            "{:?}",
            c.failures
        );
        let c = check(
            &manifest(json!({"name": "Bad_Name"})),
            &PropertyPath::root(),
            None,
            &[],
        );
        assert_eq!(c.failures.len(), 1);
        assert!(c.failures[0].reason.contains("DNS-1123"));
        let c = check(&manifest(json!({})), &PropertyPath::root(), None, &[]);
        assert_eq!(
            c.failures[0].to_string(),
            "spec.name: is required (the Namespace's name)"
        );
        let c = check(
            &manifest(json!({"name": "x", "preset": "small"})),
            &PropertyPath::root(),
            None,
            &[],
        );
        assert!(
            c.failures[0].reason.starts_with("unknown field `preset`"),
            "{:?}",
            c.failures
        );
    }

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
}
