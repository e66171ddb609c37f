//! The Kubernetes client: the only module that talks to a cluster.
//!
//! Connection settings follow kubectl: an explicit kubeconfig (a path or the file's contents)
//! and context, else `KUBECONFIG`, `~/.kube/config` or the in-cluster service account. No
//! connection is made until the first call that needs one. Every call has a per-request time
//! limit and an overall deadline, with jittered retries ([`retry`]).

use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::ApiResource;
use kube::{Client, Config};
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::core::objects::{ObjectKind, ObjectRef};
use crate::core::owner::Content;

mod dryrun;
mod feed;
pub use feed::{Feed, Seen};
mod pods;
pub use pods::{LogLines, LogOptions};
pub mod retry;
mod watch;
pub use retry::{Deadlines, NoAnswer, RetryPolicy, transient, with_retry, with_retry_if};

/// The field manager of every server-side apply.
pub const FIELD_MANAGER: &str = "kjob";

/// How to reach a cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterConfig {
    /// A kubeconfig file's path, or its YAML contents.
    pub kubeconfig: Option<String>,
    /// The kubeconfig context to use instead of the current one.
    pub context: Option<String>,
    /// How long one request and one call (with its retries) may take.
    pub deadlines: Deadlines,
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
    #[error("{action} {object}: {}", api_cause(source))]
    Api {
        /// What we tried.
        action: &'static str,
        /// On which object.
        object: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// An object with our name exists and belongs to someone else.
    #[error(
        "{object} already exists and belongs to {holder}, not to {owner}: kjob leaves it alone (pick another metadata.name, or take it over explicitly with `kjob up --adopt` or `pulumi import`)"
    )]
    NotOurs {
        /// The object.
        object: ObjectRef,
        /// Who wanted it (the owner identity, displayed).
        owner: String,
        /// Who holds it, as far as the object says.
        holder: String,
    },
    /// An object changed between reading it and acting on it, again and again.
    #[error("{object} kept changing while kjob checked who owns it ({attempts} attempts); retry")]
    Contended {
        /// The object.
        object: ObjectRef,
        /// How often we tried.
        attempts: u32,
    },
    /// Waiting took longer than allowed.
    #[error("timed out after {seconds}s waiting for {what}")]
    Timeout {
        /// What we waited for.
        what: String,
        /// How long we waited.
        seconds: u64,
    },
    /// The front end cancelled the operation (Pulumi's Cancel, SIGINT, SIGTERM) before or while
    /// it did this.
    #[error("cancelled before {0} finished")]
    Cancelled(String),
}

/// An API error as the user reads it: a silence in its own words, the client's message
/// otherwise.
fn api_cause(source: &kube::Error) -> String {
    match NoAnswer::of(source) {
        Some(silence) => silence.to_string(),
        None => source.to_string(),
    }
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

/// A lazily connected cluster client.
pub struct Cluster {
    config: ClusterConfig,
    client: OnceCell<Client>,
    retry: RetryPolicy,
    feeds: feed::Feeds,
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
        ObjectKind::NetworkPolicy => ("networking.k8s.io", "v1"),
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

/// Whether an error is a failed precondition (uid or resourceVersion): the object changed.
pub fn is_conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409)
}

/// What a guarded delete did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// The delete was accepted; the object is still there until its finalizers are done.
    Issued,
    /// The object was deleted and is gone already.
    Removed,
    /// The object was already gone.
    Gone,
    /// The object is not the one that was read (its uid or resourceVersion changed).
    Changed,
}

