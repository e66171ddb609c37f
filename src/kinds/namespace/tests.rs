use serde_json::{Value, json};

use super::*;
use crate::core::objects::{API_VERSION, ObjectKind, ObjectRef, labels};

fn manifest(spec: Value) -> Value {
    json!({"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": "team", "env": "dev", "labels": {"cost": "a"}}, "spec": spec})
}

fn checked(spec: Value) -> Checked {
    check(&manifest(spec), &PropertyPath::root(), None, &[])
}

fn paths(c: &Checked) -> Vec<String> {
    c.failures.iter().map(|f| f.path.to_string()).collect()
}

#[test]
fn a_bare_namespace_renders_one_object() {
    let c = checked(
        json!({"name": "team-ns", "labels": {"tier": "batch"}, "annotations": {"note": "x"}}),
    );
    assert!(c.is_ok(), "{:?}", c.failures);
    let objects = render(&c.namespace);
    assert_eq!(objects.len(), 1);
    assert_eq!(
        objects[0].id,
        ObjectRef {
            kind: ObjectKind::Namespace,
            namespace: None,
            name: "team-ns".into()
        }
    );
    let body = &objects[0].body;
    assert_eq!(body["apiVersion"], "v1");
    assert_eq!(body["kind"], "Namespace");
    let l = &body["metadata"]["labels"];
    assert_eq!(l[labels::MANAGED_BY], "kjob");
    assert_eq!(l[labels::OWNER], "team");
    assert_eq!(l[labels::PLANTON_KIND], KIND);
    assert_eq!(l[labels::PLANTON_ENV], "dev");
    assert_eq!(l["tier"], "batch");
    assert_eq!(l["cost"], "a");
    assert!(l.get(render::PSS_ENFORCE).is_none());
    assert_eq!(body["metadata"]["annotations"]["note"], "x");
    let out = outputs(&c);
    assert_eq!(out["namespace"], "team-ns");
    assert_eq!(out["namespaceId"], "team-ns");
    assert_eq!(out["labelsJson"], "{\"tier\":\"batch\"}");
    assert_eq!(out["annotationsJson"], "{\"note\":\"x\"}");
    for flag in [
        "resourceQuotasApplied",
        "limitRangesApplied",
        "networkPoliciesApplied",
        "serviceMeshEnabled",
    ] {
        assert_eq!(out[flag], "false", "{flag}");
    }
    assert_eq!(out["serviceMeshType"], "");
    assert_eq!(out["podSecurityStandard"], "");
}

