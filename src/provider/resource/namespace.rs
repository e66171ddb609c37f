//! The KubernetesNamespace resource (`kjob:index:KubernetesNamespace`): the same typed functions
//! as [`KubernetesJob`]'s, over the same core ([`crate::kinds`], [`crate::core::diff`]) and the
//! same deploy path ([`crate::deploy`]), under the same provider configuration. It runs no Job, so
//! Create and Update return once the objects are applied. The ID is the namespace's name.

use serde_json::Value;

use super::converge::EngineObserver;
use super::{
    CheckRequest, CheckResult, CreateRequest, CreateResult, DeleteRequest, DiffRequest, DiffResult,
    InputDiff, KubernetesJob, Properties, ReadRequest, ReadResult, ResourceError, UpdateRequest,
    UpdateResult, input_diff, prepare_kind,
};
use crate::core::objects::{ObjectKind, ObjectRef};
use crate::deploy;
use crate::kinds::{Kind, Rendered};
use crate::provider::inputs;
use crate::provider::values::UNKNOWN;

const KIND: Kind = Kind::KubernetesNamespace;

/// The KubernetesNamespace resource under the provider's configuration (a view of the one
/// [`KubernetesJob`] resource value, which holds the cluster client, the engine log and the
/// cancellation token).
pub struct KubernetesNamespace<'a> {
    inner: &'a KubernetesJob,
}

impl KubernetesJob {
    /// The KubernetesNamespace resource under the same configuration.
    pub fn namespaces(&self) -> KubernetesNamespace<'_> {
        KubernetesNamespace { inner: self }
    }
}

/// Outputs: the checked inputs plus the kind's stack outputs.
fn with_outputs(value: &Value, outputs: &Value) -> Value {
    let mut out = value.clone();
    if let (Some(map), Some(extra)) = (out.as_object_mut(), outputs.as_object()) {
        for (key, item) in extra {
            map.insert(key.clone(), item.clone());
        }
    }
    out
}

