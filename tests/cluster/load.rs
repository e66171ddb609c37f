//! Load: 100 concurrent Creates through ONE provider process (the built binary, launched as the
//! engine launches it, with a fake engine for its logs), each a distinct KubernetesJob with a
//! ConfigMap, a direct secret, its ServiceAccount and a suspended Job (so the provider is
//! measured, not the fake kubelet); plus 10 more that wait for their Jobs to complete. Every call
//! succeeds; then 110 concurrent Deletes, and nothing with our labels is left in the namespace.
//! Wall times are printed (`--nocapture`); every phase is bounded by a timeout.

use crate::common;
use crate::launch;

use std::time::{Duration, Instant};

use kjob::api::pulumirpc::resource_provider_client::ResourceProviderClient;
use kjob::api::pulumirpc::{CheckRequest, ConfigureRequest, CreateRequest, DeleteRequest};
use kjob::cluster::api_resource;
use kjob::core::objects::{ObjectKind, labels};
use kjob::provider::values::{from_struct, to_struct};
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::{Value, json};
use tonic::transport::Channel;

const TYPE: &str = "kjob:index:KubernetesJob";
const SUSPENDED: usize = 100;
const WAITING: usize = 10;
const PHASE_LIMIT: Duration = Duration::from_secs(240);

fn urn(name: &str) -> String {
    format!("urn:pulumi:load::proj::{TYPE}::{name}")
}

