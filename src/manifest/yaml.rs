//! The YAML side of manifest files: a strict parse into JSON values that keeps the line and
//! column of every node ([`Tree`]), so that later failures point into the file.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use serde_saphyr::Spanned;

use super::Position;
use crate::core::path::{PropertyPath, Segment};
use crate::core::refs::camel_case;

/// Positions of a YAML node and its children.
#[derive(Debug, Clone, Default)]
pub(super) struct Tree {
    /// The node itself (for a block mapping: its first key).
    pub(super) at: Position,
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
    pub(super) fn locate(&self, path: &PropertyPath) -> Position {
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

/// A YAML node with the positions of its children.
#[derive(Debug)]
pub(super) enum Node {
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

pub(super) fn position(location: &serde_saphyr::Location) -> Position {
    Position {
        line: location.line(),
        column: location.column(),
    }
}

/// Converts a node to JSON and its position tree.
pub(super) fn convert(node: Spanned<Node>, key_at: Option<Position>) -> (Value, Tree) {
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
