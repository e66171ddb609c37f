//! A Job is a task with an outcome. The rules, written once for the provider and the CLI: what
//! a live Job's status means ([`job_state`]), the outcome words kept in state and outputs
//! ([`JobStatus`]), when an unchanged resource runs its Job again ([`rerun_reason`]), and what a
//! Job that is gone means ([`when_gone`], [`vanished_while_waiting`]). Pure.
//!
//! Per-resource choices live in `metadata.annotations`, so they work the same from a manifest,
//! the CLI and Pulumi:
//! - `kjob.project-planton.org/wait: "false"`: do not wait for completion (default: wait).
//! - `kjob.project-planton.org/run-policy: every-up`: run the Job again on every `up` even when
//!   nothing changed (default `once`: an unchanged, finished Job is left alone).
//!
//! **A Job that Kubernetes deleted after `ttlSecondsAfterFinished`** ran; it is not missing.
//! One that had completed (or was last seen running) is `Collected` and is not run again under
//! run-once. One that had
//! failed stays `Failed`: a failure is never silently accepted, so the next `up` runs it again.
//! A Job that vanishes while kjob waits for it, and whose TTL lets Kubernetes delete it, is
//! `Collected` (its failure, had there been one, was not seen). Without a TTL a Job that is gone
//! was deleted by someone else: it is missing and the next `up` creates it again.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::core::objects::{ObjectKind, ObjectRef};

/// Annotation that turns waiting off for one resource.
pub const WAIT_ANNOTATION: &str = "kjob.project-planton.org/wait";
/// Annotation that chooses the re-run policy.
pub const RUN_POLICY_ANNOTATION: &str = "kjob.project-planton.org/run-policy";
/// The run policy that runs the Job again on every `up`.
pub const EVERY_UP: &str = "every-up";
/// Default wait for completion.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The outcome of a resource's Job as kept in state and outputs (`jobStatus`), serialised as
/// the words of [`JobStatus::word`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum JobStatus {
    /// Finished successfully.
    Complete,
    /// Finished unsuccessfully.
    Failed,
    /// Not finished.
    Running,
    /// Suspended: no pods run until `suspend` is false.
    Suspended,
    /// Finished, then deleted by Kubernetes after `ttlSecondsAfterFinished`.
    Collected,
    /// Not known: the Job could not be read.
    Unknown,
}

impl JobStatus {
    /// Every status.
    pub const ALL: [JobStatus; 6] = [
        JobStatus::Complete,
        JobStatus::Failed,
        JobStatus::Running,
        JobStatus::Suspended,
        JobStatus::Collected,
        JobStatus::Unknown,
    ];

    /// The word stored and shown.
    pub fn word(self) -> &'static str {
        match self {
            JobStatus::Complete => "Complete",
            JobStatus::Failed => "Failed",
            JobStatus::Running => "Running",
            JobStatus::Suspended => "Suspended",
            JobStatus::Collected => "Collected",
            JobStatus::Unknown => "Unknown",
        }
    }

    /// The status a word names.
    pub fn parse(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.word() == word)
    }

    /// The status in an outputs document's `jobStatus`, if any.
    pub fn of_outputs(outputs: &Value, key: &str) -> Option<Self> {
        outputs
            .get(key)
            .and_then(Value::as_str)
            .and_then(Self::parse)
    }

    /// Whether the Job has finished, either way (a collected Job had).
    pub fn finished(self) -> bool {
        matches!(
            self,
            JobStatus::Complete | JobStatus::Failed | JobStatus::Collected
        )
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// What a live Job is doing, as far as its status tells.
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
    /// The outcome it stands for.
    pub fn status(&self) -> JobStatus {
        match self {
            JobState::Suspended => JobStatus::Suspended,
            JobState::Running { .. } => JobStatus::Running,
            JobState::Complete => JobStatus::Complete,
            JobState::Failed { .. } => JobStatus::Failed,
        }
    }

    /// Whether the Job has finished (either way).
    pub fn finished(&self) -> bool {
        self.status().finished()
    }
}

/// Reads a Job's state from its JSON.
pub fn job_state(job: &Value) -> JobState {
    let conditions = job
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
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
            .map_or(0, |n| i32::try_from(n).unwrap_or(i32::MAX))
    };
    JobState::Running {
        active: count("active"),
        succeeded: count("succeeded"),
        failed: count("failed"),
    }
}

/// The string annotations (`metadata.annotations`) of a manifest or inputs document.
pub fn annotations_of(document: &Value) -> BTreeMap<String, String> {
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
pub fn wait_disabled(annotations: &BTreeMap<String, String>) -> bool {
    annotations
        .get(WAIT_ANNOTATION)
        .is_some_and(|v| v.eq_ignore_ascii_case("false"))
}

/// Whether a manifest's annotations ask to run again on every up.
pub fn runs_every_up(annotations: &BTreeMap<String, String>) -> bool {
    annotations
        .get(RUN_POLICY_ANNOTATION)
        .is_some_and(|v| v == EVERY_UP)
}

/// Whether a manifest (JSON names) lets Kubernetes delete its Job once finished
/// (`ttlSecondsAfterFinished` above 0: 0 is the proto's "unset", which renders no TTL).
pub fn has_ttl(manifest: &Value) -> bool {
    manifest
        .pointer("/spec/ttlSecondsAfterFinished")
        .and_then(Value::as_i64)
        .is_some_and(|t| t > 0)
}

/// Why a resource whose inputs did not change must run its Job again, if it must: its last
/// run failed, or it asks to run on every up and its Job has finished.
pub fn rerun_reason(
    recorded: Option<JobStatus>,
    annotations: &BTreeMap<String, String>,
) -> Option<String> {
    let recorded = recorded?;
    if recorded == JobStatus::Failed {
        return Some("the Job failed last time; running it again".into());
    }
    if recorded.finished() && runs_every_up(annotations) {
        return Some(format!("{RUN_POLICY_ANNOTATION}: {EVERY_UP}"));
    }
    None
}

/// What a recorded Job that is no longer in the cluster means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    /// Kubernetes deleted it after it finished: keep the resource, with this outcome.
    Finished(JobStatus),
    /// Someone deleted it: the resource's Job is missing and is created again.
    Missing,
}

