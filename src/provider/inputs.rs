//! The resource's inputs and outputs as Pulumi sees them, translated to and from the manifest.
//! Pure: JSON in, JSON out.
//!
//! Inputs are the manifest without `apiVersion`/`kind` (`metadata`, `spec`) plus
//! `dockerConfigJson` (KubernetesJob). A KubernetesJob's outputs are the checked inputs plus
//! `namespace`, `jobName` and `jobStatus`, its ID `<namespace>/<job name>`; a
//! KubernetesNamespace's are the checked inputs plus its stack outputs
//! ([`NAMESPACE_OUTPUT_KEYS`]), its ID the namespace's name.

use serde_json::{Map, Value};

use crate::core::objects::API_VERSION;
use crate::core::path::{Failure, PropertyPath};
use crate::core::refs::Source;
use crate::kinds::{Checked, Kind};
use crate::provider::values::{self, UNKNOWN};

/// Input keys besides the manifest's own.
pub const DOCKER_CONFIG_JSON: &str = "dockerConfigJson";
/// Output key: the namespace.
pub const OUT_NAMESPACE: &str = "namespace";
/// Output key: the Job's name.
pub const OUT_JOB_NAME: &str = "jobName";
/// Output key: the Job's outcome (`Complete`, `Failed`, `Running`, `Suspended`, `Collected`).
pub const OUT_JOB_STATUS: &str = "jobStatus";
/// Output key kept in state after `pulumi import` (not in the schema): the imported objects
/// belong to another owner until this resource takes them over at its next Update or Delete.
pub const OUT_ADOPT: &str = "__kjobAdopt";
/// Keys that are outputs only.
pub const OUTPUT_KEYS: [&str; 4] = [OUT_NAMESPACE, OUT_JOB_NAME, OUT_JOB_STATUS, OUT_ADOPT];
const MANIFEST_KEYS: [&str; 2] = ["metadata", "spec"];
const EXTRA_KEYS: [&str; 1] = [DOCKER_CONFIG_JSON];

/// The result of checking inputs.
#[derive(Debug, Clone)]
pub struct CheckedInputs {
    /// Inputs with defaults applied and references resolved; unknowns kept as sentinels.
    pub inputs: Value,
    /// Every problem, each at its property path.
    pub failures: Vec<Failure>,
    /// The pipeline's result, for callers that render.
    pub checked: Checked,
}

/// The input keys a kind takes besides the manifest's own.
fn extra_keys(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::KubernetesJob => &EXTRA_KEYS,
        Kind::KubernetesNamespace => &[],
    }
}

/// The output-only keys of a kind's resource.
pub fn output_keys(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::KubernetesJob => &OUTPUT_KEYS,
        Kind::KubernetesNamespace => &NAMESPACE_OUTPUT_KEYS,
    }
}

/// Output keys of a KubernetesNamespace (its stack outputs, JSON names).
pub const NAMESPACE_OUTPUT_KEYS: [&str; 10] = [
    "namespace",
    "namespaceId",
    "resourceQuotasApplied",
    "limitRangesApplied",
    "networkPoliciesApplied",
    "serviceMeshEnabled",
    "serviceMeshType",
    "podSecurityStandard",
    "labelsJson",
    "annotationsJson",
];

/// Builds the KubernetesJob manifest document from (revealed) inputs; unknown top-level keys are
/// failures.
pub fn manifest(inputs: &Value, resource_name: &str) -> (Value, Vec<Failure>) {
    manifest_of(Kind::KubernetesJob, inputs, resource_name)
}

/// Builds the manifest document of a `kind` from (revealed) inputs; unknown top-level keys are
/// failures.
pub fn manifest_of(kind: Kind, inputs: &Value, resource_name: &str) -> (Value, Vec<Failure>) {
    let mut failures = Vec::new();
    let mut doc = Map::new();
    doc.insert("apiVersion".into(), API_VERSION.into());
    doc.insert("kind".into(), kind.as_str().into());
    let extra = extra_keys(kind);
    if let Some(map) = inputs.as_object() {
        for (key, value) in map {
            if MANIFEST_KEYS.contains(&key.as_str()) {
                doc.insert(key.clone(), value.clone());
            } else if !extra.contains(&key.as_str())
                && !output_keys(kind).contains(&key.as_str())
                && key != OUT_ADOPT
            {
                let expected: Vec<&str> = MANIFEST_KEYS.iter().chain(extra).copied().collect();
                failures.push(Failure::new(
                    PropertyPath::root().field(key),
                    format!(
                        "unknown property `{key}`; expected one of: {}",
                        expected.join(", ")
                    ),
                ));
            }
        }
    }
    let metadata = doc
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(meta) = metadata.as_object_mut()
        && !meta.contains_key("name")
    {
        meta.insert("name".into(), resource_name.into());
    }
    if let Some(extra) = inputs.get(DOCKER_CONFIG_JSON)
        && !extra.is_string()
        && !extra.is_null()
    {
        failures.push(Failure::new(
            PropertyPath::root().field(DOCKER_CONFIG_JSON),
            "expected a string",
        ));
    }
    (Value::Object(doc), failures)
}

