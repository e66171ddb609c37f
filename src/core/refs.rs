//! Foreign-key references: every `StringValueOrRef` holding `valueFrom {kind, env, name,
//! fieldPath}` becomes a literal before rendering.
//!
//! The walk is generic over descriptors: any field of type `StringValueOrRef` (singular, list
//! item or map value) is resolved. An absent `kind` or `fieldPath` falls back to the field's
//! `(default_kind)` and `(default_kind_field_path)` options; an absent `env` to the referring
//! manifest's `metadata.env`. The referenced resource is found through [`Source`]s, in order
//! (the CLI passes the manifests of the same run, then its state store), and `fieldPath` walks
//! its manifest (`spec.*`, `metadata.*`) or its outputs (`status.outputs.*`), with path segments
//! in snake or camel case. Pure: sources are plain lookups.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use prost_reflect::{
    DynamicMessage, ExtensionDescriptor, FieldDescriptor, MessageDescriptor, ReflectMessage,
    Value as PValue,
};
use serde_json::Value;

use crate::api;
use crate::api::shared::cloudresourcekind::CloudResourceKind;
use crate::core::defaults::PerField;
use crate::core::path::{Failure, PropertyPath, Segment};

const STRING_VALUE_OR_REF: &str = "org.project_planton.shared.foreignkey.v1.StringValueOrRef";

struct Extensions {
    default_kind: ExtensionDescriptor,
    default_kind_field_path: ExtensionDescriptor,
}

static EXTENSIONS: LazyLock<Extensions> = LazyLock::new(|| {
    let ext = |name: &str| {
        api::pool()
            .get_extension_by_name(name)
            .unwrap_or_else(|| panic!("extension {name} is compiled into the pool"))
    };
    Extensions {
        default_kind: ext("org.project_planton.shared.foreignkey.v1.default_kind"),
        default_kind_field_path: ext(
            "org.project_planton.shared.foreignkey.v1.default_kind_field_path",
        ),
    }
});

/// Identifies a deployed (or about to be deployed) resource.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ResourceKey {
    /// Kind name, e.g. `KubernetesNamespace`.
    pub kind: String,
    /// Environment (`metadata.env`), possibly empty.
    pub env: String,
    /// `metadata.name`.
    pub name: String,
}

impl ResourceKey {
    /// The key of a KubernetesJob named `name` with no env (what unit tests deploy).
    #[cfg(test)]
    pub fn job(name: &str) -> Self {
        Self {
            kind: "KubernetesJob".into(),
            env: String::new(),
            name: name.into(),
        }
    }
}

impl fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.env.is_empty() {
            write!(f, "{} {:?}", self.kind, self.name)
        } else {
            write!(f, "{} {:?} in env {:?}", self.kind, self.name, self.env)
        }
    }
}

/// A reference with its defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Where the reference is written.
    pub at: PropertyPath,
    /// The resource it points at.
    pub target: ResourceKey,
    /// The dotted path inside that resource.
    pub field_path: String,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "valueFrom {{kind: {}, env: {:?}, name: {:?}, fieldPath: {:?}}}",
            self.target.kind, self.target.env, self.target.name, self.field_path
        )
    }
}

/// Somewhere to look resources up: a document is `{apiVersion, kind, metadata, spec, status:
/// {outputs}}` in JSON (camelCase) form.
pub trait Source {
    /// The resource's document, if this source knows it.
    fn find(&self, key: &ResourceKey) -> Option<Value>;
    /// Says where this source looks, for error messages ("this run", "state store at ...").
    fn describe(&self) -> String;
}

/// The kind name a reference's numeric kind stands for.
pub fn kind_name(kind: i32) -> Option<&'static str> {
    CloudResourceKind::try_from(kind)
        .ok()
        .filter(|k| *k as i32 != 0)
        .map(|k| k.as_str_name())
}

static KINDS: LazyLock<PerField<Option<i32>>> = LazyLock::new(|| PerField::new(read_kind));
static FIELD_PATHS: LazyLock<PerField<Option<String>>> =
    LazyLock::new(|| PerField::new(read_field_path));

/// The field's default kind option, read once per field ([`PerField`]).
fn option_kind(field: &FieldDescriptor) -> Option<i32> {
    KINDS.get(field, read_kind)
}

/// The field's default kind field path option, read once per field ([`PerField`]).
fn option_field_path(field: &FieldDescriptor) -> Option<String> {
    FIELD_PATHS.get(field, read_field_path)
}

