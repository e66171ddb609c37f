//! Where state lives, as pure rules: the backend URL (`file://DIR`, `kubernetes://NAMESPACE`
//! with an optional `?context=NAME`), and how a record is kept in a Kubernetes Secret: its
//! name, labels and annotations, its compressed payload, the Lease holder's identity and when
//! a Lease has expired. The IO lives in [`crate::state`].

use std::io::{Read, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::core::record::Record;
use crate::core::refs::ResourceKey;
use crate::core::secrets::sha256_hex;

/// The environment variable naming the backend URL.
pub const ENV_VAR: &str = "KJOB_BACKEND";
/// The environment variable overriding the Lease duration, in seconds.
pub const LEASE_ENV_VAR: &str = "KJOB_LEASE_DURATION";
/// The Lease duration when none is set.
pub const DEFAULT_LEASE_SECONDS: u64 = 15;
/// The `type` of the Secrets holding records.
pub const SECRET_TYPE: &str = "kjob.project-planton.org/state";
/// The label every record Secret carries (value [`RECORD_LABEL_VALUE`]): the LIST selector.
pub const RECORD_LABEL: &str = "kjob.project-planton.org/state";
/// The value of [`RECORD_LABEL`] on a record.
pub const RECORD_LABEL_VALUE: &str = "record";
/// The value of [`RECORD_LABEL`] on the store's id Secret.
pub const ID_LABEL_VALUE: &str = "id";
/// Labels carrying the key, label-safe ([`label_value`]).
pub const KIND_LABEL: &str = "kjob.project-planton.org/kind";
/// See [`KIND_LABEL`].
pub const ENV_LABEL: &str = "kjob.project-planton.org/env";
/// See [`KIND_LABEL`].
pub const NAME_LABEL: &str = "kjob.project-planton.org/name";
/// Annotations carrying the key in full.
pub const KIND_ANNOTATION: &str = "kjob.project-planton.org/kind";
/// See [`KIND_ANNOTATION`].
pub const ENV_ANNOTATION: &str = "kjob.project-planton.org/env";
/// See [`KIND_ANNOTATION`].
pub const NAME_ANNOTATION: &str = "kjob.project-planton.org/name";
/// The Secret data key of a record (gzip of the record's JSON).
pub const PAYLOAD_KEY: &str = "record.json.gz";
/// The Secret data key of the store's id.
pub const ID_KEY: &str = "id";
/// The name of the store's id Secret.
pub const ID_SECRET: &str = "kjob-state-id";
/// The name of the Secret saying where `state migrate` moved the store to (data key
/// [`MOVED_KEY`], label value [`MOVED_LABEL_VALUE`]).
pub const MOVED_SECRET: &str = "kjob-state-moved";
/// See [`MOVED_SECRET`].
pub const MOVED_KEY: &str = "url";
/// See [`MOVED_SECRET`].
pub const MOVED_LABEL_VALUE: &str = "moved";
/// The name of the Lease that locks the store.
pub const LEASE_NAME: &str = "kjob-state-lock";

/// A parsed backend URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// `file://DIR`: the embedded store in a directory.
    File(PathBuf),
    /// `kubernetes://NAMESPACE[?context=NAME]`: Secrets and a Lease in a namespace.
    Kubernetes {
        /// The namespace.
        namespace: String,
        /// The kubeconfig context, when not the current one.
        context: Option<String>,
    },
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::File(dir) => write!(f, "file://{}", dir.display()),
            Backend::Kubernetes {
                namespace,
                context: None,
            } => write!(f, "kubernetes://{namespace}"),
            Backend::Kubernetes {
                namespace,
                context: Some(c),
            } => write!(f, "kubernetes://{namespace}?context={c}"),
        }
    }
}