/// Preview outputs: the stack outputs when the inputs check, else unknown.
fn preview_outputs(props: &Properties, name: &str) -> Properties {
    let checked = inputs::check_kind(KIND, &props.value, name, &[]);
    let outputs = if checked.failures.is_empty() && checked.checked.unknowns.is_empty() {
        checked.checked.outputs.clone()
    } else {
        inputs::NAMESPACE_OUTPUT_KEYS
            .iter()
            .map(|k| ((*k).to_owned(), Value::from(UNKNOWN)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    Properties::with_secret_fields(with_outputs(&props.value, &outputs), &props.secrets)
}

impl KubernetesNamespace<'_> {
    /// Checks new inputs: decoding, references, upstream's validation.
    pub fn check(&self, request: CheckRequest) -> CheckResult {
        let store = self.inner.reference_store();
        let sources: Vec<&dyn crate::core::refs::Source> = store
            .iter()
            .map(|s| s.as_ref() as &dyn crate::core::refs::Source)
            .collect();
        let checked = inputs::check_kind(KIND, &request.news.value, &request.name, &sources);
        CheckResult {
            inputs: Properties::with_secret_fields(checked.inputs, &request.news.secrets),
            failures: checked.failures,
        }
    }

    /// What changes and what replaces ([`crate::core::diff::NAMESPACE_REPLACE_RULES`]: a new
    /// name is a new Namespace, deleted before the new one is created).
    pub fn diff(&self, request: &DiffRequest) -> DiffResult {
        let InputDiff {
            detailed,
            diffs,
            replaces,
        } = input_diff(KIND, request);
        DiffResult {
            delete_before_replace: !replaces.is_empty(),
            diffs,
            replaces,
            detailed,
        }
    }

    /// Applies the objects the inputs render, pruning those of `previous` they no longer render.
    async fn apply(
        &self,
        verb: &str,
        urn: &str,
        props: &Properties,
        name: &str,
        previous: &[ObjectRef],
    ) -> Result<(String, Properties), ResourceError> {
        let (checked, rendered) =
            prepare_kind(KIND, &props.value, name, urn).map_err(ResourceError::Invalid)?;
        let id = namespace_of(&rendered);
        let outputs = Properties::with_secret_fields(
            with_outputs(&props.value, &checked.checked.outputs),
            &props.secrets,
        );
        let sweep = if previous.is_empty() {
            deploy::Sweep::Needed {
                last_run_failed: false,
            }
        } else {
            deploy::Sweep::Always
        };
        let mut observer = EngineObserver::new(&self.inner.log, urn);
        let applied = deploy::apply_with(
            &self.inner.cluster,
            &rendered,
            previous,
            &[],
            deploy::Takeover { adopt: false },
            sweep,
            &mut observer,
            &self.inner.cancel,
        )
        .await;
        observer.flush().await;
        match applied {
            Ok(_) => Ok((id, outputs)),
            Err(failure) => {
                let reason = format!("{verb} KubernetesNamespace {id}: {}", failure.source);
                if failure.owned.is_empty() && previous.is_empty() {
                    Err(ResourceError::Failed(reason))
                } else {
                    Err(ResourceError::Partial {
                        id,
                        outputs,
                        reasons: vec![reason],
                    })
                }
            }
        }
    }

    /// Creates the Namespace and what the spec asks for in it; a preview only says what the
    /// outputs will be.
    pub async fn create(&self, request: CreateRequest) -> Result<CreateResult, ResourceError> {
        if request.preview {
            return Ok(CreateResult {
                id: String::new(),
                outputs: preview_outputs(&request.inputs, &request.name),
            });
        }
        let (id, outputs) = self
            .apply(
                "creating",
                &request.urn,
                &request.inputs,
                &request.name,
                &[],
            )
            .await?;
        Ok(CreateResult { id, outputs })
    }

    /// Applies the new inputs and prunes what the old ones rendered and the new do not (a
    /// dropped quota, limit range or policy).
    pub async fn update(&self, request: UpdateRequest) -> Result<UpdateResult, ResourceError> {
        if request.preview {
            return Ok(UpdateResult {
                outputs: preview_outputs(&request.news, &request.name),
            });
        }
        let olds = inputs::inputs_of_outputs_of(KIND, &request.olds);
        let previous: Vec<ObjectRef> = prepare_kind(KIND, &olds, &request.name, &request.urn)
            .map(|(_, r)| r.ids())
            .unwrap_or_default();
        let (_, outputs) = self
            .apply(
                "updating",
                &request.urn,
                &request.news,
                &request.name,
                &previous,
            )
            .await?;
        Ok(UpdateResult { outputs })
    }

    /// Deletes what the resource owns: the objects its inputs render and any other object of
    /// its kinds in the namespace under its owner label, then the Namespace (only while it holds
    /// nothing that is not this resource's).
    pub async fn delete(&self, request: DeleteRequest) -> Result<(), ResourceError> {
        let DeleteRequest {
            urn,
            name,
            id,
            olds,
        } = request;
        let olds = inputs::inputs_of_outputs_of(KIND, &olds);
        let (_, prepared) = prepare_kind(KIND, &olds, &name, &urn).map_err(|e| {
            ResourceError::Invalid(format!(
                "cannot tell what KubernetesNamespace {id} created: {e}"
            ))
        })?;
        self.inner
            .delete_rendered(&urn, &id, &prepared, &namespace_of(&prepared), false)
            .await
    }

    /// Refresh: the resource is gone (`None`) when its Namespace is; otherwise the outputs in
    /// state stand. Import is not offered for this kind: the error says so.
    pub async fn read(&self, request: ReadRequest) -> Result<Option<ReadResult>, ResourceError> {
        let ReadRequest {
            id,
            previous,
            has_inputs,
            ..
        } = request;
        if previous
            .value
            .as_object()
            .is_none_or(serde_json::Map::is_empty)
            && !has_inputs
        {
            return Err(ResourceError::Invalid(format!(
                "importing KubernetesNamespace {id} is not supported: declare it in the program and \
                 run `pulumi up` (kjob applies over a Namespace it owns, and refuses one it does not)"
            )));
        }
        let namespace = ObjectRef {
            kind: ObjectKind::Namespace,
            namespace: None,
            name: id.clone(),
        };
        let live = self.inner.cluster.get(&namespace).await.map_err(|e| {
            ResourceError::Unavailable(format!("reading KubernetesNamespace {id}: {e}"))
        })?;
        let terminating = live
            .as_ref()
            .is_some_and(|l| !l["metadata"]["deletionTimestamp"].is_null());
        if live.is_none() || terminating {
            return Ok(None);
        }
        Ok(Some(ReadResult {
            id,
            outputs: previous,
            inputs: None,
        }))
    }
}

/// The name of the Namespace a KubernetesNamespace renders (its first object).
fn namespace_of(rendered: &Rendered) -> String {
    rendered
        .objects
        .first()
        .map(|o| o.id.name.clone())
        .unwrap_or_default()
}
