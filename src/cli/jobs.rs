//! Job outcomes on the command line: the `wait` and `logs` commands, and the refresh of
//! recorded Job outcomes before `up` plans. What they print, the progress shown while waiting
//! included, is [`super::show`]'s.
//!
//! **Refresh.** Before `up` compares manifests with the state store it reads each recorded Job:
//! a Job that finished after `up` stopped waiting gets its outcome recorded (so a Job that
//! failed meanwhile is run again), and a Job that completed and that Kubernetes then deleted
//! through `ttlSecondsAfterFinished` is recorded as `Collected`: it ran, so under the default
//! run-once policy it is not created again. A failed Job stays `Failed` when collected, so the
//! next `up` still runs it again. A Job with no recorded outcome that is not in the cluster
//! tells nothing (a crashed `up` left it pending and never created it, or died before it saw
//! the outcome): it is left as it is, and `up` applies it again.
//!
//! **Redaction in `wait` and `logs`.** The state store keeps only SHA-256 hashes of direct secret
//! values. The values redacted are: those of the manifest file (`--manifest`), those of the
//! Job's live Secret `<name>-env-secrets` (when it can be read), and, as a last resort, any word
//! of the output whose SHA-256 is one of the hashes stored (words are split at whitespace and
//! at `= : , ; " ' ( ) [ ] { } < > |`). So with `--name` alone, a value is still redacted when
//! the live Secret can be read or when it appears as a word of its own.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use super::args::WaitArgs;
use super::plan::{self, Planned};
use super::select::{self, Selector};
use super::show::{Progress, steps};
use super::{CliError, Context, Exit, cluster_exit};
use crate::core::objects::{ObjectKind, ObjectRef};
use crate::core::outcome::{self, Event, Gone, JobRef, JobStatus};
use crate::core::refs::ResourceKey;
use crate::core::secrets;
use crate::kinds::job::render;
use crate::manifest::Kind;
use crate::state::Record;
use crate::wait::{Unfinished, WaitError};

/// The Job a record lists, if any.
fn recorded_job(record: &Record) -> Option<ObjectRef> {
    record
        .all_objects()
        .into_iter()
        .find(|o| o.kind == ObjectKind::Job)
}

/// Brings the recorded outcome of the planned KubernetesJobs' Jobs up to date (see the module
/// doc); runs under the store's lock, before `up` plans. A cluster that cannot be read leaves
/// the recorded outcomes as they are (the apply then reports it).
pub async fn refresh(context: &Context, planned: &[Planned]) -> Result<(), CliError> {
    for p in planned.iter().filter(|p| p.rendered.job.is_some()) {
        let Some(mut record) = context.store.get(&p.key)? else {
            continue;
        };
        let Some(job) = recorded_job(&record) else {
            continue;
        };
        let live = match context.cluster.get(&job).await {
            Ok(live) => live,
            Err(e) => {
                tracing::debug!("refreshing {}: {e}", p.key);
                continue;
            }
        };
        let before = record.job_status;
        let ttl = outcome::has_ttl(&record.manifest);
        let after = outcome::refreshed(before, live.as_ref(), ttl);
        if after == before {
            continue;
        }
        steps::refreshed(&p.key, &job, before, after, live.is_some());
        if after.is_none() {
            // Deleted by someone else: the next up creates it again.
            record.remove_object(&job);
        }
        record.job_status = after;
        context.store.save(&mut record)?;
    }
    Ok(())
}

/// A deployed KubernetesJob to wait for or read logs of.
pub(super) struct Deployed {
    pub(super) key: ResourceKey,
    pub(super) record: Record,
    pub(super) job: ObjectRef,
    pub(super) namespace: String,
    pub(super) name: String,
    /// Secret values known in clear (the manifest file's).
    secrets: Vec<String>,
}

