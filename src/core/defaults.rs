//! Defaults declared in the proto field options, applied to any message through its descriptor:
//! `(org.project_planton.shared.options.default)` on scalar fields and
//! `(org.project_planton.provider.kubernetes.default_container_resources)` on resource fields.
//!
//! Like upstream, a field that is present keeps its value (an explicit `0` on an `optional` field
//! stays `0`), and an absent message field is created only when something inside it gets a
//! default. Unlike upstream, the container-resource default is applied, leaf by leaf: a cpu or
//! memory quantity the user left empty takes the declared default.

use std::collections::HashMap;
use std::sync::LazyLock;

use prost_reflect::{
    DynamicMessage, ExtensionDescriptor, FieldDescriptor, Kind, MessageDescriptor, ReflectMessage,
    Value,
};

use crate::api;

struct Extensions {
    default: ExtensionDescriptor,
    default_container_resources: ExtensionDescriptor,
}

static EXTENSIONS: LazyLock<Extensions> = LazyLock::new(|| {
    let ext = |name: &str| {
        api::pool()
            .get_extension_by_name(name)
            .unwrap_or_else(|| panic!("extension {name} is compiled into the descriptor pool"))
    };
    Extensions {
        default: ext("org.project_planton.shared.options.default"),
        default_container_resources: ext(
            "org.project_planton.provider.kubernetes.default_container_resources",
        ),
    }
});

/// A value read from every field's options once: prost-reflect decodes a field's options anew
/// on every `options()` call, which made them the largest cost of a Check.
pub(crate) struct PerField<T>(HashMap<String, T>);

impl<T: Clone> PerField<T> {
    /// `read` of every field of every message in the descriptor pool.
    pub(crate) fn new(read: fn(&FieldDescriptor) -> T) -> Self {
        let mut out = HashMap::new();
        for message in api::pool().all_messages() {
            for field in message.fields() {
                let value = read(&field);
                out.insert(field.full_name().to_owned(), value);
            }
        }
        Self(out)
    }

    /// The value of `field` (read now for a field outside the pool, which the pool's own
    /// messages never have).
    pub(crate) fn get(&self, field: &FieldDescriptor, read: fn(&FieldDescriptor) -> T) -> T {
        match self.0.get(field.full_name()) {
            Some(value) => value.clone(),
            None => read(field),
        }
    }
}

static DEFAULTS: LazyLock<PerField<Option<String>>> = LazyLock::new(|| PerField::new(read_default));
static RESOURCES: LazyLock<PerField<Option<DynamicMessage>>> =
    LazyLock::new(|| PerField::new(read_container_resources));

/// The `default` option of a field, if it declares a non-empty one.
pub fn declared_default(field: &FieldDescriptor) -> Option<String> {
    DEFAULTS.get(field, read_default)
}

/// The `default_container_resources` option of a field, if it declares one.
pub fn declared_container_resources(field: &FieldDescriptor) -> Option<DynamicMessage> {
    RESOURCES.get(field, read_container_resources)
}

