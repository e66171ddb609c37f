//! The committed schema files: both documents rendered as pretty-printed JSON, written by
//! [`write_all`] and compared by [`check_fresh`].

use std::path::Path;

use serde_json::Value;

use super::{
    JSON_SCHEMA_FILE, NAMESPACE_JSON_SCHEMA_FILE, PULUMI_SCHEMA_FILE, REGENERATE, json_schema,
    namespace_json_schema, pulumi_schema,
};

/// A document as committed: pretty-printed JSON ending in a newline.
fn rendered(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("JSON values serialize");
    text.push('\n');
    text
}

/// The file name and freshly rendered text of each schema file.
fn generated() -> [(&'static str, String); 3] {
    [
        (PULUMI_SCHEMA_FILE, rendered(&pulumi_schema())),
        (JSON_SCHEMA_FILE, rendered(&json_schema())),
        (
            NAMESPACE_JSON_SCHEMA_FILE,
            rendered(&namespace_json_schema()),
        ),
    ]
}

/// Writes `schema.json` (the Pulumi package schema), `kubernetesjob.schema.json` and
/// `kubernetesnamespace.schema.json` (the manifest JSON Schemas) into `dir`, creating it if needed.
pub fn write_all(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in generated() {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}

/// Compares the schema files in `dir` with freshly generated ones; the error names each missing
/// or stale file and the command that regenerates them.
pub fn check_fresh(dir: impl AsRef<Path>) -> Result<(), String> {
    let dir = dir.as_ref();
    let mut problems = Vec::new();
    for (name, text) in generated() {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(committed) if committed == text => {}
            Ok(_) => problems.push(format!("{} is stale", path.display())),
            Err(e) => problems.push(format!("{} cannot be read: {e}", path.display())),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}; regenerate with `{REGENERATE}` (or `KJOB_UPDATE_SCHEMA=1 cargo test --test pure schema_fresh`), \
             which writes {}, and commit the result",
            problems.join("; "),
            dir.display()
        ))
    }
}
