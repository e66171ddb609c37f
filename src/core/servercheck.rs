//! The rules of a preview that the API server checks (`kjob preview --server`, the provider's
//! `serverPreview`): which rendered objects are sent as a server-side dry-run apply, and what
//! each answer means. Written once for both front ends; they only send and show.
//!
//! - An object that the run deletes is not sent, nor one it leaves alone (not kjob's,
//!   [`Action::Foreign`]), nor a Job it replaces: that one is deleted first, so the server would
//!   judge the new Job against the old one (an immutable template) instead of as created; both
//!   are reported as not checked, and why.
//! - A refusal because the object's namespace does not exist is no problem when this same run
//!   creates that namespace (its Namespace object is rendered): the object is reported as not
//!   checked, and why. Any other refusal (admission, quota, RBAC, an immutable field, a missing
//!   namespace that nothing creates) is a failure that names the object.

use serde::Serialize;

use super::objects::{ObjectKind, ObjectRef};
use super::plan::Action;

/// What is known about an object with this planned action before anything is sent: `None`
/// when it is to be sent for a dry run, else the verdict (`None` too for a deletion, which is
/// not reported: see [`reported`]).
pub fn before_sending(action: Action) -> Option<Verdict> {
    match action {
        Action::Foreign => Some(Verdict::NotChecked {
            why: "not kjob's: it is used as it is, not applied".into(),
        }),
        Action::Replace => Some(Verdict::NotChecked {
            why: "the Job is deleted and created again: the new one is checked when it is created"
                .into(),
        }),
        _ => None,
    }
}

/// Whether an object with this planned action appears in the check's report (deletions do
/// not: nothing is applied).
pub fn reported(action: Action) -> bool {
    action != Action::Delete
}

/// The API server's refusal of a dry-run apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status code (403 forbidden, 404 not found, 422 invalid, ...).
    pub code: u16,
    /// The status reason (`Forbidden`, `NotFound`, `Invalid`).
    pub reason: String,
    /// The server's message.
    pub message: String,
}

/// What the check of one object found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "camelCase")]
pub enum Verdict {
    /// The server would accept it.
    Accepted,
    /// The server refuses it; the message says why.
    Refused {
        /// The server's reason and message.
        message: String,
    },
    /// It could not be checked now, and that is expected; why.
    NotChecked {
        /// Why.
        why: String,
    },
}

/// Judges the server's answer about `object`, given the objects this run renders (`run`).
pub fn judge(object: &ObjectRef, answer: Result<(), Refusal>, run: &[ObjectRef]) -> Verdict {
    let refusal = match answer {
        Ok(()) => return Verdict::Accepted,
        Err(refusal) => refusal,
    };
    if let Some(namespace) = missing_namespace(object, &refusal)
        && creates_namespace(run, namespace)
    {
        return Verdict::NotChecked {
            why: format!(
                "namespace {namespace} does not exist yet: this run creates it first, and the object is checked when applied"
            ),
        };
    }
    Verdict::Refused {
        message: format!("{} ({}): {}", refusal.reason, refusal.code, refusal.message),
    }
}

/// The namespace whose absence a refusal reports: a 404 about the object's own namespace.
fn missing_namespace<'a>(object: &'a ObjectRef, refusal: &Refusal) -> Option<&'a str> {
    let namespace = object.namespace.as_deref()?;
    (refusal.code == 404
        && refusal
            .message
            .contains(&format!("namespaces \"{namespace}\" not found")))
    .then_some(namespace)
}

/// Whether the run renders Namespace `name`.
pub fn creates_namespace(run: &[ObjectRef], name: &str) -> bool {
    run.iter()
        .any(|o| o.kind == ObjectKind::Namespace && o.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(kind: ObjectKind, namespace: Option<&str>, name: &str) -> ObjectRef {
        ObjectRef {
            kind,
            namespace: namespace.map(str::to_owned),
            name: name.into(),
        }
    }

    fn missing(ns: &str) -> Refusal {
        Refusal {
            code: 404,
            reason: "NotFound".into(),
            message: format!("namespaces \"{ns}\" not found"),
        }
    }

    #[test]
    fn a_namespace_the_run_creates_is_not_missing() {
        let job = obj(ObjectKind::Job, Some("new"), "j");
        let run = [obj(ObjectKind::Namespace, None, "new"), job.clone()];
        assert!(matches!(
            judge(&job, Err(missing("new")), &run),
            Verdict::NotChecked { .. }
        ));
        // Nothing in the run creates it: refused, with the server's words.
        let Verdict::Refused { message } = judge(&job, Err(missing("new")), &run[1..]) else {
            panic!("refused")
        };
        assert_eq!(message, "NotFound (404): namespaces \"new\" not found");
        // Another namespace missing is not excused by this one.
        let other = obj(ObjectKind::Job, Some("other"), "j");
        assert!(matches!(
            judge(&other, Err(missing("other")), &run),
            Verdict::Refused { .. }
        ));
    }

    #[test]
    fn other_refusals_fail_and_acceptance_passes() {
        let job = obj(ObjectKind::Job, Some("ns"), "j");
        let quota = Refusal {
            code: 403,
            reason: "Forbidden".into(),
            message: "exceeded quota: q".into(),
        };
        assert!(matches!(
            judge(&job, Err(quota), &[]),
            Verdict::Refused { .. }
        ));
        assert_eq!(judge(&job, Ok(()), &[]), Verdict::Accepted);
        assert!(
            before_sending(Action::Foreign).is_some() && before_sending(Action::Replace).is_some()
        );
        assert_eq!(before_sending(Action::Update), None);
        assert!(!reported(Action::Delete) && reported(Action::Create));
    }
}
