//! The one engine of `up` and `down`: documents run up to `--parallel N` at once along the
//! reference graph (N = 1 runs them one after another, in reference order). `up` starts a
//! document only after every document it references is applied; `down` deletes a document only
//! after every document that references it is gone (the graph in reverse).
//!
//! A failure (or SIGINT/SIGTERM) starts nothing new; what runs finishes and is recorded (a
//! signal also stops the running work at its next step, see [`super::run`]). Every document gets
//! a result, shown in the summary when not all succeeded and in the `-o json|yaml` document
//! ([`super::show::report`]): `applied`, `unchanged`, `deleted` (with the objects kept because
//! they are not ours), `not-deployed`, `failed` (why), `skipped` (because of which documents:
//! they failed or were skipped themselves) or `not-started` (the run stopped first).
//!
//! All of it runs on the command's task (no spawned tasks): the documents' futures are polled
//! together, so the state store, the client and the cancellation token are shared as they are.
//! What is shown is [`super::show::live`]'s: a live view on a terminal, plain lines otherwise.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::plan::{Planned, referenced};
use super::run::{Deleted, Failed, UpOptions, apply_one, delete_one};
use super::select::Target;
use super::show::live::Board;
use super::show::{report, steps};
use super::{CliError, Context, Exit};
use crate::core::outcome::JobStatus;
use crate::core::plan::Change;
use crate::core::refs::ResourceKey;

/// The default of `--parallel`. Measured on the test bed (BENCHMARKS.md, "kjob up and down":
/// `kjob up --no-wait` and `kjob down` of 100 and 1,000 Jobs at 1 to 32 at once): on the shared,
/// saturated two-core bed the times were flat within their noise, so 8 (a few requests in flight
/// per API server core, well under client-go's default QPS burst) is kept until a quieter run
/// shows a better value.
pub const DEFAULT_PARALLEL: u16 = 8;

/// What one document came to.
#[derive(Debug)]
enum Outcome<T> {
    Done(T),
    Failed(Failed),
    /// Not started: these documents (indexes) had to finish first and did not.
    Skipped(Vec<usize>),
    /// Not started: the run stopped first (a failure elsewhere, or a signal).
    NotStarted,
}

/// A document's work: its result at once, or a future to run.
enum Start<'a, T> {
    Ready(T),
    Run(Pin<Box<dyn Future<Output = Result<T, Failed>> + 'a>>),
}

/// Runs every document, each after all of `after[i]` is done, up to `parallel` at once.
/// `after[i]` holds only indexes below `i` (the documents are in an order that allows them).
async fn schedule<'a, T>(
    after: &[Vec<usize>],
    parallel: usize,
    cancel: &CancellationToken,
    board: &Board,
    mut start: impl FnMut(usize) -> Start<'a, T>,
) -> Vec<Outcome<T>> {
    let n = after.len();
    let mut out: Vec<Option<Outcome<T>>> = (0..n).map(|_| None).collect();
    let mut started = vec![false; n];
    let mut first = 0;
    let mut running = FuturesUnordered::new();
    let mut stopping = false;
    loop {
        stopping |= cancel.is_cancelled();
        if !stopping {
            while first < n && started[first] {
                first += 1;
            }
            for i in first..n {
                if running.len() >= parallel.max(1) {
                    break;
                }
                let ready = !started[i]
                    && after[i]
                        .iter()
                        .all(|d| matches!(out[*d], Some(Outcome::Done(_))));
                if !ready {
                    continue;
                }
                started[i] = true;
                match start(i) {
                    Start::Ready(t) => out[i] = Some(Outcome::Done(t)),
                    Start::Run(work) => {
                        board.start(i);
                        running.push(async move { (i, work.await) });
                    }
                }
            }
        }
        let Some((i, result)) = running.next().await else {
            break;
        };
        out[i] = Some(match result {
            Ok(t) => Outcome::Done(t),
            Err(e) => {
                stopping = true;
                Outcome::Failed(e)
            }
        });
    }
    // What did not start: skipped because of a document that did not finish, or not started.
    for i in 0..n {
        if out[i].is_some() {
            continue;
        }
        let because: Vec<usize> = after[i]
            .iter()
            .copied()
            .filter(|d| !matches!(out[*d], Some(Outcome::Done(_))))
            .collect();
        out[i] = Some(if because.is_empty() {
            Outcome::NotStarted
        } else {
            Outcome::Skipped(because)
        });
    }
    out.into_iter()
        .map(|o| o.expect("every document"))
        .collect()
}

