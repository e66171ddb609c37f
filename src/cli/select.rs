//! Which resources a command acts on: the documents of a manifest file, or one resource of the
//! state store by name (kind and env narrow it down). `down`, `outputs`, `get`, `wait` and
//! `logs` select this way.

use super::plan::{load, order, referenced};
use super::{CliError, Context, Exit};
use crate::core::refs::ResourceKey;
use crate::manifest;
use crate::state::Record;

/// How `down`, `outputs`, `get`, `wait` and `logs` pick resources.
#[derive(Debug, Clone)]
pub enum Selector {
    /// The documents of a manifest file.
    Manifest(String),
    /// One resource by name (kind and env narrow it down).
    Name {
        /// metadata.name.
        name: String,
        /// Kind, matched ignoring case, dashes and underscores.
        kind: Option<String>,
        /// metadata.env.
        env: Option<String>,
    },
}

/// A selected resource and its record (none when it is not deployed).
#[derive(Debug, Clone)]
pub struct Target {
    /// The resource.
    pub key: ResourceKey,
    /// Its state record.
    pub record: Option<Record>,
    /// The resources its document references (`down` deletes it before them); none when
    /// selected by name.
    pub references: Vec<ResourceKey>,
}

/// The resources a selector names, in dependency order (referenced first).
pub fn targets(context: &Context, selector: &Selector) -> Result<Vec<Target>, CliError> {
    match selector {
        Selector::Manifest(path) => {
            let docs = order(load(path, &context.sets)?)?;
            docs.iter()
                .map(|d| {
                    Ok(Target {
                        key: d.key(),
                        record: context.store.get(&d.key())?,
                        references: referenced(d),
                    })
                })
                .collect()
        }
        Selector::Name { name, kind, env } => {
            let records = context.store.list()?;
            let wanted_kind = kind.as_deref().map(manifest::normalize_kind);
            let matching: Vec<Record> = records
                .into_iter()
                .filter(|r| r.name == *name)
                .filter(|r| {
                    wanted_kind
                        .as_ref()
                        .is_none_or(|k| manifest::normalize_kind(&r.kind) == *k)
                })
                .filter(|r| env.as_ref().is_none_or(|e| r.env == *e))
                .collect();
            match matching.len() {
                0 => Err(CliError::new(
                    Exit::Invalid,
                    format!(
                        "no resource named {name:?}{}{} in {}",
                        kind.as_ref()
                            .map(|k| format!(" of kind {k}"))
                            .unwrap_or_default(),
                        env.as_ref()
                            .map(|e| format!(" in env {e:?}"))
                            .unwrap_or_default(),
                        context.store.describe()
                    ),
                )),
                1 => Ok(matching
                    .into_iter()
                    .map(|r| Target {
                        key: r.key(),
                        record: Some(r),
                        references: Vec::new(),
                    })
                    .collect()),
                _ => Err(CliError::new(
                    Exit::Invalid,
                    format!(
                        "several resources are named {name:?}: {}; pass --kind and/or --env",
                        matching
                            .iter()
                            .map(|r| r.key().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )),
            }
        }
    }
}
