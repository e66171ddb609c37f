//! Shared helpers for the tests that run against the test bed (`scripts/testbed up`).
//! There is no skipping: without a test bed these tests fail and say how to start one.
#![allow(dead_code)]

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

/// Creates a namespace directly (not through kjob) and returns its name.
pub async fn namespace(cluster: &Cluster, prefix: &str) -> String {
    let name = unique(prefix);
    let body =
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    cluster
        .apply(&obj(ObjectKind::Namespace, None, &name), &body)
        .await
        .expect("create namespace");
    name
}

/// Polls `f` until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
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

/// The provider's gRPC service started in this process on a free loopback port, configured
/// with `config` (the test bed's kubeconfig is added), as the engine would drive it.
pub async fn provider(
    mut config: Value,
) -> kjob::api::pulumirpc::resource_provider_client::ResourceProviderClient<tonic::transport::Channel>
{
    use kjob::api::pulumirpc::resource_provider_client::ResourceProviderClient;
    use kjob::api::pulumirpc::resource_provider_server::ResourceProviderServer;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = ResourceProviderServer::new(kjob::provider::service::KjobProvider::new(
        kjob::provider::engine::EngineLog::default(),
        std::sync::Arc::new(tokio::sync::Notify::new()),
    ));
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let mut client = ResourceProviderClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    config["kubeconfig"] = Value::from(kubeconfig());
    client
        .configure(kjob::api::pulumirpc::ConfigureRequest {
            args: Some(kjob::provider::values::to_struct(&config)),
            accept_secrets: true,
            accept_resources: true,
            ..Default::default()
        })
        .await
        .expect("Configure succeeds");
    client
}