/// Pulumi programs (YAML above all) may pass a number or boolean where the schema says string
/// (`tag: 1.36` in a YAML config). Such scalars become strings for string-typed proto fields;
/// everything else is left for the strict decoder to judge.
pub fn coerce_scalars(value: &mut Value, desc: &prost_reflect::MessageDescriptor) {
    use prost_reflect::Kind;
    let Some(map) = value.as_object_mut() else {
        return;
    };
    for (key, item) in map.iter_mut() {
        let Some(field) = desc
            .get_field_by_json_name(key)
            .or_else(|| desc.get_field_by_name(key))
        else {
            continue;
        };
        let kind = crate::api::element_kind(&field);
        let container = if field.is_map() {
            "map"
        } else if field.is_list() {
            "list"
        } else {
            "single"
        };
        let fix = |v: &mut Value| match (&kind, &*v) {
            (Kind::String, Value::Number(n)) => *v = Value::String(n.to_string()),
            (Kind::String, Value::Bool(b)) => *v = Value::String(b.to_string()),
            (Kind::Message(sub), _) => coerce_scalars(v, sub),
            _ => {}
        };
        match (container, item) {
            ("map", Value::Object(entries)) => entries.values_mut().for_each(fix),
            ("list", Value::Array(items)) => items.iter_mut().for_each(fix),
            ("single", v) => fix(v),
            _ => {}
        }
    }
}

/// Checks (revealed) KubernetesJob inputs: the manifest pipeline plus the provider's own inputs.
pub fn check(inputs: &Value, resource_name: &str, sources: &[&dyn Source]) -> CheckedInputs {
    check_kind(Kind::KubernetesJob, inputs, resource_name, sources)
}

/// Checks (revealed) inputs of a `kind`: the manifest pipeline plus the provider's own inputs.
pub fn check_kind(
    kind: Kind,
    inputs: &Value,
    resource_name: &str,
    sources: &[&dyn Source],
) -> CheckedInputs {
    let (mut document, mut failures) = manifest_of(kind, inputs, resource_name);
    coerce_scalars(&mut document, &kind.descriptor());
    let checked = kind.check(
        &document,
        &PropertyPath::root(),
        Some(&values::is_unknown),
        sources,
    );
    failures.extend(checked.failures.iter().cloned());
    let mut out = checked.document.clone();
    if let Some(map) = out.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
        map.remove("status");
        if let Some(extra) = inputs.get(DOCKER_CONFIG_JSON).filter(|v| !v.is_null()) {
            map.insert(DOCKER_CONFIG_JSON.into(), extra.clone());
        }
    }
    for path in &checked.unknowns {
        values::set(&mut out, path, Value::String(UNKNOWN.into()));
    }
    CheckedInputs {
        inputs: out,
        failures,
        checked,
    }
}

/// The inputs part of a KubernetesJob's stored outputs (drops the output-only keys).
pub fn inputs_of_outputs(outputs: &Value) -> Value {
    inputs_of_outputs_of(Kind::KubernetesJob, outputs)
}

/// The inputs part of a `kind`'s stored outputs (drops the output-only keys).
pub fn inputs_of_outputs_of(kind: Kind, outputs: &Value) -> Value {
    let mut inputs = outputs.clone();
    if let Some(map) = inputs.as_object_mut() {
        for key in output_keys(kind).iter().chain([&OUT_ADOPT]) {
            map.remove(*key);
        }
    }
    inputs
}

/// Outputs for checked inputs; an unknown namespace or name becomes the unknown sentinel.
pub fn outputs(inputs: &Value, namespace: Option<&str>, job_name: Option<&str>) -> Value {
    let mut out = inputs.clone();
    if let Some(map) = out.as_object_mut() {
        map.insert(OUT_NAMESPACE.into(), namespace.unwrap_or(UNKNOWN).into());
        map.insert(OUT_JOB_NAME.into(), job_name.unwrap_or(UNKNOWN).into());
    }
    out
}

