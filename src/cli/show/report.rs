//! The scriptable output of `validate`, `preview`, `up`, `down` and `refresh` (`-o json|yaml`):
//! one document on standard output when the command ends, successful or not, in a stable shape
//! (README, "Scriptable output"):
//!
//! ```yaml
//! version: 1                # bumped only when a field changes meaning or goes away
//! command: up
//! ok: false
//! plan:                     # per document, in apply order
//!   - resource: {kind: KubernetesJob, env: dev, name: migrate}
//!     source: job.yaml
//!     document: 1
//!     state: deployed       # new | deployed | (validate: absent)
//!     objects: [{kind: Job, namespace: dev, name: migrate, action: replace}]
//!     changes: [{path: spec.parallelism, op: update, old: 1, new: 2}]
//! results:                  # per document that the command acted on (up, down: every one)
//!   - resource: {kind: KubernetesJob, env: dev, name: migrate}
//!     result: failed        # valid | applied | unchanged | deleted | failed | drifted | in-sync
//!                           # | skipped (because: [resource]) | not-started (reason)
//!                           # | not-deployed; deleted has kept: [{kind, namespace, name, why}]
//!     job: Failed
//!     error: "..."
//! outputs:
//!   - resource: {kind: KubernetesJob, env: dev, name: migrate}
//!     outputs: {namespace: dev, jobName: migrate}
//! error: {exit: 1, message: "..."}
//! ```
//!
//! Secret values never appear: a value at a secret path, or one that the redacted manifests
//! carry as a marker, is the string `"[secret]"` (as in the text preview).
//!
//! While a structured format is chosen, the text that would go to standard output is not
//! printed (progress and diagnostics still go to standard error unless `-q`).

use std::sync::Mutex;

use serde_json::{Map, Value, json};

use super::{shown, value_at};
use crate::cli::plan::Planned;
use crate::cli::{CliError, Format};
use crate::core::diff::ChangeKind;
use crate::core::objects::ObjectRef;
use crate::core::plan::{Action, Change};
use crate::core::refs::ResourceKey;

/// The version of the document's shape.
pub const VERSION: u64 = 1;

static REPORT: Mutex<Option<Report>> = Mutex::new(None);

#[derive(Debug, Default)]
struct Report {
    format: Option<Format>,
    command: String,
    plan: Vec<Value>,
    results: Vec<Value>,
    outputs: Vec<Value>,
    extra: Map<String, Value>,
}

fn with(f: impl FnOnce(&mut Report)) {
    let mut guard = REPORT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(report) = guard.as_mut() {
        f(report);
    }
}

/// Starts collecting for `command` when `format` is JSON or YAML (a table collects nothing).
pub fn start(command: &str, format: Format) {
    let mut guard = REPORT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    *guard = match format {
        Format::Table => None,
        format => Some(Report {
            format: Some(format),
            command: command.to_owned(),
            ..Report::default()
        }),
    };
}

/// Whether a structured document is being collected (text for standard output is then not
/// printed).
pub fn active() -> bool {
    REPORT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .is_some()
}

/// A resource's identity in the document.
pub fn resource(key: &ResourceKey) -> Value {
    json!({"kind": key.kind, "env": key.env, "name": key.name})
}

/// An object's identity (and what happens to it, when known).
pub fn object(id: &ObjectRef, action: Option<Action>) -> Value {
    let mut value = json!({
        "kind": id.kind.as_str(),
        "namespace": id.namespace,
        "name": id.name,
    });
    if let Some(action) = action {
        value["action"] = json!(action.word());
    }
    value
}

/// The input changes of a planned resource, secret values marked.
pub fn changes(change: &Change) -> Vec<Value> {
    change
        .inputs
        .changes
        .iter()
        .map(|c| {
            let old = value_at(&change.old, &c.path);
            let new = value_at(&change.new, &c.path);
            let mut entry = json!({"path": c.path.to_string()});
            let op = match c.kind {
                ChangeKind::Add => "add",
                ChangeKind::Delete => "delete",
                ChangeKind::Update => "update",
            };
            entry["op"] = json!(op);
            if c.kind != ChangeKind::Add {
                entry["old"] = structured(&c.path, old);
            }
            if c.kind != ChangeKind::Delete {
                entry["new"] = structured(&c.path, new);
            }
            if c.replace && change.replace_job.is_some() {
                entry["forcesReplacement"] = json!(true);
            }
            entry
        })
        .collect()
}

/// A value for the document: as it is, or `"[secret]"` (the rule of the text preview).
fn structured(path: &crate::core::path::PropertyPath, value: Option<&Value>) -> Value {
    match (value, shown(path, value).as_str()) {
        (None, _) => Value::Null,
        (_, "[secret]") => json!("[secret]"),
        (Some(v), _) => v.clone(),
    }
}

