//! Validation of a KubernetesJob: upstream's buf.validate and CEL rules, plus the checks the
//! Kubernetes API server would otherwise make late (names, env var names, volumes, quantities).
//! Every failure carries the property path of the offending input; all are returned at once.

use std::collections::BTreeSet;

use crate::api::foreignkey::string_value_or_ref::LiteralOrRef;
use crate::api::job::{KubernetesJob, KubernetesJobSpec};
use crate::api::k8s::kubernetes_sensitive_value::SensitiveValue;
use crate::api::k8s::{ContainerResources, VolumeMount};
use crate::api::shared::cloudresourcekind::CloudResourceKind;
use crate::core::names;
use crate::core::objects::API_VERSION;
use crate::core::path::{Failure, PropertyPath};

// Where kjob is stricter than upstream's buf.validate rules, the message names the rule (README,
// "Stricter than upstream", gives each one's reason).
/// metadata.name is required and a DNS label: it names the Job and its objects.
pub const RULE_NAME: &str = "[rule: dns-label-name]";
/// spec.image.repo is required: a Job without an image cannot start.
pub const RULE_IMAGE: &str = "[rule: image-required]";
/// requests may not exceed limits: the API server refuses such a pod only at creation.
pub const RULE_REQUESTS: &str = "[rule: requests-within-limits]";
/// An Indexed Job needs completions: the API server refuses one without.
pub const RULE_INDEXED: &str = "[rule: indexed-needs-completions]";
/// spec.namespace.value is a DNS label: it names a Namespace.
pub const RULE_NAMESPACE: &str = "[rule: dns-label-namespace]";

/// Restart policies a Job accepts.
pub const RESTART_POLICIES: [&str; 2] = ["OnFailure", "Never"];
/// Completion modes a Job accepts.
pub const COMPLETION_MODES: [&str; 2] = ["NonIndexed", "Indexed"];
const HOST_PATH_TYPES: [&str; 8] = [
    "",
    "DirectoryOrCreate",
    "Directory",
    "FileOrCreate",
    "File",
    "Socket",
    "CharDevice",
    "BlockDevice",
];
const CLUSTER_KINDS: [CloudResourceKind; 5] = [
    CloudResourceKind::AzureAksCluster,
    CloudResourceKind::AwsEksCluster,
    CloudResourceKind::GcpGkeCluster,
    CloudResourceKind::DigitalOceanKubernetesCluster,
    CloudResourceKind::CivoKubernetesCluster,
];

struct Report {
    failures: Vec<Failure>,
}

impl Report {
    fn fail(&mut self, path: PropertyPath, reason: impl Into<String>) {
        self.failures.push(Failure::new(path, reason));
    }

    fn check(&mut self, path: PropertyPath, result: Result<(), String>) {
        if let Err(reason) = result {
            self.fail(path, reason);
        }
    }
}

/// Validates a whole manifest; `root` is the path of the manifest (empty for a Pulumi resource,
/// whose inputs are `metadata` and `spec`).
pub fn validate(job: &KubernetesJob, root: &PropertyPath) -> Vec<Failure> {
    let mut report = Report {
        failures: Vec::new(),
    };
    if job.api_version != API_VERSION {
        report.fail(
            root.field("apiVersion"),
            format!("must be {API_VERSION:?}, got {:?}", job.api_version),
        );
    }
    if job.kind != "KubernetesJob" {
        report.fail(
            root.field("kind"),
            format!("must be \"KubernetesJob\", got {:?}", job.kind),
        );
    }
    match &job.metadata {
        None => report.fail(root.field("metadata"), "is required"),
        Some(metadata) => {
            let path = root.field("metadata").field("name");
            if metadata.name.is_empty() {
                report.fail(path, format!("is required (it names the Job) {RULE_NAME}"));
            } else {
                report.check(
                    path,
                    names::dns1123_label(&metadata.name)
                        .map_err(|e| format!("{e} (it names the Job) {RULE_NAME}")),
                );
            }
        }
    }
    match &job.spec {
        None => report.fail(root.field("spec"), "is required"),
        Some(spec) => validate_spec(&mut report, spec, &root.field("spec")),
    }
    report.failures
}

