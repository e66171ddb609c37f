//! A shared cluster, tried as a careless or hostile neighbour would: two CLI state stores and two
//! Pulumi stacks deploying the same names into one namespace, a KubernetesJob named like a
//! KubernetesNamespace resource, a foreign Deployment and another owner's Job inside a namespace
//! kjob created, a hand-edited owner label, objects labelled before owner identities. Each ends
//! with a clear error naming the owner or with a converged state, and nothing of anyone else's
//! is changed or deleted (checked by UID and labels on the live objects).

use crate::common;

use std::time::Duration;

use common::cli::{Bed, yaml_job, yaml_namespace};
use common::provider::Provider;
use k8s_openapi::api::apps::v1::Deployment;
use kjob::cluster::Cluster;
use kjob::core::objects::ObjectKind;
use kjob::core::owner::{OWNER_ANNOTATION, OWNER_LABEL, Owner};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

async fn live_job(cluster: &Cluster, ns: &str, name: &str) -> Option<Value> {
    common::get(cluster, ObjectKind::Job, Some(ns), name).await
}

fn uid(live: &Value) -> String {
    live["metadata"]["uid"].as_str().unwrap_or_default().into()
}

fn owner_label(live: &Value) -> String {
    live["metadata"]["labels"][OWNER_LABEL]
        .as_str()
        .unwrap_or_default()
        .into()
}

/// Sets (or with `null`, removes) labels and annotations of an object, as `kubectl edit` would.
async fn edit(cluster: &Cluster, kind: ObjectKind, ns: &str, name: &str, metadata: Value) {
    let api: Api<DynamicObject> = Api::namespaced_with(
        cluster.client().await.expect("client"),
        ns,
        &kjob::cluster::api_resource(kind),
    );
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({ "metadata": metadata })),
    )
    .await
    .expect("edit the object");
}

async fn gone(cluster: &Cluster, ns: &str, name: &str) {
    common::eventually("the Job to be deleted", Duration::from_secs(60), || async {
        live_job(cluster, ns, name).await.is_none().then_some(())
    })
    .await;
}

async fn drop_namespace(cluster: &Cluster, ns: &str) {
    let _ = cluster
        .delete(&common::obj(ObjectKind::Namespace, None, ns), None, None)
        .await;
}

#[tokio::test]
async fn two_state_stores_never_take_each_others_job() {
    let cluster = common::cluster();
    let ns = common::namespace(&cluster, "twins").await;
    let name = common::unique("twin");
    let (a, b) = (Bed::new(), Bed::new());
    let text = yaml_job(&name, &format!("  namespace: {{value: {ns}}}\n"));
    let fa = a.file("job.yaml", &text);
    let fb = b.file("job.yaml", &text);

    a.run(&["up", "--manifest", &fa, "--yes"]).ok();
    let first = live_job(&cluster, &ns, &name).await.expect("A's Job");
    let a_stack = a.stack();
    assert_eq!(
        first["metadata"]["annotations"][OWNER_ANNOTATION]
            .as_str()
            .map(|t| Owner::from_annotation(t).expect("an identity").stack),
        Some(a_stack.clone())
    );

    // B deploys the same name into the same namespace: refused, naming the object and its owner.
    b.run(&["up", "--manifest", &fb, "--yes"])
        .failed()
        .says_all(&[
            "already exists and belongs to KubernetesJob",
            &a_stack,
            "--adopt",
        ]);
    // B's down removes nothing of A's.
    b.run(&["down", "--manifest", &fb, "--yes"]).ok();
    let after = live_job(&cluster, &ns, &name).await.expect("A's Job stays");
    assert_eq!(uid(&after), uid(&first));
    assert_eq!(owner_label(&after), owner_label(&first), "not relabelled");
    for secondary in [ObjectKind::ServiceAccount] {
        assert!(
            common::get(&cluster, secondary, Some(&ns), &name)
                .await
                .is_some(),
            "A's {secondary:?} stays"
        );
    }

    // Taking over is explicit; afterwards A leaves the objects alone and says whose they are.
    b.run(&["up", "--manifest", &fb, "--yes", "--adopt"])
        .ok()
        .says_all(&["taking over Job", &a_stack]);
    let b_stack = b.stack();
    let adopted = live_job(&cluster, &ns, &name).await.expect("the Job");
    assert_eq!(uid(&adopted), uid(&first), "adopted in place");
    assert_ne!(owner_label(&adopted), owner_label(&first), "relabelled");
    a.run(&["down", "--manifest", &fa, "--yes"])
        .ok()
        .says_all(&["alone", &b_stack]);
    assert_eq!(
        uid(&live_job(&cluster, &ns, &name).await.expect("B's Job stays")),
        uid(&first)
    );
    b.run(&["down", "--manifest", &fb, "--yes"]).ok();
    gone(&cluster, &ns, &name).await;
    drop_namespace(&cluster, &ns).await;
}

