//! `kjob refresh` and `up --refresh` on objects changed and deleted behind kjob's back: every
//! drifted field reported (a Secret's values never shown), and put back by `up --refresh`.

use k8s_openapi::api::core::v1::{ConfigMap, Secret, ServiceAccount};
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use super::*;

#[tokio::test]
async fn refresh_reports_each_drifted_field_and_up_puts_it_back() {
    let bed = Bed::new();
    let secret = "dr1ft-s3cret";
    let (job, ns, file) = secret_job(&bed, "drift", secret, "  configMaps: {settings: 'a=1'}\n");
    bed.run(&["up", "--manifest", &file, "--yes"]).ok();
    bed.run(&["refresh", "--manifest", &file])
        .ok()
        .says(&format!("KubernetesJob \"{job}\": in sync"));

    // Someone else edits the ConfigMap and the Secret, and deletes the ServiceAccount.
    let client = common::cluster().client().await.unwrap();
    let by_hand = PatchParams::default();
    Api::<ConfigMap>::namespaced(client.clone(), &ns)
        .patch(
            "settings",
            &by_hand,
            &Patch::Merge(json!({"data": {"settings": "a=2"}})),
        )
        .await
        .unwrap();
    Api::<Secret>::namespaced(client.clone(), &ns)
        .patch(
            &format!("{job}-env-secrets"),
            &by_hand,
            &Patch::Merge(json!({"stringData": {"TOKEN": "changed-by-hand"}})),
        )
        .await
        .unwrap();
    Api::<ServiceAccount>::namespaced(client.clone(), &ns)
        .delete(&job, &Default::default())
        .await
        .unwrap();

    let refresh = bed.run(&["refresh", "--manifest", &file]);
    refresh
        .ok()
        .says(&format!("KubernetesJob \"{job}\": drifted"))
        .says(&format!(
            "ConfigMap {ns}/settings data.settings: applied \"a=1\", live \"a=2\""
        ))
        .says(&format!(
            "Secret {ns}/{job}-env-secrets data.TOKEN: applied \"[secret]\", live \"[secret]\""
        ))
        .says(&format!(
            "ServiceAccount {ns}/{job}: gone (deleted outside kjob)"
        ))
        .never_says(secret)
        .never_says("changed-by-hand")
        .never_says("Y2hhbmdlZC1ieS1oYW5k");
    let doc = json_of(&bed.run(&["refresh", "--manifest", &file, "-o", "json"]));
    assert_eq!(doc["command"], "refresh");
    assert_eq!(doc["results"][0]["result"], "drifted");
    let paths: Vec<&str> = doc["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["data.settings", "data.TOKEN"], "{doc}");

    // up --refresh: reported, then applied again although the manifest did not change.
    let up = bed.run(&["up", "--manifest", &file, "--yes", "--refresh"]);
    up.ok()
        .says("data.settings: applied \"a=1\", live \"a=2\"")
        .says(&format!("applied ServiceAccount {ns}/{job}"))
        .never_says(secret);
    bed.run(&["refresh", "--manifest", &file])
        .ok()
        .says(&format!("KubernetesJob \"{job}\": in sync"));
    let settings = Api::<ConfigMap>::namespaced(client, &ns)
        .get("settings")
        .await
        .unwrap();
    assert_eq!(settings.data.unwrap()["settings"], "a=1");
    bed.run(&["down", "--manifest", &file, "--yes"]).ok();
}

#[tokio::test]
async fn pulumi_refresh_reads_report_drift_as_a_warning() {
    let (engine, address) = crate::launch::FakeEngine::start().await;
    let mut process = crate::launch::Provider::launch(&address, &[]);
    let p = common::provider::Provider::configure(
        process.client().await,
        &common::kubeconfig(),
        json!({}),
    )
    .await;
    let (name, ns) = (common::unique("pdrift"), common::unique("kjob-pdrift"));
    let inputs = common::inputs(
        &name,
        &ns,
        json!({"createNamespace": true, "configMaps": {"settings": "a=1"}}),
    );
    let checked = p.check_ok(&name, &inputs).await;
    let (id, outputs) = p.create(&name, &checked, 60.0).await.expect("Create");
    let client = common::cluster().client().await.unwrap();
    Api::<ConfigMap>::namespaced(client, &ns)
        .patch(
            "settings",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"settings": "a=2"}})),
        )
        .await
        .unwrap();
    p.read(&name, &id, Some(&outputs)).await;
    let warnings: Vec<String> = engine
        .messages()
        .into_iter()
        .filter(|m| m.message.starts_with("drift:"))
        .map(|m| m.message)
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].contains(&format!(
            "ConfigMap {ns}/settings data.settings: applied \"a=1\", live \"a=2\""
        )),
        "{}",
        warnings[0]
    );
    p.delete(&name, &id, &outputs).await.expect("Delete");
    process.stop();
}
