//! The Kubernetes client: the only module that talks to a cluster.
//!
//! Connection settings follow kubectl: an explicit kubeconfig (a path or the file's contents)
//! and context, else `KUBECONFIG`, `~/.kube/config` or the in-cluster service account. No
//! connection is made until the first call that needs one.

use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::ApiResource;
use kube::{Client, Config};
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::render::{ObjectKind, ObjectRef, labels};

/// The field manager of every server-side apply.
pub const FIELD_MANAGER: &str = "kjob";

/// How to reach a cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterConfig {
    /// A kubeconfig file's path, or its YAML contents.
    pub kubeconfig: Option<String>,
    /// The kubeconfig context to use instead of the current one.
    pub context: Option<String>,
}

/// What went wrong talking to the cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The kubeconfig could not be loaded.
    #[error("cannot load the Kubernetes configuration: {0}")]
    Config(String),
    /// The API server answered with an error, or could not be reached.
    #[error("{action} {object}: {source}")]
    Api {
        /// What we tried.
        action: &'static str,
        /// On which object.
        object: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// An object with our name exists but is not managed by this KubernetesJob.
    #[error("{object} already exists and is not managed by KubernetesJob {owner:?} (it lacks the label {label}={owner}); delete or rename it, or pick another metadata.name")]
    NotOurs {
        /// The object.
        object: ObjectRef,
        /// Our KubernetesJob name.
        owner: String,
        /// The ownership label key.
        label: &'static str,
    },
    /// Waiting took longer than allowed.
    #[error("timed out after {seconds}s waiting for {what}")]
    Timeout {
        /// What we waited for.
        what: String,
        /// How long we waited.
        seconds: u64,
    },
}

impl ClusterError {
    /// The HTTP status code of an API error, if it is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClusterError::Api { source: kube::Error::Api(status), .. } => Some(status.code),
            _ => None,
        }
    }
}

/// A lazily connected cluster client.
pub struct Cluster {
    config: ClusterConfig,
    client: OnceCell<Client>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("context", &self.config.context).field("connected", &self.client.initialized()).finish()
    }
}

fn looks_like_yaml(text: &str) -> bool {
    text.contains('\n') || text.trim_start().starts_with("apiVersion") || text.trim_start().starts_with('{')
}

/// The REST resource of a kind.
pub fn api_resource(kind: ObjectKind) -> ApiResource {
    let (group, version) = match kind {
        ObjectKind::Job => ("batch", "v1"),
        _ => ("", "v1"),
    };
    ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: kind.api_version().into(),
        kind: kind.as_str().into(),
        plural: kind.plural().into(),
    }
}

/// Whether a live object carries the ownership labels of KubernetesJob `owner`.
pub fn is_owned_by(live: &Value, owner: &str) -> bool {
    let labels_of = &live["metadata"]["labels"];
    labels_of[labels::MANAGED_BY] == labels::MANAGED_BY_VALUE && labels_of[labels::OWNER] == owner
}

impl Cluster {
    /// A client for `config`; nothing is contacted yet.
    pub fn new(config: ClusterConfig) -> Self {
        Self { config, client: OnceCell::new() }
    }

