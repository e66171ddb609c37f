//! Read: refresh and `pulumi import`. Reads the live objects and rebuilds inputs and outputs
//! from them ([`crate::kinds::job::import`]); a Job that Kubernetes collected after its TTL keeps
//! the resource, with its outcome ([`outcome::when_gone`]).

use serde_json::Value;

use super::{KubernetesJob, Properties, ReadRequest, ReadResult, ResourceError};
use crate::core::objects::{ObjectKind, ObjectRef, labels};
use crate::core::outcome::{self, Gone, JobStatus};
use crate::core::owner::{Owner, ownership};
use crate::kinds::job::import::{self, LiveObjects};
use crate::kinds::job::render::{self};
use crate::provider::{inputs, values};

/// Fields that no live object shows; refresh keeps them from the previous state.
const UNOBSERVABLE: [&str; 6] = [
    "/metadata/slug",
    "/metadata/tags",
    "/metadata/relationships",
    "/metadata/group",
    "/spec/targetCluster",
    "/metadata/annotations",
];

fn object(kind: ObjectKind, namespace: &str, name: &str) -> ObjectRef {
    ObjectRef {
        kind,
        namespace: (kind != ObjectKind::Namespace).then(|| namespace.to_owned()),
        name: name.to_owned(),
    }
}

impl KubernetesJob {
    /// Reads the resource as it is in the cluster: for a refresh (`previous` holds the outputs
    /// in state) or an import (only the ID). A Job that is gone drops the resource (`None`)
    /// unless Kubernetes collected it after its TTL.
    pub async fn read(&self, request: ReadRequest) -> Result<Option<ReadResult>, ResourceError> {
        let ReadRequest {
            urn,
            id,
            previous:
                Properties {
                    value: previous,
                    secrets: marked,
                },
            has_inputs,
        } = request;
        let (namespace, name) = inputs::parse_id(&id).ok_or_else(|| {
            ResourceError::Invalid(format!(
                "invalid ID {id:?}: expected <namespace>/<job name>"
            ))
        })?;
        let unavailable = |e: crate::cluster::ClusterError| {
            ResourceError::Unavailable(format!("reading KubernetesJob {id}: {e}"))
        };
        let cluster = &self.cluster;
        let Some(job) = cluster
            .get(&object(ObjectKind::Job, namespace, name))
            .await
            .map_err(unavailable)?
        else {
            let recorded = JobStatus::of_outputs(&previous, inputs::OUT_JOB_STATUS);
            if let Gone::Finished(status) =
                outcome::when_gone(recorded, outcome::has_ttl(&previous))
            {
                // Kubernetes deleted the finished Job after ttlSecondsAfterFinished: it ran, it
                // is not missing. Keep it with its outcome: a completed Job is not run again, a
                // failed one still is.
                let mut outputs = previous.clone();
                outputs[inputs::OUT_JOB_STATUS] = Value::from(status.word());
                return Ok(Some(ReadResult {
                    id: id.clone(),
                    outputs: Properties::with_secret_fields(outputs, &marked),
                    inputs: None,
                }));
            }
            // Gone: the engine drops the resource from state.
            return Ok(None);
        };
        let state = outcome::job_state(&job);
        // A refresh reads what this resource owns (labelled before owner identities included:
        // its state lists them); an import (no previous outputs) reads what kjob manages under
        // the Job's name, whoever owns it, and takes it over at the next Update or Delete.
        let importing = previous.is_null();
        let owner = Owner {
            stack: inputs::stack_of_urn(&urn),
            kind: "KubernetesJob".into(),
            env: previous
                .pointer("/metadata/env")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            name: name.to_owned(),
        };
        let seen = ownership(&job, &owner);
        if !importing && !seen.is_ours(true) {
            return Err(ResourceError::Failed(format!(
                "reading KubernetesJob {id}: the Job now belongs to {}; import it to take it back",
                seen.holder()
            )));
        }
        // On import: anything kjob labelled with this name, whoever owns it.
        let claimable = |v: &Value| {
            v["metadata"]["labels"][labels::MANAGED_BY] == labels::MANAGED_BY_VALUE
                && v["metadata"]["labels"][labels::OWNER] == name
        };
        let mut foreign = !seen.is_ours(true);
        let mut owned = |v: Option<Value>| {
            let v = v?;
            let ours = ownership(&v, &owner).is_ours(true);
            let take = ours || (importing && claimable(&v));
            foreign |= take && !ours;
            take.then_some(v)
        };
        let selector = format!(
            "{}={},{}={name}",
            labels::MANAGED_BY,
            labels::MANAGED_BY_VALUE,
            labels::OWNER
        );
        let config_maps = cluster
            .list_labelled(ObjectKind::ConfigMap, Some(namespace), &selector)
            .await
            .map_err(unavailable)?
            .into_iter()
            .filter_map(|c| owned(Some(c)))
            .collect();
        let env_secret = owned(
            cluster
                .get(&object(
                    ObjectKind::Secret,
                    namespace,
                    &render::env_secret_name(name),
                ))
                .await
                .map_err(unavailable)?,
        );
        let image_pull_secret = owned(
            cluster
                .get(&object(
                    ObjectKind::Secret,
                    namespace,
                    &render::image_pull_secret_name(name),
                ))
                .await
                .map_err(unavailable)?,
        );
        let namespace_owned = owned(
            cluster
                .get(&object(ObjectKind::Namespace, namespace, namespace))
                .await
                .map_err(unavailable)?,
        )
        .is_some();
        let live = LiveObjects {
            job,
            config_maps,
            env_secret,
            image_pull_secret,
            namespace_owned,
        };
        let rebuilt = rebuild(&live, &previous);
        let checked = inputs::check(&rebuilt, name, &[]);
        let mut outputs = inputs::outputs(&checked.inputs, Some(namespace), Some(name));
        outputs[inputs::OUT_JOB_STATUS] = Value::from(state.status().word());
        if foreign || inputs::adopts(&previous) {
            outputs[inputs::OUT_ADOPT] = Value::Bool(true);
        }
        if !importing {
            self.report_drift(&urn, &previous).await;
        }
        let inputs = (!has_inputs).then(|| Properties::with_secret_fields(checked.inputs, &[]));
        Ok(Some(ReadResult {
            id: id.clone(),
            outputs: Properties::with_secret_fields(outputs, &marked),
            inputs,
        }))
    }
}

/// The inputs the live objects show, with what no live object shows (and the spelling of
/// quantities that mean the same) kept from the previous outputs.
pub fn rebuild(live: &LiveObjects, previous: &Value) -> Value {
    let mut rebuilt = import::inputs_from_live(live);
    for pointer in UNOBSERVABLE {
        if let Some(old) = previous.pointer(pointer) {
            let path = crate::core::path::PropertyPath::parse_dotted(&pointer.replace('/', "."));
            values::set(&mut rebuilt, &path, old.clone());
        }
    }
    // The API server spells quantities its own way (1000m -> 1); keep the previous spelling when
    // it means the same, so state does not churn.
    for kind in ["limits", "requests"] {
        for key in ["cpu", "memory"] {
            let pointer = format!("/spec/resources/{kind}/{key}");
            let path = crate::core::path::PropertyPath::root()
                .field("spec")
                .field("resources")
                .field(kind)
                .field(key);
            if let (Some(old), Some(new)) = (previous.pointer(&pointer), rebuilt.pointer(&pointer))
                && crate::core::diff::equivalent(&path, old, new)
            {
                let old = old.clone();
                values::set(&mut rebuilt, &path, old);
            }
        }
    }
    rebuilt
}
