//! Tests of the Pulumi package schema: the resource, replace marks, secrets, provider config, types
//! and the metaschema's token rules.

use super::*;
use crate::core::diff::{self, ChangeKind};
use crate::core::path::PropertyPath;
use crate::schema::tests::refs;

/// The package type `name` of a Pulumi schema; panics if it is missing.
fn pulumi_type_of<'a>(schema: &'a Value, name: &str) -> &'a Value {
    schema["types"]
        .get(format!("kjob:index:{name}"))
        .unwrap_or_else(|| panic!("type {name} exists"))
}

/// The KubernetesJob resource is defined with its inputs and the package version.
#[test]
fn the_resource_token_exists() {
    let schema = pulumi_schema();
    let resource = &schema["resources"][RESOURCE_TOKEN];
    assert!(resource.is_object());
    assert_eq!(resource["requiredInputs"], json!(["spec"]));
    assert_eq!(
        resource["inputProperties"]["dockerConfigJson"]["secret"],
        json!(true)
    );
    assert_eq!(
        resource["inputProperties"]["spec"]["$ref"],
        json!("#/types/kjob:index:KubernetesJobSpec")
    );
    assert_eq!(schema["version"], json!(env!("CARGO_PKG_VERSION")));
}

/// Replacing fields carry `willReplaceOnChanges`, others do not; defaults are typed.
#[test]
fn replacing_fields_are_marked_and_others_are_not() {
    let schema = pulumi_schema();
    let spec = &pulumi_type_of(&schema, "KubernetesJobSpec")["properties"];
    assert_eq!(spec["image"]["willReplaceOnChanges"], json!(true));
    assert!(spec["parallelism"].get("willReplaceOnChanges").is_none());
    assert_eq!(spec["parallelism"]["default"], json!(1));
    assert_eq!(spec["suspend"]["default"], json!(false));
    assert_eq!(spec["restartPolicy"]["default"], json!("Never"));
    let metadata = &pulumi_type_of(&schema, "CloudResourceMetadata")["properties"];
    assert_eq!(metadata["name"]["willReplaceOnChanges"], json!(true));
    assert!(metadata["labels"].get("willReplaceOnChanges").is_none());
    let env = &pulumi_type_of(&schema, "KubernetesJobContainerAppEnv")["properties"];
    assert_eq!(env["variables"]["willReplaceOnChanges"], json!(true));
}

/// Every replace path forces a replace and names exactly one field, with no conflicts.
#[test]
fn replace_table_matches_the_diff_rules_and_the_descriptors() {
    let never = |_: &Value| false;
    for pattern in replace_paths() {
        let path = PropertyPath::parse_dotted(pattern);
        assert!(
            diff::forces_replace(&path, ChangeKind::Update, &json!({}), &never),
            "{pattern}"
        );
    }
    let marks = replace_marks();
    assert!(
        marks.conflicts.is_empty(),
        "types reached at replacing and non-replacing paths: {:?}",
        marks.conflicts
    );
    assert!(
        marks.unmatched.is_empty(),
        "replace paths that name no field: {:?}",
        marks.unmatched
    );
    let count = marks.marked.values().filter(|m| **m).count();
    // The KubernetesJob's rules, and the KubernetesNamespace's `spec.name` (its `metadata.name`
    // is the same CloudResourceMetadata field as the Job's).
    assert_eq!(count, replace_paths().len() + 1);
    let schema = pulumi_schema();
    let spec = &pulumi_type_of(&schema, "KubernetesNamespaceSpec")["properties"];
    assert_eq!(spec["name"]["willReplaceOnChanges"], json!(true));
    assert!(spec["labels"].get("willReplaceOnChanges").is_none());
}

/// Sensitive values and the kubeconfig are marked secret.
#[test]
fn secret_values_are_secret() {
    let schema = pulumi_schema();
    let sensitive = &pulumi_type_of(&schema, "KubernetesSensitiveValue")["properties"];
    assert_eq!(sensitive["value"]["secret"], json!(true));
    assert!(sensitive["secretRef"].get("secret").is_none());
    assert_eq!(
        schema["config"]["variables"]["kubeconfig"]["secret"],
        json!(true)
    );
}

/// The provider config lists exactly the keys the provider parses.
#[test]
fn provider_config_matches_the_keys_the_provider_parses() {
    let schema = pulumi_schema();
    let keys: Vec<&String> = schema["config"]["variables"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, crate::provider::config::KEYS.to_vec());
    assert_eq!(
        schema["config"]["variables"],
        schema["provider"]["inputProperties"]
    );
}

