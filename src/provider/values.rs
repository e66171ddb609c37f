//! Pulumi's property values on the wire: `google.protobuf.Struct` <-> JSON, secrets and
//! unknowns. A secret is an object `{SIG: SECRET_SIG, value}`; an unknown is one of a few
//! sentinel strings. Conversions keep both, and helpers take secrets off (remembering where they
//! were) and put them back on.

use prost_types::{ListValue, Struct, Value as PbValue, value::Kind as PbKind};
use serde_json::{Map, Number, Value};

use crate::core::path::{PropertyPath, Segment};

/// The key that marks a special object.
pub const SIG: &str = "4dabf18193072939515e22adb298388d";
/// The signature of a secret.
pub const SECRET_SIG: &str = "1b47061264138c4ac30d75fd1eb44270";
/// The signature of a resource reference.
pub const RESOURCE_SIG: &str = "5cf8f73096256a8f31e491e813e4eb8e";
/// The signature of an output value.
pub const OUTPUT_SIG: &str = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
/// The unknown sentinel the engine sends (and we return) for any computed value.
pub const UNKNOWN: &str = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const UNKNOWNS: [&str; 7] = [
    UNKNOWN,
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
    "030794c1-ac77-496b-92df-f27374a8bd58",
    "e48ece36-62e2-4504-bad9-02848725956a",
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
];

/// Whether a value is an unknown sentinel (or an output value without a value).
pub fn is_unknown(value: &Value) -> bool {
    match value {
        Value::String(s) => UNKNOWNS.contains(&s.as_str()),
        Value::Object(map) => {
            map.get(SIG).and_then(Value::as_str) == Some(OUTPUT_SIG) && !map.contains_key("value")
        }
        _ => false,
    }
}

/// A Struct as a JSON object.
pub fn from_struct(s: &Struct) -> Value {
    Value::Object(
        s.fields
            .iter()
            .map(|(k, v)| (k.clone(), from_pb(v)))
            .collect(),
    )
}

fn from_pb(value: &PbValue) -> Value {
    match &value.kind {
        None | Some(PbKind::NullValue(_)) => Value::Null,
        Some(PbKind::BoolValue(b)) => Value::Bool(*b),
        Some(PbKind::NumberValue(n)) => {
            if n.fract() == 0.0 && n.abs() < 9.0e15 {
                Value::from(*n as i64)
            } else {
                Number::from_f64(*n).map_or(Value::Null, Value::Number)
            }
        }
        Some(PbKind::StringValue(s)) => Value::String(s.clone()),
        Some(PbKind::ListValue(list)) => Value::Array(list.values.iter().map(from_pb).collect()),
        Some(PbKind::StructValue(s)) => from_struct(s),
    }
}

/// A JSON object as a Struct (anything else becomes an empty Struct).
pub fn to_struct(value: &Value) -> Struct {
    match value {
        Value::Object(map) => Struct {
            fields: map.iter().map(|(k, v)| (k.clone(), to_pb(v))).collect(),
        },
        _ => Struct::default(),
    }
}

fn to_pb(value: &Value) -> PbValue {
    let kind = match value {
        Value::Null => PbKind::NullValue(0),
        Value::Bool(b) => PbKind::BoolValue(*b),
        Value::Number(n) => PbKind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => PbKind::StringValue(s.clone()),
        Value::Array(items) => PbKind::ListValue(ListValue {
            values: items.iter().map(to_pb).collect(),
        }),
        Value::Object(_) => PbKind::StructValue(to_struct(value)),
    };
    PbValue { kind: Some(kind) }
}

/// Wraps a value as a secret.
pub fn secret(value: Value) -> Value {
    let mut map = Map::new();
    map.insert(SIG.into(), SECRET_SIG.into());
    map.insert("value".into(), value);
    Value::Object(map)
}

/// Removes secret wrappers (and resolves resource references and known output values to plain
/// values), returning the plain value and the paths that were secret.
pub fn reveal(value: &Value) -> (Value, Vec<PropertyPath>) {
    let mut secrets = Vec::new();
    let plain = reveal_at(value, &PropertyPath::root(), &mut secrets);
    (plain, secrets)
}

