//! The provider's gRPC service in-process, driven like the engine drives it, against the test
//! bed: Configure, Check, Create (preview, then real), Diff, Update in place, Diff to a replace,
//! Delete, Read after out-of-band deletion, and import.

mod common;

use kjob::api::pulumirpc::resource_provider_client::ResourceProviderClient;
use kjob::api::pulumirpc::{
    CheckRequest, CreateRequest, DeleteRequest, DiffRequest, ReadRequest, UpdateRequest,
    diff_response::DiffChanges, property_diff::Kind,
};
use kjob::core::objects::ObjectKind;
use kjob::provider::values::{self, from_struct, to_struct};
use serde_json::{Value, json};
use tonic::transport::Channel;

const TYPE: &str = "kjob:index:KubernetesJob";

async fn provider() -> ResourceProviderClient<Channel> {
    common::provider(json!({})).await
}

fn urn(name: &str) -> String {
    format!("urn:pulumi:test::proj::{TYPE}::{name}")
}

async fn check(client: &mut ResourceProviderClient<Channel>, name: &str, news: Value) -> Value {
    let resp = client
        .check(CheckRequest {
            urn: urn(name),
            news: Some(to_struct(&news)),
            olds: Some(Default::default()),
            name: name.into(),
            r#type: TYPE.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(resp.failures.is_empty(), "{:?}", resp.failures);
    from_struct(&resp.inputs.unwrap())
}

fn inputs(ns: &str) -> Value {
    json!({
        "spec": {
            "namespace": {"value": ns}, "createNamespace": true,
            "image": {"repo": "busybox", "tag": "1.36"}, "command": ["sh", "-c", "echo done"],
            "env": {"variables": {"MODE": {"value": "full"}}, "secrets": {"TOKEN": {"value": "t0ps3cret"}}},
            "configMaps": {"settings": "a=1"},
            "suspend": true
        }
    })
}

#[tokio::test]
async fn lifecycle_check_create_update_replace_delete() {
    let cluster = common::cluster();
    let mut client = provider().await;
    let name = common::unique("life");
    let ns = common::unique("life-ns");

    let checked = check(&mut client, &name, inputs(&ns)).await;
    assert_eq!(
        checked["metadata"]["name"],
        json!(name),
        "name defaults to the resource name"
    );
    assert_eq!(checked["spec"]["backoffLimit"], json!(6));
    assert_eq!(
        checked["spec"]["env"]["secrets"]["TOKEN"]["value"][values::SIG],
        json!(values::SECRET_SIG),
        "secret values stay secret"
    );

    // Preview touches nothing.
    let preview = client
        .create(CreateRequest {
            urn: urn(&name),
            properties: Some(to_struct(&checked)),
            preview: true,
            name: name.clone(),
            r#type: TYPE.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(preview.id, "");
    assert_eq!(
        from_struct(&preview.properties.unwrap())["jobName"],
        json!(name)
    );
    assert!(
        common::get(&cluster, ObjectKind::Namespace, None, &ns)
            .await
            .is_none(),
        "preview created nothing"
    );

    let created = client
        .create(CreateRequest {
            urn: urn(&name),
            properties: Some(to_struct(&checked)),
            name: name.clone(),
            r#type: TYPE.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.id, format!("{ns}/{name}"));
    let outputs = from_struct(&created.properties.unwrap());
    assert_eq!(outputs["namespace"], json!(ns));
    assert_eq!(outputs["jobName"], json!(name));
    let job = common::get(&cluster, ObjectKind::Job, Some(&ns), &name)
        .await
        .expect("the Job exists");
    let uid = job["metadata"]["uid"].clone();
    assert!(
        common::get(&cluster, ObjectKind::ConfigMap, Some(&ns), "settings")
            .await
            .is_some()
    );
    let secret = common::get(
        &cluster,
        ObjectKind::Secret,
        Some(&ns),
        &format!("{name}-env-secrets"),
    )
    .await
    .expect("env secret");
    assert!(secret["data"]["TOKEN"].is_string());
    assert!(
        common::get(&cluster, ObjectKind::ServiceAccount, Some(&ns), &name)
            .await
            .is_some()
    );
    let env = &job["spec"]["template"]["spec"]["containers"][0]["env"];
    assert!(
        !env.to_string().contains("t0ps3cret"),
        "the secret is not in the Job: {env}"
    );

    // Parallelism: an in-place update.
    let mut edited = inputs(&ns);
    edited["spec"]["parallelism"] = json!(3);
    let news = check(&mut client, &name, edited).await;
    let diff = client
        .diff(DiffRequest {
            id: created.id.clone(),
            urn: urn(&name),
            olds: Some(to_struct(&outputs)),
            news: Some(to_struct(&news)),
            name: name.clone(),
            r#type: TYPE.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(diff.changes, DiffChanges::DiffSome as i32);
    assert!(diff.replaces.is_empty(), "{diff:?}");
    assert_eq!(
        diff.detailed_diff["spec.parallelism"].kind,
        Kind::Update as i32
    );
    let updated = client
        .update(UpdateRequest {
            id: created.id.clone(),
            urn: urn(&name),
            olds: Some(to_struct(&outputs)),
            news: Some(to_struct(&news)),
            name: name.clone(),
            r#type: TYPE.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let outputs = from_struct(&updated.properties.unwrap());
    let job = common::get(&cluster, ObjectKind::Job, Some(&ns), &name)
        .await
        .unwrap();
    assert_eq!(job["metadata"]["uid"], uid, "updated in place");
    assert_eq!(job["spec"]["parallelism"], json!(3));

    // Image: a replacement, delete before create.
    let mut edited = inputs(&ns);
    edited["spec"]["image"]["tag"] = json!("1.37");
    let news = check(&mut client, &name, edited).await;
    let diff = client
        .diff(DiffRequest {
            id: created.id.clone(),
            urn: urn(&name),
            olds: Some(to_struct(&outputs)),
            news: Some(to_struct(&news)),
            name: name.clone(),
            r#type: TYPE.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(diff.replaces, ["spec"]);
    assert!(diff.delete_before_replace);
    assert_eq!(
        diff.detailed_diff["spec.image.tag"].kind,
        Kind::UpdateReplace as i32
    );

    // No change: DIFF_NONE.
    let diff = client
        .diff(DiffRequest {
            id: created.id.clone(),
            urn: urn(&name),
            olds: Some(to_struct(&outputs)),
            news: Some(to_struct(&inputs_of(&outputs))),
            name: name.clone(),
            r#type: TYPE.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(diff.changes, DiffChanges::DiffNone as i32, "{diff:?}");

    // Refresh sees the live Job; import rebuilds the inputs.
    let read = client
        .read(ReadRequest {
            id: created.id.clone(),
            urn: urn(&name),
            properties: Some(to_struct(&outputs)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.id, created.id);
    let refreshed = from_struct(&read.properties.unwrap());
    assert_eq!(refreshed["spec"]["parallelism"], json!(3));
    let imported = client
        .read(ReadRequest {
            id: created.id.clone(),
            urn: urn(&name),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let imported_inputs = from_struct(&imported.inputs.unwrap());
    assert_eq!(
        imported_inputs["spec"]["configMaps"],
        json!({"settings": "a=1"})
    );
    assert_eq!(imported_inputs["spec"]["createNamespace"], json!(true));
    let (plain_import, _) = values::reveal(&imported_inputs);
    let (plain_outputs, _) = values::reveal(&inputs_of(&outputs));
    let d = kjob::core::diff::diff(&plain_outputs, &plain_import, &[], &|_| false);
    assert!(d.is_empty(), "import rebuilds the same inputs: {d:?}");

    client
        .delete(DeleteRequest {
            id: created.id.clone(),
            urn: urn(&name),
            properties: Some(to_struct(&outputs)),
            name: name.clone(),
            r#type: TYPE.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        common::get(&cluster, ObjectKind::Job, Some(&ns), &name)
            .await
            .is_none()
    );
    assert!(
        common::get(&cluster, ObjectKind::Namespace, None, &ns)
            .await
            .is_none(),
        "the namespace we created is gone"
    );

    // Refresh after deletion: the resource is gone from state.
    let read = client
        .read(ReadRequest {
            id: created.id.clone(),
            urn: urn(&name),
            properties: Some(to_struct(&outputs)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.id, "");
}

fn inputs_of(outputs: &Value) -> Value {
    kjob::provider::inputs::inputs_of_outputs(outputs)
}

#[tokio::test]
async fn delete_leaves_foreign_objects_and_unowned_namespaces() {
    let cluster = common::cluster();
    let mut client = provider().await;
    let ns = common::namespace(&cluster, "foreign").await;
    let foreign = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "not-ours"}, "data": {"a": "b"}});
    cluster
        .apply(
            &common::obj(ObjectKind::ConfigMap, Some(&ns), "not-ours"),
            &foreign,
        )
        .await
        .unwrap();
    let name = common::unique("guest");
    let mut given = inputs(&ns);
    given["spec"]["createNamespace"] = json!(true); // exists already and is not ours: used, never deleted
    let checked = check(&mut client, &name, given).await;
    let created = client
        .create(CreateRequest {
            urn: urn(&name),
            properties: Some(to_struct(&checked)),
            name: name.clone(),
            r#type: TYPE.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    client
        .delete(DeleteRequest {
            id: created.id,
            urn: urn(&name),
            properties: created.properties,
            name: name.clone(),
            r#type: TYPE.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        common::get(&cluster, ObjectKind::Job, Some(&ns), &name)
            .await
            .is_none()
    );
    assert!(
        common::get(&cluster, ObjectKind::ConfigMap, Some(&ns), "not-ours")
            .await
            .is_some(),
        "foreign object kept"
    );
    assert!(
        common::get(&cluster, ObjectKind::Namespace, None, &ns)
            .await
            .is_some(),
        "namespace we did not create kept"
    );
    cluster
        .delete(&common::obj(ObjectKind::Namespace, None, &ns))
        .await
        .unwrap();
}

#[tokio::test]
async fn check_reports_every_failure_with_its_path() {
    let mut client = provider().await;
    let resp = client
        .check(CheckRequest {
            urn: urn("bad"),
            news: Some(to_struct(&json!({"spec": {"namespace": {"value": "Bad NS"}, "restartPolicy": "Always", "env": {"secrets": {"DB_PASSWORD": {"secretRef": {"name": "db"}}}}}}))),
            name: "bad".into(),
            r#type: TYPE.into(),
            ..Default::default()
        })
        .await
        .expect("bad input is not an RPC error")
        .into_inner();
    let props: Vec<&str> = resp.failures.iter().map(|f| f.property.as_str()).collect();
    assert_eq!(
        props,
        [
            "spec.env.secrets.DB_PASSWORD.secretRef.key",
            "spec.image",
            "spec.namespace.value",
            "spec.restartPolicy"
        ]
    );
}

#[tokio::test]
async fn turning_create_namespace_off_keeps_the_namespace_and_the_job() {
    let cluster = common::cluster();
    let mut client = provider().await;
    let name = common::unique("keepns");
    let ns = common::unique("keepns-ns");
    let checked = check(&mut client, &name, inputs(&ns)).await;
    let created = client
        .create(CreateRequest {
            urn: urn(&name),
            properties: Some(to_struct(&checked)),
            name: name.clone(),
            r#type: TYPE.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let outputs = from_struct(&created.properties.unwrap());
    let uid = common::get(&cluster, ObjectKind::Job, Some(&ns), &name)
        .await
        .unwrap()["metadata"]["uid"]
        .clone();
    let mut edited = inputs(&ns);
    edited["spec"]["createNamespace"] = json!(false);
    let news = check(&mut client, &name, edited).await;
    let updated = client
        .update(UpdateRequest {
            id: created.id.clone(),
            urn: urn(&name),
            olds: Some(to_struct(&outputs)),
            news: Some(to_struct(&news)),
            name: name.clone(),
            r#type: TYPE.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        common::get(&cluster, ObjectKind::Namespace, None, &ns)
            .await
            .is_some(),
        "namespace kept"
    );
    let job = common::get(&cluster, ObjectKind::Job, Some(&ns), &name)
        .await
        .expect("the Job survives");
    assert_eq!(job["metadata"]["uid"], uid);
    client
        .delete(DeleteRequest {
            id: created.id,
            urn: urn(&name),
            properties: updated.properties,
            name: name.clone(),
            r#type: TYPE.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    cluster
        .delete(&common::obj(ObjectKind::Namespace, None, &ns))
        .await
        .unwrap();
}
