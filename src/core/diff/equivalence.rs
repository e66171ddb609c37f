//! The walking diff says exactly what comparing every leaf of both documents says: the golden
//! full input against thousands of edits of it (every leaf changed, removed, nulled, turned
//! into an object, a list or an unknown placeholder; every branch emptied, removed or
//! replaced by a scalar), both ways round.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Change, ChangeKind, diff, equivalent, flatten, forces_replace};
use crate::core::path::PropertyPath;

const UNKNOWN: &str = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

fn unknown(v: &Value) -> bool {
    v.as_str() == Some(UNKNOWN) || v.get("unknown") == Some(&json!(true))
}

/// The diff as it was: flatten both documents whole and compare every leaf.
fn by_leaves(old: &Value, new: &Value, ignore: &[PropertyPath]) -> Vec<Change> {
    let mut olds = BTreeMap::new();
    let mut news = BTreeMap::new();
    flatten(old, PropertyPath::root(), &mut olds, &unknown);
    flatten(new, PropertyPath::root(), &mut news, &unknown);
    let mut paths: Vec<&PropertyPath> = olds.keys().chain(news.keys()).collect();
    paths.sort();
    paths.dedup();
    let mut out = Vec::new();
    for path in paths {
        if ignore.iter().any(|i| path.starts_with(i)) {
            continue;
        }
        let kind = match (olds.get(path), news.get(path)) {
            (None, Some(_)) => ChangeKind::Add,
            (Some(_), None) => ChangeKind::Delete,
            (Some(a), Some(b)) if unknown(b) || (a != b && !equivalent(path, a, b)) => {
                ChangeKind::Update
            }
            _ => continue,
        };
        let replace = forces_replace(path, kind, new, &unknown);
        out.push(Change {
            path: path.clone(),
            kind,
            replace,
        });
    }
    out
}

/// Every JSON pointer in `doc`.
fn pointers(doc: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match doc {
        Value::Object(map) => {
            for (k, v) in map {
                pointers(
                    v,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn edited(doc: &Value, pointer: &str, edit: &dyn Fn(&mut Value)) -> Value {
    let mut doc = doc.clone();
    if let Some(v) = doc.pointer_mut(pointer) {
        edit(v);
    }
    doc
}

/// One way to edit a value in place.
type Edit = Box<dyn Fn(&mut Value)>;

#[test]
fn walking_equals_comparing_every_leaf() {
    let golden: Value =
        serde_json::from_str(include_str!("../../../tests/golden/full.input.json")).unwrap();
    let mut all = Vec::new();
    pointers(&golden, String::new(), &mut all);
    let edits: Vec<Edit> = vec![
        Box::new(|v| *v = json!("changed")),
        Box::new(|v| *v = json!(7)),
        Box::new(|v| *v = Value::Null),
        Box::new(|v| *v = json!({})),
        Box::new(|v| *v = json!([])),
        Box::new(|v| *v = json!({"x": 1, "y": [1, {"z": null}]})),
        Box::new(|v| *v = json!([1, 2, 3])),
        Box::new(|v| *v = json!(UNKNOWN)),
        Box::new(|v| *v = json!({"unknown": true})),
        Box::new(|v| {
            if let Value::Object(map) = v {
                if let Some(first) = map.keys().next().cloned() {
                    map.shift_remove(&first);
                }
                map.insert("added".into(), json!({"deep": [true]}));
            } else if let Value::Array(items) = v {
                items.push(json!("more"));
            }
        }),
        Box::new(|v| {
            if let Value::Object(map) = v {
                // The same entries in another order: no change.
                let mut entries: Vec<_> = std::mem::take(map).into_iter().collect();
                entries.reverse();
                map.extend(entries);
            }
        }),
        Box::new(|v| {
            if let Some(s) = v.as_str().filter(|s| s.ends_with('i') || s.ends_with('m')) {
                // Another spelling of a quantity, or not a quantity.
                *v = json!(format!("{s}0"));
            }
        }),
    ];
    let ignores = [
        Vec::new(),
        vec![PropertyPath::parse_dotted("spec.env")],
        vec![PropertyPath::parse_dotted("metadata")],
    ];
    let mut compared = 0;
    for pointer in &all {
        for edit in &edits {
            let new = edited(&golden, pointer, edit.as_ref());
            for ignore in &ignores {
                for (a, b) in [(&golden, &new), (&new, &golden), (&new, &new)] {
                    let walked = diff(a, b, ignore, &unknown).changes;
                    assert_eq!(walked, by_leaves(a, b, ignore), "{pointer}: {a} -> {b}");
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 1000, "{compared}");
}
