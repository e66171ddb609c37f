//! Who owns an object: the owner identity every object kjob creates carries, and the rules that
//! read it back. Pure.
//!
//! An owner is one resource (kind, env, name) of one stack: a Pulumi stack
//! (`pulumi:<project>/<stack>`) or a CLI state store (`kjob:<store id>`, or `--stack`). Two
//! stacks, two state stores, two envs or two kinds that use the same name are different owners.
//!
//! On the object, the identity is written twice:
//! - the label [`OWNER_LABEL`]: a short hash of the identity, for label selectors (a label value
//!   holds at most 63 characters; the identity does not fit);
//! - the annotation [`OWNER_ANNOTATION`]: the identity itself as JSON, to say who the owner is.
//!
//! An object is ours when the label is our hash and the annotation, if any, names us. Objects
//! written before owner identities (managed by kjob, labelled with the resource's name only) are
//! [`Ownership::Legacy`]: the deploy path treats them as ours only when the caller's own state
//! recorded them, and relabels them on the next apply.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::core::objects::{ObjectRef, labels};
use crate::core::refs::ResourceKey;
use crate::core::secrets::sha256_hex;

/// Label: the owner's hash ([`Owner::hash`]).
pub const OWNER_LABEL: &str = "kjob.project-planton.org/owner";
/// Annotation: the owner's identity as JSON ([`Owner::annotation`]).
pub const OWNER_ANNOTATION: &str = "kjob.project-planton.org/owner";

/// One resource of one stack: who an object belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Owner {
    /// The deploying stack: `pulumi:<project>/<stack>` or `kjob:<state store id or --stack>`.
    pub stack: String,
    /// The resource's kind, e.g. `KubernetesJob`.
    pub kind: String,
    /// The resource's env (`metadata.env`), possibly empty.
    pub env: String,
    /// The resource's name (`metadata.name`).
    pub name: String,
}

impl Owner {
    /// The owner of resource `key` in `stack`.
    pub fn new(key: &ResourceKey, stack: &str) -> Self {
        Self {
            stack: stack.to_owned(),
            kind: key.kind.clone(),
            env: key.env.clone(),
            name: key.name.clone(),
        }
    }

    /// The value of [`OWNER_LABEL`]: 32 hex digits of the SHA-256 of the identity (a valid
    /// label value however long the names are).
    pub fn hash(&self) -> String {
        let identity = serde_json::json!([self.stack, self.kind, self.env, self.name]).to_string();
        let mut hex = sha256_hex(&identity);
        hex.truncate(32);
        hex
    }

    /// The value of [`OWNER_ANNOTATION`].
    pub fn annotation(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The owner an annotation names, if it is one.
    pub fn from_annotation(text: &str) -> Option<Owner> {
        serde_json::from_str(text).ok()
    }

    /// The label selector of the objects this owner owns.
    pub fn selector(&self) -> String {
        format!(
            "{}={},{}={}",
            labels::MANAGED_BY,
            labels::MANAGED_BY_VALUE,
            OWNER_LABEL,
            self.hash()
        )
    }

    /// Writes the owner's label and annotation (and kjob's other ownership labels) into an
    /// object body's metadata. The pod template is left alone: a Job's template cannot change.
    pub fn stamp(&self, body: &mut Value) {
        let Some(metadata) = body.get_mut("metadata").and_then(Value::as_object_mut) else {
            return;
        };
        let mut put = |field: &str, key: &str, value: String| {
            let entry = metadata
                .entry(field)
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Some(map) = entry.as_object_mut() {
                map.insert(key.to_owned(), Value::String(value));
            }
        };
        put(
            "labels",
            labels::MANAGED_BY,
            labels::MANAGED_BY_VALUE.into(),
        );
        put("labels", labels::OWNER, self.name.clone());
        put("labels", OWNER_LABEL, self.hash());
        put("annotations", OWNER_ANNOTATION, self.annotation());
    }
}

impl std::fmt::Display for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?}", self.kind, self.name)?;
        if !self.env.is_empty() {
            write!(f, " (env {:?})", self.env)?;
        }
        write!(f, " of stack {:?}", self.stack)
    }
}

/// Whose a live object is, seen from one owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    /// Ours: our owner label, and no annotation naming someone else.
    Ours,
    /// Labelled by kjob before owner identities, with our name and kind: ours only if our own
    /// state recorded it.
    Legacy,
    /// Ours under our former env: the same stack, kind and name, another `metadata.env` (a
    /// Pulumi resource whose env changed). Ours only if our own state recorded it.
    Moved(Owner),
    /// Another owner's (described: who, as far as the object says).
    Foreign(String),
    /// Not managed by kjob at all.
    Unmanaged,
}

