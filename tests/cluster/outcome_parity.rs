//! The provider and the CLI give the same outcome for the same Job history, because both ask
//! `core::outcome`: a Job that failed and that Kubernetes then deleted after
//! `ttlSecondsAfterFinished` stays `Failed` (it is neither dropped nor taken for done), and the
//! next `up` runs it again.

use std::process::{Command, Stdio};
use std::time::Duration;

use kjob::cluster::Cluster;
use kjob::core::objects::ObjectKind;
use kjob::core::outcome::JobStatus;
use kjob::core::refs::ResourceKey;
use kjob::state::FileStore as Store;
use serde_json::json;

use crate::common;
use crate::common::lifecycle::ExpectDiff;
use crate::common::provider::Provider;

/// Waits until Kubernetes has deleted Job `ns/name` (its TTL).
async fn collected(cluster: &Cluster, ns: &str, name: &str) {
    common::eventually(
        "the TTL controller to delete the failed Job",
        Duration::from_secs(90),
        || async move {
            common::get(cluster, ObjectKind::Job, Some(ns), name)
                .await
                .is_none()
                .then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn a_failed_job_collected_by_its_ttl_stays_failed_and_runs_again_in_both_front_ends() {
    let cluster = common::cluster();
    let spec = json!({
        "image": {"repo": "kjob.test/fail"},
        "backoffLimit": 0,
        "ttlSecondsAfterFinished": 1,
    });

    // The provider: Create fails (partial failure, jobStatus Failed), the TTL deletes the Job,
    // refresh keeps the resource as Failed, and Diff replaces it to run it again.
    let provider = Provider::start(json!({})).await;
    let ns = common::namespace(&cluster, "parity-p").await;
    let name = common::unique("parity-p");
    let news = common::inputs(&name, &ns, spec.clone());
    let inputs = provider.check_ok(&name, &news).await;
    let failed = provider
        .create(&name, &inputs, 120.0)
        .await
        .expect_err("the Job fails")
        .partial();
    assert_eq!(failed.outputs["jobStatus"], json!("Failed"), "{failed:?}");
    collected(&cluster, &ns, &name).await;
    let read = provider
        .read(&name, &failed.id, Some(&failed.outputs))
        .await;
    assert_eq!(read.id, failed.id, "kept in state, not dropped");
    assert_eq!(read.outputs["jobStatus"], json!("Failed"));
    let diff = provider.diff(&name, &read.id, &read.outputs, &inputs).await;
    assert_eq!(diff.expect(), ExpectDiff::Replace, "runs again: {diff:?}");
    provider
        .delete(&name, &read.id, &read.outputs)
        .await
        .expect("Delete");

    // The CLI: up fails (exit 1, recorded Failed), the TTL deletes the Job, the next up
    // refreshes the record, keeps it Failed, and runs the Job again.
    let ns = common::namespace(&cluster, "parity-c").await;
    let name = common::unique("parity-c");
    let dir = tempfile::tempdir().expect("a temp dir");
    let state = dir.path().join("state");
    let file = dir.path().join("job.yaml");
    let manifest = common::manifest(&name, &ns, spec);
    std::fs::write(&file, serde_json::to_string(&manifest).unwrap()).unwrap();
    let kjob = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_kjob"))
            .args(args)
            .arg("--manifest")
            .arg(&file)
            .args([
                "--yes",
                "--kubeconfig",
                &common::kubeconfig(),
                "--state-dir",
            ])
            .arg(&state)
            .env("NO_COLOR", "1")
            .env_remove("KJOB_STATE_DIR")
            .stdin(Stdio::null())
            .output()
            .expect("kjob runs");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let recorded = || {
        Store::new(&state)
            .get(&ResourceKey {
                kind: "KubernetesJob".into(),
                env: String::new(),
                name: name.clone(),
            })
            .unwrap()
            .expect("recorded")
            .job_status
    };
    let (code, stderr) = kjob(&["up"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(recorded(), Some(JobStatus::Failed));
    collected(&cluster, &ns, &name).await;
    let (code, stderr) = kjob(&["up"]);
    assert_eq!(code, Some(1), "it ran again and failed again: {stderr}");
    assert!(
        stderr.contains("the Job failed last time; running it again"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("applied Job {ns}/{name}")),
        "{stderr}"
    );
    assert_eq!(recorded(), Some(JobStatus::Failed));
    let (code, stderr) = kjob(&["down"]);
    assert_eq!(code, Some(0), "{stderr}");
}
