//! `kjob refresh` and `kjob up --refresh`: the live objects of each deployed resource compared
//! with what kjob applied ([`crate::core::drift`]), each drifted field reported (secret values
//! never shown); `up --refresh` then applies again every resource that drifted, even when its
//! manifest did not change, which puts the fields back.
//!
//! What was applied is what the manifest renders now, so a resource is compared only when its
//! manifest is the one last applied (its inputs did not change): otherwise the difference is
//! the change `up` is about to make, and `preview` shows it.

use super::args::ManifestArg;
use super::plan::{self, Planned};
use super::show::steps;
use super::{CliError, Context, cluster_exit};
use crate::core::drift::{self, FieldDrift};
use crate::core::objects::{ObjectKind, ObjectRef};
use crate::core::outcome::JobStatus;
use crate::core::plan::Change;
use crate::core::refs::ResourceKey;

/// What refresh found about one deployed resource.
#[derive(Debug)]
pub struct Drifted {
    /// The resource.
    pub key: ResourceKey,
    /// Fields of its objects that differ from what was applied.
    pub fields: Vec<FieldDrift>,
    /// Its objects that are gone (deleted outside kjob).
    pub missing: Vec<ObjectRef>,
    /// Why it was not compared, when it was not.
    pub not_compared: Option<String>,
}

impl Drifted {
    /// Whether anything drifted.
    pub fn drifted(&self) -> bool {
        !self.fields.is_empty() || !self.missing.is_empty()
    }
}

/// Compares the live objects of every deployed resource of `planned` with what it renders.
pub async fn find(
    context: &Context,
    planned: &[Planned],
    changes: &[Change],
) -> Result<Vec<Drifted>, CliError> {
    let mut found = Vec::new();
    for (p, change) in planned.iter().zip(changes) {
        let Some(record) = &change.previous else {
            continue;
        };
        let mut drifted = Drifted {
            key: p.key.clone(),
            fields: Vec::new(),
            missing: Vec::new(),
            not_compared: None,
        };
        if !change.inputs.is_empty() {
            drifted.not_compared =
                Some("its manifest changed since the last up (see kjob preview)".into());
            found.push(drifted);
            continue;
        }
        for object in p.objects() {
            if !record.objects.contains(&object.id) {
                continue;
            }
            let collected = object.id.kind == ObjectKind::Job
                && record.job_status == Some(JobStatus::Collected);
            if collected {
                continue;
            }
            let live = context
                .cluster
                .get(&object.id)
                .await
                .map_err(|e| CliError::new(cluster_exit(&e), format!("{}: {e}", p.key)))?;
            match live {
                None => drifted.missing.push(object.id.clone()),
                Some(live) => drifted.fields.extend(drift::drift(object, &live)),
            }
        }
        found.push(drifted);
    }
    Ok(found)
}

/// `kjob refresh`: reports the drift of the manifest's deployed resources; changes nothing.
pub(crate) async fn refresh(context: &Context, args: &ManifestArg) -> Result<(), CliError> {
    let planned = plan::prepare(context, args.path())?;
    let changes = plan::changes(context.store.as_ref(), &planned)?;
    let found = find(context, &planned, &changes).await?;
    steps::drift(&found);
    Ok(())
}
