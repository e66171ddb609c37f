//! The plain values the KubernetesJob resource's functions take and return: no protocol types.
//! Property values are revealed (secret values in clear) and travel with the paths of their
//! secret values ([`Properties`]); the service puts the protocol's secret wrappers back on
//! exactly those paths.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::core::diff::ChangeKind;
use crate::core::path::{Failure, PropertyPath};
use crate::core::secrets;

/// A property map (inputs or outputs) with its secret values in clear, and the paths of those
/// values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Properties {
    /// The values, secrets revealed.
    pub value: Value,
    /// The paths whose values are secret.
    pub secrets: Vec<PropertyPath>,
}

impl Properties {
    /// Values with the paths the caller marked secret.
    pub fn new(value: Value, secrets: Vec<PropertyPath>) -> Self {
        Self { value, secrets }
    }

    /// Values to hand back: secret where the caller marked them (`marked`), and wherever a
    /// property is always secret ([`secrets::secret_paths`]).
    pub fn with_secret_fields(value: Value, marked: &[PropertyPath]) -> Self {
        let mut paths = marked.to_vec();
        paths.extend(secrets::secret_paths(&value));
        Self {
            value,
            secrets: paths,
        }
    }
}

/// Check's arguments: the resource's name and its new inputs.
#[derive(Debug, Clone, Default)]
pub struct CheckRequest {
    /// The resource's name (the Job's name unless `metadata.name` says otherwise).
    pub name: String,
    /// The inputs as the program gave them.
    pub news: Properties,
}

/// Check's answer: the inputs to record, and every problem with them.
#[derive(Debug, Clone, Default)]
pub struct CheckResult {
    /// Inputs with defaults applied and references resolved (unknowns kept as sentinels).
    pub inputs: Properties,
    /// Every problem, each at its property path; empty when the inputs can be deployed.
    pub failures: Vec<Failure>,
}

/// Diff's arguments.
#[derive(Debug, Clone, Default)]
pub struct DiffRequest {
    /// The resource's URN (named in debug logs).
    pub urn: String,
    /// The outputs in state (revealed).
    pub olds: Value,
    /// The new checked inputs (revealed).
    pub news: Value,
    /// Property paths whose changes are ignored (`ignoreChanges`).
    pub ignore_changes: Vec<String>,
}

/// How one property changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropertyChange {
    /// Added, deleted or updated.
    pub kind: ChangeKind,
    /// Whether the change replaces the resource.
    pub replace: bool,
    /// Whether the change is between inputs (false: between an output and the inputs).
    pub input_diff: bool,
}

/// Diff's answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiffResult {
    /// The changed top-level properties.
    pub diffs: Vec<String>,
    /// The top-level properties whose changes replace the resource.
    pub replaces: Vec<String>,
    /// Whether the old resource goes before the new one is created (its Job's name is fixed).
    pub delete_before_replace: bool,
    /// Every changed property, by path.
    pub detailed: BTreeMap<String, PropertyChange>,
}

impl DiffResult {
    /// Whether anything changed.
    pub fn changed(&self) -> bool {
        !self.diffs.is_empty()
    }
}

/// Create's arguments.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    /// The resource's URN (messages are logged against it).
    pub urn: String,
    /// The resource's name.
    pub name: String,
    /// The checked inputs.
    pub inputs: Properties,
    /// How long to wait for the Job (none: [`crate::core::outcome::DEFAULT_TIMEOUT`]).
    pub timeout: Option<Duration>,
    /// A preview: touch nothing, say what the outputs will be.
    pub preview: bool,
}

/// Create's answer.
#[derive(Debug, Clone, Default)]
pub struct CreateResult {
    /// The resource's ID, `<namespace>/<job name>` (empty in a preview).
    pub id: String,
    /// Its outputs.
    pub outputs: Properties,
}

/// Read's arguments: refresh (outputs in state given) or import (only the ID).
#[derive(Debug, Clone, Default)]
pub struct ReadRequest {
    /// The resource's URN (its stack is part of the owner identity).
    pub urn: String,
    /// The resource's ID.
    pub id: String,
    /// The outputs in state (`Value::Null` for an import).
    pub previous: Properties,
    /// Whether the engine sent inputs of its own (then they are kept).
    pub has_inputs: bool,
}

/// Read's answer for a resource that exists (Read answers `None` for one that is gone: the
/// engine drops it from state).
#[derive(Debug, Clone, PartialEq)]
pub struct ReadResult {
    /// Its ID.
    pub id: String,
    /// Its outputs.
    pub outputs: Properties,
    /// Inputs rebuilt from the live objects; `None`: keep the inputs the engine sent.
    pub inputs: Option<Properties>,
}

/// Update's arguments.
#[derive(Debug, Clone, Default)]
pub struct UpdateRequest {
    /// The resource's URN (messages are logged against it).
    pub urn: String,
    /// The resource's name.
    pub name: String,
    /// The outputs in state (revealed).
    pub olds: Value,
    /// The new checked inputs.
    pub news: Properties,
    /// How long to wait for the Job (none: [`crate::core::outcome::DEFAULT_TIMEOUT`]).
    pub timeout: Option<Duration>,
    /// A preview: touch nothing, say what the outputs will be.
    pub preview: bool,
}

/// Update's answer.
#[derive(Debug, Clone, Default)]
pub struct UpdateResult {
    /// The new outputs.
    pub outputs: Properties,
}

/// Delete's arguments.
#[derive(Debug, Clone, Default)]
pub struct DeleteRequest {
    /// The resource's URN (messages are logged against it).
    pub urn: String,
    /// The resource's name.
    pub name: String,
    /// The resource's ID.
    pub id: String,
    /// The outputs in state (revealed).
    pub olds: Value,
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResourceError {
    /// The request cannot be served as it is (bad inputs, bad ID).
    #[error("{0}")]
    Invalid(String),
    /// The cluster could not be read.
    #[error("{0}")]
    Unavailable(String),
    /// The call failed and left nothing to record.
    #[error("{0}")]
    Failed(String),
    /// The call failed part-way: the resource exists and the engine records it with these
    /// outputs (the next `up` updates it).
    #[error("{}", reasons.join("; "))]
    Partial {
        /// The resource's ID.
        id: String,
        /// Its outputs so far.
        outputs: Properties,
        /// What went wrong.
        reasons: Vec<String>,
    },
    /// A broken promise inside kjob.
    #[error("{0}")]
    Internal(String),
}