/// Parses a backend URL; the error says what is accepted.
pub fn parse(url: &str) -> Result<Backend, String> {
    const FORMS: &str = "expected file://DIR or kubernetes://NAMESPACE[?context=NAME]";
    if let Some(dir) = url.strip_prefix("file://") {
        if dir.is_empty() {
            return Err(format!("backend {url:?}: no directory ({FORMS})"));
        }
        return Ok(Backend::File(PathBuf::from(dir)));
    }
    let Some(rest) = url.strip_prefix("kubernetes://") else {
        return Err(format!("backend {url:?}: unknown scheme ({FORMS})"));
    };
    let (namespace, query) = match rest.split_once('?') {
        Some((ns, q)) => (ns, Some(q)),
        None => (rest, None),
    };
    let namespace = namespace.trim_end_matches('/');
    if let Err(e) = crate::core::names::dns1123_label(namespace) {
        return Err(format!("backend {url:?}: namespace {namespace:?}: {e}"));
    }
    let mut context = None;
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        match pair.split_once('=') {
            Some(("context", value)) if !value.is_empty() => context = Some(value.to_owned()),
            _ => {
                return Err(format!(
                    "backend {url:?}: unknown parameter {pair:?} (only context=NAME)"
                ));
            }
        }
    }
    Ok(Backend::Kubernetes {
        namespace: namespace.to_owned(),
        context,
    })
}

/// The Lease duration: `text` (from [`LEASE_ENV_VAR`]) in whole seconds, at least 1, else the
/// default.
pub fn lease_seconds(text: Option<&str>) -> Result<u64, String> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(DEFAULT_LEASE_SECONDS),
        Some(t) => match t.parse::<u64>() {
            Ok(n) if (1..=3600).contains(&n) => Ok(n),
            _ => Err(format!(
                "{LEASE_ENV_VAR}={t:?}: expected whole seconds from 1 to 3600"
            )),
        },
    }
}

/// The Secret name of a key's record: `kjob-state-` and 40 hex digits of the key's SHA-256
/// (stable, DNS-safe, whatever the name's characters or length).
pub fn secret_name(key: &ResourceKey) -> String {
    let digest = sha256_hex(&format!("{}\0{}\0{}", key.kind, key.env, key.name));
    format!("kjob-state-{}", &digest[..40])
}

/// A label value for `text`: as is when it is a valid label value, else `h-` and 40 hex digits
/// of its SHA-256 (the annotations keep the text in full).
pub fn label_value(text: &str) -> String {
    let valid = text.len() <= 63
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && (text.is_empty()
            || (text.as_bytes()[0].is_ascii_alphanumeric()
                && text.as_bytes()[text.len() - 1].is_ascii_alphanumeric()));
    if valid {
        text.to_owned()
    } else {
        format!("h-{}", &sha256_hex(text)[..40])
    }
}

/// The labels of a key's record Secret.
pub fn labels(key: &ResourceKey) -> Vec<(&'static str, String)> {
    vec![
        ("app.kubernetes.io/managed-by", "kjob".to_owned()),
        (RECORD_LABEL, RECORD_LABEL_VALUE.to_owned()),
        (KIND_LABEL, label_value(&key.kind)),
        (ENV_LABEL, label_value(&key.env)),
        (NAME_LABEL, label_value(&key.name)),
    ]
}

/// The annotations of a key's record Secret.
pub fn annotations(key: &ResourceKey) -> Vec<(&'static str, String)> {
    vec![
        (KIND_ANNOTATION, key.kind.clone()),
        (ENV_ANNOTATION, key.env.clone()),
        (NAME_ANNOTATION, key.name.clone()),
    ]
}

/// The label selector of every record.
pub fn record_selector() -> String {
    format!("{RECORD_LABEL}={RECORD_LABEL_VALUE}")
}

/// A record's bytes as the file store writes them: pretty JSON and a newline.
pub fn record_bytes(record: &Record) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(record).expect("records serialize");
    bytes.push(b'\n');
    bytes
}

/// A record from its bytes; the error is the parser's.
pub fn parse_record(bytes: &[u8]) -> Result<Record, String> {
    serde_json::from_slice(bytes).map_err(|e| e.to_string())
}

/// A record's Secret payload: gzip of [`record_bytes`].
pub fn encode_payload(record: &Record) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(&record_bytes(record))
        .expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

/// A record from its Secret payload (at most 64 MiB once inflated).
pub fn decode_payload(bytes: &[u8]) -> Result<Record, String> {
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(64 << 20)
        .read_to_end(&mut json)
        .map_err(|e| format!("not a gzip payload: {e}"))?;
    parse_record(&json)
}