/// For each document, the earlier documents it references (`docs` is in reference order).
fn references(keys: &[ResourceKey], refs: impl Fn(usize) -> Vec<ResourceKey>) -> Vec<Vec<usize>> {
    let index: BTreeMap<&ResourceKey, usize> =
        keys.iter().enumerate().map(|(i, k)| (k, i)).collect();
    (0..keys.len())
        .map(|i| {
            let mut deps: Vec<usize> = refs(i)
                .iter()
                .filter_map(|t| index.get(t).copied())
                .filter(|d| *d != i)
                .collect();
            deps.sort_unstable();
            deps.dedup();
            deps
        })
        .collect()
}

/// The reverse: for each document, the documents that reference it.
fn referenced_by(refs: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut by = vec![Vec::new(); refs.len()];
    for (i, deps) in refs.iter().enumerate() {
        for d in deps {
            by[*d].push(i);
        }
    }
    by
}

/// One document's result: the word, its fields in the result document, the summary's text.
struct Row {
    word: &'static str,
    fields: Value,
    text: String,
    ok: bool,
}

impl Row {
    fn new(word: &'static str, fields: Value, text: String) -> Self {
        let ok = !matches!(word, "failed" | "skipped" | "not-started");
        Self {
            word,
            fields,
            text,
            ok,
        }
    }
}

fn job(status: Option<JobStatus>) -> Value {
    json!({"job": status.map(JobStatus::word)})
}

fn with_job(word: &str, status: Option<JobStatus>) -> String {
    match status {
        Some(s) => format!("{word} (Job {s})"),
        None => word.to_owned(),
    }
}

/// A row for what did not finish (shared by up and down).
fn unfinished<T>(
    outcome: &Outcome<T>,
    key: &ResourceKey,
    keys: &[ResourceKey],
    why_stopped: &str,
) -> Option<Row> {
    Some(match outcome {
        Outcome::Done(_) => return None,
        Outcome::Failed(f) => {
            let mut fields = job(f.job);
            fields["error"] = json!(f.error.message);
            Row::new("failed", fields, failure_text(key, f))
        }
        Outcome::Skipped(because) => {
            let names: Vec<String> = because.iter().map(|d| keys[*d].to_string()).collect();
            Row::new(
                "skipped",
                json!({"because": because.iter().map(|d| report::resource(&keys[*d])).collect::<Vec<_>>()}),
                format!("skipped because of {}", names.join(", ")),
            )
        }
        Outcome::NotStarted => Row::new(
            "not-started",
            json!({"reason": why_stopped}),
            format!("not started: {why_stopped}"),
        ),
    })
}

/// Shows what did not run on its line and closes the view; the time taken.
fn close(board: &Board, rows: &[Row]) -> std::time::Duration {
    for (i, row) in rows.iter().enumerate() {
        if matches!(row.word, "skipped" | "not-started") {
            board.not_run(i, &row.text);
        }
    }
    board.close()
}

/// Reports every row (result document, summary, counts) and the command's error, if any.
fn conclude<T>(
    context: &Context,
    verb: &'static str,
    took: std::time::Duration,
    keys: &[ResourceKey],
    outcomes: Vec<Outcome<T>>,
    rows: Vec<Row>,
) -> Result<(), CliError> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for row in &rows {
        match counts.iter_mut().find(|(w, _)| w == row.word) {
            Some((_, n)) => *n += 1,
            None => counts.push((row.word.to_owned(), 1)),
        }
    }
    for (key, row) in keys.iter().zip(&rows) {
        report::result(key, row.word, row.fields.clone());
    }
    let all_ok = rows.iter().all(|r| r.ok);
    if !all_ok {
        let summary: Vec<_> = keys
            .iter()
            .zip(&rows)
            .map(|(k, r)| (k.clone(), r.text.clone()))
            .collect();
        steps::summary(&summary);
    }
    steps::tally(verb, &counts, took);
    if all_ok {
        return Ok(());
    }
    let mut errors = outcomes.into_iter().filter_map(|o| match o {
        Outcome::Failed(f) => Some(f.error),
        _ => None,
    });
    let cancelled = context.cancel.is_cancelled();
    let Some(mut first) = errors.next() else {
        return Err(CliError::new(
            Exit::Interrupted,
            "cancelled: documents not started are as they were (see the summary)",
        ));
    };
    for other in errors {
        first.details.push(format!("error: {}", other.message));
    }
    if cancelled {
        first.code = Exit::Interrupted;
    }
    Err(first)
}

