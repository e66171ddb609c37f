//! What a checked KubernetesNamespace renders to, in apply order: the Namespace (labels with the
//! Pod Security Standard, annotations with service-mesh injection), then, when the spec asks for
//! them, the ResourceQuota `<name>-quota`, the LimitRange `<name>-limits` and the NetworkPolicies
//! `<name>-ingress-policy` and `<name>-egress-policy`: the objects upstream's module creates,
//! with kjob's ownership labels (the owner identity is stamped by [`crate::kinds::Checked::render`]).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    LimitRange, LimitRangeItem, LimitRangeSpec, Namespace, ResourceQuota, ResourceQuotaSpec,
};
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::api::namespace::kubernetes_namespace_resource_profile::{
    KubernetesNamespaceBuiltInProfile as Preset, ProfileConfig,
};
use crate::api::namespace::kubernetes_namespace_service_mesh_config::KubernetesNamespaceServiceMeshType as MeshType;
use crate::api::namespace::kubernetes_namespace_spec::KubernetesNamespacePodSecurityStandard as Pss;
use crate::api::namespace::{KubernetesNamespace, KubernetesNamespaceSpec};
use crate::core::objects::{Object, ObjectKind, ObjectRef, body, labels};

use super::KIND;

/// The label that enforces a Pod Security Standard.
pub const PSS_ENFORCE: &str = "pod-security.kubernetes.io/enforce";
/// The label every Namespace carries with its name (set by the API server); policies select
/// namespaces by it.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// One preset size: (requests.cpu, limits.cpu, requests.memory, limits.memory, pods, services,
/// configmaps, secrets, persistentvolumeclaims, services.loadbalancers), upstream's figures.
type Size = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    [i32; 6],
);

/// The preset sizes, by enum value.
pub fn preset_size(preset: Preset) -> Option<Size> {
    Some(match preset {
        Preset::BuiltInProfileUnspecified => return None,
        Preset::Small => ("2", "4", "4Gi", "8Gi", [20, 10, 50, 50, 5, 2]),
        Preset::Medium => ("4", "8", "8Gi", "16Gi", [50, 20, 100, 100, 10, 3]),
        Preset::Large => ("8", "16", "16Gi", "32Gi", [100, 40, 200, 200, 20, 5]),
        Preset::Xlarge => ("16", "32", "32Gi", "64Gi", [200, 80, 400, 400, 40, 10]),
    })
}

/// The object-count keys of a ResourceQuota, in the order of [`Size`]'s counts.
const COUNT_KEYS: [&str; 6] = [
    "count/pods",
    "count/services",
    "count/configmaps",
    "count/secrets",
    "count/persistentvolumeclaims",
    "count/services.loadbalancers",
];

/// The quota's `spec.hard` entries, or `None` when the spec asks for no ResourceQuota (no
/// profile, or an unspecified preset). A custom profile always gets one (with the entries its
/// set parts give; counts of 0 are left out), as upstream.
pub fn quota_hard(spec: &KubernetesNamespaceSpec) -> Option<BTreeMap<String, String>> {
    let mut hard = BTreeMap::new();
    let mut put = |key: &str, value: &str| {
        if !value.is_empty() {
            hard.insert(key.to_owned(), value.to_owned());
        }
    };
    let counts: [i32; 6] = match spec.resource_profile.as_ref()?.profile_config.as_ref()? {
        ProfileConfig::Preset(value) => {
            let (rc, lc, rm, lm, counts) = preset_size(Preset::try_from(*value).ok()?)?;
            put("requests.cpu", rc);
            put("limits.cpu", lc);
            put("requests.memory", rm);
            put("limits.memory", lm);
            counts
        }
        ProfileConfig::Custom(custom) => {
            if let Some(cpu) = &custom.cpu {
                put("requests.cpu", &cpu.requests);
                put("limits.cpu", &cpu.limits);
            }
            if let Some(memory) = &custom.memory {
                put("requests.memory", &memory.requests);
                put("limits.memory", &memory.limits);
            }
            custom.object_counts.as_ref().map_or([0; 6], |c| {
                [
                    c.pods,
                    c.services,
                    c.configmaps,
                    c.secrets,
                    c.persistent_volume_claims,
                    c.load_balancers,
                ]
            })
        }
    };
    for (key, count) in COUNT_KEYS.into_iter().zip(counts) {
        if count > 0 {
            put(key, &count.to_string());
        }
    }
    Some(hard)
}

