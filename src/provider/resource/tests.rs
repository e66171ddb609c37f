//! The resource's functions that need no cluster: check, diff, the previews, and the refusals
//! that come before any cluster call.

use serde_json::{Value, json};

use super::*;
use crate::core::path::PropertyPath;
use crate::provider::values::UNKNOWN;

fn resource() -> KubernetesJob {
    let config = ProviderConfig {
        wait: true,
        state_dir: Some(std::env::temp_dir().join("kjob-resource-tests-no-store")),
        ..ProviderConfig::default()
    };
    KubernetesJob::new(config, EngineLog::default())
}

fn news(ns: &str) -> Value {
    json!({"spec": {
        "namespace": {"value": ns}, "image": {"repo": "busybox", "tag": "1.36"},
        "env": {"secrets": {"TOKEN": {"value": "t0ps3cret"}}}
    }})
}

fn checked(ns: &str) -> Value {
    let result = resource().check(CheckRequest {
        name: "migrate".into(),
        news: Properties::new(news(ns), Vec::new()),
    });
    assert!(result.failures.is_empty(), "{:?}", result.failures);
    result.inputs.value
}

fn secret_token() -> PropertyPath {
    PropertyPath::root()
        .field("spec")
        .field("env")
        .field("secrets")
        .key("TOKEN")
        .field("value")
}

#[test]
fn check_applies_defaults_and_names_the_secret_paths() {
    let marked = vec![PropertyPath::root().field("metadata")];
    let result = resource().check(CheckRequest {
        name: "migrate".into(),
        news: Properties::new(news("ns"), marked.clone()),
    });
    assert!(result.failures.is_empty(), "{:?}", result.failures);
    assert_eq!(result.inputs.value["metadata"]["name"], json!("migrate"));
    assert_eq!(result.inputs.value["spec"]["backoffLimit"], json!(6));
    assert!(result.inputs.secrets.contains(&marked[0]), "marked kept");
    assert!(
        result.inputs.secrets.contains(&secret_token()),
        "always-secret fields added: {:?}",
        result.inputs.secrets
    );
}

#[test]
fn check_reports_failures_with_paths() {
    let result = resource().check(CheckRequest {
        name: "bad".into(),
        news: Properties::new(json!({"spec": {"namespace": {"value": "Bad NS"}}}), vec![]),
    });
    let paths: Vec<String> = result.failures.iter().map(|f| f.path.to_string()).collect();
    assert_eq!(paths, ["spec.image", "spec.namespace.value"]);
}

fn diff(olds: &Value, news: &Value) -> DiffResult {
    resource().diff(&DiffRequest {
        urn: "urn".into(),
        olds: olds.clone(),
        news: news.clone(),
        ignore_changes: Vec::new(),
    })
}

#[test]
fn diff_in_place_replace_and_none() {
    let olds = inputs::outputs(&checked("ns"), Some("ns"), Some("migrate"));
    let same = diff(&olds, &checked("ns"));
    assert!(!same.changed(), "{same:?}");
    assert!(!same.delete_before_replace);

    let mut news = checked("ns");
    news["spec"]["parallelism"] = json!(3);
    let d = diff(&olds, &news);
    assert_eq!(d.diffs, ["spec"]);
    assert!(d.replaces.is_empty());
    assert_eq!(
        d.detailed["spec.parallelism"],
        PropertyChange {
            kind: ChangeKind::Update,
            replace: false,
            input_diff: true
        }
    );

    let mut news = checked("ns");
    news["spec"]["image"]["tag"] = json!("1.37");
    let d = diff(&olds, &news);
    assert_eq!(d.replaces, ["spec"]);
    assert!(d.delete_before_replace);
    assert!(d.detailed["spec.image.tag"].replace);
}

#[test]
fn diff_runs_a_failed_job_again() {
    let mut olds = inputs::outputs(&checked("ns"), Some("ns"), Some("migrate"));
    olds["jobStatus"] = json!("Failed");
    let d = diff(&olds, &checked("ns"));
    assert_eq!(d.diffs, ["jobStatus"]);
    assert_eq!(d.replaces, ["jobStatus"]);
    assert!(d.delete_before_replace);
    assert_eq!(
        d.detailed["jobStatus"],
        PropertyChange {
            kind: ChangeKind::Update,
            replace: true,
            input_diff: false
        }
    );
    olds["jobStatus"] = json!("Complete");
    assert!(!diff(&olds, &checked("ns")).changed(), "run once");
}

#[tokio::test]
async fn previews_touch_nothing_and_keep_unknowns() {
    let r = resource();
    let created = r
        .create(CreateRequest {
            urn: "urn".into(),
            name: "migrate".into(),
            inputs: Properties::new(checked(UNKNOWN), Vec::new()),
            timeout: None,
            preview: true,
        })
        .await
        .unwrap();
    assert_eq!(created.id, "");
    assert_eq!(created.outputs.value["namespace"], json!(UNKNOWN));
    assert_eq!(created.outputs.value["jobName"], json!("migrate"));
    assert!(created.outputs.secrets.contains(&secret_token()));

    let mut news = checked("ns");
    news["metadata"]["name"] = json!(UNKNOWN);
    let updated = r
        .update(UpdateRequest {
            urn: "urn".into(),
            name: "migrate".into(),
            olds: json!({}),
            news: Properties::new(news, Vec::new()),
            timeout: None,
            preview: true,
        })
        .await
        .unwrap();
    assert_eq!(updated.outputs.value["namespace"], json!("ns"));
    assert_eq!(updated.outputs.value["jobName"], json!(UNKNOWN));
}

#[tokio::test]
async fn refusals_before_any_cluster_call() {
    let r = resource();
    let err = r
        .create(CreateRequest {
            name: "bad".into(),
            inputs: Properties::new(json!({"spec": {}}), Vec::new()),
            ..CreateRequest::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ResourceError::Invalid(m) if m.starts_with("the inputs do not check: ")),
        "{err:?}"
    );
    let err = r
        .read(ReadRequest {
            id: "no-slash".into(),
            ..ReadRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ResourceError::Invalid("invalid ID \"no-slash\": expected <namespace>/<job name>".into())
    );
    let err = r
        .delete(DeleteRequest {
            name: "bad".into(),
            id: "ns/bad".into(),
            olds: json!({"spec": {}}),
            ..DeleteRequest::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ResourceError::Invalid(m) if m.starts_with("cannot tell what KubernetesJob ns/bad created: ")),
        "{err:?}"
    );
}