/// A failure as its document's line and the summary show it: the first line of the message,
/// without the resource's name in front (the rest is printed once, with the command's error).
fn failure_text(key: &ResourceKey, f: &Failed) -> String {
    let message = f.error.message.lines().next().unwrap_or_default();
    let prefix = format!("{key}: ");
    format!(
        "failed: {}",
        message.strip_prefix(&prefix).unwrap_or(message)
    )
}

fn why_stopped(context: &Context) -> &'static str {
    if context.cancel.is_cancelled() {
        "cancelled"
    } else {
        "the run stopped after a failure"
    }
}

/// `up`: applies `planned` (in reference order) up to `options.parallel` at once.
pub async fn up(
    context: &Context,
    planned: &[Planned],
    changes: &[Change],
    options: &UpOptions,
) -> Result<(), CliError> {
    let keys: Vec<ResourceKey> = planned.iter().map(|p| p.key.clone()).collect();
    let after = references(&keys, |i| referenced(&planned[i].doc));
    let board = Board::new("up", &keys, context.live);
    let outcomes = schedule(&after, options.parallel, &context.cancel, &board, |i| {
        let (p, change) = (&planned[i], &changes[i]);
        if change.skip {
            let status = change.previous.as_ref().and_then(|r| r.job_status);
            board.settle(i, &with_job("unchanged", status));
            return Start::Ready((p.outputs.clone(), status, false));
        }
        let (line, board) = (board.line(i), &board);
        Start::Run(Box::pin(async move {
            let done = apply_one(context, p, change, options, line).await;
            match &done {
                Ok(record) => board.finish(i, &with_job("applied", record.job_status), false),
                Err(f) => board.finish(i, &failure_text(&p.key, f), true),
            }
            done.map(|record| (record.outputs, record.job_status, true))
        }))
    })
    .await;
    let why = why_stopped(context);
    let mut done = Vec::new();
    let rows: Vec<Row> = outcomes
        .iter()
        .enumerate()
        .map(|(i, o)| match o {
            Outcome::Done((outputs, status, applied)) => {
                done.push((keys[i].clone(), outputs.clone(), *status));
                let word = if *applied { "applied" } else { "unchanged" };
                Row::new(word, job(*status), with_job(word, *status))
            }
            other => unfinished(other, &keys[i], &keys, why).expect("not done"),
        })
        .collect();
    let took = close(&board, &rows);
    steps::up_outputs(&done);
    conclude(context, "up", took, &keys, outcomes, rows)
}

/// `down`: deletes every target's recorded objects, a target only after every target that
/// references it is gone, up to `parallel` at once.
pub async fn down(
    context: &Context,
    targets: Vec<Target>,
    parallel: usize,
) -> Result<(), CliError> {
    // Reversed: documents that reference others come first, so every "after" points back.
    let targets: Vec<Target> = targets.into_iter().rev().collect();
    let keys: Vec<ResourceKey> = targets.iter().map(|t| t.key.clone()).collect();
    let refs = references(&keys, |i| targets[i].references.clone());
    let after = referenced_by(&refs);
    let board = Board::new("down", &keys, context.live);
    let outcomes = schedule(&after, parallel, &context.cancel, &board, |i| {
        let Some(record) = targets[i].record.clone() else {
            board.settle(i, "not deployed");
            return Start::Ready(None);
        };
        let (line, board, key) = (board.line(i), &board, &targets[i].key);
        Start::Run(Box::pin(async move {
            let done = delete_one(context, record, line).await;
            match &done {
                Ok(d) => board.finish(i, &deleted_text(d), false),
                Err(f) => board.finish(i, &failure_text(key, f), true),
            }
            done.map(Some)
        }))
    })
    .await;
    let why = why_stopped(context);
    let rows: Vec<Row> = outcomes
        .iter()
        .enumerate()
        .map(|(i, o)| match o {
            Outcome::Done(None) => Row::new("not-deployed", json!({}), "not deployed".into()),
            Outcome::Done(Some(d)) => {
                let kept: Vec<Value> = d
                    .kept
                    .iter()
                    .map(|(o, why)| {
                        let mut v = report::object(o, None);
                        v["why"] = json!(why);
                        v
                    })
                    .collect();
                Row::new("deleted", json!({"kept": kept}), deleted_text(d))
            }
            other => unfinished(other, &keys[i], &keys, why).expect("not done"),
        })
        .collect();
    let took = close(&board, &rows);
    conclude(context, "down", took, &keys, outcomes, rows)
}

