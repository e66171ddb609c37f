//! Protobuf JSON over descriptors: strict decoding that reports every problem at its property
//! path, and encoding back to JSON with JSON (camelCase) names.
//!
//! Decoding accepts both JSON names and proto names, integers as numbers or strings and enum
//! values by name or number, like `protojson`. Unknown fields, wrong types, out-of-range
//! numbers, unknown enum names and two members of one oneof are failures. Encoding writes
//! 64-bit integers as numbers (Pulumi and YAML users expect numbers) and sorts map keys.
//!
//! A caller may pass a predicate that recognises "unknown" placeholders (Pulumi's computed
//! values during preview): such values are not decoded but their paths are returned.

use prost_reflect::{
    DynamicMessage, EnumDescriptor, FieldDescriptor, Kind, MapKey, MessageDescriptor,
    Value as PValue,
};
use serde_json::{Map, Number, Value};

use crate::core::path::{Failure, PropertyPath, Segment};

/// The result of decoding one JSON value into a message.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The decoded message, with every field that decoded cleanly.
    pub message: DynamicMessage,
    /// Paths whose value was an unknown placeholder and was left unset.
    pub unknowns: Vec<PropertyPath>,
    /// Every problem found, in document order.
    pub failures: Vec<Failure>,
}

/// Recognises values that stand for "not known yet".
pub type UnknownTest<'a> = &'a dyn Fn(&Value) -> bool;

/// Decodes `value` as a message of type `desc`; `at` is the path of `value` itself.
pub fn decode(
    desc: &MessageDescriptor,
    value: &Value,
    at: &PropertyPath,
    unknown: Option<UnknownTest<'_>>,
) -> Decoded {
    let mut decoder = Decoder {
        unknown,
        at: at.clone(),
        unknowns: Vec::new(),
        failures: Vec::new(),
    };
    let message = decoder.message(desc, value);
    Decoded {
        message,
        unknowns: decoder.unknowns,
        failures: decoder.failures,
    }
}

/// Walks the JSON with the path of the value at hand in `at`, one segment pushed per step
/// down: a path is copied only into a failure or an unknown, not built for every value.
struct Decoder<'a> {
    unknown: Option<UnknownTest<'a>>,
    at: PropertyPath,
    unknowns: Vec<PropertyPath>,
    failures: Vec<Failure>,
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Lists the JSON names a message accepts, for "unknown field" messages.
pub fn field_names(desc: &MessageDescriptor) -> Vec<String> {
    desc.fields().map(|f| f.json_name().to_owned()).collect()
}

