//! Converging a cluster to a rendered resource of any kind, and removing one: the
//! apply/prune/delete sequence shared by the Pulumi provider and the CLI. Talks to Kubernetes only through
//! [`Cluster`]; decides nothing that the pure modules decide.
//!
//! Both are cancellable through the front end's [`CancellationToken`] (Pulumi's Cancel, SIGINT,
//! SIGTERM): nothing new starts once it is cancelled, and a call in flight is abandoned. The
//! [`PartialFailure`] then says what may exist (an object whose apply or delete was abandoned
//! counts as existing), with [`ClusterError::Cancelled`] as its source.

use std::time::Duration;

use serde_json::Value;

use crate::cluster::{Cluster, ClusterError, Deleted};
use crate::core::objects::{ObjectKind, ObjectRef};
use crate::core::owner::{Owner, Ownership, foreign_contents, look_for_leftovers, ownership};
use crate::kinds::Rendered;
use tokio_util::sync::CancellationToken;

/// A failure part-way through: what was applied (and is ours) before it happened.
#[derive(Debug, thiserror::Error)]
#[error("{source}")]
pub struct PartialFailure {
    /// The objects this KubernetesJob owns at the moment of failure.
    pub owned: Vec<ObjectRef>,
    /// What failed.
    #[source]
    pub source: ClusterError,
}

/// Progress callbacks, e.g. to write state after every object.
pub trait Observer: Send {
    /// `object` was applied and is ours.
    fn applied(&mut self, _object: &ObjectRef) {}
    /// `object` was applied and is ours, and has resourceVersion `version` now: worth recording
    /// for [`Observer::recorded_version`]. Calls [`Observer::applied`] unless overridden.
    fn applied_at(&mut self, object: &ObjectRef, _version: Option<&str>) {
        self.applied(object);
    }
    /// The resourceVersion `object` had right after this owner last applied it, when the caller
    /// recorded it ([`Observer::applied_at`]): the apply then sends it as a precondition instead
    /// of reading the object first. `None` (the default) always reads first.
    fn recorded_version(&self, _object: &ObjectRef) -> Option<String> {
        None
    }
    /// `object` was deleted (or was already gone).
    fn deleted(&mut self, _object: &ObjectRef) {}
    /// `object` was left alone because it is not ours.
    fn skipped(&mut self, _object: &ObjectRef, _why: &str) {}
    /// `object` belonged to `holder` and is taken over (`--adopt`, `pulumi import`).
    fn adopted(&mut self, _object: &ObjectRef, _holder: &str) {}
}

/// An observer that ignores everything.
pub struct Quiet;
impl Observer for Quiet {}

/// How long deletes may take before we give up waiting.
pub const DELETE_TIMEOUT: Duration = Duration::from_secs(300);

/// How often one object is read and acted on again when someone else keeps changing it between
/// the read and the act.
const CONTENDED_ATTEMPTS: u32 = 5;

/// What an apply may do besides creating and updating the owner's own objects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Takeover {
    /// Take over rendered objects that exist and belong to another owner or to nobody
    /// (`kjob up --adopt`, `pulumi import`): they are relabelled as the owner's.
    pub adopt: bool,
}

fn text<'a>(live: &'a Value, key: &str) -> Option<&'a str> {
    live["metadata"][key].as_str()
}

/// `call` unless `cancel` is (or becomes) cancelled first: then [`ClusterError::Cancelled`]
/// naming `what`.
async fn unless_cancelled<T>(
    cancel: &CancellationToken,
    what: impl FnOnce() -> String,
    call: impl Future<Output = Result<T, ClusterError>>,
) -> Result<T, ClusterError> {
    match cancel.run_until_cancelled(call).await {
        Some(result) => result,
        None => Err(ClusterError::Cancelled(what())),
    }
}

/// Applies a resource's rendered objects in order for their owner, then deletes the objects of
/// `previous` that are no longer rendered and what an earlier, failed run left behind under the
/// owner's labels (except those in `keep`). An existing object that is not the owner's is never
/// taken over ([`ClusterError::NotOurs`], naming who holds it) unless `takeover.adopt`, except
/// the Namespace the objects live in ([`Rendered::home`]), which is used as it is and never
/// pruned. Objects labelled before owner identities count as the owner's when `previous` (the
/// caller's own state) lists them, and are relabelled. An existing object is applied at the
/// resourceVersion its ownership was read at, so no other writer can slip in between. The read
/// is skipped where a precondition makes it redundant ([`unread_version`]): an object not in
/// `previous` is first applied as create-only, one the observer recorded a version of as
/// update-only-if-unchanged; either refused, it is read and decided as above. Returns the
/// objects owned afterwards. The one deploy path of both kinds and both front ends. Stops when
/// `cancel` is cancelled (see the module doc).
pub async fn apply(
    cluster: &Cluster,
    rendered: &Rendered,
    previous: &[ObjectRef],
    keep: &[ObjectRef],
    takeover: Takeover,
    observer: &mut dyn Observer,
    cancel: &CancellationToken,
) -> Result<Vec<ObjectRef>, PartialFailure> {
    let sweep = Sweep::Always;
    apply_with(
        cluster, rendered, previous, keep, takeover, sweep, observer, cancel,
    )
    .await
}

