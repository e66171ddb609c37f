//! The KubernetesJob resource as a plain type, in the pattern of pulumi-go-provider's `infer`:
//! check, diff, create, read, update and delete are typed functions of [`KubernetesJob`] over
//! plain values ([`types`]); nothing here knows the protocol. The pure decisions are the core's
//! ([`inputs`], [`crate::kinds`], [`crate::core::diff`], [`crate::core::outcome`]); the resource
//! drives the shells ([`crate::deploy`], [`crate::wait`], [`crate::cluster`]) with them.
//! [`crate::provider::service`] is the wire front end. The second resource type,
//! `kjob:index:KubernetesNamespace`, is [`KubernetesNamespace`] (`namespace.rs`), a view of the
//! same value with the same request and result types.

mod converge;
mod drift;
mod namespace;
mod read;
mod server_preview;
mod status;
pub mod types;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::cluster::Cluster;
use crate::core::diff::{self, ChangeKind};
use crate::core::objects::ObjectRef;
use crate::core::outcome::{self, JobStatus};
use crate::core::refs::Source;
use crate::deploy;
use crate::kinds::{Kind, RenderOptions, Rendered};
use crate::provider::config::ProviderConfig;
use crate::provider::engine::EngineLog;
use crate::provider::{inputs, values};
use crate::state;
use tokio_util::sync::CancellationToken;

pub use types::{
    CheckRequest, CheckResult, CreateRequest, CreateResult, DeleteRequest, DiffRequest, DiffResult,
    Properties, PropertyChange, ReadRequest, ReadResult, ResourceError, UpdateRequest,
    UpdateResult,
};

use converge::{Converge, EngineObserver};
pub use namespace::KubernetesNamespace;
pub use read::rebuild;

/// The KubernetesJob resource under one provider configuration: its cluster client, whether
/// Create and Update wait, the state store references resolve from, the engine's log, and the
/// provider's cancellation token (Pulumi's Cancel, SIGINT, SIGTERM), which stops Create's,
/// Update's and Delete's waits and deploy sequences at once.
pub struct KubernetesJob {
    config: ProviderConfig,
    cluster: Cluster,
    log: EngineLog,
    cancel: CancellationToken,
}

impl KubernetesJob {
    /// The resource under `config`, logging through `log`. No connection is made until one is
    /// needed.
    pub fn new(config: ProviderConfig, log: EngineLog) -> Self {
        let cluster = Cluster::new(config.cluster.clone());
        Self {
            config,
            cluster,
            log,
            cancel: CancellationToken::new(),
        }
    }

