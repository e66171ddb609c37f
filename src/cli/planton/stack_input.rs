//! `--stack-input FILE` (`-i`): a `KubernetesJobStackInput` as upstream's CLI and modules read
//! it: `target` (the manifest), `providerConfig` (`KubernetesProviderConfig`: how to reach the
//! cluster), and the orchestrator's `kubernetesNamespace` and `dockerConfigJson`. Keys in
//! camel or snake case, as upstream writes both.
//!
//! Provider configurations: `digital_ocean_doks` uses its `kubeConfig` as given; `gcp_gke`
//! builds a kubeconfig from `clusterEndpoint`, `clusterCaData` and a token exchanged for
//! `serviceAccountKeyBase64` ([`super::gke`]); `aws_eks` and `azure_aks` are refused (upstream's
//! module has no implementation for them either); no `providerConfig` means the ambient
//! kubeconfig (`--kubeconfig`, `KUBECONFIG`, ...), as upstream.
//!
//! Messages name the file, the property path and its line and column in the file
//! (`stack.yaml:12:5: providerConfig.bogus: unknown field ...`). The target keeps the file's
//! lines when it is written as a block under `target:` ([`StackInput::in_place`]), so that the
//! manifest pipeline's messages point into the file too.

use serde_json::Value;

use crate::api;
use crate::api::k8s::{KubernetesProvider, KubernetesProviderConfig};
use crate::core::codec;
use crate::core::path::PropertyPath;
use crate::manifest;

/// Full name of the provider configuration message.
pub const PROVIDER_CONFIG: &str =
    "org.project_planton.provider.kubernetes.KubernetesProviderConfig";

/// A stack input, read.
pub struct StackInput {
    /// The `target` manifest, as YAML text.
    pub target: String,
    /// Whether `target` keeps the file's lines and columns (the other lines blanked), so that
    /// positions in it are positions in the file.
    pub in_place: bool,
    /// The provider configuration, when given.
    pub provider: Option<KubernetesProviderConfig>,
}

/// How kjob reaches the cluster a provider configuration names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// A kubeconfig's YAML contents (a secret: memory only).
    Kubeconfig(String),
    /// A GKE cluster: the token is exchanged for the key first.
    Gke {
        /// `clusterEndpoint`.
        endpoint: String,
        /// `clusterCaData` (base64 PEM).
        ca_data: String,
        /// `serviceAccountKeyBase64`.
        key_base64: String,
    },
}

fn take(map: &mut serde_json::Map<String, Value>, camel: &str, snake: &str) -> Option<Value> {
    map.remove(camel).or_else(|| map.remove(snake))
}