/// The LimitRange's (default requests, default limits), when the custom profile sets
/// `defaultLimits` (presets set none).
pub fn limit_defaults(
    spec: &KubernetesNamespaceSpec,
) -> Option<(BTreeMap<String, String>, BTreeMap<String, String>)> {
    let Some(ProfileConfig::Custom(custom)) =
        spec.resource_profile.as_ref()?.profile_config.as_ref()
    else {
        return None;
    };
    let d = custom.default_limits.as_ref()?;
    let pair = |cpu: &str, memory: &str| {
        [("cpu", cpu), ("memory", memory)]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    };
    Some((
        pair(&d.default_cpu_request, &d.default_memory_request),
        pair(&d.default_cpu_limit, &d.default_memory_limit),
    ))
}

/// The Pod Security Standard's level (`privileged`, `baseline`, `restricted`), or empty.
pub fn pod_security_standard(spec: &KubernetesNamespaceSpec) -> &'static str {
    match Pss::try_from(spec.pod_security_standard) {
        Ok(Pss::Privileged) => "privileged",
        Ok(Pss::Baseline) => "baseline",
        Ok(Pss::Restricted) => "restricted",
        _ => "",
    }
}

/// The mesh type's name (`istio`, `linkerd`, `consul`), or empty.
pub fn mesh_type(spec: &KubernetesNamespaceSpec) -> &'static str {
    match spec
        .service_mesh_config
        .as_ref()
        .and_then(|m| MeshType::try_from(m.mesh_type).ok())
    {
        Some(MeshType::Istio) => "istio",
        Some(MeshType::Linkerd) => "linkerd",
        Some(MeshType::Consul) => "consul",
        _ => "",
    }
}

/// Whether sidecar injection is on.
pub fn mesh_enabled(spec: &KubernetesNamespaceSpec) -> bool {
    spec.service_mesh_config.as_ref().is_some_and(|m| m.enabled)
}

/// The injection entries of an enabled mesh, as upstream writes them on the Namespace's
/// annotations. Istio reads its entry as a label, so it is also a label ([`namespace_labels`]).
pub fn mesh_entries(spec: &KubernetesNamespaceSpec) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(mesh) = spec.service_mesh_config.as_ref().filter(|m| m.enabled) else {
        return out;
    };
    let (key, value) = match mesh_type(spec) {
        "istio" if !mesh.revision_tag.is_empty() => ("istio.io/rev", mesh.revision_tag.as_str()),
        "istio" => ("istio-injection", "enabled"),
        "linkerd" => ("linkerd.io/inject", "enabled"),
        "consul" => ("consul.hashicorp.com/connect-inject", "true"),
        _ => return out,
    };
    out.insert(key.to_owned(), value.to_owned());
    out
}

/// Whether any NetworkPolicy is rendered.
pub fn has_policies(spec: &KubernetesNamespaceSpec) -> bool {
    spec.network_config
        .as_ref()
        .is_some_and(|n| n.isolate_ingress || n.restrict_egress)
}

