//! The wire front end: decoding, encoding and the mapping of typed results and errors.

use std::collections::BTreeMap;

use prost::Message;
use serde_json::json;

use super::*;
use crate::api::google_rpc;
use crate::api::pulumirpc::ErrorResourceInitFailed;
use crate::core::diff::ChangeKind;
use crate::provider::resource::ResourceError;
use crate::schema::RESOURCE_TOKEN;

fn provider() -> KjobProvider {
    KjobProvider::new(EngineLog::default(), Default::default())
}

#[test]
fn partial_failures_carry_error_resource_init_failed() {
    let outputs = Properties::with_secret_fields(
        json!({"spec": {"env": {"secrets": {"A": {"value": "s3cret"}}}}, "jobStatus": "Failed"}),
        &[],
    );
    let status = status(ResourceError::Partial {
        id: "ns/job".into(),
        outputs,
        reasons: vec!["one".into(), "two".into()],
    });
    assert_eq!(status.code(), tonic::Code::Unknown);
    assert_eq!(status.message(), "one; two");
    let details = google_rpc::Status::decode(status.details()).unwrap();
    assert_eq!(details.message, "one; two");
    assert_eq!(
        details.details[0].type_url,
        "type.googleapis.com/pulumirpc.ErrorResourceInitFailed"
    );
    let failed = ErrorResourceInitFailed::decode(details.details[0].value.as_slice()).unwrap();
    assert_eq!(failed.id, "ns/job");
    assert_eq!(failed.reasons, ["one", "two"]);
    let props = values::from_struct(&failed.properties.unwrap());
    assert_eq!(
        props["spec"]["env"]["secrets"]["A"]["value"],
        values::secret(json!("s3cret")),
        "secret paths are wrapped"
    );
}

#[test]
fn plain_failures_map_to_codes() {
    let cases = [
        (
            ResourceError::Invalid("a".into()),
            tonic::Code::InvalidArgument,
        ),
        (
            ResourceError::Unavailable("b".into()),
            tonic::Code::Unavailable,
        ),
        (ResourceError::Failed("c".into()), tonic::Code::Unknown),
        (ResourceError::Internal("d".into()), tonic::Code::Internal),
    ];
    for (error, code) in cases {
        let text = error.to_string();
        let status = status(error);
        assert_eq!(status.code(), code);
        assert_eq!(status.message(), text);
        assert!(status.details().is_empty());
    }
}

#[test]
fn diffs_encode_every_kind() {
    let change = |kind, replace, input_diff| res::PropertyChange {
        kind,
        replace,
        input_diff,
    };
    let result = res::DiffResult {
        diffs: vec!["jobStatus".into(), "spec".into()],
        replaces: vec!["jobStatus".into()],
        delete_before_replace: true,
        detailed: BTreeMap::from([
            ("jobStatus".into(), change(ChangeKind::Update, true, false)),
            ("spec.a".into(), change(ChangeKind::Add, false, true)),
            ("spec.b".into(), change(ChangeKind::Delete, true, true)),
        ]),
    };
    let wire = diff_response(result);
    assert_eq!(wire.changes, DiffChanges::DiffSome as i32);
    assert!(wire.delete_before_replace && wire.has_detailed_diff);
    assert_eq!(wire.replaces, ["jobStatus"]);
    let kinds: Vec<(&str, i32, bool)> = wire
        .detailed_diff
        .iter()
        .map(|(k, v)| (k.as_str(), v.kind, v.input_diff))
        .collect();
    assert_eq!(
        kinds,
        [
            ("jobStatus", DiffKind::UpdateReplace as i32, false),
            ("spec.a", DiffKind::Add as i32, true),
            ("spec.b", DiffKind::DeleteReplace as i32, true),
        ]
    );
    let none = diff_response(res::DiffResult::default());
    assert_eq!(none.changes, DiffChanges::DiffNone as i32);
}

#[test]
fn timeouts_names_and_types() {
    assert_eq!(timeout_from(0.0), None);
    assert_eq!(timeout_from(f64::NAN), None);
    assert_eq!(timeout_from(-1.0), None);
    assert_eq!(timeout_from(3.0), Some(std::time::Duration::from_secs(3)));
    assert_eq!(timeout_from(1e300), Some(std::time::Duration::MAX));
    assert_eq!(timeout_from(f64::MAX), Some(std::time::Duration::MAX));
    assert_eq!(timeout_from(f64::INFINITY), Some(std::time::Duration::MAX));
    assert_eq!(timeout_from(f64::NEG_INFINITY), None);
    assert_eq!(resource_name("", "urn:pulumi:s::p::t::job"), "job");
    assert_eq!(resource_name("given", "urn:pulumi:s::p::t::job"), "given");
    assert_eq!(
        resource_kind(RESOURCE_TOKEN, "").unwrap(),
        Kind::KubernetesJob
    );
    assert_eq!(
        resource_kind("", &format!("urn:pulumi:s::p::{RESOURCE_TOKEN}::j")).unwrap(),
        Kind::KubernetesJob
    );
    assert_eq!(
        resource_kind("kjob:index:KubernetesNamespace", "").unwrap(),
        Kind::KubernetesNamespace
    );
    assert_eq!(
        resource_kind("", "urn:pulumi:s::p::kjob:index:KubernetesNamespace::n").unwrap(),
        Kind::KubernetesNamespace
    );
    let err = resource_kind("kjob:index:Other", "u").unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        err.message(),
        "unknown resource type \"kjob:index:Other\" (urn u); this provider serves kjob:index:KubernetesJob and kjob:index:KubernetesNamespace"
    );
}

