//! The `pulumirpc.ResourceProvider` service: a thin translation between the protocol and the
//! crate's pure core ([`inputs`], [`crate::kinds::job`], [`crate::kinds::job::render`], [`crate::core::diff`]) and shells
//! ([`crate::deploy`], [`crate::cluster`]).

use std::sync::Arc;

use prost::Message;
use serde_json::Value;
use tokio::sync::{Notify, RwLock};
use tonic::{Request, Response, Status};

use crate::api::google_rpc;
use crate::api::pulumirpc::resource_provider_server::ResourceProvider;
use crate::api::pulumirpc::{
    self as rpc, CheckFailure, CheckRequest, CheckResponse, ConfigureRequest, ConfigureResponse,
    CreateRequest, CreateResponse, DeleteRequest, DiffRequest, DiffResponse,
    ErrorResourceInitFailed, GetSchemaRequest, GetSchemaResponse, PluginAttach, PluginInfo,
    PropertyDiff, ProviderHandshakeRequest, ProviderHandshakeResponse, ReadRequest, ReadResponse,
    UpdateRequest, UpdateResponse, diff_response::DiffChanges, property_diff::Kind as DiffKind,
};
use crate::cluster::Cluster;
use crate::core::diff::{self, ChangeKind};
use crate::core::objects::ObjectRef;
use crate::core::outcome::{self, Event, JobStatus};
use crate::core::path::Failure;
use crate::deploy::{self, Observer};
use crate::kinds::{RenderOptions, Rendered};
use crate::provider::engine::EngineLog;
use crate::provider::{config, inputs, values};
use crate::wait;

/// The type token of the one resource this provider serves.
pub const RESOURCE_TYPE: &str = "kjob:index:KubernetesJob";

struct Configured {
    config: config::ProviderConfig,
    cluster: Arc<Cluster>,
}

/// The provider's state: its configuration, cluster client and engine log.
pub struct KjobProvider {
    configured: RwLock<Configured>,
    log: EngineLog,
    shutdown: Arc<Notify>,
}

impl KjobProvider {
    /// A provider that logs through `log` and signals `shutdown` on Cancel.
    pub fn new(log: EngineLog, shutdown: Arc<Notify>) -> Self {
        let config = config::ProviderConfig {
            wait: true,
            ..Default::default()
        };
        let cluster = Arc::new(Cluster::new(config.cluster.clone()));
        Self {
            configured: RwLock::new(Configured { config, cluster }),
            log,
            shutdown,
        }
    }

    async fn cluster(&self) -> Arc<Cluster> {
        self.configured.read().await.cluster.clone()
    }
}

fn failures_to_rpc(failures: &[Failure]) -> Vec<CheckFailure> {
    failures
        .iter()
        .map(|f| CheckFailure {
            property: f.path.to_string(),
            reason: f.reason.clone(),
        })
        .collect()
}

fn struct_or_empty(s: &Option<prost_types::Struct>) -> Value {
    s.as_ref()
        .map(values::from_struct)
        .unwrap_or_else(|| Value::Object(Default::default()))
}

/// Resource name from a request, falling back to the URN's last segment.
fn resource_name(name: &str, urn: &str) -> String {
    if !name.is_empty() {
        return name.to_owned();
    }
    urn.rsplit("::").next().unwrap_or_default().to_owned()
}

/// Outputs with secrets concealed: those the engine marked, plus those always secret.
fn conceal(mut value: Value, marked: &[crate::core::path::PropertyPath]) -> Value {
    let mut paths = marked.to_vec();
    paths.extend(crate::core::secrets::secret_paths(&value));
    values::conceal(&mut value, &paths);
    value
}

fn check_type(ty: &str, urn: &str) -> Result<(), Status> {
    let ok = if ty.is_empty() {
        urn.contains(&format!("::{RESOURCE_TYPE}::")) || urn.is_empty()
    } else {
        ty == RESOURCE_TYPE
    };
    if ok {
        Ok(())
    } else {
        Err(Status::invalid_argument(format!(
            "unknown resource type {ty:?} (urn {urn}); this provider serves {RESOURCE_TYPE}"
        )))
    }
}