    /// The settings this client connects with.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    async fn connect(&self) -> Result<Client, ClusterError> {
        let options = KubeConfigOptions { context: self.config.context.clone(), ..KubeConfigOptions::default() };
        let config = match &self.config.kubeconfig {
            Some(text) if !text.trim().is_empty() => {
                let kubeconfig = if looks_like_yaml(text) {
                    Kubeconfig::from_yaml(text).map_err(|e| ClusterError::Config(format!("kubeconfig contents: {e}")))?
                } else {
                    Kubeconfig::read_from(text).map_err(|e| ClusterError::Config(format!("kubeconfig file {text}: {e}")))?
                };
                Config::from_custom_kubeconfig(kubeconfig, &options).await.map_err(|e| ClusterError::Config(e.to_string()))?
            }
            _ if options.context.is_some() => {
                Config::from_kubeconfig(&options).await.map_err(|e| ClusterError::Config(e.to_string()))?
            }
            _ => Config::infer().await.map_err(|e| ClusterError::Config(e.to_string()))?,
        };
        Client::try_from(config).map_err(|e| ClusterError::Config(e.to_string()))
    }

    /// The connected client (connecting on first use).
    pub async fn client(&self) -> Result<Client, ClusterError> {
        self.client.get_or_try_init(|| self.connect()).await.cloned()
    }

    async fn api(&self, kind: ObjectKind, namespace: Option<&str>) -> Result<Api<DynamicObject>, ClusterError> {
        let client = self.client().await?;
        let resource = api_resource(kind);
        Ok(match namespace {
            Some(ns) => Api::namespaced_with(client, ns, &resource),
            None => Api::all_with(client, &resource),
        })
    }

    /// Reads an object; `None` when it does not exist.
    pub async fn get(&self, id: &ObjectRef) -> Result<Option<Value>, ClusterError> {
        let api = self.api(id.kind, id.namespace.as_deref()).await?;
        let found = api
            .get_opt(&id.name)
            .await
            .map_err(|source| ClusterError::Api { action: "reading", object: id.to_string(), source })?;
        Ok(found.map(|o| serde_json::to_value(o).expect("objects serialize")))
    }

    /// Lists objects of a kind in a namespace that carry the ownership labels of `owner`.
    pub async fn list_owned(&self, kind: ObjectKind, namespace: Option<&str>, owner: &str) -> Result<Vec<Value>, ClusterError> {
        let api = self.api(kind, namespace).await?;
        let selector = format!("{}={},{}={}", labels::MANAGED_BY, labels::MANAGED_BY_VALUE, labels::OWNER, owner);
        let list = api
            .list(&kube::api::ListParams::default().labels(&selector))
            .await
            .map_err(|source| ClusterError::Api { action: "listing", object: format!("{}s", kind.as_str()), source })?;
        Ok(list.items.into_iter().map(|o| serde_json::to_value(o).expect("objects serialize")).collect())
    }

    /// Server-side applies an object (field manager `kjob`, conflicts forced) and returns the
    /// live object.
    pub async fn apply(&self, id: &ObjectRef, body: &Value) -> Result<Value, ClusterError> {
        let api = self.api(id.kind, id.namespace.as_deref()).await?;
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let live = api
            .patch(&id.name, &params, &Patch::Apply(body))
            .await
            .map_err(|source| ClusterError::Api { action: "applying", object: id.to_string(), source })?;
        Ok(serde_json::to_value(live).expect("objects serialize"))
    }

    /// Deletes an object (foreground propagation, so a Job's pods go with it). NotFound is
    /// success. Returns whether a delete was issued.
    pub async fn delete(&self, id: &ObjectRef) -> Result<bool, ClusterError> {
        let api = self.api(id.kind, id.namespace.as_deref()).await?;
        match api.delete(&id.name, &DeleteParams::foreground()).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
            Err(source) => Err(ClusterError::Api { action: "deleting", object: id.to_string(), source }),
        }
    }

    /// Waits until an object no longer exists.
    pub async fn wait_gone(&self, id: &ObjectRef, timeout: Duration) -> Result<(), ClusterError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut pause = Duration::from_millis(100);
        loop {
            if self.get(id).await?.is_none() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ClusterError::Timeout { what: format!("{id} to be deleted"), seconds: timeout.as_secs() });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }
}

/// Pods, events and logs: what a Job's outcome is explained with.
impl Cluster {
    /// The pods of Job `job` in `namespace` (label `batch.kubernetes.io/job-name`).
    pub async fn job_pods(&self, namespace: &str, job: &str) -> Result<Vec<k8s_openapi::api::core::v1::Pod>, ClusterError> {
        let api: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(self.client().await?, namespace);
        let params = kube::api::ListParams::default().labels(&format!("batch.kubernetes.io/job-name={job}"));
        let list = api
            .list(&params)
            .await
            .map_err(|source| ClusterError::Api { action: "listing pods of", object: format!("Job {namespace}/{job}"), source })?;
        Ok(list.items)
    }

    /// Warning events in `namespace` about the Job `job` or its pods (`<job>-...`).
    pub async fn job_warnings(&self, namespace: &str, job: &str) -> Result<Vec<k8s_openapi::api::core::v1::Event>, ClusterError> {
        let api: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(self.client().await?, namespace);
        let params = kube::api::ListParams::default().fields("type=Warning");
        let list = api
            .list(&params)
            .await
            .map_err(|source| ClusterError::Api { action: "listing events in", object: format!("namespace {namespace}"), source })?;
        let prefix = format!("{job}-");
        Ok(list
            .items
            .into_iter()
            .filter(|e| {
                let name = e.involved_object.name.as_deref().unwrap_or_default();
                name == job || name.starts_with(&prefix)
            })
            .collect())
    }

    /// The last `lines` lines of a pod's log.
    pub async fn pod_log_tail(&self, namespace: &str, pod: &str, lines: i64) -> Result<String, ClusterError> {
        let api: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(self.client().await?, namespace);
        let params = kube::api::LogParams { tail_lines: Some(lines), ..Default::default() };
        api.logs(pod, &params)
            .await
            .map_err(|source| ClusterError::Api { action: "reading the log of", object: format!("Pod {namespace}/{pod}"), source })
    }
}
