//! The Pulumi package schema ([`pulumi_schema`]): the `willReplaceOnChanges` marks from the replace
//! rules, the object and enum types of the catalog, the KubernetesJob resource and the provider's
//! configuration.

use std::collections::BTreeMap;

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

use super::{
    Catalog, JOB_SPEC, METADATA, NAMESPACE_RESOURCE_TOKEN, Named, PACKAGE, RESOURCE_TOKEN, catalog,
    comment, element_kind, enum_doc, field_doc, insert_description, is_secret, message_doc, object,
    property_shell, replace_paths,
};
use crate::api;

/// Full name of the KubernetesJobStackInput message.
const STACK_INPUT: &str =
    "org.project_planton.provider.kubernetes.kubernetesjob.v1.KubernetesJobStackInput";
/// Full name of the KubernetesNamespaceSpec message.
const NAMESPACE_SPEC: &str =
    "org.project_planton.provider.kubernetes.kubernetesnamespace.v1.KubernetesNamespaceSpec";
/// Full name of the KubernetesNamespaceStackOutputs message.
const NAMESPACE_OUTPUTS: &str = "org.project_planton.provider.kubernetes.kubernetesnamespace.v1.KubernetesNamespaceStackOutputs";
/// Full name of the KubernetesJobStackOutputs message.
const STACK_OUTPUTS: &str =
    "org.project_planton.provider.kubernetes.kubernetesjob.v1.KubernetesJobStackOutputs";

/// `willReplaceOnChanges` marks: (message full name, field proto name) for every field reached at
/// a path in [`replace_paths`], walking the resource's inputs from `metadata` and `spec`.
struct ReplaceMarks {
    /// (message full name, field proto name) -> whether the field replaces.
    marked: BTreeMap<(String, String), bool>,
    /// Fields reached both at a replacing path and at one that is not.
    conflicts: Vec<String>,
    /// Entries of [`replace_paths`] that the walk never reached.
    unmatched: Vec<&'static str>,
}

/// Walks `metadata` and the spec of each resource and marks each field reached at a path of its
/// kind's replace rules ([`replace_paths`] for the KubernetesJob).
fn replace_marks() -> ReplaceMarks {
    /// Marks the fields of `message`, reached at `prefix`, and recurses into non-recursive children.
    fn walk(
        message: &MessageDescriptor,
        prefix: &str,
        paths: &[&'static str],
        stack: &mut Vec<String>,
        marks: &mut ReplaceMarks,
        reached: &mut Vec<String>,
    ) {
        stack.push(message.full_name().to_owned());
        for field in message.fields() {
            let path = format!("{prefix}.{}", field.json_name());
            let replace = paths.contains(&path.as_str());
            if replace {
                reached.push(path.clone());
            }
            let key = (message.full_name().to_owned(), field.name().to_owned());
            match marks.marked.get(&key) {
                Some(previous) if *previous != replace => {
                    marks.conflicts.push(format!("{}.{}", key.0, key.1));
                    marks.marked.insert(key, true);
                }
                Some(_) => {}
                None => {
                    marks.marked.insert(key, replace);
                }
            }
            if let Kind::Message(child) = element_kind(&field)
                && !stack.iter().any(|s| s == child.full_name())
            {
                let child_prefix = if field.is_list() || field.is_map() {
                    format!("{path}.*")
                } else {
                    path
                };
                walk(&child, &child_prefix, paths, stack, marks, reached);
            }
        }
        stack.pop();
    }
    let mut marks = ReplaceMarks {
        marked: BTreeMap::new(),
        conflicts: Vec::new(),
        unmatched: Vec::new(),
    };
    let mut reached = Vec::new();
    let job_paths = replace_paths();
    walk(
        &api::message(METADATA),
        "metadata",
        &job_paths,
        &mut Vec::new(),
        &mut marks,
        &mut reached,
    );
    walk(
        &api::message(JOB_SPEC),
        "spec",
        &job_paths,
        &mut Vec::new(),
        &mut marks,
        &mut reached,
    );
    let namespace_paths: Vec<&'static str> = crate::core::diff::NAMESPACE_REPLACE_RULES
        .iter()
        .map(|r| r.path)
        .collect();
    walk(
        &api::message(NAMESPACE_SPEC),
        "spec",
        &namespace_paths,
        &mut Vec::new(),
        &mut marks,
        &mut reached,
    );
    marks.unmatched = replace_paths()
        .into_iter()
        .filter(|p| !reached.iter().any(|r| r == p))
        .collect();
    marks
}

/// A reference to the package type `name`.
fn pulumi_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/types/{PACKAGE}:index:{name}") })
}

/// The Pulumi type of one value of the given kind.
fn pulumi_element(kind: &Kind, catalog: &Catalog) -> Value {
    match kind {
        Kind::Message(m) => pulumi_ref(catalog.name(m.full_name())),
        Kind::Enum(e) => pulumi_ref(catalog.name(e.full_name())),
        Kind::String | Kind::Bytes => json!({"type": "string"}),
        Kind::Bool => json!({"type": "boolean"}),
        Kind::Float | Kind::Double => json!({"type": "number"}),
        _ => json!({"type": "integer"}),
    }
}

