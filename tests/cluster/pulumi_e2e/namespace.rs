//! A Pulumi YAML program with a `kjob:index:KubernetesNamespace` (quota, limit range, policies,
//! pod security) and a KubernetesJob in the namespace it reports: up, an update that changes the
//! quota in place and drops the egress policy (pruned), destroy.

use super::*;

const NAMESPACE_TYPE: &str = "kjob:index:KubernetesNamespace";

#[test]
fn yaml_namespace_resource_up_update_destroy() {
    let run = Run::new("nsres");
    let project = run.project("yaml-namespace");
    let ns = common::unique("kjob-pns");
    run.stack_init(&project, "e2e");
    run.config(&project, "namespace", &ns);

    let preview = run.ok(&project, &["preview"]);
    assert!(
        preview.contains(NAMESPACE_TYPE) && preview.contains(JOB_TYPE),
        "preview shows both resources:\n{preview}"
    );
    assert!(live(ObjectKind::Namespace, None, &ns).is_none());

    run.up(&project);
    let namespace = live(ObjectKind::Namespace, None, &ns).expect("up created the Namespace");
    assert_eq!(
        namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "baseline"
    );
    let quota_name = format!("{ns}-quota");
    let quota = live(ObjectKind::ResourceQuota, Some(&ns), &quota_name).expect("the ResourceQuota");
    assert_eq!(quota["spec"]["hard"]["limits.cpu"], "2");
    assert!(live(ObjectKind::LimitRange, Some(&ns), &format!("{ns}-limits")).is_some());
    let egress = format!("{ns}-egress-policy");
    assert!(live(ObjectKind::NetworkPolicy, Some(&ns), &egress).is_some());
    assert!(
        live(
            ObjectKind::NetworkPolicy,
            Some(&ns),
            &format!("{ns}-ingress-policy")
        )
        .is_some()
    );
    assert!(
        job(&ns, "migrate").is_some(),
        "the Job runs in the namespace"
    );
    let outputs = run.outputs(&project);
    assert_eq!(outputs["namespace"], ns.as_str(), "outputs: {outputs}");
    assert_eq!(
        outputs["resourceQuotasApplied"], "true",
        "outputs: {outputs}"
    );
    assert_eq!(outputs["limitRangesApplied"], "true", "outputs: {outputs}");
    assert_eq!(
        outputs["networkPoliciesApplied"], "true",
        "outputs: {outputs}"
    );
    assert_eq!(
        outputs["podSecurityStandard"], "baseline",
        "outputs: {outputs}"
    );
    assert_eq!(outputs["jobName"], "migrate");

    // Update: the quota changes in place, the egress policy goes, the Namespace stays.
    run.config(&project, "cpuLimits", "3");
    run.config(&project, "restrictEgress", "false");
    let preview = run.ok(&project, &["preview", "--diff"]);
    assert!(
        !preview.contains("replace"),
        "quota and policy changes update in place:\n{preview}"
    );
    run.up(&project);
    let updated =
        live(ObjectKind::ResourceQuota, Some(&ns), &quota_name).expect("the ResourceQuota stays");
    assert_eq!(updated["spec"]["hard"]["limits.cpu"], "3");
    assert_eq!(uid(&updated), uid(&quota), "updated in place");
    assert!(
        live(ObjectKind::NetworkPolicy, Some(&ns), &egress).is_none(),
        "the dropped egress policy is pruned"
    );
    let still = live(ObjectKind::Namespace, None, &ns).expect("the Namespace stays");
    assert_eq!(uid(&still), uid(&namespace));

    run.destroy(&project);
    assert!(job(&ns, "migrate").is_none());
    assert!(namespace_gone(&ns));
}
