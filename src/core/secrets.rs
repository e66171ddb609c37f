//! The secret rule, written once and driven by the descriptors: which properties hold secret
//! values, what those values are, how text is redacted of them (in every encoding they travel
//! in), and the hashes the state store keeps instead of them. Pure.
//!
//! A property is secret when its proto field is one of [`SECRET_FIELDS`] (today: the direct
//! `value` of a `KubernetesSensitiveValue`, so `spec.env.secrets.*.value`), or when it is one of
//! the inputs beside the manifest listed in [`SECRET_INPUTS`] (the provider's
//! `dockerConfigJson`). The Pulumi schema marks the same fields `secret`.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use serde_json::Value;

use crate::api;
use crate::core::path::{PropertyPath, Segment};
use crate::core::refs::camel_case;

/// The proto fields whose values are secret: (message full name, field proto name).
pub const SECRET_FIELDS: [(&str, &str); 1] = [(
    "org.project_planton.provider.kubernetes.KubernetesSensitiveValue",
    "value",
)];

/// Top-level inputs beside the manifest whose whole value is secret: the registry credentials
/// (a `.dockerconfigjson`).
pub const SECRET_INPUTS: [&str; 1] = ["dockerConfigJson"];

/// What replaces a secret value in text.
pub const REDACTED: &str = "[redacted]";

const MARKER_PREFIX: &str = "[redacted sha256:";

/// Shorter values are not redacted from text: they would mangle unrelated words.
const MIN_SECRET: usize = 3;

/// Whether a proto field holds a secret value.
pub fn is_secret_field(field: &FieldDescriptor) -> bool {
    SECRET_FIELDS.contains(&(field.parent_message().full_name(), field.name()))
}

/// The patterns ([`PropertyPath::pattern`] syntax, split at dots) of every secret property of
/// the kinds' documents.
static PATTERNS: LazyLock<Vec<Vec<String>>> = LazyLock::new(|| {
    fn walk(
        message: &MessageDescriptor,
        prefix: &[String],
        stack: &mut Vec<String>,
        out: &mut Vec<Vec<String>>,
    ) {
        stack.push(message.full_name().to_owned());
        for field in message.fields() {
            let mut path = prefix.to_vec();
            path.push(field.json_name().to_owned());
            if is_secret_field(&field) {
                out.push(path);
                continue;
            }
            if let Kind::Message(child) = api::element_kind(&field)
                && !stack.iter().any(|s| s == child.full_name())
            {
                if field.is_map() || field.is_list() {
                    path.push("*".into());
                }
                walk(&child, &path, stack, out);
            }
        }
        stack.pop();
    }
    let mut out: Vec<Vec<String>> = SECRET_INPUTS.iter().map(|i| vec![(*i).into()]).collect();
    for root in [api::KUBERNETES_JOB, api::KUBERNETES_NAMESPACE] {
        let mut found = Vec::new();
        walk(&api::message(root), &[], &mut Vec::new(), &mut found);
        for pattern in found {
            if !out.contains(&pattern) {
                out.push(pattern);
            }
        }
    }
    out
});

/// The secret properties' patterns, e.g. `spec.env.secrets.*.value`.
pub fn patterns() -> Vec<String> {
    PATTERNS.iter().map(|p| p.join(".")).collect()
}

/// Whether a property path holds a secret value.
pub fn is_secret_path(path: &PropertyPath) -> bool {
    let pattern = path.pattern();
    PATTERNS.iter().any(|p| p.join(".") == pattern)
}

/// Whether a dotted path as typed on a command line (`spec.env.secrets.PW.value`, snake or
/// camel case) may write a secret value: anything under a map whose entries hold secrets
/// (`spec.env.secrets...`, mistyped field names included: `spec.env.secrets.PW.valu`), or a
/// secret input itself. Messages must not echo what is written there.
pub fn is_secret_dotted(path: &str) -> bool {
    let segments: Vec<String> = path.split('.').map(camel_case).collect();
    PATTERNS.iter().any(|pattern| {
        // The pattern down to the map that holds secret entries (before its first wildcard).
        let prefix = &pattern[..pattern
            .iter()
            .position(|s| s == "*")
            .unwrap_or(pattern.len())];
        segments.len() >= prefix.len() && prefix.iter().zip(&segments).all(|(p, s)| p == s)
    })
}

