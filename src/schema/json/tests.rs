//! Tests of the manifest JSON Schema: its shape, its references, and validation of sample manifests
//! and of documents the loader rejects.

use std::path::Path;

use super::*;
use crate::schema::tests::refs;

/// Every `$ref` of the JSON Schema resolves inside the document.
#[test]
fn every_json_schema_ref_resolves() {
    let schema = json_schema();
    let refs = refs(&schema);
    assert!(!refs.is_empty());
    for r in refs {
        let pointer = r
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{r} is local"));
        assert!(schema.pointer(pointer).is_some(), "{r} resolves");
    }
}

/// Constants, strictness, enums, defaults, 64-bit integers and oneofs look as intended.
#[test]
fn json_schema_shape() {
    let schema = json_schema();
    assert_eq!(
        schema["properties"]["apiVersion"]["const"],
        json!(API_VERSION)
    );
    assert_eq!(
        schema["properties"]["kind"]["const"],
        json!("KubernetesJob")
    );
    assert_eq!(schema["additionalProperties"], json!(false));
    let spec = &schema["$defs"]["KubernetesJobSpec"]["properties"];
    assert_eq!(
        spec["completionMode"]["enum"],
        json!(["NonIndexed", "Indexed"])
    );
    assert_eq!(spec["restartPolicy"]["enum"], json!(["OnFailure", "Never"]));
    assert_eq!(spec["parallelism"]["default"], json!(1));
    assert_eq!(
        spec["activeDeadlineSeconds"]["anyOf"][1]["type"],
        json!("string")
    );
    assert_eq!(
        spec["resources"]["default"]["limits"]["cpu"],
        json!("1000m")
    );
    assert_eq!(
        schema["$defs"]["StringValueOrRef"]["not"],
        json!({"required": ["value", "valueFrom"]})
    );
    assert!(
        schema["$defs"].get("KubernetesJobStackOutputs").is_some(),
        "status is described"
    );
}

/// A validator for the JSON Schema, after checking it against the draft 2020-12 metaschema.
fn manifest_validator() -> jsonschema::Validator {
    let schema = json_schema();
    assert!(
        jsonschema::meta::is_valid(&schema),
        "the JSON Schema is a valid draft 2020-12 schema"
    );
    jsonschema::validator_for(&schema).expect("the JSON Schema compiles")
}

/// The validation errors of `doc`, each prefixed with its instance path.
fn violations(validator: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// The KubernetesJob documents of `examples/*.yaml`, or an inline sample if there are none.
fn sample_manifests() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"));
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read example");
        let docs: Vec<Value> = serde_saphyr::from_multiple(&text).expect("examples are YAML");
        for (i, doc) in docs.into_iter().enumerate() {
            if doc["kind"] == json!("KubernetesJob") {
                out.push((format!("{}#{i}", file.display()), doc));
            }
        }
    }
    if out.is_empty() {
        out.push((
            "inline sample".to_owned(),
            json!({
                "apiVersion": API_VERSION, "kind": "KubernetesJob",
                "metadata": {"name": "migrate", "labels": {"team": "data"}},
                "spec": {
                    "namespace": {"value": "batch"}, "image": {"repo": "busybox", "tag": "1.36"},
                    "command": ["sh", "-c", "echo hi"], "backoffLimit": 2, "restartPolicy": "Never",
                    "env": {"secrets": {"PW": {"secretRef": {"name": "db", "key": "password"}}}},
                    "volumeMounts": [{"name": "c", "mountPath": "/etc/app", "configMap": {"name": "app"}}]
                }
            }),
        ));
    }
    out
}

/// The example manifests validate.
#[test]
fn the_json_schema_accepts_the_sample_manifests() {
    let validator = manifest_validator();
    let samples = sample_manifests();
    assert!(!samples.is_empty());
    for (name, doc) in samples {
        assert_eq!(violations(&validator, &doc), Vec::<String>::new(), "{name}");
    }
}

/// 64-bit integers may be numbers or digit strings, nothing else.
#[test]
fn the_json_schema_accepts_64_bit_integers_as_digit_strings() {
    let validator = manifest_validator();
    let mut doc = sample_manifests().remove(0).1;
    doc["spec"]["activeDeadlineSeconds"] = json!("600");
    assert!(validator.is_valid(&doc));
    doc["spec"]["activeDeadlineSeconds"] = json!(600);
    assert!(validator.is_valid(&doc));
    doc["spec"]["activeDeadlineSeconds"] = json!("ten minutes");
    assert!(!validator.is_valid(&doc));
}

/// Unknown names, wrong constants, oneof clashes and bad values are rejected.
#[test]
fn the_json_schema_rejects_what_the_loader_rejects() {
    let validator = manifest_validator();
    let base = sample_manifests().remove(0).1;
    type Edit = fn(&mut Value);
    let edits: [(&str, Edit); 7] = [
        ("unknown spec field", |d| {
            d["spec"]["imageName"] = json!("busybox");
        }),
        ("unknown top-level field", |d| d["extra"] = json!(1)),
        ("wrong kind", |d| d["kind"] = json!("KubernetesCronJob")),
        ("both oneof members", |d| {
            d["spec"]["namespace"] = json!({"value": "a", "valueFrom": {"name": "b"}});
        }),
        ("bad restart policy", |d| {
            d["spec"]["restartPolicy"] = json!("Always");
        }),
        ("bad enum name", |d| {
            d["spec"]["targetCluster"] = json!({"clusterKind": "NoSuchKind"});
        }),
        ("negative unsigned", |d| {
            d["spec"]["parallelism"] = json!(-1);
        }),
    ];
    for (what, edit) in edits {
        let mut doc = base.clone();
        edit(&mut doc);
        assert!(!validator.is_valid(&doc), "{what} is rejected");
    }
    let mut missing = base.clone();
    missing.as_object_mut().unwrap().remove("spec");
    assert!(!validator.is_valid(&missing), "spec is required");
}

/// The KubernetesNamespace JSON Schema is a valid schema; it accepts upstream's valid
/// `spec_test.go` cases (transcribed with camelCase names) and refuses both members of the
/// profile's oneof, an unknown field and a bad enum value.
#[test]
fn the_namespace_json_schema_accepts_upstreams_valid_cases() {
    let schema = namespace_json_schema();
    assert!(jsonschema::meta::is_valid(&schema));
    assert_eq!(
        schema["properties"]["kind"]["const"],
        json!("KubernetesNamespace")
    );
    let validator = jsonschema::validator_for(&schema).expect("the JSON Schema compiles");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/upstream/namespace_spec_test");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("the transcribed cases")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains("-valid-"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 10);
    for file in files {
        let doc: Value =
            serde_saphyr::from_str(&std::fs::read_to_string(&file).unwrap()).expect("YAML");
        assert_eq!(
            violations(&validator, &doc),
            Vec::<String>::new(),
            "{}",
            file.display()
        );
    }
    let base = json!({"apiVersion": API_VERSION, "kind": "KubernetesNamespace",
        "metadata": {"name": "a"}, "spec": {"name": "a"}});
    let with = |spec: Value| {
        let mut doc = base.clone();
        doc["spec"] = spec;
        doc
    };
    assert!(validator.is_valid(&base));
    for bad in [
        json!({"name": "a", "resourceProfile": {"preset": "small", "custom": {}}}),
        json!({"name": "a", "preset": "small"}),
        json!({"name": "a", "podSecurityStandard": "strict"}),
    ] {
        assert!(!validator.is_valid(&with(bad.clone())), "{bad}");
    }
}