    /// The same resource, stopped by `cancel`: once it is cancelled, a wait or deploy sequence
    /// in flight ends at once and Create and Update answer a partial failure with what exists
    /// (`jobStatus` `Running` when the Job was seen running).
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }

    /// The configuration it runs under.
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// The store references resolve through: the configured `backend`, else the configured
    /// `stateDir`, else `$KJOB_BACKEND`, else the default directory when it exists.
    fn reference_store(&self) -> Option<Box<dyn state::Store>> {
        let backend = match (&self.config.backend, &self.config.state_dir) {
            (Some(url), _) => crate::core::backend::parse(url),
            (None, Some(dir)) => Ok(state::Backend::File(dir.clone())),
            (None, None) => match state::resolve_backend(None, None) {
                Ok(state::Backend::File(dir)) if !dir.is_dir() => return None,
                Ok(b) => Ok(b),
                Err(e) => Err(e.to_string()),
            },
        };
        match backend.map(|b| state::open(&b, self.config.cluster.clone())) {
            Ok(Ok(store)) => Some(store),
            Ok(Err(e)) => {
                tracing::warn!("{e}");
                None
            }
            Err(e) => {
                tracing::warn!("{e}");
                None
            }
        }
    }

    /// Checks new inputs: defaults, references (resolved from the CLI's state store too: the
    /// configured `stateDir`, else the default one when it exists), validation.
    pub fn check(&self, request: CheckRequest) -> CheckResult {
        let store = self.reference_store();
        let sources: Vec<&dyn Source> = store.iter().map(|s| s.as_ref() as &dyn Source).collect();
        let checked = inputs::check(&request.news.value, &request.name, &sources);
        CheckResult {
            inputs: Properties::with_secret_fields(checked.inputs, &request.news.secrets),
            failures: checked.failures,
        }
    }

    /// Compares the outputs in state with new inputs: what changes, what replaces, and whether
    /// the Job runs again although nothing changed ([`outcome::rerun_reason`]).
    pub fn diff(&self, request: &DiffRequest) -> DiffResult {
        let InputDiff {
            mut detailed,
            mut diffs,
            mut replaces,
        } = input_diff(Kind::KubernetesJob, request);
        let recorded = JobStatus::of_outputs(&request.olds, inputs::OUT_JOB_STATUS);
        if let Some(why) = outcome::rerun_reason(recorded, &outcome::annotations_of(&request.news))
        {
            tracing::debug!("replacing {}: {why}", request.urn);
            let change = PropertyChange {
                kind: ChangeKind::Update,
                replace: true,
                input_diff: false,
            };
            detailed.insert(inputs::OUT_JOB_STATUS.into(), change);
            diffs.push(inputs::OUT_JOB_STATUS.into());
            replaces.push(inputs::OUT_JOB_STATUS.into());
        }
        DiffResult {
            delete_before_replace: !replaces.is_empty(),
            diffs,
            replaces,
            detailed,
        }
    }

    /// Creates the resource's objects and (unless waiting is off) waits for its Job; a preview
    /// only says what the outputs will be.
    pub async fn create(&self, request: CreateRequest) -> Result<CreateResult, ResourceError> {
        let CreateRequest {
            urn,
            name,
            inputs: props,
            timeout,
            preview,
        } = request;
        if preview {
            let rendered = prepare(&props.value, &name, &urn);
            self.server_preview(&urn, rendered, &props.value, true)
                .await?;
            let namespace = known(props.value.pointer("/spec/namespace/value"));
            let job_name = known(props.value.pointer("/metadata/name"));
            let outputs = inputs::outputs(&props.value, namespace, job_name);
            return Ok(CreateResult {
                id: String::new(),
                outputs: Properties::with_secret_fields(outputs, &props.secrets),
            });
        }
        let rendered = prepare(&props.value, &name, &urn).map_err(ResourceError::Invalid)?;
        let (id, outputs) = self
            .converge(Converge {
                verb: "creating",
                urn: &urn,
                props: &props,
                rendered: &rendered,
                previous: &[],
                adopt: false,
                timeout,
            })
            .await?;
        Ok(CreateResult { id, outputs })
    }

    /// Applies the new inputs over the old (pruning what they no longer render) and (unless
    /// waiting is off) waits for the Job; a preview only says what the outputs will be.
    pub async fn update(&self, request: UpdateRequest) -> Result<UpdateResult, ResourceError> {
        let UpdateRequest {
            urn,
            name,
            olds,
            news,
            timeout,
            preview,
        } = request;
        if preview {
            let rendered = prepare(&news.value, &name, &urn);
            self.server_preview(&urn, rendered, &news.value, false)
                .await?;
            let namespace = known(news.value.pointer("/spec/namespace/value"));
            let job_name = news.value.pointer("/metadata/name").and_then(Value::as_str);
            let outputs = inputs::outputs(&news.value, namespace, job_name);
            return Ok(UpdateResult {
                outputs: Properties::with_secret_fields(outputs, &news.secrets),
            });
        }
        let rendered = prepare(&news.value, &name, &urn).map_err(ResourceError::Invalid)?;
        let previous: Vec<ObjectRef> = prepare(&inputs::inputs_of_outputs(&olds), &name, &urn)
            .map(|p| p.ids())
            .unwrap_or_default();
        let (_, outputs) = self
            .converge(Converge {
                verb: "updating",
                urn: &urn,
                props: &news,
                rendered: &rendered,
                previous: &previous,
                adopt: inputs::adopts(&olds),
                timeout,
            })
            .await?;
        Ok(UpdateResult { outputs })
    }

    /// Deletes what the resource owns: the objects its inputs render and what a failed Update
    /// left behind under its labels; never an object without them.
    pub async fn delete(&self, request: DeleteRequest) -> Result<(), ResourceError> {
        let DeleteRequest {
            urn,
            name,
            id,
            olds,
        } = request;
        let prepared = prepare(&inputs::inputs_of_outputs(&olds), &name, &urn).map_err(|e| {
            ResourceError::Invalid(format!("cannot tell what KubernetesJob {id} created: {e}"))
        })?;
        let home = prepared.home.clone().unwrap_or_default();
        self.delete_rendered(&urn, &id, &prepared, &home, inputs::adopts(&olds))
            .await
    }

    /// Deletes the objects `prepared` holds and what an earlier, failed run left in `home` under
    /// the owner's label (after taking them over when `adopt`: imported and never updated).
    async fn delete_rendered(
        &self,
        urn: &str,
        id: &str,
        prepared: &Rendered,
        home: &str,
        adopt: bool,
    ) -> Result<(), ResourceError> {
        let failed = |e: &dyn std::fmt::Display| {
            ResourceError::Failed(format!("deleting {} {id}: {e}", prepared.kind))
        };
        let mut objects: Vec<ObjectRef> = prepared.ids();
        // Also what a failed Update left behind (its state holds only the new inputs); deleted
        // first, as the list is worked from its end.
        let kinds = prepared.kind.namespaced_objects();
        let extra = deploy::leftovers(&self.cluster, home, kinds, &prepared.owner, &objects)
            .await
            .map_err(|e| failed(&e))?;
        objects.extend(extra);
        let mut observer = EngineObserver::new(&self.log, urn);
        if adopt {
            // Imported and never updated: the objects still carry their former owner's
            // identity. Take them over first, so that the delete below may remove them.
            let takeover = deploy::Takeover { adopt: true };
            deploy::apply(
                &self.cluster,
                prepared,
                &objects,
                &[],
                takeover,
                &mut observer,
                &self.cancel,
            )
            .await
            .map_err(|e| failed(&e.source))?;
        }
        let result = deploy::delete(
            &self.cluster,
            &objects,
            &prepared.owner,
            &mut observer,
            &self.cancel,
        )
        .await;
        observer.flush().await;
        result.map_err(|e| failed(&e.source))
    }
}

