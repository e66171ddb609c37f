//! The commands that read what is deployed, without changing it: `outputs`, `list` and `get`
//! (the state store), and `schema` (writes the generated schemas).

use super::args::{GetArgs, ListArgs, OutputsArgs, SchemaArgs};
use super::select::{self, Selector};
use super::{CliError, Context, Exit, show};

/// `kjob outputs`: the outputs of the selected resources; one not deployed is exit 2.
pub(crate) fn outputs(context: &Context, args: &OutputsArgs) -> Result<(), CliError> {
    let targets = select::targets(context, &args.target.selector())?;
    if let Some(missing) = targets.iter().find(|t| t.record.is_none()) {
        return Err(CliError::new(
            Exit::Invalid,
            format!(
                "{} is not deployed: {} has no record of it",
                missing.key,
                context.store.describe()
            ),
        ));
    }
    show::outputs(&targets, args.output)
}

/// `kjob list`: every resource of the state store.
pub(crate) fn list(context: &Context, args: &ListArgs) -> Result<(), CliError> {
    show::list(&context.store.list()?, args.output)
}

/// `kjob get`: one resource's state record.
pub(crate) fn get(context: &Context, args: GetArgs) -> Result<(), CliError> {
    let selector = Selector::Name {
        name: args.name,
        kind: args.kind,
        env: args.env,
    };
    let record = select::targets(context, &selector)?
        .into_iter()
        .next()
        .and_then(|t| t.record)
        .expect("a name selects one record");
    show::record(&record, args.output)
}

/// `kjob schema`: writes the Pulumi package schema and the manifest's JSON Schema.
pub(crate) fn schema(args: &SchemaArgs) -> Result<(), CliError> {
    crate::schema::write_all(&args.dir).map_err(|e| {
        CliError::new(
            Exit::Failed,
            format!("cannot write the schemas into {}: {e}", args.dir.display()),
        )
    })?;
    show::schema_written(&args.dir);
    Ok(())
}