fn read_kind(field: &FieldDescriptor) -> Option<i32> {
    let options = field.options();
    if !options.has_extension(&EXTENSIONS.default_kind) {
        return None;
    }
    options
        .get_extension(&EXTENSIONS.default_kind)
        .as_enum_number()
        .filter(|k| *k != 0)
}

fn read_field_path(field: &FieldDescriptor) -> Option<String> {
    let options = field.options();
    if !options.has_extension(&EXTENSIONS.default_kind_field_path) {
        return None;
    }
    options
        .get_extension(&EXTENSIONS.default_kind_field_path)
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Reads a `ValueFromRef` and fills its defaults; failures describe what is missing. `None`:
/// the reference names no kind and its field has no default kind (an `env.variables` entry
/// written `valueFrom: {name: x}`, which upstream's own tests accept): nothing names what it
/// points at, so it is left as written and the renderer leaves the variable out, as upstream's
/// module does. `None` too for a reference without a name, which validation reports.
fn reference(
    field: &FieldDescriptor,
    value_from: &DynamicMessage,
    at: &PropertyPath,
    referrer_env: &str,
) -> Result<Option<Reference>, Failure> {
    let get_str = |name: &str| {
        value_from
            .get_field_by_name(name)
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let from = at.field("valueFrom");
    let name = get_str("name");
    if name.is_empty() {
        // Not a reference to anything; the kind's validation reports the missing name.
        return Ok(None);
    }
    let kind_number = value_from
        .get_field_by_name("kind")
        .and_then(|v| v.as_enum_number())
        .filter(|k| *k != 0);
    let Some(kind_number) = kind_number.or_else(|| option_kind(field)) else {
        return Ok(None);
    };
    let kind = kind_name(kind_number).ok_or_else(|| {
        Failure::new(
            from.field("kind"),
            format!("unknown kind number {kind_number}"),
        )
    })?;
    let mut field_path = get_str("field_path");
    if field_path.is_empty() {
        field_path = option_field_path(field).ok_or_else(|| {
            Failure::new(
                from.field("fieldPath"),
                "is required: this field has no default field path",
            )
        })?;
    }
    let mut env = get_str("env");
    if env.is_empty() {
        env = referrer_env.to_owned();
    }
    Ok(Some(Reference {
        at: at.clone(),
        target: ResourceKey {
            kind: kind.to_owned(),
            env,
            name,
        },
        field_path,
    }))
}

fn is_value_or_ref(desc: &MessageDescriptor) -> bool {
    desc.full_name() == STRING_VALUE_OR_REF
}

/// Per message type, the fields a walk for references descends into (those that can lead to a
/// `StringValueOrRef`), each with whether it holds them itself; types that cannot lead to one
/// are absent and never walked.
static REF_FIELDS: LazyLock<HashMap<String, Vec<(FieldDescriptor, bool)>>> = LazyLock::new(|| {
    let leading = api::messages_leading_to(is_value_or_ref);
    api::pool()
        .all_messages()
        .filter_map(|message| {
            let fields: Vec<(FieldDescriptor, bool)> = message
                .fields()
                .filter_map(|field| {
                    let sub = api::field_message(&field)?;
                    leading
                        .contains(sub.full_name())
                        .then(|| (field, is_value_or_ref(&sub)))
                })
                .collect();
            (!fields.is_empty()).then(|| (message.full_name().to_owned(), fields))
        })
        .collect()
});

/// The callback [`visit`] calls with each `StringValueOrRef`, its field and its path.
type Visitor<'a> = dyn FnMut(&FieldDescriptor, &mut DynamicMessage, &PropertyPath) + 'a;

/// Visits every `StringValueOrRef` below `message` that holds a `valueFrom`; `at` is the
/// message's path, extended and restored on the way down.
fn visit(message: &mut DynamicMessage, at: &mut PropertyPath, f: &mut Visitor<'_>) {
    let Some(fields) = REF_FIELDS.get(message.descriptor().full_name()) else {
        return;
    };
    for (field, holds) in fields {
        if !message.has_field(field) {
            continue;
        }
        at.0.push(Segment::Field(field.json_name().to_owned()));
        match message.get_field_mut(field) {
            PValue::Message(sub) => visit_one(field, *holds, sub, at, f),
            PValue::List(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    if let PValue::Message(sub) = item {
                        at.0.push(Segment::Index(i));
                        visit_one(field, *holds, sub, at, f);
                        at.0.pop();
                    }
                }
            }
            PValue::Map(map) => {
                let mut entries: Vec<_> = map.iter_mut().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                for (key, item) in entries {
                    if let PValue::Message(sub) = item {
                        at.0.push(Segment::Key(crate::core::codec::map_key_string(key)));
                        visit_one(field, *holds, sub, at, f);
                        at.0.pop();
                    }
                }
            }
            _ => {}
        }
        at.0.pop();
    }
}

/// A `StringValueOrRef` goes to the callback; any other message is walked.
fn visit_one(
    field: &FieldDescriptor,
    holds: bool,
    sub: &mut DynamicMessage,
    at: &mut PropertyPath,
    f: &mut Visitor<'_>,
) {
    if holds {
        f(field, sub, at);
    } else {
        visit(sub, at, f);
    }
}

fn value_from_of(value_or_ref: &DynamicMessage) -> Option<DynamicMessage> {
    let field = value_or_ref.descriptor().get_field_by_name("value_from")?;
    if !value_or_ref.has_field(&field) {
        return None;
    }
    value_or_ref.get_field(&field).as_message().cloned()
}

/// Every reference below `message`, with defaults filled; malformed ones as failures.
pub fn references(
    message: &DynamicMessage,
    root: &PropertyPath,
    referrer_env: &str,
) -> (Vec<Reference>, Vec<Failure>) {
    let mut copy = message.clone();
    let mut refs = Vec::new();
    let mut failures = Vec::new();
    visit(
        &mut copy,
        &mut root.clone(),
        &mut |field, value_or_ref, at| {
            if let Some(value_from) = value_from_of(value_or_ref) {
                match reference(field, &value_from, at, referrer_env) {
                    Ok(Some(r)) => refs.push(r),
                    Ok(None) => {}
                    Err(f) => failures.push(f),
                }
            }
        },
    );
    (refs, failures)
}

/// Resolves every reference below `message` in place; what cannot be resolved stays a
/// reference and is reported.
pub fn resolve(
    message: &mut DynamicMessage,
    root: &PropertyPath,
    referrer_env: &str,
    sources: &[&dyn Source],
) -> Vec<Failure> {
    let mut failures = Vec::new();
    visit(
        message,
        &mut root.clone(),
        &mut |field, value_or_ref, at| {
            let Some(value_from) = value_from_of(value_or_ref) else {
                return;
            };
            let reference = match reference(field, &value_from, at, referrer_env) {
                Ok(Some(r)) => r,
                Ok(None) => return,
                Err(f) => return failures.push(f),
            };
            match lookup(&reference, sources) {
                Ok(text) => value_or_ref.set_field_by_name("value", PValue::String(text)),
                Err(reason) => failures.push(Failure::new(at.clone(), reason)),
            }
        },
    );
    failures
}

/// Finds the value a reference points at.
pub fn lookup(reference: &Reference, sources: &[&dyn Source]) -> Result<String, String> {
    for source in sources {
        if let Some(document) = source.find(&reference.target) {
            return walk(&document, &reference.field_path).map_err(|why| {
                format!(
                    "cannot resolve {reference}: {} (found in {}) {why}",
                    reference.target,
                    source.describe()
                )
            });
        }
    }
    let looked: Vec<String> = sources.iter().map(|s| s.describe()).collect();
    Err(format!(
        "cannot resolve {reference}: no {} in {}",
        reference.target,
        if looked.is_empty() {
            "any source".to_owned()
        } else {
            looked.join(" or ")
        }
    ))
}

/// camelCase of a snake_case segment.
pub fn camel_case(segment: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in segment.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// snake_case of a camelCase segment.
pub fn snake_case(segment: &str) -> String {
    let mut out = String::new();
    for c in segment.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Walks a dotted path through a document and returns the scalar found there as text.
pub fn walk(document: &Value, field_path: &str) -> Result<String, String> {
    let mut here = document;
    let mut walked = Vec::new();
    for segment in field_path.split('.') {
        let next = match here {
            Value::Object(map) => map
                .get(segment)
                .or_else(|| map.get(&camel_case(segment)))
                .or_else(|| map.get(&snake_case(segment))),
            _ => None,
        };
        here = match next {
            Some(v) => v,
            None => {
                let have: Vec<&str> = here
                    .as_object()
                    .map(|m| m.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                let at = if walked.is_empty() {
                    "the resource".to_owned()
                } else {
                    walked.join(".")
                };
                return Err(format!(
                    "has no field {field_path:?}: {at} has no {segment:?}{}",
                    if have.is_empty() {
                        String::new()
                    } else {
                        format!(" (it has: {})", have.join(", "))
                    }
                ));
            }
        };
        walked.push(segment);
    }
    // A StringValueOrRef that is itself a literal resolves to its value.
    if let Some(inner) = here
        .as_object()
        .and_then(|m| m.get("value"))
        .filter(|v| !v.is_object())
    {
        here = inner;
    }
    match here {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Err(format!("has {field_path:?} but it is null")),
        _ => Err(format!("has {field_path:?} but it is not a single value")),
    }
}

/// A fixed list of documents: the manifests of one run, or test fixtures.
#[derive(Debug, Clone, Default)]
pub struct Documents {
    /// Where these documents come from, for messages.
    pub label: String,
    /// The documents and their keys.
    pub entries: Vec<(ResourceKey, Value)>,
}

impl Source for Documents {
    fn find(&self, key: &ResourceKey) -> Option<Value> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    fn describe(&self) -> String {
        self.label.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::codec;
    use serde_json::json;

    fn job_message(spec: Value) -> DynamicMessage {
        let d = codec::decode(
            &api::message(api::KUBERNETES_JOB),
            &json!({"metadata": {"name": "j", "env": "dev"}, "spec": spec}),
            &PropertyPath::root(),
            None,
        );
        assert!(d.failures.is_empty(), "{:?}", d.failures);
        d.message
    }

    fn run_docs() -> Documents {
        Documents {
            label: "this run".into(),
            entries: vec![
                (
                    ResourceKey {
                        kind: "KubernetesNamespace".into(),
                        env: "dev".into(),
                        name: "team".into(),
                    },
                    json!({"spec": {"name": "team-ns"}, "status": {"outputs": {"namespace": "team-ns"}}}),
                ),
                (
                    ResourceKey {
                        kind: "KubernetesPostgres".into(),
                        env: "prod".into(),
                        name: "db".into(),
                    },
                    json!({"status": {"outputs": {"internalHostname": "db.prod.svc", "port": 5432}}}),
                ),
            ],
        }
    }

    #[test]
    fn resolves_defaults_from_field_options() {
        let mut m = job_message(json!({"namespace": {"valueFrom": {"name": "team"}}}));
        let failures = resolve(&mut m, &PropertyPath::root(), "dev", &[&run_docs()]);
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!(
            codec::encode(&m)["spec"]["namespace"],
            json!({"value": "team-ns"})
        );
    }

    #[test]
    fn resolves_map_entries_with_snake_case_paths() {
        let mut m = job_message(json!({"env": {"variables": {
            "DB_HOST": {"valueFrom": {"kind": "KubernetesPostgres", "env": "prod", "name": "db", "fieldPath": "status.outputs.internal_hostname"}},
            "DB_PORT": {"valueFrom": {"kind": "KubernetesPostgres", "env": "prod", "name": "db", "fieldPath": "status.outputs.port"}},
            "PLAIN": {"value": "x"}
        }}}));
        let failures = resolve(&mut m, &PropertyPath::root(), "dev", &[&run_docs()]);
        assert!(failures.is_empty(), "{failures:?}");
        let vars = &codec::encode(&m)["spec"]["env"]["variables"];
        assert_eq!(vars["DB_HOST"], json!({"value": "db.prod.svc"}));
        assert_eq!(vars["DB_PORT"], json!({"value": "5432"}));
        assert_eq!(vars["PLAIN"], json!({"value": "x"}));
    }

    #[test]
    fn unresolvable_references_name_the_field_and_the_target() {
        let mut m = job_message(json!({
            "namespace": {"valueFrom": {"name": "missing"}},
            "env": {"variables": {
                "A": {"valueFrom": {"kind": "KubernetesPostgres", "env": "prod", "name": "db", "fieldPath": "status.outputs.nope"}},
                "B": {"valueFrom": {"name": "x"}}
            }}
        }));
        let failures = resolve(&mut m, &PropertyPath::root(), "dev", &[&run_docs()]);
        let text: Vec<String> = failures.iter().map(ToString::to_string).collect();
        assert_eq!(failures.len(), 2, "{text:#?}");
        assert!(text[0].starts_with("spec.namespace: cannot resolve valueFrom {kind: KubernetesNamespace, env: \"dev\", name: \"missing\", fieldPath: \"spec.name\"}: no KubernetesNamespace \"missing\" in env \"dev\" in this run"), "{}", text[0]);
        assert!(
            text[1].contains("spec.env.variables.A")
                && text[1].contains("has no \"nope\" (it has: internalHostname, port)"),
            "{}",
            text[1]
        );
        // B names no kind and the field has none: left as written (upstream's spec_test case
        // "valueFrom with only a name" is valid), nothing to report.
        let doc = codec::encode(&m);
        assert_eq!(
            doc["spec"]["env"]["variables"]["B"],
            json!({"valueFrom": {"name": "x"}})
        );
    }
}
