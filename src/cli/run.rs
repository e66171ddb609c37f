//! `up` and `down` against the cluster, writing the state store after every object so that a
//! crash at any point loses nothing: the next `up` re-applies (server-side apply adopts the
//! objects that carry our labels) and the next `down` deletes what the record lists.
//!
//! `up` of one resource ([`apply_one`]): when the inputs force it (or the Job failed last
//! time, or its run policy is every-up), delete the old Job first; record the new manifest with
//! status `applying` and the objects about to be applied as pending; apply every object (each
//! recorded as soon as it is applied) and prune what is no longer rendered; wait for the Job to
//! finish (unless told not to), showing progress ([`super::show::Progress`]); record the outputs
//! and status `applied`, or what exists and status `failed`. Resources whose inputs and objects
//! did not change since a successful `up` are left alone (by [`super::concurrent`]). A Job that
//! finished and that Kubernetes deleted after `ttlSecondsAfterFinished` (recorded `Collected`)
//! is not created again unless it is replaced or its run policy is every-up; the resource's
//! other objects are still applied.
//!
//! `down` of one resource ([`delete_one`]): status `deleting`, delete the recorded objects,
//! applied or pending (newest first, each only while it carries our ownership labels, each
//! removed from the record as soon as it is gone), then remove the record. Which resources run,
//! in which order and how many at once is [`super::concurrent`]'s; what they print is
//! [`super::show::steps`]'s, on the resource's [`Line`].
//!
//! **Interrupted** (SIGINT, SIGTERM: [`Context::cancel`]): the wait or deploy sequence in flight
//! stops at once; `up` records what exists (status `failed`, the Job's outcome `Running` when it
//! was seen running: the next `up` waits for it again), `down` keeps in the record what was not
//! seen gone (status `deleting`: the next `down` deletes it), a resource not reached yet is left
//! as it was (`not-started` in the summary), and the command ends with exit 130 once its lock is
//! released.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::plan::Planned;
use super::show::live::Line;
use super::show::{Progress, steps};
use super::{CliError, Context, Exit, cluster_exit};
use crate::core::objects::{ObjectKind, ObjectRef};
use crate::core::outcome::{self, Event, JobRef, JobStatus};
use crate::core::owner::Owner;
use crate::core::plan::Change;
use crate::core::secrets;
use crate::deploy::{self, Observer, Takeover};
use crate::state::{Record, StateError, Status, Store};
use crate::wait::{Unfinished, WaitError};

/// The test hook's environment variable: abort the process right after the N-th object of the
/// run is applied and recorded (crash-recovery tests only).
pub const CRASH_AFTER_OBJECTS: &str = "KJOB_TEST_CRASH_AFTER_OBJECTS";

/// How `up` runs.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// Whether to wait for Jobs to finish: `Some(true)` always (`--wait`), `Some(false)` never
    /// (`--no-wait`), `None` unless the resource's annotation
    /// `kjob.project-planton.org/wait: "false"` says not to.
    pub wait: Option<bool>,
    /// How long to wait for each Job.
    pub timeout: Duration,
    /// `--adopt`: take over rendered objects that belong to another owner.
    pub adopt: bool,
    /// `--logs`: stream the Job's pods' logs while waiting.
    pub logs: bool,
    /// `--parallel`: documents applied at once ([`super::concurrent`]).
    pub parallel: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Up,
    Down,
}

/// Records every object applied or deleted into the resource's state file at once.
struct Recorder<'a> {
    store: &'a dyn Store,
    line: &'a Line,
    record: Record,
    mode: Mode,
    rendered: Vec<ObjectRef>,
    /// The objects left alone because they are not ours, and why.
    kept: Vec<(ObjectRef, String)>,
    save_error: Option<StateError>,
}

static APPLIED: AtomicUsize = AtomicUsize::new(0);

