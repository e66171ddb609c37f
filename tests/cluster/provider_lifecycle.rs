//! The provider's gRPC service in-process, driven like the engine drives it, against the test
//! bed (through the harness in `tests/cluster/common`): Configure, Check, Create (preview,
//! then real), Diff, Update in place, Diff to a replace and the replacement, Delete, Read after
//! out-of-band deletion, and import.

use crate::common;

use std::sync::{Arc, Mutex};

use common::lifecycle::{ExpectDiff, Lifecycle, State, Step};
use common::provider::Provider;
use kjob::api::pulumirpc::{diff_response::DiffChanges, property_diff::Kind};
use kjob::core::objects::ObjectKind;
use kjob::provider::values;
use serde_json::{Value, json};

async fn provider() -> Provider {
    Provider::start(json!({})).await
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

fn inputs_of(outputs: &Value) -> Value {
    kjob::provider::inputs::inputs_of_outputs(outputs)
}

/// The live Job's UID.
async fn job_uid(ns: &str, name: &str) -> Value {
    common::get(&common::cluster(), ObjectKind::Job, Some(ns), name)
        .await
        .expect("the Job exists")["metadata"]["uid"]
        .clone()
}

#[tokio::test]
async fn lifecycle_check_create_update_replace_delete() {
    let cluster = common::cluster();
    let p = provider().await;
    let name = common::unique("life");
    let ns = common::unique("life-ns");

    let checked = p.check_ok(&name, &inputs(&ns)).await;
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
    let (id, preview) = p.preview_create(&name, &checked).await;
    assert_eq!(id, "");
    assert_eq!(preview["jobName"], json!(name));
    assert!(
        common::get(&cluster, ObjectKind::Namespace, None, &ns)
            .await
            .is_none(),
        "preview created nothing"
    );

    let uid = Arc::new(Mutex::new(Value::Null));
    let first_uid = uid.clone();
    let (ns1, name1) = (ns.clone(), name.clone());
    let created = move |s: State| async move {
        let (ns, name) = (ns1, name1);
        assert_eq!(s.id, format!("{ns}/{name}"));
        assert_eq!(s.outputs["namespace"], json!(ns));
        assert_eq!(s.outputs["jobName"], json!(name));
        let cluster = common::cluster();
        let job = common::get(&cluster, ObjectKind::Job, Some(&ns), &name)
            .await
            .expect("the Job exists");
        *first_uid.lock().unwrap() = job["metadata"]["uid"].clone();
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
    };

    // Parallelism: an in-place update.
    let mut parallel = inputs(&ns);
    parallel["spec"]["parallelism"] = json!(3);
    let same_uid = uid.clone();
    let in_place = Step::new(parallel.clone(), ExpectDiff::Update)
        .diff(|diff| {
            assert_eq!(diff.changes, DiffChanges::DiffSome);
            assert!(diff.replaces.is_empty(), "{diff:?}");
            assert_eq!(diff.detailed["spec.parallelism"], Kind::Update);
        })
        .check(move |s: State| async move {
            let job = common::get(
                &common::cluster(),
                ObjectKind::Job,
                Some(s.namespace()),
                s.job_name(),
            )
            .await
            .unwrap();
            assert_eq!(
                job["metadata"]["uid"],
                *same_uid.lock().unwrap(),
                "updated in place"
            );
            assert_eq!(job["spec"]["parallelism"], json!(3));
        });

    // Image: a replacement, delete before create.
    let mut retagged = parallel.clone();
    retagged["spec"]["image"]["tag"] = json!("1.37");
    let old_uid = uid.clone();
    let replace = Step::new(retagged.clone(), ExpectDiff::Replace)
        .diff(|diff| {
            assert_eq!(diff.replaces, ["spec"]);
            assert!(diff.delete_before_replace);
            assert_eq!(diff.detailed["spec.image.tag"], Kind::UpdateReplace);
        })
        .check(move |s: State| async move {
            let job = common::get(
                &common::cluster(),
                ObjectKind::Job,
                Some(s.namespace()),
                s.job_name(),
            )
            .await
            .expect("the new Job exists");
            assert_ne!(job["metadata"]["uid"], *old_uid.lock().unwrap(), "replaced");
            assert_eq!(
                job["spec"]["template"]["spec"]["containers"][0]["image"],
                json!("busybox:1.37")
            );
        });

    // No change: DIFF_NONE; refresh sees the live Job; import rebuilds the inputs.
    let p2 = p.clone();
    let unchanged = Step::new(retagged, ExpectDiff::None).check(move |s: State| async move {
        let p = p2;
        let diff = p
            .diff(&s.name, &s.id, &s.outputs, &inputs_of(&s.outputs))
            .await;
        assert_eq!(diff.changes, DiffChanges::DiffNone, "{diff:?}");
        let read = p.read(&s.name, &s.id, Some(&s.outputs)).await;
        assert_eq!(read.id, s.id);
        assert_eq!(read.outputs["spec"]["parallelism"], json!(3));
        let imported = p.read(&s.name, &s.id, None).await;
        let imported_inputs = imported.inputs.expect("import returns inputs");
        assert_eq!(
            imported_inputs["spec"]["configMaps"],
            json!({"settings": "a=1"})
        );
        assert_eq!(imported_inputs["spec"]["createNamespace"], json!(true));
        let (plain_import, _) = values::reveal(&imported_inputs);
        let (plain_outputs, _) = values::reveal(&inputs_of(&s.outputs));
        let d = kjob::core::diff::diff(&plain_outputs, &plain_import, &[], &|_| false);
        assert!(d.is_empty(), "import rebuilds the same inputs: {d:?}");
    });

    let last = Lifecycle::new(&name, inputs(&ns))
        .created(created)
        .step(in_place)
        .step(replace)
        .step(unchanged)
        .run(&p)
        .await;
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
    let read = p.read(&name, &last.id, Some(&last.outputs)).await;
    assert_eq!(
        read.id, "",
        "refresh after Delete drops the resource: {read:?}"
    );
}

#[tokio::test]
async fn delete_leaves_foreign_objects_and_unowned_namespaces() {
    let cluster = common::cluster();
    let p = provider().await;
    let ns = common::namespace(&cluster, "foreign").await;
    let foreign = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "not-ours"}, "data": {"a": "b"}});
    cluster
        .apply(
            &common::obj(ObjectKind::ConfigMap, Some(&ns), "not-ours"),
            &foreign,
            None,
        )
        .await
        .unwrap();
    let name = common::unique("guest");
    let mut given = inputs(&ns);
    given["spec"]["createNamespace"] = json!(true); // exists already and is not ours: used, never deleted
    Lifecycle::new(&name, given).run(&p).await;
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
        .delete(&common::obj(ObjectKind::Namespace, None, &ns), None, None)
        .await
        .unwrap();
}

