//! Waiting for a Job with progress, and explaining a failure with the failing pods' last log
//! lines and recent warning events. The async shell around [`crate::core::outcome`], which
//! decides what every result means.
//!
//! A wait is cancellable: the front end owns a [`CancellationToken`] (triggered by Pulumi's
//! Cancel, SIGINT or SIGTERM) and every read and pause of the wait races it, so a cancelled wait
//! ends at once with [`WaitError::Cancelled`]; the Job keeps running.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::cluster::{Cluster, ClusterError, Seen};
use crate::core::objects::{ObjectKind, ObjectRef};
use crate::core::outcome::{self, Event, JobRef, JobState, JobStatus, is_current, job_state};
use crate::core::secrets::redact;
use tokio_util::sync::CancellationToken;

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
    /// The front end cancelled the wait (Pulumi's Cancel, SIGINT, SIGTERM); the Job keeps running.
    #[error(
        "stopped waiting for Job {job}: cancelled{}; the Job keeps running — the next up waits for it again",
        counts_note(.counts)
    )]
    Cancelled {
        /// namespace/name.
        job: String,
        /// The last counts seen (active, succeeded, failed); none when the Job was not read yet.
        counts: Option<(i32, i32, i32)>,
    },
    /// The cluster could not be read.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// A wait that did not end in an outcome kjob accepts: the outcome to record, and why.
#[derive(Debug)]
pub struct Unfinished {
    /// What to record as the Job's outcome.
    pub status: JobStatus,
    /// What happened.
    pub error: WaitError,
}

impl Unfinished {
    /// The outcome of a wait that returned `error`: `Ok` when the rules accept it (a Job that
    /// vanished because its TTL let Kubernetes delete it), the status to record otherwise.
    pub fn from_error(error: WaitError, ttl: bool) -> Result<JobStatus, Unfinished> {
        let status = match &error {
            WaitError::Vanished(_) => match outcome::vanished_while_waiting(ttl) {
                Some(status) => return Ok(status),
                None => JobStatus::Unknown,
            },
            WaitError::Failed { .. } => JobStatus::Failed,
            WaitError::Timeout { .. } => JobStatus::Running,
            WaitError::Cancelled { counts, .. } => {
                if counts.is_some() {
                    JobStatus::Running
                } else {
                    JobStatus::Unknown
                }
            }
            WaitError::Cluster(_) => JobStatus::Unknown,
        };
        Err(Unfinished { status, error })
    }
}

/// ` (active 1, succeeded 0, failed 0)` for counts seen, nothing otherwise.
fn counts_note(counts: &Option<(i32, i32, i32)>) -> String {
    counts.map_or_else(String::new, |(active, succeeded, failed)| {
        format!(" (active {active}, succeeded {succeeded}, failed {failed})")
    })
}

/// Note shown when a Job vanished while waited for and its TTL explains it.
pub const COLLECTED_NOTE: &str = "the Job finished and its ttlSecondsAfterFinished let Kubernetes delete it before its outcome was read";

/// Waits for a Job and returns its outcome, as both front ends record it (see
/// [`Unfinished::from_error`]); a Job collected while waited for is reported through `on_event`
/// with [`COLLECTED_NOTE`]. Ends at once when `cancel` is cancelled.
pub async fn outcome(
    cluster: &Cluster,
    job: &JobRef,
    timeout: Duration,
    secrets: &[String],
    cancel: &CancellationToken,
    on_event: &mut (dyn FnMut(Event) + Send),
) -> Result<JobStatus, Unfinished> {
    match wait(
        cluster,
        &job.namespace,
        &job.name,
        timeout,
        secrets,
        cancel,
        on_event,
    )
    .await
    {
        Ok(state) => Ok(state.status()),
        Err(error) => {
            let result = Unfinished::from_error(error, job.ttl);
            if matches!(result, Ok(JobStatus::Collected)) {
                on_event(Event::Warning(COLLECTED_NOTE.into()));
            }
            result
        }
    }
}

/// The Job's outcome now, without waiting: `Unknown` when it does not exist.
pub async fn current(cluster: &Cluster, job: &JobRef) -> Result<JobStatus, ClusterError> {
    Ok(cluster
        .get(&job.object())
        .await?
        .map_or(JobStatus::Unknown, |live| job_state(&live).status()))
}

/// How long a Job read directly may go unseen by the namespace's feed before it is read
/// directly again (the feed lags a Job created a moment ago; a Job deleted before the feed saw
/// it is found gone this way).
const UNSEEN_GRACE: Duration = Duration::from_secs(1);

