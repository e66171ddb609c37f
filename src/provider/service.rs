//! The `pulumirpc.ResourceProvider` service: the wire front end of [`KubernetesJob`] and
//! [`res::KubernetesNamespace`], chosen by the request's type token (or its URN). Each
//! resource RPC decodes its request (Struct to JSON, secrets revealed and their paths kept),
//! calls the resource's typed function, encodes the answer (JSON to Struct, the secret paths
//! wrapped again) and maps a [`res::ResourceError`] to a status (a partial failure carries
//! `ErrorResourceInitFailed`). The decisions are the resource's.

mod wire;

use std::sync::Arc;

use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::api::pulumirpc::resource_provider_server::ResourceProvider;
use crate::api::pulumirpc::{
    self as rpc, CheckRequest, CheckResponse, ConfigureRequest, ConfigureResponse, CreateRequest,
    CreateResponse, DeleteRequest, DiffRequest, DiffResponse, GetSchemaRequest, GetSchemaResponse,
    PluginAttach, PluginInfo, PropertyDiff, ProviderHandshakeRequest, ProviderHandshakeResponse,
    ReadRequest, ReadResponse, UpdateRequest, UpdateResponse, diff_response::DiffChanges,
    property_diff::Kind as DiffKind,
};
use crate::kinds::Kind;
use crate::provider::config::{self, ProviderConfig};
use crate::provider::engine::EngineLog;
use crate::provider::resource::{self as res, KubernetesJob, Properties};
use crate::provider::values;
use wire::{
    decode, diff_response, encode, failures_to_rpc, resource_kind, resource_name, status,
    timeout_from,
};

/// The provider's state: the resource under the current configuration, the engine log, and
/// the cancellation token every resource operation is stopped by.
pub struct KjobProvider {
    resource: RwLock<Arc<KubernetesJob>>,
    log: EngineLog,
    cancel: CancellationToken,
}

impl KjobProvider {
    /// A provider that logs through `log` and cancels `cancel` on Cancel: the operations in
    /// flight stop (Create and Update answer a partial failure with what exists), and the
    /// server that watches the token ([`crate::provider::serve`]) shuts down.
    pub fn new(log: EngineLog, cancel: CancellationToken) -> Self {
        let config = ProviderConfig {
            wait: true,
            ..Default::default()
        };
        let resource = KubernetesJob::new(config, log.clone()).with_cancel(cancel.clone());
        Self {
            resource: RwLock::new(Arc::new(resource)),
            log,
            cancel,
        }
    }

