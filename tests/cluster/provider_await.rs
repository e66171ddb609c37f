//! Job outcomes through the provider, on the test bed (through the harness in
//! `tests/cluster/common`): Create waits for completion, a failure (backoff, deadline) or a
//! timeout is a partial failure with diagnostics, a failed Job is replaced on the next up, a Job
//! collected by its TTL stays in state, and the run policy and wait opt-out annotations work.
//!
//! The test bed's fake kubelet (kwok) decides a pod's fate by image: `kjob.test/fail` exits 1,
//! `kjob.test/hang` runs forever, anything else succeeds in about a second.

use crate::common;

use std::time::Duration;

use common::lifecycle::{ExpectDiff, Lifecycle, State, Step};
use common::provider::Provider;
use kjob::api::pulumirpc::diff_response::DiffChanges;
use kjob::core::objects::ObjectKind;
use serde_json::{Value, json};

/// One resource: its provider, name, namespace and raw inputs.
struct Resource {
    p: Provider,
    name: String,
    ns: String,
    inputs: Value,
}

impl Resource {
    async fn new(wait: bool, prefix: &str, spec: Value, annotations: Value) -> Self {
        let p = Provider::start(json!({"wait": wait})).await;
        let name = common::unique(prefix);
        let ns = common::unique(&format!("{prefix}-ns"));
        let mut inputs = json!({"metadata": {"annotations": annotations}, "spec": {"namespace": {"value": ns}, "createNamespace": true, "image": {"repo": "busybox"}}});
        for (k, v) in spec.as_object().unwrap() {
            inputs["spec"][k] = v.clone();
        }
        Self {
            p,
            name,
            ns,
            inputs,
        }
    }

    fn id(&self) -> String {
        format!("{}/{}", self.ns, self.name)
    }

    /// Its whole life with `lifecycle`'s steps, then: its namespace is gone too.
    async fn run(&self, lifecycle: Lifecycle) -> State {
        let state = lifecycle.run(&self.p).await;
        self.assert_gone().await;
        state
    }

    fn lifecycle(&self) -> Lifecycle {
        Lifecycle::new(&self.name, self.inputs.clone())
    }

    /// Deletes it with `outputs` in state; its namespace is gone.
    async fn delete(&self, outputs: &Value) {
        self.p
            .delete(&self.name, &self.id(), outputs)
            .await
            .expect("Delete");
        self.assert_gone().await;
    }

    async fn assert_gone(&self) {
        assert!(
            common::get(&common::cluster(), ObjectKind::Namespace, None, &self.ns)
                .await
                .is_none()
        );
    }
}

#[tokio::test]
async fn a_job_that_succeeds_is_complete_when_create_returns() {
    let r = Resource::new(true, "ok", json!({"command": ["true"]}), json!({})).await;
    let lifecycle = r
        .lifecycle()
        .created(|s: State| async move {
            assert_eq!(s.outputs["jobStatus"], json!("Complete"));
            let job = common::get(
                &common::cluster(),
                ObjectKind::Job,
                Some(s.namespace()),
                s.job_name(),
            )
            .await
            .unwrap();
            assert_eq!(
                kjob::core::outcome::job_state(&job),
                kjob::core::outcome::JobState::Complete
            );
        })
        .step(Step::new(r.inputs.clone(), ExpectDiff::None).diff(|diff| {
            assert_eq!(
                diff.changes,
                DiffChanges::DiffNone,
                "run once: an unchanged finished Job is left alone"
            );
        }));
    r.run(lifecycle).await;
}

#[tokio::test]
async fn a_job_that_fails_by_backoff_is_a_partial_failure_and_is_replaced_next_time() {
    let secret = "hunter2-very-secret";
    let r = Resource::new(
        true,
        "backoff",
        json!({"image": {"repo": "kjob.test/fail"}, "backoffLimit": 1, "env": {"secrets": {"PASSWORD": {"value": secret}}}}),
        json!({}),
    )
    .await;
    let checked = r.p.check_ok(&r.name, &r.inputs).await;
    let failure =
        r.p.create(&r.name, &checked, 120.0)
            .await
            .expect_err("the Job fails")
            .partial();
    assert_eq!(failure.id, r.id());
    let reasons = failure.reasons.join("\n");
    assert!(reasons.contains("BackoffLimitExceeded"), "{reasons}");
    assert!(
        reasons.contains("exit code 1"),
        "the report names the failing pods: {reasons}"
    );
    assert!(
        !reasons.contains(secret) && !failure.message.contains(secret),
        "no secret in errors"
    );
    let outputs = failure.outputs;
    assert_eq!(outputs["jobStatus"], json!("Failed"));
    assert!(
        !outputs.to_string().contains(secret)
            || outputs
                .to_string()
                .contains("1b47061264138c4ac30d75fd1eb44270")
    );
    let diff = r.p.diff(&r.name, &r.id(), &outputs, &checked).await;
    assert_eq!(
        diff.replaces,
        ["jobStatus"],
        "a failed Job is run again by replacement: {diff:?}"
    );
    assert!(diff.delete_before_replace);
    r.delete(&outputs).await;
}

