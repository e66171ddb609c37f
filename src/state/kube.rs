//! The `kubernetes://NAMESPACE` backend ([`KubeStore`]): one Secret per record in the namespace
//! (type, labels, annotations and payload from [`crate::core::backend`]), the store's id in the
//! Secret `kjob-state-id`, and the lock as a Lease ([`super::lease`]).
//!
//! Reads: a single record is one GET; many at once ([`Store::get_many`], as `preview` and `up`
//! compare a manifest with the store) and [`Store::list`] are one label-selected LIST, in pages
//! of 500 Secrets. The number of API requests a command made is logged at its end
//! (`KJOB_LOG=kjob=info`: `state backend ...: N API requests`).
//!
//! The store's calls are synchronous, like the file store's: each one blocks its worker thread
//! of the (multi-thread) runtime while the request runs.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde_json::Value;

use super::{Guard, Record, StateError, Store};
use crate::cluster::{Cluster, ClusterConfig, RetryPolicy, with_retry};
use crate::core::backend::{self, Backend};
use crate::core::refs::{ResourceKey, Source};

/// The Secrets and Lease of one namespace.
pub struct KubeStore {
    pub(super) url: String,
    pub(super) namespace: String,
    pub(super) cluster: Cluster,
    pub(super) retry: RetryPolicy,
    /// Why this run's Lease was lost, once it is: every write fails from then on.
    pub(super) lost: Arc<Mutex<Option<String>>>,
    /// API requests made (attempts included).
    pub(super) requests: Arc<AtomicU64>,
    /// The Lease's duration.
    pub(super) lease_seconds: u64,
}

impl std::fmt::Debug for KubeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeStore").field("url", &self.url).finish()
    }
}

impl Drop for KubeStore {
    fn drop(&mut self) {
        tracing::info!(
            "state backend {}: {} API requests",
            self.url,
            self.requests.load(Ordering::Relaxed)
        );
    }
}

/// Runs `fut` to its end from synchronous code inside the multi-thread runtime.
pub(super) fn block<F: Future>(fut: F) -> Result<F::Output, StateError> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let handle = Handle::try_current()
        .ok()
        .filter(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread)
        .ok_or_else(|| {
            StateError::Backend(
                "the kubernetes state backend runs only inside kjob's multi-thread runtime".into(),
            )
        })?;
    Ok(tokio::task::block_in_place(|| handle.block_on(fut)))
}

/// An API error in the reader's words: a missing permission names the verb and the resource.
pub(super) fn api_error(
    url: &str,
    namespace: &str,
    verb: &str,
    resource: &str,
    error: &kube::Error,
) -> StateError {
    let message = match error {
        kube::Error::Api(status) if status.code == 403 => format!(
            "forbidden: cannot {verb} {resource} in namespace {namespace} (the backend's Role must allow it: see README, Team state): {}",
            status.message
        ),
        kube::Error::Api(status) if status.code == 404 && resource == "secrets" => format!(
            "{verb} {resource} in namespace {namespace}: {} (does the namespace exist?)",
            status.message
        ),
        other => format!("{verb} {resource} in namespace {namespace}: {other}"),
    };
    StateError::Api {
        url: url.to_owned(),
        message,
    }
}

fn not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(s) if s.code == 404)
}

impl KubeStore {
    /// The error for a refused or failed call, naming the verb and resource.
    pub(super) fn refused(&self, verb: &str, resource: &str, error: &kube::Error) -> StateError {
        api_error(&self.url, &self.namespace, verb, resource, error)
    }

    /// The store in `namespace` of the cluster `config` reaches (nothing is contacted yet).
    pub fn new(namespace: &str, config: ClusterConfig) -> Result<Self, StateError> {
        let lease_seconds =
            backend::lease_seconds(std::env::var(backend::LEASE_ENV_VAR).ok().as_deref())
                .map_err(StateError::Backend)?;
        let url = Backend::Kubernetes {
            namespace: namespace.to_owned(),
            context: config.context.clone(),
        }
        .to_string();
        Ok(KubeStore {
            url,
            namespace: namespace.to_owned(),
            retry: RetryPolicy {
                deadlines: config.deadlines,
                ..RetryPolicy::default()
            },
            cluster: Cluster::new(config),
            lost: Arc::new(Mutex::new(None)),
            requests: Arc::new(AtomicU64::new(0)),
            lease_seconds,
        })
    }