/// A field's Pulumi property, marked `secret` and `willReplaceOnChanges` where it applies.
fn pulumi_property(field: &FieldDescriptor, catalog: &Catalog, marks: &ReplaceMarks) -> Value {
    let mut property = property_shell(field, pulumi_element(&element_kind(field), catalog));
    if is_secret(field) {
        property.insert("secret".into(), Value::Bool(true));
    }
    let key = (
        field.parent_message().full_name().to_owned(),
        field.name().to_owned(),
    );
    if marks.marked.get(&key).copied().unwrap_or(false) {
        property.insert("willReplaceOnChanges".into(), Value::Bool(true));
    }
    Value::Object(property)
}

/// The Pulumi type of a catalog entry: an object type for a message, a string enum for an enum.
fn pulumi_type(named: &Named, catalog: &Catalog, marks: &ReplaceMarks) -> Value {
    match named {
        Named::Message(message) => {
            let mut spec = Map::new();
            insert_description(&mut spec, message_doc(message));
            spec.insert("type".into(), "object".into());
            let properties: Map<String, Value> = message
                .fields()
                .map(|f| {
                    (
                        f.json_name().to_owned(),
                        pulumi_property(&f, catalog, marks),
                    )
                })
                .collect();
            spec.insert("properties".into(), Value::Object(properties));
            Value::Object(spec)
        }
        Named::Enum(desc) => {
            let mut spec = Map::new();
            insert_description(&mut spec, enum_doc(desc));
            spec.insert("type".into(), "string".into());
            let values: Vec<Value> = desc
                .values()
                .map(|v| {
                    let mut value = object(json!({"name": v.name(), "value": v.name()}));
                    insert_description(&mut value, comment(&v.parent_file(), v.path()));
                    Value::Object(value)
                })
                .collect();
            spec.insert("enum".into(), Value::Array(values));
            Value::Object(spec)
        }
    }
}

/// A property with its description replaced by `text`.
fn described(mut property: Value, text: impl Into<String>) -> Value {
    property["description"] = Value::String(text.into());
    property
}

/// The comment of the field `field` (proto name) of the message named `message` (full name).
fn named_field_doc(message: &str, field: &str) -> String {
    let desc = api::message(message);
    let field = desc
        .get_field_by_name(field)
        .unwrap_or_else(|| panic!("{message} has field {field}"));
    field_doc(&field).unwrap_or_default()
}

/// The provider's configuration: `config.variables` and the explicit provider's inputs.
fn provider_config() -> Value {
    json!({
        "kubeconfig": {
            "type": "string",
            "secret": true,
            "description": "Path to a kubeconfig file, or the kubeconfig's contents. Defaults to kubectl's \
                resolution: `KUBECONFIG`, `~/.kube/config`, or the in-cluster service account."
        },
        "context": {
            "type": "string",
            "description": "The kubeconfig context to use instead of the current one."
        },
        "stateDir": {
            "type": "string",
            "description": "Directory of the kjob CLI's state store, used to resolve `valueFrom` references to \
                resources the CLI deployed. Defaults to the CLI's default state directory (`$KJOB_STATE_DIR`, \
                else `$XDG_STATE_HOME/kjob`, else `~/.local/state/kjob`)."
        },
        "backend": {
            "type": "string",
            "description": "The kjob CLI's state backend, used to resolve `valueFrom` references to resources \
                the CLI deployed: `file://DIR`, or `kubernetes://NAMESPACE[?context=NAME]` for a team's store \
                kept in the cluster (Secrets in that namespace). Wins over `stateDir`; defaults to \
                `$KJOB_BACKEND`, else `stateDir`."
        },
        "wait": {
            "type": "boolean",
            "default": true,
            "description": "Whether Create and Update wait for the Job to complete (and fail if it fails). \
                Defaults to true."
        },
        "serverPreview": {
            "type": "boolean",
            "default": false,
            "description": "Whether `pulumi preview` has the API server check every object a KubernetesJob \
                would apply (a server-side dry-run apply: admission, quotas, RBAC, validation, immutable \
                fields) when the cluster can be reached; a refusal fails the preview and names the object. \
                An object whose namespace the same resource creates is not checked. Defaults to false."
        },
        "requestTimeout": {
            "type": "integer",
            "default": crate::cluster::Deadlines::REQUEST.as_secs(),
            "description": "Seconds one request to the Kubernetes API server may go unanswered (connecting, \
                sending, reading the answer) before it is abandoned and retried. Watches and followed logs \
                are not limited by it. Defaults to 15."
        },
        "callTimeout": {
            "type": "integer",
            "default": crate::cluster::Deadlines::CALL.as_secs(),
            "description": "Seconds one API call may take with all its retries; a call that gets no answer \
                fails after this long with an error naming the object. Defaults to 30."
        }
    })
}