#[tokio::test]
async fn a_namespace_kjob_created_outlives_down_while_others_have_things_in_it() {
    let cluster = common::cluster();
    let ns = common::unique("created");
    let (a, b) = (Bed::new(), Bed::new());
    let mine = common::unique("mine");
    let theirs = common::unique("theirs");
    let fa = a.file(
        "job.yaml",
        &yaml_job(
            &mine,
            &format!("  namespace: {{value: {ns}}}\n  createNamespace: true\n"),
        ),
    );
    a.run(&["up", "--manifest", &fa, "--yes"]).ok();
    // Another team's KubernetesJob (another state store) and a Deployment nobody deployed with kjob.
    let fb = b.file(
        "job.yaml",
        &yaml_job(&theirs, &format!("  namespace: {{value: {ns}}}\n")),
    );
    b.run(&["up", "--manifest", &fb, "--yes"]).ok();
    let deployments: Api<Deployment> =
        Api::namespaced(cluster.client().await.expect("client"), &ns);
    let web: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}
    }))
    .expect("a Deployment");
    deployments
        .create(&PostParams::default(), &web)
        .await
        .expect("create the Deployment");

    a.run(&["down", "--manifest", &fa, "--yes"])
        .ok()
        .says_all(&[
            &format!("left Namespace {ns} alone"),
            "Deployment/web",
            &format!("Job/{theirs}"),
        ]);
    gone(&cluster, &ns, &mine).await;
    let namespace = common::get(&cluster, ObjectKind::Namespace, None, &ns)
        .await
        .expect("the namespace stays");
    assert!(
        namespace["metadata"]["deletionTimestamp"].is_null(),
        "not terminating"
    );
    assert!(deployments.get_opt("web").await.expect("answers").is_some());
    assert!(live_job(&cluster, &ns, &theirs).await.is_some());
    b.run(&["down", "--manifest", &fb, "--yes"]).ok();
    drop_namespace(&cluster, &ns).await;
}

#[tokio::test]
async fn a_job_named_like_a_namespace_resource_leaves_its_namespace_alone() {
    let cluster = common::cluster();
    let ns = common::unique("team");
    let name = common::unique("team");
    let bed = Bed::new();
    let fns = bed.file("namespace.yaml", &yaml_namespace(&name, &ns));
    bed.run(&["up", "--manifest", &fns, "--yes"]).ok();
    let before = common::get(&cluster, ObjectKind::Namespace, None, &ns)
        .await
        .expect("the namespace");
    let fjob = bed.file(
        "job.yaml",
        &yaml_job(
            &name,
            &format!("  namespace: {{value: {ns}}}\n  createNamespace: true\n"),
        ),
    );
    bed.run(&["up", "--manifest", &fjob, "--yes"])
        .ok()
        .says_all(&["belongs to KubernetesNamespace", "used as it is"]);
    bed.run(&["down", "--manifest", &fjob, "--yes"]).ok();
    gone(&cluster, &ns, &name).await;
    let after = common::get(&cluster, ObjectKind::Namespace, None, &ns)
        .await
        .expect("the namespace stays");
    assert_eq!(uid(&after), uid(&before));
    assert!(after["metadata"]["deletionTimestamp"].is_null());
    assert_eq!(owner_label(&after), owner_label(&before), "not relabelled");
    bed.run(&["down", "--manifest", &fns, "--yes"]).ok();
}

#[tokio::test]
async fn a_hand_edited_owner_label_makes_the_job_someone_elses() {
    let cluster = common::cluster();
    let ns = common::namespace(&cluster, "edited").await;
    let name = common::unique("edited");
    let bed = Bed::new();
    let file = bed.file(
        "job.yaml",
        &yaml_job(&name, &format!("  namespace: {{value: {ns}}}\n")),
    );
    bed.run(&["up", "--manifest", &file, "--yes"]).ok();
    let first = live_job(&cluster, &ns, &name).await.expect("the Job");
    edit(
        &cluster,
        ObjectKind::Job,
        &ns,
        &name,
        json!({"labels": {OWNER_LABEL: "someone-else"}}),
    )
    .await;
    bed.run(&[
        "up",
        "--manifest",
        &file,
        "--yes",
        "--set",
        "metadata.labels.round=two",
    ])
    .failed()
    .says_all(&["belongs to the owner whose", "someone-else"]);
    let kept = live_job(&cluster, &ns, &name).await.expect("the Job");
    assert_eq!(owner_label(&kept), "someone-else");
    assert!(kept["metadata"]["labels"]["round"].is_null(), "not patched");
    bed.run(&["down", "--manifest", &file, "--yes"])
        .ok()
        .says_all(&[&format!("left Job {ns}/{name} alone"), "someone-else"]);
    assert_eq!(
        uid(&live_job(&cluster, &ns, &name).await.expect("not deleted")),
        uid(&first)
    );
    drop_namespace(&cluster, &ns).await;
}