fn validate_spec(report: &mut Report, spec: &KubernetesJobSpec, at: &PropertyPath) {
    if let Some(target) = &spec.target_cluster {
        let ok = CLUSTER_KINDS
            .iter()
            .any(|k| *k as i32 == target.cluster_kind);
        if !ok {
            let names: Vec<&str> = CLUSTER_KINDS
                .iter()
                .map(CloudResourceKind::as_str_name)
                .collect();
            report.fail(
                at.field("targetCluster").field("clusterKind"),
                format!("must be one of: {}", names.join(", ")),
            );
        }
    }

    let ns_path = at.field("namespace");
    match spec
        .namespace
        .as_ref()
        .and_then(|n| n.literal_or_ref.as_ref())
    {
        None => report.fail(ns_path, "is required: set `value` or `valueFrom`"),
        Some(LiteralOrRef::Value(value)) => {
            report.check(
                ns_path.field("value"),
                names::dns1123_label(value).map_err(|e| format!("{e} {RULE_NAMESPACE}")),
            );
        }
        Some(LiteralOrRef::ValueFrom(reference)) => {
            if reference.name.is_empty() {
                report.fail(ns_path.field("valueFrom").field("name"), "is required");
            }
        }
    }

    match &spec.image {
        None => report.fail(at.field("image"), format!("is required {RULE_IMAGE}")),
        Some(image) => {
            if image.repo.is_empty() {
                report.fail(
                    at.field("image").field("repo"),
                    format!("is required {RULE_IMAGE}"),
                );
            } else if image.repo.contains(char::is_whitespace) {
                report.fail(
                    at.field("image").field("repo"),
                    "must not contain white space",
                );
            }
            if image.tag.contains(char::is_whitespace) {
                report.fail(
                    at.field("image").field("tag"),
                    "must not contain white space",
                );
            }
            if !image.pull_secret_name.is_empty() {
                report.check(
                    at.field("image").field("pullSecretName"),
                    names::dns1123_subdomain(&image.pull_secret_name),
                );
            }
        }
    }

    if let Some(resources) = &spec.resources {
        validate_resources(report, resources, &at.field("resources"));
    }

    let mut env_names = BTreeSet::new();
    if let Some(env) = &spec.env {
        let vars = at.field("env").field("variables");
        for (name, value) in &env.variables {
            let path = vars.key(name);
            report.check(path.clone(), names::c_identifier(name));
            env_names.insert(name.clone());
            match &value.literal_or_ref {
                None => report.fail(path, "set `value` or `valueFrom`"),
                Some(LiteralOrRef::Value(_)) => {}
                Some(LiteralOrRef::ValueFrom(reference)) => {
                    if reference.name.is_empty() {
                        report.fail(path.field("valueFrom").field("name"), "is required");
                    }
                }
            }
        }
        let secrets = at.field("env").field("secrets");
        for (name, value) in &env.secrets {
            let path = secrets.key(name);
            report.check(path.clone(), names::c_identifier(name));
            if env_names.contains(name) {
                report.fail(path.clone(), format!("{name:?} is also set in spec.env.variables; an environment variable can have one source"));
            }
            match &value.sensitive_value {
                None => report.fail(path, "set `value` or `secretRef`"),
                Some(SensitiveValue::Value(_)) => {}
                Some(SensitiveValue::SecretRef(reference)) => {
                    let path = path.field("secretRef");
                    if reference.name.is_empty() {
                        report.fail(path.field("name"), "is required");
                    } else {
                        report.check(
                            path.field("name"),
                            names::dns1123_subdomain(&reference.name),
                        );
                    }
                    if reference.key.is_empty() {
                        report.fail(path.field("key"), "is required");
                    } else {
                        report.check(path.field("key"), names::config_key(&reference.key));
                    }
                    if !reference.namespace.is_empty() {
                        report.check(
                            path.field("namespace"),
                            names::dns1123_label(&reference.namespace),
                        );
                    }
                }
            }
        }
    }

    for (field, value) in [
        ("parallelism", spec.parallelism),
        ("completions", spec.completions),
        ("backoffLimit", spec.backoff_limit),
        ("ttlSecondsAfterFinished", spec.ttl_seconds_after_finished),
    ] {
        if value.is_some_and(|v| v > i32::MAX as u32) {
            report.fail(at.field(field), format!("must be at most {}", i32::MAX));
        }
    }
    if spec
        .active_deadline_seconds
        .is_some_and(|v| v > i64::MAX as u64)
    {
        report.fail(
            at.field("activeDeadlineSeconds"),
            format!("must be at most {}", i64::MAX),
        );
    }
    if let Some(mode) = &spec.completion_mode
        && !COMPLETION_MODES.contains(&mode.as_str())
    {
        report.fail(
            at.field("completionMode"),
            format!(
                "must be one of: {}; got {mode:?}",
                COMPLETION_MODES.join(", ")
            ),
        );
    }
    if spec.completion_mode.as_deref() == Some("Indexed") && spec.completions.unwrap_or(0) == 0 {
        report.fail(
            at.field("completions"),
            format!("must be greater than 0 when completionMode is Indexed {RULE_INDEXED}"),
        );
    }
    if let Some(policy) = &spec.restart_policy
        && !RESTART_POLICIES.contains(&policy.as_str())
    {
        report.fail(
            at.field("restartPolicy"),
            format!(
                "must be one of: {} (a Job's pods cannot use Always); got {policy:?}",
                RESTART_POLICIES.join(", ")
            ),
        );
    }

    for name in spec.config_maps.keys() {
        report.check(
            at.field("configMaps").key(name),
            names::dns1123_subdomain(name),
        );
    }

    let mut volume_names = BTreeSet::new();
    let mut mount_paths = BTreeSet::new();
    for (i, mount) in spec.volume_mounts.iter().enumerate() {
        let path = at.field("volumeMounts").index(i);
        if mount.name.is_empty() {
            report.fail(path.field("name"), "is required");
        } else {
            report.check(path.field("name"), names::dns1123_label(&mount.name));
            if !volume_names.insert(mount.name.clone()) {
                report.fail(
                    path.field("name"),
                    format!(
                        "{:?} is used by an earlier volume mount; names must be unique",
                        mount.name
                    ),
                );
            }
        }
        if mount.mount_path.is_empty() {
            report.fail(path.field("mountPath"), "is required");
        } else if !mount_paths.insert(mount.mount_path.clone()) {
            report.fail(
                path.field("mountPath"),
                format!(
                    "{:?} is mounted by an earlier volume mount",
                    mount.mount_path
                ),
            );
        }
        validate_volume_source(report, spec, mount, &path);
    }
}

