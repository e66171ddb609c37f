//! One typed harness for the provider's gRPC service, driven as the engine drives it: the
//! pulumirpc requests are built here and nowhere else. [`Provider`] starts the service in this
//! process (or wraps a client of a launched binary) and has one typed call per RPC;
//! [`super::lifecycle::Lifecycle`] runs a resource's whole life through it.

use std::collections::BTreeMap;

use kjob::api::google_rpc;
use kjob::api::pulumirpc::resource_provider_client::ResourceProviderClient;
use kjob::api::pulumirpc::resource_provider_server::ResourceProviderServer;
use kjob::api::pulumirpc::{
    self as rpc, ErrorResourceInitFailed, diff_response::DiffChanges, property_diff::Kind,
};
use kjob::cluster::{Cluster, ClusterConfig};
use kjob::provider::values::{from_struct, to_struct};
use prost::Message;
use serde_json::Value;
use tonic::transport::Channel;

use super::lifecycle::ExpectDiff;

/// The resource type the provider serves.
pub const TYPE: &str = kjob::schema::RESOURCE_TOKEN;

/// A configured provider and the stack its URNs name.
#[derive(Clone)]
pub struct Provider {
    client: ResourceProviderClient<Channel>,
    kubeconfig: String,
    stack: String,
}

/// How an RPC failed: a plain error, or a partial failure (`ErrorResourceInitFailed`): the
/// resource exists and the engine records these outputs.
#[derive(Debug, Clone)]
pub enum Failure {
    /// A status without the detail.
    Plain {
        /// Its code.
        code: tonic::Code,
        /// Its message.
        message: String,
    },
    /// A status with `ErrorResourceInitFailed`.
    Partial(Partial),
}

/// A partial failure's detail.
#[derive(Debug, Clone)]
pub struct Partial {
    /// The status message.
    pub message: String,
    /// The resource's ID.
    pub id: String,
    /// The outputs the engine records (wire JSON: secrets wrapped).
    pub outputs: Value,
    /// The reasons.
    pub reasons: Vec<String>,
}

impl Failure {
    /// Decodes a status.
    pub fn of(status: tonic::Status) -> Failure {
        let detail = google_rpc::Status::decode(status.details())
            .ok()
            .and_then(|s| {
                s.details
                    .into_iter()
                    .find(|d| d.type_url.ends_with("pulumirpc.ErrorResourceInitFailed"))
            });
        if let Some(detail) = &detail {
            assert_eq!(
                detail.type_url, "type.googleapis.com/pulumirpc.ErrorResourceInitFailed",
                "{status:?}"
            );
        }
        match detail.and_then(|d| ErrorResourceInitFailed::decode(d.value.as_slice()).ok()) {
            Some(p) => Failure::Partial(Partial {
                message: status.message().to_owned(),
                id: p.id,
                outputs: from_struct(&p.properties.unwrap_or_default()),
                reasons: p.reasons,
            }),
            None => Failure::Plain {
                code: status.code(),
                message: status.message().to_owned(),
            },
        }
    }

    /// The status message.
    pub fn message(&self) -> &str {
        match self {
            Failure::Plain { message, .. } | Failure::Partial(Partial { message, .. }) => message,
        }
    }

    /// The partial failure's detail; panics on a plain failure.
    #[track_caller]
    pub fn partial(self) -> Partial {
        match self {
            Failure::Partial(p) => p,
            Failure::Plain { code, message } => {
                panic!("expected a partial failure, got a plain {code:?}: {message}")
            }
        }
    }
}

/// What Diff answered, typed.
#[derive(Debug, Clone)]
pub struct DiffSummary {
    /// DIFF_NONE, DIFF_SOME or DIFF_UNKNOWN.
    pub changes: DiffChanges,
    /// The changed top-level properties.
    pub diffs: Vec<String>,
    /// Those that replace.
    pub replaces: Vec<String>,
    /// Whether the old resource goes first.
    pub delete_before_replace: bool,
    /// The kind of each changed property, by path.
    pub detailed: BTreeMap<String, Kind>,
    /// The response as it came.
    pub raw: rpc::DiffResponse,
}

