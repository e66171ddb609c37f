//! Loading a manifest file into checked, rendered resources: parse, apply `--set`, order by
//! references, then check each document with the documents before it and the state store as
//! reference sources. Also what a run would change against the state store. No cluster IO.
//!
//! Order: a document that another document of the same file refers to (its `valueFrom` names
//! the other's kind, env and name) comes first; otherwise file order is kept. A cycle is an
//! error naming it (`a -> b -> a`).
//!
//! Sources, in order: the documents of this file checked so far (each with its `status.outputs`,
//! which for these kinds follow from the checked manifest: a Job's `namespace` and `jobName`, a
//! namespace's `namespace`, ...), then the state store. An unresolvable reference is a failure
//! at the referring field, naming the reference and where it looked.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::{CliError, Context, Exit};
use crate::core::codec;
use crate::core::diff::{self, Diff};
use crate::core::objects::{Object, ObjectKind, ObjectRef};
use crate::core::outcome::{self, JobStatus};
use crate::core::path::PropertyPath;
use crate::core::refs::{self, Documents, ResourceKey, Source};
use crate::kinds::{RenderOptions, Rendered};
use crate::manifest::overrides::{self, Override};
use crate::manifest::{self, Document};
use crate::state::{Record, Status, Store};

/// One document, checked and rendered.
#[derive(Debug, Clone)]
pub struct Planned {
    /// The document as loaded (with `--set` applied).
    pub doc: Document,
    /// Its resource key.
    pub key: ResourceKey,
    /// The checked manifest: defaults applied, references resolved (secret values in clear).
    pub manifest: Value,
    /// Its outputs (`status.outputs`, JSON names).
    pub outputs: Value,
    /// What [`crate::deploy::apply`] applies: its objects in apply order, their owner, the Job
    /// it runs.
    pub rendered: Rendered,
}

impl Planned {
    /// The owner label's value of its objects.
    pub fn owner(&self) -> &str {
        &self.rendered.owner
    }

    /// The objects it renders, in apply order.
    pub fn objects(&self) -> &[Object] {
        &self.rendered.objects
    }

    /// `metadata.annotations`.
    pub fn annotations(&self) -> BTreeMap<String, String> {
        annotations(&self.manifest)
    }
}

fn annotations(manifest: &Value) -> BTreeMap<String, String> {
    outcome::annotations_of(manifest)
}

fn located(errors: Vec<manifest::Located>) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

