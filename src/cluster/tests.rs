//! The client's retries against a mocked API server.

use super::*;
use http::{Request, Response};
use kube::client::Body;

fn status(code: u16) -> Response<Body> {
    let body = serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "injected", "reason": "Injected", "code": code});
    Response::builder()
        .status(code)
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap()
}

fn quick() -> RetryPolicy {
    RetryPolicy {
        attempts: 4,
        first_pause: Duration::from_millis(1),
        max_pause: Duration::from_millis(2),
        deadlines: Deadlines::default(),
    }
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried() {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let cluster = Cluster::from_client(Client::new(service, "default"), quick());
    let server = tokio::spawn(async move {
        for code in [429, 503] {
            let (_, send) = handle.next_request().await.expect("a request");
            send.send_response(status(code));
        }
        let (request, send) = handle.next_request().await.expect("a third request");
        assert_eq!(request.uri().path(), "/api/v1/namespaces/ns/configmaps/cm");
        let cm = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "ns"}});
        send.send_response(
            Response::builder()
                .status(200)
                .body(Body::from(serde_json::to_vec(&cm).unwrap()))
                .unwrap(),
        );
    });
    let id = ObjectRef {
        kind: ObjectKind::ConfigMap,
        namespace: Some("ns".into()),
        name: "cm".into(),
    };
    let got = cluster
        .get(&id)
        .await
        .expect("succeeds after two transient failures");
    assert_eq!(got.unwrap()["metadata"]["name"], "cm");
    server.await.unwrap();
}

#[tokio::test]
async fn permanent_errors_fail_at_once_and_retries_are_bounded() {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let cluster = Cluster::from_client(Client::new(service, "default"), quick());
    let id = ObjectRef {
        kind: ObjectKind::ConfigMap,
        namespace: Some("ns".into()),
        name: "cm".into(),
    };
    let server = tokio::spawn(async move {
        let (_, send) = handle.next_request().await.expect("a request");
        send.send_response(status(403));
        for _ in 0..4 {
            let (_, send) = handle.next_request().await.expect("a request");
            send.send_response(status(500));
        }
        handle
    });
    let forbidden = cluster.get(&id).await.unwrap_err();
    assert_eq!(forbidden.status(), Some(403));
    let server_error = cluster.get(&id).await.unwrap_err();
    assert_eq!(
        server_error.status(),
        Some(500),
        "gives up after the policy's attempts"
    );
    server.await.unwrap();
}
