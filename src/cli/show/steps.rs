//! The lines `up`, `down`, `wait` and `logs` print as they go. Progress and diagnostics go to
//! standard error; results (outputs, a deletion done, a Job's outcome, log lines) to standard
//! output. Text from the cluster arrives here already redacted.

use std::time::Duration;

use serde_json::Value;

use super::live::Line;
use super::note;
use super::progress::seconds;
use super::report;
use crate::core::objects::ObjectRef;
use crate::core::outcome::JobStatus;
use crate::core::refs::ResourceKey;
use crate::core::servercheck::Verdict;
use crate::state::StateError;

/// An object was applied (and recorded).
pub fn applied(line: &Line, object: &ObjectRef) {
    line.step(&format!("  applied {object}"));
}

/// An object was deleted, or was already gone (and recorded).
pub fn deleted(line: &Line, object: &ObjectRef) {
    line.step(&format!("  deleted {object}"));
}

/// An object was left alone, and why (it is not ours): a line that stays.
pub fn left_alone(line: &Line, object: &ObjectRef, why: &str) {
    line.keep(&format!("  left {object} alone: {why}"));
}

/// An object of another owner is taken over (`--adopt`).
pub fn adopted(line: &Line, object: &ObjectRef, holder: &str) {
    line.step(&format!("  taking over {object} from {holder} (--adopt)"));
}

/// The state store could not be written after an object (the run goes on, then fails).
pub fn save_failed(line: &Line, error: &StateError) {
    line.above(&format!("  error: {error}"));
}

/// The crash test hook is about to abort the process.
pub fn crash_hook(variable: &str, limit: usize, count: usize) {
    eprintln!("{variable}={limit}: aborting after {count} objects (test hook)");
}

/// The old Job is deleted before the new one is applied, and why.
pub fn replacing_job(line: &Line, why: &str) {
    line.step(&format!("  deleting the old Job first: {why}"));
}

/// The resource's Job finished and was collected, and is not run again (run once).
pub fn job_not_run_again(line: &Line) {
    line.step(&format!(
        "  Job: {} (it finished and Kubernetes deleted it after ttlSecondsAfterFinished; run once: not run again)",
        JobStatus::Collected
    ));
}

/// The Job's outcome after `up` applied it, and how long it waited, when it waited.
pub fn job_outcome(line: &Line, status: JobStatus, waited: Option<Duration>) {
    match waited {
        Some(waited) => line.step(&format!("  Job: {status} after {}", seconds(waited))),
        None => line.step(&format!("  Job: {status}")),
    }
}

/// The outputs `up` ends with: per resource, its non-empty outputs and its Job's outcome.
pub fn up_outputs(done: &[(ResourceKey, Value, Option<JobStatus>)]) {
    if report::active() {
        for (key, outputs, _) in done {
            report::outputs(key, outputs);
        }
        return;
    }
    println!("Outputs:");
    for (key, outputs, job_status) in done {
        let mut parts: Vec<String> = outputs
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, v)| v.as_str() != Some(""))
            .map(|(k, v)| {
                format!(
                    "{k}={}",
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                )
            })
            .collect();
        if let Some(s) = job_status {
            parts.push(format!("job={s}"));
        }
        println!("  {key}: {}", parts.join(" "));
    }
}

/// Each document's result after an `up` or `down` that did not do them all.
pub fn summary(results: &[(ResourceKey, String)]) {
    eprintln!("Summary:");
    for (key, result) in results {
        eprintln!("  {key}: {result}");
    }
}

/// The counts a run ends with (`up: 3 applied, 1 unchanged in 2.1s`).
pub fn tally(verb: &str, counts: &[(String, usize)], took: Duration) {
    let parts: Vec<String> = counts.iter().map(|(w, n)| format!("{n} {w}")).collect();
    note!("{verb}: {} in {}", parts.join(", "), seconds(took));
}

/// `down` deleted a resource (its objects and its record): a result line on standard output
/// (none with a structured output: the result document says it).
pub fn removed(line: &Line, key: &ResourceKey) {
    if report::active() {
        return;
    }
    line.out(&format!("{key}: deleted"));
}