#[test]
fn the_full_spec_renders_what_upstream_creates() {
    let c = checked(json!({
        "name": "secure",
        "resource_profile": {"custom": {
            "cpu": {"requests": "2", "limits": "4"},
            "memory": {"requests": "4Gi", "limits": "8Gi"},
            "objectCounts": {"pods": 10, "services": 5, "configmaps": 20, "secrets": 20},
            "defaultLimits": {"defaultCpuRequest": "100m", "defaultCpuLimit": "500m",
                              "defaultMemoryRequest": "128Mi", "defaultMemoryLimit": "512Mi"}
        }},
        "networkConfig": {"isolateIngress": true, "restrictEgress": true,
                          "allowedIngressNamespaces": ["monitoring"],
                          "allowedEgressCidrs": ["10.0.0.0/8"],
                          "allowedEgressDomains": ["api.stripe.com"]},
        "serviceMeshConfig": {"enabled": true, "meshType": "istio", "revisionTag": "prod-stable"},
        "podSecurityStandard": "restricted"
    }));
    assert!(c.is_ok(), "{:?}", c.failures);
    let objects = render(&c.namespace);
    let ids: Vec<String> = objects.iter().map(|o| o.id.to_string()).collect();
    assert_eq!(
        ids,
        [
            "Namespace secure",
            "ResourceQuota secure/secure-quota",
            "LimitRange secure/secure-limits",
            "NetworkPolicy secure/secure-ingress-policy",
            "NetworkPolicy secure/secure-egress-policy",
        ]
    );
    let ns = &objects[0].body["metadata"];
    assert_eq!(ns["labels"][render::PSS_ENFORCE], "restricted");
    assert_eq!(ns["labels"]["istio.io/rev"], "prod-stable");
    assert_eq!(ns["annotations"]["istio.io/rev"], "prod-stable");
    let quota = &objects[1].body;
    assert_eq!(
        quota["spec"]["hard"],
        json!({"requests.cpu": "2", "limits.cpu": "4", "requests.memory": "4Gi",
               "limits.memory": "8Gi", "count/pods": "10", "count/services": "5",
               "count/configmaps": "20", "count/secrets": "20"})
    );
    assert_eq!(quota["metadata"]["labels"][labels::OWNER], "team");
    assert!(
        quota["metadata"]["labels"]
            .get(render::PSS_ENFORCE)
            .is_none()
    );
    let limits = &objects[2].body["spec"]["limits"][0];
    assert_eq!(limits["type"], "Container");
    assert_eq!(
        limits["defaultRequest"],
        json!({"cpu": "100m", "memory": "128Mi"})
    );
    assert_eq!(limits["default"], json!({"cpu": "500m", "memory": "512Mi"}));
    let ingress = &objects[3].body;
    assert_eq!(ingress["apiVersion"], "networking.k8s.io/v1");
    assert_eq!(ingress["spec"]["policyTypes"], json!(["Ingress"]));
    assert_eq!(
        ingress["spec"]["ingress"],
        json!([
            {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]},
            {"from": [{"podSelector": {}}]}
        ])
    );
    let egress = &objects[4].body["spec"];
    assert_eq!(egress["policyTypes"], json!(["Egress"]));
    let rules = egress["egress"].as_array().unwrap();
    assert_eq!(rules.len(), 3, "DNS, the CIDR, the namespace: {rules:?}");
    assert_eq!(rules[0]["ports"][0], json!({"protocol": "UDP", "port": 53}));
    assert_eq!(rules[1]["to"][0]["ipBlock"]["cidr"], "10.0.0.0/8");
    let out = outputs(&c);
    for flag in [
        "resourceQuotasApplied",
        "limitRangesApplied",
        "networkPoliciesApplied",
        "serviceMeshEnabled",
    ] {
        assert_eq!(out[flag], "true", "{flag}");
    }
    assert_eq!(out["serviceMeshType"], "istio");
    assert_eq!(out["podSecurityStandard"], "restricted");
}

#[test]
fn presets_and_meshes() {
    let c = checked(json!({"name": "a", "resourceProfile": {"preset": "xlarge"},
        "serviceMeshConfig": {"enabled": true, "meshType": "linkerd"}}));
    assert!(c.is_ok(), "{:?}", c.failures);
    let objects = render(&c.namespace);
    assert_eq!(objects.len(), 2, "a preset sets no LimitRange");
    let hard = &objects[1].body["spec"]["hard"];
    assert_eq!(hard["limits.memory"], "64Gi");
    assert_eq!(hard["count/services.loadbalancers"], "10");
    let ns = &objects[0].body["metadata"];
    assert_eq!(ns["annotations"]["linkerd.io/inject"], "enabled");
    assert!(ns["labels"].get("linkerd.io/inject").is_none());
    let c = checked(
        json!({"name": "a", "resourceProfile": {"preset": "built_in_profile_unspecified"},
        "serviceMeshConfig": {"enabled": true, "meshType": "istio"}}),
    );
    let objects = render(&c.namespace);
    assert_eq!(objects.len(), 1, "an unspecified preset sets no quota");
    assert_eq!(
        objects[0].body["metadata"]["labels"]["istio-injection"],
        "enabled"
    );
    assert_eq!(outputs(&c)["resourceQuotasApplied"], "false");
    let c = checked(
        json!({"name": "a", "serviceMeshConfig": {"enabled": false, "meshType": "consul"}}),
    );
    assert!(
        render(&c.namespace)[0].body["metadata"]
            .get("annotations")
            .is_none()
    );
    assert_eq!(outputs(&c)["serviceMeshType"], "consul");
    assert_eq!(outputs(&c)["serviceMeshEnabled"], "false");
}

