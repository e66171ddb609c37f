//! Diffing two versions of a KubernetesJob's checked inputs, and the rules that say which
//! changes the Kubernetes API accepts on a live Job (update in place) and which it rejects
//! (replace). Pure: JSON in, changes out.
//!
//! Replace: `metadata.name`; `spec.namespace`; the pod template (`spec.image`, `spec.command`,
//! `spec.args`, `spec.env.variables`, `spec.env.secrets` entries added, removed or switched
//! between a value and a secretRef, `spec.resources`, `spec.volumeMounts`, `spec.restartPolicy`,
//! `dockerConfigJson` added or removed); `spec.completionMode`; `spec.completions`, except the
//! elastic Indexed case (Indexed, with the new parallelism equal to the new completions).
//!
//! In place: everything else: `spec.parallelism`, `spec.activeDeadlineSeconds`,
//! `spec.ttlSecondsAfterFinished`, `spec.suspend`, `spec.backoffLimit`, `metadata` labels and the
//! rest of `metadata`, `spec.configMaps` (contents, added, removed), direct secret values, the
//! registry credentials' contents, `spec.createNamespace`, `spec.targetCluster`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::core::path::{PropertyPath, Segment};

/// What happened to one property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// Present only in the new inputs.
    Add,
    /// Present only in the old inputs.
    Delete,
    /// Present in both, with different values (or the new value is not known yet).
    Update,
}

/// One changed property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The property.
    pub path: PropertyPath,
    /// What happened.
    pub kind: ChangeKind,
    /// Whether the live Job must be replaced for this change to take effect.
    pub replace: bool,
}

/// The outcome of a diff.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// Every changed property, in path order.
    pub changes: Vec<Change>,
}

impl Diff {
    /// Whether anything changed.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Whether any change forces a replacement.
    pub fn replaces(&self) -> bool {
        self.changes.iter().any(|c| c.replace)
    }

    /// The changed top-level properties, each once.
    pub fn top_level(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .changes
            .iter()
            .filter_map(|c| c.path.top().map(str::to_owned))
            .collect();
        keys.dedup();
        keys.sort();
        keys.dedup();
        keys
    }

    /// The top-level properties whose changes force a replacement.
    pub fn replace_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .changes
            .iter()
            .filter(|c| c.replace)
            .filter_map(|c| c.path.top().map(str::to_owned))
            .collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

/// Flattens a JSON document to its leaves: scalars, empty objects and empty lists. `unknown`
/// marks placeholder values, which are leaves too.
fn flatten(
    value: &Value,
    at: PropertyPath,
    out: &mut BTreeMap<PropertyPath, Value>,
    unknown: &dyn Fn(&Value) -> bool,
) {
    match value {
        Value::Object(map) if !map.is_empty() && !unknown(value) => {
            for (k, v) in map {
                let next = if at.0.len() >= 2 && is_map_position(&at) {
                    at.key(k)
                } else {
                    at.field(k)
                };
                flatten(v, next, out, unknown);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                flatten(v, at.index(i), out, unknown);
            }
        }
        Value::Null => {}
        leaf => {
            out.insert(at, leaf.clone());
        }
    }
}

/// Map-typed inputs, whose keys are user data (rendered as keys, not fields).
const MAP_PATTERNS: [&str; 7] = [
    "metadata.labels",
    "metadata.annotations",
    "spec.labels",
    "spec.annotations",
    "spec.configMaps",
    "spec.env.variables",
    "spec.env.secrets",
];

fn is_map_position(at: &PropertyPath) -> bool {
    let pattern = at.pattern();
    MAP_PATTERNS.contains(&pattern.as_str())
}

/// Diffs old and new checked KubernetesJob inputs; paths in `ignore` (and below them) are left
/// out.
pub fn diff(
    old: &Value,
    new: &Value,
    ignore: &[PropertyPath],
    unknown: &dyn Fn(&Value) -> bool,
) -> Diff {
    diff_with(&REPLACE_RULES, old, new, ignore, unknown)
}

/// Diffs old and new checked inputs under a kind's replace `rules`; paths in `ignore` (and below
/// them) are left out.
///
/// Walks both documents together and skips equal subtrees (unless they hold an unknown
/// placeholder, which is always a change); where the shapes differ, or at leaves, it compares
/// the two subtrees' flattened leaves. The changes are those of comparing the whole documents'
/// leaves, in path order.
pub fn diff_with(
    rules: &[ReplaceRule],
    old: &Value,
    new: &Value,
    ignore: &[PropertyPath],
    unknown: &dyn Fn(&Value) -> bool,
) -> Diff {
    let mut changes = Vec::new();
    let context = Walk {
        rules,
        doc: new,
        ignore,
        unknown,
    };
    context.walk(Some(old), Some(new), &PropertyPath::root(), &mut changes);
    Diff { changes }
}

/// Paths whose values are Kubernetes quantities: `1000m` and `1` are the same CPU, and the API
/// server returns its own canonical spelling.
const QUANTITY_PATTERNS: [&str; 5] = [
    "spec.resources.limits.cpu",
    "spec.resources.limits.memory",
    "spec.resources.requests.cpu",
    "spec.resources.requests.memory",
    "spec.volumeMounts.*.emptyDir.sizeLimit",
];

/// Whether two different spellings mean the same value at `path`.
pub fn equivalent(path: &PropertyPath, a: &Value, b: &Value) -> bool {
    if !QUANTITY_PATTERNS.contains(&path.pattern().as_str()) {
        return false;
    }
    match (
        a.as_str().map(crate::core::names::quantity),
        b.as_str().map(crate::core::names::quantity),
    ) {
        (Some(Ok(x)), Some(Ok(y))) => (x - y).abs() <= f64::EPSILON * x.abs().max(y.abs()).max(1.0),
        _ => false,
    }
}

fn field_of<'a>(doc: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(doc, |v, k| v.get(k))
}

