//! Pods, events and logs: what a Job's outcome is explained with.

use kube::api::Api;

use super::{Cluster, ClusterError, RetryPolicy, with_retry};

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

    /// The UIDs of the pods of Job `job` whose UID is `uid`: those labelled with its name whose
    /// controlling owner is that Job (not an earlier Job of the same name).
    pub async fn job_pod_uids(
        &self,
        namespace: &str,
        job: &str,
        uid: &str,
    ) -> Result<Vec<String>, ClusterError> {
        Ok(self
            .job_pods(namespace, job)
            .await?
            .into_iter()
            .filter(|pod| {
                pod.metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|o| o.uid == uid && o.controller == Some(true))
            })
            .filter_map(|pod| pod.metadata.uid)
            .collect())
    }

    /// Warning events in `namespace` about the Job `job` whose UID is `uid`, or about its pods:
    /// read by the UID of the object they are about (`involvedObject.uid`), one LIST per UID,
    /// the pods being those whose controlling owner is that Job. Not by name, so Job `migrate`
    /// does not take the events of Job `migrate-users`'s pods, nor of an earlier Job of the same
    /// name. A Job with many pods has its namespace's warnings listed once instead, matched by
    /// the same UIDs.
    pub async fn job_warnings(
        &self,
        namespace: &str,
        job: &str,
        uid: &str,
    ) -> Result<Vec<k8s_openapi::api::core::v1::Event>, ClusterError> {
        /// Up to this many UIDs (the Job and its pods) are asked about one by one.
        const BY_UID: usize = 8;
        if uid.is_empty() {
            return Ok(Vec::new());
        }
        let mut uids = vec![uid.to_owned()];
        uids.extend(self.job_pod_uids(namespace, job, uid).await?);
        let api: Api<k8s_openapi::api::core::v1::Event> =
            Api::namespaced(self.client().await?, namespace);
        let list = |fields: String| {
            let api = api.clone();
            async move {
                let params = kube::api::ListParams::default().fields(&fields);
                with_retry(self.retry, || api.list(&params))
                    .await
                    .map(|list| list.items)
                    .map_err(|source| ClusterError::Api {
                        action: "listing events in",
                        object: format!("namespace {namespace}"),
                        source,
                    })
            }
        };
        if uids.len() > BY_UID {
            let all = list("type=Warning".to_owned()).await?;
            return Ok(all
                .into_iter()
                .filter(|e| {
                    e.involved_object
                        .uid
                        .as_ref()
                        .is_some_and(|about| uids.contains(about))
                })
                .collect());
        }
        let lists = uids
            .iter()
            .map(|about| list(format!("type=Warning,involvedObject.uid={about}")));
        let mut out = Vec::new();
        for found in futures::future::join_all(lists).await {
            out.extend(found?);
        }
        Ok(out)
    }

    /// The last `lines` lines of a pod's log.
    pub async fn pod_log_tail(
        &self,
        namespace: &str,
        pod: &str,
        lines: i64,
    ) -> Result<String, ClusterError> {
        let options = LogOptions {
            tail: Some(lines),
            ..LogOptions::default()
        };
        self.pod_log(namespace, pod, &options).await
    }

    /// A pod's log as `options` choose (its first container's: a Job's pod has one).
    pub async fn pod_log(
        &self,
        namespace: &str,
        pod: &str,
        options: &LogOptions,
    ) -> Result<String, ClusterError> {
        let api: Api<k8s_openapi::api::core::v1::Pod> =
            Api::namespaced(self.client().await?, namespace);
        let params = options.params(false);
        // One attempt, limited to one request's time: a log the node cannot serve is
        // explained, not retried.
        let once = RetryPolicy {
            attempts: 1,
            ..self.retry
        };
        with_retry(once, || api.logs(pod, &params))
            .await
            .map_err(|source| log_error(namespace, pod, source))
    }

    /// A pod's log followed: its lines as they are written, for as long as the caller reads
    /// (the server may never end it: the caller stops reading when the Job is finished). Only
    /// opening it is limited by the request deadline.
    pub async fn pod_log_follow(
        &self,
        namespace: &str,
        pod: &str,
        options: &LogOptions,
    ) -> Result<LogLines, ClusterError> {
        use futures::{AsyncBufReadExt, StreamExt};
        let api: Api<k8s_openapi::api::core::v1::Pod> =
            Api::namespaced(self.client().await?, namespace);
        let params = options.params(true);
        let once = RetryPolicy {
            attempts: 1,
            ..self.retry
        };
        let reader = with_retry(once, || api.log_stream(pod, &params))
            .await
            .map_err(|source| log_error(namespace, pod, source))?;
        let (namespace, pod) = (namespace.to_owned(), pod.to_owned());
        Ok(reader
            .lines()
            .map(move |line| {
                line.map_err(|e| ClusterError::Api {
                    action: "following the log of",
                    object: format!("Pod {namespace}/{pod}"),
                    source: kube::Error::ReadEvents(e),
                })
            })
            .boxed())
    }
}

/// The lines of a followed log ([`Cluster::pod_log_follow`]).
pub type LogLines = futures::stream::BoxStream<'static, Result<String, ClusterError>>;

/// Which part of a pod's log to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Only the last lines.
    pub tail: Option<i64>,
    /// The previous container's log (the one that ran before a restart).
    pub previous: bool,
    /// Only lines written in the last seconds.
    pub since_seconds: Option<i64>,
}

impl LogOptions {
    fn params(&self, follow: bool) -> kube::api::LogParams {
        kube::api::LogParams {
            tail_lines: self.tail,
            previous: self.previous,
            since_seconds: self.since_seconds,
            follow,
            ..Default::default()
        }
    }
}

fn log_error(namespace: &str, pod: &str, source: kube::Error) -> ClusterError {
    ClusterError::Api {
        action: "reading the log of",
        object: format!("Pod {namespace}/{pod}"),
        source,
    }
}
