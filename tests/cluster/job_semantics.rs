//! Proves each Diff classification against the real API server: for every case, the old
//! manifest is applied, then the new one is server-side applied over it. A change classified
//! as in-place must be accepted with the Job's UID unchanged; a change classified as replace
//! must be rejected by the API server (so an in-place update could never work).

use crate::common;

use kjob::core::objects::ObjectKind;
use kjob::core::path::PropertyPath;
use kjob::deploy::{self, Quiet, Takeover};
use kjob::kinds::job::render::RenderOptions;
use serde_json::{Value, json};

fn rendered(doc: &Value) -> kjob::kinds::Rendered {
    let checked = kjob::kinds::Kind::KubernetesJob.check(doc, &PropertyPath::root(), None, &[]);
    assert!(checked.is_ok(), "{:?}", checked.failures);
    checked
        .render(&RenderOptions {
            stack: "kjob:job-semantics".into(),
            ..RenderOptions::default()
        })
        .expect("renders")
}

struct Case {
    name: &'static str,
    base: Value,
    edit: fn(&mut Value),
}

fn cases() -> Vec<Case> {
    let plain = json!({"suspend": true});
    let indexed =
        json!({"suspend": true, "completionMode": "Indexed", "completions": 2, "parallelism": 2});
    let with_secret = json!({"suspend": true, "env": {"secrets": {"TOKEN": {"value": "a"}}, "variables": {"A": {"value": "1"}}}, "configMaps": {"conf": "x=1"}});
    vec![
        // In place.
        Case {
            name: "parallelism",
            base: plain.clone(),
            edit: |v| v["spec"]["parallelism"] = json!(3),
        },
        Case {
            name: "backoff-limit",
            base: plain.clone(),
            edit: |v| v["spec"]["backoffLimit"] = json!(2),
        },
        Case {
            name: "deadline",
            base: plain.clone(),
            edit: |v| v["spec"]["activeDeadlineSeconds"] = json!(900),
        },
        Case {
            name: "ttl",
            base: plain.clone(),
            edit: |v| v["spec"]["ttlSecondsAfterFinished"] = json!(900),
        },
        Case {
            name: "suspend",
            base: plain.clone(),
            edit: |v| v["spec"]["suspend"] = json!(false),
        },
        Case {
            name: "labels",
            base: plain.clone(),
            edit: |v| v["metadata"]["labels"] = json!({"team": "b"}),
        },
        Case {
            name: "env-name",
            base: plain.clone(),
            edit: |v| v["metadata"]["env"] = json!("prod"),
        },
        Case {
            name: "configmap-content",
            base: with_secret.clone(),
            edit: |v| v["spec"]["configMaps"]["conf"] = json!("x=2"),
        },
        Case {
            name: "secret-value",
            base: with_secret.clone(),
            edit: |v| v["spec"]["env"]["secrets"]["TOKEN"]["value"] = json!("b"),
        },
        Case {
            name: "elastic-indexed",
            base: indexed.clone(),
            edit: |v| {
                v["spec"]["completions"] = json!(4);
                v["spec"]["parallelism"] = json!(4);
            },
        },
        // Replace.
        Case {
            name: "image",
            base: plain.clone(),
            edit: |v| v["spec"]["image"]["tag"] = json!("1.37"),
        },
        Case {
            name: "command",
            base: plain.clone(),
            edit: |v| v["spec"]["command"] = json!(["false"]),
        },
        Case {
            name: "args",
            base: plain.clone(),
            edit: |v| v["spec"]["args"] = json!(["x"]),
        },
        Case {
            name: "env-variable",
            base: with_secret.clone(),
            edit: |v| v["spec"]["env"]["variables"]["A"]["value"] = json!("2"),
        },
        Case {
            name: "secret-added",
            base: with_secret.clone(),
            edit: |v| v["spec"]["env"]["secrets"]["OTHER"] = json!({"value": "c"}),
        },
        Case {
            name: "resources",
            base: plain.clone(),
            edit: |v| v["spec"]["resources"] = json!({"limits": {"cpu": "2"}}),
        },
        Case {
            name: "volume",
            base: plain.clone(),
            edit: |v| {
                v["spec"]["volumeMounts"] =
                    json!([{"name": "s", "mountPath": "/s", "emptyDir": {}}]);
            },
        },
        Case {
            name: "restart-policy",
            base: plain.clone(),
            edit: |v| v["spec"]["restartPolicy"] = json!("OnFailure"),
        },
        Case {
            name: "completion-mode",
            base: plain.clone(),
            edit: |v| v["spec"]["completionMode"] = json!("Indexed"),
        },
        Case {
            name: "completions",
            base: plain.clone(),
            edit: |v| v["spec"]["completions"] = json!(3),
        },
        Case {
            name: "indexed-completions-alone",
            base: indexed,
            edit: |v| v["spec"]["completions"] = json!(5),
        },
    ]
}