/// The KubernetesNamespace resource: inputs `metadata` and `spec`; outputs the same plus the
/// stack outputs (`KubernetesNamespaceStackOutputs`).
fn namespace_resource(catalog: &Catalog) -> Value {
    let envelope = api::message(api::KUBERNETES_NAMESPACE);
    let field = |name: &str| named_field_doc(api::KUBERNETES_NAMESPACE, name);
    let metadata = described(
        pulumi_ref(catalog.name(METADATA)),
        format!(
            "{} Optional here: `name` defaults to the Pulumi resource name.",
            field("metadata").trim_end_matches(" Required.")
        ),
    );
    let spec = described(pulumi_ref(catalog.name(NAMESPACE_SPEC)), field("spec"));
    let inputs = json!({"metadata": metadata, "spec": spec});
    let mut outputs = object(inputs.clone());
    let mut required = vec!["metadata".to_owned(), "spec".to_owned()];
    for output in api::message(NAMESPACE_OUTPUTS).fields() {
        outputs.insert(
            output.json_name().to_owned(),
            json!({"type": "string", "description": field_doc(&output).unwrap_or_default()}),
        );
        required.push(output.json_name().to_owned());
    }
    let description = format!(
        "{}\n\nThe resource ID is the namespace's name. Changing `spec.name` or `metadata.name` replaces \
         the Namespace (the old one is deleted first); every other change updates the objects in place, \
         creating or pruning the ResourceQuota, LimitRange and NetworkPolicies the spec adds or drops.",
        message_doc(&envelope).unwrap_or_default()
    );
    json!({
        "description": description,
        "properties": Value::Object(outputs),
        "required": required,
        "inputProperties": inputs,
        "requiredInputs": ["spec"],
    })
}

/// The Pulumi package schema of the `kjob` provider.
pub fn pulumi_schema() -> Value {
    let spec_desc = api::message(JOB_SPEC);
    let metadata_desc = api::message(METADATA);
    let catalog = catalog(&[
        spec_desc.clone(),
        metadata_desc.clone(),
        api::message(NAMESPACE_SPEC),
    ]);
    let marks = replace_marks();
    let job = api::message(api::KUBERNETES_JOB);
    let job_field = |name: &str| named_field_doc(api::KUBERNETES_JOB, name);

    let metadata = described(
        pulumi_ref(catalog.name(METADATA)),
        format!(
            "{} Optional here: `name` defaults to the Pulumi resource name.",
            job_field("metadata").trim_end_matches(" Required.")
        ),
    );
    let spec = described(pulumi_ref(catalog.name(JOB_SPEC)), job_field("spec"));
    let docker_config_json = json!({
        "type": "string",
        "secret": true,
        "description": format!(
            "{} Changing its contents updates the Secret in place; adding or removing it replaces the Job.",
            named_field_doc(STACK_INPUT, "docker_config_json")
        ),
    });
    let inputs = json!({
        "metadata": metadata,
        "spec": spec,
        "dockerConfigJson": docker_config_json,
    });
    let mut outputs = object(inputs.clone());
    outputs.insert(
        "namespace".into(),
        json!({"type": "string", "description": named_field_doc(STACK_OUTPUTS, "namespace")}),
    );
    outputs.insert(
        "jobName".into(),
        json!({"type": "string", "description": named_field_doc(STACK_OUTPUTS, "job_name")}),
    );
    outputs.insert(
        "jobStatus".into(),
        json!({
            "type": "string",
            "description": "The Job's outcome as last observed: Complete, Failed, Running, Suspended, or Collected \
                (deleted by Kubernetes after `ttlSecondsAfterFinished`)."
        }),
    );

    let resource_description = format!(
        "{}\n\nThe resource ID is `<namespace>/<job name>`. Changes Kubernetes does not allow on a live Job \
         (the pod template, `completionMode`, `completions`, the namespace or the name) replace the Job; \
         the properties marked as replacing say which.\n\n{}",
        message_doc(&job).unwrap_or_default(),
        package::job_examples()
    );

    let types: Map<String, Value> = catalog
        .types
        .iter()
        .map(|(name, named)| {
            (
                format!("{PACKAGE}:index:{name}"),
                pulumi_type(named, &catalog, &marks),
            )
        })
        .collect();

    let config = provider_config();
    let mut schema = json!({
        "name": PACKAGE,
        "version": env!("CARGO_PKG_VERSION"),
        "description": "Runs Project Planton KubernetesJob manifests (a container image run to completion as a \
            Kubernetes batch/v1 Job) as Pulumi resources.",
        "config": { "variables": config.clone() },
        "provider": {
            "description": "The kjob provider: how to reach the cluster and where to resolve references.",
            "inputProperties": config,
        },
        "resources": {
            RESOURCE_TOKEN: {
                "description": resource_description,
                "properties": Value::Object(outputs),
                "required": ["spec", "namespace", "jobName", "metadata"],
                "inputProperties": inputs,
                "requiredInputs": ["spec"],
            },
            NAMESPACE_RESOURCE_TOKEN: namespace_resource(&catalog),
        },
        "types": Value::Object(types),
    });
    let map = schema.as_object_mut().expect("the schema is an object");
    map.extend(package::metadata());
    schema
}

pub mod package;
#[cfg(test)]
mod tests;
