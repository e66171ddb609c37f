//! Any import ID and live objects, as `pulumi import` and refresh hand them to the provider: the
//! ID parsed, the inputs rebuilt from the Job, ConfigMaps and Secrets (`import::inputs_from_live`,
//! with the previous outputs' unobservable fields kept), checked, turned into outputs, the Job's
//! state and the rule for gone Jobs read, and rendered when it checks: never a panic.
//!
//! Input: JSON `{"id": "ns/name", "job": {...}, "configMaps": [...], "envSecret": {...},
//! "imagePullSecret": {...}, "namespaceOwned": true, "previous": {...}}`, every member optional.
#![no_main]

use kjob::core::outcome::{self, JobStatus};
use kjob::core::path::PropertyPath;
use kjob::kinds::job::import::{self, LiveObjects};
use kjob::provider::inputs;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let id = input["id"].as_str().unwrap_or_default();
    let (namespace, name) = inputs::parse_id(id).unwrap_or(("ns", "job"));
    let live = LiveObjects {
        job: input["job"].clone(),
        config_maps: input["configMaps"].as_array().cloned().unwrap_or_default(),
        env_secret: input.get("envSecret").cloned(),
        image_pull_secret: input.get("imagePullSecret").cloned(),
        namespace_owned: input["namespaceOwned"].as_bool().unwrap_or_default(),
    };
    let previous = &input["previous"];
    let _ = import::inputs_from_live(&live);
    let rebuilt = kjob::provider::resource::rebuild(&live, previous);
    let checked = inputs::check(&rebuilt, name, &[]);
    let mut outputs = inputs::outputs(&checked.inputs, Some(namespace), Some(name));
    let state = outcome::job_state(&live.job);
    outputs[inputs::OUT_JOB_STATUS] = Value::from(state.status().word());
    let recorded = JobStatus::of_outputs(previous, inputs::OUT_JOB_STATUS);
    let _ = outcome::when_gone(recorded, outcome::has_ttl(previous));
    let _ = inputs::inputs_of_outputs(&outputs);
    if checked.failures.is_empty() {
        let job = kjob::kinds::Kind::KubernetesJob.check(
            &checked.inputs,
            &PropertyPath::root(),
            None,
            &[],
        );
        if job.is_ok() {
            let _ = job.render(&Default::default()).map(|r| r.objects);
        }
    }
    let _ = import::split_image(input["image"].as_str().unwrap_or_default());
});
