//! The committed schema files (`schema/schema.json`, `schema/kubernetesjob.schema.json`,
//! `schema/kubernetesnamespace.schema.json`) match
//! what the descriptors generate. With `KJOB_UPDATE_SCHEMA=1` the test rewrites them instead.

use std::path::Path;

#[test]
fn committed_schemas_are_fresh() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schema");
    if std::env::var_os("KJOB_UPDATE_SCHEMA").is_some_and(|v| v == "1") {
        kjob::schema::write_all(&dir).expect("write the schema files");
    }
    if let Err(message) = kjob::schema::check_fresh(&dir) {
        panic!("{message}");
    }
}
