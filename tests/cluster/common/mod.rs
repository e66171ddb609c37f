//! Shared helpers for the tests that run against the test bed (`scripts/testbed up`).
//! There is no skipping: without a test bed these tests fail and say how to start one.
//! The provider's tests drive it through [`provider::Provider`] (one typed call per RPC) and
//! [`lifecycle::Lifecycle`] (a resource's whole life, step by step).
#![allow(dead_code)]

pub mod bed;
pub mod cli;
pub mod lifecycle;
pub mod provider;
pub mod proxy;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use kjob::cluster::{Cluster, ClusterConfig};
use kjob::core::objects::{ObjectKind, ObjectRef};
use serde_json::Value;

/// The test bed's kubeconfig: `KJOB_TEST_KUBECONFIG`, else `$KJOB_TESTBED_DIR/kubeconfig`
/// (default `/tmp/kjob-testbed/kubeconfig`).
pub fn kubeconfig() -> String {
    let path = std::env::var("KJOB_TEST_KUBECONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(
                std::env::var("KJOB_TESTBED_DIR").unwrap_or_else(|_| "/tmp/kjob-testbed".into()),
            )
            .join("kubeconfig")
        });
    assert!(
        path.exists(),
        "no test bed: {} does not exist. Start it with `scripts/testbed up` (README's test command does this).",
        path.display()
    );
    path.to_string_lossy().into_owned()
}

/// A cluster client for the test bed.
pub fn cluster() -> Cluster {
    Cluster::new(ClusterConfig {
        kubeconfig: Some(kubeconfig()),
        context: None,
        ..ClusterConfig::default()
    })
}

/// A name unique to this test run: `<prefix>-<pid>-<n>`.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        % 100_000;
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id() % 10_000,
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// An object reference.
pub fn obj(kind: ObjectKind, namespace: Option<&str>, name: &str) -> ObjectRef {
    ObjectRef {
        kind,
        namespace: namespace.map(str::to_owned),
        name: name.to_owned(),
    }
}

/// Reads an object from the test bed.
pub async fn get(
    cluster: &Cluster,
    kind: ObjectKind,
    namespace: Option<&str>,
    name: &str,
) -> Option<Value> {
    cluster
        .get(&obj(kind, namespace, name))
        .await
        .expect("the test bed answers")
}

/// The label selector of every object kjob labelled with resource name `name` (whoever its
/// owner).
pub fn named(name: &str) -> String {
    format!("app.kubernetes.io/managed-by=kjob,kjob.project-planton.org/job={name}")
}

/// The objects in `namespace` that carry kjob's managed-by label
/// (`app.kubernetes.io/managed-by=kjob`), whoever owns them: ConfigMaps, Secrets,
/// ServiceAccounts and Jobs, in that order, each kind sorted by name. Objects being deleted
/// count: they are still there.
pub async fn labelled(cluster: &Cluster, namespace: &str) -> Vec<(ObjectKind, String)> {
    use kjob::core::objects::labels;
    let client = cluster.client().await.expect("the test bed answers");
    let selector = format!("{}={}", labels::MANAGED_BY, labels::MANAGED_BY_VALUE);
    let params = kube::api::ListParams::default().labels(&selector);
    let mut out = Vec::new();
    for kind in [
        ObjectKind::ConfigMap,
        ObjectKind::Secret,
        ObjectKind::ServiceAccount,
        ObjectKind::Job,
    ] {
        let api: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
            client.clone(),
            namespace,
            &kjob::cluster::api_resource(kind),
        );
        let mut names: Vec<String> = api
            .list(&params)
            .await
            .expect("the test bed answers")
            .items
            .into_iter()
            .filter_map(|o| o.metadata.name)
            .collect();
        names.sort();
        out.extend(names.into_iter().map(|n| (kind, n)));
    }
    out
}

/// Creates a namespace directly (not through kjob) and returns its name.
pub async fn namespace(cluster: &Cluster, prefix: &str) -> String {
    let name = unique(prefix);
    namespace_named(cluster, &name).await;
    name
}

/// Creates the namespace `name` directly (not through kjob).
pub async fn namespace_named(cluster: &Cluster, name: &str) {
    let body =
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    cluster
        .apply(&obj(ObjectKind::Namespace, None, name), &body, None)
        .await
        .expect("create namespace");
}

/// Polls `f` until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A minimal valid KubernetesJob manifest document.
pub fn manifest(name: &str, namespace: &str, spec_extra: Value) -> Value {
    let mut spec = serde_json::json!({"namespace": {"value": namespace}, "image": {"repo": "busybox", "tag": "1.36"}, "command": ["true"]});
    if let (Some(s), Some(extra)) = (spec.as_object_mut(), spec_extra.as_object()) {
        for (k, v) in extra {
            s.insert(k.clone(), v.clone());
        }
    }
    serde_json::json!({"apiVersion": "kubernetes.project-planton.org/v1", "kind": "KubernetesJob", "metadata": {"name": name}, "spec": spec})
}

/// [`manifest`] as a Pulumi resource's inputs (without `apiVersion` and `kind`).
pub fn inputs(name: &str, namespace: &str, spec_extra: Value) -> Value {
    let mut doc = manifest(name, namespace, spec_extra);
    if let Some(map) = doc.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
    }
    doc
}

/// Gives every pod of `namespace` a log holding `lines` (the test bed's kwok serves it through
/// the API server's `pods/log`, `follow` too): `scripts/testbed pod-log`.
pub fn pod_log(namespace: &str, lines: &[&str]) {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/testbed");
    let output = std::process::Command::new(script)
        .arg("pod-log")
        .arg(namespace)
        .args(lines)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("scripts/testbed runs");
    assert!(
        output.status.success(),
        "scripts/testbed pod-log {namespace}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// How long one external tool call of a test (`pulumi`, `npm`, `pip`, `go`) may take before it
/// is killed and the test fails: a hang costs this, not the whole CI budget.
pub const TOOL_LIMIT: Duration = Duration::from_secs(900);

/// `program` run under coreutils' `timeout` ([`TOOL_LIMIT`], then SIGKILL 15 s later): a child
/// that hangs exits 124 (137 when killed) and the caller's success assertion fails with its
/// output.
pub fn bounded(program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
    let mut cmd = std::process::Command::new("timeout");
    cmd.arg("--kill-after=15s")
        .arg(TOOL_LIMIT.as_secs().to_string())
        .arg(program);
    cmd
}