impl Cluster {
    /// A client for `config`; nothing is contacted yet.
    pub fn new(config: ClusterConfig) -> Self {
        Self {
            retry: RetryPolicy {
                deadlines: config.deadlines,
                ..RetryPolicy::default()
            },
            config,
            client: OnceCell::new(),
            feeds: feed::Feeds::default(),
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
            feeds: feed::Feeds::default(),
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
        let mut config = match &self.config.kubeconfig {
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
        // Connecting (TLS included) and sending are limited by the client; the answer of a
        // request is limited by `with_retry`, not by a read timeout, which would also cut long
        // polls (watches, followed logs). Retries are ours alone (`with_retry`), not also the
        // client's, so that the deadline covers them.
        // (Capped at a year: the client adds it to an Instant, which must not overflow.)
        let request = self
            .config
            .deadlines
            .request
            .min(Duration::from_secs(365 * 24 * 3600));
        config.connect_timeout = Some(request);
        config.write_timeout = Some(request);
        config.read_timeout = None;
        config.default_retry = false;
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

    /// Lists objects of a kind in a namespace that match a label selector (e.g.
    /// [`crate::core::owner::Owner::selector`]).
    pub async fn list_labelled(
        &self,
        kind: ObjectKind,
        namespace: Option<&str>,
        selector: &str,
    ) -> Result<Vec<Value>, ClusterError> {
        let api = self.api(kind, namespace).await?;
        let params = kube::api::ListParams::default().labels(selector);
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
    /// live object; `None` when `resource_version` is given and the object no longer has it
    /// (someone else wrote it since it was read: read it again and decide again).
    pub async fn apply(
        &self,
        id: &ObjectRef,
        body: &Value,
        resource_version: Option<&str>,
    ) -> Result<Option<Value>, ClusterError> {
        let api = self.api(id.kind, id.namespace.as_deref()).await?;
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let mut body = body.clone();
        if let (Some(rv), Some(metadata)) = (resource_version, body["metadata"].as_object_mut()) {
            metadata.insert("resourceVersion".into(), Value::from(rv));
        }
        let patch = Patch::Apply(&body);
        let retryable = |e: &kube::Error| transient(e) && !is_conflict(e);
        match with_retry_if(self.retry, retryable, || {
            api.patch(&id.name, &params, &patch)
        })
        .await
        {
            Ok(live) => Ok(Some(serde_json::to_value(live).expect("objects serialize"))),
            Err(e) if resource_version.is_some() && is_conflict(&e) => Ok(None),
            Err(source) => Err(ClusterError::Api {
                action: "applying",
                object: id.to_string(),
                source,
            }),
        }
    }

    /// Deletes the object that was read, with its `uid` and `resourceVersion` as preconditions:
    /// an object that someone else replaced or changed since is not deleted
    /// ([`Deleted::Changed`]). Background propagation: the object goes at once, without a round
    /// trip through the garbage collector for each one (at its default 20 requests a second,
    /// that made `down` of 1,000 Jobs take 150 s); the collector deletes a Job's pods after it,
    /// and [`Cluster::wait_pods_gone`] waits for them.
    pub async fn delete(
        &self,
        id: &ObjectRef,
        uid: Option<&str>,
        resource_version: Option<&str>,
    ) -> Result<Deleted, ClusterError> {
        let api = self.api(id.kind, id.namespace.as_deref()).await?;
        let mut params = DeleteParams::background();
        if uid.is_some() || resource_version.is_some() {
            params.preconditions = Some(kube::api::Preconditions {
                uid: uid.map(str::to_owned),
                resource_version: resource_version.map(str::to_owned),
            });
        }
        let retryable = |e: &kube::Error| transient(e) && !is_conflict(e);
        match with_retry_if(self.retry, retryable, || api.delete(&id.name, &params)).await {
            // A Status, or the object as it was (some kinds answer with it, a ServiceAccount
            // for one): removed now. The object marked for deletion: it waits for finalizers
            // or a grace period (a namespace while its content goes).
            Ok(answer) => match answer.left() {
                Some(live) if live.metadata.deletion_timestamp.is_some() => Ok(Deleted::Issued),
                _ => Ok(Deleted::Removed),
            },
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(Deleted::Gone),
            Err(e) if params.preconditions.is_some() && is_conflict(&e) => Ok(Deleted::Changed),
            Err(source) => Err(ClusterError::Api {
                action: "deleting",
                object: id.to_string(),
                source,
            }),
        }
    }

    /// Every object in a namespace, of every namespaced kind the API server lists (found by
    /// discovery), for deciding whether a namespace may be deleted.
    pub async fn namespace_contents(&self, namespace: &str) -> Result<Vec<Content>, ClusterError> {
        let client = self.client().await?;
        let failed = |action: &'static str, object: String| {
            move |source| ClusterError::Api {
                action,
                object,
                source,
            }
        };
        let discovery = with_retry(self.retry, || {
            kube::discovery::Discovery::new(client.clone()).run()
        })
        .await
        .map_err(failed(
            "discovering the kinds of",
            format!("namespace {namespace}"),
        ))?;
        let mut out = Vec::new();
        for group in discovery.groups() {
            for (resource, capabilities) in group.recommended_resources() {
                if capabilities.scope != kube::discovery::Scope::Namespaced
                    || !capabilities.supports_operation(kube::discovery::verbs::LIST)
                {
                    continue;
                }
                let api: Api<DynamicObject> =
                    Api::namespaced_with(client.clone(), namespace, &resource);
                let params = kube::api::ListParams::default();
                let list = with_retry(self.retry, || api.list(&params))
                    .await
                    .map_err(failed(
                        "listing",
                        format!("{} in namespace {namespace}", resource.plural),
                    ))?;
                for item in list.items {
                    out.push(Content {
                        kind: resource.kind.clone(),
                        live: serde_json::to_value(item).expect("objects serialize"),
                    });
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