    /// The API requests made so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub(super) async fn client(&self) -> Result<kube::Client, StateError> {
        self.cluster.client().await.map_err(|e| StateError::Api {
            url: self.url.clone(),
            message: e.to_string(),
        })
    }

    async fn secrets(&self) -> Result<Api<Secret>, StateError> {
        Ok(Api::namespaced(self.client().await?, &self.namespace))
    }

    /// One API call (with the cluster's retries), counted; errors name `verb` `resource`.
    pub(super) async fn call<T, F, Fut>(
        &self,
        verb: &str,
        resource: &str,
        mut op: F,
    ) -> Result<Result<T, kube::Error>, StateError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        let counter = self.requests.clone();
        let result = with_retry(self.retry, || {
            counter.fetch_add(1, Ordering::Relaxed);
            op()
        })
        .await;
        match result {
            Err(e) if !matches!(&e, kube::Error::Api(s) if s.code == 404 || s.code == 409) => {
                Err(self.refused(verb, resource, &e))
            }
            other => Ok(other),
        }
    }

    fn check_not_lost(&self) -> Result<(), StateError> {
        match self.lost.lock().map(|l| l.clone()) {
            Ok(Some(why)) => Err(StateError::LeaseLost {
                url: self.url.clone(),
                lease: backend::LEASE_NAME.into(),
                why,
            }),
            _ => Ok(()),
        }
    }

    fn decode(&self, secret: &Secret) -> Result<Record, StateError> {
        let name = secret.metadata.name.clone().unwrap_or_default();
        let payload = secret
            .data
            .as_ref()
            .and_then(|d| d.get(backend::PAYLOAD_KEY))
            .map(|b| b.0.as_slice())
            .unwrap_or_default();
        backend::decode_payload(payload).map_err(|reason| StateError::Corrupt {
            path: format!("Secret {}/{name}", self.namespace),
            reason,
        })
    }

    async fn get_async(&self, key: &ResourceKey) -> Result<Option<Record>, StateError> {
        let api = self.secrets().await?;
        let name = backend::secret_name(key);
        match self.call("get", "secrets", || api.get(&name)).await? {
            Ok(secret) => self.decode(&secret).map(Some),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(self.refused("get", "secrets", &e)),
        }
    }

    async fn list_async(&self) -> Result<Vec<Record>, StateError> {
        let api = self.secrets().await?;
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut params = ListParams::default()
                .labels(&backend::record_selector())
                .limit(500);
            if let Some(t) = &token {
                params = params.continue_token(t);
            }
            let page = match self.call("list", "secrets", || api.list(&params)).await? {
                Ok(page) => page,
                Err(e) => return Err(self.refused("list", "secrets", &e)),
            };
            for secret in &page.items {
                if secret.type_.as_deref() == Some(backend::SECRET_TYPE) {
                    out.push(self.decode(secret)?);
                }
            }
            token = page.metadata.continue_.filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        out.sort_by(|a, b| (&a.kind, &a.env, &a.name).cmp(&(&b.kind, &b.env, &b.name)));
        Ok(out)
    }

    fn secret_of(key: &ResourceKey, name: String, data: (&str, Vec<u8>)) -> Secret {
        let pairs = |list: Vec<(&'static str, String)>| -> BTreeMap<String, String> {
            list.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
        };
        Secret {
            metadata: ObjectMeta {
                name: Some(name),
                labels: Some(pairs(backend::labels(key))),
                annotations: Some(pairs(backend::annotations(key))),
                ..ObjectMeta::default()
            },
            type_: Some(backend::SECRET_TYPE.into()),
            data: Some(BTreeMap::from([(data.0.to_owned(), ByteString(data.1))])),
            ..Secret::default()
        }
    }

    async fn put_async(&self, record: &Record) -> Result<(), StateError> {
        self.check_not_lost()?;
        let api = self.secrets().await?;
        let key = record.key();
        let name = backend::secret_name(&key);
        let secret = Self::secret_of(
            &key,
            name.clone(),
            (backend::PAYLOAD_KEY, backend::encode_payload(record)),
        );
        let params = PatchParams::apply(crate::cluster::FIELD_MANAGER).force();
        let patch = Patch::Apply(&secret);
        match self
            .call("patch", "secrets", || api.patch(&name, &params, &patch))
            .await?
        {
            Ok(_) => Ok(()),
            Err(e) => Err(self.refused("patch", "secrets", &e)),
        }
    }

    async fn remove_async(&self, key: &ResourceKey) -> Result<(), StateError> {
        self.check_not_lost()?;
        self.delete_secret(&backend::secret_name(key)).await
    }

    /// Deletes one of the store's Secrets; one that is already gone is fine.
    async fn delete_secret(&self, name: &str) -> Result<(), StateError> {
        let api = self.secrets().await?;
        let delete = DeleteParams::default();
        match self
            .call("delete", "secrets", || api.delete(name, &delete))
            .await?
        {
            Ok(_) => Ok(()),
            Err(e) if not_found(&e) => Ok(()),
            Err(e) => Err(self.refused("delete", "secrets", &e)),
        }
    }

    async fn id_async(&self, create: Option<String>) -> Result<Option<String>, StateError> {
        let api = self.secrets().await?;
        let post = PostParams::default();
        loop {
            match self
                .call("get", "secrets", || api.get(backend::ID_SECRET))
                .await?
            {
                Ok(secret) => {
                    let id = secret
                        .data
                        .as_ref()
                        .and_then(|d| d.get(backend::ID_KEY))
                        .map(|b| String::from_utf8_lossy(&b.0).trim().to_owned())
                        .unwrap_or_default();
                    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Ok(Some(id));
                    }
                    return Err(StateError::Corrupt {
                        path: format!("Secret {}/{}", self.namespace, backend::ID_SECRET),
                        reason: "not a state store id (32 hex digits)".into(),
                    });
                }
                Err(e) if not_found(&e) => {}
                Err(e) => return Err(self.refused("get", "secrets", &e)),
            }
            let Some(id) = &create else {
                return Ok(None);
            };
            let mut secret = Self::secret_of(
                &ResourceKey {
                    kind: String::new(),
                    env: String::new(),
                    name: String::new(),
                },
                backend::ID_SECRET.into(),
                (backend::ID_KEY, format!("{id}\n").into_bytes()),
            );
            secret.metadata.labels = Some(BTreeMap::from([
                ("app.kubernetes.io/managed-by".into(), "kjob".into()),
                (backend::RECORD_LABEL.into(), backend::ID_LABEL_VALUE.into()),
            ]));
            secret.metadata.annotations = None;
            // Two runs creating it at once: the first wins, the other reads it (409).
            match self
                .call("create", "secrets", || api.create(&post, &secret))
                .await?
            {
                Ok(_) => {}
                Err(e) if matches!(&e, kube::Error::Api(s) if s.code == 409) => {}
                Err(e) => {
                    return Err(self.refused("create", "secrets", &e));
                }
            }
        }
    }
}

