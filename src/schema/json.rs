//! The JSON Schema (draft 2020-12) of a KubernetesJob manifest ([`json_schema`]) and of a
//! KubernetesNamespace manifest ([`namespace_json_schema`]): one strict object
//! schema per message under `$defs`, string enums, and 64-bit integers as numbers or digit strings.

use prost_reflect::{EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value, json};

use super::{
    Catalog, JSON_SCHEMA_ID, NAMESPACE_JSON_SCHEMA_ID, Named, catalog, element_kind, enum_doc,
    insert_description, message_doc, property_shell, string_choices,
};
use crate::core::codec;
use crate::core::defaults::declared_container_resources;
use crate::core::objects::API_VERSION;

/// A reference to the definition `name` under `$defs`.
fn json_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/$defs/{name}") })
}

/// The JSON Schema of one value of the given kind, with the field's string choices if any.
fn json_element(field: &FieldDescriptor, kind: &Kind, catalog: &Catalog) -> Value {
    let wide = |min: Value, max: Value, pattern: &str| {
        json!({"anyOf": [
            {"type": "integer", "minimum": min, "maximum": max},
            {"type": "string", "pattern": pattern}
        ]})
    };
    match kind {
        Kind::Message(m) => json_ref(catalog.name(m.full_name())),
        Kind::Enum(e) => json_ref(catalog.name(e.full_name())),
        Kind::String => match string_choices(field) {
            Some(choices) => json!({"type": "string", "enum": choices}),
            None => json!({"type": "string"}),
        },
        Kind::Bytes => json!({"type": "string"}),
        Kind::Bool => json!({"type": "boolean"}),
        Kind::Float | Kind::Double => json!({"type": "number"}),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            json!({"type": "integer", "minimum": i32::MIN, "maximum": i32::MAX})
        }
        Kind::Uint32 | Kind::Fixed32 => {
            json!({"type": "integer", "minimum": 0, "maximum": u32::MAX})
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            wide(i64::MIN.into(), i64::MAX.into(), "^-?[0-9]+$")
        }
        Kind::Uint64 | Kind::Fixed64 => wide(0.into(), u64::MAX.into(), "^[0-9]+$"),
    }
}

/// A field's property, defaulting container resources to their declared defaults.
fn json_property(field: &FieldDescriptor, catalog: &Catalog) -> Value {
    let mut property = property_shell(field, json_element(field, &element_kind(field), catalog));
    if !property.contains_key("default")
        && let Some(resources) = declared_container_resources(field)
    {
        property.insert("default".into(), codec::encode(&resources));
    }
    Value::Object(property)
}

/// An object schema for a message: its properties, no others, at most one member per oneof.
fn json_message(message: &MessageDescriptor, catalog: &Catalog) -> Map<String, Value> {
    let mut schema = Map::new();
    insert_description(&mut schema, message_doc(message));
    schema.insert("type".into(), "object".into());
    let properties: Map<String, Value> = message
        .fields()
        .map(|f| (f.json_name().to_owned(), json_property(&f, catalog)))
        .collect();
    schema.insert("properties".into(), Value::Object(properties));
    schema.insert("additionalProperties".into(), Value::Bool(false));
    let mut pairs = Vec::new();
    for oneof in message.oneofs().filter(|o| !o.is_synthetic()) {
        let members: Vec<String> = oneof.fields().map(|f| f.json_name().to_owned()).collect();
        for (i, a) in members.iter().enumerate() {
            for b in &members[i + 1..] {
                pairs.push(json!({"required": [a, b]}));
            }
        }
    }
    match pairs.len() {
        0 => {}
        1 => {
            schema.insert("not".into(), pairs.remove(0));
        }
        _ => {
            schema.insert("not".into(), json!({"anyOf": pairs}));
        }
    }
    schema
}

/// A string schema listing an enum's value names.
fn json_enum(desc: &EnumDescriptor) -> Value {
    let mut schema = Map::new();
    insert_description(&mut schema, enum_doc(desc));
    schema.insert("type".into(), "string".into());
    schema.insert(
        "enum".into(),
        desc.values()
            .map(|v| Value::String(v.name().to_owned()))
            .collect(),
    );
    Value::Object(schema)
}

/// The JSON Schema (draft 2020-12) of a whole KubernetesJob manifest as written in YAML or JSON.
pub fn json_schema() -> Value {
    json_schema_of(crate::kinds::Kind::KubernetesJob, JSON_SCHEMA_ID)
}

/// The JSON Schema of a KubernetesNamespace manifest.
pub fn namespace_json_schema() -> Value {
    json_schema_of(
        crate::kinds::Kind::KubernetesNamespace,
        NAMESPACE_JSON_SCHEMA_ID,
    )
}

/// The JSON Schema of a `kind`'s manifest, with the `$id` given.
fn json_schema_of(kind: crate::kinds::Kind, id: &str) -> Value {
    let job = kind.descriptor();
    let catalog = catalog(std::slice::from_ref(&job));
    let mut root = json_message(&job, &catalog);
    let properties = root
        .get_mut("properties")
        .and_then(Value::as_object_mut)
        .expect("built with properties");
    for (key, constant) in [("apiVersion", API_VERSION), ("kind", kind.as_str())] {
        let property = properties
            .get_mut(key)
            .unwrap_or_else(|| panic!("{kind} has {key}"));
        property["const"] = Value::String(constant.to_owned());
    }
    let description = format!(
        "{} Property names are the JSON (camelCase) names; the loader also accepts the proto (snake_case) \
         names and enum numbers, which this schema does not list.",
        message_doc(&job).unwrap_or_default()
    );
    let defs: Map<String, Value> = catalog
        .types
        .iter()
        .filter(|(_, named)| named.full_name() != job.full_name())
        .map(|(name, named)| {
            let schema = match named {
                Named::Message(m) => Value::Object(json_message(m, &catalog)),
                Named::Enum(e) => json_enum(e),
            };
            (name.clone(), schema)
        })
        .collect();
    let mut schema = Map::new();
    schema.insert(
        "$schema".into(),
        "https://json-schema.org/draft/2020-12/schema".into(),
    );
    schema.insert("$id".into(), id.into());
    schema.insert("title".into(), kind.as_str().into());
    root.insert("description".into(), Value::String(description));
    schema.extend(root);
    schema.insert(
        "required".into(),
        json!(["apiVersion", "kind", "metadata", "spec"]),
    );
    schema.insert("$defs".into(), Value::Object(defs));
    Value::Object(schema)
}

#[cfg(test)]
mod tests;
