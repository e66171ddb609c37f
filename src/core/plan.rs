//! Planning a run, pure: the order in which resources are deployed ([`topological`]) and what a
//! run changes for one resource ([`change`]): per object create, update, replace, delete,
//! unchanged or used as it is; whether the Job is deleted before it is applied again, and why;
//! whether nothing needs doing. Its inputs are plain values: the front end renders (the kinds),
//! reads the state store, and hands the results over as a [`Desired`] and a [`Record`].
//!
//! The rules: an object not in the previous record is created; the Job is replaced when the
//! inputs change a field the API server does not let change on a live Job
//! ([`crate::core::diff`]) or when its outcome calls for a re-run
//! ([`crate::core::outcome::rerun_reason`]); any other object is unchanged when the bodies the
//! old and the new manifests render to (both redacted) are equal, else updated in place; what
//! the record lists and is no longer rendered is deleted. A Job that finished and that
//! Kubernetes collected after `ttlSecondsAfterFinished` is not created again (run once) unless it
//! is replaced or re-run; the resource's changed inputs are still recorded.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::core::diff::{self, Diff};
use crate::core::objects::{ObjectKind, ObjectRef};
use crate::core::outcome::{self, JobStatus};
use crate::core::path::PropertyPath;
use crate::core::record::{Record, Status};
use crate::core::refs::ResourceKey;

/// A topological order of `0..count` where `deps[i]` come before `i`, file order otherwise;
/// or a cycle, as the indexes along it (first = last; a self-reference is `[i, i]`).
///
/// Iterative (a depth-first search over a stack on the heap), so a chain of references as long
/// as memory allows needs no deeper call stack than a short one. A missing `deps[i]` counts as
/// none, and a dependency outside `0..count` is ignored.
pub fn topological(count: usize, deps: &[Vec<usize>]) -> Result<Vec<usize>, Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let deps_of = |i: usize| deps.get(i).map_or(&[][..], Vec::as_slice);
    let mut marks = vec![Mark::New; count];
    let mut out = Vec::with_capacity(count);
    // The open path: each node with how many of its dependencies were visited.
    let mut open: Vec<(usize, usize)> = Vec::new();
    for root in 0..count {
        if marks[root] != Mark::New {
            continue;
        }
        marks[root] = Mark::Open;
        open.push((root, 0));
        while let Some((node, next)) = open.last_mut() {
            let node = *node;
            let Some(&dep) = deps_of(node).get(*next) else {
                open.pop();
                marks[node] = Mark::Done;
                out.push(node);
                continue;
            };
            *next += 1;
            match marks.get(dep) {
                None | Some(Mark::Done) => {}
                Some(Mark::Open) => {
                    let start = open.iter().position(|(n, _)| *n == dep).unwrap_or(0);
                    let mut cycle: Vec<usize> = open[start..].iter().map(|(n, _)| *n).collect();
                    cycle.push(dep);
                    return Err(cycle);
                }
                Some(Mark::New) => {
                    marks[dep] = Mark::Open;
                    open.push((dep, 0));
                }
            }
        }
    }
    Ok(out)
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

/// Object bodies by identity: what a manifest renders to, for comparison.
pub type Bodies = BTreeMap<ObjectRef, Value>;

/// One resource as a run wants it, in plain values.
#[derive(Debug, Clone, Copy)]
pub struct Desired<'a> {
    /// The resource.
    pub key: &'a ResourceKey,
    /// Its checked manifest with direct secret values replaced by their redaction markers
    /// ([`crate::core::secrets::mark`]): what state records and input diffs compare.
    pub manifest: &'a Value,
    /// The objects it renders, in apply order.
    pub objects: &'a [ObjectRef],
    /// The bodies `manifest` (redacted) renders to.
    pub bodies: &'a Bodies,
    /// Whether it runs a Job.
    pub runs_job: bool,
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