impl<'a> Recorder<'a> {
    fn new(
        store: &'a dyn Store,
        line: &'a Line,
        record: Record,
        mode: Mode,
        rendered: Vec<ObjectRef>,
    ) -> Self {
        Self {
            store,
            line,
            record,
            mode,
            rendered,
            kept: Vec::new(),
            save_error: None,
        }
    }

    fn save(&mut self) {
        if let Err(e) = self.store.save(&mut self.record) {
            steps::save_failed(self.line, &e);
            self.save_error.get_or_insert(e);
        }
    }

    /// The record, or the first error saving it.
    fn finish(self) -> Result<Record, CliError> {
        self.finish_keeping().map(|(record, _)| record)
    }

    /// The record and the objects left alone, or the first error saving it.
    fn finish_keeping(self) -> Result<(Record, Vec<(ObjectRef, String)>), CliError> {
        match self.save_error {
            Some(e) => Err(CliError::from(e)),
            None => Ok((self.record, self.kept)),
        }
    }

    /// The crash test hook (see [`CRASH_AFTER_OBJECTS`]).
    fn crash_hook(&self) {
        let count = APPLIED.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(limit) = std::env::var(CRASH_AFTER_OBJECTS)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            && count >= limit
        {
            steps::crash_hook(CRASH_AFTER_OBJECTS, limit, count);
            std::process::abort();
        }
    }
}

impl Observer for Recorder<'_> {
    fn applied_at(&mut self, object: &ObjectRef, version: Option<&str>) {
        match version.filter(|_| object.kind != ObjectKind::Job) {
            Some(v) => self
                .record
                .versions
                .insert(object.to_string(), v.to_owned()),
            None => self.record.versions.remove(&object.to_string()),
        };
        self.applied(object);
    }

    fn recorded_version(&self, object: &ObjectRef) -> Option<String> {
        let pending = self.record.pending.contains(object) && !self.record.objects.contains(object);
        match self.record.versions.get(&object.to_string()) {
            Some(v) => Some(v.clone()),
            None if pending => Some(deploy::ABSENT.to_owned()),
            None => None,
        }
    }

    fn applied(&mut self, object: &ObjectRef) {
        self.record.add_object(object);
        self.record.foreign.retain(|o| o != object);
        self.save();
        steps::applied(self.line, object);
        self.crash_hook();
    }

    fn deleted(&mut self, object: &ObjectRef) {
        self.record.remove_object(object);
        self.save();
        steps::deleted(self.line, object);
    }

    fn adopted(&mut self, object: &ObjectRef, holder: &str) {
        steps::adopted(self.line, object, holder);
    }

    fn skipped(&mut self, object: &ObjectRef, why: &str) {
        steps::left_alone(self.line, object, why);
        self.kept.push((object.clone(), why.to_owned()));
        self.record.remove_object(object);
        if self.mode == Mode::Up
            && self.rendered.contains(object)
            && !self.record.foreign.contains(object)
        {
            self.record.foreign.push(object.clone());
        }
        self.save();
    }
}

/// A failure part-way: what exists, the exit code, the message.
struct Partial {
    owned: Vec<ObjectRef>,
    code: Exit,
    message: String,
}

impl From<deploy::PartialFailure> for Partial {
    fn from(e: deploy::PartialFailure) -> Self {
        Partial {
            code: cluster_exit(&e.source),
            message: e.source.to_string(),
            owned: e.owned,
        }
    }
}

/// A document that failed: the error, and its Job's outcome when known.
#[derive(Debug)]
pub struct Failed {
    /// What the command ends with.
    pub error: CliError,
    /// The Job's outcome as recorded.
    pub job: Option<JobStatus>,
}

impl From<CliError> for Failed {
    fn from(error: CliError) -> Self {
        Self { error, job: None }
    }
}

impl From<StateError> for Failed {
    fn from(error: StateError) -> Self {
        CliError::from(error).into()
    }
}

/// What `down` did to one resource: deleted, but these objects (not ours) left alone.
#[derive(Debug)]
pub struct Deleted {
    /// Objects left alone, and why.
    pub kept: Vec<(ObjectRef, String)>,
}

