//! `--set path=value` overrides, applied to a manifest's JSON document before it is checked.
//! Pure.
//!
//! The path is dotted from the manifest's root (`spec.parallelism`, `metadata.labels.team`),
//! each field in snake or camel case. It is walked through the kind's descriptor, so the value is
//! parsed to the field's type: integers from digits (`3`), booleans from `true`/`false`, enums by
//! value name, strings as given. Map entries take the key as the next segment
//! (`spec.env.variables.FOO.value`); for maps of plain values the key is the rest of the path,
//! dots included (`spec.configMaps.app.conf=...`). List elements take an index
//! (`spec.command.0=sh`; the index one past the end appends). A `StringValueOrRef` field takes a
//! plain value as its literal (`spec.namespace=batch` is `spec.namespace.value=batch`). Setting
//! one member of a oneof (`value` / `valueFrom`) removes the others.
//!
//! One `--set` may carry several overrides separated by commas (`--set a=1,b=2`, see
//! [`parse_list`] for where a comma splits); `--set` may also be repeated.
//!
//! In a file with several documents an override names its document: `NAME:path=value`
//! (`migrate:spec.parallelism=3`), NAME being `metadata.name`.

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value};

use crate::core::path::PropertyPath;

mod list;
pub use list::{OverrideList, parse_list};

const STRING_VALUE_OR_REF: &str = "org.project_planton.shared.foreignkey.v1.StringValueOrRef";

/// One `--set` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// The document it is for (`NAME:`), when given.
    pub target: Option<String>,
    /// The dotted path.
    pub path: String,
    /// The value, as text.
    pub value: String,
    /// The argument as given, for messages; for a secret ([`crate::core::secrets::is_secret_dotted`]) its value is
    /// shown as `[redacted]`.
    pub text: String,
}

impl Override {
    /// The value as messages may show it: `[redacted]` for a secret.
    pub fn shown_value(&self) -> &str {
        if may_be_secret(&self.path) {
            "[redacted]"
        } else {
            &self.value
        }
    }
}

impl std::str::FromStr for Override {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        parse(text)
    }
}

/// Whether messages hide the value set at `path`: a secret field
/// ([`crate::core::secrets::is_secret_dotted`]), or any path that mentions "secret", so that a
/// mistyped path to one (`spec.env.secret.X.value`) does not show the value either.
fn may_be_secret(path: &str) -> bool {
    crate::core::secrets::is_secret_dotted(path) || path.to_ascii_lowercase().contains("secret")
}

/// Parses `[NAME:]path=value`.
pub fn parse(text: &str) -> Result<Override, String> {
    let (left, value) = text
        .split_once('=')
        .ok_or_else(|| {
            // Not shown: without '=' there is no telling a path from a secret value.
            format!(
                "expected PATH=VALUE or NAME:PATH=VALUE; the argument ({} characters, not shown) has no '='",
                text.chars().count()
            )
        })?;
    let (target, path) = match left.split_once(':') {
        Some((name, path)) => {
            if name.is_empty() {
                return Err(format!("{left:?}: the document name before ':' is empty"));
            }
            (Some(name.to_owned()), path)
        }
        None => (None, left),
    };
    if path.is_empty() || path.split('.').any(str::is_empty) {
        return Err(format!(
            "{left:?}: the path {path:?} is not a dotted path such as spec.parallelism"
        ));
    }
    let text = if may_be_secret(path) {
        format!("{left}=[redacted]")
    } else {
        text.to_owned()
    };
    Ok(Override {
        target,
        path: path.to_owned(),
        value: value.to_owned(),
        text,
    })
}

/// Sets `value` at the dotted `path` of `document`, a manifest of type `desc`. Returns the
/// property path written (JSON names), as failures name it.
pub fn apply(
    document: &mut Value,
    desc: &MessageDescriptor,
    path: &str,
    value: &str,
) -> Result<PropertyPath, String> {
    let segments: Vec<&str> = path.split('.').collect();
    if !document.is_object() {
        *document = Value::Object(Map::new());
    }
    let Value::Object(map) = document else {
        unreachable!()
    };
    set_in_message(desc, map, &segments, PropertyPath::root(), value)
}

