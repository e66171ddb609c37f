//! Rendering: a validated, reference-free KubernetesJob becomes the Kubernetes objects it
//! promises. Pure: the same manifest always renders the same objects.
//!
//! Objects, in the order they are applied:
//! 1. `Namespace` `<namespace>`, when `spec.createNamespace` is true;
//! 2. one `ConfigMap` per `spec.configMaps` entry, named after the key, holding one data key of
//!    the same name;
//! 3. `Secret` `<name>-env-secrets` (Opaque) with every direct `spec.env.secrets` value, read by
//!    the container through `secretKeyRef`, never as a plain env value;
//! 4. `Secret` `<name>-image-pull-secret` (`kubernetes.io/dockerconfigjson`), when registry
//!    credentials are given;
//! 5. `ServiceAccount` `<name>`, which the Job's pods run as;
//! 6. `Job` `<name>`.
//!
//! Labels (see [`labels`]): every object carries `app.kubernetes.io/managed-by: kjob` and
//! `kjob.project-planton.org/job: <name>` (together the ownership mark: nothing without it is ever
//! deleted), upstream's `planton.ai/*` labels, and the manifest's `metadata.labels`. The pod
//! template carries only the labels derived from the name, so that metadata changes never touch
//! the immutable template.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, EmptyDirVolumeSource, EnvVar, EnvVarSource,
    HostPathVolumeSource, KeyToPath, LocalObjectReference, Namespace,
    PersistentVolumeClaimVolumeSource, PodSpec, PodTemplateSpec, ResourceRequirements, Secret,
    SecretKeySelector, SecretVolumeSource, ServiceAccount, Volume, VolumeMount as K8sVolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::api::foreignkey::StringValueOrRef;
use crate::api::foreignkey::string_value_or_ref::LiteralOrRef;
use crate::api::job::{KubernetesJob, KubernetesJobSpec};
use crate::api::k8s::kubernetes_sensitive_value::SensitiveValue;
use crate::api::k8s::{CpuMemory, VolumeMount};
use crate::core::objects::{Object, ObjectKind, ObjectRef, body, labels};

/// The container's name in the Job's pod template.
pub const CONTAINER_NAME: &str = "job-container";

/// What cannot be rendered: only inputs that validation or reference resolution should have
/// stopped reach here.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    /// A required part of the manifest is absent.
    #[error("{0} is required")]
    Missing(&'static str),
    /// A reference was not resolved before rendering.
    #[error("{0} still holds an unresolved valueFrom reference")]
    Unresolved(String),
}

/// Everything a KubernetesJob deploys.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The namespace everything lives in.
    pub namespace: String,
    /// The Job's name.
    pub job_name: String,
    /// The Namespace object, when the manifest creates it.
    pub namespace_object: Option<Namespace>,
    /// ConfigMaps from spec.configMaps.
    pub config_maps: Vec<ConfigMap>,
    /// The Secret with direct env secret values.
    pub env_secret: Option<Secret>,
    /// The registry-credentials Secret.
    pub image_pull_secret: Option<Secret>,
    /// The ServiceAccount the pods run as.
    pub service_account: ServiceAccount,
    /// The Job.
    pub job: Job,
}

/// Options that are not part of the manifest.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Contents of a `.dockerconfigjson` for pulling the image (upstream's stack input
    /// `docker_config_json`).
    pub docker_config_json: Option<String>,
    /// The deploying stack, part of the owner identity every object carries
    /// ([`crate::core::owner::Owner`]); stamped by [`crate::kinds::Checked::render`].
    pub stack: String,
}

fn literal(value: &Option<StringValueOrRef>, path: &str) -> Result<String, RenderError> {
    match value.as_ref().and_then(|v| v.literal_or_ref.as_ref()) {
        Some(LiteralOrRef::Value(v)) => Ok(v.clone()),
        Some(LiteralOrRef::ValueFrom(_)) => Err(RenderError::Unresolved(path.to_owned())),
        None => Err(RenderError::Missing("spec.namespace")),
    }
}

/// Name of the Secret holding direct env secret values.
pub fn env_secret_name(job_name: &str) -> String {
    format!("{job_name}-env-secrets")
}

/// Name of the registry-credentials Secret.
pub fn image_pull_secret_name(job_name: &str) -> String {
    format!("{job_name}-image-pull-secret")
}

