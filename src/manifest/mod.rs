//! Manifest files: reading (`-` is standard input), splitting into YAML documents, and the
//! envelope checks every document must pass before its kind's pipeline sees it. Pure except
//! for [`read`] and [`load`].
//!
//! Parsing is strict and keeps positions: YAML syntax errors and duplicate keys are reported at
//! their line and column by the parser, and every later failure (unknown field, wrong type, bad
//! enum, validation, unresolved reference) is reported at the line and column of the node its
//! [`PropertyPath`] names, e.g. `job.yaml:12:7: spec.restartPolicy: must be one of: OnFailure,
//! Never; got "Always"`. Keys may be written in camelCase or snake_case; paths are matched
//! either way.
//!
//! Envelope rules: `apiVersion` must be `kubernetes.project-planton.org/v1`; `kind` is matched
//! ignoring case, dashes and underscores (`kubernetes-job`, `KUBERNETES_JOB` mean
//! `KubernetesJob`) and is rewritten to its canonical spelling; `metadata` is required.

pub mod overrides;

use std::fmt;
use std::io::Read;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use serde_saphyr::Spanned;

use crate::core::objects::API_VERSION;
use crate::core::path::{Failure, PropertyPath, Segment};
use crate::core::refs::{ResourceKey, camel_case};

pub use crate::kinds::{Kind, normalize_kind};

/// A 1-based line and column in a manifest file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Position {
    /// Line, from 1.
    pub line: u64,
    /// Column, from 1.
    pub column: u64,
}

/// Where the value at a path came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A node of the file.
    File(Position),
    /// A `--set` override (its text as given).
    Set(String),
}

/// A message about a place in a manifest file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The file as the user named it (`<stdin>` for `-`).
    pub source: String,
    /// Where in it; `None` for the file as a whole.
    pub origin: Option<Origin>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Some(Origin::File(p)) => write!(
                f,
                "{}:{}:{}: {}",
                self.source, p.line, p.column, self.message
            ),
            Some(Origin::Set(text)) => {
                write!(f, "{}: --set {}: {}", self.source, text, self.message)
            }
            None => write!(f, "{}: {}", self.source, self.message),
        }
    }
}

/// Positions of a YAML node and its children.
#[derive(Debug, Clone, Default)]
struct Tree {
    /// The node itself (for a block mapping: its first key).
    at: Position,
    /// The key that holds it, when it is a mapping value.
    key_at: Option<Position>,
    children: Children,
}

#[derive(Debug, Clone, Default)]
enum Children {
    #[default]
    Scalar,
    Map(Vec<(String, Tree)>),
    Seq(Vec<Tree>),
}

impl Tree {
    /// Where to point for this node: a scalar at its value, a collection at its key.
    fn point(&self) -> Position {
        match self.children {
            Children::Scalar => self.at,
            _ => self.key_at.unwrap_or(self.at),
        }
    }

    fn child(&self, segment: &Segment) -> Option<&Tree> {
        match (&self.children, segment) {
            (Children::Map(entries), Segment::Field(name)) => entries
                .iter()
                .find(|(k, _)| k == name)
                .or_else(|| entries.iter().find(|(k, _)| camel_case(k) == *name))
                .map(|(_, t)| t),
            (Children::Map(entries), Segment::Key(key)) => {
                entries.iter().find(|(k, _)| k == key).map(|(_, t)| t)
            }
            (Children::Seq(items), Segment::Index(i)) => items.get(*i),
            _ => None,
        }
    }

    /// The position of the deepest node on `path` that exists.
    fn locate(&self, path: &PropertyPath) -> Position {
        let mut here = self;
        for segment in &path.0 {
            match here.child(segment) {
                Some(next) => here = next,
                None => break,
            }
        }
        here.point()
    }
}

/// One YAML document of a manifest file, past the envelope checks.
#[derive(Debug, Clone)]
pub struct Document {
    /// The file as the user named it (`<stdin>` for `-`).
    pub source: String,
    /// The document's number in the file, from 0 (empty documents are not counted).
    pub index: usize,
    /// The kind.
    pub kind: Kind,
    /// The document as JSON, `kind` in its canonical spelling.
    pub value: Value,
    tree: Tree,
    overrides: Vec<(PropertyPath, String)>,
}

impl Document {
    fn text_at(&self, pointer: &str) -> String {
        self.value
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }

    /// `metadata.name` (empty when absent).
    pub fn name(&self) -> String {
        self.text_at("/metadata/name")
    }

    /// `metadata.env` (empty when absent).
    pub fn env(&self) -> String {
        self.text_at("/metadata/env")
    }

    /// The resource this document describes.
    pub fn key(&self) -> ResourceKey {
        ResourceKey {
            kind: self.kind.as_str().to_owned(),
            env: self.env(),
            name: self.name(),
        }
    }

