//! `kjob logs`: the logs of a deployed Job's pods, all of them or one (`--pod`, `--index`),
//! their last lines, the previous container's (`--previous`), the recent ones (`--since`), or
//! followed until the Job finishes (`--follow`, through [`crate::follow`]). Every line is
//! redacted as `wait` redacts (see [`super::jobs`]) before [`super::show`] prints it.

use std::io::IsTerminal;

use super::args::LogsArgs;
use super::jobs::{Deployed, combine, deployed};
use super::show::steps;
use super::{CliError, Context, Exit, cluster_exit};
use crate::cluster::LogOptions;
use crate::core::outcome;
use crate::core::secrets;
use crate::follow::{self, PodChoice};

/// A pod's phase and, when it ended, its exit code: `Failed, exit code 1`.
fn pod_summary(pod: &k8s_openapi::api::core::v1::Pod) -> String {
    let status = pod.status.as_ref();
    let phase = status
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Unknown".into());
    let exit = status
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|c| c.first())
        .and_then(|c| c.state.as_ref())
        .and_then(|s| s.terminated.as_ref())
        .map(|t| format!(", exit code {}", t.exit_code))
        .unwrap_or_default();
    format!("{phase}{exit}")
}

/// What to read and how to show it.
struct Reading {
    options: LogOptions,
    choice: PodChoice,
    follow: bool,
    /// Whether each line is prefixed with its pod's name: on a terminal, or when several pods
    /// may be shown (no `--pod` or `--index`, or several Jobs).
    prefix: bool,
}

/// `kjob logs` (see `kjob logs --help`).
pub(crate) async fn logs(context: &Context, args: &LogsArgs) -> Result<(), CliError> {
    let jobs = deployed(context, &args.target.selector())?;
    let total = jobs.len();
    let choice = match (&args.pod, args.index) {
        (Some(name), _) => PodChoice::Name(name.clone()),
        (None, Some(index)) => PodChoice::Index(index),
        (None, None) => PodChoice::All,
    };
    let reading = Reading {
        options: LogOptions {
            tail: Some(args.tail),
            previous: args.previous,
            since_seconds: args
                .since
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX).max(1)),
        },
        prefix: std::io::stdout().is_terminal() || total > 1 || choice == PodChoice::All,
        choice,
        follow: args.follow,
    };
    let mut errors = Vec::new();
    for job in &jobs {
        if let Err(e) = logs_one(context, job, &reading).await {
            errors.push(e);
        }
    }
    match combine(errors, total) {
        Err(mut e) if total > 1 && e.details.len() > 1 => {
            e.message = format!("{} of {total} KubernetesJobs have no pods", e.details.len());
            Err(e)
        }
        other => other,
    }
}

async fn logs_one(context: &Context, job: &Deployed, reading: &Reading) -> Result<(), CliError> {
    let key = &job.key;
    let label = job.label();
    let fail = |code: Exit, message: String| CliError::new(code, format!("{key}: {message}"));
    let mut pods = context
        .cluster
        .job_pods(&job.namespace, &job.name)
        .await
        .map_err(|e| fail(cluster_exit(&e), e.to_string()))?;
    let live = context
        .cluster
        .get(&job.job)
        .await
        .map_err(|e| fail(cluster_exit(&e), e.to_string()))?;
    let (secrets, hashes) = job.redaction(context).await;
    let clean = |text: &str| secrets::redact_marked(&secrets::redact(text, &secrets), &hashes);
    if reading.follow && live.is_some() {
        // Pods that do not exist yet are waited for: following ends with the Job.
        let mut on_line =
            |pod: &str, line: &str| steps::log_line(reading.prefix.then_some(pod), &clean(line));
        return follow::job(
            &context.cluster,
            &job.namespace,
            &job.name,
            &reading.options,
            &reading.choice,
            &context.cancel,
            &mut on_line,
        )
        .await
        .map_err(|e| fail(cluster_exit(&e), e.to_string()));
    }
    let all = !pods.is_empty();
    pods.retain(|p| reading.choice.matches(p));
    if pods.is_empty() {
        let why = match (live, job.record.job_status) {
            (_, _) if all => "none is the one chosen (--pod, --index)".to_owned(),
            (None, Some(outcome)) => format!(
                "the Job no longer exists (last recorded as {outcome}{}), and its pods went with it",
                if outcome::has_ttl(&job.record.manifest) {
                    "; ttlSecondsAfterFinished lets Kubernetes delete it once finished"
                } else {
                    ""
                }
            ),
            (None, None) => "the Job no longer exists, and its pods went with it".into(),
            (Some(_), _) => {
                "the Job has no pods now (not started yet, or they were deleted)".into()
            }
        };
        return Err(fail(
            Exit::Failed,
            format!("Job {label} has no pods: {why}"),
        ));
    }
    pods.sort_by(|a, b| {
        (
            a.metadata.creation_timestamp.as_ref().map(|t| t.0),
            &a.metadata.name,
        )
            .cmp(&(
                b.metadata.creation_timestamp.as_ref().map(|t| t.0),
                &b.metadata.name,
            ))
    });
    for pod in &pods {
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        match context
            .cluster
            .pod_log(&job.namespace, &pod_name, &reading.options)
            .await
        {
            Ok(text) if text.trim().is_empty() => steps::log_empty(&pod_name, &pod_summary(pod)),
            Ok(text) => {
                for line in text.lines() {
                    steps::log_line(reading.prefix.then_some(pod_name.as_str()), &clean(line));
                }
            }
            Err(e) => steps::log_unavailable(
                &pod_name,
                &pod_summary(pod),
                &clean(&crate::wait::log_unavailable(&e)),
            ),
        }
    }
    Ok(())
}
