//! The package-level fields of the Pulumi schema (where the plugin is downloaded from, who
//! publishes it, the SDKs' package names) and the examples of the KubernetesJob resource.
//!
//! The examples are the programs in `sdk-examples/` that `tests/cluster/pulumi_e2e/` runs through
//! the real Pulumi engine, so the documentation shows code that is known to work.

use serde_json::{Map, Value, json};

/// Where the engine downloads the plugin when it is missing: the GitHub releases of the
/// repository, whose assets `scripts/release` builds
/// (`pulumi-resource-kjob-v<version>-<os>-<arch>.tar.gz`, released under the tag `v<version>`).
pub const PLUGIN_DOWNLOAD_URL: &str = "github://api.github.com/project-planton/kjob";

/// The source repository.
pub const REPOSITORY: &str = "https://github.com/project-planton/kjob";

/// Go import path of the generated Go SDK's package.
pub const GO_IMPORT_BASE_PATH: &str = "github.com/project-planton/kjob/sdk/go/kjob";

/// npm name of the generated Node.js SDK.
pub const NODEJS_PACKAGE: &str = "@project-planton/kjob";

/// PyPI name (and import name) of the generated Python SDK.
pub const PYTHON_PACKAGE: &str = "pulumi_kjob";

/// The package-level fields merged into the schema: publisher, repository, keywords, the plugin's
/// download URL and the `language` section of each SDK.
///
/// Every generated SDK carries the schema's version (`respectSchemaVersion`), so the plugin
/// version a program asks the engine for is the version `pulumi plugin install` installed.
pub fn metadata() -> Map<String, Value> {
    let value = json!({
        "displayName": "Project Planton KubernetesJob",
        "publisher": "Project Planton",
        "homepage": "https://project-planton.org",
        "repository": REPOSITORY,
        "license": "Apache-2.0",
        "keywords": [
            "pulumi", "kubernetes", "job", "batch", "project-planton",
            "category/cloud", "kind/native"
        ],
        "pluginDownloadURL": PLUGIN_DOWNLOAD_URL,
        "language": {
            "go": {
                "importBasePath": GO_IMPORT_BASE_PATH,
                "generateResourceContainerTypes": true,
                "respectSchemaVersion": true
            },
            "nodejs": {
                "packageName": NODEJS_PACKAGE,
                "packageDescription": "Project Planton's KubernetesJob as a Pulumi resource.",
                "dependencies": { "@pulumi/pulumi": "^3.0.0" },
                "respectSchemaVersion": true
            },
            "python": {
                "packageName": PYTHON_PACKAGE,
                "requires": { "pulumi": ">=3.0.0,<4.0.0" },
                "respectSchemaVersion": true
            },
            "csharp": {
                "rootNamespace": "ProjectPlanton",
                "packageReferences": { "Pulumi": "3.*" },
                "respectSchemaVersion": true
            }
        }
    });
    match value {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// A program of `sdk-examples/` without its leading comment lines (how to run it by hand).
fn program(text: &str, comment: &str) -> String {
    let body: Vec<&str> = text
        .lines()
        .skip_while(|l| l.starts_with(comment) || l.trim().is_empty())
        .collect();
    body.join("\n").trim_end().to_owned()
}

/// The examples section of the KubernetesJob description, in the shortcode form Pulumi's docs
/// generator reads: one `{{% example %}}` with a code block per language.
pub fn job_examples() -> String {
    let blocks = [
        (
            "typescript",
            program(
                include_str!("../../../sdk-examples/typescript/index.ts"),
                "//",
            ),
        ),
        (
            "python",
            program(
                include_str!("../../../sdk-examples/python/__main__.py"),
                "#",
            ),
        ),
        (
            "go",
            program(include_str!("../../../sdk-examples/go/main.go"), "//"),
        ),
        (
            "yaml",
            program(include_str!("../../../sdk-examples/yaml/Pulumi.yaml"), "#"),
        ),
    ];
    let mut text = String::from(
        "{{% examples %}}\n## Example Usage\n\n{{% example %}}\n### A Job in a namespace it creates\n\n\
         The Job runs busybox once; the namespace comes from the stack's config.\n",
    );
    for (language, code) in blocks {
        text.push_str(&format!("\n```{language}\n{code}\n```\n"));
    }
    text.push_str("{{% /example %}}\n{{% /examples %}}");
    text
}
