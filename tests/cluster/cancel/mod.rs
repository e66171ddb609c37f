//! Cancellation on the test bed: Pulumi's Cancel, SIGINT and SIGTERM stop a wait for a Job that
//! never finishes (image `kjob.test/hang`: kwok keeps its pod Running) within 2 s.
//!
//! - the provider in this process: Cancel during Create's wait answers a partial failure that
//!   names the Job; a re-run (a fresh provider, Update as the engine does after a partial
//!   failure) waits for the same Job and converges once its pod finishes;
//! - a Create that arrives after Cancel creates nothing and says so;
//! - the provider binary: SIGTERM during Create's wait answers the Create and exits;
//! - `kjob up`, `kjob wait` and `kjob down` as child processes: SIGINT or SIGTERM exits 130, the
//!   state records what exists, the lock is released (the next command starts at once), and
//!   `kjob down` afterwards removes everything;
//! - Ctrl-C on a terminal (util-linux `script`) at `kjob up`'s confirmation prompt exits 130 at
//!   once with nothing changed and the lock released.
//!
//! Every test prints the time from the Cancel or signal to the return (`cargo test -- --nocapture`).

use crate::common;
use crate::launch;

mod cli;

use std::time::{Duration, Instant};

use common::provider::Provider;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kjob::cluster::Cluster;
use kjob::core::objects::ObjectKind;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

/// What the brief promises: a cancelled wait ends within this.
const PROMPT: Duration = Duration::from_secs(2);

/// A finalizer the tests put on a Job so that its deletion waits until they take it off.
const HOLD: &str = "kjob.test/hold";

/// Inputs of a KubernetesJob whose pod runs until deleted, in its own namespace.
fn hanging(ns: &str) -> Value {
    json!({"spec": {"namespace": {"value": ns}, "createNamespace": true, "image": {"repo": "kjob.test/hang"}}})
}

/// The Job `ns/name` as the API server has it.
async fn live_job(cluster: &Cluster, ns: &str, name: &str) -> Option<Value> {
    common::get(cluster, ObjectKind::Job, Some(ns), name).await
}

