//! `kjob up --parallel N` against the test bed: dependents start only after what they
//! reference is applied; a failure lets the documents already running finish and be recorded,
//! and the summary lists each document's result.

use crate::common;
use common::cli::{Bed, yaml_job, yaml_namespace};

use kjob::core::refs::ResourceKey;
use kjob::state::Status;

fn key(kind: &str, name: &str) -> ResourceKey {
    ResourceKey {
        kind: kind.into(),
        env: String::new(),
        name: name.into(),
    }
}

#[tokio::test]
async fn parallel_up_follows_references_and_records_every_result_when_one_fails() {
    let bed = Bed::new();
    let ns_resource = common::unique("pteam");
    let ns_name = common::unique("kjob-par");
    let missing = common::unique("kjob-missing");
    // Every Job refers to the namespace's outputs, so all start together once it is applied.
    let refers = format!(
        "  env:\n    variables:\n      NS:\n        valueFrom: {{kind: KubernetesNamespace, name: {ns_resource}, fieldPath: status.outputs.namespace}}\n"
    );
    let jobs: Vec<String> = (0..4).map(|i| common::unique(&format!("pj{i}"))).collect();
    let mut docs: Vec<String> = jobs
        .iter()
        .map(|j| {
            yaml_job(
                j,
                &format!(
                    "  namespace: {{valueFrom: {{name: {ns_resource}}}}}\n  suspend: true\n{refers}"
                ),
            )
        })
        .collect();
    // This one's namespace does not exist (and is not created): its apply fails.
    let bad = common::unique("pbad");
    docs.push(yaml_job(
        &bad,
        &format!("  namespace: {{value: {missing}}}\n  suspend: true\n{refers}"),
    ));
    docs.push(yaml_namespace(&ns_resource, &ns_name));
    let file = bed.file("all.yaml", &docs.join("---\n"));

    let up = bed.run(&[
        "up",
        "--manifest",
        &file,
        "--yes",
        "--no-wait",
        "--parallel",
        "8",
    ]);
    up.failed().says("Summary:");
    let ns_applied = up
        .stderr
        .find(&format!("applied Namespace {ns_name}"))
        .expect("the namespace is applied");
    for job in &jobs {
        let started = up
            .stderr
            .find(&format!("KubernetesJob \"{job}\":"))
            .expect("each Job starts");
        assert!(
            ns_applied < started,
            "{job} started before its namespace:\n{}",
            up.stderr
        );
        up.says(&format!("KubernetesJob \"{job}\": applied"));
    }
    up.says(&format!("KubernetesJob \"{bad}\": failed:"));
    let store = bed.store();
    for job in &jobs {
        let record = store
            .get(&key("KubernetesJob", job))
            .unwrap()
            .expect("recorded");
        assert_eq!(record.status, Status::Applied, "{job}");
    }
    let record = store
        .get(&key("KubernetesJob", &bad))
        .unwrap()
        .expect("recorded");
    assert_eq!(record.status, Status::Failed);

    bed.run(&["down", "--manifest", &file, "--yes"]).ok();
    for job in &jobs {
        assert!(store.get(&key("KubernetesJob", job)).unwrap().is_none());
    }
}