/// What the refresh before `up` found about a recorded Job: its outcome moved from `was` to
/// `now` (`None`: the Job is gone and was deleted outside kjob); `live`: it still exists.
pub fn refreshed(
    key: &ResourceKey,
    job: &ObjectRef,
    was: Option<JobStatus>,
    now: Option<JobStatus>,
    live: bool,
) {
    let was = was.map_or("unknown", JobStatus::word);
    match now {
        Some(now) if !live => note!(
            "{key}: {job} finished ({was}) and Kubernetes deleted it (ttlSecondsAfterFinished): recorded as {now}"
        ),
        Some(now) => note!("{key}: {job} is {now} (recorded: {was})"),
        None => note!(
            "{key}: {job} is gone (recorded: {was}); it was deleted outside kjob and is created again"
        ),
    }
}

/// `wait` found the Job gone, finished (as recorded) and collected by its TTL: `status`.
pub fn wait_gone_finished(key: &ResourceKey, label: &str, was: &str, status: JobStatus) {
    println!(
        "{key}: Job {label} Complete (Kubernetes deleted it after ttlSecondsAfterFinished; recorded as {was}): {status}"
    );
}

/// `wait` saw the Job complete.
pub fn wait_complete(key: &ResourceKey, label: &str, waited: Duration) {
    println!("{key}: Job {label} Complete after {}", seconds(waited));
}

/// `wait` saw the Job vanish, collected by its TTL, before it read the outcome.
pub fn wait_collected(key: &ResourceKey, label: &str) {
    println!(
        "{key}: Job {label} finished and Kubernetes deleted it (ttlSecondsAfterFinished) before its outcome was read: {}",
        JobStatus::Collected
    );
}

/// One line of a pod's log (already redacted), prefixed with the pod's name when given.
pub fn log_line(pod: Option<&str>, line: &str) {
    match pod {
        Some(pod) => println!("{pod}: {line}"),
        None => println!("{line}"),
    }
}

/// A pod whose log is empty, with its phase and exit code.
pub fn log_empty(pod: &str, summary: &str) {
    eprintln!("{pod}: (empty log; pod {summary})");
}

/// A pod whose log cannot be read, with its phase and exit code, and why (already redacted).
pub fn log_unavailable(pod: &str, summary: &str, why: &str) {
    eprintln!("{pod}: log unavailable (pod {summary}): {why}");
}

/// What the API server said of each object of a resource (`preview --server`): on standard
/// output, or into the result document (`serverChecks`).
pub fn server_checks(key: &ResourceKey, verdicts: &[(ObjectRef, Verdict)], colour: bool) {
    if report::active() {
        for (id, verdict) in verdicts {
            let mut entry = serde_json::json!({"resource": report::resource(key), "object": report::object(id, None)});
            if let (Some(entry), Ok(Value::Object(v))) =
                (entry.as_object_mut(), serde_json::to_value(verdict))
            {
                entry.extend(v);
            }
            report::push("serverChecks", entry);
        }
        return;
    }
    let paint = super::Paint::new(colour);
    println!(
        "{} {}",
        paint.bold(&key.to_string()),
        paint.dim("(checked by the API server)")
    );
    for (id, verdict) in verdicts {
        match verdict {
            Verdict::Accepted => println!("  {} {id}", paint.green("accepted")),
            Verdict::Refused { message } => println!("  {} {id}: {message}", paint.red("REFUSED ")),
            Verdict::NotChecked { why } => println!("  {} {id}: {why}", paint.dim("not checked")),
        }
    }
}

/// What refresh found: per resource, each drifted field (applied and live values; secret
/// values already `[secret]`) and each object gone; or into the result document (`drift`).
pub fn drift(found: &[crate::cli::drift::Drifted]) {
    for d in found {
        let result = match (&d.not_compared, d.drifted()) {
            (Some(_), _) => "not-compared",
            (None, true) => "drifted",
            (None, false) => "in-sync",
        };
        if report::active() {
            report::result(
                &d.key,
                result,
                serde_json::json!({"note": d.not_compared, "missing": d.missing.iter().map(|o| report::object(o, None)).collect::<Vec<_>>()}),
            );
            for f in &d.fields {
                report::push(
                    "drift",
                    serde_json::json!({"resource": report::resource(&d.key), "object": report::object(&f.object, None), "path": f.path, "applied": f.applied, "live": f.live}),
                );
            }
            continue;
        }
        match &d.not_compared {
            Some(why) => println!("{}: not compared: {why}", d.key),
            None if !d.drifted() => println!("{}: in sync", d.key),
            None => {
                println!("{}: drifted", d.key);
                for f in &d.fields {
                    println!("  {f}");
                }
                for o in &d.missing {
                    println!("  {o}: gone (deleted outside kjob)");
                }
            }
        }
    }
}