/// Records a failure (status `failed`, what exists, why) and returns the error to exit with.
fn failed(
    store: &dyn Store,
    mut record: Record,
    owned: &[ObjectRef],
    code: Exit,
    message: String,
) -> Failed {
    for o in owned {
        record.add_object(o);
    }
    record.status = Status::Failed;
    record.error = Some(message.clone());
    let key = record.key();
    let mut error = CliError::new(code, format!("{key}: {message}"));
    if let Err(e) = store.save(&mut record) {
        error.details.push(format!("error: {e}"));
    }
    Failed {
        error,
        job: record.job_status,
    }
}

/// Waits for the Job (or reads its state when waiting is off); returns its outcome and, when
/// it waited, how long.
async fn job_outcome(
    context: &Context,
    planned: &Planned,
    job: &JobRef,
    options: &UpOptions,
    line: &Line,
) -> Result<(JobStatus, Option<Duration>), (Exit, JobStatus, String)> {
    let wait = options
        .wait
        .unwrap_or_else(|| !outcome::wait_disabled(&planned.annotations()));
    if !wait {
        return crate::wait::current(&context.cluster, job)
            .await
            .map(|status| (status, None))
            .map_err(|e| (cluster_exit(&e), JobStatus::Unknown, e.to_string()));
    }
    let secrets = secrets::secret_values(&planned.manifest);
    let progress = Progress::on_line(line, &job.label());
    let mut on_event = |event: Event| progress.event(event);
    let waiting = crate::wait::outcome(
        &context.cluster,
        job,
        options.timeout,
        &secrets,
        &context.cancel,
        &mut on_event,
    );
    let waited = if options.logs {
        // The follow ends by itself once the Job is finished and its last lines are in; after
        // a wait that ended otherwise (timeout, error) it is stopped a moment later.
        let stop = context.cancel.child_token();
        let mut on_line =
            |pod: &str, line: &str| progress.log_line(pod, &secrets::redact(line, &secrets));
        let following = crate::follow::all_pods(
            &context.cluster,
            &job.namespace,
            &job.name,
            &stop,
            &mut on_line,
        );
        let waiting = async {
            let waited = waiting.await;
            let stop = stop.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(6)).await;
                stop.cancel();
            });
            waited
        };
        let (waited, followed) = tokio::join!(waiting, following);
        if let Err(e) = followed {
            tracing::info!("following the logs of Job {}: {e}", job.label());
        }
        waited
    } else {
        waiting.await
    };
    progress.finish();
    let elapsed = Some(progress.elapsed());
    match waited {
        Ok(status) => Ok((status, elapsed)),
        Err(Unfinished {
            status,
            error: WaitError::Cluster(e),
        }) => Err((cluster_exit(&e), status, e.to_string())),
        Err(Unfinished {
            status,
            error: error @ WaitError::Cancelled { .. },
        }) => Err((Exit::Interrupted, status, error.to_string())),
        Err(Unfinished { status, error }) => Err((Exit::Failed, status, error.to_string())),
    }
}

