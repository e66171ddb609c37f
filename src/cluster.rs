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

use crate::core::objects::{ObjectKind, ObjectRef, labels};

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
    #[error(
        "cannot load the Kubernetes configuration: {0} (if no cluster is configured, start the project's local one from a kjob checkout: scripts/demo --local, or scripts/testbed up && eval \"$(scripts/testbed env)\" and retry)"
    )]
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
    /// An object with our name exists but is not managed by this resource.
    #[error(
        "{object} already exists and is not managed by {kind} {owner:?} (it lacks the label {label}={owner}); delete or rename it, or pick another metadata.name"
    )]
    NotOurs {
        /// The object.
        object: ObjectRef,
        /// The kind of the resource that wanted it.
        kind: &'static str,
        /// The resource's owner label value.
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
            ClusterError::Api {
                source: kube::Error::Api(status),
                ..
            } => Some(status.code),
            _ => None,
        }
    }
}

/// Whether an error is worth retrying: throttling (429), conflicts (409), server errors (5xx)
/// and transport failures (an API server restarting).
pub fn transient(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => matches!(status.code, 409 | 429 | 500 | 502 | 503 | 504),
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

/// How often and how long a transient failure is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// Pause before the first retry; doubled each time.
    pub first_pause: Duration,
    /// Longest pause.
    pub max_pause: Duration,
}

impl Default for RetryPolicy {
    /// 9 attempts over about 20 seconds: long enough for an API server to restart.
    fn default() -> Self {
        Self {
            attempts: 9,
            first_pause: Duration::from_millis(200),
            max_pause: Duration::from_secs(4),
        }
    }
}

