//! Warning events belong to a Job by UID: Job `migrate` and Job `migrate-users` in one
//! namespace, warnings about `migrate-users`'s pod (whose name starts with `migrate-`), and
//! `migrate`'s warnings and failure report do not show them; its own pod's and its own do.

use crate::common;

use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Pod};
use kjob::core::objects::ObjectKind;
use serde_json::{Value, json};

fn job(name: &str, ns: &str) -> Value {
    json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "c", "image": "busybox:1.36", "command": ["true"]}]}}}})
}

/// A Warning event about `object` (kind, name, uid), created directly through the API.
async fn warn(events: &kube::Api<Event>, ns: &str, about: (&str, &str, &str), message: &str) {
    let (kind, name, uid) = about;
    let now = jiff::Timestamp::now().to_string();
    let event: Event = serde_json::from_value(json!({
        "metadata": {"generateName": "kjob-test-", "namespace": ns},
        "involvedObject": {"kind": kind, "name": name, "namespace": ns, "uid": uid,
            "apiVersion": if kind == "Job" { "batch/v1" } else { "v1" }},
        "type": "Warning", "reason": "TestWarning", "message": message,
        "firstTimestamp": now, "lastTimestamp": now, "count": 1,
        "source": {"component": "kjob-test"}
    }))
    .unwrap();
    events
        .create(&kube::api::PostParams::default(), &event)
        .await
        .expect("create the event");
}

/// The first pod of Job `name` (waits for the controller to create it).
async fn pod_of(pods: &kube::Api<Pod>, name: &str) -> (String, String) {
    common::eventually(
        &format!("a pod of Job {name}"),
        Duration::from_secs(60),
        || async {
            let params = kube::api::ListParams::default()
                .labels(&format!("batch.kubernetes.io/job-name={name}"));
            let list = pods.list(&params).await.ok()?;
            let pod = list.items.into_iter().next()?;
            Some((pod.metadata.name?, pod.metadata.uid?))
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_warnings_are_its_own_not_those_of_a_job_whose_name_extends_it() {
    let cluster = common::cluster();
    let ns = common::namespace(&cluster, "warnings").await;
    let mut uids = Vec::new();
    for name in ["migrate", "migrate-users"] {
        let live = cluster
            .apply(
                &common::obj(ObjectKind::Job, Some(&ns), name),
                &job(name, &ns),
                None,
            )
            .await
            .expect("create the Job")
            .expect("created");
        uids.push(live["metadata"]["uid"].as_str().unwrap().to_owned());
    }
    let client = cluster.client().await.unwrap();
    let pods: kube::Api<Pod> = kube::Api::namespaced(client.clone(), &ns);
    let events: kube::Api<Event> = kube::Api::namespaced(client, &ns);
    let (own_pod, own_pod_uid) = pod_of(&pods, "migrate").await;
    let (users_pod, users_pod_uid) = pod_of(&pods, "migrate-users").await;
    assert!(users_pod.starts_with("migrate-"), "{users_pod}");
    warn(
        &events,
        &ns,
        ("Pod", &users_pod, &users_pod_uid),
        "users-pod-warning",
    )
    .await;
    warn(
        &events,
        &ns,
        ("Job", "migrate-users", &uids[1]),
        "users-job-warning",
    )
    .await;
    warn(
        &events,
        &ns,
        ("Pod", &own_pod, &own_pod_uid),
        "own-pod-warning",
    )
    .await;
    warn(
        &events,
        &ns,
        ("Job", "migrate", &uids[0]),
        "own-job-warning",
    )
    .await;
    // A pod of the same name pattern whose UID is no pod of the Job: a name match is not enough.
    warn(
        &events,
        &ns,
        (
            "Pod",
            &format!("migrate-{}", "zzzzz"),
            "00000000-0000-0000-0000-000000000000",
        ),
        "stranger-warning",
    )
    .await;

    let messages = |list: Vec<Event>| -> Vec<String> {
        let mut m: Vec<String> = list.into_iter().filter_map(|e| e.message).collect();
        m.sort();
        m
    };
    let own = cluster
        .job_warnings(&ns, "migrate", &uids[0])
        .await
        .expect("warnings");
    assert_eq!(messages(own), ["own-job-warning", "own-pod-warning"]);
    let users = cluster
        .job_warnings(&ns, "migrate-users", &uids[1])
        .await
        .expect("warnings");
    assert_eq!(messages(users), ["users-job-warning", "users-pod-warning"]);

    let report = kjob::wait::diagnose(&cluster, &ns, "migrate", &[]).await;
    eprintln!("warnings: migrate's report:{report}");
    assert!(report.contains("own-pod-warning"), "{report}");
    assert!(report.contains("own-job-warning"), "{report}");
    assert!(!report.contains("users-"), "{report}");
    assert!(!report.contains("stranger"), "{report}");
}