/// `up` of one document (its heading is already shown on `line`).
pub(super) async fn apply_one(
    context: &Context,
    planned: &Planned,
    change: &Change,
    options: &UpOptions,
    line: &Line,
) -> Result<Record, Failed> {
    let store = context.store.as_ref();
    let key = &planned.key;
    let existing = store.get(key)?;
    // A new record, or one whose last up finished, lists everything kjob applied for it.
    let last_run_failed = existing
        .as_ref()
        .is_some_and(|r| r.status != Status::Applied);
    let mut record = existing.unwrap_or_else(|| Record::new(key));
    record.status = Status::Applying;
    record.error = None;
    let rendered_ids: Vec<ObjectRef> = planned.rendered.ids();

    if let Some(why) = &change.replace_job {
        store.save(&mut record)?;
        let jobs: Vec<ObjectRef> = record
            .all_objects()
            .into_iter()
            .filter(|o| o.kind == ObjectKind::Job)
            .collect();
        steps::replacing_job(line, why);
        let mut recorder = Recorder::new(store, line, record, Mode::Up, rendered_ids.clone());
        let result = deploy::delete(
            &context.cluster,
            &jobs,
            planned.owner(),
            &mut recorder,
            &context.cancel,
        )
        .await;
        record = recorder.finish()?;
        if let Err(e) = result {
            let partial = Partial::from(e);
            return Err(failed(
                store,
                record,
                &[],
                partial.code,
                format!("deleting the old Job: {}", partial.message),
            ));
        }
        record.job_status = None;
    }

    record.manifest = secrets::mark(&planned.manifest);
    record.outputs = planned.outputs.clone();
    let previous = record.all_objects();
    record.pending = rendered_ids
        .iter()
        .filter(|o| !record.objects.contains(o))
        .cloned()
        .collect();
    store.save(&mut record)?;
    // Run once: a collected Job is not created again; the rest is applied.
    let keep_collected = planned.rendered.job.is_some() && change.keeps_collected_job();
    let (target, keep) = if keep_collected {
        let kept: Vec<ObjectRef> = rendered_ids
            .iter()
            .filter(|o| o.kind == ObjectKind::Job)
            .cloned()
            .collect();
        (planned.rendered.without_job(), kept)
    } else {
        (planned.rendered.clone(), Vec::new())
    };
    let mut recorder = Recorder::new(store, line, record, Mode::Up, rendered_ids);
    let takeover = Takeover {
        adopt: options.adopt,
    };
    let cancel = &context.cancel;
    let sweep = deploy::Sweep::Needed { last_run_failed };
    let result = deploy::apply_with(
        &context.cluster,
        &target,
        &previous,
        &keep,
        takeover,
        sweep,
        &mut recorder,
        cancel,
    )
    .await
    .map(|mut owned| {
        owned.extend(keep);
        owned
    })
    .map_err(Partial::from);
    let mut record = recorder.finish()?;
    match result {
        Ok(owned) => {
            record.objects = owned;
            record.pending.clear();
        }
        Err(partial) => {
            return Err(failed(
                store,
                record,
                &partial.owned,
                partial.code,
                partial.message,
            ));
        }
    }

    if keep_collected {
        steps::job_not_run_again(line);
    } else if let Some(job) = &planned.rendered.job {
        match job_outcome(context, planned, job, options, line).await {
            Ok((status, elapsed)) => {
                steps::job_outcome(line, status, elapsed);
                record.job_status = Some(status);
            }
            Err((code, status, message)) => {
                record.job_status = Some(status);
                return Err(failed(store, record, &[], code, message));
            }
        }
    }
    record.status = Status::Applied;
    store.save(&mut record)?;
    Ok(record)
}

/// `down` of one resource: its recorded objects deleted (each only while it carries our
/// ownership labels), then its record removed.
pub(super) async fn delete_one(
    context: &Context,
    mut record: Record,
    line: &Line,
) -> Result<Deleted, Failed> {
    let store = context.store.as_ref();
    let key = record.key();
    record.status = Status::Deleting;
    record.error = None;
    store.save(&mut record)?;
    let objects = record.all_objects();
    let mut recorder = Recorder::new(store, line, record, Mode::Down, Vec::new());
    let owner = Owner::new(&key, &context.stack);
    let result = deploy::delete(
        &context.cluster,
        &objects,
        &owner,
        &mut recorder,
        &context.cancel,
    )
    .await;
    let (mut record, kept) = recorder.finish_keeping()?;
    if let Err(e) = result {
        let partial = Partial::from(e);
        record.error = Some(partial.message.clone());
        let mut error = CliError::new(partial.code, format!("{key}: {}", partial.message));
        if let Err(e) = store.save(&mut record) {
            error.details.push(format!("error: {e}"));
        }
        return Err(error.into());
    }
    store.remove(&key)?;
    steps::removed(line, &key);
    Ok(Deleted { kept })
}