/// The labels of every object: `metadata.labels`, `spec.labels`, upstream's `planton.ai/*`
/// labels with kind KubernetesNamespace, and kjob's ownership labels.
pub fn object_labels(namespace: &KubernetesNamespace) -> BTreeMap<String, String> {
    let metadata = namespace.metadata.clone().unwrap_or_default();
    let mut out: BTreeMap<String, String> = metadata.labels.into_iter().collect();
    if let Some(spec) = &namespace.spec {
        out.extend(spec.labels.clone());
    }
    for (key, value) in [
        (labels::PLANTON_ID, &metadata.id),
        (labels::PLANTON_ORG, &metadata.org),
        (labels::PLANTON_ENV, &metadata.env),
    ] {
        if !value.is_empty() {
            out.insert(key.into(), value.clone());
        }
    }
    out.insert(labels::MANAGED_BY.into(), labels::MANAGED_BY_VALUE.into());
    out.insert(labels::OWNER.into(), metadata.name.clone());
    out.insert(labels::PLANTON_RESOURCE.into(), "true".into());
    out.insert(labels::PLANTON_NAME.into(), metadata.name.clone());
    out.insert(labels::PLANTON_KIND.into(), KIND.into());
    out
}

/// The Namespace's own labels: [`object_labels`], the Pod Security Standard's enforce label and
/// Istio's injection label.
pub fn namespace_labels(namespace: &KubernetesNamespace) -> BTreeMap<String, String> {
    let mut out = object_labels(namespace);
    let spec = namespace.spec.clone().unwrap_or_default();
    let level = pod_security_standard(&spec);
    if !level.is_empty() {
        out.insert(PSS_ENFORCE.into(), level.into());
    }
    if mesh_type(&spec) == "istio" {
        out.extend(mesh_entries(&spec));
    }
    out
}

/// The Namespace's annotations: `metadata.annotations`, `spec.annotations`, mesh injection.
pub fn namespace_annotations(namespace: &KubernetesNamespace) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = namespace
        .metadata
        .as_ref()
        .map(|m| m.annotations.clone().into_iter().collect())
        .unwrap_or_default();
    if let Some(spec) = &namespace.spec {
        out.extend(spec.annotations.clone());
        out.extend(mesh_entries(spec));
    }
    out
}

/// The identity of the Namespace named `name`.
pub fn object_ref(name: &str) -> ObjectRef {
    ObjectRef {
        kind: ObjectKind::Namespace,
        namespace: None,
        name: name.to_owned(),
    }
}

fn quantities(map: BTreeMap<String, String>) -> Option<BTreeMap<String, Quantity>> {
    (!map.is_empty()).then(|| map.into_iter().map(|(k, v)| (k, Quantity(v))).collect())
}

fn selector(key: &str, value: &str) -> Option<LabelSelector> {
    Some(LabelSelector {
        match_labels: Some(BTreeMap::from([(key.to_owned(), value.to_owned())])),
        ..LabelSelector::default()
    })
}

/// A peer of every pod of this namespace.
fn same_namespace() -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(LabelSelector::default()),
        ..NetworkPolicyPeer::default()
    }
}