#[tokio::test]
async fn two_pulumi_stacks_and_an_import() {
    let one = Provider::start(json!({})).await.with_stack("one");
    let two = Provider::start(json!({})).await.with_stack("two");
    let cluster = one.cluster();
    let ns = common::namespace(&cluster, "stacks").await;
    let name = common::unique("stacked");
    let inputs = one
        .check_ok(&name, &common::inputs(&name, &ns, json!({})))
        .await;
    let (id, outputs) = one.create(&name, &inputs, 0.0).await.expect("stack one");
    let first = live_job(&cluster, &ns, &name).await.expect("the Job");

    let refused = two.create(&name, &inputs, 0.0).await.expect_err("refused");
    assert!(
        refused.message().contains("belongs to KubernetesJob")
            && refused.message().contains("pulumi:proj/one"),
        "{refused:?}"
    );
    // Stack two destroying what it believes is its resource removes nothing of stack one's.
    two.delete(&name, &id, &outputs).await.expect("a no-op");
    assert_eq!(
        uid(&live_job(&cluster, &ns, &name).await.expect("stays")),
        uid(&first)
    );

    // `pulumi import` into stack two, then an Update, takes the objects over.
    let imported = two.read(&name, &id, None).await;
    assert_eq!(imported.outputs["__kjobAdopt"], json!(true));
    let news = imported.inputs.clone().expect("inputs of an import");
    let updated = two
        .update(&name, &id, &imported.outputs, &news, 0.0)
        .await
        .expect("the Update takes over");
    assert!(updated.get("__kjobAdopt").is_none());
    let two_owner = Owner {
        stack: "pulumi:proj/two".into(),
        kind: "KubernetesJob".into(),
        env: String::new(),
        name: name.clone(),
    };
    let taken = live_job(&cluster, &ns, &name).await.expect("the Job");
    assert_eq!(owner_label(&taken), two_owner.hash());
    assert_eq!(uid(&taken), uid(&first));
    // Now stack one's destroy leaves it alone, and stack two's removes it.
    one.delete(&name, &id, &outputs).await.expect("a no-op");
    assert!(live_job(&cluster, &ns, &name).await.is_some());
    two.delete(&name, &id, &updated).await.expect("destroy");
    gone(&cluster, &ns, &name).await;
    drop_namespace(&cluster, &ns).await;
}

#[tokio::test]
async fn objects_labelled_before_owner_identities_stay_with_their_own_state() {
    let one = Provider::start(json!({})).await.with_stack("old");
    let other = Provider::start(json!({})).await.with_stack("other");
    let cluster = one.cluster();
    let ns = common::namespace(&cluster, "legacy").await;
    let name = common::unique("legacy");
    let inputs = one
        .check_ok(&name, &common::inputs(&name, &ns, json!({})))
        .await;
    let (id, outputs) = one.create(&name, &inputs, 0.0).await.expect("create");
    // As an older kjob left them: no owner label, no owner annotation.
    for kind in [ObjectKind::ServiceAccount, ObjectKind::Job] {
        edit(
            &cluster,
            kind,
            &ns,
            &name,
            json!({"labels": {OWNER_LABEL: null}, "annotations": {OWNER_ANNOTATION: null}}),
        )
        .await;
    }
    let legacy = live_job(&cluster, &ns, &name).await.expect("the Job");
    assert!(legacy["metadata"]["labels"][OWNER_LABEL].is_null());

    // Another stack, whose state never recorded it, may not take it.
    let refused = other
        .create(&name, &inputs, 0.0)
        .await
        .expect_err("refused");
    assert!(
        refused
            .message()
            .contains("before owner identities (not recorded in this state)"),
        "{refused:?}"
    );
    // Its own stack's next Update relabels it.
    let updated = one
        .update(&name, &id, &outputs, &inputs, 0.0)
        .await
        .expect("update");
    let relabelled = live_job(&cluster, &ns, &name).await.expect("the Job");
    assert_eq!(uid(&relabelled), uid(&legacy));
    assert!(!owner_label(&relabelled).is_empty(), "relabelled");
    one.delete(&name, &id, &updated).await.expect("destroy");
    gone(&cluster, &ns, &name).await;
    drop_namespace(&cluster, &ns).await;
}
