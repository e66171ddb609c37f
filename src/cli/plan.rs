//! Loading a manifest file into checked, rendered resources: parse, apply `--set`, order by
//! references, then check each document with the documents before it and the state store as
//! reference sources. Also what a run would change against the state store: the kinds render
//! both manifests, redacted, and [`crate::core::plan`] decides. No cluster IO.
//!
//! Order: a document that another document of the same file refers to (its `valueFrom` names
//! the other's kind, env and name) comes first; otherwise file order is kept. A cycle is an
//! error naming it (`a -> b -> a`).
//!
//! Sources, in order: the documents of this file checked so far (each with its `status.outputs`,
//! which for these kinds follow from the checked manifest: a Job's `namespace` and `jobName`, a
//! namespace's `namespace`, ...), then the state store. An unresolvable reference is a failure
//! at the referring field, naming the reference and where it looked.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{CliError, Context};
use crate::core::codec;
use crate::core::objects::Object;
use crate::core::outcome;
use crate::core::owner::Owner;
use crate::core::path::PropertyPath;
use crate::core::plan::{self as core_plan, Bodies, Change, Desired};
use crate::core::refs::{self, Documents, ResourceKey, Source};
use crate::core::secrets;
use crate::kinds::{RenderOptions, Rendered};
use crate::manifest::overrides::{self, Override};
use crate::manifest::{self, Document};
use crate::state::{Record, Store};

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
    /// Who its objects belong to.
    pub fn owner(&self) -> &Owner {
        &self.rendered.owner
    }

    /// The objects it renders, in apply order.
    pub fn objects(&self) -> &[Object] {
        &self.rendered.objects
    }

    /// `metadata.annotations`.
    pub fn annotations(&self) -> BTreeMap<String, String> {
        outcome::annotations_of(&self.manifest)
    }
}

fn located(errors: Vec<manifest::Located>) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

/// Loads a file's documents and applies `--set` overrides (see [`crate::manifest::overrides`]): with one
/// document an override applies to it; with several it must name one (`NAME:path=value`).
pub fn load(path: &str, sets: &[Override]) -> Result<Vec<Document>, CliError> {
    let shown = if path == "-" { "<stdin>" } else { path };
    let docs = manifest::load(path).map_err(|e| {
        let count = e.len();
        CliError::invalid(
            located(e),
            format!(
                "{shown}: the manifest is not valid ({count} problem{})",
                if count == 1 { "" } else { "s" }
            ),
        )
    })?;
    apply_sets(shown, docs, sets)
}

