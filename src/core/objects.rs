//! Kubernetes object identities and the labels that mark what kjob owns. Pure.

use serde::Serialize;

/// The `apiVersion` of every Project Planton manifest kjob reads.
pub const API_VERSION: &str = "kubernetes.project-planton.org/v1";

/// The label keys and values this provider writes.
pub mod labels {
    /// Marks every object this tool manages.
    pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
    /// The value of [`MANAGED_BY`].
    pub const MANAGED_BY_VALUE: &str = "kjob";
    /// Names the KubernetesJob (metadata.name) an object belongs to.
    pub const OWNER: &str = "kjob.project-planton.org/job";
    /// Upstream: always `"true"`.
    pub const PLANTON_RESOURCE: &str = "planton.ai/resource";
    /// Upstream: metadata.name.
    pub const PLANTON_NAME: &str = "planton.ai/name";
    /// Upstream: `KubernetesJob`.
    pub const PLANTON_KIND: &str = "planton.ai/kind";
    /// Upstream: metadata.id, when set.
    pub const PLANTON_ID: &str = "planton.ai/id";
    /// Upstream: metadata.org, when set.
    pub const PLANTON_ORG: &str = "planton.ai/organization";
    /// Upstream: metadata.env, when set.
    pub const PLANTON_ENV: &str = "planton.ai/environment";
}

/// The kinds of object kjob renders to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
pub enum ObjectKind {
    /// core/v1 Namespace (cluster scoped).
    Namespace,
    /// core/v1 ConfigMap.
    ConfigMap,
    /// core/v1 Secret.
    Secret,
    /// core/v1 ServiceAccount.
    ServiceAccount,
    /// batch/v1 Job.
    Job,
    /// core/v1 ResourceQuota (a KubernetesNamespace's quota).
    ResourceQuota,
    /// core/v1 LimitRange (a KubernetesNamespace's container defaults).
    LimitRange,
    /// networking.k8s.io/v1 NetworkPolicy (a KubernetesNamespace's policies).
    NetworkPolicy,
}

impl ObjectKind {
    /// `apiVersion` of the kind.
    pub fn api_version(self) -> &'static str {
        match self {
            ObjectKind::Job => "batch/v1",
            ObjectKind::NetworkPolicy => "networking.k8s.io/v1",
            _ => "v1",
        }
    }

    /// The kind's name as Kubernetes spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Namespace => "Namespace",
            ObjectKind::ConfigMap => "ConfigMap",
            ObjectKind::Secret => "Secret",
            ObjectKind::ServiceAccount => "ServiceAccount",
            ObjectKind::Job => "Job",
            ObjectKind::ResourceQuota => "ResourceQuota",
            ObjectKind::LimitRange => "LimitRange",
            ObjectKind::NetworkPolicy => "NetworkPolicy",
        }
    }

    /// Plural resource name, as in the REST path.
    pub fn plural(self) -> &'static str {
        match self {
            ObjectKind::Namespace => "namespaces",
            ObjectKind::ConfigMap => "configmaps",
            ObjectKind::Secret => "secrets",
            ObjectKind::ServiceAccount => "serviceaccounts",
            ObjectKind::Job => "jobs",
            ObjectKind::ResourceQuota => "resourcequotas",
            ObjectKind::LimitRange => "limitranges",
            ObjectKind::NetworkPolicy => "networkpolicies",
        }
    }
}

/// Identity of one Kubernetes object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
pub struct ObjectRef {
    /// Kind.
    pub kind: ObjectKind,
    /// Namespace; `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind.as_str(), ns, self.name),
            None => write!(f, "{} {}", self.kind.as_str(), self.name),
        }
    }
}

/// One rendered object, ready to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// Which object.
    pub id: ObjectRef,
    /// The full manifest (apiVersion, kind, metadata, ...), as sent with server-side apply.
    pub body: serde_json::Value,
    /// Whether the body holds secret values (never print it).
    pub sensitive: bool,
}

/// The JSON body of a typed object of `kind`, `apiVersion` and `kind` first (k8s-openapi writes
/// them only through its Resource trait; server-side apply needs them).
pub fn body<T: Serialize>(kind: ObjectKind, object: &T) -> serde_json::Value {
    let mut value = serde_json::to_value(object).expect("Kubernetes objects serialize to JSON");
    if let Some(map) = value.as_object_mut() {
        let mut out = serde_json::Map::new();
        out.insert("apiVersion".into(), kind.api_version().into());
        out.insert("kind".into(), kind.as_str().into());
        out.extend(std::mem::take(map));
        value = serde_json::Value::Object(out);
    }
    value
}
