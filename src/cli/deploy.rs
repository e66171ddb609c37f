//! The deploy commands: `validate` and `preview` (no cluster), `up` and `down` (under the state
//! store's lock, asking for confirmation as `--help` documents, then [`super::run`]).

use std::io::IsTerminal;
use std::time::Duration;

use super::args::{DownArgs, ManifestArg, UpArgs};
use super::{CliError, Context, Exit, jobs, plan, run, select, show};

/// `kjob validate`: checks the manifest's documents and prints what each renders to.
pub(crate) fn validate(context: &Context, args: &ManifestArg) -> Result<(), CliError> {
    let planned = plan::prepare(context, &args.manifest)?;
    show::validated(&planned);
    Ok(())
}

/// `kjob preview`: prints what `up` would do, against the state store.
pub(crate) fn preview(context: &Context, args: &ManifestArg) -> Result<(), CliError> {
    let planned = plan::prepare(context, &args.manifest)?;
    let changes = plan::changes(&context.store, &planned)?;
    show::preview(&planned, &changes, context.colour);
    Ok(())
}

/// `kjob up`: under the lock, refreshes recorded Job outcomes, plans, shows the plan, asks,
/// then applies (see `kjob up --help`).
pub(crate) async fn up(context: &Context, args: &UpArgs) -> Result<(), CliError> {
    let _lock = context.store.lock("up", context.lock_timeout)?;
    let manifest = &args.manifest.manifest;
    let planned = plan::prepare(context, manifest)?;
    jobs::refresh(context, &planned).await?;
    let changes = plan::changes(&context.store, &planned)?;
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
        parallel: usize::from(args.parallel),
    };
    run::up(context, &planned, &changes, &options).await
}

/// `kjob down`: under the lock, shows what is deleted, asks, then deletes.
pub(crate) async fn down(context: &Context, args: &DownArgs) -> Result<(), CliError> {
    let _lock = context.store.lock("down", context.lock_timeout)?;
    let targets = select::targets(context, &args.target.selector())?;
    show::down_plan(&targets, &context.store, context.colour);
    if targets.is_empty() {
        return Ok(());
    }
    confirm(
        context,
        args.target.which.manifest.as_deref() == Some("-"),
        "Delete these resources?",
    )
    .await?;
    run::down(context, targets).await
}

/// Asks for confirmation when allowed, as documented in `--help`: `--yes` proceeds; without a
/// terminal on standard input (or with the manifest read from it) there is no one to ask.
/// SIGINT or SIGTERM while it asks ends the command at once (exit 130), nothing changed.
async fn confirm(
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
