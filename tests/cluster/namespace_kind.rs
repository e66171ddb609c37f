//! The KubernetesNamespace kind on the test bed through the CLI: `kjob up` of a manifest with a
//! custom quota, container defaults, both network policies, a Pod Security Standard and Istio
//! injection creates exactly upstream's objects (read back with the kube client, each carrying
//! kjob's owner label); an update that changes the quota and drops the egress policy converges
//! and prunes it; `kjob down` removes everything.

use std::time::Duration;

use kjob::core::objects::{ObjectKind, labels};
use kjob::core::owner::OWNER_LABEL;
use serde_json::{Value, json};

use crate::common::cli::{API, Bed};
use crate::common::{cluster, eventually, get, unique};

fn manifest(resource: &str, namespace: &str, cpu_limits: &str, egress: bool) -> String {
    format!(
        r#"apiVersion: {API}
kind: KubernetesNamespace
metadata:
  name: {resource}
spec:
  name: {namespace}
  labels: {{team: data}}
  annotations: {{janitor/ttl: 24h}}
  resourceProfile:
    custom:
      cpu: {{requests: "1", limits: "{cpu_limits}"}}
      memory: {{requests: 1Gi, limits: 2Gi}}
      objectCounts: {{pods: 10, services: 5, configmaps: 20, secrets: 20}}
      defaultLimits:
        defaultCpuRequest: 100m
        defaultCpuLimit: 500m
        defaultMemoryRequest: 128Mi
        defaultMemoryLimit: 256Mi
  networkConfig:
    isolateIngress: true
    restrictEgress: {egress}
    allowedIngressNamespaces: [monitoring]
    allowedEgressCidrs: [10.0.0.0/8]
  serviceMeshConfig: {{enabled: true, meshType: istio, revisionTag: canary}}
  podSecurityStandard: restricted
"#
    )
}

/// The object `<ns>-<suffix>` of `kind` in the namespace `ns`, if it exists.
async fn inside(
    cluster: &kjob::cluster::Cluster,
    kind: ObjectKind,
    ns: &str,
    suffix: &str,
) -> Option<Value> {
    get(cluster, kind, Some(ns), &format!("{ns}-{suffix}")).await
}

/// The owner label of an object (the resource's owner identity).
fn owner_of(object: &Value) -> Option<&str> {
    object["metadata"]["labels"][OWNER_LABEL].as_str()
}