/// The paths of the secret properties present in a document (a manifest, inputs or outputs,
/// JSON names).
pub fn secret_paths(document: &Value) -> Vec<PropertyPath> {
    fn collect(
        value: &Value,
        at: PropertyPath,
        candidates: Vec<&[String]>,
        out: &mut Vec<PropertyPath>,
    ) {
        let depth = at.0.len();
        if candidates.iter().any(|c| c.len() == depth) {
            out.push(at);
            return;
        }
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let next: Vec<&[String]> = candidates
                        .iter()
                        .copied()
                        .filter(|c| c[depth] == "*" || c[depth] == *key)
                        .collect();
                    if next.is_empty() {
                        continue;
                    }
                    let field = next.iter().any(|c| c[depth] == *key);
                    let path = if field { at.field(key) } else { at.key(key) };
                    collect(child, path, next, out);
                }
            }
            Value::Array(items) => {
                let next: Vec<&[String]> = candidates
                    .iter()
                    .copied()
                    .filter(|c| c[depth] == "*")
                    .collect();
                if !next.is_empty() {
                    for (i, child) in items.iter().enumerate() {
                        collect(child, at.index(i), next.clone(), out);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    let candidates: Vec<&[String]> = PATTERNS.iter().map(Vec::as_slice).collect();
    collect(document, PropertyPath::root(), candidates, &mut out);
    out
}

fn value_at<'a>(document: &'a Value, path: &PropertyPath) -> Option<&'a Value> {
    path.0
        .iter()
        .try_fold(document, |here, segment| match segment {
            Segment::Field(name) | Segment::Key(name) => here.get(name),
            Segment::Index(i) => here.get(*i),
        })
}

fn value_at_mut<'a>(document: &'a mut Value, path: &PropertyPath) -> Option<&'a mut Value> {
    path.0
        .iter()
        .try_fold(document, |here, segment| match segment {
            Segment::Field(name) | Segment::Key(name) => here.get_mut(name.as_str()),
            Segment::Index(i) => here.get_mut(*i),
        })
}