fn validate_resources(report: &mut Report, resources: &ContainerResources, at: &PropertyPath) {
    let mut parsed = [[None; 2]; 2];
    for (i, (name, cpu_memory)) in [
        ("limits", &resources.limits),
        ("requests", &resources.requests),
    ]
    .into_iter()
    .enumerate()
    {
        let Some(cpu_memory) = cpu_memory else {
            continue;
        };
        for (j, (field, text)) in [("cpu", &cpu_memory.cpu), ("memory", &cpu_memory.memory)]
            .into_iter()
            .enumerate()
        {
            if text.is_empty() {
                continue;
            }
            match names::quantity(text) {
                Ok(value) => parsed[i][j] = Some(value),
                Err(reason) => report.fail(at.field(name).field(field), reason),
            }
        }
    }
    for (j, field) in ["cpu", "memory"].into_iter().enumerate() {
        if let (Some(limit), Some(request)) = (parsed[0][j], parsed[1][j])
            && request > limit
        {
            report.fail(
                at.field("requests").field(field),
                format!("must not exceed limits.{field} {RULE_REQUESTS}"),
            );
        }
    }
}

fn validate_volume_source(
    report: &mut Report,
    spec: &KubernetesJobSpec,
    mount: &VolumeMount,
    at: &PropertyPath,
) {
    let sources: Vec<&str> = [
        ("configMap", mount.config_map.is_some()),
        ("secret", mount.secret.is_some()),
        ("hostPath", mount.host_path.is_some()),
        ("emptyDir", mount.empty_dir.is_some()),
        ("pvc", mount.pvc.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    match sources.len() {
        0 => report.fail(
            at.clone(),
            "set exactly one volume source: configMap, secret, hostPath, emptyDir or pvc",
        ),
        1 => {}
        _ => report.fail(
            at.clone(),
            format!("set exactly one volume source; got {}", sources.join(", ")),
        ),
    }
    let mode_ok = |mode: i32| (0..=0o777).contains(&mode);
    if let Some(source) = &mount.config_map {
        let path = at.field("configMap");
        if source.name.is_empty() {
            report.fail(path.field("name"), "is required");
        } else if spec.config_maps.contains_key(&source.name) {
            // One of ours: it holds the single key named after it.
            if !source.key.is_empty() && source.key != source.name {
                report.fail(
                    path.field("key"),
                    format!(
                        "the ConfigMap {:?} (from spec.configMaps) has the single key {:?}; got {:?}",
                        source.name, source.name, source.key
                    ),
                );
            }
        } else {
            // A ConfigMap that already exists in the namespace, mounted as named (as upstream's
            // module does); kjob neither creates nor owns it.
            report.check(path.field("name"), names::dns1123_subdomain(&source.name));
            if !source.key.is_empty() {
                report.check(path.field("key"), names::config_key(&source.key));
            }
        }
        if !mode_ok(source.default_mode) {
            report.fail(
                path.field("defaultMode"),
                "must be between 0 and 0777 (511)",
            );
        }
    }
    if let Some(source) = &mount.secret {
        let path = at.field("secret");
        if source.name.is_empty() {
            report.fail(path.field("name"), "is required");
        } else {
            report.check(path.field("name"), names::dns1123_subdomain(&source.name));
        }
        if !source.key.is_empty() {
            report.check(path.field("key"), names::config_key(&source.key));
        }
        if !mode_ok(source.default_mode) {
            report.fail(
                path.field("defaultMode"),
                "must be between 0 and 0777 (511)",
            );
        }
    }
    if let Some(source) = &mount.host_path {
        let path = at.field("hostPath");
        if source.path.is_empty() {
            report.fail(path.field("path"), "is required");
        }
        if !HOST_PATH_TYPES.contains(&source.r#type.as_str()) {
            report.fail(
                path.field("type"),
                format!("must be one of: {}", HOST_PATH_TYPES[1..].join(", ")),
            );
        }
    }
    if let Some(source) = &mount.empty_dir {
        let path = at.field("emptyDir");
        if !["", "Memory"].contains(&source.medium.as_str()) {
            report.fail(path.field("medium"), "must be empty or \"Memory\"");
        }
        if !source.size_limit.is_empty()
            && let Err(reason) = names::quantity(&source.size_limit)
        {
            report.fail(path.field("sizeLimit"), reason);
        }
    }
    if let Some(source) = &mount.pvc
        && source.claim_name.is_empty()
    {
        report.fail(at.field("pvc").field("claimName"), "is required");
    }
}
