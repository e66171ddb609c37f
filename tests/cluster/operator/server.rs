//! `kjob preview --server` and the provider's `serverPreview`: a ResourceQuota that refuses the
//! Job and a missing namespace are reported with the object named; a namespace that the same run
//! creates is not missing.

use k8s_openapi::api::core::v1::{Namespace, ResourceQuota};
use kube::api::{Api, PostParams};
use serde_json::json;

use super::*;

/// A namespace whose ResourceQuota allows no Job, counted by the quota controller (the test
/// bed runs it for this).
pub(crate) async fn quota_namespace(prefix: &str) -> String {
    let client = common::cluster().client().await.unwrap();
    let ns = common::unique(prefix);
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
        )
        .await
        .unwrap();
    let quotas: Api<ResourceQuota> = Api::namespaced(client, &ns);
    let quota =
        json!({"metadata": {"name": "no-jobs"}, "spec": {"hard": {"count/jobs.batch": "0"}}});
    quotas
        .create(
            &PostParams::default(),
            &serde_json::from_value(quota).unwrap(),
        )
        .await
        .unwrap();
    common::eventually(
        "the quota controller counts the quota",
        std::time::Duration::from_secs(30),
        || {
            let quotas = quotas.clone();
            async move {
                let q = quotas.get("no-jobs").await.ok()?;
                q.status?.hard.filter(|h| !h.is_empty()).map(|_| ())
            }
        },
    )
    .await;
    ns
}

pub(crate) async fn delete_namespace(ns: &str) {
    let client = common::cluster().client().await.unwrap();
    let namespaces: Api<Namespace> = Api::all(client);
    let _ = namespaces.delete(ns, &Default::default()).await;
}

#[tokio::test]
async fn the_server_refuses_a_job_over_quota_and_a_missing_namespace() {
    let bed = Bed::new();
    let ns = quota_namespace("kjob-quota").await;
    let job = common::unique("quota");
    let file = bed.file(
        "job.yaml",
        &job_doc(&job, &ns, "busybox", "").replace("  createNamespace: true\n", ""),
    );
    let refused = bed.run(&["preview", "--manifest", &file, "--server"]);
    refused
        .exit(1)
        .says(&format!("REFUSED  Job {ns}/{job}: Forbidden (403)"))
        .says("exceeded quota: no-jobs")
        .says(&format!("accepted ServiceAccount {ns}/{job}"))
        .says(&format!(
            "the API server refuses 1 of the objects this run would apply: Job {ns}/{job}"
        ));
    // Nothing was created by the check.
    let cluster = common::cluster();
    assert!(
        cluster
            .get(&common::obj(
                kjob::core::objects::ObjectKind::ServiceAccount,
                Some(&ns),
                &job
            ))
            .await
            .unwrap()
            .is_none(),
        "a dry run persists nothing"
    );
    let doc = json_of(&bed.run(&["preview", "--manifest", &file, "--server", "-o", "json"]));
    let checks = doc["serverChecks"].as_array().expect("serverChecks");
    let refused: Vec<_> = checks.iter().filter(|c| c["result"] == "refused").collect();
    assert_eq!(refused.len(), 1, "{doc}");
    assert_eq!(refused[0]["object"]["kind"], "Job");

    // A namespace that does not exist and that nothing creates: refused, named.
    let missing = common::unique("kjob-nowhere");
    let file = bed.file(
        "missing.yaml",
        &job_doc(&job, &missing, "busybox", "").replace("  createNamespace: true\n", ""),
    );
    bed.run(&["preview", "--manifest", &file, "--server"])
        .exit(1)
        .says(&format!(
            "REFUSED  Job {missing}/{job}: NotFound (404): namespaces \"{missing}\" not found"
        ));
    // The same namespace created by the run: not missing.
    let file = bed.file("creates.yaml", &job_doc(&job, &missing, "busybox", ""));
    bed.run(&["preview", "--manifest", &file, "--server"])
        .ok()
        .says(&format!("accepted Namespace {missing}"))
        .says(&format!("not checked Job {missing}/{job}: namespace {missing} does not exist yet: this run creates it first"))
        .never_says("REFUSED");

    // The provider's serverPreview: the same refusal fails `pulumi preview`'s Create.
    let p = common::provider::Provider::start(json!({"serverPreview": true})).await;
    let inputs = common::inputs(&job, &ns, json!({}));
    let checked = p.check_ok(&job, &inputs).await;
    let failure = p
        .try_preview_create(&job, &checked)
        .await
        .expect_err("the quota refuses the Job");
    assert!(
        failure
            .message()
            .contains(&format!("Job {ns}/{job}: Forbidden (403)"))
            && failure.message().contains("exceeded quota: no-jobs"),
        "{}",
        failure.message()
    );
    let creates = common::inputs(&job, &missing, json!({"createNamespace": true}));
    let checked = p.check_ok(&job, &creates).await;
    p.try_preview_create(&job, &checked)
        .await
        .expect("a namespace the resource creates is not missing");
    let off = common::provider::Provider::start(json!({})).await;
    let checked = off.check_ok(&job, &inputs).await;
    off.try_preview_create(&job, &checked)
        .await
        .expect("serverPreview is off by default");
    delete_namespace(&ns).await;
}