/// What changed between a resource's recorded outputs and its new inputs, under its kind's
/// replace rules.
struct InputDiff {
    detailed: BTreeMap<String, PropertyChange>,
    diffs: Vec<String>,
    replaces: Vec<String>,
}

fn input_diff(kind: Kind, request: &DiffRequest) -> InputDiff {
    let olds = inputs::inputs_of_outputs_of(kind, &request.olds);
    let ignore: Vec<_> = request
        .ignore_changes
        .iter()
        .map(|p| diff::parse_property_path(p))
        .collect();
    let result = diff::diff_with(
        kind.replace_rules(),
        &olds,
        &request.news,
        &ignore,
        &values::is_unknown,
    );
    let detailed = result
        .changes
        .iter()
        .map(|c| {
            let change = PropertyChange {
                kind: c.kind,
                replace: c.replace,
                input_diff: true,
            };
            (c.path.to_string(), change)
        })
        .collect();
    InputDiff {
        detailed,
        diffs: result.top_level(),
        replaces: result.replace_keys(),
    }
}

/// A string value that is known (not an unknown placeholder of a preview).
fn known(value: Option<&Value>) -> Option<&str> {
    value
        .and_then(Value::as_str)
        .filter(|s| !values::is_unknown(&Value::from(*s)))
}

/// What a KubernetesJob deploys, from its (revealed) checked inputs, owned by the resource `urn`.
fn prepare(inputs_value: &Value, name: &str, urn: &str) -> Result<Rendered, String> {
    prepare_kind(Kind::KubernetesJob, inputs_value, name, urn).map(|(_, rendered)| rendered)
}

/// What a resource of `kind` deploys, from its (revealed) checked inputs, owned by the resource
/// `urn`, with the check's result (its outputs).
fn prepare_kind(
    kind: Kind,
    inputs_value: &Value,
    name: &str,
    urn: &str,
) -> Result<(inputs::CheckedInputs, Rendered), String> {
    let checked = inputs::check_kind(kind, inputs_value, name, &[]);
    if !checked.failures.is_empty() {
        let list: Vec<String> = checked.failures.iter().map(ToString::to_string).collect();
        return Err(format!("the inputs do not check: {}", list.join("; ")));
    }
    let options = RenderOptions {
        docker_config_json: inputs_value
            .get(inputs::DOCKER_CONFIG_JSON)
            .and_then(Value::as_str)
            .map(str::to_owned),
        stack: inputs::stack_of_urn(urn),
    };
    let rendered = checked.checked.render(&options)?;
    Ok((checked, rendered))
}

#[cfg(test)]
mod tests;
