//! Golden tests of rendering: each `tests/golden/NAME.input.json` manifest renders to exactly the
//! objects in `tests/golden/NAME.objects.json`. Set `KJOB_UPDATE_GOLDEN=1` to rewrite the
//! expected files after an intended change, then review the diff.

use std::path::Path;

use kjob::core::path::PropertyPath;
use kjob::kinds::job::render::RenderOptions;
use serde_json::Value;

fn render_case(name: &str, options: &RenderOptions) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let input: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("{name}.input.json"))).unwrap(),
    )
    .unwrap();
    let checked = kjob::kinds::job::check(&input, &PropertyPath::root(), None, &[]);
    assert!(checked.is_ok(), "{name}: {:?}", checked.failures);
    let rendered = kjob::kinds::job::render(&checked, options).unwrap();
    let objects: Vec<Value> = rendered.objects().into_iter().map(|o| o.body).collect();
    let actual = serde_json::to_string_pretty(&objects).unwrap() + "\n";
    let expected_path = dir.join(format!("{name}.objects.json"));
    if std::env::var("KJOB_UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::write(&expected_path, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    assert!(
        actual == expected,
        "{name}: rendering changed; rerun with KJOB_UPDATE_GOLDEN=1 and review.\n--- actual ---\n{actual}"
    );
}

#[test]
fn full_manifest_renders_every_object() {
    render_case(
        "full",
        &RenderOptions {
            docker_config_json: Some(
                r#"{"auths":{"registry.acme.example":{"auth":"dTpw"}}}"#.into(),
            ),
            ..RenderOptions::default()
        },
    );
}

#[test]
fn minimal_manifest_renders_defaults() {
    render_case("minimal", &RenderOptions::default());
}
