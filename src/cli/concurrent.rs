//! `up --parallel N`: documents applied (and their Jobs waited for) up to N at once along the
//! reference graph. A document starts only after every document it references is applied; a
//! failure (or SIGINT/SIGTERM) starts nothing new, lets what runs finish and be recorded, and the
//! summary lists each document's result: applied, unchanged, failed (why) or not started.
//! Progress is the plain lines of [`super::show::steps`] (each names its resource or object).
//!
//! All of it runs on the command's task (no spawned tasks): the documents' futures are polled
//! together, so the state store, the client and the cancellation token are shared as they are.

use std::collections::BTreeMap;

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::plan::{Planned, referenced};
use super::run::{UpOptions, apply_one};
use super::show::steps;
use super::{CliError, Context};
use crate::core::plan::Change;
use crate::core::refs::ResourceKey;

/// The default of `--parallel`. Measured on the test bed (`kjob up --no-wait` of 100 Jobs, see
/// BENCHMARKS.md): the run time falls steeply up to 8 documents at once and barely after, while
/// the API server's load keeps growing.
pub const DEFAULT_PARALLEL: u16 = 8;

#[derive(Debug)]
enum State {
    Waiting,
    Running,
    Applied,
    Unchanged,
    Failed(String),
}

/// For each document, the earlier documents it references (the order is already topological).
fn dependencies(planned: &[Planned]) -> Vec<Vec<usize>> {
    let index: BTreeMap<&ResourceKey, usize> = planned
        .iter()
        .enumerate()
        .map(|(i, p)| (&p.key, i))
        .collect();
    planned
        .iter()
        .map(|p| {
            let mut deps: Vec<usize> = referenced(&p.doc)
                .iter()
                .filter_map(|t| index.get(t).copied())
                .collect();
            deps.sort_unstable();
            deps.dedup();
            deps
        })
        .collect()
}

/// Applies `planned` (in reference order) up to `options.parallel` at once.
pub async fn up(
    context: &Context,
    planned: &[Planned],
    changes: &[Change],
    options: &UpOptions,
) -> Result<(), CliError> {
    let deps = dependencies(planned);
    let mut state: Vec<State> = planned.iter().map(|_| State::Waiting).collect();
    let mut results = vec![None; planned.len()];
    let mut running = FuturesUnordered::new();
    let mut errors: Vec<CliError> = Vec::new();
    loop {
        let stopping = !errors.is_empty() || context.cancel.is_cancelled();
        if !stopping {
            for i in 0..planned.len() {
                if running.len() >= options.parallel {
                    break;
                }
                let ready = matches!(state[i], State::Waiting)
                    && deps[i]
                        .iter()
                        .all(|d| matches!(state[*d], State::Applied | State::Unchanged));
                if !ready {
                    continue;
                }
                let (p, change) = (&planned[i], &changes[i]);
                if change.skip {
                    steps::unchanged(&p.key);
                    state[i] = State::Unchanged;
                    results[i] = Some((
                        p.outputs.clone(),
                        change.previous.as_ref().and_then(|r| r.job_status),
                    ));
                    continue;
                }
                state[i] = State::Running;
                running.push(async move { (i, apply_one(context, p, change, options).await) });
            }
        }
        let Some((i, result)) = running.next().await else {
            break;
        };
        match result {
            Ok(record) => {
                state[i] = State::Applied;
                results[i] = Some((record.outputs.clone(), record.job_status));
            }
            Err(e) => {
                state[i] = State::Failed(e.message.clone());
                errors.push(e);
            }
        }
    }
    let done: Vec<_> = planned
        .iter()
        .zip(&results)
        .filter_map(|(p, r)| r.clone().map(|(o, s)| (p.key.clone(), o, s)))
        .collect();
    steps::up_outputs(&done);
    if errors.is_empty() && state.iter().all(|s| !matches!(s, State::Waiting)) {
        return Ok(());
    }
    let summary: Vec<_> = planned
        .iter()
        .zip(&state)
        .map(|(p, s)| {
            let word = match s {
                State::Applied => "applied".to_owned(),
                State::Unchanged => "unchanged".to_owned(),
                State::Failed(why) => format!("failed: {why}"),
                State::Waiting | State::Running => "not started".to_owned(),
            };
            (p.key.clone(), word)
        })
        .collect();
    steps::summary(&summary);
    let mut errors = errors.into_iter();
    let Some(mut first) = errors.next() else {
        // Cancelled before everything started.
        return Err(CliError::new(
            super::Exit::Interrupted,
            "cancelled: documents not started are as they were (see the summary)",
        ));
    };
    for other in errors {
        first.details.push(format!("error: {}", other.message));
    }
    Err(first)
}