fn reveal_at(value: &Value, at: &PropertyPath, secrets: &mut Vec<PropertyPath>) -> Value {
    match value {
        Value::Object(map) => match map.get(SIG).and_then(Value::as_str) {
            Some(SECRET_SIG) => {
                secrets.push(at.clone());
                reveal_at(map.get("value").unwrap_or(&Value::Null), at, secrets)
            }
            Some(OUTPUT_SIG) => match map.get("value") {
                None => Value::String(UNKNOWN.into()),
                Some(inner) => {
                    if map.get("secret") == Some(&Value::Bool(true)) {
                        secrets.push(at.clone());
                    }
                    reveal_at(inner, at, secrets)
                }
            },
            Some(RESOURCE_SIG) => {
                let id = map
                    .get("id")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty());
                Value::String(
                    id.or_else(|| map.get("urn").and_then(Value::as_str))
                        .unwrap_or(UNKNOWN)
                        .to_owned(),
                )
            }
            _ => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), reveal_at(v, &at.field(k), secrets)))
                    .collect(),
            ),
        },
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| reveal_at(v, &at.index(i), secrets))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The value at a path (fields and keys both name object members).
pub fn get_mut<'a>(value: &'a mut Value, path: &PropertyPath) -> Option<&'a mut Value> {
    let mut here = value;
    for segment in &path.0 {
        here = match segment {
            Segment::Field(k) | Segment::Key(k) => here.as_object_mut()?.get_mut(k)?,
            Segment::Index(i) => here.as_array_mut()?.get_mut(*i)?,
        };
    }
    Some(here)
}

/// Sets the value at a path, creating objects on the way; lists must already be long enough.
pub fn set(value: &mut Value, path: &PropertyPath, new: Value) {
    let Some((last, parents)) = path.0.split_last() else {
        *value = new;
        return;
    };
    let mut here = value;
    for segment in parents {
        here = match segment {
            Segment::Field(k) | Segment::Key(k) => {
                if !here.is_object() {
                    *here = Value::Object(Map::new());
                }
                here.as_object_mut()
                    .expect("just made an object")
                    .entry(k.clone())
                    .or_insert(Value::Object(Map::new()))
            }
            Segment::Index(i) => match here.as_array_mut().and_then(|a| a.get_mut(*i)) {
                Some(v) => v,
                None => return,
            },
        };
    }
    match last {
        Segment::Field(k) | Segment::Key(k) => {
            if !here.is_object() {
                *here = Value::Object(Map::new());
            }
            here.as_object_mut()
                .expect("just made an object")
                .insert(k.clone(), new);
        }
        Segment::Index(i) => {
            if let Some(slot) = here.as_array_mut().and_then(|a| a.get_mut(*i)) {
                *slot = new;
            }
        }
    }
}

/// Wraps the values at `paths` as secrets (paths that do not exist are skipped; nested secret
/// paths inside an already wrapped one are absorbed).
pub fn conceal(value: &mut Value, paths: &[PropertyPath]) {
    let mut paths: Vec<&PropertyPath> = paths.iter().collect();
    paths.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
    paths.dedup();
    for path in paths {
        if let Some(slot) = get_mut(value, path)
            && !is_secret(slot)
        {
            let inner = std::mem::take(slot);
            *slot = secret(strip_secrets(inner));
        }
    }
}

fn is_secret(value: &Value) -> bool {
    value.get(SIG).and_then(Value::as_str) == Some(SECRET_SIG)
}

fn strip_secrets(value: Value) -> Value {
    match value {
        Value::Object(map) if map.get(SIG).and_then(Value::as_str) == Some(SECRET_SIG) => {
            strip_secrets(map.get("value").cloned().unwrap_or(Value::Null))
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, strip_secrets(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_secrets).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn struct_round_trip_keeps_integers() {
        let v = json!({"a": 1, "b": [true, "x", 1.5], "c": {"d": null}});
        assert_eq!(from_struct(&to_struct(&v)), v);
    }

    #[test]
    fn reveal_and_conceal_are_inverse() {
        let v = json!({"spec": {"env": {"secrets": {"A": {"value": secret(json!("s3cr3t"))}}}}, "k": secret(json!({"x": 1}))});
        let (plain, paths) = reveal(&v);
        assert_eq!(
            plain["spec"]["env"]["secrets"]["A"]["value"],
            json!("s3cr3t")
        );
        assert_eq!(paths.len(), 2);
        let mut back = plain.clone();
        conceal(&mut back, &paths);
        assert_eq!(back, v);
    }

    #[test]
    fn recognises_unknowns() {
        assert!(is_unknown(&json!(UNKNOWN)));
        assert!(is_unknown(&json!({SIG: OUTPUT_SIG})));
        assert!(!is_unknown(&json!("x")));
    }
}