#[tokio::test]
async fn check_and_preview_through_the_service() {
    let provider = provider();
    provider
        .configure(Request::new(ConfigureRequest {
            args: Some(values::to_struct(&json!({"wait": false, "stateDir": std::env::temp_dir().join("kjob-service-tests-no-store")}))),
            ..Default::default()
        }))
        .await
        .unwrap();
    let news = json!({"spec": {"namespace": {"value": "ns"}, "image": {"repo": "busybox"},
        "env": {"secrets": {"T": {"value": "t0ps3cret"}}}}, "dockerConfigJson": values::secret(json!("{}"))});
    let checked = provider
        .check(Request::new(CheckRequest {
            urn: format!("urn:pulumi:s::p::{RESOURCE_TOKEN}::job"),
            news: Some(values::to_struct(&news)),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(checked.failures.is_empty(), "{:?}", checked.failures);
    let inputs = values::from_struct(checked.inputs.as_ref().unwrap());
    assert_eq!(
        inputs["metadata"]["name"],
        json!("job"),
        "named from the URN"
    );
    assert_eq!(
        inputs["spec"]["env"]["secrets"]["T"]["value"],
        values::secret(json!("t0ps3cret"))
    );
    assert_eq!(inputs["dockerConfigJson"], values::secret(json!("{}")));
    // Any timeout the engine sends is taken without a panic (`Duration::from_secs_f64` panics
    // on the infinite and the huge ones).
    for timeout in [f64::INFINITY, f64::NAN, -1.0, 1e300, f64::MAX, 0.5] {
        provider
            .create(Request::new(CreateRequest {
                r#type: RESOURCE_TOKEN.into(),
                name: "job".into(),
                properties: checked.inputs.clone(),
                preview: true,
                timeout,
                ..Default::default()
            }))
            .await
            .unwrap();
        provider
            .update(Request::new(UpdateRequest {
                r#type: RESOURCE_TOKEN.into(),
                name: "job".into(),
                news: checked.inputs.clone(),
                preview: true,
                timeout,
                ..Default::default()
            }))
            .await
            .unwrap();
    }
    let preview = provider
        .create(Request::new(CreateRequest {
            r#type: RESOURCE_TOKEN.into(),
            name: "job".into(),
            properties: checked.inputs.clone(),
            preview: true,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(preview.id, "");
    let outputs = values::from_struct(&preview.properties.unwrap());
    assert_eq!(outputs["namespace"], json!("ns"));
    assert_eq!(outputs["dockerConfigJson"], values::secret(json!("{}")));
    let diff = provider
        .diff(Request::new(DiffRequest {
            r#type: RESOURCE_TOKEN.into(),
            olds: Some(values::to_struct(&outputs)),
            news: checked.inputs,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(diff.changes, DiffChanges::DiffNone as i32, "{diff:?}");
    let wrong = provider
        .check(Request::new(CheckRequest {
            r#type: "other".into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), tonic::Code::InvalidArgument);
}

/// `kjob:index:KubernetesNamespace` through the service: Check names failures by path, Diff
/// replaces on a new name and updates in place otherwise, a preview Create reports the outputs.
#[tokio::test]
async fn the_namespace_resource_through_the_service() {
    const TOKEN: &str = crate::schema::NAMESPACE_RESOURCE_TOKEN;
    let provider = provider();
    let urn = format!("urn:pulumi:s::p::{TOKEN}::team");
    let check = |spec: serde_json::Value| CheckRequest {
        urn: urn.clone(),
        r#type: TOKEN.into(),
        news: Some(values::to_struct(&json!({ "spec": spec }))),
        ..Default::default()
    };
    let bad = provider
        .check(Request::new(check(
            json!({"name": "Team", "serviceMeshConfig": {"enabled": true}}),
        )))
        .await
        .unwrap()
        .into_inner();
    let mut paths: Vec<String> = bad.failures.iter().map(|f| f.property.clone()).collect();
    paths.sort();
    assert_eq!(paths, ["spec.name", "spec.serviceMeshConfig.meshType"]);
    let spec = json!({"name": "team", "resourceProfile": {"preset": "small"}});
    let good = provider
        .check(Request::new(check(spec)))
        .await
        .unwrap()
        .into_inner();
    assert!(good.failures.is_empty(), "{:?}", good.failures);
    let inputs = values::from_struct(good.inputs.as_ref().unwrap());
    assert_eq!(
        inputs["metadata"]["name"],
        json!("team"),
        "named from the URN"
    );
    let created = provider
        .create(Request::new(CreateRequest {
            urn: urn.clone(),
            r#type: TOKEN.into(),
            properties: good.inputs.clone(),
            preview: true,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let outputs = values::from_struct(created.properties.as_ref().unwrap());
    assert_eq!(outputs["resourceQuotasApplied"], json!("true"));
    assert_eq!(outputs["namespace"], json!("team"));
    let diff = |news: serde_json::Value| DiffRequest {
        urn: urn.clone(),
        r#type: TOKEN.into(),
        olds: created.properties.clone(),
        news: Some(values::to_struct(&news)),
        ..Default::default()
    };
    let mut renamed = inputs.clone();
    renamed["spec"]["name"] = json!("team-b");
    let wire = provider
        .diff(Request::new(diff(renamed)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(wire.replaces, ["spec"]);
    assert!(wire.delete_before_replace);
    let mut resized = inputs.clone();
    resized["spec"]["resourceProfile"]["preset"] = json!("large");
    let wire = provider
        .diff(Request::new(diff(resized)))
        .await
        .unwrap()
        .into_inner();
    assert!(
        wire.replaces.is_empty() && wire.diffs == ["spec"],
        "{wire:?}"
    );
}
