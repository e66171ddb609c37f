//! The provider's configuration (`kjob:kubeconfig`, `kjob:context`, `kjob:stateDir`, `kjob:backend`,
//! `kjob:wait`, `kjob:serverPreview`, `kjob:requestTimeout`, `kjob:callTimeout`): parsed from Configure's arguments or, for old engines, its variables. Pure.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::cluster::ClusterConfig;
use crate::core::path::{Failure, PropertyPath};

/// The provider's settings.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ProviderConfig {
    /// How to reach the cluster.
    pub cluster: ClusterConfig,
    /// The CLI state store to resolve `valueFrom` references from.
    pub state_dir: Option<PathBuf>,
    /// The state backend URL to resolve `valueFrom` references from (`file://DIR`,
    /// `kubernetes://NAMESPACE[?context=NAME]`); wins over `state_dir`.
    pub backend: Option<String>,
    /// Whether Create and Update wait for the Job to finish (default true).
    pub wait: bool,
    /// Whether a preview (Create and Update with `preview`) has the API server check the
    /// objects, as `kjob preview --server` does, when the cluster can be reached (default
    /// false).
    pub server_preview: bool,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field(
                "kubeconfig",
                &self.cluster.kubeconfig.as_ref().map(|_| "[secret]"),
            )
            .field("context", &self.cluster.context)
            .field("state_dir", &self.state_dir)
            .field("backend", &self.backend)
            .field("wait", &self.wait)
            .field("server_preview", &self.server_preview)
            .field("deadlines", &self.cluster.deadlines)
            .finish()
    }
}

/// Configuration keys the provider knows.
pub const KEYS: [&str; 8] = [
    "kubeconfig",
    "context",
    "stateDir",
    "backend",
    "wait",
    "serverPreview",
    "requestTimeout",
    "callTimeout",
];

