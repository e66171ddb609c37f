//! A Job is a task with an outcome: reading its state (pure), waiting for it with progress, and
//! explaining a failure with the failing pods' last log lines and recent warning events.
//!
//! Per-resource choices live in `metadata.annotations`, so they work the same from a manifest,
//! the CLI and Pulumi:
//! - `kjob.project-planton.org/wait: "false"` — do not wait for completion (default: wait).
//! - `kjob.project-planton.org/run-policy: every-up` — re-run the Job on every `up` even when
//!   nothing changed (default `once`: an unchanged, finished Job is left alone).

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use crate::cluster::{Cluster, ClusterError};
use crate::core::objects::{ObjectKind, ObjectRef};

/// Annotation that turns waiting off for one resource.
pub const WAIT_ANNOTATION: &str = "kjob.project-planton.org/wait";
/// Annotation that chooses the re-run policy.
pub const RUN_POLICY_ANNOTATION: &str = "kjob.project-planton.org/run-policy";
/// Default wait for completion.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// What a Job is doing, as far as its status tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Suspended: no pods run until `suspend` is false.
    Suspended,
    /// Not finished; pod counts.
    Running {
        /// Pods running.
        active: i32,
        /// Pods succeeded.
        succeeded: i32,
        /// Pods failed.
        failed: i32,
    },
    /// Finished successfully (`Complete=True`).
    Complete,
    /// Finished unsuccessfully (`Failed=True` or `FailureTarget=True`).
    Failed {
        /// The condition's reason (BackoffLimitExceeded, DeadlineExceeded, ...).
        reason: String,
        /// The condition's message.
        message: String,
    },
}

impl JobState {
    /// The word stored in outputs (`jobStatus`).
    pub fn word(&self) -> &'static str {
        match self {
            JobState::Suspended => "Suspended",
            JobState::Running { .. } => "Running",
            JobState::Complete => "Complete",
            JobState::Failed { .. } => "Failed",
        }
    }

    /// Whether the Job has finished (either way).
    pub fn finished(&self) -> bool {
        matches!(self, JobState::Complete | JobState::Failed { .. })
    }
}

/// The output word for a finished Job that Kubernetes deleted after `ttlSecondsAfterFinished`.
pub const COLLECTED: &str = "Collected";

/// Reads a Job's state from its JSON (pure).
pub fn job_state(job: &Value) -> JobState {
    let conditions = job
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let is_true = |c: &Value, ty: &str| c["type"] == ty && c["status"] == "True";
    if conditions.iter().any(|c| is_true(c, "Complete")) {
        return JobState::Complete;
    }
    if let Some(c) = conditions
        .iter()
        .find(|c| is_true(c, "Failed"))
        .or_else(|| conditions.iter().find(|c| is_true(c, "FailureTarget")))
    {
        return JobState::Failed {
            reason: c["reason"].as_str().unwrap_or("Failed").to_owned(),
            message: c["message"].as_str().unwrap_or_default().to_owned(),
        };
    }
    if job.pointer("/spec/suspend") == Some(&Value::Bool(true)) {
        return JobState::Suspended;
    }
    let count = |k: &str| {
        job.pointer(&format!("/status/{k}"))
            .and_then(Value::as_i64)
            .unwrap_or(0) as i32
    };
    JobState::Running {
        active: count("active"),
        succeeded: count("succeeded"),
        failed: count("failed"),
    }
}

/// The string annotations (`metadata.annotations`) of a manifest or inputs document.
pub fn annotations_of(document: &Value) -> std::collections::BTreeMap<String, String> {
    document
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a manifest's annotations ask to skip waiting.
pub fn wait_disabled(annotations: &std::collections::BTreeMap<String, String>) -> bool {
    annotations
        .get(WAIT_ANNOTATION)
        .is_some_and(|v| v.eq_ignore_ascii_case("false"))
}

/// Whether a manifest's annotations ask to re-run on every up.
pub fn runs_every_up(annotations: &std::collections::BTreeMap<String, String>) -> bool {
    annotations
        .get(RUN_POLICY_ANNOTATION)
        .is_some_and(|v| v == "every-up")
}

/// Something that happened while waiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// New pod counts.
    Progress {
        /// Pods running.
        active: i32,
        /// Pods succeeded.
        succeeded: i32,
        /// Pods failed.
        failed: i32,
    },
    /// A warning event (image pull error, scheduling failure, ...), already redacted.
    Warning(String),
}