#[tokio::test]
async fn up_update_and_down_of_a_governed_namespace() {
    let cluster = cluster();
    let bed = Bed::new();
    let resource = unique("gov");
    let ns = resource.clone();
    let file = bed.file("ns.yaml", &manifest(&resource, &ns, "2", true));
    bed.run(&["up", "--manifest", &file, "--yes"])
        .ok()
        .says_all(&[
            &format!("applied Namespace {ns}"),
            &format!("applied ResourceQuota {ns}/{ns}-quota"),
            &format!("applied LimitRange {ns}/{ns}-limits"),
            &format!("applied NetworkPolicy {ns}/{ns}-ingress-policy"),
            &format!("applied NetworkPolicy {ns}/{ns}-egress-policy"),
        ]);

    let namespace = get(&cluster, ObjectKind::Namespace, None, &ns)
        .await
        .expect("the Namespace exists");
    let ns_labels = &namespace["metadata"]["labels"];
    assert_eq!(
        ns_labels["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
    assert_eq!(ns_labels["istio.io/rev"], "canary");
    assert_eq!(ns_labels["team"], "data");
    assert_eq!(ns_labels[labels::MANAGED_BY], "kjob");
    assert_eq!(
        namespace["metadata"]["annotations"]["istio.io/rev"],
        "canary"
    );
    assert_eq!(namespace["metadata"]["annotations"]["janitor/ttl"], "24h");
    let owner = owner_of(&namespace).expect("an owner label").to_owned();

    let quota = inside(&cluster, ObjectKind::ResourceQuota, &ns, "quota")
        .await
        .expect("the ResourceQuota exists");
    assert_eq!(
        quota["spec"]["hard"],
        json!({"requests.cpu": "1", "limits.cpu": "2", "requests.memory": "1Gi",
               "limits.memory": "2Gi", "count/pods": "10", "count/services": "5",
               "count/configmaps": "20", "count/secrets": "20"})
    );
    let limits = inside(&cluster, ObjectKind::LimitRange, &ns, "limits")
        .await
        .expect("the LimitRange exists");
    let item = &limits["spec"]["limits"][0];
    assert_eq!(item["type"], "Container");
    assert_eq!(item["default"], json!({"cpu": "500m", "memory": "256Mi"}));
    assert_eq!(
        item["defaultRequest"],
        json!({"cpu": "100m", "memory": "128Mi"})
    );
    let ingress = inside(&cluster, ObjectKind::NetworkPolicy, &ns, "ingress-policy")
        .await
        .expect("the ingress policy exists");
    assert_eq!(ingress["spec"]["policyTypes"], json!(["Ingress"]));
    assert_eq!(
        ingress["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "monitoring"
    );
    let egress = inside(&cluster, ObjectKind::NetworkPolicy, &ns, "egress-policy")
        .await
        .expect("the egress policy exists");
    assert_eq!(
        egress["spec"]["egress"][1]["to"][0]["ipBlock"]["cidr"],
        "10.0.0.0/8"
    );
    for object in [&quota, &limits, &ingress, &egress] {
        assert_eq!(owner_of(object), Some(owner.as_str()), "{object}");
    }
    let outputs = bed.run(&["outputs", "--manifest", &file, "-o", "json"]);
    let outputs: Value = serde_json::from_str(&outputs.ok().stdout).expect("JSON outputs");
    let text = outputs.to_string();
    for expected in [
        r#""resourceQuotasApplied":"true""#,
        r#""limitRangesApplied":"true""#,
        r#""networkPoliciesApplied":"true""#,
        r#""serviceMeshEnabled":"true""#,
        r#""serviceMeshType":"istio""#,
        r#""podSecurityStandard":"restricted""#,
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }

    // Update: a new CPU limit (the quota changes in place), the egress policy dropped (pruned).
    let quota_uid = quota["metadata"]["uid"].clone();
    std::fs::write(&file, manifest(&resource, &ns, "3", false)).unwrap();
    bed.run(&["up", "--manifest", &file, "--yes"]).ok();
    let quota = inside(&cluster, ObjectKind::ResourceQuota, &ns, "quota")
        .await
        .expect("the ResourceQuota stays");
    assert_eq!(quota["spec"]["hard"]["limits.cpu"], "3");
    assert_eq!(quota["metadata"]["uid"], quota_uid, "updated in place");
    let egress_name = format!("{ns}-egress-policy");
    let bed_cluster = &cluster;
    eventually("the egress policy pruned", Duration::from_secs(10), || {
        let (ns, name) = (ns.clone(), egress_name.clone());
        async move {
            get(bed_cluster, ObjectKind::NetworkPolicy, Some(&ns), &name)
                .await
                .is_none()
                .then_some(())
        }
    })
    .await;
    assert!(
        inside(&cluster, ObjectKind::NetworkPolicy, &ns, "ingress-policy")
            .await
            .is_some(),
        "the ingress policy stays"
    );

    // Down: every object goes, the Namespace too (terminating counts: Kubernetes finishes it).
    bed.run(&["down", "--manifest", &file, "--yes"]).ok();
    let gone_or_terminating = match get(&cluster, ObjectKind::Namespace, None, &ns).await {
        None => true,
        Some(live) => !live["metadata"]["deletionTimestamp"].is_null(),
    };
    assert!(gone_or_terminating, "the Namespace is deleted");
}
