//! Deadlines against a silent API server: a loopback proxy (`common::proxy`) in front of the
//! test bed accepts connections and never answers. Every call must fail within its configured
//! deadline with an error naming the object and "no answer within Ns", through the cluster
//! client, the provider and the CLI; once the server answers again a re-run converges. A long
//! poll (a watch) outlives the per-request limit.

use crate::common;

use std::time::{Duration, Instant};

use common::provider::{Failure, Provider};
use common::proxy::{Mode, Proxy};
use futures::StreamExt;
use kjob::cluster::{Cluster, ClusterConfig, Deadlines};
use kjob::core::objects::ObjectKind;
use serde_json::json;

/// The deadlines of the proxied clients here: 2 s a request, 4 s a call.
const SHORT: Deadlines = Deadlines {
    request: Duration::from_secs(2),
    call: Duration::from_secs(4),
};

/// Slack for a loaded 2-core machine on top of a deadline.
const SLACK: Duration = Duration::from_millis(1500);

fn through(kubeconfig: &std::path::Path, deadlines: Deadlines) -> Cluster {
    Cluster::new(ClusterConfig {
        kubeconfig: Some(kubeconfig.to_string_lossy().into_owned()),
        deadlines,
        ..ClusterConfig::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_api_server_fails_a_call_within_its_deadline_and_a_rerun_converges() {
    let direct = common::cluster();
    let ns = common::namespace(&direct, "deadline").await;
    let dir = tempfile::tempdir().unwrap();
    let proxy = Proxy::in_front_of(&common::kubeconfig()).await;
    let cluster = through(&proxy.kubeconfig(&common::kubeconfig(), dir.path()), SHORT);
    let id = common::obj(ObjectKind::ConfigMap, Some(&ns), "silence");
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "silence", "namespace": ns}, "data": {"k": "v"}});
    // A pooled connection is open and working when the server goes silent.
    assert!(cluster.get(&id).await.expect("through the proxy").is_none());
    let before = proxy.accepted();

    proxy.set(Mode::BlackHole);
    let t = Instant::now();
    let error = cluster
        .apply(&id, &body, None)
        .await
        .expect_err("no answer, no success");
    let took = t.elapsed();
    let text = error.to_string();
    eprintln!("deadlines: apply failed after {took:.1?}: {text}");
    assert!(
        took <= SHORT.call + SLACK,
        "failed within the call's deadline: {took:?}"
    );
    assert!(
        took >= SHORT.call - Duration::from_millis(100),
        "retried until the deadline: {took:?}"
    );
    assert!(
        text.contains(&format!("applying ConfigMap {ns}/silence")),
        "{text}"
    );
    assert!(text.contains("no answer within 4s"), "{text}");
    assert_eq!(
        kjob::cli::cluster_exit(&error),
        kjob::cli::Exit::Unreachable,
        "the CLI calls it unreachable (exit 4)"
    );
    assert!(
        proxy.accepted() > before,
        "the stalled connection was given up and a new one tried"
    );
    assert!(
        common::get(&direct, ObjectKind::ConfigMap, Some(&ns), "silence")
            .await
            .is_none(),
        "nothing reached the server"
    );

    // A refused connection is not a silence: it fails as a transport error, also in time.
    proxy.set(Mode::Refuse);
    let t = Instant::now();
    let refused = cluster.get(&id).await.expect_err("refused");
    assert!(t.elapsed() <= SHORT.call + SLACK, "{:?}", t.elapsed());
    assert!(
        !refused.to_string().contains("no answer"),
        "a refusal is reported as such: {refused}"
    );

    proxy.set(Mode::Pass);
    let live = cluster
        .apply(&id, &body, None)
        .await
        .expect("the re-run converges")
        .expect("applied");
    assert_eq!(live["data"]["k"], "v");
    assert!(
        common::get(&direct, ObjectKind::ConfigMap, Some(&ns), "silence")
            .await
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_outlives_the_request_timeout() {
    let direct = common::cluster();
    let ns = common::namespace(&direct, "longpoll").await;
    let dir = tempfile::tempdir().unwrap();
    let proxy = Proxy::in_front_of(&common::kubeconfig()).await;
    let cluster = through(
        &proxy.kubeconfig(&common::kubeconfig(), dir.path()),
        Deadlines {
            request: Duration::from_secs(1),
            call: Duration::from_secs(2),
        },
    );
    let client = cluster.client().await.expect("connects");
    let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> = kube::Api::namespaced(client, &ns);
    let t = Instant::now();
    let params = kube::api::WatchParams::default().timeout(4);
    let mut stream = api.watch(&params, "0").await.expect("a watch").boxed();
    let mut events = 0;
    while let Some(event) = stream.next().await {
        event.expect("the watch is not cut");
        events += 1;
    }
    let took = t.elapsed();
    eprintln!("deadlines: a quiet watch ended after {took:.1?} with {events} events");
    assert!(
        took >= Duration::from_millis(3500),
        "the server ended the watch at its 4 s, not the client at its 1 s request limit: {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_fails_a_create_within_call_timeout_and_a_rerun_converges() {
    let direct = common::cluster();
    let dir = tempfile::tempdir().unwrap();
    let proxy = Proxy::in_front_of(&common::kubeconfig()).await;
    let kubeconfig = proxy.kubeconfig(&common::kubeconfig(), dir.path());
    let p = Provider::start_on(
        &kubeconfig.to_string_lossy(),
        json!({"requestTimeout": 2, "callTimeout": "4"}),
    )
    .await;
    let name = common::unique("silent");
    let ns = common::unique("silent-ns");
    let inputs = p
        .check_ok(
            &name,
            &json!({"spec": {"namespace": {"value": ns}, "createNamespace": true,
                "image": {"repo": "busybox", "tag": "1.36"}, "command": ["true"],
                "configMaps": {"a": "1"}}}),
        )
        .await;
    proxy.set(Mode::BlackHole);
    let t = Instant::now();
    let failure = p
        .create(&name, &inputs, 60.0)
        .await
        .expect_err("no answer, no Create");
    let took = t.elapsed();
    let message = match &failure {
        Failure::Plain { message, .. } => message.clone(),
        Failure::Partial(partial) => panic!("nothing was applied: {}", partial.message),
    };
    eprintln!("deadlines: Create failed after {took:.1?}: {message}");
    assert!(took <= SHORT.call + SLACK, "{took:?}");
    assert!(message.contains(&format!("Namespace {ns}")), "{message}");
    assert!(message.contains("no answer within 4s"), "{message}");

    proxy.set(Mode::Pass);
    let (_, outputs) = p
        .create(&name, &inputs, 60.0)
        .await
        .expect("the re-run converges");
    assert_eq!(outputs["jobStatus"], "Complete");
    let labelled = common::labelled(&direct, &ns).await;
    assert_eq!(
        labelled,
        [
            (ObjectKind::ConfigMap, "a".to_owned()),
            (ObjectKind::ServiceAccount, name.clone()),
            (ObjectKind::Job, name.clone()),
        ],
        "exactly the rendered objects"
    );
    p.delete(&name, &format!("{ns}/{name}"), &outputs)
        .await
        .expect("delete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kjob_up_against_a_silent_server_exits_4_within_call_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let proxy = Proxy::in_front_of(&common::kubeconfig()).await;
    let kubeconfig = proxy.kubeconfig(&common::kubeconfig(), dir.path());
    let name = common::unique("silent-cli");
    let manifest = dir.path().join("job.yaml");
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: kubernetes.project-planton.org/v1\nkind: KubernetesJob\nmetadata: {{name: {name}}}\nspec:\n  namespace: {{value: default}}\n  image: {{repo: busybox, tag: '1.36'}}\n"
        ),
    )
    .unwrap();
    proxy.set(Mode::BlackHole);
    let t = Instant::now();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_kjob"))
        .args(["up", "--yes", "--request-timeout", "1", "--manifest"])
        .arg(&manifest)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .env("KJOB_CALL_TIMEOUT", "3")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    let took = t.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!(
        "deadlines: kjob up exited {:?} after {took:.1?}: {stderr}",
        out.status.code()
    );
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(took <= Duration::from_secs(3) + SLACK * 2, "{took:?}");
    assert!(stderr.contains("no answer within 3s"), "{stderr}");
    assert!(stderr.contains(&format!("default/{name}")), "{stderr}");
}