impl Deployed {
    pub(super) fn label(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The values to redact: the manifest's, plus the live env Secret's when it can be read.
    pub(super) async fn redaction(&self, context: &Context) -> (Vec<String>, BTreeSet<String>) {
        let mut secrets = self.secrets.clone();
        let env_secret = render::env_secret_name(&self.record.name);
        if let Some(id) = self
            .record
            .all_objects()
            .into_iter()
            .find(|o| o.kind == ObjectKind::Secret && o.name == env_secret)
        {
            match context.cluster.get(&id).await {
                Ok(Some(live)) => {
                    match serde_json::from_value::<k8s_openapi::api::core::v1::Secret>(live) {
                        Ok(secret) => secrets.extend(
                            secret
                                .data
                                .unwrap_or_default()
                                .into_values()
                                .map(|v| String::from_utf8_lossy(&v.0).into_owned()),
                        ),
                        Err(e) => tracing::debug!("reading {id}: {e}"),
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::debug!("reading {id}: {e}"),
            }
        }
        secrets.sort();
        secrets.dedup();
        (secrets, secrets::markers(&self.record.manifest))
    }
}

/// The deployed KubernetesJobs a selector names: every KubernetesJob document of a manifest
/// file, or one by name (and env). Not deployed, or deployed without a Job, is exit 2.
pub(super) fn deployed(context: &Context, selector: &Selector) -> Result<Vec<Deployed>, CliError> {
    let mut wanted: Vec<(ResourceKey, Vec<String>)> = Vec::new();
    match selector {
        Selector::Manifest(path) => {
            let docs = plan::load(path, &context.sets)?;
            for doc in docs.iter().filter(|d| d.kind == Kind::KubernetesJob) {
                wanted.push((doc.key(), secrets::secret_values(&doc.value)));
            }
            if wanted.is_empty() {
                return Err(CliError::new(
                    Exit::Invalid,
                    format!("{path} holds no KubernetesJob"),
                ));
            }
        }
        Selector::Name { .. } => {
            for target in select::targets(context, selector)? {
                wanted.push((target.key, Vec::new()));
            }
        }
    }
    let mut out = Vec::new();
    for (key, secrets) in wanted {
        let Some(record) = context.store.get(&key)? else {
            return Err(CliError::new(
                Exit::Invalid,
                format!(
                    "{key} is not deployed: {} has no record of it",
                    context.store.describe()
                ),
            ));
        };
        let Some(job) = recorded_job(&record) else {
            return Err(CliError::new(
                Exit::Invalid,
                format!(
                    "{key} has no Job: its last up ({}) did not create one{}",
                    record.status.as_str(),
                    record
                        .error
                        .as_ref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                ),
            ));
        };
        let output = |k: &str| {
            record
                .outputs
                .get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let namespace = output("namespace")
            .or_else(|| job.namespace.clone())
            .unwrap_or_default();
        let name = output("jobName").unwrap_or_else(|| job.name.clone());
        out.push(Deployed {
            key,
            record,
            job,
            namespace,
            name,
            secrets,
        });
    }
    Ok(out)
}

/// Ends with the first error's code; several errors are listed, one per line.
pub(super) fn combine(mut errors: Vec<CliError>, total: usize) -> Result<(), CliError> {
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        n => {
            let code = errors[0].code;
            let mut details = Vec::new();
            for e in errors {
                details.extend(e.details);
                details.push(format!("error: {}", e.message));
            }
            Err(CliError {
                code,
                details,
                message: format!("{n} of {total} KubernetesJobs did not complete"),
            })
        }
    }
}

/// `kjob wait`: waits for each selected Job to finish (see `kjob wait --help`).
pub(crate) async fn wait(context: &Context, args: &WaitArgs) -> Result<(), CliError> {
    let timeout = Duration::from_secs(args.timeout);
    let jobs = deployed(context, &args.target.selector())?;
    let total = jobs.len();
    let mut errors = Vec::new();
    for job in &jobs {
        match wait_one(context, job, timeout).await {
            Err(e) if e.code == Exit::Interrupted => return Err(e),
            Err(e) => errors.push(e),
            Ok(()) => {}
        }
        if context.cancel.is_cancelled() {
            return Err(CliError::new(
                Exit::Interrupted,
                "cancelled: stopped waiting; the Jobs keep running",
            ));
        }
    }
    combine(errors, total)
}

async fn wait_one(context: &Context, job: &Deployed, timeout: Duration) -> Result<(), CliError> {
    let key = &job.key;
    let label = job.label();
    let recorded = job.record.job_status;
    let ttl = outcome::has_ttl(&job.record.manifest);
    let fail = |code: Exit, message: String| CliError::new(code, format!("{key}: {message}"));
    let live = context
        .cluster
        .get(&job.job)
        .await
        .map_err(|e| fail(cluster_exit(&e), e.to_string()))?;
    if live.is_none() {
        // Gone before we looked: the recorded outcome and the TTL rule are all there is.
        let was = recorded.map_or("unknown", JobStatus::word);
        return match outcome::when_gone(recorded, ttl) {
            Gone::Finished(JobStatus::Failed) => Err(fail(
                Exit::Failed,
                format!(
                    "Job {label} failed (as recorded) and Kubernetes has since deleted it (ttlSecondsAfterFinished); the next up runs it again"
                ),
            )),
            Gone::Finished(status) => {
                steps::wait_gone_finished(key, &label, was, status);
                Ok(())
            }
            Gone::Missing => Err(fail(
                Exit::Failed,
                format!(
                    "Job {label} does not exist (last recorded as {was}): it was deleted; the next up creates it again"
                ),
            )),
        };
    }
    let (secrets, hashes) = job.redaction(context).await;
    let progress = Progress::start(&label).redacting(hashes.clone());
    let mut on_event = |event: Event| progress.event(event);
    let target = JobRef {
        namespace: job.namespace.clone(),
        name: job.name.clone(),
        ttl,
    };
    let waited = crate::wait::outcome(
        &context.cluster,
        &target,
        timeout,
        &secrets,
        &context.cancel,
        &mut on_event,
    )
    .await;
    progress.finish();
    let elapsed = progress.elapsed();
    let clean = |text: String| secrets::redact_marked(&text, &hashes);
    match waited {
        Ok(JobStatus::Complete) => {
            steps::wait_complete(key, &label, elapsed);
            Ok(())
        }
        Ok(JobStatus::Collected) => {
            steps::wait_collected(key, &label);
            Ok(())
        }
        Ok(JobStatus::Suspended) => Err(fail(
            Exit::Failed,
            format!("Job {label} is suspended: it runs when spec.suspend is false"),
        )),
        Ok(other) => Err(fail(Exit::Failed, format!("Job {label} is {other}"))),
        Err(Unfinished {
            error:
                WaitError::Timeout {
                    seconds,
                    active,
                    succeeded,
                    failed,
                    report,
                    ..
                },
            ..
        }) => Err(fail(
            Exit::Failed,
            clean(format!(
                "Job {label} did not finish within {seconds}s (active {active}, succeeded {succeeded}, failed {failed}); it keeps running: wait again with kjob wait, read its pods' logs with kjob logs, stop it with kjob down{report}"
            )),
        )),
        Err(Unfinished {
            error: WaitError::Cluster(e),
            ..
        }) => Err(fail(cluster_exit(&e), e.to_string())),
        Err(Unfinished {
            error: error @ WaitError::Cancelled { .. },
            ..
        }) => Err(fail(Exit::Interrupted, clean(error.to_string()))),
        Err(unfinished) => Err(fail(Exit::Failed, clean(unfinished.error.to_string()))),
    }
}