/// Waits until Job `ns/name` has a running pod.
async fn running(cluster: &Cluster, ns: &str, name: &str) -> String {
    common::eventually("the Job's pod to run", Duration::from_secs(60), || async {
        let job = live_job(cluster, ns, name).await?;
        (job["status"]["active"].as_i64() == Some(1)).then(|| {
            job["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
    })
    .await
}

/// The work is done: every pod of Job `ns/name` switches to an image the test bed completes.
async fn finish_pods(cluster: &Cluster, ns: &str, name: &str) {
    let api: Api<Pod> = Api::namespaced(cluster.client().await.unwrap(), ns);
    for pod in cluster.job_pods(ns, name).await.unwrap() {
        let pod_name = pod.metadata.name.clone().unwrap();
        let container = pod.spec.as_ref().unwrap().containers[0].name.clone();
        let patch = json!({"spec": {"containers": [{"name": container, "image": "busybox:1.36"}]}});
        api.patch(&pod_name, &PatchParams::default(), &Patch::Strategic(patch))
            .await
            .expect("patch the pod's image");
    }
}

/// Puts [`HOLD`] on Job `ns/name` (`on`), or takes it off.
async fn hold(cluster: &Cluster, ns: &str, name: &str, on: bool) {
    let api: Api<Job> = Api::namespaced(cluster.client().await.unwrap(), ns);
    let job = api.get(name).await.expect("read the Job");
    let mut finalizers: Vec<String> = job.metadata.finalizers.unwrap_or_default();
    finalizers.retain(|f| f != HOLD);
    if on {
        finalizers.push(HOLD.to_owned());
    }
    let patch = json!({"metadata": {"finalizers": finalizers}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .expect("patch the Job's finalizers");
}

/// How many objects carry the ownership labels of `owner`, by kind, cluster-wide.
async fn owned(cluster: &Cluster, owner: &str) -> Vec<(ObjectKind, usize)> {
    let mut out = Vec::new();
    for kind in [
        ObjectKind::Namespace,
        ObjectKind::ConfigMap,
        ObjectKind::Secret,
        ObjectKind::ServiceAccount,
        ObjectKind::Job,
    ] {
        let items = cluster
            .list_labelled(kind, None, &common::named(owner))
            .await
            .unwrap();
        out.push((kind, items.len()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_create_waiting_for_its_job_and_a_rerun_converges() {
    let p = Provider::start(json!({})).await;
    let cluster = p.cluster();
    let name = common::unique("cancel");
    let ns = common::unique("cancel-ns");
    let checked = p.check_ok(&name, &hanging(&ns)).await;

    let create = tokio::spawn({
        let (p, name, checked) = (p.clone(), name.clone(), checked.clone());
        async move {
            let result = p.create(&name, &checked, 0.0).await;
            (result, Instant::now())
        }
    });
    let uid = running(&cluster, &ns, &name).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !create.is_finished(),
        "Create waits for a Job that never ends"
    );
    let sent = Instant::now();
    p.client().cancel(()).await.expect("Cancel");
    let (result, returned) = tokio::time::timeout(Duration::from_secs(30), create)
        .await
        .expect("Create returns after Cancel")
        .unwrap();
    let took = returned - sent;
    eprintln!("provider Create returned {took:?} after Cancel");
    assert!(took < PROMPT, "Create returned {took:?} after Cancel");

    let partial = result.expect_err("a cancelled Create fails").partial();
    assert_eq!(partial.id, format!("{ns}/{name}"));
    assert_eq!(partial.outputs["jobName"], json!(name));
    assert_eq!(partial.outputs["namespace"], json!(ns));
    assert_eq!(partial.outputs["jobStatus"], json!("Running"));
    let reasons = partial.reasons.join("\n");
    assert!(
        reasons.contains(&format!("stopped waiting for Job {ns}/{name}: cancelled")),
        "{reasons}"
    );
    // The Job keeps running, untouched.
    let job = live_job(&cluster, &ns, &name)
        .await
        .expect("the Job exists");
    assert_eq!(job["metadata"]["uid"], json!(uid));

    // The re-run: the engine starts the provider again and updates the resource that failed
    // to initialize; its Job (the same one) finishes meanwhile.
    let again = Provider::start(json!({})).await;
    let diff = again
        .diff(&name, &partial.id, &partial.outputs, &checked)
        .await;
    assert_eq!(
        diff.expect(),
        common::lifecycle::ExpectDiff::None,
        "{diff:?}"
    );
    finish_pods(&cluster, &ns, &name).await;
    let outputs = again
        .update(&name, &partial.id, &partial.outputs, &checked, 60.0)
        .await
        .expect("the re-run converges");
    assert_eq!(outputs["jobStatus"], json!("Complete"));
    let job = live_job(&cluster, &ns, &name)
        .await
        .expect("the Job exists");
    assert_eq!(
        job["metadata"]["uid"],
        json!(uid),
        "the same Job, not a new one"
    );
    let counts = owned(&cluster, &name).await;
    assert_eq!(
        counts.iter().map(|(_, n)| n).sum::<usize>(),
        3,
        "Namespace, ServiceAccount, Job: {counts:?}"
    );

    again
        .delete(&name, &partial.id, &outputs)
        .await
        .expect("Delete");
    let counts = owned(&cluster, &name).await;
    assert!(counts.iter().all(|(_, n)| *n == 0), "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_after_cancel_touches_nothing() {
    let p = Provider::start(json!({})).await;
    let cluster = p.cluster();
    let name = common::unique("cancel-first");
    let ns = common::unique("cancel-first-ns");
    let checked = p.check_ok(&name, &hanging(&ns)).await;
    p.client().cancel(()).await.expect("Cancel");
    let started = Instant::now();
    let failure = p
        .create(&name, &checked, 0.0)
        .await
        .expect_err("a cancelled provider creates nothing");
    assert!(started.elapsed() < PROMPT, "{:?}", started.elapsed());
    let common::provider::Failure::Plain { message, .. } = &failure else {
        panic!("nothing exists, so no partial failure: {failure:?}");
    };
    assert!(message.contains("cancelled before applying"), "{message}");
    let counts = owned(&cluster, &name).await;
    assert!(counts.iter().all(|(_, n)| *n == 0), "{counts:?}");
    assert!(
        common::get(&cluster, ObjectKind::Namespace, None, &ns)
            .await
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_provider_binary_during_a_create_wait() {
    let (_engine, address) = launch::FakeEngine::start().await;
    let mut process = launch::Provider::launch(&address, &[]);
    let p = Provider::configure(process.client().await, &common::kubeconfig(), json!({})).await;
    let cluster = p.cluster();
    let name = common::unique("cancel-bin");
    let ns = common::unique("cancel-bin-ns");
    let checked = p.check_ok(&name, &hanging(&ns)).await;

    let create = tokio::spawn({
        let (p, name, checked) = (p.clone(), name.clone(), checked.clone());
        async move { p.create(&name, &checked, 0.0).await }
    });
    running(&cluster, &ns, &name).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sent = Instant::now();
    process.signal("TERM");
    let status = tokio::task::block_in_place(|| process.exited_within(Duration::from_secs(10)));
    let took = sent.elapsed();
    eprintln!("provider binary exited {took:?} after SIGTERM: {status:?}");
    let status = status.expect("the provider exits after SIGTERM");
    assert!(took < PROMPT, "exited {took:?} after SIGTERM");
    assert!(status.success(), "{status:?}\n{}", process.stderr());
    // The answer went out before the server stopped: a partial failure naming the Job.
    let partial = tokio::time::timeout(Duration::from_secs(5), create)
        .await
        .expect("Create answered")
        .unwrap()
        .expect_err("a cancelled Create fails")
        .partial();
    assert_eq!(partial.id, format!("{ns}/{name}"));
    assert_eq!(partial.outputs["jobStatus"], json!("Running"));

    // Clean up with a provider of this process.
    let again = Provider::start(json!({})).await;
    again
        .delete(&name, &partial.id, &partial.outputs)
        .await
        .expect("Delete");
    let counts = owned(&cluster, &name).await;
    assert!(counts.iter().all(|(_, n)| *n == 0), "{counts:?}");
}