    async fn resource(&self) -> Arc<KubernetesJob> {
        self.resource.read().await.clone()
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
        let failures = config::check(&decode(request.news.as_ref()).value);
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
        let olds = decode(request.old_inputs.as_ref().or(request.olds.as_ref())).value;
        let news = decode(request.news.as_ref()).value;
        let changed = config::changed_keys(&olds, &news);
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
        let resource =
            KubernetesJob::new(parsed, self.log.clone()).with_cancel(self.cancel.clone());
        *self.resource.write().await = Arc::new(resource);
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
        let kind = resource_kind(&request.r#type, &request.urn)?;
        let resource = self.resource().await;
        let check = res::CheckRequest {
            name: resource_name(&request.name, &request.urn),
            news: decode(request.news.as_ref()),
        };
        let checked = match kind {
            Kind::KubernetesJob => resource.check(check),
            Kind::KubernetesNamespace => resource.namespaces().check(check),
        };
        Ok(Response::new(CheckResponse {
            inputs: Some(encode(&checked.inputs)),
            failures: failures_to_rpc(&checked.failures),
        }))
    }

    async fn diff(&self, request: Request<DiffRequest>) -> Result<Response<DiffResponse>, Status> {
        let request = request.into_inner();
        let kind = resource_kind(&request.r#type, &request.urn)?;
        let resource = self.resource().await;
        let diff = res::DiffRequest {
            olds: decode(request.olds.as_ref()).value,
            news: decode(request.news.as_ref()).value,
            ignore_changes: request.ignore_changes,
            urn: request.urn,
        };
        let result = match kind {
            Kind::KubernetesJob => resource.diff(&diff),
            Kind::KubernetesNamespace => resource.namespaces().diff(&diff),
        };
        Ok(Response::new(diff_response(result)))
    }

    async fn create(
        &self,
        request: Request<CreateRequest>,
    ) -> Result<Response<CreateResponse>, Status> {
        let request = request.into_inner();
        let kind = resource_kind(&request.r#type, &request.urn)?;
        let resource = self.resource().await;
        let create = res::CreateRequest {
            name: resource_name(&request.name, &request.urn),
            inputs: decode(request.properties.as_ref()),
            timeout: timeout_from(request.timeout),
            preview: request.preview,
            urn: request.urn,
        };
        let created = match kind {
            Kind::KubernetesJob => resource.create(create).await,
            Kind::KubernetesNamespace => resource.namespaces().create(create).await,
        }
        .map_err(status)?;
        Ok(Response::new(CreateResponse {
            id: created.id,
            properties: Some(encode(&created.outputs)),
            refresh_before_update: false,
        }))
    }

    async fn read(&self, request: Request<ReadRequest>) -> Result<Response<ReadResponse>, Status> {
        let request = request.into_inner();
        let previous = match &request.properties {
            Some(properties) => decode(Some(properties)),
            None => Properties::new(serde_json::Value::Null, Vec::new()),
        };
        let kind = resource_kind("", &request.urn)?;
        let resource = self.resource().await;
        let read = res::ReadRequest {
            urn: request.urn,
            id: request.id,
            previous,
            has_inputs: request
                .inputs
                .as_ref()
                .is_some_and(|s| !s.fields.is_empty()),
        };
        let read = match kind {
            Kind::KubernetesJob => resource.read(read).await,
            Kind::KubernetesNamespace => resource.namespaces().read(read).await,
        }
        .map_err(status)?;
        Ok(Response::new(match read {
            // Gone: an empty ID tells the engine to drop the resource from state.
            None => ReadResponse::default(),
            Some(res::ReadResult {
                id,
                outputs,
                inputs,
            }) => ReadResponse {
                id,
                properties: Some(encode(&outputs)),
                inputs: match inputs {
                    Some(rebuilt) => Some(encode(&rebuilt)),
                    None => request.inputs,
                },
                refresh_before_update: false,
            },
        }))
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
        let kind = resource_kind(&request.r#type, &request.urn)?;
        let resource = self.resource().await;
        let update = res::UpdateRequest {
            name: resource_name(&request.name, &request.urn),
            olds: decode(request.olds.as_ref()).value,
            news: decode(request.news.as_ref()),
            timeout: timeout_from(request.timeout),
            preview: request.preview,
            urn: request.urn,
        };
        let updated = match kind {
            Kind::KubernetesJob => resource.update(update).await,
            Kind::KubernetesNamespace => resource.namespaces().update(update).await,
        }
        .map_err(status)?;
        Ok(Response::new(UpdateResponse {
            properties: Some(encode(&updated.outputs)),
            refresh_before_update: false,
        }))
    }

    async fn delete(&self, request: Request<DeleteRequest>) -> Result<Response<()>, Status> {
        let request = request.into_inner();
        let kind = resource_kind(&request.r#type, &request.urn)?;
        let resource = self.resource().await;
        let delete = res::DeleteRequest {
            name: resource_name(&request.name, &request.urn),
            id: request.id,
            olds: decode(request.properties.as_ref()).value,
            urn: request.urn,
        };
        match kind {
            Kind::KubernetesJob => resource.delete(delete).await,
            Kind::KubernetesNamespace => resource.namespaces().delete(delete).await,
        }
        .map_err(status)?;
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
        tracing::debug!("cancelled by the engine");
        self.cancel.cancel();
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

#[cfg(test)]
mod tests;