/// When [`apply_with`] lists the owner's objects by label to find what an earlier run left
/// behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    /// Every time (the caller cannot tell whether its last run finished).
    Always,
    /// Only when the last run failed or the rendered set shrank versus `previous`
    /// ([`look_for_leftovers`]); the caller's record is otherwise complete.
    Needed {
        /// The caller's last run failed part-way (or crashed).
        last_run_failed: bool,
    },
}

/// [`apply`], looking for leftovers only as `sweep` says: a converged resource is applied
/// without the four label-selector LISTs.
#[allow(clippy::too_many_arguments)]
pub async fn apply_with(
    cluster: &Cluster,
    rendered: &Rendered,
    previous: &[ObjectRef],
    keep: &[ObjectRef],
    takeover: Takeover,
    sweep: Sweep,
    observer: &mut dyn Observer,
    cancel: &CancellationToken,
) -> Result<Vec<ObjectRef>, PartialFailure> {
    let sweep = match sweep {
        Sweep::Always => true,
        Sweep::Needed { last_run_failed } => {
            look_for_leftovers(previous, &rendered.ids(), last_run_failed)
        }
    };
    let owner = &rendered.owner;
    let home = rendered.home.as_deref();
    let mut owned: Vec<ObjectRef> = Vec::new();
    let fail = |owned: &Vec<ObjectRef>, source| PartialFailure {
        owned: owned.clone(),
        source,
    };
    'objects: for object in &rendered.objects {
        let applying = || format!("applying {}", object.id);
        if let Some(version) = unread_version(object.id.kind, previous.contains(&object.id), || {
            observer.recorded_version(&object.id)
        }) {
            // Server-side apply with a precondition, no read: it succeeds only when the object
            // is absent (created) or exactly as this owner last applied it. Cancelled before
            // it starts, nothing was sent: the object is not counted as possibly applied.
            if cancel.is_cancelled() {
                return Err(fail(&owned, ClusterError::Cancelled(applying())));
            }
            let call = cluster.apply(&object.id, &object.body, Some(&version));
            match unless_cancelled(cancel, applying, call).await {
                Ok(Some(live)) => {
                    observer.applied_at(&object.id, text(&live, "resourceVersion"));
                    owned.push(object.id.clone());
                    continue 'objects;
                }
                // It exists and is not what we applied: read it and decide.
                Ok(None) => {}
                Err(e) => {
                    if matches!(e, ClusterError::Cancelled(_)) {
                        owned.push(object.id.clone());
                    }
                    return Err(fail(&owned, e));
                }
            }
        }
        for _ in 0..CONTENDED_ATTEMPTS {
            let live = unless_cancelled(cancel, applying, cluster.get(&object.id))
                .await
                .map_err(|e| fail(&owned, e))?;
            let mut version = None;
            if let Some(live) = &live {
                let seen = ownership(live, owner);
                if !seen.is_ours(previous.contains(&object.id)) {
                    if object.id.kind == ObjectKind::Namespace
                        && Some(object.id.name.as_str()) == home
                    {
                        observer.skipped(
                            &object.id,
                            &format!(
                                "the namespace exists and belongs to {}; it is used as it is",
                                seen.holder()
                            ),
                        );
                        continue 'objects;
                    }
                    if !takeover.adopt {
                        return Err(fail(
                            &owned,
                            ClusterError::NotOurs {
                                object: object.id.clone(),
                                owner: owner.to_string(),
                                holder: seen.holder(),
                            },
                        ));
                    }
                    observer.adopted(&object.id, &seen.holder());
                }
                version = text(live, "resourceVersion");
            }
            let call = cluster.apply(&object.id, &object.body, version);
            let applied = match unless_cancelled(cancel, applying, call).await {
                Ok(applied) => applied,
                Err(e) => {
                    if matches!(e, ClusterError::Cancelled(_)) {
                        // Abandoned in flight: it may have been applied.
                        owned.push(object.id.clone());
                    }
                    return Err(fail(&owned, e));
                }
            };
            if let Some(live) = &applied {
                observer.applied_at(&object.id, text(live, "resourceVersion"));
                owned.push(object.id.clone());
                continue 'objects;
            }
        }
        return Err(fail(
            &owned,
            ClusterError::Contended {
                object: object.id.clone(),
                attempts: CONTENDED_ATTEMPTS,
            },
        ));
    }
    // The namespace the objects now live in is never pruned, even when createNamespace turned
    // false: deleting it would delete the Job it holds. It is left in place, no longer managed.
    let mut stale: Vec<ObjectRef> = previous
        .iter()
        .filter(|p| !owned.contains(p) && !keep.contains(p))
        .filter(|p| !(p.kind == ObjectKind::Namespace && Some(p.name.as_str()) == home))
        .cloned()
        .collect();
    // Objects an earlier, failed run applied or had yet to prune are not in `previous` when the
    // caller's state only knows that run's inputs: find them by their owner label.
    if let Some(namespace) = rendered.sweep_namespace().filter(|_| sweep) {
        let known: Vec<ObjectRef> = owned.iter().chain(keep).cloned().collect();
        let pruning = || "pruning what is no longer rendered".to_owned();
        let kinds = rendered.kind.namespaced_objects();
        let found = leftovers(cluster, &namespace, kinds, owner, &known);
        for id in unless_cancelled(cancel, pruning, found)
            .await
            .map_err(|e| fail(&owned, e))?
        {
            if !stale.contains(&id) {
                stale.push(id);
            }
        }
    }
    if let Err(e) = delete(cluster, &stale, owner, observer, cancel).await {
        let mut still = owned.clone();
        still.extend(e.owned);
        return Err(PartialFailure {
            owned: still,
            source: e.source,
        });
    }
    Ok(owned)
}

