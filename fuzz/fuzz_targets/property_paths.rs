//! Any text as Pulumi `ignoreChanges` property paths (one a line: `spec.image`,
//! `spec.configMaps["app.conf"]`, `spec.command[0]`) through the provider's Diff of the golden
//! full inputs against a copy with many changes, and through `diff::parse_property_path` and
//! back to text: never a panic, and ignoring changes only ever takes changes away.
#![no_main]

use std::sync::LazyLock;

use kjob::core::diff::{self, parse_property_path};
use kjob::provider::resource::{DiffRequest, KubernetesJob};
use kjob::provider::{inputs, values};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

/// The checked golden inputs as outputs in state, and new inputs that change a little of
/// everything: a replacing field, map entries (one with a dot in its key), a list item, a
/// number, and an added and a removed entry.
static OLDS_NEWS: LazyLock<(Value, Value)> = LazyLock::new(|| {
    let golden: Value = serde_json::from_str(include_str!("../../tests/golden/full.input.json"))
        .expect("the golden input is JSON");
    let olds = inputs::check(&golden, "fuzz", &[]).inputs;
    let mut news = olds.clone();
    news["spec"]["image"]["tag"] = json!("9.9.9");
    news["spec"]["parallelism"] = json!(7);
    news["metadata"]["labels"] = json!({"team": "other", "new.label": "x"});
    news["spec"]["configMaps"] = json!({"app.conf": "changed", "added": "y"});
    news["spec"]["command"] = json!(["sh", "-c", "echo changed"]);
    let outputs = inputs::outputs(&olds, Some("batch"), Some("nightly-etl"));
    (outputs, news)
});

static RESOURCE: LazyLock<KubernetesJob> =
    LazyLock::new(|| KubernetesJob::new(Default::default(), Default::default()));

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let ignore_changes: Vec<String> = text.lines().map(str::to_owned).collect();
    let paths: Vec<_> = ignore_changes
        .iter()
        .map(|p| parse_property_path(p))
        .collect();
    for path in &paths {
        let shown = path.to_string();
        let again = parse_property_path(&shown);
        let _ = (again.pattern(), again.top(), path.starts_with(&again));
    }
    let (olds, news) = &*OLDS_NEWS;
    let _ = RESOURCE.diff(&DiffRequest {
        urn: "urn:pulumi:s::p::kjob:index:KubernetesJob::fuzz".into(),
        olds: olds.clone(),
        news: news.clone(),
        ignore_changes,
    });
    let old_inputs = inputs::inputs_of_outputs(olds);
    let all = diff::diff(&old_inputs, news, &[], &values::is_unknown);
    let kept = diff::diff(&old_inputs, news, &paths, &values::is_unknown);
    for change in &kept.changes {
        assert!(
            all.changes.iter().any(|c| c.path == change.path),
            "ignoring {paths:?} added a change at {}",
            change.path
        );
        assert!(
            !paths.iter().any(|p| change.path.starts_with(p)),
            "{} is ignored but reported",
            change.path
        );
    }
});