/// What a resource deploys, from its (revealed) checked inputs.
fn prepare(inputs_value: &Value, name: &str) -> Result<Rendered, String> {
    let checked = inputs::check(inputs_value, name, &[]);
    if !checked.failures.is_empty() {
        let list: Vec<String> = checked.failures.iter().map(ToString::to_string).collect();
        return Err(format!("the inputs do not check: {}", list.join("; ")));
    }
    let options = RenderOptions {
        docker_config_json: inputs_value
            .get(inputs::DOCKER_CONFIG_JSON)
            .and_then(Value::as_str)
            .map(str::to_owned),
    };
    checked.checked.render(&options)
}

/// Encodes a partial failure as Pulumi's ErrorResourceInitFailed status detail.
fn init_failed(id: &str, outputs: &Value, reasons: Vec<String>) -> Status {
    let detail = ErrorResourceInitFailed {
        id: id.to_owned(),
        properties: Some(values::to_struct(outputs)),
        reasons: reasons.clone(),
        inputs: None,
        refresh_before_update: false,
    };
    let message = reasons.join("; ");
    let status = google_rpc::Status {
        code: tonic::Code::Unknown as i32,
        message: message.clone(),
        details: vec![prost_types::Any {
            type_url: "type.googleapis.com/pulumirpc.ErrorResourceInitFailed".into(),
            value: detail.encode_to_vec(),
        }],
    };
    Status::with_details(tonic::Code::Unknown, message, status.encode_to_vec().into())
}

/// Logs what the deploy sequence does, through the engine.
struct EngineObserver {
    log: EngineLog,
    urn: String,
    notes: Vec<String>,
}

impl Observer for EngineObserver {
    fn skipped(&mut self, object: &ObjectRef, why: &str) {
        self.notes.push(format!("left {object} alone: {why}"));
    }
}

impl EngineObserver {
    async fn flush(&mut self) {
        for note in self.notes.drain(..) {
            self.log.info(&self.urn, note).await;
        }
    }
}

/// One Create or Update, for [`KjobProvider::converge`].
struct Converge<'a> {
    verb: &'a str,
    urn: &'a str,
    props: &'a Value,
    marked: &'a [crate::core::path::PropertyPath],
    rendered: &'a Rendered,
    previous: &'a [ObjectRef],
    timeout_seconds: f64,
}

impl KjobProvider {
    /// Applies the rendered objects, then (unless waiting is off) waits for the Job to finish.
    /// Returns the outputs with `jobStatus`; a failure after anything was applied is a partial
    /// failure carrying the outputs so far.
    async fn converge(&self, request: Converge<'_>) -> Result<(String, Value), Status> {
        let Converge {
            verb,
            urn,
            props,
            marked,
            rendered,
            previous,
            timeout_seconds,
        } = request;
        let job = rendered
            .job
            .clone()
            .ok_or_else(|| Status::internal("a KubernetesJob renders a Job"))?;
        let id = inputs::resource_id(&job.namespace, &job.name);
        let base = inputs::outputs(props, Some(&job.namespace), Some(&job.name));
        let with_status = |status: JobStatus| {
            let mut out = base.clone();
            out[inputs::OUT_JOB_STATUS] = Value::from(status.word());
            conceal(out, marked)
        };
        let (cluster, wait_enabled) = {
            let configured = self.configured.read().await;
            (configured.cluster.clone(), configured.config.wait)
        };
        let mut observer = EngineObserver {
            log: self.log.clone(),
            urn: urn.to_owned(),
            notes: Vec::new(),
        };
        let applied = deploy::apply(&cluster, rendered, previous, &[], &mut observer).await;
        observer.flush().await;
        if let Err(partial) = applied {
            let reason = format!("{verb} KubernetesJob {id}: {}", partial.source);
            if partial.owned.is_empty() && previous.is_empty() {
                return Err(Status::unknown(reason));
            }
            return Err(init_failed(
                &id,
                &with_status(JobStatus::Unknown),
                vec![reason],
            ));
        }
        let secrets = crate::core::secrets::secret_values(props);
        if !wait_enabled || outcome::wait_disabled(&outcome::annotations_of(props)) {
            let status = wait::current(&cluster, &job)
                .await
                .unwrap_or(JobStatus::Unknown);
            return Ok((id, with_status(status)));
        }
        let timeout = timeout_from(timeout_seconds);
        let log = self.log.clone();
        let urn_owned = urn.to_owned();
        let mut on_event = move |event: Event| {
            let log = log.clone();
            let urn = urn_owned.clone();
            tokio::spawn(async move {
                match event {
                    Event::Progress { active, succeeded, failed } => {
                        log.status(&urn, format!("Waiting for the Job to finish (active: {active}, succeeded: {succeeded}, failed: {failed})")).await
                    }
                    Event::Warning(text) => log.warn(&urn, text).await,
                }
            });
        };
        let waited = wait::outcome(&cluster, &job, timeout, &secrets, &mut on_event).await;
        self.log.status(urn, "").await;
        match waited {
            Ok(status) => Ok((id, with_status(status))),
            Err(unfinished) => {
                let message = match &unfinished.error {
                    wait::WaitError::Failed { .. } | wait::WaitError::Timeout { .. } => {
                        unfinished.error.to_string()
                    }
                    other => format!("{verb} KubernetesJob {id}: {other}"),
                };
                Err(init_failed(
                    &id,
                    &with_status(unfinished.status),
                    vec![message],
                ))
            }
        }
    }
}