    /// Records that `--set text` wrote the value at `path`.
    pub fn record_override(&mut self, path: PropertyPath, text: &str) {
        self.overrides.push((path, text.to_owned()));
    }

    /// Where the value at `path` came from: the last `--set` that wrote it or a parent of it,
    /// else the nearest node of the file.
    pub fn origin(&self, path: &PropertyPath) -> Origin {
        if let Some((_, text)) = self
            .overrides
            .iter()
            .rev()
            .find(|(p, _)| path.starts_with(p))
        {
            return Origin::Set(text.clone());
        }
        Origin::File(self.tree.locate(path))
    }

    /// A failure of this document, located.
    pub fn locate(&self, failure: &Failure) -> Located {
        Located {
            source: self.source.clone(),
            origin: Some(self.origin(&failure.path)),
            message: failure.to_string(),
        }
    }

    /// A message about the document as a whole (at its first line).
    pub fn whole(&self, message: impl Into<String>) -> Located {
        Located {
            source: self.source.clone(),
            origin: Some(Origin::File(self.tree.at)),
            message: message.into(),
        }
    }

    /// `Kind "name"` (with env when set), for messages.
    pub fn title(&self) -> String {
        self.key().to_string()
    }
}

/// A YAML node with the positions of its children.
#[derive(Debug)]
enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NodeVisitor;
        impl<'de> Visitor<'de> for NodeVisitor {
            type Value = Node;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a YAML value")
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Null)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
                Node::deserialize(d)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
                Ok(Node::Uint(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Str(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Node, E> {
                Ok(Node::Str(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<Node>>()? {
                    items.push(item);
                }
                Ok(Node::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    let value = map.next_value::<Spanned<Node>>()?;
                    entries.push((key, value));
                }
                Ok(Node::Map(entries))
            }
        }
        deserializer.deserialize_any(NodeVisitor)
    }
}

fn position(location: &serde_saphyr::Location) -> Position {
    Position {
        line: location.line(),
        column: location.column(),
    }
}

/// Converts a node to JSON and its position tree.
fn convert(node: Spanned<Node>, key_at: Option<Position>) -> (Value, Tree) {
    let at = position(&node.referenced);
    let mut tree = Tree {
        at,
        key_at,
        children: Children::Scalar,
    };
    let value = match node.value {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(b),
        Node::Int(i) => Value::from(i),
        Node::Uint(u) => Value::from(u),
        Node::Float(f) => {
            Number::from_f64(f).map_or_else(|| Value::String(f.to_string()), Value::Number)
        }
        Node::Str(s) => Value::String(s),
        Node::Seq(items) => {
            let mut values = Vec::with_capacity(items.len());
            let mut trees = Vec::with_capacity(items.len());
            for item in items {
                let (v, t) = convert(item, None);
                values.push(v);
                trees.push(t);
            }
            tree.children = Children::Seq(trees);
            Value::Array(values)
        }
        Node::Map(entries) => {
            let mut map = Map::new();
            let mut trees = Vec::with_capacity(entries.len());
            for (key, value) in entries {
                let (v, t) = convert(value, Some(position(&key.referenced)));
                map.insert(key.value.clone(), v);
                trees.push((key.value, t));
            }
            tree.children = Children::Map(trees);
            Value::Object(map)
        }
    };
    (value, tree)
}

/// Reads a manifest file, `-` meaning standard input; returns its display name and text.
pub fn read(path: &str) -> Result<(String, String), Located> {
    if path == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Located {
                source: "<stdin>".into(),
                origin: None,
                message: format!("cannot read standard input: {e}"),
            })?;
        return Ok(("<stdin>".into(), text));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Located {
        source: path.to_owned(),
        origin: None,
        message: format!("cannot read the manifest: {e}"),
    })?;
    Ok((path.to_owned(), text))
}

/// Reads and parses a manifest file (`-` = standard input).
pub fn load(path: &str) -> Result<Vec<Document>, Vec<Located>> {
    let (source, text) = read(path).map_err(|e| vec![e])?;
    parse(&source, &text)
}

