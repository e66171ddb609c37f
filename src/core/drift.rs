//! Drift: how a live object differs from what kjob applied. Written once for `kjob refresh`,
//! `kjob up --refresh` and the provider's Read (`pulumi refresh`). Pure.
//!
//! Only the fields kjob sets are compared (server-side apply owns nothing else): every leaf of
//! the applied body is looked up at the same path in the live object. What the server or a
//! controller added (defaults, status, the Job controller's labels) is not drift; a field kjob
//! set that is now different or gone is. Lists are compared item by item. Numbers compare by
//! value (`1` and `1.0` are equal), and so do resource quantities (`1000m` and `1`).
//!
//! Values of a sensitive object's `data` and `stringData` (a Secret) are never shown: both sides
//! read `[secret]`, so a drifted secret value is reported without its value, in any encoding.

use serde::Serialize;
use serde_json::Value;

use super::objects::{Object, ObjectRef};

/// How one field drifted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldDrift {
    /// The object.
    pub object: ObjectRef,
    /// The field's path in the object (`data.settings`, `spec.template.spec.containers[0].image`).
    pub path: String,
    /// What kjob applied (`[secret]` for secret values).
    pub applied: Value,
    /// What is live; `null` when the field is gone (`[secret]` for secret values).
    pub live: Value,
}

impl std::fmt::Display for FieldDrift {
    /// `ConfigMap ns/settings data.settings: applied "a=1", live "a=2"` (`(none)` for a field
    /// that is gone).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = |v: &Value| match v {
            Value::Null => "(none)".to_owned(),
            other => other.to_string(),
        };
        write!(
            f,
            "{} {}: applied {}, live {}",
            self.object,
            self.path,
            text(&self.applied),
            text(&self.live)
        )
    }
}

/// The fields of `applied` that differ in `live` (the live object as read), in path order.
pub fn drift(applied: &Object, live: &Value) -> Vec<FieldDrift> {
    let mut out = Vec::new();
    walk(applied, &applied.body, Some(live), String::new(), &mut out);
    out
}

fn walk(
    object: &Object,
    applied: &Value,
    live: Option<&Value>,
    path: String,
    out: &mut Vec<FieldDrift>,
) {
    match applied {
        Value::Object(fields) => {
            for (key, value) in fields {
                let here = if path.is_empty() {
                    key.clone()
                } else if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    format!("{path}.{key}")
                } else {
                    format!("{path}[{key:?}]")
                };
                walk(object, value, live.and_then(|l| l.get(key)), here, out);
            }
        }
        Value::Array(items) => {
            let live_items = live.and_then(Value::as_array);
            if live_items.is_none() || live_items.map(Vec::len) < Some(items.len()) {
                // Gone, or shorter: the list as a whole differs.
                if !(items.is_empty() && live.is_none()) {
                    push(object, &path, applied, live, out);
                }
                return;
            }
            for (i, item) in items.iter().enumerate() {
                walk(
                    object,
                    item,
                    live_items.and_then(|l| l.get(i)),
                    format!("{path}[{i}]"),
                    out,
                );
            }
        }
        Value::Null => {}
        leaf => {
            if !same(leaf, live) && !same_quantity(&path, leaf, live) {
                push(object, &path, applied, live, out);
            }
        }
    }
}

fn same(applied: &Value, live: Option<&Value>) -> bool {
    match (applied, live) {
        (Value::Number(a), Some(Value::Number(b))) => a.as_f64() == b.as_f64(),
        (a, Some(b)) => a == b,
        (_, None) => false,
    }
}

/// A resource quantity the server spells its own way (`1000m` is `1`) is the same quantity.
fn same_quantity(path: &str, applied: &Value, live: Option<&Value>) -> bool {
    let under_resources =
        path.contains(".resources.limits.") || path.contains(".resources.requests.");
    match (applied.as_str(), live.and_then(Value::as_str)) {
        (Some(a), Some(b)) if under_resources => {
            match (super::names::quantity(a), super::names::quantity(b)) {
                (Ok(x), Ok(y)) => (x - y).abs() <= f64::EPSILON * x.abs().max(y.abs()).max(1.0),
                _ => false,
            }
        }
        _ => false,
    }
}

fn push(
    object: &Object,
    path: &str,
    applied: &Value,
    live: Option<&Value>,
    out: &mut Vec<FieldDrift>,
) {
    let secret = object.sensitive && (path.starts_with("data") || path.starts_with("stringData"));
    let shown = |v: Option<&Value>| match v {
        None | Some(Value::Null) => Value::Null,
        Some(_) if secret => Value::from("[secret]"),
        Some(v) => v.clone(),
    };
    out.push(FieldDrift {
        object: object.id.clone(),
        path: path.to_owned(),
        applied: shown(Some(applied)),
        live: shown(live),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::objects::ObjectKind;
    use serde_json::json;

    fn object(kind: ObjectKind, body: Value, sensitive: bool) -> Object {
        Object {
            id: ObjectRef {
                kind,
                namespace: Some("ns".into()),
                name: "x".into(),
            },
            body,
            sensitive,
        }
    }

    #[test]
    fn only_the_fields_kjob_set_are_compared() {
        let applied = object(
            ObjectKind::ConfigMap,
            json!({"metadata": {"name": "x", "labels": {"a": "1", "app.kubernetes.io/name": "x"}}, "data": {"k": "v"}, "n": [1, 2]}),
            false,
        );
        let live = json!({"metadata": {"name": "x", "uid": "u", "labels": {"a": "2", "added": "y", "app.kubernetes.io/name": "x"}}, "data": {"k": "v", "more": "z"}, "n": [1.0, 2, 3]});
        let found = drift(&applied, &live);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, "metadata.labels.a");
        assert_eq!(
            found[0].to_string(),
            "ConfigMap ns/x metadata.labels.a: applied \"1\", live \"2\""
        );
        assert_eq!(
            (found[0].applied.clone(), found[0].live.clone()),
            (json!("1"), json!("2"))
        );
        // Gone: null; a shorter list: the list.
        let live = json!({"metadata": {"name": "x", "labels": {"app.kubernetes.io/name": "x"}}, "data": {}, "n": [1]});
        let paths: Vec<_> = drift(&applied, &live)
            .into_iter()
            .map(|d| (d.path, d.live))
            .collect();
        assert_eq!(
            paths,
            [
                ("metadata.labels.a".into(), Value::Null),
                ("data.k".into(), Value::Null),
                ("n".into(), json!([1]))
            ]
        );
        let quantities = object(
            ObjectKind::Job,
            json!({"c": {"resources": {"limits": {"cpu": "1000m"}}}}),
            false,
        );
        assert!(
            drift(
                &quantities,
                &json!({"c": {"resources": {"limits": {"cpu": "1"}}}})
            )
            .is_empty()
        );
        assert!(drift(&applied, &json!({"metadata": {"name": "x", "labels": {"a": "1", "app.kubernetes.io/name": "x"}}, "data": {"k": "v"}, "n": [1, 2]})).is_empty());
    }

    #[test]
    fn secret_values_never_show() {
        let applied = object(
            ObjectKind::Secret,
            json!({"data": {"PW": "aHVudGVyMg=="}}),
            true,
        );
        let found = drift(&applied, &json!({"data": {"PW": "b3RoZXI="}}));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path, "data.PW");
        assert_eq!(
            (found[0].applied.clone(), found[0].live.clone()),
            (json!("[secret]"), json!("[secret]"))
        );
        let text = serde_json::to_string(&found).unwrap();
        assert!(
            !text.contains("aHVudGVyMg") && !text.contains("b3RoZXI"),
            "{text}"
        );
    }
}
