//! Operator experience (issue 15) with the built `kjob` binary and the provider against the test
//! bed: the scriptable output of validate, preview, up and down, quiet and colour ([`output`]);
//! pod logs read, chosen and followed, and streamed while `up` waits ([`logs`]); previews the
//! API server checks ([`server`]); drift reported and put back ([`drift`]).

use crate::common;
use common::cli::{API, Bed, Run};

use serde_json::Value;

mod drift;
mod logs;
mod output;
pub(crate) mod server;

/// A KubernetesJob document in namespace `ns` (created by it) with `spec` lines added.
/// The test bed's fake kubelet decides a pod's fate by its image without a tag
/// (`kjob.test/fail`, `kjob.test/hang`); busybox gets one.
fn job_doc(name: &str, ns: &str, image: &str, spec: &str) -> String {
    let tag = if image == "busybox" {
        ", tag: '1.36'"
    } else {
        ""
    };
    format!(
        "apiVersion: {API}\nkind: KubernetesJob\nmetadata:\n  name: {name}\nspec:\n  namespace: {{value: {ns}}}\n  createNamespace: true\n  image: {{repo: {image}{tag}}}\n  command: [sh, -c, 'echo ok']\n{spec}"
    )
}

/// A busybox KubernetesJob with `spec` lines and the secret env variable `TOKEN` = `secret`, in
/// a namespace it creates, written to the bed's job.yaml; returns (Job name, namespace, path).
fn secret_job(bed: &Bed, prefix: &str, secret: &str, spec: &str) -> (String, String, String) {
    let (job, ns) = (
        common::unique(prefix),
        common::unique(&format!("kjob-{prefix}")),
    );
    let spec = format!("{spec}  env:\n    secrets:\n      TOKEN: {{value: {secret}}}\n");
    let file = bed.file("job.yaml", &job_doc(&job, &ns, "busybox", &spec));
    (job, ns, file)
}

/// Standard output of a run parsed as JSON.
#[track_caller]
fn json_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is one JSON document ({e}):\n--- stdout\n{}\n--- stderr\n{}",
            run.stdout, run.stderr
        )
    })
}