/// Reads a stack input from `text` (YAML); `source` names it in errors.
pub fn parse(source: &str, text: &str) -> Result<StackInput, Vec<String>> {
    let value: Value = serde_saphyr::from_str(text)
        .map_err(|e| vec![format!("{source}: not a YAML stack input: {e}")])?;
    let Value::Object(mut map) = value else {
        return Err(vec![format!(
            "{source}: a stack input is a mapping with target and providerConfig"
        )]);
    };
    let mut problems = Vec::new();
    let at = |path: &PropertyPath| match manifest::position_of(text, path) {
        Some(p) => format!("{source}:{}:{}", p.line, p.column),
        None => source.to_owned(),
    };
    let target = take(&mut map, "target", "target");
    let provider = take(&mut map, "providerConfig", "provider_config");
    // Filled by upstream's orchestrator; kjob resolves spec.namespace itself.
    let _namespace = take(&mut map, "kubernetesNamespace", "kubernetes_namespace");
    if take(&mut map, "dockerConfigJson", "docker_config_json").is_some_and(|v| v != "") {
        problems.push(format!(
            "{}: dockerConfigJson: not supported by the kjob CLI (mount registry credentials as a Secret named in spec.image.pullSecretName, or use the Pulumi provider's dockerConfigJson input)",
            at(&PropertyPath::root().field("dockerConfigJson"))
        ));
    }
    for key in map.keys() {
        problems.push(format!(
            "{}: {key}: unknown field (a stack input has target, providerConfig, kubernetesNamespace, dockerConfigJson)",
            at(&PropertyPath::root().key(key))
        ));
    }
    let (target, in_place) = match target {
        Some(target @ Value::Object(_)) => match target_in_place(text, &target) {
            Some(kept) => (kept, true),
            None => (serde_saphyr::to_string(&target).unwrap_or_default(), false),
        },
        _ => {
            problems.push(format!("{source}: target: is required (the manifest)"));
            (String::new(), false)
        }
    };
    let provider = provider.filter(|p| !p.is_null()).map(|p| {
        let decoded = codec::decode(
            &api::message(PROVIDER_CONFIG),
            &p,
            &PropertyPath::root().field("providerConfig"),
            None,
        );
        for failure in &decoded.failures {
            problems.push(format!("{}: {failure}", at(&failure.path)));
        }
        codec::to_typed::<KubernetesProviderConfig>(&decoded.message)
    });
    if problems.is_empty() {
        Ok(StackInput {
            target,
            in_place,
            provider,
        })
    } else {
        Err(problems)
    }
}

/// The `target` block of a stack input as YAML text on the file's own lines and columns, every
/// other line blanked: when `target:` starts a line and holds a block mapping, and the kept
/// text reads back as `target` (else `None`, and the target is written out anew).
fn target_in_place(text: &str, target: &Value) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|line| {
        line.strip_prefix("target:")
            .map(str::trim)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('#'))
    })?;
    let mut kept = vec![""; lines.len()];
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        if line.starts_with(|c: char| !c.is_whitespace() && c != '#') {
            break;
        }
        kept[i] = line;
    }
    let kept = kept.join("\n");
    let value: Value = serde_saphyr::from_str(&kept).ok()?;
    (value == *target).then_some(kept)
}