/// Loads a file's documents and applies `--set` overrides (see [`crate::manifest::overrides`]): with one
/// document an override applies to it; with several it must name one (`NAME:path=value`).
pub fn load(path: &str, sets: &[Override]) -> Result<Vec<Document>, CliError> {
    let shown = if path == "-" { "<stdin>" } else { path };
    let mut docs = manifest::load(path).map_err(|e| {
        let count = e.len();
        CliError::invalid(
            located(e),
            format!(
                "{shown}: the manifest is not valid ({count} problem{})",
                if count == 1 { "" } else { "s" }
            ),
        )
    })?;
    let path = shown;
    let mut problems = Vec::new();
    let names = |docs: &[Document]| {
        docs.iter()
            .map(Document::name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    for set in sets {
        let targets: Vec<usize> = match &set.target {
            None if docs.len() == 1 => vec![0],
            None => {
                problems.push(format!(
                    "--set {}: {path} holds {} documents ({}); name the one to change: --set NAME:{}={}",
                    set.text,
                    docs.len(),
                    names(&docs),
                    set.path,
                    set.shown_value()
                ));
                continue;
            }
            Some(name) => docs
                .iter()
                .enumerate()
                .filter(|(_, d)| d.name() == *name)
                .map(|(i, _)| i)
                .collect(),
        };
        match targets.as_slice() {
            [] => problems.push(format!(
                "--set {}: {path} has no document named {:?} (it has: {})",
                set.text,
                set.target.clone().unwrap_or_default(),
                names(&docs)
            )),
            [i] => {
                let doc = &mut docs[*i];
                match overrides::apply(
                    &mut doc.value,
                    &doc.kind.descriptor(),
                    &set.path,
                    &set.value,
                ) {
                    Ok(written) => doc.record_override(written, &set.text),
                    Err(e) => problems.push(format!("--set {}: {e}", set.text)),
                }
            }
            _ => problems.push(format!(
                "--set {}: several documents of {path} are named {:?}",
                set.text,
                set.target.clone().unwrap_or_default()
            )),
        }
    }
    let mut seen = BTreeMap::new();
    for doc in &docs {
        if let Some(first) = seen.insert(doc.key(), doc.index) {
            problems.push(
                doc.whole(format!(
                    "{} is also document {} of this file; each resource may appear once",
                    doc.title(),
                    first + 1
                ))
                .to_string(),
            );
        }
    }
    if !problems.is_empty() {
        let count = problems.len();
        return Err(CliError::invalid(
            problems,
            format!(
                "{path}: the manifest is not valid ({count} problem{})",
                if count == 1 { "" } else { "s" }
            ),
        ));
    }
    Ok(docs)
}

/// The resources a document refers to (malformed references are left to the check).
fn referenced(doc: &Document) -> Vec<ResourceKey> {
    let decoded = codec::decode(
        &doc.kind.descriptor(),
        &doc.value,
        &PropertyPath::root(),
        None,
    );
    let (references, _) = refs::references(&decoded.message, &PropertyPath::root(), &doc.env());
    references.into_iter().map(|r| r.target).collect()
}

/// A topological order of `0..count` where `deps[i]` come before `i`, file order otherwise;
/// or a cycle, as the indexes along it (first = last).
pub fn topological(count: usize, deps: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        i: usize,
        deps: &[Vec<usize>],
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
        out: &mut Vec<usize>,
    ) -> Result<(), Vec<usize>> {
        match marks[i] {
            Mark::Done => return Ok(()),
            Mark::Open => {
                let start = stack
                    .iter()
                    .position(|s| *s == i)
                    .expect("an open node is on the stack");
                let mut cycle = stack[start..].to_vec();
                cycle.push(i);
                return Err(cycle);
            }
            Mark::New => {}
        }
        marks[i] = Mark::Open;
        stack.push(i);
        for &d in &deps[i] {
            visit(d, deps, marks, stack, out)?;
        }
        stack.pop();
        marks[i] = Mark::Done;
        out.push(i);
        Ok(())
    }
    let mut marks = vec![Mark::New; count];
    let mut out = Vec::with_capacity(count);
    let mut stack = Vec::new();
    for i in 0..count {
        visit(i, deps, &mut marks, &mut stack, &mut out)?;
    }
    Ok(out)
}

/// Orders documents so that those referred to come first; a cycle is an error.
pub fn order(docs: Vec<Document>) -> Result<Vec<Document>, CliError> {
    let keys: Vec<ResourceKey> = docs.iter().map(Document::key).collect();
    let deps: Vec<Vec<usize>> = docs
        .iter()
        .map(|doc| {
            let mut out: Vec<usize> = referenced(doc)
                .iter()
                .filter_map(|t| keys.iter().position(|k| k == t))
                .collect();
            out.sort();
            out.dedup();
            out
        })
        .collect();
    match topological(docs.len(), &deps) {
        Ok(order) => {
            let mut slots: Vec<Option<Document>> = docs.into_iter().map(Some).collect();
            Ok(order
                .into_iter()
                .map(|i| slots[i].take().expect("each index once"))
                .collect())
        }
        Err(cycle) => {
            let names: Vec<String> = cycle.iter().map(|i| docs[*i].name()).collect();
            let titles: Vec<String> = cycle[..cycle.len() - 1]
                .iter()
                .map(|i| docs[*i].title())
                .collect();
            let first = &docs[cycle[0]];
            Err(CliError::invalid(
                vec![first.whole(format!("reference cycle: {} ({} refer to each other through valueFrom, so none can be deployed first)", names.join(" -> "), titles.join(", "))).to_string()],
                format!("{}: the documents' references form a cycle: {}", first.source, names.join(" -> ")),
            ))
        }
    }
}

/// The document other resources resolve references against.
fn source_document(manifest: &Value, outputs: &Value) -> Value {
    let mut doc = manifest.clone();
    if let Some(map) = doc.as_object_mut() {
        map.insert("status".into(), json!({"outputs": outputs}));
    }
    doc
}

/// Checks one document against `sources`; failures are located lines.
fn check_one(doc: &Document, sources: &[&dyn Source]) -> (Result<Planned, Vec<String>>, Value) {
    let root = PropertyPath::root();
    let key = doc.key();
    let fail = |failures: &[crate::core::path::Failure]| {
        let mut located: Vec<manifest::Located> = failures.iter().map(|f| doc.locate(f)).collect();
        located.sort_by_key(|l| match &l.origin {
            Some(manifest::Origin::File(p)) => (0, *p),
            _ => (1, manifest::Position::default()),
        });
        located.iter().map(ToString::to_string).collect::<Vec<_>>()
    };
    let checked = doc.kind.check(&doc.value, &root, None, sources);
    let source = source_document(&checked.document, &checked.outputs);
    if !checked.is_ok() {
        return (Err(fail(&checked.failures)), source);
    }
    match checked.render(&RenderOptions::default()) {
        Ok(rendered) => {
            let planned = Planned {
                doc: doc.clone(),
                key,
                manifest: checked.document,
                outputs: checked.outputs,
                rendered,
            };
            (Ok(planned), source)
        }
        Err(e) => (
            Err(vec![doc.whole(format!("{}: {e}", doc.title())).to_string()]),
            source,
        ),
    }
}

/// Checks ordered documents, each against the ones before it, then the state store.
pub fn check_all(docs: Vec<Document>, store: &Store) -> Result<Vec<Planned>, CliError> {
    let source_name = docs.first().map(|d| d.source.clone()).unwrap_or_default();
    let mut run = Documents {
        label: format!("the documents of {source_name}"),
        entries: Vec::new(),
    };
    let mut planned = Vec::new();
    let mut problems = Vec::new();
    for doc in &docs {
        let (result, source) = {
            let sources: [&dyn Source; 2] = [&run, store];
            check_one(doc, &sources)
        };
        run.entries.push((doc.key(), source));
        match result {
            Ok(p) => planned.push(p),
            Err(mut lines) => problems.append(&mut lines),
        }
    }
    if !problems.is_empty() {
        let count = problems.len();
        return Err(CliError::invalid(
            problems,
            format!(
                "{source_name}: the manifest is not valid ({count} problem{})",
                if count == 1 { "" } else { "s" }
            ),
        ));
    }
    Ok(planned)
}

/// Loads, orders and checks a manifest file.
pub fn prepare(context: &Context, path: &str) -> Result<Vec<Planned>, CliError> {
    let docs = order(load(path, &context.sets)?)?;
    check_all(docs, &context.store)
}

/// What a run does to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// It does not exist yet.
    Create,
    /// It exists and changes in place.
    Update,
    /// It is deleted and created again (a Job whose change the API server would reject).
    Replace,
    /// It is no longer rendered and is deleted.
    Delete,
    /// It exists and does not change.
    Unchanged,
    /// It exists, is not managed by kjob, and is used as it is.
    Foreign,
}