/// Compares one resource as a run wants it with its state record (`None`: never deployed);
/// `old_bodies` are the bodies the record's manifest renders to (empty without a record).
pub fn change(desired: &Desired<'_>, previous: Option<Record>, old_bodies: &Bodies) -> Change {
    let new = desired.manifest.clone();
    let new_bodies = desired.bodies;
    let rules = diff::rules_for(&desired.key.kind);
    let Some(previous) = previous else {
        return Change {
            key: desired.key.clone(),
            previous: None,
            objects: desired
                .objects
                .iter()
                .map(|id| (id.clone(), Action::Create))
                .collect(),
            inputs: diff::diff_with(rules, &Value::Null, &new, &envelope_paths(), &|_| false),
            old: Value::Null,
            new,
            replace_job: None,
            skip: false,
        };
    };
    let old = previous.manifest.clone();
    let inputs = diff::diff_with(rules, &old, &new, &envelope_paths(), &|_| false);
    let is_job = desired.runs_job;
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
            outcome::rerun_reason(previous.job_status, &outcome::annotations_of(&new))
        }
    } else {
        None
    };
    // A Job collected after it finished is not created again (run once), whatever changed in
    // place; a change that replaces it, or a re-run reason, runs it again.
    let collected =
        is_job && replace_job.is_none() && previous.job_status == Some(JobStatus::Collected);
    let mut objects = Vec::new();
    for id in desired.objects {
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
    let rendered: BTreeSet<&ObjectRef> = desired.objects.iter().collect();
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
        key: desired.key.clone(),
        previous: Some(previous),
        objects,
        inputs,
        old,
        new,
        replace_job,
        skip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::objects::API_VERSION;
    use crate::core::outcome::{EVERY_UP, RUN_POLICY_ANNOTATION};
    use crate::core::secrets::marker;
    use serde_json::json;

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
        assert_eq!(topological(0, &[]).unwrap(), Vec::<usize>::new());
        // Malformed graphs: a missing row is no dependency, an index out of range is ignored.
        assert_eq!(topological(3, &[vec![7], vec![0]]).unwrap(), [0, 1, 2]);
        assert_eq!(
            topological(4, &[vec![3], vec![], vec![1], vec![2, 0]]).unwrap_err(),
            [0, 3, 0]
        );
    }

    /// A chain `0 -> 1 -> ... -> n-1` of references, ordered on a thread whose stack a recursive
    /// walk would overflow (it did: one call frame per link); with `n-1 -> 0` it is a cycle.
    #[test]
    fn a_chain_of_100000_references_orders_on_a_small_stack() {
        const N: usize = 100_000;
        let outcome = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                let mut deps: Vec<Vec<usize>> = (0..N).map(|i| vec![i + 1]).collect();
                deps[N - 1].clear();
                let order = topological(N, &deps);
                deps[N - 1].push(0);
                let cycle = topological(N, &deps);
                (order, cycle)
            })
            .unwrap()
            .join()
            .expect("no stack overflow");
        let (order, cycle) = outcome;
        assert_eq!(order.unwrap(), (0..N).rev().collect::<Vec<_>>());
        let cycle = cycle.unwrap_err();
        assert_eq!(cycle.len(), N + 1);
        assert_eq!((cycle[0], cycle[N - 1], cycle[N]), (0, N - 1, 0));
    }

    fn id(kind: ObjectKind, name: &str) -> ObjectRef {
        ObjectRef {
            kind,
            namespace: (kind != ObjectKind::Namespace).then(|| "ns".to_owned()),
            name: name.into(),
        }
    }

    /// A resource as a kind would render it, in plain values: a manifest (already redacted),
    /// its objects and their bodies.
    struct Resource {
        key: ResourceKey,
        manifest: Value,
        objects: Vec<ObjectRef>,
        bodies: Bodies,
    }

    impl Resource {
        /// A KubernetesJob `migrate` in namespace `ns`: `image`, `parallelism`, and a direct
        /// secret `PW` when given, rendered to its Secret, ServiceAccount and Job.
        fn job(image: &str, parallelism: i64, secret: Option<&str>) -> Self {
            let mut spec = json!({
                "namespace": {"value": "ns"},
                "image": {"repo": image},
                "parallelism": parallelism,
            });
            let mut objects = Vec::new();
            let mut bodies = Bodies::new();
            if let Some(secret) = secret {
                spec["env"] = json!({"secrets": {"PW": {"value": marker(secret)}}});
                let secret_id = id(ObjectKind::Secret, "migrate-env-secrets");
                bodies.insert(secret_id.clone(), json!({"data": {"PW": marker(secret)}}));
                objects.push(secret_id);
            }
            let sa = id(ObjectKind::ServiceAccount, "migrate");
            bodies.insert(sa.clone(), json!({"kind": "ServiceAccount"}));
            objects.push(sa);
            let job = id(ObjectKind::Job, "migrate");
            bodies.insert(
                job.clone(),
                json!({"image": image, "parallelism": parallelism}),
            );
            objects.push(job);
            Resource {
                key: ResourceKey {
                    kind: "KubernetesJob".into(),
                    env: String::new(),
                    name: "migrate".into(),
                },
                manifest: json!({
                    "apiVersion": API_VERSION,
                    "kind": "KubernetesJob",
                    "metadata": {"name": "migrate"},
                    "spec": spec,
                }),
                objects,
                bodies,
            }
        }

        fn annotated(mut self, key: &str, value: &str) -> Self {
            self.manifest["metadata"]["annotations"] = json!({key: value});
            self
        }

        fn desired(&self) -> Desired<'_> {
            Desired {
                key: &self.key,
                manifest: &self.manifest,
                objects: &self.objects,
                bodies: &self.bodies,
                runs_job: true,
            }
        }

        /// The record of a successful `up` of this resource, the Job ended `status`.
        fn deployed(&self, status: JobStatus) -> Record {
            let mut record = Record::new(&self.key);
            record.manifest = self.manifest.clone();
            record.objects = self.objects.clone();
            record.status = Status::Applied;
            record.job_status = Some(status);
            record
        }

        /// What this resource changes against `previous`, deployed from `was`.
        fn against(&self, was: &Resource, previous: &Record) -> Change {
            change(&self.desired(), Some(previous.clone()), &was.bodies)
        }
    }

    fn actions(change: &Change) -> BTreeMap<ObjectKind, Action> {
        change.objects.iter().map(|(o, a)| (o.kind, *a)).collect()
    }

    #[test]
    fn a_new_resource_creates_everything() {
        let first = Resource::job("busybox", 1, Some("s3cret"));
        let c = change(&first.desired(), None, &Bodies::new());
        assert!(c.objects.iter().all(|(_, a)| *a == Action::Create));
        assert_eq!(c.objects.len(), 3);
        assert!(c.previous.is_none() && !c.skip && c.replace_job.is_none());
        assert_eq!(c.old, Value::Null);
        assert!(
            c.inputs
                .changes
                .iter()
                .all(|ch| !ch.path.to_string().starts_with("apiVersion")
                    && !ch.path.to_string().starts_with("kind")),
            "the envelope is left out: {:?}",
            c.inputs
        );
        assert!(!c.keeps_collected_job());
    }

    #[test]
    fn changes_against_state() {
        let first = Resource::job("busybox", 1, Some("s3cret"));
        let mut record = first.deployed(JobStatus::Complete);
        let c = first.against(&first, &record);
        assert!(c.skip, "{:?}", c.objects);
        assert!(c.inputs.is_empty());
        // A new secret value updates the Secret in place; a new parallelism updates the Job.
        let second = Resource::job("busybox", 2, Some("other"));
        let c = second.against(&first, &record);
        let a = actions(&c);
        assert_eq!(a[&ObjectKind::Secret], Action::Update);
        assert_eq!(a[&ObjectKind::Job], Action::Update);
        assert_eq!(a[&ObjectKind::ServiceAccount], Action::Unchanged);
        assert!(!c.skip && c.replace_job.is_none());
        // A new image replaces the Job; dropping the secret deletes the Secret.
        let third = Resource::job("alpine", 1, None);
        let c = third.against(&first, &record);
        let a = actions(&c);
        assert_eq!(a[&ObjectKind::Job], Action::Replace);
        assert_eq!(a[&ObjectKind::Secret], Action::Delete);
        assert_eq!(
            c.objects.last().unwrap().1,
            Action::Delete,
            "deletions last"
        );
        let why = c.replace_job.as_deref().unwrap();
        assert!(
            why.contains("spec.image.repo") && why.ends_with("cannot change on a live Job"),
            "{why}"
        );
        // A Job collected by its TTL after it completed is not run again (run once), even when
        // an in-place field changed; the changed inputs are still recorded. A replacing change
        // runs it again.
        record.job_status = Some(JobStatus::Collected);
        let c = first.against(&first, &record);
        assert!(c.skip && c.keeps_collected_job(), "{:?}", c.objects);
        let c = second.against(&first, &record);
        assert_eq!(actions(&c)[&ObjectKind::Job], Action::Unchanged);
        assert!(!c.skip && c.keeps_collected_job());
        let c = third.against(&first, &record);
        assert!(!c.keeps_collected_job());
        assert_eq!(actions(&c)[&ObjectKind::Job], Action::Replace);
        // A failed Job runs again even when nothing changed.
        record.job_status = Some(JobStatus::Failed);
        let c = first.against(&first, &record);
        assert!(!c.skip);
        assert_eq!(actions(&c)[&ObjectKind::Job], Action::Replace);
        assert_eq!(
            c.replace_job.as_deref(),
            Some("the Job failed last time; running it again")
        );
    }

    #[test]
    fn the_run_policy_every_up_runs_an_unchanged_job_again() {
        let every = Resource::job("busybox", 1, None).annotated(RUN_POLICY_ANNOTATION, EVERY_UP);
        let record = every.deployed(JobStatus::Complete);
        let c = every.against(&every, &record);
        assert!(!c.skip);
        assert_eq!(actions(&c)[&ObjectKind::Job], Action::Replace);
        assert_eq!(
            c.replace_job,
            Some(format!("{RUN_POLICY_ANNOTATION}: {EVERY_UP}"))
        );
        // Still running: nothing to run again.
        let running = every.deployed(JobStatus::Running);
        assert!(every.against(&every, &running).skip);
    }

    #[test]
    fn records_of_unfinished_runs_are_completed() {
        let first = Resource::job("busybox", 1, None);
        let mut record = first.deployed(JobStatus::Complete);
        // A crash left the Job pending and the status applying: apply again, never skip.
        let job = record.objects.pop().unwrap();
        record.pending = vec![job];
        record.status = Status::Applying;
        let c = first.against(&first, &record);
        assert_eq!(actions(&c)[&ObjectKind::Job], Action::Create);
        assert!(!c.skip);
        // A namespace that existed and is not ours is used as it is; one the record lists and
        // the resource no longer renders is deleted.
        let ns = id(ObjectKind::Namespace, "ns");
        let mut with_ns = Resource::job("busybox", 1, None);
        with_ns.objects.insert(0, ns.clone());
        with_ns
            .bodies
            .insert(ns.clone(), json!({"kind": "Namespace"}));
        let mut record = first.deployed(JobStatus::Complete);
        record.foreign.push(ns.clone());
        let c = with_ns.against(&first, &record);
        assert_eq!(c.objects[0], (ns.clone(), Action::Foreign));
        assert!(c.skip, "a foreign object needs nothing: {:?}", c.objects);
        let mut record = with_ns.deployed(JobStatus::Complete);
        record.objects = with_ns.objects.clone();
        let c = first.against(&with_ns, &record);
        assert_eq!(c.objects.last().unwrap(), &(ns, Action::Delete));
        assert!(!c.skip);
    }
}
