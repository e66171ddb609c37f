//! `kjob state`: the state store itself. `migrate --to URL` copies every record (and the store's
//! id, so that what was deployed stays the store's own) under both stores' locks, reads them
//! back from the target and compares them byte for byte, then switches: the source records
//! where it moved to, and every later run that opens the source uses the target. The source's
//! records are kept unless `--delete-source`. `list` and `show` read records; `rm` forgets one
//! (after confirmation, leaving its Kubernetes objects alone); `unlock` releases a lock held by
//! a run that is gone, naming its holder.

use clap::{Args, Subcommand};

use super::args::Format;
use super::{CliError, Context, Exit, deploy, show};
use crate::core::backend::{self, record_bytes};
use crate::core::refs::ResourceKey;
use crate::state::{self, Store};

/// The `kjob state` subcommands.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// Copy every record to another backend, verify the copy, then switch to it (the source is
    /// kept unless --delete-source).
    #[command(
        after_help = "Examples:\n  kjob state migrate --to kubernetes://kjob-state\n  kjob --backend kubernetes://kjob-state state migrate --to file:///home/me/.local/state/kjob"
    )]
    Migrate(MigrateArgs),
    /// List the records of the state store.
    List(FormatArg),
    /// Print one record: KIND/ENV/NAME (ENV empty for none: KubernetesJob//migrate).
    Show(KeyArgs),
    /// Remove one record (KIND/ENV/NAME) from the state store; its Kubernetes objects are left
    /// as they are. Asks for confirmation unless --yes.
    Rm(KeyArgs),
    /// Release the state store's lock held by a run that is gone, showing its holder. Asks for
    /// confirmation unless --yes.
    Unlock,
}

/// `state migrate`'s arguments.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The backend to move to: file://DIR or kubernetes://NAMESPACE[?context=NAME].
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// Remove the source's records once the copy is verified.
    #[arg(long)]
    pub delete_source: bool,
}

/// An output format.
#[derive(Debug, Args)]
pub struct FormatArg {
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

/// A record's key.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// KIND/ENV/NAME, e.g. KubernetesJob//migrate or KubernetesNamespace/prod/apps.
    pub key: String,
    /// Output format (show).
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

/// Parses `KIND/ENV/NAME`.
pub fn parse_key(text: &str) -> Result<ResourceKey, CliError> {
    let mut parts = text.splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(kind), Some(env), Some(name)) if !kind.is_empty() && !name.is_empty() => {
            Ok(ResourceKey {
                kind: kind.to_owned(),
                env: env.to_owned(),
                name: name.to_owned(),
            })
        }
        _ => Err(CliError::new(
            Exit::Invalid,
            format!("{text:?}: expected KIND/ENV/NAME (ENV may be empty: KubernetesJob//migrate)"),
        )),
    }
}

fn missing(key: &ResourceKey, store: &dyn Store) -> CliError {
    CliError::new(
        Exit::Invalid,
        format!("{} has no record of {key}", store.describe()),
    )
}

/// Runs a `kjob state` subcommand.
pub(crate) async fn run(context: &Context, command: StateCommand) -> Result<(), CliError> {
    let store = context.store.as_ref();
    match command {
        StateCommand::List(args) => show::list(&store.list()?, args.output),
        StateCommand::Show(args) => {
            let key = parse_key(&args.key)?;
            let record = store.get(&key)?.ok_or_else(|| missing(&key, store))?;
            show::record(&record, args.output)
        }
        StateCommand::Rm(args) => {
            let key = parse_key(&args.key)?;
            let _lock = store.lock("state", context.lock_timeout)?;
            let record = store.get(&key)?.ok_or_else(|| missing(&key, store))?;
            deploy::confirm(
                context,
                false,
                &format!("Remove the record of {key} (its objects stay)?"),
            )
            .await?;
            store.remove(&key)?;
            show::state::forgotten(&record, &store.url());
            Ok(())
        }
        StateCommand::Unlock => {
            let holder = store.holder()?;
            show::state::holder(&store.url(), holder.as_deref());
            if holder.is_none() {
                return Ok(());
            }
            deploy::confirm(context, false, "Release it?").await?;
            let released = store.force_unlock()?;
            show::state::unlocked(&store.url(), released.as_deref());
            Ok(())
        }
        StateCommand::Migrate(args) => migrate(context, &args),
    }
}

/// `state migrate`: copy, verify, switch.
fn migrate(context: &Context, args: &MigrateArgs) -> Result<(), CliError> {
    let source = context.store.as_ref();
    let to = backend::parse(&args.to).map_err(|e| CliError::new(Exit::Invalid, e))?;
    let target = state::open(&to, context.cluster.config().clone())?;
    if target.url() == source.url() {
        return Err(CliError::new(
            Exit::Invalid,
            format!("the state store is already {}", source.url()),
        ));
    }
    let _source_lock = source.lock("state", context.lock_timeout)?;
    let _target_lock = target.lock("state", context.lock_timeout)?;
    let records = source.list()?;
    let keys: std::collections::BTreeSet<_> = records.iter().map(state::Record::key).collect();
    if let Some(other) = target.list()?.iter().find(|r| !keys.contains(&r.key())) {
        return Err(CliError::new(
            Exit::Invalid,
            format!(
                "{} already holds a record the source has not ({}): migrate only into an empty store or a copy of this one",
                target.describe(),
                other.key()
            ),
        ));
    }
    if let Some(id) = source.id(false)? {
        target.adopt_id(&id)?;
    }
    for record in &records {
        target.put(record)?;
    }
    let copied = target.list()?;
    let same = copied.len() == records.len()
        && copied
            .iter()
            .zip(&records)
            .all(|(a, b)| record_bytes(a) == record_bytes(b));
    if !same {
        return Err(CliError::new(
            Exit::Failed,
            format!(
                "the copy in {} differs from the source: nothing was switched (the source is unchanged)",
                target.url()
            ),
        ));
    }
    target.set_moved_to(None)?;
    source.set_moved_to(Some(&target.url()))?;
    if args.delete_source {
        for record in &records {
            source.remove(&record.key())?;
        }
    }
    show::state::migrated(
        records.len(),
        &source.url(),
        &target.url(),
        !args.delete_source,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let k = parse_key("KubernetesJob//a").unwrap();
        assert_eq!(
            (k.kind.as_str(), k.env.as_str(), k.name.as_str()),
            ("KubernetesJob", "", "a")
        );
        let k = parse_key("KubernetesNamespace/prod/a/b").unwrap();
        assert_eq!(k.name, "a/b");
        for bad in ["a", "a/b", "/x/y", "a/b/"] {
            assert!(parse_key(bad).is_err(), "{bad}");
        }
    }
}
