//! The conversions of the service: requests' Structs to revealed values and back, typed
//! results to responses, typed errors to statuses. Pure.

use prost::Message;
use tonic::Status;

use crate::api::google_rpc;
use crate::api::pulumirpc::{
    CheckFailure, DiffResponse, ErrorResourceInitFailed, PropertyDiff, diff_response::DiffChanges,
    property_diff::Kind as DiffKind,
};
use crate::core::diff::ChangeKind;
use crate::core::path::Failure;
use crate::kinds::Kind;
use crate::provider::resource::{self as res, Properties, ResourceError};
use crate::provider::values;
use crate::schema::{NAMESPACE_RESOURCE_TOKEN, RESOURCE_TOKEN};

/// A request's property map, revealed: `{}` when absent.
pub(super) fn decode(s: Option<&prost_types::Struct>) -> Properties {
    let value = s
        .map(values::from_struct)
        .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
    let (value, secrets) = values::reveal(&value);
    Properties::new(value, secrets)
}

/// A property map for the wire, its secret paths wrapped.
pub(super) fn encode(properties: &Properties) -> prost_types::Struct {
    let mut value = properties.value.clone();
    values::conceal(&mut value, &properties.secrets);
    values::to_struct(&value)
}

/// Check failures as the protocol spells them.
pub(super) fn failures_to_rpc(failures: &[Failure]) -> Vec<CheckFailure> {
    failures
        .iter()
        .map(|f| CheckFailure {
            property: f.path.to_string(),
            reason: f.reason.clone(),
        })
        .collect()
}

/// Resource name from a request, falling back to the URN's last segment.
pub(super) fn resource_name(name: &str, urn: &str) -> String {
    if !name.is_empty() {
        return name.to_owned();
    }
    urn.rsplit("::").next().unwrap_or_default().to_owned()
}

/// The kind a resource type serves (`kjob:index:KubernetesJob`, `kjob:index:KubernetesNamespace`;
/// an empty type is read from the URN, and an empty URN means KubernetesJob); any other type is
/// refused.
pub(super) fn resource_kind(ty: &str, urn: &str) -> Result<Kind, Status> {
    let served = [
        (RESOURCE_TOKEN, Kind::KubernetesJob),
        (NAMESPACE_RESOURCE_TOKEN, Kind::KubernetesNamespace),
    ];
    let found = if ty.is_empty() {
        if urn.is_empty() {
            Some(Kind::KubernetesJob)
        } else {
            served
                .iter()
                .find(|(token, _)| urn.contains(&format!("::{token}::")))
                .map(|(_, kind)| *kind)
        }
    } else {
        served
            .iter()
            .find(|(token, _)| ty == *token)
            .map(|(_, kind)| *kind)
    };
    found.ok_or_else(|| {
        Status::invalid_argument(format!(
            "unknown resource type {ty:?} (urn {urn}); this provider serves {RESOURCE_TOKEN} and \
             {NAMESPACE_RESOURCE_TOKEN}"
        ))
    })
}

/// The wait a Create or Update allows: the engine's timeout in seconds (customTimeouts), none
/// (the default) when it is zero, negative or NaN; a huge or infinite one saturates instead of
/// panicking ([`crate::core::time::wait_from_secs_f64`]).
pub(super) fn timeout_from(seconds: f64) -> Option<std::time::Duration> {
    crate::core::time::wait_from_secs_f64(seconds)
}

/// A typed failure as a status: a partial failure is Pulumi's ErrorResourceInitFailed detail.
pub(super) fn status(error: ResourceError) -> Status {
    match error {
        ResourceError::Invalid(message) => Status::invalid_argument(message),
        ResourceError::Unavailable(message) => Status::unavailable(message),
        ResourceError::Failed(message) => Status::unknown(message),
        ResourceError::Internal(message) => Status::internal(message),
        ResourceError::Partial {
            id,
            outputs,
            reasons,
        } => {
            let message = reasons.join("; ");
            let detail = ErrorResourceInitFailed {
                id,
                properties: Some(encode(&outputs)),
                reasons,
                inputs: None,
                refresh_before_update: false,
            };
            let status = google_rpc::Status {
                code: tonic::Code::Unknown as i32,
                message: message.clone(),
                details: vec![prost_types::Any {
                    type_url: "type.googleapis.com/pulumirpc.ErrorResourceInitFailed".into(),
                    value: detail.encode_to_vec(),
                }],
            };
            Status::with_details(tonic::Code::Unknown, message, status.encode_to_vec().into())
        }
    }
}

/// The protocol's kind of a property change.
fn diff_kind(kind: ChangeKind, replace: bool) -> DiffKind {
    match (kind, replace) {
        (ChangeKind::Add, false) => DiffKind::Add,
        (ChangeKind::Add, true) => DiffKind::AddReplace,
        (ChangeKind::Delete, false) => DiffKind::Delete,
        (ChangeKind::Delete, true) => DiffKind::DeleteReplace,
        (ChangeKind::Update, false) => DiffKind::Update,
        (ChangeKind::Update, true) => DiffKind::UpdateReplace,
    }
}

/// A typed diff as Diff's response.
pub(super) fn diff_response(result: res::DiffResult) -> DiffResponse {
    let changes = if result.changed() {
        DiffChanges::DiffSome
    } else {
        DiffChanges::DiffNone
    };
    let detailed_diff = result
        .detailed
        .into_iter()
        .map(|(path, change)| {
            let diff = PropertyDiff {
                kind: diff_kind(change.kind, change.replace) as i32,
                input_diff: change.input_diff,
            };
            (path, diff)
        })
        .collect();
    DiffResponse {
        delete_before_replace: result.delete_before_replace,
        replaces: result.replaces,
        stables: Vec::new(),
        changes: changes as i32,
        diffs: result.diffs,
        detailed_diff,
        has_detailed_diff: true,
    }
}