impl Decoder<'_> {
    fn fail(&mut self, reason: impl Into<String>) {
        self.failures.push(Failure::new(self.at.clone(), reason));
    }

    /// Runs `step` with `segment` appended to the current path.
    fn below<T>(&mut self, segment: Segment, step: impl FnOnce(&mut Self) -> T) -> T {
        self.at.0.push(segment);
        let out = step(self);
        self.at.0.pop();
        out
    }

    /// Whether `value` is skipped: null, or an unknown placeholder (whose path is recorded).
    fn skipped(&mut self, value: &Value) -> bool {
        if value.is_null() {
            return true;
        }
        if self.unknown.is_some_and(|test| test(value)) {
            self.unknowns.push(self.at.clone());
            return true;
        }
        false
    }

    fn message(&mut self, desc: &MessageDescriptor, value: &Value) -> DynamicMessage {
        let mut message = DynamicMessage::new(desc.clone());
        let Value::Object(object) = value else {
            self.fail(format!("expected an object, got {}", type_name(value)));
            return message;
        };
        let mut oneofs_seen: Vec<(String, String)> = Vec::new();
        for (key, item) in object {
            let field = desc
                .get_field_by_json_name(key)
                .or_else(|| desc.get_field_by_name(key));
            let Some(field) = field else {
                self.below(Segment::Field(key.clone()), |d| {
                    d.fail(format!(
                        "unknown field `{key}`; expected one of: {}",
                        field_names(desc).join(", ")
                    ));
                });
                continue;
            };
            let segment = Segment::Field(field.json_name().to_owned());
            let decoded = self.below(segment, |d| {
                if d.skipped(item) || !d.first_of_oneof(&field, &mut oneofs_seen) {
                    return None;
                }
                d.field(&field, item)
            });
            if let Some(decoded) = decoded {
                message.set_field(&field, decoded);
            }
        }
        message
    }

    /// Records `field` as its oneof's member; false (and a failure) when another member of the
    /// same oneof came first.
    fn first_of_oneof(
        &mut self,
        field: &FieldDescriptor,
        seen: &mut Vec<(String, String)>,
    ) -> bool {
        let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic()) else {
            return true;
        };
        if let Some((_, other)) = seen.iter().find(|(name, _)| name == oneof.name()) {
            let other = other.clone();
            self.fail(format!(
                "only one of `{other}` and `{}` may be set",
                field.json_name()
            ));
            return false;
        }
        seen.push((oneof.name().to_owned(), field.json_name().to_owned()));
        true
    }

    fn field(&mut self, field: &FieldDescriptor, value: &Value) -> Option<PValue> {
        if field.is_map() {
            let Value::Object(object) = value else {
                self.fail(format!(
                    "expected a map (an object), got {}",
                    type_name(value)
                ));
                return None;
            };
            let Kind::Message(entry) = field.kind() else {
                unreachable!("map fields have entry messages")
            };
            let key_field = entry.map_entry_key_field();
            let value_field = entry.map_entry_value_field();
            let mut map = std::collections::HashMap::with_capacity(object.len());
            for (key, item) in object {
                self.below(Segment::Key(key.clone()), |d| {
                    if d.skipped(item) {
                        return;
                    }
                    if let Some(key) = d.map_key(&key_field, key)
                        && let Some(item) = d.single(&value_field, item)
                    {
                        map.insert(key, item);
                    }
                });
            }
            Some(PValue::Map(map))
        } else if field.is_list() {
            let Value::Array(items) = value else {
                self.fail(format!("expected a list, got {}", type_name(value)));
                return None;
            };
            // An unknown element makes the whole list unknown: its length and order are not known.
            if self.unknown.is_some_and(|test| items.iter().any(test)) {
                self.unknowns.push(self.at.clone());
                return None;
            }
            let mut list = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                if let Some(item) = self.below(Segment::Index(i), |d| d.single(field, item)) {
                    list.push(item);
                }
            }
            Some(PValue::List(list))
        } else {
            self.single(field, value)
        }
    }

    fn map_key(&mut self, field: &FieldDescriptor, key: &str) -> Option<MapKey> {
        let parsed = match field.kind() {
            Kind::String => Some(MapKey::String(key.to_owned())),
            Kind::Bool => key.parse().ok().map(MapKey::Bool),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => key.parse().ok().map(MapKey::I32),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => key.parse().ok().map(MapKey::I64),
            Kind::Uint32 | Kind::Fixed32 => key.parse().ok().map(MapKey::U32),
            Kind::Uint64 | Kind::Fixed64 => key.parse().ok().map(MapKey::U64),
            _ => None,
        };
        if parsed.is_none() {
            self.fail(format!("map key `{key}` is not a valid {:?}", field.kind()));
        }
        parsed
    }

    fn single(&mut self, field: &FieldDescriptor, value: &Value) -> Option<PValue> {
        let result = match field.kind() {
            Kind::Message(desc) => return Some(PValue::Message(self.message(&desc, value))),
            Kind::Enum(desc) => enum_value(&desc, value),
            Kind::String => match value {
                Value::String(s) => Ok(PValue::String(s.clone())),
                other => Err(format!("expected a string, got {}", type_name(other))),
            },
            Kind::Bool => match value {
                Value::Bool(b) => Ok(PValue::Bool(*b)),
                other => Err(format!("expected a boolean, got {}", type_name(other))),
            },
            Kind::Double => number(value).map(PValue::F64),
            Kind::Float => number(value).map(|n| PValue::F32(n as f32)),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                integer(value, i32::MIN as i128, i32::MAX as i128).map(|n| PValue::I32(n as i32))
            }
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                integer(value, i64::MIN as i128, i64::MAX as i128).map(|n| PValue::I64(n as i64))
            }
            Kind::Uint32 | Kind::Fixed32 => {
                integer(value, 0, u32::MAX as i128).map(|n| PValue::U32(n as u32))
            }
            Kind::Uint64 | Kind::Fixed64 => {
                integer(value, 0, u64::MAX as i128).map(|n| PValue::U64(n as u64))
            }
            Kind::Bytes => match value {
                Value::String(s) => Ok(PValue::Bytes(s.clone().into_bytes().into())),
                other => Err(format!("expected a string, got {}", type_name(other))),
            },
        };
        match result {
            Ok(v) => Some(v),
            Err(reason) => {
                self.fail(reason);
                None
            }
        }
    }
}