impl Action {
    /// The verb printed.
    pub fn word(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::Unchanged => "unchanged",
            Action::Foreign => "exists",
        }
    }
}

/// What a run changes for one resource.
#[derive(Debug, Clone)]
pub struct Change {
    /// The resource.
    pub key: ResourceKey,
    /// Its state record, if it was deployed before.
    pub previous: Option<Record>,
    /// Each object and what happens to it: rendered objects in apply order, then deletions.
    pub objects: Vec<(ObjectRef, Action)>,
    /// The diff of the inputs (secret values redacted on both sides).
    pub inputs: Diff,
    /// The previous manifest (redacted; null when new).
    pub old: Value,
    /// The new manifest (redacted).
    pub new: Value,
    /// Why the Job is deleted before it is applied again, when it is.
    pub replace_job: Option<String>,
    /// Whether nothing needs doing.
    pub skip: bool,
}

impl Change {
    /// Whether the Job finished and Kubernetes deleted it (`ttlSecondsAfterFinished`; recorded
    /// as `Collected`) and it is not to run again: no replacement and no re-run reason. Under
    /// run-once such a Job is not created again; its other objects are still updated.
    pub fn keeps_collected_job(&self) -> bool {
        self.replace_job.is_none()
            && self
                .previous
                .as_ref()
                .is_some_and(|r| r.job_status == Some(JobStatus::Collected))
    }
}

