//! Any JSON document through the manifest pipeline (decode, defaults, references, validation)
//! and, when it checks, rendering and diffing: never a panic, never a hang.
#![no_main]

use kjob::core::path::PropertyPath;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let checked = kjob::kinds::Kind::KubernetesJob.check(&value, &PropertyPath::root(), None, &[]);
    if checked.is_ok() {
        let _ = checked.render(&Default::default()).map(|r| r.objects);
        let _ = kjob::core::diff::diff(&checked.document, &value, &[], &|_| false);
    }
    let provider = kjob::provider::inputs::check(&value, "fuzz", &[]);
    let _ = kjob::core::diff::diff(
        &provider.inputs,
        &value,
        &[],
        &kjob::provider::values::is_unknown,
    );
});