fn number(value: &Value) -> Result<f64, String> {
    match value {
        Value::Number(n) => n.as_f64().ok_or_else(|| "expected a number".to_owned()),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("expected a number, got the string {s:?}")),
        other => Err(format!("expected a number, got {}", type_name(other))),
    }
}

fn integer(value: &Value, min: i128, max: i128) -> Result<i128, String> {
    let n: i128 = match value {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i as i128
            } else if let Some(u) = n.as_u64() {
                u as i128
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() != 0.0 || !f.is_finite() {
                    return Err(format!("expected a whole number, got {f}"));
                }
                f as i128
            }
        }
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("expected a whole number, got the string {s:?}"))?,
        other => return Err(format!("expected a whole number, got {}", type_name(other))),
    };
    if n < min {
        return Err(format!("must be at least {min}, got {n}"));
    }
    if n > max {
        return Err(format!("must be at most {max}, got {n}"));
    }
    Ok(n)
}

fn enum_value(desc: &EnumDescriptor, value: &Value) -> Result<PValue, String> {
    let names = || {
        desc.values()
            .map(|v| v.name().to_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match value {
        Value::String(s) => desc
            .get_value_by_name(s)
            .map(|v| PValue::EnumNumber(v.number()))
            .ok_or_else(|| format!("unknown value {s:?}; expected one of: {}", names())),
        Value::Number(n) => n
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .filter(|n| desc.get_value(*n).is_some())
            .map(PValue::EnumNumber)
            .ok_or_else(|| format!("unknown enum number {n}; expected one of: {}", names())),
        other => Err(format!(
            "expected an enum name (a string), got {}",
            type_name(other)
        )),
    }
}

/// Encodes a message as JSON: present fields only, JSON names, map keys sorted, enums by name.
pub fn encode(message: &DynamicMessage) -> Value {
    let mut object = Map::new();
    for (field, value) in message.fields() {
        object.insert(field.json_name().to_owned(), encode_field(&field, value));
    }
    Value::Object(object)
}

/// Encodes a generated message through the descriptor of its type.
pub fn encode_typed<M: prost::Message>(desc: &MessageDescriptor, message: &M) -> Value {
    encode(&to_dynamic(desc, message))
}

/// Converts a generated message to a dynamic one of type `desc`.
pub fn to_dynamic<M: prost::Message>(desc: &MessageDescriptor, message: &M) -> DynamicMessage {
    DynamicMessage::decode(desc.clone(), message.encode_to_vec().as_slice())
        .expect("a generated message re-decodes with its own descriptor")
}

/// Converts a dynamic message to the generated type with the same descriptor.
pub fn to_typed<M: prost::Message + Default>(message: &DynamicMessage) -> M {
    message
        .transcode_to()
        .expect("a dynamic message decodes as the generated type of its descriptor")
}

fn encode_field(field: &FieldDescriptor, value: &PValue) -> Value {
    match value {
        PValue::List(items) => {
            Value::Array(items.iter().map(|v| encode_single(field, v)).collect())
        }
        PValue::Map(map) => {
            let Kind::Message(entry) = field.kind() else {
                return Value::Null;
            };
            let value_field = entry.map_entry_value_field();
            let mut entries: Vec<(String, Value)> = map
                .iter()
                .map(|(k, v)| (map_key_string(k), encode_single(&value_field, v)))
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().collect())
        }
        single => encode_single(field, single),
    }
}

/// A map key as its JSON object key (and property path segment) spells it.
pub(crate) fn map_key_string(key: &MapKey) -> String {
    match key {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
        MapKey::String(s) => s.clone(),
    }
}

fn encode_single(field: &FieldDescriptor, value: &PValue) -> Value {
    match value {
        PValue::Bool(b) => Value::Bool(*b),
        PValue::I32(n) => Value::from(*n),
        PValue::I64(n) => Value::from(*n),
        PValue::U32(n) => Value::from(*n),
        PValue::U64(n) => Value::from(*n),
        PValue::F32(n) => Number::from_f64(f64::from(*n)).map_or(Value::Null, Value::Number),
        PValue::F64(n) => Number::from_f64(*n).map_or(Value::Null, Value::Number),
        PValue::String(s) => Value::String(s.clone()),
        PValue::Bytes(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        PValue::EnumNumber(n) => match field.kind() {
            Kind::Enum(desc) => desc
                .get_value(*n)
                .map_or(Value::from(*n), |v| Value::String(v.name().to_owned())),
            _ => Value::from(*n),
        },
        PValue::Message(m) => encode(m),
        PValue::List(_) | PValue::Map(_) => encode_field(field, value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api;
    use serde_json::json;

    fn job() -> MessageDescriptor {
        api::message(api::KUBERNETES_JOB)
    }

    #[test]
    fn decodes_and_encodes_round_trip() {
        let input = json!({
            "apiVersion": "kubernetes.project-planton.org/v1",
            "kind": "KubernetesJob",
            "metadata": {"name": "migrate", "labels": {"b": "2", "a": "1"}},
            "spec": {
                "namespace": {"value": "batch"},
                "image": {"repo": "busybox", "tag": "1.36"},
                "parallelism": 2,
                "active_deadline_seconds": "600",
                "env": {"variables": {"A": {"valueFrom": {"kind": "KubernetesNamespace", "name": "ns"}}}}
            }
        });
        let decoded = decode(&job(), &input, &PropertyPath::root(), None);
        assert!(decoded.failures.is_empty(), "{:?}", decoded.failures);
        let out = encode(&decoded.message);
        assert_eq!(out["spec"]["activeDeadlineSeconds"], json!(600));
        assert_eq!(
            out["spec"]["env"]["variables"]["A"]["valueFrom"]["kind"],
            json!("KubernetesNamespace")
        );
        assert_eq!(out["metadata"]["labels"], json!({"a": "1", "b": "2"}));
        assert_eq!(
            serde_json::to_string(&out["metadata"]["labels"]).unwrap(),
            r#"{"a":"1","b":"2"}"#
        );
    }

    #[test]
    fn reports_every_problem_with_its_path() {
        let input = json!({
            "metadata": {"name": 3, "nope": true},
            "spec": {
                "parallelism": -1,
                "completions": 1.5,
                "command": ["ok", 7],
                "namespace": {"value": "a", "valueFrom": {"name": "b"}},
                "env": {"variables": {"X": {"valueFrom": {"kind": "NoSuchKind"}}}}
            }
        });
        let decoded = decode(&job(), &input, &PropertyPath::root(), None);
        let got: Vec<String> = decoded
            .failures
            .iter()
            .map(|f| f.path.to_string())
            .collect();
        assert_eq!(
            got,
            [
                "metadata.name",
                "metadata.nope",
                "spec.parallelism",
                "spec.completions",
                "spec.command[1]",
                "spec.namespace.valueFrom",
                "spec.env.variables.X.valueFrom.kind"
            ]
        );
        assert!(decoded.failures[1].reason.contains("unknown field `nope`"));
    }

    #[test]
    fn collects_unknown_placeholders() {
        let input = json!({"spec": {"namespace": "??", "command": ["a", "??"]}});
        let test = |v: &Value| v == "??";
        let decoded = decode(&job(), &input, &PropertyPath::root(), Some(&test));
        assert!(decoded.failures.is_empty());
        let got: Vec<String> = decoded.unknowns.iter().map(ToString::to_string).collect();
        assert_eq!(got, ["spec.namespace", "spec.command"]);
    }
}
