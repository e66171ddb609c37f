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
mod yaml;

use yaml::{Node, Tree, convert, position};

use std::fmt;
use std::io::Read;

use serde_json::Value;
use serde_saphyr::Spanned;

use crate::core::objects::API_VERSION;
use crate::core::path::{Failure, PropertyPath};
use crate::core::refs::ResourceKey;

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

/// Manifests this process already holds in memory, by name (see [`provide`]).
static PROVIDED: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

/// Makes `text` the manifest named `name` for the rest of the process: [`read`] returns it
/// instead of reading a file. The CLI's Planton inputs (a URL, a stack input's target, a
/// kustomize build, standard input read once) reach the pipeline this way, without writing
/// their text (which may hold secrets) to a file.
pub fn provide(name: &str, text: String) {
    let mut provided = PROVIDED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    provided.retain(|(n, _)| n != name);
    provided.push((name.to_owned(), text));
}

fn provided(name: &str) -> Option<String> {
    let provided = PROVIDED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    provided
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, text)| text.clone())
}

/// Reads a manifest file, `-` meaning standard input (or a manifest [`provide`]d under that
/// name); returns its display name and text.
pub fn read(path: &str) -> Result<(String, String), Located> {
    if let Some(text) = provided(path) {
        let shown = if path == "-" { "<stdin>" } else { path };
        return Ok((shown.to_owned(), text));
    }
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
    let options = serde_saphyr::options! { with_snippet: false, budget: Some(budget()) };
    let nodes: Vec<Spanned<Node>> = serde_saphyr::from_str_multiple_with_options(text, options)
        .map_err(|e| {
            let origin = e.location().map(|l| Origin::File(position(&l)));
            let message = match breach_of(&e) {
                Some(breach) => breach_message(breach),
                None => match syntax_message(&e.to_string()) {
                    // The parser's own nesting limit (flow collections) fired first.
                    m if m.contains("recursion limit exceeded") => {
                        breach_message(&serde_saphyr::budget::BudgetBreach::Depth { depth: 0 })
                    }
                    m => m,
                },
            };
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

/// The line and column of the node at `path` (the deepest node on it that exists) in a YAML
/// text that is not a manifest (a stack input), for its messages; `None` when the text does
/// not parse as one document.
pub fn position_of(text: &str, path: &PropertyPath) -> Option<Position> {
    let options = serde_saphyr::options! { with_snippet: false, budget: Some(budget()) };
    let node: Spanned<Node> = serde_saphyr::from_str_with_options(text, options).ok()?;
    Some(convert(node, None).1.locate(path))
}

/// Documents one manifest file may hold: room for 10,000 real documents and the empty ones
/// between them, still a bound on separator storms.
pub const MAX_DOCUMENTS: usize = 50_000;
/// YAML nodes (scalars, mappings, sequences) a file may produce, aliases expanded: about 200
/// per document at [`MAX_DOCUMENTS`] / 5, so a file of 10,000 full documents loads while an
/// alias bomb (a few lines expanding to billions of nodes) is refused long before it fills
/// memory.
pub const MAX_NODES: usize = 4_000_000;
/// Nesting depth of one node. The parser counts it on each opening event and stops before the
/// reader recurses into the next level, so deep nesting is an error, never a stack overflow.
pub const MAX_DEPTH: usize = 32;

/// The reader's limits: the parser's defaults, except the per-file counts that a file of many
/// documents needs ([`MAX_DOCUMENTS`], [`MAX_NODES`] and the events they imply). The alias guards
/// (absolute count, the alias/anchor ratio, a tighter bound on the events kept for replay) and the depth limit keep their defaults.
fn budget() -> serde_saphyr::Budget {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_documents = MAX_DOCUMENTS;
    budget.max_nodes = MAX_NODES;
    // Each node is at most two events (start and end); documents add two more each.
    budget.max_events = 2 * MAX_NODES + 2 * MAX_DOCUMENTS;
    budget.max_depth = MAX_DEPTH;
    // Events kept to replay anchors: a tenth of the parser's default is still hundreds of
    // anchored documents, and an alias bomb is refused ten times sooner.
    budget.max_recorded_anchor_events = 100_000;
    budget
}

/// The reader limit an error reports, through the wrappers that add alias locations or
/// snippets.
fn breach_of(error: &serde_saphyr::Error) -> Option<&serde_saphyr::budget::BudgetBreach> {
    match error {
        serde_saphyr::Error::Budget { breach, .. } => Some(breach),
        serde_saphyr::Error::AliasError { error, .. }
        | serde_saphyr::Error::WithSnippet { error, .. } => breach_of(error),
        _ => None,
    }
}

/// A clear sentence for a breached reader limit.
fn breach_message(breach: &serde_saphyr::budget::BudgetBreach) -> String {
    use serde_saphyr::budget::BudgetBreach as B;
    match breach {
        B::Depth { .. } => {
            format!("nesting is deeper than {MAX_DEPTH} levels; the file is refused")
        }
        B::Documents { .. } => {
            format!("holds more than {MAX_DOCUMENTS} YAML documents; split the file")
        }
        B::Nodes { .. } | B::Events { .. } => format!(
            "expands to more than {MAX_NODES} YAML nodes (aliases counted as expanded); the file is refused"
        ),
        B::Aliases { .. }
        | B::AliasAnchorRatio { .. }
        | B::Anchors { .. }
        | B::RecordedAnchorEvents { .. }
        | B::RecordedAnchorBytes { .. } => {
            "uses too many aliases (an alias bomb?); the file is refused".into()
        }
        other => format!("exceeds the reader's limits ({other:?}); the file is refused"),
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
            errors.push(doc.whole("metadata: is required (at least metadata.name)"));
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
mod tests;