/// `apiVersion` and `kind`: fixed per kind, left out of input diffs.
fn envelope_paths() -> [PropertyPath; 2] {
    [
        PropertyPath::root().field("apiVersion"),
        PropertyPath::root().field("kind"),
    ]
}

/// Renders a stored (redacted) manifest to object bodies, for comparison.
fn bodies(kind: &str, manifest: &Value) -> BTreeMap<ObjectRef, Value> {
    crate::kinds::bodies(kind, manifest)
        .into_iter()
        .map(|o| (o.id, o.body))
        .collect()
}

/// Compares one planned resource with its state record.
pub fn change(planned: &Planned, previous: Option<Record>) -> Change {
    let new = crate::core::secrets::mark(&planned.manifest);
    let new_bodies = bodies(&planned.key.kind, &new);
    let Some(previous) = previous else {
        return Change {
            key: planned.key.clone(),
            previous: None,
            objects: planned
                .objects()
                .iter()
                .map(|o| (o.id.clone(), Action::Create))
                .collect(),
            inputs: diff::diff(&Value::Null, &new, &envelope_paths(), &|_| false),
            old: Value::Null,
            new,
            replace_job: None,
            skip: false,
        };
    };
    let old = previous.manifest.clone();
    let old_bodies = bodies(&previous.kind, &old);
    let inputs = diff::diff(&old, &new, &envelope_paths(), &|_| false);
    let is_job = planned.rendered.job.is_some();
    let had_job = previous
        .all_objects()
        .iter()
        .any(|o| o.kind == ObjectKind::Job);
    let replace_job = if is_job && had_job {
        if inputs.replaces() {
            let paths: Vec<String> = inputs
                .changes
                .iter()
                .filter(|c| c.replace)
                .map(|c| c.path.to_string())
                .collect();
            Some(format!("{} cannot change on a live Job", paths.join(", ")))
        } else {
            outcome::rerun_reason(previous.job_status, &planned.annotations())
        }
    } else {
        None
    };
    // A Job collected after it finished is not created again (run once), whatever changed in
    // place; a change that replaces it, or a re-run reason, runs it again.
    let collected =
        is_job && replace_job.is_none() && previous.job_status == Some(JobStatus::Collected);
    let mut objects = Vec::new();
    for object in planned.objects() {
        let id = &object.id;
        let action = if previous.foreign.contains(id) && !previous.objects.contains(id) {
            Action::Foreign
        } else if !previous.objects.contains(id) {
            Action::Create
        } else if id.kind == ObjectKind::Job && replace_job.is_some() {
            Action::Replace
        } else if (id.kind == ObjectKind::Job && collected)
            || (old_bodies.get(id) == new_bodies.get(id) && new_bodies.contains_key(id))
        {
            Action::Unchanged
        } else {
            Action::Update
        };
        objects.push((id.clone(), action));
    }
    let rendered: BTreeSet<&ObjectRef> = planned.objects().iter().map(|o| &o.id).collect();
    for id in previous
        .all_objects()
        .iter()
        .filter(|o| !rendered.contains(o))
    {
        objects.push((id.clone(), Action::Delete));
    }
    // With a collected Job, changed inputs are still recorded (the Job is not touched).
    let skip = previous.status == Status::Applied
        && objects
            .iter()
            .all(|(_, a)| matches!(a, Action::Unchanged | Action::Foreign))
        && (!collected || inputs.is_empty());
    Change {
        key: planned.key.clone(),
        previous: Some(previous),
        objects,
        inputs,
        old,
        new,
        replace_job,
        skip,
    }
}