/// The labels every object of `job` carries (metadata labels of the manifest included).
pub fn object_labels(job: &KubernetesJob) -> BTreeMap<String, String> {
    let metadata = job.metadata.clone().unwrap_or_default();
    let mut out: BTreeMap<String, String> = metadata.labels.clone().into_iter().collect();
    if !metadata.id.is_empty() {
        out.insert(labels::PLANTON_ID.into(), metadata.id.clone());
    }
    if !metadata.org.is_empty() {
        out.insert(labels::PLANTON_ORG.into(), metadata.org.clone());
    }
    if !metadata.env.is_empty() {
        out.insert(labels::PLANTON_ENV.into(), metadata.env.clone());
    }
    out.extend(template_labels(&metadata.name));
    out
}

/// The labels of the pod template: derived from the name only.
pub fn template_labels(job_name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (labels::MANAGED_BY.into(), labels::MANAGED_BY_VALUE.into()),
        (labels::OWNER.into(), job_name.into()),
        (labels::PLANTON_RESOURCE.into(), "true".into()),
        (labels::PLANTON_NAME.into(), job_name.into()),
        (labels::PLANTON_KIND.into(), "KubernetesJob".into()),
    ])
}

/// Renders every object of a KubernetesJob whose references are resolved.
pub fn render(job: &KubernetesJob, options: &RenderOptions) -> Result<Rendered, RenderError> {
    let metadata = job
        .metadata
        .as_ref()
        .ok_or(RenderError::Missing("metadata"))?;
    let spec = job.spec.as_ref().ok_or(RenderError::Missing("spec"))?;
    let name = metadata.name.clone();
    let namespace = literal(&spec.namespace, "spec.namespace")?;
    let labels = object_labels(job);
    let annotations: BTreeMap<String, String> = metadata.annotations.clone().into_iter().collect();
    let meta = |object_name: &str, ns: Option<&str>| ObjectMeta {
        name: Some(object_name.to_owned()),
        namespace: ns.map(str::to_owned),
        labels: Some(labels.clone()),
        annotations: (!annotations.is_empty()).then(|| annotations.clone()),
        ..ObjectMeta::default()
    };

    let namespace_object = spec.create_namespace.then(|| Namespace {
        metadata: meta(&namespace, None),
        ..Namespace::default()
    });

    let config_maps = spec
        .config_maps
        .iter()
        .map(|(cm_name, content)| ConfigMap {
            metadata: meta(cm_name, Some(&namespace)),
            data: Some(BTreeMap::from([(cm_name.clone(), content.clone())])),
            ..ConfigMap::default()
        })
        .collect();

    let direct_secrets: BTreeMap<String, ByteString> = spec
        .env
        .iter()
        .flat_map(|env| env.secrets.iter())
        .filter_map(|(key, value)| match &value.sensitive_value {
            Some(SensitiveValue::Value(v)) => {
                Some((key.clone(), ByteString(v.clone().into_bytes())))
            }
            _ => None,
        })
        .collect();
    let env_secret = (!direct_secrets.is_empty()).then(|| Secret {
        metadata: meta(&env_secret_name(&name), Some(&namespace)),
        type_: Some("Opaque".into()),
        data: Some(direct_secrets),
        ..Secret::default()
    });

    let image_pull_secret = options.docker_config_json.as_ref().map(|config| Secret {
        metadata: meta(&image_pull_secret_name(&name), Some(&namespace)),
        type_: Some("kubernetes.io/dockerconfigjson".into()),
        data: Some(BTreeMap::from([(
            ".dockerconfigjson".into(),
            ByteString(config.clone().into_bytes()),
        )])),
        ..Secret::default()
    });

    let service_account = ServiceAccount {
        metadata: meta(&name, Some(&namespace)),
        ..ServiceAccount::default()
    };

    let job_object = Job {
        metadata: meta(&name, Some(&namespace)),
        spec: Some(job_spec(&name, spec, image_pull_secret.is_some())?),
        status: None,
    };

    Ok(Rendered {
        namespace,
        job_name: name,
        namespace_object,
        config_maps,
        env_secret,
        image_pull_secret,
        service_account,
        job: job_object,
    })
}

