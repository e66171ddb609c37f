//! Issue 15 through the real engine with the YAML example: `serverPreview` makes `pulumi
//! preview` fail on a ResourceQuota that refuses the Job, naming it, and pass where the
//! resource creates its namespace; `pulumi refresh` warns about a drifted field.

use super::*;

#[test]
fn server_preview_and_drift_through_the_engine() {
    let run = Run::new("yaml-ops");
    let project = run.project("yaml");
    run.stack_init(&project, "ops");
    run.config(&project, "kjob:serverPreview", "true");
    let quota = kube(|_| crate::operator::server::quota_namespace("kjob-pquota"));
    run.config(&project, "namespace", &quota);
    let refused = run.pulumi(&project, &["preview"]);
    let text = show(&refused);
    assert!(
        !refused.status.success(),
        "the quota fails the preview:\n{text}"
    );
    assert!(
        text.contains(&format!("Job {quota}/hello: Forbidden (403)"))
            && text.contains("exceeded quota: no-jobs"),
        "the refusal names the Job:\n{text}"
    );
    kube(|_| crate::operator::server::delete_namespace(&quota));

    // A namespace the resource creates: the preview passes; then up, drift, refresh.
    let ns = common::unique("kjob-pops");
    run.config(&project, "namespace", &ns);
    run.ok(&project, &["preview"]);
    run.up(&project);
    kube(|c| {
        let ns = ns.clone();
        async move {
            let accounts: kube::Api<k8s_openapi::api::core::v1::ServiceAccount> =
                kube::Api::namespaced(c.client().await.unwrap(), &ns);
            accounts
                .patch(
                    "hello",
                    &kube::api::PatchParams::default(),
                    &kube::api::Patch::Merge(
                        serde_json::json!({"metadata": {"labels": {"planton.ai/kind": "Someone"}}}),
                    ),
                )
                .await
                .unwrap();
        }
    });
    let refresh = run.ok(&project, &["refresh", "--yes"]);
    assert!(
        refresh.contains("drift:")
            && refresh.contains(&format!("ServiceAccount {ns}/hello metadata.labels[\"planton.ai/kind\"]: applied \"KubernetesJob\", live \"Someone\"")),
        "pulumi refresh shows the drifted field:\n{refresh}"
    );
    run.destroy(&project);
}