/// How to reach the cluster `config` names; errors name the field.
pub fn reach(config: &KubernetesProviderConfig) -> Result<Reach, String> {
    let at = "providerConfig";
    match KubernetesProvider::try_from(config.provider).unwrap_or_default() {
        KubernetesProvider::DigitalOceanDoks => {
            let kube_config = config
                .digital_ocean_doks
                .as_ref()
                .map(|d| d.kube_config.clone())
                .unwrap_or_default();
            if kube_config.trim().is_empty() {
                return Err(format!("{at}.digitalOceanDoks.kubeConfig: is required"));
            }
            Ok(Reach::Kubeconfig(kube_config))
        }
        KubernetesProvider::GcpGke => {
            let gke = config.gcp_gke.clone().unwrap_or_default();
            for (field, value) in [
                ("clusterEndpoint", &gke.cluster_endpoint),
                ("clusterCaData", &gke.cluster_ca_data),
                ("serviceAccountKeyBase64", &gke.service_account_key_base64),
            ] {
                if value.trim().is_empty() {
                    return Err(format!("{at}.gcpGke.{field}: is required"));
                }
            }
            Ok(Reach::Gke {
                endpoint: gke.cluster_endpoint,
                ca_data: gke.cluster_ca_data,
                key_base64: gke.service_account_key_base64,
            })
        }
        KubernetesProvider::AwsEks | KubernetesProvider::AzureAks => Err(format!(
            "{at}.provider: {} is not supported (upstream's module has no implementation for it either); give a kubeconfig instead (--kubeconfig, or provider digital_ocean_doks with kubeConfig)",
            KubernetesProvider::try_from(config.provider)
                .unwrap_or_default()
                .as_str_name()
        )),
        KubernetesProvider::Unspecified => Err(format!(
            "{at}.provider: is required (gcp_gke or digital_ocean_doks)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TARGET: &str = "target:\n  apiVersion: kubernetes.project-planton.org/v1\n  kind: KubernetesJob\n  metadata: {name: a}\n  spec: {namespace: {value: ns}, image: {repo: busybox}}\n";

    #[test]
    fn reads_target_and_provider_config_in_either_spelling() {
        let input = parse(
            "s.yaml",
            &format!("{TARGET}provider_config:\n  provider: digital_ocean_doks\n  digital_ocean_doks: {{kube_config: 'apiVersion: v1'}}\n"),
        )
        .unwrap();
        assert!(input.target.contains("KubernetesJob"));
        assert_eq!(
            reach(&input.provider.unwrap()).unwrap(),
            Reach::Kubeconfig("apiVersion: v1".into())
        );
        let input = parse(
            "s.yaml",
            &format!("{TARGET}providerConfig:\n  provider: gcp_gke\n  gcpGke: {{clusterEndpoint: 1.2.3.4, clusterCaData: Q0E=, serviceAccountKeyBase64: a2V5}}\n"),
        )
        .unwrap();
        assert!(
            matches!(reach(&input.provider.unwrap()).unwrap(), Reach::Gke { endpoint, .. } if endpoint == "1.2.3.4")
        );
        assert!(parse("s.yaml", TARGET).unwrap().provider.is_none());
    }

    #[test]
    fn problems_name_the_field() {
        let e = parse(
            "s.yaml",
            "providerConfig: {provider: gcp_gke, nope: 1}\nextra: 1\n",
        )
        .err()
        .unwrap()
        .join("\n");
        assert!(e.contains("s.yaml:2:8: extra: unknown field"), "{e}");
        assert!(e.contains("s.yaml: target: is required"), "{e}");
        assert!(e.contains("s.yaml:1:43: providerConfig.nope"), "{e}");
        let config = KubernetesProviderConfig {
            provider: KubernetesProvider::GcpGke as i32,
            ..KubernetesProviderConfig::default()
        };
        assert_eq!(
            reach(&config).unwrap_err(),
            "providerConfig.gcpGke.clusterEndpoint: is required"
        );
        let config = KubernetesProviderConfig {
            provider: KubernetesProvider::AwsEks as i32,
            ..KubernetesProviderConfig::default()
        };
        assert!(
            reach(&config)
                .unwrap_err()
                .contains("aws_eks is not supported")
        );
    }

    #[test]
    fn positions_are_the_files_own() {
        let text = "# a stack input\nproviderConfig:\n  provider: digital_ocean_doks\n  bogusField: 1\nextra: x\ntarget:\n  apiVersion: kubernetes.project-planton.org/v1\n  kind: KubernetesJob\n  metadata: {name: a}\n  spec:\n    namespace: {value: ns}\n    # a comment\n    backoffLimit: many\n";
        let e = parse("s.yaml", text).err().unwrap().join("\n");
        assert!(
            e.contains("s.yaml:4:15: providerConfig.bogusField: unknown field"),
            "{e}"
        );
        assert!(e.contains("s.yaml:5:8: extra: unknown field"), "{e}");
        let fixed = text.replace("  bogusField: 1\nextra: x\n", "");
        let input = parse("s.yaml", &fixed).unwrap();
        assert!(input.in_place);
        let path = PropertyPath::root().field("spec").field("backoffLimit");
        assert_eq!(
            manifest::position_of(&input.target, &path),
            manifest::position_of(
                &fixed,
                &PropertyPath::root()
                    .field("target")
                    .field("spec")
                    .field("backoffLimit")
            ),
        );
        let docs = manifest::parse("s.yaml", &input.target).unwrap();
        assert_eq!(docs[0].whole("x").to_string(), "s.yaml:5:3: x");
        // A flow-style target is written out anew: its positions are not the file's.
        let input = parse("s.yaml", "target: {apiVersion: v, kind: K}\n").unwrap();
        assert!(!input.in_place);
    }
}
