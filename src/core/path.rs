//! Property paths in Pulumi's syntax (`spec.env.secrets.DB_PASSWORD.secretRef.key`,
//! `spec.command[0]`, `spec.configMaps["app.conf"]`), used by every error and diff.

use std::fmt;

/// One step of a [`PropertyPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// A message field, by its JSON (camelCase) name.
    Field(String),
    /// A map key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// A path from the resource's inputs down to one property.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PropertyPath(pub Vec<Segment>);

impl PropertyPath {
    /// The empty path (the inputs themselves).
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// Parses a dotted path such as `spec.env.variables.FOO.value` into field segments.
    pub fn parse_dotted(path: &str) -> Self {
        Self(
            path.split('.')
                .filter(|s| !s.is_empty())
                .map(|s| Segment::Field(s.to_owned()))
                .collect(),
        )
    }

    /// This path extended by a field.
    pub fn field(&self, name: &str) -> Self {
        self.with(Segment::Field(name.to_owned()))
    }

    /// This path extended by a map key.
    pub fn key(&self, key: &str) -> Self {
        self.with(Segment::Key(key.to_owned()))
    }

    /// This path extended by a list index.
    pub fn index(&self, index: usize) -> Self {
        self.with(Segment::Index(index))
    }

    fn with(&self, segment: Segment) -> Self {
        let mut segments = self.0.clone();
        segments.push(segment);
        Self(segments)
    }

    /// Whether `self` equals `prefix` or lies below it.
    pub fn starts_with(&self, prefix: &PropertyPath) -> bool {
        self.0.len() >= prefix.0.len() && self.0[..prefix.0.len()] == prefix.0[..]
    }

    /// The first segment's name: the top-level property the path belongs to.
    pub fn top(&self) -> Option<&str> {
        match self.0.first()? {
            Segment::Field(name) | Segment::Key(name) => Some(name),
            Segment::Index(_) => None,
        }
    }

    /// The path's names with map keys and indexes dropped to `*`, for matching against rules
    /// such as `spec.env.variables.*.value`.
    pub fn pattern(&self) -> String {
        let mut out = String::new();
        for (i, segment) in self.0.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            match segment {
                Segment::Field(name) => out.push_str(name),
                Segment::Key(_) | Segment::Index(_) => out.push('*'),
            }
        }
        out
    }
}

fn plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl fmt::Display for PropertyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Field(name) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(name)?;
                }
                Segment::Key(key) if plain_key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(key)?;
                }
                Segment::Key(key) => write!(f, "[{}]", serde_json::Value::String(key.clone()))?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// One problem with an input, at a property path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Failure {
    /// Where the problem is.
    pub path: PropertyPath,
    /// What is wrong, in words a user can act on; never contains a secret value.
    pub reason: String,
}

impl Failure {
    /// A failure at `path`.
    pub fn new(path: PropertyPath, reason: impl Into<String>) -> Self {
        Self {
            path,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.0.is_empty() {
            f.write_str(&self.reason)
        } else {
            write!(f, "{}: {}", self.path, self.reason)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_pulumi_property_paths() {
        let p = PropertyPath::root()
            .field("spec")
            .field("env")
            .field("secrets")
            .key("DB_PASSWORD");
        assert_eq!(
            p.field("secretRef").field("key").to_string(),
            "spec.env.secrets.DB_PASSWORD.secretRef.key"
        );
        assert_eq!(
            PropertyPath::root()
                .field("spec")
                .field("command")
                .index(2)
                .to_string(),
            "spec.command[2]"
        );
        assert_eq!(
            PropertyPath::root()
                .field("spec")
                .field("configMaps")
                .key("app.conf")
                .to_string(),
            "spec.configMaps[\"app.conf\"]"
        );
        assert_eq!(p.pattern(), "spec.env.secrets.*");
    }
}
