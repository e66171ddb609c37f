//! What the state store holds about one deployed resource: its [`Record`] and [`Status`], the
//! record format's version, and the document other resources resolve references against.
//! Pure: reading and writing records is the store's business ([`crate::state`]).
//!
//! A record carries the resolved manifest with direct secret values replaced by their
//! redaction markers ([`crate::core::secrets::mark`]), its outputs, the identities of the
//! Kubernetes objects created (in apply order) and of those about to be (`pending`), objects
//! used as they are without being ours (`foreign`), the Job's last known outcome, the last
//! error, and RFC 3339 timestamps.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::core::objects::{API_VERSION, ObjectRef};
use crate::core::outcome::JobStatus;
use crate::core::refs::ResourceKey;

/// The record format's version.
pub const FORMAT: u32 = 1;

/// What a resource's deployment is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// An `up` is (or was, when it crashed) applying objects.
    Applying,
    /// The last `up` finished.
    Applied,
    /// The last `up` failed part-way; `objects` lists what exists.
    Failed,
    /// A `down` is (or was) deleting objects.
    Deleting,
}

impl Status {
    /// The word stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Applying => "applying",
            Status::Applied => "applied",
            Status::Failed => "failed",
            Status::Deleting => "deleting",
        }
    }
}

/// One resource's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Format version ([`FORMAT`]).
    pub format: u32,
    /// Kind name, e.g. `KubernetesJob`.
    pub kind: String,
    /// `metadata.env` (possibly empty).
    pub env: String,
    /// `metadata.name`.
    pub name: String,
    /// Where the deployment stands.
    pub status: Status,
    /// The resolved manifest, secret values redacted ([`crate::core::secrets::mark`]).
    pub manifest: Value,
    /// `status.outputs` (JSON names).
    pub outputs: Value,
    /// The Kubernetes objects this resource owns, in apply order.
    pub objects: Vec<ObjectRef>,
    /// Objects an `up` is about to apply and has not confirmed yet: a crash between the API
    /// server accepting one and the record saying so leaves it here, so `down` still finds it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<ObjectRef>,
    /// Objects that already existed without our ownership labels and were used as they are
    /// (a Namespace); never deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign: Vec<ObjectRef>,
    /// The resourceVersion of each object right after this resource last applied it, by the
    /// object's identity (`Kind namespace/name`): an object that still has it is exactly what
    /// kjob applied, so the next apply sends it with that version as a precondition instead
    /// of reading it first ([`crate::deploy::Observer::recorded_version`]).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub versions: std::collections::BTreeMap<String, String>,
    /// The Job's last known outcome (`Complete`, `Failed`, `Running`, `Suspended`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_status: Option<JobStatus>,
    /// Why the last run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the resource was first recorded (RFC 3339).
    pub created_at: String,
    /// When the record last changed (RFC 3339).
    pub updated_at: String,
}

impl Record {
    /// A new record for `key`, status `applying`, nothing created yet.
    pub fn new(key: &ResourceKey) -> Self {
        let now = now();
        Record {
            format: FORMAT,
            kind: key.kind.clone(),
            env: key.env.clone(),
            name: key.name.clone(),
            status: Status::Applying,
            manifest: Value::Null,
            outputs: json!({}),
            objects: Vec::new(),
            pending: Vec::new(),
            foreign: Vec::new(),
            versions: Default::default(),
            job_status: None,
            error: None,
            created_at: now.clone(),
            updated_at: now,
        }
    }

    /// The resource's key.
    pub fn key(&self) -> ResourceKey {
        ResourceKey {
            kind: self.kind.clone(),
            env: self.env.clone(),
            name: self.name.clone(),
        }
    }

    /// The document references resolve against: `{apiVersion, kind, metadata, spec, status:
    /// {outputs}}`.
    /// Secret values are not stored, so a reference to one fails instead of resolving to its
    /// redaction marker.
    pub fn document(&self) -> Value {
        let mut spec = self
            .manifest
            .get("spec")
            .cloned()
            .unwrap_or_else(|| json!({}));
        if let Some(secrets) = spec
            .pointer_mut("/env/secrets")
            .and_then(Value::as_object_mut)
        {
            for entry in secrets.values_mut().filter_map(Value::as_object_mut) {
                if entry
                    .get("value")
                    .and_then(Value::as_str)
                    .is_some_and(crate::core::secrets::is_marker)
                {
                    entry.remove("value");
                    entry.insert(
                        "valueNotStored".into(),
                        "the state store keeps no secret values".into(),
                    );
                }
            }
        }
        json!({
            "apiVersion": API_VERSION,
            "kind": self.kind,
            "metadata": self.manifest.get("metadata").cloned().unwrap_or_else(|| json!({"name": self.name})),
            "spec": spec,
            "status": {"outputs": self.outputs},
        })
    }