/// A resourceVersion that no object has (the largest etcd revision): applied with it as a
/// precondition, an object is created when absent and refused (409) when it exists.
pub const ABSENT: &str = "9223372036854775807";

/// The precondition to apply an object with instead of reading it first, if any: [`ABSENT`]
/// for an object the caller has no record of (created only if nobody else holds that name), the
/// recorded version of one it applied (updated only if nobody wrote it since), or [`ABSENT`]
/// again for one it recorded as about to be created. A recorded Job is otherwise read first:
/// its controller writes its status, so its version never matches.
fn unread_version(
    kind: ObjectKind,
    recorded: bool,
    version: impl FnOnce() -> Option<String>,
) -> Option<String> {
    match (recorded, kind) {
        (false, _) => Some(ABSENT.to_owned()),
        (true, ObjectKind::Job) => version().filter(|v| v == ABSENT),
        (true, _) => version(),
    }
}

/// Objects of `kinds` in `namespace` that carry `owner`'s label but are not in `keep`: what a run
/// that failed part-way left behind (applied but not recorded, or not yet pruned). Only
/// namespaced objects; a Namespace is never found this way, nor another owner's object.
pub async fn leftovers(
    cluster: &Cluster,
    namespace: &str,
    kinds: &[ObjectKind],
    owner: &Owner,
    keep: &[ObjectRef],
) -> Result<Vec<ObjectRef>, ClusterError> {
    let mut out = Vec::new();
    for &kind in kinds {
        for live in cluster
            .list_labelled(kind, Some(namespace), &owner.selector())
            .await?
        {
            let Some(name) = text(&live, "name") else {
                continue;
            };
            let id = ObjectRef {
                kind,
                namespace: Some(namespace.to_owned()),
                name: name.to_owned(),
            };
            if !keep.contains(&id)
                && live["metadata"]["deletionTimestamp"].is_null()
                && ownership(&live, owner) == Ownership::Ours
            {
                out.push(id);
            }
        }
    }
    Ok(out)
}

/// What [`delete`] still waits for after a delete was accepted.
struct Pending {
    /// The deleted object.
    id: ObjectRef,
    /// The object itself is still there (finalizers, a grace period).
    object: bool,
    /// A deleted Job's UID and the resourceVersion it was read at: its pods are waited for.
    pods_of: Option<(String, Option<String>)>,
}

impl Pending {
    /// Waits until the object, and a deleted Job's pods, are gone.
    async fn wait(&self, cluster: &Cluster) -> Result<(), ClusterError> {
        if self.object {
            cluster.wait_gone(&self.id, DELETE_TIMEOUT).await?;
        }
        match &self.pods_of {
            Some((uid, seen)) => {
                let seen = seen.as_deref();
                cluster
                    .wait_pods_gone(&self.id, uid, seen, DELETE_TIMEOUT)
                    .await
            }
            None => Ok(()),
        }
    }
}

