//! The deploy commands: `validate` and `preview` (no cluster), `up` and `down` (under the state
//! store's lock, asking for confirmation as `--help` documents, then [`super::concurrent`], which runs
//! [`super::run`]'s per-document work).

use std::io::IsTerminal;
use std::time::Duration;

use super::args::{DownArgs, ManifestArg, PreviewArgs, UpArgs};
use super::{CliError, Context, Exit, cluster_exit, jobs, plan, run, select, show};
use crate::core::objects::ObjectRef;
use crate::core::plan::{Action, Change};
use crate::core::secrets;
use crate::core::servercheck::Verdict;
use crate::deploy;

/// `kjob validate`: checks the manifest's documents and prints what each renders to.
pub(crate) fn validate(context: &Context, args: &ManifestArg) -> Result<(), CliError> {
    let planned = plan::prepare(context, args.path())?;
    show::validated(&planned);
    Ok(())
}

/// `kjob preview`: prints what `up` would do, against the state store; with `--server`, what
/// the API server says of each object it would apply.
pub(crate) async fn preview(context: &Context, args: &PreviewArgs) -> Result<(), CliError> {
    let planned = plan::prepare(context, args.manifest.path())?;
    let changes = plan::changes(context.store.as_ref(), &planned)?;
    show::preview(&planned, &changes, context.colour);
    if args.server {
        server_check(context, &planned, &changes).await?;
    }
    Ok(())
}

/// Has the API server check every object the run would apply (`preview --server`).
async fn server_check(
    context: &Context,
    planned: &[plan::Planned],
    changes: &[Change],
) -> Result<(), CliError> {
    let run: Vec<ObjectRef> = planned
        .iter()
        .flat_map(|p| p.objects().iter().map(|o| o.id.clone()))
        .collect();
    let mut refused = Vec::new();
    for (p, change) in planned.iter().zip(changes) {
        let objects: Vec<_> = p
            .objects()
            .iter()
            .map(|o| {
                let action = change
                    .objects
                    .iter()
                    .find(|(id, _)| *id == o.id)
                    .map_or(Action::Create, |(_, a)| *a);
                (o, action)
            })
            .collect();
        let mut verdicts = deploy::server_check(&context.cluster, &objects, &run)
            .await
            .map_err(|e| CliError::new(cluster_exit(&e), e.to_string()))?;
        let values = secrets::secret_values(&p.manifest);
        for (id, verdict) in &mut verdicts {
            if let Verdict::Refused { message } = verdict {
                *message = secrets::redact(message, &values);
                refused.push(id.to_string());
            }
        }
        show::steps::server_checks(&p.key, &verdicts, context.colour);
    }
    if refused.is_empty() {
        return Ok(());
    }
    Err(CliError::new(
        Exit::Failed,
        format!(
            "the API server refuses {} of the objects this run would apply: {}",
            refused.len(),
            refused.join(", ")
        ),
    ))
}

/// `kjob up`: under the lock, refreshes recorded Job outcomes, plans, shows the plan, asks,
/// then applies (see `kjob up --help`).
pub(crate) async fn up(context: &Context, args: &UpArgs) -> Result<(), CliError> {
    let _lock = context.store.lock("up", context.lock_timeout)?;
    let manifest = args.manifest.path();
    let planned = plan::prepare(context, manifest)?;
    jobs::refresh(context, &planned).await?;
    let mut changes = plan::changes(context.store.as_ref(), &planned)?;
    if args.refresh {
        let found = super::drift::find(context, &planned, &changes).await?;
        show::steps::drift(&found);
        for change in &mut changes {
            // Applied again: the live objects are set back to what the manifest renders.
            let Some(d) = found.iter().find(|d| d.key == change.key && d.drifted()) else {
                continue;
            };
            change.skip = false;
            for (id, action) in &mut change.objects {
                if d.missing.contains(id) {
                    *action = Action::Create;
                } else if *action == Action::Unchanged && d.fields.iter().any(|f| f.object == *id) {
                    *action = Action::Update;
                }
            }
        }
    }
    show::preview(&planned, &changes, context.colour);
    if changes.iter().any(|c| !c.skip) {
        confirm(context, manifest == "-", "Apply these changes?").await?;
    }
    let options = run::UpOptions {
        wait: match (args.wait, args.no_wait) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
        timeout: Duration::from_secs(args.timeout),
        adopt: args.adopt,
        logs: args.logs,
        parallel: usize::from(args.parallel),
    };
    super::concurrent::up(context, &planned, &changes, &options).await
}

/// `kjob down`: under the lock, shows what is deleted, asks, then deletes.
pub(crate) async fn down(context: &Context, args: &DownArgs) -> Result<(), CliError> {
    let _lock = context.store.lock("down", context.lock_timeout)?;
    let targets = select::targets(context, &args.target.selector())?;
    show::down_plan(&targets, context.store.as_ref(), context.colour);
    if targets.is_empty() {
        return Ok(());
    }
    confirm(
        context,
        args.target.which.manifest.as_deref() == Some("-"),
        "Delete these resources?",
    )
    .await?;
    super::concurrent::down(context, targets, usize::from(args.parallel)).await
}

/// Asks for confirmation when allowed, as documented in `--help`: `--yes` proceeds; without a
/// terminal on standard input (or with the manifest read from it) there is no one to ask.
/// SIGINT or SIGTERM while it asks ends the command at once (exit 130), nothing changed.
pub(crate) async fn confirm(
    context: &Context,
    manifest_from_stdin: bool,
    question: &str,
) -> Result<(), CliError> {
    if context.yes {
        return Ok(());
    }
    if manifest_from_stdin || !std::io::stdin().is_terminal() {
        return Err(CliError::new(
            Exit::Invalid,
            "standard input is not a terminal, so there is no one to confirm: pass --yes to proceed without confirmation",
        ));
    }
    let question = question.to_owned();
    // The read blocks its thread; the command does not wait for it once cancelled.
    let asking = tokio::task::spawn_blocking(move || show::ask(&question));
    let answer = match context.cancel.run_until_cancelled(asking).await {
        None => {
            return Err(CliError::new(
                Exit::Interrupted,
                "cancelled at the confirmation: nothing was changed",
            ));
        }
        Some(Ok(read)) => read,
        Some(Err(e)) => Err(std::io::Error::other(e)),
    };
    let answer =
        answer.map_err(|e| CliError::new(Exit::Invalid, format!("cannot read the answer: {e}")))?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(CliError::new(
            Exit::Invalid,
            "cancelled: nothing was changed",
        )),
    }
}