/// The one rule for a recorded Job that is gone (see the module doc): with a TTL, a failed Job
/// stays `Failed`, and one seen complete or running (the TTL deletes only finished Jobs, and no
/// failure was seen) is `Collected`. A Job whose outcome was never read (none recorded, or
/// `Unknown`: a run that crashed before it looked), a suspended one (the TTL cannot have
/// deleted it) and any Job without a TTL were deleted by someone: missing.
pub fn when_gone(recorded: Option<JobStatus>, ttl: bool) -> Gone {
    use JobStatus::{Collected, Complete, Failed, Running};
    match (ttl, recorded) {
        (true, Some(Failed)) => Gone::Finished(Failed),
        (true, Some(Complete | Collected | Running)) => Gone::Finished(Collected),
        _ => Gone::Missing,
    }
}

/// The outcome of a Job that vanished while kjob waited for it: `Collected` when its TTL let
/// Kubernetes delete it, otherwise none (someone deleted it: an error).
pub fn vanished_while_waiting(ttl: bool) -> Option<JobStatus> {
    ttl.then_some(JobStatus::Collected)
}

/// The outcome to record for a Job from its recorded outcome and what the cluster holds:
/// a live Job's status, or [`when_gone`]'s answer (`None`: missing).
pub fn refreshed(
    recorded: Option<JobStatus>,
    live: Option<&Value>,
    ttl: bool,
) -> Option<JobStatus> {
    match live {
        Some(job) => Some(job_state(job).status()),
        None => match when_gone(recorded, ttl) {
            Gone::Finished(status) => Some(status),
            Gone::Missing => None,
        },
    }
}

/// The Job a resource runs: the one to wait for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRef {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Whether its `ttlSecondsAfterFinished` lets Kubernetes delete it once finished.
    pub ttl: bool,
}

impl JobRef {
    /// `namespace/name`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The Job object's identity.
    pub fn object(&self) -> ObjectRef {
        ObjectRef {
            kind: ObjectKind::Job,
            namespace: Some(self.namespace.clone()),
            name: self.name.clone(),
        }
    }
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
    fn words_round_trip() {
        for status in JobStatus::ALL {
            assert_eq!(JobStatus::parse(status.word()), Some(status));
            assert_eq!(serde_json::to_value(status).unwrap(), json!(status.word()));
        }
        assert_eq!(JobStatus::parse("complete"), None);
    }

    #[test]
    fn rerun_policy() {
        let every: BTreeMap<String, String> =
            [(RUN_POLICY_ANNOTATION.into(), EVERY_UP.into())].into();
        let none = BTreeMap::new();
        assert!(rerun_reason(Some(JobStatus::Failed), &none).is_some());
        assert!(rerun_reason(Some(JobStatus::Complete), &none).is_none());
        assert!(rerun_reason(Some(JobStatus::Collected), &none).is_none());
        assert!(rerun_reason(Some(JobStatus::Running), &every).is_none());
        for finished in [JobStatus::Complete, JobStatus::Collected, JobStatus::Failed] {
            assert!(rerun_reason(Some(finished), &every).is_some());
        }
        assert!(rerun_reason(None, &every).is_none());
    }

    #[test]
    fn gone_jobs() {
        use JobStatus::*;
        assert_eq!(when_gone(Some(Complete), true), Gone::Finished(Collected));
        assert_eq!(when_gone(Some(Collected), true), Gone::Finished(Collected));
        assert_eq!(when_gone(Some(Running), true), Gone::Finished(Collected));
        // Failed, then collected: still failed, so it runs again.
        assert_eq!(when_gone(Some(Failed), true), Gone::Finished(Failed));
        assert_eq!(when_gone(Some(Complete), false), Gone::Missing);
        assert_eq!(when_gone(Some(Failed), false), Gone::Missing);
        // Never seen: a crashed run; the Job is created again.
        assert_eq!(when_gone(None, true), Gone::Missing);
        assert_eq!(when_gone(Some(Unknown), true), Gone::Missing);
        assert_eq!(when_gone(Some(Suspended), true), Gone::Missing);
        assert!(!has_ttl(&json!({"spec": {"ttlSecondsAfterFinished": 0}})));
        assert!(has_ttl(&json!({"spec": {"ttlSecondsAfterFinished": 5}})));
        assert_eq!(vanished_while_waiting(true), Some(Collected));
        assert_eq!(vanished_while_waiting(false), None);
        let live = json!({"status": {"conditions": [{"type": "Complete", "status": "True"}]}});
        assert_eq!(refreshed(Some(Running), Some(&live), false), Some(Complete));
        assert_eq!(refreshed(Some(Failed), None, true), Some(Failed));
        assert_eq!(refreshed(Some(Complete), None, false), None);
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
}