/// Why waiting ended without success.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// The Job failed; the report includes pods' log tails and warnings.
    #[error("Job {job} failed: {reason}: {message}{report}")]
    Failed {
        /// namespace/name.
        job: String,
        /// Condition reason.
        reason: String,
        /// Condition message.
        message: String,
        /// Diagnostics, starting with a newline when present.
        report: String,
    },
    /// The Job did not finish in time.
    #[error(
        "Job {job} did not finish within {seconds}s (active {active}, succeeded {succeeded}, failed {failed}); it keeps running — the next up waits for it again{report}"
    )]
    Timeout {
        /// namespace/name.
        job: String,
        /// The limit.
        seconds: u64,
        /// Pods running at the time.
        active: i32,
        /// Pods succeeded.
        succeeded: i32,
        /// Pods failed.
        failed: i32,
        /// Diagnostics.
        report: String,
    },
    /// The Job disappeared while we waited.
    #[error("Job {0} was deleted while waiting for it")]
    Vanished(String),
    /// The cluster could not be read.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// Whether a warning event is about this incarnation of the Job: a Job deleted and created
/// again under the same name (a re-run) leaves the old one's events behind. An event about the
/// Job itself must carry its UID; an event about a pod must not predate the Job.
pub fn is_current(event: &k8s_openapi::api::core::v1::Event, job: &Value) -> bool {
    if event.involved_object.kind.as_deref() == Some("Job") {
        let uid = job.pointer("/metadata/uid").and_then(Value::as_str);
        return match (uid, event.involved_object.uid.as_deref()) {
            (Some(job), Some(event)) => job == event,
            _ => true,
        };
    }
    let created = job
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .and_then(|t| t.parse::<jiff::Timestamp>().ok());
    let when = event
        .last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or(event.event_time.as_ref().map(|t| t.0))
        .or(event.metadata.creation_timestamp.as_ref().map(|t| t.0));
    match (created, when) {
        (Some(created), Some(when)) => when >= created,
        _ => true,
    }
}

