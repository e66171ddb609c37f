//! Waiting for objects to be gone with a watch instead of polling them: one small LIST of what
//! a selector matches (which also says the current resource version), then a watch from that
//! version that ends when the last of them has had its `DELETED` event. Silence is still found
//! within the call deadline: each watch is short (the server ends it) and bounded on our side
//! too, and the LIST that follows it has the usual deadline and retries.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, VersionMatch, WatchEvent, WatchParams};
use kube::core::PartialObjectMeta;

use super::{Cluster, ClusterError, with_retry};
use crate::core::objects::ObjectRef;

/// What a wait selects: by field (`metadata.name=...`) or by label.
enum Selector {
    Fields(String),
    Labels(String),
}

impl Selector {
    fn list(&self) -> ListParams {
        match self {
            Self::Fields(s) => ListParams::default().fields(s),
            Self::Labels(s) => ListParams::default().labels(s),
        }
    }

    fn watch(&self, seconds: u32) -> WatchParams {
        let params = WatchParams::default().timeout(seconds);
        match self {
            Self::Fields(s) => params.fields(s),
            Self::Labels(s) => params.labels(s),
        }
    }
}

impl Cluster {
    /// Waits until an object no longer exists (at most `timeout`).
    pub async fn wait_gone(&self, id: &ObjectRef, timeout: Duration) -> Result<(), ClusterError> {
        let api = self.api(id.kind, id.namespace.as_deref()).await?;
        let by_name = Selector::Fields(format!("metadata.name={}", id.name));
        self.wait_none(&api, &by_name, None, &id.to_string(), timeout)
            .await
    }

    /// Waits until the pods of the Job `job` whose UID was `uid` are gone (at most `timeout`):
    /// after a background delete the garbage collector deletes them, by their
    /// `batch.kubernetes.io/controller-uid` label (so an earlier or later Job of the same name
    /// is not waited for). `seen` is the Job's resourceVersion when it was read: the pods are
    /// listed as of then or later, from the API server's cache, instead of with a quorum read
    /// (which waits for etcd's next progress notification: 40-90 ms on the test bed).
    pub async fn wait_pods_gone(
        &self,
        job: &ObjectRef,
        uid: &str,
        seen: Option<&str>,
        timeout: Duration,
    ) -> Result<(), ClusterError> {
        let namespace = job.namespace.as_deref().unwrap_or("default");
        let api: Api<Pod> = Api::namespaced(self.client().await?, namespace);
        let of_job = Selector::Labels(format!("batch.kubernetes.io/controller-uid={uid}"));
        let what = format!("the pods of {job}");
        self.wait_none(&api, &of_job, seen, &what, timeout).await
    }

    /// Waits until nothing `api` holds matches `selector`; `what` names it in errors. With
    /// `since`, each LIST may be served from the API server's cache at that resourceVersion or
    /// later (the last LIST's version after the first).
    async fn wait_none<K>(
        &self,
        api: &Api<K>,
        selector: &Selector,
        since: Option<&str>,
        what: &str,
        timeout: Duration,
    ) -> Result<(), ClusterError>
    where
        K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        let now = || tokio::time::Instant::now();
        let deadline =
            tokio::time::Instant::from_std(crate::core::time::deadline(now().into_std(), timeout));
        // How long one watch may last: half a request's time limit, 1 s to 60 s.
        let watch_for = (self.retry.deadlines.request / 2)
            .clamp(Duration::from_secs(1), Duration::from_secs(60));
        let mut pause = Duration::from_millis(100);
        let name = |m: &PartialObjectMeta<K>| m.metadata.name.clone().unwrap_or_default();
        let mut since = since.map(str::to_owned);
        loop {
            let params = match &since {
                Some(rv) => selector.list().at(rv).matching(VersionMatch::NotOlderThan),
                None => selector.list(),
            };
            let list = with_retry(self.retry, || api.list_metadata(&params))
                .await
                .map_err(|source| ClusterError::Api {
                    action: "reading",
                    object: what.to_owned(),
                    source,
                })?;
            let mut left: BTreeSet<String> = list.items.iter().map(name).collect();
            if left.is_empty() {
                return Ok(());
            }
            let started = now();
            if started >= deadline {
                return Err(ClusterError::Timeout {
                    what: format!("{what} to be deleted"),
                    seconds: timeout.as_secs(),
                });
            }
            let version = list.metadata.resource_version.unwrap_or_default();
            if since.is_some() {
                since = Some(version.clone());
            }
            let watch = selector.watch(u32::try_from(watch_for.as_secs()).unwrap_or(60));
            let until = deadline.min(started + watch_for * 2);
            let deleted = tokio::time::timeout_at(until, async {
                let Ok(stream) = api.watch_metadata(&watch, &version).await else {
                    return false;
                };
                let mut stream = stream.boxed();
                while let Some(event) = stream.next().await {
                    match event {
                        Ok(WatchEvent::Deleted(m)) => {
                            left.remove(&name(&m));
                            if left.is_empty() {
                                return true;
                            }
                        }
                        Ok(WatchEvent::Added(m)) => {
                            left.insert(name(&m));
                        }
                        Ok(WatchEvent::Error(_)) | Err(_) => return false,
                        Ok(_) => {}
                    }
                }
                false
            })
            .await;
            if deleted == Ok(true) {
                return Ok(());
            }
            // The watch ended, was refused or went silent: read again. A watch that could not
            // even start is not retried in a tight loop.
            if now() - started < Duration::from_millis(500) {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        }
    }
}
