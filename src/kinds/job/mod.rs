//! The KubernetesJob pipeline shared by the provider and the CLI: decode strictly, apply proto
//! defaults, resolve references, validate. Pure: lookups go through [`Source`]s.

use serde_json::Value;

use crate::api;
use crate::api::job::KubernetesJob;
use crate::core::codec::{self, UnknownTest};
use crate::core::load;
use crate::core::path::{Failure, PropertyPath};
use crate::core::refs::Source;

pub mod import;
pub mod render;
pub mod validate;

/// The provider input beside the manifest that carries registry credentials (a
/// `.dockerconfigjson`; upstream's stack input `docker_config_json`).
pub const DOCKER_CONFIG_JSON: &str = "dockerConfigJson";

/// A checked manifest.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The manifest with defaults applied and every resolvable reference replaced by its value.
    pub job: KubernetesJob,
    /// The same, encoded as JSON (camelCase names), as stored in state and returned by Check.
    pub document: Value,
    /// Paths that were unknown placeholders (Pulumi preview only); absent from `document`.
    pub unknowns: Vec<PropertyPath>,
    /// Every problem, each at its path; empty when the manifest can be deployed.
    pub failures: Vec<Failure>,
}

impl Checked {
    /// Whether the manifest can be deployed as it is.
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// The namespace, when it is a known literal.
    pub fn namespace(&self) -> Option<String> {
        namespace_of(&self.job)
    }

    /// The Job's name.
    pub fn job_name(&self) -> String {
        job_name_of(&self.job).to_owned()
    }
}

/// The Job's name: the manifest's `metadata.name`.
pub fn job_name_of(job: &KubernetesJob) -> &str {
    job.metadata.as_ref().map_or("", |m| m.name.as_str())
}

/// The namespace of a manifest, when it is a literal.
pub fn namespace_of(job: &KubernetesJob) -> Option<String> {
    use crate::api::foreignkey::string_value_or_ref::LiteralOrRef;
    match job
        .spec
        .as_ref()?
        .namespace
        .as_ref()?
        .literal_or_ref
        .as_ref()?
    {
        LiteralOrRef::Value(v) => Some(v.clone()),
        LiteralOrRef::ValueFrom(_) => None,
    }
}

/// Runs the whole pipeline over a manifest document (`{apiVersion, kind, metadata, spec}`).
/// `root` prefixes every failure path; `unknown` recognises Pulumi's unknown placeholders.
pub fn check(
    document: &Value,
    root: &PropertyPath,
    unknown: Option<UnknownTest<'_>>,
    sources: &[&dyn Source],
) -> Checked {
    let desc = api::message(api::KUBERNETES_JOB);
    let loaded = load::load_resolved(&desc, document, root, unknown, sources);
    let mut failures = loaded.failures;
    let message = loaded.message;
    let mut job: KubernetesJob = codec::to_typed(&message);
    // Back to the dynamic form only when a path was filled in: the round trip encodes and
    // decodes the whole message, a large part of a Check that changes nothing.
    let message = if fill_item_paths(&mut job) {
        codec::to_dynamic(&desc, &job)
    } else {
        message
    };
    failures.extend(validate::validate(&job, root));
    let failures = load::settle(failures, &loaded.unknowns);
    Checked {
        document: codec::encode(&message),
        job,
        unknowns: loaded.unknowns,
        failures,
    }
}

/// A ConfigMap or Secret volume that selects one key mounts it at `path`, which defaults to
/// the key (upstream documents this default; making it explicit keeps refresh diff-free).
/// Whether any path was filled in.
fn fill_item_paths(job: &mut KubernetesJob) -> bool {
    let mut filled = false;
    for mount in job.spec.iter_mut().flat_map(|s| s.volume_mounts.iter_mut()) {
        let config_map = mount.config_map.as_mut().map(|s| (&s.key, &mut s.path));
        let secret = mount.secret.as_mut().map(|s| (&s.key, &mut s.path));
        for (key, path) in config_map.into_iter().chain(secret) {
            if !key.is_empty() && path.is_empty() {
                path.clone_from(key);
                filled = true;
            }
        }
    }
    filled
}

