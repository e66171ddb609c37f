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
    DynamicMessage, ExtensionDescriptor, FieldDescriptor, Kind, ReflectMessage, Value,
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

fn apply_at_depth(message: &mut DynamicMessage, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let desc = message.descriptor();
    for field in desc.fields() {
        if field.is_list() || field.is_map() {
            continue;
        }
        match field.kind() {
            Kind::Message(sub_desc) => {
                let present = message.has_field(&field);
                let mut sub = if present {
                    message
                        .get_field(&field)
                        .as_message()
                        .cloned()
                        .unwrap_or_else(|| DynamicMessage::new(sub_desc.clone()))
                } else {
                    DynamicMessage::new(sub_desc.clone())
                };
                if let Some(defaults) = declared_container_resources(&field) {
                    fill_missing(&mut sub, &defaults);
                }
                apply_at_depth(&mut sub, depth + 1);
                if present || sub.fields().next().is_some() {
                    message.set_field(&field, Value::Message(sub));
                }
            }
            kind => {
                if message.has_field(&field) {
                    continue;
                }
                if let Some(text) = declared_default(&field)
                    && let Some(value) = parse_scalar(&kind, &text)
                {
                    message.set_field(&field, value);
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