impl KubeStore {
    async fn moved_async(&self) -> Result<Option<String>, StateError> {
        let api = self.secrets().await?;
        match self
            .call("get", "secrets", || api.get_opt(backend::MOVED_SECRET))
            .await?
        {
            Ok(secret) => Ok(secret
                .and_then(|s| s.data)
                .and_then(|d| d.get(backend::MOVED_KEY).cloned())
                .map(|b| String::from_utf8_lossy(&b.0).trim().to_owned())
                .filter(|u| !u.is_empty())),
            Err(e) => Err(self.refused("get", "secrets", &e)),
        }
    }

    async fn set_moved_async(&self, url: Option<&str>) -> Result<(), StateError> {
        let Some(url) = url else {
            return self.delete_secret(backend::MOVED_SECRET).await;
        };
        let api = self.secrets().await?;
        let mut secret = Self::secret_of(
            &ResourceKey {
                kind: String::new(),
                env: String::new(),
                name: String::new(),
            },
            backend::MOVED_SECRET.into(),
            (backend::MOVED_KEY, url.as_bytes().to_vec()),
        );
        secret.metadata.labels = Some(BTreeMap::from([
            ("app.kubernetes.io/managed-by".into(), "kjob".into()),
            (
                backend::RECORD_LABEL.into(),
                backend::MOVED_LABEL_VALUE.into(),
            ),
        ]));
        secret.metadata.annotations = None;
        let params = PatchParams::apply(crate::cluster::FIELD_MANAGER).force();
        let patch = Patch::Apply(&secret);
        match self
            .call("patch", "secrets", || {
                api.patch(backend::MOVED_SECRET, &params, &patch)
            })
            .await?
        {
            Ok(_) => Ok(()),
            Err(e) => Err(self.refused("patch", "secrets", &e)),
        }
    }
}