fn job_spec(
    name: &str,
    spec: &KubernetesJobSpec,
    has_pull_secret: bool,
) -> Result<JobSpec, RenderError> {
    let image = spec
        .image
        .as_ref()
        .ok_or(RenderError::Missing("spec.image"))?;
    let image_ref = if image.tag.is_empty() {
        image.repo.clone()
    } else if image.tag.starts_with("sha256:") {
        format!("{}@{}", image.repo, image.tag)
    } else {
        format!("{}:{}", image.repo, image.tag)
    };

    let mut env = Vec::new();
    if let Some(app_env) = &spec.env {
        for (key, value) in &app_env.variables {
            match &value.literal_or_ref {
                Some(LiteralOrRef::Value(v)) => env.push(EnvVar {
                    name: key.clone(),
                    value: Some(v.clone()),
                    value_from: None,
                }),
                // Names no kind: nothing to resolve it from; left out, as upstream's module
                // leaves out every variable without a literal (see core::refs).
                Some(LiteralOrRef::ValueFrom(r)) if r.kind == 0 => {}
                Some(LiteralOrRef::ValueFrom(_)) => {
                    return Err(RenderError::Unresolved(format!("spec.env.variables.{key}")));
                }
                None => {}
            }
        }
        for (key, value) in &app_env.secrets {
            let (secret_name, secret_key) = match &value.sensitive_value {
                Some(SensitiveValue::Value(_)) => (env_secret_name(name), key.clone()),
                Some(SensitiveValue::SecretRef(r)) => (r.name.clone(), r.key.clone()),
                None => continue,
            };
            env.push(EnvVar {
                name: key.clone(),
                value: None,
                value_from: Some(EnvVarSource {
                    secret_key_ref: Some(SecretKeySelector {
                        name: secret_name,
                        key: secret_key,
                        optional: None,
                    }),
                    ..EnvVarSource::default()
                }),
            });
        }
    }

    let (mounts, volumes): (Vec<_>, Vec<_>) = spec.volume_mounts.iter().map(volume).unzip();

    let container = Container {
        name: CONTAINER_NAME.into(),
        image: Some(image_ref),
        command: (!spec.command.is_empty()).then(|| spec.command.clone()),
        args: (!spec.args.is_empty()).then(|| spec.args.clone()),
        env: (!env.is_empty()).then_some(env),
        resources: spec.resources.as_ref().map(|r| ResourceRequirements {
            limits: quantities(r.limits.as_ref()),
            requests: quantities(r.requests.as_ref()),
            ..ResourceRequirements::default()
        }),
        volume_mounts: (!mounts.is_empty()).then_some(mounts),
        ..Container::default()
    };

    let mut pull_secrets = Vec::new();
    if !image.pull_secret_name.is_empty() {
        pull_secrets.push(LocalObjectReference {
            name: image.pull_secret_name.clone(),
        });
    }
    if has_pull_secret {
        pull_secrets.push(LocalObjectReference {
            name: image_pull_secret_name(name),
        });
    }

    let positive_i32 = |v: Option<u32>| v.filter(|v| *v > 0).map(|v| v as i32);
    Ok(JobSpec {
        parallelism: spec.parallelism.map(|v| v as i32),
        completions: positive_i32(spec.completions),
        backoff_limit: spec.backoff_limit.map(|v| v as i32),
        active_deadline_seconds: spec
            .active_deadline_seconds
            .filter(|v| *v > 0)
            .map(|v| v as i64),
        ttl_seconds_after_finished: positive_i32(spec.ttl_seconds_after_finished),
        completion_mode: spec.completion_mode.clone().filter(|m| !m.is_empty()),
        suspend: spec.suspend,
        template: PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(template_labels(name)),
                ..ObjectMeta::default()
            }),
            spec: Some(PodSpec {
                restart_policy: spec.restart_policy.clone(),
                service_account_name: Some(name.to_owned()),
                containers: vec![container],
                volumes: (!volumes.is_empty()).then_some(volumes),
                image_pull_secrets: (!pull_secrets.is_empty()).then_some(pull_secrets),
                ..PodSpec::default()
            }),
        },
        ..JobSpec::default()
    })
}

