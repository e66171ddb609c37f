//! The `kubernetes://` backend under least privilege: a ServiceAccount bound to exactly the Role
//! README documents (the test bed authorizes with RBAC) keeps a whole `up` / `list` / `down`;
//! without one verb the run fails naming the verb and the resource.

use std::time::Duration;

use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::{Api, ObjectMeta, PostParams};
use serde_json::json;

use crate::common;
use common::cli::{Bed, yaml_namespace};
use kjob::core::objects::ObjectKind;

fn rules(secret_verbs: &[&str]) -> Vec<PolicyRule> {
    let rule = |group: &str, resource: &str, verbs: &[&str]| PolicyRule {
        api_groups: Some(vec![group.into()]),
        resources: Some(vec![resource.into()]),
        verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
        ..PolicyRule::default()
    };
    vec![
        rule("", "secrets", secret_verbs),
        rule(
            "coordination.k8s.io",
            "leases",
            &["get", "create", "update"],
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_account_with_the_documented_role_suffices() {
    let cluster = common::cluster();
    let ns = common::namespace(&cluster, "kjob-team-rbac").await;
    let client = cluster.client().await.unwrap();
    let sa = "kjob-state";
    let body = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa, "namespace": ns}});
    cluster
        .apply(
            &common::obj(ObjectKind::ServiceAccount, Some(&ns), sa),
            &body,
            None,
        )
        .await
        .unwrap();
    let roles: Api<Role> = Api::namespaced(client.clone(), &ns);
    let role = Role {
        metadata: ObjectMeta {
            name: Some("kjob-state".into()),
            ..ObjectMeta::default()
        },
        rules: Some(rules(&["get", "list", "create", "patch", "delete"])),
    };
    roles.create(&PostParams::default(), &role).await.unwrap();
    let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), &ns);
    let binding = RoleBinding {
        metadata: ObjectMeta {
            name: Some("kjob-state".into()),
            ..ObjectMeta::default()
        },
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: "kjob-state".into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: sa.into(),
            namespace: Some(ns.clone()),
            ..Subject::default()
        }]),
    };
    bindings
        .create(&PostParams::default(), &binding)
        .await
        .unwrap();
    // A token for the ServiceAccount, filled in by the token controller.
    let token_secret = "kjob-state-token";
    let body = json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
        "metadata": {"name": token_secret, "namespace": ns, "annotations": {"kubernetes.io/service-account.name": sa}}});
    let id = common::obj(ObjectKind::Secret, Some(&ns), token_secret);
    cluster.apply(&id, &body, None).await.unwrap();
    let token = common::eventually("the token", Duration::from_secs(20), || async {
        let secret = cluster.get(&id).await.ok()??;
        let data = secret["data"]["token"].as_str()?.to_owned();
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .ok()?;
        String::from_utf8(bytes).ok()
    })
    .await;
    // A kubeconfig with a second context: the admin deploys, the ServiceAccount keeps state.
    let bed = Bed::new();
    let admin = std::fs::read_to_string(common::kubeconfig()).unwrap();
    let with_sa = admin
        .replacen("users:\n", &format!("users:\n- name: kjob-state-sa\n  user:\n    token: {token}\n"), 1)
        .replacen(
            "contexts:\n",
            "contexts:\n- name: kjob-state-sa\n  context:\n    cluster: kjob-testbed\n    user: kjob-state-sa\n",
            1,
        );
    let kubeconfig = bed.file("kubeconfig", &with_sa);
    let backend = format!("kubernetes://{ns}?context=kjob-state-sa");
    let run = |args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_kjob"));
        command
            .args(args)
            .arg("--state-dir")
            .arg(bed.state())
            .env("NO_COLOR", "1")
            .env_remove("KJOB_STATE_DIR")
            .env_remove("KJOB_STACK")
            .env_remove("KJOB_BACKEND")
            .stdin(std::process::Stdio::null())
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--backend")
            .arg(&backend)
            .env("KJOB_LEASE_DURATION", "3");
        common::cli::Run::from(command.output().unwrap())
    };
    let res = common::unique("rbacns");
    let file = bed.file(
        "ns.yaml",
        &yaml_namespace(&res, &common::unique("kjob-rbac-target")),
    );
    run(&["up", "--manifest", &file, "--yes"]).ok();
    run(&["list"]).ok().says(&res);
    // Without `delete` on secrets, `down` deletes the namespace but cannot forget its record.
    let mut narrower = roles.get("kjob-state").await.unwrap();
    narrower.rules = Some(rules(&["get", "list", "create", "patch"]));
    roles
        .replace("kjob-state", &PostParams::default(), &narrower)
        .await
        .unwrap();
    run(&["down", "--manifest", &file, "--yes"])
        .failed()
        .says(&format!(
            "forbidden: cannot delete secrets in namespace {ns}"
        ));
    narrower.rules = Some(rules(&["get", "list", "create", "patch", "delete"]));
    narrower.metadata.resource_version = None;
    roles
        .replace("kjob-state", &PostParams::default(), &narrower)
        .await
        .unwrap();
    run(&["down", "--manifest", &file, "--yes"]).ok();
    let _ = cluster
        .delete(&common::obj(ObjectKind::Namespace, None, &ns), None, None)
        .await;
}