/// Renders a checked manifest; the caller has made sure it has no failures.
pub fn render(
    checked: &Checked,
    options: &render::RenderOptions,
) -> Result<render::Rendered, render::RenderError> {
    render::render(&checked.job, options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest(spec: Value) -> Value {
        json!({"apiVersion": "kubernetes.project-planton.org/v1", "kind": "KubernetesJob", "metadata": {"name": "migrate"}, "spec": spec})
    }

    fn paths(checked: &Checked) -> Vec<String> {
        checked
            .failures
            .iter()
            .map(|f| f.path.to_string())
            .collect()
    }

    #[test]
    fn a_minimal_manifest_checks_and_gets_defaults() {
        let c = check(
            &manifest(json!({"namespace": {"value": "batch"}, "image": {"repo": "busybox"}})),
            &PropertyPath::root(),
            None,
            &[],
        );
        assert!(c.is_ok(), "{:?}", c.failures);
        assert_eq!(c.document["spec"]["restartPolicy"], json!("Never"));
        assert_eq!(c.namespace().as_deref(), Some("batch"));
    }

    #[test]
    fn reports_all_failures_with_paths() {
        let c = check(
            &json!({
                "apiVersion": "kubernetes.project-planton.org/v1", "kind": "KubernetesJob",
                "metadata": {"name": "Bad_Name"},
                "spec": {
                    "namespace": {"value": "ns"},
                    "image": {"tag": "1"},
                    "restartPolicy": "Always",
                    "completionMode": "Sometimes",
                    "env": {"variables": {"1BAD": {"value": "x"}}, "secrets": {"DB_PASSWORD": {"secretRef": {"name": "db"}}}},
                    "configMaps": {"conf": "x"},
                    "volumeMounts": [
                        {"name": "a", "mountPath": "/a", "configMap": {"name": "conf", "key": "other"}},
                        {"name": "a", "mountPath": "/b", "emptyDir": {}, "pvc": {"claimName": "c"}},
                        {"name": "c", "mountPath": "/c"}
                    ],
                    "resources": {"limits": {"cpu": "10m"}}
                }
            }),
            &PropertyPath::root(),
            None,
            &[],
        );
        assert_eq!(
            paths(&c),
            [
                "metadata.name",
                "spec.completionMode",
                "spec.env.secrets.DB_PASSWORD.secretRef.key",
                "spec.env.variables.1BAD",
                "spec.image.repo",
                "spec.resources.requests.cpu",
                "spec.restartPolicy",
                "spec.volumeMounts[0].configMap.key",
                "spec.volumeMounts[1]",
                "spec.volumeMounts[1].name",
                "spec.volumeMounts[2]",
            ]
        );
    }

    #[test]
    fn existing_config_maps_and_secrets_mount_as_named() {
        let spec = |mounts: Value| {
            json!({"namespace": {"value": "ns"}, "image": {"repo": "busybox"},
                "configMaps": {"ours": "x=1"}, "volumeMounts": mounts})
        };
        let c = check(
            &manifest(spec(json!([
                {"name": "a", "mountPath": "/a", "configMap": {"name": "ours"}},
                {"name": "b", "mountPath": "/b", "configMap": {"name": "shared-settings", "key": "app.ini", "path": "app.ini"}},
                {"name": "c", "mountPath": "/c", "secret": {"name": "tls-certs", "key": "tls.crt"}}
            ]))),
            &PropertyPath::root(),
            None,
            &[],
        );
        assert!(c.is_ok(), "{:?}", c.failures);
        let rendered = render(&c, &render::RenderOptions::default()).unwrap();
        let names: Vec<_> = rendered
            .config_maps
            .iter()
            .map(|m| m.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(names, ["ours"], "only spec.configMaps are created");
        let volumes = rendered
            .job
            .spec
            .unwrap()
            .template
            .spec
            .unwrap()
            .volumes
            .unwrap();
        assert_eq!(volumes[0].config_map.as_ref().unwrap().name, "ours");
        assert_eq!(
            volumes[1].config_map.as_ref().unwrap().name,
            "shared-settings"
        );
        assert_eq!(
            volumes[2].secret.as_ref().unwrap().secret_name.as_deref(),
            Some("tls-certs")
        );
        let bad = check(
            &manifest(spec(json!([
                {"name": "a", "mountPath": "/a", "configMap": {"name": "Not_A_Name"}},
                {"name": "b", "mountPath": "/b", "secret": {"name": "Bad_Secret"}}
            ]))),
            &PropertyPath::root(),
            None,
            &[],
        );
        assert_eq!(
            paths(&bad),
            [
                "spec.volumeMounts[0].configMap.name",
                "spec.volumeMounts[1].secret.name"
            ]
        );
    }

    #[test]
    fn a_bad_reference_kind_is_reported_once() {
        let c = check(
            &manifest(
                json!({"namespace": {"value": "ns"}, "image": {"repo": "busybox"}, "env": {"variables": {"X": {"valueFrom": {"kind": "NoSuchKind", "name": "a"}}}}}),
            ),
            &PropertyPath::root(),
            None,
            &[],
        );
        assert_eq!(
            paths(&c),
            ["spec.env.variables.X.valueFrom.kind"],
            "{:?}",
            c.failures
        );
    }

    #[test]
    fn unknown_values_skip_their_checks() {
        let unknown = |v: &Value| v == "??";
        let c = check(
            &manifest(json!({"namespace": "??", "image": {"repo": "??"}})),
            &PropertyPath::root(),
            Some(&unknown),
            &[],
        );
        assert!(c.is_ok(), "{:?}", c.failures);
        assert_eq!(c.unknowns.len(), 2);
    }
}