#[tokio::test]
async fn a_job_that_hits_its_deadline_fails_with_deadline_exceeded() {
    let r = Resource::new(
        true,
        "deadline",
        json!({"image": {"repo": "kjob.test/hang"}, "activeDeadlineSeconds": 3}),
        json!({}),
    )
    .await;
    let checked = r.p.check_ok(&r.name, &r.inputs).await;
    let failure =
        r.p.create(&r.name, &checked, 120.0)
            .await
            .expect_err("the Job fails")
            .partial();
    assert!(
        failure.reasons.join("\n").contains("DeadlineExceeded"),
        "{:?}",
        failure.reasons
    );
    r.delete(&failure.outputs).await;
}

#[tokio::test]
async fn waiting_times_out_with_the_requests_timeout() {
    let r = Resource::new(
        true,
        "timeout",
        json!({"image": {"repo": "kjob.test/hang"}}),
        json!({}),
    )
    .await;
    let checked = r.p.check_ok(&r.name, &r.inputs).await;
    let started = std::time::Instant::now();
    let failure =
        r.p.create(&r.name, &checked, 3.0)
            .await
            .expect_err("the wait times out")
            .partial();
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        failure
            .reasons
            .join("\n")
            .contains("did not finish within 3s"),
        "{:?}",
        failure.reasons
    );
    assert_eq!(failure.outputs["jobStatus"], json!("Running"));
    r.delete(&failure.outputs).await;
}

#[tokio::test]
async fn a_job_collected_by_its_ttl_stays_in_state_after_refresh() {
    let r = Resource::new(
        true,
        "ttl",
        json!({"ttlSecondsAfterFinished": 1}),
        json!({}),
    )
    .await;
    let lifecycle = r
        .lifecycle()
        .created(|s: State| async move {
            let cluster = common::cluster();
            common::eventually(
                "the TTL controller to delete the Job",
                Duration::from_secs(60),
                || {
                    let (cluster, s) = (&cluster, &s);
                    async move {
                        common::get(cluster, ObjectKind::Job, Some(s.namespace()), s.job_name())
                            .await
                            .is_none()
                            .then_some(())
                    }
                },
            )
            .await;
        })
        // Refresh: collected, not vanished (the runner asserts that the ID stays).
        .step(
            Step::new(r.inputs.clone(), ExpectDiff::None)
                .refresh()
                .diff(|diff| {
                    assert_eq!(
                        diff.changes,
                        DiffChanges::DiffNone,
                        "no re-run under run-once: {diff:?}"
                    );
                })
                .check(|s: State| async move {
                    assert_eq!(s.outputs["jobStatus"], json!("Collected"));
                }),
        );
    r.run(lifecycle).await;
}

#[tokio::test]
async fn run_policy_every_up_replaces_a_finished_job() {
    let r = Resource::new(
        true,
        "every",
        json!({}),
        json!({"kjob.project-planton.org/run-policy": "every-up"}),
    )
    .await;
    let lifecycle = r.lifecycle().step(
        Step::new(r.inputs.clone(), ExpectDiff::Replace)
            .diff(|diff| assert_eq!(diff.replaces, ["jobStatus"]))
            .check(|s: State| async move {
                assert_eq!(s.outputs["jobStatus"], json!("Complete"), "it ran again");
            }),
    );
    r.run(lifecycle).await;
}

#[tokio::test]
async fn waiting_can_be_turned_off_per_resource_and_per_provider() {
    let r = Resource::new(
        true,
        "nowait",
        json!({"image": {"repo": "kjob.test/hang"}}),
        json!({"kjob.project-planton.org/wait": "false"}),
    )
    .await;
    let lifecycle = r.lifecycle().timeout(600.0).created(|s: State| async move {
        assert!(
            matches!(s.outputs["jobStatus"].as_str(), Some("Running")),
            "{}",
            s.outputs["jobStatus"]
        );
    });
    r.run(lifecycle).await;

    let r = Resource::new(
        false,
        "nowait-cfg",
        json!({"image": {"repo": "kjob.test/hang"}}),
        json!({}),
    )
    .await;
    let lifecycle = r.lifecycle().timeout(600.0).created(|s: State| async move {
        assert_eq!(s.outputs["jobStatus"], json!("Running"));
    });
    r.run(lifecycle).await;
}
