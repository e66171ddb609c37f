//! Converging a cluster to a rendered resource of any kind, and removing one: the
//! apply/prune/delete sequence shared by the Pulumi provider and the CLI. Talks to Kubernetes only through
//! [`Cluster`]; decides nothing that the pure modules decide.
//!
//! Both are cancellable through the front end's [`CancellationToken`] (Pulumi's Cancel, SIGINT,
//! SIGTERM): nothing new starts once it is cancelled, and a call in flight is abandoned. The
//! [`PartialFailure`] then says what may exist (an object whose apply or delete was abandoned
//! counts as existing), with [`ClusterError::Cancelled`] as its source.

use std::time::Duration;

use crate::cluster::{Cluster, ClusterError, is_owned_by};
use crate::core::objects::{ObjectKind, ObjectRef};
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
    /// `object` was deleted (or was already gone).
    fn deleted(&mut self, _object: &ObjectRef) {}
    /// `object` was left alone because it is not ours.
    fn skipped(&mut self, _object: &ObjectRef, _why: &str) {}
}

/// An observer that ignores everything.
pub struct Quiet;
impl Observer for Quiet {}

/// How long deletes may take before we give up waiting.
pub const DELETE_TIMEOUT: Duration = Duration::from_secs(300);

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
/// taken over: the apply fails naming it, except the Namespace the objects live in
/// ([`Rendered::home`]), which is used as it is and never pruned. Returns the objects owned
/// afterwards. The one deploy path of both kinds and both front ends. Stops when `cancel` is
/// cancelled (see the module doc).
pub async fn apply(
    cluster: &Cluster,
    rendered: &Rendered,
    previous: &[ObjectRef],
    keep: &[ObjectRef],
    observer: &mut dyn Observer,
    cancel: &CancellationToken,
) -> Result<Vec<ObjectRef>, PartialFailure> {
    let owner = rendered.owner.clone();
    let home = rendered.home.as_deref();
    let mut owned: Vec<ObjectRef> = Vec::new();
    let fail = |owned: &Vec<ObjectRef>, source| PartialFailure {
        owned: owned.clone(),
        source,
    };
    for object in &rendered.objects {
        let applying = || format!("applying {}", object.id);
        let live = unless_cancelled(cancel, applying, cluster.get(&object.id))
            .await
            .map_err(|e| fail(&owned, e))?;
        if let Some(live) = &live
            && !is_owned_by(live, &owner)
        {
            if object.id.kind == ObjectKind::Namespace && Some(object.id.name.as_str()) == home {
                observer.skipped(
                    &object.id,
                    &format!(
                        "the namespace exists and was not created by this {}",
                        rendered.kind
                    ),
                );
                continue;
            }
            return Err(fail(
                &owned,
                ClusterError::NotOurs {
                    object: object.id.clone(),
                    kind: rendered.kind.as_str(),
                    owner,
                    label: crate::core::objects::labels::OWNER,
                },
            ));
        }
        if let Err(e) =
            unless_cancelled(cancel, applying, cluster.apply(&object.id, &object.body)).await
        {
            if matches!(e, ClusterError::Cancelled(_)) {
                // Abandoned in flight: it may have been applied.
                owned.push(object.id.clone());
            }
            return Err(fail(&owned, e));
        }
        observer.applied(&object.id);
        owned.push(object.id.clone());
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
    // caller's state only knows that run's inputs: find them by their ownership labels.
    if let Some(namespace) = home {
        let known: Vec<ObjectRef> = owned.iter().chain(keep).cloned().collect();
        let pruning = || "pruning what is no longer rendered".to_owned();
        let found = leftovers(cluster, namespace, &owner, &known);
        for id in unless_cancelled(cancel, pruning, found)
            .await
            .map_err(|e| fail(&owned, e))?
        {
            if !stale.contains(&id) {
                stale.push(id);
            }
        }
    }
    if let Err(e) = delete(cluster, &stale, &owner, observer, cancel).await {
        let mut still = owned.clone();
        still.extend(e.owned);
        return Err(PartialFailure {
            owned: still,
            source: e.source,
        });
    }
    Ok(owned)
}

/// The namespaced kinds a KubernetesJob renders (its Namespace aside).
const NAMESPACED: [ObjectKind; 4] = [
    ObjectKind::ConfigMap,
    ObjectKind::Secret,
    ObjectKind::ServiceAccount,
    ObjectKind::Job,
];

/// Objects in `namespace` that carry the ownership labels of KubernetesJob `owner` but are not
/// in `keep`: what a run that failed part-way left behind (applied but not recorded, or not yet
/// pruned). Only namespaced objects; a Namespace is never found this way.
pub async fn leftovers(
    cluster: &Cluster,
    namespace: &str,
    owner: &str,
    keep: &[ObjectRef],
) -> Result<Vec<ObjectRef>, ClusterError> {
    let mut out = Vec::new();
    for kind in NAMESPACED {
        for live in cluster.list_owned(kind, Some(namespace), owner).await? {
            let Some(name) = live["metadata"]["name"].as_str() else {
                continue;
            };
            let id = ObjectRef {
                kind,
                namespace: Some(namespace.to_owned()),
                name: name.to_owned(),
            };
            if !keep.contains(&id) && live["metadata"]["deletionTimestamp"].is_null() {
                out.push(id);
            }
        }
    }
    Ok(out)
}

/// Deletes `objects` in reverse order, only those carrying the ownership labels of `owner`,
/// waiting for each to be gone. NotFound counts as deleted. Stops when `cancel` is cancelled
/// (see the module doc): what was not seen gone is still owned.
pub async fn delete(
    cluster: &Cluster,
    objects: &[ObjectRef],
    owner: &str,
    observer: &mut dyn Observer,
    cancel: &CancellationToken,
) -> Result<(), PartialFailure> {
    // Issue every delete first (reverse apply order), then wait for all of them together: the
    // waits overlap instead of adding up.
    let mut remaining: Vec<ObjectRef> = objects.to_vec();
    let mut issued: Vec<ObjectRef> = Vec::new();
    let fail = |remaining: &[ObjectRef], issued: &[ObjectRef], source| {
        let mut owned = remaining.to_vec();
        owned.extend(issued.iter().cloned());
        PartialFailure { owned, source }
    };
    while let Some(id) = remaining.pop() {
        let with_id = |issued: &[ObjectRef]| [issued, std::slice::from_ref(&id)].concat();
        let deleting = || format!("deleting {id}");
        let live = unless_cancelled(cancel, deleting, cluster.get(&id)).await;
        let live = live.map_err(|e| fail(&remaining, &with_id(&issued), e))?;
        match live {
            None => observer.deleted(&id),
            Some(live) if !is_owned_by(&live, owner) => {
                observer.skipped(&id, "it does not carry this resource's ownership labels");
            }
            Some(_) => {
                if let Err(e) = unless_cancelled(cancel, deleting, cluster.delete(&id)).await {
                    return Err(fail(&remaining, &with_id(&issued), e));
                }
                issued.push(id);
            }
        }
    }
    let waits = issued
        .iter()
        .map(|id| cluster.wait_gone(id, DELETE_TIMEOUT));
    let gone = || format!("waiting for {} deleted object(s) to be gone", issued.len());
    let Some(results) = cancel
        .run_until_cancelled(futures::future::join_all(waits))
        .await
    else {
        return Err(PartialFailure {
            owned: issued.clone(),
            source: ClusterError::Cancelled(gone()),
        });
    };
    let mut still = Vec::new();
    let mut first_error = None;
    for (id, result) in issued.iter().zip(results) {
        match result {
            Ok(()) => observer.deleted(id),
            Err(e) => {
                still.push(id.clone());
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