/// When a change under a [`ReplaceRule`]'s path replaces the live Job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Every change.
    Always,
    /// Every change but a direct value's content updated in place (`spec.env.secrets`: a
    /// changed value only rewrites the Secret; adding, removing or switching an entry between a
    /// value and a secretRef changes the pod template).
    UnlessValueUpdated,
    /// Adding or removing it; an updated content only rewrites its Secret.
    UnlessUpdated,
    /// Every change but the elastic Indexed case: Indexed completion mode with the new
    /// parallelism equal to the new completions.
    UnlessElasticIndexed,
}

/// One replace rule: a change at or under `path` (a [`PropertyPath::pattern`]) replaces the
/// Job `when` it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplaceRule {
    /// The input path the rule covers, with everything under it.
    pub path: &'static str,
    /// Which changes replace.
    pub when: When,
}

impl When {
    /// How README's replacement table says it.
    pub fn describe(self) -> &'static str {
        match self {
            When::Always => "always",
            When::UnlessValueUpdated => {
                "unless only a direct value changed (that rewrites the Secret in place)"
            }
            When::UnlessUpdated => {
                "when added or removed (new contents rewrite its Secret in place)"
            }
            When::UnlessElasticIndexed => {
                "unless elastic Indexed: Indexed with parallelism equal to completions"
            }
        }
    }
}

impl ReplaceRule {
    /// Whether the schema marks the field `willReplaceOnChanges`: its changes replace in all
    /// but corner cases the schema cannot express.
    pub fn marks_schema(&self) -> bool {
        matches!(self.when, When::Always | When::UnlessElasticIndexed)
    }
}

/// The KubernetesJob's replace rules, the one table that the diff, the Pulumi schema's
/// `willReplaceOnChanges` marks and README's replacement table follow (tests tie each to it).
/// Every other change updates the Job in place.
pub const REPLACE_RULES: [ReplaceRule; 13] = [
    rule("metadata.name", When::Always),
    rule("spec.namespace", When::Always),
    rule("spec.image", When::Always),
    rule("spec.command", When::Always),
    rule("spec.args", When::Always),
    rule("spec.env.variables", When::Always),
    rule("spec.env.secrets", When::UnlessValueUpdated),
    rule("spec.resources", When::Always),
    rule("spec.volumeMounts", When::Always),
    rule("spec.restartPolicy", When::Always),
    rule("dockerConfigJson", When::UnlessUpdated),
    rule("spec.completionMode", When::Always),
    rule("spec.completions", When::UnlessElasticIndexed),
];

/// The KubernetesNamespace's replace rules: its name and its owner's name are its identity (a
/// new name is a new Namespace). Everything else (labels, annotations, quotas, limits, policies,
/// mesh, pod security) updates the objects in place, creating or pruning the ResourceQuota,
/// LimitRange and NetworkPolicies the spec adds or drops.
pub const NAMESPACE_REPLACE_RULES: [ReplaceRule; 2] = [
    rule("metadata.name", When::Always),
    rule("spec.name", When::Always),
];

/// The replace rules of the kind named `kind` (a manifest's `kind`, as the state store records
/// it): [`NAMESPACE_REPLACE_RULES`] for a KubernetesNamespace, else [`REPLACE_RULES`].
pub fn rules_for(kind: &str) -> &'static [ReplaceRule] {
    if kind == "KubernetesNamespace" {
        &NAMESPACE_REPLACE_RULES
    } else {
        &REPLACE_RULES
    }
}