/// Adds one document's plan entry: what `preview` and `up` would do to it.
pub fn planned(p: &Planned, change: &Change) {
    let mut entry = document(p);
    entry["state"] = json!(if change.previous.is_some() {
        "deployed"
    } else {
        "new"
    });
    if let Some(record) = &change.previous {
        entry["lastRun"] = json!(record.status.as_str());
    }
    entry["skip"] = json!(change.skip);
    entry["objects"] = change
        .objects
        .iter()
        .map(|(id, action)| object(id, Some(*action)))
        .collect();
    if let Some(why) = &change.replace_job {
        entry["replaceJob"] = json!(why);
    }
    entry["changes"] = json!(changes(change));
    with(|r| r.plan.push(entry));
}

/// Adds one valid document's entry (`validate`): the objects it renders.
pub fn validated(p: &Planned) {
    let mut entry = document(p);
    entry["objects"] = p.objects().iter().map(|o| object(&o.id, None)).collect();
    with(|r| r.plan.push(entry));
    result(&p.key, "valid", json!({}));
}

/// Adds what `down` deletes for one resource.
pub fn down(key: &ResourceKey, objects: &[(ObjectRef, Action)]) {
    let entry = json!({
        "resource": resource(key),
        "state": if objects.is_empty() { "new" } else { "deployed" },
        "objects": objects.iter().map(|(id, a)| object(id, Some(*a))).collect::<Vec<_>>(),
    });
    with(|r| r.plan.push(entry));
}

fn document(p: &Planned) -> Value {
    json!({
        "resource": resource(&p.key),
        "source": p.doc.source.clone(),
        "document": p.doc.index + 1,
    })
}

/// Adds one document's result: `result` is one of the words listed in the module's doc.
pub fn result(key: &ResourceKey, result: &str, fields: Value) {
    let mut entry = json!({"resource": resource(key), "result": result});
    if let (Value::Object(entry), Value::Object(fields)) = (&mut entry, fields) {
        entry.extend(fields);
    }
    with(|r| r.results.push(entry));
}

/// Adds one resource's outputs.
pub fn outputs(key: &ResourceKey, outputs: &Value) {
    let entry = json!({"resource": resource(key), "outputs": outputs});
    with(|r| r.outputs.push(entry));
}

/// Appends an entry to a top-level list beside the standard ones (`serverChecks`, `drift`).
pub fn push(list: &str, entry: Value) {
    with(|r| {
        let slot = r
            .extra
            .entry(list.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = slot {
            items.push(entry);
        }
    });
}

/// Prints the document when one is being collected, with the command's error if it failed.
pub fn finish(outcome: Result<(), &CliError>) {
    let report = REPORT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    let Some(report) = report else { return };
    let mut doc = json!({
        "version": VERSION,
        "command": report.command,
        "ok": outcome.is_ok(),
        "plan": report.plan,
        "results": report.results,
        "outputs": report.outputs,
    });
    if let Value::Object(map) = &mut doc {
        map.extend(report.extra);
        if let Err(e) = outcome {
            map.insert(
                "error".into(),
                json!({"exit": e.code as i32, "message": e.message, "details": e.details}),
            );
        }
    }
    if let Err(e) = super::records::print_structured(&doc, report.format.unwrap_or_default()) {
        super::error(&e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::diff;
    use crate::core::secrets::marker;

    #[test]
    fn secret_values_are_marked_and_others_kept() {
        let old =
            json!({"spec": {"parallelism": 1, "env": {"secrets": {"PW": {"value": marker("a")}}}}});
        let new =
            json!({"spec": {"parallelism": 2, "env": {"secrets": {"PW": {"value": marker("b")}}}}});
        let change = Change {
            key: ResourceKey {
                kind: "KubernetesJob".into(),
                env: String::new(),
                name: "j".into(),
            },
            previous: None,
            objects: Vec::new(),
            inputs: diff::diff(&old, &new, &[], &|_| false),
            old,
            new,
            replace_job: None,
            skip: false,
        };
        let entries = changes(&change);
        assert_eq!(
            entries,
            [
                json!({"path": "spec.env.secrets.PW.value", "op": "update", "old": "[secret]", "new": "[secret]"}),
                json!({"path": "spec.parallelism", "op": "update", "old": 1, "new": 2}),
            ]
        );
        let text = serde_json::to_string(&entries).unwrap();
        assert!(!text.contains(&marker("a")), "no marker either: {text}");
    }
}