/// Deletes `objects` (the owner's own record: objects labelled before owner identities count as
/// its) in reverse order, only those that are `owner`'s, each with its uid and resourceVersion as
/// preconditions, then waits for them to be gone, and for a deleted Job's pods to be gone too
/// (deletes propagate in the background: [`Cluster::delete`]). NotFound counts as deleted.
/// Another owner's object is left alone and reported to the observer with its holder; so is a
/// Namespace that still holds anything that is not the owner's (listed). Stops when `cancel` is
/// cancelled (see the module doc): what was not seen gone is still owned.
pub async fn delete(
    cluster: &Cluster,
    objects: &[ObjectRef],
    owner: &Owner,
    observer: &mut dyn Observer,
    cancel: &CancellationToken,
) -> Result<(), PartialFailure> {
    // Issue every delete first (reverse apply order), then wait for all of them together: the
    // waits overlap instead of adding up.
    let mut remaining: Vec<ObjectRef> = objects.to_vec();
    let mut pending: Vec<Pending> = Vec::new();
    // The UIDs of what was deleted: what they own is ours while the collector deletes it.
    let mut deleted_uids = std::collections::BTreeSet::new();
    // Still owned after a failure at `id`: what is left, what was deleted and not seen gone, `id`.
    let fail = |remaining: &[ObjectRef], pending: &[Pending], id: &ObjectRef, source| {
        let mut owned = remaining.to_vec();
        owned.extend(pending.iter().map(|p| p.id.clone()));
        owned.push(id.clone());
        PartialFailure { owned, source }
    };
    let recorded = |kind: &str, name: &str| {
        objects
            .iter()
            .any(|o| o.kind.as_str() == kind && o.name == name)
    };
    'objects: while let Some(id) = remaining.pop() {
        let deleting = || format!("deleting {id}");
        for _ in 0..CONTENDED_ATTEMPTS {
            let live = unless_cancelled(cancel, deleting, cluster.get(&id)).await;
            let live = live.map_err(|e| fail(&remaining, &pending, &id, e))?;
            let Some(live) = live else {
                observer.deleted(&id);
                continue 'objects;
            };
            let seen = ownership(&live, owner);
            if !seen.is_ours(true) {
                observer.skipped(&id, &format!("it belongs to {}", seen.holder()));
                continue 'objects;
            }
            if id.kind == ObjectKind::Namespace {
                let contents = cluster.namespace_contents(&id.name);
                let contents = unless_cancelled(cancel, deleting, contents)
                    .await
                    .map_err(|e| fail(&remaining, &pending, &id, e))?;
                let foreign = foreign_contents(&contents, owner, &recorded, &deleted_uids);
                if !foreign.is_empty() {
                    observer.skipped(
                        &id,
                        &format!(
                            "it still holds what is not this resource's, so it stays: {}",
                            foreign.join(", ")
                        ),
                    );
                    continue 'objects;
                }
            }
            let uid = text(&live, "uid");
            let version = text(&live, "resourceVersion");
            // A Job's pods are deleted by the garbage collector after it: waited for by its UID.
            let pods_of = uid
                .filter(|_| id.kind == ObjectKind::Job)
                .map(|uid| (uid.to_owned(), version.map(str::to_owned)));
            let deleted =
                match unless_cancelled(cancel, deleting, cluster.delete(&id, uid, version)).await {
                    Err(e) => return Err(fail(&remaining, &pending, &id, e)),
                    // Someone changed it since it was read: read it again.
                    Ok(Deleted::Changed) => continue,
                    Ok(deleted) => deleted,
                };
            // Gone before this delete: nothing of it to wait for, nothing it owns is ours.
            let ours = deleted != Deleted::Gone;
            if ours {
                deleted_uids.extend(uid.map(str::to_owned));
            }
            let object = deleted == Deleted::Issued;
            let pods_of = pods_of.filter(|_| ours);
            if object || pods_of.is_some() {
                pending.push(Pending {
                    id,
                    object,
                    pods_of,
                });
            } else {
                observer.deleted(&id);
            }
            continue 'objects;
        }
        let source = ClusterError::Contended {
            object: id.clone(),
            attempts: CONTENDED_ATTEMPTS,
        };
        return Err(fail(&remaining, &pending, &id, source));
    }
    let gone = || format!("waiting for {} deleted object(s) to be gone", pending.len());
    let waits = pending.iter().map(|p| p.wait(cluster));
    let Some(results) = cancel
        .run_until_cancelled(futures::future::join_all(waits))
        .await
    else {
        return Err(PartialFailure {
            owned: pending.iter().map(|p| p.id.clone()).collect(),
            source: ClusterError::Cancelled(gone()),
        });
    };
    let mut still = Vec::new();
    let mut first_error = None;
    for (p, result) in pending.iter().zip(results) {
        match result {
            Ok(()) => observer.deleted(&p.id),
            Err(e) => {
                still.push(p.id.clone());
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        None => Ok(()),
        Some(source) => Err(PartialFailure {
            owned: still,
            source,
        }),
    }
}

mod check;
pub use check::server_check;

#[cfg(test)]
mod tests;