/// The stack part of a resource's owner identity: `pulumi:<project>/<stack>` from its URN
/// (`urn:pulumi:<stack>::<project>::<type>::<name>`); the whole URN when it is not one.
pub fn stack_of_urn(urn: &str) -> String {
    let mut parts = urn.strip_prefix("urn:pulumi:").unwrap_or("").split("::");
    match (parts.next(), parts.next()) {
        (Some(stack), Some(project)) if !stack.is_empty() && !project.is_empty() => {
            format!("pulumi:{project}/{stack}")
        }
        _ => format!("pulumi:{urn}"),
    }
}

/// Whether stored outputs say the resource takes over what it imported ([`OUT_ADOPT`]).
pub fn adopts(outputs: &Value) -> bool {
    outputs.get(OUT_ADOPT) == Some(&Value::Bool(true))
}

/// The resource ID.
pub fn resource_id(namespace: &str, job_name: &str) -> String {
    format!("{namespace}/{job_name}")
}

/// Splits an ID into namespace and name.
pub fn parse_id(id: &str) -> Option<(&str, &str)> {
    let (ns, name) = id.split_once('/')?;
    (!ns.is_empty() && !name.is_empty() && !name.contains('/')).then_some((ns, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_stack_comes_from_the_urn() {
        assert_eq!(
            stack_of_urn("urn:pulumi:dev::jobs::kjob:index:KubernetesJob::migrate"),
            "pulumi:jobs/dev"
        );
        assert_eq!(
            stack_of_urn("urn:pulumi:org/prod::jobs::kjob:index:KubernetesJob::m"),
            "pulumi:jobs/org/prod"
        );
        assert_eq!(stack_of_urn("garbage"), "pulumi:garbage");
        assert!(adopts(&json!({OUT_ADOPT: true})));
        assert!(!adopts(&json!({OUT_ADOPT: "true"})));
        assert_eq!(
            inputs_of_outputs(&json!({"spec": {}, OUT_ADOPT: true})),
            json!({"spec": {}})
        );
    }

    #[test]
    fn metadata_name_defaults_to_the_resource_name() {
        let c = check(
            &json!({"spec": {"namespace": {"value": "ns"}, "image": {"repo": "busybox"}}}),
            "migrate",
            &[],
        );
        assert!(c.failures.is_empty(), "{:?}", c.failures);
        assert_eq!(c.inputs["metadata"]["name"], json!("migrate"));
        assert!(c.inputs.get("apiVersion").is_none());
    }

    #[test]
    fn unknowns_come_back_as_sentinels() {
        let c = check(
            &json!({"spec": {"namespace": {"value": UNKNOWN}, "image": {"repo": "busybox"}}}),
            "m",
            &[],
        );
        assert!(c.failures.is_empty(), "{:?}", c.failures);
        assert_eq!(c.inputs["spec"]["namespace"]["value"], json!(UNKNOWN));
    }

    #[test]
    fn unknown_top_level_inputs_fail() {
        let c = check(&json!({"spec": {}, "image": "x"}), "m", &[]);
        assert!(c.failures.iter().any(|f| f.path.to_string() == "image"));
    }

    #[test]
    fn numbers_for_string_fields_become_strings() {
        let c = check(
            &json!({"spec": {"namespace": {"value": "ns"}, "image": {"repo": "busybox", "tag": 1.36}, "args": [1, true], "env": {"variables": {"N": {"value": 5}}}}}),
            "m",
            &[],
        );
        assert!(c.failures.is_empty(), "{:?}", c.failures);
        assert_eq!(c.inputs["spec"]["image"]["tag"], json!("1.36"));
        assert_eq!(c.inputs["spec"]["args"], json!(["1", "true"]));
        assert_eq!(
            c.inputs["spec"]["env"]["variables"]["N"]["value"],
            json!("5")
        );
        let c = check(
            &json!({"spec": {"namespace": {"value": "ns"}, "image": {"repo": "busybox"}, "parallelism": "x"}}),
            "m",
            &[],
        );
        assert_eq!(c.failures.len(), 1, "non-string fields stay strict");
    }

    #[test]
    fn ids() {
        assert_eq!(parse_id("ns/job"), Some(("ns", "job")));
        assert_eq!(parse_id("job"), None);
        assert_eq!(resource_id("ns", "job"), "ns/job");
    }
}