/// Runs `op` until it succeeds, fails for good, or the policy runs out.
pub async fn with_retry<T, F, Fut>(policy: RetryPolicy, mut op: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let mut pause = policy.first_pause;
    let mut attempt = 1;
    loop {
        match op().await {
            Err(e) if attempt < policy.attempts && transient(&e) => {
                tracing::debug!(
                    attempt,
                    "transient Kubernetes API error, retrying in {pause:?}: {e}"
                );
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(policy.max_pause);
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// A lazily connected cluster client.
pub struct Cluster {
    config: ClusterConfig,
    client: OnceCell<Client>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("context", &self.config.context)
            .field("connected", &self.client.initialized())
            .finish()
    }
}

fn looks_like_yaml(text: &str) -> bool {
    text.contains('\n')
        || text.trim_start().starts_with("apiVersion")
        || text.trim_start().starts_with('{')
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
        Self {
            config,
            client: OnceCell::new(),
            retry: RetryPolicy::default(),
        }
    }

    /// A cluster over an existing client (tests use a mocked one).
    pub fn from_client(client: Client, retry: RetryPolicy) -> Self {
        let cell = OnceCell::new();
        let _ = cell.set(client);
        Self {
            config: ClusterConfig::default(),
            client: cell,
            retry,
        }
    }

    /// The settings this client connects with.
    pub fn config(&self) -> &ClusterConfig {
        &self.config
    }

    async fn connect(&self) -> Result<Client, ClusterError> {
        let options = KubeConfigOptions {
            context: self.config.context.clone(),
            ..KubeConfigOptions::default()
        };
        let config = match &self.config.kubeconfig {
            Some(text) if !text.trim().is_empty() => {
                let kubeconfig = if looks_like_yaml(text) {
                    Kubeconfig::from_yaml(text)
                        .map_err(|e| ClusterError::Config(format!("kubeconfig contents: {e}")))?
                } else {
                    Kubeconfig::read_from(text)
                        .map_err(|e| ClusterError::Config(format!("kubeconfig file {text}: {e}")))?
                };
                Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .map_err(|e| ClusterError::Config(e.to_string()))?
            }
            _ if options.context.is_some() => Config::from_kubeconfig(&options)
                .await
                .map_err(|e| ClusterError::Config(e.to_string()))?,
            _ => Config::infer()
                .await
                .map_err(|e| ClusterError::Config(e.to_string()))?,
        };
        Client::try_from(config).map_err(|e| ClusterError::Config(e.to_string()))
    }

    /// The connected client (connecting on first use).
    pub async fn client(&self) -> Result<Client, ClusterError> {
        self.client
            .get_or_try_init(|| self.connect())
            .await
            .cloned()
    }

    async fn api(
        &self,
        kind: ObjectKind,
        namespace: Option<&str>,
    ) -> Result<Api<DynamicObject>, ClusterError> {
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
        let found = with_retry(self.retry, || api.get_opt(&id.name))
            .await
            .map_err(|source| ClusterError::Api {
                action: "reading",
                object: id.to_string(),
                source,
            })?;
        Ok(found.map(|o| serde_json::to_value(o).expect("objects serialize")))
    }

    /// Lists objects of a kind in a namespace that carry the ownership labels of `owner`.
    pub async fn list_owned(
        &self,
        kind: ObjectKind,
        namespace: Option<&str>,
        owner: &str,
    ) -> Result<Vec<Value>, ClusterError> {
        let api = self.api(kind, namespace).await?;
        let selector = format!(
            "{}={},{}={}",
            labels::MANAGED_BY,
            labels::MANAGED_BY_VALUE,
            labels::OWNER,
            owner
        );
        let params = kube::api::ListParams::default().labels(&selector);
        let list = with_retry(self.retry, || api.list(&params))
            .await
            .map_err(|source| ClusterError::Api {
                action: "listing",
                object: format!("{}s", kind.as_str()),
                source,
            })?;
        Ok(list
            .items
            .into_iter()
            .map(|o| serde_json::to_value(o).expect("objects serialize"))
            .collect())
    }

    /// Server-side applies an object (field manager `kjob`, conflicts forced) and returns the
    /// live object.
    pub async fn apply(&self, id: &ObjectRef, body: &Value) -> Result<Value, ClusterError> {
        let api = self.api(id.kind, id.namespace.as_deref()).await?;
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let patch = Patch::Apply(body);
        let live = with_retry(self.retry, || api.patch(&id.name, &params, &patch))
            .await
            .map_err(|source| ClusterError::Api {
                action: "applying",
                object: id.to_string(),
                source,
            })?;
        Ok(serde_json::to_value(live).expect("objects serialize"))
    }

    /// Deletes an object (foreground propagation, so a Job's pods go with it). NotFound is
    /// success. Returns whether a delete was issued.
    pub async fn delete(&self, id: &ObjectRef) -> Result<bool, ClusterError> {
        let api = self.api(id.kind, id.namespace.as_deref()).await?;
        let params = DeleteParams::foreground();
        match with_retry(self.retry, || api.delete(&id.name, &params)).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
            Err(source) => Err(ClusterError::Api {
                action: "deleting",
                object: id.to_string(),
                source,
            }),
        }
    }

    /// Waits until an object no longer exists.
    pub async fn wait_gone(&self, id: &ObjectRef, timeout: Duration) -> Result<(), ClusterError> {
        let deadline = tokio::time::Instant::from_std(crate::core::time::deadline(
            tokio::time::Instant::now().into_std(),
            timeout,
        ));
        let mut pause = Duration::from_millis(100);
        loop {
            if self.get(id).await?.is_none() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ClusterError::Timeout {
                    what: format!("{id} to be deleted"),
                    seconds: timeout.as_secs(),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }
}

/// Pods, events and logs: what a Job's outcome is explained with.
impl Cluster {
    /// The pods of Job `job` in `namespace` (label `batch.kubernetes.io/job-name`).
    pub async fn job_pods(
        &self,
        namespace: &str,
        job: &str,
    ) -> Result<Vec<k8s_openapi::api::core::v1::Pod>, ClusterError> {
        let api: Api<k8s_openapi::api::core::v1::Pod> =
            Api::namespaced(self.client().await?, namespace);
        let params =
            kube::api::ListParams::default().labels(&format!("batch.kubernetes.io/job-name={job}"));
        let list = with_retry(self.retry, || api.list(&params))
            .await
            .map_err(|source| ClusterError::Api {
                action: "listing pods of",
                object: format!("Job {namespace}/{job}"),
                source,
            })?;
        Ok(list.items)
    }

    /// Warning events in `namespace` about the Job `job` or its pods (`<job>-...`).
    pub async fn job_warnings(
        &self,
        namespace: &str,
        job: &str,
    ) -> Result<Vec<k8s_openapi::api::core::v1::Event>, ClusterError> {
        let api: Api<k8s_openapi::api::core::v1::Event> =
            Api::namespaced(self.client().await?, namespace);
        let params = kube::api::ListParams::default().fields("type=Warning");
        let list = with_retry(self.retry, || api.list(&params))
            .await
            .map_err(|source| ClusterError::Api {
                action: "listing events in",
                object: format!("namespace {namespace}"),
                source,
            })?;
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
    pub async fn pod_log_tail(
        &self,
        namespace: &str,
        pod: &str,
        lines: i64,
    ) -> Result<String, ClusterError> {
        let api: Api<k8s_openapi::api::core::v1::Pod> =
            Api::namespaced(self.client().await?, namespace);
        let params = kube::api::LogParams {
            tail_lines: Some(lines),
            ..Default::default()
        };
        api.logs(pod, &params)
            .await
            .map_err(|source| ClusterError::Api {
                action: "reading the log of",
                object: format!("Pod {namespace}/{pod}"),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{Request, Response};
    use kube::client::Body;

    fn status(code: u16) -> Response<Body> {
        let body = serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "injected", "reason": "Injected", "code": code});
        Response::builder()
            .status(code)
            .body(Body::from(serde_json::to_vec(&body).unwrap()))
            .unwrap()
    }

    fn quick() -> RetryPolicy {
        RetryPolicy {
            attempts: 4,
            first_pause: Duration::from_millis(1),
            max_pause: Duration::from_millis(2),
        }
    }

    #[tokio::test]
    async fn throttling_and_server_errors_are_retried() {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let cluster = Cluster::from_client(Client::new(service, "default"), quick());
        let server = tokio::spawn(async move {
            for code in [429, 503] {
                let (_, send) = handle.next_request().await.expect("a request");
                send.send_response(status(code));
            }
            let (request, send) = handle.next_request().await.expect("a third request");
            assert_eq!(request.uri().path(), "/api/v1/namespaces/ns/configmaps/cm");
            let cm = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "ns"}});
            send.send_response(
                Response::builder()
                    .status(200)
                    .body(Body::from(serde_json::to_vec(&cm).unwrap()))
                    .unwrap(),
            );
        });
        let id = ObjectRef {
            kind: ObjectKind::ConfigMap,
            namespace: Some("ns".into()),
            name: "cm".into(),
        };
        let got = cluster
            .get(&id)
            .await
            .expect("succeeds after two transient failures");
        assert_eq!(got.unwrap()["metadata"]["name"], "cm");
        server.await.unwrap();
    }

    #[tokio::test]
    async fn permanent_errors_fail_at_once_and_retries_are_bounded() {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let cluster = Cluster::from_client(Client::new(service, "default"), quick());
        let id = ObjectRef {
            kind: ObjectKind::ConfigMap,
            namespace: Some("ns".into()),
            name: "cm".into(),
        };
        let server = tokio::spawn(async move {
            let (_, send) = handle.next_request().await.expect("a request");
            send.send_response(status(403));
            for _ in 0..4 {
                let (_, send) = handle.next_request().await.expect("a request");
                send.send_response(status(500));
            }
            handle
        });
        let forbidden = cluster.get(&id).await.unwrap_err();
        assert_eq!(forbidden.status(), Some(403));
        let server_error = cluster.get(&id).await.unwrap_err();
        assert_eq!(
            server_error.status(),
            Some(500),
            "gives up after the policy's attempts"
        );
        server.await.unwrap();
    }
}