#[tokio::test]
async fn diff_classification_matches_the_api_server() {
    let cluster = common::cluster();
    let ns = common::namespace(&cluster, "semantics").await;
    let mut mismatches = Vec::new();
    for case in cases() {
        let name = format!("sem-{}", case.name);
        let old = common::manifest(&name, &ns, case.base.clone());
        let mut new = old.clone();
        (case.edit)(&mut new);
        let old_checked = kjob::kinds::job::check(&old, &PropertyPath::root(), None, &[]);
        let new_checked = kjob::kinds::job::check(&new, &PropertyPath::root(), None, &[]);
        let d = kjob::core::diff::diff(&old_checked.document, &new_checked.document, &[], &|_| {
            false
        });
        assert!(!d.is_empty(), "{}: the edit changes nothing", case.name);

        let old_r = rendered(&old);
        deploy::apply(
            &cluster,
            &old_r,
            &[],
            &[],
            Takeover::default(),
            &mut Quiet,
            &Default::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{}: applying the old manifest: {e}", case.name));
        let uid = |job: &Value| {
            job["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        };
        let before = uid(&common::get(&cluster, ObjectKind::Job, Some(&ns), &name)
            .await
            .expect("job exists"));

        let new_r = rendered(&new);
        let previous = old_r.ids();
        let accepted = deploy::apply(
            &cluster,
            &new_r,
            &previous,
            &[],
            Takeover::default(),
            &mut Quiet,
            &Default::default(),
        )
        .await;
        match (&accepted, d.replaces()) {
            (Ok(_), false) => {
                let after = uid(&common::get(&cluster, ObjectKind::Job, Some(&ns), &name)
                    .await
                    .expect("job exists"));
                if before != after {
                    mismatches.push(format!(
                        "{}: in-place update changed the Job's UID",
                        case.name
                    ));
                }
            }
            (Err(e), true) => {
                let code = e.source.status();
                if code != Some(422) {
                    mismatches.push(format!(
                        "{}: rejected, but not as invalid (HTTP {code:?}): {e}",
                        case.name
                    ));
                }
            }
            (Ok(_), true) => mismatches.push(format!(
                "{}: classified replace, but the API server accepted it in place",
                case.name
            )),
            (Err(e), false) => mismatches.push(format!(
                "{}: classified in-place, but the API server rejected it: {e}",
                case.name
            )),
        }
        let all: Vec<_> = old_r.ids().into_iter().chain(new_r.ids()).collect();
        deploy::delete(
            &cluster,
            &all,
            &old_r.owner,
            &mut Quiet,
            &Default::default(),
        )
        .await
        .expect("clean up");
    }
    cluster
        .delete(&common::obj(ObjectKind::Namespace, None, &ns), None, None)
        .await
        .expect("delete namespace");
    assert!(
        mismatches.is_empty(),
        "classification disagrees with the API server:\n{}",
        mismatches.join("\n")
    );
}