fn deleted_text(d: &Deleted) -> String {
    if d.kept.is_empty() {
        return "deleted".into();
    }
    let kept: Vec<String> = d
        .kept
        .iter()
        .map(|(o, why)| format!("{o} ({why})"))
        .collect();
    format!("deleted; kept what is not ours: {}", kept.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> ResourceKey {
        ResourceKey::job(name)
    }

    #[tokio::test]
    async fn a_failure_starts_nothing_new_lets_running_work_finish_and_skips_dependents() {
        // 0 fails at once, 1 runs a while, 2 references 0, 3 and 4 are independent; 2 at once.
        let keys: Vec<ResourceKey> = (0..5).map(|i| key(&i.to_string())).collect();
        let after = [vec![], vec![], vec![0], vec![], vec![]];
        let board = Board::new("up", &keys, false);
        let started = std::sync::Mutex::new(Vec::new());
        let outcomes = schedule(&after, 2, &CancellationToken::new(), &board, |i| {
            started.lock().unwrap().push(i);
            let started = &started;
            Start::Run(Box::pin(async move {
                if i == 0 {
                    return Err(Failed::from(CliError::new(Exit::Failed, "boom")));
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                // Still running when 0 failed: nothing started since.
                assert_eq!(*started.lock().unwrap(), [0, 1]);
                Ok(i)
            }))
        })
        .await;
        assert!(matches!(outcomes[0], Outcome::Failed(_)));
        assert!(matches!(outcomes[1], Outcome::Done(1)));
        assert!(matches!(&outcomes[2], Outcome::Skipped(b) if *b == [0]));
        assert!(matches!(outcomes[3], Outcome::NotStarted));
        assert!(matches!(outcomes[4], Outcome::NotStarted));
    }

    #[tokio::test]
    async fn one_at_a_time_runs_in_order_and_waits_for_what_is_referenced() {
        let keys: Vec<ResourceKey> = (0..4).map(|i| key(&i.to_string())).collect();
        let after = [vec![], vec![0], vec![], vec![1, 2]];
        for parallel in [1, 3] {
            let board = Board::new("up", &keys, false);
            let log = std::sync::Mutex::new(Vec::new());
            let outcomes = schedule(&after, parallel, &CancellationToken::new(), &board, |i| {
                let log = &log;
                Start::Run(Box::pin(async move {
                    log.lock().unwrap().push(format!("start {i}"));
                    tokio::task::yield_now().await;
                    log.lock().unwrap().push(format!("end {i}"));
                    Ok(i)
                }))
            })
            .await;
            assert!(outcomes.iter().all(|o| matches!(o, Outcome::Done(_))));
            let log = log.into_inner().unwrap();
            let at = |e: &str| log.iter().position(|l| l == e).expect(e);
            assert!(at("end 0") < at("start 1"), "{log:?}");
            assert!(
                at("end 1") < at("start 3") && at("end 2") < at("start 3"),
                "{log:?}"
            );
            if parallel == 1 {
                assert_eq!(
                    log,
                    [
                        "start 0", "end 0", "start 1", "end 1", "start 2", "end 2", "start 3",
                        "end 3"
                    ]
                );
            } else {
                assert!(at("start 2") < at("end 0"), "0 and 2 run together: {log:?}");
            }
        }
    }

    #[test]
    fn referenced_by_is_the_graph_in_reverse() {
        // c references b, b references a (up order a, b, c).
        let keys = [key("a"), key("b"), key("c")];
        let refs = references(&keys, |i| {
            if i == 0 {
                vec![]
            } else {
                vec![keys[i - 1].clone()]
            }
        });
        assert_eq!(refs, [vec![], vec![0], vec![1]]);
        assert_eq!(referenced_by(&refs), [vec![1], vec![2], vec![]]);
    }
}