/// Waits for Job `namespace/name` to finish. Reports progress and new warnings through
/// `on_event`; `secrets` are redacted from everything reported.
pub async fn wait(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    timeout: Duration,
    secrets: &[String],
    on_event: &mut (dyn FnMut(Event) + Send),
) -> Result<JobState, WaitError> {
    let id = ObjectRef {
        kind: ObjectKind::Job,
        namespace: Some(namespace.to_owned()),
        name: name.to_owned(),
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let mut seen_warnings = BTreeSet::new();
    let mut last = None;
    let mut pause = Duration::from_millis(100);
    loop {
        let job = cluster
            .get(&id)
            .await?
            .ok_or_else(|| WaitError::Vanished(format!("{namespace}/{name}")))?;
        let state = job_state(&job);
        for event in cluster
            .job_warnings(namespace, name)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|e| is_current(e, &job))
        {
            let key = event.metadata.uid.clone().unwrap_or_default()
                + &event.count.unwrap_or(1).to_string();
            if seen_warnings.insert(key) {
                let what = event.involved_object.name.clone().unwrap_or_default();
                let text = format!(
                    "{what}: {}: {}",
                    event.reason.unwrap_or_default(),
                    event.message.unwrap_or_default()
                );
                on_event(Event::Warning(crate::core::secrets::redact(&text, secrets)));
            }
        }
        match &state {
            JobState::Complete | JobState::Suspended => return Ok(state),
            JobState::Failed { reason, message } => {
                let report = diagnose(cluster, namespace, name, secrets).await;
                return Err(WaitError::Failed {
                    job: format!("{namespace}/{name}"),
                    reason: reason.clone(),
                    message: crate::core::secrets::redact(message, secrets),
                    report,
                });
            }
            JobState::Running {
                active,
                succeeded,
                failed,
            } => {
                let counts = (*active, *succeeded, *failed);
                if last != Some(counts) {
                    on_event(Event::Progress {
                        active: *active,
                        succeeded: *succeeded,
                        failed: *failed,
                    });
                    last = Some(counts);
                }
                if tokio::time::Instant::now() >= deadline {
                    let report = diagnose(cluster, namespace, name, secrets).await;
                    return Err(WaitError::Timeout {
                        job: format!("{namespace}/{name}"),
                        seconds: timeout.as_secs(),
                        active: *active,
                        succeeded: *succeeded,
                        failed: *failed,
                        report,
                    });
                }
            }
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        tokio::time::sleep(pause.min(left).max(Duration::from_millis(50))).await;
        pause = (pause * 3 / 2).min(Duration::from_millis(250));
    }
}

/// Why a pod's log could not be read, in one line: the API server's message and status code
/// (a 404 means the node serves no log for the pod, or the pod is gone; the test bed's fake
/// node serves none), not the client's debug dump.
pub fn log_unavailable(error: &ClusterError) -> String {
    match error {
        ClusterError::Api {
            source: kube::Error::Api(status),
            ..
        } => {
            let why = match status.code {
                404 => {
                    "the cluster has no log for this pod (its node serves none, or the pod is gone)"
                }
                403 => "not allowed to read pod logs (RBAC: pods/log get)",
                400 => "the container has no log yet",
                _ => "the API server refused",
            };
            format!(
                "{why}: HTTP {} {}: {}",
                status.code, status.reason, status.message
            )
        }
        ClusterError::Api { source, .. } => {
            format!("the API server could not be reached: {source}")
        }
        other => other.to_string(),
    }
}

/// The failing pods' last log lines and recent warnings, redacted; starts with a newline.
pub async fn diagnose(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    secrets: &[String],
) -> String {
    let mut lines = Vec::new();
    if let Ok(pods) = cluster.job_pods(namespace, name).await {
        for pod in pods
            .iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Failed"))
            .take(3)
        {
            let pod_name = pod.metadata.name.clone().unwrap_or_default();
            let exit = pod
                .status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .and_then(|c| c.first())
                .and_then(|c| c.state.as_ref())
                .and_then(|s| s.terminated.as_ref())
                .map(|t| {
                    format!(
                        " (exit code {}{})",
                        t.exit_code,
                        t.reason
                            .as_ref()
                            .map(|r| format!(", {r}"))
                            .unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            lines.push(format!("  pod {pod_name} failed{exit}"));
            match cluster.pod_log_tail(namespace, &pod_name, 20).await {
                Ok(log) if !log.trim().is_empty() => {
                    for line in log.lines() {
                        lines.push(format!(
                            "    | {}",
                            crate::core::secrets::redact(line, secrets)
                        ));
                    }
                }
                Ok(_) => lines.push("    (empty log)".to_owned()),
                Err(e) => lines.push(format!(
                    "    (log unavailable: {})",
                    crate::core::secrets::redact(&log_unavailable(&e), secrets)
                )),
            }
        }
    }
    if let Ok(events) = cluster.job_warnings(namespace, name).await {
        let id = ObjectRef {
            kind: ObjectKind::Job,
            namespace: Some(namespace.to_owned()),
            name: name.to_owned(),
        };
        let mut events = match cluster.get(&id).await {
            Ok(Some(job)) => events.into_iter().filter(|e| is_current(e, &job)).collect(),
            _ => events,
        };
        events.sort_by_key(|e| {
            e.last_timestamp
                .as_ref()
                .map(|t| t.0)
                .or(e.event_time.as_ref().map(|t| t.0))
        });
        for e in events.iter().rev().take(5).rev() {
            lines.push(format!(
                "  warning {}: {}: {}",
                e.involved_object.name.clone().unwrap_or_default(),
                e.reason.clone().unwrap_or_default(),
                crate::core::secrets::redact(&e.message.clone().unwrap_or_default(), secrets)
            ));
        }
    }
    if lines.is_empty() {
        String::new()
    } else {
        format!("\n{}", lines.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_job_states() {
        assert_eq!(
            job_state(&json!({"status": {"conditions": [{"type": "Complete", "status": "True"}]}})),
            JobState::Complete
        );
        assert_eq!(
            job_state(
                &json!({"status": {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "m"}]}})
            ),
            JobState::Failed {
                reason: "BackoffLimitExceeded".into(),
                message: "m".into()
            }
        );
        assert_eq!(
            job_state(&json!({"spec": {"suspend": true}})),
            JobState::Suspended
        );
        assert_eq!(
            job_state(&json!({"status": {"active": 2}})),
            JobState::Running {
                active: 2,
                succeeded: 0,
                failed: 0
            }
        );
    }

    #[test]
    fn events_of_an_earlier_job_of_the_same_name_are_not_current() {
        let job = json!({"metadata": {"uid": "new", "creationTimestamp": "2026-01-01T00:00:10Z"}});
        let event = |kind: &str, uid: &str, at: &str| -> k8s_openapi::api::core::v1::Event {
            serde_json::from_value(json!({"metadata": {"name": "e"}, "involvedObject": {"kind": kind, "uid": uid}, "lastTimestamp": at})).unwrap()
        };
        assert!(is_current(
            &event("Job", "new", "2026-01-01T00:00:00Z"),
            &job
        ));
        assert!(!is_current(
            &event("Job", "old", "2026-01-01T00:00:20Z"),
            &job
        ));
        assert!(is_current(&event("Pod", "p", "2026-01-01T00:00:10Z"), &job));
        assert!(!is_current(
            &event("Pod", "p", "2026-01-01T00:00:09Z"),
            &job
        ));
    }

    #[test]
    fn redacts_secrets() {
        assert_eq!(
            crate::core::secrets::redact("token=s3cr3t!", &["s3cr3t".into()]),
            "token=[redacted]!"
        );
    }
}
