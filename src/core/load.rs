//! A manifest's spec: decoding from JSON with defaults, and validation. Pure: no IO.

use prost_reflect::MessageDescriptor;
use serde_json::Value;

use crate::core::codec::{self, UnknownTest};
use crate::core::defaults;
use crate::core::path::{Failure, PropertyPath};

/// A manifest decoded into its generated type, with proto defaults applied.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    /// The typed message.
    pub message: T,
    /// Paths whose values were unknown placeholders (Pulumi preview only).
    pub unknowns: Vec<PropertyPath>,
    /// Decoding problems, each at its path.
    pub failures: Vec<Failure>,
}

/// Decodes `value` as a message of type `desc` and applies the declared defaults.
pub fn load<T: prost::Message + Default>(
    desc: &MessageDescriptor,
    value: &Value,
    root: &PropertyPath,
    unknown: Option<UnknownTest<'_>>,
) -> Loaded<T> {
    let mut decoded = codec::decode(desc, value, root, unknown);
    defaults::apply(&mut decoded.message);
    Loaded {
        message: codec::to_typed(&decoded.message),
        unknowns: decoded.unknowns,
        failures: decoded.failures,
    }
}

/// Drops failures that cannot be judged yet: at or below a path whose value is unknown, or at
/// a message that holds an unknown (a oneof or "exactly one of" rule over an unknown member).
pub fn without_unknown(failures: Vec<Failure>, unknowns: &[PropertyPath]) -> Vec<Failure> {
    failures
        .into_iter()
        .filter(|f| {
            !unknowns
                .iter()
                .any(|u| f.path.starts_with(u) || (!f.path.0.is_empty() && u.starts_with(&f.path)))
        })
        .collect()
}

/// The failures a kind's pipeline reports, settled the same way for every kind: none at or
/// under an unknown value, in path order, and a reference that cannot be resolved reported
/// once, at the outermost path that names it.
pub fn settle(failures: Vec<Failure>, unknowns: &[PropertyPath]) -> Vec<Failure> {
    let mut failures = without_unknown(failures, unknowns);
    failures.sort_by(|a, b| a.path.cmp(&b.path));
    failures.dedup_by(|a, b| {
        a.path.starts_with(&b.path)
            && a.reason.starts_with("cannot resolve")
            && b.reason.starts_with("cannot resolve")
    });
    failures
}

/// A manifest decoded with defaults and its `valueFrom` references resolved, still dynamic.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The message, every resolvable reference replaced by its value.
    pub message: prost_reflect::DynamicMessage,
    /// Paths whose values were unknown placeholders.
    pub unknowns: Vec<PropertyPath>,
    /// Decoding and reference problems; a value the decoder rejected is not reported again by
    /// the resolver.
    pub failures: Vec<Failure>,
}

/// Decodes `value` as `desc` with defaults, then resolves its references through `sources`,
/// with `metadata.env` as the default env. Shared by every kind's pipeline.
pub fn load_resolved(
    desc: &MessageDescriptor,
    value: &Value,
    root: &PropertyPath,
    unknown: Option<UnknownTest<'_>>,
    sources: &[&dyn crate::core::refs::Source],
) -> Resolved {
    let mut decoded = codec::decode(desc, value, root, unknown);
    defaults::apply(&mut decoded.message);
    let env = value
        .pointer("/metadata/env")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut failures = decoded.failures;
    let decode_paths: Vec<PropertyPath> = failures.iter().map(|f| f.path.clone()).collect();
    failures.extend(
        crate::core::refs::resolve(&mut decoded.message, root, &env, sources)
            .into_iter()
            .filter(|f| {
                !decode_paths
                    .iter()
                    .any(|d| f.path.starts_with(d) || d.starts_with(&f.path))
            }),
    );
    Resolved {
        message: decoded.message,
        unknowns: decoded.unknowns,
        failures,
    }
}