fn quantities(cpu_memory: Option<&CpuMemory>) -> Option<BTreeMap<String, Quantity>> {
    let cpu_memory = cpu_memory?;
    let map: BTreeMap<String, Quantity> =
        [("cpu", &cpu_memory.cpu), ("memory", &cpu_memory.memory)]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_owned(), Quantity(v.clone())))
            .collect();
    (!map.is_empty()).then_some(map)
}

fn items(key: &str, path: &str) -> Option<Vec<KeyToPath>> {
    (!key.is_empty()).then(|| {
        vec![KeyToPath {
            key: key.to_owned(),
            path: if path.is_empty() {
                key.to_owned()
            } else {
                path.to_owned()
            },
            mode: None,
        }]
    })
}

fn volume(mount: &VolumeMount) -> (K8sVolumeMount, Volume) {
    let k8s_mount = K8sVolumeMount {
        name: mount.name.clone(),
        mount_path: mount.mount_path.clone(),
        read_only: mount.read_only.then_some(true),
        sub_path: (!mount.sub_path.is_empty()).then(|| mount.sub_path.clone()),
        ..K8sVolumeMount::default()
    };
    let mode = |m: i32| (m > 0).then_some(m);
    let mut volume = Volume {
        name: mount.name.clone(),
        ..Volume::default()
    };
    if let Some(s) = &mount.config_map {
        volume.config_map = Some(ConfigMapVolumeSource {
            name: s.name.clone(),
            items: items(&s.key, &s.path),
            default_mode: mode(s.default_mode),
            ..ConfigMapVolumeSource::default()
        });
    } else if let Some(s) = &mount.secret {
        volume.secret = Some(SecretVolumeSource {
            secret_name: Some(s.name.clone()),
            items: items(&s.key, &s.path),
            default_mode: mode(s.default_mode),
            ..SecretVolumeSource::default()
        });
    } else if let Some(s) = &mount.host_path {
        volume.host_path = Some(HostPathVolumeSource {
            path: s.path.clone(),
            type_: (!s.r#type.is_empty()).then(|| s.r#type.clone()),
        });
    } else if let Some(s) = &mount.empty_dir {
        volume.empty_dir = Some(EmptyDirVolumeSource {
            medium: (!s.medium.is_empty()).then(|| s.medium.clone()),
            size_limit: (!s.size_limit.is_empty()).then(|| Quantity(s.size_limit.clone())),
        });
    } else if let Some(s) = &mount.pvc {
        volume.persistent_volume_claim = Some(PersistentVolumeClaimVolumeSource {
            claim_name: s.claim_name.clone(),
            read_only: s.read_only.then_some(true),
        });
    }
    (k8s_mount, volume)
}

impl Rendered {
    /// Every object, in apply order (delete in reverse).
    pub fn objects(&self) -> Vec<Object> {
        let ns = Some(self.namespace.clone());
        let mut out = Vec::new();
        let mut push = |kind: ObjectKind,
                        namespace: Option<String>,
                        name: &str,
                        body: serde_json::Value,
                        sensitive: bool| {
            out.push(Object {
                id: ObjectRef {
                    kind,
                    namespace,
                    name: name.to_owned(),
                },
                body,
                sensitive,
            });
        };
        if let Some(n) = &self.namespace_object {
            push(
                ObjectKind::Namespace,
                None,
                &self.namespace,
                body(ObjectKind::Namespace, n),
                false,
            );
        }
        for cm in &self.config_maps {
            let name = cm.metadata.name.clone().unwrap_or_default();
            push(
                ObjectKind::ConfigMap,
                ns.clone(),
                &name,
                body(ObjectKind::ConfigMap, cm),
                false,
            );
        }
        for secret in [&self.env_secret, &self.image_pull_secret]
            .into_iter()
            .flatten()
        {
            let name = secret.metadata.name.clone().unwrap_or_default();
            push(
                ObjectKind::Secret,
                ns.clone(),
                &name,
                body(ObjectKind::Secret, secret),
                true,
            );
        }
        push(
            ObjectKind::ServiceAccount,
            ns.clone(),
            &self.job_name,
            body(ObjectKind::ServiceAccount, &self.service_account),
            false,
        );
        push(
            ObjectKind::Job,
            ns,
            &self.job_name,
            body(ObjectKind::Job, &self.job),
            false,
        );
        out
    }
}