    /// Adds an object (once), keeping apply order; it is no longer pending.
    pub fn add_object(&mut self, object: &ObjectRef) {
        self.pending.retain(|o| o != object);
        if !self.objects.contains(object) {
            self.objects.push(object.clone());
        }
    }

    /// Removes an object (applied or pending).
    pub fn remove_object(&mut self, object: &ObjectRef) {
        self.versions.remove(&object.to_string());
        self.objects.retain(|o| o != object);
        self.pending.retain(|o| o != object);
    }

    /// Every object that may exist: applied and pending, in apply order (kind order: Namespace,
    /// ConfigMap, Secret, ServiceAccount, Job), so that deleting in reverse removes a Job
    /// before its namespace.
    pub fn all_objects(&self) -> Vec<ObjectRef> {
        let mut all = self.objects.clone();
        all.extend(
            self.pending
                .iter()
                .filter(|o| !self.objects.contains(o))
                .cloned(),
        );
        all.sort_by_key(|o| o.kind);
        all
    }
}

/// The current time, RFC 3339 in UTC with milliseconds.
pub fn now() -> String {
    let ts = jiff::Timestamp::now();
    jiff::Timestamp::from_millisecond(ts.as_millisecond())
        .unwrap_or(ts)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::objects::ObjectKind;

    fn key(name: &str) -> ResourceKey {
        ResourceKey::job(name)
    }

    #[test]
    fn pending_objects_count_until_applied() {
        let ns = ObjectRef {
            kind: ObjectKind::Namespace,
            namespace: None,
            name: "n".into(),
        };
        let cm = ObjectRef {
            kind: ObjectKind::ConfigMap,
            namespace: Some("n".into()),
            name: "c".into(),
        };
        let job = ObjectRef {
            kind: ObjectKind::Job,
            namespace: Some("n".into()),
            name: "j".into(),
        };
        let mut record = Record::new(&key("a"));
        record.objects = vec![job.clone()];
        record.pending = vec![ns.clone(), cm.clone()];
        assert_eq!(
            record.all_objects(),
            [ns.clone(), cm.clone(), job.clone()],
            "apply order"
        );
        record.add_object(&ns);
        record.add_object(&ns);
        assert_eq!((record.objects.len(), record.pending.len()), (2, 1));
        record.remove_object(&cm);
        assert_eq!(record.all_objects(), [ns, job]);
    }

    #[test]
    fn the_reference_document_holds_no_secret_markers() {
        let mut record = Record::new(&key("a"));
        record.manifest = json!({
            "metadata": {"name": "a"},
            "spec": {"namespace": {"value": "ns"}, "env": {"secrets": {
                "PW": {"value": crate::core::secrets::marker("s3cret")},
                "REF": {"secretRef": {"name": "s", "key": "k"}},
            }}},
        });
        record.outputs = json!({"namespace": "ns", "jobName": "a"});
        let doc = record.document();
        assert_eq!(doc["apiVersion"], API_VERSION);
        assert_eq!(doc["kind"], "KubernetesJob");
        assert_eq!(doc["status"]["outputs"]["jobName"], "a");
        let pw = &doc["spec"]["env"]["secrets"]["PW"];
        assert!(pw.get("value").is_none(), "{pw}");
        assert!(pw.get("valueNotStored").is_some());
        assert_eq!(
            doc["spec"]["env"]["secrets"]["REF"],
            json!({"secretRef": {"name": "s", "key": "k"}})
        );
        // Without a stored manifest the name still resolves.
        let bare = Record::new(&key("b")).document();
        assert_eq!(bare["metadata"], json!({"name": "b"}));
    }

    #[test]
    fn records_serialize_as_documented() {
        let record = Record::new(&key("a"));
        let value = serde_json::to_value(&record).unwrap();
        assert_eq!(value["format"], FORMAT);
        assert_eq!(value["status"], "applying");
        // Empty optional parts are left out.
        for absent in ["pending", "foreign", "job_status", "error"] {
            assert!(value.get(absent).is_none(), "{absent}");
        }
        let back: Record = serde_json::from_value(value).unwrap();
        assert_eq!(back, record);
        assert!(now().ends_with('Z'), "{}", now());
    }
}
