//! Job outcomes through the provider, on the test bed: Create waits for completion, a failure
//! (backoff, deadline) or a timeout is a partial failure with diagnostics, a failed Job is
//! replaced on the next up, a Job collected by its TTL stays in state, and the run policy and
//! wait opt-out annotations work.
//!
//! The test bed's fake kubelet (kwok) decides a pod's fate by image: `kjob.test/fail` exits 1,
//! `kjob.test/hang` runs forever, anything else succeeds in about a second.

mod common;

use std::time::Duration;

use kjob::api::google_rpc;
use kjob::api::pulumirpc::resource_provider_client::ResourceProviderClient;
use kjob::api::pulumirpc::{
    CheckRequest, CreateRequest, DeleteRequest, DiffRequest, ErrorResourceInitFailed, ReadRequest,
    diff_response::DiffChanges,
};
use kjob::core::objects::ObjectKind;
use kjob::provider::values::{from_struct, to_struct};
use prost::Message;
use serde_json::{Value, json};
use tonic::transport::Channel;

const TYPE: &str = "kjob:index:KubernetesJob";

async fn provider(wait: bool) -> ResourceProviderClient<Channel> {
    common::provider(json!({"wait": wait})).await
}

fn urn(name: &str) -> String {
    format!("urn:pulumi:test::proj::{TYPE}::{name}")
}

struct Resource {
    client: ResourceProviderClient<Channel>,
    name: String,
    ns: String,
    inputs: Value,
}

