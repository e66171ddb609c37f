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

use serde_json::Value;

use crate::api;
use crate::api::k8s::{KubernetesProvider, KubernetesProviderConfig};
use crate::core::codec;
use crate::core::path::PropertyPath;

/// Full name of the provider configuration message.
pub const PROVIDER_CONFIG: &str =
    "org.project_planton.provider.kubernetes.KubernetesProviderConfig";

/// A stack input, read.
pub struct StackInput {
    /// The `target` manifest, as YAML text.
    pub target: String,
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
    let target = take(&mut map, "target", "target");
    let provider = take(&mut map, "providerConfig", "provider_config");
    // Filled by upstream's orchestrator; kjob resolves spec.namespace itself.
    let _namespace = take(&mut map, "kubernetesNamespace", "kubernetes_namespace");
    if take(&mut map, "dockerConfigJson", "docker_config_json").is_some_and(|v| v != "") {
        problems.push(format!(
            "{source}: dockerConfigJson: not supported by the kjob CLI (mount registry credentials as a Secret named in spec.image.pullSecretName, or use the Pulumi provider's dockerConfigJson input)"
        ));
    }
    for key in map.keys() {
        problems.push(format!(
            "{source}: {key}: unknown field (a stack input has target, providerConfig, kubernetesNamespace, dockerConfigJson)"
        ));
    }
    let target = match target {
        Some(target @ Value::Object(_)) => serde_saphyr::to_string(&target).unwrap_or_default(),
        _ => {
            problems.push(format!("{source}: target: is required (the manifest)"));
            String::new()
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
            problems.push(format!("{source}: {failure}"));
        }
        codec::to_typed::<KubernetesProviderConfig>(&decoded.message)
    });
    if problems.is_empty() {
        Ok(StackInput { target, provider })
    } else {
        Err(problems)
    }
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
        assert!(e.contains("s.yaml: extra: unknown field"), "{e}");
        assert!(e.contains("s.yaml: target: is required"), "{e}");
        assert!(e.contains("providerConfig.nope"), "{e}");
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
}