/// The wait a Create or Update allows: the engine's timeout in seconds (customTimeouts), else
/// the default; a value that is not a finite positive number of seconds, or is beyond any
/// sensible wait, saturates instead of panicking.
fn timeout_from(seconds: f64) -> std::time::Duration {
    if seconds.is_finite() && seconds > 0.0 {
        std::time::Duration::try_from_secs_f64(seconds).unwrap_or(std::time::Duration::MAX)
    } else {
        outcome::DEFAULT_TIMEOUT
    }
}

#[tonic::async_trait]
impl ResourceProvider for KjobProvider {
    async fn handshake(
        &self,
        request: Request<ProviderHandshakeRequest>,
    ) -> Result<Response<ProviderHandshakeResponse>, Status> {
        let request = request.into_inner();
        if !request.engine_address.is_empty() {
            self.log.connect(&request.engine_address).await;
        }
        Ok(Response::new(ProviderHandshakeResponse {
            accept_secrets: true,
            accept_resources: true,
            accept_outputs: false,
            supports_autonaming_configuration: false,
            ..Default::default()
        }))
    }

    async fn parameterize(
        &self,
        _: Request<rpc::ParameterizeRequest>,
    ) -> Result<Response<rpc::ParameterizeResponse>, Status> {
        Err(Status::unimplemented(
            "Parameterize is not implemented by kjob",
        ))
    }