/// Checks, then creates one resource; returns (name, id, outputs).
async fn create(
    mut client: ResourceProviderClient<Channel>,
    name: String,
    ns: String,
    i: usize,
    suspend: bool,
) -> Result<(String, String, Value), String> {
    let news = json!({"spec": {
        "namespace": {"value": ns},
        "image": {"repo": "busybox", "tag": "1.36"}, "command": ["true"],
        "configMaps": {format!("cfg-{name}"): format!("n={i}")},
        "env": {"variables": {"N": {"value": i.to_string()}}, "secrets": {"TOKEN": {"value": format!("load-secret-{i}")}}},
        "suspend": suspend
    }});
    let checked = client
        .check(CheckRequest {
            urn: urn(&name),
            news: Some(to_struct(&news)),
            name: name.clone(),
            r#type: TYPE.into(),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("check {name}: {e}"))?
        .into_inner();
    if !checked.failures.is_empty() {
        return Err(format!("check {name}: {:?}", checked.failures));
    }
    let created = client
        .create(CreateRequest {
            urn: urn(&name),
            properties: checked.inputs,
            name: name.clone(),
            r#type: TYPE.into(),
            timeout: 200.0,
            ..Default::default()
        })
        .await
        .map_err(|e| format!("create {name}: {} {}", e.code(), e.message()))?
        .into_inner();
    Ok((
        name,
        created.id,
        from_struct(&created.properties.unwrap_or_default()),
    ))
}

async fn delete(
    mut client: ResourceProviderClient<Channel>,
    name: String,
    id: String,
    outputs: Value,
) -> Result<(), String> {
    client
        .delete(DeleteRequest {
            id,
            urn: urn(&name),
            properties: Some(to_struct(&outputs)),
            name: name.clone(),
            r#type: TYPE.into(),
            ..Default::default()
        })
        .await
        .map_err(|e| format!("delete {name}: {} {}", e.code(), e.message()))?;
    Ok(())
}

/// Objects labelled `managed-by: kjob` in `ns`, by kind.
async fn ours_in(cluster: &kjob::cluster::Cluster, ns: &str) -> Vec<(ObjectKind, usize)> {
    let client = cluster.client().await.expect("client");
    let mut out = Vec::new();
    for kind in [
        ObjectKind::ConfigMap,
        ObjectKind::Secret,
        ObjectKind::ServiceAccount,
        ObjectKind::Job,
    ] {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &api_resource(kind));
        let params = ListParams::default().labels(&format!(
            "{}={}",
            labels::MANAGED_BY,
            labels::MANAGED_BY_VALUE
        ));
        out.push((kind, api.list(&params).await.expect("list").items.len()));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_creates_and_deletes_through_one_provider_process() {
    let cluster = common::cluster();
    let ns = common::namespace(&cluster, "load").await;
    let (engine, address) = launch::FakeEngine::start().await;
    let mut provider = launch::Provider::launch(&address, &[]);
    let mut client = provider.client().await;
    client
        .configure(ConfigureRequest {
            args: Some(to_struct(&json!({"kubeconfig": common::kubeconfig()}))),
            accept_secrets: true,
            ..Default::default()
        })
        .await
        .expect("configure");
    let prefix = common::unique("ld");

    // 100 suspended + 10 waiting, all at once.
    let started = Instant::now();
    let calls = (0..SUSPENDED + WAITING).map(|i| {
        let suspend = i < SUSPENDED;
        let call = create(
            client.clone(),
            format!("{prefix}-{i}"),
            ns.clone(),
            i,
            suspend,
        );
        tokio::spawn(async move {
            let result = call.await;
            (started.elapsed(), result)
        })
    });
    let results = tokio::time::timeout(PHASE_LIMIT, futures::future::join_all(calls))
        .await
        .expect("the Creates finish in time");
    let create_time = started.elapsed();
    let mut created = Vec::new();
    let mut errors = Vec::new();
    let (mut suspended_done, mut waiting_done) = (Duration::ZERO, Duration::ZERO);
    for (i, r) in results.into_iter().enumerate() {
        let (done, result) = r.expect("task");
        if i < SUSPENDED {
            suspended_done = suspended_done.max(done);
        } else {
            waiting_done = waiting_done.max(done);
        }
        match result {
            Ok(c) => created.push(c),
            Err(e) => errors.push(e),
        }
    }
    let counts = ours_in(&cluster, &ns).await;
    eprintln!(
        "load: {} concurrent Check+Creates in {:.2}s: the {SUSPENDED} suspended all done after {:.2}s, the {WAITING} waiting for completion after {:.2}s; objects: {counts:?}",
        SUSPENDED + WAITING,
        create_time.as_secs_f64(),
        suspended_done.as_secs_f64(),
        waiting_done.as_secs_f64()
    );
    // Delete whatever was created even when some failed, then report.
    let started = Instant::now();
    let calls = created
        .iter()
        .cloned()
        .map(|(name, id, outputs)| tokio::spawn(delete(client.clone(), name, id, outputs)));
    let deleted = tokio::time::timeout(PHASE_LIMIT, futures::future::join_all(calls))
        .await
        .expect("the Deletes finish in time");
    let delete_time = started.elapsed();
    let delete_errors: Vec<String> = deleted
        .into_iter()
        .filter_map(|r| r.expect("task").err())
        .collect();
    let after = ours_in(&cluster, &ns).await;
    eprintln!(
        "load: {} concurrent Deletes in {:.2}s; objects left: {after:?}",
        created.len(),
        delete_time.as_secs_f64()
    );
    cluster
        .delete(&common::obj(ObjectKind::Namespace, None, &ns), None, None)
        .await
        .expect("delete the namespace");

    assert!(
        errors.is_empty(),
        "{} of {} Creates failed: {errors:#?}",
        errors.len(),
        SUSPENDED + WAITING
    );
    for (name, id, outputs) in &created {
        assert_eq!(*id, format!("{ns}/{name}"));
        let i: usize = name.rsplit('-').next().unwrap().parse().unwrap();
        let expected = if i < SUSPENDED {
            "Suspended"
        } else {
            "Complete"
        };
        assert_eq!(outputs["jobStatus"], expected, "{name}: {outputs}");
    }
    let n = SUSPENDED + WAITING;
    assert_eq!(
        counts,
        [
            (ObjectKind::ConfigMap, n),
            (ObjectKind::Secret, n),
            (ObjectKind::ServiceAccount, n),
            (ObjectKind::Job, n)
        ]
    );
    assert!(
        delete_errors.is_empty(),
        "{} Deletes failed: {delete_errors:#?}",
        delete_errors.len()
    );
    assert!(
        after.iter().all(|(_, n)| *n == 0),
        "objects left after the Deletes: {after:?}"
    );
    let logs = engine.messages();
    assert!(
        logs.iter()
            .any(|l| l.message.contains("Waiting for the Job")),
        "the waiting Creates reported progress to the engine"
    );
    assert!(
        provider.stop(),
        "the provider exits cleanly on SIGINT; stderr:\n{}",
        provider.stderr()
    );
}
