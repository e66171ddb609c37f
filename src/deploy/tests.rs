//! The guarded writes against a mocked API server: the ownership check and the act carry the
//! object's uid and resourceVersion, and a write that loses a race reads again and decides again.

use std::time::Duration;

use http::{Request, Response};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};
use tower_test::mock::Handle;

use super::*;
use crate::cluster::{Deadlines, RetryPolicy};
use crate::core::refs::ResourceKey;

fn owner(stack: &str) -> Owner {
    Owner::new(
        &ResourceKey {
            kind: "KubernetesJob".into(),
            env: String::new(),
            name: "cm".into(),
        },
        stack,
    )
}

fn config_map(holder: &Owner, rv: &str) -> Value {
    let mut body = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cm", "namespace": "ns", "uid": "u-1", "resourceVersion": rv}});
    holder.stamp(&mut body);
    body
}

fn id() -> ObjectRef {
    ObjectRef {
        kind: ObjectKind::ConfigMap,
        namespace: Some("ns".into()),
        name: "cm".into(),
    }
}

fn reply(code: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .body(Body::from(serde_json::to_vec(body).expect("JSON")))
        .expect("a response")
}

fn conflict() -> Response<Body> {
    reply(
        409,
        &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Conflict", "code": 409,
                "message": "Precondition failed"}),
    )
}

async fn body_of(request: Request<Body>) -> Value {
    let bytes = request.into_body().collect_bytes().await.expect("a body");
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

type Mock = Handle<Request<Body>, Response<Body>>;

fn cluster() -> (Cluster, Mock) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let policy = RetryPolicy {
        attempts: 3,
        first_pause: Duration::from_millis(1),
        max_pause: Duration::from_millis(2),
        deadlines: Deadlines::default(),
    };
    (
        Cluster::from_client(Client::new(service, "default"), policy),
        handle,
    )
}

#[derive(Default)]
struct Seen {
    skipped: Vec<String>,
    deleted: usize,
}

impl Observer for Seen {
    fn deleted(&mut self, _object: &ObjectRef) {
        self.deleted += 1;
    }
    fn skipped(&mut self, _object: &ObjectRef, why: &str) {
        self.skipped.push(why.to_owned());
    }
}

#[tokio::test]
async fn a_delete_that_loses_a_race_reads_again_and_leaves_the_new_owners_object() {
    let ours = owner("kjob:a");
    let theirs = owner("kjob:b");
    let (cluster, mut api) = cluster();
    let server = tokio::spawn(async move {
        let (request, send) = api.next_request().await.expect("GET");
        assert_eq!(request.method(), "GET");
        send.send_response(reply(200, &config_map(&owner("kjob:a"), "1")));
        let (request, send) = api.next_request().await.expect("DELETE");
        assert_eq!(request.method(), "DELETE");
        let body = body_of(request).await;
        assert_eq!(body["preconditions"]["uid"], "u-1", "{body}");
        assert_eq!(body["preconditions"]["resourceVersion"], "1", "{body}");
        // Someone relabelled it in between: the precondition fails.
        send.send_response(conflict());
        let (request, send) = api.next_request().await.expect("a second GET");
        assert_eq!(request.method(), "GET");
        send.send_response(reply(200, &config_map(&theirs, "2")));
        api
    });
    let mut seen = Seen::default();
    delete(
        &cluster,
        &[id()],
        &ours,
        &mut seen,
        &CancellationToken::new(),
    )
    .await
    .expect("nothing failed");
    assert_eq!(seen.deleted, 0);
    assert_eq!(seen.skipped.len(), 1);
    assert!(seen.skipped[0].contains("kjob:b"), "{:?}", seen.skipped);
    let mut api = server.await.expect("the server ran");
    // No further request: the other owner's object is not deleted.
    assert!(
        tokio::time::timeout(Duration::from_millis(50), api.next_request())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn an_apply_that_loses_a_race_reads_again_and_refuses_the_new_owners_object() {
    let (cluster, mut api) = cluster();
    let server = tokio::spawn(async move {
        let (_, send) = api.next_request().await.expect("GET");
        send.send_response(reply(200, &config_map(&owner("kjob:a"), "7")));
        let (request, send) = api.next_request().await.expect("PATCH");
        assert_eq!(request.method(), "PATCH");
        let body = body_of(request).await;
        assert_eq!(body["metadata"]["resourceVersion"], "7", "{body}");
        send.send_response(conflict());
        let (_, send) = api.next_request().await.expect("a second GET");
        send.send_response(reply(200, &config_map(&owner("kjob:b"), "8")));
        api
    });
    let ours = owner("kjob:a");
    let mut body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "ns"}});
    ours.stamp(&mut body);
    let rendered = Rendered {
        kind: crate::kinds::Kind::KubernetesJob,
        owner: ours,
        objects: vec![crate::core::objects::Object {
            id: id(),
            body,
            sensitive: false,
        }],
        home: None,
        job: None,
    };
    let failure = apply(
        &cluster,
        &rendered,
        &[id()],
        &[],
        Takeover::default(),
        &mut Seen::default(),
        &CancellationToken::new(),
    )
    .await
    .expect_err("the object is someone else's now");
    assert!(
        matches!(&failure.source, ClusterError::NotOurs { holder, .. } if holder.contains("kjob:b")),
        "{failure}"
    );
    assert!(failure.owned.is_empty());
    server.await.expect("the server ran");
}