/// Applies `--set` overrides to the documents of the file shown as `path` (see [`load`]) and
/// checks that no resource appears twice. Pure: what `load` does after reading the file.
pub fn apply_sets(
    path: &str,
    mut docs: Vec<Document>,
    sets: &[Override],
) -> Result<Vec<Document>, CliError> {
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
pub(crate) fn referenced(doc: &Document) -> Vec<ResourceKey> {
    let decoded = codec::decode(
        &doc.kind.descriptor(),
        &doc.value,
        &PropertyPath::root(),
        None,
    );
    let (references, _) = refs::references(&decoded.message, &PropertyPath::root(), &doc.env());
    references.into_iter().map(|r| r.target).collect()
}

/// Orders documents so that those referred to come first; a cycle is an error.
pub fn order(docs: Vec<Document>) -> Result<Vec<Document>, CliError> {
    // Each key's first document: a lookup per reference, not a scan of the file.
    let mut index: BTreeMap<ResourceKey, usize> = BTreeMap::new();
    for (i, doc) in docs.iter().enumerate() {
        index.entry(doc.key()).or_insert(i);
    }
    let deps: Vec<Vec<usize>> = docs
        .iter()
        .map(|doc| {
            let mut out: Vec<usize> = referenced(doc)
                .iter()
                .filter_map(|t| index.get(t).copied())
                .collect();
            out.sort();
            out.dedup();
            out
        })
        .collect();
    match core_plan::topological(docs.len(), &deps) {
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

/// Checks one document against `sources`; failures are located lines. The document moves into
/// the result (a manifest of many documents is not held twice).
fn check_one(
    doc: Document,
    sources: &[&dyn Source],
    stack: &str,
) -> (Result<Planned, Vec<String>>, Value) {
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
    let options = RenderOptions {
        stack: stack.to_owned(),
        ..RenderOptions::default()
    };
    match checked.render(&options) {
        Ok(rendered) => {
            let planned = Planned {
                doc,
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

/// Checks ordered documents, each against the ones before it, then the state store, and
/// renders them for `stack`.
pub fn check_all(
    docs: Vec<Document>,
    store: &dyn Store,
    stack: &str,
) -> Result<Vec<Planned>, CliError> {
    let source_name = docs.first().map(|d| d.source.clone()).unwrap_or_default();
    let mut run = Documents {
        label: format!("the documents of {source_name}"),
        entries: Vec::new(),
    };
    let mut planned = Vec::new();
    let mut problems = Vec::new();
    for doc in docs {
        let key = doc.key();
        let (result, source) = {
            let sources: [&dyn Source; 2] = [&run, store];
            check_one(doc, &sources, stack)
        };
        run.entries.push((key, source));
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
    check_all(docs, context.store.as_ref(), &context.stack)
}

/// Renders a stored (redacted) manifest to object bodies, for comparison.
fn bodies(kind: &str, manifest: &Value) -> Bodies {
    crate::kinds::bodies(kind, manifest)
        .into_iter()
        .map(|o| (o.id, o.body))
        .collect()
}

/// Compares one planned resource with its state record ([`crate::core::plan::change`]): the
/// manifests compared, and the object bodies they render to, are redacted on both sides.
pub fn change(planned: &Planned, previous: Option<Record>) -> Change {
    let new = secrets::mark(&planned.manifest);
    let new_bodies = bodies(&planned.key.kind, &new);
    let old_bodies = previous
        .as_ref()
        .map(|r| bodies(&r.kind, &r.manifest))
        .unwrap_or_default();
    let ids = planned.rendered.ids();
    let desired = Desired {
        key: &planned.key,
        manifest: &new,
        objects: &ids,
        bodies: &new_bodies,
        runs_job: planned.rendered.job.is_some(),
    };
    core_plan::change(&desired, previous, &old_bodies)
}

/// Compares every planned resource with the state store.
pub fn changes(store: &dyn Store, planned: &[Planned]) -> Result<Vec<Change>, CliError> {
    let keys: Vec<_> = planned.iter().map(|p| p.key.clone()).collect();
    let records = store.get_many(&keys)?;
    Ok(planned
        .iter()
        .zip(records)
        .map(|(p, record)| change(p, record))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Exit;

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

    /// A file whose documents refer each to the next, `j0 -> j1 -> ... -> j999` (a file holds at
    /// most 1024 documents), ordered on a thread with a 256 KiB stack, which the recursive walk
    /// (one call frame per link) overflowed; closed into a ring, it fails with the cycle error.
    #[test]
    fn long_reference_chains_order_on_a_small_stack() {
        const N: usize = 1000;
        const STACK: usize = 256 * 1024;
        let link = |i: usize, to: usize| {
            job(
                &format!("j{i}"),
                &format!(
                    "  namespace: {{value: ns}}\n  env:\n    variables:\n      X: {{valueFrom: {{kind: KubernetesJob, name: j{to}, fieldPath: status.outputs.jobName}}}}\n"
                ),
            )
        };
        let chain: Vec<String> = (0..N)
            .map(|i| {
                if i + 1 < N {
                    link(i, i + 1)
                } else {
                    job(&format!("j{i}"), "")
                }
            })
            .collect();
        let mut ring = chain.clone();
        ring[N - 1] = link(N - 1, 0);
        let (chain, ring) = (docs(&chain.join("---\n")), docs(&ring.join("---\n")));
        let (chain, ring) = std::thread::Builder::new()
            .stack_size(STACK)
            .spawn(move || {
                let chain = order(chain).map(|d| d.iter().map(Document::name).collect::<Vec<_>>());
                (chain, order(ring).map(|_| ()))
            })
            .unwrap()
            .join()
            .expect("no stack overflow");
        let expected: Vec<String> = (0..N).rev().map(|i| format!("j{i}")).collect();
        assert_eq!(chain.unwrap(), expected);
        let err = ring.unwrap_err();
        assert_eq!(err.code, Exit::Invalid);
        assert!(
            err.message
                .contains("the documents' references form a cycle: j0 -> j1 -> j2")
                && err.message.ends_with(&format!("j{} -> j0", N - 1)),
            "{}",
            err.message.chars().take(300).collect::<String>()
        );
    }

    #[test]
    fn later_documents_resolve_from_earlier_ones_outputs() {
        let temp = tempfile::tempdir().unwrap();
        let store = crate::state::FileStore::new(temp.path());
        let text = format!(
            "{}---\n{NS}",
            job(
                "migrate",
                "  namespace: {valueFrom: {name: team}}\n  env:\n    variables:\n      NS: {valueFrom: {kind: KubernetesNamespace, name: team, fieldPath: status.outputs.namespace}}\n"
            )
        );
        let planned = check_all(order(docs(&text)).unwrap(), &store, "kjob:test").unwrap();
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
        let store = crate::state::FileStore::new(temp.path());
        let text = job("migrate", "  namespace:\n    valueFrom: {name: nowhere}\n");
        let err = check_all(order(docs(&text)).unwrap(), &store, "kjob:test").unwrap_err();
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
    fn changes_compare_redacted_manifests() {
        use crate::core::objects::ObjectKind;
        use crate::core::outcome::JobStatus;
        use crate::core::plan::Action;
        use crate::state::Status;
        let temp = tempfile::tempdir().unwrap();
        let store = crate::state::FileStore::new(temp.path());
        let text = job(
            "migrate",
            "  namespace: {value: ns}\n  env:\n    secrets:\n      PW: {value: s3cret}\n",
        );
        let planned = check_all(order(docs(&text)).unwrap(), &store, "kjob:test").unwrap();
        let c = change(&planned[0], None);
        assert!(c.objects.iter().all(|(_, a)| *a == Action::Create));
        assert_eq!(c.objects.len(), planned[0].objects().len());
        assert!(!c.new.to_string().contains("s3cret"));
        let mut record = Record::new(&planned[0].key);
        record.manifest = secrets::mark(&planned[0].manifest);
        record.objects = planned[0].rendered.ids();
        record.status = Status::Applied;
        record.job_status = Some(JobStatus::Complete);
        store.save(&mut record).unwrap();
        // The same secret value renders the same (redacted) Secret: nothing to do.
        let c = &changes(&store, &planned).unwrap()[0];
        assert!(c.skip, "{:?}", c.objects);
        // Another value updates the Secret in place, and only the Secret.
        let text2 = job(
            "migrate",
            "  namespace: {value: ns}\n  env:\n    secrets:\n      PW: {value: other}\n",
        );
        let planned2 = check_all(order(docs(&text2)).unwrap(), &store, "kjob:test").unwrap();
        let c = change(&planned2[0], Some(record));
        let actions: BTreeMap<ObjectKind, Action> =
            c.objects.iter().map(|(o, a)| (o.kind, *a)).collect();
        assert_eq!(actions[&ObjectKind::Secret], Action::Update);
        assert_eq!(actions[&ObjectKind::Job], Action::Unchanged);
        assert!(!c.skip && c.replace_job.is_none());
        assert!(!c.new.to_string().contains("other"));
    }
}