fn read_default(field: &FieldDescriptor) -> Option<String> {
    let options = field.options();
    if !options.has_extension(&EXTENSIONS.default) {
        return None;
    }
    match options.get_extension(&EXTENSIONS.default).as_ref() {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn read_container_resources(field: &FieldDescriptor) -> Option<DynamicMessage> {
    let options = field.options();
    if !options.has_extension(&EXTENSIONS.default_container_resources) {
        return None;
    }
    options
        .get_extension(&EXTENSIONS.default_container_resources)
        .as_message()
        .cloned()
}

/// Applies every declared default below `message`. Idempotent.
pub fn apply(message: &mut DynamicMessage) {
    apply_at_depth(message, 0);
}

const MAX_DEPTH: usize = 32;

/// What [`apply`] does at one field.
enum Step {
    /// A scalar with a declared default: set it (parsed once) when absent.
    Scalar(FieldDescriptor, Value),
    /// A singular message field that leads to defaults (or declares container resources):
    /// descend, creating it only when something inside gets a default.
    Message(FieldDescriptor, MessageDescriptor, Option<DynamicMessage>),
}

/// Per message type, its steps in field order; types with no default below them are absent,
/// so a walk never enters them.
static STEPS: LazyLock<HashMap<String, Vec<Step>>> = LazyLock::new(|| {
    let singular = |f: &FieldDescriptor| !f.is_list() && !f.is_map();
    let leading = api::messages_leading_to(|m| {
        m.fields().any(|f| {
            singular(&f)
                && (declared_container_resources(&f).is_some() || declared_default(&f).is_some())
        })
    });
    let mut steps = HashMap::new();
    for message in api::pool().all_messages() {
        let mut here = Vec::new();
        for field in message.fields().filter(singular) {
            match field.kind() {
                Kind::Message(sub) => {
                    let resources = declared_container_resources(&field);
                    // `leading` also follows lists and maps, which are never defaulted: a
                    // type reached only through one is walked in vain, never changed.
                    if resources.is_some() || leading.contains(sub.full_name()) {
                        here.push(Step::Message(field.clone(), sub, resources));
                    }
                }
                kind => {
                    if let Some(value) =
                        declared_default(&field).and_then(|text| parse_scalar(&kind, &text))
                    {
                        here.push(Step::Scalar(field.clone(), value));
                    }
                }
            }
        }
        if !here.is_empty() {
            steps.insert(message.full_name().to_owned(), here);
        }
    }
    steps
});

fn apply_at_depth(message: &mut DynamicMessage, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let Some(steps) = STEPS.get(message.descriptor().full_name()) else {
        return;
    };
    for step in steps {
        match step {
            Step::Scalar(field, value) => {
                if !message.has_field(field) {
                    message.set_field(field, value.clone());
                }
            }
            Step::Message(field, sub_desc, resources) => {
                let fill = |sub: &mut DynamicMessage| {
                    if let Some(defaults) = resources {
                        fill_missing(sub, defaults);
                    }
                    apply_at_depth(sub, depth + 1);
                };
                if message.has_field(field) {
                    if let Value::Message(sub) = message.get_field_mut(field) {
                        fill(sub);
                    }
                } else {
                    let mut sub = DynamicMessage::new(sub_desc.clone());
                    fill(&mut sub);
                    if sub.fields().next().is_some() {
                        message.set_field(field, Value::Message(sub));
                    }
                }
            }
        }
    }
}

/// Sets every field that `defaults` has and `target` lacks (recursively for messages; empty
/// strings count as missing).
fn fill_missing(target: &mut DynamicMessage, defaults: &DynamicMessage) {
    for (field, value) in defaults.fields() {
        match value {
            Value::Message(default_sub) => {
                let mut sub = target
                    .get_field(&field)
                    .as_message()
                    .cloned()
                    .unwrap_or_else(|| DynamicMessage::new(default_sub.descriptor()));
                fill_missing(&mut sub, default_sub);
                target.set_field(&field, Value::Message(sub));
            }
            Value::String(_) => {
                let missing =
                    matches!(target.get_field(&field).as_ref(), Value::String(s) if s.is_empty());
                if missing {
                    target.set_field(&field, value.clone());
                }
            }
            _ => {
                if !target.has_field(&field) {
                    target.set_field(&field, value.clone());
                }
            }
        }
    }
}

/// Parses a default's text for a scalar field kind; a text that does not parse is ignored.
fn parse_scalar(kind: &Kind, text: &str) -> Option<Value> {
    Some(match kind {
        Kind::String => Value::String(text.to_owned()),
        Kind::Bool => Value::Bool(text.parse().ok()?),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(text.parse().ok()?),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(text.parse().ok()?),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(text.parse().ok()?),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(text.parse().ok()?),
        Kind::Float => Value::F32(text.parse().ok()?),
        Kind::Double => Value::F64(text.parse().ok()?),
        Kind::Enum(desc) => Value::EnumNumber(desc.get_value_by_name(text)?.number()),
        Kind::Bytes => Value::Bytes(text.as_bytes().to_vec().into()),
        Kind::Message(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::codec;
    use crate::core::path::PropertyPath;
    use serde_json::json;

    fn defaulted(input: serde_json::Value) -> serde_json::Value {
        let desc = api::message(api::KUBERNETES_JOB);
        let mut decoded = codec::decode(&desc, &input, &PropertyPath::root(), None);
        assert!(decoded.failures.is_empty(), "{:?}", decoded.failures);
        apply(&mut decoded.message);
        codec::encode(&decoded.message)
    }

    #[test]
    fn applies_declared_defaults() {
        let out = defaulted(json!({"spec": {"image": {"repo": "busybox"}}}));
        let spec = &out["spec"];
        assert_eq!(spec["parallelism"], json!(1));
        assert_eq!(spec["completions"], json!(1));
        assert_eq!(spec["backoffLimit"], json!(6));
        assert_eq!(spec["activeDeadlineSeconds"], json!(0));
        assert_eq!(spec["ttlSecondsAfterFinished"], json!(0));
        assert_eq!(spec["completionMode"], json!("NonIndexed"));
        assert_eq!(spec["restartPolicy"], json!("Never"));
        assert_eq!(spec["suspend"], json!(false));
        assert_eq!(
            spec["resources"],
            json!({"limits": {"cpu": "1000m", "memory": "1Gi"}, "requests": {"cpu": "50m", "memory": "100Mi"}})
        );
        assert!(
            out.get("metadata").is_none(),
            "no default lives in metadata"
        );
    }

    #[test]
    fn keeps_explicit_values_including_zero() {
        let out = defaulted(json!({"spec": {
            "backoffLimit": 0, "restartPolicy": "OnFailure",
            "resources": {"limits": {"cpu": "2"}}
        }}));
        assert_eq!(out["spec"]["backoffLimit"], json!(0));
        assert_eq!(out["spec"]["restartPolicy"], json!("OnFailure"));
        assert_eq!(
            out["spec"]["resources"]["limits"],
            json!({"cpu": "2", "memory": "1Gi"})
        );
        assert_eq!(defaulted(out.clone()), out, "idempotent");
    }
}