/// Compares every planned resource with the state store.
pub fn changes(store: &Store, planned: &[Planned]) -> Result<Vec<Change>, CliError> {
    planned
        .iter()
        .map(|p| Ok(change(p, store.get(&p.key)?)))
        .collect()
}

/// How `down`, `outputs` and `get` pick resources.
#[derive(Debug, Clone)]
pub enum Selector {
    /// The documents of a manifest file.
    Manifest(String),
    /// One resource by name (kind and env narrow it down).
    Name {
        /// metadata.name.
        name: String,
        /// Kind, matched ignoring case, dashes and underscores.
        kind: Option<String>,
        /// metadata.env.
        env: Option<String>,
    },
}

/// A selected resource and its record (none when it is not deployed).
#[derive(Debug, Clone)]
pub struct Target {
    /// The resource.
    pub key: ResourceKey,
    /// Its state record.
    pub record: Option<Record>,
}

/// The resources a selector names, in dependency order (referenced first).
pub fn targets(context: &Context, selector: &Selector) -> Result<Vec<Target>, CliError> {
    match selector {
        Selector::Manifest(path) => {
            let docs = order(load(path, &context.sets)?)?;
            docs.iter()
                .map(|d| {
                    Ok(Target {
                        key: d.key(),
                        record: context.store.get(&d.key())?,
                    })
                })
                .collect()
        }
        Selector::Name { name, kind, env } => {
            let records = context.store.list()?;
            let wanted_kind = kind.as_deref().map(manifest::normalize_kind);
            let matching: Vec<Record> = records
                .into_iter()
                .filter(|r| r.name == *name)
                .filter(|r| {
                    wanted_kind
                        .as_ref()
                        .is_none_or(|k| manifest::normalize_kind(&r.kind) == *k)
                })
                .filter(|r| env.as_ref().is_none_or(|e| r.env == *e))
                .collect();
            match matching.len() {
                0 => Err(CliError::new(
                    Exit::Invalid,
                    format!(
                        "no resource named {name:?}{}{} in the state store at {}",
                        kind.as_ref()
                            .map(|k| format!(" of kind {k}"))
                            .unwrap_or_default(),
                        env.as_ref()
                            .map(|e| format!(" in env {e:?}"))
                            .unwrap_or_default(),
                        context.store.dir().display()
                    ),
                )),
                1 => Ok(matching
                    .into_iter()
                    .map(|r| Target {
                        key: r.key(),
                        record: Some(r),
                    })
                    .collect()),
                _ => Err(CliError::new(
                    Exit::Invalid,
                    format!(
                        "several resources are named {name:?}: {}; pass --kind and/or --env",
                        matching
                            .iter()
                            .map(|r| r.key().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: &str = "apiVersion: kubernetes.project-planton.org/v1\nkind: KubernetesNamespace\nmetadata: {name: team}\nspec: {name: team-ns}\n";

    fn job(name: &str, extra: &str) -> String {
        format!(
            "apiVersion: kubernetes.project-planton.org/v1\nkind: KubernetesJob\nmetadata: {{name: {name}}}\nspec:\n  image: {{repo: busybox}}\n{extra}"
        )
    }

    fn docs(text: &str) -> Vec<Document> {
        manifest::parse("f.yaml", text).unwrap()
    }

    #[test]
    fn topological_order_keeps_file_order_and_finds_cycles() {
        assert_eq!(
            topological(3, &[vec![], vec![], vec![]]).unwrap(),
            [0, 1, 2]
        );
        assert_eq!(
            topological(3, &[vec![2], vec![], vec![]]).unwrap(),
            [2, 0, 1]
        );
        assert_eq!(
            topological(3, &[vec![1], vec![2], vec![]]).unwrap(),
            [2, 1, 0]
        );
        assert_eq!(
            topological(3, &[vec![1], vec![2], vec![0]]).unwrap_err(),
            [0, 1, 2, 0]
        );
        assert_eq!(topological(2, &[vec![], vec![1]]).unwrap_err(), [1, 1]);
    }

    #[test]
    fn documents_are_ordered_by_references() {
        let text = format!(
            "{}---\n{NS}",
            job("migrate", "  namespace: {valueFrom: {name: team}}\n")
        );
        let ordered = order(docs(&text)).unwrap();
        let names: Vec<String> = ordered.iter().map(Document::name).collect();
        assert_eq!(names, ["team", "migrate"]);
    }

    #[test]
    fn cycles_are_named() {
        let a = job(
            "a",
            "  namespace: {value: ns}\n  env:\n    variables:\n      X: {valueFrom: {kind: KubernetesJob, name: b, fieldPath: status.outputs.namespace}}\n",
        );
        let b = job(
            "b",
            "  namespace: {value: ns}\n  env:\n    variables:\n      Y: {valueFrom: {kind: KubernetesJob, name: a, fieldPath: status.outputs.jobName}}\n",
        );
        let err = order(docs(&format!("{a}---\n{b}"))).unwrap_err();
        assert_eq!(err.code, Exit::Invalid);
        assert!(
            err.message.ends_with("cycle: a -> b -> a"),
            "{}",
            err.message
        );
        assert!(
            err.details[0].starts_with("f.yaml:1:1: reference cycle: a -> b -> a"),
            "{}",
            err.details[0]
        );
    }

    #[test]
    fn later_documents_resolve_from_earlier_ones_outputs() {
        let temp = tempfile::tempdir().unwrap();
        let store = Store::new(temp.path());
        let text = format!(
            "{}---\n{NS}",
            job(
                "migrate",
                "  namespace: {valueFrom: {name: team}}\n  env:\n    variables:\n      NS: {valueFrom: {kind: KubernetesNamespace, name: team, fieldPath: status.outputs.namespace}}\n"
            )
        );
        let planned = check_all(order(docs(&text)).unwrap(), &store).unwrap();
        assert_eq!(
            planned[1].manifest["spec"]["namespace"],
            json!({"value": "team-ns"})
        );
        assert_eq!(
            planned[1].manifest["spec"]["env"]["variables"]["NS"],
            json!({"value": "team-ns"})
        );
        assert_eq!(
            planned[1].outputs,
            json!({"namespace": "team-ns", "jobName": "migrate"})
        );
        assert_eq!(planned[0].objects().len(), 1);
    }

    #[test]
    fn unresolvable_references_fail_at_the_referring_field() {
        let temp = tempfile::tempdir().unwrap();
        let store = Store::new(temp.path());
        let text = job("migrate", "  namespace:\n    valueFrom: {name: nowhere}\n");
        let err = check_all(order(docs(&text)).unwrap(), &store).unwrap_err();
        assert_eq!(err.code, Exit::Invalid);
        assert_eq!(err.details.len(), 1);
        let line = &err.details[0];
        assert!(line.starts_with("f.yaml:6:3: spec.namespace: cannot resolve valueFrom {kind: KubernetesNamespace, env: \"\", name: \"nowhere\", fieldPath: \"spec.name\"}: no KubernetesNamespace \"nowhere\" in the documents of f.yaml or the state store at "), "{line}");
    }

    #[test]
    fn overrides_need_a_document_name_when_there_are_several() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.yaml");
        std::fs::write(
            &path,
            format!("{}---\n{NS}", job("migrate", "  namespace: {value: x}\n")),
        )
        .unwrap();
        let path = path.to_str().unwrap();
        let set = |s: &str| overrides::parse(s).unwrap();
        let err = load(path, &[set("spec.parallelism=3")]).unwrap_err();
        assert!(err.details[0].contains("holds 2 documents (migrate, team); name the one to change: --set NAME:spec.parallelism=3"), "{}", err.details[0]);
        let docs = load(
            path,
            &[
                set("migrate:spec.parallelism=3"),
                set("team:spec.labels.a=b"),
            ],
        )
        .unwrap();
        assert_eq!(docs[0].value["spec"]["parallelism"], json!(3));
        assert_eq!(docs[1].value["spec"]["labels"], json!({"a": "b"}));
        let err = load(path, &[set("nope:spec.parallelism=3")]).unwrap_err();
        assert!(
            err.details[0].contains("has no document named \"nope\""),
            "{}",
            err.details[0]
        );
    }

    #[test]
    fn changes_against_state() {
        let temp = tempfile::tempdir().unwrap();
        let store = Store::new(temp.path());
        let text = job(
            "migrate",
            "  namespace: {value: ns}\n  env:\n    secrets:\n      PW: {value: s3cret}\n",
        );
        let planned = check_all(order(docs(&text)).unwrap(), &store).unwrap();
        let c = change(&planned[0], None);
        assert!(c.objects.iter().all(|(_, a)| *a == Action::Create));
        assert!(!c.new.to_string().contains("s3cret"));
        let mut record = Record::new(&planned[0].key);
        record.manifest = crate::core::secrets::mark(&planned[0].manifest);
        record.objects = planned[0].rendered.ids();
        record.status = Status::Applied;
        record.job_status = Some(JobStatus::Complete);
        let c = change(&planned[0], Some(record.clone()));
        assert!(c.skip, "{:?}", c.objects);
        // A new secret value updates the Secret in place; a new parallelism updates the Job.
        let text2 = job(
            "migrate",
            "  namespace: {value: ns}\n  parallelism: 2\n  env:\n    secrets:\n      PW: {value: other}\n",
        );
        let planned2 = check_all(order(docs(&text2)).unwrap(), &store).unwrap();
        let c = change(&planned2[0], Some(record.clone()));
        let actions: BTreeMap<ObjectKind, Action> =
            c.objects.iter().map(|(o, a)| (o.kind, *a)).collect();
        assert_eq!(actions[&ObjectKind::Secret], Action::Update);
        assert_eq!(actions[&ObjectKind::Job], Action::Update);
        assert_eq!(actions[&ObjectKind::ServiceAccount], Action::Unchanged);
        assert!(!c.skip);
        // A new image replaces the Job; dropping the secret deletes the Secret.
        let text3 = job(
            "migrate",
            "  namespace: {value: ns}\n  image: {repo: alpine}\n",
        )
        .replace("  image: {repo: busybox}\n", "");
        let planned3 = check_all(order(docs(&text3)).unwrap(), &store).unwrap();
        let c = change(&planned3[0], Some(record.clone()));
        let actions: BTreeMap<ObjectKind, Action> =
            c.objects.iter().map(|(o, a)| (o.kind, *a)).collect();
        assert_eq!(actions[&ObjectKind::Job], Action::Replace);
        assert_eq!(actions[&ObjectKind::Secret], Action::Delete);
        assert!(c.replace_job.is_some());
        // A Job collected by its TTL after it completed is not run again (run once), even when
        // an in-place field changed; the changed inputs are still recorded. A replacing change
        // runs it again.
        record.job_status = Some(JobStatus::Collected);
        let c = change(&planned[0], Some(record.clone()));
        assert!(c.skip && c.keeps_collected_job(), "{:?}", c.objects);
        let c = change(&planned2[0], Some(record.clone()));
        let actions: BTreeMap<ObjectKind, Action> =
            c.objects.iter().map(|(o, a)| (o.kind, *a)).collect();
        assert_eq!(actions[&ObjectKind::Job], Action::Unchanged);
        assert!(!c.skip && c.keeps_collected_job());
        let c = change(&planned3[0], Some(record.clone()));
        assert!(!c.keeps_collected_job());
        assert!(
            c.objects
                .iter()
                .any(|(o, a)| o.kind == ObjectKind::Job && *a == Action::Replace)
        );
        // A failed Job runs again even when nothing changed.
        record.job_status = Some(JobStatus::Failed);
        let c = change(&planned[0], Some(record));
        assert!(!c.skip);
        assert!(
            c.objects
                .iter()
                .any(|(o, a)| o.kind == ObjectKind::Job && *a == Action::Replace)
        );
    }
}
