//! The walk behind [`super::diff_with`]: both documents together, equal subtrees skipped.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{
    Change, ChangeKind, ReplaceRule, equivalent, flatten, is_map_position, replaces_under,
};
use crate::core::path::PropertyPath;

/// What every step of a diff's walk needs.
pub(super) struct Walk<'a> {
    /// The kind's replace rules.
    pub(super) rules: &'a [ReplaceRule],
    /// The whole new document (the replace rules read it).
    pub(super) doc: &'a Value,
    pub(super) ignore: &'a [PropertyPath],
    pub(super) unknown: &'a dyn Fn(&Value) -> bool,
}

impl Walk<'_> {
    /// Whether `value` is or holds an unknown placeholder.
    fn holds_unknown(&self, value: &Value) -> bool {
        (self.unknown)(value)
            || match value {
                Value::Object(map) => map.values().any(|v| self.holds_unknown(v)),
                Value::Array(items) => items.iter().any(|v| self.holds_unknown(v)),
                _ => false,
            }
    }

    /// A non-empty object that is not a placeholder: walked into, not a leaf.
    fn branch<'v>(&self, value: Option<&'v Value>) -> Option<&'v serde_json::Map<String, Value>> {
        match value {
            Some(v @ Value::Object(map)) if !map.is_empty() && !(self.unknown)(v) => Some(map),
            _ => None,
        }
    }

    pub(super) fn walk(
        &self,
        old: Option<&Value>,
        new: Option<&Value>,
        at: &PropertyPath,
        out: &mut Vec<Change>,
    ) {
        if let (Some(a), Some(b)) = (old, new)
            && a == b
            && !self.holds_unknown(b)
        {
            return;
        }
        if let (Some(a), Some(b)) = (self.branch(old), self.branch(new)) {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            let map = at.0.len() >= 2 && is_map_position(at);
            for k in keys {
                let next = if map { at.key(k) } else { at.field(k) };
                self.walk(a.get(k), b.get(k), &next, out);
            }
            return;
        }
        if let (Some(Value::Array(a)), Some(Value::Array(b))) = (old, new)
            && !a.is_empty()
            && !b.is_empty()
        {
            for i in 0..a.len().max(b.len()) {
                self.walk(a.get(i), b.get(i), &at.index(i), out);
            }
            return;
        }
        let mut olds = BTreeMap::new();
        let mut news = BTreeMap::new();
        if let Some(a) = old {
            flatten(a, at.clone(), &mut olds, self.unknown);
        }
        if let Some(b) = new {
            flatten(b, at.clone(), &mut news, self.unknown);
        }
        let mut paths: Vec<&PropertyPath> = olds.keys().chain(news.keys()).collect();
        paths.sort();
        paths.dedup();
        for path in paths {
            if self.ignore.iter().any(|i| path.starts_with(i)) {
                continue;
            }
            let kind = match (olds.get(path), news.get(path)) {
                (None, Some(_)) => ChangeKind::Add,
                (Some(_), None) => ChangeKind::Delete,
                (Some(a), Some(b)) if (self.unknown)(b) || (a != b && !equivalent(path, a, b)) => {
                    ChangeKind::Update
                }
                _ => continue,
            };
            let replace = replaces_under(self.rules, path, kind, self.doc, self.unknown);
            out.push(Change {
                path: path.clone(),
                kind,
                replace,
            });
        }
    }
}