/// The secret values of a document, in clear (redaction markers excluded), each with the
/// secrets that travel inside it: for registry credentials, every `auth`, `password` and
/// `identitytoken` of its `auths`, and the password part of each decoded `auth`
/// (`base64(user:password)`).
pub fn secret_values(document: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for path in secret_paths(document) {
        let Some(text) = value_at(document, &path).and_then(Value::as_str) else {
            continue;
        };
        if is_marker(text) {
            continue;
        }
        out.push(text.to_owned());
        if path.top().is_some_and(|t| SECRET_INPUTS.contains(&t)) {
            out.extend(docker_config_secrets(text));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The secrets inside a `.dockerconfigjson`.
fn docker_config_secrets(text: &str) -> Vec<String> {
    let Ok(config) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in config
        .get("auths")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.values())
    {
        for key in ["auth", "password", "identitytoken", "registrytoken"] {
            if let Some(v) = entry.get(key).and_then(Value::as_str) {
                out.push(v.to_owned());
            }
        }
        if let Some(decoded) = entry
            .get("auth")
            .and_then(Value::as_str)
            .and_then(decode_base64)
        {
            if let Some((_, password)) = decoded.split_once(':') {
                out.push(password.to_owned());
            }
            out.push(decoded);
        }
    }
    out
}

/// Decodes standard or URL-safe base64, padded or not.
pub fn decode_base64(text: &str) -> Option<String> {
    let trimmed = text.trim().trim_end_matches('=');
    let bytes = STANDARD_NO_PAD
        .decode(trimmed)
        .or_else(|_| URL_SAFE_NO_PAD.decode(trimmed))
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// The forms a secret can take in text: itself, JSON-escaped, and its base64 at each of the
/// three byte alignments it can have inside a longer encoded text, in the standard and the
/// URL-safe alphabet (only the characters that depend on the secret alone, so padded, unpadded
/// and embedded encodings all contain it).
pub fn encodings(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_owned()];
    if let Ok(json) = serde_json::to_string(secret) {
        let inner = &json[1..json.len() - 1];
        if inner != secret {
            out.push(inner.to_owned());
        }
    }
    for offset in 0..3usize {
        let mut bytes = vec![0u8; offset];
        bytes.extend_from_slice(secret.as_bytes());
        let skip = (offset * 8).div_ceil(6);
        let keep = (bytes.len() * 8) / 6;
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let encoded = engine.encode(&bytes);
            if keep > skip + 3 {
                out.push(encoded[skip..keep].to_owned());
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Replaces every occurrence of each secret, in each of its [`encodings`], with
/// [`REDACTED`].
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut needles: Vec<String> = secrets
        .iter()
        .filter(|s| s.len() >= MIN_SECRET)
        .flat_map(|s| encodings(s))
        .collect();
    // Longest first, so that a secret inside another is not cut out of it first.
    needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    needles.dedup();
    let mut out = text.to_owned();
    for needle in needles {
        if out.contains(&needle) {
            out = out.replace(&needle, REDACTED);
        }
    }
    out
}

/// The SHA-256 of `value` as 64 lower-case hex digits.
pub fn sha256_hex(value: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, value.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The marker the state store keeps instead of a secret value: its SHA-256.
pub fn marker(value: &str) -> String {
    format!("{MARKER_PREFIX}{}]", sha256_hex(value))
}

/// Whether a string is a [`marker`].
pub fn is_marker(value: &str) -> bool {
    value.starts_with(MARKER_PREFIX) && value.ends_with(']')
}

/// A document with every secret value replaced by its [`marker`].
pub fn mark(document: &Value) -> Value {
    let mut out = document.clone();
    for path in secret_paths(document) {
        let Some(here) = value_at_mut(&mut out, &path) else {
            continue;
        };
        let replaced = here.as_str().filter(|t| !is_marker(t)).map(marker);
        if let Some(replaced) = replaced {
            *here = Value::String(replaced);
        }
    }
    out
}

/// The markers of a marked document.
pub fn markers(document: &Value) -> BTreeSet<String> {
    secret_paths(document)
        .iter()
        .filter_map(|p| value_at(document, p).and_then(Value::as_str))
        .filter(|v| is_marker(v))
        .map(str::to_owned)
        .collect()
}

/// Replaces every word of `text` whose [`marker`], or the marker of its base64 decoding, is in
/// `markers` with [`REDACTED`]: the last resort when only the hashes are known. Words are split
/// at whitespace and the punctuation of logs and assignments (`KEY=value`, `"value"`,
/// `key: value`).
pub fn redact_marked(text: &str, markers: &BTreeSet<String>) -> String {
    if markers.is_empty() {
        return text.to_owned();
    }
    let known = |word: &str| {
        word.chars().count() >= MIN_SECRET
            && (markers.contains(&marker(word))
                || decode_base64(word).is_some_and(|d| markers.contains(&marker(&d))))
    };
    let separator = |c: char| c.is_whitespace() || "=:,;\"'()[]{}<>|".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    for c in text.chars().chain(std::iter::once('\n')) {
        if separator(c) {
            out.push_str(if known(&word) { REDACTED } else { &word });
            word.clear();
            out.push(c);
        } else {
            word.push(c);
        }
    }
    out.pop();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
    use serde_json::json;

    #[test]
    fn the_patterns_come_from_the_descriptors() {
        assert_eq!(patterns(), ["dockerConfigJson", "spec.env.secrets.*.value"]);
        let p = PropertyPath::root()
            .field("spec")
            .field("env")
            .field("secrets")
            .key("PW")
            .field("value");
        assert!(is_secret_path(&p));
        assert!(!is_secret_path(
            &PropertyPath::root().field("spec").field("image")
        ));
    }

    #[test]
    fn dotted_paths_as_typed() {
        assert!(is_secret_dotted("spec.env.secrets.PW.value"));
        assert!(is_secret_dotted("spec.env.secrets.PW"));
        assert!(is_secret_dotted("docker_config_json"));
        assert!(
            is_secret_dotted("spec.env.secrets.PW.valu"),
            "a typo still hides the value"
        );
        assert!(is_secret_dotted("spec.env.secrets"));
        assert!(!is_secret_dotted("spec.env.variables.A.value"));
        assert!(!is_secret_dotted("spec.parallelism"));
    }

    #[test]
    fn values_and_docker_credentials() {
        let auth = STANDARD.encode("robot:t0ken-value");
        let docker = json!({"auths": {"r.example": {"auth": auth}}}).to_string();
        let doc = json!({
            "spec": {"env": {"secrets": {
                "A": {"value": "s3cret"},
                "B": {"secretRef": {"name": "x", "key": "k"}},
                "C": {"value": marker("old")}
            }}},
            "dockerConfigJson": docker,
        });
        let values = secret_values(&doc);
        for v in ["s3cret", "t0ken-value", "robot:t0ken-value", auth.as_str()] {
            assert!(values.iter().any(|x| x == v), "{v} missing from {values:?}");
        }
        assert!(!values.iter().any(|x| is_marker(x)));
        let marked = mark(&doc);
        assert!(is_marker(
            marked["spec"]["env"]["secrets"]["A"]["value"]
                .as_str()
                .unwrap()
        ));
        assert_eq!(
            marked["spec"]["env"]["secrets"]["C"]["value"],
            json!(marker("old"))
        );
        assert_eq!(markers(&marked).len(), 3);
        assert_eq!(mark(&marked), marked, "marking is idempotent");
        assert_eq!(
            marked["spec"]["env"]["secrets"]["B"],
            doc["spec"]["env"]["secrets"]["B"]
        );
        assert!(!marked.to_string().contains("s3cret"));
        assert_eq!(
            secret_values(&json!({"spec": marked["spec"].clone()})),
            Vec::<String>::new()
        );
    }

    #[test]
    fn redaction_covers_every_encoding() {
        let secret = "hunter2-is-long".to_owned();
        let texts = [
            format!("plain {secret} end"),
            format!("padded {}", STANDARD.encode(&secret)),
            format!("unpadded {}", STANDARD_NO_PAD.encode(&secret)),
            format!("urlsafe {}", URL_SAFE.encode(format!("??>{secret}"))),
            format!("embedded {}", STANDARD.encode(format!("x{secret}yz"))),
            format!("shifted {}", STANDARD.encode(format!("ab{secret}"))),
            format!(
                "docker {}",
                STANDARD.encode(format!("{{\"auth\":\"user:{secret}\"}}"))
            ),
            format!(
                "json {}",
                serde_json::to_string(&format!("a\"{secret}")).unwrap()
            ),
        ];
        for text in texts {
            let out = redact(&text, std::slice::from_ref(&secret));
            assert!(out.contains(REDACTED), "{text} -> {out}");
            assert!(!out.contains(&secret), "{out}");
            assert!(!out.contains(&STANDARD_NO_PAD.encode(&secret)), "{out}");
        }
        assert_eq!(redact("no secret here", &[secret]), "no secret here");
        assert_eq!(redact("ab", &["ab".into()]), "ab");
    }

    #[test]
    fn marked_words_are_redacted() {
        let markers: BTreeSet<String> = [marker("s3cret")].into();
        assert_eq!(
            redact_marked("PW=s3cret and \"s3cret\" not s3crets", &markers),
            "PW=[redacted] and \"[redacted]\" not s3crets"
        );
        assert_eq!(
            redact_marked(&format!("b64 {}", STANDARD.encode("s3cret")), &markers),
            "b64 [redacted]"
        );
        assert_eq!(redact_marked("x", &BTreeSet::new()), "x");
    }

    #[test]
    fn words_matching_stored_hashes_are_redacted() {
        let hashes: BTreeSet<String> = [marker("hunter2"), marker("ab")].into();
        assert_eq!(
            redact_marked(
                "PASSWORD=hunter2 and \"hunter2\", hunter22: hunter2",
                &hashes
            ),
            "PASSWORD=[redacted] and \"[redacted]\", hunter22: [redacted]"
        );
        assert_eq!(
            redact_marked("ab ab", &hashes),
            "ab ab",
            "too short to redact"
        );
        assert_eq!(redact_marked("x hunter2", &BTreeSet::new()), "x hunter2");
        let manifest = json!({"spec": {"env": {"secrets": {"A": {"value": marker("v")}, "B": {"secretRef": {"name": "s", "key": "k"}}}}}});
        assert_eq!(markers(&manifest), [marker("v")].into());
    }
}