impl Ownership {
    /// Whether the object may be changed or deleted by us; `recorded`: whether our own state
    /// lists it (what makes a [`Ownership::Legacy`] object ours).
    pub fn is_ours(&self, recorded: bool) -> bool {
        match self {
            Ownership::Ours => true,
            Ownership::Legacy | Ownership::Moved(_) => recorded,
            Ownership::Foreign(_) | Ownership::Unmanaged => false,
        }
    }

    /// Who holds the object, for an error message.
    pub fn holder(&self) -> String {
        match self {
            Ownership::Ours => "this resource".into(),
            Ownership::Legacy => {
                "a resource of the same name that labelled it before owner identities (not recorded in this state)".into()
            }
            Ownership::Moved(former) => format!("{former} (this resource under its former env)"),
            Ownership::Foreign(who) => who.clone(),
            Ownership::Unmanaged => "no kjob resource (it is not managed by kjob)".into(),
        }
    }
}

fn text<'a>(map: &'a Value, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

/// Reads a live object's ownership as seen by `owner`.
pub fn ownership(live: &Value, owner: &Owner) -> Ownership {
    let metadata = &live["metadata"];
    let object_labels = &metadata["labels"];
    if text(object_labels, labels::MANAGED_BY) != Some(labels::MANAGED_BY_VALUE) {
        return Ownership::Unmanaged;
    }
    let annotated = text(&metadata["annotations"], OWNER_ANNOTATION);
    let named = annotated.and_then(Owner::from_annotation);
    match text(object_labels, OWNER_LABEL) {
        Some(hash) if hash == owner.hash() => match (annotated, named) {
            (None, _) => Ownership::Ours,
            (Some(_), Some(named)) if named == *owner => Ownership::Ours,
            (Some(_), Some(named)) => Ownership::Foreign(format!(
                "{named} (its annotation {OWNER_ANNOTATION} disagrees with its owner label)"
            )),
            (Some(_), None) => Ownership::Foreign(format!(
                "an unknown owner (its annotation {OWNER_ANNOTATION} is not an owner identity)"
            )),
        },
        Some(hash) => match named {
            Some(named)
                if named.hash() == hash
                    && (
                        named.stack.as_str(),
                        named.kind.as_str(),
                        named.name.as_str(),
                    ) == (
                        owner.stack.as_str(),
                        owner.kind.as_str(),
                        owner.name.as_str(),
                    ) =>
            {
                Ownership::Moved(named)
            }
            Some(named) if named.hash() == hash => Ownership::Foreign(named.to_string()),
            _ => Ownership::Foreign(format!("the owner whose {OWNER_LABEL} label is {hash:?}")),
        },
        None => {
            let name = text(object_labels, labels::OWNER);
            let kind = text(object_labels, labels::PLANTON_KIND);
            if name == Some(owner.name.as_str()) && kind.is_none_or(|k| k == owner.kind) {
                Ownership::Legacy
            } else {
                Ownership::Foreign(format!(
                    "{} {:?} (labelled before owner identities)",
                    kind.unwrap_or("a kjob resource"),
                    name.unwrap_or_default()
                ))
            }
        }
    }
}

/// One object found in a namespace (for deciding whether the namespace may go).
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    /// Its kind, e.g. `Deployment`.
    pub kind: String,
    /// The object as listed.
    pub live: Value,
}