impl DiffSummary {
    /// What the engine does with it.
    pub fn expect(&self) -> ExpectDiff {
        match (self.changes, self.replaces.is_empty()) {
            (DiffChanges::DiffNone, _) => ExpectDiff::None,
            (DiffChanges::DiffSome, true) => ExpectDiff::Update,
            (DiffChanges::DiffSome, false) => ExpectDiff::Replace,
            (DiffChanges::DiffUnknown, _) => panic!("the provider always knows: {self:?}"),
        }
    }
}

/// What Read answered.
#[derive(Debug, Clone)]
pub struct ReadSummary {
    /// The ID (empty: the resource is gone).
    pub id: String,
    /// The outputs (`Null` when none came).
    pub outputs: Value,
    /// The inputs, when some came.
    pub inputs: Option<Value>,
}

impl Provider {
    /// The service started in this process on a free loopback port, configured with `config`
    /// plus the test bed's kubeconfig.
    pub async fn start(config: Value) -> Provider {
        Provider::start_on(&super::kubeconfig(), config).await
    }

    /// The same on the cluster of `kubeconfig`.
    pub async fn start_on(kubeconfig: &str, config: Value) -> Provider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let service = ResourceProviderServer::new(kjob::provider::service::KjobProvider::new(
            kjob::provider::engine::EngineLog::default(),
            Default::default(),
        ));
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        let client = ResourceProviderClient::connect(format!("http://{addr}"))
            .await
            .unwrap();
        Provider::configure(client, kubeconfig, config).await
    }

    /// A provider reached through `client` (a launched binary, say), configured with `config`
    /// plus `kubeconfig`.
    pub async fn configure(
        mut client: ResourceProviderClient<Channel>,
        kubeconfig: &str,
        mut config: Value,
    ) -> Provider {
        config["kubeconfig"] = Value::from(kubeconfig);
        client
            .configure(rpc::ConfigureRequest {
                args: Some(to_struct(&config)),
                accept_secrets: true,
                accept_resources: true,
                ..Default::default()
            })
            .await
            .expect("Configure succeeds");
        Provider {
            client,
            kubeconfig: kubeconfig.to_owned(),
            stack: "test".into(),
        }
    }

    /// The same provider naming stack `stack` in its URNs.
    pub fn with_stack(mut self, stack: &str) -> Provider {
        self.stack = stack.to_owned();
        self
    }

    /// A client of the service (they share one connection).
    pub fn client(&self) -> ResourceProviderClient<Channel> {
        self.client.clone()
    }

    /// A client of the cluster the provider is configured for.
    pub fn cluster(&self) -> Cluster {
        Cluster::new(ClusterConfig {
            kubeconfig: Some(self.kubeconfig.clone()),
            context: None,
            ..ClusterConfig::default()
        })
    }

    /// The URN of resource `name`.
    pub fn urn(&self, name: &str) -> String {
        format!("urn:pulumi:{}::proj::{TYPE}::{name}", self.stack)
    }

    /// Check: the checked inputs (wire JSON) and the failures as (property, reason).
    pub async fn check(&self, name: &str, news: &Value) -> (Value, Vec<(String, String)>) {
        let resp = self
            .client()
            .check(rpc::CheckRequest {
                urn: self.urn(name),
                news: Some(to_struct(news)),
                name: name.into(),
                r#type: TYPE.into(),
                ..Default::default()
            })
            .await
            .expect("bad inputs are not an RPC error")
            .into_inner();
        let failures = resp
            .failures
            .into_iter()
            .map(|f| (f.property, f.reason))
            .collect();
        (
            resp.inputs.as_ref().map_or(Value::Null, from_struct),
            failures,
        )
    }

    /// Check, asserting that the inputs check.
    pub async fn check_ok(&self, name: &str, news: &Value) -> Value {
        let (inputs, failures) = self.check(name, news).await;
        assert!(failures.is_empty(), "{name}: {failures:?}");
        inputs
    }

    /// Diff of the outputs in state `olds` with new checked inputs.
    pub async fn diff(&self, name: &str, id: &str, olds: &Value, news: &Value) -> DiffSummary {
        let raw = self
            .client()
            .diff(rpc::DiffRequest {
                id: id.into(),
                urn: self.urn(name),
                olds: Some(to_struct(olds)),
                news: Some(to_struct(news)),
                name: name.into(),
                r#type: TYPE.into(),
                ..Default::default()
            })
            .await
            .expect("Diff")
            .into_inner();
        DiffSummary {
            changes: DiffChanges::try_from(raw.changes).expect("a DiffChanges"),
            diffs: raw.diffs.clone(),
            replaces: raw.replaces.clone(),
            delete_before_replace: raw.delete_before_replace,
            detailed: raw
                .detailed_diff
                .iter()
                .map(|(k, v)| (k.clone(), Kind::try_from(v.kind).expect("a diff kind")))
                .collect(),
            raw,
        }
    }

    async fn create_request(
        &self,
        name: &str,
        inputs: &Value,
        timeout: f64,
        preview: bool,
    ) -> Result<(String, Value), Failure> {
        let resp = self
            .client()
            .create(rpc::CreateRequest {
                urn: self.urn(name),
                properties: Some(to_struct(inputs)),
                name: name.into(),
                r#type: TYPE.into(),
                timeout,
                preview,
                ..Default::default()
            })
            .await
            .map_err(Failure::of)?
            .into_inner();
        Ok((
            resp.id,
            resp.properties.as_ref().map_or(Value::Null, from_struct),
        ))
    }

    /// Create in a preview: (ID, outputs).
    pub async fn preview_create(&self, name: &str, inputs: &Value) -> (String, Value) {
        self.create_request(name, inputs, 0.0, true)
            .await
            .unwrap_or_else(|f| panic!("preview Create {name}: {f:?}"))
    }

    /// A preview Create (`pulumi preview`), which may fail (`serverPreview`).
    pub async fn try_preview_create(
        &self,
        name: &str,
        inputs: &Value,
    ) -> Result<(String, Value), Failure> {
        self.create_request(name, inputs, 0.0, true).await
    }

    /// Create, waiting at most `timeout` seconds (0: the provider's default): (ID, outputs).
    pub async fn create(
        &self,
        name: &str,
        inputs: &Value,
        timeout: f64,
    ) -> Result<(String, Value), Failure> {
        self.create_request(name, inputs, timeout, false).await
    }

    async fn update_request(
        &self,
        name: &str,
        id: &str,
        (olds, news): (&Value, &Value),
        timeout: f64,
        preview: bool,
    ) -> Result<Value, Failure> {
        let resp = self
            .client()
            .update(rpc::UpdateRequest {
                id: id.into(),
                urn: self.urn(name),
                olds: Some(to_struct(olds)),
                news: Some(to_struct(news)),
                name: name.into(),
                r#type: TYPE.into(),
                timeout,
                preview,
                ..Default::default()
            })
            .await
            .map_err(Failure::of)?
            .into_inner();
        Ok(resp.properties.as_ref().map_or(Value::Null, from_struct))
    }

    /// Update in a preview: the outputs.
    pub async fn preview_update(&self, name: &str, id: &str, olds: &Value, news: &Value) -> Value {
        self.update_request(name, id, (olds, news), 0.0, true)
            .await
            .unwrap_or_else(|f| panic!("preview Update {name}: {f:?}"))
    }

    /// Update from the outputs in state `olds` to new checked inputs: the new outputs.
    pub async fn update(
        &self,
        name: &str,
        id: &str,
        olds: &Value,
        news: &Value,
        timeout: f64,
    ) -> Result<Value, Failure> {
        self.update_request(name, id, (olds, news), timeout, false)
            .await
    }

    /// Read: a refresh with the outputs in state, or an import with none.
    pub async fn read(&self, name: &str, id: &str, properties: Option<&Value>) -> ReadSummary {
        let resp = self
            .client()
            .read(rpc::ReadRequest {
                id: id.into(),
                urn: self.urn(name),
                properties: properties.map(to_struct),
                ..Default::default()
            })
            .await
            .expect("Read")
            .into_inner();
        ReadSummary {
            id: resp.id,
            outputs: resp.properties.as_ref().map_or(Value::Null, from_struct),
            inputs: resp.inputs.as_ref().map(from_struct),
        }
    }

    /// Delete of the resource with the outputs in state `olds`.
    pub async fn delete(&self, name: &str, id: &str, olds: &Value) -> Result<(), Failure> {
        self.client()
            .delete(rpc::DeleteRequest {
                id: id.into(),
                urn: self.urn(name),
                properties: Some(to_struct(olds)),
                name: name.into(),
                r#type: TYPE.into(),
                ..Default::default()
            })
            .await
            .map_err(Failure::of)?;
        Ok(())
    }
}