impl Source for KubeStore {
    fn find(&self, key: &ResourceKey) -> Option<Value> {
        match Store::get(self, key) {
            Ok(record) => record.map(|r| r.document()),
            Err(e) => {
                tracing::warn!("{e}");
                None
            }
        }
    }

    fn describe(&self) -> String {
        format!("the state store at {}", self.url)
    }
}

impl Store for KubeStore {
    fn url(&self) -> String {
        self.url.clone()
    }
    fn get(&self, key: &ResourceKey) -> Result<Option<Record>, StateError> {
        block(self.get_async(key))?
    }
    fn get_many(&self, keys: &[ResourceKey]) -> Result<Vec<Option<Record>>, StateError> {
        if keys.len() <= 1 {
            return keys.iter().map(|k| Store::get(self, k)).collect();
        }
        let all: BTreeMap<ResourceKey, Record> = block(self.list_async())??
            .into_iter()
            .map(|r| (r.key(), r))
            .collect();
        Ok(keys.iter().map(|k| all.get(k).cloned()).collect())
    }
    fn put(&self, record: &Record) -> Result<(), StateError> {
        block(self.put_async(record))?
    }
    fn remove(&self, key: &ResourceKey) -> Result<(), StateError> {
        block(self.remove_async(key))?
    }
    fn list(&self) -> Result<Vec<Record>, StateError> {
        block(self.list_async())?
    }
    fn lock(&self, command: &'static str, timeout: Duration) -> Result<Guard, StateError> {
        let _ = command;
        super::lease::acquire(self, timeout).map(Guard::new)
    }
    fn holder(&self) -> Result<Option<String>, StateError> {
        block(super::lease::holder(self))?
    }
    fn force_unlock(&self) -> Result<Option<String>, StateError> {
        block(super::lease::force_release(self))?
    }
    fn id(&self, create: bool) -> Result<Option<String>, StateError> {
        let fresh = create.then(super::file::fresh_id);
        block(self.id_async(fresh))?
    }
    fn adopt_id(&self, id: &str) -> Result<(), StateError> {
        let got = block(self.id_async(Some(id.to_owned())))??;
        match got {
            Some(own) if own == id => Ok(()),
            other => Err(StateError::Backend(format!(
                "{} already has the id {}, not {id}: its objects belong to another store",
                self.describe(),
                other.unwrap_or_default()
            ))),
        }
    }
    fn moved_to(&self) -> Result<Option<String>, StateError> {
        block(self.moved_async())?
    }
    fn set_moved_to(&self, url: Option<&str>) -> Result<(), StateError> {
        block(self.set_moved_async(url))?
    }
}