/// Parses every YAML document of a file and checks its envelope. Empty documents are skipped;
/// a file with none is an error. All problems of all documents are returned together.
pub fn parse(source: &str, text: &str) -> Result<Vec<Document>, Vec<Located>> {
    let options = serde_saphyr::options! { with_snippet: false };
    let nodes: Vec<Spanned<Node>> = serde_saphyr::from_str_multiple_with_options(text, options)
        .map_err(|e| {
            let origin = e.location().map(|l| Origin::File(position(&l)));
            let message = syntax_message(&e.to_string());
            vec![Located {
                source: source.to_owned(),
                origin,
                message,
            }]
        })?;
    let mut documents = Vec::new();
    let mut errors = Vec::new();
    for (index, node) in nodes.into_iter().enumerate() {
        let (value, tree) = convert(node, None);
        match envelope(source, index, value, tree) {
            Ok(doc) => documents.push(doc),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if documents.is_empty() && errors.is_empty() {
        errors.push(Located {
            source: source.to_owned(),
            origin: None,
            message: "holds no manifest (the file is empty)".into(),
        });
    }
    if errors.is_empty() {
        Ok(documents)
    } else {
        Err(errors)
    }
}

/// The parser's message without its trailing " at line L, column C" (the position is printed
/// in front).
fn syntax_message(text: &str) -> String {
    let text = text.strip_prefix("error: ").unwrap_or(text);
    let text = match text.rfind(" at line ") {
        Some(i) if text[i..].contains(", column ") => &text[..i],
        _ => text,
    };
    let text = match text
        .strip_prefix("line ")
        .and_then(|rest| rest.find(": ").map(|i| &rest[i + 2..]))
    {
        Some(rest) if text.contains(" column ") => rest,
        _ => text,
    };
    format!("invalid YAML: {text}")
}

fn envelope(
    source: &str,
    index: usize,
    mut value: Value,
    tree: Tree,
) -> Result<Document, Vec<Located>> {
    let mut doc = Document {
        source: source.to_owned(),
        index,
        kind: Kind::KubernetesJob,
        value: Value::Null,
        tree,
        overrides: Vec::new(),
    };
    let mut errors = Vec::new();
    let at = |doc: &Document, field: &str| doc.origin(&PropertyPath::root().field(field));
    let Some(map) = value.as_object_mut() else {
        return Err(vec![doc.whole(
            "a manifest must be a mapping with apiVersion, kind, metadata and spec",
        )]);
    };
    match map.get("apiVersion").or_else(|| map.get("api_version")) {
        Some(Value::String(v)) if v == API_VERSION => {}
        Some(other) => errors.push(Located {
            source: source.to_owned(),
            origin: Some(at(&doc, "apiVersion")),
            message: format!("apiVersion: must be {API_VERSION:?}, got {other}"),
        }),
        None => errors.push(doc.whole(format!(
            "apiVersion: is required (it must be {API_VERSION:?})"
        ))),
    }
    let expected = Kind::ALL.map(Kind::as_str).join(", ");
    match map.get("kind") {
        Some(Value::String(k)) => match Kind::parse(k) {
            Some(kind) => {
                doc.kind = kind;
                map.insert("kind".into(), Value::String(kind.as_str().to_owned()));
            }
            None => errors.push(Located {
                source: source.to_owned(),
                origin: Some(at(&doc, "kind")),
                message: format!("kind: unknown kind {k:?}; expected one of: {expected} (case, dashes and underscores are ignored)"),
            }),
        },
        Some(other) => errors.push(Located {
            source: source.to_owned(),
            origin: Some(at(&doc, "kind")),
            message: format!("kind: expected a kind name (one of: {expected}), got {other}"),
        }),
        None => errors.push(doc.whole(format!("kind: is required (one of: {expected})"))),
    }
    match map.get("metadata") {
        Some(Value::Object(_)) => {}
        Some(Value::Null) | None => {
            errors.push(doc.whole("metadata: is required (at least metadata.name)"))
        }
        Some(_) => errors.push(Located {
            source: source.to_owned(),
            origin: Some(at(&doc, "metadata")),
            message: "metadata: expected a mapping (name, env, labels, ...)".into(),
        }),
    }
    doc.value = value;
    if errors.is_empty() {
        Ok(doc)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOB: &str = "\
apiVersion: kubernetes.project-planton.org/v1
kind: kubernetes-job
metadata:
  name: migrate
spec:
  namespace:
    value: batch
  image:
    repo: busybox
  restart_policy: Always
  env:
    variables:
      FOO:
        value: x
  command:
    - sh
    - -c
";

    #[test]
    fn kinds_match_ignoring_case_dashes_and_underscores() {
        for text in [
            "KubernetesJob",
            "kubernetes-job",
            "KUBERNETES_JOB",
            "kubernetesjob",
            "Kubernetes_Job",
        ] {
            assert_eq!(Kind::parse(text), Some(Kind::KubernetesJob), "{text}");
        }
        assert_eq!(
            Kind::parse("kubernetes-namespace"),
            Some(Kind::KubernetesNamespace)
        );
        assert_eq!(Kind::parse("KubernetesJobs"), None);
        assert_eq!(Kind::parse("CronJob"), None);
    }

    #[test]
    fn parses_documents_and_canonicalises_the_kind() {
        let text = format!(
            "{JOB}---\n---\napiVersion: {API_VERSION}\nkind: KUBERNETES_NAMESPACE\nmetadata: {{name: team}}\nspec: {{name: team}}\n"
        );
        let docs = parse("f.yaml", &text).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].kind, Kind::KubernetesJob);
        assert_eq!(docs[0].value["kind"], "KubernetesJob");
        assert_eq!(docs[0].name(), "migrate");
        assert_eq!(docs[1].kind, Kind::KubernetesNamespace);
        assert_eq!(docs[1].index, 1);
        assert_eq!(docs[1].key().to_string(), "KubernetesNamespace \"team\"");
    }

    #[test]
    fn locates_paths_in_either_case() {
        let docs = parse("job.yaml", JOB).unwrap();
        let at = |p: PropertyPath| match docs[0].origin(&p) {
            Origin::File(p) => (p.line, p.column),
            Origin::Set(_) => panic!(),
        };
        let spec = PropertyPath::root().field("spec");
        assert_eq!(at(spec.field("restartPolicy")), (10, 19));
        assert_eq!(at(spec.field("env").field("variables").key("FOO")), (13, 7));
        assert_eq!(
            at(spec
                .field("env")
                .field("variables")
                .key("FOO")
                .field("value")),
            (14, 16)
        );
        assert_eq!(at(spec.field("command").index(1)), (17, 7));
        // A missing leaf points at its nearest parent.
        assert_eq!(at(spec.field("image").field("tag")), (8, 3));
        let failure = Failure::new(
            spec.field("restartPolicy"),
            "must be one of: OnFailure, Never; got \"Always\"",
        );
        assert_eq!(
            docs[0].locate(&failure).to_string(),
            "job.yaml:10:19: spec.restartPolicy: must be one of: OnFailure, Never; got \"Always\""
        );
    }

    #[test]
    fn overridden_paths_point_at_the_override() {
        let mut docs = parse("job.yaml", JOB).unwrap();
        let path = PropertyPath::root().field("spec").field("parallelism");
        docs[0].record_override(path.clone(), "spec.parallelism=x");
        assert_eq!(
            docs[0].origin(&path),
            Origin::Set("spec.parallelism=x".into())
        );
        let f = docs[0].locate(&Failure::new(path, "bad"));
        assert_eq!(
            f.to_string(),
            "job.yaml: --set spec.parallelism=x: spec.parallelism: bad"
        );
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("bad.yaml", "a: 1\nb: [\n").unwrap_err();
        assert_eq!(err.len(), 1);
        assert!(
            matches!(
                err[0].origin,
                Some(Origin::File(Position { line: 2 | 3, .. }))
            ),
            "{err:?}"
        );
        assert!(err[0].to_string().starts_with("bad.yaml:"), "{}", err[0]);
        let err = parse("dup.yaml", "a: 1\na: 2\n").unwrap_err();
        assert_eq!(
            err[0].to_string(),
            "dup.yaml:2:1: invalid YAML: duplicate mapping key: a, set DuplicateKeyPolicy in Options if acceptable"
        );
    }

    #[test]
    fn envelope_errors() {
        let err = parse("e.yaml", "apiVersion: v1\nkind: Deployment\nspec: {}\n").unwrap_err();
        let text: Vec<String> = err.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 3, "{text:#?}");
        assert!(
            text[0].starts_with(
                "e.yaml:1:13: apiVersion: must be \"kubernetes.project-planton.org/v1\""
            ),
            "{}",
            text[0]
        );
        assert!(
            text[1].starts_with("e.yaml:2:7: kind: unknown kind \"Deployment\""),
            "{}",
            text[1]
        );
        assert!(
            text[2].starts_with("e.yaml:1:1: metadata: is required"),
            "{}",
            text[2]
        );
        assert!(
            parse("empty.yaml", "\n---\n").unwrap_err()[0]
                .message
                .contains("no manifest")
        );
        assert!(
            parse("s.yaml", "just a string\n").unwrap_err()[0]
                .message
                .contains("must be a mapping")
        );
    }

    #[test]
    fn scalars_keep_their_types() {
        let docs = parse("t.yaml", &format!("apiVersion: {API_VERSION}\nkind: KubernetesJob\nmetadata: {{name: a}}\nspec: {{parallelism: 3, suspend: true, tag: '3', x: 1.5, n: null}}\n")).unwrap();
        let spec = &docs[0].value["spec"];
        assert_eq!(spec["parallelism"], 3);
        assert_eq!(spec["suspend"], true);
        assert_eq!(spec["tag"], "3");
        assert_eq!(spec["x"], 1.5);
        assert!(spec["n"].is_null());
    }
}