#[test]
fn validation_names_each_path() {
    let long = "a".repeat(64);
    let c = checked(
        json!({"name": long, "labels": {"bad key!": "x", "ok": "-bad"}, "annotations": {"example.com/fine": "anything at all"}}),
    );
    assert_eq!(
        paths(&c),
        ["spec.labels[\"bad key!\"]", "spec.labels.ok", "spec.name"],
        "{:?}",
        c.failures
    );
    let c = checked(json!({"name": "Bad_Name"}));
    assert_eq!(c.failures.len(), 1);
    assert!(c.failures[0].reason.contains("DNS-1123"));
    let c = checked(json!({}));
    assert_eq!(
        c.failures[0].to_string(),
        "spec.name: is required (the Namespace's name)"
    );
    let c = checked(json!({"name": "x", "preset": "small"}));
    assert!(
        c.failures[0].reason.starts_with("unknown field `preset`"),
        "{:?}",
        c.failures
    );
    let c = checked(json!({"name": "x",
        "resourceProfile": {"custom": {"cpu": {"requests": "lots", "limits": ""},
            "objectCounts": {"pods": 0, "services": 1, "configmaps": 1, "secrets": 1, "loadBalancers": -1}}},
        "networkConfig": {"allowedIngressNamespaces": ["Bad_NS"], "allowedEgressCidrs": ["10.0.0.0"]},
        "serviceMeshConfig": {"enabled": true, "revisionTag": "-x"},
        "podSecurityStandard": "strict"}));
    let mut got = paths(&c);
    got.sort();
    assert_eq!(
        got,
        [
            "spec.networkConfig.allowedEgressCidrs[0]",
            "spec.networkConfig.allowedIngressNamespaces[0]",
            "spec.podSecurityStandard",
            "spec.resourceProfile.custom.cpu.limits",
            "spec.resourceProfile.custom.cpu.requests",
            "spec.resourceProfile.custom.objectCounts.loadBalancers",
            "spec.resourceProfile.custom.objectCounts.pods",
            "spec.serviceMeshConfig.meshType",
            "spec.serviceMeshConfig.revisionTag",
        ],
        "{:#?}",
        c.failures
    );
    let reasons: Vec<&str> = c.failures.iter().map(|f| f.reason.as_str()).collect();
    for rule in [
        validate::RULE_QUANTITY,
        validate::RULE_CIDR,
        validate::RULE_NAMESPACE,
        validate::RULE_REVISION,
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(rule)),
            "{rule}: {reasons:?}"
        );
    }
    let c = checked(json!({"name": "x", "resourceProfile": {"preset": "small", "custom": {}}}));
    assert_eq!(
        c.failures.len(),
        1,
        "a oneof takes one member: {:?}",
        c.failures
    );
}

#[test]
fn a_new_name_replaces_and_everything_else_updates_in_place() {
    use crate::core::diff::{diff_with, rules_for};
    let old = checked(json!({"name": "a", "resourceProfile": {"preset": "small"}})).document;
    let changes = |spec: Value| {
        let new = checked(spec).document;
        diff_with(rules_for(KIND), &old, &new, &[], &|_| false)
    };
    let renamed = changes(json!({"name": "b", "resourceProfile": {"preset": "small"}}));
    assert!(renamed.replaces(), "{renamed:?}");
    let resized = changes(json!({"name": "a", "resourceProfile": {"preset": "large"},
        "networkConfig": {"isolateIngress": true}, "labels": {"x": "y"}}));
    assert!(!resized.is_empty() && !resized.replaces(), "{resized:?}");
}
