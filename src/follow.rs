//! Following the logs of a Job's pods while it runs: `kjob logs --follow`, `kjob up --logs` and
//! the provider's status line all use [`job`]. Every chosen pod's log is followed from the
//! moment it can be read (pods that start later are picked up); following ends when the Job is
//! finished (Complete, Failed or gone) and its pods' last lines have arrived, or when `stop` is
//! cancelled. The server may keep a followed log open after its container ended (the test bed's
//! fake kubelet always does), so the end is decided here, by the Job, never by the stream.
//!
//! Lines are handed over as read: the caller redacts them ([`crate::core::secrets`]) before
//! they go anywhere.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::cluster::{Cluster, ClusterError, LogOptions};
use crate::core::objects::{ObjectKind, ObjectRef};
use crate::core::outcome::{JobState, job_state};

/// Which of a Job's pods to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PodChoice {
    /// Every pod.
    #[default]
    All,
    /// The pod of that name.
    Name(String),
    /// The pods of one completion index (an Indexed Job's
    /// `batch.kubernetes.io/job-completion-index` label).
    Index(u32),
}

/// The label an Indexed Job puts on each pod with its completion index.
pub const COMPLETION_INDEX: &str = "batch.kubernetes.io/job-completion-index";

impl PodChoice {
    /// Whether `pod` is chosen.
    pub fn matches(&self, pod: &Pod) -> bool {
        match self {
            PodChoice::All => true,
            PodChoice::Name(name) => pod.metadata.name.as_deref() == Some(name),
            PodChoice::Index(index) => pod
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(COMPLETION_INDEX))
                .is_some_and(|v| v.trim() == index.to_string()),
        }
    }
}

/// How often the Job and its pods are read while following.
const POLL: Duration = Duration::from_millis(500);
/// Once the Job is finished, following ends after this long without a new line...
const QUIET_END: Duration = Duration::from_millis(800);
/// ...and at the latest this long after the Job finished.
const LAST_LINES: Duration = Duration::from_secs(5);

/// Whether a pod's log can be opened yet: its container started (or ended).
fn started(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .is_some_and(|c| {
            c.iter().any(|c| {
                c.state
                    .as_ref()
                    .is_some_and(|s| s.running.is_some() || s.terminated.is_some())
            })
        })
        || matches!(
            pod.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Running" | "Succeeded" | "Failed")
        )
}

/// Whether following should end: the Job is gone, or Complete or Failed.
fn finished(state: Option<&JobState>) -> bool {
    state.is_none_or(JobState::finished)
}

/// Every line of every pod of the Job `namespace/name`, from the start, until the Job is
/// finished or `stop` (`up --logs`, the provider's status line).
pub async fn all_pods(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    stop: &CancellationToken,
    on_line: &mut (dyn FnMut(&str, &str) + Send),
) -> Result<(), ClusterError> {
    let everything = LogOptions::default();
    job(
        cluster,
        namespace,
        name,
        &everything,
        &PodChoice::All,
        stop,
        on_line,
    )
    .await
}

/// Follows the logs of the chosen pods of Job `namespace/name`, calling `on_line(pod, line)`
/// for every line (pods oldest first; lines of different pods interleave as they arrive), until
/// the Job is finished and its pods' last lines arrived, or `stop` is cancelled. A pod whose log
/// cannot be opened is tried again at the next read of the pods; the Job or its pods that
/// cannot be read end the follow with the error.
pub async fn job(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    options: &LogOptions,
    choice: &PodChoice,
    stop: &CancellationToken,
    on_line: &mut (dyn FnMut(&str, &str) + Send),
) -> Result<(), ClusterError> {
    let id = ObjectRef {
        kind: ObjectKind::Job,
        namespace: Some(namespace.to_owned()),
        name: name.to_owned(),
    };
    let (lines, mut received) = mpsc::unbounded_channel::<(String, String)>();
    let followers = CancellationToken::new();
    let _stop_followers = followers.clone().drop_guard();
    let mut following = BTreeSet::new();
    let mut finished_at: Option<tokio::time::Instant> = None;
    let mut last_line = tokio::time::Instant::now();
    loop {
        let now = tokio::time::Instant::now();
        if let Some(at) = finished_at {
            if now.duration_since(last_line) >= QUIET_END || now.duration_since(at) >= LAST_LINES {
                return Ok(());
            }
        } else {
            let Some(job) = stop.run_until_cancelled(cluster.get(&id)).await else {
                return Ok(());
            };
            let state = job?.map(|job| job_state(&job));
            let Some(pods) = stop
                .run_until_cancelled(cluster.job_pods(namespace, name))
                .await
            else {
                return Ok(());
            };
            let mut pods: Vec<Pod> = pods?.into_iter().filter(|p| choice.matches(p)).collect();
            pods.sort_by_key(|p| {
                (
                    p.metadata.creation_timestamp.clone().map(|t| t.0),
                    p.metadata.name.clone(),
                )
            });
            for pod in pods.iter().filter(|p| started(p)) {
                let pod_name = pod.metadata.name.clone().unwrap_or_default();
                if following.contains(&pod_name) {
                    continue;
                }
                // Opening is awaited here, so that the pods' first lines come in pod order.
                let Some(opened) = stop
                    .run_until_cancelled(cluster.pod_log_follow(namespace, &pod_name, options))
                    .await
                else {
                    return Ok(());
                };
                let Ok(mut stream) = opened else {
                    continue;
                };
                following.insert(pod_name.clone());
                let (lines, followers) = (lines.clone(), followers.clone());
                tokio::spawn(async move {
                    while let Some(Some(Ok(line))) =
                        followers.run_until_cancelled(stream.next()).await
                    {
                        if lines.send((pod_name.clone(), line)).is_err() {
                            break;
                        }
                    }
                });
            }
            if finished(state.as_ref()) {
                finished_at = Some(tokio::time::Instant::now());
                last_line = tokio::time::Instant::now();
            }
        }
        let pause = tokio::time::sleep(if finished_at.is_some() {
            QUIET_END / 4
        } else {
            POLL
        });
        tokio::pin!(pause);
        loop {
            tokio::select! {
                () = stop.cancelled() => return Ok(()),
                () = &mut pause => break,
                Some((pod, line)) = received.recv() => {
                    last_line = tokio::time::Instant::now();
                    on_line(&pod, &line);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn pod(name: &str, index: Option<&str>) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: index.map(|i| [(COMPLETION_INDEX.to_owned(), i.to_owned())].into()),
                ..ObjectMeta::default()
            },
            ..Pod::default()
        }
    }

    #[test]
    fn pods_are_chosen_by_name_or_completion_index() {
        let (a, b) = (pod("job-0-x", Some("0")), pod("job-1-y", Some("1")));
        assert!(PodChoice::All.matches(&a) && PodChoice::All.matches(&b));
        assert!(PodChoice::Name("job-1-y".into()).matches(&b));
        assert!(!PodChoice::Name("job-1-y".into()).matches(&a));
        assert!(PodChoice::Index(0).matches(&a) && !PodChoice::Index(0).matches(&b));
        assert!(!PodChoice::Index(0).matches(&pod("plain", None)));
    }

    #[test]
    fn a_pending_pod_has_no_log_yet() {
        assert!(!started(&pod("p", None)));
    }
}