const fn rule(path: &'static str, when: When) -> ReplaceRule {
    ReplaceRule { path, when }
}

/// Whether a change at `path` replaces the live Job, per [`REPLACE_RULES`]; `new` is the whole
/// new inputs document (the elastic Indexed case reads its spec).
pub fn forces_replace(
    path: &PropertyPath,
    kind: ChangeKind,
    new: &Value,
    unknown: &dyn Fn(&Value) -> bool,
) -> bool {
    replaces_under(&REPLACE_RULES, path, kind, new, unknown)
}

/// Whether a change at `path` replaces the resource, per `rules`.
fn replaces_under(
    rules: &[ReplaceRule],
    path: &PropertyPath,
    kind: ChangeKind,
    new: &Value,
    unknown: &dyn Fn(&Value) -> bool,
) -> bool {
    let pattern = path.pattern();
    let Some(rule) = rules.iter().find(|r| {
        pattern == r.path
            || pattern
                .strip_prefix(r.path)
                .is_some_and(|rest| rest.starts_with('.'))
    }) else {
        return false;
    };
    match rule.when {
        When::Always => true,
        When::UnlessValueUpdated => {
            let content_only = kind == ChangeKind::Update
                && matches!(path.0.last(), Some(Segment::Field(f)) if f == "value");
            !content_only
        }
        When::UnlessUpdated => kind != ChangeKind::Update,
        When::UnlessElasticIndexed => {
            let spec = new.get("spec");
            let get = |f: &str| spec.and_then(|s| field_of(s, f));
            let known = |v: Option<&Value>| v.filter(|v| !unknown(v)).cloned();
            let indexed = get("completionMode").and_then(Value::as_str) == Some("Indexed");
            let elastic = indexed
                && known(get("parallelism")).is_some()
                && known(get("parallelism")) == known(get("completions"));
            !elastic
        }
    }
}

/// Parses a Pulumi property path (`spec.env.variables["A.B"]`, `spec.command[0]`).
pub fn parse_property_path(text: &str) -> PropertyPath {
    let mut segments = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            rest = after;
            continue;
        }
        if let Some(after) = rest.strip_prefix("[\"") {
            let end = after.find("\"]").unwrap_or(after.len());
            segments.push(Segment::Key(after[..end].to_owned()));
            rest = after.get(end + 2..).unwrap_or("");
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').unwrap_or(after.len());
            match after[..end].parse() {
                Ok(i) => segments.push(Segment::Index(i)),
                Err(_) => segments.push(Segment::Key(after[..end].to_owned())),
            }
            rest = after.get(end + 1..).unwrap_or("");
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            segments.push(Segment::Field(rest[..end].to_owned()));
            rest = &rest[end..];
        }
    }
    // Map keys written with dots are fields to the parser; normalise by position.
    let mut path = PropertyPath::root();
    for segment in segments {
        path = match segment {
            Segment::Field(f) if path.0.len() >= 2 && is_map_position(&path) => path.key(&f),
            Segment::Field(f) => path.field(&f),
            Segment::Key(k) => path.key(&k),
            Segment::Index(i) => path.index(i),
        };
    }
    path
}

mod walk;
use walk::Walk;

#[cfg(test)]
mod equivalence;