#[tokio::test]
async fn check_reports_every_failure_with_its_path() {
    let p = provider().await;
    let (_, failures) = p
        .check("bad", &json!({"spec": {"namespace": {"value": "Bad NS"}, "restartPolicy": "Always", "env": {"secrets": {"DB_PASSWORD": {"secretRef": {"name": "db"}}}}}}))
        .await;
    let props: Vec<&str> = failures.iter().map(|(p, _)| p.as_str()).collect();
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
    let p = provider().await;
    let name = common::unique("keepns");
    let ns = common::unique("keepns-ns");
    let uid = Arc::new(Mutex::new(Value::Null));
    let first = uid.clone();
    let mut edited = inputs(&ns);
    edited["spec"]["createNamespace"] = json!(false);
    Lifecycle::new(&name, inputs(&ns))
        .created(move |s: State| async move {
            *first.lock().unwrap() = job_uid(s.namespace(), s.job_name()).await;
        })
        .step(
            Step::new(edited, ExpectDiff::Update).check(move |s: State| async move {
                assert!(
                    common::get(
                        &common::cluster(),
                        ObjectKind::Namespace,
                        None,
                        s.namespace()
                    )
                    .await
                    .is_some(),
                    "namespace kept"
                );
                assert_eq!(
                    job_uid(s.namespace(), s.job_name()).await,
                    *uid.lock().unwrap(),
                    "the Job survives"
                );
            }),
        )
        .run(&p)
        .await;
    cluster
        .delete(&common::obj(ObjectKind::Namespace, None, &ns), None, None)
        .await
        .unwrap();
}