/// Waits for Job `namespace/name` to finish. Reports progress and new warnings through
/// `on_event`; `secrets` are redacted from everything reported. Every read and pause races
/// `cancel`: once it is cancelled the wait ends with [`WaitError::Cancelled`].
///
/// Watches, does not poll: one read says which Job (its UID) is waited for, then the
/// namespace's shared feed ([`Cluster::feed`], one watch of Jobs and one of Warning events for
/// every wait in the namespace) wakes the wait whenever something changed. Warnings are the
/// Job's own and its pods' (by UID; the pods are listed when a warning about a pod that may
/// be one of them comes). A feed that cannot list or watch past the call deadline ends the
/// wait with [`WaitError::Cluster`].
pub async fn wait(
    cluster: &Cluster,
    namespace: &str,
    name: &str,
    timeout: Duration,
    secrets: &[String],
    cancel: &CancellationToken,
    on_event: &mut (dyn FnMut(Event) + Send),
) -> Result<JobState, WaitError> {
    let id = ObjectRef {
        kind: ObjectKind::Job,
        namespace: Some(namespace.to_owned()),
        name: name.to_owned(),
    };
    // A timeout beyond what an Instant can hold waits "for ever" (a century) instead of panicking.
    let deadline = tokio::time::Instant::from_std(crate::core::time::deadline(
        tokio::time::Instant::now().into_std(),
        timeout,
    ));
    let mut last = None;
    let cancelled = |counts| WaitError::Cancelled {
        job: format!("{namespace}/{name}"),
        counts,
    };
    let vanished = || WaitError::Vanished(format!("{namespace}/{name}"));
    let read = async || {
        cancel
            .run_until_cancelled(cluster.get(&id))
            .await
            .ok_or_else(|| cancelled(None))??
            .ok_or_else(vanished)
    };
    let mut job = read().await?;
    let feed = cancel
        .run_until_cancelled(cluster.feed(namespace))
        .await
        .ok_or_else(|| cancelled(None))??;
    let mut changes = feed.changes();
    let failures = feed.failures();
    let mut warnings = Warnings::default();
    let mut unseen_since = None;
    loop {
        let uid = job["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        match feed.job(name, &uid) {
            Seen::Live(now) => {
                job = now;
                unseen_since = None;
            }
            // Deleted: its last state tells how it ended, unless it had not.
            Seen::Gone(final_state) => {
                if matches!(job_state(&final_state), JobState::Running { .. }) {
                    return Err(vanished());
                }
                job = final_state;
            }
            Seen::Unseen { synced } => {
                let since = *unseen_since.get_or_insert_with(tokio::time::Instant::now);
                if synced && since.elapsed() >= UNSEEN_GRACE {
                    job = read().await.map_err(|e| match e {
                        WaitError::Cancelled { job, .. } => {
                            WaitError::Cancelled { job, counts: last }
                        }
                        other => other,
                    })?;
                    unseen_since = Some(tokio::time::Instant::now());
                }
            }
        }
        if let Some(error) = feed.failure_after(failures) {
            return Err(WaitError::Cluster(error));
        }
        let report = warnings.report(cluster, &feed, namespace, name, &job, secrets, on_event);
        cancel
            .run_until_cancelled(report)
            .await
            .ok_or_else(|| cancelled(last))?;
        let state = job_state(&job);
        match &state {
            JobState::Complete | JobState::Suspended => return Ok(state),
            JobState::Failed { reason, message } => {
                let report = diagnose(cluster, namespace, name, secrets).await;
                return Err(WaitError::Failed {
                    job: format!("{namespace}/{name}"),
                    reason: reason.clone(),
                    message: redact(message, secrets),
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
        // Sleep until the feed changes, the deadline, or the next direct read of an unseen Job.
        let wake = unseen_since.map_or(deadline, |since| deadline.min(since + UNSEEN_GRACE));
        tokio::select! {
            () = cancel.cancelled() => return Err(cancelled(last)),
            changed = changes.changed() => {
                if changed.is_err() {
                    // The feed stopped (its runtime ended): read at a slow pace instead.
                    tokio::time::sleep(UNSEEN_GRACE).await;
                    unseen_since = Some(tokio::time::Instant::now() - UNSEEN_GRACE);
                }
            }
            () = tokio::time::sleep_until(wake) => {}
        }
    }
}

/// The warnings a wait has reported, and what it knows of the Job's pods.
#[derive(Debug, Default)]
struct Warnings {
    /// The feed's events read so far.
    cursor: usize,
    /// Reported: event UID and count.
    seen: BTreeSet<String>,
    /// UIDs of the Job's pods.
    pods: BTreeSet<String>,
    /// Pod UIDs the Job's pods were listed for already.
    asked: BTreeSet<String>,
}

impl Warnings {
    /// Reports the new warnings about the Job or its pods through `on_event`, redacted.
    #[allow(clippy::too_many_arguments)]
    async fn report(
        &mut self,
        cluster: &Cluster,
        feed: &crate::cluster::Feed,
        namespace: &str,
        name: &str,
        job: &serde_json::Value,
        secrets: &[String],
        on_event: &mut (dyn FnMut(Event) + Send),
    ) {
        let (events, next) = feed.events_after(self.cursor);
        self.cursor = next;
        let uid = job["metadata"]["uid"].as_str().unwrap_or_default();
        // The job controller names pods `<job>-…`, the prefix cut at 58 characters.
        let prefix: String = format!("{name}-").chars().take(58).collect();
        for event in events {
            let about = event.involved_object.uid.clone().unwrap_or_default();
            let mine = if about.is_empty() {
                false
            } else if about == uid {
                true
            } else if event.involved_object.kind.as_deref() == Some("Pod") {
                let pod = event.involved_object.name.as_deref().unwrap_or_default();
                if !self.pods.contains(&about)
                    && pod.starts_with(&prefix)
                    && self.asked.insert(about.clone())
                    && let Ok(uids) = cluster.job_pod_uids(namespace, name, uid).await
                {
                    self.pods.extend(uids);
                }
                self.pods.contains(&about)
            } else {
                false
            };
            if !mine || !is_current(&event, job) {
                continue;
            }
            let key = event.metadata.uid.clone().unwrap_or_default()
                + &event.count.unwrap_or(1).to_string();
            if self.seen.insert(key) {
                let what = event.involved_object.name.clone().unwrap_or_default();
                let text = format!(
                    "{what}: {}: {}",
                    event.reason.clone().unwrap_or_default(),
                    event.message.clone().unwrap_or_default()
                );
                on_event(Event::Warning(redact(&text, secrets)));
            }
        }
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
        ClusterError::Api { source, .. } => match crate::cluster::NoAnswer::of(source) {
            Some(silence) => format!("the API server did not answer: {silence}"),
            None => format!("the API server could not be reached: {source}"),
        },
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
                        lines.push(format!("    | {}", redact(line, secrets)));
                    }
                }
                Ok(_) => lines.push("    (empty log)".to_owned()),
                Err(e) => lines.push(format!(
                    "    (log unavailable: {})",
                    redact(&log_unavailable(&e), secrets)
                )),
            }
        }
    }
    let id = ObjectRef {
        kind: ObjectKind::Job,
        namespace: Some(namespace.to_owned()),
        name: name.to_owned(),
    };
    // Warnings are matched by the Job's UID: without the Job there are none to show.
    if let Ok(Some(job)) = cluster.get(&id).await
        && let Ok(events) = cluster
            .job_warnings(
                namespace,
                name,
                job["metadata"]["uid"].as_str().unwrap_or_default(),
            )
            .await
    {
        let mut events: Vec<_> = events.into_iter().filter(|e| is_current(e, &job)).collect();
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
                redact(&e.message.clone().unwrap_or_default(), secrets)
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

    #[test]
    fn unfinished_waits_carry_the_outcome_to_record() {
        let vanished = || WaitError::Vanished("ns/j".into());
        assert!(matches!(
            Unfinished::from_error(vanished(), true),
            Ok(JobStatus::Collected)
        ));
        let missing = Unfinished::from_error(vanished(), false).unwrap_err();
        assert_eq!(missing.status, JobStatus::Unknown);
        let timeout = WaitError::Timeout {
            job: "ns/j".into(),
            seconds: 1,
            active: 1,
            succeeded: 0,
            failed: 0,
            report: String::new(),
        };
        assert_eq!(
            Unfinished::from_error(timeout, true).unwrap_err().status,
            JobStatus::Running
        );
        let failed = WaitError::Failed {
            job: "ns/j".into(),
            reason: "BackoffLimitExceeded".into(),
            message: String::new(),
            report: String::new(),
        };
        assert_eq!(
            Unfinished::from_error(failed, true).unwrap_err().status,
            JobStatus::Failed
        );
        let cancelled = |counts| WaitError::Cancelled {
            job: "ns/j".into(),
            counts,
        };
        let seen = Unfinished::from_error(cancelled(Some((1, 0, 0))), true).unwrap_err();
        assert_eq!(seen.status, JobStatus::Running);
        assert!(
            seen.error
                .to_string()
                .contains("cancelled (active 1, succeeded 0, failed 0); the Job keeps running"),
            "{}",
            seen.error
        );
        let unseen = Unfinished::from_error(cancelled(None), true).unwrap_err();
        assert_eq!(unseen.status, JobStatus::Unknown);
    }
}