#[cfg(test)]
mod tests {
    #[test]
    fn the_readme_lists_every_replace_rule() {
        let readme = include_str!("../../README.md");
        let start = readme
            .find("<!-- replace-rules")
            .expect("README marks the table");
        let end = readme
            .find("<!-- /replace-rules -->")
            .expect("README closes the table");
        let rows: Vec<(String, String)> = readme[start..end]
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| {
                let cells: Vec<&str> = l.trim_matches('|').split('|').map(str::trim).collect();
                (cells[0].trim_matches('`').to_owned(), cells[1].to_owned())
            })
            .collect();
        let rules: Vec<(String, String)> = REPLACE_RULES
            .iter()
            .map(|r| (r.path.to_owned(), r.when.describe().to_owned()))
            .collect();
        assert_eq!(rows, rules);
    }

    use super::*;
    use serde_json::json;

    fn never(_: &Value) -> bool {
        false
    }

    fn base() -> Value {
        json!({
            "metadata": {"name": "j", "labels": {"team": "a"}},
            "spec": {
                "namespace": {"value": "ns"}, "image": {"repo": "busybox", "tag": "1"},
                "parallelism": 1, "completions": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
                "restartPolicy": "Never", "suspend": false, "command": ["sh"],
                "env": {"variables": {"A": {"value": "1"}}, "secrets": {"S": {"value": "x"}}},
                "configMaps": {"app.conf": "a=1"}
            }
        })
    }

    fn changed(edit: impl FnOnce(&mut Value)) -> Diff {
        let mut new = base();
        edit(&mut new);
        diff(&base(), &new, &[], &never)
    }

    #[test]
    fn no_change_is_empty() {
        assert!(diff(&base(), &base(), &[], &never).is_empty());
    }

    #[test]
    fn mutable_fields_update_in_place() {
        for edit in [
            (|v: &mut Value| v["spec"]["parallelism"] = json!(3)) as fn(&mut Value),
            |v| v["spec"]["backoffLimit"] = json!(2),
            |v| v["spec"]["suspend"] = json!(true),
            |v| v["spec"]["activeDeadlineSeconds"] = json!(60),
            |v| v["spec"]["ttlSecondsAfterFinished"] = json!(60),
            |v| v["metadata"]["labels"]["team"] = json!("b"),
            |v| v["spec"]["configMaps"]["app.conf"] = json!("a=2"),
            |v| v["spec"]["env"]["secrets"]["S"]["value"] = json!("y"),
        ] {
            let d = changed(edit);
            assert!(!d.is_empty());
            assert!(!d.replaces(), "{d:?}");
        }
    }

    #[test]
    fn immutable_fields_replace() {
        for edit in [
            (|v: &mut Value| v["spec"]["image"]["tag"] = json!("2")) as fn(&mut Value),
            |v| v["spec"]["command"] = json!(["bash"]),
            |v| v["spec"]["env"]["variables"]["A"]["value"] = json!("2"),
            |v| v["spec"]["env"]["secrets"]["T"] = json!({"value": "z"}),
            |v| v["spec"]["restartPolicy"] = json!("OnFailure"),
            |v| v["spec"]["completionMode"] = json!("Indexed"),
            |v| v["spec"]["completions"] = json!(4),
            |v| v["spec"]["namespace"]["value"] = json!("other"),
            |v| v["metadata"]["name"] = json!("k"),
            |v| v["spec"]["resources"] = json!({"limits": {"cpu": "2"}}),
        ] {
            let d = changed(edit);
            assert!(d.replaces(), "{d:?}");
            assert_eq!(d.replace_keys().len(), 1);
        }
    }

    #[test]
    fn equal_quantities_are_no_change() {
        let mut old = base();
        old["spec"]["resources"] = json!({"limits": {"cpu": "1000m", "memory": "1Gi"}});
        let mut new = old.clone();
        new["spec"]["resources"] = json!({"limits": {"cpu": "1", "memory": "1024Mi"}});
        assert!(diff(&old, &new, &[], &never).is_empty());
        new["spec"]["resources"]["limits"]["cpu"] = json!("2");
        assert!(diff(&old, &new, &[], &never).replaces());
    }

    #[test]
    fn elastic_indexed_completions_update_in_place() {
        let mut old = base();
        old["spec"]["completionMode"] = json!("Indexed");
        let mut new = old.clone();
        new["spec"]["completions"] = json!(4);
        new["spec"]["parallelism"] = json!(4);
        assert!(!diff(&old, &new, &[], &never).replaces());
    }

    #[test]
    fn unknowns_count_as_changes_and_replace_where_forced() {
        let unknown = |v: &Value| v == "??";
        let mut new = base();
        new["spec"]["image"]["tag"] = json!("??");
        let d = diff(&base(), &new, &[], &unknown);
        assert!(d.replaces());
        let mut new = base();
        new["spec"]["parallelism"] = json!("??");
        let d = diff(&base(), &new, &[], &unknown);
        assert!(!d.is_empty() && !d.replaces());
    }

    #[test]
    fn map_keys_with_dots_are_keys_and_ignore_changes_applies() {
        let d = changed(|v| v["spec"]["configMaps"]["app.conf"] = json!("b"));
        assert_eq!(
            d.changes[0].path.to_string(),
            "spec.configMaps[\"app.conf\"]"
        );
        let mut new = base();
        new["spec"]["image"]["tag"] = json!("2");
        let d = diff(&base(), &new, &[parse_property_path("spec.image")], &never);
        assert!(d.is_empty());
        assert_eq!(
            parse_property_path("spec.configMaps[\"app.conf\"]"),
            d_path()
        );
    }

    fn d_path() -> PropertyPath {
        PropertyPath::root()
            .field("spec")
            .field("configMaps")
            .key("app.conf")
    }
}
