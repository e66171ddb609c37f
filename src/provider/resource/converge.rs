//! Create's and Update's shared path: apply the rendered objects, then wait for the Job, and
//! say what the outcome means for the engine (outputs, or a plain or partial failure).

use std::time::Duration;

use serde_json::Value;

use super::{KubernetesJob, Properties, ResourceError};
use crate::core::objects::ObjectRef;
use crate::core::outcome::{self, Event, JobStatus};
use crate::deploy::{self, Observer};
use crate::kinds::Rendered;
use crate::provider::engine::EngineLog;
use crate::provider::inputs;
use crate::wait;

/// Logs what the deploy sequence does, through the engine.
pub(super) struct EngineObserver {
    log: EngineLog,
    urn: String,
    notes: Vec<String>,
}

impl Observer for EngineObserver {
    fn skipped(&mut self, object: &ObjectRef, why: &str) {
        self.notes.push(format!("left {object} alone: {why}"));
    }

    fn adopted(&mut self, object: &ObjectRef, holder: &str) {
        self.notes
            .push(format!("took over {object} from {holder} (imported)"));
    }
}

impl EngineObserver {
    /// An observer whose notes go to the engine's log against `urn`.
    pub(super) fn new(log: &EngineLog, urn: &str) -> Self {
        Self {
            log: log.clone(),
            urn: urn.to_owned(),
            notes: Vec::new(),
        }
    }

    /// Sends the notes gathered so far.
    pub(super) async fn flush(&mut self) {
        for note in self.notes.drain(..) {
            self.log.info(&self.urn, note).await;
        }
    }
}

/// One Create or Update, for [`KubernetesJob::converge`].
pub(super) struct Converge<'a> {
    /// `creating` or `updating`, for messages.
    pub verb: &'a str,
    /// The resource's URN, for the engine's log.
    pub urn: &'a str,
    /// The checked inputs and the paths the engine marked secret.
    pub props: &'a Properties,
    /// What the inputs render.
    pub rendered: &'a Rendered,
    /// The objects the previous inputs rendered (empty for a Create).
    pub previous: &'a [ObjectRef],
    /// Take over rendered objects of another owner (after `pulumi import`).
    pub adopt: bool,
    /// The engine's timeout, if it gave one.
    pub timeout: Option<Duration>,
}

impl KubernetesJob {
    /// Applies the rendered objects, then (unless waiting is off) waits for the Job to finish.
    /// Returns the ID and the outputs with `jobStatus`; a failure after anything was applied is
    /// a partial failure carrying the outputs so far.
    pub(super) async fn converge(
        &self,
        request: Converge<'_>,
    ) -> Result<(String, Properties), ResourceError> {
        let Converge {
            verb,
            urn,
            props,
            rendered,
            previous,
            adopt,
            timeout,
        } = request;
        let job = rendered
            .job
            .clone()
            .ok_or_else(|| ResourceError::Internal("a KubernetesJob renders a Job".into()))?;
        let id = inputs::resource_id(&job.namespace, &job.name);
        let base = inputs::outputs(&props.value, Some(&job.namespace), Some(&job.name));
        let with_status = |status: JobStatus| {
            let mut out = base.clone();
            out[inputs::OUT_JOB_STATUS] = Value::from(status.word());
            Properties::with_secret_fields(out, &props.secrets)
        };
        let partial = |status: JobStatus, reason: String| ResourceError::Partial {
            id: id.clone(),
            outputs: with_status(status),
            reasons: vec![reason],
        };
        let cluster = &self.cluster;
        let mut observer = EngineObserver::new(&self.log, urn);
        let takeover = deploy::Takeover { adopt };
        // A Create has nothing of its own to find: a Create that applied anything and failed
        // returns a partial result, and the engine's next step is an Update. An Update cannot
        // tell whether the run before it finished, so it always looks.
        let sweep = if previous.is_empty() {
            deploy::Sweep::Needed {
                last_run_failed: false,
            }
        } else {
            deploy::Sweep::Always
        };
        let applied = deploy::apply_with(
            cluster,
            rendered,
            previous,
            &[],
            takeover,
            sweep,
            &mut observer,
            &self.cancel,
        )
        .await;
        observer.flush().await;
        if let Err(failure) = applied {
            let reason = format!("{verb} KubernetesJob {id}: {}", failure.source);
            if failure.owned.is_empty() && previous.is_empty() {
                return Err(ResourceError::Failed(reason));
            }
            return Err(partial(JobStatus::Unknown, reason));
        }
        let secrets = crate::core::secrets::secret_values(&props.value);
        if !self.config.wait || outcome::wait_disabled(&outcome::annotations_of(&props.value)) {
            let status = wait::current(cluster, &job)
                .await
                .unwrap_or(JobStatus::Unknown);
            return Ok((id, with_status(status)));
        }
        let timeout = timeout.unwrap_or(outcome::DEFAULT_TIMEOUT);
        let status = super::status::WaitStatus::new(&self.log, urn, &secrets);
        let (log, urn_owned, counts) = (self.log.clone(), urn.to_owned(), status.clone());
        let mut on_event = move |event: Event| match event {
            Event::Progress {
                active,
                succeeded,
                failed,
            } => counts.counts(active, succeeded, failed),
            Event::Warning(text) => {
                let (log, urn) = (log.clone(), urn_owned.clone());
                tokio::spawn(async move { log.warn(&urn, text).await });
            }
        };
        // The pods' latest log lines join the status line while the wait goes on; the follow
        // stops with the wait.
        let stop = self.cancel.child_token();
        let mut on_line = |pod: &str, line: &str| status.line(pod, line);
        let following =
            crate::follow::all_pods(cluster, &job.namespace, &job.name, &stop, &mut on_line);
        let waiting = async {
            let waited = wait::outcome(
                cluster,
                &job,
                timeout,
                &secrets,
                &self.cancel,
                &mut on_event,
            )
            .await;
            stop.cancel();
            waited
        };
        let (waited, followed) = tokio::join!(waiting, following);
        if let Err(e) = followed {
            tracing::debug!("following the logs of Job {}: {e}", job.label());
        }
        self.log.status(urn, "").await;
        match waited {
            Ok(status) => Ok((id, with_status(status))),
            Err(unfinished) => {
                let message = match &unfinished.error {
                    wait::WaitError::Failed { .. } | wait::WaitError::Timeout { .. } => {
                        unfinished.error.to_string()
                    }
                    other => format!("{verb} KubernetesJob {id}: {other}"),
                };
                Err(partial(unfinished.status, message))
            }
        }
    }
}