impl Resource {
    async fn new(wait: bool, prefix: &str, spec: Value, annotations: Value) -> Self {
        let mut client = provider(wait).await;
        let name = common::unique(prefix);
        let ns = common::unique(&format!("{prefix}-ns"));
        let mut news = json!({"metadata": {"annotations": annotations}, "spec": {"namespace": {"value": ns}, "createNamespace": true, "image": {"repo": "busybox"}}});
        for (k, v) in spec.as_object().unwrap() {
            news["spec"][k] = v.clone();
        }
        let resp = client
            .check(CheckRequest {
                urn: urn(&name),
                news: Some(to_struct(&news)),
                name: name.clone(),
                r#type: TYPE.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(resp.failures.is_empty(), "{:?}", resp.failures);
        Self {
            client,
            name,
            ns,
            inputs: from_struct(&resp.inputs.unwrap()),
        }
    }

    async fn create(
        &mut self,
        timeout: f64,
    ) -> Result<(String, Value), (ErrorResourceInitFailed, String)> {
        let result = self
            .client
            .create(CreateRequest {
                urn: urn(&self.name),
                properties: Some(to_struct(&self.inputs)),
                name: self.name.clone(),
                r#type: TYPE.into(),
                timeout,
                ..Default::default()
            })
            .await;
        match result {
            Ok(resp) => {
                let resp = resp.into_inner();
                Ok((resp.id, from_struct(&resp.properties.unwrap())))
            }
            Err(status) => {
                let details =
                    google_rpc::Status::decode(status.details()).expect("status details decode");
                assert_eq!(
                    details.details[0].type_url,
                    "type.googleapis.com/pulumirpc.ErrorResourceInitFailed",
                    "{status:?}"
                );
                Err((
                    ErrorResourceInitFailed::decode(details.details[0].value.as_slice()).unwrap(),
                    status.message().to_owned(),
                ))
            }
        }
    }

    async fn diff_same(&mut self, outputs: &Value) -> kjob::api::pulumirpc::DiffResponse {
        self.client
            .diff(DiffRequest {
                id: format!("{}/{}", self.ns, self.name),
                urn: urn(&self.name),
                olds: Some(to_struct(outputs)),
                news: Some(to_struct(&self.inputs)),
                name: self.name.clone(),
                r#type: TYPE.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
    }

    async fn delete(&mut self, outputs: &Value) {
        self.client
            .delete(DeleteRequest {
                id: format!("{}/{}", self.ns, self.name),
                urn: urn(&self.name),
                properties: Some(to_struct(outputs)),
                name: self.name.clone(),
                r#type: TYPE.into(),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(
            common::get(&common::cluster(), ObjectKind::Namespace, None, &self.ns)
                .await
                .is_none()
        );
    }
}

#[tokio::test]
async fn a_job_that_succeeds_is_complete_when_create_returns() {
    let mut r = Resource::new(true, "ok", json!({"command": ["true"]}), json!({})).await;
    let (_, outputs) = r.create(120.0).await.expect("the Job completes");
    assert_eq!(outputs["jobStatus"], json!("Complete"));
    let job = common::get(&common::cluster(), ObjectKind::Job, Some(&r.ns), &r.name)
        .await
        .unwrap();
    assert_eq!(
        kjob::core::outcome::job_state(&job),
        kjob::core::outcome::JobState::Complete
    );
    let diff = r.diff_same(&outputs).await;
    assert_eq!(
        diff.changes,
        DiffChanges::DiffNone as i32,
        "run once: an unchanged finished Job is left alone"
    );
    r.delete(&outputs).await;
}

#[tokio::test]
async fn a_job_that_fails_by_backoff_is_a_partial_failure_and_is_replaced_next_time() {
    let secret = "hunter2-very-secret";
    let mut r = Resource::new(
        true,
        "backoff",
        json!({"image": {"repo": "kjob.test/fail"}, "backoffLimit": 1, "env": {"secrets": {"PASSWORD": {"value": secret}}}}),
        json!({}),
    )
    .await;
    let (failure, message) = r.create(120.0).await.expect_err("the Job fails");
    assert_eq!(failure.id, format!("{}/{}", r.ns, r.name));
    let reasons = failure.reasons.join("\n");
    assert!(reasons.contains("BackoffLimitExceeded"), "{reasons}");
    assert!(
        reasons.contains("exit code 1"),
        "the report names the failing pods: {reasons}"
    );
    assert!(
        !reasons.contains(secret) && !message.contains(secret),
        "no secret in errors"
    );
    let outputs = from_struct(&failure.properties.unwrap());
    assert_eq!(outputs["jobStatus"], json!("Failed"));
    assert!(
        !outputs.to_string().contains(secret)
            || outputs
                .to_string()
                .contains("1b47061264138c4ac30d75fd1eb44270")
    );
    let diff = r.diff_same(&outputs).await;
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
    let mut r = Resource::new(
        true,
        "deadline",
        json!({"image": {"repo": "kjob.test/hang"}, "activeDeadlineSeconds": 3}),
        json!({}),
    )
    .await;
    let (failure, _) = r.create(120.0).await.expect_err("the Job fails");
    assert!(
        failure.reasons.join("\n").contains("DeadlineExceeded"),
        "{:?}",
        failure.reasons
    );
    r.delete(&from_struct(&failure.properties.unwrap())).await;
}

#[tokio::test]
async fn waiting_times_out_with_the_requests_timeout() {
    let mut r = Resource::new(
        true,
        "timeout",
        json!({"image": {"repo": "kjob.test/hang"}}),
        json!({}),
    )
    .await;
    let started = std::time::Instant::now();
    let (failure, _) = r.create(3.0).await.expect_err("the wait times out");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        failure
            .reasons
            .join("\n")
            .contains("did not finish within 3s"),
        "{:?}",
        failure.reasons
    );
    let outputs = from_struct(&failure.properties.unwrap());
    assert_eq!(outputs["jobStatus"], json!("Running"));
    r.delete(&outputs).await;
}

#[tokio::test]
async fn a_job_collected_by_its_ttl_stays_in_state_after_refresh() {
    let mut r = Resource::new(
        true,
        "ttl",
        json!({"ttlSecondsAfterFinished": 1}),
        json!({}),
    )
    .await;
    let (id, outputs) = r.create(120.0).await.expect("the Job completes");
    let cluster = common::cluster();
    let (ns, name) = (r.ns.clone(), r.name.clone());
    common::eventually(
        "the TTL controller to delete the Job",
        Duration::from_secs(60),
        || {
            let cluster = &cluster;
            let (ns, name) = (ns.clone(), name.clone());
            async move {
                common::get(cluster, ObjectKind::Job, Some(&ns), &name)
                    .await
                    .is_none()
                    .then_some(())
            }
        },
    )
    .await;
    let read = r
        .client
        .read(ReadRequest {
            id: id.clone(),
            urn: urn(&r.name),
            properties: Some(to_struct(&outputs)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.id, id, "collected, not vanished");
    let refreshed = from_struct(&read.properties.unwrap());
    assert_eq!(refreshed["jobStatus"], json!("Collected"));
    let diff = r.diff_same(&refreshed).await;
    assert_eq!(
        diff.changes,
        DiffChanges::DiffNone as i32,
        "no re-run under run-once: {diff:?}"
    );
    r.delete(&refreshed).await;
}

#[tokio::test]
async fn run_policy_every_up_replaces_a_finished_job() {
    let mut r = Resource::new(
        true,
        "every",
        json!({}),
        json!({"kjob.project-planton.org/run-policy": "every-up"}),
    )
    .await;
    let (_, outputs) = r.create(120.0).await.expect("the Job completes");
    let diff = r.diff_same(&outputs).await;
    assert_eq!(diff.replaces, ["jobStatus"]);
    r.delete(&outputs).await;
}

#[tokio::test]
async fn waiting_can_be_turned_off_per_resource_and_per_provider() {
    let mut r = Resource::new(
        true,
        "nowait",
        json!({"image": {"repo": "kjob.test/hang"}}),
        json!({"kjob.project-planton.org/wait": "false"}),
    )
    .await;
    let (_, outputs) = r.create(600.0).await.expect("returns without waiting");
    assert!(
        matches!(outputs["jobStatus"].as_str(), Some("Running")),
        "{}",
        outputs["jobStatus"]
    );
    r.delete(&outputs).await;

    let mut r = Resource::new(
        false,
        "nowait-cfg",
        json!({"image": {"repo": "kjob.test/hang"}}),
        json!({}),
    )
    .await;
    let (_, outputs) = r.create(600.0).await.expect("returns without waiting");
    assert_eq!(outputs["jobStatus"], json!("Running"));
    r.delete(&outputs).await;
}