fn field_names(desc: &MessageDescriptor) -> String {
    desc.fields()
        .map(|f| f.json_name().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

fn find_field(desc: &MessageDescriptor, segment: &str) -> Option<FieldDescriptor> {
    desc.get_field_by_json_name(segment)
        .or_else(|| desc.get_field_by_name(segment))
        .or_else(|| desc.get_field_by_name(&crate::core::refs::snake_case(segment)))
        .or_else(|| desc.get_field_by_json_name(&crate::core::refs::camel_case(segment)))
}

fn what(at: &PropertyPath) -> String {
    if at.0.is_empty() {
        "the manifest".to_owned()
    } else {
        at.to_string()
    }
}

/// Removes a field under either spelling; returns its value (the JSON name's first).
fn take(map: &mut Map<String, Value>, field: &FieldDescriptor) -> Option<Value> {
    let json = map.remove(field.json_name());
    let proto = if field.name() != field.json_name() {
        map.remove(field.name())
    } else {
        None
    };
    json.or(proto).filter(|v| !v.is_null())
}

fn set_in_message(
    desc: &MessageDescriptor,
    map: &mut Map<String, Value>,
    segments: &[&str],
    at: PropertyPath,
    value: &str,
) -> Result<PropertyPath, String> {
    let segment = segments[0];
    let field = find_field(desc, segment).ok_or_else(|| {
        format!(
            "{} has no field `{segment}`; expected one of: {}",
            what(&at),
            field_names(desc)
        )
    })?;
    let here = at.field(field.json_name());
    let rest = &segments[1..];
    let outcome = if field.is_map() {
        set_map_entry(&field, current_value(map, &field), rest, here, value)
    } else if field.is_list() {
        set_list_item(&field, current_value(map, &field), rest, here, value)
    } else {
        set_value(&field, current_value(map, &field), rest, here, value)
    };
    let (new_value, written) = outcome?;
    take(map, &field);
    if let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic()) {
        for other in oneof.fields().filter(|f| f.number() != field.number()) {
            take(map, &other);
        }
    }
    map.insert(field.json_name().to_owned(), new_value);
    Ok(written)
}

/// The current value of a field under either spelling (the JSON name's first).
fn current_value(map: &Map<String, Value>, field: &FieldDescriptor) -> Option<Value> {
    map.get(field.json_name())
        .or_else(|| map.get(field.name()))
        .filter(|v| !v.is_null())
        .cloned()
}

fn set_map_entry(
    field: &FieldDescriptor,
    existing: Option<Value>,
    rest: &[&str],
    here: PropertyPath,
    value: &str,
) -> Result<(Value, PropertyPath), String> {
    let Kind::Message(entry) = field.kind() else {
        unreachable!("map fields have entry messages")
    };
    let value_field = entry.map_entry_value_field();
    if rest.is_empty() {
        return Err(format!("{here} is a map; name an entry, e.g. {here}.KEY"));
    }
    let (key, after): (String, &[&str]) = match value_field.kind() {
        Kind::Message(_) => (rest[0].to_owned(), &rest[1..]),
        _ => (rest.join("."), &[]),
    };
    let mut entries = match existing {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let current = entries.get(&key).cloned();
    let (v, written) = set_value(&value_field, current, after, here.key(&key), value)?;
    entries.insert(key, v);
    Ok((Value::Object(entries), written))
}

fn set_list_item(
    field: &FieldDescriptor,
    existing: Option<Value>,
    rest: &[&str],
    here: PropertyPath,
    value: &str,
) -> Result<(Value, PropertyPath), String> {
    let Some(index_text) = rest.first() else {
        return Err(format!("{here} is a list; set one element, e.g. {here}.0"));
    };
    let mut items = match existing {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    let index: usize = match index_text.parse() {
        Ok(i) if i <= items.len() => i,
        Ok(i) => {
            return Err(format!(
                "{here}: index {i} is past the end of the list (it has {} elements)",
                items.len()
            ));
        }
        Err(_) => {
            return Err(format!(
                "{here} is a list; expected an element index after it, got `{index_text}`"
            ));
        }
    };
    let (v, written) = set_value(
        field,
        items.get(index).cloned(),
        &rest[1..],
        here.index(index),
        value,
    )?;
    if index == items.len() {
        items.push(v);
    } else {
        items[index] = v;
    }
    Ok((Value::Array(items), written))
}

/// Sets a single (non-list, non-map) value of `field`'s type.
fn set_value(
    field: &FieldDescriptor,
    existing: Option<Value>,
    rest: &[&str],
    at: PropertyPath,
    value: &str,
) -> Result<(Value, PropertyPath), String> {
    match field.kind() {
        Kind::Message(desc) => {
            let mut map = match existing {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            };
            let rest: Vec<&str> = if rest.is_empty() {
                if desc.full_name() != STRING_VALUE_OR_REF {
                    return Err(format!(
                        "{at} is a message ({}); set one of its fields: {}",
                        desc.name(),
                        field_names(&desc)
                    ));
                }
                vec!["value"]
            } else {
                rest.to_vec()
            };
            let written = set_in_message(&desc, &mut map, &rest, at, value)?;
            Ok((Value::Object(map), written))
        }
        kind => {
            if let Some(next) = rest.first() {
                return Err(format!(
                    "{at} is a {} value; it has no field `{next}`",
                    type_name(&kind)
                ));
            }
            typed(&kind, value)
                .map(|v| (v, at.clone()))
                .map_err(|why| format!("{at}: {why}"))
        }
    }
}

fn type_name(kind: &Kind) -> String {
    match kind {
        Kind::Double | Kind::Float => "number".into(),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => "int32".into(),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => "int64".into(),
        Kind::Uint32 | Kind::Fixed32 => "uint32".into(),
        Kind::Uint64 | Kind::Fixed64 => "uint64".into(),
        Kind::Bool => "boolean".into(),
        Kind::String | Kind::Bytes => "string".into(),
        Kind::Enum(e) => format!("enum {}", e.name()),
        Kind::Message(m) => m.name().to_owned(),
    }
}

/// Parses the text of a scalar to the JSON value of the field's type.
fn typed(kind: &Kind, text: &str) -> Result<Value, String> {
    let whole = |min: i128, max: i128| -> Result<Value, String> {
        let n: i128 = text.trim().parse().map_err(|_| {
            format!(
                "expected a whole number ({}), got {text:?}",
                type_name(kind)
            )
        })?;
        if n < min || n > max {
            return Err(format!(
                "{n} is out of range for {} ({min} to {max})",
                type_name(kind)
            ));
        }
        Ok(if n < 0 {
            Value::from(n as i64)
        } else {
            Value::from(n as u64)
        })
    };
    match kind {
        Kind::String | Kind::Bytes => Ok(Value::String(text.to_owned())),
        Kind::Bool => match text.trim() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("expected true or false, got {text:?}")),
        },
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => whole(i32::MIN as i128, i32::MAX as i128),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => whole(i64::MIN as i128, i64::MAX as i128),
        Kind::Uint32 | Kind::Fixed32 => whole(0, u32::MAX as i128),
        Kind::Uint64 | Kind::Fixed64 => whole(0, u64::MAX as i128),
        Kind::Float | Kind::Double => text
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("expected a number, got {text:?}")),
        Kind::Enum(desc) => {
            let names: Vec<String> = desc
                .values()
                .map(|v| v.name().to_owned())
                .filter(|n| !n.ends_with("unspecified"))
                .collect();
            desc.get_value_by_name(text.trim())
                .map(|v| Value::String(v.name().to_owned()))
                .ok_or_else(|| {
                    format!(
                        "unknown value {text:?}; expected one of: {}",
                        names.join(", ")
                    )
                })
        }
        Kind::Message(m) => Err(format!("{} is a message; set one of its fields", m.name())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api;
    use serde_json::json;

    fn job() -> Value {
        json!({
            "apiVersion": "kubernetes.project-planton.org/v1", "kind": "KubernetesJob",
            "metadata": {"name": "m"},
            "spec": {"namespace": {"valueFrom": {"name": "team"}}, "restart_policy": "Never", "command": ["a", "b"],
                     "env": {"variables": {"A": {"value": "1"}}}}
        })
    }

    fn set(doc: &mut Value, path: &str, value: &str) -> Result<String, String> {
        apply(doc, &api::message(api::KUBERNETES_JOB), path, value).map(|p| p.to_string())
    }

    #[test]
    fn parses_arguments() {
        assert_eq!(
            parse("spec.parallelism=3").unwrap(),
            Override {
                target: None,
                path: "spec.parallelism".into(),
                value: "3".into(),
                text: "spec.parallelism=3".into()
            }
        );
        let o = parse("migrate:spec.image.tag=repo:1=2").unwrap();
        assert_eq!(
            (o.target.as_deref(), o.path.as_str(), o.value.as_str()),
            (Some("migrate"), "spec.image.tag", "repo:1=2")
        );
        assert!(parse("spec.parallelism").is_err());
        assert!(parse(":spec.x=1").is_err());
        assert!(parse("spec..x=1").is_err());
    }

    #[test]
    fn secret_values_are_never_in_messages() {
        let o = parse("job:spec.env.secrets.TOKEN.value=hunter2").unwrap();
        assert_eq!(
            (o.path.as_str(), o.value.as_str()),
            ("spec.env.secrets.TOKEN.value", "hunter2")
        );
        assert_eq!(o.text, "job:spec.env.secrets.TOKEN.value=[redacted]");
        assert_eq!(o.shown_value(), "[redacted]");
        assert_eq!(parse("spec.parallelism=3").unwrap().shown_value(), "3");
        for bad in [
            ":spec.env.secrets.T.value=hunter2",
            "spec.env.secrets..value=hunter2",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn values_are_typed_per_field() {
        let mut doc = job();
        assert_eq!(
            set(&mut doc, "spec.parallelism", "3").unwrap(),
            "spec.parallelism"
        );
        assert_eq!(doc["spec"]["parallelism"], json!(3));
        set(&mut doc, "spec.suspend", "true").unwrap();
        assert_eq!(doc["spec"]["suspend"], json!(true));
        set(&mut doc, "spec.active_deadline_seconds", "600").unwrap();
        assert_eq!(doc["spec"]["activeDeadlineSeconds"], json!(600));
        set(&mut doc, "spec.restartPolicy", "OnFailure").unwrap();
        assert_eq!(doc["spec"]["restartPolicy"], json!("OnFailure"));
        assert!(
            doc["spec"].get("restart_policy").is_none(),
            "the other spelling is replaced"
        );
        set(&mut doc, "spec.targetCluster.clusterKind", "GcpGkeCluster").unwrap();
        assert_eq!(
            doc["spec"]["targetCluster"]["clusterKind"],
            json!("GcpGkeCluster")
        );
    }

    #[test]
    fn type_errors_name_the_path_and_what_was_expected() {
        let mut doc = job();
        assert_eq!(
            set(&mut doc, "spec.parallelism", "three").unwrap_err(),
            "spec.parallelism: expected a whole number (uint32), got \"three\""
        );
        assert_eq!(
            set(&mut doc, "spec.parallelism", "-1").unwrap_err(),
            "spec.parallelism: -1 is out of range for uint32 (0 to 4294967295)"
        );
        assert_eq!(
            set(&mut doc, "spec.suspend", "yes").unwrap_err(),
            "spec.suspend: expected true or false, got \"yes\""
        );
        assert!(
            set(&mut doc, "spec.paralelism", "1")
                .unwrap_err()
                .starts_with(
                    "spec has no field `paralelism`; expected one of: targetCluster, namespace"
                )
        );
        assert!(
            set(&mut doc, "spec.targetCluster.clusterKind", "Nope")
                .unwrap_err()
                .contains("unknown value \"Nope\"; expected one of:")
        );
        assert!(set(&mut doc, "spec.image", "x").unwrap_err().starts_with(
            "spec.image is a message (ContainerImage); set one of its fields: repo, tag"
        ));
        assert!(
            set(&mut doc, "spec.parallelism.x", "1")
                .unwrap_err()
                .contains("is a uint32 value; it has no field `x`")
        );
        assert_eq!(
            doc,
            {
                let mut d = job();
                d["spec"]["restart_policy"] = json!("Never");
                d
            },
            "failed sets leave the document as it was"
        );
    }

    #[test]
    fn map_entries_lists_and_value_or_refs() {
        let mut doc = job();
        assert_eq!(
            set(&mut doc, "spec.env.variables.FOO.value", "bar").unwrap(),
            "spec.env.variables.FOO.value"
        );
        assert_eq!(
            doc["spec"]["env"]["variables"]["FOO"],
            json!({"value": "bar"})
        );
        assert_eq!(doc["spec"]["env"]["variables"]["A"], json!({"value": "1"}));
        set(&mut doc, "metadata.labels.team", "data").unwrap();
        assert_eq!(doc["metadata"]["labels"], json!({"team": "data"}));
        assert_eq!(
            set(&mut doc, "spec.config_maps.app.conf", "a=1").unwrap(),
            "spec.configMaps[\"app.conf\"]"
        );
        assert_eq!(doc["spec"]["configMaps"]["app.conf"], json!("a=1"));
        set(&mut doc, "spec.command.1", "c").unwrap();
        set(&mut doc, "spec.command.2", "d").unwrap();
        assert_eq!(doc["spec"]["command"], json!(["a", "c", "d"]));
        assert!(
            set(&mut doc, "spec.command.9", "x")
                .unwrap_err()
                .contains("index 9 is past the end")
        );
        assert!(
            set(&mut doc, "spec.command", "x")
                .unwrap_err()
                .contains("is a list")
        );
        // A literal replaces a reference (one member of the oneof at a time).
        assert_eq!(
            set(&mut doc, "spec.namespace", "batch").unwrap(),
            "spec.namespace.value"
        );
        assert_eq!(doc["spec"]["namespace"], json!({"value": "batch"}));
        set(&mut doc, "spec.namespace.valueFrom.name", "other").unwrap();
        assert_eq!(
            doc["spec"]["namespace"],
            json!({"valueFrom": {"name": "other"}})
        );
        set(&mut doc, "spec.env.secrets.PASSWORD.value", "s3cret").unwrap();
        assert_eq!(
            doc["spec"]["env"]["secrets"]["PASSWORD"],
            json!({"value": "s3cret"})
        );
    }
}