/// A whole number of seconds, at least 1 (a number or its text).
fn seconds(value: &Value) -> Option<Duration> {
    let n = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    n.filter(|n| *n >= 1).map(Duration::from_secs)
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// Parses configuration (secrets already revealed). Stack configuration arrives as strings,
/// explicit providers as typed values; both are accepted.
pub fn parse(args: &Value) -> Result<ProviderConfig, Vec<Failure>> {
    let mut failures = Vec::new();
    let mut config = ProviderConfig {
        wait: true,
        ..ProviderConfig::default()
    };
    let Some(map) = args.as_object() else {
        return Ok(config);
    };
    for (key, value) in map {
        let path = PropertyPath::root().field(key);
        if value.is_null() {
            continue;
        }
        match key.as_str() {
            "kubeconfig" | "context" | "stateDir" | "backend" => {
                if !value.is_string() {
                    failures.push(Failure::new(path, "expected a string"));
                    continue;
                }
                match key.as_str() {
                    "kubeconfig" => config.cluster.kubeconfig = text(value),
                    "context" => config.cluster.context = text(value),
                    "backend" => match text(value).map(|u| (crate::core::backend::parse(&u), u)) {
                        Some((Err(e), _)) => failures.push(Failure::new(path, e)),
                        Some((Ok(_), url)) => config.backend = Some(url),
                        None => {}
                    },
                    _ => config.state_dir = text(value).map(PathBuf::from),
                }
            }
            "wait" | "serverPreview" => {
                let flag = match value {
                    Value::Bool(b) => *b,
                    Value::String(s) if s == "true" || s == "false" => s == "true",
                    _ => {
                        failures.push(Failure::new(path, "expected a boolean"));
                        continue;
                    }
                };
                if key == "wait" {
                    config.wait = flag;
                } else {
                    config.server_preview = flag;
                }
            }
            "requestTimeout" | "callTimeout" => match seconds(value) {
                Some(d) if key == "requestTimeout" => config.cluster.deadlines.request = d,
                Some(d) => config.cluster.deadlines.call = d,
                None => failures.push(Failure::new(
                    path,
                    "expected a whole number of seconds, at least 1",
                )),
            },
            "version" => {}
            other if other.starts_with("__") => {}
            other => failures.push(Failure::new(
                path,
                format!(
                    "unknown configuration key `{other}`; expected one of: {}",
                    KEYS.join(", ")
                ),
            )),
        }
    }
    if failures.is_empty() {
        Ok(config)
    } else {
        Err(failures)
    }
}

/// The problems with a configuration (secrets already revealed); none when it parses.
pub fn check(args: &Value) -> Vec<Failure> {
    parse(args).err().unwrap_or_default()
}

/// The known configuration keys whose values differ between two configurations.
pub fn changed_keys(olds: &Value, news: &Value) -> Vec<String> {
    KEYS.iter()
        .filter(|k| olds.get(**k) != news.get(**k))
        .map(|k| (*k).to_owned())
        .collect()
}

/// Turns the deprecated `variables` map (`kjob:config:<key>` -> text) into arguments.
pub fn from_variables(variables: &BTreeMap<String, String>) -> Value {
    let mut out = serde_json::Map::new();
    for (key, value) in variables {
        let short = key.rsplit(':').next().unwrap_or(key);
        if KEYS.contains(&short) {
            let parsed = if matches!(short, "wait" | "requestTimeout" | "callTimeout") {
                serde_json::from_str(value).unwrap_or(Value::String(value.clone()))
            } else {
                Value::String(value.clone())
            };
            out.insert(short.to_owned(), parsed);
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_typed_and_string_values() {
        let c = parse(
            &json!({"kubeconfig": "/k", "context": "ctx", "wait": "false", "version": "0.1.0"}),
        )
        .unwrap();
        assert_eq!(c.cluster.kubeconfig.as_deref(), Some("/k"));
        assert!(!c.wait);
        assert!(parse(&json!({})).unwrap().wait);
        let errs = parse(&json!({"wait": 3, "nope": 1})).unwrap_err();
        assert_eq!(errs.len(), 2);
        assert!(!format!("{c:?}").contains("/k"), "kubeconfig never printed");
        assert!(check(&json!({"wait": true})).is_empty());
        assert_eq!(check(&json!({"wait": 3})).len(), 1);
        let c = parse(&json!({"backend": "kubernetes://team"})).unwrap();
        assert_eq!(c.backend.as_deref(), Some("kubernetes://team"));
        assert_eq!(check(&json!({"backend": "s3://x"})).len(), 1);
    }

    #[test]
    fn parses_deadlines() {
        let defaults = parse(&json!({})).unwrap().cluster.deadlines;
        assert_eq!(defaults, crate::cluster::Deadlines::default());
        let c = parse(&json!({"requestTimeout": 5, "callTimeout": "12"})).unwrap();
        assert_eq!(c.cluster.deadlines.request, Duration::from_secs(5));
        assert_eq!(c.cluster.deadlines.call, Duration::from_secs(12));
        for bad in [json!(0), json!(-1), json!(1.5), json!("soon"), json!(true)] {
            let errs = parse(&json!({"callTimeout": bad})).unwrap_err();
            assert_eq!(errs.len(), 1, "{bad}");
        }
        let v = BTreeMap::from([("kjob:config:requestTimeout".to_owned(), "7".to_owned())]);
        assert_eq!(from_variables(&v), json!({"requestTimeout": 7}));
    }

    #[test]
    fn changed_keys_are_the_known_ones_that_differ() {
        let olds = json!({"context": "a", "wait": true, "other": 1});
        let news = json!({"context": "b", "wait": true, "kubeconfig": "/k", "other": 2});
        assert_eq!(changed_keys(&olds, &news), ["kubeconfig", "context"]);
    }

    #[test]
    fn reads_deprecated_variables() {
        let v = BTreeMap::from([
            ("kjob:config:context".to_owned(), "ctx".to_owned()),
            ("kjob:config:wait".to_owned(), "false".to_owned()),
        ]);
        assert_eq!(from_variables(&v), json!({"context": "ctx", "wait": false}));
    }
}
