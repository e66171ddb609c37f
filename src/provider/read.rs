//! Read: refresh and `pulumi import`. Reads the live objects and rebuilds inputs and outputs
//! from them ([`crate::kinds::job::import`]).

use serde_json::Value;
use tonic::Status;

use crate::api::pulumirpc::{ReadRequest, ReadResponse};
use crate::cluster::{Cluster, is_owned_by};
use crate::core::objects::{ObjectKind, ObjectRef};
use crate::core::outcome::{self, Gone, JobStatus};
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

/// Serves one Read.
pub async fn read(cluster: &Cluster, request: ReadRequest) -> Result<ReadResponse, Status> {
    let (namespace, name) = inputs::parse_id(&request.id).ok_or_else(|| {
        Status::invalid_argument(format!(
            "invalid ID {:?}: expected <namespace>/<job name>",
            request.id
        ))
    })?;
    let unavailable = |e: crate::cluster::ClusterError| {
        Status::unavailable(format!("reading KubernetesJob {}: {e}", request.id))
    };
    let (previous, marked) = values::reveal(
        &request
            .properties
            .as_ref()
            .map(values::from_struct)
            .unwrap_or(Value::Null),
    );
    let Some(job) = cluster
        .get(&object(ObjectKind::Job, namespace, name))
        .await
        .map_err(unavailable)?
    else {
        let recorded = JobStatus::of_outputs(&previous, inputs::OUT_JOB_STATUS);
        if let Gone::Finished(status) = outcome::when_gone(recorded, outcome::has_ttl(&previous)) {
            // Kubernetes deleted the finished Job after ttlSecondsAfterFinished: it ran, it is not
            // missing. Keep it with its outcome: a completed Job is not run again, a failed one
            // still is.
            let mut outputs = previous.clone();
            outputs[inputs::OUT_JOB_STATUS] = Value::from(status.word());
            let mut secret_paths = marked;
            secret_paths.extend(crate::core::secrets::secret_paths(&outputs));
            values::conceal(&mut outputs, &secret_paths);
            return Ok(ReadResponse {
                id: request.id.clone(),
                properties: Some(values::to_struct(&outputs)),
                inputs: request.inputs.clone(),
                refresh_before_update: false,
            });
        }
        // Gone: an empty ID tells the engine to drop the resource from state.
        return Ok(ReadResponse::default());
    };
    let state = outcome::job_state(&job);
    let config_maps = cluster
        .list_owned(ObjectKind::ConfigMap, Some(namespace), name)
        .await
        .map_err(unavailable)?;
    let owned = |v: Option<Value>| v.filter(|o| is_owned_by(o, name));
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

    let mut rebuilt = import::inputs_from_live(&live);
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
    let resource_name = name.to_owned();
    let checked = inputs::check(&rebuilt, &resource_name, &[]);
    let mut outputs = inputs::outputs(&checked.inputs, Some(namespace), Some(name));
    outputs[inputs::OUT_JOB_STATUS] = Value::from(state.status().word());
    let mut secret_paths = marked;
    secret_paths.extend(crate::core::secrets::secret_paths(&outputs));
    values::conceal(&mut outputs, &secret_paths);

    let inputs_out = match &request.inputs {
        Some(existing) if !existing.fields.is_empty() => existing.clone(),
        _ => {
            let mut fresh = checked.inputs.clone();
            values::conceal(
                &mut fresh,
                &crate::core::secrets::secret_paths(&checked.inputs),
            );
            values::to_struct(&fresh)
        }
    };
    Ok(ReadResponse {
        id: request.id.clone(),
        properties: Some(values::to_struct(&outputs)),
        inputs: Some(inputs_out),
        refresh_before_update: false,
    })
}