fn policy_spec(spec: &KubernetesNamespaceSpec, ingress: bool) -> NetworkPolicySpec {
    let network = spec.network_config.clone().unwrap_or_default();
    let mut out = NetworkPolicySpec {
        pod_selector: Some(LabelSelector::default()),
        ..NetworkPolicySpec::default()
    };
    if ingress {
        let mut rules: Vec<NetworkPolicyIngressRule> = network
            .allowed_ingress_namespaces
            .iter()
            .map(|name| NetworkPolicyIngressRule {
                from: Some(vec![NetworkPolicyPeer {
                    namespace_selector: selector(NAMESPACE_NAME_LABEL, name),
                    ..NetworkPolicyPeer::default()
                }]),
                ..NetworkPolicyIngressRule::default()
            })
            .collect();
        rules.push(NetworkPolicyIngressRule {
            from: Some(vec![same_namespace()]),
            ..NetworkPolicyIngressRule::default()
        });
        out.policy_types = Some(vec!["Ingress".into()]);
        out.ingress = Some(rules);
    } else {
        let dns = |protocol: &str| NetworkPolicyPort {
            protocol: Some(protocol.into()),
            port: Some(IntOrString::Int(53)),
            ..NetworkPolicyPort::default()
        };
        let mut rules = vec![NetworkPolicyEgressRule {
            to: Some(vec![NetworkPolicyPeer {
                namespace_selector: selector(NAMESPACE_NAME_LABEL, "kube-system"),
                ..NetworkPolicyPeer::default()
            }]),
            ports: Some(vec![dns("UDP"), dns("TCP")]),
        }];
        rules.extend(
            network
                .allowed_egress_cidrs
                .iter()
                .map(|cidr| NetworkPolicyEgressRule {
                    to: Some(vec![NetworkPolicyPeer {
                        ip_block: Some(IPBlock {
                            cidr: cidr.clone(),
                            except: None,
                        }),
                        ..NetworkPolicyPeer::default()
                    }]),
                    ports: None,
                }),
        );
        rules.push(NetworkPolicyEgressRule {
            to: Some(vec![same_namespace()]),
            ports: None,
        });
        out.policy_types = Some(vec!["Egress".into()]);
        out.egress = Some(rules);
    }
    out
}

/// Renders the objects of a checked manifest's namespace (the caller has made sure it has no failures).
pub fn render(ns: &KubernetesNamespace) -> Vec<Object> {
    let spec = ns.spec.clone().unwrap_or_default();
    let name = spec.name.clone();
    let common = object_labels(ns);
    let annotations = namespace_annotations(ns);
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            labels: Some(namespace_labels(ns)),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    let mut objects = vec![Object {
        id: object_ref(&name),
        body: body(ObjectKind::Namespace, &namespace),
        sensitive: false,
    }];
    let inside = |kind: ObjectKind, suffix: &str| {
        let id = ObjectRef {
            kind,
            namespace: Some(name.clone()),
            name: format!("{name}-{suffix}"),
        };
        let meta = ObjectMeta {
            name: Some(id.name.clone()),
            namespace: Some(name.clone()),
            labels: Some(common.clone()),
            ..ObjectMeta::default()
        };
        (id, meta)
    };
    if let Some(hard) = quota_hard(&spec) {
        let (id, metadata) = inside(ObjectKind::ResourceQuota, "quota");
        let quota = ResourceQuota {
            metadata,
            spec: Some(ResourceQuotaSpec {
                hard: quantities(hard),
                ..ResourceQuotaSpec::default()
            }),
            ..ResourceQuota::default()
        };
        objects.push(Object {
            id,
            body: body(ObjectKind::ResourceQuota, &quota),
            sensitive: false,
        });
    }
    if let Some((requests, limits)) = limit_defaults(&spec) {
        let (id, metadata) = inside(ObjectKind::LimitRange, "limits");
        let range = LimitRange {
            metadata,
            spec: Some(LimitRangeSpec {
                limits: vec![LimitRangeItem {
                    type_: "Container".into(),
                    default_request: quantities(requests),
                    default: quantities(limits),
                    ..LimitRangeItem::default()
                }],
            }),
        };
        objects.push(Object {
            id,
            body: body(ObjectKind::LimitRange, &range),
            sensitive: false,
        });
    }
    let network = spec.network_config.clone().unwrap_or_default();
    for (wanted, ingress, suffix) in [
        (network.isolate_ingress, true, "ingress-policy"),
        (network.restrict_egress, false, "egress-policy"),
    ] {
        if !wanted {
            continue;
        }
        let (id, metadata) = inside(ObjectKind::NetworkPolicy, suffix);
        let policy = NetworkPolicy {
            metadata,
            spec: Some(policy_spec(&spec, ingress)),
        };
        objects.push(Object {
            id,
            body: body(ObjectKind::NetworkPolicy, &policy),
            sensitive: false,
        });
    }
    objects
}
