//! One `--set` argument holding several overrides separated by commas, as Project Planton's
//! CLI accepts them (`--set spec.parallelism=2,spec.suspend=true`). Pure.
//!
//! A comma starts a new override only when what follows it is `[NAME:]PATH=...` with PATH
//! beginning at a manifest's top-level field (`spec.`, `metadata.`, `apiVersion`, `kind`);
//! otherwise the comma belongs to the value (`spec.command.0=a,b` sets `"a,b"`). So a value
//! holding commas never leaks a piece into an error message as if it were a path of its own.

use super::{Override, parse};

/// The top-level fields of a manifest, in both spellings: a comma-separated piece is a new
/// override only when its path begins with one of them.
const ROOTS: [&str; 5] = ["spec", "metadata", "apiVersion", "api_version", "kind"];

/// Several overrides from one argument, or why they do not parse. Parsing never fails at the
/// command line's level: clap would quote the whole argument, secret value included, so the
/// error is kept here and reported by the command ([`OverrideList::into_result`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideList(pub Result<Vec<Override>, String>);

impl std::str::FromStr for OverrideList {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Ok(OverrideList(parse_list(text)))
    }
}

impl OverrideList {
    /// The overrides, or the parse error (which never quotes a secret value).
    pub fn into_result(self) -> Result<Vec<Override>, String> {
        self.0
    }
}

/// Whether `piece` (the text after a comma) starts a new override.
fn starts_override(piece: &str) -> bool {
    let Some((left, _)) = piece.split_once('=') else {
        return false;
    };
    let path = left.split_once(':').map_or(left, |(_, path)| path);
    let first = path.split('.').next().unwrap_or_default();
    ROOTS.contains(&first)
}

/// Parses `A=1,B=2` into its overrides (see the module doc for where a comma splits).
pub fn parse_list(text: &str) -> Result<Vec<Override>, String> {
    let mut pieces: Vec<String> = Vec::new();
    for piece in text.split(',') {
        match pieces.last_mut() {
            Some(last) if !starts_override(piece) => {
                last.push(',');
                last.push_str(piece);
            }
            _ => pieces.push(piece.to_owned()),
        }
    }
    pieces.iter().map(|piece| parse(piece)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths_values(text: &str) -> Vec<(String, String)> {
        parse_list(text)
            .unwrap()
            .into_iter()
            .map(|o| (o.path, o.value))
            .collect()
    }

    #[test]
    fn commas_separate_overrides() {
        assert_eq!(
            paths_values("spec.parallelism=2,spec.suspend=true"),
            [
                ("spec.parallelism".to_owned(), "2".to_owned()),
                ("spec.suspend".to_owned(), "true".to_owned())
            ]
        );
        let list = parse_list("a:spec.parallelism=2,b:metadata.labels.team=x").unwrap();
        assert_eq!(list[0].target.as_deref(), Some("a"));
        assert_eq!(list[1].target.as_deref(), Some("b"));
        assert_eq!(paths_values("spec.parallelism=3").len(), 1);
    }

    #[test]
    fn a_comma_inside_a_value_stays_in_it() {
        assert_eq!(
            paths_values("spec.command.0=a,b,c=d"),
            [("spec.command.0".to_owned(), "a,b,c=d".to_owned())]
        );
        assert_eq!(
            paths_values("spec.env.secrets.T.value=p,w=d,spec.suspend=true"),
            [
                ("spec.env.secrets.T.value".to_owned(), "p,w=d".to_owned()),
                ("spec.suspend".to_owned(), "true".to_owned())
            ]
        );
    }

    #[test]
    fn a_malformed_list_never_shows_a_secret() {
        for bad in [
            "spec.env.secrets.T.value=hunter2,spec..x=1",
            "spec.env.secrets.T.value=hunter2,:spec.x=1",
            "hunter2",
            "spec.env.secrets.T.value:hunter2",
        ] {
            let e = parse_list(bad).unwrap_err();
            assert!(!e.contains("hunter2"), "{bad}: {e}");
        }
        // A mistyped path to a secret does not show the value in messages either.
        for typo in [
            "spec.env.secret.T.value=hunter2",
            "spec.env.secrets.T.valu=hunter2",
        ] {
            let o = &parse_list(typo).unwrap()[0];
            assert!(
                !o.text.contains("hunter2") && o.shown_value() != "hunter2",
                "{typo}"
            );
        }
        let e = parse_list("hunter2").unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
    }
}