/// Who holds a Lease: host, pid and the process's start (never its arguments).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseHolder {
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// When the run started (RFC 3339).
    pub started_at: String,
}

impl LeaseHolder {
    /// The Lease's `holderIdentity`: `host:pid:start`.
    pub fn identity(&self) -> String {
        format!("{}:{}:{}", self.host, self.pid, self.started_at)
    }

    /// Reads a `holderIdentity` written by [`Self::identity`].
    pub fn parse(identity: &str) -> Option<LeaseHolder> {
        let mut parts = identity.splitn(3, ':');
        let host = parts.next()?.to_owned();
        let pid = parts.next()?.parse().ok()?;
        let started_at = parts.next()?.to_owned();
        Some(LeaseHolder {
            host,
            pid,
            started_at,
        })
    }

    /// How a Lease's holder reads in messages.
    pub fn describe(identity: &str) -> String {
        match Self::parse(identity) {
            Some(h) => format!(
                "pid {} on host {}, running kjob since {}",
                h.pid, h.host, h.started_at
            ),
            None => format!("{identity:?}"),
        }
    }
}

/// Whether a Lease renewed at `renewed` (seconds since the epoch) for `duration` seconds has
/// expired at `now`.
pub fn lease_expired(renewed: i64, duration: i64, now: i64) -> bool {
    now >= renewed.saturating_add(duration.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(env: &str, name: &str) -> ResourceKey {
        ResourceKey {
            kind: "KubernetesJob".into(),
            env: env.into(),
            name: name.into(),
        }
    }

    #[test]
    fn urls() {
        assert_eq!(parse("file:///s").unwrap(), Backend::File("/s".into()));
        assert_eq!(
            parse("kubernetes://team").unwrap(),
            Backend::Kubernetes {
                namespace: "team".into(),
                context: None
            }
        );
        let b = parse("kubernetes://team?context=prod").unwrap();
        assert_eq!(b.to_string(), "kubernetes://team?context=prod");
        for bad in [
            "s3://x",
            "file://",
            "kubernetes://",
            "kubernetes://Team",
            "kubernetes://t?x=1",
            "/tmp/x",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_labels_are_safe() {
        let a = secret_name(&key("", "a"));
        assert_eq!(a.len(), "kjob-state-".len() + 40);
        assert_ne!(a, secret_name(&key("_", "a")));
        assert_eq!(label_value("prod"), "prod");
        assert_eq!(label_value(""), "");
        let long = label_value(&"x".repeat(64));
        assert!(long.starts_with("h-") && long.len() == 42);
        assert!(label_value("../x y").starts_with("h-"));
        assert!(label_value("-a").starts_with("h-"));
        let labels = labels(&key("../x", "a"));
        assert!(labels.iter().all(|(_, v)| v.len() <= 63));
        assert_eq!(annotations(&key("../x", "a"))[1].1, "../x");
    }

    #[test]
    fn payloads_round_trip_and_compress() {
        let mut record = Record::new(&key("", "a"));
        record.manifest = serde_json::json!({"spec": {"x": "y".repeat(10_000)}});
        let payload = encode_payload(&record);
        assert!(payload.len() < 1_000, "{}", payload.len());
        assert_eq!(decode_payload(&payload).unwrap(), record);
        assert!(decode_payload(b"nope").is_err());
    }

    #[test]
    fn holders_and_expiry() {
        let h = LeaseHolder {
            host: "box".into(),
            pid: 7,
            started_at: "2026-12-02T00:00:00Z".into(),
        };
        assert_eq!(LeaseHolder::parse(&h.identity()).unwrap(), h);
        assert!(LeaseHolder::describe(&h.identity()).contains("pid 7 on host box"));
        assert!(!lease_expired(100, 15, 114));
        assert!(lease_expired(100, 15, 115));
        assert_eq!(lease_seconds(None).unwrap(), 15);
        assert_eq!(lease_seconds(Some("3")).unwrap(), 3);
        assert!(lease_seconds(Some("0")).is_err());
        assert!(lease_seconds(Some("x")).is_err());
    }
}