    async fn get_schema(
        &self,
        _: Request<GetSchemaRequest>,
    ) -> Result<Response<GetSchemaResponse>, Status> {
        let schema = serde_json::to_string(&crate::schema::pulumi_schema())
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(GetSchemaResponse { schema }))
    }

    async fn check_config(
        &self,
        request: Request<CheckRequest>,
    ) -> Result<Response<CheckResponse>, Status> {
        let request = request.into_inner();
        let news = struct_or_empty(&request.news);
        let (plain, _) = values::reveal(&news);
        let failures = match config::parse(&plain) {
            Ok(_) => Vec::new(),
            Err(failures) => failures,
        };
        Ok(Response::new(CheckResponse {
            inputs: request.news,
            failures: failures_to_rpc(&failures),
        }))
    }

    async fn diff_config(
        &self,
        request: Request<DiffRequest>,
    ) -> Result<Response<DiffResponse>, Status> {
        let request = request.into_inner();
        let (olds, _) = values::reveal(&struct_or_empty(&request.old_inputs.or(request.olds)));
        let (news, _) = values::reveal(&struct_or_empty(&request.news));
        let changed: Vec<String> = config::KEYS
            .iter()
            .filter(|k| olds.get(**k) != news.get(**k))
            .map(|k| (*k).to_owned())
            .collect();
        let detailed = changed
            .iter()
            .map(|k| {
                (
                    k.clone(),
                    PropertyDiff {
                        kind: DiffKind::Update as i32,
                        input_diff: true,
                    },
                )
            })
            .collect();
        Ok(Response::new(DiffResponse {
            changes: if changed.is_empty() {
                DiffChanges::DiffNone
            } else {
                DiffChanges::DiffSome
            } as i32,
            diffs: changed,
            detailed_diff: detailed,
            has_detailed_diff: true,
            ..Default::default()
        }))
    }

    async fn configure(
        &self,
        request: Request<ConfigureRequest>,
    ) -> Result<Response<ConfigureResponse>, Status> {
        let request = request.into_inner();
        let args = match &request.args {
            Some(args) => values::reveal(&values::from_struct(args)).0,
            None => config::from_variables(&request.variables),
        };
        let parsed = config::parse(&args).map_err(|failures| {
            let list: Vec<String> = failures.iter().map(ToString::to_string).collect();
            Status::invalid_argument(format!(
                "invalid kjob provider configuration: {}",
                list.join("; ")
            ))
        })?;
        let cluster = Arc::new(Cluster::new(parsed.cluster.clone()));
        *self.configured.write().await = Configured {
            config: parsed,
            cluster,
        };
        Ok(Response::new(ConfigureResponse {
            accept_secrets: true,
            supports_preview: true,
            accept_resources: true,
            accept_outputs: false,
            supports_autonaming_configuration: false,
        }))
    }

    async fn invoke(
        &self,
        _: Request<rpc::InvokeRequest>,
    ) -> Result<Response<rpc::InvokeResponse>, Status> {
        Err(Status::unimplemented(
            "Invoke is not implemented by kjob: it has no functions",
        ))
    }

    async fn call(
        &self,
        _: Request<rpc::CallRequest>,
    ) -> Result<Response<rpc::CallResponse>, Status> {
        Err(Status::unimplemented(
            "Call is not implemented by kjob: it has no methods",
        ))
    }

    async fn check(
        &self,
        request: Request<CheckRequest>,
    ) -> Result<Response<CheckResponse>, Status> {
        let request = request.into_inner();
        check_type(&request.r#type, &request.urn)?;
        let (news, marked) = values::reveal(&struct_or_empty(&request.news));
        let name = resource_name(&request.name, &request.urn);
        // References also resolve from the CLI's state store: the configured stateDir, else the
        // default one when it exists.
        let state_dir = self.configured.read().await.config.state_dir.clone();
        let store = match state_dir {
            Some(dir) => Some(crate::state::Store::new(dir)),
            None => crate::state::resolve_dir(None)
                .ok()
                .map(crate::state::Store::new)
                .filter(crate::state::Store::exists),
        };
        let sources: Vec<&dyn crate::core::refs::Source> = store
            .iter()
            .map(|s| s as &dyn crate::core::refs::Source)
            .collect();
        let checked = inputs::check(&news, &name, &sources);
        let inputs = conceal(checked.inputs, &marked);
        Ok(Response::new(CheckResponse {
            inputs: Some(values::to_struct(&inputs)),
            failures: failures_to_rpc(&checked.failures),
        }))
    }

    async fn diff(&self, request: Request<DiffRequest>) -> Result<Response<DiffResponse>, Status> {
        let request = request.into_inner();
        check_type(&request.r#type, &request.urn)?;
        let (olds_outputs, _) = values::reveal(&struct_or_empty(&request.olds));
        let (news, _) = values::reveal(&struct_or_empty(&request.news));
        let olds = inputs::inputs_of_outputs(&olds_outputs);
        let ignore: Vec<_> = request
            .ignore_changes
            .iter()
            .map(|p| diff::parse_property_path(p))
            .collect();
        let result = diff::diff(&olds, &news, &ignore, &values::is_unknown);
        let detailed = result
            .changes
            .iter()
            .map(|c| {
                let kind = match (c.kind, c.replace) {
                    (ChangeKind::Add, false) => DiffKind::Add,
                    (ChangeKind::Add, true) => DiffKind::AddReplace,
                    (ChangeKind::Delete, false) => DiffKind::Delete,
                    (ChangeKind::Delete, true) => DiffKind::DeleteReplace,
                    (ChangeKind::Update, false) => DiffKind::Update,
                    (ChangeKind::Update, true) => DiffKind::UpdateReplace,
                };
                (
                    c.path.to_string(),
                    PropertyDiff {
                        kind: kind as i32,
                        input_diff: true,
                    },
                )
            })
            .collect();
        let mut detailed: std::collections::BTreeMap<String, PropertyDiff> = detailed;
        let mut diffs = result.top_level();
        let mut replaces = result.replace_keys();
        let recorded = JobStatus::of_outputs(&olds_outputs, inputs::OUT_JOB_STATUS);
        if let Some(why) = outcome::rerun_reason(recorded, &outcome::annotations_of(&news)) {
            tracing::debug!("replacing {}: {why}", request.urn);
            detailed.insert(
                inputs::OUT_JOB_STATUS.into(),
                PropertyDiff {
                    kind: DiffKind::UpdateReplace as i32,
                    input_diff: false,
                },
            );
            diffs.push(inputs::OUT_JOB_STATUS.into());
            replaces.push(inputs::OUT_JOB_STATUS.into());
        }
        Ok(Response::new(DiffResponse {
            delete_before_replace: !replaces.is_empty(),
            replaces,
            stables: Vec::new(),
            changes: if diffs.is_empty() {
                DiffChanges::DiffNone
            } else {
                DiffChanges::DiffSome
            } as i32,
            diffs,
            detailed_diff: detailed,
            has_detailed_diff: true,
        }))
    }

    async fn create(
        &self,
        request: Request<CreateRequest>,
    ) -> Result<Response<CreateResponse>, Status> {
        let request = request.into_inner();
        check_type(&request.r#type, &request.urn)?;
        let (props, marked) = values::reveal(&struct_or_empty(&request.properties));
        let name = resource_name(&request.name, &request.urn);
        if request.preview {
            let namespace = props
                .pointer("/spec/namespace/value")
                .and_then(Value::as_str)
                .filter(|s| !values::is_unknown(&Value::from(*s)));
            let job_name = props
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .filter(|s| !values::is_unknown(&Value::from(*s)));
            let outputs = conceal(inputs::outputs(&props, namespace, job_name), &marked);
            return Ok(Response::new(CreateResponse {
                id: String::new(),
                properties: Some(values::to_struct(&outputs)),
                refresh_before_update: false,
            }));
        }
        let prepared = prepare(&props, &name).map_err(Status::invalid_argument)?;
        let (id, outputs) = self
            .converge(Converge {
                verb: "creating",
                urn: &request.urn,
                props: &props,
                marked: &marked,
                rendered: &prepared,
                previous: &[],
                timeout_seconds: request.timeout,
            })
            .await?;
        Ok(Response::new(CreateResponse {
            id,
            properties: Some(values::to_struct(&outputs)),
            refresh_before_update: false,
        }))
    }

    async fn read(&self, request: Request<ReadRequest>) -> Result<Response<ReadResponse>, Status> {
        let request = request.into_inner();
        let cluster = self.cluster().await;
        crate::provider::read::read(&cluster, request)
            .await
            .map(Response::new)
    }

    type ListStream = std::pin::Pin<
        Box<dyn tokio_stream::Stream<Item = Result<rpc::ListResponse, Status>> + Send>,
    >;

    async fn list(
        &self,
        _: Request<rpc::ListRequest>,
    ) -> Result<Response<Self::ListStream>, Status> {
        Err(Status::unimplemented("List is not implemented by kjob"))
    }

    async fn update(
        &self,
        request: Request<UpdateRequest>,
    ) -> Result<Response<UpdateResponse>, Status> {
        let request = request.into_inner();
        check_type(&request.r#type, &request.urn)?;
        let (news, marked) = values::reveal(&struct_or_empty(&request.news));
        let (olds, _) = values::reveal(&struct_or_empty(&request.olds));
        let name = resource_name(&request.name, &request.urn);
        if request.preview {
            let namespace = news
                .pointer("/spec/namespace/value")
                .and_then(Value::as_str)
                .filter(|s| !values::is_unknown(&Value::from(*s)));
            let job_name = news.pointer("/metadata/name").and_then(Value::as_str);
            let outputs = conceal(inputs::outputs(&news, namespace, job_name), &marked);
            return Ok(Response::new(UpdateResponse {
                properties: Some(values::to_struct(&outputs)),
                refresh_before_update: false,
            }));
        }
        let prepared = prepare(&news, &name).map_err(Status::invalid_argument)?;
        let previous: Vec<ObjectRef> = prepare(&inputs::inputs_of_outputs(&olds), &name)
            .map(|p| p.ids())
            .unwrap_or_default();
        let (_, outputs) = self
            .converge(Converge {
                verb: "updating",
                urn: &request.urn,
                props: &news,
                marked: &marked,
                rendered: &prepared,
                previous: &previous,
                timeout_seconds: request.timeout,
            })
            .await?;
        Ok(Response::new(UpdateResponse {
            properties: Some(values::to_struct(&outputs)),
            refresh_before_update: false,
        }))
    }

    async fn delete(&self, request: Request<DeleteRequest>) -> Result<Response<()>, Status> {
        let request = request.into_inner();
        check_type(&request.r#type, &request.urn)?;
        let (olds, _) = values::reveal(&struct_or_empty(&request.properties));
        let name = resource_name(&request.name, &request.urn);
        let prepared = prepare(&inputs::inputs_of_outputs(&olds), &name).map_err(|e| {
            Status::invalid_argument(format!(
                "cannot tell what KubernetesJob {} created: {e}",
                request.id
            ))
        })?;
        let mut objects: Vec<ObjectRef> = prepared.ids();
        let home = prepared.home.clone().unwrap_or_default();
        let cluster = self.cluster().await;
        // Also what a failed Update left behind (its state holds only the new inputs); deleted
        // first, as the list is worked from its end.
        let extra = deploy::leftovers(&cluster, &home, &prepared.owner, &objects)
            .await
            .map_err(|e| Status::unknown(format!("deleting KubernetesJob {}: {e}", request.id)))?;
        objects.extend(extra);
        let mut observer = EngineObserver {
            log: self.log.clone(),
            urn: request.urn.clone(),
            notes: Vec::new(),
        };
        let result = deploy::delete(&cluster, &objects, &prepared.owner, &mut observer).await;
        observer.flush().await;
        result.map_err(|e| {
            Status::unknown(format!(
                "deleting KubernetesJob {}: {}",
                request.id, e.source
            ))
        })?;
        Ok(Response::new(()))
    }

    async fn construct(
        &self,
        _: Request<rpc::ConstructRequest>,
    ) -> Result<Response<rpc::ConstructResponse>, Status> {
        Err(Status::unimplemented(
            "Construct is not implemented by kjob: it has no components",
        ))
    }

    async fn cancel(&self, _: Request<()>) -> Result<Response<()>, Status> {
        self.shutdown.notify_waiters();
        Ok(Response::new(()))
    }

    async fn get_plugin_info(&self, _: Request<()>) -> Result<Response<PluginInfo>, Status> {
        Ok(Response::new(PluginInfo {
            version: env!("CARGO_PKG_VERSION").into(),
        }))
    }

    async fn attach(&self, request: Request<PluginAttach>) -> Result<Response<()>, Status> {
        self.log.connect(&request.into_inner().address).await;
        Ok(Response::new(()))
    }

    async fn get_mapping(
        &self,
        _: Request<rpc::GetMappingRequest>,
    ) -> Result<Response<rpc::GetMappingResponse>, Status> {
        Err(Status::unimplemented(
            "GetMapping is not implemented by kjob",
        ))
    }

    async fn get_mappings(
        &self,
        _: Request<rpc::GetMappingsRequest>,
    ) -> Result<Response<rpc::GetMappingsResponse>, Status> {
        Err(Status::unimplemented(
            "GetMappings is not implemented by kjob",
        ))
    }
}