/// What in a namespace is not `owner`'s, as `Kind/name` lines: the objects that keep a namespace
/// kjob created from being deleted. Ours are the objects `owner` owns (legacy-labelled ones only
/// if `recorded` names them), what they own (a Job's pods, by owner reference, also when the
/// owner is among the `deleted` UIDs: a Job deleted in the background whose pods the garbage
/// collector has yet to delete), and what every namespace holds by itself (the `default`
/// ServiceAccount, the `kube-root-ca.crt` ConfigMap, events).
pub fn foreign_contents(
    contents: &[Content],
    owner: &Owner,
    recorded: &dyn Fn(&str, &str) -> bool,
    deleted: &BTreeSet<String>,
) -> Vec<String> {
    let ours = |c: &Content| {
        let name = text(&c.live["metadata"], "name").unwrap_or_default();
        ownership(&c.live, owner).is_ours(recorded(&c.kind, name))
    };
    let (mine, others): (Vec<&Content>, Vec<&Content>) = contents.iter().partition(|c| ours(c));
    let our_uids: BTreeSet<&str> = mine
        .iter()
        .filter_map(|c| text(&c.live["metadata"], "uid"))
        .chain(deleted.iter().map(String::as_str))
        .collect();
    let mut out: Vec<String> = others
        .into_iter()
        .filter(|c| !builtin(c))
        .filter(|c| {
            let refs = c.live["metadata"]["ownerReferences"].as_array();
            let owned_by_ours = refs.is_some_and(|refs| {
                !refs.is_empty()
                    && refs
                        .iter()
                        .all(|r| text(r, "uid").is_some_and(|u| our_uids.contains(u)))
            });
            !owned_by_ours
        })
        .map(|c| {
            let name = text(&c.live["metadata"], "name").unwrap_or_default();
            format!("{}/{}", c.kind, name)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Whether an apply must look, by the owner's label, for objects an earlier run left behind
/// that `previous` does not list: only when the last run failed (or its outcome is unknown) or
/// when fewer objects are rendered than `previous` holds. A run that finished recorded all it
/// applied, so after it the record alone says what to prune: the label-selector LISTs are
/// skipped.
pub fn look_for_leftovers(
    previous: &[ObjectRef],
    rendered: &[ObjectRef],
    last_run_failed: bool,
) -> bool {
    last_run_failed || previous.iter().any(|p| !rendered.contains(p))
}

fn builtin(c: &Content) -> bool {
    let name = text(&c.live["metadata"], "name").unwrap_or_default();
    matches!(
        (c.kind.as_str(), name),
        ("ServiceAccount", "default") | ("ConfigMap", "kube-root-ca.crt")
    ) || c.kind == "Event"
}

#[cfg(test)]
mod tests {
    #[test]
    fn leftovers_are_looked_for_only_after_a_failure_or_a_shrink() {
        use crate::core::objects::ObjectKind;
        let cm = |n: &str| ObjectRef {
            kind: ObjectKind::ConfigMap,
            namespace: Some("ns".into()),
            name: n.into(),
        };
        let (a, b) = (cm("a"), cm("b"));
        let two = [a.clone(), b.clone()];
        assert!(!look_for_leftovers(&[], &two, false), "a first run");
        assert!(!look_for_leftovers(&two, &two, false), "the same set");
        assert!(
            !look_for_leftovers(std::slice::from_ref(&a), &two, false),
            "grown"
        );
        assert!(
            look_for_leftovers(&two, std::slice::from_ref(&a), false),
            "shrank"
        );
        assert!(look_for_leftovers(&two, &[a, b.clone()], true), "failed");
        assert!(
            look_for_leftovers(&[], &[b], true),
            "failed, nothing recorded"
        );
    }

    use super::*;
    use serde_json::json;

    fn owner(stack: &str, kind: &str, name: &str) -> Owner {
        Owner {
            stack: stack.into(),
            kind: kind.into(),
            env: "dev".into(),
            name: name.into(),
        }
    }

    fn stamped(o: &Owner) -> Value {
        let mut body = json!({"metadata": {"name": "x", "labels": {"team": "a"}}});
        o.stamp(&mut body);
        body
    }

    #[test]
    fn the_hash_is_a_valid_label_value_and_differs_by_every_part() {
        let base = owner("kjob:a", "KubernetesJob", "migrate");
        let h = base.hash();
        assert_eq!(h.len(), 32);
        assert!(
            crate::core::names::dns1123_label(&h).is_ok(),
            "a valid label value"
        );
        let variants = [
            owner("kjob:b", "KubernetesJob", "migrate"),
            owner("kjob:a", "KubernetesNamespace", "migrate"),
            owner("kjob:a", "KubernetesJob", "migrate2"),
            Owner {
                env: "prod".into(),
                ..base.clone()
            },
        ];
        for v in variants {
            assert_ne!(v.hash(), h, "{v}");
        }
        // No ambiguity from joining: ("a/b", "c") and ("a", "b/c") differ.
        assert_ne!(
            owner("a/b", "c", "n").hash(),
            Owner {
                stack: "a".into(),
                kind: "b/c".into(),
                env: "dev".into(),
                name: "n".into()
            }
            .hash()
        );
    }

    #[test]
    fn stamped_objects_are_ours_and_nobody_elses() {
        let a = owner("kjob:a", "KubernetesJob", "migrate");
        let body = stamped(&a);
        assert_eq!(body["metadata"]["labels"]["team"], "a", "labels kept");
        assert_eq!(ownership(&body, &a), Ownership::Ours);
        for other in [
            owner("kjob:b", "KubernetesJob", "migrate"),
            owner("kjob:a", "KubernetesNamespace", "migrate"),
        ] {
            let seen = ownership(&body, &other);
            let Ownership::Foreign(who) = &seen else {
                panic!("{seen:?}")
            };
            assert!(
                who.contains("kjob:a") && who.contains("KubernetesJob"),
                "{who}"
            );
            assert!(!seen.is_ours(true));
        }
    }

    #[test]
    fn a_hand_edited_label_or_annotation_is_not_ours() {
        let a = owner("kjob:a", "KubernetesJob", "migrate");
        let b = owner("kjob:b", "KubernetesJob", "migrate");
        let mut edited = stamped(&a);
        edited["metadata"]["labels"][OWNER_LABEL] = json!("someone-else");
        assert!(
            matches!(ownership(&edited, &a), Ownership::Foreign(w) if w.contains("someone-else"))
        );
        // Label copied from b's object onto an object annotated as a's: b does not own it.
        let mut forged = stamped(&a);
        forged["metadata"]["labels"][OWNER_LABEL] = json!(b.hash());
        assert!(matches!(ownership(&forged, &b), Ownership::Foreign(w) if w.contains("disagrees")));
        let mut garbled = stamped(&a);
        garbled["metadata"]["annotations"][OWNER_ANNOTATION] = json!("{not json");
        assert!(matches!(ownership(&garbled, &a), Ownership::Foreign(_)));
    }

    #[test]
    fn an_env_change_of_one_stacks_resource_needs_the_record() {
        let dev = owner("pulumi:p/s", "KubernetesJob", "migrate");
        let prod = Owner {
            env: "prod".into(),
            ..dev.clone()
        };
        let body = stamped(&dev);
        let seen = ownership(&body, &prod);
        assert_eq!(seen, Ownership::Moved(dev.clone()));
        assert!(seen.is_ours(true) && !seen.is_ours(false));
        // Another stack's resource of that name and env is not a move.
        let elsewhere = Owner {
            stack: "pulumi:p/other".into(),
            ..prod
        };
        assert!(matches!(
            ownership(&body, &elsewhere),
            Ownership::Foreign(_)
        ));
    }

    #[test]
    fn legacy_labels_are_read_as_the_same_named_resource_and_need_the_record() {
        let a = owner("kjob:a", "KubernetesJob", "migrate");
        let legacy = json!({"metadata": {"labels": {
            labels::MANAGED_BY: "kjob", labels::OWNER: "migrate", labels::PLANTON_KIND: "KubernetesJob"}}});
        assert_eq!(ownership(&legacy, &a), Ownership::Legacy);
        assert!(ownership(&legacy, &a).is_ours(true));
        assert!(!ownership(&legacy, &a).is_ours(false));
        let ns = owner("kjob:a", "KubernetesNamespace", "migrate");
        assert!(matches!(ownership(&legacy, &ns), Ownership::Foreign(_)));
        let other = owner("kjob:a", "KubernetesJob", "other");
        assert!(matches!(ownership(&legacy, &other), Ownership::Foreign(_)));
        let unmanaged = json!({"metadata": {"labels": {labels::OWNER: "migrate"}}});
        assert_eq!(ownership(&unmanaged, &a), Ownership::Unmanaged);
    }

    #[test]
    fn only_what_is_not_ours_keeps_a_namespace() {
        let a = owner("kjob:a", "KubernetesJob", "migrate");
        let mut job = stamped(&a);
        job["metadata"]["name"] = json!("migrate");
        job["metadata"]["uid"] = json!("u-job");
        let pod = json!({"metadata": {"name": "migrate-x", "ownerReferences": [{"uid": "u-job"}]}});
        let foreign_pod =
            json!({"metadata": {"name": "web-1", "ownerReferences": [{"uid": "u-other"}]}});
        let deployment = json!({"metadata": {"name": "web"}});
        let other_job = stamped(&owner("kjob:b", "KubernetesJob", "other"));
        let contents = vec![
            Content {
                kind: "Job".into(),
                live: job,
            },
            Content {
                kind: "Pod".into(),
                live: pod,
            },
            Content {
                kind: "Pod".into(),
                live: foreign_pod,
            },
            Content {
                kind: "Deployment".into(),
                live: deployment,
            },
            Content {
                kind: "Job".into(),
                live: other_job,
            },
            Content {
                kind: "ServiceAccount".into(),
                live: json!({"metadata": {"name": "default"}}),
            },
            Content {
                kind: "ConfigMap".into(),
                live: json!({"metadata": {"name": "kube-root-ca.crt"}}),
            },
            Content {
                kind: "Event".into(),
                live: json!({"metadata": {"name": "e1"}}),
            },
        ];
        let none = BTreeSet::new();
        let found = foreign_contents(&contents, &a, &|_, _| false, &none);
        assert_eq!(found, vec!["Deployment/web", "Job/x", "Pod/web-1"]);
        assert!(foreign_contents(&contents[..2], &a, &|_, _| false, &none).is_empty());
        // Our Job deleted in the background, its pod not yet: the pod is still ours.
        let deleted = BTreeSet::from(["u-job".to_owned()]);
        assert!(foreign_contents(&contents[1..2], &a, &|_, _| false, &deleted).is_empty());
        assert_eq!(
            foreign_contents(&contents[1..2], &a, &|_, _| false, &none),
            vec!["Pod/migrate-x"]
        );
    }
}