/// The expected types are published with descriptions; the KubernetesJob itself is not a type.
#[test]
fn the_expected_types_are_reachable_and_described() {
    let schema = pulumi_schema();
    for name in [
        "StringValueOrRef",
        "ValueFromRef",
        "ContainerImage",
        "ContainerResources",
        "CpuMemory",
        "KubernetesJobContainerAppEnv",
        "KubernetesSensitiveValue",
        "KubernetesSecretKeyRef",
        "VolumeMount",
        "ConfigMapVolumeSource",
        "PvcVolumeSource",
        "KubernetesClusterSelector",
        "CloudResourceRelationship",
        "CloudResourceKind",
        "RelationshipType",
    ] {
        let ty = pulumi_type_of(&schema, name);
        assert!(
            ty["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{name} has a description"
        );
    }
    assert!(schema["types"].get("kjob:index:KubernetesJob").is_none());
    let image = &pulumi_type_of(&schema, "ContainerImage")["properties"]["repo"];
    assert_eq!(image["type"], json!("string"));
    assert!(
        image["description"]
            .as_str()
            .unwrap()
            .starts_with("Image repository")
    );
    let kind = &pulumi_type_of(&schema, "CloudResourceKind");
    assert!(
        kind["enum"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["value"] == json!("KubernetesNamespace"))
    );
}

/// Type and resource tokens are valid and no reserved property name is used.
#[test]
fn the_pulumi_schema_follows_the_metaschema_rules() {
    let schema = pulumi_schema();
    let token = |t: &str| {
        let mut parts = t.split(':');
        let (Some(pkg), Some(module), Some(name), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let starts_alpha = |s: &str| s.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
        let not_digit = |s: &str| s.chars().next().is_some_and(|c| !c.is_ascii_digit());
        starts_alpha(pkg)
            && pkg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && (module.is_empty() || not_digit(module))
            && module
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c))
            && not_digit(name)
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._/".contains(c))
    };
    for key in schema["types"]
        .as_object()
        .unwrap()
        .keys()
        .chain(schema["resources"].as_object().unwrap().keys())
    {
        assert!(token(key), "{key} is a valid token");
    }
    for reserved in ["urn", "id", "version", "pulumi"] {
        assert!(
            schema["provider"]["inputProperties"]
                .get(reserved)
                .is_none()
        );
        let resource = &schema["resources"][RESOURCE_TOKEN];
        assert!(resource["inputProperties"].get(reserved).is_none());
        assert!(resource["properties"].get(reserved).is_none());
    }
}

/// Every `$ref` of the Pulumi schema names a defined type.
#[test]
fn every_pulumi_ref_points_at_a_defined_type() {
    let schema = pulumi_schema();
    let refs = refs(&schema);
    assert!(!refs.is_empty());
    for r in refs {
        let token = r
            .strip_prefix("#/types/")
            .unwrap_or_else(|| panic!("{r} is a type reference"));
        assert!(schema["types"].get(token).is_some(), "{r} is defined");
    }
}

/// Pulumi's install path: where the plugin is downloaded from, who publishes it, and each SDK's
/// package, all carrying the schema's version.
#[test]
fn the_package_says_where_the_plugin_comes_from_and_names_each_sdk() {
    let schema = pulumi_schema();
    assert_eq!(
        schema["pluginDownloadURL"],
        json!("github://api.github.com/project-planton/kjob")
    );
    for field in [
        "publisher",
        "repository",
        "homepage",
        "license",
        "displayName",
    ] {
        assert!(
            schema[field].as_str().is_some_and(|v| !v.is_empty()),
            "{field}"
        );
    }
    let keywords = schema["keywords"].as_array().expect("keywords");
    for keyword in ["kubernetes", "category/cloud", "kind/native"] {
        assert!(keywords.contains(&json!(keyword)), "{keyword}");
    }
    let language = &schema["language"];
    assert_eq!(
        language["go"]["importBasePath"],
        json!("github.com/project-planton/kjob/sdk/go/kjob")
    );
    assert_eq!(
        language["nodejs"]["packageName"],
        json!("@project-planton/kjob")
    );
    assert_eq!(language["python"]["packageName"], json!("pulumi_kjob"));
    for sdk in ["go", "nodejs", "python", "csharp"] {
        assert_eq!(language[sdk]["respectSchemaVersion"], json!(true), "{sdk}");
    }
}

/// The resource's description carries the example program in each language, in Pulumi's
/// examples shortcodes, taken from `sdk-examples/` without the run instructions at their top.
#[test]
fn the_resource_description_has_an_example_in_each_language() {
    let schema = pulumi_schema();
    let description = schema["resources"][RESOURCE_TOKEN]["description"]
        .as_str()
        .expect("a description");
    let start = description.find("{{% examples %}}").expect("examples");
    let examples = &description[start..];
    assert!(examples.contains("{{% example %}}"));
    assert!(
        examples
            .trim_end()
            .ends_with("{{% /example %}}\n{{% /examples %}}")
    );
    for (language, marker) in [
        ("typescript", "new kjob.KubernetesJob(\"hello\""),
        ("python", "kjob.KubernetesJob(\n    \"hello\""),
        ("go", "kjob.NewKubernetesJob(ctx, \"hello\""),
        ("yaml", "type: kjob:index:KubernetesJob"),
    ] {
        let open = format!("```{language}\n");
        let at = examples
            .find(&open)
            .unwrap_or_else(|| panic!("a {language} block"));
        let block = &examples[at + open.len()..];
        let block = &block[..block.find("\n```").expect("the block ends")];
        assert!(block.contains(marker), "{language}: {block}");
        let first = block.lines().next().unwrap_or_default();
        assert!(
            !first.starts_with("//") && !first.starts_with('#'),
            "{language} starts with code, not the run instructions: {first}"
        );
    }
    // The Python SDK puts its example into a docstring: no triple quotes inside.
    assert!(!description.contains("\"\"\""));
}
